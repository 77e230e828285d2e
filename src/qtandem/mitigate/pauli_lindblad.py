"""Sparse Pauli-Lindblad noise models of circuit layers (van den Berg et al., Nat. Phys. 19, 1116 (2023)).

The noise after a layer is ``Lambda = prod_k exp(lambda_k (P_k . P_k - id))`` over generators
``P_k``, the one- and two-local Paulis of the layer's qubit graph (every qubit a gate acts
on; every pair a two-qubit gate acts on). A Pauli ``Q`` then has fidelity
``f_Q = exp(-2 sum_{k: {Q, P_k} = 0} lambda_k)``, and the inverse channel is a product of
quasi-probability factors with sampling overhead ``gamma = exp(2 sum_k lambda_k)``.

:func:`from_noise_model` computes the model of a known qtandem noise model (each gate's
channels, Pauli-twirled, i.e. their Pauli fidelities, solved exactly for the rates);
:func:`learn_pauli_lindblad` learns it from counts by cycle benchmarking: the layer
repeated ``d`` times between Pauli-basis preparations and measurements, where each
measured Pauli decays as ``A (f_Q f_{L(Q)})^{d/2}`` (``A`` holds state preparation and
measurement errors, so the fit is free of them). Pairs ``f_Q f_{L(Q)}`` with
``L(Q) != Q`` are split symmetrically (van den Berg's assumption for what cycle
benchmarking cannot separate), and the rates are the non-negative least-squares
solution of ``-log f_Q = 2 sum_k [Q anticommutes with P_k] lambda_k``.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.noise import NoiseModel, depolarizing
    >>> noise = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"])
    >>> model = from_noise_model(noise, Circuit(2).cx(0, 1))
    >>> len(model.generators), round(model.gamma, 4), round(model.fidelity(((0, "Z"),)), 6)
    (15, 1.0203, 0.989333)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.pauli import PauliSum, Word
from qtandem.errors import ArgumentTypeError, NoiseError, SimulationError
from qtandem.mitigate.twirl import _matrix, _word_matrix, conjugate_pauli, emit_with_paulis
from qtandem.random import Seed, as_generator

__all__ = ["SparsePauliLindblad", "combine", "from_noise_model", "layer_generators", "learn_pauli_lindblad"]


def _anticommute(a: Word, b: Word) -> bool:
    da = dict(a)
    return sum(1 for q, p in b if q in da and da[q] != p) % 2 == 1


@dataclass(frozen=True)
class SparsePauliLindblad:
    """A Pauli-Lindblad noise model: generators ``P_k`` and their rates ``lambda_k``.

    Attributes:
        generators: Pauli words (``((qubit, letter), ...)``, as :class:`~qtandem.circuit.pauli.PauliSum` uses).
        rates: ``lambda_k`` (a negative rate is allowed for an exact model of a channel that is
            not Pauli-Lindblad; its inverse factor then needs no sign).
        stderr: standard errors of the rates (learned models), else ``None``.
        learn_shots: shots spent learning the model (0 for an exact one).
        details: how it was made (JSON-able).

    Examples:
        >>> m = SparsePauliLindblad((((0, "X"),), ((0, "Z"),)), (0.01, 0.02))
        >>> round(m.fidelity(((0, "Y"),)), 6), round(m.gamma, 6), m.qubits
        (0.941765, 1.061837, [0])
    """

    generators: tuple[Word, ...]
    rates: tuple[float, ...]
    stderr: tuple[float, ...] | None = None
    learn_shots: int = 0
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if len(self.generators) != len(self.rates):
            raise NoiseError(f"{len(self.generators)} generators but {len(self.rates)} rates")
        if not all(math.isfinite(r) for r in self.rates):
            raise NoiseError(f"rates must be finite, got {list(self.rates)}")

    @property
    def qubits(self) -> list[int]:
        """The qubits the generators act on, sorted."""
        return sorted({q for w in self.generators for q, _ in w})

    def fidelity(self, word: Word) -> float:
        """The Pauli fidelity ``f_Q = exp(-2 sum_{k anticommuting} lambda_k)`` of a word."""
        return math.exp(-2 * sum(r for g, r in zip(self.generators, self.rates, strict=True)
                                 if _anticommute(word, g)))

    def _factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per generator: probability of inserting it, its sign, and ``gamma_k``."""
        e = np.exp(2 * np.asarray(self.rates, dtype=float))
        a, b = (1 + e) / 2, (1 - e) / 2
        gam = np.abs(a) + np.abs(b)
        return np.abs(b) / gam, np.sign(b), gam

    @property
    def gamma(self) -> float:
        """Sampling overhead of the inverse: ``prod_k gamma_k`` (``exp(2 sum lambda)`` for non-negative rates)."""
        return float(np.prod(self._factors()[2])) if self.generators else 1.0

    def sample_inverse(self, rng: np.random.Generator, size: int) -> tuple[list[dict[int, str]], np.ndarray]:
        """Draw ``size`` terms of the inverse channel's quasi-probability decomposition.

        Returns:
            The Pauli of each draw (``{qubit: letter}``, identities left out) and its sign (+1/-1).

        Examples:
            >>> m = SparsePauliLindblad((((0, "X"),),), (0.2,))
            >>> paulis, signs = m.sample_inverse(np.random.default_rng(0), 1000)
            >>> 0.1 < float(np.mean(signs < 0)) < 0.2, all(p in ({}, {0: "X"}) for p in paulis)
            (True, True)
        """
        prob, sign, _ = self._factors()
        picks = rng.random((size, len(self.generators))) < prob
        qubits = self.qubits
        col = {q: j for j, q in enumerate(qubits)}
        gx = np.zeros((len(self.generators), len(qubits)), dtype=np.int64)
        gz = np.zeros_like(gx)
        for k, g in enumerate(self.generators):
            for q, p in g:
                gx[k, col[q]] = p in "XY"
                gz[k, col[q]] = p in "YZ"
        x = (picks.astype(np.int64) @ gx) % 2
        z = (picks.astype(np.int64) @ gz) % 2
        signs = np.where(((picks & (sign < 0)).sum(axis=1) % 2) == 1, -1.0, 1.0)
        letters = np.array(["I", "Z", "X", "Y"])[2 * x + z]
        paulis = [{qubits[j]: str(row[j]) for j in np.flatnonzero(row != "I")} for row in letters]
        return paulis, signs

    def restrict(self, qubits: Sequence[int]) -> SparsePauliLindblad:
        """The generators supported on ``qubits`` only (with their rates)."""
        keep = set(qubits)
        idx = [k for k, g in enumerate(self.generators) if {q for q, _ in g} <= keep]
        return SparsePauliLindblad(tuple(self.generators[k] for k in idx), tuple(self.rates[k] for k in idx),
                                   None if self.stderr is None else tuple(self.stderr[k] for k in idx), 0,
                                   dict(self.details))

    def __matmul__(self, other: SparsePauliLindblad) -> SparsePauliLindblad:
        """The product of two commuting Pauli-Lindblad channels: rates of equal generators add."""
        rates: dict[Word, float] = {}
        for g, r in [*zip(self.generators, self.rates, strict=True), *zip(other.generators, other.rates, strict=True)]:
            rates[g] = rates.get(g, 0.0) + r
        return SparsePauliLindblad(tuple(rates), tuple(rates.values()), None, self.learn_shots + other.learn_shots)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form: generators as text (``"X0*Z1"``), rates, standard errors, shots."""
        return {"generators": [str(PauliSum({g: 1.0})) for g in self.generators], "rates": list(self.rates),
                "stderr": None if self.stderr is None else list(self.stderr), "learn_shots": self.learn_shots,
                "gamma": self.gamma, "details": self.details}


def _layer_gates(layer: Circuit) -> list[Instruction]:
    if not isinstance(layer, Circuit):
        raise ArgumentTypeError(f"a layer is a qtandem Circuit, got {type(layer).__name__}")
    gates = [inst for inst in layer if inst.name != "barrier"]
    seen: set[int] = set()
    for inst in gates:
        if not inst.is_gate or len(inst.qubits) > 2:
            raise SimulationError(f"a layer holds one- and two-qubit gates only, got {inst.label} on {inst.qubits}")
        if seen & set(inst.qubits):
            raise SimulationError(f"a layer's gates act on distinct qubits; {inst.label} on {inst.qubits} overlaps")
        seen.update(inst.qubits)
    if not gates:
        raise SimulationError("the layer has no gates")
    return gates


def _all_words(qubits: Sequence[int]) -> list[Word]:
    out: list[Word] = []
    for letters in itertools.product("IXYZ", repeat=len(qubits)):
        word = tuple((q, p) for q, p in zip(qubits, letters, strict=True) if p != "I")
        if word:
            out.append(word)
    return out


def layer_generators(layer: Circuit) -> list[Word]:
    """The generators of a layer's model: every non-identity Pauli on each gate's qubits (3 or 15 per gate).

    Examples:
        >>> len(layer_generators(Circuit(3).cx(0, 1).sx(2)))
        18
    """
    return [w for inst in _layer_gates(layer) for w in _all_words(sorted(inst.qubits))]


def _solve_rates(words: Sequence[Word], neg_log_f: np.ndarray, generators: Sequence[Word],
                 weights: np.ndarray | None = None, nonneg: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Rates with ``-log f_Q = 2 sum_k a(Q, k) lambda_k`` (least squares), and their standard errors."""
    a = np.array([[2.0 * _anticommute(w, g) for g in generators] for w in words])
    w = np.ones(len(words)) if weights is None else np.asarray(weights, dtype=float)
    aw, bw = a * w[:, None], neg_log_f * w
    if nonneg:
        from scipy.optimize import nnls

        rates, _ = nnls(aw, bw)
    else:
        rates = np.linalg.lstsq(aw, bw, rcond=None)[0]
    cov = np.linalg.pinv(aw.T @ aw)
    return rates, np.sqrt(np.clip(np.diag(cov), 0, None))


