"""Control flow: ``if``/``else``, ``for``, ``while``, ``switch``, ``break`` and ``continue``.

Conditions known while reading select a branch (loops unroll); a condition on
measured bits (``c == 2``, ``bool(b)``, ``int[2](c) == 1``, ``&&`` of such tests
on different bits) becomes the condition of every instruction in the branch.
``else`` after a run-time condition is supported when the condition reads one
bit (the ``else`` branch runs on the opposite value).

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> c = parse('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; bit b;'
    ...           'for int i in [0:1] { cx q[i], q[i + 1]; } b = measure q[2]; if (b) x q[0]; else z q[0];')
    >>> [(i.name, i.qubits, i.condition) for i in c]
    [('cx', (0, 1), None), ('cx', (1, 2), None), ('measure', (2,), None), ('x', (0,), ((0,), 1)), \
('z', (0,), ((0,), 0))]
"""

from __future__ import annotations

from typing import Any

from qtandem.qasm.base import _CLASSICAL_TYPES, MAX_INSTRUCTIONS, MAX_WORK, LoopBreak, LoopContinue
from qtandem.qasm.classical import ClassicalMixin
from qtandem.qasm.expr import RtBits, RtCond, truth
from qtandem.qasm.lexer import Token

__all__ = ["MAX_WHILE", "ControlFlowMixin"]

_MISSING = object()
MAX_WHILE = 100_000
"""Most iterations of one ``while`` loop (the reader unrolls it)."""


