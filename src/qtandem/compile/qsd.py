"""Three-qubit synthesis: special forms first, then the quantum Shannon decomposition.

:func:`synth_3q` turns an 8x8 unitary into a :data:`Word` of CX and one-qubit
matrices (circuit order, local qubits 0..2, qubit 0 least significant as
everywhere in qtandem) and checks it against the matrix. It tries, cheapest
first, and keeps the word with the fewest CX:

- ``cnot_dihedral``: ``U|x> = e^{i phi(x)} |Ax + b>`` (diagonals, CCZ, controlled
  ``rzz``, CX networks with phases): an optimal CX+rz circuit by breadth-first search
  over the 168 linear maps of three bits and the parities still to visit (phase
  polynomial, Amy-Azimzadeh-Mosca style, exact for three qubits);
- ``conjugated``: ``U = L^-1 H_k G H_k L`` with ``G`` CNOT-dihedral and ``L`` a CX
  network (Toffoli, Fredkin and other one-nonlinearity permutations);
- ``local2``: a two-qubit unitary on some pair times a one-qubit gate
  (:func:`qtandem.compile.weyl.two_qubit_word`, 0-3 CX);
- ``multiplexor``: block diagonal in one qubit (controlled two-qubit unitaries):
  demultiplexed into two two-qubit unitaries around a multiplexed ``rz``, the first one
  up to a diagonal (9 CX at most);
- ``qsd``: the quantum Shannon decomposition of Shende, Bullock and Markov (2006): a
  cosine-sine split into two multiplexors around a multiplexed ``ry`` built from CZ,
  whose last CZ is absorbed into the neighbouring multiplexor, and three of the four
  two-qubit unitaries synthesized up to a diagonal with 2 CX, the diagonal pushed on (20 CX).

Examples:
    >>> import numpy as np
    >>> from scipy.stats import unitary_group
    >>> u = unitary_group.rvs(8, random_state=7)
    >>> form, word = synth_3q(u)
    >>> form, word_cx(word)
    ('qsd', 20)
    >>> from qtandem.sim.dense import equal_up_to_phase
    >>> equal_up_to_phase(word_matrix(word), u, 1e-7)
    True
"""

from __future__ import annotations

import math
from collections import deque
from functools import cache

import numpy as np

from qtandem.compile.kak import ry_matrix, rz_matrix
from qtandem.compile.weyl import two_qubit_word
from qtandem.errors import CompileError
from qtandem.sim.dense import dense_unitary, equal_up_to_phase

__all__ = ["FORMS", "Word", "synth_3q", "word_cx", "word_matrix"]

Word = list[tuple[tuple[int, ...], "np.ndarray | None"]]
"""``[(qubits, matrix)]`` in circuit order: ``((q,), 2x2)`` is a one-qubit gate, ``((c, t), None)`` a CX."""

FORMS = ("cnot_dihedral", "conjugated", "local2", "multiplexor", "qsd")
"""The forms :func:`synth_3q` tries, cheapest first."""

_I2 = np.eye(2, dtype=np.complex128)
_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / math.sqrt(2)
_Z = np.diag([1.0, -1.0]).astype(np.complex128)
_CX = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=np.complex128)  # control = first qubit
_ALL = 7  # bitmask of the three qubits
_TOL = 1e-9


def word_matrix(word: Word, n: int = 3) -> np.ndarray:
    """The ``2**n x 2**n`` matrix of a word.

    Examples:
        >>> x = np.array([[0, 1], [1, 0]], dtype=complex)
        >>> int(np.argmax(np.abs(word_matrix([((0,), x), ((0, 1), None)], 2)[:, 0])))
        3
    """
    return dense_unitary([(qs, _CX if m is None else m) for qs, m in word], n)


def word_cx(word: Word) -> int:
    """Number of CX in a word.

    Examples:
        >>> word_cx([((0, 1), None), ((1,), np.eye(2)), ((1, 2), None)])
        2
    """
    return sum(1 for _, m in word if m is None)


# ---------------------------------------------------------------- CNOT-dihedral (phase polynomials)

def _apply(rows: tuple[int, ...], c: int, t: int) -> tuple[int, ...]:
    r = list(rows)
    r[t] ^= r[c]
    return tuple(r)


