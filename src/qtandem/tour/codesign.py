"""Tour section of the co-design loop: learn a drifted device, compile and run GHZ with it, against stale."""

from __future__ import annotations

from qtandem.report import Section
from qtandem.tour import TourContext, register


@register("Co-design loop: re-learning a drifted device against its stale calibration", order=95)
def codesign_section(section: Section, ctx: TourContext) -> None:
    """A hidden device drifted from its published calibration; the loop learns it back."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.codesign.config import parse_config
    from qtandem.codesign.loop import run_loop

    n_dev, n_ghz, iterations, shots = (8, 4, 1, 4000) if ctx.quick else (12, 10, 2, 12000)
    text = (f"[loop]\niterations = {iterations}\nseed = {ctx.seed}\n"
            f"[device]\nkind = \"hidden\"\nn_qubits = {n_dev}\nseed = {ctx.seed}\n"
            f"[characterize]\nshots = 200\n[workload]\nkind = \"ghz\"\nn_qubits = {n_ghz}\nshots = {shots}\n")
    section.text(f"A hidden {n_dev}-qubit heavy-hex device (qtandem.codesign.hidden_device) has drifted since its "
                 "calibration was published: T1 down 30%, readout errors doubled, a 0.1 rad sx over-rotation on "
                 "30% of the qubits and 0.05 rad cx over-rotations on 30% of the couplings. The loop characterizes "
                 "it (readout, T1, amplified sx/x/cx), calibrates, compiles a "
                 f"{n_ghz}-qubit GHZ state for the learned device (noise-aware layout, coherent corrections), "
                 "runs it, mitigates readout with the learned matrices, and tests the workload's own shots for "
                 "drift; the same pipeline with the published calibration runs beside it.")
    section.code(text)
    ctx.progress("codesign: running the loop")
    res = run_loop(parse_config(text, source="tour"), output=ctx.outdir / "codesign_loop", progress=False)
    rows = res.table()
    section.table(["iteration", "GHZ fidelity (loop)", "GHZ fidelity (stale)", "error (loop)", "error (stale)",
                   "gain (stale / loop error)"],
                  [[r["iteration"], r["loop_value"], r["stale_value"], r["loop_error"], r["stale_error"], r["gain"]]
                   for r in rows])
    section.table(["iteration", "stage", "shots", "seconds", "what it bought", "notes"],
                  [[r.iteration, r.stage, r.shots, r.seconds,
                    ", ".join(f"{k}={v:.3g}" for k, v in r.metrics.items()), r.notes] for r in res.records])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    its = [r["iteration"] for r in rows]
    ax.plot(its, [r["loop_error"] for r in rows], "o-", label="learned calibration (loop)")
    ax.plot(its, [r["stale_error"] for r in rows], "s--", label="published calibration (stale)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("1 - GHZ fidelity")
    ax.set_yscale("log")
    ax.legend()
    section.figure(fig, "codesign_loop", "GHZ error per loop iteration, learned vs stale calibration")
    section.text("The loop's own report (per-stage cost and gain, plots) is in codesign_loop/report.html. "
                 "One device and one seed: the issue's benchmark (bench/codesign_loop.py) averages seeds.")