class ControlFlowMixin(ClassicalMixin):
    """``if``/``else``, unrolled ``for`` and ``while`` loops, ``switch``, ``break`` and ``continue``.

    Examples:
        >>> from qtandem.qasm.parser import parse
        >>> parse('''OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; bit[1] c;
        ... int n = 0;
        ... while (n < 5) { n += 1; if (n == 2) continue; if (n > 3) break; x q[0]; }
        ... switch (n) { case 4 { h q[1]; } default { z q[1]; } }
        ... c[0] = measure q[0]; if (c[0] == 1) x q[2];''').count_ops()
        {'x': 3, 'h': 1, 'measure': 1}
    """

    # -- bodies ----------------------------------------------------------------------------
    def run_body(self, start: int) -> None:
        """Execute the body at ``start`` (a ``{ }`` block or one statement) in a fresh block scope."""
        self.pos = start
        nesting, frames = self.st.nesting, len(self.st.frames)
        self.push_frame()
        try:
            if self.peek().value == "{" and self.peek().kind == "op":
                open_tok = self.next()
                self.enter(open_tok)
                self.block_rest(open_tok)
            else:
                self.statement()
        finally:
            while len(self.st.frames) > frames:
                self.pop_frame()
            self.st.nesting = nesting

    def _skip_body(self, start: int, kw: Token) -> int:
        """Position after the statement or block at ``start``, without executing it."""
        toks = self.toks
        t = toks[start]
        if t.kind == "eof":
            raise self.err(kw, f"'{kw.value}' has no body before the end of input")
        if t.value == "{" and t.kind == "op":
            return self._matching(start, "{", "}")
        if t.kind == "id" and t.value == "if":
            k = self._matching(start + 1, "(", ")") if toks[start + 1].value == "(" else start + 1
            k = self._skip_body(k, t)
            if toks[k].value == "else":
                k = self._skip_body(k + 1, toks[k])
            return k
        if t.kind == "id" and t.value == "while":
            k = self._matching(start + 1, "(", ")") if toks[start + 1].value == "(" else start + 1
            return self._skip_body(k, t)
        if t.kind == "id" and t.value == "for":
            k = start + 1
            while toks[k].value != "in":
                if toks[k].kind == "eof" or toks[k].value in (";", "{"):
                    raise self.err(t, "expected 'in' in for loop")
                k += 1
            k += 1
            if toks[k].value in ("[", "{"):
                k = self._matching(k, toks[k].value, "]" if toks[k].value == "[" else "}")
            else:
                k += 1
            return self._skip_body(k, t)
        if t.kind == "id" and t.value == "switch":
            k = self._matching(start + 1, "(", ")") if toks[start + 1].value == "(" else start + 1
            return self._matching(k, "{", "}")
        depth, k = 0, start
        while True:
            t = toks[k]
            if t.kind == "eof":
                raise self.err(kw, f"'{kw.value}' body has no ';'")
            if t.kind == "op":
                if t.value in "([{":
                    depth += 1
                elif t.value in ")]}":
                    depth -= 1
                elif t.value == ";" and depth <= 0:
                    return k + 1
            k += 1

    def _matching(self, start: int, opener: str, closer: str) -> int:
        """Position after the ``closer`` that matches the ``opener`` at ``start``."""
        toks = self.toks
        if toks[start].value != opener:
            got = "end of input" if toks[start].kind == "eof" else repr(toks[start].value)
            raise self.err(toks[start], f"expected {opener!r}, got {got}")
        depth, k = 0, start
        while True:
            t = toks[k]
            if t.kind == "eof":
                raise self.err(toks[start], f"unclosed {opener!r}: expected {closer!r} before the end of input")
            if t.kind == "op":
                if t.value == opener:
                    depth += 1
                elif t.value == closer:
                    depth -= 1
                    if depth == 0:
                        return k + 1
            k += 1

    def under(self, cond: RtCond, tok: Token) -> Any:
        """The run-time condition of a branch inside the current one (bits must differ)."""
        outer = self.st.condition
        if outer is None:
            return (cond.bits, cond.value)
        if set(cond.bits) & set(outer[0]):
            raise self.err(tok, "not supported: nested run-time conditions on the same bits")
        return (outer[0] + cond.bits, outer[1] | (cond.value << len(outer[0])))

    def run_conditioned(self, cond: RtCond, start: int, tok: Token) -> None:
        saved = self.st.condition
        self.st.condition = self.under(cond, tok)
        try:
            self.run_body(start)
        finally:
            self.st.condition = saved

    # -- if --------------------------------------------------------------------------------
    def if_stmt(self) -> None:
        kw = self.next()
        self.expect("(")
        node, t = self.expr()
        cond = truth(self.value(node), t, self.src)
        self.expect(")")
        then_start = self.pos
        end = self._skip_body(then_start, kw)
        else_start = None
        if self.toks[end].value == "else" and self.toks[end].kind == "id":
            if self.st.version == 2:
                raise self.err(self.toks[end], "'else' needs OpenQASM 3")
            else_start = end + 1
            end = self._skip_body(else_start, self.toks[end])
        if isinstance(cond, RtCond):
            if self.st.version == 2 and (isinstance(cond, RtCond) and cond.value >= 2 ** len(cond.bits)):
                raise self.err(t, f"condition value {cond.value} does not fit in {len(cond.bits)} bit(s)")
            self.run_conditioned(cond, then_start, kw)
            if else_start is not None:
                if len(cond.bits) != 1:
                    raise self.err(self.toks[else_start - 1], f"not supported: 'else' after a run-time condition "
                                   f"on {len(cond.bits)} bits (qtandem can negate a one-bit condition only)")
                self.run_conditioned(RtCond(cond.bits, 1 - cond.value), else_start, kw)
        elif cond:
            self.run_body(then_start)
        elif else_start is not None:
            self.run_body(else_start)
        self.pos = end

    # -- loops -----------------------------------------------------------------------------
    def loop_body(self, start: int) -> bool:
        """Run one iteration; False after ``break``."""
        self.st.loop_depth += 1
        try:
            self.run_body(start)
        except LoopBreak:
            return False
        except LoopContinue:
            pass
        finally:
            self.st.loop_depth -= 1
        return True

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
        values: list[Any] | range
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
        elif self.peek().kind == "id" and isinstance(self.st.scope.get(self.peek().value), list):
            values = list(self.st.scope[self.next().value])
        else:
            raise self.err(self.peek(), "for loops need a range [a:b], [a:step:b], a set {a, b, ...} or an array")
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
        nesting = self.st.nesting
        self.enter(kw)
        saved = self.st.scope.get(var.value, _MISSING)
        self.st.loop_vars[var.value] = self.st.loop_vars.get(var.value, 0) + 1
        try:
            for v in values:
                self.spend(end - body_start, kw)
                self.st.scope[var.value] = v
                if not self.loop_body(body_start):
                    break
        finally:
            self.st.loop_mult = outer_mult
            self.st.loop_vars[var.value] -= 1
            if not self.st.loop_vars[var.value]:
                del self.st.loop_vars[var.value]
            if saved is _MISSING:
                self.st.scope.pop(var.value, None)
            else:
                self.st.scope[var.value] = saved
            self.st.nesting = nesting
        self.pos = end

    def while_loop(self) -> None:
        kw = self.next()
        self.expect("(")
        cond_start = self.pos
        self.expr()
        self.expect(")")
        body_start = self.pos
        end = self._skip_body(body_start, kw)
        nesting = self.st.nesting
        self.enter(kw)
        iterations = 0
        try:
            while True:
                self.pos = cond_start
                node, t = self.expr()
                for op, name, _ in node.ops:
                    if op in ("name", "index") and isinstance(self.runtime_bits(name if op == "name" else name[0]),
                                                              RtBits):
                        raise self.err(t, "not supported: while loop with a run-time condition (it reads the "
                                          f"measured bits {name if op == 'name' else name[0]!r}; qtandem unrolls "
                                          "loops whose condition is known while reading)")
                cond = truth(self.value(node), t, self.src)
                if isinstance(cond, RtCond):
                    raise self.err(t, "not supported: while loop with a run-time condition (it reads measured "
                                      "bits; qtandem unrolls loops whose condition is known while reading)")
                if not cond:
                    break
                iterations += 1
                if iterations > MAX_WHILE:
                    raise self.err(kw, f"while loop still running after {MAX_WHILE} iterations: its condition "
                                       "never became false while reading")
                self.spend(max(1, end - body_start), kw)
                if not self.loop_body(body_start):
                    break
        finally:
            self.st.nesting = nesting
        self.pos = end

    def loop_jump(self) -> None:
        kw = self.next()
        self.expect(";")
        if self.st.loop_depth == 0:
            raise self.err(kw, f"'{kw.value}' outside a loop")
        if self.st.condition is not None:
            raise self.err(kw, f"not supported: '{kw.value}' under a run-time condition (the number of "
                               "iterations would depend on measurement results)")
        raise LoopBreak() if kw.value == "break" else LoopContinue()

    # -- switch ----------------------------------------------------------------------------
    def switch_stmt(self) -> None:
        kw = self.next()
        self.expect("(")
        node, t = self.expr()
        target = self.value(node)
        self.expect(")")
        open_tok = self.expect("{")
        cases: list[tuple[list[int], int, Token]] = []
        default: tuple[int, Token] | None = None
        seen: set[int] = set()
        while not (self.peek().value == "}" and self.peek().kind == "op"):
            tok = self.next()
            if tok.value == "case":
                labels: list[int] = []
                while True:
                    node, vt = self.expr()
                    v = self.int_value(node, vt, "case value")
                    if v in seen:
                        raise self.err(vt, f"case value {v} appears twice in this switch")
                    seen.add(v)
                    labels.append(v)
                    if self.peek().value != ",":
                        break
                    self.next()
                start = self.pos
                if self.peek().value != "{":
                    raise self.err(self.peek(), "a case body is a block: case 1 { ... }")
                self.pos = self._skip_body(start, tok)
                cases.append((labels, start, tok))
            elif tok.value == "default":
                if default is not None:
                    raise self.err(tok, "a switch has one default")
                start = self.pos
                if self.peek().value != "{":
                    raise self.err(self.peek(), "a default body is a block: default { ... }")
                self.pos = self._skip_body(start, tok)
                default = (start, tok)
            else:
                what = "end of input" if tok.kind == "eof" else repr(tok.value)
                raise self.err(tok if tok.kind != "eof" else open_tok, f"expected 'case', 'default' or '}}' in "
                                                                      f"switch, got {what}")
        end = self.pos + 1
        if not cases:
            raise self.err(kw, "a switch needs at least one case")
        if isinstance(target, RtBits):
            for labels, start, tok in cases:
                for v in labels:
                    if not 0 <= v < 2 ** len(target.bits):
                        raise self.err(tok, f"case value {v} does not fit in {len(target.bits)} bit(s)")
                    self.run_conditioned(RtCond(target.bits, v), start, tok)
            if default is not None and len(seen) < 2 ** len(target.bits):
                raise self.err(default[1], "not supported: 'default' in a switch on measured bits (qtandem's "
                                           "conditions test one value; list the cases instead)")
        else:
            value = target
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int):
                raise self.err(t, f"switch value must be an integer, got {value!r}")
            for labels, start, _tok in cases:
                if value in labels:
                    self.run_body(start)
                    break
            else:
                if default is not None:
                    self.run_body(default[0])
        self.pos = end
