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
from functools import cache

import numpy as np

from qtandem.circuit.gates import gate_matrix
from qtandem.compile.dag import Op, is_zero_angle, normalize_angle
from qtandem.errors import CompileError
from qtandem.sim.dense import equal_up_to_phase  # re-exported: the one phase-blind comparison

__all__ = ["BASES_1Q", "equal_up_to_phase", "matrix_1q", "op_matrix", "synth_1q", "zxz"]

BASES_1Q = ("nam", "zsx")
"""Emission styles: ``nam`` uses ``{rz, h, x}``, ``zsx`` uses ``{rz, sx, x}``."""

_HALF = math.pi / 2


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
        return gate_matrix(name, [angle]).numpy()
    if params:
        return gate_matrix(name, list(params)).numpy()
    return _const(name)


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


def _words(a: float, b: float, c: float, basis: str) -> list[tuple[str, float | None]]:
    b = normalize_angle(b)
    if is_zero_angle(b, 1e-10):
        seq: list[tuple[str, float | None]] = [("rz", a + c)]
    elif abs(abs(b) - math.pi) < 1e-10:
        seq = [("rz", c - a), ("x", None)]
    elif basis == "nam":
        if abs(b - _HALF) < 1e-10:
            seq = [("rz", c - _HALF), ("h", None), ("rz", a - _HALF)]
        elif abs(b + _HALF) < 1e-10:
            seq = [("rz", c + _HALF), ("h", None), ("rz", a + _HALF)]
        else:
            seq = [("rz", c), ("h", None), ("rz", b), ("h", None), ("rz", a)]
    elif abs(b - _HALF) < 1e-10:
        seq = [("rz", c), ("sx", None), ("rz", a)]
    elif abs(b + _HALF) < 1e-10:
        seq = [("rz", c - math.pi), ("sx", None), ("rz", a + math.pi)]
    else:
        seq = [("rz", c + _HALF), ("sx", None), ("rz", b + math.pi), ("sx", None), ("rz", a + _HALF)]
    out: list[tuple[str, float | None]] = []
    for g, ang in seq:
        if g == "rz":
            assert ang is not None
            if is_zero_angle(ang, 1e-10):
                continue
            ang = normalize_angle(ang)
        out.append((g, ang))
    return out


def synth_1q(u: np.ndarray, basis: str = "nam") -> list[tuple[str, float | None]]:
    """A short gate word (circuit order) equal to ``u`` up to global phase.

    Args:
        u: 2x2 unitary.
        basis: ``"nam"`` ({rz, h, x}) or ``"zsx"`` ({rz, sx, x}).

    Returns:
        ``[(name, angle or None), ...]`` with at most 5 gates.

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
