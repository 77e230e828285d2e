"""Error mitigation beside Mitiq 1.1, at equal total shots (issue 17 section 2).

Device (:func:`bench_noise`): 10 qubits; after every one-qubit gate (``rz`` included)
Qiskit-convention depolarizing 0.002, after every ``cx`` two-qubit depolarizing 0.01
(Qiskit convention too), symmetric readout flips 0.03 on every qubit. Circuits are compiled to
``{rz, sx, x, cx}`` by basis translation only (no optimization: a mirror circuit must not cancel).

Families (:data:`FAMILIES`), 10 instances each; TEST instances use seeds ``1000 + k``, DEV instances
(for choosing rules and hyperparameters) ``2000 + k``, training circuits of learned methods come from
seeds ``>= 3000``: nothing reported is tuned on the reported instances.

* ``mirror_d5`` / ``mirror_d10`` / ``mirror_d20``: mirror circuits on a 10-qubit path (Proctor et al.;
  Mitiq's ``generate_mirror_circuit`` layout): ``d`` layers of random one-qubit Cliffords and ``cx`` on
  random bonds of alternating matchings (each bond with probability 1/2), then their inverse, then a
  random Pauli-X layer; observable ``P(correct bitstring)``, ideal 1.
* ``ghz_parity`` / ``ghz_z0z9``: 10-qubit GHZ grown from a random root along the path, a random X layer
  at the end (ideal value +-1); observables Z0...Z9 and Z0 Z9.
* ``brickwork``: 8 qubits x 4 layers of Haar-random SU(2) on every qubit then ``cx`` on alternating
  bonds; each <Z_i> is one task (80 tasks).
* ``trotter_4`` / ``trotter_10``: transverse-field Ising chain on 6 qubits,
  ``H = -J sum Z_i Z_{i+1} - sum h_i X_i``, ``J = 1``, ``h_i ~ U[0.5, 1.5]``, first-order Trotter with
  ``dt = 0.25`` from ``|0...0>``; observable the mean of <Z_i>.

Ideal values are exact (qtandem's statevector). The noisy runs use qtandem's own executor
(:func:`bench_executor`: :func:`qtandem.mitigate.simulator_executor`): an exact noisy distribution
(density matrix, readout included) cached per circuit, so repeated circuits cost one simulation and
sampling stays seeded; Clifford circuits are sampled by Stim with the identical (Pauli) noise.

Mitiq 1.1 pins ``numpy<2.3`` and ``cirq-core<1.7``; ``make bench`` installs it beside the venv
(``pip install --no-deps --target .venv/side-mitiq mitiq==1.1.0 tabulate`` and a ``.pth`` file that appends it to
``sys.path``, so the venv's numpy 2.4 / cirq 1.7 win); by hand, ``PYTHONPATH=DIR`` after the same ``--target DIR``
install. The calls used here work unchanged with numpy 2.4 and cirq 1.7.

Usage (one family per job, lane B)::

    flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python \\
        bench/mitigation.py --family mirror_d5 --json bench/results/mitigation_mirror_d5.json
    .venv/bin/python bench/mitigation.py --merge bench/results/mitigation_*_*.json \\
        --json bench/results/mitigation.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem import Circuit
from qtandem.mitigate.executors import CachedSimulator
from qtandem.noise import NoiseModel, depolarizing_qiskit, readout_error

N_QUBITS = 10
P1 = 0.002
"""Qiskit-convention depolarizing after every one-qubit gate."""
P2 = 0.01
"""Qiskit-convention two-qubit depolarizing after every cx."""
READOUT = 0.03
"""Symmetric readout flip probability."""
BASIS = ("rz", "sx", "x", "cx")
BUDGETS = (100_000, 10_000)
"""Total shots per mitigated estimate."""
ONE_QUBIT_GATES = ("h", "id", "p", "rx", "ry", "rz", "s", "sdg", "sx", "sxdg", "t", "tdg", "u", "u1", "u2", "u3",
                   "x", "y", "z")
"""Every one-qubit gate gets the one-qubit error (so folded circuits, whose inverses may be ``sxdg``, are covered)."""

TEST_SEED = 1000
DEV_SEED = 2000
TRAIN_SEED = 3000


def bench_noise(n_qubits: int = N_QUBITS) -> NoiseModel:
    """The issue's device as a noise model (one-qubit depolarizing on every one-qubit gate, cx, readout)."""
    return (NoiseModel(num_qubits=n_qubits)
            .add(depolarizing_qiskit(P1, 1), gates=list(ONE_QUBIT_GATES))
            .add(depolarizing_qiskit(P2, 2), gates=["cx"])
            .add_readout(readout_error(READOUT, READOUT)))


def compile_ibm(circuit: Circuit) -> Circuit:
    """Translate to ``{rz, sx, x, cx}`` (translation only: gates are never cancelled or merged)."""
    from qtandem.compile.passes.basis import BasisTranslation

    return BasisTranslation("ibm").run(circuit)


