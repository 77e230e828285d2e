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
_WORDS = {0: [], 1: ["t"], 2: ["s"], 3: ["s", "t"], 4: ["z"], 5: ["sdg", "tdg"], 6: ["sdg"], 7: ["tdg"]}


def phase_word(theta: float) -> list[str] | None:
    """``theta`` (mod 2*pi) as a word of ``t, s, z, sdg, tdg`` if it is a multiple of pi/4, else ``None``.

    Examples:
        >>> phase_word(3 * math.pi / 4), phase_word(-math.pi / 2), phase_word(0.1)
        (['s', 't'], ['sdg'], None)
    """
    k = normalize_angle(theta) / (math.pi / 4)
    if abs(k - round(k)) > 1e-9:
        return None
    return list(_WORDS[round(k) % 8])


def _angle(op: Op) -> float:
    return op.angle if op.angle is not None else PHASE_ANGLE[op.name]


def _skip_diag(op: Op | None, q: int, forward: bool) -> Op | None:
    while op is not None and len(op.qubits) == 1 and op.name in DIAGONAL:
        op = Wires.next(op, q) if forward else Wires.prev(op, q)
    return op


def _cx_pairs(op: Op | None, q: int, forward: bool, limit: int = 8) -> set[tuple[int, ...]]:
    """Qubit pairs of the ``cx`` gates targeting ``q`` reachable from ``op`` past X-type and diagonal 1q gates."""
    seen: set[tuple[int, ...]] = set()
    steps = 0
    while op is not None and steps < limit:
        if op.name == "cx" and not op.opaque and op.qubits[1] == q:
            seen.add(op.qubits)
        elif not (len(op.qubits) == 1 and (op.name in DIAGONAL or op.name == "x")):
            break
        op = Wires.next(op, q) if forward else Wires.prev(op, q)
        steps += 1
    return seen


def _blocks(before: Op | None, after: Op | None, q: int) -> bool:
    """True if a phase gate between ``before`` and ``after`` on wire ``q`` separates two equal ``cx`` gates."""
    if before is None or after is None:
        return False
    return bool(_cx_pairs(_skip_diag(before, q, False), q, False) & _cx_pairs(_skip_diag(after, q, True), q, True))


def phase_fold(ops: list[Op], n_qubits: int, *, placement: str = "first") -> list[Op]:
    """Merge phase gates with equal parities; returns the new op list.

    ``placement="smart"`` also floats a rotation to any point where its parity
    sits on a wire (after a ``cx``, ``x`` or fresh variable) when every member's
    position would keep two equal ``cx`` gates apart.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> ops = phase_fold(to_ops(Circuit(1).rz(0.25, 0).x(0).x(0).rz(0.5, 0)), 1)
        >>> [(op.name, op.angle) for op in ops if op.alive]
        [('rz', 0.75), ('x', None), ('x', None)]
    """
    val: list[tuple[int, int]] = [(1 << q, 0) for q in range(n_qubits)]
    nvar = n_qubits
    groups: dict[int, list[tuple[int, int]]] = {}
    smart = placement == "smart"
    occ: dict[int, list[tuple[int, int, int]]] = {}
    if smart:
        for q in range(n_qubits):
            occ[1 << q] = [(-1, q, 0)]
    for i, op in enumerate(ops):
        if not op.alive:
            continue
        name = op.name
        if op.opaque:
            pass
        elif name == "cx":
            c, t = op.qubits
            val[t] = (val[t][0] ^ val[c][0], val[t][1] ^ val[c][1])
            if smart:
                occ.setdefault(val[t][0], []).append((i, t, val[t][1]))
            continue
        elif name == "x":
            q = op.qubits[0]
            val[q] = (val[q][0], val[q][1] ^ 1)
            if smart:
                occ.setdefault(val[q][0], []).append((i, q, val[q][1]))
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
            if smart:
                occ[1 << (nvar - 1)] = [(i, q, 0)]
    replace: dict[int, list[Op]] = {}
    after: dict[int, list[Op]] = {}
    wires = Wires(ops, n_qubits) if smart else None
    for mask, members in groups.items():
        total = sum(-_angle(ops[i]) if c else _angle(ops[i]) for i, c in members)
        if mask == 0 or is_zero_angle(total):
            for i, _ in members:
                replace[i] = []
            continue
        point: tuple[int, int, int] | None = None  # (op index, wire, constant): insert after that op
        keep, kc = members[0] if placement != "last" else members[-1]
        if smart:
            assert wires is not None
            free = [m for m in members if not _blocks(Wires.prev(ops[m[0]], ops[m[0]].qubits[0]),
                                                       Wires.next(ops[m[0]], ops[m[0]].qubits[0]),
                                                       ops[m[0]].qubits[0])]
            if free:
                keep, kc = free[0]
            else:
                for i, q, c in occ.get(mask, [])[:16]:
                    nxt = wires.first[q] if i < 0 else Wires.next(ops[i], q)
                    if i >= 0 and not _blocks(ops[i], nxt, q):
                        point = (i, q, c)
                        break
        if len(members) == 1 and point is None:
            continue
        for i, _ in members:
            replace[i] = []
        rep = ops[keep]
        if point is not None:
            kc = point[2]
        theta = normalize_angle(-total if kc else total)
        wire = rep.qubits if point is None else (point[1],)
        if rep.name in _PHASE_ROT:
            new = [Op(rep.name, wire, theta)]
        else:
            word = phase_word(theta)
            new = [Op("rz", wire, theta)] if word is None else [Op(g, wire) for g in word]
        if point is None:
            replace[keep] = new
        else:
            after.setdefault(point[0], []).extend(new)
    if not replace and not after:
        return ops
    out: list[Op] = []
    for i, op in enumerate(ops):
        if i in replace:
            out.extend(replace[i])
        elif op.alive:
            out.append(op)
        if i in after:
            out.extend(after[i])
    return out


class PhaseFolding:
    """Merge rotations whose parities coincide (see the module docstring).

    Args:
        placement: where a merged rotation goes: ``"first"`` or ``"last"`` of its
            members, or ``"smart"``: the first member not sitting between two equal
            ``cx`` gates that target its wire (so they can cancel).

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).rz(0.3, 1).cx(0, 1).rz(0.2, 1).cx(0, 1).cx(0, 1).rz(0.1, 1)
        >>> PhaseFolding().run(c).count_ops()      # the 1st and 3rd rz see the same parity x1
        {'rz': 2, 'cx': 3}
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
