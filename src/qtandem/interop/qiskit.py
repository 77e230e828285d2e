"""Qiskit circuits to and from qtandem: :func:`from_qiskit` and :func:`to_qiskit`.

Gates map one to one where both libraries have the same matrix (``rz`` is ``rz``,
``u1`` is ``u1``: no phase is lost between them); a Qiskit gate qtandem lacks
(``ecr``, ``rzx``, ``dcx``, ``xx_plus_yy``, library circuits...) is expanded through
its Qiskit definition (what Qiskit's transpiler would run: a ``PauliEvolutionGate``
becomes its product-formula circuit, not the exact exponential ``Operator`` computes),
and a controlled gate with a base gate qtandem knows becomes that gate with ``ctrl``
controls; an operation with neither a definition nor a counterpart but a numeric
matrix (an ``AnnotatedOperation`` with a power modifier) becomes a ``unitary``.
Parameters stay symbolic on both sides (a
qtandem angle is linear in its parameters, so a nonlinear Qiskit expression is
refused), ``ParameterVector`` elements ``w[i]`` keep their names, and registers,
``measure``, ``reset``, ``barrier``, ``delay`` and classical conditions (``if_test`` on a
register or bit value, and conjunctions of bit tests) carry over.

A ``delay`` keeps its duration: qtandem stores nanoseconds, :func:`to_qiskit` writes
``Delay(ns, unit="ns")`` on each qubit, and :func:`from_qiskit` converts ``s``, ``ms``,
``us``, ``ns`` and ``ps``, and ``dt`` (the backend's sample time) only when given
``dt=``. Qiskit delays are one qubit each; consecutive delays of one duration on
distinct qubits (what ``qc.delay(d, [a, b])`` appends) become one qtandem delay that
covers them (they idle together), so a multi-qubit delay round-trips.

qtandem circuits carry no global phase: :func:`from_qiskit` drops Qiskit's
``global_phase`` (nothing measurable depends on it) unless asked to keep it as
gates, and :func:`to_qiskit` returns a circuit whose ``Operator`` equals
``qtandem.sim.unitary`` exactly.

Qiskit is imported only inside these functions (``pip install qtandem[qiskit]``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem.circuit import Circuit, Instruction, Parameter, ParameterExpression
from qtandem.circuit.gates import GATES
from qtandem.circuit.instruction import delay_ns
from qtandem.circuit.parameter import Angle, is_symbolic
from qtandem.errors import ArgumentTypeError, CircuitError, ParameterError

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

__all__ = ["from_qiskit", "to_qiskit"]

# Qiskit name -> qtandem name, where the matrices are equal for the same angles in the same order
# (tests/interop/test_qiskit.py checks every pair against qiskit.quantum_info.Operator).
_SAME = ("id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz", "p", "u1", "u2", "u3",
         "u", "cx", "cy", "cz", "ch", "csx", "swap", "iswap", "crx", "cry", "crz", "cp", "cu3", "cu", "rxx", "ryy",
         "rzz", "ccx", "ccz", "cswap", "rccx", "mcx")
FROM_QISKIT: dict[str, str] = {**{n: n for n in _SAME}, "rcccx": "rc3x", "c3sx": "c3sqrtx", "cu1": "cp"}
_FIXED = {"cs": ("cp", (math.pi / 2,)), "csdg": ("cp", (-math.pi / 2,))}  # gates that are a qtandem gate at one angle
_MAX_DEPTH = 64  # nested definitions / control flow
_VECTOR_NAME = re.compile(r"^(.+)\[([0-9]+)\]$")
_QTANDEM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NEVER = ((), -1)  # a condition that is never true (contradictory bit tests)

Condition = tuple[tuple[int, ...], int]


def _need_qiskit() -> Any:
    try:
        import qiskit
    except ImportError:  # pragma: no cover - the dev extra installs qiskit
        raise ImportError("qtandem.interop needs Qiskit: pip install 'qtandem[qiskit]'") from None
    return qiskit


def from_qiskit(qc: QuantumCircuit, *, keep_global_phase: bool = False, dt: float | None = None) -> Circuit:
    """Convert a Qiskit ``QuantumCircuit`` into a qtandem :class:`~qtandem.Circuit`.

    Args:
        qc: the Qiskit circuit.
        keep_global_phase: qtandem circuits have no global phase, so Qiskit's
            ``global_phase`` (and the phase of expanded definitions) is dropped by
            default; ``True`` appends it as ``p(2*phi)`` and ``rz(-2*phi)`` on qubit 0
            so that the unitary matches ``Operator(qc)`` exactly.
        dt: the backend's sample time in seconds (``backend.dt``), needed only to
            convert delays given in ``dt`` units.

    Returns:
        The circuit, with Qiskit's registers (names and sizes, when they cover the
        bits in order), parameters (names made into identifiers: ``θ[3]`` becomes
        ``theta[3]``) and name.

    Raises:
        ImportError: Qiskit is not installed.
        ArgumentTypeError: ``qc`` is not a ``QuantumCircuit``.
        CircuitError: an instruction with no qtandem equivalent and no definition
            (named, with its index), a condition qtandem cannot express, or control
            flow other than ``if_test``, ``for_loop``, ``switch`` on a register and ``box``;
            a delay in ``dt`` without ``dt=``, with a symbolic (parameter or stretch)
            duration, or inside a condition.
        ParameterError: a parameter expression that is not linear.

    Examples:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.circuit import Parameter
        >>> qc = QuantumCircuit(2, 2)
        >>> _ = qc.ecr(0, 1)                    # no qtandem gate: expanded through its definition
        >>> _ = qc.rz(2 * Parameter("a") + 0.5, 1)
        >>> _ = qc.measure([0, 1], [0, 1])
        >>> c = from_qiskit(qc)
        >>> c.count_ops()
        {'s': 1, 'sx': 1, 'cx': 1, 'x': 1, 'rz': 1, 'measure': 2}
        >>> c[4].params
        (ParameterExpression(2*a + 0.5),)
        >>> qc = QuantumCircuit(2)
        >>> _ = qc.delay(1.5, [0, 1], unit="us")
        >>> from_qiskit(qc)[0]
        Instruction('delay', qubits=(0, 1), params=(1500.0))
    """
    qiskit = _need_qiskit()
    if not isinstance(qc, qiskit.QuantumCircuit):
        raise ArgumentTypeError(f"from_qiskit expects a qiskit.QuantumCircuit, got {type(qc).__name__}")
    if dt is not None and (isinstance(dt, bool) or not isinstance(dt, int | float) or not 0 < dt < math.inf):
        raise ArgumentTypeError(f"from_qiskit: dt must be a positive number of seconds (backend.dt), got {dt!r}")
    return _FromQiskit(qc, keep_global_phase, dt).run()


class _FromQiskit:
    def __init__(self, qc: Any, keep_global_phase: bool, dt: float | None = None) -> None:
        self.qc = qc
        self.keep = keep_global_phase
        self.dt = dt
        self.pending: Instruction | None = None  # a delay that the next delay of the same duration may join
        self.params: dict[Any, Parameter] = {}  # qiskit Parameter -> qtandem Parameter
        self.taken: set[str] = set()
        self.phase: Angle = 0.0
        self.out = Circuit(qc.num_qubits, qc.num_clbits, name=qc.name,
                           qregs=_registers(qc.qregs, qc.qubits), cregs=_registers(qc.cregs, qc.clbits))
        self.where = "global_phase"

    def run(self) -> Circuit:
        qc = self.qc
        qidx = {b: i for i, b in enumerate(qc.qubits)}
        cidx = {b: i for i, b in enumerate(qc.clbits)}
        self.add_phase(qc.global_phase, None)
        self.block(qc, qidx, cidx, None, 0, top=True)
        self.flush()
        if self.keep and self.phase != 0.0:
            if not self.out.n_qubits:
                raise CircuitError("from_qiskit: keep_global_phase needs at least one qubit to carry the phase")
            self.out.p(2 * self.phase, 0).rz(-2 * self.phase, 0)
        return self.out

    # -- parameters ------------------------------------------------------------
    def param(self, qp: Any) -> Parameter:
        got = self.params.get(qp)
        if got is None:
            vector = getattr(qp, "vector", None)
            if vector is not None:
                name = f"{_identifier(vector.name)}[{qp.index}]"
            else:
                name = qp.name if _QTANDEM_NAME.match(qp.name) else _identifier(qp.name)
            base, k = name, 2
            while name in self.taken:  # two Qiskit names that became the same identifier
                m = _VECTOR_NAME.match(base)
                name = f"{m.group(1)}_{k}[{m.group(2)}]" if m else f"{base}_{k}"
                k += 1
            self.taken.add(name)
            got = self.params[qp] = Parameter(name)
        return got

    def angle(self, value: Any) -> Angle:
        from qiskit.circuit import ParameterExpression as QiskitExpression

        if not isinstance(value, QiskitExpression):
            return _real(value, self.where)
        free = list(value.parameters)
        if not free:
            return _real(value.numeric(), self.where)
        terms: dict[Parameter, float] = {}
        for qp in sorted(free, key=lambda p: p.name):
            grad = value.gradient(qp)
            if isinstance(grad, QiskitExpression) and grad.parameters:
                raise ParameterError(f"from_qiskit: {self.where}: the angle {value} is not linear in its parameters "
                                     "(qtandem angles are c0 + c1*p1 + ...); bind the parameters first "
                                     "(qc.assign_parameters)")
            terms[self.param(qp)] = _real(grad.numeric() if isinstance(grad, QiskitExpression) else grad, self.where)
        const = _real(value.bind(dict.fromkeys(free, 0.0)).numeric(), self.where)
        if len(terms) == 1 and const == 0.0 and next(iter(terms.values())) == 1.0:
            return next(iter(terms))
        return ParameterExpression(terms, const)

    def add_phase(self, value: Any, cond: Condition | None) -> None:
        phase = self.angle(value)
        if phase == 0.0:
            return
        if cond is None:
            self.phase = self.phase + phase  # type: ignore[assignment]
        elif self.keep and self.out.n_qubits:  # a phase on one classical branch: emit it there
            self.emit(Instruction("p", (0,), (2 * phase,), condition=cond))
            self.emit(Instruction("rz", (0,), (-2 * phase,), condition=cond))

    # -- instructions ----------------------------------------------------------
    def flush(self) -> None:
        if self.pending is not None:
            self.out.append(self.pending)
            self.pending = None

    def delay(self, op: Any, qubits: tuple[int, ...], cond: Condition | None) -> None:
        """A Qiskit ``Delay``: its duration in ns; joins the previous delay when they idle together."""
        if cond is not None:
            raise CircuitError(f"from_qiskit: {self.where}: a delay inside a condition has no qtandem form "
                               "(qtandem's delays are unconditional)")
        duration, unit = op.params[0] if op.params else op.duration, op.unit
        if unit == "expr" or not isinstance(duration, int | float | np.integer | np.floating):
            raise CircuitError(f"from_qiskit: {self.where}: a delay of symbolic duration {duration} ({unit}) has no "
                               "qtandem form; assign a number first")
        if unit == "dt":
            if self.dt is None:
                raise CircuitError(f"from_qiskit: {self.where}: delay of {duration} dt: dt (the backend's sample "
                                   "time) is unknown; pass from_qiskit(qc, dt=backend.dt) or give the delay in "
                                   "s, ms, us or ns")
            duration, unit = float(duration) * self.dt, "s"
        elif unit == "ps":
            duration, unit = float(duration) * 1e-3, "ns"
        try:
            ns = delay_ns(float(duration), unit)
        except CircuitError as exc:
            raise CircuitError(f"from_qiskit: {self.where}: {exc}") from None
        last = self.pending
        if last is not None and last.params == (ns,) and not set(last.qubits) & set(qubits):
            self.pending = last.replace(qubits=last.qubits + qubits)
            return
        self.flush()
        self.pending = Instruction("delay", qubits, (ns,))

    def emit(self, inst: Instruction) -> None:
        self.flush()
        if inst.condition == _NEVER:
            return
        if inst.condition is not None and inst.name == "measure" and set(inst.clbits) & set(inst.condition[0]):
            raise CircuitError(f"from_qiskit: {self.where}: a conditioned block measures into the bits of its own "
                               "condition; qtandem tests the condition once per instruction, so this cannot be "
                               "represented")
        self.out.append(inst)

    def block(self, body: Any, qidx: dict, cidx: dict, cond: Condition | None, depth: int, *,
              top: bool = False) -> None:
        if depth > _MAX_DEPTH:
            raise CircuitError(f"from_qiskit: {self.where}: definitions nested more than {_MAX_DEPTH} deep")
        for k, ci in enumerate(body.data):
            op = ci.operation
            if top:
                self.where = f"instruction {k} ({op.name})"
            qubits = tuple(qidx[b] for b in ci.qubits)
            clbits = tuple(cidx[b] for b in ci.clbits)
            self.op(op, qubits, clbits, cidx, cond, depth)

    def op(self, op: Any, qubits: tuple[int, ...], clbits: tuple[int, ...], cidx: dict, cond: Condition | None,
           depth: int) -> None:
        name = op.name
        if name in ("measure", "reset", "barrier"):
            if name == "barrier":
                cond = None  # a barrier has no effect to condition
            self.emit(Instruction(name, qubits, (), clbits, condition=cond))
            return
        if name == "delay":
            self.delay(op, qubits, cond)
            return
        if name == "global_phase":
            self.add_phase(op.params[0], cond)
            return
        if name in ("if_else", "for_loop", "switch_case", "box", "while_loop", "break_loop", "continue_loop"):
            self.control_flow(op, qubits, clbits, cidx, cond, depth)
            return
        if getattr(op, "num_clbits", 0) == 0 and self.gate(op, qubits, cond):
            return
        definition = _definition(op)
        if definition is None and not _symbolic(op):
            matrix = _matrix(op)
            if matrix is not None:  # e.g. an AnnotatedOperation with a power modifier: its numeric matrix
                self.emit(Instruction("unitary", qubits, matrix=matrix, condition=cond))
                return
        if definition is None:
            raise CircuitError(f"from_qiskit: {self.where}: {_describe(op)} has no qtandem equivalent and no "
                               "definition to expand; decompose it in Qiskit first (qc.decompose()) or replace it")
        self.add_phase(definition.global_phase, cond)
        self.block(definition, dict(zip(definition.qubits, qubits, strict=True)),
                   dict(zip(definition.clbits, clbits, strict=True)), cond, depth + 1)

    def gate(self, op: Any, qubits: tuple[int, ...], cond: Condition | None) -> bool:
        """Emit ``op`` as one qtandem instruction if it has an equivalent; False if it must be expanded."""
        name = op.name
        num_ctrl = getattr(op, "num_ctrl_qubits", 0)
        if num_ctrl and op.ctrl_state != 2**num_ctrl - 1:
            return False  # open controls: Qiskit's definition wraps them in X gates
        if name in FROM_QISKIT and len(op.params) == GATES[FROM_QISKIT[name]].num_params:
            self.emit(Instruction(FROM_QISKIT[name], qubits, [self.angle(p) for p in op.params], condition=cond))
            return True
        if name in _FIXED:
            self.emit(Instruction(_FIXED[name][0], qubits, _FIXED[name][1], condition=cond))
            return True
        if name == "unitary" and not num_ctrl:
            self.emit(Instruction("unitary", qubits, matrix=np.asarray(op.to_matrix()), condition=cond))
            return True
        if name == "annotated":
            return self.annotated(op, qubits, cond)
        base = getattr(op, "base_gate", None)
        if num_ctrl and base is not None and base.name in FROM_QISKIT and not getattr(base, "num_ctrl_qubits", 0) \
                and len(base.params) == GATES[FROM_QISKIT[base.name]].num_params:
            params = [self.angle(p) for p in base.params]
            self.emit(Instruction(FROM_QISKIT[base.name], qubits, params, ctrl=num_ctrl, condition=cond))
            return True
        return False

    def annotated(self, op: Any, qubits: tuple[int, ...], cond: Condition | None) -> bool:
        """An ``AnnotatedOperation`` of inverse and (closed) control modifiers on a gate qtandem has."""
        from qiskit.circuit.annotated_operation import ControlModifier, InverseModifier

        base, ctrl, inverted = op.base_op, 0, False
        for mod in op.modifiers:
            if isinstance(mod, InverseModifier):
                inverted = not inverted
            elif isinstance(mod, ControlModifier) and mod.ctrl_state == 2**mod.num_ctrl_qubits - 1:
                ctrl += mod.num_ctrl_qubits
            else:
                return False
        name = FROM_QISKIT.get(base.name)
        if name is None or bool(getattr(base, "num_ctrl_qubits", 0)):
            return False
        if len(base.params) != GATES[name].num_params:
            return False
        params = [self.angle(p) for p in base.params]
        self.emit(Instruction(name, qubits, params, ctrl=ctrl, inverted=inverted, condition=cond))
        return True

    def control_flow(self, op: Any, qubits: tuple[int, ...], clbits: tuple[int, ...], cidx: dict,
                     cond: Condition | None, depth: int) -> None:
        from qiskit.circuit import ClassicalRegister, Clbit

        name = op.name

        def inner(body: Any) -> tuple[dict, dict]:
            return (dict(zip(body.qubits, qubits, strict=True)),
                    dict(zip(body.clbits, clbits, strict=True)))

        if name == "box":
            (body,) = op.blocks
            self.block(body, *inner(body), cond, depth + 1)
        elif name == "for_loop":
            indexset, loop_param, body = op.params
            for i in indexset:
                bound = body.assign_parameters({loop_param: i}) if loop_param is not None else body
                self.block(bound, *inner(bound), cond, depth + 1)
        elif name == "if_else":
            test = self.condition(op.condition, cidx)
            if test == _NEVER and len(op.blocks) > 1:  # only the else branch runs
                self.block(op.blocks[1], *inner(op.blocks[1]), cond, depth + 1)
                return
            true_body, false_body = op.blocks[0], op.blocks[1] if len(op.blocks) > 1 else None
            self.block(true_body, *inner(true_body), _merge(cond, test), depth + 1)
            if false_body is not None:
                if len(test[0]) != 1:
                    raise CircuitError(f"from_qiskit: {self.where}: an else branch on a multi-bit condition "
                                       "(register != value) cannot be expressed as a qtandem condition")
                self.block(false_body, *inner(false_body), _merge(cond, (test[0], 1 - test[1])), depth + 1)
        elif name == "switch_case":
            if not isinstance(op.target, Clbit | ClassicalRegister):
                raise CircuitError(f"from_qiskit: {self.where}: a switch on an expression cannot be expressed as a "
                                   "qtandem condition (switch on a register or a bit)")
            target = self.condition((op.target, 0), cidx)[0]
            for values, body in op.cases_specifier():
                for value in values:
                    if not isinstance(value, int):  # CASE_DEFAULT
                        raise CircuitError(f"from_qiskit: {self.where}: a switch default case cannot be expressed "
                                           "as a qtandem condition")
                    self.block(body, *inner(body), _merge(cond, (target, int(value))), depth + 1)
        else:
            raise CircuitError(f"from_qiskit: {self.where}: {name} is not supported (qtandem circuits have "
                               "if_test-style conditions on bits, and for loops are unrolled)")

    def condition(self, test: Any, cidx: dict) -> Condition:
        from qiskit.circuit import ClassicalRegister, Clbit

        if isinstance(test, tuple):
            target, value = test
            if isinstance(target, Clbit):
                return ((_outer(cidx, target),), int(bool(value)))
            if isinstance(target, ClassicalRegister):
                bits = tuple(_outer(cidx, b) for b in target)
                return (bits, int(value)) if 0 <= int(value) < 2 ** len(bits) else _NEVER
        return self.expr_condition(test, cidx)

    def expr_condition(self, e: Any, cidx: dict) -> Condition:
        from qiskit.circuit import ClassicalRegister, Clbit
        from qiskit.circuit.classical import expr, types

        if isinstance(e, expr.Var) and isinstance(e.var, Clbit):
            return ((_outer(cidx, e.var),), 1)
        if isinstance(e, expr.Unary) and e.op in (expr.Unary.Op.LOGIC_NOT, expr.Unary.Op.BIT_NOT):
            bits, value = self.expr_condition(e.operand, cidx)
            if len(bits) == 1:
                return (bits, 1 - value)
        if isinstance(e, expr.Binary):
            if e.op == expr.Binary.Op.LOGIC_AND or (e.op == expr.Binary.Op.BIT_AND and isinstance(e.type, types.Bool)):
                both = _merge(self.expr_condition(e.left, cidx), self.expr_condition(e.right, cidx))
                assert both is not None
                return both
            if e.op in (expr.Binary.Op.EQUAL, expr.Binary.Op.NOT_EQUAL):
                var, val = (e.left, e.right) if isinstance(e.right, expr.Value) else (e.right, e.left)
                while isinstance(var, expr.Cast) and isinstance(var.operand, expr.Var):
                    var = var.operand
                if isinstance(var, expr.Var) and isinstance(val, expr.Value) \
                        and isinstance(var.var, Clbit | ClassicalRegister):
                    bits, value = self.condition((var.var, int(val.value)), cidx)
                    if e.op == expr.Binary.Op.EQUAL:
                        return (bits, value)
                    if len(bits) == 1:
                        return (bits, 1 - value)
        raise CircuitError(f"from_qiskit: {self.where}: the condition {e} cannot be expressed in qtandem, whose "
                           "conditions test classical bits against one value (register == value, bit == 0 or 1, "
                           "and conjunctions of those)")


def _outer(cidx: dict, bit: Any) -> int:
    try:
        return int(cidx[bit])
    except KeyError:
        raise CircuitError(f"from_qiskit: the classical bit {bit} is not in the circuit") from None


def _merge(a: Condition | None, b: Condition | None) -> Condition | None:
    """Both conditions at once (``None``: always true; ``_NEVER``: never)."""
    if a is None or b is None:
        a = b if a is None else a
        return _NEVER if a is not None and (a[1] < 0 or a[1] >> len(a[0])) else a
    if _NEVER in (a, b) or a[1] >> len(a[0]) or b[1] >> len(b[0]):
        return _NEVER
    want: dict[int, int] = {}
    for bits, value in (a, b):
        for k, bit in enumerate(bits):
            v = (value >> k) & 1
            if want.setdefault(bit, v) != v:
                return _NEVER
    return (tuple(want), sum(v << k for k, v in enumerate(want.values())))


def _definition(op: Any) -> Any:
    try:
        return getattr(op, "definition", None)
    except Exception as err:  # Qiskit raises various errors for gates it cannot synthesise
        raise CircuitError(f"from_qiskit: {_describe(op)}: Qiskit could not build its definition ({err})") from None


def _symbolic(op: Any) -> bool:
    from qiskit.circuit import ParameterExpression as QiskitExpression

    return any(isinstance(p, QiskitExpression) and p.parameters for p in getattr(op, "params", ()))


def _matrix(op: Any) -> np.ndarray | None:
    """The operation's numeric matrix (little-endian, as qtandem), or ``None`` if Qiskit cannot give one."""
    from qiskit.quantum_info import Operator

    try:
        return np.asarray(Operator(op).data)
    except Exception:  # Qiskit raises various errors for operations without a matrix
        return None


