"""Pauli observables: :class:`PauliSum`.

A Pauli sum is ``sum_k c_k P_k`` where each ``P_k`` is a tensor product of
single-qubit Paulis. Terms are stored canonically as a dict from a *word* (a
sorted tuple of ``(qubit, letter)``; the identity is ``()``) to a complex
coefficient, so equal operators compare equal.

Examples:
    >>> from qtandem import PauliSum
    >>> h = PauliSum.from_string("0.5*Z0 Z1 - 1.2*X2 + Y0")
    >>> h
    PauliSum('0.5*Z0*Z1 - 1.2*X2 + Y0')
    >>> h.num_qubits
    3
    >>> PauliSum.from_string("X0") @ PauliSum.from_string("Y0")
    PauliSum('1j*Z0')
    >>> len(h.group_commuting())
    2
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import reduce
from numbers import Number

import torch

from qtandem.errors import ObservableError

__all__ = ["I", "PauliSum", "X", "Y", "Z"]

Word = tuple[tuple[int, str], ...]
_MAX_DENSE_QUBITS = 14
# single-qubit products: (a, b) -> (phase, letter) with a*b = phase * letter
_MUL = {
    ("X", "Y"): (1j, "Z"), ("Y", "X"): (-1j, "Z"), ("Y", "Z"): (1j, "X"), ("Z", "Y"): (-1j, "X"),
    ("Z", "X"): (1j, "Y"), ("X", "Z"): (-1j, "Y"),
}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<complex>\((?:[^()]*)\))
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?j?)
  | (?P<pauli>[IXYZixyz])(?P<index>\d+)?
  | (?P<op>[+\-*])
""", re.VERBOSE)


def _fmt_coef(c: complex) -> str:
    if c.imag == 0:
        r = c.real
        return repr(int(r)) if float(r).is_integer() and abs(r) < 1e15 else repr(r)
    if c.real == 0:
        im = c.imag
        return (repr(int(im)) if float(im).is_integer() and abs(im) < 1e15 else repr(im)) + "j"
    return f"({c.real!r}{c.imag:+}j)"


def _word_mul(a: Word, b: Word) -> tuple[complex, Word]:
    phase: complex = 1
    letters = dict(a)
    for q, lb in b:
        la = letters.get(q)
        if la is None:
            letters[q] = lb
        elif la == lb:
            del letters[q]
        else:
            ph, lc = _MUL[(la, lb)]
            phase *= ph
            letters[q] = lc
    return phase, tuple(sorted(letters.items()))


def _commute(a: Word, b: Word, *, qubitwise: bool) -> bool:
    da, anti = dict(a), 0
    for q, lb in b:
        la = da.get(q)
        if la is not None and la != lb:
            if qubitwise:
                return False
            anti += 1
    return anti % 2 == 0


