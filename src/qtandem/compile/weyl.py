"""Weyl-chamber coordinates and minimal-CX two-qubit synthesis.

Every two-qubit unitary is ``U ~ K1 . D(c) . K2`` with local ``K1, K2`` and
``D(c) = exp(i(c1 XX + c2 YY + c3 ZZ))`` (:func:`qtandem.compile.kak.kak`). The
coordinates are brought into the Weyl chamber ``pi/4 >= c1 >= c2 >= |c3|``
(``c3 >= 0`` when ``c1 = pi/4``) by moves that only change the local factors:
shifts by ``pi/2`` (``exp(i pi/2 PP) = i PP``), pairwise sign flips (conjugation
by one Pauli on one qubit) and permutations (conjugation by ``v x v`` with a
Clifford ``v``). The canonical coordinates decide the CX count (Shende, Markov
and Bullock 2004; Vatan and Williams 2004):

- 0 CX: ``c = (0, 0, 0)`` (a product of one-qubit gates);
- 1 CX: ``c = (pi/4, 0, 0)`` (locally equivalent to CX);
- 2 CX: ``c3 = 0``;
- 3 CX: otherwise.

:func:`two_qubit_word` emits the shortest word: a coordinate within
:data:`COORD_TOL` (1e-9 rad) of a case boundary counts as on it, so the word can
differ from ``U`` by at most about that much; each word is checked against ``U``
(entries within 1e-7 after removing the global phase) before it is returned.

The one-qubit gates of a word are fixed only up to a gauge: a CX commutes with
``rz(phi)`` on its control and ``rx(chi)`` on its target, so those rotations can move
from one side of each CX to the other (the eigenvectors the decomposition picks, and
so the gauge, depend on the LAPACK build). :func:`clifford_t_gauge` chooses the gauge
so every one-qubit run has Euler angles in multiples of pi/4 when such a choice
exists (exact Clifford+T blocks stay exact after resynthesis).

Examples:
    >>> import numpy as np
    >>> swap = np.eye(4)[[0, 2, 1, 3]]
    >>> [round(c, 6) for c in weyl_coordinates(swap)], cx_count(swap)
    ([0.785398, 0.785398, 0.785398], 3)
    >>> cz = np.diag([1, 1, 1, -1])
    >>> word = two_qubit_word(cz)
    >>> sum(kind == "cx" for kind, _, _ in word)
    1
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from qtandem.compile.kak import CX01, Word, kak, kak_word, kron_factor, rz_matrix, word_matrix
from qtandem.errors import CompileError
from qtandem.sim.dense import equal_up_to_phase

__all__ = ["COORD_TOL", "canonical_kak", "clifford_t_gauge", "cx_count", "cx_counts", "two_qubit_word",
           "weyl_coordinates"]

COORD_TOL = 1e-9
"""Distance (radians) within which a Weyl coordinate counts as on a CX-count boundary."""

_WORD_ATOL = 1e-7
_I = np.eye(2, dtype=np.complex128)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_Z = np.diag([1.0, -1.0]).astype(np.complex128)
_PAULIS = (_X, _Y, _Z)
_PP = tuple(np.kron(p, p) for p in _PAULIS)
_S = np.diag([1.0, 1j])
_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / math.sqrt(2)
_RXH = (_I - 1j * _X) / math.sqrt(2)  # rx(pi/2): Y -> Z, Z -> -Y
# v x v swapping two coordinates: keyed by the sorted pair of indices
_SWAPPERS: dict[tuple[int, int], np.ndarray] = {
    (0, 1): np.kron(_S, _S), (0, 2): np.kron(_H, _H), (1, 2): np.kron(_RXH, _RXH)}
# one Pauli on one qubit flips the signs of the other two coordinates
_FLIPPERS: dict[tuple[int, int], np.ndarray] = {
    (1, 2): np.kron(_I, _X), (0, 2): np.kron(_I, _Y), (0, 1): np.kron(_I, _Z)}
_QUARTER = math.pi / 4


def interaction(c: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    """``D(c) = exp(i(c1 XX + c2 YY + c3 ZZ))`` (the three terms commute)."""
    out: np.ndarray = np.eye(4, dtype=np.complex128)
    for ci, pp in zip(c, _PP, strict=True):
        out = out @ (math.cos(ci) * np.eye(4) + 1j * math.sin(ci) * pp)
    return out


def _canonicalize(c: tuple[float, float, float]) -> tuple[np.ndarray, list[float], np.ndarray]:
    """``(L, c', R)`` with ``D(c) = L . D(c') . R`` up to a global phase, ``c'`` in the Weyl chamber."""
    left: np.ndarray = np.eye(4, dtype=np.complex128)
    right: np.ndarray = np.eye(4, dtype=np.complex128)
    cc = list(c)
    for i in range(3):  # shift into (-pi/4, pi/4]: D(c) = D(c - m pi/2) . (i PP)^m
        m = round(cc[i] / (math.pi / 2))
        if cc[i] - m * math.pi / 2 < -_QUARTER + COORD_TOL:
            m -= 1
        cc[i] -= m * math.pi / 2
        if m % 2:
            right = _PP[i] @ right
    for i, j in ((0, 1), (1, 2), (0, 1)):  # sort by |c| descending (bubble sort)
        if abs(cc[i]) + 1e-15 < abs(cc[j]):
            v = _SWAPPERS[(i, j)]  # v D(c) v^+ = D(c with i, j swapped)
            cc[i], cc[j] = cc[j], cc[i]
            left, right = left @ v.conj().T, v @ right
    for i, j in ((0, 2), (1, 2)):  # c1, c2 >= 0 by flipping a pair with c3
        if cc[i] < 0:
            f = _FLIPPERS[(i, j)]
            cc[i], cc[j] = -cc[i], -cc[j]
            left, right = left @ f, f @ right
    if abs(cc[0] - _QUARTER) < COORD_TOL and cc[2] < 0:  # on the face c1 = pi/4: c3 >= 0
        right = _PP[0] @ right  # c1 -> c1 - pi/2 = -pi/4 ...
        f = _FLIPPERS[(0, 2)]  # ... then flip (c1, c3): c1 = pi/4 again, c3 -> -c3
        cc[0], cc[2] = _QUARTER + (_QUARTER - cc[0]), -cc[2]
        left, right = left @ f, f @ right
    return left, cc, right


