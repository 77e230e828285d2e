"""Two-qubit KAK (Cartan) decomposition with NumPy: any 4x4 unitary as 3 CX and one-qubit gates.

``U = (a1 x b1) . exp(i(c1 XX + c2 YY + c3 ZZ)) . (a2 x b2)``: in the magic basis
``M^dagger U M`` splits into real orthogonal factors around a diagonal one; the
middle is emitted with the 3-CX circuit of Vatan and Williams (2004). Every
result is checked against ``U`` before it is returned.

Qubit convention as everywhere in qtandem: the first qubit is the least
significant bit, so ``kron(A, B)`` is ``A`` on the second qubit and ``B`` on the first.

Examples:
    >>> import numpy as np
    >>> from scipy.stats import unitary_group
    >>> u = unitary_group.rvs(4, random_state=3)
    >>> word = kak_word(u)
    >>> sum(1 for g, _, _ in word if g == "cx")
    3
    >>> bool(np.allclose(abs(np.trace(word_matrix(word).conj().T @ u)), 4))
    True
"""

from __future__ import annotations

import math

import numpy as np

from qtandem.errors import CompileError
from qtandem.sim.dense import dense_unitary

__all__ = ["interaction_coefficients", "kak", "kak_word", "word_matrix"]

_MAGIC = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]], dtype=np.complex128) / math.sqrt(2)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_Z = np.diag([1.0, -1.0]).astype(np.complex128)
_I = np.eye(2, dtype=np.complex128)
_P0, _P1 = np.diag([1.0, 0.0]).astype(np.complex128), np.diag([0.0, 1.0]).astype(np.complex128)
CX01 = np.kron(_I, _P0) + np.kron(_X, _P1)
"""cx with control qubit 0 (least significant), target qubit 1."""
CX10 = np.kron(_P0, _I) + np.kron(_P1, _X)
"""cx with control qubit 1, target qubit 0."""
_PAULI_DIAG = np.array([np.real(np.diag(_MAGIC.conj().T @ np.kron(p, p) @ _MAGIC)) for p in (_X, _Y, _Z)])


def kron_factor(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``m = kron(a, b)`` for a local 4x4 unitary; returns ``(a, b)`` (each unitary up to phase)."""
    r = m.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    u, s, vh = np.linalg.svd(r)
    a = (u[:, 0] * math.sqrt(s[0])).reshape(2, 2)
    b = (vh[0, :] * math.sqrt(s[0])).reshape(2, 2)
    return a, b


def _real_diagonalizer(m: np.ndarray) -> np.ndarray:
    """Real orthogonal ``p`` (det 1) with ``p.T @ m @ p`` diagonal, for a complex symmetric unitary ``m``."""
    rng = np.random.default_rng(1234)
    for _ in range(20):
        w = rng.random()
        _, p = np.linalg.eigh(w * m.real + (1 - w) * m.imag)
        d = p.T @ m @ p
        if np.allclose(d, np.diag(np.diag(d)), atol=1e-9):
            if np.linalg.det(p) < 0:
                p[:, 0] = -p[:, 0]
            return p
    raise CompileError("KAK: could not diagonalize M^T M (numerically degenerate input)")


def kak(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float], np.ndarray, np.ndarray]:
    """KAK factors of a 4x4 unitary: ``(a1, b1, (c1, c2, c3), a2, b2)`` with
    ``u ~ kron(a1, b1) @ expm(i(c1 XX + c2 YY + c3 ZZ)) @ kron(a2, b2)`` (up to global phase).

    Raises:
        CompileError: ``u`` is not a 4x4 unitary.

    Examples:
        >>> import numpy as np
        >>> from scipy.linalg import expm
        >>> rng = np.random.default_rng(3)
        >>> u = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
        >>> a1, b1, (c1, c2, c3), a2, b2 = kak(u)
        >>> X, Y, Z = np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1, -1])
        >>> core = expm(1j * (c1 * np.kron(X, X) + c2 * np.kron(Y, Y) + c3 * np.kron(Z, Z)))
        >>> v = np.kron(a1, b1) @ core @ np.kron(a2, b2)
        >>> bool(abs(abs(np.trace(v.conj().T @ u)) - 4) < 1e-8)          # equal up to a global phase
        True
    """
    u = np.asarray(u, dtype=np.complex128)
    if u.shape != (4, 4) or not np.allclose(u.conj().T @ u, np.eye(4), atol=1e-8):
        raise CompileError(f"KAK needs a 4x4 unitary, got shape {u.shape}")
    v = u / np.linalg.det(u) ** 0.25
    vm = _MAGIC.conj().T @ v @ _MAGIC
    p = _real_diagonalizer(vm.T @ vm)
    d = np.diag(p.T @ vm.T @ vm @ p)
    s = np.sqrt(d)
    k1 = vm @ p @ np.diag(1 / s)
    if np.linalg.det(k1.real) < 0:
        s[0] = -s[0]
        k1[:, 0] = -k1[:, 0]
    left = _MAGIC @ k1 @ _MAGIC.conj().T
    right = _MAGIC @ p.T @ _MAGIC.conj().T
    a1, b1 = kron_factor(left)
    a2, b2 = kron_factor(right)
    phases = np.angle(s)
    sol = np.linalg.solve(np.column_stack([np.ones(4), _PAULI_DIAG.T]), phases)
    return a1, b1, (float(sol[1]), float(sol[2]), float(sol[3])), a2, b2


def interaction_coefficients(u: np.ndarray) -> tuple[float, float, float]:
    """The ``(c1, c2, c3)`` of :func:`kak` (not canonicalized).

    Examples:
        >>> import numpy as np
        >>> cx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=complex)
        >>> sorted(round(abs(c), 6) for c in interaction_coefficients(cx))   # one nonzero: pi/4
        [0.0, 0.0, 0.785398]
    """
    return kak(u)[2]


def rz_matrix(t: float) -> np.ndarray:
    """``rz(t)`` as a 2x2 matrix (the registry's convention, in NumPy)."""
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def ry_matrix(t: float) -> np.ndarray:
    """``ry(t)`` as a 2x2 matrix (the registry's convention, in NumPy)."""
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -s], [s, c]], dtype=np.complex128)


