"""Sparse matrices of Pauli sums and their lowest eigenvalues (exact references up to ~20 qubits).

The matrix is built per X-mask: every word with the same flip mask ``x`` contributes to
the same off-diagonal ``j -> j ^ x``, so the diagonal phases of those words are summed
into one vector first (a molecular Hamiltonian of 12 qubits has ~600 words but ~150 masks).
:mod:`qtandem.sim.pauli_evolution` uses the same grouping and phases for its rotations and
its Hamiltonian.

Examples:
    >>> from qtandem.circuit.pauli import PauliSum
    >>> m = pauli_sum_sparse(PauliSum("Z0 + 0.5*X0 X1"), 2)
    >>> m.toarray().real.tolist()
    [[1.0, 0.0, 0.0, 0.5], [0.0, -1.0, 0.5, 0.0], [0.0, 0.5, 1.0, 0.0], [0.5, 0.0, 0.0, -1.0]]
    >>> round(lowest_eigenvalue(PauliSum("Z0 Z1 + X0")), 6)
    -1.414214
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.pauli import PauliSum, word_masks
from qtandem.errors import ObservableError, ResourceError

__all__ = ["lowest_eigenvalue", "pauli_diagonal", "pauli_sum_sparse"]

MAX_SPARSE_QUBITS = 24


_IPOW = np.array([1, 1j, -1, -1j], dtype=np.complex128)


def _flip_amplitudes(indices: np.ndarray, strings: Sequence[tuple[complex, int, int]]) -> np.ndarray:
    """``a(i) = sum_k c_k i**ny_k (-1)**popcount(i & z_k)`` for an int64 array of basis indices."""
    out = np.zeros(indices.shape, dtype=np.complex128)
    for coef, z, ny in strings:
        sign = 1 - 2 * (np.bitwise_count(indices & z) & 1).astype(np.float64)
        out += (coef * _IPOW[ny % 4]) * sign
    return out


def _groups(op: PauliSum) -> dict[int, list[tuple[complex, int, int]]]:
    """``op``'s words grouped by flip mask ``x``: ``{x: [(coef, z_mask, n_Y), ...]}`` (zero terms left out)."""
    groups: dict[int, list[tuple[complex, int, int]]] = {}
    for coef, word in op.terms:
        if coef == 0:
            continue
        x, z, ny = word_masks(word)
        groups.setdefault(x, []).append((complex(coef), z, ny))
    return groups


def _check_size(op: PauliSum, n: int) -> None:
    if n > MAX_SPARSE_QUBITS:
        raise ResourceError(f"a sparse matrix of {n} qubits has {2**n} rows; the limit is {MAX_SPARSE_QUBITS}")
    if n < op.num_qubits:
        raise ObservableError(f"the observable acts on {op.num_qubits} qubits, more than n_qubits={n}")


def pauli_diagonal(op: PauliSum, n_qubits: int | None = None) -> np.ndarray:
    """The diagonal of ``op``'s matrix, shape ``(2**n,)`` complex128 (only its Z-type words count).

    Examples:
        >>> pauli_diagonal(PauliSum("Z0 + 2*Z1 + X0"), 2).real.tolist()
        [3.0, 1.0, -1.0, -3.0]
    """
    n = op.num_qubits if n_qubits is None else n_qubits
    _check_size(op, n)
    return _flip_amplitudes(np.arange(2**n, dtype=np.int64), _groups(op).get(0, []))


def pauli_sum_sparse(op: PauliSum, n_qubits: int | None = None, *, basis: Sequence[int] | np.ndarray | None = None
                     ) -> Any:
    """``op`` as a ``scipy.sparse.csr_matrix`` (little-endian), optionally restricted to some basis states.

    Args:
        op: the Pauli sum.
        n_qubits: number of qubits (default ``op.num_qubits``).
        basis: basis-state indices to keep (rows and columns, in this order); entries
            leaving this set are dropped, so pass a set the operator does not leave (a
            particle-number sector, say) for an exact restriction. Phases are evaluated on
            these columns only.

    Returns:
        A complex128 CSR matrix of shape ``(2**n, 2**n)`` or ``(len(basis), len(basis))``.

    Raises:
        ResourceError: more than 24 qubits.

    Examples:
        >>> pauli_sum_sparse(PauliSum("X0 X1 + Z0"), 2, basis=[1, 2]).toarray().real.tolist()
        [[-1.0, 1.0], [1.0, 1.0]]
    """
    from scipy.sparse import coo_matrix

    n = op.num_qubits if n_qubits is None else n_qubits
    _check_size(op, n)
    dim = 2**n
    cols = np.arange(dim, dtype=np.int64) if basis is None else np.asarray(basis, dtype=np.int64)
    pos = None
    if basis is not None:
        pos = np.full(dim, -1, dtype=np.int64)
        pos[cols] = np.arange(cols.size)
    size = cols.size
    rows_l, cols_l, vals_l = [], [], []
    for x, strings in _groups(op).items():
        r, c, v = cols ^ x, np.arange(size), _flip_amplitudes(cols, strings)
        if pos is not None:
            r = pos[r]
            ok = r >= 0
            r, c, v = r[ok], c[ok], v[ok]
        nz = v != 0
        rows_l.append(r[nz])
        cols_l.append(c[nz])
        vals_l.append(v[nz])
    if not rows_l:
        return coo_matrix((size, size), dtype=np.complex128).tocsr()
    return coo_matrix((np.concatenate(vals_l), (np.concatenate(rows_l), np.concatenate(cols_l))),
                      shape=(size, size)).tocsr()


def lowest_eigenvalue(op: PauliSum, n_qubits: int | None = None, *,
                      basis: Sequence[int] | np.ndarray | None = None) -> float:
    """The lowest eigenvalue of a Hermitian ``op`` (dense ``eigh`` up to 2048 states, else Lanczos).

    Args:
        op: a Hermitian Pauli sum.
        n_qubits: number of qubits (default ``op.num_qubits``).
        basis: restrict to these basis states first (see :func:`pauli_sum_sparse`).

    Examples:
        >>> lowest_eigenvalue(PauliSum("Z0 + Z1"), basis=[1, 2])
        0.0
    """
    from scipy.sparse.linalg import eigsh

    m = pauli_sum_sparse(op, n_qubits, basis=basis)
    if m.shape[0] <= 2048:
        return float(np.linalg.eigvalsh(m.toarray())[0])
    vals = eigsh(m, k=1, which="SA", tol=1e-12, v0=np.ones(m.shape[0]) / np.sqrt(m.shape[0]))[0]
    return float(vals[0])