def canonical_kak(u: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float], np.ndarray]:
    """``(K1, (c1, c2, c3), K2)``: ``u ~ K1 . D(c) . K2`` with local 4x4 ``K1, K2`` and ``c`` in the Weyl chamber.

    Raises:
        CompileError: ``u`` is not a 4x4 unitary.

    Examples:
        >>> import numpy as np
        >>> from qtandem.compile.weyl import interaction
        >>> rng = np.random.default_rng(5)
        >>> u = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
        >>> k1, c, k2 = canonical_kak(u)
        >>> bool(np.pi / 4 >= c[0] >= c[1] >= abs(c[2]))
        True
        >>> bool(abs(abs(np.trace((k1 @ interaction(c) @ k2).conj().T @ u)) - 4) < 1e-8)
        True
    """
    return _canonical(kak(u))


def _canonical(factors: tuple) -> tuple[np.ndarray, tuple[float, float, float], np.ndarray]:
    a1, b1, c, a2, b2 = factors
    left, cc, right = _canonicalize(c)
    return np.kron(a1, b1) @ left, (cc[0], cc[1], cc[2]), right @ np.kron(a2, b2)


def weyl_coordinates(u: np.ndarray) -> tuple[float, float, float]:
    """The canonical Weyl-chamber coordinates ``(c1, c2, c3)`` of a 4x4 unitary.

    Raises:
        CompileError: ``u`` is not a 4x4 unitary.

    Examples:
        >>> import numpy as np
        >>> cx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]])
        >>> [round(c, 6) for c in weyl_coordinates(cx)]
        [0.785398, 0.0, 0.0]
    """
    return canonical_kak(u)[1]