def _describe(op: Any) -> str:
    kind = "gate" if op.num_clbits == 0 else "instruction"
    return f"{kind} {op.name!r} ({type(op).__name__} on {op.num_qubits} qubit(s))"


def _real(value: Any, where: str) -> float:
    try:
        z = complex(value)
    except (TypeError, ValueError):
        raise CircuitError(f"from_qiskit: {where}: angle {value!r} is not a number") from None
    if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)):
        raise CircuitError(f"from_qiskit: {where}: angle {value!r} is complex")
    return z.real


def _identifier(name: str) -> str:
    """A qtandem parameter name for a Qiskit one: Greek letters spelled out (``θ`` -> ``theta``), others ``_``."""
    out = []
    for ch in name:
        if ch.isascii() and (ch.isalnum() or ch == "_"):
            out.append(ch)
            continue
        words = unicodedata.name(ch, "").split()
        if words[:2] == ["GREEK", "SMALL"] and words[2:3] == ["LETTER"]:
            out.append(words[-1].lower())
        elif words[:2] == ["GREEK", "CAPITAL"] and words[2:3] == ["LETTER"]:
            out.append(words[-1].capitalize())
        else:
            out.append("_")
    text = "".join(out) or "p"
    return text if not text[0].isdigit() else f"p_{text}"


