"""Tour section of device learning: calibrate a hidden device from its shots, then correct its gates."""

from __future__ import annotations

import math
import time
from typing import Any

from qtandem import Circuit
from qtandem.report import Section
from qtandem.tour import TourContext, register


def _repeated_sx(n: int, width: int) -> Circuit:
    """``n`` sx gates on qubit 0 (a multiple of 4 is the identity when the gate is perfect).

    A barrier follows each gate, so the correction pass fixes every sx on its own instead of
    resynthesizing the whole run (an identity, which it would simply remove).
    """
    c = Circuit(width)
    for _ in range(n):
        c.sx(0).barrier(0)
    return c


def _fidelity(circuit: Circuit, model: Any) -> float:
    """Population of ``|0...0>`` after ``circuit`` under ``model`` (the ideal output of a repeated identity)."""
    from qtandem.noise.density import density_matrix

    rho = density_matrix(circuit, noise=model)
    return float(rho[0, 0].real)


@register("Learning a hidden device from its shots", order=70)
def learn_section(section: Section, ctx: TourContext) -> None:
    """Device.random hides a device; plan, run, calibrate, check, correct, compare fidelities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.device import Device
    from qtandem.device.executors import simulator_executor
    from qtandem.learn.calibrate import calibrate
    from qtandem.learn.corrections import suggest_corrections
    from qtandem.learn.plan import characterization
    from qtandem.learn.report import experiment_figure, parameter_rows

    hidden = Device.random(2, "line", seed=ctx.seed)
    shots = 300 if ctx.quick else 1000
    plan = characterization([0], experiments=["readout", "t1", "amplify_sx", "amplify_x"], seed=ctx.seed)
    section.text(f"A hidden device (Device.random(2, seed={ctx.seed}): coherent over-rotations, relaxation, "
                 f"readout errors) is probed with {len(plan.circuits)} characterization circuits on qubit 0 "
                 f"({', '.join(sorted({e.name for e in plan.experiments}))}), {shots} shots each, through "
                 "qtandem's noisy simulator, as a lab would run them on hardware.")
    ctx.progress("learn: running the characterization circuits")
    data = plan.run(simulator_executor(hidden, seed=ctx.seed), shots, seed=ctx.seed, device_name="hidden")
    ctx.progress("learn: maximum-likelihood calibration")
    start = time.perf_counter()
    cal = calibrate(data, restarts=1, seed=ctx.seed)
    fit_s = time.perf_counter() - start
    check = cal.check()
    truth = hidden.qubits[0]
    rows = []
    for row in parameter_rows(cal.values, cal.stderr):
        field = row[0].split(".", 1)[1]
        true = float(getattr(truth, field))
        z = abs(cal.values[row[0]] - true) / cal.stderr[row[0]] if cal.stderr.get(row[0], 0) > 0 else math.nan
        rows.append([row[0], parameter_rows({row[0]: true}, {})[0][1], row[1], row[2], z])
    section.table(["parameter", "hidden truth", "fitted", "std. error", "|fit - truth| / std. error"], rows)
    section.text(f"Joint fit of {len(cal.values)} parameters through the differentiable density-matrix simulator "
                 f"in {fit_s:.1f} s. Model check: {check.summary()}.")
    section.figure(experiment_figure(cal, "amplify_sx", [0]), "learn_amplify_sx",
                   "Repeated sx (4k + 1 counts ideally at P(1) = 1/2, 4k + 2 counts at the pole P(1) = 1): the "
                   "over-rotation moves the equator points off 1/2, gate error pulls the pole points below 1; "
                   "the line is the fitted model.")

    ctx.progress("learn: corrections")
    learned = suggest_corrections(cal, base=hidden)  # the numbers not fitted come from the device's own sheet
    oracle = suggest_corrections(hidden)
    model = hidden.noise_model()
    counts = [0, 8, 16, 24, 32, 40] if ctx.quick else [0, 8, 16, 24, 32, 40, 48, 56, 64]
    before, after, best, sizes = [], [], [], []
    for n in counts:
        c = _repeated_sx(n, hidden.num_qubits)
        fixed = learned.run(c)
        before.append(_fidelity(c, model))
        after.append(_fidelity(fixed, model))
        best.append(_fidelity(oracle.run(c), model))
        sizes.append(fixed.count_ops().get("sx", 0))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(counts, before, "o-", label="as compiled")
    ax.plot(counts, after, "s-", label="corrected with the learned device")
    ax.plot(counts, best, "x--", label="corrected with the hidden truth")
    ax.set_xlabel("sx gates (a multiple of 4: ideally the identity)")
    ax.set_ylabel("fidelity with |0>")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Repeated sx on the hidden device (exact density matrices)")
    section.figure(fig, "learn_corrections", "Each sx (a barrier after it) corrected on its own: the learned "
                   "corrections cancel the coherent over-rotation; what remains is relaxation and depolarizing "
                   "noise of the corrected sequence (which uses more sx gates).")
    section.table(["sx gates", "fidelity before", "after (learned)", "after (truth)", "sx gates after"],
                  [[n, b, a, o, k] for n, b, a, o, k in zip(counts, before, after, best, sizes, strict=True)])


def _ghz(n: int) -> Circuit:
    c = Circuit(n).h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    return c


@register("Reconstructing a GHZ state from shots: shadows, a neural model, maximum likelihood", order=75)
def ghz_section(section: Section, ctx: TourContext) -> None:
    """One record of random-Pauli shots of a GHZ state; three ways to learn the state from it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.learn import measure_randomized, shadows
    from qtandem.learn.neural_state import NeuralStateModel
    from qtandem.learn.tomography import MAX_QUBITS, mle_tomography, state_fidelity
    from qtandem.sim import statevector

    n = 6 if ctx.quick else 12
    small = 4
    shots = 1000 if ctx.quick else 4000
    budget = {n: (60, 64) if ctx.quick else (80, 32), small: (60, 64) if ctx.quick else (150, 128)}  # steps, batch
    section.text(f"A {n}-qubit GHZ state (|0...0> + |1...1>)/sqrt 2 is measured {shots} times, each shot in its own "
                 "random Pauli basis (qtandem.learn.measure_randomized); a 4-qubit GHZ state likewise, where "
                 "matrix-based tomography still runs. Three learners use the same record: classical shadows "
                 "(qtandem.learn.shadows: a fidelity estimate with its error bar), a neural-network state model "
                 "(qtandem.learn.neural_state: an autoregressive GRU over the bits with a phase head, trained on the "
                 "Born-rule likelihood of each shot in its basis; learning rate 0.01) and maximum likelihood "
                 "(qtandem.learn.tomography). Nothing sees the state vector except the final scores.")
    rows: list[list[Any]] = []
    bars: dict[str, tuple[float, float]] = {}
    for width in (n, small):
        circuit = _ghz(width)
        psi = statevector(circuit)
        ctx.progress(f"learn: {shots} random-Pauli shots of a {width}-qubit GHZ state")
        record = measure_randomized(circuit, shots, seed=ctx.seed + width)
        start = time.perf_counter()
        fid = shadows.fidelity(record, psi)
        zz = shadows.estimate(record, [f"Z{q} Z{q + 1}" for q in range(width - 1)])
        shadow_s = time.perf_counter() - start
        all_x = int((record.bases == 0).all(axis=1).sum())       # shots that saw <X...X> (true value 1)
        rows.append([width, "classical shadows (Pauli)", float(fid.values), float(fid.stderr),
                     f"mean <Z_i Z_i+1> {float(zz.values.mean()):.3f} +/- {float(zz.stderr.mean()):.3f} (true 1); "
                     f"{all_x} shots measured the all-X basis that <X...X> needs (probability 3^-{width} each): "
                     "the GHZ coherence is what random Paulis see least", shadow_s])
        bars[f"shadows, {width} q"] = (float(fid.values), float(fid.stderr))
        ctx.progress(f"learn: neural-network state model, {width} qubits")
        start = time.perf_counter()
        model = NeuralStateModel(width, kind="rnn", d_model=16, seed=ctx.seed)
        steps, batch = budget[width]
        model.fit(record, steps=steps, batch_size=batch, lr=0.01, seed=ctx.seed)
        neural_s = time.perf_counter() - start
        f_neural = model.fidelity(psi)
        size = sum(p.numel() for p in model.parameters())
        rows.append([width, "neural state model (GRU, Born-rule likelihood)", f_neural, math.nan,
                     f"exact fidelity of the learned amplitudes; {size} parameters, {steps} steps of {batch} shots "
                     "(a tour-sized budget; bench/learn_tomography.py trains longer)", neural_s])
        bars[f"neural, {width} q"] = (f_neural, 0.0)
        if width <= MAX_QUBITS:
            start = time.perf_counter()
            rho = mle_tomography(record)
            mle_s = time.perf_counter() - start
            f_mle = state_fidelity(rho, psi)
            rows.append([width, "maximum likelihood (qtandem.learn.tomography)", f_mle, math.nan,
                         f"exact fidelity of the {2**width}x{2**width} estimate", mle_s])
            bars[f"ML, {width} q"] = (f_mle, 0.0)
        else:
            table_gib = 6**width * 16 / 2**30
            rows.append([width, "maximum likelihood", math.nan, math.nan,
                         f"not run: the density matrix alone is {4**width * 16 / 2**20:.0f} MiB and qtandem's "
                         f"likelihood works on a table of 6^{width} = {6**width:.2e} outcomes ({table_gib:.0f} GiB "
                         f"complex128 per table; MAX_QUBITS = {MAX_QUBITS})", math.nan])
    section.table(["qubits", "method", "fidelity with GHZ", "std. error", "notes", "seconds"], rows)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    names = list(bars)
    colors = {"shadows": "C0", "ML": "C1", "neural": "C2"}
    ax.bar(range(len(names)), [bars[k][0] for k in names], yerr=[bars[k][1] for k in names], capsize=4,
           color=[colors[k.split(",")[0]] for k in names])
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_ylim(0, 1.2)
    ax.set_ylabel("fidelity with the GHZ state")
    ax.set_title(f"One record of {shots} random-Pauli shots per register")
    fig.tight_layout()
    section.figure(fig, "learn_ghz", "Shadow fidelities are estimates (error bars: one standard error); the "
                   "maximum-likelihood and neural-model fidelities are exact scores of the learned states.")
