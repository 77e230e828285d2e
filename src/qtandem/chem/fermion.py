"""Fermionic operators: :class:`FermionOperator` and the excitation helpers.

A fermion operator is a sum ``sum_k c_k prod_m a_{p_m}^{s_m}`` of products of ladder
operators. A term is a tuple of ``(mode, action)`` pairs with ``action = 1`` for the
creation operator ``a^dagger`` and ``0`` for the annihilation operator ``a``, read left to
right as the operator product (OpenFermion's term convention), so
``((2, 1), (0, 0))`` is ``a_2^dagger a_0``.

Chemistry problems use the *interleaved* spin-orbital order: spin orbital ``2p`` is the
alpha spin orbital of spatial orbital ``p`` and ``2p + 1`` its beta partner.

Examples:
    >>> from qtandem.chem.fermion import FermionOperator, single_excitation
    >>> op = single_excitation(2, 0)
    >>> op
    FermionOperator('1*a2^ a0')
    >>> op.adjoint()
    FermionOperator('1*a0^ a2')
    >>> (op * op.adjoint()).normal_ordered()
    FermionOperator('1*a2^ a0^ a2 a0 + 1*a2^ a2')
    >>> anti_hermitian(op).is_hermitian()
    False
"""

from __future__ import annotations

import cmath
import operator
from collections.abc import Iterator, Mapping
from numbers import Number
from typing import Any

from qtandem.errors import ChemistryError

__all__ = ["FermionOperator", "Term", "anti_hermitian", "double_excitation", "single_excitation"]

Term = tuple[tuple[int, int], ...]
"""A product of ladder operators: ``((mode, action), ...)``, action 1 = creation, 0 = annihilation."""


def _check_term(term: object) -> Term:
    if not isinstance(term, tuple | list):
        raise ChemistryError(f"a fermion term is a tuple of (mode, action) pairs, got {term!r}")
    out = []
    for pair in term:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ChemistryError(f"a ladder operator is a pair (mode, action), got {pair!r} in term {term!r}")
        try:
            mode, action = operator.index(pair[0]), operator.index(pair[1])
        except TypeError:
            raise ChemistryError(f"mode and action must be integers, got {pair!r} in term {term!r}") from None
        if mode < 0 or action not in (0, 1):
            raise ChemistryError(f"bad ladder operator {pair!r} in term {term!r}: the mode must be >= 0 and the "
                                 f"action 1 (creation) or 0 (annihilation)")
        out.append((mode, action))
    return tuple(out)


def _check_coef(coef: Any) -> complex:
    if not isinstance(coef, Number):
        raise ChemistryError(f"a coefficient must be a number, got {type(coef).__name__}")
    c = complex(coef)  # type: ignore[call-overload]
    if not cmath.isfinite(c):
        raise ChemistryError(f"coefficients must be finite, got {coef!r}")
    return c


def _normal_order_term(term: Term, coef: complex, out: dict[Term, complex]) -> None:
    """Add ``coef * term`` in normal order into ``out``.

    Normal order: creation operators left of annihilation operators, each group by
    descending mode (OpenFermion's order). Uses ``a_i a_j^dag = delta_ij - a_j^dag a_i``.
    """
    stack = [(list(term), coef)]
    while stack:
        ops, c = stack.pop()
        zero = False
        for i in range(1, len(ops)):
            j = i
            while j > 0:
                left, right = ops[j - 1], ops[j]
                if right[1] == 1 and left[1] == 0:  # a_l a_r^dag = delta_lr - a_r^dag a_l
                    if left[0] == right[0]:
                        stack.append((ops[:j - 1] + ops[j + 1:], c))
                elif right[1] != left[1] or right[0] < left[0]:
                    break
                elif right[0] == left[0]:  # a a = a^dag a^dag = 0
                    zero = True
                    break
                ops[j - 1], ops[j] = right, left
                c = -c
                j -= 1
            if zero:
                break
        if not zero:
            key = tuple(ops)
            out[key] = out.get(key, 0j) + c