def _channel_fidelity(kraus: Sequence[np.ndarray], letters: str) -> float:
    p = _word_matrix(letters)
    total = sum(np.trace(p @ k @ p @ k.conj().T) for k in kraus)
    return float(np.real(total)) / p.shape[0]


def from_noise_model(noise: Any, layer: Circuit) -> SparsePauliLindblad:
    """The exact Pauli-Lindblad model of the gate noise after ``layer`` under a qtandem noise model.

    Each gate's channels (``NoiseModel.errors_after``) are reduced to their Pauli fidelities
    (what Pauli twirling leaves of them) and the rates of the gate's 3 or 15 generators solved
    exactly. Readout, idle and ZZ errors are not layer noise and are left out.

    Args:
        noise: a :class:`~qtandem.noise.NoiseModel` or :class:`~qtandem.device.Device`.
        layer: gates on distinct qubits.

    Raises:
        ArgumentTypeError: ``noise`` is neither.
        NoiseError: a channel with a zero Pauli fidelity (no inverse).

    Examples:
        >>> from qtandem.noise import NoiseModel, depolarizing_qiskit
        >>> noise = NoiseModel().add(depolarizing_qiskit(0.002), gates=["sx", "rz"])
        >>> m = from_noise_model(noise, Circuit(2).sx(0).rz(0.3, 1))
        >>> len(m.generators), [round(r, 5) for r in m.rates[:3]]
        (6, [0.0005, 0.0005, 0.0005])
    """
    from qtandem.device.device import Device
    from qtandem.noise.model import NoiseModel

    if isinstance(noise, Device):
        noise = noise.noise_model()
    if not isinstance(noise, NoiseModel):
        raise ArgumentTypeError(f"from_noise_model needs a NoiseModel or a Device, got {type(noise).__name__}")
    generators: list[Word] = []
    rates: list[float] = []
    for inst in _layer_gates(layer):
        support = list(inst.qubits)
        channels = [(  # each channel's Kraus operators, on its qubits
            [k.detach().numpy() for k in ch.kraus], qs) for ch, qs in noise.errors_after(inst)]
        words = _all_words(sorted(support))
        neg_log = []
        for w in words:
            d = dict(w)
            f = 1.0
            for kraus, qs in channels:
                f *= _channel_fidelity(kraus, "".join(d.get(q, "I") for q in qs))
            if f <= 1e-12:
                raise NoiseError(f"the noise after {inst.label} on {inst.qubits} erases the Pauli "
                                 f"{PauliSum({w: 1.0})} (fidelity {f:.3g}): it has no inverse")
            neg_log.append(-math.log(f))
        r, _ = _solve_rates(words, np.array(neg_log), words)
        generators.extend(words)
        rates.extend(float(x) for x in r)
    return SparsePauliLindblad(tuple(generators), tuple(rates), None, 0, {"source": "noise model"})


