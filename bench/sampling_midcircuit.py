"""Sampling circuits with mid-circuit measurement, reset and feed-forward: qtandem against Qiskit Aer.

The circuits (built here, seeds fixed):

* ``counterfeit_coin_n12``: QASMBench's counterfeit-coin circuit (11 coins and one
  answer qubit): ``h`` on the coins, their parity into the answer qubit, a mid-circuit
  measurement, gates conditioned on the whole register (``if (c == 0)``,
  ``if (c == 2048)``), the oracle for false coin 6, ``h`` and a measurement of the coins;
* ``teleport_chain_k``: a ``ry`` state teleported ``k`` times down a chain of Bell
  pairs, with ``x``/``z`` corrections fed forward from each pair of measurements;
* ``syndrome_d5_r4``: a distance-5 bit-flip repetition code (5 data qubits, 4 ancillas)
  with data prepared by small ``ry`` rotations, 4 rounds of syndrome measurement into
  fresh classical bits with ancilla reset, then the data measured;
* ``ipe_6``: iterative phase estimation of ``rz`` on one qubit, 6 bits: measure,
  reset and ``rz`` corrections conditioned on every earlier bit (one ancilla reused).

Each timing is one ``sample`` call (qtandem: ``qtandem.sample(circuit, shots, seed=)``;
Aer: ``AerSimulator(method="statevector").run(qc, shots=, seed_simulator=)`` on a
prebuilt circuit, ``result().get_counts()`` included; again with Aer's own
``shot_branching_enable=True``), median of ``--repeats`` after one warm-up, 2 threads.
Every sampler's counts are checked against qtandem's exact distribution
(:func:`qtandem.distribution`) with a chi-square test (outcomes expected fewer than 5
times pooled); the run stops if a p-value is below 1e-4.
``--old`` also times the per-shot path that ``sample`` used before issue 13
(``sim.core.run`` on batches of shots).

Usage::

    python bench/sampling_midcircuit.py --shots 4000 --repeats 3 --json bench/results/sampling_midcircuit.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import qtandem
from qtandem import Circuit
from qtandem.circuit.instruction import Instruction

THREADS = 2
torch.set_num_threads(THREADS)


def counterfeit_coin(coins: int = 11, false_coin: int = 6) -> Circuit:
    """QASMBench's counterfeit_coin structure with ``coins + 1`` qubits and as many classical bits."""
    n = coins + 1
    everything = tuple(range(n))
    c = Circuit(n, n)
    for i in range(coins):
        c.h(i)
    for i in range(coins):
        c.cx(i, coins)
    c.measure(coins, coins)
    c.append(Instruction("x", (coins,), condition=(everything, 0)))
    c.append(Instruction("h", (coins,), condition=(everything, 0)))
    for i in range(coins):
        c.append(Instruction("h", (i,), condition=(everything, 2**coins)))
    c.barrier()
    c.cx(false_coin, coins)
    c.barrier()
    for i in range(coins):
        c.h(i)
    for i in range(coins):
        c.measure(i, i)
    return c


def teleport_chain(k: int, theta: float = 0.7) -> Circuit:
    """Teleport ``ry(theta)|0>`` ``k`` times: qubits 0..2k, bits 0..2k (the last one reads the result)."""
    n = 2 * k + 1
    c = Circuit(n, n).ry(theta, 0)
    for j in range(k):
        src, a, b = 2 * j, 2 * j + 1, 2 * j + 2
        c.h(a).cx(a, b).cx(src, a).h(src).measure([src, a], [src, a])
        c.append(Instruction("x", (b,), condition=((a,), 1)))
        c.append(Instruction("z", (b,), condition=((src,), 1)))
    return c.measure(n - 1, n - 1)


