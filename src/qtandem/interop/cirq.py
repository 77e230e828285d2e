"""Cirq circuits to and from qtandem: :func:`from_cirq` and :func:`to_cirq`.

Cirq's gates are powers with a global shift (``XPowGate(t, s)`` is ``e^{i pi t s} X^t``);
they map onto qtandem gates with the same matrix where one exists (``rx``, ``p``, ``cp``,
``h`` around ``cp`` for a controlled ``X^t``...), and otherwise onto a ``unitary``
instruction (numeric gates) or Cirq's decomposition. Exponents may be sympy
expressions linear in their symbols (qtandem angles are linear). Measurement keys
become classical registers (a key ``c[3]`` is bit 3 of register ``c``, so
``from_cirq(to_cirq(c))`` keeps registers), ``reset`` and classical controls on a
single-bit key or on ``Eq(sum 2^k key_k, value)`` carry over. A ``delay`` is a
``cirq.WaitGate`` of the same duration on the same qubits (both ways).

Qubit ``i`` of a qtandem circuit is ``cirq.LineQubit(i)``. Cirq orders a unitary's
index big-endian (first qubit most significant), qtandem little-endian, so
``cirq.unitary(to_cirq(c))`` with ``qubit_order=LineQubit.range(n)[::-1]`` equals
``qtandem.unitary(c)``. Cirq is imported only inside these functions
(``pip install qtandem[cirq]``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit import Circuit, Instruction, Parameter, ParameterExpression
from qtandem.circuit.gates import gate_matrix
from qtandem.circuit.parameter import Angle, is_symbolic
from qtandem.errors import ArgumentTypeError, CircuitError, ParameterError
from qtandem.interop.qiskit import _identifier

__all__ = ["from_cirq", "to_cirq"]

_KEY_BIT = re.compile(r"^(.+)\[([0-9]+)\]$")
_MAX_DEPTH = 32


def _need_cirq() -> Any:
    try:
        import cirq
    except ImportError:
        raise ImportError("qtandem.interop.from_cirq/to_cirq need Cirq: pip install 'qtandem[cirq]'") from None
    return cirq


def from_cirq(circuit: Any, *, qubits: Sequence[Any] | None = None, keep_global_phase: bool = False) -> Circuit:
    """Convert a ``cirq.Circuit`` into a qtandem :class:`~qtandem.Circuit`.

    Args:
        circuit: the Cirq circuit.
        qubits: the Cirq qubits in qtandem order (qubit ``i`` is ``qubits[i]``); default
            ``LineQubit(i)`` -> ``i`` when every qubit is a ``LineQubit``, else Cirq's sorted order.
        keep_global_phase: keep Cirq's global shifts and ``GlobalPhaseGate`` as
            ``p(2*phi)``, ``rz(-2*phi)`` on qubit 0 (qtandem circuits carry no global phase).

    Returns:
        The circuit; measurement keys become classical registers (``c[0]``, ``c[1]``
        become register ``c``), symbols become parameters.

    Raises:
        ImportError: Cirq is not installed.
        ArgumentTypeError: ``circuit`` is not a ``cirq.Circuit``.
        CircuitError: an operation with no unitary, no decomposition and no qtandem
            equivalent (named), or a classical control qtandem cannot express.
        ParameterError: an exponent that is not linear in its symbols.

    Examples:
        >>> import cirq
        >>> q = cirq.LineQubit.range(2)
        >>> c = from_cirq(cirq.Circuit(cirq.H(q[0]), cirq.CNOT(q[0], q[1]), cirq.rz(0.5)(q[1]),
        ...                            cirq.measure(*q, key="m")))
        >>> c.count_ops(), c.cregs
        ({'h': 1, 'cx': 1, 'rz': 1, 'measure': 2}, [('m', 2)])
    """
    cirq = _need_cirq()
    if not isinstance(circuit, cirq.AbstractCircuit):
        raise ArgumentTypeError(f"from_cirq expects a cirq.Circuit, got {type(circuit).__name__}")
    return _FromCirq(cirq, circuit, qubits, keep_global_phase).run()


class _FromCirq:
    def __init__(self, cirq: Any, circuit: Any, qubits: Sequence[Any] | None, keep: bool) -> None:
        self.cirq, self.keep = cirq, keep
        self.ops = list(circuit.all_operations())
        if qubits is None:
            found = sorted(circuit.all_qubits())
            if all(isinstance(q, cirq.LineQubit) and q.x >= 0 for q in found):
                qubits = [cirq.LineQubit(i) for i in range(max((q.x for q in found), default=-1) + 1)]
            else:
                qubits = found
        self.qidx = {q: i for i, q in enumerate(qubits)}
        missing = set(circuit.all_qubits()) - set(self.qidx)
        if missing:
            raise CircuitError(f"from_cirq: qubits {sorted(missing)} are not in the qubits= order given")
        # classical registers from the measurement keys, in order of appearance
        sizes: dict[str, int] = {}
        for op in self.ops:
            gate = getattr(op, "gate", None)
            if isinstance(gate, cirq.MeasurementGate):
                key = str(gate.key)
                m = _KEY_BIT.match(key)
                if m and gate.num_qubits() == 1:
                    sizes[m.group(1)] = max(sizes.get(m.group(1), 0), int(m.group(2)) + 1)
                else:
                    sizes[key] = max(sizes.get(key, 0), gate.num_qubits())
        self.creg_start: dict[str, int] = {}
        total = 0
        for name, size in sizes.items():
            self.creg_start[name] = total
            total += size
        self.out = Circuit(len(qubits), total, name=None, qregs=None,
                           cregs=list(sizes.items()) if sizes else None)
        self.params: dict[str, Parameter] = {}
        self.phase: Angle = 0.0

    def run(self) -> Circuit:
        for k, op in enumerate(self.ops):
            self.where = f"operation {k} ({op})"
            self.op(op, None, 0)
        if self.keep and self.phase != 0.0 and self.out.n_qubits:
            self.out.p(2 * self.phase, 0).rz(-2 * self.phase, 0)
        return self.out

    # -- values ----------------------------------------------------------------
    def value(self, x: Any) -> Angle:
        """A float, or a sympy expression linear in its symbols, as a qtandem angle."""
        import sympy

        if not isinstance(x, sympy.Basic):
            return float(x)
        symbols = sorted(x.free_symbols, key=lambda s: s.name)
        if not symbols:
            return float(x)
        poly = sympy.Poly(sympy.expand(x), *symbols) if x.is_polynomial(*symbols) else None
        if poly is None or poly.total_degree() > 1:
            raise ParameterError(f"from_cirq: {self.where}: the exponent {x} is not linear in its symbols "
                                 "(qtandem angles are c0 + c1*p1 + ...); resolve the symbols first")
        terms = {self.param(s.name): float(poly.coeff_monomial(s)) for s in symbols}
        return ParameterExpression(terms, float(poly.coeff_monomial(1)))

    def param(self, name: str) -> Parameter:
        if name not in self.params:
            m = _KEY_BIT.match(name)
            safe = f"{_identifier(m.group(1))}[{m.group(2)}]" if m else _identifier(name)
            self.params[name] = Parameter(safe)
        return self.params[name]

    def add_phase(self, phase: Any, cond: tuple | None) -> None:
        if phase == 0.0:
            return
        if cond is None:
            self.phase = self.phase + phase  # type: ignore[assignment]
        elif self.keep and self.out.n_qubits:
            self.emit("p", (0,), (2 * phase,), cond)
            self.emit("rz", (0,), (-2 * phase,), cond)

    def emit(self, name: str, qubits: Sequence[int], params: Sequence[Angle] = (), cond: tuple | None = None,
             **kwargs: Any) -> None:
        self.out.append(Instruction(name, qubits, params, condition=cond, **kwargs))

    # -- operations ------------------------------------------------------------
    def op(self, op: Any, cond: tuple | None, depth: int) -> None:
        cirq = self.cirq
        if depth > _MAX_DEPTH:
            raise CircuitError(f"from_cirq: {self.where}: decompositions nested more than {_MAX_DEPTH} deep")
        if isinstance(op, cirq.ClassicallyControlledOperation):
            for c in op.classical_controls:
                cond = self.condition(c, cond)
            self.op(op.without_classical_controls(), cond, depth)
            return
        if isinstance(op, cirq.CircuitOperation):
            for sub in op.mapped_circuit(deep=False).all_operations():
                self.op(sub, cond, depth + 1)
            return
        qs = tuple(self.qidx[q] for q in op.qubits)
        gate = op.gate
        if isinstance(gate, cirq.MeasurementGate):
            self.measure(gate, qs, cond)
            return
        if isinstance(gate, cirq.ResetChannel):
            self.emit("reset", qs, (), cond)
            return
        if isinstance(gate, cirq.GlobalPhaseGate):
            self.add_phase(self.value(_phase_angle(gate.coefficient)), cond)
            return
        if isinstance(gate, cirq.IdentityGate):
            return
        if isinstance(gate, cirq.WaitGate):
            if cond is not None or cirq.is_parameterized(gate):
                raise CircuitError(f"from_cirq: {self.where}: {op}: a conditional delay or one of symbolic duration "
                                   "has no qtandem form")
            self.emit("delay", qs, (float(gate.duration.total_nanos()),))
            return
        if gate is not None and self.gate(gate, qs, cond):
            return
        if not cirq.is_parameterized(op) and cirq.has_unitary(op):
            # Cirq: first qubit most significant; qtandem: first qubit least significant
            self.emit("unitary", qs[::-1], (), cond, matrix=cirq.unitary(op))
            return
        parts = cirq.decompose_once(op, default=None)
        if parts is None:
            raise CircuitError(f"from_cirq: {self.where}: {op} has no qtandem equivalent, no unitary and no "
                               "decomposition")
        for sub in parts:
            self.op(sub, cond, depth + 1)

    def gate(self, gate: Any, qs: tuple[int, ...], cond: tuple | None) -> bool:
        """Emit a Cirq power gate as qtandem gates with the same matrix; False if it has no such form."""
        cirq = self.cirq
        kind = type(gate)
        pow_gates = (cirq.XPowGate, cirq.YPowGate, cirq.ZPowGate, cirq.CZPowGate, cirq.CXPowGate, cirq.HPowGate,
                     cirq.SwapPowGate, cirq.ISwapPowGate, cirq.CCXPowGate, cirq.CCZPowGate,
                     cirq.XXPowGate, cirq.YYPowGate, cirq.ZZPowGate)
        if not isinstance(gate, pow_gates):
            if isinstance(gate, cirq.CSwapGate):
                self.emit("cswap", qs, (), cond)
                return True
            return False
        t = self.value(gate.exponent)
        shift = float(gate.global_shift)
        fixed = {cirq.XPowGate: {1.0: "x", 0.5: "sx", -0.5: "sxdg"}, cirq.YPowGate: {1.0: "y"},
                 cirq.ZPowGate: {1.0: "z", 0.5: "s", -0.5: "sdg", 0.25: "t", -0.25: "tdg"}, cirq.CZPowGate: {1.0: "cz"},
                 cirq.CXPowGate: {1.0: "cx"}, cirq.HPowGate: {1.0: "h"}, cirq.SwapPowGate: {1.0: "swap"},
                 cirq.ISwapPowGate: {1.0: "iswap"}, cirq.CCXPowGate: {1.0: "ccx"}, cirq.CCZPowGate: {1.0: "ccz"}}
        base = next((b for b in fixed if issubclass(kind, b)), None)
        if not is_symbolic(t) and shift == 0.0 and base is not None and float(t) in fixed[base]:
            self.emit(fixed[base][float(t)], qs, (), cond)
            return True
        angle = math.pi * t
        if issubclass(kind, cirq.XPowGate | cirq.YPowGate):  # X^t = e^{i pi t/2} rx(pi t)
            self.emit("rx" if issubclass(kind, cirq.XPowGate) else "ry", qs, (angle,), cond)
            self.add_phase(t * math.pi * (shift + 0.5), cond)
        elif issubclass(kind, cirq.ZPowGate) and shift == -0.5:  # cirq.rz: e^{-i pi t/2} Z^t = rz(pi t)
            self.emit("rz", qs, (angle,), cond)
        elif issubclass(kind, cirq.ZPowGate | cirq.CZPowGate):  # Z^t = p(pi t)
            self.emit("p" if issubclass(kind, cirq.ZPowGate) else "cp", qs, (angle,), cond)
            self.add_phase(t * math.pi * shift, cond)
        elif issubclass(kind, cirq.CXPowGate):  # C(X^t) = (1 x H) cp(pi t) (1 x H)
            self.emit("h", qs[1:], (), cond)
            self.emit("cp", qs, (angle,), cond)
            self.emit("h", qs[1:], (), cond)
            self.add_phase(t * math.pi * shift, cond)
        elif issubclass(kind, cirq.XXPowGate | cirq.YYPowGate | cirq.ZZPowGate):  # (PP)^t = e^{i pi t/2} rpp(pi t)
            name = {cirq.XXPowGate: "rxx", cirq.YYPowGate: "ryy", cirq.ZZPowGate: "rzz"}
            self.emit(next(v for k, v in name.items() if issubclass(kind, k)), qs, (angle,), cond)
            self.add_phase(t * math.pi * (shift + 0.5), cond)
        else:
            return False  # H^t, SWAP^t, ... : a unitary or Cirq's decomposition
        return True

    def measure(self, gate: Any, qs: tuple[int, ...], cond: tuple | None) -> None:
        key = str(gate.key)
        m = _KEY_BIT.match(key)
        if m and len(qs) == 1 and m.group(1) in self.creg_start:
            bits: tuple[int, ...] = (self.creg_start[m.group(1)] + int(m.group(2)),)
        else:
            bits = tuple(self.creg_start[key] + i for i in range(len(qs)))
        flip = [q for q, inv in zip(qs, gate.full_invert_mask(), strict=True) if inv]
        for q in flip:  # an inverted result: measure X|psi>, then undo the X
            self.emit("x", (q,), (), cond)
        for q, b in zip(qs, bits, strict=True):
            self.out.append(Instruction("measure", (q,), (), (b,), condition=cond))
        for q in flip:
            self.emit("x", (q,), (), cond)

    def key_bits(self, key: str) -> tuple[int, ...]:
        m = _KEY_BIT.match(key)
        if m and m.group(1) in self.creg_start and key not in self.creg_start:
            return (self.creg_start[m.group(1)] + int(m.group(2)),)
        if key not in self.creg_start:
            raise CircuitError(f"from_cirq: {self.where}: condition on the unknown measurement key {key!r}")
        size = dict(self.out.cregs)[key]
        return tuple(self.creg_start[key] + i for i in range(size))

    def condition(self, c: Any, outer: tuple | None) -> tuple:
        import sympy

        cirq = self.cirq
        if isinstance(c, cirq.KeyCondition) and c.index == -1:
            bits = self.key_bits(str(c.key))
            if len(bits) == 1:
                return _and(outer, (bits, 1), self.where)
        if isinstance(c, cirq.SympyCondition) and isinstance(c.expr, sympy.Eq):
            lhs, rhs = sympy.expand(c.expr.lhs - c.expr.rhs), None
            coeffs = lhs.as_coefficients_dict()
            rhs = -coeffs.pop(sympy.Integer(1), 0)
            found: list[int] = []
            value, ok = int(rhs), rhs == int(rhs)
            for sym, coef in sorted(coeffs.items(), key=lambda kv: float(kv[1])):
                key_bits = self.key_bits(str(sym)) if isinstance(sym, sympy.Symbol) else ()
                ok = ok and len(key_bits) == 1 and float(coef) == 2.0 ** len(found)
                found.extend(key_bits)
            if ok and found:
                return _and(outer, (tuple(found), value), self.where)
        raise CircuitError(f"from_cirq: {self.where}: the classical control {c} cannot be expressed in qtandem, "
                           "whose conditions test classical bits against one value (a one-bit key, or "
                           "Eq(key_0 + 2*key_1 + ..., value))")


def _and(a: tuple | None, b: tuple, where: str) -> tuple:
    if a is None:
        return b
    if set(a[0]) & set(b[0]):
        raise CircuitError(f"from_cirq: {where}: two classical controls on the same bit")
    return (a[0] + b[0], a[1] | (b[1] << len(a[0])))


def _phase_angle(coefficient: Any) -> Any:
    import sympy

    if isinstance(coefficient, sympy.Basic) and coefficient.free_symbols:
        raise ParameterError(f"from_cirq: a symbolic global phase {coefficient} is not supported")
    return float(np.angle(complex(coefficient)))


def to_cirq(circuit: Circuit) -> Any:
    """Convert a qtandem :class:`~qtandem.Circuit` into a ``cirq.Circuit`` on ``LineQubit(0..n-1)``.

    Gates with a Cirq counterpart of the same matrix become it (``rx`` is ``cirq.rx``,
    ``p`` a ``ZPowGate``, ``rzz`` a ``ZZPowGate`` with global shift -1/2, ``cp`` a
    ``CZPowGate``...); other numeric gates become ``cirq.MatrixGate`` with qtandem's
    matrix. Parameters become sympy symbols (angles divided by pi where Cirq takes
    exponents). Classical bit ``i`` of register ``c`` is the measurement key ``c[i]``.

    Args:
        circuit: the qtandem circuit.

    Returns:
        The ``cirq.Circuit``; its unitary (``qubit_order=LineQubit.range(n)[::-1]``)
        equals ``qtandem.unitary(circuit)``, global phase included.

    Raises:
        ImportError: Cirq is not installed.
        ArgumentTypeError: ``circuit`` is not a qtandem ``Circuit``.
        CircuitError: a gate with symbolic angles and no parametrised Cirq gate
            (``u``, ``cu``...): bind the parameters first.

    Examples:
        >>> import cirq, numpy, qtandem
        >>> from qtandem import Circuit
        >>> c = Circuit(2, 2).h(0).cx(0, 1).rzz(0.3, 0, 1).measure([0, 1], [0, 1])
        >>> cc = to_cirq(c)
        >>> sorted(cirq.measurement_key_names(cc))
        ['c[0]', 'c[1]']
        >>> u = Circuit(2).h(0).cp(0.7, 0, 1).u3(0.1, 0.2, 0.3, 1)
        >>> numpy.allclose(to_cirq(u).unitary(qubit_order=cirq.LineQubit.range(2)[::-1]), qtandem.unitary(u).numpy())
        True
    """
    cirq = _need_cirq()
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"to_cirq expects a qtandem Circuit, got {type(circuit).__name__}")
    qubits = cirq.LineQubit.range(circuit.n_qubits)
    keys = [f"{name}[{i}]" for name, size in circuit.cregs for i in range(size)]
    ops = []
    for inst in circuit:
        qs = [qubits[q] for q in inst.qubits]
        if inst.name == "barrier":
            continue
        if inst.name == "measure":
            new = [cirq.measure(q, key=keys[c]) for q, c in zip(qs, inst.clbits, strict=True)]
        elif inst.name == "reset":
            new = [cirq.ResetChannel().on(q) for q in qs]
        elif inst.name == "delay":
            duration = cirq.Duration(nanos=float(inst.params[0]))  # type: ignore[arg-type]
            new = [cirq.WaitGate(duration, num_qubits=len(qs)).on(*qs)]
        else:
            new = [_cirq_gate(cirq, inst).on(*qs)]
        if inst.condition is not None:
            new = [op.with_classical_controls(_cirq_condition(inst.condition, keys)) for op in new]
        ops.extend(new)
    return cirq.Circuit(ops, strategy=cirq.InsertStrategy.INLINE)  # program order kept


def _sympy(value: Angle, scale: float = 1.0) -> Any:
    """``value * scale`` as a float or a sympy expression in the parameters."""
    import sympy

    if not is_symbolic(value):
        return float(value) * scale
    assert isinstance(value, ParameterExpression)
    out = sympy.Float(value.const * scale)
    for p, coef in value.terms.items():
        out += coef * scale * sympy.Symbol(p.name)
    return out


def _cirq_gate(cirq: Any, inst: Instruction) -> Any:
    name, params = inst.name, inst.params
    fixed = {"id": cirq.I, "x": cirq.X, "y": cirq.Y, "z": cirq.Z, "h": cirq.H, "s": cirq.S, "sdg": cirq.S**-1,
             "t": cirq.T, "tdg": cirq.T**-1, "sx": cirq.XPowGate(exponent=0.5), "sxdg": cirq.XPowGate(exponent=-0.5),
             "cx": cirq.CNOT, "cz": cirq.CZ, "swap": cirq.SWAP, "iswap": cirq.ISWAP, "ccx": cirq.CCX,
             "ccz": cirq.CCZ, "cswap": cirq.CSWAP, "cy": cirq.ControlledGate(cirq.Y),
             "ch": cirq.ControlledGate(cirq.H)}
    inv_pi = 1 / math.pi
    angled = {
        "rx": lambda a: cirq.rx(_sympy(a)), "ry": lambda a: cirq.ry(_sympy(a)), "rz": lambda a: cirq.rz(_sympy(a)),
        "p": lambda a: cirq.ZPowGate(exponent=_sympy(a, inv_pi)),
        "u1": lambda a: cirq.ZPowGate(exponent=_sympy(a, inv_pi)),
        "cp": lambda a: cirq.CZPowGate(exponent=_sympy(a, inv_pi)),
        "crx": lambda a: cirq.ControlledGate(cirq.rx(_sympy(a))),
        "cry": lambda a: cirq.ControlledGate(cirq.ry(_sympy(a))),
        "crz": lambda a: cirq.ControlledGate(cirq.rz(_sympy(a))),
        "rxx": lambda a: cirq.XXPowGate(exponent=_sympy(a, inv_pi), global_shift=-0.5),
        "ryy": lambda a: cirq.YYPowGate(exponent=_sympy(a, inv_pi), global_shift=-0.5),
        "rzz": lambda a: cirq.ZZPowGate(exponent=_sympy(a, inv_pi), global_shift=-0.5),
    }
    k = len(inst.qubits) - inst.ctrl
    if name in fixed:
        gate = fixed[name]
    elif name in angled:
        gate = angled[name](params[0])
    elif name == "mcx":
        gate = cirq.X.controlled(k - 1)
    elif any(is_symbolic(p) for p in params):
        raise CircuitError(f"to_cirq: gate {inst.label!r} with symbolic angles {list(params)} has no parametrised "
                           "Cirq gate; bind the parameters first (circuit.bind)")
    else:  # numeric: qtandem's own matrix, reordered for Cirq (first qubit most significant)
        values = [float(p) for p in params]
        matrix = inst.matrix if name == "unitary" else gate_matrix(name, values, num_qubits=k).numpy()
        gate = cirq.MatrixGate(_big_endian(np.asarray(matrix), k))
    if inst.inverted:
        gate = cirq.inverse(gate)
    if inst.ctrl:
        gate = gate.controlled(inst.ctrl)
    return gate


def _big_endian(matrix: np.ndarray, k: int) -> np.ndarray:
    """The same operator with the qubit order of its index reversed."""
    t = matrix.reshape([2] * (2 * k))
    axes = list(range(k))[::-1] + list(range(k, 2 * k))[::-1]
    return t.transpose(axes).reshape(2**k, 2**k)


def _cirq_condition(cond: tuple[tuple[int, ...], int], keys: list[str]) -> Any:
    import sympy

    cirq = _need_cirq()
    bits, value = cond
    if len(bits) == 1 and value == 1:
        return cirq.KeyCondition(cirq.MeasurementKey(keys[bits[0]]))
    total = sum(2**k * sympy.Symbol(keys[b]) for k, b in enumerate(bits))
    return cirq.SympyCondition(sympy.Eq(total, value))