Rows = tuple[int, ...]  # the parity (bitmask of input qubits) each wire holds

_MOVES = [(c, t) for c in range(3) for t in range(3) if c != t]


@cache
def _cx_network(target: Rows, required: frozenset[int]) -> tuple[tuple[int, int], ...] | None:
    """Shortest CX sequence taking wire parities from identity to ``target`` that shows every required parity."""
    start = (1, 2, 4)
    req = frozenset(p for p in required if p not in start)
    begin: tuple[Rows, frozenset[int]] = (start, req)
    prev: dict[tuple, tuple | None] = {begin: None}
    queue: deque[tuple[Rows, frozenset[int]]] = deque([begin])
    while queue:
        state = queue.popleft()
        rows, todo = state
        if rows == target and not todo:
            path: list[tuple[int, int]] = []
            cur = state
            while prev[cur] is not None:
                p, move = prev[cur]  # type: ignore[misc]
                path.append(move)
                cur = p
            return tuple(reversed(path))
        for c, t in _MOVES:
            r = _apply(rows, c, t)
            nxt = (r, todo - {r[t]})
            if nxt not in prev:
                prev[nxt] = (state, (c, t))
                queue.append(nxt)
    return None


def _phase_terms(phases: np.ndarray) -> dict[int, float]:
    """Sparsest ``{parity: rz angle}`` with ``e^{i phases[x]} ~ prod_P rz(angle_P)`` on the wire holding parity P.

    The Boolean (Moebius) coefficients ``c_S`` of ``phases`` are exact modulo 2 pi; a monomial is
    ``prod_S x = 2^(1-|S|) sum_(P in S) (-1)^(|P|+1) parity_P``, so each ``c_S`` is tried with the
    ``2^(|S|-1)`` lifts that change the parity angles, and the lift with the fewest
    multi-qubit parities (then fewest parities) is kept.
    """
    c = np.zeros(8)
    for s_ in range(1, 8):
        c[s_] = sum((-1) ** (bin(s_).count("1") - bin(t).count("1")) * phases[t] for t in range(8) if t & s_ == t)
    best: tuple[tuple[int, int], dict[int, float]] | None = None
    for m in np.ndindex(2, 2, 2, 4):
        lift = c.copy()
        for s_, k in zip((3, 5, 6, 7), m, strict=True):
            lift[s_] += 2 * math.pi * k
        terms: dict[int, float] = {}
        for p in range(1, 8):
            w = bin(p).count("1")
            alpha = sum(lift[s_] * (-1) ** (w + 1) / 2 ** (bin(s_).count("1") - 1) for s_ in range(p, 8) if s_ & p == p)
            alpha = math.remainder(alpha, 2 * math.pi)
            if abs(alpha) > 1e-9:
                terms[p] = alpha
        key = (sum(1 for p in terms if p not in (1, 2, 4)), len(terms))
        if best is None or key < best[0]:
            best = (key, terms)
    assert best is not None
    return best[1]


def _affine(u: np.ndarray) -> tuple[Rows, int, np.ndarray] | None:
    """``(A rows, b, phases)`` when ``u|x> = e^{i phases[x]} |Ax + b>``, else ``None``."""
    mag = np.abs(u)
    if (np.count_nonzero(mag > 1e-6, axis=0) != 1).any():
        return None  # not monomial (the common case: rejected fast)
    perm = np.argmax(mag, axis=0)
    if (np.abs(mag[perm, np.arange(8)] - 1.0) > 1e-8).any():
        return None
    b = int(perm[0])
    cols = [int(perm[1 << j]) ^ b for j in range(3)]
    for x in range(8):
        y = b
        for j in range(3):
            if x >> j & 1:
                y ^= cols[j]
        if y != perm[x]:
            return None
    rows = tuple(sum(((cols[j] >> w) & 1) << j for j in range(3)) for w in range(3))
    phases = np.angle(u[perm, np.arange(8)])
    return rows, b, phases