def syndrome_rounds(d: int = 5, rounds: int = 4, seed: int = 7) -> Circuit:
    """Repetition-code syndrome extraction: ``d`` data, ``d - 1`` ancillas reset after every round."""
    rng = np.random.default_rng(seed)
    n = 2 * d - 1
    c = Circuit(n, rounds * (d - 1) + d)
    for q in range(d):
        c.ry(float(rng.uniform(0.1, 0.5)), q)
    bit = 0
    for _ in range(rounds):
        for a in range(d - 1):
            anc = d + a
            c.cx(a, anc).cx(a + 1, anc)
        for a in range(d - 1):
            c.measure(d + a, bit)
            bit += 1
        for a in range(d - 1):
            c.reset(d + a)
        for q in range(d):
            c.rx(float(rng.uniform(0.05, 0.2)), q)
    for q in range(d):
        c.measure(q, bit + q)
    return c


def iterative_phase_estimation(bits: int = 6, phase: float = 0.3141) -> Circuit:
    """Kitaev/IPE: qubit 0 the ancilla (reused), qubit 1 the eigenstate |1> of rz; bit k is the k-th bit read."""
    c = Circuit(2, bits).x(1)
    for k in range(bits):
        power = 2 ** (bits - 1 - k)
        c.h(0).cp(2 * math.pi * phase * power, 0, 1)
        for j in range(k):  # feed-forward: undo the phase of the bits already read
            c.append(Instruction("p", (0,), (-math.pi / 2 ** (k - j),), condition=((j,), 1)))
        c.h(0).measure(0, k).reset(0)
    return c


CIRCUITS: dict[str, Callable[[], Circuit]] = {
    "counterfeit_coin_n12": counterfeit_coin,
    "teleport_chain_3": lambda: teleport_chain(3),
    "syndrome_d5_r4": syndrome_rounds,
    "ipe_6": iterative_phase_estimation,
}


def to_qiskit(c: Circuit) -> Any:
    """The same circuit in Qiskit (``if_test`` on one bit or on the whole register)."""
    import qiskit

    qc = qiskit.QuantumCircuit(qiskit.QuantumRegister(c.n_qubits, "q"), qiskit.ClassicalRegister(c.n_clbits, "c"))
    creg = qc.cregs[0]
    for inst in c:
        if inst.name == "barrier":
            qc.barrier()
            continue
        if inst.name == "measure":
            qc.measure(list(inst.qubits), list(inst.clbits))
            continue
        if inst.name == "reset":
            qc.reset(list(inst.qubits))
            continue
        args = [float(p) for p in inst.params]
        if inst.condition is None:
            getattr(qc, inst.name)(*args, *inst.qubits)
            continue
        bits, value = inst.condition
        target = (creg, value) if bits == tuple(range(c.n_clbits)) else (creg[bits[0]], value)
        assert len(bits) in (1, c.n_clbits)
        with qc.if_test(target):
            getattr(qc, inst.name)(*args, *inst.qubits)
    return qc