class PauliSum:
    """An immutable sum of Pauli strings with complex coefficients.

    Args:
        terms: mapping ``word -> coefficient`` (see module docs); zero terms are kept
            until :meth:`simplify`.

    Raises:
        ObservableError: malformed words (bad letters, negative or repeated qubits).
    """

    __slots__ = ("_terms",)

    def __init__(self, terms: Mapping[Word, complex] | None = None) -> None:
        clean: dict[Word, complex] = {}
        for word, coef in (terms or {}).items():
            w = self._check_word(word)
            clean[w] = clean.get(w, 0) + complex(coef)
        self._terms = clean

    @staticmethod
    def _check_word(word: object) -> Word:
        try:
            items = sorted((int(q), str(p).upper()) for q, p in word)  # type: ignore[union-attr]
        except (TypeError, ValueError) as err:
            raise ObservableError(f"a Pauli word is a sequence of (qubit, letter) pairs, got {word!r}") from err
        seen = set()
        out = []
        for q, p in items:
            if q < 0:
                raise ObservableError(f"qubit indices must be >= 0, got {q}")
            if p not in ("I", "X", "Y", "Z"):
                raise ObservableError(f"unknown Pauli letter {p!r} on qubit {q} (use I, X, Y, Z)")
            if q in seen:
                raise ObservableError(f"qubit {q} appears twice in the word {word!r}")
            seen.add(q)
            if p != "I":
                out.append((q, p))
        return tuple(out)

    # -- constructors ------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str) -> PauliSum:
        """Parse ``"0.5*Z0 Z1 - 1.2*X2 + Y0"``.

        Terms are separated by ``+``/``-``; a term is an optional coefficient
        (real, scientific, or complex such as ``(1+2j)`` or ``2j``) followed by
        factors such as ``X3`` joined by spaces or ``*``. A lone number is a
        multiple of the identity; ``I`` factors are allowed.

        Raises:
            ObservableError: with the column of the problem and a caret excerpt.
        """
        if not isinstance(text, str):
            raise ObservableError(f"expected a string, got {type(text).__name__}")
        tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise _parse_error(text, pos, f"unexpected character {text[pos]!r}")
            kind = m.lastgroup
            if kind == "index":
                kind = "pauli"
            if kind != "space":
                if kind == "pauli" and m.group("index") is None:
                    raise _parse_error(text, m.end(), f"Pauli {m.group('pauli')!r} needs a qubit index, e.g. "
                                                      f"{m.group('pauli').upper()}0")
                tokens.append((kind, m.group(0), pos))  # type: ignore[arg-type]
            pos = m.end()
        if not tokens:
            raise _parse_error(text, 0, "empty observable")
        terms: dict[Word, complex] = {}
        i = 0
        sign = 1.0
        expect_term = True
        while i < len(tokens):
            kind, value, col = tokens[i]
            if kind == "op" and value in "+-":
                if not expect_term and i > 0:
                    sign = 1.0 if value == "+" else -1.0
                    expect_term = True
                    i += 1
                    continue
                if expect_term:
                    sign *= 1.0 if value == "+" else -1.0
                    i += 1
                    continue
            if not expect_term:
                raise _parse_error(text, col, f"expected + or - between terms, got {value!r}")
            coef: complex = 1
            letters: list[tuple[int, str]] = []
            saw_any = False
            while i < len(tokens):
                kind, value, col = tokens[i]
                if kind in ("number", "complex"):
                    try:
                        coef *= complex(value.replace(" ", ""))
                    except ValueError:
                        raise _parse_error(text, col, f"bad number {value!r}") from None
                    saw_any = True
                elif kind == "pauli":
                    letters.append((int(value[1:]), value[0].upper()))
                    saw_any = True
                elif kind == "op" and value == "*":
                    if not saw_any or i + 1 >= len(tokens) or tokens[i + 1][0] not in ("number", "complex", "pauli"):
                        raise _parse_error(text, col, "dangling '*'")
                else:
                    break
                i += 1
            if not saw_any:
                raise _parse_error(text, col if i < len(tokens) else len(text), "expected a term")
            try:
                word = cls._check_word(letters)
            except ObservableError as err:
                raise _parse_error(text, col, str(err)) from None
            terms[word] = terms.get(word, 0) + sign * coef
            sign = 1.0
            expect_term = False
        if expect_term:
            raise _parse_error(text, len(text), "dangling operator at the end")
        return cls(terms)

    @classmethod
    def from_label(cls, label: str, coef: complex = 1.0) -> PauliSum:
        """Dense label, Qiskit order: the rightmost character is qubit 0 (``"XIZ"`` = X2 Z0)."""
        n = len(label)
        return cls({tuple((n - 1 - i, ch) for i, ch in enumerate(label.upper())): coef})

    @classmethod
    def identity(cls, coef: complex = 1.0) -> PauliSum:
        """``coef * I``."""
        return cls({(): coef})

    @classmethod
    def term(cls, coef: complex, paulis: Mapping[int, str]) -> PauliSum:
        """One term: ``PauliSum.term(0.5, {0: "Z", 3: "X"})``."""
        return cls({tuple(paulis.items()): coef})

    # -- structure ---------------------------------------------------------------
    @property
    def terms(self) -> list[tuple[complex, Word]]:
        """``[(coefficient, word), ...]`` in insertion order."""
        return [(c, w) for w, c in self._terms.items()]

    @property
    def num_qubits(self) -> int:
        """Largest qubit index + 1 (0 for a multiple of the identity)."""
        return max((q + 1 for w in self._terms for q, _ in w), default=0)

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self) -> Iterator[tuple[complex, Word]]:
        return iter(self.terms)

    def simplify(self, tol: float = 1e-12) -> PauliSum:
        """Drop terms with ``|coefficient| <= tol``."""
        return PauliSum({w: c for w, c in self._terms.items() if abs(c) > tol})

    def adjoint(self) -> PauliSum:
        """Hermitian conjugate (Pauli strings are Hermitian: conjugate the coefficients)."""
        return PauliSum({w: c.conjugate() for w, c in self._terms.items()})

    def is_hermitian(self, tol: float = 1e-12) -> bool:
        """True if every coefficient is real (up to ``tol``)."""
        return all(abs(c.imag) <= tol for c in self._terms.values())

    # -- algebra -----------------------------------------------------------------
    @staticmethod
    def _coerce(other: object) -> PauliSum | None:
        if isinstance(other, PauliSum):
            return other
        if isinstance(other, Number):
            return PauliSum({(): complex(other)})  # type: ignore[arg-type]
        return None

    def __add__(self, other: object) -> PauliSum:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        terms = dict(self._terms)
        for w, c in o._terms.items():
            terms[w] = terms.get(w, 0) + c
        return PauliSum(terms)

    __radd__ = __add__

    def __neg__(self) -> PauliSum:
        return PauliSum({w: -c for w, c in self._terms.items()})

    def __sub__(self, other: object) -> PauliSum:
        o = self._coerce(other)
        return NotImplemented if o is None else self + (-o)

    def __rsub__(self, other: object) -> PauliSum:
        o = self._coerce(other)
        return NotImplemented if o is None else o + (-self)

    def __matmul__(self, other: object) -> PauliSum:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        out: dict[Word, complex] = {}
        for wa, ca in self._terms.items():
            for wb, cb in o._terms.items():
                ph, w = _word_mul(wa, wb)
                out[w] = out.get(w, 0) + ph * ca * cb
        return PauliSum(out)

    def __mul__(self, other: object) -> PauliSum:
        if isinstance(other, PauliSum):
            return self @ other
        if isinstance(other, Number):
            return PauliSum({w: c * complex(other) for w, c in self._terms.items()})  # type: ignore[arg-type]
        return NotImplemented

    def __rmul__(self, other: object) -> PauliSum:
        if isinstance(other, Number):
            return self * other
        return NotImplemented

    def __truediv__(self, other: object) -> PauliSum:
        if isinstance(other, Number):
            if other == 0:
                raise ObservableError("division of a PauliSum by zero")
            return self * (1 / complex(other))  # type: ignore[arg-type]
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        a, b = self.simplify(0.0), o.simplify(0.0)
        return a._terms == b._terms

    def __hash__(self) -> int:
        return hash(frozenset(self.simplify(0.0)._terms.items()))

    # -- display -----------------------------------------------------------------
    def __str__(self) -> str:
        if not self._terms:
            return "0"
        parts = []
        for w, c in self._terms.items():
            body = "*".join(f"{p}{q}" for q, p in w)
            if c.imag == 0 and c.real < 0:
                sign, mag = "-", -c.real
                cs = _fmt_coef(complex(mag))
            else:
                sign, cs = "+", _fmt_coef(c)
            if not body:
                text = cs
            elif cs == "1":
                text = body
            else:
                text = f"{cs}*{body}"
            parts.append((sign, text))
        first_sign, first = parts[0]
        out = ("-" if first_sign == "-" else "") + first
        for sign, text in parts[1:]:
            out += f" {sign} {text}"
        return out

    def __repr__(self) -> str:
        return f"PauliSum({str(self)!r})"

    # -- numerics ----------------------------------------------------------------
    def to_matrix(self, n_qubits: int | None = None, *, dtype: torch.dtype = torch.complex128) -> torch.Tensor:
        """Dense ``(2**n, 2**n)`` matrix in qtandem's little-endian convention (n <= 14)."""
        n = max(self.num_qubits, n_qubits or 0)
        if n_qubits is not None and n_qubits < self.num_qubits:
            raise ObservableError(f"observable acts on {self.num_qubits} qubits, more than n_qubits={n_qubits}")
        if n > _MAX_DENSE_QUBITS:
            raise ObservableError(f"to_matrix() of {n} qubits would be a dense {2**n}x{2**n} matrix; "
                                  f"the limit is {_MAX_DENSE_QUBITS} qubits (use qtandem.expval instead)")
        mats = {"I": [[1, 0], [0, 1]], "X": [[0, 1], [1, 0]], "Y": [[0, -1j], [1j, 0]], "Z": [[1, 0], [0, -1]]}
        total = torch.zeros(2**n, 2**n, dtype=dtype)
        for w, c in self._terms.items():
            letters = dict(w)
            factors = [torch.tensor(mats[letters.get(q, "I")], dtype=dtype) for q in range(n)]
            # qubit 0 is the least significant bit: it is the last kron factor
            m = reduce(lambda acc, f: torch.kron(f, acc), factors[1:], factors[0]) if factors else \
                torch.ones(1, 1, dtype=dtype)
            total = total + c * m
        return total

    def group_commuting(self, kind: str = "qubitwise") -> list[PauliSum]:
        """Split into groups of mutually commuting terms (greedy, largest groups first).

        Args:
            kind: ``"qubitwise"`` (on every qubit the letters agree or one is I:
                measurable in one basis) or ``"general"`` (the strings commute).
        """
        if kind not in ("qubitwise", "general"):
            raise ObservableError(f"kind must be 'qubitwise' or 'general', got {kind!r}")
        groups: list[dict[Word, complex]] = []
        for w, c in sorted(self._terms.items(), key=lambda kv: -len(kv[0])):
            for g in groups:
                if all(_commute(w, other, qubitwise=kind == "qubitwise") for other in g):
                    g[w] = c
                    break
            else:
                groups.append({w: c})
        return [PauliSum(g) for g in groups]


def _parse_error(text: str, col: int, message: str) -> ObservableError:
    line = text.replace("\n", " ")[:200]
    return ObservableError(f"column {col + 1}: {message}\n    {line}\n    {' ' * col}^")


def X(q: int) -> PauliSum:
    """Pauli X on qubit ``q``."""
    return PauliSum({((q, "X"),): 1})


def Y(q: int) -> PauliSum:
    """Pauli Y on qubit ``q``."""
    return PauliSum({((q, "Y"),): 1})


def Z(q: int) -> PauliSum:
    """Pauli Z on qubit ``q``."""
    return PauliSum({((q, "Z"),): 1})


def I() -> PauliSum:  # noqa: E743
    """The identity."""
    return PauliSum.identity()
