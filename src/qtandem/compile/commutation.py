"""Pauli rotations and what commutes with them: :func:`rotation_of`, :func:`commutes_with`.

Many gates are a rotation ``exp(-i theta P / 2)`` about a Pauli string ``P``
(up to a global phase): ``rz``, ``p``, ``u1`` and ``z, s, t`` and their adjoints
about ``Z``; ``rx``, ``x``, ``sx``, ``sxdg`` about ``X``; ``ry``, ``y`` about
``Y``; ``rzz``, ``rxx``, ``ryy`` about ``ZZ``, ``XX``, ``YY``; a ``u`` / ``u3``
whose angles make it one of these. Two such rotations about the same string
merge by adding angles, and a rotation commutes with a gate ``G`` exactly when
``P`` does. That is decided by a table first (Pauli strings commute when they
differ on an even number of shared qubits; ``cx`` is ``Z``-type on its control and
``X``-type on its target...), then for any other gate by a small cached matrix
check of ``P`` restricted to the shared qubits against ``G``'s matrix.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.compile.dag import to_ops
    >>> rzz, cx, rxx = to_ops(Circuit(3).rzz(0.3, 0, 1).cx(1, 2).rxx(0.2, 0, 1))
    >>> rot = rotation_of(rzz)
    >>> rot
    ('ZZ', 0.3)
    >>> commutes_with(rzz, rot[0], cx), commutes_with(rzz, rot[0], rxx)   # ZZ and XX differ on two qubits
    (True, True)
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from qtandem.compile.dag import PHASE_ANGLE, Op, wire_type

__all__ = ["commutes_with", "rotation_of"]

_EPS = 1e-9
_Z_ROT = frozenset({"rz", "p", "u1"})
_FIXED = {"x": ("X", math.pi), "sx": ("X", math.pi / 2), "sxdg": ("X", -math.pi / 2), "y": ("Y", math.pi),
          **{g: ("Z", a) for g, a in PHASE_ANGLE.items()}}
_TWO = {"rzz": "ZZ", "rxx": "XX", "ryy": "YY"}
_PAULI = {
    "I": torch.eye(2, dtype=torch.complex128),
    "X": torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128),
    "Y": torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128),
    "Z": torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128),
}


def _near(a: float, b: float) -> bool:
    return abs(math.remainder(a - b, 2 * math.pi)) < _EPS


def rotation_of(op: Op) -> tuple[str, float] | None:
    """``(pauli, angle)`` when ``op`` is ``exp(-i angle P / 2)`` up to a global phase, else ``None``.

    ``pauli`` has one letter per qubit of ``op`` (in ``op.qubits`` order).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> [rotation_of(op) for op in to_ops(Circuit(2).sx(0).rxx(0.5, 0, 1).u(0.0, 0.1, 0.2, 1).h(0))]
        [('X', 1.5707963267948966), ('XX', 0.5), ('Z', 0.30000000000000004), None]
    """
    if op.opaque:
        return None
    name = op.name
    if op.angle is not None:
        if name in _Z_ROT:
            return "Z", op.angle
        return ("X" if name == "rx" else "Y"), op.angle
    if name in _FIXED:
        return _FIXED[name]
    if name in _TWO:
        return _TWO[name], float(op.params[0])
    if name in ("u", "u3") and len(op.params) == 3:
        theta, phi, lam = (float(p) for p in op.params)
        if _near(theta, 0.0):
            return "Z", phi + lam
        if _near(phi, -math.pi / 2) and _near(lam, math.pi / 2):
            return "X", theta
        if _near(phi, 0.0) and _near(lam, 0.0):
            return "Y", theta
    return None


@lru_cache(maxsize=4096)
def _matrix_commutes(name: str, params: tuple[float, ...], letters: tuple[str, ...]) -> bool:
    """``letters[k]`` is the Pauli on ``G``'s k-th qubit; True if it commutes with ``G``'s matrix."""
    from qtandem.circuit.gates import gate_matrix
    from qtandem.errors import QtandemError

    try:
        g = gate_matrix(name, params, num_qubits=len(letters))
    except (QtandemError, ValueError, TypeError, KeyError):  # no matrix for it: treat as not commuting
        return False
    p = torch.ones((1, 1), dtype=torch.complex128)
    for letter in letters:  # qubit k is bit k of the index: the last qubit is the leftmost factor
        p = torch.kron(_PAULI[letter], p)
    if p.shape != g.shape:
        return False
    return bool(torch.allclose(p @ g, g @ p, atol=1e-9))


def commutes_with(op: Op, pauli: str, other: Op) -> bool:
    """Sufficient-and-cheap test that the rotation ``op`` about ``pauli`` commutes with ``other``.

    Exact (not only sufficient) for Pauli rotations, and for any other non-opaque
    gate of at most four qubits through the cached matrix check.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> rx, cx, h, swap = to_ops(Circuit(2).rx(0.2, 1).cx(0, 1).h(1).swap(0, 1))
        >>> commutes_with(rx, "X", cx), commutes_with(rx, "X", h), commutes_with(rx, "X", swap)
        (True, False, False)
    """
    shared = [(q, pauli[k]) for k, q in enumerate(op.qubits) if q in other.qubits]
    if not shared:
        return True
    if other.opaque:
        return False
    rot = rotation_of(other)
    if rot is not None:
        theirs = dict(zip(other.qubits, rot[0], strict=True))
        return sum(1 for q, a in shared if theirs[q] != a) % 2 == 0
    if all(wire_type(other, q) == a for q, a in shared):
        return True
    if len(other.qubits) > 4:
        return False
    mine = dict(shared)
    letters = tuple(mine.get(q, "I") for q in other.qubits)
    try:
        params = tuple(float(p) for p in other.params)
    except (TypeError, ValueError):
        return False
    return _matrix_commutes(other.name, params, letters)
