"""Commutation-aware merging of arbitrary rotations: :class:`RotationMerge`.

Every gate that is a Pauli rotation (:func:`~qtandem.compile.commutation.rotation_of`:
``rz``, ``p``, ``t``, ``s``... about ``Z``; ``rx``, ``x``, ``sx`` about ``X``; ``ry``;
``rzz``, ``rxx``, ``ryy``; ``u`` of those shapes) walks forward along its wires past
every gate its Pauli string commutes with (:func:`~qtandem.compile.commutation.commutes_with`:
``rz`` through ``cx`` controls and ``cz``, ``sx`` through ``cx`` targets, ``rzz``
through ``rxx`` and through ``cx`` controls on both qubits...). When it meets a rotation
about the same string on the same qubits on every wire, the two become one rotation
by the sum of the angles (Nam et al. 2018's rotation merging, for any angle and any
Pauli axis); a sum that is a multiple of 2*pi removes both, as does a lone zero rotation.

The merged gate keeps the kind of the continuous one (``rz`` stays ``rz``, ``p``
stays ``p``, a ``u`` stays ``u``), so the basis does not change; two fixed gates
(``sx sx``, ``t s``) merge only when the sum is a single gate of the allowed set
(the basis in ``props["basis"]``, else the circuit's own gates), e.g. ``sx sx -> x``.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).rz(0.3, 0).cx(0, 1).sx(1).cx(0, 1).rz(0.2, 0).sx(1)
    >>> RotationMerge().run(c, {"basis": "ibm"}).count_ops()   # rz through controls, sx through targets
    {'cx': 2, 'rz': 1, 'x': 1}
"""

from __future__ import annotations

import math

from qtandem.circuit import Circuit
from qtandem.compile.commutation import commutes_with, rotation_of
from qtandem.compile.dag import Op, Wires, is_zero_angle, normalize_angle, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet

__all__ = ["FRAME_MAX_QUBITS", "RotationMerge", "merge_in_frame", "merge_rotations"]

_CONTINUOUS = frozenset({"rz", "p", "u1", "rx", "ry", "rzz", "rxx", "ryy", "u", "u3"})
_FIXED_BY_AXIS = {
    "Z": {math.pi: "z", math.pi / 2: "s", -math.pi / 2: "sdg", math.pi / 4: "t", -math.pi / 4: "tdg"},
    "X": {math.pi: "x", math.pi / 2: "sx", -math.pi / 2: "sxdg"},
    "Y": {math.pi: "y"},
}


def _fixed_gate(axis: str, theta: float, allowed: frozenset[str]) -> str | None:
    for angle, name in _FIXED_BY_AXIS.get(axis, {}).items():
        if name in allowed and abs(math.remainder(theta - angle, 2 * math.pi)) < 1e-9:
            return name
    return None


def _set_angle(op: Op, axis: str, theta: float) -> None:
    """Make the continuous rotation ``op`` rotate by ``theta`` about ``axis`` (its kind unchanged)."""
    if op.angle is not None:
        op.angle = theta
    elif op.name in ("u", "u3"):
        op.params = {"Z": (0.0, 0.0, theta), "X": (theta, -math.pi / 2, math.pi / 2), "Y": (theta, 0.0, 0.0)}[axis]
    else:
        op.params = (theta,)


def _aligned(a: Op, pa: str, b: Op, pb: str) -> bool:
    """True if ``b`` rotates about the same Pauli string as ``a`` on the same qubits."""
    return set(a.qubits) == set(b.qubits) and dict(zip(a.qubits, pa, strict=True)) == dict(
        zip(b.qubits, pb, strict=True))


def _reaches(op: Op, pauli: str, target: Op, qubit: int, limit: int) -> bool:
    cur = Wires.next(op, qubit)
    for _ in range(limit):
        if cur is None:
            return False
        if cur is target:
            return True
        if not commutes_with(op, pauli, cur):
            return False
        cur = Wires.next(cur, qubit)
    return False


def _merge_into(op: Op, axis: str, theta: float, cur: Op, cur_theta: float,
                allowed: frozenset[str]) -> bool | None:
    """Fold ``op`` into ``cur``; ``True``: merged, ``None``: both vanish, ``False``: not expressible."""
    total = normalize_angle(theta + cur_theta)
    if is_zero_angle(total):
        return None
    if cur.name in _CONTINUOUS:
        _set_angle(cur, axis, total)
        return True
    if op.name in _CONTINUOUS:  # cur takes op's kind
        cur.name, cur.angle, cur.params = op.name, op.angle, op.params
        _set_angle(cur, axis, total)
        return True
    name = _fixed_gate(axis, total, allowed)
    if name is None:
        return False
    cur.name = name
    return True


