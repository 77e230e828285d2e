"""Models trained on raw shots (issue 16): classical shadows, qtandem against PennyLane.

The state: ``qtandem.circuit.library.layered(8, layers=3, seed=7)`` (rx, rz on every qubit, then
cx on alternating neighbour pairs, three layers; angles seeded), 8 qubits. Observables: all
276 one- and two-local Paulis (8 x 3 + 28 x 9). Exact values from the state vector.

Parts (``--parts``; the tomography parts of the issue will join them here):

* ``accuracy``: for each seed, a record of T = 10^4 random-Pauli shots from
  ``qtandem.learn.measure_randomized`` (qtandem's pipeline) and one from PennyLane's own
  ``qml.classical_shadow`` on ``default.qubit`` with ``qml.StatePrep`` of the same state
  (PennyLane's pipeline, independent shots). Each tool estimates the 276 Paulis from its own
  record (``qtandem.learn.shadows.estimate``, PennyLane ``ClassicalShadow.expval``); PennyLane's
  estimator also runs on qtandem's record (identical numbers expected: the same estimator).
  Reported: mean absolute error per weight against ``sqrt(3**w / T)``, and the coverage of
  qtandem's error bars (fraction of |error| <= 1 and 1.96 standard errors, k = 1 and k = 10)
  over all seeds and observables.
* ``timing``: one record of T = 10^5 shots (seed 0); wall time of estimating the 276 Paulis,
  PennyLane's ``ClassicalShadow.expval(list, k=1)`` against qtandem's ``estimate(record, list)``
  (best of ``--repeats``), both single-threaded; the sampling times of both tools beside them.
  Run with both CPU locks (a wall-clock measurement).

* ``tomography``: qiskit-experiments beside qtandem in the same run (``--tomo-states``, default
  GHZ and W on 6 qubits): all ``3**n`` Pauli bases measured ``--tomo-shots-per-basis`` times by
  ``qtandem.learn.measure_pauli_bases``; on the same counts qiskit-experiments' ``linear_inversion``
  fitter with PSD rescaling (``bench/learn_tomography.py``'s ``qiskit_fit``), qtandem's
  ``linear_inversion`` and ``mle_tomography``: fidelity with the true state, the largest difference
  between the two linear inversions, and the wall time of each fit (one thread).

``--parts accuracy,timing,tomography`` runs PennyLane, qiskit-experiments and qtandem in one run
(PennyLane comes with the ``bench`` extra; without it, run ``--parts tomography`` alone).

Everything is seeded. Reproduce (accuracy in lane A, timing under both locks, then one merged file):
``flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/learn_shots.py --parts accuracy
--seeds 100 --peer-seeds 50 --json bench/results/learn_shots_accuracy.json``;
``flock /tmp/qtandem-cpu0.lock flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python
bench/learn_shots.py --parts timing --json bench/results/learn_shots_timing.json``;
``python bench/learn_shots.py --merge bench/results/learn_shots_accuracy.json bench/results/learn_shots_timing.json
--json bench/results/learn_shots.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import sys
import time
from typing import Any

import numpy as np
import torch

from qtandem import statevector
from qtandem.circuit.library import layered
from qtandem.learn import measure_randomized
from qtandem.learn.shadows import estimate, parse_observables
from qtandem.sim.expectation import pauli_expectation_many

N_QUBITS = 8


def observables(n: int) -> tuple[list[str], list[tuple[tuple[int, ...], tuple[int, ...]]], np.ndarray]:
    """Labels (qubit 0 rightmost), (qubits, letters 0/1/2) and weights of all 1- and 2-local Paulis."""
    labels, words, weights = [], [], []
    for w in (1, 2):
        for qs in itertools.combinations(range(n), w):
            for letters in itertools.product(range(3), repeat=w):
                lab = ["I"] * n
                for q, c in zip(qs, letters, strict=True):
                    lab[n - 1 - q] = "XYZ"[c]
                labels.append("".join(lab))
                words.append((qs, letters))
                weights.append(w)
    return labels, words, np.array(weights)


def pennylane_ops(words: list[tuple[tuple[int, ...], tuple[int, ...]]]) -> list[Any]:
    import pennylane as qml

    cls = (qml.PauliX, qml.PauliY, qml.PauliZ)
    ops = []
    for qs, letters in words:
        op = cls[letters[0]](qs[0])
        for q, c in zip(qs[1:], letters[1:], strict=True):
            op = op @ cls[c](q)
        ops.append(op)
    return ops


def pennylane_record(psi: torch.Tensor, n: int, shots: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """PennyLane's own classical-shadow record of the state (wire i = qubit i)."""
    import pennylane as qml

    psi_pl = psi.reshape((2,) * n).permute(*reversed(range(n))).reshape(-1).numpy()  # PennyLane: wire 0 first
    dev = qml.device("default.qubit", wires=n, seed=seed)

    @qml.set_shots(shots=shots)
    @qml.qnode(dev)
    def shadow() -> Any:
        qml.StatePrep(psi_pl, wires=range(n))
        return qml.classical_shadow(wires=range(n), seed=seed)

    bits, recipes = shadow()
    return np.asarray(bits, dtype=np.int64), np.asarray(recipes, dtype=np.int64)


