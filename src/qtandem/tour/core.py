"""Tour section of the core: OpenQASM in, simulation, cross-checks, samples, timings."""

from __future__ import annotations

import time
from importlib import resources

import numpy as np
import torch

import qtandem
from qtandem.circuit.library import layered
from qtandem.report import Section
from qtandem.sim.core import run
from qtandem.sim.reference import reference_unitary
from qtandem.tour import TourContext, register

_TOUR_FILES = ("ghz_5.qasm", "toffoli_adder.qasm", "qft_4.qasm", "variational_3.qasm")


def _qiskit_unitary(text: str) -> np.ndarray | None:
    try:
        import qiskit.qasm2
        from qiskit.quantum_info import Operator
    except ImportError:
        return None
    if "OPENQASM 2" not in text:
        return None
    qc = qiskit.qasm2.loads(text)
    qc.remove_final_measurements()
    return Operator(qc).data


def _phase_dist(a: np.ndarray, b: np.ndarray) -> float:
    idx = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    phase = a[idx] / b[idx]
    return float(np.abs(a - phase * b).max())


@register("Core: circuits, OpenQASM and the simulator", order=10)
def core_section(section: Section, ctx: TourContext) -> None:
    """Load circuits from OpenQASM, simulate, cross-check, sample and time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    section.text("Each circuit below is read from an OpenQASM file shipped with qtandem, simulated with "
                 "qtandem's simulator and checked against explicit matrices built by an independent NumPy "
                 "reference simulator (and against Qiskit's unitary where Qiskit is installed).")
    rows = []
    drawings = []
    base = resources.files("qtandem.data") / "qasm"
    for fname in _TOUR_FILES:
        ctx.progress(f"loading {fname}")
        text = (base / fname).read_text()
        circ = qtandem.Circuit.from_qasm(text, filename=fname)
        unitary_part = qtandem.Circuit(circ.n_qubits)
        for inst in circ:
            if inst.is_gate:
                unitary_part.append(inst)
        values = {p.name: 0.3 + 0.4 * i for i, p in enumerate(circ.parameters)}
        ours = qtandem.unitary(unitary_part, values or None).numpy()
        ref = reference_unitary(unitary_part, values)
        q_ref = None if circ.parameters else _qiskit_unitary(text)
        rows.append([fname, circ.n_qubits, circ.num_gates(), circ.depth(),
                     ", ".join(p.name for p in circ.parameters) or "-",
                     f"{_phase_dist(ours, ref):.1e}",
                     "n/a" if q_ref is None else f"{_phase_dist(ours, q_ref):.1e}"])
        drawings.append(f"{fname}\n{circ.draw()}")
    section.table(["file", "qubits", "gates", "depth", "parameters", "max |U - U_numpy|", "max |U - U_qiskit|"],
                  rows)
    section.code("\n\n".join(drawings[:2]))

    ctx.progress("sampling")
    ghz = qtandem.Circuit.from_qasm((base / "ghz_5.qasm").read_text())
    result = qtandem.sample(ghz, shots=2000, seed=ctx.seed)
    adder = qtandem.Circuit.from_qasm((base / "toffoli_adder.qasm").read_text())
    adder_counts = qtandem.sample(adder, shots=500, seed=ctx.seed + 1).counts
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    keys = sorted(result.counts)
    axes[0].bar(keys, [result.counts[k] for k in keys], color="#3b6ea5")
    axes[0].set_title("GHZ-5, 2000 shots")
    axes[0].set_ylabel("counts")
    axes[1].bar(list(adder_counts), list(adder_counts.values()), color="#a5633b")
    axes[1].set_title("full adder 1+1 (+0), 500 shots")
    for ax in axes:
        ax.tick_params(axis="x", rotation=45)
    section.figure(fig, "core_histograms", "Sampled outcomes (bitstrings: qubit 0 rightmost).")
    section.text(f"GHZ-5 counts: {result.counts}. Full adder (cin=0, a=1, b=1) outcomes: {adder_counts} "
                 "(the carry-out qubit, leftmost, is 1).")

    ctx.progress("timing")
    sizes = list(range(6, 17, 2)) if ctx.quick else list(range(8, 23, 2))
    layers = 20
    timings: dict[str, list[float]] = {"native complex128": [], "native complex64": [], "torch complex128": []}
    for n in sizes:
        circ = layered(n, layers)
        for label in timings:
            if label.startswith("torch") and n > (14 if ctx.quick else 18):
                timings[label].append(float("nan"))
                continue
            dtype = torch.complex64 if label.endswith("64") else torch.complex128
            native = label.startswith("native")
            best = float("inf")
            for _ in range(2):
                t0 = time.perf_counter()
                run(circ, dtype=dtype, native=native if native else False)
                best = min(best, time.perf_counter() - t0)
            timings[label].append(best)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, ts in timings.items():
        ax.semilogy(sizes, ts, "o-", label=label)
    ax.set_xlabel("qubits")
    ax.set_ylabel("seconds (best of 2)")
    ax.set_title(f"layered circuit, {layers} layers, {torch.get_num_threads()} threads")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    section.figure(fig, "core_timing", "Statevector simulation time against qubit count (best of 2 runs; the "
                   "native path reuses its compiled program on the second run, the torch path recomputes).")
    section.table(["qubits", *timings], [[n, *(timings[k][i] for k in timings)] for i, n in enumerate(sizes)])
    section.text("Peer comparisons (Qiskit Aer, qulacs, PennyLane lightning) come from `make bench`; "
                 "see the README's benchmark table.")