def merge_rotations(ops: list[Op], n_qubits: int, *, allowed: frozenset[str], limit: int = 64) -> int:
    """Merge rotations in place (see the module docstring); returns the number of ops removed.

    Examples:
        >>> from qtandem import Circuit
        >>> ops = to_ops(Circuit(2).rzz(0.25, 0, 1).cz(0, 1).rz(0.1, 0).rzz(0.5, 1, 0))
        >>> merge_rotations(ops, 2, allowed=frozenset())
        1
        >>> [(op.name, op.params) for op in ops if op.alive]
        [('cz', ()), ('rz', ()), ('rzz', (0.75,))]
    """
    w = Wires(ops, n_qubits)
    removed = 0
    for op in ops:
        if not op.alive:
            continue
        rot = rotation_of(op)
        if rot is None:
            continue
        pauli, theta = rot
        if op.name in _CONTINUOUS and is_zero_angle(theta):
            w.remove(op)
            removed += 1
            continue
        q0 = op.qubits[0]
        cur = Wires.next(op, q0)
        for _ in range(limit):
            if cur is None:
                break
            other = rotation_of(cur)
            if (other is not None and _aligned(op, pauli, cur, other[0])
                    and all(_reaches(op, pauli, cur, q, limit) for q in op.qubits[1:])):
                done = _merge_into(op, pauli[0], theta, cur, other[1], allowed)
                if done is not False:  # else walk on: rotations about one axis commute
                    w.remove(op)
                    removed += 1
                    if done is None:
                        w.remove(cur)
                        removed += 1
                    break
            if not commutes_with(op, pauli, cur):
                break
            cur = Wires.next(cur, q0)
    return removed


FRAME_MAX_QUBITS = 12
"""Widest circuit (qubits carrying gates) that :class:`RotationMerge` merges in the Clifford frame by default."""

_CLIFFORD = {"h": "h", "s": "s", "sdg": "s_dag", "z": "z", "x": "x", "y": "y", "sx": "sqrt_x", "sxdg": "sqrt_x_dag",
             "cx": "cx", "cz": "cz", "cy": "cy", "swap": "swap", "id": None}
_QUARTER = {"Z": ("s", "z", "s_dag"), "X": ("sqrt_x", "x", "sqrt_x_dag"), "Y": ("sqrt_y", "y", "sqrt_y_dag")}
_AXIS_GATE = {"Z": "rz", "X": "rx", "Y": "ry"}


def _clifford_steps(op: Op, rot: tuple[str, float] | None) -> list[tuple[str, tuple[int, ...]]] | None:
    """Tableau-simulator calls for a Clifford ``op``; ``None`` if it is not one (or not known as one)."""
    if op.opaque:
        return None
    if op.name in _CLIFFORD:
        method = _CLIFFORD[op.name]
        return [] if method is None else [(method, op.qubits)]
    if rot is None:
        return None
    k = rot[1] / (math.pi / 2)
    if abs(k - round(k)) > 1e-9:
        return None
    k = round(k) % 4
    if k == 0:
        return []
    if len(rot[0]) == 1:
        return [(_QUARTER[rot[0]][k - 1], op.qubits)]
    return [(_QUARTER[a][1], (q,)) for a, q in zip(rot[0], op.qubits, strict=True)] if k == 2 else None


def _frame_merge(keep: Op, axis: str, theta: float, add: float, allowed: frozenset[str]) -> bool | None:
    """Add ``add`` to the rotation ``keep`` (about ``axis`` by ``theta``); as :func:`_merge_into`."""
    total = normalize_angle(theta + add)
    if is_zero_angle(total):
        return None
    if keep.name in _CONTINUOUS:
        _set_angle(keep, axis[0], total)
        return True
    if len(axis) == 1:
        name = _fixed_gate(axis, total, allowed)
        if name is None and _AXIS_GATE[axis] in allowed:
            keep.name, keep.angle, keep.params = _AXIS_GATE[axis], total, ()
            return True
        if name is not None:
            keep.name = name
            return True
    return False


