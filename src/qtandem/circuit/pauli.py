"""Pauli observables: :class:`PauliSum`.

A Pauli sum is ``sum_k c_k P_k`` where each ``P_k`` is a tensor product of
single-qubit Paulis. Terms are stored canonically as a dict from a *word* (a
sorted tuple of ``(qubit, letter)`` pairs with letters ``"X"``, ``"Y"``,
``"Z"``; the identity is ``()``) to a complex coefficient, so equal operators
compare equal whatever the order they were written in.

Dense matrices (:meth:`PauliSum.to_matrix`) follow qtandem's little-endian
convention: basis index ``i = sum_q b_q 2**q``, qubit 0 least significant (as Qiskit).

Examples:
    >>> from qtandem.circuit.pauli import PauliSum, X, Y, Z
    >>> h = PauliSum.from_string("0.5*Z0 Z1 - 1.2*X2 + Y0")
    >>> h
    PauliSum('0.5*Z0*Z1 - 1.2*X2 + Y0')
    >>> h.num_qubits
    3
    >>> X(0) @ Y(0)
    PauliSum('1j*Z0')
    >>> len(h.group_commuting())
    2
    >>> PauliSum.from_string(str(h)) == h
    True
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterator, Mapping
from numbers import Number
from typing import Any

import torch

from qtandem.errors import ObservableError

__all__ = ["I", "PauliSum", "Word", "X", "Y", "Z", "word_masks"]

Word = tuple[tuple[int, str], ...]
"""A Pauli word: sorted ``((qubit, letter), ...)`` without identities; ``()`` is the identity."""

MAX_DENSE_QUBITS = 14
# single-qubit products: (a, b) -> (phase, letter) with a @ b = phase * letter
_MUL = {
    ("X", "Y"): (1j, "Z"), ("Y", "X"): (-1j, "Z"), ("Y", "Z"): (1j, "X"), ("Z", "Y"): (-1j, "X"),
    ("Z", "X"): (1j, "Y"), ("X", "Z"): (-1j, "Y"),
}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<complex>\([^()]*\))
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[jJ]?)
  | (?P<pauli>[A-Za-z])(?P<index>\d*)
  | (?P<op>[+\-*])
""", re.VERBOSE)


def word_masks(word: Word) -> tuple[int, int, int]:
    """Bit masks of a word: ``(x_mask, z_mask, number_of_Y)``.

    ``x_mask`` has bit ``q`` set where the letter is X or Y (the bit the Pauli
    flips), ``z_mask`` where it is Z or Y. Then ``P|j> = i**ny * (-1)**popcount(j & z) |j ^ x>``.

    Examples:
        >>> word_masks(((0, "X"), (1, "Y"), (3, "Z")))
        (3, 10, 1)
    """
    x = z = ny = 0
    for q, letter in word:
        if letter != "Z":
            x |= 1 << q
        if letter != "X":
            z |= 1 << q
        ny += letter == "Y"
    return x, z, ny


