"""Quadratic unconstrained binary optimisation: :class:`QUBO` and a small expression builder.

A QUBO on ``n`` bits ``x in {0,1}^n`` has the energy

    E(x) = offset + sum_i l_i x_i + sum_{i<j} Q_ij x_i x_j

and is always MINIMISED. A maximisation problem (MaxCut's cut weight) is stored negated, with
``sense="max"``: :meth:`QUBO.objective` turns an energy back into the user's value.

Bit convention (qtandem's little-endian one): qubit ``i`` carries ``x_i``, the basis index of ``x`` is
``sum_i x_i 2**i`` and the spin is ``z_i = 1 - 2 x_i`` (``|0> -> +1``), so the Ising form is
``E = offset' + sum_i h_i z_i + sum_{i<j} J_ij z_i z_j`` and :meth:`QUBO.to_pauli_sum` is that operator
with ``z_i -> Z_i``: its diagonal is :meth:`QUBO.diagonal`.

Examples:
    >>> from qtandem.opt.qubo import QUBO, binary
    >>> x = binary(3)
    >>> q = QUBO.from_expression(2 * x[0] * x[1] - x[0] - x[1] + (x[2] - 1) ** 2)
    >>> q
    QUBO(n=3, linear=3, quadratic=1, offset=1)
    >>> q.diagonal().tolist()
    [1.0, 0.0, 0.0, 1.0, 0.0, -1.0, -1.0, 0.0]
    >>> q.energy([1, 0, 1])
    -1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ConfigError
from qtandem.sim.memory import check_memory

__all__ = ["QUBO", "Expression", "binary"]

MAX_DIAGONAL_BITS = 30


def _index(i: Any, n: int | None, what: str) -> int:
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
        raise ConfigError(f"{what}: variable index must be an int, got {type(i).__name__} {i!r}")
    i = int(i)
    if i < 0 or (n is not None and i >= n):
        raise ConfigError(f"{what}: variable index {i} is out of range for {n} variables (valid: 0..{(n or 1) - 1})")
    return i


def _coef(c: Any, what: str) -> float:
    if isinstance(c, bool) or not isinstance(c, (Real, np.floating, np.integer)):
        raise ConfigError(f"{what}: coefficient must be a real number, got {type(c).__name__} {c!r}")
    v = float(c)
    if not np.isfinite(v):
        raise ConfigError(f"{what}: coefficient must be finite, got {v}")
    return v


class Expression:
    """A polynomial of degree <= 2 in binary variables (``x*x == x``), built with ``+ - *`` and ``** 2``.

    Make variables with :func:`binary`; turn the final expression into a :class:`QUBO` with
    :meth:`QUBO.from_expression`. A product of degree 3 or more raises ``ConfigError``.

    Examples:
        >>> x = binary(2)
        >>> e = 3 * x[0] - x[0] * x[1] + 0.5
        >>> e
        Expression(0.5 + 3*x0 - 1*x0*x1)
        >>> (x[0] + x[1] - 1) ** 2    # x*x = x for bits
        Expression(1 - 1*x0 - 1*x1 + 2*x0*x1)
    """

    __slots__ = ("constant", "linear", "quadratic")
    __array_ufunc__ = None

    def __init__(self, constant: float = 0.0, linear: Mapping[int, float] | None = None,
                 quadratic: Mapping[tuple[int, int], float] | None = None) -> None:
        self.constant = float(constant)
        self.linear: dict[int, float] = dict(linear or {})
        self.quadratic: dict[tuple[int, int], float] = dict(quadratic or {})

    @property
    def degree(self) -> int:
        """Degree of the polynomial (0, 1 or 2), ignoring zero coefficients.

        Examples:
            >>> binary(2)[0].degree, (binary(2)[0] * binary(2)[1]).degree
            (1, 2)
        """
        if any(v != 0 for v in self.quadratic.values()):
            return 2
        return 1 if any(v != 0 for v in self.linear.values()) else 0

    @staticmethod
    def _coerce(other: object) -> Expression | None:
        if isinstance(other, Expression):
            return other
        if isinstance(other, (Real, np.floating, np.integer)) and not isinstance(other, bool):
            return Expression(float(other))
        return None

    def __add__(self, other: object) -> Expression:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        lin = dict(self.linear)
        for i, v in o.linear.items():
            lin[i] = lin.get(i, 0.0) + v
        quad = dict(self.quadratic)
        for k, v in o.quadratic.items():
            quad[k] = quad.get(k, 0.0) + v
        return Expression(self.constant + o.constant, lin, quad)

    __radd__ = __add__

    def __neg__(self) -> Expression:
        return self * -1.0

    def __sub__(self, other: object) -> Expression:
        o = self._coerce(other)
        return NotImplemented if o is None else self + (-o)

    def __rsub__(self, other: object) -> Expression:
        o = self._coerce(other)
        return NotImplemented if o is None else o + (-self)

    def __mul__(self, other: object) -> Expression:
        o = self._coerce(other)
        if o is None:
            return NotImplemented
        if o.degree == 0 or self.degree == 0:
            s, c = (self, o.constant) if o.degree == 0 else (o, self.constant)
            return Expression(s.constant * c, {i: v * c for i, v in s.linear.items()},
                              {k: v * c for k, v in s.quadratic.items()})
        if o.degree + self.degree > 2 and (o.degree == 2 or self.degree == 2):
            raise ConfigError("a QUBO expression has degree <= 2: this product would have degree 3 or more")
        out = Expression(self.constant * o.constant,
                         {i: v * o.constant for i, v in self.linear.items()},
                         {})
        for i, v in o.linear.items():
            out.linear[i] = out.linear.get(i, 0.0) + v * self.constant
        for i, a in self.linear.items():
            for j, b in o.linear.items():
                if i == j:  # x*x = x
                    out.linear[i] = out.linear.get(i, 0.0) + a * b
                else:
                    k = (min(i, j), max(i, j))
                    out.quadratic[k] = out.quadratic.get(k, 0.0) + a * b
        return out

    __rmul__ = __mul__

    def __pow__(self, k: int) -> Expression:
        if k == 1:
            return self
        if k == 2:
            return self * self
        raise ConfigError(f"only ** 1 and ** 2 keep a QUBO expression quadratic, got ** {k}")

    def __repr__(self) -> str:
        parts = [f"{self.constant:g}"] if self.constant else []
        parts += [f"{v:g}*x{i}" for i, v in sorted(self.linear.items()) if v]
        parts += [f"{v:g}*x{i}*x{j}" for (i, j), v in sorted(self.quadratic.items()) if v]
        text = " + ".join(parts).replace("+ -", "- ") or "0"
        return f"Expression({text})"


def binary(n: int, *, start: int = 0) -> list[Expression]:
    """``n`` binary variables ``x_start .. x_{start+n-1}`` as :class:`Expression` objects.

    Examples:
        >>> x = binary(3)
        >>> QUBO.from_expression(x[0] + 2 * x[1] * x[2]).to_matrix().tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
    """
    return [Expression(0.0, {i: 1.0}) for i in range(start, start + n)]


class QUBO:
    """A QUBO ``E(x) = offset + sum_i l_i x_i + sum_{i<j} Q_ij x_i x_j`` over ``x in {0,1}^n``, minimised.

    Args:
        n: number of binary variables.
        linear: ``{i: l_i}``.
        quadratic: ``{(i, j): Q_ij}``; ``(i, j)`` and ``(j, i)`` are summed, and ``(i, i)`` goes to the
            linear term (``x_i**2 = x_i``).
        offset: constant energy.
        sense: ``"min"`` or ``"max"``: the sense of the USER's objective. The energy is always minimised;
            with ``"max"`` the builder stored the negated objective and :meth:`objective` undoes it.
        names: optional variable names (for decoding and files).

    Raises:
        ConfigError: bad index, non-finite coefficient, unknown sense.

    Examples:
        >>> q = QUBO(2, {0: -1.0}, {(0, 1): 2.0}, offset=0.5)
        >>> q.energy([[0, 0], [1, 0], [1, 1]]).tolist()
        [0.5, -0.5, 1.5]
        >>> h, J, c = q.to_ising()
        >>> h.tolist(), J, c
        ([0.0, -0.5], {(0, 1): 0.5}, 0.5)
        >>> q.to_pauli_sum()
        PauliSum('0.5 - 0.5*Z1 + 0.5*Z0*Z1')
    """

    __slots__ = ("_i", "_j", "_w", "linear", "n", "names", "offset", "quadratic", "sense")

    def __init__(self, n: int, linear: Mapping[int, float] | None = None,
                 quadratic: Mapping[tuple[int, int], float] | None = None, offset: float = 0.0, *,
                 sense: str = "min", names: Sequence[str] | None = None) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ConfigError(f"QUBO: n must be a non-negative int, got {n!r}")
        if sense not in ("min", "max"):
            raise ConfigError(f"QUBO: sense must be 'min' or 'max', got {sense!r}")
        self.n = int(n)
        self.sense = sense
        self.offset = _coef(offset, "QUBO offset")
        lin = np.zeros(self.n)
        for i, v in (linear or {}).items():
            lin[_index(i, self.n, "QUBO linear")] += _coef(v, f"QUBO linear[{i}]")
        quad: dict[tuple[int, int], float] = {}
        for key, v in (quadratic or {}).items():
            if not isinstance(key, tuple) or len(key) != 2:
                raise ConfigError(f"QUBO quadratic: keys are pairs (i, j), got {key!r}")
            i, j = (_index(k, self.n, "QUBO quadratic") for k in key)
            c = _coef(v, f"QUBO quadratic[{key}]")
            if i == j:
                lin[i] += c
            else:
                k2 = (min(i, j), max(i, j))
                quad[k2] = quad.get(k2, 0.0) + c
        self.linear: np.ndarray = lin
        self.quadratic: dict[tuple[int, int], float] = {k: v for k, v in sorted(quad.items()) if v != 0.0}
        self._i = np.array([k[0] for k in self.quadratic], dtype=np.int64)
        self._j = np.array([k[1] for k in self.quadratic], dtype=np.int64)
        self._w = np.array(list(self.quadratic.values()), dtype=np.float64)
        if names is not None and len(names) != self.n:
            raise ConfigError(f"QUBO: {len(names)} names for {self.n} variables")
        self.names = None if names is None else [str(s) for s in names]

    # -- constructors ----------------------------------------------------------------
    @classmethod
    def from_matrix(cls, matrix: Any, offset: float = 0.0, **kw: Any) -> QUBO:
        """``E(x) = x^T M x + offset`` for any square ``M`` (the diagonal is linear, ``M_ij + M_ji`` quadratic).

        Examples:
            >>> QUBO.from_matrix([[1, 2], [0, -3]]).energy([1, 1])
            0.0
        """
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ConfigError(f"QUBO.from_matrix: expected a square matrix, got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ConfigError("QUBO.from_matrix: the matrix has non-finite entries")
        n = m.shape[0]
        lin = {i: float(m[i, i]) for i in range(n) if m[i, i]}
        sym = m + m.T
        quad = {(i, j): float(sym[i, j]) for i in range(n) for j in range(i + 1, n) if sym[i, j]}
        return cls(n, lin, quad, offset, **kw)

    @classmethod
    def from_dict(cls, coefficients: Mapping[Any, float], offset: float = 0.0, *, n: int | None = None,
                  **kw: Any) -> QUBO:
        """From ``{(i, j): c}`` (``i == j`` or ``(i,)`` / ``i`` are linear), dimod's BQM style.

        Examples:
            >>> QUBO.from_dict({(0, 0): -1, (0, 1): 2, 2: 1.5}).n
            3
        """
        lin: dict[int, float] = {}
        quad: dict[tuple[int, int], float] = {}
        top = -1
        for key, v in coefficients.items():
            k = (key,) if isinstance(key, (int, np.integer)) else tuple(key)
            if len(k) == 1 or (len(k) == 2 and k[0] == k[1]):
                i = _index(k[0], None, "QUBO.from_dict")
                lin[i] = lin.get(i, 0.0) + _coef(v, f"QUBO.from_dict[{key!r}]")
                top = max(top, i)
            elif len(k) == 2:
                i, j = (_index(t, None, "QUBO.from_dict") for t in k)
                quad[(i, j)] = quad.get((i, j), 0.0) + _coef(v, f"QUBO.from_dict[{key!r}]")
                top = max(top, i, j)
            else:
                raise ConfigError(f"QUBO.from_dict: keys are i, (i,) or (i, j), got {key!r}")
        return cls(top + 1 if n is None else n, lin, quad, offset, **kw)

    @classmethod
    def from_ising(cls, h: Any, J: Mapping[tuple[int, int], float], offset: float = 0.0, **kw: Any) -> QUBO:
        """From ``E = offset + sum h_i z_i + sum J_ij z_i z_j`` with ``z_i = 1 - 2 x_i``.

        Examples:
            >>> q = QUBO.from_ising([0.5, 0.0], {(0, 1): 1.0})
            >>> q.energy([0, 0]), q.energy([0, 1])    # z = (+1, +1), (+1, -1)
            (1.5, -0.5)
        """
        hv = np.asarray(h, dtype=np.float64).reshape(-1)
        n = int(max([hv.size, *[max(k) + 1 for k in J]])) if J else hv.size
        lin = np.zeros(n)
        lin[: hv.size] = -2.0 * hv
        const = float(offset) + float(hv.sum())
        quad: dict[tuple[int, int], float] = {}
        for (i, j), v in J.items():
            i, j = _index(i, n, "QUBO.from_ising"), _index(j, n, "QUBO.from_ising")
            v = _coef(v, f"QUBO.from_ising J[{i},{j}]")
            if i == j:  # z_i^2 = 1
                const += v
                continue
            const += v
            lin[i] -= 2 * v
            lin[j] -= 2 * v
            quad[(i, j)] = quad.get((i, j), 0.0) + 4 * v
        return cls(n, dict(enumerate(lin.tolist())), quad, const, **kw)

    @classmethod
    def from_expression(cls, expression: Expression, n: int | None = None, **kw: Any) -> QUBO:
        """From an :class:`Expression` (``n`` defaults to the highest variable index + 1).

        Examples:
            >>> x = binary(2)
            >>> QUBO.from_expression((x[0] + x[1] - 1) ** 2).diagonal().tolist()
            [1.0, 0.0, 0.0, 1.0]
        """
        if not isinstance(expression, Expression):
            expression = Expression(_coef(expression, "QUBO.from_expression"))
        idx = list(expression.linear) + [i for k in expression.quadratic for i in k]
        size = (max(idx) + 1 if idx else 0) if n is None else n
        return cls(size, expression.linear, expression.quadratic, expression.constant, **kw)

    # -- conversions ------------------------------------------------------------------
    def to_matrix(self) -> np.ndarray:
        """Upper-triangular ``M`` with ``E(x) = x^T M x + offset`` (linear terms on the diagonal).

        Examples:
            >>> QUBO(2, {1: 3.0}, {(0, 1): -1.0}).to_matrix().tolist()
            [[0.0, -1.0], [0.0, 3.0]]
        """
        m = np.diag(self.linear).astype(np.float64)
        m[self._i, self._j] = self._w
        return m

    def to_ising(self) -> tuple[np.ndarray, dict[tuple[int, int], float], float]:
        """``(h, J, offset)`` with ``E = offset + sum_i h_i z_i + sum_{i<j} J_ij z_i z_j``, ``z_i = 1 - 2 x_i``.

        Examples:
            >>> h, J, c = QUBO(2, {0: 1.0}, {(0, 1): 4.0}).to_ising()
            >>> h.tolist(), J, c
            ([-1.5, -1.0], {(0, 1): 1.0}, 1.5)
        """
        h = -0.5 * self.linear
        np.subtract.at(h, self._i, 0.25 * self._w)
        np.subtract.at(h, self._j, 0.25 * self._w)
        J = {k: 0.25 * v for k, v in self.quadratic.items()}
        const = self.offset + 0.5 * float(self.linear.sum()) + 0.25 * float(self._w.sum())
        return h, J, const

    def to_pauli_sum(self) -> PauliSum:
        """The cost operator ``offset' + sum h_i Z_i + sum J_ij Z_i Z_j`` (diagonal = :meth:`diagonal`).

        Examples:
            >>> QUBO(1, {0: 2.0}).to_pauli_sum()
            PauliSum('1 - Z0')
        """
        h, J, const = self.to_ising()
        terms: dict[Any, complex] = {}
        if const:
            terms[()] = const
        for i, v in enumerate(h.tolist()):
            if v:
                terms[((i, "Z"),)] = v
        for (i, j), v in J.items():
            terms[((i, "Z"), (j, "Z"))] = v
        return PauliSum(terms)

    # -- evaluation -------------------------------------------------------------------
    def energy(self, x: Any) -> Any:
        """Energy of one bit vector (a float) or of each row of an ``(..., n)`` array (an array).

        Examples:
            >>> q = QUBO(2, {0: 1.0}, {(0, 1): -3.0})
            >>> q.energy([1, 1]), q.energy(np.array([[0, 1], [1, 0]])).tolist()
            (-2.0, [0.0, 1.0])
        """
        a = np.asarray(x)
        if a.shape[-1:] != (self.n,):
            raise ConfigError(f"QUBO.energy: expected bit vectors of length {self.n}, got shape {a.shape}")
        a = a.astype(np.float64)
        e = self.offset + a @ self.linear
        if self._w.size:
            e = e + (a[..., self._i] * a[..., self._j]) @ self._w
        return float(e) if a.ndim == 1 else e

    def objective(self, energy: Any) -> Any:
        """The user's objective from an energy: ``energy`` for ``sense="min"``, ``-energy`` for ``"max"``.

        Examples:
            >>> QUBO(1, {0: -2.0}, sense="max").objective(-2.0)
            2.0
        """
        return -energy if self.sense == "max" else energy

    def diagonal(self) -> np.ndarray:
        """Energies of all ``2**n`` basis states, index ``sum_i x_i 2**i``; float64, shape ``(2**n,)``.

        Built by doubling (bit ``k`` added to the first ``2**k`` entries at a time), about 2 * 2**n
        additions; raises ``ResourceError`` before allocating when the memory is not there, and
        ``ConfigError`` above 30 variables.

        Examples:
            >>> QUBO(2, {0: 1.0, 1: 2.0}, {(0, 1): 4.0}, offset=-1).diagonal().tolist()
            [-1.0, 0.0, 1.0, 6.0]
        """
        n = self.n
        if n > MAX_DIAGONAL_BITS:
            raise ConfigError(f"QUBO.diagonal: {n} variables would need 2**{n} energies; at most "
                              f"{MAX_DIAGONAL_BITS} (use qtandem.opt.solve_classical for larger problems)")
        check_memory(12 * 2**n, f"QUBO.diagonal of {n} variables (float64)")
        out = np.empty(2**n, dtype=np.float64)
        out[0] = self.offset
        buf = np.empty(2 ** max(n - 1, 0), dtype=np.float64)
        qm = self.to_matrix()
        for k in range(n):
            size = 2**k
            # buf[idx] = l_k + sum_{j<k} Q_jk x_j(idx) for idx < 2**k, by doubling over j
            buf[0] = self.linear[k]
            for j in range(k):
                s = 2**j
                np.add(buf[:s], qm[j, k], out=buf[s: 2 * s])
            np.add(out[:size], buf[:size], out=out[size: 2 * size])
        return out

    def restrict(self, fixed: Mapping[int, int]) -> QUBO:
        """The QUBO over the free variables (kept in order) with the variables in ``fixed`` set to 0/1.

        Examples:
            >>> q = QUBO(3, {0: 1.0}, {(0, 2): 2.0, (1, 2): -1.0})
            >>> r = q.restrict({2: 1})
            >>> r.n, r.energy([1, 1]), q.energy([1, 1, 1])
            (2, 2.0, 2.0)
        """
        free = [i for i in range(self.n) if i not in fixed]
        pos = {v: k for k, v in enumerate(free)}
        const = self.offset + sum(self.linear[i] * int(b) for i, b in fixed.items())
        lin = {pos[i]: float(self.linear[i]) for i in free}
        quad: dict[tuple[int, int], float] = {}
        for (i, j), w in self.quadratic.items():
            if i in fixed and j in fixed:
                const += w * int(fixed[i]) * int(fixed[j])
            elif i in fixed:
                lin[pos[j]] += w * int(fixed[i])
            elif j in fixed:
                lin[pos[i]] += w * int(fixed[j])
            else:
                quad[(pos[i], pos[j])] = w
        return QUBO(len(free), lin, quad, const, sense=self.sense)

    def __add__(self, other: object) -> QUBO:
        if not isinstance(other, QUBO) or other.n != self.n:
            return NotImplemented
        quad = dict(self.quadratic)
        for k, v in other.quadratic.items():
            quad[k] = quad.get(k, 0.0) + v
        return QUBO(self.n, dict(enumerate((self.linear + other.linear).tolist())), quad,
                    self.offset + other.offset, sense=self.sense, names=self.names)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QUBO):
            return NotImplemented
        return (self.n == other.n and self.offset == other.offset and np.array_equal(self.linear, other.linear)
                and self.quadratic == other.quadratic and self.sense == other.sense)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        nl = int(np.count_nonzero(self.linear))
        s = "" if self.sense == "min" else ", sense='max'"
        return f"QUBO(n={self.n}, linear={nl}, quadratic={len(self.quadratic)}, offset={self.offset:g}{s})"


def bits_of(indices: Iterable[int] | np.ndarray, n: int) -> np.ndarray:
    """Bit vectors (rows, ``uint8``) of basis indices ``sum_i x_i 2**i``.

    Examples:
        >>> bits_of([5], 3).tolist()
        [[1, 0, 1]]
    """
    idx = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.uint8)
