"""Gate definitions, gate calls with register broadcasting, and the modifiers ``ctrl``/``negctrl``/``inv``/``pow``.

A ``gate`` definition is stored as a list of :class:`~qtandem.qasm.base.Call`
and expanded at each use into primitive gates (:class:`~qtandem.qasm.base.Prim`);
modifiers apply to the expansion from the innermost outwards. A definition named
like a registry gate with the same unitary is recognised and kept as that gate
(``_recognize``, with the dense-unitary helper ``_unitary`` at the end).

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> c = parse('OPENQASM 3.0; include "stdgates.inc"; gate bell a, b { h a; cx a, b; } qubit[3] q;'
    ...           'bell q[0], q[1]; ctrl @ inv @ s q[2], q[0];')
    >>> [(i.name, i.qubits, i.ctrl) for i in c]
    [('h', (0,), 0), ('cx', (0, 1), 0), ('sdg', (2, 0), 1)]
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

from qtandem.circuit.gates import GATES, controlled_matrix, fold_controls, gate_matrix, inverse_of
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter
from qtandem.errors import QasmError, QtandemError
from qtandem.qasm.base import (
    MAX_GATE_DEPTH,
    MAX_INSTRUCTIONS,
    MAX_MODIFIERS,
    MAX_WORK,
    Call,
    Condition,
    GateDef,
    ParserBase,
    Prim,
)
from qtandem.qasm.expr import CONSTANTS, Expr, as_angle
from qtandem.qasm.lexer import Token
from qtandem.qasm.stdlib import QELIB1, STDGATES
from qtandem.sim.dense import dense_unitary, equal_up_to_phase

_RECOGNISE_ATOL = 1e-9
"""Tolerance of the recogniser's unitary comparison (entries, and the phase modulus in OpenQASM 2)."""

__all__ = ["GatesMixin"]