def _fmt_real(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _fmt_coef(c: complex) -> str:
    """A coefficient as the parser reads it back exactly (``c`` is never 'negative' here)."""
    if c.imag == 0:
        return _fmt_real(c.real)
    if c.real == 0:
        return _fmt_real(c.imag) + "j"
    sign = "-" if c.imag < 0 else "+"
    return f"({_fmt_real(c.real)}{sign}{_fmt_real(abs(c.imag))}j)"


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


class PauliSum:
    """An immutable sum of Pauli words with complex coefficients.

    Build one with :meth:`from_string`, :meth:`from_label`, :meth:`term`,
    :meth:`identity` or the helpers :func:`X`, :func:`Y`, :func:`Z`, :func:`I`
    and combine them with ``+ - * @ /``; ``*`` between two sums is the operator
    product, like ``@``.

    Args:
        terms: a mapping ``word -> coefficient`` (a word is a sequence of
            ``(qubit, letter)`` pairs, letters among I, X, Y, Z; repeated words are
            summed; ``I`` letters are dropped), or a string parsed by
            :meth:`from_string`. ``None`` is the zero operator. Zero coefficients are
            kept until :meth:`simplify`.

    Raises:
        ObservableError: malformed words (bad letter, negative or repeated qubit) or
            a non-finite coefficient.

    Examples:
        >>> PauliSum({((0, "Z"), (1, "Z")): 0.5, ((2, "X"),): -1})
        PauliSum('0.5*Z0*Z1 - X2')
        >>> PauliSum("Z0 + Z0") == 2 * Z(0)
        True
        >>> 0.5 * X(0) @ X(1) + 1j * Y(2) / 2
        PauliSum('0.5*X0*X1 + 0.5j*Y2')
    """

    __slots__ = ("_hash", "_terms")
    __array_ufunc__ = None  # make numpy scalars defer to our reflected operators

    def __init__(self, terms: Mapping[Any, Any] | str | None = None) -> None:
        if isinstance(terms, str):
            clean = PauliSum.from_string(terms)._terms
        else:
            if terms is not None and not isinstance(terms, Mapping):
                raise ObservableError(f"PauliSum() takes a mapping word -> coefficient or a string, "
                                      f"got {type(terms).__name__}")
            clean = {}
            for word, coef in (terms or {}).items():
                w = _check_word(word)
                clean[w] = clean.get(w, 0j) + _check_coef(coef)
        self._terms: dict[Word, complex] = clean
        self._hash: int | None = None

    @classmethod
    def _make(cls, terms: dict[Word, complex]) -> PauliSum:
        """Internal constructor for already-canonical terms (no validation)."""
        out = object.__new__(cls)
        out._terms = terms
        out._hash = None
        return out

    # -- constructors ------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str) -> PauliSum:
        """Parse a sum of Pauli terms such as ``"0.5*Z0 Z1 - 1.2*X2 + Y0"``.

        Grammar: terms are separated by ``+`` or ``-`` (a further sign may follow, as
        in ``"Z0 + -0.5*X1"``). A term is an optional coefficient followed by factors.
        The coefficient is a real (``2``, ``-.5``, ``1e-3``), an imaginary (``2j``) or a
        parenthesised complex number (``(1+2j)``), several of them joined by ``*``; it
        is separated from the factors by ``*`` or a space, or written right before
        them (``2X0``). Factors are a letter I, X, Y or Z (either case) and a qubit
        index: ``X3``, ``Z12``, ``I4``, juxtaposed (``X0Y1``) or separated by spaces or
        ``*``. A lone number is a multiple of the identity; ``I`` factors are dropped.

        Args:
            text: the observable.

        Returns:
            The parsed sum (repeated words are added up).

        Raises:
            ObservableError: with the 1-based ``column`` of the problem (also an
                attribute of the error) and a caret excerpt: unknown letter,
                missing qubit index, dangling operator, empty string, bad number...

        Examples:
            >>> PauliSum.from_string("0.5*Z0 Z1 - 1.2*X2 + Y0")
            PauliSum('0.5*Z0*Z1 - 1.2*X2 + Y0')
            >>> PauliSum.from_string("(1+2j)*X0*Y1 + 2.5e-3 Z4 - 3")
            PauliSum('(1+2j)*X0*Y1 + 0.0025*Z4 - 3')
            >>> PauliSum.from_string("Z0 + W1")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            qtandem.errors.ObservableError: column 6: unexpected character 'W': not a Pauli letter ...
                Z0 + W1
                     ^
        """
        if not isinstance(text, str):
            raise ObservableError(f"from_string() expects a str, got {type(text).__name__}")
        return _Parser(text).parse()

    @classmethod
    def from_label(cls, label: str, coef: complex = 1.0) -> PauliSum:
        """A dense label in Qiskit order: the rightmost character is qubit 0.

        An optional Qiskit phase prefix (``+``, ``-``, ``i``, ``-i``, ``1j``, ``-1j``...)
        multiplies the coefficient.

        Args:
            label: upper-case characters among ``IXYZ``, e.g. ``"XIZ"`` (= ``X2 Z0``).
            coef: coefficient of the term.

        Raises:
            ObservableError: an unknown character or an empty label, with its column.

        Examples:
            >>> PauliSum.from_label("XIZ")
            PauliSum('Z0*X2')
            >>> PauliSum.from_label("-iYY", 2)
            PauliSum('-2j*Y0*Y1')
        """
        if not isinstance(label, str):
            raise ObservableError(f"from_label() expects a str, got {type(label).__name__}")
        m = re.match(r"[+-]?(?:1?[ij])?", label)
        prefix = m.group(0) if m else ""
        body = label[len(prefix):]
        phase = complex(-1 if prefix.startswith("-") else 1) * (1j if prefix[-1:] in ("i", "j") else 1)
        if not body:
            raise _parse_error(label, len(label), "empty Pauli label (expected characters among I, X, Y, Z)")
        n = len(body)
        word = []
        for i, ch in enumerate(body):
            if ch not in "IXYZ":
                raise _parse_error(label, len(prefix) + i, f"unknown Pauli letter {ch!r} in label "
                                                           "(expected upper-case I, X, Y or Z)")
            if ch != "I":
                word.append((n - 1 - i, ch))
        return cls._make({tuple(sorted(word)): _check_coef(coef) * phase})

    @classmethod
    def identity(cls, c: complex = 1.0) -> PauliSum:
        """``c`` times the identity.

        Examples:
            >>> PauliSum.identity(2.5)
            PauliSum('2.5')
        """
        return cls._make({(): _check_coef(c)})

    @classmethod
    def term(cls, coef: complex, paulis: Mapping[int, str]) -> PauliSum:
        """One term ``coef * prod_q paulis[q]``.

        Args:
            coef: the coefficient.
            paulis: ``{qubit: letter}``, letters among I, X, Y, Z (``{}`` is the identity).

        Examples:
            >>> PauliSum.term(0.5, {0: "Z", 3: "X"})
            PauliSum('0.5*Z0*X3')
        """
        if not isinstance(paulis, Mapping):
            raise ObservableError(f"term() expects a mapping {{qubit: letter}}, got {type(paulis).__name__}")
        return cls._make({_check_word(tuple(paulis.items())): _check_coef(coef)})

    # -- structure ---------------------------------------------------------------
    @property
    def terms(self) -> list[tuple[complex, Word]]:
        """``[(coefficient, word), ...]`` in insertion order.

        Examples:
            >>> PauliSum.from_string("2*X1 Z0 - 1").terms
            [((2+0j), ((0, 'Z'), (1, 'X'))), ((-1+0j), ())]
        """
        return [(c, w) for w, c in self._terms.items()]

    @property
    def num_qubits(self) -> int:
        """Largest qubit index acted on, plus one (0 for a multiple of the identity).

        Examples:
            >>> Z(4).num_qubits, PauliSum.identity().num_qubits
            (5, 0)
        """
        return max((w[-1][0] + 1 for w in self._terms if w), default=0)

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self) -> Iterator[tuple[complex, Word]]:
        return iter(self.terms)

    def simplify(self, tol: float = 1e-12) -> PauliSum:
        """Drop the terms whose ``|coefficient| <= tol``.

        Examples:
            >>> (X(0) + 1e-15 * Z(1) + Y(2) - Y(2)).simplify()
            PauliSum('X0')
        """
        return PauliSum._make({w: c for w, c in self._terms.items() if abs(c) > tol})

    def adjoint(self) -> PauliSum:
        """The Hermitian conjugate (Pauli words are Hermitian: coefficients are conjugated).

        Examples:
            >>> (1j * X(0) + Z(1)).adjoint()
            PauliSum('-1j*X0 + Z1')
        """
        return PauliSum._make({w: c.conjugate() for w, c in self._terms.items()})

    dagger = adjoint

    def is_hermitian(self, tol: float = 1e-12) -> bool:
        """True if every coefficient is real up to ``tol``.

        Examples:
            >>> (X(0) @ Y(0)).is_hermitian(), (X(0) @ Y(1)).is_hermitian()
            (False, True)
        """
        return all(abs(c.imag) <= tol for c in self._terms.values())

    # -- algebra -----------------------------------------------------------------
    @staticmethod
    def _coerce(other: object) -> PauliSum | None:
        if isinstance(other, PauliSum):
            return other
        if isinstance(other, Number):
            return PauliSum._make({(): _check_coef(other)})
        return None

    def __add__(self, other: object) -> PauliSum:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        terms = dict(self._terms)
        for w, c in o._terms.items():
            terms[w] = terms.get(w, 0j) + c
        return PauliSum._make(terms)

    __radd__ = __add__

    def __neg__(self) -> PauliSum:
        return PauliSum._make({w: -c for w, c in self._terms.items()})

    def __pos__(self) -> PauliSum:
        return self

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
                out[w] = out.get(w, 0j) + ph * ca * cb
        return PauliSum._make(out)

    def __rmatmul__(self, other: object) -> PauliSum:
        o = self._coerce(other)
        return NotImplemented if o is None else o @ self

    def __mul__(self, other: object) -> PauliSum:
        if isinstance(other, PauliSum):
            return self @ other
        if isinstance(other, Number):
            s = _check_coef(other)
            return PauliSum._make({w: c * s for w, c in self._terms.items()})
        return NotImplemented

    def __rmul__(self, other: object) -> PauliSum:
        if isinstance(other, Number):
            return self * other
        return NotImplemented

    def __truediv__(self, other: object) -> PauliSum:
        if isinstance(other, Number):
            s = _check_coef(other)
            if s == 0:
                raise ObservableError("division of a PauliSum by zero")
            return PauliSum._make({w: c / s for w, c in self._terms.items()})
        return NotImplemented

    def __pow__(self, k: int) -> PauliSum:
        try:
            k = operator.index(k)
        except TypeError:
            return NotImplemented
        if k < 0:
            raise ObservableError(f"a PauliSum can only be raised to a power >= 0, got {k}")
        out = PauliSum.identity()
        for _ in range(k):
            out = out @ self
        return out

    def __eq__(self, other: object) -> bool:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        return self._nonzero() == o._nonzero()

    def __hash__(self) -> int:
        if self._hash is None:
            nz = self._nonzero()
            if not nz:
                self._hash = hash(0)
            elif len(nz) == 1 and () in nz:
                self._hash = hash(nz[()])  # consistent with == on numbers
            else:
                self._hash = hash(frozenset(nz.items()))
        return self._hash

    def _nonzero(self) -> dict[Word, complex]:
        return {w: c for w, c in self._terms.items() if c != 0}

    # -- display -----------------------------------------------------------------
    def __str__(self) -> str:
        """``'0.5*Z0*Z1 - 1.2*X2'``: exact, read back by :meth:`from_string`; ``'0'`` if empty."""
        if not self._terms:
            return "0"
        out = ""
        for k, (w, c) in enumerate(self._terms.items()):
            negative = c.real < 0 or (c.real == 0 and c.imag < 0)
            cs = _fmt_coef(-c if negative else c)
            body = "*".join(f"{p}{q}" for q, p in w)
            text = cs if not body else body if cs == "1" else f"{cs}*{body}"
            if k == 0:
                out = ("-" if negative else "") + text
            else:
                out += f" {'-' if negative else '+'} {text}"
        return out

    def __repr__(self) -> str:
        return f"PauliSum({str(self)!r})"

    # -- numerics ----------------------------------------------------------------
    def to_matrix(self, n_qubits: int | None = None, *, dtype: torch.dtype = torch.complex128,
                  device: Any = None) -> torch.Tensor:
        """The dense ``(2**n, 2**n)`` matrix in the little-endian convention.

        Built term by term with one scatter of ``2**n`` entries each (no Kronecker products).

        Args:
            n_qubits: number of qubits ``n`` (default :attr:`num_qubits`); at least :attr:`num_qubits`.
            dtype: complex dtype of the result.
            device: torch device of the result.

        Raises:
            ObservableError: ``n_qubits`` too small, or ``n > 14`` (a dense matrix
                that large is refused; use :func:`qtandem.sim.expectation.pauli_expectation`).

        Examples:
            >>> X(0).to_matrix(2).real.int().tolist()   # qubit 0 is the least significant bit
            [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
            >>> Y(0).to_matrix().tolist()
            [[0j, -1j], [1j, 0j]]
        """
        n = self.num_qubits if n_qubits is None else operator.index(n_qubits)
        if n < self.num_qubits:
            raise ObservableError(f"the observable acts on {self.num_qubits} qubits, more than n_qubits={n}")
        if n > MAX_DENSE_QUBITS:
            raise ObservableError(f"to_matrix() of {n} qubits would be a dense {2**n}x{2**n} matrix; the limit is "
                                  f"{MAX_DENSE_QUBITS} qubits (use qtandem.sim.expectation.pauli_expectation)")
        if not dtype.is_complex:
            raise ObservableError(f"to_matrix() needs a complex dtype, got {dtype}")
        dim = 2**n
        cols = torch.arange(dim, device=device)
        out = torch.zeros(dim, dim, dtype=dtype, device=device)
        for w, c in self._terms.items():
            x, z, ny = word_masks(w)
            # P|j> = i**ny (-1)**popcount(j & z) |j ^ x>
            parity = torch.zeros_like(cols)
            for q in range(n):
                if z >> q & 1:
                    parity ^= (cols >> q) & 1
            vals = (1 - 2 * parity).to(dtype) * (c * 1j**ny)
            out.index_put_((cols ^ x, cols), vals, accumulate=True)
        return out

    def group_commuting(self, kind: str = "qubitwise") -> list[PauliSum]:
        """Split into groups of mutually commuting terms (greedy colouring).

        Terms are visited from the heaviest word down and each goes into the first
        group it is compatible with. The groups' sum is ``self``.

        Args:
            kind: ``"qubitwise"`` (on every qubit the letters agree or one is the
                identity: the group is measurable in one product basis) or
                ``"general"`` (the words commute as operators).

        Returns:
            The groups, as Pauli sums.

        Examples:
            >>> h = PauliSum.from_string("X0 X1 + Y0 Y1 + Z0 Z1 + Z0")
            >>> h.group_commuting("qubitwise")
            [PauliSum('X0*X1'), PauliSum('Y0*Y1'), PauliSum('Z0*Z1 + Z0')]
            >>> h.group_commuting("general")
            [PauliSum('X0*X1 + Y0*Y1 + Z0*Z1'), PauliSum('Z0')]
        """
        if kind not in ("qubitwise", "general"):
            raise ObservableError(f"kind must be 'qubitwise' or 'general', got {kind!r}")
        qubitwise = kind == "qubitwise"
        groups: list[dict[Word, complex]] = []
        union: list[list[int]] = []  # qubitwise: the group's (x, z) letters so far
        members: list[list[tuple[int, int]]] = []  # general: the members' (x, z)
        for w, c in sorted(self._terms.items(), key=lambda kv: -len(kv[0])):
            x, z, _ = word_masks(w)
            for k, g in enumerate(groups):
                if qubitwise:
                    gx, gz = union[k]
                    overlap = (x | z) & (gx | gz)
                    ok = not ((x ^ gx) | (z ^ gz)) & overlap
                    if ok:
                        union[k] = [gx | x, gz | z]
                else:
                    ok = all(not ((x & oz) ^ (z & ox)).bit_count() & 1 for ox, oz in members[k])
                    if ok:
                        members[k].append((x, z))
                if ok:
                    g[w] = c
                    break
            else:
                groups.append({w: c})
                union.append([x, z])
                members.append([(x, z)])
        return [PauliSum._make(g) for g in groups]


