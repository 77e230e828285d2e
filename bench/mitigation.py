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

Ideal values are exact (qtandem's statevector). The noisy runs sample an exact noisy distribution
(density matrix, readout included) cached per circuit (:class:`CachedExecutor`), so repeated circuits
cost one simulation and sampling stays seeded.

Usage (one family per job, lane B)::

    flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python \\
        bench/mitigation.py --family mirror_d5 --json bench/results/mitigation_mirror_d5.json
    .venv/bin/python bench/mitigation.py --merge bench/results/mitigation_*_*.json \\
        --json bench/results/mitigation.json
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qtandem import Circuit
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


# -- executor with a cache of exact noisy distributions -----------------------------------------------------------
def measured(circuit: Circuit) -> Circuit:
    """``circuit`` with every qubit measured into the classical bit of its index (when it measures nothing)."""
    if any(inst.name == "measure" for inst in circuit):
        return circuit
    out = Circuit(circuit.n_qubits, max(circuit.n_clbits, circuit.n_qubits), name=circuit.name)
    for inst in circuit:
        out.append(inst)
    for q in range(circuit.n_qubits):
        out.measure(q, q)
    return out


def circuit_key(circuit: Circuit) -> str:
    """A content hash of a circuit (its OpenQASM 3 text)."""
    return hashlib.sha256(circuit.to_qasm(3).encode()).hexdigest()


@dataclass
class CachedExecutor:
    """``executor(circuits, shots, *, seed=None)`` sampling cached exact noisy distributions.

    Each distinct circuit is simulated once (density matrix, readout included, the noise model cut to
    the circuit's width); every call then draws multinomial counts from the cached distribution with
    the executor's seeded generator (or ``seed=``). ``shots_used`` counts every shot drawn.
    """

    noise_for: Callable[[int], NoiseModel] = bench_noise
    seed: int = 0
    cache: dict[str, tuple[np.ndarray, np.ndarray, int]] = field(default_factory=dict)
    shots_used: int = 0
    simulations: int = 0
    sim_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def distribution(self, circuit: Circuit) -> tuple[np.ndarray, np.ndarray, int]:
        """``(records, probabilities, n_clbits)`` of the measured circuit (cached)."""
        c = measured(circuit)
        key = circuit_key(c)
        if key not in self.cache:
            t0 = time.perf_counter()
            dist = self.noise_for(c.n_qubits).record_distribution(c)
            self.sim_seconds += time.perf_counter() - t0
            self.simulations += 1
            recs = np.fromiter(dist.keys(), dtype=np.int64)
            probs = np.fromiter(dist.values(), dtype=float)
            probs = np.clip(probs, 0, None)
            self.cache[key] = (recs, probs / probs.sum(), c.n_clbits)
        return self.cache[key]

    def __call__(self, circuits: Sequence[Circuit], shots: int, *, seed: int | None = None) -> list[dict[str, int]]:
        gen = self.rng if seed is None else np.random.default_rng(seed)
        out = []
        for circuit in circuits:
            recs, probs, nc = self.distribution(circuit)
            draws = gen.multinomial(int(shots), probs)
            out.append({format(int(r), f"0{nc}b"): int(k) for r, k in zip(recs, draws) if k})
            self.shots_used += int(shots)
        return out


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


def z_terms(observable: str) -> list[tuple[float, tuple[int, ...]]]:
    """``[(coefficient, qubits)]`` of a Z-type PauliSum string (the bench's observables are all Z-type)."""
    from qtandem.circuit.pauli import PauliSum

    out = []
    for coef, word in PauliSum.from_string(observable).terms:
        if any(letter != "Z" for _, letter in word):
            raise ValueError(f"the bench reads Z-type observables from all-Z counts, got {observable!r}")
        out.append((float(coef.real), tuple(q for q, _ in word)))
    return out
