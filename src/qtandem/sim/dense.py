"""Dense matrices of small gate sequences, in NumPy: the one helper for exact unitaries.

Every place that needs the exact ``2**n x 2**n`` matrix of a few gates uses these
functions: the fusion of the native path (:mod:`qtandem.sim.fusion`), the OpenQASM
gate recogniser, the compile rules, KAK, Toffoli recognition and the noise mixtures.
Ops follow the *numeric op* convention of ``docs/design.md``: ``(qubits, matrix)``
with ``qubits[j]`` the bit ``j`` of the matrix index (qubit 0 least significant).

The test oracle :mod:`qtandem.sim.reference` stays independent of this module.

Examples:
    >>> import numpy as np
    >>> h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    >>> cx = np.eye(4)[[0, 3, 2, 1]]                  # control 0, target 1
    >>> u = dense_unitary([((0,), h), ((0, 1), cx)], 2)
    >>> (u[:, 0].real.round(4) + 0).tolist()           # the Bell state
    [0.7071, 0.0, 0.0, 0.7071]
    >>> equal_up_to_phase(1j * u, u)
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from qtandem.errors import SimulationError

__all__ = ["apply_dense", "dense_unitary", "embed", "equal_up_to_phase"]

NumericOp = tuple[Sequence[int], np.ndarray]


@lru_cache(maxsize=1024)
def _index(n: int, qubits: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sub, rest, place)`` for an op on ``qubits`` of ``n``: basis state ``r`` is the op's index
    ``sub[r]`` with the other qubits ``rest[r]``; the op's index ``s`` sits at bits ``place[s]``."""
    idx = np.arange(2**n)
    local = np.arange(2 ** len(qubits))
    sub = np.zeros(2**n, dtype=np.int64)
    place = np.zeros(len(local), dtype=np.int64)
    mask = 0
    for j, q in enumerate(qubits):
        sub |= ((idx >> q) & 1) << j
        place |= ((local >> j) & 1) << q
        mask |= 1 << q
    return sub, idx & ~mask, place


@lru_cache(maxsize=256)
def _same_rest(n: int, qubits: tuple[int, ...]) -> np.ndarray:
    rest = _index(n, qubits)[1]
    return rest[:, None] == rest[None, :]


def _check(qubits: Sequence[int], matrix: np.ndarray, n: int) -> tuple[tuple[int, ...], np.ndarray]:
    qs = tuple(qubits)
    m = matrix if isinstance(matrix, np.ndarray) else np.asarray(matrix)
    k = len(qs)
    if len(set(qs)) != k or (k and (min(qs) < 0 or max(qs) >= n)):
        raise SimulationError(f"op qubits {qs} must be distinct and in range(0, {n})")
    if m.shape != (1 << k, 1 << k):
        raise SimulationError(f"an op on {k} qubit(s) needs a {1 << k}x{1 << k} matrix, got {m.shape}")
    return qs, m


def embed(matrix: np.ndarray, qubits: Sequence[int], n: int) -> np.ndarray:
    """``matrix`` acting on ``qubits`` of ``n`` as a full ``(2**n, 2**n)`` matrix.

    Args:
        matrix: ``(2**k, 2**k)``; index bit ``j`` is ``qubits[j]``.
        qubits: ``k`` distinct qubits in ``range(n)``.
        n: number of qubits of the result.

    Returns:
        The ``(2**n, 2**n)`` matrix (identity on the other qubits).

    Raises:
        SimulationError: qubits out of range or repeated, or a matrix of the wrong shape.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0, 1], [1, 0]])
        >>> embed(x, (1,), 2).real.astype(int).tolist()     # X on qubit 1 swaps |00> and |10>
        [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]]
    """
    qs, m = _check(qubits, matrix, n)
    return np.array(_embedded(qs, m, n), dtype=np.result_type(m, np.complex128))


def _embedded(qs: tuple[int, ...], m: np.ndarray, n: int) -> np.ndarray:
    """:func:`embed` of checked arguments; may return ``m`` itself."""
    if len(qs) == n and qs == tuple(range(n)):
        return m
    sub = _index(n, qs)[0]
    return m[sub[:, None], sub[None, :]] * _same_rest(n, qs)