# -- validation and parsing ------------------------------------------------------
def _check_coef(coef: Any) -> complex:
    try:
        c = complex(coef)
    except (TypeError, ValueError):
        raise ObservableError(f"a coefficient must be a number, got {coef!r}") from None
    if not (math.isfinite(c.real) and math.isfinite(c.imag)):
        raise ObservableError(f"coefficients must be finite, got {coef!r}")
    return c


def _check_word(word: object) -> Word:
    try:
        pairs = [(q, p) for q, p in word]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ObservableError(f"a Pauli word is a sequence of (qubit, letter) pairs, got {word!r}") from None
    seen: set[int] = set()
    out = []
    for q, p in pairs:
        try:
            qi = operator.index(q)
        except TypeError:
            raise ObservableError(f"qubit indices must be integers, got {q!r} in {word!r}") from None
        letter = p.upper() if isinstance(p, str) else p
        if qi < 0:
            raise ObservableError(f"qubit indices must be >= 0, got {qi}")
        if letter not in ("I", "X", "Y", "Z"):
            raise ObservableError(f"unknown Pauli letter {p!r} on qubit {qi} (expected I, X, Y or Z)")
        if qi in seen:
            raise ObservableError(f"qubit {qi} appears twice in the word {word!r}")
        seen.add(qi)
        if letter != "I":
            out.append((qi, letter))
    out.sort()
    return tuple(out)