# -- circuit families ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One estimation task: a compiled circuit (no measurements), an observable and its exact ideal value.

    ``observable`` is qtandem's string syntax: a PauliSum (``"Z0 Z9"``, ``"0.1667*Z0 + ..."``) or
    ``"P(bits)"`` with ``bits`` written as counts are (classical bit 0, i.e. qubit 0, rightmost).
    """

    family: str
    instance: int
    seed: int
    circuit: Circuit
    observable: str
    ideal: float
    label: str = ""


def _clifford_u(rng: np.random.Generator) -> tuple[float, float, float]:
    """A random one-qubit Clifford as u(theta, phi, lam) (angles in multiples of pi/2; every Clifford reachable)."""
    h = math.pi / 2
    return float(rng.integers(3)) * h, float(rng.integers(4)) * h, float(rng.integers(4)) * h


def mirror(depth: int, seed: int, n: int = N_QUBITS) -> tuple[Circuit, str]:
    """A mirror circuit on an ``n``-qubit path and its correct bitstring (counts order: qubit 0 rightmost)."""
    rng = np.random.default_rng(seed)
    fwd = Circuit(n)
    for layer in range(depth):
        for q in range(n):
            fwd.u(*_clifford_u(rng), q)
        for a in range(layer % 2, n - 1, 2):
            if rng.random() < 0.5:
                if rng.random() < 0.5:
                    fwd.cx(a, a + 1)
                else:
                    fwd.cx(a + 1, a)
    c = fwd.compose(fwd.inverse())
    flips = rng.integers(2, size=n)
    for q in range(n):
        if flips[q]:
            c.x(q)
    bits = "".join(str(int(flips[q])) for q in reversed(range(n)))
    return compile_ibm(c), bits


def ghz(seed: int, n: int = N_QUBITS) -> tuple[Circuit, list[int]]:
    """GHZ grown from a random root along the path, then random X flips; returns the flips."""
    rng = np.random.default_rng(seed)
    root = int(rng.integers(n))
    c = Circuit(n).h(root)
    left, right = root, root
    while left > 0 or right < n - 1:
        if left > 0:
            c.cx(left, left - 1)
            left -= 1
        if right < n - 1:
            c.cx(right, right + 1)
            right += 1
    flips = [int(b) for b in rng.integers(2, size=n)]
    for q in range(n):
        if flips[q]:
            c.x(q)
    return compile_ibm(c), flips


def _haar_u(rng: np.random.Generator) -> tuple[float, float, float]:
    """Haar-random SU(2) as u(theta, phi, lam)."""
    theta = 2 * math.acos(math.sqrt(rng.random()))
    return theta, float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))


def brickwork(seed: int, n: int = 8, layers: int = 4) -> Circuit:
    """``layers`` of Haar SU(2) on every qubit then cx on alternating bonds."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.u(*_haar_u(rng), q)
        for a in range(layer % 2, n - 1, 2):
            c.cx(a, a + 1)
    return compile_ibm(c)


def trotter(steps: int, seed: int, n: int = 6, dt: float = 0.25, j: float = 1.0) -> Circuit:
    """First-order Trotter circuit of the TFIM ``-J sum ZZ - sum h_i X_i`` from ``|0...0>``."""
    rng = np.random.default_rng(seed)
    h = rng.uniform(0.5, 1.5, size=n)
    c = Circuit(n)
    for _ in range(steps):
        for a in range(n - 1):  # exp(+i J dt Z Z)
            c.cx(a, a + 1).rz(-2 * j * dt, a + 1).cx(a, a + 1)
        for q in range(n):  # exp(+i h dt X)
            c.rx(-2 * float(h[q]) * dt, q)
    return compile_ibm(c)


def exact_value(circuit: Circuit, observable: str) -> float:
    """Exact ideal value of ``observable`` (module syntax) on ``circuit`` (statevector)."""
    from qtandem.sim import expval, probabilities

    if observable.startswith("P("):
        probs = probabilities(circuit)  # index: qubit 0 least significant, as the bitstring read rightmost-first
        return float(probs[int(observable[2:-1], 2)])
    return float(expval(circuit, observable))


def mean_z(n: int) -> str:
    """The mean of <Z_i> over ``n`` qubits as a PauliSum string."""
    return " + ".join(f"{1 / n!r}*Z{q}" for q in range(n))


