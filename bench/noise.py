"""Noisy simulation against Qiskit Aer, side by side in one run.

Circuit: the layered benchmark circuit (20 layers of rx, rz on every qubit, then
cx on alternating neighbour pairs). Noise after every gate: depolarizing
(Qiskit parameter 1e-3 for one-qubit gates, 1e-2 for cx) followed by thermal
relaxation (T1 = 100 us, T2 = 80 us; 35.6 ns one-qubit gates, 300 ns cx).

* density matrices, n = 8, 10, 12, 13: qtandem.density_matrix against Aer's
  ``density_matrix`` method (both return the full matrix);
* trajectories, n = 16, 1000 shots: qtandem.sample(method="trajectories") against
  Aer's ``statevector`` method with the same noise model.

Before timing, the n = 8 density matrices are compared (max |difference|).
Peers come from ``pip install -e .[bench]``; a missing peer is skipped.

Run: python bench/noise.py [--sizes 8,10,12,13] [--traj-qubits 16] [--shots 1000] [--repeats 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

import qtandem
from qtandem.circuit.library import layered
from qtandem.noise import NoiseModel, depolarizing_qiskit, thermal_relaxation

T1, T2, T1Q, T2Q = 100e3, 80e3, 35.6, 300.0  # ns
P1, P2 = 1e-3, 1e-2


def qtandem_model() -> NoiseModel:
    return (NoiseModel()
            .add(depolarizing_qiskit(P1), gates=["rx", "rz"]).add(thermal_relaxation(T1, T2, T1Q), gates=["rx", "rz"])
            .add(depolarizing_qiskit(P2, 2), gates=["cx"])
            .add(thermal_relaxation(T1, T2, T2Q).tensor(thermal_relaxation(T1, T2, T2Q)), gates=["cx"]))


def aer_model():
    from qiskit_aer import noise as an

    nm = an.NoiseModel()
    nm.add_all_qubit_quantum_error(an.depolarizing_error(P1, 1).compose(an.thermal_relaxation_error(T1, T2, T1Q)),
                                   ["rx", "rz"])
    relax2 = an.thermal_relaxation_error(T1, T2, T2Q).expand(an.thermal_relaxation_error(T1, T2, T2Q))
    nm.add_all_qubit_quantum_error(an.depolarizing_error(P2, 2).compose(relax2), ["cx"])
    return nm


def to_qiskit(circuit):
    import qiskit

    qc = qiskit.QuantumCircuit(circuit.n_qubits)
    for inst in circuit:
        getattr(qc, inst.name)(*inst.params, *inst.qubits)
    return qc


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="8,10,12,13")
    ap.add_argument("--traj-qubits", type=int, default=16)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    try:
        import qiskit
        import qiskit_aer
    except ImportError:
        qiskit = qiskit_aer = None
        print("note: qiskit-aer not installed (pip install -e .[bench]); timing qtandem alone")
    model = qtandem_model()
    rows = []
    if qiskit_aer is not None:
        c = layered(8, 20)
        ours = qtandem.density_matrix(c, noise=model).numpy()
        qc = to_qiskit(c)
        qc.save_density_matrix()
        sim = qiskit_aer.AerSimulator(method="density_matrix", noise_model=aer_model(),
                                      max_parallel_threads=args.threads)
        theirs = sim.run(qc).result().data()["density_matrix"].data
        diff = float(np.abs(ours - theirs).max())
        print(f"check n=8: max |rho_qtandem - rho_aer| = {diff:.2e}")
        if diff > 1e-8:
            print("MISMATCH against Aer: not timing")
            return 1
    print(f"\n{'case':<28}{'qtandem s':>11}{'aer s':>10}{'ratio q/aer':>13}")
    for n in [int(s) for s in args.sizes.split(",") if s]:
        c = layered(n, 20)
        t_q = timed(lambda c=c: qtandem.density_matrix(c, noise=model), args.repeats)
        t_a = float("nan")
        if qiskit_aer is not None:
            qc = to_qiskit(c)
            qc.save_density_matrix()
            sim = qiskit_aer.AerSimulator(method="density_matrix", noise_model=aer_model(),
                                          max_parallel_threads=args.threads)
            tqc = qiskit.transpile(qc, sim, optimization_level=0)
            t_a = timed(lambda tqc=tqc, sim=sim: sim.run(tqc).result().data()["density_matrix"], args.repeats)
        rows.append({"case": f"density n={n}", "qtandem": t_q, "aer": t_a})
        print(f"{'density n=' + str(n):<28}{t_q:>11.3f}{t_a:>10.3f}{t_q / t_a:>13.2f}", flush=True)
    n = args.traj_qubits
    if n:
        c = layered(n, 20)
        cm = qtandem.Circuit(n, n).compose(c).measure(range(n), range(n))
        t_q = timed(lambda: qtandem.sample(cm, shots=args.shots, seed=1, noise=model, method="trajectories"), 1)
        t_a = float("nan")
        if qiskit_aer is not None:
            qc = to_qiskit(c)
            qc.measure_all()
            sim = qiskit_aer.AerSimulator(method="statevector", noise_model=aer_model(),
                                          max_parallel_threads=args.threads)
            tqc = qiskit.transpile(qc, sim, optimization_level=0)
            t_a = timed(lambda: sim.run(tqc, shots=args.shots, seed_simulator=1).result().get_counts(), 1)
        rows.append({"case": f"trajectories n={n} shots={args.shots}", "qtandem": t_q, "aer": t_a})
        print(f"{'traj n=' + str(n) + f' x{args.shots}':<28}{t_q:>11.3f}{t_a:>10.3f}{t_q / t_a:>13.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": args.threads, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
