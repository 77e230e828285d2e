"""Control flow: ``if`` on classical bits and ``for`` loops over constant ranges (unrolled).

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> c = parse('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; bit b;'
    ...           'for int i in [0:1] { cx q[i], q[i + 1]; } b = measure q[2]; if (b) x q[0];')
    >>> [(i.name, i.qubits, i.condition) for i in c]
    [('cx', (0, 1), None), ('cx', (1, 2), None), ('measure', (2,), None), ('x', (0,), ((0,), 1))]
"""

from __future__ import annotations

from qtandem.qasm.base import _ASSIGN_OPS, _CLASSICAL_TYPES, _UNSUPPORTED, MAX_INSTRUCTIONS, MAX_WORK
from qtandem.qasm.gatedefs import GatesMixin
from qtandem.qasm.lexer import Token

__all__ = ["ControlFlowMixin"]

_MISSING = object()


class ControlFlowMixin(GatesMixin):
    """``if`` statements (gates, ``measure`` and ``reset`` inside) and unrolled ``for`` loops.

    Examples:
        >>> from qtandem.qasm.parser import parse
        >>> parse('''OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; bit[1] c;
        ... for int i in [0:1] { cx q[i], q[i + 1]; }
        ... c[0] = measure q[0]; if (c[0] == 1) x q[2];''').count_ops()
        {'cx': 2, 'measure': 1, 'x': 1}
    """

    def if_stmt(self) -> None:
        kw = self.next()
        self.expect("(")
        if self.peek().value == "!":
            raise self.err(self.peek(), "only 'if (bits == value)' conditions are supported")
        bits, btok = self.bits_operand()
        if self.peek().value == "==":
            self.next()
            node, t = self.expr()
            value = self.int_value(node, t, "condition value")
        elif self.st.version == 3 and self.peek().value == ")" and len(bits) == 1:
            value = 1
        else:
            bad = self.peek()
            raise self.err(bad, "expected '==' in the if condition (qtandem supports 'if (bits == value)' "
                                f"and, for one bit, 'if (bit)'), got {bad.value!r}")
        self.expect(")")
        if value < 0 or value >= 2 ** len(bits):
            raise self.err(btok, f"condition value {value} does not fit in {len(bits)} bit(s)")
        cond = (tuple(bits), value)
        if self.peek().value == "{" and self.st.version == 3:
            open_tok = self.next()
            self.enter(open_tok)
            while self.peek().value != "}":
                if self.peek().kind == "eof":
                    raise self.err(open_tok, "unclosed '{' in if body")
                self._conditional_statement(cond)
            self.next()
            self.leave()
        else:
            self._conditional_statement(cond)
        if self.peek().value == "else":
            raise self.err(self.peek(), "'else' branches are not supported by qtandem")
        del kw

    def _conditional_statement(self, cond: tuple[tuple[int, ...], int]) -> None:
        t = self.peek()
        v = t.value
        if v == "measure":
            return self.measure_arrow(cond)
        if v == "reset":
            return self.reset(cond)
        if v == ";":
            self.next()
            return None
        if t.kind != "id" or v in ("if", "for", "gate", "qreg", "creg", "qubit", "bit", "barrier", "include",
                                   "const", "input", "opaque") or v in _UNSUPPORTED:
            raise self.err(t, f"{v!r} is not allowed inside an if statement (qtandem supports gates, measure "
                              "and reset there)")
        nxt = self.peek(1)
        if nxt.kind == "op" and (nxt.value in _ASSIGN_OPS or (nxt.value == "[" and self._assign_ahead())):
            return self.assignment(cond)
        return self.gate_call_stmt(cond)

    def for_loop(self) -> None:
        kw = self.next()
        if self.peek().value in _CLASSICAL_TYPES and self.peek(1).kind in ("id", "op") and \
                self.peek(1).value != "in":
            self.next()
            if self.peek().value == "[":
                self.next()
                self.expr()
                self.expect("]")
        var = self.ident("a loop variable")
        if self.next().value != "in":
            raise self.err(self.toks[self.pos - 1], "expected 'in' in for loop")
        values: list[int] | range
        if self.peek().value == "[":
            self.next()
            node, t = self.expr()
            a = self.int_value(node, t, "range start")
            self.expect(":")
            node, t = self.expr()
            b = self.int_value(node, t, "range bound")
            step = 1
            if self.peek().value == ":":
                self.next()
                node, t3 = self.expr()
                step, b = b, self.int_value(node, t3, "range bound")
            self.expect("]")
            if step == 0:
                raise self.err(t, "range step must not be 0")
            values = range(a, b + (1 if step > 0 else -1), step)
            if len(values) > MAX_INSTRUCTIONS:
                raise self.err(t, f"loop of {len(values)} iterations exceeds the limit of {MAX_INSTRUCTIONS}")
        elif self.peek().value == "{":
            values = []
            self.next()
            while self.peek().value != "}":
                node, t = self.expr()
                values.append(self.int_value(node, t, "loop value"))
                if self.peek().value == ",":
                    self.next()
                elif self.peek().value != "}":
                    raise self.err(self.peek(), f"expected ',' or '}}', got {self.peek().value!r}")
            self.next()
        else:
            raise self.err(self.peek(), "for loops need a range [a:b], [a:step:b] or a set {a, b, ...}")
        if (var.value in self.st.scope and var.value not in self.st.loop_vars) or var.value in self.st.qregs \
                or var.value in self.st.cregs:
            raise self.err(var, f"loop variable {var.value!r} shadows a declaration")
        body_start = self.pos
        end = self._skip_body(body_start, kw)
        # nested loops multiply: refuse up front what cannot fit in the work budget
        mult = self.st.loop_mult * len(values)
        if self.st.work + mult * max(1, end - body_start) > MAX_WORK:
            raise self.err(kw, f"loop expands to too much work ({mult} iterations of a {end - body_start}-token "
                               f"body, more than {MAX_WORK} units); qtandem bounds expansion so pathological "
                               "input fails fast")
        outer_mult, self.st.loop_mult = self.st.loop_mult, mult
        self.enter(kw)
        saved = self.st.scope.get(var.value, _MISSING)
        self.st.loop_vars[var.value] = self.st.loop_vars.get(var.value, 0) + 1
        try:
            for v in values:
                self.spend(end - body_start, kw)
                self.st.scope[var.value] = v
                self.pos = body_start
                if self.peek().value == "{":
                    open_tok = self.next()
                    self.block_rest(open_tok)
                else:
                    self.statement()
        finally:
            self.st.loop_mult = outer_mult
            self.st.loop_vars[var.value] -= 1
            if not self.st.loop_vars[var.value]:
                del self.st.loop_vars[var.value]
            if saved is _MISSING:
                self.st.scope.pop(var.value, None)
            else:
                self.st.scope[var.value] = saved
        self.leave()
        self.pos = end

    def _skip_body(self, start: int, kw: Token) -> int:
        """Position after the loop body (a braced block or one statement), without executing it."""
        toks = self.toks
        if toks[start].value != "{":
            k = start
            while toks[k].value != ";":
                if toks[k].kind == "eof":
                    raise self.err(kw, "for loop body has no ';'")
                k += 1
            return k + 1
        depth, k = 0, start
        while True:
            t = toks[k]
            if t.kind == "eof":
                raise self.err(toks[start], "unclosed '{' in for loop body")
            if t.kind == "op":
                if t.value == "{":
                    depth += 1
                elif t.value == "}":
                    depth -= 1
                    if depth == 0:
                        return k + 1
            k += 1