def _zsx_word(u: np.ndarray, q: int) -> list[Instruction]:
    from qtandem.compile.synth1q import synth_1q

    return [Instruction(name, [q], [] if ang is None else [ang]) for name, ang in synth_1q(u, "zsx")]


_PREP = {"Z": np.eye(2, dtype=np.complex128),
         "X": np.array([[1, 1], [1, -1]], dtype=np.complex128) / math.sqrt(2),
         "Y": np.array([[1, 1], [1j, -1j]], dtype=np.complex128) / math.sqrt(2)}  # S H: |0> -> |+i>


def _propagate(word: dict[int, str], ops: Sequence[Instruction | tuple[int, str]]) -> tuple[int, dict[int, str]]:
    """``word`` conjugated by ``ops`` (gates and Pauli frames), with the sign picked up."""
    sign, cur = 1, dict(word)
    for op in ops:
        if isinstance(op, tuple):
            q, p = op
            if p != "I" and cur.get(q, "I") not in ("I", p):
                sign = -sign
            continue
        m = _matrix(op)
        assert m is not None
        letters = "".join(cur.get(q, "I") for q in op.qubits)
        if set(letters) == {"I"}:
            continue
        image = conjugate_pauli(m, letters)
        if image is None:
            raise SimulationError(f"cycle benchmarking needs a Clifford layer; {op.label} on {op.qubits} is not")
        sign *= image[0]
        for q, p in zip(op.qubits, image[1], strict=True):
            if p == "I":
                cur.pop(q, None)
            else:
                cur[q] = p
    return sign, cur


