"""Tour section of error correction: decode d = 3 surface-code shots, LER against p, and the flagging curve."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from qtandem.report import Section
from qtandem.tour import TourContext, register


@register("Error correction: decoding and flagging surface-code shots", order=40)
def qec_section(section: Section, ctx: TourContext) -> None:
    """PyMatching (plain and correlated) and, when shipped, the neural decoder on the same fresh shots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.qec.codes import surface_code
    from qtandem.qec.data import sample
    from qtandem.qec.metrics import logical_error_rate, postselection_curve
    from qtandem.qec.registry import list_pretrained_or_empty, make_decoder

    shots = 4000 if ctx.quick else 100_000
    ps = [0.003, 0.005, 0.008] if ctx.quick else [0.002, 0.003, 0.005, 0.007, 0.01]
    neural_name = "surface-d3-p0.005"
    decoders = ["pymatching", "pymatching-correlated"]
    if neural_name in list_pretrained_or_empty():
        decoders.append(f"pretrained:{neural_name}")
        note = f"The shipped neural decoder {neural_name!r} decodes the same shots."
    else:
        note = f"The neural decoder {neural_name!r} is not shipped with this install, so only matching is shown."
    section.text("Rotated surface-code memory (Z basis, distance 3, 3 rounds) under uniform circuit-level "
                 "depolarizing noise of strength p, sampled with Stim; every decoder decodes the same fresh shots. "
                 + note)
    rng = np.random.default_rng(ctx.seed)
    results: dict[str, list[tuple[float, Any]]] = {d: [] for d in decoders}
    curves: dict[str, Any] = {}
    rows: list[list[Any]] = []
    for p in ps:
        ctx.progress(f"qec: p = {p:g}, {shots} shots")
        circuit = surface_code(3, 3, p=p)
        dets, obs = sample(circuit, shots, seed=int(rng.integers(2**31)))
        for name in decoders:
            dec = make_decoder(name, circuit) if not name.startswith("pretrained:") or p == 0.005 else None
            if dec is None:  # the neural model was trained at p = 0.005 and is shown there
                continue
            t0 = time.perf_counter()
            pred = dec.decode(dets)
            dt = time.perf_counter() - t0
            ler = logical_error_rate(pred, obs)
            results[name].append((p, ler))
            rows.append([name, p, shots, ler.errors, ler.rate, ler.low, ler.high, round(shots / max(dt, 1e-9))])
            if p == 0.005:
                curves[name] = postselection_curve(dec.decode_soft(dets), obs, pred)
    from qtandem.qec.plots import error_bars

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, pts in results.items():
        if pts:
            x = [p for p, _ in pts]
            y = [r.rate for _, r in pts]
            err = error_bars(y, [r.low for _, r in pts], [r.high for _, r in pts])  # >= 0 even at 0 errors
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=name)
    ax.set(xscale="log", yscale="log", xlabel="physical error rate p", ylabel="logical error rate per shot",
           title="d = 3 rotated surface code, 3 rounds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    section.figure(fig, "qec_ler", "Logical error rate per shot with 95% Wilson intervals.")
    section.table(["decoder", "p", "shots", "errors", "LER", "low", "high", "shots/s"], rows)
    fig2, ax2 = plt.subplots(figsize=(6, 4))
    for name, c in curves.items():
        ok = (c.kept > 0) & (c.errors_kept > 0)
        ax2.plot(c.fraction_flagged[ok], c.ler_kept[ok], label=name)
    ax2.set(yscale="log", xlabel="fraction of shots flagged for review", ylabel="LER among kept shots",
            title="post-selection at p = 0.005")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=8)
    section.figure(fig2, "qec_flagging", "Flag the most doubtful shots first: matching's doubt comes from its "
                                         "complementary gap (Gidney et al., arXiv:2312.04522), a neural decoder's "
                                         "from its output probability.")
    if "pymatching" in curves:
        c = curves["pymatching"]
        section.text(f"Flagging 1% of the shots by PyMatching's complementary gap lowers its logical error rate "
                     f"among the kept shots from {c.ler_kept[0]:.4f} to {c.at(0.01):.4f}, and flagging 5% to "
                     f"{c.at(0.05):.4f}. Try it from the command line: "
                     f"qtandem qec eval -d 3 -d 5 --shots 100000, qtandem qec flag -o runs/flagged --threshold 0.1.")