class FermionOperator:
    """An immutable sum of products of fermionic ladder operators.

    Args:
        terms: a mapping ``term -> coefficient`` (a term is a sequence of ``(mode,
            action)`` pairs; repeated terms are summed), or ``None`` for zero.

    Raises:
        ChemistryError: a malformed term or a non-finite coefficient.

    Examples:
        >>> FermionOperator({((1, 1), (0, 0)): 0.5, (): -1.0})
        FermionOperator('0.5*a1^ a0 - 1')
        >>> FermionOperator.term(2.0, ((0, 1), (0, 0))).n_modes
        1
    """

    __slots__ = ("_terms",)
    __array_ufunc__ = None

    def __init__(self, terms: Mapping[Any, Any] | None = None) -> None:
        if terms is not None and not isinstance(terms, Mapping):
            raise ChemistryError(f"FermionOperator() takes a mapping term -> coefficient, got {type(terms).__name__}")
        clean: dict[Term, complex] = {}
        for term, coef in (terms or {}).items():
            t = _check_term(term)
            clean[t] = clean.get(t, 0j) + _check_coef(coef)
        self._terms = clean

    @classmethod
    def _make(cls, terms: dict[Term, complex]) -> FermionOperator:
        out = object.__new__(cls)
        out._terms = terms
        return out

    @classmethod
    def from_terms(cls, terms: Mapping[Any, Any]) -> FermionOperator:
        """Build from ``{term: coefficient}``.

        Examples:
            >>> FermionOperator.from_terms({((0, 1), (1, 0)): 1j})
            FermionOperator('1j*a0^ a1')
        """
        return cls(terms)

    @classmethod
    def term(cls, coef: complex, ladder: Any) -> FermionOperator:
        """One term ``coef * prod ladder``.

        Examples:
            >>> FermionOperator.term(0.5, ((3, 1), (1, 0)))
            FermionOperator('0.5*a3^ a1')
        """
        return cls({_check_term(tuple(ladder)): coef})

    @classmethod
    def identity(cls, coef: complex = 1.0) -> FermionOperator:
        """``coef`` times the identity.

        Examples:
            >>> FermionOperator.identity(2).terms
            {(): (2+0j)}
        """
        return cls({(): coef})

    @property
    def terms(self) -> dict[Term, complex]:
        """A copy of ``{term: coefficient}``.

        Examples:
            >>> single_excitation(1, 0).terms
            {((1, 1), (0, 0)): (1+0j)}
        """
        return dict(self._terms)

    @property
    def n_modes(self) -> int:
        """Largest mode index used, plus one (0 for a multiple of the identity).

        Examples:
            >>> double_excitation(3, 2, 1, 0).n_modes
            4
        """
        return max((m + 1 for t in self._terms for m, _ in t), default=0)

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self) -> Iterator[tuple[Term, complex]]:
        return iter(list(self._terms.items()))

    # -- algebra -----------------------------------------------------------------
    @staticmethod
    def _coerce(other: object) -> FermionOperator | None:
        if isinstance(other, FermionOperator):
            return other
        if isinstance(other, Number):
            return FermionOperator.identity(complex(other))  # type: ignore[call-overload]
        return None

    def __add__(self, other: object) -> FermionOperator:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        out = dict(self._terms)
        for t, c in o._terms.items():
            out[t] = out.get(t, 0j) + c
        return FermionOperator._make(out)

    __radd__ = __add__

    def __neg__(self) -> FermionOperator:
        return FermionOperator._make({t: -c for t, c in self._terms.items()})

    def __sub__(self, other: object) -> FermionOperator:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        return self + (-o)

    def __rsub__(self, other: object) -> FermionOperator:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        return o + (-self)

    def __mul__(self, other: object) -> FermionOperator:
        if isinstance(other, Number):
            s = _check_coef(other)
            return FermionOperator._make({t: c * s for t, c in self._terms.items()})
        if isinstance(other, FermionOperator):
            out: dict[Term, complex] = {}
            for ta, ca in self._terms.items():
                for tb, cb in other._terms.items():
                    t = ta + tb
                    out[t] = out.get(t, 0j) + ca * cb
            return FermionOperator._make(out)
        return NotImplemented

    def __rmul__(self, other: object) -> FermionOperator:
        if isinstance(other, Number):
            return self * other
        return NotImplemented

    def __truediv__(self, other: object) -> FermionOperator:
        if isinstance(other, Number):
            return self * (1 / _check_coef(other))
        return NotImplemented

    def adjoint(self) -> FermionOperator:
        """The Hermitian conjugate: reversed products, flipped actions, conjugated coefficients.

        Examples:
            >>> FermionOperator.term(1j, ((2, 1), (0, 0))).adjoint()
            FermionOperator('-1j*a0^ a2')
        """
        return FermionOperator._make({tuple((m, 1 - a) for m, a in reversed(t)): c.conjugate()
                                      for t, c in self._terms.items()})

    def normal_ordered(self, tol: float = 0.0) -> FermionOperator:
        """The same operator in normal order (creators left, each group by descending mode).

        Terms whose coefficient falls to ``|c| <= tol`` are dropped; ``a_p a_p`` terms vanish.

        Examples:
            >>> FermionOperator.term(1, ((0, 0), (0, 1))).normal_ordered()
            FermionOperator('-1*a0^ a0 + 1')
        """
        out: dict[Term, complex] = {}
        for t, c in self._terms.items():
            _normal_order_term(t, c, out)
        return FermionOperator._make({t: c for t, c in out.items() if abs(c) > tol})

    def simplify(self, tol: float = 1e-12) -> FermionOperator:
        """Drop terms with ``|coefficient| <= tol`` (no reordering).

        Examples:
            >>> (single_excitation(1, 0) - single_excitation(1, 0)).simplify().terms
            {}
        """
        return FermionOperator._make({t: c for t, c in self._terms.items() if abs(c) > tol})

    def is_hermitian(self, tol: float = 1e-10) -> bool:
        """Whether the operator equals its adjoint (compared in normal order).

        Examples:
            >>> h = single_excitation(1, 0) + single_excitation(0, 1)
            >>> h.is_hermitian(), anti_hermitian(single_excitation(1, 0)).is_hermitian()
            (True, False)
        """
        return (self - self.adjoint()).normal_ordered(tol).simplify(tol)._terms == {}

    def __eq__(self, other: object) -> bool:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        return (self - o).normal_ordered(1e-12)._terms == {}

    __hash__ = None  # type: ignore[assignment]  # equality is up to normal ordering

    def __str__(self) -> str:
        if not self._terms:
            return "0"
        parts = []
        for t, c in self._terms.items():
            coef = _fmt(c)
            neg = coef.startswith("-")
            body = (coef[1:] if neg else coef) + ("*" + " ".join(f"a{m}{'^' if a else ''}" for m, a in t) if t else "")
            parts.append(("- " if neg else "+ ") + body)
        text = " ".join(parts)
        return text[2:] if text.startswith("+ ") else "-" + text[2:]

    def __repr__(self) -> str:
        return f"FermionOperator({str(self)!r})"