def _registers(regs: Any, bits: Any) -> list[tuple[str, int]] | None:
    """qtandem ``(name, size)`` registers when Qiskit's cover the bits in order, else ``None`` (one default)."""
    flat = [b for reg in regs for b in reg]
    if not regs or flat != list(bits):
        return None
    return [(reg.name, reg.size) for reg in regs]


def to_qiskit(circuit: Circuit) -> QuantumCircuit:
    """Convert a qtandem :class:`~qtandem.Circuit` into a Qiskit ``QuantumCircuit``.

    Every registry gate has a Qiskit gate of the same matrix (``rc3x`` is ``RC3XGate``,
    ``c3sqrtx`` is ``C3SXGate``, ``unitary`` is ``UnitaryGate``); ``ctrl`` and
    ``inverted`` become ``gate.control(k)`` and ``gate.inverse()``; a ``delay``
    becomes ``qc.delay(ns, qubits, unit="ns")`` (one ``Delay`` per qubit); a condition
    becomes an ``if_test`` on the register it covers, on one bit, or on a
    conjunction of bit tests. Parameters named ``w[0]``, ``w[1]``... become a
    ``ParameterVector("w", n)``, the others ``Parameter(name)``, so
    ``qc.assign_parameters({"theta": 0.5})`` binds by name.

    Args:
        circuit: the qtandem circuit.

    Returns:
        A ``QuantumCircuit`` with the same registers and name; ``Operator(qc)``
        equals ``qtandem.sim.unitary(circuit)`` exactly (global phase included).

    Raises:
        ImportError: Qiskit is not installed.
        ArgumentTypeError: ``circuit`` is not a qtandem ``Circuit``.

    Examples:
        >>> from qtandem import Circuit, Parameter
        >>> c = Circuit(3, 1).h(0).crz(Parameter("w[1]") / 2, 0, 2).iswap(1, 2).measure(2, 0)
        >>> qc = to_qiskit(c)
        >>> [inst.operation.name for inst in qc.data]
        ['h', 'crz', 'iswap', 'measure']
        >>> qc.parameters[0].vector.name, qc.parameters[0].index
        ('w', 1)
        >>> from qiskit.quantum_info import Operator
        >>> import qtandem, numpy
        >>> u = Circuit(2).sx(0).cp(0.3, 0, 1).u2(0.1, 0.2, 1)
        >>> numpy.allclose(Operator(to_qiskit(u)).data, qtandem.unitary(u).numpy())
        True
    """
    _need_qiskit()
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"to_qiskit expects a qtandem Circuit, got {type(circuit).__name__}")
    return _ToQiskit(circuit).run()


