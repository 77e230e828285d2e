"""Expressions in OpenQASM: parsed without recursion to postfix code, evaluated against a scope.

Values are Python ints/floats or linear :class:`ParameterExpression` objects
(for ``input`` parameters and gate parameters bound to them); anything
non-linear in a parameter is an error. Parsing and evaluation use explicit
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
from collections.abc import Callable
from typing import Any

from qtandem.circuit.parameter import ParameterExpression, is_symbolic
from qtandem.qasm.lexer import Source, Token

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_DEPTH", "MAX_OPS", "Expr", "ExprParser", "as_angle", "evaluate"]

MAX_DEPTH = 500
"""Deepest nesting of parentheses, brackets and unary operators accepted in one expression."""
MAX_OPS = 10_000
"""Most operands and operators in one expression."""
_INT_LIMIT = 2**63
_MAX_LITERAL_DIGITS = 400

CONSTANTS = {"pi": math.pi, "π": math.pi, "tau": 2 * math.pi, "τ": 2 * math.pi, "euler": math.e, "ℇ": math.e}
FUNCTIONS: dict[str, Callable[..., float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
    "arctan": math.atan, "asin": math.asin, "acos": math.acos, "atan": math.atan, "exp": math.exp,
    "ln": math.log, "log": math.log, "sqrt": math.sqrt, "pow": math.pow, "mod": math.fmod, "abs": abs,
}
_ARITY = {name: (2 if name in ("pow", "mod") else 1) for name in FUNCTIONS}
# binary precedence (higher binds tighter); unary minus sits between * and **
_BINARY = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2, "**": 4}
_UNARY_PREC = 3


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

    def __init__(self, tokens: list[Token], src: Source) -> None:
        self.tokens = tokens
        self.src = src

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
        depth = 0
        expect_operand = True
        while True:
            tok = toks[pos]
            kind, v = tok.kind, tok.value
            if expect_operand:
                if kind == "number":
                    out.append(self._operand(tok))
                    pos += 1
                    expect_operand = False
                elif kind == "id":
                    nxt = toks[pos + 1]
                    if nxt.kind == "op" and nxt.value == "(" and v in FUNCTIONS:
                        stack.append(("(", [v, 1], tok))
                        pos += 2
                        depth += 1
                    elif nxt.kind == "op" and nxt.value == "[":
                        stack.append(("[", v, tok))
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
                elif kind == "op" and v in ("-", "+"):
                    stack.append(("op", "neg" if v == "-" else "pos", _UNARY_PREC, True, tok))
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
                elif v == "," and top[0] == "(" and top[1] is not None:
                    top[1][1] += 1
                    pos += 1
                    expect_operand = True
                elif v == "]" and top[0] == "[":
                    stack.pop()
                    depth -= 1
                    out.append(("index", top[1], top[2]))
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

    @staticmethod
    def _pop_op(stack: list[tuple[Any, ...]], out: list[tuple[str, Any, Token]]) -> int:
        _, v, _prec, _right, tok = stack.pop()
        if v == "neg":
            out.append(("neg", None, tok))
            return 1
        if v == "pos":
            return 1
        out.append(("bin", v, tok))
        return 0

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


def _check_number(v: Any, tok: Token, src: Source, what: str) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float, ParameterExpression)):
        kind = "an array" if isinstance(v, list) else type(v).__name__
        raise _err(src, tok, f"{what} needs a number, got {kind}")
    return v


def _int_result(v: Any, tok: Token, src: Source) -> Any:
    if isinstance(v, int) and not -_INT_LIMIT < v < _INT_LIMIT:
        try:
            return float(v)
        except OverflowError:
            raise _err(src, tok, "numeric overflow") from None
    return v


def evaluate(expr: Expr, scope: dict[str, Any], src: Source, *, constants: bool = True) -> Any:
    """Value of ``expr``; names resolve in ``scope`` then the built-in constants.

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
            elif constants and arg in CONSTANTS:
                stack.append(CONSTANTS[arg])
            else:
                raise _err(src, tok, f"unknown identifier {arg!r} in expression")
        elif op == "index":
            idx = stack.pop()
            arr = scope.get(arg)
            if not isinstance(arr, list):
                what = "undeclared" if arg not in scope and arg not in CONSTANTS else "not an array"
                raise _err(src, tok, f"{arg!r} is {what}; it cannot be indexed")
            if isinstance(idx, float) and idx.is_integer():
                idx = int(idx)
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(arr):
                raise _err(src, tok, f"index {idx!r} out of range for {arg!r} of size {len(arr)}")
            stack.append(arr[idx])
        elif op == "neg":
            stack.append(-_check_number(stack.pop(), tok, src, "unary '-'"))
        elif op == "call":
            fname, nargs = arg
            if nargs != _ARITY[fname]:
                raise _err(src, tok, f"{fname}() takes {_ARITY[fname]} argument(s), got {nargs}")
            vals = [_check_number(v, tok, src, f"{fname}()") for v in stack[len(stack) - nargs:]]
            del stack[len(stack) - nargs:]
            if any(is_symbolic(v) for v in vals):
                raise _err(src, tok, f"{fname}() of an input parameter is not linear: qtandem angles are linear "
                                     "expressions of parameters")
            try:
                result = FUNCTIONS[fname](*(float(v) if not isinstance(v, int) else v for v in vals))
            except (ValueError, TypeError, OverflowError, ZeroDivisionError) as err:
                raise _err(src, tok, f"{fname}(): {err}") from None
            stack.append(_int_result(result, tok, src))
        else:  # bin
            b = _check_number(stack.pop(), tok, src, f"operator {arg!r}")
            a = _check_number(stack.pop(), tok, src, f"operator {arg!r}")
            stack.append(_binary(arg, a, b, tok, src))
    return stack[-1]


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
            raise _err(src, tok, f"operator {op!r} on a parameter is not linear: qtandem angles are linear "
                                 "expressions of parameters")
        a = float(a) if isinstance(a, ParameterExpression) else a
        b = float(b) if isinstance(b, ParameterExpression) else b
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
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "an array (index it)" if isinstance(value, list) else repr(value)
        raise src.error(f"gate angle must be a number, got {kind}", tok.line, tok.col)
    try:
        value = float(value)
    except OverflowError:
        raise src.error("gate angle is too large", tok.line, tok.col) from None
    if not math.isfinite(value):
        raise src.error(f"gate angle must be finite, got {value}", tok.line, tok.col)
    return value