def _fmt(c: complex) -> str:
    def real(x: float) -> str:
        return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))

    if c.imag == 0:
        return real(c.real)
    if c.real == 0:
        return real(c.imag) + "j"
    return f"({real(c.real)}{'+' if c.imag >= 0 else '-'}{real(abs(c.imag))}j)"


def single_excitation(p: int, q: int) -> FermionOperator:
    """``a_p^dagger a_q``: one electron from mode ``q`` to mode ``p``.

    Examples:
        >>> single_excitation(3, 1)
        FermionOperator('1*a3^ a1')
    """
    return FermionOperator.term(1.0, ((p, 1), (q, 0)))


def double_excitation(p: int, q: int, r: int, s: int) -> FermionOperator:
    """``a_p^dagger a_q^dagger a_r a_s``: two electrons from modes ``r, s`` to ``p, q``.

    Examples:
        >>> double_excitation(3, 2, 1, 0)
        FermionOperator('1*a3^ a2^ a1 a0')
    """
    return FermionOperator.term(1.0, ((p, 1), (q, 1), (r, 0), (s, 0)))


def anti_hermitian(op: FermionOperator) -> FermionOperator:
    """``op - op^dagger``: the anti-Hermitian generator used by unitary coupled cluster.

    Examples:
        >>> anti_hermitian(single_excitation(2, 0))
        FermionOperator('1*a2^ a0 - 1*a0^ a2')
    """
    return op - op.adjoint()
