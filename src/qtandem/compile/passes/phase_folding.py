"""Rotation merging by phase polynomials (phase folding): :class:`PhaseFolding`.

Every wire carries an affine parity of path variables: ``cx`` adds the control's
parity to the target's, ``x`` flips the constant, ``swap`` exchanges two wires,
diagonal gates change nothing, and ``h`` or any other gate gives its wires fresh
variables. A phase gate (``rz``, ``p``, ``u1``, ``z``, ``s``, ``t`` and their
adjoints) on a wire holding parity ``f`` (or ``f + 1``) adds ``theta * f`` (or
``-theta * f``, up to a global phase) to the circuit's phase polynomial. All
phase gates whose parities coincide merge into one rotation, placed at the first
(or last) of them; a sum that is a multiple of 2*pi removes them all. This is
sound for any circuit: the phase terms are factors of the path sum, wherever
they are applied (Amy, Maslov, Mosca 2014; Nam et al. 2018's rotation merging is
the special case without ``h``).

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).cx(0, 1).t(1).h(0).cx(0, 1).cx(1, 0).t(0).cx(1, 0)
    >>> PhaseFolding().run(c).count_ops()  # both t act on x0 + x1, across the h on the other wire
    {'cx': 4, 's': 1, 'h': 1}
    >>> c = Circuit(2).cx(0, 1).t(1).cx(0, 1).x(0).cx(0, 1).t(1).cx(0, 1)
    >>> PhaseFolding().run(c).count_ops()  # t on x0+x1 and t on (1+x0)+x1: they cancel
    {'cx': 4, 'x': 1}
"""

from __future__ import annotations

import math

from qtandem.circuit import Circuit
from qtandem.compile.dag import DIAGONAL, PHASE_ANGLE, Op, Wires, is_zero_angle, normalize_angle, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet

__all__ = ["PhaseFolding", "phase_fold", "phase_word"]

_PHASE_ROT = frozenset({"rz", "p", "u1"})
_WORDS = {0: [], 1: ["t"], 2: ["s"], 3: ["s", "t"], 4: ["z"], -3: ["sdg", "tdg"], -2: ["sdg"], -1: ["tdg"]}


def phase_word(theta: float) -> list[str] | None:
    """``theta`` (mod 2*pi) as a word of ``t, s, z, sdg, tdg`` if it is a multiple of pi/4, else ``None``.

    Examples:
        >>> phase_word(3 * math.pi / 4), phase_word(-math.pi / 2), phase_word(0.1)
        (['s', 't'], ['sdg'], None)
    """
    k = normalize_angle(theta) / (math.pi / 4)
    if abs(k - round(k)) > 1e-9:
        return None
    return list(_WORDS[round(k)])


def _angle(op: Op) -> float:
    return op.angle if op.angle is not None else PHASE_ANGLE[op.name]


def _neighbour(op: Op, q: int, forward: bool) -> Op | None:
    cur = Wires.next(op, q) if forward else Wires.prev(op, q)
    while cur is not None and len(cur.qubits) == 1 and cur.name in DIAGONAL:
        cur = Wires.next(cur, q) if forward else Wires.prev(cur, q)
    return cur


def _sandwiched(op: Op) -> bool:
    """True if ``op`` sits between two equal ``cx`` gates that target its wire (it blocks their cancellation)."""
    q = op.qubits[0]
    a, b = _neighbour(op, q, False), _neighbour(op, q, True)
    return (a is not None and b is not None and a.name == b.name == "cx" and a.qubits == b.qubits
            and a.qubits[1] == q)


def phase_fold(ops: list[Op], n_qubits: int, *, placement: str = "first") -> list[Op]:
    """Merge phase gates with equal parities; returns the new op list."""
    val: list[tuple[int, int]] = [(1 << q, 0) for q in range(n_qubits)]
    nvar = n_qubits
    groups: dict[int, list[tuple[int, int]]] = {}
    for i, op in enumerate(ops):
        if not op.alive:
            continue
        name = op.name
        if op.opaque:
            pass
        elif name == "cx":
            c, t = op.qubits
            val[t] = (val[t][0] ^ val[c][0], val[t][1] ^ val[c][1])
            continue
        elif name == "x":
            q = op.qubits[0]
            val[q] = (val[q][0], val[q][1] ^ 1)
            continue
        elif name == "swap":
            a, b = op.qubits
            val[a], val[b] = val[b], val[a]
            continue
        elif name in _PHASE_ROT or name in PHASE_ANGLE:
            mask, const = val[op.qubits[0]]
            groups.setdefault(mask, []).append((i, const))
            continue
        elif name in DIAGONAL:
            continue
        for q in op.qubits:
            val[q] = (1 << nvar, 0)
            nvar += 1
    replace: dict[int, list[Op]] = {}
    wires: Wires | None = None
    for mask, members in groups.items():
        total = sum(-_angle(ops[i]) if c else _angle(ops[i]) for i, c in members)
        if mask == 0 or is_zero_angle(total):
            for i, _ in members:
                replace[i] = []
            continue
        if len(members) == 1:
            continue
        if placement == "smart":
            if wires is None:
                wires = Wires(ops, n_qubits)
            keep, kc = next((m for m in members if not _sandwiched(ops[m[0]])), members[0])
        else:
            keep, kc = members[0] if placement == "first" else members[-1]
        for i, _ in members:
            replace[i] = []
        theta = normalize_angle(-total if kc else total)
        rep = ops[keep]
        wire = rep.qubits
        if rep.name in _PHASE_ROT:
            replace[keep] = [Op(rep.name, wire, theta)]
        else:
            word = phase_word(theta)
            replace[keep] = [Op("rz", wire, theta)] if word is None else [Op(g, wire) for g in word]
    if not replace:
        return ops
    out: list[Op] = []
    for i, op in enumerate(ops):
        if i in replace:
            out.extend(replace[i])
        elif op.alive:
            out.append(op)
    return out


class PhaseFolding:
    """Merge rotations whose parities coincide (see the module docstring).

    Args:
        placement: where a merged rotation goes: ``"first"`` or ``"last"`` of its
            members, or ``"smart"``: the first member not sitting between two equal
            ``cx`` gates that target its wire (so they can cancel).
    """

    name = "phase_folding"

    def __init__(self, *, placement: str = "first") -> None:
        if placement not in ("first", "last", "smart"):
            from qtandem.errors import CompileError

            raise CompileError(f"PhaseFolding placement must be 'first', 'last' or 'smart', got {placement!r}")
        self.placement = placement

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with rotations merged."""
        return to_circuit(phase_fold(to_ops(circuit), circuit.n_qubits, placement=self.placement), circuit)