def _cnot_dihedral(u: np.ndarray) -> Word | None:
    found = _affine(u)
    if found is None:
        return None
    rows, b, phases = found
    terms = _phase_terms(phases)
    path = _cx_network(rows, frozenset(terms))
    if path is None:
        return None
    word: Word = []
    cur: Rows = (1, 2, 4)
    todo = dict(terms)
    for w in range(3):
        if cur[w] in todo:
            word.append(((w,), rz_matrix(todo.pop(cur[w]))))
    for c, t in path:
        cur = _apply(cur, c, t)
        word.append(((c, t), None))
        if cur[t] in todo:
            word.append(((t,), rz_matrix(todo.pop(cur[t]))))
    word.extend(((w,), np.array([[0, 1], [1, 0]], dtype=np.complex128)) for w in range(3) if b >> w & 1)
    return word


@cache
def _linear_maps() -> list[tuple[Rows, tuple[tuple[int, int], ...]]]:
    """Every invertible 3x3 map over GF(2) as (rows, shortest CX path), cheapest first."""
    out: list[tuple[Rows, tuple[tuple[int, int], ...]]] = []
    seen: dict[Rows, tuple[tuple[int, int], ...]] = {(1, 2, 4): ()}
    queue: deque[Rows] = deque([(1, 2, 4)])
    while queue:
        rows = queue.popleft()
        out.append((rows, seen[rows]))
        for c, t in _MOVES:
            r = _apply(rows, c, t)
            if r not in seen:
                seen[r] = (*seen[rows], (c, t))
                queue.append(r)
    return out


@cache
def _hadamard(k: int) -> np.ndarray:
    return dense_unitary([((k,), _H)], 3)


@cache
def _perm_of(rows: tuple[int, ...]) -> np.ndarray:
    """``perm[x] = L x`` for the linear map with wire parities ``rows``."""
    return np.array([sum((bin(rows[w] & x).count("1") & 1) << w for w in range(3)) for x in range(8)])


def _conjugated(u: np.ndarray) -> Word | None:
    """``U = L^-1 H_k G H_k L`` with G CNOT-dihedral; the cheapest such word."""
    if (np.count_nonzero(np.abs(u) > 1e-9, axis=0) > 2).any():
        return None  # H_k G H_k has at most two entries per column, and L only permutes them
    best: Word | None = None
    for rows, path in _linear_maps():
        if best is not None and 2 * len(path) >= word_cx(best):
            break
        p = _perm_of(rows)
        v = np.empty_like(u)
        v[np.ix_(p, p)] = u  # P_L U P_L^-1
        for k in range(3):
            hk = _hadamard(k)
            g = _cnot_dihedral(hk @ v @ hk)
            if g is None:
                continue
            word: Word = [((c, t), None) for c, t in path] + [((k,), _H)] + g + [((k,), _H)]
            word += [((c, t), None) for c, t in reversed(path)]
            if best is None or word_cx(word) < word_cx(best):
                best = word
    return best


# ---------------------------------------------------------------- two-qubit pieces

