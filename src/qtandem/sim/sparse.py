"""Sparse matrices of Pauli sums and their lowest eigenvalues (exact references up to ~20 qubits).

The matrix is built per X-mask: every word with the same flip mask ``x`` contributes to
the same off-diagonal ``j -> j ^ x``, so the diagonal phases of those words are summed
into one vector first (a molecular Hamiltonian of 12 qubits has ~600 words but ~150 masks).

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


def _parity(cols: np.ndarray, z: int) -> np.ndarray:
    out = np.zeros(cols.shape, dtype=np.int64)
    q = 0
    while z >> q:
        if z >> q & 1:
            out ^= (cols >> q) & 1
        q += 1
    return out


def _grouped(op: PauliSum, n: int) -> dict[int, np.ndarray]:
    if n > MAX_SPARSE_QUBITS:
        raise ResourceError(f"a sparse matrix of {n} qubits has {2**n} rows; the limit is {MAX_SPARSE_QUBITS}")
    if n < op.num_qubits:
        raise ObservableError(f"the observable acts on {op.num_qubits} qubits, more than n_qubits={n}")
    cols = np.arange(2**n, dtype=np.int64)
    by_x: dict[int, np.ndarray] = {}
    for c, w in op.terms:
        x, z, ny = word_masks(w)
        vals = (1 - 2 * _parity(cols, z)).astype(np.complex128) * (c * 1j**ny)
        if x in by_x:
            by_x[x] += vals
        else:
            by_x[x] = vals
    return by_x


def pauli_diagonal(op: PauliSum, n_qubits: int | None = None) -> np.ndarray:
    """The diagonal of ``op``'s matrix, shape ``(2**n,)`` complex128 (only its Z-type words count).

    Examples:
        >>> pauli_diagonal(PauliSum("Z0 + 2*Z1 + X0"), 2).real.tolist()
        [3.0, 1.0, -1.0, -3.0]
    """
    n = op.num_qubits if n_qubits is None else n_qubits
    diag = PauliSum({w: c for c, w in op.terms if all(letter == "Z" for _, letter in w)})
    return _grouped(diag, n).get(0, np.zeros(2**n, dtype=np.complex128))


def pauli_sum_sparse(op: PauliSum, n_qubits: int | None = None, *, basis: Sequence[int] | np.ndarray | None = None
                     ) -> Any:
    """``op`` as a ``scipy.sparse.csr_matrix`` (little-endian), optionally restricted to some basis states.

    Args:
        op: the Pauli sum.
        n_qubits: number of qubits (default ``op.num_qubits``).
        basis: basis-state indices to keep (rows and columns, in this order); entries
            leaving this set are dropped, so pass a set the operator does not leave (a
            particle-number sector, say) for an exact restriction.

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
    dim = 2**n
    cols = np.arange(dim, dtype=np.int64)
    rows_l, cols_l, vals_l = [], [], []
    if basis is None:
        index = None
        size = dim
    else:
        keep = np.asarray(basis, dtype=np.int64)
        index = np.full(dim, -1, dtype=np.int64)
        index[keep] = np.arange(keep.size)
        size = keep.size
    for x, vals in _grouped(op, n).items():
        r, c, v = cols ^ x, cols, vals
        if index is not None:
            ok = (index[c] >= 0) & (index[r] >= 0)
            r, c, v = index[r[ok]], index[c[ok]], v[ok]
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