class _ToQiskit:
    def __init__(self, circuit: Circuit) -> None:
        from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
        from qiskit.circuit import Parameter as QiskitParameter
        from qiskit.circuit import ParameterVector

        self.circuit = circuit
        qregs = [QuantumRegister(size, name) for name, size in circuit.qregs]
        cregs = [ClassicalRegister(size, name) for name, size in circuit.cregs]
        self.qc = QuantumCircuit(*qregs, *cregs, name=circuit.name)
        self.qubits, self.clbits = list(self.qc.qubits), list(self.qc.clbits)
        sizes: dict[str, int] = {}
        for p in circuit.parameters:
            m = _VECTOR_NAME.match(p.name)
            if m:
                sizes[m.group(1)] = max(sizes.get(m.group(1), 0), int(m.group(2)) + 1)
        vectors = {base: ParameterVector(base, n) for base, n in sizes.items()}
        self.params: dict[str, Any] = {}
        for p in circuit.parameters:
            m = _VECTOR_NAME.match(p.name)
            self.params[p.name] = vectors[m.group(1)][int(m.group(2))] if m else QiskitParameter(p.name)

    def angle(self, value: Angle) -> Any:
        if not is_symbolic(value):
            return float(value)
        assert isinstance(value, ParameterExpression)
        out: Any = None
        for p, coef in value.terms.items():
            term = self.params[p.name] if coef == 1.0 else coef * self.params[p.name]
            out = term if out is None else out + term
        return out + value.const if value.const else out

    def run(self) -> Any:
        qc = self.qc
        run: list[Instruction] = []
        for inst in [*self.circuit, None]:
            if run and (inst is None or inst.condition != run[0].condition):
                if run[0].condition is None:
                    for r in run:
                        self.append(r)
                else:
                    with qc.if_test(self.condition(run[0].condition)):
                        for r in run:
                            self.append(r)
                run = []
            if inst is not None:
                run.append(inst)
        return qc

    def append(self, inst: Instruction) -> None:
        qc = self.qc
        qargs = [self.qubits[q] for q in inst.qubits]
        if inst.name == "measure":
            for q, c in zip(qargs, inst.clbits, strict=True):
                qc.measure(q, self.clbits[c])
        elif inst.name == "reset":
            for q in qargs:
                qc.reset(q)
        elif inst.name == "barrier":
            qc.barrier(*qargs)
        elif inst.name == "delay":
            qc.delay(float(inst.params[0]), qargs, unit="ns")  # type: ignore[arg-type]
        else:
            qc.append(self.gate(inst), qargs)

    def gate(self, inst: Instruction) -> Any:
        from qiskit.circuit import library as lib

        table: dict[str, Any] = {
            "id": lib.IGate, "x": lib.XGate, "y": lib.YGate, "z": lib.ZGate, "h": lib.HGate, "s": lib.SGate,
            "sdg": lib.SdgGate, "t": lib.TGate, "tdg": lib.TdgGate, "sx": lib.SXGate, "sxdg": lib.SXdgGate,
            "rx": lib.RXGate, "ry": lib.RYGate, "rz": lib.RZGate, "p": lib.PhaseGate, "u1": lib.U1Gate,
            "u2": lib.U2Gate, "u3": lib.U3Gate, "u": lib.UGate, "cx": lib.CXGate, "cy": lib.CYGate,
            "cz": lib.CZGate, "ch": lib.CHGate, "csx": lib.CSXGate, "swap": lib.SwapGate, "iswap": lib.iSwapGate,
            "crx": lib.CRXGate, "cry": lib.CRYGate, "crz": lib.CRZGate, "cp": lib.CPhaseGate, "cu3": lib.CU3Gate,
            "cu": lib.CUGate, "rxx": lib.RXXGate, "ryy": lib.RYYGate, "rzz": lib.RZZGate, "ccx": lib.CCXGate,
            "ccz": lib.CCZGate, "cswap": lib.CSwapGate, "rccx": lib.RCCXGate, "rc3x": lib.RC3XGate,
            "c3sqrtx": lib.C3SXGate,
        }
        params = [self.angle(p) for p in inst.params]
        if inst.name == "unitary":
            gate = lib.UnitaryGate(inst.matrix)
        elif inst.name == "mcx":
            gate = lib.MCXGate(len(inst.qubits) - inst.ctrl - 1)
        elif inst.name in table:
            gate = table[inst.name](*params)
        else:  # pragma: no cover - Circuit.append accepts registry gates only
            raise CircuitError(f"to_qiskit: gate {inst.name!r} has no Qiskit equivalent")
        if inst.inverted:
            gate = gate.inverse()
        if inst.ctrl:
            gate = gate.control(inst.ctrl)
        return gate

    def condition(self, cond: tuple[tuple[int, ...], int]) -> Any:
        from qiskit.circuit.classical import expr

        bits, value = cond
        wanted = [self.clbits[b] for b in bits]
        for reg in self.qc.cregs:
            if list(reg) == wanted:
                return (reg, value)
        if len(wanted) == 1:
            return (wanted[0], bool(value))
        tests = [expr.lift(b) if (value >> k) & 1 else expr.logic_not(b) for k, b in enumerate(wanted)]
        out = tests[0]
        for t in tests[1:]:
            out = expr.logic_and(out, t)
        if value >> len(wanted):  # a value no register of this width holds: never true
            out = expr.logic_and(out, expr.lift(False))
        return out
