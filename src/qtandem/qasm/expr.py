"""Expressions in OpenQASM: parsed without recursion to postfix code, evaluated against a scope.

Values are Python ints/floats, linear :class:`ParameterExpression` objects
(for ``input`` parameters and gate parameters bound to them) or
:class:`Duration` (OpenQASM 3 timing literals such as ``100ns`` and arithmetic on
them); anything non-linear in a parameter is an error. Parsing and evaluation use explicit
stacks, so ``((((...))))`` nested 10^5 deep fails with a :class:`QasmError`
(after :data:`MAX_DEPTH` levels), never a ``RecursionError``.

Examples:
    >>> from qtandem.qasm.lexer import Source, tokenize
    >>> src = Source("2 * pi / 4 + sin(0)", "<string>")
    >>> expr, end = ExprParser(tokenize(src), src).parse(0)
    >>> evaluate(expr, {}, src)
    1.5707963267948966
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Container
from typing import Any

from qtandem.circuit.instruction import DELAY_UNITS, delay_ns
from qtandem.circuit.parameter import ParameterExpression, is_symbolic
from qtandem.errors import CircuitError
from qtandem.qasm.lexer import Source, Token

__all__ = ["CASTS", "CONSTANTS", "DURATIONOF_REFUSAL", "FUNCTIONS", "MAX_DEPTH", "MAX_OPS", "Duration", "Expr",
           "ExprParser", "RtBits", "RtCond", "as_angle", "evaluate"]

MAX_DEPTH = 500
"""Deepest nesting of parentheses, brackets and unary operators accepted in one expression."""
MAX_OPS = 10_000
"""Most operands and operators in one expression."""
_INT_LIMIT = 2**63
_MAX_LITERAL_DIGITS = 400

CONSTANTS: dict[str, Any] = {"true": True, "false": False, "pi": math.pi, "π": math.pi, "tau": 2 * math.pi,
                             "τ": 2 * math.pi, "euler": math.e, "ℇ": math.e}
FUNCTIONS: dict[str, Callable[..., float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
    "arctan": math.atan, "asin": math.asin, "acos": math.acos, "atan": math.atan, "exp": math.exp,
    "ln": math.log, "log": math.log, "sqrt": math.sqrt, "pow": math.pow, "mod": math.fmod, "abs": abs,
}
_ARITY = {name: (2 if name in ("pow", "mod") else 1) for name in FUNCTIONS}
CASTS = ("bool", "int", "uint", "float", "angle", "bit")
"""Type names usable as casts: ``bool(c)``, ``int[8](x)``, ``float[64](n)``, ``bit[4](n)``."""
# binary precedence (higher binds tighter, as in the OpenQASM 3 grammar); unary operators sit between * and **
_BINARY = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
           "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10, "**": 12}
_UNARY_PREC = 11
_UNARY = {"-": "neg", "+": "pos", "!": "not", "~": "bnot"}
_MAX_DESIGNATOR_NESTING = 16
DURATIONOF_REFUSAL = ("not supported: durationof() (the length of a block of gates depends on the gate durations of "
                      "the device that runs it, which qtandem's circuits do not carry; only delays have a duration)")
"""Why ``durationof({...})`` is refused (a gate has no duration in qtandem's circuit IR)."""


class Duration:
    """A length of time known while reading (OpenQASM 3 ``duration``), in nanoseconds.

    Literals (``100ns``, ``1.5us``, ``2µs``, ``1ms``, ``1s``) and arithmetic on them give durations:
    duration +/- duration, duration * or / number, and duration / duration (a plain number);
    durations compare with each other. A duration may be negative inside an expression; a
    ``delay`` refuses a negative one. ``dt`` (a device's sample time) is refused.

    Examples:
        >>> from qtandem.qasm.lexer import Source, tokenize
        >>> src = Source("2 * (1.5us - 500ns) / 4 + 100ns", "<string>")
        >>> evaluate(ExprParser(tokenize(src), src).parse(0)[0], {}, src)
        600.0ns
        >>> Duration(300.0) == Duration(300), Duration(300.0).ns
        (True, 300.0)
    """

    __slots__ = ("ns",)

    def __init__(self, ns: float) -> None:
        self.ns = float(ns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(("duration", self.ns))

    def __repr__(self) -> str:
        return f"{self.ns!r}ns"


class RtBits:
    """Classical bits whose value is known only when the program runs (written by ``measure``).

    Expressions may compare them with constants (``c == 2``, ``int[2](c) == 2``, ``bool(c[0])``);
    the comparison becomes an instruction condition (:class:`RtCond`).

    Examples:
        >>> RtBits((0, 1), "c").bits
        (0, 1)
    """

    __slots__ = ("bits", "name")

    def __init__(self, bits: tuple[int, ...], name: str) -> None:
        self.bits = bits
        self.name = name


class RtCond:
    """A run-time condition: the integer read from ``bits`` (first bit least significant) equals ``value``.

    Examples:
        >>> RtCond((3,), 1).value
        1
    """

    __slots__ = ("bits", "value")

    def __init__(self, bits: tuple[int, ...], value: int) -> None:
        self.bits = bits
        self.value = value


class Expr:
    """A parsed expression: postfix ``ops`` of ``(opcode, argument, token)``.

    Opcodes: ``num`` (value), ``name`` (identifier), ``index`` (array name; pops
    the index), ``neg``, ``bin`` (operator), ``call`` (``(function, nargs)``).

    Examples:
        >>> from qtandem.qasm.lexer import Source, tokenize
        >>> src = Source("2 * pi", "<string>")
        >>> expr, _ = ExprParser(tokenize(src), src).parse(0)
        >>> [op for op, _, _ in expr.ops]
        ['num', 'name', 'bin']
    """

    __slots__ = ("ops", "tok")

    def __init__(self, ops: list[tuple[str, Any, Token]], tok: Token) -> None:
        self.ops = ops
        self.tok = tok

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"Expr({[(op, arg) for op, arg, _ in self.ops]})"


Node = Expr


class ExprParser:
    """Operator-precedence parser over a token list; ``parse(pos) -> (expr, new_pos)``.

    The expression ends at the first token that cannot continue it (``)``, ``,``
    or ``]`` outside its own brackets, ``;``, a name after an operand...).

    Examples:
        >>> from qtandem.qasm.lexer import Source, tokenize
        >>> src = Source("(1 + 2) * 3, next", "<string>")
        >>> expr, end = ExprParser(tokenize(src), src).parse(0)
        >>> evaluate(expr, {}, src), tokenize(src)[end].value       # stops at the comma
        (9, ',')
    """

    def __init__(self, tokens: list[Token], src: Source, calls: Container[str] = ()) -> None:
        self.tokens = tokens
        self.src = src
        self.calls = calls  # names of subroutines callable in expressions

    def error(self, tok: Token, message: str) -> Exception:
        return self.src.error(message, tok.line, tok.col)

    def parse(self, pos: int) -> tuple[Expr, int]:
        toks = self.tokens
        first = toks[pos]
        # fast path: a lone number or name followed by a delimiter
        if first.kind in ("number", "id") and toks[pos + 1].value in (")", "]", ",", ";", ":", "}") \
                and toks[pos + 1].kind == "op":
            return Expr([self._operand(first)], first), pos + 1
        out: list[tuple[str, Any, Token]] = []
        # stack entries: ("op", value, prec, right_assoc, tok) | ("(", None|[fname, nargs], tok) | ("[", name, tok)
        stack: list[tuple[Any, ...]] = []
        depth = designators = 0
        expect_operand = True
        while True:
            tok = toks[pos]
            kind, v = tok.kind, tok.value
            if expect_operand:
                if kind == "number":
                    unit = toks[pos + 1]
                    if unit.kind == "id" and unit.pos == tok.pos + len(v) and (unit.value in DELAY_UNITS
                                                                               or unit.value == "dt"):
                        out.append(self._duration(tok, unit))  # 100ns: a number with its unit, no space
                        pos += 2
                    else:
                        out.append(self._operand(tok))
                        pos += 1
                    expect_operand = False
                elif kind == "string" and v[1:-1] and set(v[1:-1]) <= set("01_"):
                    out.append(("num", int(v[1:-1].replace("_", ""), 2), tok))  # a bit-string literal
                    pos += 1
                    expect_operand = False
                elif kind == "id":
                    nxt = toks[pos + 1]
                    if v == "durationof" and nxt.value == "(":
                        raise self.error(tok, DURATIONOF_REFUSAL)
                    if nxt.kind == "op" and nxt.value == "(" and v in self.calls and v not in FUNCTIONS:
                        if toks[pos + 2].value == ")":
                            out.append(("call", (f"sub:{v}", 0), tok))
                            pos += 3
                            expect_operand = False
                        else:
                            stack.append(("(", [f"sub:{v}", 1], tok))
                            pos += 2
                            depth += 1
                    elif nxt.kind == "op" and nxt.value == "(" and (v in FUNCTIONS or v in CASTS or v == "sizeof"):
                        name = f"cast:{v}" if v in CASTS else v
                        stack.append(("(", [name, 1], tok))
                        pos += 2
                        depth += 1
                    elif nxt.kind == "op" and nxt.value == "[" and v in CASTS:
                        pos = self._designator(pos, out, stack, designators)
                        designators += 1
                        depth += 1
                    elif nxt.kind == "op" and nxt.value == "[":
                        stack.append(("[", [v, 1], tok))
                        pos += 2
                        depth += 1
                    else:
                        out.append(("name", v, tok))
                        pos += 1
                        expect_operand = False
                elif kind == "op" and v == "(":
                    stack.append(("(", None, tok))
                    pos += 1
                    depth += 1
                elif kind == "op" and v in _UNARY:
                    stack.append(("op", _UNARY[v], _UNARY_PREC, True, tok))
                    pos += 1
                    depth += 1
                else:
                    what = "end of input" if kind == "eof" else repr(v)
                    raise self.error(tok, f"expected an expression, got {what}")
                if depth > MAX_DEPTH:
                    raise self.error(tok, f"expression nested more than {MAX_DEPTH} levels deep")
            elif kind == "op" and v in _BINARY:
                prec = _BINARY[v]
                right = v == "**"
                while stack and stack[-1][0] == "op" and (stack[-1][2] > prec or
                                                          (stack[-1][2] == prec and not right)):
                    depth -= self._pop_op(stack, out)
                stack.append(("op", v, prec, right, tok))
                pos += 1
                expect_operand = True
            elif kind == "op" and v in (")", ",", "]"):
                while stack and stack[-1][0] == "op":
                    depth -= self._pop_op(stack, out)
                if not stack:
                    break  # the delimiter belongs to the caller
                top = stack[-1]
                if v == ")" and top[0] == "(":
                    stack.pop()
                    depth -= 1
                    if top[1] is not None:
                        fname, nargs = top[1]
                        out.append(("call", (fname, nargs), top[2]))
                    pos += 1
                elif v == "," and top[1] is not None:
                    top[1][1] += 1
                    pos += 1
                    expect_operand = True
                elif v == "]" and top[0] == "[":
                    stack.pop()
                    depth -= 1
                    out.append(("index", tuple(top[1]), top[2]))
                    pos += 1
                else:
                    opener = "(" if top[0] == "(" else "["
                    closer = ")" if opener == "(" else "]"
                    raise self.error(tok, f"expected {closer!r} to close the {opener!r} at "
                                          f"{top[2].line}:{top[2].col}, got {v!r}")
            else:
                while stack and stack[-1][0] == "op":
                    depth -= self._pop_op(stack, out)
                if stack:
                    top = stack[-1]
                    closer = ")" if top[0] == "(" else "]"
                    what = "end of input" if kind == "eof" else repr(v)
                    raise self.error(tok, f"expected {closer!r} to close the {top[0]!r} at "
                                          f"{top[2].line}:{top[2].col}, got {what}")
                break
            if len(out) > MAX_OPS:
                raise self.error(tok, f"expression longer than {MAX_OPS} terms")
        return Expr(out, first), pos

    def _designator(self, pos: int, out: list[tuple[str, Any, Token]], stack: list[tuple[Any, ...]],
                    nesting: int) -> int:
        """``int[8](x)``: push the designator's code, open a cast call; returns the position after ``(``."""
        tok = self.tokens[pos]
        if nesting > _MAX_DESIGNATOR_NESTING:
            raise self.error(tok, f"casts nested more than {_MAX_DESIGNATOR_NESTING} deep")
        size, end = self.parse(pos + 2)
        toks = self.tokens
        if toks[end].value != "]" or toks[end + 1].value != "(":
            bad = toks[end] if toks[end].value != "]" else toks[end + 1]
            what = "end of input" if bad.kind == "eof" else repr(bad.value)
            raise self.error(bad, f"expected a cast {tok.value}[size](value), got {what}")
        out.extend(size.ops)
        stack.append(("(", [f"cast[]:{tok.value}", 1], tok))
        return end + 2

    @staticmethod
    def _pop_op(stack: list[tuple[Any, ...]], out: list[tuple[str, Any, Token]]) -> int:
        _, v, _prec, _right, tok = stack.pop()
        if v in ("neg", "not", "bnot"):
            out.append((v, None, tok))
            return 1
        if v == "pos":
            return 1
        out.append(("bin", v, tok))
        return 0

    def _duration(self, tok: Token, unit: Token) -> tuple[str, Any, Token]:
        """A timing literal ``100ns`` (number token ``tok`` and its ``unit``) as a :class:`Duration`."""
        if tok.value.endswith("im") or len(tok.value) > _MAX_LITERAL_DIGITS:
            return self._operand(tok)  # the same error as for the number alone
        try:
            ns = delay_ns(float(tok.value), unit.value)
        except CircuitError as exc:
            raise self.error(unit if unit.value not in DELAY_UNITS else tok, str(exc)) from None
        if not math.isfinite(ns):
            raise self.error(tok, f"duration {tok.value}{unit.value} is too long: it must be finite in ns")
        return ("num", Duration(ns), tok)

    def _operand(self, tok: Token) -> tuple[str, Any, Token]:
        if tok.kind == "id":
            return ("name", tok.value, tok)
        text = tok.value
        if text.endswith("im"):
            raise self.error(tok, "imaginary numbers are not supported in gate angles")
        if len(text) > _MAX_LITERAL_DIGITS:
            raise self.error(tok, f"number literal longer than {_MAX_LITERAL_DIGITS} digits")
        if any(c in text for c in ".eE"):
            value: float = float(text)
        else:
            value = int(text)
            if value >= _INT_LIMIT:
                value = float(value)
        return ("num", value, tok)


def _err(src: Source, tok: Token, message: str) -> Exception:
    return src.error(message, tok.line, tok.col)


def _runtime(v: Any, tok: Token, src: Source, what: str) -> Exception:
    name = v.name if isinstance(v, RtBits) else "measured bits"
    return _err(src, tok, f"not supported: {what} on a run-time value ({name!r} holds measurement results; "
                          "qtandem compares measured bits with constants, as in 'if (c == 2)')")


def _check_number(v: Any, tok: Token, src: Source, what: str) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (RtBits, RtCond)):
        raise _runtime(v, tok, src, what)
    if not isinstance(v, (int, float, ParameterExpression)):
        kind = "an array" if isinstance(v, list) else f"the duration {v!r}" if isinstance(v, Duration) \
            else type(v).__name__
        raise _err(src, tok, f"{what} needs a number, got {kind}")
    return v


def _int_result(v: Any, tok: Token, src: Source) -> Any:
    if isinstance(v, int) and not -_INT_LIMIT < v < _INT_LIMIT:
        try:
            return float(v)
        except OverflowError:
            raise _err(src, tok, "numeric overflow") from None
    return v


def truth(v: Any, tok: Token, src: Source) -> bool | RtCond:
    """The truth value of a condition: a ``bool``, or an :class:`RtCond` for measured bits."""
    if isinstance(v, RtCond):
        return v
    if isinstance(v, RtBits):
        if len(v.bits) != 1:
            raise _err(src, tok, f"the condition reads {len(v.bits)} measured bits of {v.name!r}: compare them "
                                 f"with a value, as in 'if ({v.name} == 1)'")
        return RtCond(v.bits, 1)
    if isinstance(v, list):
        raise _err(src, tok, "an array is not a condition")
    if isinstance(v, Duration):
        raise _err(src, tok, f"a duration ({v!r}) is not a condition; compare it, as in 'd > 0ns'")
    if isinstance(v, ParameterExpression) and not isinstance(v, bool):
        if v.parameters:
            raise _err(src, tok, f"the condition depends on input parameter(s) {[p.name for p in v.parameters]}, "
                                 "known only when the circuit is bound")
        v = float(v)
    return bool(v)


def _cast(kind: str, v: Any, size: int | None, tok: Token, src: Source) -> Any:
    if isinstance(v, (RtBits, RtCond)):
        if kind == "bool":
            return truth(v, tok, src)
        if kind in ("int", "uint", "bit") and isinstance(v, RtBits):
            if size is not None and size != len(v.bits):
                raise _err(src, tok, f"not supported: {kind}[{size}] cast of {len(v.bits)} measured bits "
                                     f"({v.name!r}): the width must match")
            return v
        raise _runtime(v, tok, src, f"a cast to {kind}")
    if isinstance(v, list):
        raise _err(src, tok, f"cannot cast an array to {kind}")
    if isinstance(v, Duration):
        raise _err(src, tok, f"cannot cast the duration {v!r} to {kind}; divide it by a duration for a number "
                             "(d / 1ns)")
    if isinstance(v, ParameterExpression) and not isinstance(v, bool):
        if kind in ("float", "angle"):
            return v
        raise _err(src, tok, f"cannot cast input parameter(s) {[p.name for p in v.parameters]} to {kind}")
    if kind == "bool":
        return bool(v)
    if kind in ("float", "angle"):
        return float(v)
    n = int(v)  # truncates towards zero, as C casts do
    if kind in ("uint", "bit"):
        if size is not None:
            n &= (1 << size) - 1
        elif n < 0:
            raise _err(src, tok, f"cannot cast {v!r} to {kind} without a width")
    elif size is not None:
        n = (n + (1 << (size - 1))) % (1 << size) - (1 << (size - 1))
    return n


def _index(arr: Any, idx: list[Any], name: str, tok: Token, src: Source) -> Any:
    for i in idx:
        if isinstance(i, float) and i.is_integer():
            i = int(i)
        if isinstance(i, (RtBits, RtCond)):
            raise _runtime(i, tok, src, "an index")
        if isinstance(arr, RtBits):
            if isinstance(i, bool) or not isinstance(i, int) or not -len(arr.bits) <= i < len(arr.bits):
                raise _err(src, tok, f"index {i!r} out of range for {name!r} of size {len(arr.bits)}")
            arr = RtBits((arr.bits[i],), f"{name}[{i}]")
        elif isinstance(arr, int) and not isinstance(arr, bool):
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < 64:
                raise _err(src, tok, f"bit index {i!r} of {name!r} must be an integer in 0..63")
            arr = (arr >> i) & 1
        elif isinstance(arr, list):
            if isinstance(i, bool) or not isinstance(i, int) or not -len(arr) <= i < len(arr):
                raise _err(src, tok, f"index {i!r} out of range for {name!r} of size {len(arr)}")
            arr = arr[i]
        else:
            raise _err(src, tok, f"{name!r} is not an array; it cannot be indexed")
    return arr


def _sizeof(vals: list[Any], tok: Token, src: Source) -> int:
    arr = vals[0]
    dim = vals[1] if len(vals) > 1 else 0
    if isinstance(arr, RtBits):
        arr = list(arr.bits)
    if not isinstance(arr, list):
        raise _err(src, tok, "sizeof() needs an array")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
        raise _err(src, tok, f"sizeof(): dimension must be a non-negative integer, got {dim!r}")
    for _ in range(dim):
        if not arr or not isinstance(arr[0], list):
            raise _err(src, tok, f"sizeof(): the array has fewer than {dim + 1} dimensions")
        arr = arr[0]
    return len(arr)


def evaluate(expr: Expr, scope: dict[str, Any], src: Source, *, constants: bool = True,
             registers: Callable[[str], Any] | None = None,
             call: Callable[[str, list[Any], Token], Any] | None = None) -> Any:
    """Value of ``expr``; names resolve in ``scope``, then ``registers``, then the built-in constants.

    ``registers(name)`` returns an :class:`RtBits` for a classical register
    (or ``None``); comparisons of those bits with constants give :class:`RtCond`.
    ``call(name, values, token)`` runs a subroutine called in the expression.

    Raises:
        QasmError: unknown names, bad operands, non-linear use of a parameter,
            division by zero, overflow, domain errors of functions.

    Examples:
        >>> import math
        >>> from qtandem.qasm.lexer import Source, tokenize
        >>> src = Source("a / 2 + pi", "<string>")
        >>> expr, _ = ExprParser(tokenize(src), src).parse(0)
        >>> math.isclose(evaluate(expr, {"a": 3}, src), 1.5 + math.pi)
        True
        >>> evaluate(expr, {}, src)
        Traceback (most recent call last):
        ...
        qtandem.errors.QasmError: ...
        >>> src = Source("bool(a[1]) && int[8](x) == 3", "<string>")
        >>> expr, _ = ExprParser(tokenize(src), src).parse(0)
        >>> evaluate(expr, {"a": 2, "x": 3.7}, src)
        True
    """
    ops = expr.ops
    if len(ops) == 1 and ops[0][0] == "num":
        return ops[0][1]
    stack: list[Any] = []
    for op, arg, tok in ops:
        if op == "num":
            stack.append(arg)
        elif op == "name":
            if arg in scope:
                stack.append(scope[arg])
                continue
            found = registers(arg) if registers is not None else None
            if found is not None:
                stack.append(found)
            elif constants and arg in CONSTANTS:
                stack.append(CONSTANTS[arg])
            else:
                raise _err(src, tok, f"unknown identifier {arg!r} in expression")
        elif op == "index":
            name, nidx = arg
            idx = stack[len(stack) - nidx:]
            del stack[len(stack) - nidx:]
            arr = scope.get(name)
            if arr is None and registers is not None:
                arr = registers(name)
            if arr is None:
                raise _err(src, tok, f"{name!r} is undeclared; it cannot be indexed")
            stack.append(_index(arr, idx, name, tok, src))
        elif op == "neg":
            v = stack.pop()
            stack.append(Duration(-v.ns) if isinstance(v, Duration) else -_check_number(v, tok, src, "unary '-'"))
        elif op == "not":
            v = truth(stack.pop(), tok, src)
            if isinstance(v, RtCond):
                if len(v.bits) != 1:
                    raise _runtime(v, tok, src, "'!' of a multi-bit comparison")
                v = RtCond(v.bits, 1 - v.value)
            else:
                v = not v
            stack.append(v)
        elif op == "bnot":
            v = stack.pop()
            if isinstance(v, (bool, RtCond, RtBits)):
                stack.append(evaluate(Expr([("num", v, tok), ("not", None, tok)], tok), {}, src))
                continue
            v = _check_number(v, tok, src, "operator '~'")
            if not isinstance(v, int):
                raise _err(src, tok, "operator '~' needs an integer")
            stack.append(~v)
        elif op == "call":
            fname, nargs = arg
            if fname.startswith("cast"):
                if nargs != 1:
                    raise _err(src, tok, f"a cast to {fname.split(':')[1]} takes one value, got {nargs}")
                value = stack.pop()
                size = None
                if fname.startswith("cast[]"):
                    size = stack.pop()
                    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= 64:
                        raise _err(src, tok, f"cast width must be an integer in 1..64, got {size!r}")
                stack.append(_cast(fname.split(":")[1], value, size, tok, src))
                continue
            vals = stack[len(stack) - nargs:]
            del stack[len(stack) - nargs:]
            if fname.startswith("sub:"):
                if call is None:
                    raise _err(src, tok, f"subroutine {fname[4:]!r} cannot be called here")
                stack.append(call(fname[4:], vals, tok))
                continue
            if fname == "sizeof":
                if nargs not in (1, 2):
                    raise _err(src, tok, f"sizeof() takes 1 or 2 arguments, got {nargs}")
                stack.append(_sizeof(vals, tok, src))
                continue
            if nargs != _ARITY[fname]:
                raise _err(src, tok, f"{fname}() takes {_ARITY[fname]} argument(s), got {nargs}")
            vals = [_check_number(v, tok, src, f"{fname}()") for v in vals]
            if any(is_symbolic(v) for v in vals):
                raise _err(src, tok, f"{fname}() of an input parameter is not linear: qtandem angles are linear "
                                     "expressions of parameters")
            try:
                result = FUNCTIONS[fname](*(float(v) if not isinstance(v, int) else v for v in vals))
            except (ValueError, TypeError, OverflowError, ZeroDivisionError) as err:
                raise _err(src, tok, f"{fname}(): {err}") from None
            stack.append(_int_result(result, tok, src))
        else:  # bin
            b = stack.pop()
            a = stack.pop()
            if arg in ("&&", "||"):
                stack.append(_logical(arg, truth(a, tok, src), truth(b, tok, src), tok, src))
            elif arg in ("==", "!=") and (isinstance(a, RtBits) or isinstance(b, RtBits)):
                stack.append(_compare_bits(arg, a, b, tok, src))
            elif isinstance(a, Duration) or isinstance(b, Duration):
                stack.append(_duration_binary(arg, a, b, tok, src))
            else:
                b = _check_number(b, tok, src, f"operator {arg!r}")
                a = _check_number(a, tok, src, f"operator {arg!r}")
                stack.append(_binary(arg, a, b, tok, src))
    return stack[-1]


def _logical(op: str, a: bool | RtCond, b: bool | RtCond, tok: Token, src: Source) -> bool | RtCond:
    if isinstance(a, bool) and isinstance(b, bool):
        return (a and b) if op == "&&" else (a or b)
    if isinstance(a, bool) or isinstance(b, bool):
        static, cond = (a, b) if isinstance(a, bool) else (b, a)
        assert isinstance(cond, RtCond)
        if op == "&&":
            return cond if static else False
        return True if static else cond
    assert isinstance(a, RtCond) and isinstance(b, RtCond)
    if op == "||" or set(a.bits) & set(b.bits):
        raise _err(src, tok, f"not supported: {op!r} of run-time conditions on measured bits (qtandem's conditions "
                             "are one comparison, or '&&' of comparisons on different bits)")
    return RtCond(a.bits + b.bits, a.value | (b.value << len(a.bits)))


def _duration_binary(op: str, a: Any, b: Any, tok: Token, src: Source) -> Any:
    """``a op b`` where at least one side is a :class:`Duration` (the OpenQASM 3 rules for durations)."""
    for v in (a, b):
        if not isinstance(v, Duration):
            v = _check_number(v, tok, src, f"operator {op!r}")
            if is_symbolic(v):
                raise _err(src, tok, "a duration cannot depend on input parameters: qtandem needs every duration "
                                     "while reading")
    result: Any
    if isinstance(a, Duration) and isinstance(b, Duration):
        if op in ("+", "-"):
            result = Duration(a.ns + b.ns if op == "+" else a.ns - b.ns)
        elif op == "/":
            if b.ns == 0:
                raise _err(src, tok, "division by a zero duration")
            result = a.ns / b.ns
        elif op in _COMPARE:
            return _COMPARE[op](a.ns, b.ns)
        else:
            raise _err(src, tok, f"operator {op!r} is not defined on two durations (they add, subtract, divide "
                                 "and compare)")
    elif op == "*":
        d, k = (a, b) if isinstance(a, Duration) else (b, a)
        result = Duration(d.ns * float(k))
    elif op == "/" and isinstance(a, Duration):
        if float(b) == 0:
            raise _err(src, tok, "division by zero")
        result = Duration(a.ns / float(b))
    elif op in ("+", "-") or op in _COMPARE:
        number = b if isinstance(a, Duration) else a
        raise _err(src, tok, f"operator {op!r} between a duration and the number {number!r}: give the number a "
                             f"unit, such as {number!r}ns")
    else:
        raise _err(src, tok, f"operator {op!r} is not defined for a duration (durations add, subtract, compare, "
                             "and multiply or divide by numbers)")
    value = result.ns if isinstance(result, Duration) else result
    if not math.isfinite(value):
        raise _err(src, tok, "duration overflow: the result is not a finite number")
    return result


def _compare_bits(op: str, a: Any, b: Any, tok: Token, src: Source) -> RtCond:
    bits, other = (a, b) if isinstance(a, RtBits) else (b, a)
    if isinstance(other, bool):
        other = int(other)
    if isinstance(other, float) and other.is_integer():
        other = int(other)
    if not isinstance(other, int) or isinstance(other, RtBits):
        raise _runtime(bits, tok, src, f"{op!r} between run-time values")
    if not 0 <= other < 2 ** len(bits.bits):
        raise _err(src, tok, f"condition value {other} does not fit in {len(bits.bits)} bit(s)")
    if op == "==":
        return RtCond(bits.bits, other)
    if len(bits.bits) != 1:
        raise _err(src, tok, f"not supported: '!=' on {len(bits.bits)} measured bits ({bits.name!r}); "
                             "qtandem's conditions test equality")
    return RtCond(bits.bits, 1 - other)


def _binary(op: str, a: Any, b: Any, tok: Token, src: Source) -> Any:
    sa, sb = is_symbolic(a), is_symbolic(b)
    try:
        if op == "+":
            return _int_result(a + b, tok, src)
        if op == "-":
            return _int_result(a - b, tok, src)
        if op == "*":
            if sa and sb:
                raise _err(src, tok, "product of two parameters is not linear: qtandem angles are linear "
                                     "expressions of parameters")
            return _int_result(a * b, tok, src)
        if op == "/":
            if sb:
                raise _err(src, tok, "division by a parameter is not linear: qtandem angles are linear "
                                     "expressions of parameters")
            if isinstance(a, int) and isinstance(b, int) and b != 0 and a % b == 0:
                return a // b
            return a / b
        if sa or sb:
            what = "a comparison" if op in _COMPARE else f"operator {op!r}"
            raise _err(src, tok, f"{what} on a parameter is not linear: qtandem angles are linear "
                                 "expressions of parameters")
        a = float(a) if isinstance(a, ParameterExpression) else a
        b = float(b) if isinstance(b, ParameterExpression) else b
        if op in _COMPARE:
            return _COMPARE[op](a, b)
        if op in ("&", "|", "^", "<<", ">>"):
            if not isinstance(a, int) or not isinstance(b, int):
                raise _err(src, tok, f"operator {op!r} needs integers, got {a!r} and {b!r}")
            if op in ("<<", ">>") and not 0 <= b < 64:
                raise _err(src, tok, f"shift by {b} is out of range 0..63")
            return _int_result(_BITWISE[op](a, b), tok, src)
        if op == "%":
            return a % b
        # op == "**"
        if isinstance(a, int) and isinstance(b, int) and b >= 0 and (abs(a) <= 1 or b * math.log2(abs(a)) < 64):
            return _int_result(a**b, tok, src)
        result = float(a) ** float(b)
        if isinstance(result, complex):
            raise _err(src, tok, f"{a!r} ** {b!r} is not a real number")
        return result
    except ZeroDivisionError:
        raise _err(src, tok, "division by zero") from None
    except OverflowError:
        raise _err(src, tok, "numeric overflow") from None
    except (TypeError, ValueError) as err:
        raise _err(src, tok, f"bad operands for {op!r}: {err}") from None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}
