"""Pass-time gate lists: :class:`Op` records linked per qubit wire.

This is an internal structure, not a second circuit class: passes convert a
:class:`~qtandem.Circuit` with :func:`to_ops`, edit the ops in place (delete,
rename, change an angle, swap control and target) and convert back with
:func:`to_circuit`. Because no pass moves an op, the surviving ops in their
original order are always a valid gate order. :class:`Wires` links each op to
its neighbours on every qubit so a pass walks a wire in O(1) per step.

Examples:
    >>> from qtandem import Circuit
    >>> ops = to_ops(Circuit(2).h(0).cx(0, 1).rz(0.5, 1))
    >>> w = Wires(ops, 2)
    >>> w.next(ops[0], 0).name, w.next(ops[1], 1).name
    ('cx', 'rz')
    >>> w.remove(ops[1])
    >>> to_circuit(ops, Circuit(2)).count_ops()
    {'h': 1, 'rz': 1}
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qtandem.circuit import Circuit
from qtandem.circuit.instruction import Instruction

__all__ = [
    "DIAGONAL",
    "PHASE_ANGLE",
    "Op",
    "Wires",
    "commutes",
    "is_zero_angle",
    "normalize_angle",
    "splice",
    "to_circuit",
    "to_ops",
    "wire_type",
]

TWO_PI = 2.0 * math.pi
EPS = 1e-9

DIAGONAL = frozenset({"id", "z", "s", "sdg", "t", "tdg", "rz", "p", "u1", "cz", "crz", "cp", "ccz", "rzz"})
"""Gates diagonal in the computational basis on every qubit."""

PHASE_ANGLE = {"z": math.pi, "s": math.pi / 2, "sdg": -math.pi / 2, "t": math.pi / 4, "tdg": -math.pi / 4}
"""Fixed one-qubit phase gates as ``rz`` angles (equal up to global phase)."""

ROTATIONS = frozenset({"rz", "p", "u1", "rx", "ry"})
"""One-angle one-qubit rotations that merge by adding angles."""

_X_TYPE_1Q = frozenset({"x", "rx", "sx", "sxdg"})
_CONTROLLED_X = frozenset({"cx", "ccx", "mcx"})
_CONTROLLED_OTHER = frozenset({"cy", "ch", "csx", "crx", "cry", "cu", "cu3", "cswap", "c3sqrtx"})


class Op:
    """One gate (or an opaque instruction) in a pass-time list.

    Attributes:
        name: gate name from the registry.
        qubits: qubit indices (controls first).
        angle: the angle of a one-angle rotation (``rz``, ``p``, ``u1``, ``rx``,
            ``ry``), else ``None``.
        params: the other angles, unchanged from the instruction.
        inst: the original instruction when the op is opaque (symbolic angles,
            ``unitary`` matrices, modifiers, conditions, non-unitary ops).
        alive: ``False`` once a pass deleted it.

    Examples:
        >>> op = to_ops(Circuit(1).rz(0.5, 0))[0]
        >>> op.name, op.qubits, op.angle, op.alive
        ('rz', (0,), 0.5, True)
    """

    __slots__ = ("alive", "angle", "inst", "name", "nxt", "params", "prv", "qubits")

    def __init__(self, name: str, qubits: tuple[int, ...], angle: float | None = None,
                 params: tuple = (), inst: Instruction | None = None) -> None:
        self.name = name
        self.qubits = qubits
        self.angle = angle
        self.params = params
        self.inst = inst
        self.alive = True
        self.nxt: list[Op | None] = [None] * len(qubits)
        self.prv: list[Op | None] = [None] * len(qubits)

    @property
    def opaque(self) -> bool:
        """True when passes must leave the op exactly as it is."""
        return self.inst is not None

    def instruction(self) -> Instruction:
        """The op as an :class:`Instruction`."""
        if self.inst is not None:
            return self.inst
        params = (self.angle,) if self.angle is not None else self.params
        return Instruction(self.name, self.qubits, params)

    def __repr__(self) -> str:
        a = "" if self.angle is None else f"({self.angle:.4g})"
        return f"Op({self.name}{a} {list(self.qubits)}{'' if self.alive else ' dead'})"


def to_ops(circuit: Circuit | Sequence[Instruction]) -> list[Op]:
    """Convert instructions to ops (symbolic, conditioned or non-gate ones are opaque).

    Examples:
        >>> from qtandem import Parameter
        >>> ops = to_ops(Circuit(1).rx(0.25, 0).rx(Parameter("t"), 0))
        >>> [(op.name, op.angle, op.inst is not None) for op in ops]    # the symbolic one is opaque
        [('rx', 0.25, False), ('rx', None, True)]
    """
    out: list[Op] = []
    for inst in circuit:
        opaque = (not inst.is_gate or inst.condition is not None or inst.ctrl or inst.inverted
                  or inst.matrix is not None or inst.is_parametrized or inst.name == "unitary")
        if opaque:
            out.append(Op(inst.name, inst.qubits, None, inst.params, inst))
        elif inst.name in ROTATIONS:
            out.append(Op(inst.name, inst.qubits, float(inst.params[0])))  # type: ignore[arg-type]
        else:
            out.append(Op(inst.name, inst.qubits, None, inst.params))
    return out


def to_circuit(ops: Sequence[Op], like: Circuit) -> Circuit:
    """The live ops as a circuit with ``like``'s size, name and registers.

    Examples:
        >>> ops = to_ops(Circuit(2, name="demo").h(0).h(0).cx(0, 1))
        >>> ops[0].alive = ops[1].alive = False          # a pass deleted the h pair
        >>> out = to_circuit(ops, Circuit(2, name="demo"))
        >>> out.name, out.count_ops()
        ('demo', {'cx': 1})
    """
    out = Circuit(like.n_qubits, like.n_clbits, name=like.name, qregs=like.qregs, cregs=like.cregs)
    for op in ops:
        if op.alive:
            out.append(op.instruction())
    return out


def splice(ops: Sequence[Op], after: dict[int, list[Op]], like: Circuit) -> Circuit:
    """The live ops as a circuit (:func:`to_circuit`), with ``after[i]`` inserted right after position ``i``.

    The block-resynthesis passes mark a block's ops dead and put its replacement after the block's last op.

    Examples:
        >>> ops = to_ops(Circuit(2).h(0).h(0).cx(0, 1))
        >>> ops[0].alive = ops[1].alive = False
        >>> splice(ops, {1: [Op("x", (0,))]}, Circuit(2)).count_ops()
        {'x': 1, 'cx': 1}
    """
    out: list[Op] = []
    for i, op in enumerate(ops):
        if op.alive:
            out.append(op)
        out.extend(after.get(i, []))
    return to_circuit(out, like)


def normalize_angle(theta: float) -> float:
    """Angle reduced into ``(-pi, pi]`` (a multiple of 2*pi is a global phase for every rotation).

    Examples:
        >>> import math
        >>> round(normalize_angle(3 * math.pi / 2), 6) == round(-math.pi / 2, 6)
        True
        >>> normalize_angle(-math.pi) == math.pi
        True
    """
    t = math.fmod(theta, TWO_PI)
    if t <= -math.pi:
        t += TWO_PI
    elif t > math.pi:
        t -= TWO_PI
    return t


def is_zero_angle(theta: float, tol: float = EPS) -> bool:
    """True when ``theta`` is a multiple of 2*pi (within ``tol``).

    Examples:
        >>> import math
        >>> is_zero_angle(4 * math.pi), is_zero_angle(math.pi)
        (True, False)
    """
    return abs(normalize_angle(theta)) < tol


def wire_type(op: Op, qubit: int) -> str | None:
    """``"Z"`` if ``op`` is diagonal on ``qubit``, ``"X"`` if diagonal in the X basis there, else ``None``.

    Two gates commute when every qubit they share has the same non-``None`` type.

    Examples:
        >>> cx = to_ops(Circuit(2).cx(0, 1))[0]
        >>> wire_type(cx, 0), wire_type(cx, 1)               # Z-type on the control, X-type on the target
        ('Z', 'X')
    """
    if op.opaque:
        return None
    name = op.name
    if name in DIAGONAL:
        return "Z"
    if name in _X_TYPE_1Q:
        return "X"
    if name in _CONTROLLED_X:
        return "X" if qubit == op.qubits[-1] else "Z"
    if name in _CONTROLLED_OTHER and qubit == op.qubits[0]:
        return "Z"
    if name in {"crx", "rxx"}:
        return "X"
    return None


def commutes(a: Op, b: Op) -> bool:
    """Sufficient test that ``a`` and ``b`` commute (per-qubit basis types).

    Examples:
        >>> rz, cx, h = to_ops(Circuit(2).rz(0.5, 0).cx(0, 1).h(0))
        >>> commutes(rz, cx), commutes(h, cx)            # rz on the control commutes; h does not
        (True, False)
    """
    for q in a.qubits:
        if q in b.qubits:
            ta = wire_type(a, q)
            if ta is None or ta != wire_type(b, q):
                return False
    return True


class Wires:
    """Per-qubit doubly linked lists over ``ops`` (in list order).

    Args:
        ops: the ops; their ``nxt``/``prv`` links are (re)built.
        n_qubits: number of qubits.

    Examples:
        >>> ops = to_ops(Circuit(2).h(0).cx(0, 1).x(0))
        >>> wires = Wires(ops, 2)
        >>> wires.next(ops[1], 0).name, wires.next(ops[1], 1) is None
        ('x', True)
    """

    def __init__(self, ops: Sequence[Op], n_qubits: int) -> None:
        self.first: list[Op | None] = [None] * n_qubits
        last: list[Op | None] = [None] * n_qubits
        for op in ops:
            if not op.alive:
                continue
            for k, q in enumerate(op.qubits):
                p = last[q]
                op.prv[k] = p
                op.nxt[k] = None
                if p is None:
                    self.first[q] = op
                else:
                    p.nxt[p.qubits.index(q)] = op
                last[q] = op

    @staticmethod
    def next(op: Op, qubit: int) -> Op | None:
        """The next live op on ``qubit`` after ``op``."""
        return op.nxt[op.qubits.index(qubit)]

    @staticmethod
    def prev(op: Op, qubit: int) -> Op | None:
        """The previous live op on ``qubit`` before ``op``."""
        return op.prv[op.qubits.index(qubit)]

    def remove(self, op: Op) -> None:
        """Unlink ``op`` from every wire and mark it dead."""
        for k, q in enumerate(op.qubits):
            p, n = op.prv[k], op.nxt[k]
            if p is None:
                self.first[q] = n
            else:
                p.nxt[p.qubits.index(q)] = n
            if n is not None:
                n.prv[n.qubits.index(q)] = p
        op.alive = False

    @staticmethod
    def swap_qubits(op: Op) -> None:
        """Reverse a two-qubit op's qubit order in place (e.g. swap a cx's control and target)."""
        op.qubits = op.qubits[::-1]
        op.nxt.reverse()
        op.prv.reverse()
