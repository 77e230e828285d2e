"""Toffoli decompositions chosen in context: :class:`ToffoliDecomposition`.

A ``ccx`` becomes the standard 6-CX / 7-T circuit, except when a partner
``ccx`` on the same three qubits follows with only gates diagonal on those
qubits in between (a compute/uncompute pair). Then both become relative-phase
Toffolis (Margolus: 3 CX, 4 T, equal to ``ccx`` times a diagonal ``D``): the
pair is ``ccx D M D^dagger ccx = ccx M ccx`` because ``D`` commutes with the
diagonal middle ``M``. ``ccz`` gates use the 6-CX / 7-T circuit without ``h``.

Examples:
    >>> from qtandem import Circuit
    >>> pair = Circuit(4).ccx(0, 1, 2).cx(2, 3).ccx(0, 1, 2)
    >>> ToffoliDecomposition("nam").run(pair).count_ops()
    {'h': 4, 'rz': 8, 'cx': 7}
    >>> ToffoliDecomposition("clifford_t").run(Circuit(3).ccx(0, 1, 2)).count_ops()
    {'h': 2, 'cx': 6, 'tdg': 3, 't': 4}
"""

from __future__ import annotations

import math

from qtandem.circuit import Circuit
from qtandem.compile.dag import Op, Wires, to_circuit, to_ops, wire_type
from qtandem.compile.passes.basis import _ccx
from qtandem.compile.passmanager import PropertySet
from qtandem.errors import CompileError

__all__ = ["ToffoliDecomposition", "margolus"]

_PI4 = math.pi / 4


def margolus(a: int, b: int, c: int, *, inverse: bool = False) -> list[tuple[str, tuple[int, ...], float | None]]:
    """Relative-phase Toffoli (3 CX, 4 T) as ``(gate, qubits, angle)``; ``inverse`` gives its adjoint.

    Examples:
        >>> word = margolus(0, 1, 2)
        >>> sum(name == "cx" for name, _, _ in word), sum(name == "rz" for name, _, _ in word)
        (3, 4)
    """
    seq: list[tuple[str, tuple[int, ...], float | None]] = [
        ("h", (c,), None), ("rz", (c,), _PI4), ("cx", (b, c), None), ("rz", (c,), -_PI4), ("cx", (a, c), None),
        ("rz", (c,), _PI4), ("cx", (b, c), None), ("rz", (c,), -_PI4), ("h", (c,), None)]
    if inverse:
        seq = [(g, q, None if ang is None else -ang) for g, q, ang in reversed(seq)]
    return seq


def _partner(op: Op) -> Op | None:
    """The next ccx on the same qubits if only diagonal gates touch them in between."""
    found: Op | None = None
    for q in op.qubits:
        cur = Wires.next(op, q)
        while cur is not None and not (cur.name == "ccx" and not cur.opaque and cur.qubits[2] == op.qubits[2]
                                       and set(cur.qubits) == set(op.qubits)):
            if wire_type(cur, q) != "Z":
                return None
            cur = Wires.next(cur, q)
        if cur is None or (found is not None and cur is not found):
            return None
        found = cur
    return found


class ToffoliDecomposition:
    """Decompose ``ccx``/``ccz`` into Clifford+T, with relative-phase pairs where the context allows.

    Args:
        style: ``"nam"`` (``rz(±pi/4)``) or ``"clifford_t"`` (``t``/``tdg``).
        relative_phase: use Margolus pairs when a partner ``ccx`` allows.

    Raises:
        CompileError: unknown style.

    Examples:
        >>> from qtandem import Circuit
        >>> ToffoliDecomposition().run(Circuit(3).ccx(0, 1, 2)).count_ops()
        {'h': 2, 'cx': 6, 'rz': 7}
        >>> ToffoliDecomposition(style="clifford_t").run(Circuit(3).ccx(0, 1, 2)).count_ops()
        {'h': 2, 'cx': 6, 'tdg': 3, 't': 4}
    """

    name = "toffoli"

    def __init__(self, style: str = "nam", *, relative_phase: bool = True) -> None:
        if style not in ("nam", "clifford_t"):
            raise CompileError(f"ToffoliDecomposition style must be 'nam' or 'clifford_t', got {style!r}")
        self.style = style
        self.relative_phase = relative_phase

    def _emit(self, seq: list[tuple[str, tuple[int, ...], float | None]]) -> list[Op]:
        if self.style == "nam":
            return [Op(g, q, a) for g, q, a in seq]
        return [Op(g, q) if a is None else Op("t" if a > 0 else "tdg", q) for g, q, a in seq]

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit without ``ccx``/``ccz``."""
        ops = to_ops(circuit)
        Wires(ops, circuit.n_qubits)
        plan: dict[int, list[Op]] = {}
        index = {id(op): k for k, op in enumerate(ops)}
        for k, op in enumerate(ops):
            if op.opaque or k in plan or op.name not in ("ccx", "ccz"):
                continue
            a, b, c = op.qubits
            if op.name == "ccz":
                plan[k] = self._emit(_ccx(a, b, c, False))
                continue
            other = _partner(op) if self.relative_phase else None
            if other is not None and index[id(other)] not in plan:
                plan[k] = self._emit(margolus(a, b, c))
                plan[index[id(other)]] = self._emit(margolus(a, b, c, inverse=True))
            else:
                plan[k] = self._emit(_ccx(a, b, c, True))
        out: list[Op] = []
        for k, op in enumerate(ops):
            out.extend(plan.get(k, [op]))
        return to_circuit(out, circuit)