def _family_tasks(family: str, seed: int, instance: int) -> list[Task]:
    if family.startswith("mirror_d"):
        circ, bits = mirror(int(family[len("mirror_d"):]), seed)
        return [Task(family, instance, seed, circ, f"P({bits})", 1.0)]
    if family in ("ghz_parity", "ghz_z0z9"):
        circ, flips = ghz(seed)
        if family == "ghz_parity":
            obs, ideal = " ".join(f"Z{q}" for q in range(N_QUBITS)), (-1.0) ** sum(flips)
        else:
            obs, ideal = f"Z0 Z{N_QUBITS - 1}", (-1.0) ** (flips[0] + flips[-1])
        return [Task(family, instance, seed, circ, obs, float(ideal))]
    if family == "brickwork":
        circ = brickwork(seed)
        return [Task(family, instance, seed, circ, f"Z{q}", exact_value(circ, f"Z{q}"), label=f"Z{q}")
                for q in range(circ.n_qubits)]
    if family.startswith("trotter_"):
        circ = trotter(int(family[len("trotter_"):]), seed)
        obs = mean_z(circ.n_qubits)
        return [Task(family, instance, seed, circ, obs, exact_value(circ, obs))]
    raise ValueError(f"unknown family {family!r}; known: {list(FAMILIES)}")


FAMILIES: tuple[str, ...] = ("mirror_d5", "mirror_d10", "mirror_d20", "ghz_parity", "ghz_z0z9", "brickwork",
                             "trotter_4", "trotter_10")
"""Family names; :func:`tasks` builds their instances."""


def tasks(family: str, split: str = "test", instances: int = 10) -> list[Task]:
    """The tasks of ``family``: ``split`` ``"test"`` (reported, seeds 1000+k) or ``"dev"`` (tuning, 2000+k)."""
    base = {"test": TEST_SEED, "dev": DEV_SEED, "train": TRAIN_SEED}[split]
    out: list[Task] = []
    for k in range(instances):
        out.extend(_family_tasks(family, base + k, k))
    return out


# -- the executor: qtandem.mitigate.simulator_executor (cached exact distributions, Stim for Clifford circuits) ------
def bench_executor(seed: int = 0) -> CachedSimulator:
    """The bench device as :func:`qtandem.mitigate.simulator_executor` with ``stim=True``.

    Each distinct non-Clifford circuit is simulated once (density matrix, readout included) and its
    distribution cached; a Clifford circuit (mirror, GHZ, CDR/ML-QEM training circuits) is sampled by
    Stim, which is exact here: every channel of :func:`bench_noise` is a Pauli channel and readout
    errors act on the sampled bits (checked against the density matrix in
    tests/mitigate/test_mitigate_stim.py). The library's executor counts ``simulations`` and
    ``stim_runs``; ``executor.rng`` can be reseeded per task.
    """
    from qtandem.mitigate import simulator_executor

    return simulator_executor(bench_noise(), seed=seed, stim=True)


def counts_value(counts: dict[str, int], observable: str) -> tuple[float, float]:
    """Plain estimate and standard error of ``observable`` from all-Z counts (Z-type observables, P(bits))."""
    shots = sum(counts.values())
    if observable.startswith("P("):
        p = counts.get(observable[2:-1], 0) / shots
        return p, math.sqrt(max(p * (1 - p), 1.0 / shots) / shots)
    terms = z_terms(observable)
    vals = np.zeros(len(counts))
    weights = np.zeros(len(counts))
    for i, (bits, k) in enumerate(counts.items()):
        vals[i] = sum(coef * (-1) ** sum(int(bits[-1 - q]) for q in qs) for coef, qs in terms)
        weights[i] = k
    mean = float(np.dot(weights, vals) / shots)
    var = float(np.dot(weights, (vals - mean) ** 2) / max(shots - 1, 1))
    return mean, math.sqrt(var / shots)


def quasi_value(quasi: dict[str, float], observable: str) -> float:
    """The observable's value under a (quasi-)probability distribution over bitstrings."""
    if observable.startswith("P("):
        return float(quasi.get(observable[2:-1], 0.0))
    terms = z_terms(observable)
    return float(sum(w * sum(coef * (-1) ** sum(int(bits[-1 - q]) for q in qs) for coef, qs in terms)
                     for bits, w in quasi.items()))


def z_terms(observable: str) -> list[tuple[float, tuple[int, ...]]]:
    """``[(coefficient, qubits)]`` of a Z-type PauliSum string (the bench's observables are all Z-type)."""
    from qtandem.circuit.pauli import PauliSum

    out = []
    for coef, word in PauliSum.from_string(observable).terms:
        if any(letter != "Z" for _, letter in word):
            raise ValueError(f"the bench reads Z-type observables from all-Z counts, got {observable!r}")
        out.append((float(coef.real), tuple(q for q, _ in word)))
    return out