Word = list[tuple[str, int, np.ndarray | None]]


def kak_word(u: np.ndarray, *, factors: tuple | None = None) -> Word:
    """``u`` as ``[(kind, qubit, matrix)]`` in circuit order: kind ``"1q"`` (a 2x2 matrix on qubit 0 or 1)
    or ``"cx"`` (qubit = control); 3 CX in all. Checked against ``u`` (up to global phase).

    Args:
        u: 4x4 unitary.
        factors: ``kak(u)`` when the caller already has it (saves one decomposition).

    Raises:
        CompileError: the decomposition does not reproduce ``u`` (numerical failure).

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> u = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
        >>> word = kak_word(u)
        >>> sum(kind == "cx" for kind, _, _ in word)
        3
        >>> bool(abs(abs(np.trace(word_matrix(word).conj().T @ u)) - 4) < 1e-8)
        True
    """
    a1, b1, (c1, c2, c3), a2, b2 = kak(u) if factors is None else factors
    half = math.pi / 2
    word: Word = [("1q", 0, b2), ("1q", 1, rz_matrix(half) @ a2), ("cx", 1, None),
                  ("1q", 0, rz_matrix(-2 * c3 + half)), ("1q", 1, ry_matrix(-2 * c1 + half)), ("cx", 0, None),
                  ("1q", 1, ry_matrix(2 * c2 - half)), ("cx", 1, None), ("1q", 0, b1 @ rz_matrix(-half)), ("1q", 1, a1)]
    m = word_matrix(word)
    ov = abs(np.trace(m.conj().T @ u)) / 4
    if abs(ov - 1) > 1e-7:
        raise CompileError(f"KAK reconstruction failed (overlap {ov:.3g})")
    return word


def word_matrix(word: Word) -> np.ndarray:
    """The 4x4 matrix of a :func:`kak_word`.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0, 1], [1, 0]], dtype=complex)
        >>> word_matrix([("1q", 1, x)]).real.astype(int).tolist()      # x on qubit 1
        [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]]
    """
    ops: list[tuple[tuple[int, ...], np.ndarray]] = []
    for kind, q, g in word:
        if kind == "cx":
            ops.append(((q, 1 - q), CX01))  # control q, target the other qubit
        else:
            assert g is not None
            ops.append(((q,), g))
    return dense_unitary(ops, 2)