def merge_in_frame(ops: list[Op], n_qubits: int, *, allowed: frozenset[str], limit: int = 64) -> int:
    """Merge rotations whose Pauli strings agree after moving every Clifford gate to the end.

    A rotation about ``P`` after a Clifford prefix ``C`` equals ``C`` after a rotation about
    ``C^dagger P C``; so with all Clifford gates pushed to the end the circuit is a list of
    rotations about input-frame Pauli strings, and a rotation merges into an earlier one about
    the same string (up to sign) when every rotation between commutes with it (Zhang and Chen
    2019's T-merging, for any angle). This reaches past ``h``, ``s`` and ``sx``, unlike the wire
    walk. The kept (earlier) gate takes the summed angle; the Clifford gates are untouched. Any
    other gate ends the frame (nothing merges across it). Returns the number of ops removed.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).h(1).rz(0.3, 1).h(1).cx(0, 1).rx(0.2, 1)     # both rotate about X1
        >>> ops = to_ops(c)
        >>> merge_in_frame(ops, 2, allowed=frozenset({"rz", "rx"}))
        1
        >>> [(op.name, op.angle) for op in ops if op.alive]
        [('h', None), ('rz', 0.5), ('h', None), ('cx', None)]
    """
    import stim

    sim = stim.TableauSimulator()
    sim.set_num_qubits(max(n_qubits, 1))
    seen: list[tuple[Op, str, stim.PauliString]] = []  # rotations in input-frame order
    removed = 0
    for op in ops:
        if not op.alive:
            continue
        rot = rotation_of(op)
        steps = _clifford_steps(op, rot)
        if steps is not None:
            for method, qubits in steps:
                getattr(sim, method)(*qubits)
            continue
        if rot is None:  # an unknown gate: start a new frame
            sim = stim.TableauSimulator()
            sim.set_num_qubits(max(n_qubits, 1))
            seen = []
            continue
        pauli, theta = rot
        local = stim.PauliString(n_qubits)
        for q, a in zip(op.qubits, pauli, strict=True):
            local[q] = a
        image = sim.current_inverse_tableau()(local)
        merged = False
        for k in range(len(seen) - 1, max(len(seen) - 1 - limit, -1), -1):
            other, other_axis, other_image = seen[k]
            if not other.alive:
                continue
            if other_image.commutes(image):
                same = other_image * image
                if same.weight == 0:  # equal up to sign
                    sign = (other_image.sign * image.sign).real
                    other_theta = rotation_of(other)[1]  # type: ignore[index]
                    done = _frame_merge(other, other_axis, other_theta, theta * sign, allowed)
                    if done is False:
                        continue
                    op.alive = False
                    removed += 1
                    if done is None:
                        other.alive = False
                        removed += 1
                    merged = True
                    break
                continue
            break
        if not merged:
            seen.append((op, pauli, image))
    return removed


class RotationMerge:
    """Merge Pauli rotations across the gates they commute with (see the module docstring).

    Args:
        limit: how many gates one walk may step over (keeps the pass linear).
        repeat: sweeps until nothing changes, at most this many.
        frame: also merge in the Clifford frame (:func:`merge_in_frame`), past ``h``, ``s``, ``sx``...;
            ``None``: only when at most :data:`FRAME_MAX_QUBITS` qubits carry gates (such merges are
            right by construction, but :func:`~qtandem.compile.verify.verify_equivalent` proves wide
            ones only by path sums, which merges across ``h`` often leave inconclusive). Off by
            default: in the presets it helped level 2 (Nam's mod5_4: T 16 -> 8) but not level 3,
            whose other variants reach the same T count and whose search then did worse from it.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(3).rx(0.5, 1).cx(0, 1).rxx(0.2, 1, 2).cx(2, 1).rx(-0.5, 1)
        >>> RotationMerge().run(c).count_ops()            # rx(0.5) and rx(-0.5) meet past two cx targets and rxx
        {'cx': 2, 'rxx': 1}
    """

    name = "rotation_merge"

    def __init__(self, *, limit: int = 64, repeat: int = 4, frame: bool | None = False) -> None:
        self.limit = limit
        self.repeat = repeat
        self.frame = frame

    def run(self, circuit: Circuit, props: PropertySet | dict | None = None) -> Circuit:
        """Return the circuit with rotations merged."""
        allowed = _allowed(circuit, props)
        ops = to_ops(circuit)
        frame = self.frame
        if frame is None:
            frame = len({q for op in ops for q in op.qubits}) <= FRAME_MAX_QUBITS
        changed = False
        for _ in range(self.repeat):
            removed = merge_rotations(ops, circuit.n_qubits, allowed=allowed, limit=self.limit)
            if frame:
                ops = [op for op in ops if op.alive]
                removed += merge_in_frame(ops, circuit.n_qubits, allowed=allowed, limit=self.limit)
            if removed == 0:
                break
            changed = True
            ops = [op for op in ops if op.alive]
        return to_circuit(ops, circuit) if changed else circuit


def _allowed(circuit: Circuit, props: PropertySet | dict | None) -> frozenset[str]:
    from qtandem.compile.passes.basis import BASES

    basis = None if props is None else props.get("basis")
    if isinstance(basis, str) and basis in BASES:
        return BASES[basis]
    return frozenset(i.name for i in circuit if i.is_gate)
