"""Toffoli recognition: :class:`ToffoliRecognition` folds 7-T Toffoli circuits back into ``ccx``.

Circuits that arrive already decomposed (the Nam suite) hide which Toffolis
form compute/uncompute pairs.
Each ``cx`` into a wire ``t`` may start the 7-T core ``cx(x, t), P, cx(y, t), P,
cx(x, t), P, cx(y, t), P`` on that wire (``P`` a phase by +-pi/4); with up to
five following ops on wires ``x`` and ``y`` (the ``cx(x, y)`` pair and three
phases), an 8x8 matrix check that they equal ``ccz`` up to global phase, and a
convexity check, they become one ``ccz``. Then ``h(t) ccz.. ccz h(t)`` becomes
``ccx.. ccx`` (files often drop the ``h h`` between Toffolis on one target).
:class:`~qtandem.compile.passes.toffoli.ToffoliDecomposition` can then choose relative-phase decompositions for pairs.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.compile.passes.basis import BasisTranslation
    >>> c = BasisTranslation("nam").run(Circuit(3).ccx(0, 1, 2))
    >>> ToffoliRecognition().run(c).count_ops()
    {'ccx': 1}
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.compile.dag import Op, Wires, normalize_angle, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet
from qtandem.sim.dense import dense_unitary, equal_up_to_phase

__all__ = ["ToffoliRecognition"]

_CCZ = gate_matrix("ccz").numpy()


def _quarter(op: Op | None) -> bool:
    if op is None or op.opaque or len(op.qubits) != 1:
        return False
    if op.name in ("t", "tdg"):
        return True
    return op.name in ("rz", "p", "u1") and op.angle is not None and \
        abs(abs(normalize_angle(op.angle)) - math.pi / 4) < 1e-9


def _matrix(ops: list[Op], order: tuple[int, int, int]) -> np.ndarray:
    """Product of ops on qubits ``order`` (first = least significant)."""
    return dense_unitary([(tuple(order.index(q) for q in op.qubits),
                           gate_matrix(op.name, [op.angle] if op.angle is not None else list(op.params)).numpy())
                          for op in ops], 3)


def _core_shape(first: Op, t: int) -> list[Op] | None:
    """The 8 ops ``cx(x,t), P, cx(y,t), P, cx(x,t), P, cx(y,t), P`` on wire ``t`` from ``first``, or ``None``."""
    seq: list[Op] = []
    cur: Op | None = first
    for k in range(8):
        if cur is None:
            return None
        if k % 2 == 0:
            if cur.name != "cx" or cur.opaque or cur.qubits[1] != t:
                return None
        elif not _quarter(cur):
            return None
        seq.append(cur)
        cur = Wires.next(cur, t)
    ctrl = [seq[i].qubits[0] for i in (0, 2, 4, 6)]
    if ctrl[0] != ctrl[2] or ctrl[1] != ctrl[3] or ctrl[0] == ctrl[1]:
        return None
    return seq


def _tail(op: Op, q: int, pair: tuple[int, int], n: int) -> list[Op] | None:
    out: list[Op] = []
    cur = Wires.next(op, q)
    while len(out) < n:
        if cur is None or cur.opaque or not ((len(cur.qubits) == 1 and _quarter(cur))
                                             or (cur.name == "cx" and set(cur.qubits) == set(pair))):
            return None
        out.append(cur)
        cur = Wires.next(cur, q)
    return out


def _convex(members: set[int], ops: list[Op], pos: dict[int, int]) -> bool:
    last = max(pos[m] for m in members)
    stack = [nx for m in members for k in range(len(ops[pos[m]].qubits))
             if (nx := ops[pos[m]].nxt[k]) is not None and id(nx) not in members]
    seen: set[int] = set()
    while stack:
        op = stack.pop()
        if id(op) in seen or pos[id(op)] > last:
            continue
        seen.add(id(op))
        for nx in op.nxt:
            if nx is not None:
                if id(nx) in members:
                    return False
                stack.append(nx)
    return True


def _toposort(ops: list[Op], groups: dict[int, int], n_qubits: int) -> list[Op]:
    """Live ops in a valid order with each group (op id -> group key) emitted as its ``ccx``."""
    key = {id(op): groups.get(id(op), id(op)) for op in ops if op.alive}
    first_pos: dict[int, int] = {}
    for i, op in enumerate(ops):
        if op.alive:
            first_pos.setdefault(key[id(op)], i)
    indeg = dict.fromkeys(first_pos, 0)
    succ: dict[int, set[int]] = {k: set() for k in first_pos}
    for op in ops:
        if not op.alive:
            continue
        for nx in op.nxt:
            if nx is not None and key[id(nx)] != key[id(op)] and key[id(nx)] not in succ[key[id(op)]]:
                succ[key[id(op)]].add(key[id(nx)])
                indeg[key[id(nx)]] += 1
    rep: dict[int, Op] = {}
    for op in ops:
        if op.alive:
            rep.setdefault(key[id(op)], op)
    heap = [(first_pos[k], k) for k, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, k = heapq.heappop(heap)
        out.append(rep[k])
        for s in succ[k]:
            indeg[s] -= 1
            if indeg[s] == 0:
                heapq.heappush(heap, (first_pos[s], s))
    return out


def _bracket(ops: list[Op], n_qubits: int) -> None:
    """``h(t) ccz.. ccz h(t)`` (only ``ccz`` on ``t`` between) becomes ``ccx.. ccx`` (target ``t``), in place."""
    Wires(ops, n_qubits)
    for h in ops:
        if not h.alive or h.name != "h" or h.opaque:
            continue
        t = h.qubits[0]
        run: list[Op] = []
        cur = Wires.next(h, t)
        while cur is not None and cur.name == "ccz" and not cur.opaque:
            run.append(cur)
            cur = Wires.next(cur, t)
        if run and cur is not None and cur.name == "h" and not cur.opaque:
            for g in run:
                g.name = "ccx"
                g.qubits = tuple(q for q in g.qubits if q != t) + (t,)
            h.alive = False
            cur.alive = False


class ToffoliRecognition:
    """Fold standard 7-T CCZ/Toffoli circuits back into ``ccz``/``ccx`` gates (see the module docstring).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.passes.toffoli import ToffoliDecomposition
        >>> seven_t = ToffoliDecomposition(style="clifford_t").run(Circuit(3).ccx(0, 1, 2))
        >>> ToffoliRecognition().run(seven_t).count_ops()
        {'ccx': 1}
    """

    name = "toffoli_recognition"

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with recognized Toffolis as ``ccx`` (and bare CCZ cores as ``ccz``)."""
        ops = to_ops(circuit)
        Wires(ops, circuit.n_qubits)
        pos = {id(op): i for i, op in enumerate(ops)}
        used: set[int] = set()
        groups: dict[int, int] = {}
        ccz_of: dict[int, Op] = {}
        for first in ops:
            if first.name != "cx" or first.opaque or id(first) in used:
                continue
            t = first.qubits[1]
            shape = _core_shape(first, t)
            if shape is None or any(id(o) in used for o in shape):
                continue
            x, y = shape[0].qubits[0], shape[2].qubits[0]
            found = None
            for kx, ky in itertools.product(range(6), repeat=2):
                tx = _tail(shape[6] if x == shape[6].qubits[0] else shape[4], x, (x, y), kx)
                ty = _tail(shape[6] if y == shape[6].qubits[0] else shape[4], y, (x, y), ky)
                if tx is None or ty is None:
                    continue
                extra = {id(o): o for o in tx + ty}
                members = shape + [o for o in extra.values() if o not in shape]
                if sum(1 for o in members if o.name == "cx") != 6 or len(members) != 13:
                    continue
                if any(id(o) in used for o in members):
                    continue
                ordered = sorted(members, key=lambda o: pos[id(o)])
                if equal_up_to_phase(_matrix(ordered, (x, y, t)), _CCZ) and \
                        _convex({id(o) for o in members}, ops, pos):
                    found = ordered
                    break
            if found is None:
                continue
            gid = id(found[0])
            for o in found:
                used.add(id(o))
                groups[id(o)] = gid
            ccz_of[gid] = Op("ccz", (x, y, t))
        if not groups:
            return circuit
        order = _toposort(ops, groups, circuit.n_qubits)
        out = [ccz_of[groups[id(op)]] if id(op) in groups else op for op in order]
        _bracket(out, circuit.n_qubits)
        return to_circuit(out, circuit)
