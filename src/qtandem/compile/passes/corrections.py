"""Coherent-error corrections as a pass: :class:`CoherentCorrections`.

The pass runs :func:`qtandem.compile.correct.correct_for_device` for one device: faulty ``sx``/``x``
over-rotations resynthesized away, two-qubit over-rotations cancelled in pairs, virtual-Z frames
against detuning, ZZ echoes where they help; every result proven (faulty gates on the output equal
ideal gates on the input). Run it last, on a circuit already in the device's native gates and
layout (:func:`qtandem.compile.optimize` with ``corrections=`` does that). It needs the whole circuit
(the idle times depend on every gate), so call :meth:`CoherentCorrections.run` directly rather than
inside a :class:`~qtandem.compile.PassManager`, which runs passes on the stretches between
measurements.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.preset("line_5")
    >>> dev.qubits[0].x_angle_error = 0.03
    >>> fix = CoherentCorrections(dev)
    >>> fix.run(Circuit(1).x(0).x(0).x(0)).count_ops()
    {'sx': 2}
    >>> fix.report_.verified, fix.report_.coherent_infidelity_after < 1e-12
    ('exact', True)
    >>> fix.run(Circuit(1).x(0)).count_ops()   # 0.03 rad costs less than the pulses of an exact x
    {'x': 1}
    >>> fix.report_.kept_input
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.circuit.instruction import Instruction
from qtandem.compile.dag import normalize_angle
from qtandem.compile.passes.resynth_1q import map_instruction_runs
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.synth1q import matrix_1q, zxz
from qtandem.errors import CompileError

if TYPE_CHECKING:
    from qtandem.compile.correct import CoherentModel, CorrectionReport

__all__ = ["CoherentCorrections"]

RUN_GATES = frozenset({"rz", "sx", "x"})
"""Gates of a one-qubit run (resynthesized from faulty pulses)."""
_FLIPPABLE = frozenset({"cx", "cz"})
_PAULI = {"I": np.eye(2, dtype=complex), "X": np.array([[0, 1], [1, 0]], dtype=complex),
          "Y": np.array([[0, -1j], [1j, 0]], dtype=complex), "Z": np.diag([1.0, -1.0]).astype(complex)}


class CoherentCorrections:
    """Cancel a device's learned or calibrated coherent errors (see the module docstring).

    Args:
        device: a :class:`~qtandem.device.Device` (or a calibration's device) with coherent-error fields.
        echo: try ZZ echoes in long idle windows (kept only where they lower the coherent infidelity).
        echo_min: shortest idle window worth an echo (device time unit, ns).
        verify: prove every result (default; ``False`` only for benchmarks that verify separately).

    Attributes:
        report_: the :class:`~qtandem.compile.correct.CorrectionReport` of the last :meth:`run`.

    Examples:
        >>> from qtandem.device import Device
        >>> CoherentCorrections(Device.preset("line_5")).name
        'coherent_corrections'
    """

    name = "coherent_corrections"

    def __init__(self, device: Any, *, echo: bool = True, echo_min: float = 200.0, verify: bool = True) -> None:
        self.device = device
        self.echo = echo
        self.echo_min = echo_min
        self.verify = verify
        self.report_: Any = None

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """The corrected circuit; the report goes to :attr:`report_` (and ``props["corrections"]``)."""
        from qtandem.compile.correct import correct_for_device

        out, self.report_ = correct_for_device(circuit, self.device, echo=self.echo, echo_min=self.echo_min,
                                               verify=self.verify)
        if props is not None:
            props["corrections"] = self.report_
        return out

    def __repr__(self) -> str:
        return f"CoherentCorrections({getattr(self.device, 'name', self.device)!r})"


# -- one-qubit runs from faulty pulses -------------------------------------------------------------
def _reach(a1: float, a2: float) -> tuple[float, float]:
    """Bloch tilts reachable by ``rx(a1) rz(b) rx(a2)`` over ``b``."""
    a1, a2 = abs(normalize_angle(a1)), abs(normalize_angle(a2))
    return abs(a1 - a2), min(a1 + a2, 2 * math.pi - a1 - a2)


def _solve2(u: np.ndarray, a1: float, a2: float) -> tuple[float, float, float] | None:
    """``(p, b, q)`` with ``u ~ rz(p) rx(a1) rz(b) rx(a2) rz(q)``, or None when out of reach."""
    phi, theta, lam = zxz(u)
    den = math.sin(a1) * math.sin(a2)
    if abs(den) < 1e-12:
        return None
    cb = (math.cos(a1) * math.cos(a2) - math.cos(theta)) / den
    if abs(cb) > 1 + 1e-9:
        return None
    b = math.acos(max(-1.0, min(1.0, cb)))
    v = matrix_1q("rx", a1) @ matrix_1q("rz", b) @ matrix_1q("rx", a2)
    p1, _, q1 = zxz(v)
    return phi - p1, b, lam - q1


def close_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    overlap = abs(np.trace(a.conj().T @ b)) / 2
    return bool(1 - overlap < 1e-11)


def ops_matrix(ops: list[tuple[str, float]], model: CoherentModel, q: int, *, faulty: bool) -> np.ndarray:
    m = np.eye(2, dtype=complex)
    for name, angle in ops:
        if name == "rz":
            g = matrix_1q("rz", angle)
        elif name == "sx":
            g = matrix_1q("rx", math.pi / 2 + (model.sx[q] if faulty else 0.0))
        else:
            g = matrix_1q("rx", math.pi + (model.x[q] if faulty else 0.0))
        m = g @ m
    return m


def synth_faulty_1q(u: np.ndarray, q: int, model: CoherentModel) -> list[tuple[str, float]]:
    """A run of ``rz`` and ``sx`` (in circuit order) whose product with qubit ``q``'s faulty ``sx`` is ``u``
    (up to phase).

    Raises:
        CompileError: no exact solution (never expected; the solution is checked).

    Examples:
        >>> from qtandem.compile.correct import CoherentModel
        >>> from qtandem.device import Device
        >>> model = CoherentModel.of(Device.preset("line_5"))
        >>> model.sx[0] = 0.03
        >>> [name for name, _ in synth_faulty_1q(matrix_1q("x"), 0, model)]
        ['rz', 'sx', 'rz', 'sx', 'rz', 'sx', 'rz']
    """
    a = math.pi / 2 + model.sx[q]
    phi, theta, lam = zxz(u)
    if theta < 1e-12:
        ops: list[tuple[str, float]] = [("rz", phi + lam)]
    else:
        ops = []
        lo, hi = _reach(a, a)
        sol2 = _solve2(u, a, a) if lo - 1e-12 <= theta <= hi + 1e-12 else None
        if sol2 is not None:
            p, b, qq = sol2
            ops = [("rz", qq), ("sx", 0.0), ("rz", b), ("sx", 0.0), ("rz", p)]
        else:
            ops = _three(u, a)
    ops = [(n, normalize_angle(t)) for n, t in ops]
    if not close_up_to_phase(ops_matrix(ops, model, q, faulty=True), u):
        raise CompileError(f"no exact run of faulty sx pulses found on qubit {q} (sx error {model.sx[q]:.3g})")
    return [(n, t) for n, t in ops if n != "rz" or abs(t) > 1e-12]


def _three(u: np.ndarray, a: float) -> list[tuple[str, float]]:
    lo, hi = _reach(a, a)
    best = None
    for p in np.linspace(-math.pi, math.pi, 145):
        w = matrix_1q("rx", -a) @ matrix_1q("rz", -float(p)) @ u  # u = rz(p) rx(a) w
        gap = abs(zxz(w)[1] - (lo + hi) / 2)
        if best is None or gap < best[0]:
            best = (gap, float(p), w)
    assert best is not None
    sol = _solve2(best[2], a, a)
    if sol is None:
        raise CompileError("no exact three-pulse run found")
    p2, b, q2 = sol  # w = rz(p2) rx(a) rz(b) rx(a) rz(q2)
    return [("rz", q2), ("sx", 0.0), ("rz", b), ("sx", 0.0), ("rz", p2), ("sx", 0.0), ("rz", best[1])]


# -- two-qubit errors: follow them, cancel them in pairs ---------------------------------------------
def _conj_1q(u: np.ndarray, p: str) -> tuple[str, float] | None:
    m = u @ _PAULI[p] @ u.conj().T
    for name in "XYZ":
        c = np.trace(_PAULI[name] @ m) / 2
        if abs(abs(c) - 1) < 1e-9:
            return name, float(c.real)
    return None


def _conj_2q(g: np.ndarray, pa: str, pb: str) -> tuple[str, str, float] | None:
    m = g @ np.kron(_PAULI[pb], _PAULI[pa]) @ g.conj().T
    for na in "IXYZ":
        for nb in "IXYZ":
            c = np.trace(np.kron(_PAULI[nb], _PAULI[na]) @ m) / 4
            if abs(abs(c) - 1) < 1e-9:
                return na, nb, float(c.real)
    return None


@dataclass
class _Error:
    pauli: dict[int, str]
    angle: float
    origin: int
    tainted: bool = False  # a stuck error it may not commute with lies after its start: it cannot pair


def _commute(a: dict[int, str], b: dict[int, str]) -> bool:
    """Do two Pauli strings commute (an even number of qubits where they differ, neither being I)?"""
    return sum(1 for q, p in a.items() if q in b and b[q] != p) % 2 == 0


def pair_two_qubit_errors(circuit: Circuit, model: CoherentModel) -> tuple[set[int], list[int], int]:
    """Which two-qubit gates to flip, which keep their error (input indices), and how many pairs cancel."""
    flips: set[int] = set()
    stuck: list[int] = []
    pairs = 0
    open_: list[_Error] = []
    runs: dict[int, np.ndarray] = {}

    def stick(err: _Error, support: set[int]) -> None:
        open_.remove(err)
        stuck.append(err.origin)
        for other in open_:  # it stays here: an open error that overlaps it may no longer commute with it
            if set(other.pauli) & support:
                other.tainted = True

    def flush(q: int) -> None:
        u = runs.pop(q, None)
        if u is None:
            return
        for err in list(open_):
            if q in err.pauli:
                r = _conj_1q(u, err.pauli[q])
                if r is None:
                    stick(err, set(err.pauli))
                else:
                    err.pauli[q] = r[0]
                    err.angle *= r[1]

    for idx, inst in enumerate(circuit):
        qs = inst.qubits
        if inst.is_gate and inst.condition is None and inst.name in RUN_GATES:
            m = matrix_1q(inst.name, None, inst.params) if inst.params else matrix_1q(inst.name)
            runs[qs[0]] = m @ runs.get(qs[0], np.eye(2, dtype=complex))
            continue
        for q in qs:
            flush(q)
        if inst.name in ("barrier", "delay", "id"):
            continue
        if not (inst.is_gate and inst.condition is None and len(qs) == 2):
            for err in list(open_):  # a measurement, reset or conditioned gate: the error stays here
                if err in open_ and set(err.pauli) & set(qs):
                    stick(err, set(err.pauli) | set(qs))
            continue
        g = gate_matrix(inst.name, [float(p) for p in inst.params]).numpy()  # type: ignore[arg-type]
        for err in list(open_):
            if not set(err.pauli) & set(qs):
                continue
            if err not in open_:
                continue
            r2 = _conj_2q(g, err.pauli.get(qs[0], "I"), err.pauli.get(qs[1], "I"))
            if r2 is None:
                stick(err, set(err.pauli) | set(qs))
                continue
            for q, p in zip(qs, r2[:2], strict=True):
                if p == "I":
                    err.pauli.pop(q, None)
                else:
                    err.pauli[q] = p
            err.angle *= r2[2]
        e = model.edge_error(qs)
        if not e:
            continue
        mine = {qs[0]: "Z", qs[1]: "X"}
        match = next((err for k, err in enumerate(open_) if err.pauli == mine and abs(abs(err.angle) - abs(e)) < 1e-12
                      and not err.tainted and (err.angle * e < 0 or inst.name in _FLIPPABLE)
                      and all(_commute(err.pauli, later.pauli) for later in open_[k + 1:])), None)
        if match is None:
            open_.append(_Error(mine, e, idx))
            continue
        open_.remove(match)
        pairs += 1
        if match.angle * e > 0:
            flips.add(idx)
    stuck.extend(err.origin for err in open_)
    return flips, sorted(stuck), pairs



DENSE_MAX_QUBITS = 8
"""Widest circuit (active qubits) whose two-qubit errors are followed as dense generators."""


def pair_two_qubit_errors_dense(circuit: Circuit, model: CoherentModel) -> tuple[set[int], list[int], int] | None:
    """Pair two-qubit over-rotations in the interaction picture: exact through any gate.

    The faulty circuit is ``E_m ... E_1 U`` with ``E_k = exp(-i s_k e_k/2 H_k)``, ``H_k = W_k G_k W_k^dagger``
    (``G_k = Z_c X_t`` of gate ``k``, ``W_k`` the ideal gates after it up to the end of its measurement-free
    stretch). Two errors with ``H_j = +-H_i`` and equal ``|e|`` cancel exactly when everything between
    them in that product cancels or commutes with ``H_i``: nested pairs (a mirror circuit's), or open
    errors that commute. ``s_j`` is chosen (``-1``: the gate runs frame-flipped) so that the pair cancels.
    Returns None past :data:`DENSE_MAX_QUBITS` active qubits (then :func:`pair_two_qubit_errors` alone).
    """
    from qtandem.sim.core import numeric_ops, resolve_params
    from qtandem.sim.dense import dense_unitary

    wires = sorted({q for inst in circuit if inst.name not in ("barrier", "delay") for q in inst.qubits})
    if len(wires) > DENSE_MAX_QUBITS:
        return None
    pos = {w: i for i, w in enumerate(wires)}
    n = max(1, len(wires))

    def unitary(insts: list[Instruction]) -> np.ndarray:
        small = Circuit(n)
        for inst in insts:
            small.append(inst.replace(qubits=tuple(pos[q] for q in inst.qubits)))
        return dense_unitary(numeric_ops(list(small), resolve_params(small, None)), n)

    flips: set[int] = set()
    stuck: list[int] = []
    pairs = 0
    segment: list[tuple[int, Instruction]] = []

    def close() -> None:
        nonlocal pairs
        errs = [k for k, (_, inst) in enumerate(segment) if len(inst.qubits) == 2 and model.edge_error(inst.qubits)]
        gens: dict[int, np.ndarray] = {}
        w = np.eye(2**n, dtype=complex)
        stop = len(segment)
        for k in reversed(errs):  # W_k = (gates after k) ; H_k = W_k G_k W_k^dagger
            w = w @ unitary([inst for _, inst in segment[k + 1:stop]])
            stop = k + 1
            c, t = segment[k][1].qubits
            g = unitary([Instruction("z", (c,)), Instruction("x", (t,))])
            gens[k] = w @ g @ w.conj().T
        open_: list[tuple[int, float]] = []  # (segment index, signed effective angle)
        for k in errs:
            idx, inst = segment[k]
            e = model.edge_error(inst.qubits)
            chosen = None
            for pos_open in range(len(open_) - 1, -1, -1):
                i, a = open_[pos_open]
                if abs(abs(a) - abs(e)) > 1e-12:
                    continue
                for sigma in (1.0, -1.0):
                    if np.abs(gens[i] - sigma * gens[k]).max() > 1e-9:
                        continue
                    s = -a * sigma / e  # s e H_k = -a H_i
                    if s < 0 and inst.name not in _FLIPPABLE:
                        continue
                    inner = [gens[j] for j, _ in open_[pos_open + 1:]]
                    if all(np.abs(gens[i] @ h - h @ gens[i]).max() < 1e-9 for h in inner):
                        chosen = (pos_open, s)
                    break
                if chosen is not None:
                    break
            if chosen is None:
                open_.append((k, e))
                continue
            del open_[chosen[0]]
            pairs += 1
            if chosen[1] < 0:
                flips.add(idx)
        left = [k for k, _ in open_]
        stuck.extend(segment[k][0] for k in left)
        flips.update(segment[k][0] for k in _signs([k for k in left if segment[k][1].name in _FLIPPABLE],
                                                   [k for k in left if segment[k][1].name not in _FLIPPABLE],
                                                   gens, {k: model.edge_error(segment[k][1].qubits) for k in left}))
        segment.clear()

    for idx, inst in enumerate(circuit):
        if inst.name in ("barrier", "delay"):
            continue
        if inst.is_gate and inst.condition is None and len(inst.qubits) <= 2:
            segment.append((idx, inst))
        else:
            close()
    close()
    return flips, sorted(stuck), pairs


def _signs(free: list[int], fixed: list[int], gens: dict[int, np.ndarray], angle: dict[int, float]) -> list[int]:
    """Which of the ``free`` leftover errors to flip so that the summed generator ``sum_k s_k e_k H_k`` (the
    first-order error of the whole stretch) is smallest in Frobenius norm; greedy single flips from all ``+``."""
    if not free:
        return []
    keys = free + fixed
    vecs = np.array([angle[k] * gens[k].reshape(-1) for k in keys])
    gram = np.real(vecs.conj() @ vecs.T)
    sign = np.ones(len(keys))
    while True:
        field_ = gram @ sign
        gain = [4 * sign[i] * field_[i] - 4 * gram[i, i] for i in range(len(free))]  # norm drop if i flips
        i = int(np.argmax(gain))
        if gain[i] <= 1e-12 * max(1.0, float(np.trace(gram))):
            break
        sign[i] = -sign[i]
    return [k for k, sgn in zip(free, sign, strict=False) if sgn < 0]


def flip_gates(circuit: Circuit, flips: set[int]) -> Circuit:
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    for i, inst in enumerate(circuit):
        if i not in flips:
            out.append(inst)
            continue
        c, t = inst.qubits
        out.rz(math.pi, t).append(inst)
        out.rz(math.pi, t)
        if inst.name == "cx":  # rz(pi)_t cx rz(pi)_t = rz(pi)_c cx (up to phase)
            out.rz(math.pi, c)
    return out


def resynthesize(circuit: Circuit, model: CoherentModel, report: CorrectionReport) -> Circuit:
    def rebuilt(q: int, run: list[Instruction]) -> list[Instruction]:
        u = np.eye(2, dtype=complex)
        ops = []
        for inst in run:
            ops.append((inst.name, float(inst.params[0]) if inst.params else 0.0))  # type: ignore[arg-type]
            u = matrix_1q(inst.name, None, inst.params) @ u if inst.params else matrix_1q(inst.name) @ u
        keep = close_up_to_phase(ops_matrix(ops, model, q, faulty=True), u)
        new = synth_faulty_1q(u, q, model)
        if keep and sum(n != "rz" for n, _ in ops) <= sum(n != "rz" for n, _ in new):
            new = ops  # already exact (no error on these pulses) and no longer
        else:
            report.runs += 1
        return [Instruction("rz", (q,), (angle,)) if name == "rz" else Instruction(name, (q,)) for name, angle in new]

    return map_instruction_runs(
        circuit, lambda inst: inst.is_gate and inst.condition is None and inst.name in RUN_GATES, rebuilt)