class GatesMixin(ParserBase):
    """``gate`` definitions, gate-call statements, and their expansion into primitive gates.

    Examples:
        >>> from qtandem.qasm.parser import parse
        >>> c = parse('''OPENQASM 3.0; include "stdgates.inc"; qubit[2] q;
        ... gate bell a, b { h a; cx a, b; }
        ... bell q[0], q[1]; inv @ s q[1]; ctrl @ x q[1], q[0];''')
        >>> [inst.name for inst in c]
        ['h', 'cx', 'sdg', 'cx']
    """

    def gate_def(self) -> None:
        kw = self.next()
        name = self.ident("a gate name")
        params: list[str] = []
        if self.peek().value == "(":
            self.next()
            while self.peek().value != ")":
                t = self.ident("a parameter name")
                if t.value in params:
                    raise self.err(t, f"parameter {t.value!r} repeated")
                params.append(t.value)
                if self.peek().value == ",":
                    self.next()
                elif self.peek().value != ")":
                    raise self.err(self.peek(), f"expected ',' or ')', got {self.peek().value!r}")
            self.next()
        qargs: list[str] = []
        while self.peek().value != "{":
            t = self.ident("a qubit argument name")
            if t.value in qargs:
                raise self.err(t, f"qubit argument {t.value!r} repeated")
            qargs.append(t.value)
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != "{":
                raise self.err(self.peek(), f"expected ',' or '{{', got {self.peek().value!r}")
        if not qargs:
            raise self.err(name, f"gate {name.value!r} needs at least one qubit argument")
        if name.value in self.st.defs or (name.value in self.st.gates and name.value not in self.st.recognized):
            where = self.st.libraries.get(name.value, "an earlier definition")
            raise self.err(name, f"gate {name.value!r} is already defined (by {where})")
        self.expect("{")
        body: list[Call] = []
        allowed = set(params) | set(CONSTANTS) | (set(self.st.constants) if self.st.version == 3 else set())
        while self.peek().value != "}":
            t = self.peek()
            if t.kind == "eof":
                raise self.err(kw, f"unclosed body of gate {name.value!r}: expected '}}'")
            if t.value == ";":
                self.next()
                continue
            if t.value in ("delay", "box") and self.peek(1).value in ("[", "{"):
                raise self.err(t, f"not supported: {t.value} inside a gate definition (write it where the gate is "
                                  "used)")
            if t.value == "barrier":
                self.next()
                while self.peek().value != ";":
                    q = self.ident("a qubit argument")
                    if q.value not in qargs:
                        raise self.err(q, f"{q.value!r} is not a qubit argument of gate {name.value!r}")
                    if self.peek().value == ",":
                        self.next()
                    elif self.peek().value != ";":
                        raise self.err(self.peek(), f"missing ';' or ',' before {self.peek().value!r}")
                self.next()
                continue
            if t.value in ("gate", "measure", "reset", "qreg", "creg", "qubit", "bit", "if", "for", "include"):
                raise self.err(t, f"{t.value!r} is not allowed inside a gate definition")
            call = self.parse_call(local=True)
            if call.name == name.value:
                raise self.err(call.tok, f"gate {name.value!r} calls itself: recursive definitions are not allowed")
            if call.name not in self.st.gates and call.name not in self.st.defs and \
                    not (call.name == "gphase" and self.st.version == 3):
                raise self._unknown_gate(call)
            for q in call.qargs:
                if q.value not in qargs:
                    raise self.err(q, f"{q.value!r} is not a qubit argument of gate {name.value!r} "
                                      f"({', '.join(qargs)})")
            for e in [*call.args, *(m[1] for m in call.mods if m[1] is not None)]:
                for op, arg, otok in e.ops:
                    if op in ("name", "index") and arg not in allowed:
                        raise self.err(otok, f"unknown identifier {arg!r} in the body of gate {name.value!r} "
                                             f"(its parameters: {', '.join(params) or 'none'})")
            body.append(call)
        self.next()
        gdef = GateDef(name.value, params, qargs, body, name)
        self.st.defs[name.value] = gdef
        self.st.libraries[name.value] = "an earlier definition"
        self._recognize(gdef)
        if gdef.name not in self.st.recognized:
            self._export(gdef)

    def _export(self, gdef: GateDef) -> None:
        """Keep the definition's body, symbolic in its parameters, so writers can emit the ``gate`` again."""
        saved = self.st.work
        self.st.work = MAX_WORK - 20_000  # a body that expands to more is written inline
        try:
            symbols = [Parameter(p) for p in gdef.params]
            prims = self.expand_def(gdef, list(symbols), tuple(range(len(gdef.qargs))), depth=0)
            if len(prims) > 1000 or any(p.name == "gphase" for p in prims):
                return
            body = [Instruction(p.name, p.qubits, [as_angle(v, gdef.tok, self.src) for v in p.params], ctrl=p.ctrl,
                                inverted=p.inverted) for p in prims]
        except (QtandemError, ValueError, TypeError):
            return
        finally:
            self.st.work = saved
        self.st.exports[gdef.name] = (list(gdef.params), list(gdef.qargs), body)

    def _recognize(self, gdef: GateDef) -> None:
        """A definition named like a registry gate with the same unitary is kept as that gate.

        OpenQASM 3 requires equality including the global phase (a modifier could
        make it observable); OpenQASM 2 has no modifiers, so equality up to phase suffices.
        """
        spec = GATES.get(gdef.name)
        if spec is None or spec.num_qubits != len(gdef.qargs) or spec.num_params != len(gdef.params) \
                or spec.num_qubits is None or spec.num_qubits > 5:
            return
        rng = np.random.default_rng(7)
        values = [float(x) for x in rng.uniform(-2.0, 2.0, size=len(gdef.params))]
        saved = self.st.work
        try:
            prims = self.expand_def(gdef, values, tuple(range(len(gdef.qargs))), depth=0)
            if len(prims) > 1000:
                return
            theirs = _unitary(prims, len(gdef.qargs))
        except QtandemError:
            return
        finally:
            self.st.work = saved
        ours = gate_matrix(gdef.name, values, num_qubits=spec.num_qubits).numpy()
        if self.st.version == 2:
            same = equal_up_to_phase(theirs, ours, _RECOGNISE_ATOL, phase_atol=_RECOGNISE_ATOL)
        else:
            same = bool(np.allclose(theirs, ours, rtol=0.0, atol=_RECOGNISE_ATOL))
        if same:
            self.st.recognized.add(gdef.name)

    # -- gate calls ------------------------------------------------------------------
    def parse_call(self, *, local: bool) -> Call:
        mods: list[tuple[str, Expr | None, Token]] = []
        while True:
            t = self.peek()
            if t.kind == "id" and t.value in ("ctrl", "negctrl", "inv", "pow") and self.peek(1).value in ("@", "("):
                if self.st.version == 2:
                    raise self.err(t, f"gate modifier {t.value!r} needs OpenQASM 3")
                if len(mods) >= MAX_MODIFIERS:
                    raise self.err(t, f"more than {MAX_MODIFIERS} modifiers on one gate")
                self.next()
                arg = None
                if self.peek().value == "(":
                    if t.value == "inv":
                        raise self.err(self.peek(), "inv takes no argument: write 'inv @'")
                    self.next()
                    arg, _ = self.expr()
                    self.expect(")")
                elif t.value == "pow":
                    raise self.err(t, "pow needs an exponent: pow(k) @")
                self.expect("@", "'@' after the modifier")
                mods.append((t.value, arg, t))
                continue
            break
        name = self.ident("a gate name")
        args: list[Expr] = []
        if self.peek().value == "(":
            self.next()
            while self.peek().value != ")":
                node, _ = self.expr()
                args.append(node)
                if self.peek().value == ",":
                    self.next()
                elif self.peek().value != ")":
                    bad = self.peek()
                    got = "end of input" if bad.kind == "eof" else repr(bad.value)
                    raise self.err(bad, f"expected ',' or ')', got {got}")
            self.next()
        qargs: list[Token] = []
        operands: list[list[int]] = []
        while self.peek().value != ";":
            if self.peek().kind == "eof":
                raise self.missing_semicolon(self.pos)
            if local:
                qargs.append(self.ident("a qubit argument"))
            else:
                operands.append(self.operand()[0])
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != ";":
                bad = self.peek()
                if bad.kind == "op" and bad.value in ("[", "("):
                    raise self.err(bad, f"unexpected {bad.value!r}")
                raise self.missing_semicolon(self.pos)
        self.next()
        return Call(mods, name.value, args, qargs, name, operands)

    def gate_call_stmt(self, condition: Condition = None) -> None:
        call = self.parse_call(local=False)
        operands = call.operands
        params = [self.value(a) for a in call.args]
        lengths = {len(q) for q in operands if len(q) != 1}
        if len(lengths) > 1:
            raise self.err(call.tok, f"registers of different sizes {sorted(lengths)} in one broadcast call")
        reps = lengths.pop() if lengths else 1
        name = call.name
        if not call.mods and name in self.st.gates and name not in self.st.defs:
            # fast path: a library gate without modifiers
            reg, npar, nq, fn = self.st.gates[name]
            if len(params) != npar:
                raise self.err(call.tok, f"gate {name!r} takes {npar} parameter(s), got {len(params)}")
            if len(operands) != nq:
                raise self.err(call.tok, f"gate {name!r} acts on {nq} qubit(s), got {len(operands)}")
            angles = [as_angle(v, call.tok, self.src) for v in fn(params)]
            for i in range(reps):
                qubits = tuple(q[i] if len(q) > 1 else q[0] for q in operands)
                if nq > 1 and len(set(qubits)) != nq:
                    raise self.err(call.tok, f"gate {name!r} is applied to the same qubit twice")
                self.emit(Instruction(reg, qubits, angles, condition=condition), call.tok)
            return
        exported = not call.mods and name in self.st.exports
        for i in range(reps):
            qubits = tuple(q[i] if len(q) > 1 else q[0] for q in operands)
            prims = self.expand_call(call, params, qubits, self.st.scope, depth=0)
            start = len(self.st.insts)
            for p in prims:
                self.emit_prim(p, call.tok, condition)
            if exported:
                call_angles = tuple(as_angle(v, call.tok, self.src) for v in params)
                self.st.calls.append((start, len(self.st.insts), name, call_angles, qubits))

    def emit_prim(self, p: Prim, tok: Token, condition: Condition) -> None:
        if p.name == "gphase":
            return  # a global phase without control has no effect
        params = [as_angle(v, tok, self.src) for v in p.params]
        self.emit(Instruction(p.name, p.qubits, params, ctrl=p.ctrl, inverted=p.inverted, condition=condition), tok)

    def expand_call(self, call: Call, params: list[Any], qubits: tuple[int, ...], scope: dict[str, Any],
                    depth: int) -> list[Prim]:
        if depth > MAX_GATE_DEPTH:
            raise self.err(call.tok, f"gate definitions nested more than {MAX_GATE_DEPTH} deep")
        if not call.mods:
            return self.expand_base(call, params, qubits, depth)
        # controls are taken from the front, modifier by modifier, left to right
        ctrl_groups: list[tuple[int, ...]] = []
        rest = list(qubits)
        mod_values: list[tuple[str, int, Token]] = []
        for kind, arg, tok in call.mods:
            k = 1
            if arg is not None:
                v = self.value(arg, scope)
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                if not isinstance(v, int) or isinstance(v, bool):
                    shown = repr(v) if isinstance(v, (int, float)) else "a parameter" \
                        if not isinstance(v, list) else "an array"
                    raise self.err(tok, f"{kind} needs an integer constant, got {shown}")
                k = v
            if kind in ("ctrl", "negctrl"):
                if k < 1:
                    raise self.err(tok, f"{kind}({k}) needs at least one control")
                if len(rest) < k + (call.name != "gphase"):
                    raise self.err(tok, f"{kind}({k}) needs {k} control qubit(s) before the gate's own qubits, "
                                        f"got {len(rest)} qubit(s) in all")
                ctrl_groups.append(tuple(rest[:k]))
                rest = rest[k:]
            mod_values.append((kind, k, tok))
        prims = self.expand_base(call, params, tuple(rest), depth)
        groups = list(ctrl_groups)
        for kind, k, tok in reversed(mod_values):
            self.spend(len(prims), tok)
            if kind == "inv":
                prims = [_invert(p) for p in reversed(prims)]
            elif kind == "pow":
                self.spend(len(prims) * abs(k), tok)
                if len(prims) * abs(k) > MAX_INSTRUCTIONS:
                    raise self.err(tok, f"pow({k}) expands to more than {MAX_INSTRUCTIONS} gates")
                prims = [_invert(p) for p in reversed(prims)] * (-k) if k < 0 else prims * k
            else:
                controls = groups.pop()
                inner = [_control(p, controls) for p in prims]
                if kind == "negctrl":
                    flips = [Prim("x", (c,), []) for c in controls]
                    inner = flips + inner + flips
                prims = inner
        return prims

    def _unknown_gate(self, call: Call) -> QasmError:
        name = call.name
        known = list(self.st.gates) + list(self.st.defs)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if name in QELIB1 and self.st.version == 2 and name not in self.st.gates:
            hint = '; add include "qelib1.inc";'
        elif name in STDGATES and self.st.version == 3 and name not in self.st.gates:
            hint = '; add include "stdgates.inc";'
        return self.err(call.tok, f"unknown gate {name!r}{hint}")

    def expand_base(self, call: Call, params: list[Any], qubits: tuple[int, ...], depth: int) -> list[Prim]:
        name = call.name
        if name in self.st.defs and name not in self.st.recognized:
            gdef = self.st.defs[name]
            if len(params) != len(gdef.params):
                raise self.err(call.tok, f"gate {name!r} takes {len(gdef.params)} parameter(s), got {len(params)}")
            if len(qubits) != len(gdef.qargs):
                raise self.err(call.tok, f"gate {name!r} acts on {len(gdef.qargs)} qubit(s), got {len(qubits)}")
            if len(set(qubits)) != len(qubits):
                raise self.err(call.tok, f"gate {name!r} is applied to the same qubit twice")
            return self.expand_def(gdef, params, qubits, depth + 1)
        if name in self.st.recognized:
            spec = GATES[name]
            return self._checked(call, name, spec.num_params, spec.num_qubits or len(qubits), params, qubits,
                                 None)
        if name in self.st.gates:
            reg, npar, nq, fn = self.st.gates[name]
            return self._checked(call, reg, npar, nq, params, qubits, fn)
        if name == "gphase" and self.st.version == 3:
            if len(params) != 1 or qubits:
                raise self.err(call.tok, "gphase takes one angle and no qubits")
            return [Prim("gphase", (), params)]
        raise self._unknown_gate(call)

    def _checked(self, call: Call, reg: str, npar: int, nq: int, params: list[Any], qubits: tuple[int, ...],
                 fn: Any) -> list[Prim]:
        if len(params) != npar:
            raise self.err(call.tok, f"gate {call.name!r} takes {npar} parameter(s), got {len(params)}")
        if len(qubits) != nq:
            raise self.err(call.tok, f"gate {call.name!r} acts on {nq} qubit(s), got {len(qubits)}")
        if nq > 1 and len(set(qubits)) != len(qubits):
            raise self.err(call.tok, f"gate {call.name!r} is applied to the same qubit twice")
        self.st.work += 1
        if self.st.work > MAX_WORK:
            self.spend(0, call.tok)
        return [Prim(reg, qubits, fn(params) if fn is not None else params)]

    def expand_def(self, gdef: GateDef, params: list[Any], qubits: tuple[int, ...], depth: int) -> list[Prim]:
        scope = dict(zip(gdef.params, params, strict=True))
        if self.st.version == 3:
            scope = {**{k: self.st.scope[k] for k in self.st.constants}, **scope}
        qmap = dict(zip(gdef.qargs, qubits, strict=True))
        out: list[Prim] = []
        for inner in gdef.body:
            vals = [self.value(a, scope) for a in inner.args]
            out.extend(self.expand_call(inner, vals, tuple(qmap[q.value] for q in inner.qargs), scope, depth + 1))
            if len(out) > MAX_INSTRUCTIONS:
                raise self.err(gdef.tok, f"gate {gdef.name!r} expands to more than {MAX_INSTRUCTIONS} gates")
        return out