def apply_dense(state: np.ndarray, n: int, qubits: Sequence[int], matrix: np.ndarray) -> np.ndarray:
    """Return ``matrix`` applied to ``qubits`` of ``state`` (``(2**n,)`` or ``(2**n, B)``; not in place).

    A diagonal ``matrix`` is one elementwise product; others are one ``tensordot``.

    Examples:
        >>> import numpy as np
        >>> apply_dense(np.array([1, 0, 0, 0], complex), 2, (1,), np.array([[0, 1], [1, 0]])).real.tolist()
        [0.0, 0.0, 1.0, 0.0]
    """
    k = len(qubits)
    if k == 0:
        return state * matrix.reshape(())
    diag = np.diagonal(matrix)
    if not np.count_nonzero(matrix - np.diag(diag)):
        factor = diag[_index(n, tuple(qubits))[0]]
        return state * (factor if state.ndim == 1 else factor[:, None])
    extra = state.shape[1:]
    psi = state.reshape([2] * n + list(extra))
    st_axes = [n - 1 - qubits[k - 1 - i] for i in range(k)]
    out = np.tensordot(matrix.reshape([2] * (2 * k)), psi, axes=(list(range(k, 2 * k)), st_axes))
    return np.moveaxis(out, list(range(k)), st_axes).reshape(state.shape)


def _apply_rows(u: np.ndarray, n: int, qubits: tuple[int, ...], m: np.ndarray) -> np.ndarray:
    """``embed(m, qubits, n) @ u`` by gathering rows: one gather per column of ``m`` (one for a
    permutation with phases, such as a CX)."""
    sub, base, place = _index(n, qubits)
    nonzero = m != 0
    if bool((nonzero.sum(axis=1) == 1).all()):  # a permutation with phases (or a diagonal)
        src = np.argmax(nonzero, axis=1)[sub]
        return m[sub, src][:, None] * u[base | place[src]]
    out = np.zeros_like(u)
    for s in range(m.shape[1]):
        coef = m[sub, s]
        if coef.any():
            out += coef[:, None] * u[base | place[s]]
    return out


def dense_unitary(ops: Iterable[NumericOp], n: int) -> np.ndarray:
    """The product of ``ops`` (first op applied first) as a ``(2**n, 2**n)`` complex matrix.

    An op on no qubits (a ``1 x 1`` matrix) is a global phase. The matrices need not be
    unitary.

    Raises:
        SimulationError: an op's qubits or matrix shape do not fit ``n`` qubits.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0, 1], [1, 0]])
        >>> dense_unitary([((0,), x), ((0,), x)], 1).real.tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    u: np.ndarray | None = None
    for qubits, matrix in ops:
        qs, m = _check(qubits, matrix, n)
        if n <= 3:  # small: multiply embedded matrices
            full = _embedded(qs, m, n)
            u = full.astype(np.complex128) if u is None else full @ u
            continue
        if u is None:
            u = np.eye(2**n, dtype=np.complex128)
        u = m[0, 0] * u if not qs else _apply_rows(u, n, qs, m.astype(np.complex128, copy=False))
    return np.eye(2**n, dtype=np.complex128) if u is None else u


def equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-8, *, phase_atol: float = 1e-7) -> bool:
    """True if ``a = e^{i phi} b`` for some global phase ``phi``.

    The phase is read at the largest entry of ``b``; it must have modulus 1 within
    ``phase_atol``, and then every entry of ``a - phase * b`` must be within ``atol`` (no relative tolerance).

    Args:
        a: a matrix (or any array).
        b: an array of the same shape.
        atol: absolute tolerance per entry.
        phase_atol: tolerance on ``|phase| - 1``.

    Examples:
        >>> import numpy as np
        >>> equal_up_to_phase(np.exp(0.3j) * np.eye(2), np.eye(2))
        True
        >>> equal_up_to_phase(np.diag([1, -1]), np.eye(2))
        False
    """
    if a.shape != b.shape:
        return False
    k = int(np.argmax(np.abs(b)))
    if abs(b.flat[k]) < 1e-12:
        return bool(np.allclose(a, b, rtol=0.0, atol=atol))
    phase = a.flat[k] / b.flat[k]
    return abs(abs(phase) - 1.0) < phase_atol and bool(np.allclose(a, phase * b, rtol=0.0, atol=atol))