def part_accuracy(args: argparse.Namespace, psi: torch.Tensor, labels: list[str], words: list, weights: np.ndarray,
                  exact: np.ndarray) -> dict[str, Any]:
    import pennylane as qml

    ops = pennylane_ops(words)
    obs = parse_observables(labels)
    t = args.shots
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rec = measure_randomized(psi, t, seed=seed)
        est = estimate(rec, obs)
        est10 = estimate(rec, obs, k=10)
        z1 = np.abs(est.values.numpy() - exact) / est.stderr.numpy()
        z10 = np.abs(est10.values.numpy() - exact) / est10.stderr.numpy()
        pl_same = np.asarray(qml.ClassicalShadow(rec.outcomes.astype(np.int64), rec.bases.astype(np.int64))
                             .expval(ops, k=1))
        row: dict[str, Any] = {"seed": seed, "estimates": len(exact),
                               "max_diff_pennylane_same_record": float(np.abs(pl_same - est.values.numpy()).max()),
                               "k1_within_1se": int((z1 <= 1).sum()), "k1_within_1.96se": int((z1 <= 1.96).sum()),
                               "k10_within_1se": int((z10 <= 1).sum()), "k10_within_1.96se": int((z10 <= 1.96).sum())}
        errors = {"qtandem": np.abs(est.values.numpy() - exact)}
        if seed - args.first_seed < args.peer_seeds:
            bits, recipes = pennylane_record(psi, N_QUBITS, t, seed + 10_000)
            errors["pennylane"] = np.abs(np.asarray(qml.ClassicalShadow(bits, recipes).expval(ops, k=1)) - exact)
        for name, e in errors.items():
            for w in (1, 2):
                row[f"{name}_w{w}"] = float(e[weights == w].mean())
        rows.append(row)
        print(f"seed {seed}: mean |err| qtandem {errors['qtandem'].mean():.4f}", file=sys.stderr, flush=True)
    reference = {str(w): {"sqrt(3^w/T)": math.sqrt(3 ** w / t),
                          "expected_mean_abs": float(np.mean(np.sqrt(2 / math.pi * (3 ** w - exact[weights == w] ** 2)
                                                                     / t)))} for w in (1, 2)}
    return summarize_accuracy({"shots": t, "reference": reference, "per_seed": rows})


def summarize_accuracy(acc: dict[str, Any]) -> dict[str, Any]:
    """Means over seeds of the per-seed rows (also used to merge result files)."""
    rows = acc["per_seed"]
    per_weight: dict[str, Any] = {}
    for w in ("1", "2"):
        per_weight[w] = dict(acc["reference"][w])
        for name in ("qtandem", "pennylane"):
            vals = [r[f"{name}_w{w}"] for r in rows if f"{name}_w{w}" in r]
            per_weight[w][name] = float(np.mean(vals)) if vals else None
            per_weight[w][f"{name}_seeds"] = len(vals)
    total = sum(r["estimates"] for r in rows)
    coverage = {key: sum(r[key] for r in rows) / total
                for key in ("k1_within_1se", "k1_within_1.96se", "k10_within_1se", "k10_within_1.96se")}
    coverage.update({"nominal": {"1se": 0.6827, "1.96se": 0.95}, "estimates": total})
    return {**acc, "seeds": len(rows), "mean_abs_error_per_weight": per_weight, "coverage": coverage,
            "max_diff_pennylane_same_record": max(r["max_diff_pennylane_same_record"] for r in rows)}