def _count(c: tuple[float, float, float] | list[float], tol: float) -> int:
    if abs(c[2]) > tol:
        return 3
    if abs(c[1]) > tol:
        return 2
    if abs(c[0]) <= tol:
        return 0
    return 1 if abs(c[0] - _QUARTER) <= tol else 2


def cx_count(u: np.ndarray, *, tol: float = COORD_TOL) -> int:
    """The fewest CX (0..3) that, with one-qubit gates, implement ``u``.

    Args:
        u: 4x4 unitary.
        tol: a Weyl coordinate within ``tol`` radians of a boundary counts as on it.

    Raises:
        CompileError: ``u`` is not a 4x4 unitary.

    Examples:
        >>> import numpy as np
        >>> iswap = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
        >>> cx_count(iswap), cx_count(np.eye(4)), cx_count(np.kron([[0, 1], [1, 0]], np.eye(2)))
        (2, 0, 0)
    """
    return _count(weyl_coordinates(u), tol)


def cx_counts(us: np.ndarray, *, tol: float = 1e-9) -> np.ndarray:
    """Minimal CX counts of a batch of 4x4 unitaries at once, from the invariants of Shende, Markov and Bullock
    (2004): with ``V = U / det(U)^(1/4)`` and ``g = V (Y x Y) V^T (Y x Y)``, 0 CX iff ``tr g = +-4``, 1 CX iff
    ``tr g = 0`` and ``tr g^2 = -4``, 2 CX iff ``tr g`` is real, else 3 (each within ``tol``). Vectorized; an
    independent check of :func:`cx_count`.

    Shape:
        us: ``(B, 4, 4)``; result: ``(B,)`` int.

    Raises:
        CompileError: ``us`` is not a batch of 4x4 matrices.

    Examples:
        >>> import numpy as np
        >>> from qtandem.compile.kak import CX01, CX10
        >>> swap = np.eye(4)[[0, 2, 1, 3]]
        >>> cx_counts(np.stack([np.eye(4), CX01, CX01 @ CX10, swap])).tolist()
        [0, 1, 2, 3]
    """
    us = np.asarray(us, dtype=np.complex128)
    if us.ndim != 3 or us.shape[1:] != (4, 4):
        raise CompileError(f"cx_counts needs a (B, 4, 4) batch, got shape {us.shape}")
    v = us / (np.linalg.det(us) ** 0.25)[:, None, None]
    g = v @ _PP[1] @ np.swapaxes(v, -1, -2) @ _PP[1]
    t = np.trace(g, axis1=-2, axis2=-1)
    t2 = np.trace(g @ g, axis1=-2, axis2=-1)
    out = np.full(len(us), 3)
    out[np.abs(t.imag) <= tol] = 2
    out[(np.abs(t) <= tol) & (np.abs(t2 + 4) <= tol)] = 1
    out[(np.abs(t.imag) <= tol) & (np.abs(np.abs(t) - 4) <= tol)] = 0  # g = +-I (SWAP has g = +-iI)
    return out


@cache
def _cx_kak() -> tuple[np.ndarray, np.ndarray]:
    """``(L1, L2)`` with ``CX01 ~ L1 . D(pi/4, 0, 0) . L2``."""
    left, c, right = canonical_kak(CX01)
    if abs(c[0] - _QUARTER) > 1e-9 or abs(c[1]) > 1e-9 or abs(c[2]) > 1e-9:  # pragma: no cover - a bug
        raise CompileError(f"CX canonicalized to {c}")
    return left, right


def _rx(t: float) -> np.ndarray:
    return math.cos(t / 2) * _I - 1j * math.sin(t / 2) * _X


def _sandwich(before: np.ndarray, core: Word, after: np.ndarray) -> Word:
    a2, b2 = kron_factor(before)
    a1, b1 = kron_factor(after)
    return [("1q", 0, b2), ("1q", 1, a2), *core, ("1q", 0, b1), ("1q", 1, a1)]