def learn_pauli_lindblad(executor: Callable[..., Any], layer: Circuit, *, depths: Sequence[int] = (0, 2, 4, 8, 16),
                         shots: int = 200_000, seed: Seed = None, twirl: bool = False,
                         instances: int = 4) -> SparsePauliLindblad:
    """Learn the Pauli-Lindblad model of a Clifford layer's noise by cycle benchmarking, from counts.

    For each preparation basis (3 without two-qubit gates: all qubits in X, Y or Z; else 9:
    the two qubits of each pair in every combination of X, Y, Z, single qubits following the
    first) and each depth ``d``, the circuit prepares the basis' +1 eigenstate, applies the
    layer ``d`` times, rotates back and measures the layer's qubits. Each one- and two-local
    Pauli ``Q`` of the basis decays as ``A (f_Q f_{L(Q)})^{d/2}``; a weighted fit of
    ``log`` value against ``d`` gives the pair fidelity free of preparation and readout
    errors, split symmetrically between ``Q`` and ``L(Q)``, and non-negative least squares
    gives the rates (standard errors propagated linearly). Preparations and rotations are
    written in ``{rz, sx, x}``.

    Args:
        executor: ``executor(circuits, shots[, seed=])`` returning counts (a
            :class:`~qtandem.mitigate.core.ShotCounter` counts the shots for you).
        layer: Clifford gates on distinct qubits (``cx``, ``sx``, ``x``, ``rz(k pi/2)``, ...).
        depths: layer repetitions; the layer repeated each of them must map every measured Pauli
            back to itself up to sign (even depths for ``cx``, ``sx``, ``rz(pi/2)``), at least 2 of them.
        shots: total shots, split evenly among the circuits.
        seed: seed of the executor calls and of the frames.
        twirl: insert random Pauli frames (``instances`` per basis and depth) between the
            repetitions, for noise that is not already a Pauli channel; their gates' own noise
            is then learned into the layer's.
        instances: frame instances per basis and depth when ``twirl`` (their spread enters the
            standard errors; with coherent errors use a few dozen, as with 8 the spread is underestimated).

    Returns:
        The model, with ``learn_shots`` the shots spent and ``details`` the fitted pair fidelities
        ``f_Q f_{L(Q)}`` (keys ``"Q|L(Q)"``, per measured basis) and their standard errors. What cycle
        benchmarking cannot separate (``f_Q`` from ``f_{L(Q)}``) is split evenly, so single rates of
        an asymmetric noise are not identifiable; the pair fidelities and ``gamma`` are.

    Raises:
        SimulationError: not a layer, a non-Clifford gate, a depth that does not return the
            Paulis, too few shots, or every point of a decay at or below zero.

    Examples:
        >>> from qtandem.noise import NoiseModel, depolarizing
        >>> from qtandem.device.executors import simulator_executor
        >>> noise = NoiseModel().add(depolarizing(0.02), gates=["sx"]).set_ideal(["rz", "x"])
        >>> model = learn_pauli_lindblad(simulator_executor(noise, seed=1), Circuit(1).sx(0), shots=60000, seed=2)
        >>> exact = from_noise_model(noise, Circuit(1).sx(0))
        >>> abs(model.gamma - exact.gamma) < 0.01, model.learn_shots
        (True, 60000)
    """
    gates = _layer_gates(layer)
    depths = sorted({int(d) for d in depths})
    if len(depths) < 2 or depths[0] < 0:
        raise SimulationError(f"cycle benchmarking needs at least two non-negative depths, got {list(depths)}")
    rng = as_generator(seed)
    active = sorted({q for g in gates for q in g.qubits})
    pairs = [tuple(g.qubits) for g in gates if len(g.qubits) == 2]
    supports = [sorted(g.qubits) for g in gates]
    bases: list[dict[int, str]] = []
    for u, v in (itertools.product("XYZ", repeat=2) if pairs else [(a, a) for a in "XYZ"]):
        basis = dict.fromkeys(active, u)
        for _, b in pairs:
            basis[b] = v
        bases.append(basis)
    reps = instances if twirl else 1
    n_circ = len(bases) * len(depths) * reps
    per = int(shots) // n_circ
    if per < 1:
        raise SimulationError(f"{shots} shots cannot cover {n_circ} cycle-benchmarking circuits")
    clbit = {q: j for j, q in enumerate(active)}
    circuits: list[Circuit] = []
    meta: list[tuple[int, int, list[Instruction | tuple[int, str]]]] = []
    for bi, basis in enumerate(bases):
        for d in depths:
            for _ in range(reps):
                body: list[Instruction | tuple[int, str]] = []
                for _rep in range(d):
                    if twirl:
                        body.extend((q, str(rng.choice(list("IXYZ")))) for q in active)
                    body.extend(gates)
                c = Circuit(layer.n_qubits, len(active))
                for q in active:
                    for inst in _zsx_word(_PREP[basis[q]], q):
                        c.append(inst)
                for inst in emit_with_paulis(Circuit(layer.n_qubits), body, merge="none"):
                    c.append(inst)
                for q in active:
                    for inst in _zsx_word(_PREP[basis[q]].conj().T, q):
                        c.append(inst)
                    c.measure(q, clbit[q])
                circuits.append(c)
                meta.append((bi, d, body))
    from qtandem.device.executors import accepts_seed

    s = int(rng.integers(2**62))
    counts = executor(circuits, per, seed=s) if accepts_seed(executor) else executor(circuits, per)
    if not isinstance(counts, Sequence) or len(counts) != len(circuits):
        raise SimulationError(f"executor: expected {len(circuits)} counts, got {type(counts).__name__}")
    # decays: (basis, Q) -> depth -> list of (value, variance)
    data: dict[tuple[int, Word], dict[int, list[tuple[float, float]]]] = {}
    for (bi, d, body), cnt in zip(meta, counts, strict=True):
        keys = list(cnt)
        bits = np.array([[int(k[len(k) - 1 - clbit[q]]) for q in active] for k in keys], dtype=np.int64)
        w = np.array([cnt[k] for k in keys], dtype=float)
        basis = bases[bi]
        for sup in supports:
            for r in range(1, len(sup) + 1):
                for sub in itertools.combinations(sup, r):
                    word = tuple((q, basis[q]) for q in sub)
                    sign, image = _propagate(dict(word), body)
                    if image != dict(word):
                        raise SimulationError(f"the layer repeated {d} times does not map {PauliSum({word: 1.0})} "
                                              f"back to itself: use depths that return it (even depths for cx)")
                    par = 1 - 2 * (bits[:, [active.index(q) for q in sub]].sum(axis=1) % 2)
                    m = float(w @ par) / w.sum() * sign
                    data.setdefault((bi, word), {}).setdefault(d, []).append((m, max(1 - m * m, 1.0 / per) / per))
    rows_words: list[Word] = []
    rows_val: list[float] = []
    rows_w: list[float] = []
    pair_fid: dict[str, float] = {}
    pair_se: dict[str, float] = {}
    one_layer = {inst.qubits: inst for inst in gates}
    for (_, word), by_depth in data.items():
        xs, ys, ws = [], [], []
        for d, pts in sorted(by_depth.items()):
            m = float(np.mean([p[0] for p in pts]))
            var = float(np.mean([p[1] for p in pts])) / len(pts)
            if len(pts) >= 2:  # twirled instances differ: their spread holds the frames' randomness too
                var = max(var, float(np.var([p[0] for p in pts], ddof=1)) / len(pts))
            if m <= 2 * math.sqrt(var):
                continue
            xs.append(d / 2)
            ys.append(math.log(m))
            ws.append(m * m / var)
        if len(xs) < 2:
            raise SimulationError(f"the decay of {PauliSum({word: 1.0})} fell to zero (shots too few or depths too "
                                  f"long): fewer depths, shorter depths or more shots")
        x, y, wt = np.array(xs), np.array(ys), np.array(ws)
        xm = float(wt @ x / wt.sum())
        sxx = float(wt @ (x - xm) ** 2)
        slope = float(wt @ ((x - xm) * (y - float(wt @ y / wt.sum())))) / sxx
        se = math.sqrt(1.0 / sxx)
        _, image = _propagate(dict(word), list(one_layer.values()))
        image_word = tuple(sorted(image.items()))
        pair_key = f"{PauliSum({word: 1.0})}|{PauliSum({image_word: 1.0})}"
        pair_fid[pair_key] = math.exp(slope)
        pair_se[pair_key] = math.exp(slope) * se
        for target in {word, image_word}:
            rows_words.append(target)
            rows_val.append(-slope / 2)
            rows_w.append(2.0 / se)
    generators = layer_generators(layer)
    rates, stderr = _solve_rates(rows_words, np.array(rows_val), generators, np.array(rows_w), nonneg=True)
    return SparsePauliLindblad(tuple(generators), tuple(float(r) for r in rates), tuple(float(e) for e in stderr),
                               per * n_circ, {"source": "cycle benchmarking", "depths": depths, "twirl": twirl,
                                              "pair_fidelities": pair_fid, "pair_fidelity_stderr": pair_se})


def combine(models: Mapping[Any, SparsePauliLindblad] | Sequence[SparsePauliLindblad]) -> SparsePauliLindblad:
    """The product of models (Pauli-Lindblad channels commute): rates of equal generators add.

    Examples:
        >>> a = SparsePauliLindblad((((0, "X"),),), (0.01,))
        >>> b = SparsePauliLindblad((((0, "X"),), ((1, "Z"),)), (0.01, 0.02))
        >>> combine([a, b]).rates
        (0.02, 0.02)
    """
    items = list(models.values()) if isinstance(models, Mapping) else list(models)
    out = SparsePauliLindblad((), ())
    for m in items:
        out = out @ m
    return out
