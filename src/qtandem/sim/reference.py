"""A tiny, independent NumPy state-vector simulator used as a test oracle.

It shares no code with the torch or native paths: gate matrices are written
out again here from their textbook definitions, and gates are applied with
``numpy.tensordot`` on a ``(2,) * n`` array. Slow and simple on purpose.
Measurement is not supported.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import ParameterExpression

__all__ = ["reference_matrix", "reference_statevector", "reference_unitary"]

_s = 1 / math.sqrt(2)


def _u(t: float, p: float, lam: float) -> np.ndarray:
    return np.array([[math.cos(t / 2), -cmath.exp(1j * lam) * math.sin(t / 2)],
                     [cmath.exp(1j * p) * math.sin(t / 2), cmath.exp(1j * (p + lam)) * math.cos(t / 2)]])


def _ctrl(m: np.ndarray, nc: int = 1) -> np.ndarray:
    """Controls are the low bits of the index."""
    d = m.shape[0]
    full = np.eye(d * 2**nc, dtype=complex)
    sel = [(2**nc - 1) + 2**nc * t for t in range(d)]
    full[np.ix_(sel, sel)] = m
    return full


def _exp_pauli2(pauli: np.ndarray, theta: float) -> np.ndarray:
    pp = np.kron(pauli, pauli)
    return math.cos(theta / 2) * np.eye(4) - 1j * math.sin(theta / 2) * pp


X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0 + 0j, -1.0])
H = np.array([[_s, _s], [_s, -_s]], dtype=complex)
SX = 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])
SWAP = np.eye(4)[[0, 2, 1, 3]].astype(complex)


def _rcx_body(k: int) -> np.ndarray:
    """Explicit product for rccx (k=3) / rc3x (k=4) following their qelib1.inc bodies."""
    from functools import reduce

    tq = k - 1

    def on(m: np.ndarray, qs: tuple[int, ...]) -> np.ndarray:
        return _embed_ref(m, qs, k)

    u2 = _u(math.pi / 2, 0.0, math.pi)

    def u1(a: float) -> np.ndarray:
        return np.diag([1, cmath.exp(1j * a)])

    cx = _ctrl(X)
    t, td = u1(math.pi / 4), u1(-math.pi / 4)
    if k == 3:
        seq = [(u2, (tq,)), (t, (tq,)), (cx, (1, tq)), (td, (tq,)), (cx, (0, tq)), (t, (tq,)), (cx, (1, tq)),
               (td, (tq,)), (u2, (tq,))]
    else:
        seq = [(u2, (tq,)), (t, (tq,)), (cx, (2, tq)), (td, (tq,)), (u2, (tq,)), (cx, (0, tq)), (t, (tq,)),
               (cx, (1, tq)), (td, (tq,)), (cx, (0, tq)), (t, (tq,)), (cx, (1, tq)), (td, (tq,)), (u2, (tq,)),
               (t, (tq,)), (cx, (2, tq)), (td, (tq,)), (u2, (tq,))]
    return reduce(lambda acc, g: on(g[0], g[1]) @ acc, seq, np.eye(2**k, dtype=complex))


def _embed_ref(m: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
    cols = []
    for j in range(2**n):
        e = np.zeros(2**n, dtype=complex)
        e[j] = 1
        cols.append(_apply(e, m, qubits, n))
    return np.array(cols).T


def reference_matrix(name: str, params: tuple[float, ...] = (), num_qubits: int | None = None) -> np.ndarray:
    """Textbook matrix of a gate (little-endian: first qubit = least significant bit).

    Examples:
        >>> reference_matrix("cx").real.astype(int).tolist()       # control = first qubit = low bit
        [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]
    """
    p = [float(x) for x in params]
    one = {
        "id": np.eye(2, dtype=complex), "x": X, "y": Y, "z": Z, "h": H,
        "s": np.diag([1, 1j]), "sdg": np.diag([1, -1j]),
        "t": np.diag([1, cmath.exp(1j * math.pi / 4)]), "tdg": np.diag([1, cmath.exp(-1j * math.pi / 4)]),
        "sx": SX, "sxdg": SX.conj().T,
    }
    if name in one:
        return one[name]
    if name == "rx":
        return _u(p[0], -math.pi / 2, math.pi / 2)
    if name == "ry":
        return _u(p[0], 0.0, 0.0)
    if name == "rz":
        return np.diag([cmath.exp(-0.5j * p[0]), cmath.exp(0.5j * p[0])])
    if name in ("p", "u1"):
        return np.diag([1, cmath.exp(1j * p[0])])
    if name == "u2":
        return _u(math.pi / 2, p[0], p[1])
    if name in ("u", "u3"):
        return _u(*p)
    if name in ("cx", "cy", "cz", "ch", "csx"):
        return _ctrl({"cx": X, "cy": Y, "cz": Z, "ch": H, "csx": SX}[name])
    if name in ("crx", "cry", "crz", "cp"):
        return _ctrl(reference_matrix(name[1:], tuple(p)))
    if name == "cu3":
        return _ctrl(_u(*p))
    if name == "cu":
        return _ctrl(cmath.exp(1j * p[3]) * _u(p[0], p[1], p[2]))
    if name == "swap":
        return SWAP
    if name == "iswap":
        return np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
    if name == "rxx":
        return _exp_pauli2(X, p[0])
    if name == "ryy":
        return _exp_pauli2(Y, p[0])
    if name == "rzz":
        return _exp_pauli2(Z, p[0])
    if name == "ccx":
        return _ctrl(X, 2)
    if name == "ccz":
        return _ctrl(Z, 2)
    if name == "cswap":
        return _ctrl(SWAP)
    if name == "c3sqrtx":
        return _ctrl(SX, 3)
    if name == "mcx":
        assert num_qubits is not None
        return _ctrl(X, num_qubits - 1)
    if name == "rccx":
        return _rcx_body(3)
    if name == "rc3x":
        return _rcx_body(4)
    raise KeyError(name)


def _apply(state: np.ndarray, m: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
    k = len(qubits)
    psi = state.reshape((2,) * n)  # axis a <-> qubit n-1-a
    mt = m.reshape((2,) * (2 * k))  # (out q_{k-1}..q_0, in q_{k-1}..q_0)
    in_axes_m = list(range(2 * k - 1, k - 1, -1))  # in q_0 .. q_{k-1}
    st_axes = [n - 1 - q for q in qubits]
    out = np.tensordot(mt, psi, axes=(in_axes_m, st_axes))  # (out q_{k-1}..q_0, rest axes in order)
    rest = [a for a in range(n) if a not in st_axes]
    # current axis order: [out q_{k-1}, ..., out q_0] + rest
    current = [n - 1 - q for q in reversed(qubits)] + rest
    return np.moveaxis(out, list(range(n)), current).reshape(-1)


def _inst_matrix(inst: object, values: Mapping[Any, float]) -> np.ndarray:
    ps = []
    for x in inst.params:  # type: ignore[attr-defined]
        if isinstance(x, ParameterExpression):
            x = x.bind(values, strict=True)
        ps.append(float(x))
    nctrl = inst.ctrl  # type: ignore[attr-defined]
    k = len(inst.qubits) - nctrl  # type: ignore[attr-defined]
    m = np.asarray(inst.matrix) if inst.name == "unitary" else reference_matrix(inst.name, tuple(ps), k)  # type: ignore[attr-defined]
    if inst.inverted:  # type: ignore[attr-defined]
        m = m.conj().T
    return _ctrl(m, nctrl) if nctrl else m


def reference_statevector(circuit: Circuit, values: dict[str, float] | None = None,
                          initial_state: np.ndarray | None = None) -> np.ndarray:
    """Final state of a measurement-free circuit (barriers and delays ignored).

    Examples:
        >>> from qtandem import Circuit
        >>> (reference_statevector(Circuit(2).h(0).cx(0, 1)).real.round(4) + 0).tolist()
        [0.7071, 0.0, 0.0, 0.7071]
    """
    n = circuit.n_qubits
    if initial_state is None:
        state = np.zeros(2**n, dtype=complex)
        state[0] = 1
    else:
        state = np.asarray(initial_state, dtype=complex).copy()
    for inst in circuit:
        if inst.name in ("barrier", "delay"):
            continue
        if not inst.is_gate or inst.condition is not None:
            raise ValueError(f"reference simulator does not support {inst.name}")
        state = _apply(state, _inst_matrix(inst, values or {}), inst.qubits, n)
    return state


def reference_unitary(circuit: Circuit, values: dict[str, float] | None = None) -> np.ndarray:
    """Dense unitary, column by column.

    Examples:
        >>> from qtandem import Circuit
        >>> reference_unitary(Circuit(1).x(0)).real.astype(int).tolist()
        [[0, 1], [1, 0]]
    """
    n = circuit.n_qubits
    cols = [reference_statevector(circuit, values, np.eye(2**n, dtype=complex)[j]) for j in range(2**n)]
    return np.array(cols).T
