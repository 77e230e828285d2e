"""NOT propagation (Nam et al. 2018): :class:`NotPropagation`.

``x`` gates are carried forward as a Pauli-X frame instead of being applied:
``x`` toggles the frame on its wire, ``cx(c, t)`` passes a frame on ``c`` to
``t`` as well (``X_c`` then ``cx`` equals ``cx`` then ``X_c X_t``), a phase gate
under the frame is negated (``rz(a)`` after ``x`` equals ``x`` after
``rz(-a)`` up to global phase), and any other gate on a framed wire gets its
``x`` emitted just before it. What is left of the frame is emitted at the end.
Pairs of ``x`` meet and vanish this way; the pass can also add ``x`` gates,
so :func:`~qtandem.compile.optimize` keeps its result only when it is cheaper.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).x(0).cx(0, 1).rz(0.5, 0).x(1).cx(0, 1).x(0)
    >>> [(i.name, i.qubits) for i in NotPropagation().run(c)]
    [('cx', (0, 1)), ('rz', (0,)), ('cx', (0, 1)), ('x', (1,))]
"""

from __future__ import annotations

from qtandem.circuit import Circuit
from qtandem.compile.dag import Op, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet

__all__ = ["NotPropagation"]

_FLIP = {"s": "sdg", "sdg": "s", "t": "tdg", "tdg": "t", "z": "z"}


class NotPropagation:
    """Push ``x`` gates forward through ``cx`` and phases until they cancel (see the module docstring).

    Examples:
        >>> from qtandem import Circuit
        >>> NotPropagation().run(Circuit(2).x(0).cx(0, 1).x(0).x(1)).count_ops()   # x(0) through cx is x(0) x(1)
        {'cx': 1}
    """

    name = "not_propagation"

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with ``x`` gates propagated."""
        frame = [False] * circuit.n_qubits
        out: list[Op] = []
        for op in to_ops(circuit):
            if op.opaque:
                for q in op.qubits:
                    if frame[q]:
                        out.append(Op("x", (q,)))
                        frame[q] = False
                out.append(op)
                continue
            if op.name == "x":
                frame[op.qubits[0]] = not frame[op.qubits[0]]
                continue
            if op.name == "cx":
                c, t = op.qubits
                if frame[c]:
                    frame[t] = not frame[t]
                out.append(op)
                continue
            if len(op.qubits) == 1 and frame[op.qubits[0]]:
                if op.name in ("rz", "p", "u1") and op.angle is not None:
                    out.append(Op(op.name, op.qubits, -op.angle))
                    continue
                if op.name in _FLIP:
                    out.append(Op(_FLIP[op.name], op.qubits))
                    continue
            for q in op.qubits:
                if frame[q]:
                    out.append(Op("x", (q,)))
                    frame[q] = False
            out.append(op)
        out.extend(Op("x", (q,)) for q in range(circuit.n_qubits) if frame[q])
        return to_circuit(out, circuit)
