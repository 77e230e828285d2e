"""Tour section of circuit optimization: Toffoli-heavy circuits before and after, beside Qiskit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from qtandem import Circuit
from qtandem.report import Section
from qtandem.tour import TourContext, register

_SUITE = (Path(__file__).resolve().parents[4] / "shared" / "data" / "nam",)  # ../shared beside a source checkout


def _toffoli_ladder(n_controls: int, *, seed: int) -> Circuit:
    """Multi-controlled X by a compute/uncompute ladder of Toffolis on ancillas, with random phases in between."""
    rng = np.random.default_rng(seed)
    n = 2 * n_controls
    c = Circuit(n)
    anc = list(range(n_controls + 1, n))
    ctrl = list(range(n_controls))
    target = n_controls
    steps = [(ctrl[0], ctrl[1], anc[0])] + [(ctrl[k + 1], anc[k - 1], anc[k]) for k in range(1, n_controls - 1)]
    for a, b, t in steps:
        c.ccx(a, b, t)
    c.cx(anc[-1] if anc else ctrl[-1], target)
    for q in ctrl:
        if rng.random() < 0.5:
            c.t(q)
    for a, b, t in reversed(steps):
        c.ccx(a, b, t)
    return c


def _circuits(ctx: TourContext) -> list[tuple[str, Circuit]]:
    from importlib import resources

    from qtandem.compile import optimize
    from qtandem.qasm import loads

    out: list[tuple[str, Circuit]] = []
    for k in ((3, 4) if ctx.quick else (3, 4, 5, 6)):
        c, _ = optimize(_toffoli_ladder(k, seed=ctx.seed + k), level=0, basis="nam")
        out.append((f"ladder_{k}", c))
    text = (resources.files("qtandem.data") / "qasm" / "toffoli_adder.qasm").read_text()
    adder, _ = optimize(loads(text), level=0, basis="nam")
    out.append(("toffoli_adder", adder))
    suite = next((p for p in _SUITE if p.is_dir()), None)
    if suite is not None:
        names = ("tof_3", "barenco_tof_3") if ctx.quick else ("tof_3", "barenco_tof_3", "mod5_4", "vbe_adder_3",
                                                               "gf2^4_mult")
        out += [(n, loads((suite / f"{n}.qasm").read_text())) for n in names if (suite / f"{n}.qasm").is_file()]
    return out


def _qiskit_counts(c: Circuit) -> tuple[int, int] | None:
    try:
        import qiskit
    except ImportError:
        return None
    qc = qiskit.QuantumCircuit.from_qasm_str(c.to_qasm(2))
    out = qiskit.transpile(qc, optimization_level=3, basis_gates=["cx", "h", "x", "rz"], seed_transpiler=0)
    ops = out.count_ops()
    return int(sum(ops.values())), int(ops.get("cx", 0))


@register("Compilation: verified optimization of Toffoli circuits", order=60)
def compile_section(section: Section, ctx: TourContext) -> None:
    """Gate and CX counts before and after qtandem (level 3, verified), beside Qiskit level 3."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.compile import counts, optimize

    section.text("Each circuit is in Nam's gate set {h, x, cx, rz}. qtandem.compile.optimize runs Hadamard "
                 "reduction, phase folding (rotation merging over affine parities), commutation-aware "
                 "cancellation and one-qubit resynthesis to a fixpoint, then a rewrite search whose choices a shipped "
                 "learned policy makes (qtandem.compile.search), and verifies the result against the input "
                 "before returning it. Qiskit: transpile(optimization_level=3) with the same basis.")
    rows: list[list[Any]] = []
    names, before, ours, theirs = [], [], [], []
    for name, c in _circuits(ctx):
        ctx.progress(f"optimize {name}")
        t0 = time.perf_counter()
        # a budget counted in expanded circuits: the same output on any machine
        out, _ = optimize(c, level=3, budget_expansions=1000 if ctx.quick else None, seed=ctx.seed)
        secs = time.perf_counter() - t0
        a, b = counts(c), counts(out)
        q = _qiskit_counts(c)
        names.append(name)
        before.append((a.gates, a.cx))
        ours.append((b.gates, b.cx))
        theirs.append(q)
        rows.append([name, c.n_qubits, f"{a.gates}/{a.cx}/{a.t}", f"{b.gates}/{b.cx}/{b.t}",
                     "-" if q is None else f"{q[0]}/{q[1]}", f"{secs:.2f}"])
    section.table(["circuit", "qubits", "before gates/cx/T", "qtandem gates/cx/T", "Qiskit L3 gates/cx", "seconds"],
                  rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(names))
    for k, (ax, label) in enumerate(zip(axes, ("total gates", "CX"), strict=True)):
        ax.bar(x - 0.27, [v[k] for v in before], 0.27, label="input")
        ax.bar(x, [v[k] for v in ours], 0.27, label="qtandem level 3")
        if all(t is not None for t in theirs):
            ax.bar(x + 0.27, [t[k] for t in theirs if t is not None], 0.27, label="Qiskit level 3")
        ax.set_xticks(x, names, rotation=35, ha="right")
        ax.set_title(label)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend()
    fig.tight_layout()
    section.figure(fig, "compile_counts", "Counts before and after optimization (lower is better).")
