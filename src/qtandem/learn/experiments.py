"""The characterization experiments: circuits in a device's native gates ``{rz, sx, x, cx}``.

Every circuit is full width (device qubit indices) and measures only its experiment's
qubits, into classical bits ``0..k-1`` in the order of ``Experiment.qubits``.

How the x-values are chosen (``prior``: a :class:`~qtandem.device.Device` or ``None`` for
the typical values in :data:`TYPICAL`; a prior is a point estimate, so the ranges below
always add the typical spread of the unknowns):

- ``t1``: ``x``, ``delay t``. Delay 0 (it pins the start level: readout and the ``x``)
  and a geometric series from ``a`` T1 to ``b`` T1, with ``(a, b)`` picked from a small
  grid (``a`` in 0.05..0.3, ``b`` in 2..5) to maximise the worst case, over true T1 from
  a third to three times the prior, of the Fisher information about log T1 (readout
  error 2%; :func:`decay_information`): a prior is a point estimate, the design must hold
  when it is off. It beats a linear grid on [0, 3 T1] of the same size in the worst case
  and on average over that range (tests/learn/test_experiments.py).
- ``echo``: ``sx, delay t/2, x, delay t/2, sx``: the same rule with T2 (the signal
  decays towards 1/2 instead of 0).
- ``ramsey``: ``sx, delay t, rz(w_v t + phi), sx`` with a virtual detuning ``w_v`` (rad/ns)
  equal to the largest frequency the prior allows (``|detuning| + 2 pi 50 kHz``, plus
  ``|zz| + 2 pi 100 kHz`` for ``zz``), so the fringe frequency ``w_v + detuning`` keeps
  its sign (the sign of the detuning shows). Eight dense delays spaced a quarter of the
  fastest period resolve the frequency without aliasing; a geometric tail up to 1.5 T2
  refines it (the phase grows with t, so late points carry most of the frequency
  information). When T2 is so short that ``count`` such steps reach 1.5 T2, a linear grid
  up to 1.5 T2 replaces both. The readout phase ``phi`` alternates 0, pi/2 over the delays
  (``meta["phase_offset"]``): with one quadrature only, P(1) = (1 + e^(-t/T2) cos((w_v + d) t))/2
  is the same for ``d`` and ``-2 w_v - d`` and a fit can land on the mirror; the sine
  quadrature tells them apart at no extra circuits.
- ``zz``: the Ramsey circuits on ``a`` with ``b`` in ``|0>`` and in ``|1>`` (one delay
  covers both qubits); both are measured.
- ``amplify_sx``: ``sx`` then ``n - 1`` more ``sx``. By default (``amplify="poles"``) the
  counts alternate ``n = 4k + 1`` (ideal: the equator, P(1) = 1/2; an over-rotation ``e`` gives
  P(1) = (1 + sin((4k+1) e))/2, so the sign shows) and ``n = 4k + 2`` (``x^(2k+1)``: the pole,
  where the contrast that the gate error takes away shows, so the angle and the gate error no
  longer enter nearly as a product), eight counts up to twice the unimodal limit below;
  ``amplify="equator"`` keeps the ``4k + 1`` counts up to that limit (the default before
  session 34: on the Cramer-Rao bound of DEV seeds 100-104 the poles give 2.42x
  ``FineSXAmplitude``'s precision at equal shots, the equator counts 0.67x).
  ``amplify_x``: ``sx`` then ``n`` ``x``: P(1) = (1 +- sin(n e_x + e_sx))/2.
  ``amplify_cx``: target ``sx``, control in ``|0>`` or ``|1>``, then an even number ``N``
  of ``cx`` (ideal: identity), both measured. A count ``n`` gives Fisher information
  ``n^2`` per shot about the angle, whatever the angle, so the counts go as far as the
  likelihood stays unimodal: ``n`` times (prior angle + the typical 0.05 rad spread) up to
  pi/2 (P(1) monotone in the angle over the whole prior range), or until the accumulated
  gate error reaches 0.2. Counts are spread evenly from 0 to that limit (8 for ``sx`` and
  ``cx``, 10 for ``x``), not doubled, so most shots go to long sequences; the short ones
  keep the fit robust when the angle is outside the prior range. For the typical prior
  this gives 309 (``sx``, equator counts), 340 (``x``) and 206 (``cx``) average ``n^2`` per circuit, against
  198, 111 and 137 for a doubling series and 183 for qiskit-experiments'
  ``FineSXAmplitude`` repetitions.
- ``readout``: one qubit: ``|0>`` and ``|1>`` (the two columns of its confusion matrix
  are its two unknowns); a pair: all four basis states (the joint 4x4 confusion matrix
  of correlated readout needs every column). Preparing all 2^n states of n qubits
  would grow exponentially, so qubits are calibrated one at a time and pairs jointly.
  A group of three or more qubits read in parallel (``characterization(...,
  readout="parallel")``: qubits that share no coupling, whose readout errors are
  independent in the device model) prepares all ``|0...0>`` and all ``|1...1>``: every
  shot then informs every qubit of the group.
- spectators (``characterization(..., spectators=True)``): a one-qubit experiment's circuits also
  measure idle qubits that share no coupling with its qubit nor with each other, after its own qubit
  (classical bits ``1..``; ``meta["spectators"]``). They sit in ``|0>`` (no gate touches them, and
  with no coupling there is no ZZ or correlated readout with the active qubit), so each of their
  shots is one more draw of their ``readout_p01``, at no extra circuits: the fit pools them
  (:func:`qtandem.learn.data.fold_spectators`).
- ``rb``: standard single-qubit RB, ``n_seeds`` random sequences per length of
  Cliffords from :data:`~qtandem.learn.clifford.CLIFFORD_1Q` plus the inverse. Lengths
  1 and a geometric series up to ``2 / (1 - p)`` for the prior's depolarizing parameter
  ``p`` (capped at 1000), where the decay has spent most of its information.
- ``irb``: two-qubit RB on a pair, reference and ``cx``-interleaved sequences on the same
  lengths (up to ``2 / (1 - p)``, capped at 200), Cliffords from
  :mod:`qtandem.learn.clifford` with the inverse found from the Stim tableau.

Examples:
    >>> exp = build_experiment("t1", (0,), width=2)
    >>> exp.name, exp.qubits, len(exp.circuits), exp.xs[:2]
    ('t1', (0,), 12, [0.0, 30000.0])
    >>> [inst.name for inst in exp.circuits[1]]
    ['x', 'delay', 'measure']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import stim

from qtandem.circuit.circuit import Circuit
from qtandem.errors import DataError
from qtandem.learn import clifford
from qtandem.random import as_generator

__all__ = ["EXPERIMENTS", "PAIR_EXPERIMENTS", "TYPICAL", "Experiment", "build_experiment", "decay_information",
           "default_xs"]

EXPERIMENTS = ("readout", "t1", "ramsey", "echo", "amplify_sx", "amplify_x", "amplify_cx", "zz", "rb", "irb")
"""Every experiment name, in plan order."""

PAIR_EXPERIMENTS = ("amplify_cx", "zz", "irb")
"""Experiments on a pair of coupled qubits (``readout`` takes a qubit or a pair)."""

TYPICAL: dict[str, float] = {
    "t1": 100e3, "t2": 100e3, "detuning": 0.0, "gate_error_1q": 3e-4, "sx_angle_error": 0.0,
    "x_angle_error": 0.0, "cx_error": 8e-3, "cx_angle_error": 0.0, "zz": 0.0,
    "detuning_range": 2 * math.pi * 50e-6, "zz_range": 2 * math.pi * 100e-6, "angle_range": 0.05,
}
"""The prior when none is given (times in ns, rates in rad/ns, angles in rad), and the spreads
(``*_range``) added around any prior's point values."""