def part_timing(args: argparse.Namespace, psi: torch.Tensor, labels: list[str], words: list) -> dict[str, Any]:
    import pennylane as qml

    t = args.timing_shots
    ops = pennylane_ops(words)
    t0 = time.perf_counter()
    rec = measure_randomized(psi, t, seed=0)
    sample_qt = time.perf_counter() - t0
    t0 = time.perf_counter()
    pennylane_record(psi, N_QUBITS, t, 0)
    sample_pl = time.perf_counter() - t0
    bits, recipes = rec.outcomes.astype(np.int64), rec.bases.astype(np.int64)
    times_pl, times_qt, cpu_pl, cpu_qt = [], [], [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        pl = np.asarray(qml.ClassicalShadow(bits, recipes).expval(ops, k=1))
        times_pl.append(time.perf_counter() - t0)
        cpu_pl.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        est = estimate(rec, labels)
        times_qt.append(time.perf_counter() - t0)
        cpu_qt.append(time.process_time() - c0)
        print(f"timing: pennylane {times_pl[-1]:.3f} s, qtandem {times_qt[-1]:.4f} s", file=sys.stderr, flush=True)
    return {"shots": t, "repeats": args.repeats, "pennylane_expval_s": times_pl, "qtandem_estimate_s": times_qt,
            "pennylane_expval_cpu_s": cpu_pl, "qtandem_estimate_cpu_s": cpu_qt,
            "speedup_best": min(times_pl) / min(times_qt), "speedup_best_cpu": min(cpu_pl) / min(cpu_qt),
            "max_diff": float(np.abs(pl - est.values.numpy()).max()),
            "sampling_s": {"qtandem_measure_randomized": sample_qt, "pennylane_classical_shadow": sample_pl}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="accuracy,timing", help="comma-separated: accuracy, timing")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--peer-seeds", type=int, default=100, help="seeds with PennyLane's own records")
    ap.add_argument("--shots", type=int, default=10_000)
    ap.add_argument("--timing-shots", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tomo-states", default="ghz6,w6")
    ap.add_argument("--tomo-shots-per-basis", type=int, default=1000)
    ap.add_argument("--locks", default="both", help="which CPU locks the run held (recorded in the JSON)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="merge result files (accuracy rows of all, timing of the first that has it) into --json")
    args = ap.parse_args(argv)
    if args.merge:
        result = merge(args.merge)
        report(result)
        if args.json:
            write(args.json, result)
        return 0
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if parts == ["tomography"]:
        alone = {"config": vars(args), "platform": platform.platform(), "python": platform.python_version(),
                 "threads": torch.get_num_threads(), "tomography": part_tomography(args)}
        report(alone)
        if args.json:
            write(args.json, alone)
        return 0
    import pennylane as qml

    circuit = layered(N_QUBITS, layers=3, seed=7)
    psi = statevector(circuit)
    labels, words, weights = observables(N_QUBITS)
    exact = pauli_expectation_many(psi, parse_observables(labels)).real.numpy()
    result: dict[str, Any] = {
        "config": vars(args), "state": "qtandem.circuit.library.layered(8, layers=3, seed=7)",
        "observables": len(labels), "platform": platform.platform(), "python": platform.python_version(),
        "versions": {"pennylane": qml.__version__, "numpy": np.__version__, "torch": torch.__version__},
        "threads": torch.get_num_threads(),
    }
    for part in parts:
        if part == "accuracy":
            result["accuracy"] = part_accuracy(args, psi, labels, words, weights, exact)
        elif part == "timing":
            result["timing"] = {**part_timing(args, psi, labels, words), "locks": args.locks}
        elif part == "tomography":
            result["tomography"] = part_tomography(args)
        else:
            ap.error(f"unknown part {part!r} (accuracy, timing, tomography)")
    report(result)
    if args.json:
        write(args.json, result)
    return 0


def part_tomography(args: argparse.Namespace) -> list[dict[str, Any]]:
    """qiskit-experiments' and qtandem's fitters on the same Pauli counts (see the module docstring)."""
    import qiskit_experiments

    from learn_tomography import make_state, qiskit_fit  # bench/ is on sys.path when run as a script
    from qtandem.learn.tomography import linear_inversion, measure_pauli_bases, mle_tomography, state_fidelity

    rows = []
    for name in args.tomo_states.split(","):
        n, state, _, _ = make_state(name)
        counts = measure_pauli_bases(state, args.tomo_shots_per_basis, seed=args.first_seed)
        t0 = time.perf_counter()
        rho_q = qiskit_fit(counts)
        t_q = time.perf_counter() - t0
        t0 = time.perf_counter()
        rho_li = linear_inversion(counts)
        t_li = time.perf_counter() - t0
        t0 = time.perf_counter()
        rho_mle = mle_tomography(counts)
        t_mle = time.perf_counter() - t0
        rows.append({"state": name, "n": n, "shots_per_basis": args.tomo_shots_per_basis,
                     "total_shots": args.tomo_shots_per_basis * 3**n, "seed": args.first_seed,
                     "qiskit_experiments": qiskit_experiments.__version__,
                     "fidelity": {"qiskit_experiments_linear_inversion": state_fidelity(torch.as_tensor(rho_q), state),
                                  "qtandem_linear_inversion": state_fidelity(rho_li, state),
                                  "qtandem_mle": state_fidelity(rho_mle, state)},
                     "max_abs_difference_linear_inversions": float(np.abs(np.asarray(rho_li) - rho_q).max()),
                     "seconds": {"qiskit_experiments_linear_inversion": t_q, "qtandem_linear_inversion": t_li,
                                 "qtandem_mle": t_mle}})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def merge(files: list[str]) -> dict[str, Any]:
    results = []
    for f in files:
        with open(f) as fh:
            results.append(json.load(fh))
    out: dict[str, Any] = {"merged_from": files,
                           **{k: v for k, v in results[0].items() if k not in ("accuracy", "timing")}}
    accs = [r["accuracy"] for r in results if "accuracy" in r]
    if accs:
        rows = sorted((row for a in accs for row in a["per_seed"]), key=lambda r: r["seed"])
        out["accuracy"] = summarize_accuracy({"shots": accs[0]["shots"], "reference": accs[0]["reference"],
                                              "per_seed": rows})
    timings = [r["timing"] for r in results if "timing" in r]
    if timings:
        out["timing"] = timings[0]
    return out


def write(path: str, result: dict[str, Any]) -> None:
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1, default=float)
        fh.write("\n")


def report(result: dict[str, Any]) -> None:
    if "accuracy" in result:
        acc = result["accuracy"]
        print(f"T={acc['shots']}, {acc['seeds']} seeds")
        for w, row in acc["mean_abs_error_per_weight"].items():
            peer = row["pennylane"] if row["pennylane"] is not None else float("nan")
            print(f"weight {w}: mean |error| qtandem {row['qtandem']:.4f}, PennyLane {peer:.4f} (own records, "
                  f"{row['pennylane_seeds']} seeds), sqrt(3^w/T) {row['sqrt(3^w/T)']:.4f}, "
                  f"expected {row['expected_mean_abs']:.4f}")
        cov = acc["coverage"]
        print(f"coverage k=1: {cov['k1_within_1se']:.3f} within 1 se (0.683), {cov['k1_within_1.96se']:.3f} within "
              f"1.96 se (0.95); k=10: {cov['k10_within_1se']:.3f}, {cov['k10_within_1.96se']:.3f}; "
              f"PennyLane on the same record: max difference {acc['max_diff_pennylane_same_record']:.2g}")
    if "timing" in result:
        tim = result["timing"]
        print(f"T={tim['shots']}: PennyLane expval {min(tim['pennylane_expval_s']):.3f} s, qtandem estimate "
              f"{min(tim['qtandem_estimate_s']):.4f} s: {tim['speedup_best']:.1f}x (CPU time: "
              f"{tim.get('speedup_best_cpu', float('nan')):.1f}x); locks: {tim.get('locks', '?')}")


if __name__ == "__main__":
    raise SystemExit(main())