def _kron_split(m: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``m = kron(a, b)`` (a on the high qubit) when ``m`` factors, else ``None``."""
    d = m.shape[0] // 2
    r = m.reshape(2, d, 2, d).transpose(0, 2, 1, 3).reshape(4, d * d)
    uu, s, vh = np.linalg.svd(r)
    if s[1] > 1e-9 * max(s[0], 1.0):
        return None
    a = (uu[:, 0] * math.sqrt(2)).reshape(2, 2)  # unitary factors: |a|_F = sqrt(2), |b|_F = sqrt(d)
    b = (vh[0, :] * (s[0] / math.sqrt(2))).reshape(d, d)
    return a, b


def _two_qubit(u: np.ndarray, q: tuple[int, int]) -> Word:
    """A 4x4 unitary on local qubits ``q`` (``q[0]`` its least significant), minimal CX (0-3)."""
    split = _kron_split(u)
    if split is not None:
        a, b = split
        return [((q[0],), b), ((q[1],), a)]
    return [((q[c], q[1 - c]), None) if kind == "cx" else ((q[c],), g) for kind, c, g in two_qubit_word(u)]


_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_YY = np.kron(_Y, _Y)


def _up_to_diagonal(u: np.ndarray, q: tuple[int, int]) -> tuple[Word, np.ndarray]:
    """``u = diag(delta) @ C`` with ``C`` a 2-CX word on ``q`` (Shende, Markov, Bullock 2004): ``(word, delta)``.

    ``C = diag(e^{i psi (1, -1, -1, 1)}) u`` has a real ``tr(C YY C^T YY)`` for one ``psi``, which is
    the 2-CX condition; ``(minimal word, 1)`` when that has at most 2 CX already or the numerics disagree.
    """
    plain = _two_qubit(u, q)
    if word_cx(plain) <= 2:
        return plain, np.ones(4, dtype=np.complex128)
    v = u / np.linalg.det(u) ** 0.25
    m = v @ _YY @ v.T
    a = m[3, 0] * _YY[0, 3] + m[0, 3] * _YY[3, 0]
    b = m[2, 1] * _YY[1, 2] + m[1, 2] * _YY[2, 1]
    psi = math.atan2(-(a.imag + b.imag), a.real - b.real) / 2
    d = np.exp(1j * psi * np.array([1, -1, -1, 1]))
    word = _two_qubit(np.diag(d) @ u, q)
    if word_cx(word) > 2:  # numerics: keep the plain word
        return plain, np.ones(4, dtype=np.complex128)
    return word, d.conj()


def _permute(u: np.ndarray, order: Rows) -> np.ndarray:
    """``u`` with its qubits relabelled: new qubit ``i`` is old qubit ``order[i]``."""
    t = u.reshape([2] * 6)  # axes: out q2, q1, q0, in q2, q1, q0
    axes = [2 - order[2], 2 - order[1], 2 - order[0]]
    return t.transpose(axes + [a + 3 for a in axes]).reshape(8, 8)


def _local2(u: np.ndarray) -> Word | None:
    """A two-qubit unitary on a pair times a one-qubit gate on the third qubit."""
    for k in range(3):
        pair = tuple(q for q in range(3) if q != k)
        v = _permute(u, (pair[0], pair[1], k))  # k is the high qubit of v
        split = _kron_split(v)
        if split is not None:
            a, b = split
            return [((k,), a), *_two_qubit(b, pair)]  # type: ignore[arg-type]
    return None


def _mux_rz(d: np.ndarray, sel: int, pair: tuple[int, int]) -> Word:
    """The diagonal ``diag(d) (+) diag(d)^*`` with select qubit ``sel`` (high) over ``pair``, as a CX+rz word."""
    phases = np.zeros(8)
    ang = np.angle(d)
    for x in range(8):
        j = ((x >> pair[0]) & 1) | (((x >> pair[1]) & 1) << 1)
        phases[x] = -ang[j] if x >> sel & 1 else ang[j]
    word = _cnot_dihedral(np.diag(np.exp(1j * phases)))
    assert word is not None
    return word


def _demux_parts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, d, v)`` with ``a = v diag(d) w`` and ``b = v diag(d)^* w`` (``a (+) b`` demultiplexed)."""
    _, vecs = np.linalg.eig(a @ b.conj().T)
    vecs, _ = np.linalg.qr(vecs)  # orthonormal (the matrix is normal; guards degenerate eigenvalues)
    lam = np.diag(vecs.conj().T @ a @ b.conj().T @ vecs)
    d = np.sqrt(lam)
    w = np.diag(d) @ vecs.conj().T @ b
    return w, d, vecs


def _demux(a: np.ndarray, b: np.ndarray, sel: int, pair: tuple[int, int]) -> Word:
    """``|0><0| (x) a + |1><1| (x) b`` (select qubit ``sel``) as V . (D (+) D^*) . W."""
    w, d, v = _demux_parts(a, b)
    first, delta = _up_to_diagonal(w, pair)  # its diagonal commutes through the multiplexed rz into V
    return first + _mux_rz(d, sel, pair) + _two_qubit(v @ np.diag(delta), pair)


def _multiplexor(u: np.ndarray) -> Word | None:
    for k in range(3):
        pair = tuple(q for q in range(3) if q != k)
        v = _permute(u, (pair[0], pair[1], k))
        if np.abs(v[:4, 4:]).max() < 1e-9 and np.abs(v[4:, :4]).max() < 1e-9:
            return _demux(v[:4, :4], v[4:, 4:], k, pair)  # type: ignore[arg-type]
    return None


def _qsd(u: np.ndarray) -> Word:
    from scipy.linalg import cossin

    (u1, u2), theta, (v1, v2) = cossin(u, p=4, q=4, separate=True)
    # multiplexed ry on qubit 2: ry(b0) CZ(0,2) ry(b1) CZ(1,2) ry(b2) CZ(0,2) ry(b3) [CZ(1,2) absorbed into u2]
    signs = np.array([[1, (-1) ** (j & 1), (-1) ** ((j & 1) ^ (j >> 1)), (-1) ** (j >> 1)] for j in range(4)])
    beta = np.linalg.solve(signs.astype(float), 2 * np.asarray(theta))
    u2 = u2 @ np.kron(_Z, _I2)  # CZ(1, 2) on the |1> block of qubit 2: Z on qubit 1
    mid: Word = [((2,), ry_matrix(beta[0]))]
    for ctrl, bk in ((0, beta[1]), (1, beta[2]), (0, beta[3])):
        mid += [((2,), _H), ((ctrl, 2), None), ((2,), _H), ((2,), ry_matrix(bk))]
    # three of the four two-qubit unitaries with 2 CX each: the diagonal each leaves behind commutes
    # through the next multiplexed rz (diagonal) or ry (diagonal on its controls) into the next one
    q = (0, 1)
    w_r, d_r, v_r = _demux_parts(v1, v2)
    w_l, d_l, v_l = _demux_parts(u1, u2)
    c1, delta = _up_to_diagonal(w_r, q)
    c2, delta = _up_to_diagonal(v_r @ np.diag(delta), q)
    c3, delta = _up_to_diagonal(w_l @ np.diag(delta), q)
    return (c1 + _mux_rz(d_r, 2, q) + c2 + mid + c3 + _mux_rz(d_l, 2, q)
            + _two_qubit(v_l @ np.diag(delta), q))


def synth_3q(u: np.ndarray, *, max_cx: int | None = None, forms: tuple[str, ...] = FORMS) -> tuple[str, Word]:
    """The cheapest word this module finds for a three-qubit unitary, checked against it.

    Args:
        u: 8x8 unitary (qubit 0 least significant).
        max_cx: skip forms that cannot reach at most this many CX (``None``: no bound); the
            generic QSD costs 20, the multiplexor 9, local2 3.
        forms: the forms to try (a subset of :data:`FORMS`).

    Returns:
        ``(form, word)``; ``form`` is one of :data:`FORMS`.

    Raises:
        CompileError: ``u`` is not an 8x8 unitary, no form fits within ``max_cx``, or a word
            does not reproduce ``u`` (numerical failure).

    Examples:
        >>> ccz = np.diag([1, 1, 1, 1, 1, 1, 1, -1]).astype(complex)
        >>> form, word = synth_3q(ccz)
        >>> form, word_cx(word)
        ('cnot_dihedral', 6)
    """
    u = np.asarray(u, dtype=np.complex128)
    if u.shape != (8, 8) or not np.allclose(u.conj().T @ u, np.eye(8), atol=1e-8):
        raise CompileError(f"synth_3q needs an 8x8 unitary, got shape {u.shape}")
    limit = 10**9 if max_cx is None else max_cx
    best: tuple[str, Word] | None = None
    tries = (("cnot_dihedral", _cnot_dihedral, 0), ("local2", _local2, 0), ("conjugated", _conjugated, 6),
             ("multiplexor", _multiplexor, 4), ("qsd", _qsd, 14))
    for form, fn, floor in tries:
        if form not in forms:
            continue
        bound = min(limit, word_cx(best[1]) - 1 if best is not None else limit)
        if floor > bound:
            continue
        word = fn(u)
        if word is None or word_cx(word) > bound:
            continue
        if not equal_up_to_phase(word_matrix(word), u, 1e-7):
            raise CompileError(f"three-qubit synthesis ({form}) does not reproduce the matrix")
        best = (form, word)
    if best is None:
        raise CompileError(f"no three-qubit form within {max_cx} CX")
    return best
