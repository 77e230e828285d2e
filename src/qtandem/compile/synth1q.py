"""One-qubit synthesis: Euler angles and emission in a target basis.

Examples:
    >>> import numpy as np
    >>> from qtandem.compile.synth1q import matrix_1q, synth_1q
    >>> [g for g, _ in synth_1q(matrix_1q("h") @ matrix_1q("t") @ matrix_1q("h"), "nam")]
    ['h', 'rz', 'h']
    >>> [g for g, _ in synth_1q(matrix_1q("h"), "zsx")]
    ['rz', 'sx', 'rz']
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from functools import cache

import numpy as np

from qtandem.circuit.gates import gate_matrix
from qtandem.compile.dag import Op, is_zero_angle, normalize_angle
from qtandem.errors import CompileError
from qtandem.sim.dense import equal_up_to_phase  # re-exported: the one phase-blind comparison

__all__ = [
    "BASES_1Q",
    "SNAP_TOL",
    "STYLES",
    "equal_up_to_phase",
    "matrix_1q",
    "op_matrix",
    "snap_angle",
    "synth_1q",
    "synth_ops",
    "u_angles",
    "zxz",
]

BASES_1Q = ("nam", "zsx", "zxz")
"""Rotation styles of :func:`synth_1q`: ``nam`` uses ``{rz, h, x}``, ``zsx`` ``{rz, sx, x}``,
``zxz`` ``{rz, rx, x}``."""

STYLES = (*BASES_1Q, "u")
"""Every one-qubit emission style (:func:`synth_ops`); ``u`` is one general ``u(theta, phi, lam)`` gate."""

SNAP_TOL = 1e-12
"""An angle within this of a multiple of pi/4 is snapped to it exactly (Clifford+T stays exact)."""

_HALF = math.pi / 2
_QUARTER = math.pi / 4
_EXACT = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi, -3 * math.pi / 4, -math.pi / 2, -math.pi / 4)
_ZERO_TOL = 1e-10  # rotations smaller than this are dropped (the word is checked to 1e-7)


@cache
def _const(name: str) -> np.ndarray:
    return gate_matrix(name).numpy()


def matrix_1q(name: str, angle: float | None = None, params: tuple = ()) -> np.ndarray:
    """The 2x2 matrix of a one-qubit gate.

    Examples:
        >>> (matrix_1q("h") * np.sqrt(2)).real.round(6).tolist()
        [[1.0, 1.0], [1.0, -1.0]]
        >>> bool(equal_up_to_phase(matrix_1q("rz", np.pi), matrix_1q("z")))
        True
    """
    if angle is not None:
        params = (angle,)
    if not params:
        return _const(name)
    fast = _FAST.get(name)
    if fast is not None and len(params) == _ARITY[name]:
        try:
            return fast(*(float(p) for p in params))
        except TypeError:  # a symbolic parameter: the registry says what is wrong
            pass
    return gate_matrix(name, list(params)).numpy()


def _m_rz(t: float) -> np.ndarray:
    e = cmath.exp(0.5j * t)
    return np.array([[e.conjugate(), 0], [0, e]], dtype=np.complex128)


def _m_p(t: float) -> np.ndarray:
    return np.array([[1, 0], [0, cmath.exp(1j * t)]], dtype=np.complex128)


def _m_rx(t: float) -> np.ndarray:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=np.complex128)


def _m_ry(t: float) -> np.ndarray:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -s], [s, c]], dtype=np.complex128)


def _m_u(t: float, p: float, lam: float) -> np.ndarray:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -cmath.exp(1j * lam) * s], [cmath.exp(1j * p) * s, cmath.exp(1j * (p + lam)) * c]],
                    dtype=np.complex128)


_FAST: dict[str, Callable[..., np.ndarray]] = {
    "rz": _m_rz, "p": _m_p, "u1": _m_p, "rx": _m_rx, "ry": _m_ry, "u": _m_u, "u3": _m_u}
"""NumPy closed forms of the registry's common one-qubit matrices (the registry builds torch tensors:
about 40x slower per call); tests check they agree with :func:`qtandem.circuit.gates.gate_matrix`."""
_ARITY = {"rz": 1, "p": 1, "u1": 1, "rx": 1, "ry": 1, "u": 3, "u3": 3}


def op_matrix(op: Op) -> np.ndarray:
    """The 2x2 matrix of a one-qubit op.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> op_matrix(to_ops(Circuit(1).x(0))[0]).real.astype(int).tolist()
        [[0, 1], [1, 0]]
    """
    return matrix_1q(op.name, op.angle, op.params)


def zxz(u: np.ndarray) -> tuple[float, float, float]:
    """Angles ``(a, b, c)`` with ``u = e^{i phase} rz(a) rx(b) rz(c)``.

    Examples:
        >>> a, b, c = zxz(matrix_1q("rx", 0.3))
        >>> round(b, 6), round(a + c, 6)
        (0.3, 0.0)
    """
    v = u / cmath.sqrt(np.linalg.det(u))
    theta = 2.0 * math.atan2(abs(v[1, 0]), abs(v[0, 0]))
    s = cmath.phase(v[1, 1]) if abs(v[1, 1]) > 1e-12 else 0.0  # (phi + lam) / 2
    d = cmath.phase(v[1, 0]) if abs(v[1, 0]) > 1e-12 else 0.0  # (phi - lam) / 2
    phi, lam = s + d, s - d
    return phi + _HALF, theta, lam - _HALF


def snap_angle(theta: float, tol: float = SNAP_TOL) -> float:
    """``theta`` reduced into ``(-pi, pi]``, and made an exact multiple of pi/4 when within ``tol`` of one.

    Examples:
        >>> snap_angle(math.pi / 4 + 1e-14) == math.pi / 4, snap_angle(-7 * math.pi / 4) == math.pi / 4
        (True, True)
        >>> snap_angle(0.3)
        0.3
    """
    t = normalize_angle(theta)
    k = round(t / _QUARTER)
    if abs(t - k * _QUARTER) <= tol:
        return _EXACT[k % 8]
    return t


def _rz_ok(a: float) -> bool:
    return not is_zero_angle(a, _ZERO_TOL)


def _words(a: float, b: float, c: float, style: str) -> list[tuple[str, float | None]]:
    """``rz(a) rx(b) rz(c)`` (``rz(c)`` first) in ``style``, zero rotations dropped."""
    b = normalize_angle(b)
    seq: list[tuple[str, float | None]]
    if is_zero_angle(b, _ZERO_TOL):
        seq = [("rz", a + c)]
    elif abs(abs(b) - math.pi) < _ZERO_TOL:
        seq = [("rz", c - a), ("x", None)]
    elif style == "zxz":
        seq = [("rz", c), ("rx", b), ("rz", a)]
    elif style == "nam":
        if abs(b - _HALF) < _ZERO_TOL:
            seq = [("rz", c - _HALF), ("h", None), ("rz", a - _HALF)]
        elif abs(b + _HALF) < _ZERO_TOL:
            seq = [("rz", c + _HALF), ("h", None), ("rz", a + _HALF)]
        else:
            seq = [("rz", c), ("h", None), ("rz", b), ("h", None), ("rz", a)]
    elif abs(b - _HALF) < _ZERO_TOL:
        seq = [("rz", c), ("sx", None), ("rz", a)]
    elif abs(b + _HALF) < _ZERO_TOL:
        seq = [("rz", c - math.pi), ("sx", None), ("rz", a + math.pi)]
    else:
        seq = [("rz", c + _HALF), ("sx", None), ("rz", b + math.pi), ("sx", None), ("rz", a + _HALF)]
    out: list[tuple[str, float | None]] = []
    for g, ang in seq:
        if ang is not None:
            if not _rz_ok(ang):
                continue
            ang = snap_angle(ang)
        out.append((g, ang))
    return out


def u_angles(u: np.ndarray) -> tuple[float, float, float] | None:
    """``(theta, phi, lam)`` with ``u = e^{i phase} U(theta, phi, lam)`` (ZYZ), snapped; ``None`` for the identity.

    Examples:
        >>> [round(t, 6) for t in u_angles(matrix_1q("h"))]
        [1.570796, 0.0, 3.141593]
        >>> u_angles(np.eye(2)) is None
        True
    """
    a, b, c = zxz(np.asarray(u, dtype=np.complex128))
    b = normalize_angle(b)
    if is_zero_angle(b, _ZERO_TOL):
        if not _rz_ok(a + c):
            return None
        return 0.0, 0.0, snap_angle(a + c)
    # rx(b) = rz(-pi/2) ry(b) rz(pi/2), and U(t, p, l) = rz(p) ry(t) rz(l) up to phase
    phi, lam = a - _HALF, c + _HALF
    if b < 0:  # ry(-b) = rz(pi) ry(b) rz(-pi): keep theta in [0, pi]
        b, phi, lam = -b, phi + math.pi, lam - math.pi
    return snap_angle(b), snap_angle(phi), snap_angle(lam)


def synth_ops(u: np.ndarray, qubit: int, style: str) -> list[Op]:
    """``u`` as :class:`~qtandem.compile.dag.Op` s on ``qubit`` in any of :data:`STYLES` (``"u"``: at most one
    ``u`` gate).

    Raises:
        CompileError: unknown style, or (never expected) a synthesis that does not match.

    Examples:
        >>> [(op.name, op.params) for op in synth_ops(matrix_1q("h"), 0, "u")]
        [('u', (1.5707963267948966, 0.0, 3.141592653589793))]
        >>> [op.name for op in synth_ops(matrix_1q("sx"), 0, "zxz")]
        ['rx']
    """
    if style == "u":
        ang = u_angles(u)
        if ang is None:
            return []
        if not equal_up_to_phase(matrix_1q("u", params=ang), u, 1e-7):
            raise CompileError(f"one-qubit synthesis failed for {np.round(u, 6).tolist()} in style 'u'")
        return [Op("u", (qubit,), None, ang)]
    return [Op(g, (qubit,), ang) for g, ang in synth_1q(u, style)]


def synth_1q(u: np.ndarray, basis: str = "nam") -> list[tuple[str, float | None]]:
    """A short gate word (circuit order) equal to ``u`` up to global phase.

    Args:
        u: 2x2 unitary.
        basis: a style in :data:`BASES_1Q` (for ``"u"`` use :func:`synth_ops`).

    Returns:
        ``[(name, angle or None), ...]`` with at most 5 gates (3 in ``zxz``), angles snapped by
        :func:`snap_angle`, zero rotations dropped.

    Raises:
        CompileError: unknown basis, or (never expected) a synthesis that does not match.

    Examples:
        >>> u = matrix_1q("h") @ matrix_1q("s") @ matrix_1q("h")
        >>> word = synth_1q(u)
        >>> [name for name, _ in word]
        ['rz', 'h', 'rz']
        >>> v = np.eye(2)
        >>> for name, angle in word:
        ...     v = matrix_1q(name, angle) @ v
        >>> bool(equal_up_to_phase(v, u))
        True
    """
    if basis not in BASES_1Q:
        raise CompileError(f"one-qubit basis must be one of {BASES_1Q}, got {basis!r}")
    word = _words(*zxz(np.asarray(u, dtype=np.complex128)), basis)
    check = np.eye(2, dtype=np.complex128)
    for g, ang in word:
        check = matrix_1q(g, ang) @ check
    if not equal_up_to_phase(check, u, 1e-7):
        raise CompileError(f"one-qubit synthesis failed for {np.round(u, 6).tolist()} in basis {basis!r}")
    return word