# -- Mitiq 1.1 beside qtandem: Mitiq folds Cirq circuits (its native type), qtandem runs them --------------------------
def from_folded_cirq(circuit: Any, n: int) -> Circuit:
    """A Mitiq-folded Cirq circuit back as qtandem gates, ONE gate per Cirq operation (so each gets one gate's error).

    Cirq writes folded inverses as powers (``CNOT**-1``, ``X**-1``...); a generic conversion would expand them into
    several gates and over-count Mitiq's noise. Each two-qubit operation must be a CNOT up to phase (either
    orientation); each one-qubit operation becomes one ``u`` with its matrix (``rz`` when diagonal).
    """
    import cirq

    from qtandem.compile.synth1q import u_angles

    cnot = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)
    out = Circuit(n)
    for op in circuit.all_operations():
        qs = [q.x for q in op.qubits]
        m = cirq.unitary(op)
        if len(qs) == 1:
            if abs(m[0, 1]) < 1e-9 and abs(m[1, 0]) < 1e-9:
                out.rz(float(np.angle(m[1, 1] / m[0, 0])), qs[0])
                continue
            ang = u_angles(m)
            out.u(*(ang if ang is not None else (0.0, 0.0, 0.0)), qs[0])
        elif len(qs) == 2:
            # cirq's unitary is big-endian over op.qubits: first qubit most significant
            if _equal_up_to_phase(m, cnot):
                out.cx(qs[0], qs[1])
            elif _equal_up_to_phase(m, _swap_order(cnot)):
                out.cx(qs[1], qs[0])
            else:
                raise ValueError(f"folded operation {op} is not a CNOT")
        else:
            raise ValueError(f"unexpected folded operation {op}")
    return out


def _swap_order(m: np.ndarray) -> np.ndarray:
    p = np.array([0, 2, 1, 3])
    return m[np.ix_(p, p)]


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.argmax(np.abs(b))
    phase = a.flat[k] / b.flat[k]
    return bool(abs(abs(phase) - 1) < 1e-8 and np.allclose(a, phase * b, atol=1e-8))


