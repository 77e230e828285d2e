"""Expressions in OpenQASM: parsed to a tiny AST, evaluated against a scope.

Values are Python ints/floats or linear :class:`ParameterExpression` objects
(for ``input`` parameters and gate parameters bound to them); anything
non-linear in a parameter is an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from qtandem.circuit.parameter import ParameterExpression, is_symbolic
from qtandem.qasm.lexer import Source, Token

__all__ = ["MAX_DEPTH", "ExprParser", "evaluate"]

MAX_DEPTH = 200
"""Deepest nesting of parentheses / operators accepted in one expression."""

CONSTANTS = {"pi": math.pi, "π": math.pi, "tau": 2 * math.pi, "τ": 2 * math.pi, "euler": math.e, "ℇ": math.e}
FUNCTIONS: dict[str, Callable[..., float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
    "arctan": math.atan, "asin": math.asin, "acos": math.acos, "atan": math.atan, "exp": math.exp,
    "ln": math.log, "log": math.log, "sqrt": math.sqrt, "pow": math.pow, "mod": math.fmod, "abs": abs,
}
_BINARY = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2, "**": 4}

Node = tuple[Any, ...]


class ExprParser:
    """Pratt parser over a token list; ``parse(pos) -> (node, new_pos)``."""

    def __init__(self, tokens: list[Token], src: Source) -> None:
        self.tokens = tokens
        self.src = src

    def error(self, tok: Token, message: str) -> Exception:
        return self.src.error(message, tok.line, tok.col)

    def parse(self, pos: int, depth: int = 0) -> tuple[Node, int]:
        return self._binary(pos, 0, depth)

    def _binary(self, pos: int, min_prec: int, depth: int) -> tuple[Node, int]:
        if depth > MAX_DEPTH:
            raise self.error(self.tokens[pos], f"expression nested more than {MAX_DEPTH} levels deep")
        left, pos = self._unary(pos, depth + 1)
        chain = depth
        while True:
            tok = self.tokens[pos]
            prec = _BINARY.get(tok.value) if tok.kind == "op" else None
            if prec is None or prec < min_prec:
                return left, pos
            chain += 1  # a left-deep chain a+b+c+... deepens the tree like nesting does
            if chain > MAX_DEPTH:
                raise self.error(tok, f"expression nested more than {MAX_DEPTH} levels deep")
            # ** is right-associative
            next_min = prec if tok.value == "**" else prec + 1
            right, pos = self._binary(pos + 1, next_min, depth + 1)
            left = ("bin", tok.value, left, right, tok)

    def _unary(self, pos: int, depth: int) -> tuple[Node, int]:
        if depth > MAX_DEPTH:
            raise self.error(self.tokens[pos], f"expression nested more than {MAX_DEPTH} levels deep")
        tok = self.tokens[pos]
        if tok.kind == "op" and tok.value in ("-", "+"):
            operand, pos = self._binary(pos + 1, 3, depth + 1)  # binds tighter than * /, looser than **
            return (("neg", operand, tok) if tok.value == "-" else operand), pos
        return self._primary(pos, depth)

    def _primary(self, pos: int, depth: int) -> tuple[Node, int]:
        tok = self.tokens[pos]
        if tok.kind == "number":
            text = tok.value
            if text.endswith("im"):
                raise self.error(tok, "imaginary numbers are not supported in gate angles")
            if len(text) > 400:
                raise self.error(tok, f"number literal of {len(text)} characters is too long")
            value: float = float(text) if any(c in text for c in ".eE") else int(text)
            return ("num", value, tok), pos + 1
        if tok.kind == "id":
            nxt = self.tokens[pos + 1]
            if nxt.kind == "op" and nxt.value == "(" and tok.value in FUNCTIONS:
                args: list[Node] = []
                pos += 2
                while True:
                    arg, pos = self._binary(pos, 0, depth + 1)
                    args.append(arg)
                    sep = self.tokens[pos]
                    if sep.value == ",":
                        pos += 1
                        continue
                    if sep.value == ")":
                        return ("call", tok.value, args, tok), pos + 1
                    raise self.error(sep, f"expected ',' or ')' in the arguments of {tok.value}, got {sep.value!r}")
            if nxt.kind == "op" and nxt.value == "[":
                index, pos = self._binary(pos + 2, 0, depth + 1)
                close = self.tokens[pos]
                if close.value != "]":
                    raise self.error(close, f"expected ']', got {close.value!r}")
                return ("index", tok.value, index, tok), pos + 1
            return ("name", tok.value, tok), pos + 1
        if tok.kind == "op" and tok.value == "(":
            inner, pos = self._binary(pos + 1, 0, depth + 1)
            close = self.tokens[pos]
            if close.value != ")":
                raise self.error(close, f"expected ')', got {close.value!r}" if close.kind != "eof"
                                 else "unclosed '(' at the end of the input")
            return inner, pos + 1
        what = "end of input" if tok.kind == "eof" else repr(tok.value)
        raise self.error(tok, f"expected an expression, got {what}")


def _tok(node: Node) -> Token:
    return node[-1]


def evaluate(node: Node, scope: dict[str, Any], src: Source, *, constants: bool = True) -> Any:
    """Value of ``node``; names resolve in ``scope`` then the built-in constants."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "name":
        name = node[1]
        if name in scope:
            return scope[name]
        if constants and name in CONSTANTS:
            return CONSTANTS[name]
        tok = node[2]
        raise src.error(f"unknown identifier {name!r} in expression", tok.line, tok.col)
    if kind == "index":
        name, tok = node[1], node[3]
        idx = evaluate(node[2], scope, src, constants=constants)
        arr = scope.get(name)
        if not isinstance(arr, list):
            raise src.error(f"{name!r} is not an array", tok.line, tok.col)
        if not isinstance(idx, int) or not 0 <= idx < len(arr):
            raise src.error(f"index {idx} out of range for {name!r} of size {len(arr)}", tok.line, tok.col)
        return arr[idx]
    if kind == "neg":
        return -evaluate(node[1], scope, src, constants=constants)
    if kind == "call":
        fname, args, tok = node[1], node[2], node[3]
        vals = [evaluate(a, scope, src, constants=constants) for a in args]
        if any(is_symbolic(v) for v in vals):
            raise src.error(f"{fname}() of an input parameter is not linear: qtandem angles are linear "
                            "expressions of parameters", tok.line, tok.col)
        try:
            return FUNCTIONS[fname](*vals)
        except (ValueError, TypeError, OverflowError, ZeroDivisionError) as err:
            raise src.error(f"{fname}(): {err}", tok.line, tok.col) from None
    if kind == "bin":
        op, tok = node[1], node[4]
        a = evaluate(node[2], scope, src, constants=constants)
        b = evaluate(node[3], scope, src, constants=constants)
        sa, sb = is_symbolic(a), is_symbolic(b)
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                if sa and sb:
                    raise src.error("product of two parameters is not linear", tok.line, tok.col)
                return a * b
            if op == "/":
                if sb:
                    raise src.error("division by a parameter is not linear", tok.line, tok.col)
                if isinstance(a, int) and isinstance(b, int) and b != 0 and a % b == 0:
                    return a // b
                return a / b
            if sa or sb:
                raise src.error(f"operator {op!r} on a parameter is not linear", tok.line, tok.col)
            if op == "%":
                return a % b
            if op == "**":
                if isinstance(a, int) and isinstance(b, int) and b >= 0:
                    if b * max(abs(a), 2).bit_length() > 4096:
                        raise src.error("integer power too large", tok.line, tok.col)
                    return a**b
                return float(a) ** float(b)
        except ZeroDivisionError:
            raise src.error("division by zero", tok.line, tok.col) from None
        except OverflowError:
            raise src.error("numeric overflow", tok.line, tok.col) from None
        except TypeError as err:
            raise src.error(f"bad operands for {op!r}: {err}", tok.line, tok.col) from None
    raise AssertionError(kind)  # pragma: no cover


def as_angle(value: Any, tok: Token, src: Source) -> float | ParameterExpression:
    """Check an evaluated gate argument is a real number or a parameter expression."""
    if isinstance(value, ParameterExpression):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise src.error(f"gate angle must be a number, got {value!r}", tok.line, tok.col)
    try:
        out = float(value)
    except OverflowError:
        raise src.error("gate angle is too large to represent as a float", tok.line, tok.col) from None
    if not math.isfinite(out):
        raise src.error(f"gate angle must be finite, got {out}", tok.line, tok.col)
    return out