@cache
def _exact_1q() -> np.ndarray:
    """The 512 matrices ``rz(a) rx(b) rz(c)`` with ``a, b, c`` multiples of pi/4, shape ``(512, 2, 2)``."""
    zs = [rz_matrix(k * _QUARTER) for k in range(8)]
    xs = [_rx(k * _QUARTER) for k in range(8)]
    return np.array([a @ b @ c for a in zs for b in xs for c in zs])


_GAUGE_TOL = 1e-8
_MAX_NODES = 4000


def _gauge(axis: str, t: float) -> np.ndarray:
    return rz_matrix(t) if axis == "z" else _rx(t)


def _match(r: np.ndarray) -> np.ndarray | None:
    """The exact matrix equal to ``r`` up to phase, if any."""
    ex = _exact_1q()
    ov = np.abs(np.einsum("kij,ij->k", ex.conj(), r))
    k = int(np.argmax(ov))
    return ex[k] if abs(ov[k] - 2) < _GAUGE_TOL else None


def _candidates(r: np.ndarray, axis: str) -> list[tuple[float, np.ndarray]]:
    """``[(theta, E)]``: ``gauge(axis, theta) @ r = E`` up to phase with ``E`` exact, one per distinct ``E``,
    ordered by ``E`` alone (fewest nonzero Euler angles, then a fixed enumeration order), so the order does
    not depend on the gauge ``r`` came in."""
    ex = _exact_1q()
    m = ex @ r.conj().T  # = gauge(theta) up to phase when it is a rotation about the axis
    if axis == "x":
        m = _H @ m @ _H
    ok = np.flatnonzero(np.abs(m[:, 0, 1]) + np.abs(m[:, 1, 0]) < _GAUGE_TOL)
    best: dict[float, tuple[int, int, float]] = {}
    for k in ok:
        t = float(np.angle(m[k, 1, 1] / m[k, 0, 0]))  # rz(t) = diag(e^{-it/2}, e^{it/2})
        key = round(t % (2 * math.pi), 6) % round(2 * math.pi, 6)
        rank = (int(k // 64 > 0) + int(k // 8 % 8 > 0) + int(k % 8 > 0), int(k), t)
        if key not in best or rank < best[key]:
            best[key] = rank
    return [(t, ex[k]) for _, k, t in sorted(best.values())]


def _fix_chain(runs: list[np.ndarray], axes: list[str]) -> list[np.ndarray] | None:
    """Exact replacements of a qubit's runs (``runs[i]`` before the ``i``-th CX whose gauge axis is
    ``axes[i]``; the last after all), obtained by moving gauge rotations across the CX, or ``None``."""
    nodes = 0

    def solve(i: int, theta_in: float | None) -> list[np.ndarray] | None:
        nonlocal nodes
        nodes += 1
        if nodes > _MAX_NODES:
            return None
        r = runs[i] if theta_in is None else runs[i] @ _gauge(axes[i - 1], -theta_in)
        if i == len(axes):
            e = _match(r)
            return None if e is None else [e]
        for t, e in _candidates(r, axes[i]):
            rest = solve(i + 1, t)
            if rest is not None:
                return [e, *rest]
        return None

    return solve(0, None)


def clifford_t_gauge(word: Word) -> Word:
    """``word`` with each CX's free ``rz`` (control) and ``rx`` (target) moved across it so that every
    one-qubit run equals ``rz(a) rx(b) rz(c)`` with ``a, b, c`` multiples of pi/4 (and is emitted as that
    exact matrix); the word unchanged when no such choice exists. Adjacent one-qubit parts are merged into
    one run per qubit between CX. The result is deterministic: it does not depend on the gauge ``word``
    came in, so not on the LAPACK build that produced it.

    Raises:
        CompileError: (never expected) the fixed word does not reproduce ``word``.

    Examples:
        >>> import numpy as np
        >>> from qtandem.compile.kak import CX01, rz_matrix, word_matrix
        >>> t = rz_matrix(np.pi / 4)
        >>> word = [("1q", 0, rz_matrix(0.3) @ t), ("cx", 0, None), ("1q", 0, rz_matrix(-0.3))]   # 0.3 is gauge
        >>> fixed = clifford_t_gauge(word)
        >>> [kind for kind, _, _ in fixed]      # the t commutes through the control: one run, after the cx
        ['cx', '1q']
        >>> bool(np.allclose(fixed[1][2] / fixed[1][2][0, 0], t / t[0, 0]))
        True
    """
    cxs = [(q, i) for i, (kind, q, _) in enumerate(word) if kind == "cx"]
    runs: dict[int, list[np.ndarray]] = {0: [_I.copy()], 1: [_I.copy()]}
    axes: dict[int, list[str]] = {0: [], 1: []}
    for kind, q, g in word:
        if kind == "cx":
            for w in (0, 1):
                axes[w].append("z" if w == q else "x")
                runs[w].append(_I.copy())
        else:
            assert g is not None
            runs[q][-1] = g @ runs[q][-1]
    f0, f1 = _fix_chain(runs[0], axes[0]), _fix_chain(runs[1], axes[1])
    if f0 is None or f1 is None:
        return word
    out: Word = []
    for i in range(len(cxs) + 1):
        for w, fixed in ((0, f0), (1, f1)):
            e = fixed[i]
            if abs(abs(np.trace(e)) - 2) > _GAUGE_TOL:  # not the identity
                out.append(("1q", w, e))
        if i < len(cxs):
            out.append(("cx", cxs[i][0], None))
    if not equal_up_to_phase(word_matrix(out), word_matrix(word), _WORD_ATOL):  # pragma: no cover - a bug
        raise CompileError("Clifford+T gauge fixing changed the two-qubit word")
    return out


def two_qubit_word(u: np.ndarray, *, tol: float = COORD_TOL) -> Word:
    """``u`` as the shortest ``[(kind, qubit, matrix)]`` word: :func:`cx_count` CX (``kind == "cx"``, qubit =
    control) and 2x2 one-qubit matrices (``kind == "1q"``) in circuit order; one-qubit parts may still be
    adjacent (callers merge them). Checked against ``u`` up to a global phase.

    Args:
        u: 4x4 unitary.
        tol: see :func:`cx_count`.

    Raises:
        CompileError: ``u`` is not a 4x4 unitary, or (never expected) the word does not reproduce it.

    Examples:
        >>> import numpy as np
        >>> from qtandem.compile.kak import word_matrix
        >>> rng = np.random.default_rng(2)
        >>> a = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
        >>> b = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
        >>> rzz = np.diag(np.exp(0.3j * np.array([-1, 1, 1, -1])))
        >>> word = two_qubit_word(rzz)
        >>> sum(kind == "cx" for kind, _, _ in word)
        2
        >>> bool(np.allclose(abs(np.trace(word_matrix(word).conj().T @ rzz)), 4))
        True
    """
    u = np.asarray(u, dtype=np.complex128)
    factors = kak(u)
    k1, c, k2 = _canonical(factors)
    n = _count(c, tol)
    if n == 3:
        word = kak_word(u, factors=factors)
    elif n == 0:
        word = _sandwich(np.eye(4), [], u)
    elif n == 1:
        l1, l2 = _cx_kak()
        word = _sandwich(l2.conj().T @ k2, [("cx", 0, None)], k1 @ l1.conj().T)
    else:
        # CX01 . (rx(t0) on the control, rz(t1) on the target) . CX01 = D(-t0/2, 0, -t1/2); the larger
        # coordinate on the rz, so a block like rzz (c2 = 0) keeps a lone rz between its two CX
        l1, _, l2 = _canonicalize((c[1], 0.0, c[0]))
        core: Word = [("cx", 0, None), ("1q", 0, _rx(-2 * c[1])), ("1q", 1, rz_matrix(-2 * c[0])), ("cx", 0, None)]
        word = _sandwich(l2.conj().T @ k2, core, k1 @ l1.conj().T)
    if not equal_up_to_phase(word_matrix(word), u, _WORD_ATOL):
        raise CompileError(f"two-qubit synthesis with {n} CX failed (Weyl coordinates {c})")
    return word
