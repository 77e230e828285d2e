"""One canonical spelling of one-qubit runs, so path sums do not depend on how a circuit writes them."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.circuit.parameter import ParameterExpression

__all__ = ["canonical_1q_runs"]


def canonical_1q_runs(circuit: Circuit) -> Circuit | None:
    """``circuit`` with every maximal run of one-qubit gates rewritten as ``rz`` or ``rz h rz h rz`` (ZXZ).

    The rewrite makes path sums insensitive to how each circuit spells its
    one-qubit runs; each new run is checked against the old run's 2x2 matrix
    (up to a global phase, tolerance 1e-9). Returns ``None`` if a run has a gate
    without a numeric matrix or a check fails.

    Examples:
        >>> from qtandem import Circuit
        >>> [i.name for i in canonical_1q_runs(Circuit(1).sx(0).t(0))]
        ['rz', 'h', 'rz', 'h', 'rz']
    """
    n = circuit.n_qubits
    runs: list[Any] = [None] * n
    out = Circuit(n)

    def flush(q: int) -> None:
        u = runs[q]
        runs[q] = None
        if u is None:
            return
        det = np.linalg.det(u)
        su = u / np.sqrt(det)
        a, b = su[0, 0], su[0, 1]
        if abs(b) < 1e-12:
            lam = -2 * float(np.angle(a))
            seq = [("rz", lam)] if abs(math.remainder(lam, 4 * math.pi)) > 1e-12 else []
        else:
            beta = 2 * math.atan2(abs(b), abs(a))
            s_ = -2 * float(np.angle(a)) if abs(a) > 1e-12 else 0.0
            d_ = -2 * (float(np.angle(b)) + math.pi / 2)
            alpha, gamma = (s_ + d_) / 2, (s_ - d_) / 2
            seq = [("rz", gamma), ("h", 0.0), ("rz", beta), ("h", 0.0), ("rz", alpha)]
        m = np.eye(2, dtype=complex)
        for g, th in seq:
            m = (_H2 if g == "h" else np.diag([np.exp(-0.5j * th), np.exp(0.5j * th)])) @ m
        k = int(np.argmax(np.abs(u)))
        ph = m.flat[k] / u.flat[k]
        if abs(abs(ph) - 1) > 1e-9 or np.abs(m - ph * u).max() > 1e-9:
            raise ArithmeticError
        for g, th in seq:
            if g == "h":
                out.h(q)
            else:
                out.rz(float(th), q)

    try:
        for inst in circuit:
            if not inst.is_gate or inst.ctrl or inst.condition is not None:
                return None
            if len(inst.qubits) == 1:
                if inst.name == "id":
                    continue
                if any(isinstance(p, ParameterExpression) for p in inst.params):
                    return None
                mat = _matrix_1q(inst.name, tuple(float(p) for p in inst.params))  # type: ignore[arg-type]
                q = inst.qubits[0]
                runs[q] = mat if runs[q] is None else mat @ runs[q]
            else:
                for q in inst.qubits:
                    flush(q)
                out.append(inst)
        for q in range(n):
            flush(q)
    except ArithmeticError:
        return None
    return out


_H2 = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)


@lru_cache(maxsize=4096)
def _matrix_1q(name: str, params: tuple[float, ...]) -> np.ndarray:
    return gate_matrix(name, params).numpy()