@dataclass
class MitiqRunner:
    """Mitiq's ZNE (global folding, Richardson / linear), its readout mitigation (REM) and CDR on one task.

    Mitiq runs on :func:`bench_executor` (the same noise as qtandem's side) through an executor
    ``cirq.Circuit -> float`` that spends a fixed number of shots per call; the total budget ``N`` is split
    evenly over the circuits a method runs (Mitiq has no shot allocation). REM uses Mitiq's inverse
    confusion matrix built from the device's true flip probabilities (the best Mitiq can be told).
    """

    executor: CachedSimulator
    seed: int = 0
    icm: dict[int, np.ndarray] = field(default_factory=dict)

    def _value(self, circuit: Circuit, observable: str, shots: int, rem: bool) -> float:
        counts = self.executor([circuit], shots)[0]
        if not rem:
            return counts_value(counts, observable)[0]
        return quasi_value(self._rem(counts, circuit.n_qubits), observable)

    def _rem(self, counts: dict[str, int], n: int) -> dict[str, float]:
        """Mitiq's inverse confusion matrix applied to the empirical distribution (quasi-probabilities).

        Mitiq's ``mitigate_measurements`` then projects onto the closest positive distribution (scipy
        ``minimize`` over 2**10 variables: > 100 s per call here) and resamples; we read the observable from
        the quasi-probabilities instead, which is unbiased and free of the resampling noise (favours Mitiq).
        """
        from mitiq.rem import generate_inverse_confusion_matrix

        if n not in self.icm:
            self.icm[n] = generate_inverse_confusion_matrix(n, READOUT, READOUT)
        shots = sum(counts.values())
        p = np.zeros(2**n)
        for bits, k in counts.items():
            p[int(bits, 2)] = k / shots  # the confusion matrix is the same on every qubit: any consistent order
        q = self.icm[n] @ p
        return {format(i, f"0{n}b"): float(v) for i, v in enumerate(q) if v != 0.0}

    def run(self, task: Task, shots: int) -> dict[str, float]:
        """``{method: estimate}`` for Mitiq's methods at ``shots`` total."""
        from mitiq import cdr, zne

        from qtandem.interop.cirq import to_cirq

        n = task.circuit.n_qubits
        cc = to_cirq(task.circuit)
        out: dict[str, float] = {}
        for rem in (False, True):
            tag = "+rem" if rem else ""
            for fname, factory in (("richardson", zne.inference.RichardsonFactory([1.0, 2.0, 3.0])),
                                   ("linear", zne.inference.LinearFactory([1.0, 2.0, 3.0]))):
                def ex(c, rem=rem):  # type: ignore[no-untyped-def]  # no annotations: Mitiq reads them as strings
                    return self._value(from_folded_cirq(c, n), task.observable, shots // 3, rem)

                out[f"mitiq_zne_{fname}{tag}"] = float(zne.execute_with_zne(
                    cc, ex, factory=factory, scale_noise=zne.scaling.fold_global))
        out["mitiq_rem"] = self._value(task.circuit, task.observable, shots, True)
        n_train = 10

        def noisy(c):  # type: ignore[no-untyped-def]
            return self._value(from_folded_cirq(c, n), task.observable, shots // (n_train + 1), False)

        def ideal(c):  # type: ignore[no-untyped-def]
            return exact_value(from_folded_cirq(c, n), task.observable)

        try:
            out["mitiq_cdr"] = float(cdr.execute_with_cdr(cc, noisy, simulator=ideal, num_training_circuits=n_train,
                                                          random_state=self.seed))
        except Exception as err:  # Mitiq refuses e.g. circuits without non-Clifford gates
            out["mitiq_cdr"] = math.nan
            out.setdefault("_errors", {})["mitiq_cdr"] = str(err)[:200]  # type: ignore[index]
        return out


# -- qtandem's methods --------------------------------------------------------------------------------------------
def qtandem_methods(family: str, split_train: str = "train") -> dict[str, Callable[[], Any]]:
    """``{name: () -> methods}`` of the qtandem configurations that exist in this checkout (others are skipped)."""
    import importlib

    mit = importlib.import_module("qtandem.mitigate")
    from qtandem.mitigate.auto import AutoExtrapolation

    # Names keep their meaning across result files: "qt_zne+readout" and "qt_auto" are the configurations of the
    # first runs (zne()'s old default, Richardson on [1, 2, 3]; auto with linear/Richardson candidates only);
    # "qt_zne_exp+readout" and "qt_auto2" are today's defaults (zne(): exponential on [1, 1.5, 2]; methods="auto"
    # with the exponential candidate and a 20% pilot), both chosen on DEV instances
    # (bench/results/mitigation_auto_dev_*.json).
    # Session 32: auto measures the per-shot spread at scale 3 in its pilot ("measured" spread; DEV:
    # bench/results/mitigation_auto_dev_spread_*.json); "qt_auto" and "qt_auto2" keep the a priori spread they ran
    # with, "qt_auto3" is today's methods="auto".
    out: dict[str, Callable[[], Any]] = {
        "qt_readout": lambda: [mit.readout()],
        "qt_auto": lambda: [mit.readout(), AutoExtrapolation(pilot=0.1, candidates=("linear", "richardson"),
                                                             spread="prior")],
        "qt_auto2": lambda: [mit.readout(), AutoExtrapolation(pilot=0.2, spread="prior")],
        "qt_auto3": lambda: "auto",
    }
    if hasattr(mit, "zne"):
        out["qt_zne+readout"] = lambda: [mit.readout(), mit.zne([1, 2, 3], "richardson")]
        out["qt_zne_exp+readout"] = lambda: [mit.readout(), mit.zne([1, 1.5, 2])]  # zne()'s default until session 34
        out["qt_zne_rand+readout"] = lambda: [mit.readout(), mit.zne(scaling="fold_random")]
        # Session 33, mirror d20 candidates (DEV): smaller scales (less of the decay's curvature), and a second-order
        # poly-exponential fit of the curvature
        out["qt_zne_exp1125+readout"] = lambda: [mit.readout(), mit.zne([1, 1.25, 1.5])]
        out["qt_zne_pexp+readout"] = lambda: [mit.readout(), mit.zne([1, 1.25, 1.5, 1.75, 2], "poly_exponential",
                                                                      order=2)]
        # Session 34: whole-circuit folds only (a fractional fold at 1.5 folds only the last gates, a bias that
        # depends on the circuit): candidates for zne()'s default, compared on DEV
        out["qt_zne_exp13+readout"] = lambda: [mit.readout(), mit.zne([1, 3])]  # zne()'s default since session 34
        out["qt_zne_exp135+readout"] = lambda: [mit.readout(), mit.zne([1, 3, 5])]
    if hasattr(mit, "cdr"):
        out["qt_cdr+readout"] = lambda: [mit.readout(), mit.cdr()]
    if hasattr(mit, "pec"):
        out["qt_pec+readout"] = lambda: [mit.readout(), mit.pec()]
    return out


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MAE +- stderr over instances (per-instance mean |error| first), RMSE and the improvement factor.

    The improvement factor is RMSE(unmitigated) / RMSE(method) at the same total shots (Russo et al. 2022).
    """
    out = []
    keys = sorted({(r["family"], r["shots"]) for r in rows})
    for family, shots in keys:
        sel = [r for r in rows if r["family"] == family and r["shots"] == shots]
        methods = sorted({k for r in sel for k in r["values"] if ":" not in k})
        by_method: dict[str, dict[str, Any]] = {}
        for name in methods:
            per_inst: dict[int, list[float]] = {}
            sq = []
            for r in sel:
                v = r["values"].get(name)
                if v is None or not math.isfinite(v):
                    continue
                per_inst.setdefault(r["instance"], []).append(abs(v - r["ideal"]))
                sq.append((v - r["ideal"]) ** 2)
            if not per_inst:
                continue
            maes = [statistics.fmean(v) for v in per_inst.values()]
            refused = sum(1 for r in sel if r["values"].get(name + ":refused"))
            by_method[name] = {"mae": statistics.fmean(maes), "refused": refused,
                               "mae_stderr": statistics.stdev(maes) / math.sqrt(len(maes)) if len(maes) > 1 else 0.0,
                               "rmse": math.sqrt(statistics.fmean(sq)), "instances": len(maes), "tasks": len(sq)}
        base = by_method.get("unmitigated", {}).get("rmse")
        for stats in by_method.values():
            stats["improvement"] = base / stats["rmse"] if base and stats["rmse"] > 0 else None
        mitiq = {k: v for k, v in by_method.items() if k.startswith("mitiq_")}
        best_mitiq = min(mitiq, key=lambda k: mitiq[k]["mae"]) if mitiq else None
        out.append({"family": family, "shots": shots, "methods": by_method, "best_mitiq": best_mitiq})
    return out


def run_family(family: str, instances: Sequence[int], budgets: Sequence[int], *, split: str = "test",
               with_mitiq: bool = True, methods: Sequence[str] | None = None, seed: int = 0,
               partial: str | None = None) -> dict[str, Any]:
    """Every method on the chosen instances of ``family`` at each budget; raw rows and timing."""
    from qtandem.mitigate import execute

    t0 = time.perf_counter()
    executor = bench_executor(seed=seed)
    noise_by_width: dict[int, NoiseModel] = {}
    mitiq = MitiqRunner(executor, seed=seed)
    all_tasks = [t for t in tasks(family, split) if t.instance in set(instances)]
    qt = qtandem_methods(family)
    wanted = tuple(m.removeprefix("mlqem_").removesuffix("+readout") for m in methods or ())
    models = tuple(m for m in ("forest", "mlp", "gnn") if methods is None or m in wanted)
    extra = learned_methods(family, models) if methods is None or \
        any(m.startswith(("mlqem", "qt_decay")) for m in methods) else {}
    qt.update(extra)
    if methods is not None:
        qt = {k: v for k, v in qt.items() if k in methods}
    rows = []
    errors: dict[str, str] = {}
    for task in all_tasks:
        for shots in budgets:
            tseed = int.from_bytes(hashlib.sha256(f"{family}/{task.instance}/{task.label}/{shots}/{seed}".encode())
                                   .digest()[:4], "little")
            executor.rng = np.random.default_rng(tseed)
            values: dict[str, float] = {}
            base = execute(task.circuit, task.observable, executor, methods=[], shots=shots, seed=tseed, raw=False)
            values["unmitigated"] = base.value
            one_off: dict[str, int] = {}
            for name, make in qt.items():
                try:
                    res = execute(task.circuit, task.observable, executor, methods=make(), shots=shots, seed=tseed,
                                  noise=noise_by_width.setdefault(task.circuit.n_qubits,
                                                                  bench_noise(task.circuit.n_qubits)), raw=False)
                except Exception as err:  # a method under construction must not stop the others
                    errors[name] = f"{type(err).__name__}: {str(err)[:200]}"
                    continue
                values[name] = res.value
                one_off[name] = res.one_off_shots
                if res.refused:
                    values[name + ":refused"] = 1.0
            if with_mitiq:
                for name, v in mitiq.run(task, shots).items():
                    if name == "_errors":
                        errors.update(v)  # type: ignore[arg-type]
                    else:
                        values[name] = v
            rows.append({"family": family, "instance": task.instance, "seed": task.seed, "label": task.label,
                         "observable": task.observable, "ideal": task.ideal, "shots": shots, "values": values,
                         "one_off": one_off})
        if partial is not None:  # what is done so far survives a time limit
            with open(partial, "w") as fh:
                json.dump({"family": family, "split": split, "instances": sorted({r["instance"] for r in rows}),
                           "budgets": list(budgets), "rows": rows, "errors": errors, "partial": True,
                           "seconds": time.perf_counter() - t0}, fh)
        print(f"{family} {task.instance} {task.label} done at {time.perf_counter() - t0:.0f} s "
              f"({executor.simulations} simulations, {executor.stim_runs} Stim runs)", file=sys.stderr, flush=True)
    return {"family": family, "split": split, "run_seed": seed, "instances": list(instances), "budgets": list(budgets),
            "rows": rows,
            "errors": errors, "seconds": time.perf_counter() - t0, "simulations": executor.simulations,
            "noise": {"p1_qiskit": P1, "p2_qiskit": P2, "readout": READOUT}}


def learned_methods(family: str,
                    models: Sequence[str] = ("forest", "mlp", "gnn")) -> dict[str, Callable[[], list[Any]]]:
    """ML-QEM (trained once per family on near-Clifford circuits of the family's structure) and auto.

    The training circuits derive from the family's TRAIN instances (seeds 3000+k, neither dev nor test): 6
    circuits, 8 near-Clifford variants each, 10,000 shots per circuit and scale (one-off, reported). Each
    method object lives for the whole family run, so it trains once per observable. Mirror circuits are the
    exception (per instance, see the comment).
    """
    from qtandem.mitigate import readout
    from qtandem.mitigate.learned import mlqem

    train: list[Circuit] | None = list({id(t.circuit): t.circuit for t in tasks(family, "train", instances=6)}
                                       .values())
    if family.startswith("mirror"):
        # P(correct bitstring): each instance has its own bitstring, so circuits of other instances teach
        # nothing about it (their P is ~0). The model trains per instance on the target's own near-Clifford
        # variants instead, the first of which is the (Clifford) target itself, as Mitiq's CDR does.
        train = None
    made = {m: mlqem(m, training=train, n_train=48, train_shots=10_000, seed=7) for m in models}
    if train is not None:
        # Session 32 (chosen on DEV, bench/results/mitigation_learned_dev_*.json): the ridge on the noisy values
        # only (features="values": no additive term from gate counts), trained once per family. "vlin1": every
        # target shot at scale 1 (48 x 10,000 one-off training shots); "vlin13": scales 1 and 3 (48 x 2 x 100,000).
        made["vlin1"] = mlqem("linear", training=train, scales=(1.0,), n_train=48, train_shots=10_000, seed=7,
                              features="values")
        made["vlin13"] = mlqem("linear", training=train, n_train=48, train_shots=100_000, seed=7,
                               features="values")
    out: dict[str, Callable[[], list[Any]]] = {}
    for m, method in made.items():
        out[f"mlqem_{m}+readout"] = lambda method=method: [readout(), method]
    if train is not None:
        # Session 33: exponential extrapolation on scales [1, 3] with the decay rate shrunk toward a prior learned
        # once per family and observable (qtandem.mitigate.decay): 12 TRAIN instances (seeds 3000+k, ideal values by
        # statevector), 100,000 one-off shots each. Suffix: share of the target's shots at scale 1 (10: all of them,
        # the prior's rate alone); "c": trained on near-Clifford variants instead; "e": the prior is on the rate per
        # unit of calibrated gate error in the observable's light cone (relative=True).
        from qtandem.mitigate.decay import learned_decay

        train12 = list({id(t.circuit): t.circuit for t in tasks(family, "train", instances=12)}.values())
        decays = {"decay7": learned_decay(train12, share=0.7, seed=7),
                  "decay8": learned_decay(train12, share=0.8, seed=7),
                  "decay10": learned_decay(train12, share=1.0, seed=7),
                  "decay7c": learned_decay(train12, share=0.7, clifford=True, seed=7),
                  "decay7e": learned_decay(train12, share=0.7, relative=True, seed=7),
                  "decay10e": learned_decay(train12, share=1.0, relative=True, seed=7),
                  # Session 34 (DEV, bench/mitigation_decay_design.py): a farther second scale (more leverage on the
                  # rate per shot), and the prior learned with 10x the one-off shots (1,000,000 per circuit)
                  "decay8s5": learned_decay(train12, scale=5.0, share=0.8, seed=7),
                  "decay8s7": learned_decay(train12, scale=7.0, share=0.8, seed=7),
                  "decay10L": learned_decay(train12, share=1.0, train_shots=1_000_000, seed=7),
                  "decay10eL": learned_decay(train12, share=1.0, relative=True, train_shots=1_000_000, seed=7),
                  "decay8s7L": learned_decay(train12, scale=7.0, share=0.8, train_shots=1_000_000, seed=7)}
        for m, method in decays.items():
            out[f"qt_{m}+readout"] = lambda method=method: [readout(), method]
    return out


TABLE_METHODS = ("unmitigated", "qt_zne_exp+readout", "qt_zne_exp13+readout", "qt_auto3", "mlqem_vlin1+readout",
                 "mlqem_vlin13+readout", "qt_decay8+readout", "qt_decay8s7+readout", "qt_decay10eL+readout")
"""README columns (every method's numbers are in the merged JSON's summary)."""

DEV_CHOICE = {
    "ghz_parity": "mlqem_vlin1+readout",
    "ghz_z0z9": "qt_decay10eL+readout",
    "trotter_10": "mlqem_vlin13+readout",
    "trotter_4": "mlqem_vlin13+readout",
    "brickwork": "qt_decay8s7+readout",
    "mirror_d20": "qt_auto3",
}
"""The qtandem method chosen per family on DEV instances only (bench/results/mitigation_learned_dev_*.json,
mitigation_auto_dev_spread_*.json, mitigation_decay_dev_*.json, mitigation_zne_dev_mirror_d20_s33_seed*.json; session
34: mitigation_dev_s34_*.json, two shot seeds for GHZ Z0 Z9 and brickwork, one for Trotter-4), the
fair column: "best qtandem" is chosen on TEST and optimistic. Families without a DEV-specific choice use the library's
default, ``methods="auto"`` (:data:`DEFAULT_CHOICE`)."""

DEFAULT_CHOICE = "qt_auto3"


def markdown_table(summary: list[dict[str, Any]]) -> str:
    """README table: MAE +- stderr per family and budget, Mitiq's best beside qtandem's methods."""
    head = ["family", "N", "inst.", "Mitiq best", "Mitiq best without CDR", *TABLE_METHODS, "best Mitiq / best qtandem",
            "best Mitiq without CDR / best qtandem", "best Mitiq without CDR / DEV-chosen qtandem"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        m = s["methods"]

        def cell(name: str, m: dict[str, Any] = m) -> str:
            if name not in m:
                return "-"
            v = m[name]
            extra = f" ({v['refused']} ref.)" if v.get("refused") else ""
            if v["instances"] != m.get("unmitigated", {}).get("instances"):  # a method run on fewer instances
                extra += f" [{v['instances']} inst.]"
            return f"{v['mae']:.4f} ± {v['mae_stderr']:.4f}{extra}"

        best = s["best_mitiq"]
        # Mitiq's CDR trains on near-Clifford variants of the target: on a Clifford circuit (mirror, GHZ) those are the
        # target itself, whose exact value the classical simulator gives, so its error is 0; hence the second column
        no_cdr = {k: v for k, v in m.items() if k.startswith("mitiq_") and k != "mitiq_cdr"}
        best2 = min(no_cdr, key=lambda k: no_cdr[k]["mae"]) if no_cdr else None
        ratio = ratio2 = ratio3 = "-"
        chosen = DEV_CHOICE.get(s["family"], DEFAULT_CHOICE)
        if best2 and chosen in m and m[chosen]["mae"] > 0:
            ratio3 = f"{m[best2]['mae'] / m[chosen]['mae']:.2f}x ({chosen.removesuffix('+readout')})"
        full = m.get("unmitigated", {}).get("instances")
        ours = {k: v for k, v in m.items()  # only methods run on every instance of the row
                if k.startswith(("qt_", "mlqem_")) and v["mae"] > 0 and v["instances"] == full}
        if best and ours:  # the best qtandem configuration of this row, named (it may differ between rows)
            top = min(ours, key=lambda k: ours[k]["mae"])
            ratio = f"{m[best]['mae'] / ours[top]['mae']:.2f}x ({top.removesuffix('+readout')})"
            if best2:
                ratio2 = f"{m[best2]['mae'] / ours[top]['mae']:.2f}x"
        inst = m.get("unmitigated", {}).get("instances", "-")
        lines.append("| " + " | ".join([s["family"], f"{s['shots']:.0e}", str(inst),
                                         f"{best.removeprefix('mitiq_') if best else '-'} {cell(best) if best else ''}",
                                         f"{best2.removeprefix('mitiq_')} {cell(best2)}" if best2 else "-",
                                         *(cell(k) for k in TABLE_METHODS), ratio, ratio2, ratio3]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", choices=FAMILIES)
    ap.add_argument("--instances", default="0-9", help="e.g. 0-4 or 0,3,7")
    ap.add_argument("--budgets", default=",".join(str(b) for b in BUDGETS))
    ap.add_argument("--split", default="test", choices=("test", "dev"))
    ap.add_argument("--methods", default=None, help="comma-separated qtandem method names (default: all)")
    ap.add_argument("--no-mitiq", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="seed of the shots (a second run: another seed)")
    ap.add_argument("--merge", nargs="*", help="merge result files (rows) and summarize")
    ap.add_argument("--json", required=True)
    args = ap.parse_args(argv)
    if args.merge:
        rows: list[dict[str, Any]] = []
        parts = []
        for path in args.merge:
            with open(path) as fh:
                data = json.load(fh)
            rows.extend(data["rows"])
            parts.append({"file": path, "family": data.get("family"), "instances": data.get("instances"),
                          "seconds": data.get("seconds"), "errors": data.get("errors")})
        result = {"parts": parts, "summary": summarize(rows), "rows": rows}
    else:
        if args.family is None:
            ap.error("--family is required (or --merge)")
        if "-" in args.instances:
            lo, hi = (int(x) for x in args.instances.split("-"))
            inst = list(range(lo, hi + 1))
        else:
            inst = [int(x) for x in args.instances.split(",")]
        budgets = [int(float(b)) for b in args.budgets.split(",")]
        methods = None if args.methods is None else args.methods.split(",")
        result = run_family(args.family, inst, budgets, split=args.split, with_mitiq=not args.no_mitiq,
                            methods=methods, seed=args.seed, partial=args.json)
        result["summary"] = summarize(result["rows"])
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=1)
    if args.merge:
        print(markdown_table(result["summary"]))
    for s in result["summary"]:
        print(f"{s['family']} N={s['shots']}: " + ", ".join(
            f"{k} {v['mae']:.4f}+-{v['mae_stderr']:.4f}" for k, v in sorted(s["methods"].items(),
                                                                         key=lambda kv: kv[1]["mae"])))


if __name__ == "__main__":
    main()
