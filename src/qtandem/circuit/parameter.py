"""Symbolic gate angles: :class:`Parameter` and linear :class:`ParameterExpression`.

An angle in a :class:`~qtandem.Circuit` is a float, a ``Parameter``, or a linear
expression ``c0 + c1*p1 + c2*p2 + ...`` of parameters. Linear is enough for every
encoder and ansatz in use and keeps gradients exact and cheap.

Parameters are identified by name: two ``Parameter("theta")`` objects are the same
parameter.

Examples:
    >>> from qtandem import Parameter
    >>> theta, phi = Parameter("theta"), Parameter("phi")
    >>> expr = 2 * theta - phi / 2 + 0.25
    >>> expr
    ParameterExpression(2*theta - 0.5*phi + 0.25)
    >>> expr.bind({"theta": 1.0, "phi": 2.0})
    1.25
    >>> expr.bind({"theta": 1.0})
    ParameterExpression(-0.5*phi + 2.25)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from numbers import Real
from typing import Any

from qtandem.errors import ParameterError

__all__ = ["Angle", "Parameter", "ParameterExpression", "angle_value", "is_symbolic"]

_NAME = re.compile(r"^[^\W\d]\w*(\[[0-9]+\])?$")  # Unicode letters too, as OpenQASM 3 identifiers





class ParameterExpression:
    """A linear expression ``const + sum_k coef_k * param_k`` of parameters.

    Args:
        terms: mapping from :class:`Parameter` to its coefficient.
        const: the constant offset.

    Examples:
        >>> theta = Parameter("theta")
        >>> expr = 2 * theta + 0.5
        >>> expr
        ParameterExpression(2*theta + 0.5)
        >>> expr.parameters
        [Parameter('theta')]
        >>> expr.bind({theta: 1.0})
        2.5
    """

    __slots__ = ("_const", "_terms")

    def __init__(self, terms: Mapping[Parameter, float] | None = None, const: float = 0.0) -> None:
        clean: dict[Parameter, float] = {}
        for p, c in (terms or {}).items():
            if not isinstance(p, Parameter):
                raise ParameterError(f"expression terms must be keyed by Parameter, got {type(p).__name__}")
            c = float(c)
            if c != 0.0:
                clean[p] = clean.get(p, 0.0) + c
        self._terms = {p: c for p, c in clean.items() if c != 0.0}
        self._const = float(const)

    # -- structure -------------------------------------------------------------
    @property
    def terms(self) -> dict[Parameter, float]:
        """A copy of the ``{Parameter: coefficient}`` map."""
        return dict(self._terms)

    @property
    def const(self) -> float:
        """The constant offset."""
        return self._const

    @property
    def parameters(self) -> list[Parameter]:
        """The parameters this expression depends on, in order of appearance."""
        return list(self._terms)

    def bind(self, values: Mapping[Any, float], *, strict: bool = False) -> float | ParameterExpression:
        """Substitute values; returns a float once every parameter is bound.

        Args:
            values: ``{Parameter or name: value}``.
            strict: raise :class:`ParameterError` if a parameter is left unbound.
        """
        by_name = {(k.name if isinstance(k, Parameter) else str(k)): float(v) for k, v in values.items()}
        const = self._const
        rest: dict[Parameter, float] = {}
        for p, c in self._terms.items():
            if p.name in by_name:
                const += c * by_name[p.name]
            else:
                rest[p] = c
        if rest and strict:
            raise ParameterError(f"unbound parameter(s): {', '.join(p.name for p in rest)}")
        if not rest:
            return const
        return ParameterExpression(rest, const)

    # -- arithmetic ------------------------------------------------------------
    @staticmethod
    def _coerce(other: object) -> ParameterExpression | None:
        if isinstance(other, ParameterExpression):
            return other
        if isinstance(other, Real):
            return ParameterExpression({}, float(other))
        return None

    def __add__(self, other: object) -> ParameterExpression:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        terms = dict(self._terms)
        for p, c in o._terms.items():
            terms[p] = terms.get(p, 0.0) + c
        return ParameterExpression(terms, self._const + o._const)

    __radd__ = __add__

    def __neg__(self) -> ParameterExpression:
        return ParameterExpression({p: -c for p, c in self._terms.items()}, -self._const)

    def __sub__(self, other: object) -> ParameterExpression:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        return self + (-o)

    def __rsub__(self, other: object) -> ParameterExpression:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        return o + (-self)

    def __mul__(self, other: object) -> ParameterExpression:
        if isinstance(other, ParameterExpression):
            if not other._terms:
                other = other._const
            elif not self._terms:
                return other * self._const
            else:
                raise ParameterError("only linear expressions of parameters are supported (product of two parameters)")
        if not isinstance(other, Real):
            return NotImplemented
        k = float(other)
        return ParameterExpression({p: c * k for p, c in self._terms.items()}, self._const * k)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> ParameterExpression:
        if isinstance(other, ParameterExpression) and not other._terms:
            other = other._const
        if not isinstance(other, Real):
            if isinstance(other, ParameterExpression):
                raise ParameterError("only linear expressions of parameters are supported (division by a parameter)")
            return NotImplemented
        if float(other) == 0.0:
            raise ParameterError("division of a parameter expression by zero")
        return self * (1.0 / float(other))

    # -- comparison and display ------------------------------------------------
    def _key(self) -> tuple:
        return (tuple(sorted((p.name, c) for p, c in self._terms.items())), self._const)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Real) and not isinstance(other, bool):
            return not self._terms and self._const == float(other)
        if not isinstance(other, ParameterExpression):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __float__(self) -> float:
        if self._terms:
            names = [p.name for p in self._terms]
            raise ParameterError(f"cannot convert {self} to float: unbound parameter(s) {names}")
        return self._const

    def to_text(self, *, pi_symbol: bool = False) -> str:
        """Render as text (``2*theta - 0.5*phi + 0.25``) usable in OpenQASM.

        Args:
            pi_symbol: write the constant as a multiple of ``pi`` where exact.
        """
        parts: list[str] = []
        for p, c in self._terms.items():
            sign = "-" if c < 0 else "+"
            mag = abs(c)
            body = p.name if mag == 1.0 else f"{_num(mag)}*{p.name}"
            parts.append(f"{sign} {body}")
        if self._const != 0.0 or not parts:
            sign = "-" if self._const < 0 else "+"
            parts.append(f"{sign} {format_angle(abs(self._const), pi_symbol=pi_symbol)}")
        text = " ".join(parts)
        if text.startswith("+ "):
            text = text[2:]
        elif text.startswith("- "):
            text = "-" + text[2:]
        return text

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"ParameterExpression({self.to_text()})"


def _num(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def format_angle(x: float, *, pi_symbol: bool = True) -> str:
    """Format a float angle exactly; as ``k*pi/m`` when that is exact and short.

    The plain form is ``repr(float)``, which round-trips exactly.

    Examples:
        >>> format_angle(math.pi / 4)
        'pi/4'
        >>> format_angle(-3 * math.pi / 2)
        '-3*pi/2'
        >>> format_angle(0.1)
        '0.1'
    """
    x = float(x)
    if pi_symbol and x != 0.0 and math.isfinite(x):
        for m in (1, 2, 3, 4, 6, 8, 16, 32, 64, 128):
            k = x * m / math.pi
            kr = round(k)
            if kr != 0 and abs(kr) <= 1000 and kr * math.pi / m == x:
                sign = "-" if kr < 0 else ""
                num = "pi" if abs(kr) == 1 else f"{abs(kr)}*pi"
                return f"{sign}{num}" if m == 1 else f"{sign}{num}/{m}"
    return _num(x)


class Parameter(ParameterExpression):
    """A named free angle, bound at :meth:`Circuit.bind` or at simulation time.

    Args:
        name: an identifier (``theta``, ``x_3``, ``w[12]``).

    Raises:
        ParameterError: if ``name`` is not a valid identifier.

    Examples:
        >>> from qtandem import Parameter
        >>> Parameter("theta") == Parameter("theta")
        True
        >>> (Parameter("a") + 1).parameters
        [Parameter('a')]
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ParameterError(f"invalid parameter name {name!r}: use an identifier such as 'theta' or 'w[3]'")
        self._name = name
        self._const = 0.0
        self._terms = {self: 1.0}

    @property
    def name(self) -> str:
        """The parameter's name."""
        return self._name

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Parameter):
            return self._name == other._name
        return ParameterExpression.__eq__(self, other)

    def __hash__(self) -> int:
        return hash(("Parameter", self._name))

    def __repr__(self) -> str:
        return f"Parameter({self._name!r})"

    def __str__(self) -> str:
        return self._name

    def __reduce__(self) -> tuple:
        return (Parameter, (self._name,))


Angle = float | ParameterExpression


def is_symbolic(value: object) -> bool:
    """True if ``value`` is a ``ParameterExpression`` with free parameters.

    Examples:
        >>> is_symbolic(Parameter("a") * 2), is_symbolic(0.5)
        (True, False)
    """
    return isinstance(value, ParameterExpression) and bool(value._terms)


def angle_value(value: Angle) -> float:
    """Return the float value of a bound angle (raises ParameterError if symbolic).

    Examples:
        >>> angle_value(0.25)
        0.25
        >>> angle_value(Parameter("a"))
        Traceback (most recent call last):
        ...
        qtandem.errors.ParameterError: ...
    """
    if isinstance(value, ParameterExpression):
        return float(value)
    return float(value)
