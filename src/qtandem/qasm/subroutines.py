"""``def`` subroutines, inlined at each call whose classical arguments are known while reading.

A subroutine takes qubits (``qubit``, ``qubit[n]``), bits (``bit``, ``bit[n]``),
classical values and arrays (``readonly array[int[8], #dim = 1]``). A call runs
the body with the arguments bound (a fresh scope that also sees the global
declarations); ``return`` ends it. What a subroutine returns:

- a classical value known while reading: the value of the call;
- ``measure q``: the call's target bits receive the measurement
  (``c = f(q);``);
- bits declared in the subroutine: the instructions that wrote them write the
  target bits instead (``syn = syndrome(q, a);``).

Calls use the OpenQASM 3 form ``f(q, 2, c)``; the older form that the
specification's examples use, ``f(2) q, c;`` (classical arguments in
parentheses, qubits after), is read too.

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> c = parse('''OPENQASM 3.0; include "stdgates.inc";
    ... def flip(qubit q, int k) -> bit { for int i in [1:k] { x q; } return measure q; }
    ... qubit[2] q; bit[2] c;
    ... c[1] = flip(q[1], 3);''')
    >>> [(i.name, i.qubits, i.clbits) for i in c]
    [('x', (1,), ()), ('x', (1,), ()), ('x', (1,), ()), ('measure', (1,), (1,))]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qtandem.circuit.instruction import Instruction
from qtandem.qasm.base import _CLASSICAL_TYPES, MAX_GATE_DEPTH, SubReturn
from qtandem.qasm.control import ControlFlowMixin
from qtandem.qasm.expr import RtBits, RtCond
from qtandem.qasm.lexer import Token

__all__ = ["SubDef", "SubroutinesMixin"]


@dataclass
class SubDef:
    """A ``def`` subroutine: its arguments ``(kind, name, size, width, token)`` and the body's token range.

    ``kind`` is ``qubit``, ``bit``, ``array`` or a classical type name.

    Examples:
        >>> from qtandem.qasm.lexer import Source, Token
        >>> tok = Token("id", "f", 4, Source("def f(qubit q) { h q; }", "<string>"))
        >>> SubDef("f", [("qubit", "q", None, None, tok)], None, 8, 15, tok).name
        'f'
    """

    name: str
    args: list[tuple[str, str, int | None, int | None, Token]]
    returns: str | None
    body_start: int
    body_end: int
    tok: Token


class SubroutinesMixin(ControlFlowMixin):
    """``def`` definitions, calls (inlined), ``return``.

    Examples:
        >>> from qtandem.qasm.parser import parse
        >>> c = parse('''OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; qubit[2] a; bit[2] syn;
        ... def syndrome(qubit[3] d, qubit[2] a) -> bit[2] {
        ...   bit[2] b; cx d[0], a[0]; cx d[1], a[1]; b = measure a; return b; }
        ... syn = syndrome(q, a); if (syn == 1) x q[0];''')
        >>> [(i.name, i.clbits, i.condition) for i in c][2:]
        [('measure', (0,), None), ('measure', (1,), None), ('x', (), ((0, 1), 1))]
        >>> c.cregs
        [('syn', 2)]
    """

    def def_stmt(self) -> None:
        kw = self.next()
        if self.st.frames or self.st.nesting:
            raise self.err(kw, "'def' is allowed only at the global scope")
        name = self.ident("a subroutine name")
        if self.is_declared(name.value) or name.value in self.st.gates or name.value in self.st.defs:
            raise self.err(name, f"{name.value!r} is already declared")
        self.expect("(")
        args: list[tuple[str, str, int | None, int | None, Token]] = []
        while self.peek().value != ")":
            args.append(self._def_arg())
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != ")":
                raise self.err(self.peek(), f"expected ',' or ')', got {self.peek().value!r}")
        self.next()
        names = [a[1] for a in args]
        for a in args:
            if names.count(a[1]) > 1:
                raise self.err(a[4], f"argument {a[1]!r} repeated")
        returns = None
        if self.peek().value == "->":
            self.next()
            type_tok, _width, _dims = self.type_spec()
            returns = type_tok.value
        if self.peek().value != "{":
            raise self.err(self.peek(), f"expected '{{' to start the body of {name.value!r}")
        start = self.pos
        end = self._skip_body(start, kw)
        self.st.subs[name.value] = SubDef(name.value, args, returns, start, end, name)
        self.pos = end

    def _def_arg(self) -> tuple[str, str, int | None, int | None, Token]:
        t = self.peek()
        if t.value in ("readonly", "mutable"):
            self.next()
            t = self.peek()
        if t.value in ("qubit", "bit"):
            self.next()
            sized = self.bracket_size()
            name = self.ident("an argument name")
            return (t.value, name.value, None if sized is None else sized[0], None, name)
        if t.value in ("qreg", "creg"):
            self.next()
            name = self.ident("an argument name")
            sized = self.bracket_size()
            return ("qubit" if t.value == "qreg" else "bit", name.value, None if sized is None else sized[0], None,
                    name)
        if t.value == "array":
            self.next()
            self.expect("[")
            elem = self.ident("an element type")
            if self.peek().value == "[":
                self._matched_skip("[", "]")
            self.expect(",")
            dims: int | None = None
            if self.peek().value == "#":
                self.next()
                dim_tok = self.ident("'dim'")
                if dim_tok.value != "dim":
                    raise self.err(dim_tok, "expected '#dim = n'")
                self.expect("=")
                node, dt = self.expr()
                dims = self.int_value(node, dt, "#dim")
            else:
                dims = 1
                while True:
                    self.expr()
                    if self.peek().value != ",":
                        break
                    self.next()
                    dims += 1
            self.expect("]")
            name = self.ident("an argument name")
            del elem
            return ("array", name.value, dims, None, name)
        type_tok, width, dims_list = self.type_spec()
        if dims_list is not None:
            raise self.err(type_tok, "array arguments need 'readonly' or 'mutable'")
        name = self.ident("an argument name")
        if type_tok.value not in _CLASSICAL_TYPES:
            raise self.unsupported_type(type_tok)
        return (type_tok.value, name.value, None, width, name)

    def _matched_skip(self, opener: str, closer: str) -> None:
        self.pos = self._matching(self.pos, opener, closer)

    # -- calls -----------------------------------------------------------------------------
    def sub_call(self, target: list[int] | None) -> Any:
        """Read ``f(args);`` (or ``f(classical) qubits;``) at the current position and inline the call.

        ``target``: the bits the call's value is assigned to, if any. Returns the call's value.
        """
        name_tok = self.next()
        sub: SubDef = self.st.subs[name_tok.value]
        values = self._call_args(sub, name_tok)
        self.expect(";")
        return self.invoke(sub, values, name_tok, target)

    def call_in_expression(self, name: str, values: list[Any], tok: Token) -> Any:
        """A subroutine called inside an expression (classical arguments only)."""
        sub: SubDef = self.st.subs[name]
        if len(values) != len(sub.args):
            raise self.err(tok, f"subroutine {name!r} takes {len(sub.args)} argument(s), got {len(values)}")
        converted: list[Any] = []
        for (kind, arg, size, width, _), value in zip(sub.args, values, strict=True):
            if kind == "qubit":
                raise self.err(tok, f"subroutine {name!r} takes qubits: call it as a statement "
                                    f"(x = {name}(...);), not inside an expression")
            if isinstance(value, RtBits) and kind == "bit":
                converted.append((value.bits, size is None))
            elif kind == "array":
                if not isinstance(value, list):
                    raise self.err(tok, f"argument {arg!r} of {name!r} is an array")
                converted.append(value)
            else:
                converted.append(self.convert(value, "uint" if kind == "bit" else kind, width or size, None, arg, tok))
        saved = self.pos
        try:
            return self.invoke(sub, converted, tok, None)
        finally:
            self.pos = saved

    def invoke(self, sub: SubDef, values: list[Any], name_tok: Token, target: list[int] | None) -> Any:
        """Run the body of ``sub`` with its arguments bound to ``values``; returns the call's value."""
        after = self.pos
        if self.st.sub_depth >= MAX_GATE_DEPTH:
            raise self.err(name_tok, f"subroutine calls nested more than {MAX_GATE_DEPTH} deep (is "
                                     f"{sub.name!r} recursive?)")
        self.spend(sub.body_end - sub.body_start, name_tok)
        first_inst = len(self.st.insts)
        saved = (self.st.nesting, len(self.st.frames), self.st.loop_depth, self.st.loop_vars)
        self.st.sub_depth += 1
        self.st.loop_depth = 0
        self.st.loop_vars = {}
        self.push_frame()
        result: Any = None
        try:
            for (kind, arg, _size, _width, _tok), value in zip(sub.args, values, strict=True):
                table = "qregs" if kind == "qubit" else "cregs" if kind == "bit" and isinstance(value, tuple) \
                    else "scope"
                self.bind_local(table, arg, value)
            self.pos = sub.body_start
            open_tok = self.next()
            self.enter(open_tok)
            try:
                self.block_rest(open_tok)
            except SubReturn as ret:
                result = ret.value
        finally:
            while len(self.st.frames) > saved[1]:
                self.pop_frame()
            self.st.nesting, _, self.st.loop_depth, self.st.loop_vars = saved
            self.st.sub_depth -= 1
            self.pos = after
        return self._call_result(sub, name_tok, result, target, first_inst)

    def _call_args(self, sub: SubDef, name_tok: Token) -> list[Any]:
        quantum = [a for a in sub.args if a[0] == "qubit"]
        classical = [a for a in sub.args if a[0] != "qubit"]
        got: dict[str, Any] = {}
        if self.peek().value == "(":
            self.next()
            order = list(sub.args)
            k = 0
            while self.peek().value != ")":
                if k >= len(order):
                    raise self.err(self.peek(), f"subroutine {sub.name!r} takes {len(sub.args)} argument(s)")
                if order[k][0] == "qubit" and not (self.peek().kind == "physical" or
                                                   self.peek().value in self.st.qregs):
                    order = classical  # the older form: classical arguments in parentheses, qubits after
                    if k >= len(order):
                        raise self.err(self.peek(), f"subroutine {sub.name!r} takes {len(classical)} classical "
                                                    "argument(s)")
                got[order[k][1]] = self._arg_value(order[k])
                k += 1
                if self.peek().value != ",":
                    break
                self.next()
            self.expect(")")
        rest = [a for a in quantum if a[1] not in got]
        if rest and self.peek().value != ";":
            for spec in rest:
                got[spec[1]] = self._arg_value(spec)
                if self.peek().value != ",":
                    break
                self.next()
        missing = [a[1] for a in sub.args if a[1] not in got]
        if missing:
            raise self.err(name_tok, f"subroutine {sub.name!r} needs argument(s) {missing}")
        return [got[a[1]] for a in sub.args]

    def _arg_value(self, spec: tuple[str, str, int | None, int | None, Token]) -> Any:
        kind, arg, size, width, _ = spec
        t = self.peek()
        if kind == "qubit":
            qs, _ = self.operand()
            if (size is None and len(qs) != 1) or (size is not None and len(qs) != size):
                raise self.err(t, f"argument {arg!r} takes {size or 1} qubit(s), got {len(qs)}")
            return (tuple(qs), size is None)
        if kind == "bit" and t.kind == "id" and t.value in self.st.cregs:
            cs, _ = self.bits_operand()
            if (size is None and len(cs) != 1) or (size is not None and len(cs) != size):
                raise self.err(t, f"argument {arg!r} takes {size or 1} bit(s), got {len(cs)}")
            return (tuple(cs), size is None)
        node, vt = self.expr()
        value = self.value(node)
        if kind == "array":
            if not isinstance(value, list):
                raise self.err(vt, f"argument {arg!r} is an array")
            return value
        if kind == "bit":
            kind = "uint"
        return self.convert(value, kind, width if kind != "uint" or width else size, None, arg, vt)

    def _call_result(self, sub: SubDef, tok: Token, result: Any, target: list[int] | None, first: int) -> Any:
        if isinstance(result, tuple) and result and result[0] == "measure":
            _, qs, mtok = result
            if target is None:
                target = self._scratch_bits(sub, len(qs), mtok)
            if len(target) != len(qs):
                raise self.err(tok, f"{sub.name!r} returns {len(qs)} bit(s), assigned to {len(target)}")
            self._measure(list(qs), target, mtok, None)
            return RtBits(tuple(target), sub.name)
        if isinstance(result, RtBits):
            if target is None:
                return result
            if len(target) != len(result.bits):
                raise self.err(tok, f"{sub.name!r} returns {len(result.bits)} bit(s), assigned to {len(target)}")
            local = {b for r in self.st.local_cregs for b in self.st.local_range[r]}
            if not set(result.bits) <= local:
                raise self.err(tok, f"not supported: {sub.name!r} returns bits it did not declare (qtandem "
                                    "cannot copy measured bits between registers)")
            self._retarget(first, dict(zip(result.bits, target, strict=True)))
            return RtBits(tuple(target), sub.name)
        if isinstance(result, RtCond):
            raise self.err(tok, f"not supported: {sub.name!r} returns a condition on measured bits")
        if target is not None:
            if result is None:
                raise self.err(tok, f"{sub.name!r} returns nothing")
            value = int(result)
            if not 0 <= value < 2 ** len(target):
                raise self.err(tok, f"value {value} does not fit in {len(target)} bit(s)")
            for i, c in enumerate(target):
                self.st.known_bits[c] = (value >> i) & 1
            self.st.known_where[c] = (tok, self.src)
        return result

    def _scratch_bits(self, sub: SubDef, n: int, tok: Token) -> list[int]:
        reg = self.st.locals_at.get(tok.pos)
        if reg is None:
            base = f"{sub.name}_result"
            reg, k = base, 1
            taken = {r for r, _ in self.st.creg_order}
            while reg in taken:
                k += 1
                reg = f"{base}_{k}"
            offset = self.st.n_clbits
            self.st.creg_order.append((reg, n))
            self.st.n_clbits += n
            self.st.locals_at[tok.pos] = reg
            self.st.local_range[reg] = range(offset, offset + n)
        return list(self.st.local_range[reg])

    def _retarget(self, first: int, mapping: dict[int, int]) -> None:
        """Instructions from ``first`` on write (and test) ``mapping``'s targets instead of its keys."""
        insts = self.st.insts
        for k in range(first, len(insts)):
            inst, tok, src = insts[k]
            clbits = tuple(mapping.get(c, c) for c in inst.clbits)
            cond = inst.condition
            if cond is not None:
                cond = (tuple(mapping.get(c, c) for c in cond[0]), cond[1])
            if clbits != inst.clbits or cond != inst.condition:
                insts[k] = (Instruction(inst.name, inst.qubits, inst.params, clbits, matrix=inst.matrix,
                                        ctrl=inst.ctrl, inverted=inst.inverted, condition=cond), tok, src)
        for c in mapping.values():
            self.st.known_bits.pop(c, None)

    def return_stmt(self) -> None:
        kw = self.next()
        if self.st.sub_depth == 0:
            raise self.err(kw, "'return' outside a subroutine")
        if self.st.condition is not None:
            raise self.err(kw, "not supported: 'return' under a run-time condition")
        if self.peek().value == ";":
            self.next()
            raise SubReturn(None)
        if self.peek().value == "measure":
            mtok = self.next()
            qs, _ = self.operand()
            self.expect(";")
            raise SubReturn(("measure", tuple(qs), mtok))
        node, _t = self.expr()
        value = self.value(node)
        self.expect(";")
        raise SubReturn(value)