def _parse_error(text: str, pos: int, message: str) -> ObservableError:
    """``column N: message`` plus a caret excerpt; ``pos`` is 0-based."""
    line = text.replace("\n", " ").replace("\t", " ")
    start = max(0, pos - 60)
    snippet = line[start:start + 120]
    err = ObservableError(f"column {pos + 1}: {message}\n    {snippet}\n    {' ' * (pos - start)}^")
    err.column = pos + 1  # type: ignore[attr-defined]
    err.message = message  # type: ignore[attr-defined]
    return err


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []  # (kind, text, 0-based position)
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                ch = text[pos]
                if ch == "(":
                    raise _parse_error(text, pos, "unclosed '(' (complex coefficients look like (1+2j))")
                raise _parse_error(text, pos, f"unexpected character {ch!r}")
            kind = m.lastgroup if m.lastgroup != "index" else "pauli"
            if kind == "pauli":
                letter = m.group("pauli")
                if letter.upper() not in "IXYZ":
                    raise _parse_error(text, pos, f"unexpected character {letter!r}: not a Pauli letter "
                                                  "(expected I, X, Y or Z)")
                if not m.group("index"):
                    raise _parse_error(text, m.end(), f"Pauli {letter!r} needs a qubit index, e.g. {letter.upper()}0")
            if kind != "space":
                self.tokens.append((kind, m.group(0), pos))  # type: ignore[arg-type]
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def error(self, message: str) -> ObservableError:
        tok = self.peek()
        return _parse_error(self.text, tok[2] if tok else len(self.text), message)

    def parse(self) -> PauliSum:
        if not self.tokens:
            raise _parse_error(self.text, 0, "empty observable")
        terms: dict[Word, complex] = {}
        first = True
        while self.peek() is not None:
            negative = False
            if not first:
                sep = self.tokens[self.i]
                if sep[0] != "op" or sep[1] == "*":
                    raise self.error(f"expected '+' or '-' between terms, got {sep[1]!r}")
                negative = sep[1] == "-"
                self.i += 1
            # unary signs
            while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "+-":
                negative ^= tok[1] == "-"
                self.i += 1
            word, coef = self.term()
            terms[word] = terms.get(word, 0j) + (-coef if negative else coef)
            first = False
        return PauliSum._make(terms)

    def term(self) -> tuple[Word, complex]:
        tok = self.peek()
        if tok is None:
            prev = self.tokens[self.i - 1]
            raise _parse_error(self.text, len(self.text), f"dangling operator {prev[1]!r} at the end: expected a term")
        if tok[0] == "op":
            raise self.error(f"dangling {tok[1]!r}: expected a coefficient or a Pauli factor")
        coef: complex = 1
        letters: list[tuple[int, str]] = []
        positions: dict[int, int] = {}
        prev_kind = ""
        joined = False
        while (tok := self.peek()) is not None:
            kind, value, pos = tok
            if kind in ("number", "complex"):
                if letters:
                    raise self.error("a coefficient must come before the Pauli factors of its term")
                if prev_kind in ("number", "complex") and not joined:
                    raise self.error("two coefficients in a row: join them with '*'")
                try:
                    coef *= complex(value.replace(" ", "").replace("J", "j"))
                except ValueError:
                    raise self.error(f"bad complex number {value!r}") from None
                if not (math.isfinite(coef.real) and math.isfinite(coef.imag)):
                    raise self.error("the coefficient is not finite")
            elif kind == "pauli":
                q = int(value[1:])
                if q in positions:
                    raise self.error(f"qubit {q} appears twice in the term (first at column {positions[q] + 1})")
                positions[q] = pos
                letters.append((q, value[0].upper()))
            elif value == "*":
                nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
                if nxt is None or nxt[0] not in ("number", "complex", "pauli"):
                    raise self.error("dangling '*': expected a coefficient or a Pauli factor after it")
                joined = True
                self.i += 1
                continue
            else:  # + or -: end of the term
                break
            prev_kind, joined = kind, False
            self.i += 1
        return tuple(sorted((q, p) for q, p in letters if p != "I")), complex(coef)


def X(q: int) -> PauliSum:
    """Pauli X on qubit ``q``.

    Examples:
        >>> X(1) + X(0)
        PauliSum('X1 + X0')
    """
    return PauliSum._make({_check_word(((q, "X"),)): 1 + 0j})


def Y(q: int) -> PauliSum:
    """Pauli Y on qubit ``q``.

    Examples:
        >>> Y(0) @ Z(0)
        PauliSum('1j*X0')
    """
    return PauliSum._make({_check_word(((q, "Y"),)): 1 + 0j})


def Z(q: int) -> PauliSum:
    """Pauli Z on qubit ``q``.

    Examples:
        >>> Z(0) @ X(0)
        PauliSum('1j*Y0')
    """
    return PauliSum._make({_check_word(((q, "Z"),)): 1 + 0j})


def I() -> PauliSum:  # noqa: E743
    """The identity.

    Examples:
        >>> I() == X(3) @ X(3)
        True
    """
    return PauliSum.identity()