def agreement(p: dict[str, float], counts: dict[str, int]) -> float:
    """Chi-square p-value of ``counts`` against the exact distribution ``p`` (outcomes expected fewer
    than 5 times pooled into one bucket)."""
    from scipy.stats import chi2

    shots = sum(counts.values())
    big = [k for k, v in p.items() if v * shots >= 5]
    observed = [counts.get(k, 0) for k in big]
    expected = [p[k] * shots for k in big]
    rest_p = 1.0 - sum(p[k] for k in big)
    if rest_p * shots >= 1:
        observed.append(shots - sum(observed))
        expected.append(rest_p * shots)
    stat = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    return float(chi2.sf(stat, max(len(observed) - 1, 1)))


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def old_per_shot(c: Circuit, shots: int, seed: int) -> dict[str, int]:
    """What sample() did before issue 13: every shot simulated (batches of up to 4096)."""
    from collections import Counter

    from qtandem.sim.core import run

    rng = np.random.default_rng(seed)
    out = []
    done = 0
    while done < shots:
        b = min(4096, shots - done)
        _, clbits = run(c, None, seed=rng, batch=b)
        out.append(clbits)
        done += b
    bits = np.concatenate(out)
    return dict(Counter("".join(str(x) for x in row[::-1]) for row in bits))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shots", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old", action="store_true", help="also time the pre-issue-13 per-shot path")
    ap.add_argument("--only", default="", help="comma-separated circuit names")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    try:
        import qiskit_aer
    except ImportError:
        qiskit_aer = None
        print("qiskit-aer not installed (pip install -e .[bench]): qtandem only", file=sys.stderr)
    names = [s for s in args.only.split(",") if s] or list(CIRCUITS)
    rows = []
    print(f"{'circuit':24s} {'qubits':>6s} {'branches':>8s} {'qtandem_s':>10s} {'aer_s':>8s} {'ratio':>7s}"
          f" {'aer_br_s':>8s} {'ratio':>7s}"
          f" {'p_qt':>6s} {'p_aer':>6s}" + (f" {'old_s':>8s}" if args.old else ""))
    for name in names:
        c = CIRCUITS[name]()
        exact = qtandem.distribution(c)
        branches = len(qtandem.sim.branching.branch(c).records)
        t_q, res = timed(lambda c=c: qtandem.sample(c, args.shots, seed=1).counts, args.repeats)
        row: dict[str, Any] = {"circuit": name, "qubits": c.n_qubits, "clbits": c.n_clbits,
                               "instructions": len(c), "exact_branches": branches, "shots": args.shots,
                               "qtandem_s": round(t_q, 5), "p_qtandem_vs_exact": round(agreement(exact, res), 4)}
        if qiskit_aer is not None:
            qc = to_qiskit(c)
            sim = qiskit_aer.AerSimulator(method="statevector", max_parallel_threads=THREADS)
            t_a, counts = timed(lambda qc=qc, sim=sim: sim.run(qc, shots=args.shots, seed_simulator=1)
                                .result().get_counts(), args.repeats)
            counts = {k.replace(" ", ""): v for k, v in counts.items()}
            row.update(aer_s=round(t_a, 5), ratio_qtandem_over_aer=round(t_q / t_a, 3),
                       p_aer_vs_exact=round(agreement(exact, counts), 4))
            sim_b = qiskit_aer.AerSimulator(method="statevector", max_parallel_threads=THREADS,
                                            shot_branching_enable=True)
            t_b, counts_b = timed(lambda qc=qc, sim=sim_b: sim.run(qc, shots=args.shots, seed_simulator=1)
                                  .result().get_counts(), args.repeats)
            counts_b = {k.replace(" ", ""): v for k, v in counts_b.items()}
            row.update(aer_branching_s=round(t_b, 5), ratio_qtandem_over_aer_branching=round(t_q / t_b, 3),
                       p_aer_branching_vs_exact=round(agreement(exact, counts_b), 4))
        if args.old:
            t_o, old = timed(lambda c=c: old_per_shot(c, args.shots, 1), 1)
            row.update(old_per_shot_s=round(t_o, 4), p_old_vs_exact=round(agreement(exact, old), 4))
        for key in ("p_qtandem_vs_exact", "p_aer_vs_exact", "p_aer_branching_vs_exact", "p_old_vs_exact"):
            if key in row and row[key] < 1e-4:
                raise SystemExit(f"{name}: chi-square {key} = {row[key]} < 1e-4: the samplers disagree")
        rows.append(row)
        print(f"{name:24s} {c.n_qubits:6d} {branches:8d} {t_q:10.4f} {row.get('aer_s', float('nan')):8.4f} "
              f"{row.get('ratio_qtandem_over_aer', float('nan')):7.3f} {row.get('aer_branching_s', float('nan')):8.4f} "
              f"{row.get('ratio_qtandem_over_aer_branching', float('nan')):7.3f} {row['p_qtandem_vs_exact']:6.3f} "
              f"{row.get('p_aer_vs_exact', float('nan')):6.3f}"
              + (f" {row['old_per_shot_s']:8.2f}" if args.old else ""), flush=True)
    result = {"shots": args.shots, "repeats": args.repeats, "threads": THREADS, "python": platform.python_version(),
              "torch": torch.__version__, "qiskit_aer": getattr(qiskit_aer, "__version__", None), "rows": rows}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")


if __name__ == "__main__":
    main()