def _invert(p: Prim) -> Prim:
    if p.name == "gphase":
        return Prim("gphase", (), [-p.params[0]])
    if not p.inverted and p.name != "unitary":
        try:
            named = inverse_of(p.name, tuple(p.params))
        except (QtandemError, TypeError):
            named = None
        if named is not None:
            return Prim(named[0], p.qubits, list(named[1]), p.ctrl, False)
    return Prim(p.name, p.qubits, p.params, p.ctrl, not p.inverted)


def _control(p: Prim, controls: tuple[int, ...]) -> Prim:
    if p.name == "gphase":
        inner = Prim("p", (controls[-1],), list(p.params), 0, False)
        return _control(inner, controls[:-1]) if len(controls) > 1 else inner
    qubits = controls + p.qubits
    ctrl = p.ctrl + len(controls)
    if p.inverted:
        return Prim(p.name, qubits, p.params, ctrl, True)
    name, ctrl = fold_controls(p.name, ctrl, len(qubits))
    return Prim(name, qubits, list(p.params), ctrl, False)


def _unitary(prims: list[Prim], k: int) -> np.ndarray:
    """Dense unitary of primitive gates on ``k`` qubits (:func:`qtandem.sim.dense.dense_unitary`)."""
    ops: list[tuple[tuple[int, ...], np.ndarray]] = []
    for p in prims:
        if p.name == "gphase":
            ops.append(((), np.array([[np.exp(1j * float(p.params[0]))]])))
            continue
        m = gate_matrix(p.name, [float(x) for x in p.params], num_qubits=len(p.qubits) - p.ctrl)
        if p.inverted:
            m = m.conj().T
        if p.ctrl:
            m = controlled_matrix(m, p.ctrl)
        ops.append((tuple(p.qubits), m.resolve_conj().numpy()))
    return dense_unitary(ops, k)
