"""Gate cancellation with commutation analysis: :class:`GateCancellation`.

Each gate looks forward along its wires, stepping over gates it commutes with
(``rz`` through ``cx`` controls, ``x`` through ``cx`` targets, ``cx`` through
``cx`` sharing a control or a target...). A gate that meets its inverse on every
wire cancels with it; a rotation that meets a rotation of the same kind on the
same qubit merges into it. Rotations by a multiple of 2*pi vanish.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).cx(0, 1).rz(0.3, 0).x(1).cx(0, 1).rz(0.2, 0)
    >>> GateCancellation().run(c).count_ops()
    {'x': 1, 'rz': 1}
"""

from __future__ import annotations

from qtandem.circuit import Circuit
from qtandem.circuit.gates import inverse_of
from qtandem.compile.dag import ROTATIONS, Op, Wires, commutes, is_zero_angle, normalize_angle, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet

__all__ = ["GateCancellation"]


def _inverse_key(op: Op) -> tuple[str, tuple] | None:
    inv = inverse_of(op.name, op.params)
    return None if inv is None else (inv[0], tuple(float(p) for p in inv[1]))


def _reaches(w: Wires, op: Op, target: Op, qubit: int, limit: int) -> bool:
    """True if ``target`` follows ``op`` on ``qubit`` past gates that commute with ``op``."""
    cur = w.next(op, qubit)
    steps = 0
    while cur is not None and steps < limit:
        if cur is target:
            return True
        if not commutes(op, cur):
            return False
        cur = w.next(cur, qubit)
        steps += 1
    return False


def cancel_ops(ops: list[Op], n_qubits: int, *, limit: int = 64) -> int:
    """Cancel inverse pairs and merge rotations in place; returns the number of ops removed."""
    w = Wires(ops, n_qubits)
    removed = 0
    for op in ops:
        if not op.alive or op.opaque:
            continue
        q0 = op.qubits[0]
        if op.angle is not None and op.name in ROTATIONS:
            if is_zero_angle(op.angle):
                w.remove(op)
                removed += 1
                continue
            cur = w.next(op, q0)
            steps = 0
            while cur is not None and steps < limit:
                if cur.name == op.name and cur.qubits == op.qubits and cur.angle is not None:
                    cur.angle = normalize_angle(cur.angle + op.angle)
                    w.remove(op)
                    removed += 1
                    if is_zero_angle(cur.angle):
                        w.remove(cur)
                        removed += 1
                    break
                if not commutes(op, cur):
                    break
                cur = w.next(cur, q0)
                steps += 1
            continue
        key = _inverse_key(op)
        if key is None:
            continue
        cur = w.next(op, q0)
        steps = 0
        while cur is not None and steps < limit:
            if (cur.name == key[0] and cur.qubits == op.qubits and not cur.opaque and cur.params == key[1]
                    and all(_reaches(w, op, cur, q, limit) for q in op.qubits[1:])):
                w.remove(op)
                w.remove(cur)
                removed += 2
                break
            if not commutes(op, cur):
                break
            cur = w.next(cur, q0)
            steps += 1
    return removed


class GateCancellation:
    """Cancel inverse pairs and merge rotations, commuting gates out of the way.

    Args:
        limit: how many gates a wire walk may step over (keeps the pass linear).
        repeat: sweeps until nothing changes, at most this many.

    Examples:
        >>> from qtandem import Circuit
        >>> GateCancellation().run(Circuit(2).t(0).cx(0, 1).tdg(0)).count_ops()   # t commutes through the control
        {'cx': 1}
    """

    name = "cancellation"

    def __init__(self, *, limit: int = 64, repeat: int = 4) -> None:
        self.limit = limit
        self.repeat = repeat

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with cancellations applied."""
        ops = to_ops(circuit)
        for _ in range(self.repeat):
            if cancel_ops(ops, circuit.n_qubits, limit=self.limit) == 0:
                break
            ops = [op for op in ops if op.alive]
        return to_circuit(ops, circuit)