_DENSE = 8
_HALF_PI = math.pi / 2


@dataclass
class Experiment:
    """One experiment: its circuits, the x-value of each, and what else the fit needs.

    Attributes:
        name: one of :data:`EXPERIMENTS`.
        qubits: device qubits, measured into classical bits ``0..k-1`` in this order.
        circuits: full-width circuits in native gates.
        xs: x-value of each circuit: delay (ns), repetitions, sequence length, or prepared
            basis state (bit ``i`` = ``qubits[i]``).
        meta: JSON-ready extras; lists under ``meta`` aligned with the circuits
            (``partner_state``, ``control_state``, ``phase_offset``, ``interleaved``, ``sequence_seed``) and
            scalars (``virtual_detuning`` in rad/ns, ``interleaved_gate``).

    Examples:
        >>> exp = build_experiment("readout", (0, 1), width=2)
        >>> exp.xs, exp.circuits[3].count_ops()
        ([0, 1, 2, 3], {'x': 2, 'measure': 2})
    """

    name: str
    qubits: tuple[int, ...]
    circuits: list[Circuit]
    xs: list[float]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, circuits as OpenQASM 3 text.

        Examples:
            >>> d = build_experiment("readout", (0,), width=1).to_dict()
            >>> Experiment.from_dict(d).xs
            [0, 1]
        """
        return {"name": self.name, "qubits": list(self.qubits), "xs": list(self.xs), "meta": self.meta,
                "circuits": [c.to_qasm(3) for c in self.circuits]}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Experiment:
        """Inverse of :meth:`to_dict`.

        Raises:
            DataError: a missing or mistyped key, or circuits and xs of different lengths.

        Examples:
            >>> Experiment.from_dict({"name": "t1"})
            Traceback (most recent call last):
            ...
            qtandem.errors.DataError: <dict>: experiment needs keys name, qubits, xs, circuits
        """
        if not isinstance(data, dict) or not all(k in data for k in ("name", "qubits", "xs", "circuits")):
            raise DataError(f"{source}: experiment needs keys name, qubits, xs, circuits")
        circuits = [Circuit.from_qasm(text, filename=f"{source}:{data['name']}[{i}]")
                    for i, text in enumerate(data["circuits"])]
        return cls.checked(data["name"], data["qubits"], circuits, data["xs"], data.get("meta") or {},
                           source=source)

    @classmethod
    def checked(cls, name: Any, qubits: Any, circuits: list[Circuit], xs: Any, meta: Any, *,
                source: str) -> Experiment:
        """An experiment from loosely typed parts (JSON), every part checked; errors name ``source``.

        Examples:
            >>> Experiment.checked("t1", [0], [], [], {}, source="plan.json").qubits
            (0,)
        """
        if name not in EXPERIMENTS:
            raise DataError(f"{source}: unknown experiment {name!r} (known: {', '.join(EXPERIMENTS)})")
        if (not isinstance(qubits, list | tuple) or not qubits
                or not all(isinstance(q, int) and not isinstance(q, bool) and q >= 0 for q in qubits)):
            raise DataError(f"{source}: experiment {name!r}: qubits must be a non-empty list of qubit indices, "
                            f"got {qubits!r}")
        if not isinstance(xs, list) or len(xs) != len(circuits):
            got = len(xs) if isinstance(xs, list) else type(xs).__name__
            raise DataError(f"{source}: experiment {name!r}: {len(circuits)} circuits but xs has {got} entries")
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs):
            raise DataError(f"{source}: experiment {name!r}: xs must be numbers")
        if not isinstance(meta, dict):
            raise DataError(f"{source}: experiment {name!r}: meta must be an object, got {type(meta).__name__}")
        return cls(str(name), tuple(qubits), circuits, list(xs), dict(meta))


# -- the prior -------------------------------------------------------------------------------
def _qubit_prior(prior: Any, q: int) -> dict[str, float]:
    out = {k: TYPICAL[k] for k in ("t1", "t2", "detuning", "gate_error_1q", "sx_angle_error", "x_angle_error")}
    if prior is not None and q < len(prior.qubits):
        props = prior.qubits[q]
        for key in out:
            value = getattr(props, key, None)
            if value is not None and (key not in ("t1", "t2") or float(value) > 0):
                out[key] = float(value)
    return out


def _edge_prior(prior: Any, pair: tuple[int, int]) -> dict[str, float]:
    out = {"cx_error": TYPICAL["cx_error"], "cx_angle_error": TYPICAL["cx_angle_error"], "zz": TYPICAL["zz"]}
    edge = None if prior is None else prior.edges.get((min(pair), max(pair)))
    if edge is not None:
        out["cx_error"] = float(edge.error) or out["cx_error"]
        out["cx_angle_error"] = float(getattr(edge, "angle_error", 0.0))
        out["zz"] = float(getattr(edge, "zz", 0.0))
    return out


def _geometric(first: float, last: float, count: int, *, integer: bool = False) -> list[float]:
    values = np.geomspace(first, last, count)
    if integer:
        return [float(v) for v in sorted({round(float(v)) for v in values})]
    return [float(round(v, 3)) for v in values]


_DECAY_STARTS = (0.05, 0.1, 0.2, 0.3)
_DECAY_ENDS = (2.0, 3.0, 4.0, 5.0)


def decay_information(delays: Sequence[float], scale: float, *, kind: str = "t1", readout: float = 0.02) -> float:
    """Fisher information per shot about ``log(scale)`` of a decay sampled at ``delays``.

    ``kind="t1"``: P(1) = r + (1 - 2r) exp(-t/T) (``x``, delay, readout error r);
    ``kind="echo"``: P(1) = 1/2 - (1/2 - r) exp(-t/T).

    Examples:
        >>> round(decay_information([160e3], 100e3), 3)  # one delay near 1.6 T: close to the maximum
        0.572
        >>> decay_information([0.0], 100e3)  # delay 0 says nothing about T
        0.0
    """
    t = np.asarray(delays, dtype=float)
    decay = np.exp(-t / scale)
    if kind == "t1":
        p, slope = readout + (1 - 2 * readout) * decay, (1 - 2 * readout) * decay * t / scale
    else:
        p, slope = 0.5 - (0.5 - readout) * decay, -(0.5 - readout) * decay * t / scale
    return float(np.sum(slope**2 / np.clip(p * (1 - p), 1e-12, None)))


def _decay_delays(scale: float, count: int, kind: str) -> list[float]:
    """Delay 0 and the geometric grid with the best worst-case information (module docstring)."""
    truths = np.geomspace(scale / 3, scale * 3, 9)

    def score(a: float, b: float) -> float:
        grid = [0.0, *np.geomspace(a * scale, b * scale, count - 1)]
        return min(decay_information(grid, t, kind=kind) for t in truths)

    a, b = max(((a, b) for a in _DECAY_STARTS for b in _DECAY_ENDS), key=lambda ab: score(*ab))
    return [0.0, *_geometric(a * scale, b * scale, count - 1)]


def _ramsey_rate(prior: Any, qubits: Sequence[int], *, zz: bool) -> float:
    """Virtual detuning (rad/ns): the largest fringe frequency the prior allows."""
    w = abs(_qubit_prior(prior, qubits[0])["detuning"]) + TYPICAL["detuning_range"]
    if zz:
        w += abs(_edge_prior(prior, (qubits[0], qubits[1]))["zz"]) + TYPICAL["zz_range"]
    return w


def _ramsey_delays(prior: Any, qubits: Sequence[int], *, zz: bool, count: int = 20) -> list[float]:
    w_top = 2 * _ramsey_rate(prior, qubits, zz=zz)
    dt = math.pi / (2 * w_top)  # a quarter period of the fastest fringe
    t_max = 1.5 * _qubit_prior(prior, qubits[0])["t2"]
    if count * dt >= t_max:  # a short T2: a linear grid up to 1.5 T2 is already dense enough
        return [float(round(v, 3)) for v in np.linspace(0, t_max, count)]
    dense = [float(round(k * dt, 3)) for k in range(_DENSE)]
    return dense + _geometric(_DENSE * dt, t_max, count - _DENSE)


def _linear(stop: float, count: int) -> list[int]:
    """``count`` integers evenly spread over ``0..floor(stop)`` (fewer when the range is short)."""
    return sorted({round(float(v)) for v in np.linspace(0, math.floor(stop), count)})


def _amplify_limit(angle: float, error: float, per_rep: float) -> float:
    """Largest repetition count that keeps the rotation informative and the gate error modest."""
    by_angle = (math.pi / 2) / ((abs(angle) + TYPICAL["angle_range"]) * per_rep)
    by_error = 0.2 / max(error * per_rep, 1e-9)
    return max(min(by_angle, by_error), 1.0)


def _poles(limit: float, count: int) -> list[float]:
    """``count`` counts evenly spread over ``1..2 limit``, alternately ``4k + 1`` (equator) and ``4k + 2`` (pole)."""
    out: list[float] = []
    for i, v in enumerate(np.linspace(1.0, max(2.0 * limit, 2.0), count)):
        n = 4 * max(round((float(v) - 1 - (i % 2)) / 4), 0) + 1 + (i % 2)
        if n not in out:
            out.append(float(n))
    return sorted(out)


def default_xs(name: str, qubits: Sequence[int], prior: Any = None, *, amplify: str = "poles") -> list[float]:
    """The x-values an experiment gets from ``prior`` (the rules in the module docstring).

    ``amplify`` (``amplify_sx`` only): ``"poles"`` (default), eight counts spread up to twice
    the unimodal limit, alternately ``4k + 1`` and ``4k + 2`` (``x^(2k+1)``: the pole, where the
    contrast the gate error takes away shows, so that the angle and the gate error no longer
    enter nearly as a product); ``"equator"``, the ``4k + 1`` counts up to the unimodal limit.

    Examples:
        >>> default_xs("amplify_sx", (0,))
        [1.0, 10.0, 17.0, 26.0, 37.0, 46.0, 53.0, 62.0]
        >>> default_xs("amplify_sx", (0,), amplify="equator")
        [1.0, 5.0, 9.0, 13.0, 17.0, 21.0, 25.0, 29.0]
        >>> default_xs("amplify_cx", (0, 1))
        [0.0, 4.0, 6.0, 10.0, 14.0, 18.0, 20.0, 24.0]
    """
    q = _qubit_prior(prior, qubits[0])
    if name == "readout":
        return [float(s) for s in range(2 ** len(qubits))] if len(qubits) <= 2 else [0.0, 2.0 ** len(qubits) - 1]
    if name == "t1":
        return _decay_delays(q["t1"], 12, "t1")
    if name == "echo":
        return _decay_delays(q["t2"], 12, "echo")
    if name in ("ramsey", "zz"):
        return _ramsey_delays(prior, qubits, zz=name == "zz")
    if amplify not in ("equator", "poles"):
        raise DataError(f"amplify must be 'equator' or 'poles', got {amplify!r}")
    if name == "amplify_sx" and amplify == "poles":
        return _poles(4.0 * _amplify_limit(q["sx_angle_error"], q["gate_error_1q"], 4.0), 8)
    if name == "amplify_sx":
        k_max = (_amplify_limit(q["sx_angle_error"], q["gate_error_1q"], 4.0) - 0.25)
        return [4.0 * k + 1 for k in _linear(k_max, 8)]
    if name == "amplify_x":
        return [float(n) for n in _linear(_amplify_limit(q["x_angle_error"], 2 * q["gate_error_1q"], 1.0), 10)]
    edge = _edge_prior(prior, (qubits[0], qubits[-1]))
    if name == "amplify_cx":
        half = _amplify_limit(edge["cx_angle_error"], edge["cx_error"], 1.0) / 2
        return [2.0 * m for m in _linear(half, 8)]
    if name == "rb":
        r = q["gate_error_1q"] * 20 / 24 + 1e-5  # 20 of the 24 Cliffords hold one pulse
        m_max = min(1000.0, 2 / (2 * r))
        return [1.0, *_geometric(2, max(m_max, 8), 6, integer=True)]
    if name == "irb":
        r = 1.5 * edge["cx_error"] + 2 * q["gate_error_1q"]  # 1.5 cx per two-qubit Clifford on average
        m_max = min(200.0, 2 / (4 / 3 * r))
        return [1.0, *_geometric(2, max(m_max, 8), 5, integer=True)]
    raise DataError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENTS)})")


# -- circuits --------------------------------------------------------------------------------
def _measured(width: int, qubits: Sequence[int]) -> Circuit:
    return Circuit(width, len(qubits))


def _finish(circuit: Circuit, qubits: Sequence[int]) -> Circuit:
    return circuit.measure(list(qubits), list(range(len(qubits))))


def _add_spectators(circuit: Circuit, spectators: Sequence[int]) -> Circuit:
    """``circuit`` with ``spectators`` measured too, into the classical bits after its own."""
    k = circuit.n_clbits
    out = Circuit(circuit.n_qubits, k + len(spectators))
    for inst in circuit:
        out.append(inst.name, list(inst.qubits), list(inst.params), list(inst.clbits))
    return out.measure(list(spectators), list(range(k, k + len(spectators))))


def _apply(circuit: Circuit, ops: Sequence[clifford.NativeOp], where: Sequence[int]) -> None:
    for name, local, params in ops:
        circuit.append(name, [where[i] for i in local], params)


def _rb_circuit(width: int, qubits: Sequence[int], length: int, rng: np.random.Generator,
                interleave: str | None) -> Circuit:
    k = len(qubits)
    group = 24 if k == 1 else 11520
    word = (lambda i: clifford.CLIFFORD_1Q[i]) if k == 1 else clifford.clifford_2q_ops
    circuit = Circuit(width, k)
    total = stim.Tableau(k)
    for index in clifford.random_indices(length, group, rng):
        ops = list(word(index))
        if interleave is not None:
            ops.append((interleave, tuple(range(k)), ()))
        _apply(circuit, ops, qubits)
        total = total.then(clifford.ops_tableau(ops, k))
    inverse = total.inverse()
    index = clifford.clifford_1q_index(inverse) if k == 1 else clifford.clifford_2q_index(inverse)
    _apply(circuit, word(index), qubits)
    return _finish(circuit, qubits)


def build_experiment(name: str, qubits: Sequence[int], *, width: int, xs: Sequence[float] | None = None,
                     prior: Any = None, seed: int = 0, n_seeds: int = 3, amplify: str = "poles",
                     spectators: Sequence[int] = ()) -> Experiment:
    """One experiment's circuits on device ``qubits`` (a pair for :data:`PAIR_EXPERIMENTS`).

    Args:
        name: one of :data:`EXPERIMENTS`.
        qubits: ``(q,)`` or ``(a, b)`` (``readout`` takes any distinct qubits; ``zz``: Ramsey on ``a`` with
            ``b`` in ``|0>`` and ``|1>``; ``amplify_cx`` and ``irb``: control ``a``, target ``b``).
        width: number of device qubits (circuits are full width).
        xs: x-values (default :func:`default_xs`); for ``zz`` and ``amplify_cx`` each x-value
            gives two circuits (partner/control in ``|0>`` then ``|1>``), for ``rb`` and ``irb``
            ``n_seeds`` circuits (``irb``: reference and interleaved each).
        prior: a :class:`~qtandem.device.Device` (or ``None``) that sets the default x-values.
        seed: seed of the RB sequences.
        n_seeds: random sequences per RB length.
        amplify: the ``amplify_sx`` counts' rule (:func:`default_xs`).
        spectators: idle qubits every circuit also measures, after ``qubits`` (one-qubit experiments
            other than ``readout``; see the module docstring). The caller picks them uncoupled.

    Returns:
        The :class:`Experiment`.

    Raises:
        DataError: unknown name, wrong number of qubits, a qubit outside ``width``, a negative x-value,
            spectators on a pair or readout experiment or overlapping its qubits.

    Examples:
        >>> exp = build_experiment("zz", (0, 1), width=3, xs=[0.0, 500.0])
        >>> exp.xs, exp.meta["partner_state"]
        ([0.0, 500.0, 0.0, 500.0], [0, 0, 1, 1])
        >>> [i.qubits for i in build_experiment("t1", (0,), width=3, spectators=[2]).circuits[1]][-2:]
        [(0,), (2,)]
        >>> build_experiment("irb", (0,), width=1)
        Traceback (most recent call last):
        ...
        qtandem.errors.DataError: experiment 'irb' acts on a pair of qubits, got (0,)
    """
    qubits = tuple(int(q) for q in qubits)
    if name not in EXPERIMENTS:
        raise DataError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENTS)})")
    need = (2,) if name in PAIR_EXPERIMENTS else range(1, width + 1) if name == "readout" else (1,)
    if len(qubits) not in need or len(set(qubits)) != len(qubits):
        what = "a pair of qubits" if need == (2,) else "one qubit" if need == (1,) else "distinct qubits"
        raise DataError(f"experiment {name!r} acts on {what}, got {qubits}")
    if any(not 0 <= q < width for q in qubits):
        raise DataError(f"experiment {name!r}: qubits {qubits} outside the device's 0..{width - 1}")
    values = default_xs(name, qubits, prior, amplify=amplify) if xs is None else [float(x) for x in xs]
    if any(not math.isfinite(x) or x < 0 for x in values):
        raise DataError(f"experiment {name!r}: x-values must be finite and >= 0, got {values}")
    q = qubits[0]
    circuits: list[Circuit] = []
    out_xs: list[float] = []
    meta: dict[str, Any] = {}
    if name == "readout":
        for state in values:
            c = _measured(width, qubits)
            for i, qb in enumerate(qubits):
                if int(state) >> i & 1:
                    c.x(qb)
            circuits.append(_finish(c, qubits))
        out_xs = [int(s) for s in values]
    elif name == "t1":
        for t in values:
            circuits.append(_finish(_measured(width, qubits).x(q).delay(t, q), qubits))
    elif name == "echo":
        for t in values:
            c = _measured(width, qubits).sx(q).delay(t / 2, q).x(q).delay(t / 2, q).sx(q)
            circuits.append(_finish(c, qubits))
    elif name in ("ramsey", "zz"):
        rate = _ramsey_rate(prior, qubits, zz=name == "zz")
        meta["virtual_detuning"] = rate
        states = (0,) if name == "ramsey" else (0, 1)
        for state in states:
            for t in values:
                c = _measured(width, qubits)
                if state:
                    c.x(qubits[1])
                c.sx(q).delay(t, qubits).rz(_wrap(rate * t + _HALF_PI * (len(circuits) % 2)), q).sx(q)
                circuits.append(_finish(c, qubits))
        meta["phase_offset"] = [_HALF_PI * (i % 2) for i in range(len(circuits))]
        if name == "zz":
            meta["partner_state"] = [s for s in states for _ in values]
    elif name in ("amplify_sx", "amplify_x"):
        for n in values:
            c = _measured(width, qubits).sx(q)
            gate = "sx" if name == "amplify_sx" else "x"
            for _ in range(int(n) - (name == "amplify_sx")):
                c.append(gate, [q])
            circuits.append(_finish(c, qubits))
        meta["count"] = "sx gates in all" if name == "amplify_sx" else "x gates after one sx"
    elif name == "amplify_cx":
        a, b = qubits
        for state in (0, 1):
            for n in values:
                c = _measured(width, qubits)
                if state:
                    c.x(a)
                c.sx(b)
                for _ in range(int(n)):
                    c.cx(a, b)
                circuits.append(_finish(c, qubits))
        meta["control_state"] = [s for s in (0, 1) for _ in values]
    else:  # rb, irb
        rng = as_generator(seed)
        variants = (None,) if name == "rb" else (None, "cx")
        seeds: list[int] = []
        flags: list[bool] = []
        for interleave in variants:
            for m in values:
                for _ in range(n_seeds):
                    s = int(rng.integers(2**62))
                    circuits.append(_rb_circuit(width, qubits, int(m), as_generator(s), interleave))
                    seeds.append(s)
                    flags.append(interleave is not None)
        meta["sequence_seed"] = seeds
        if name == "irb":
            meta["interleaved"] = flags
            meta["interleaved_gate"] = "cx"
        out_xs = [float(m) for _ in variants for m in values for _ in range(n_seeds)]
    if not out_xs:
        out_xs = list(values) * (len(circuits) // max(len(values), 1))
    spect = [int(s) for s in spectators]
    if spect:
        if len(qubits) != 1 or name == "readout" or len(set(spect)) != len(spect) or q in spect:
            raise DataError(f"experiment {name!r} on {qubits}: spectators {spect} need a one-qubit experiment "
                            "other than readout and distinct qubits other than its own")
        if any(not 0 <= s < width for s in spect):
            raise DataError(f"experiment {name!r}: spectators {spect} outside the device's 0..{width - 1}")
        circuits = [_add_spectators(c, spect) for c in circuits]
        meta["spectators"] = spect
    return Experiment(name, qubits, circuits, out_xs, meta)


def _wrap(angle: float) -> float:
    """An angle in (-pi, pi] (so the QASM text stays short and exact enough)."""
    return float(math.remainder(angle, 2 * math.pi))
