"""Hadamard reduction (Nam et al. 2018, Fig. 4): :class:`HadamardReduction`.

Fewer ``h`` gates means larger regions for phase folding. Rules (up to global
phase; ``P`` is ``s`` or ``rz(pi/2)``, ``P'`` its adjoint):

* ``h P h  ->  P' h P'``
* ``h(a) h(b) cx(a, b) h(a) h(b)  ->  cx(b, a)``
* ``h(t) P(t) cx(c, t) P'(t) h(t)  ->  P'(t) cx(c, t) P(t)``

Every rewrite edits ops in place, so the pass is linear in the circuit size.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).h(0).h(1).cx(0, 1).h(0).h(1)
    >>> [(i.name, i.qubits) for i in HadamardReduction().run(c)]
    [('cx', (1, 0))]
    >>> HadamardReduction().run(Circuit(1).h(0).s(0).h(0)).count_ops()
    {'sdg': 2, 'h': 1}
"""

from __future__ import annotations

import math

from qtandem.circuit import Circuit
from qtandem.compile.dag import Op, Wires, normalize_angle, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet

__all__ = ["HadamardReduction", "reduce_hadamards"]

_HALF = math.pi / 2
_ADJ = {"s": "sdg", "sdg": "s"}


def _quarter_sign(op: Op | None) -> int:
    """+1 for a phase gate by pi/2, -1 for -pi/2, else 0."""
    if op is None or op.opaque or len(op.qubits) != 1:
        return 0
    if op.name in _ADJ:
        return 1 if op.name == "s" else -1
    if op.name in ("rz", "p", "u1") and op.angle is not None:
        a = normalize_angle(op.angle)
        if abs(a - _HALF) < 1e-9:
            return 1
        if abs(a + _HALF) < 1e-9:
            return -1
    return 0


def _adjoint_phase(op: Op) -> None:
    if op.name in _ADJ:
        op.name = _ADJ[op.name]
    else:
        op.angle = -op.angle  # type: ignore[operator]


def _is_h(op: Op | None) -> bool:
    return op is not None and op.name == "h" and not op.opaque


def reduce_hadamards(ops: list[Op], n_qubits: int) -> int:
    """Apply the rules in place; returns how many ``h`` gates were removed.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> ops = to_ops(Circuit(1).h(0).s(0).h(0))
        >>> reduce_hadamards(ops, 1), [op.name for op in ops if op.alive]
        (1, ['sdg', 'h', 'sdg'])
    """
    w = Wires(ops, n_qubits)
    removed = 0
    for op in ops:
        if not op.alive or op.opaque:
            continue
        if op.name == "cx":
            a, b = op.qubits
            pa, pb, na, nb = w.prev(op, a), w.prev(op, b), w.next(op, a), w.next(op, b)
            if _is_h(pa) and _is_h(pb) and _is_h(na) and _is_h(nb):
                for g in (pa, pb, na, nb):
                    w.remove(g)  # type: ignore[arg-type]
                w.swap_qubits(op)
                removed += 4
            continue
        if op.name != "h":
            continue
        q = op.qubits[0]
        p1 = w.next(op, q)
        sign = _quarter_sign(p1)
        if not sign or p1 is None:
            continue
        n2 = w.next(p1, q)
        if _is_h(n2):  # h P h -> P' h P'
            assert n2 is not None
            op.name, op.angle, op.params = p1.name, p1.angle, p1.params
            _adjoint_phase(op)
            n2.name, n2.angle, n2.params = op.name, op.angle, op.params
            p1.name, p1.angle, p1.params = "h", None, ()
            removed += 1
            continue
        if n2 is not None and n2.name == "cx" and not n2.opaque and n2.qubits[1] == q:
            p3 = w.next(n2, q)
            h4 = w.next(p3, q) if p3 is not None else None
            if p3 is not None and _quarter_sign(p3) == -sign and _is_h(h4):
                assert h4 is not None
                w.remove(op)
                w.remove(h4)
                _adjoint_phase(p1)
                _adjoint_phase(p3)
                removed += 2
    return removed


class HadamardReduction:
    """Remove ``h`` gates with Nam et al.'s rewrite rules (see the module docstring).

    Examples:
        >>> from qtandem import Circuit
        >>> HadamardReduction().run(Circuit(1).h(0).s(0).h(0)).count_ops()     # h s h = sdg h sdg
        {'sdg': 2, 'h': 1}
    """

    name = "hadamard_reduction"

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with fewer ``h`` gates."""
        ops = to_ops(circuit)
        reduce_hadamards(ops, circuit.n_qubits)
        return to_circuit(ops, circuit)