_BITWISE: dict[str, Callable[[int, int], int]] = {
    "&": operator.and_, "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
}


def as_angle(value: Any, tok: Token, src: Source) -> float | ParameterExpression:
    """Check an evaluated gate argument is a finite real number or a parameter expression.

    Raises:
        QasmError: for arrays, infinities and NaN.

    Examples:
        >>> from qtandem.qasm.lexer import Source, tokenize
        >>> src = Source("x", "<string>")
        >>> tok = tokenize(src)[0]
        >>> as_angle(0.5, tok, src)
        0.5
        >>> as_angle(float("inf"), tok, src)
        Traceback (most recent call last):
        ...
        qtandem.errors.QasmError: ...
    """
    if isinstance(value, ParameterExpression):
        if not math.isfinite(value.const) or not all(math.isfinite(c) for c in value.terms.values()):
            raise src.error(f"gate angle must be finite, got {value}", tok.line, tok.col)
        return value
    if isinstance(value, (RtBits, RtCond)):
        raise _runtime(value, tok, src, "a gate angle")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "an array (index it)" if isinstance(value, list) else f"the duration {value!r}" \
            if isinstance(value, Duration) else repr(value)
        raise src.error(f"gate angle must be a number, got {kind}", tok.line, tok.col)
    try:
        value = float(value)
    except OverflowError:
        raise src.error("gate angle is too large", tok.line, tok.col) from None
    if not math.isfinite(value):
        raise src.error(f"gate angle must be finite, got {value}", tok.line, tok.col)
    return value
