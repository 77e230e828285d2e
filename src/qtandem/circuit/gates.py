"""The gate registry: one table of every gate qtandem knows.

Each :class:`GateSpec` gives the gate's name, arity, number of angles, its
matrix as a differentiable torch function, and how to invert it. Every other
module (simulator, OpenQASM, compiler) looks gates up here; nothing else keeps a
private gate table.

Matrix convention: the first qubit a gate is applied to is the least
significant bit of the matrix index (little-endian, as Qiskit). Controls come
first. See ``docs/design.md``.

Examples:
    >>> from qtandem.circuit.gates import gate_matrix, get_gate
    >>> get_gate("crz").num_qubits, get_gate("crz").num_params
    (2, 1)
    >>> gate_matrix("cx").real.int().tolist()
    [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch

from qtandem.errors import CircuitError

__all__ = ["GATES", "GateSpec", "controlled_matrix", "fold_controls", "gate_matrix", "get_gate", "inverse_of"]

Tensor = torch.Tensor
_PI = math.pi


@dataclass(frozen=True)
class GateSpec:
    """Description of one gate.

    Attributes:
        name: lower-case name as written in OpenQASM (``"cx"``, ``"u3"``).
        num_qubits: arity, or ``None`` for variable-arity gates (``mcx``, ``unitary``).
        num_params: number of angles.
        matrix_fn: ``f(params, num_qubits) -> Tensor`` of shape ``(*batch, 2**k, 2**k)``
            where every element of ``params`` is a real tensor of shape ``(*batch)``.
        inverse: ``g(params) -> (name, params)`` naming the inverse gate, or ``None``
            if the inverse has no name in the registry.
        qasm2: defined in OpenQASM 2's ``qelib1.inc``.
        qasm3: defined in OpenQASM 3's ``stdgates.inc``.
        diagonal: the matrix is diagonal for every parameter value.
        description: one line for humans.

    Examples:
        >>> spec = get_gate("cx")
        >>> spec.name, spec.num_qubits, spec.num_params
        ('cx', 2, 0)
    """

    name: str
    num_qubits: int | None
    num_params: int
    matrix_fn: Callable[[Sequence[Tensor], int], Tensor] = field(repr=False)
    inverse: Callable[[tuple], tuple[str, tuple]] | None = field(default=None, repr=False)
    qasm2: bool = True
    qasm3: bool = True
    diagonal: bool = False
    description: str = ""


# ---------------------------------------------------------------------------
# building blocks (complex128; cast at the end by gate_matrix)
_C = torch.complex128


def _c(x: float | complex) -> Tensor:
    return torch.tensor(x, dtype=_C)


def _stack(rows: list[list[Tensor | complex | float]]) -> Tensor:
    tens = [e for row in rows for e in row if isinstance(e, Tensor)]
    # np.broadcast_shapes: torch.broadcast_shapes imports sympy on first use (~0.8 s)
    shape = tuple(np.broadcast_shapes(*(tuple(t.shape) for t in tens))) if tens else ()
    dev = tens[0].device if tens else None

    def full(e: Tensor | complex | float) -> Tensor:
        if isinstance(e, Tensor):
            return e.to(_C).expand(shape)
        return torch.full(shape, complex(e), dtype=_C, device=dev)

    return torch.stack([torch.stack([full(e) for e in row], -1) for row in rows], -2)


def _expi(a: Tensor) -> Tensor:
    a = a.to(torch.float64) if not a.is_floating_point() else a
    return torch.complex(torch.cos(a), torch.sin(a)).to(_C)


def _const(m: Sequence[Sequence[complex]]) -> Callable[[Sequence[Tensor], int], Tensor]:
    mat = torch.tensor(m, dtype=_C)
    return lambda params, k: mat


def controlled_matrix(base: Tensor, num_controls: int) -> Tensor:
    """Return the matrix of ``base`` controlled on ``num_controls`` qubits (all |1>).

    Controls are the low (first-listed) qubits, as everywhere in qtandem.

    Args:
        base: ``(*batch, d, d)`` matrix of the target operation.
        num_controls: number of control qubits.

    Returns:
        ``(*batch, d * 2**c, d * 2**c)`` matrix.

    Examples:
        >>> import torch
        >>> x = torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128)
        >>> controlled_matrix(x, 1).real.int().tolist()   # the cx matrix, control first
        [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]
    """
    if num_controls == 0:
        return base
    d = base.shape[-1]
    nc = 2**num_controls
    full = torch.zeros(*base.shape[:-2], d * nc, d * nc, dtype=base.dtype, device=base.device)
    eye_idx = torch.arange(d * nc, device=base.device)
    ctrl_on = (eye_idx % nc) == nc - 1
    off = eye_idx[~ctrl_on]
    full[..., off, off] = 1
    on = eye_idx[ctrl_on]  # indices c = nc-1 + nc * t, t = 0..d-1
    full[..., on.unsqueeze(-1), on.unsqueeze(0)] = base
    return full


def _u(theta: Tensor, phi: Tensor, lam: Tensor) -> Tensor:
    c, s = torch.cos(theta / 2).to(_C), torch.sin(theta / 2).to(_C)
    return _stack([[c, -_expi(lam) * s], [_expi(phi) * s, _expi(phi + lam) * c]])


def _rx(p: Sequence[Tensor], k: int) -> Tensor:
    c, s = torch.cos(p[0] / 2).to(_C), torch.sin(p[0] / 2).to(_C)
    return _stack([[c, -1j * s], [-1j * s, c]])


def _ry(p: Sequence[Tensor], k: int) -> Tensor:
    c, s = torch.cos(p[0] / 2).to(_C), torch.sin(p[0] / 2).to(_C)
    return _stack([[c, -s], [s, c]])


def _rz(p: Sequence[Tensor], k: int) -> Tensor:
    return _stack([[_expi(-p[0] / 2), 0], [0, _expi(p[0] / 2)]])


def _p(p: Sequence[Tensor], k: int) -> Tensor:
    return _stack([[1, 0], [0, _expi(p[0])]])


def _rxx(p: Sequence[Tensor], k: int) -> Tensor:
    c, s = torch.cos(p[0] / 2).to(_C), -1j * torch.sin(p[0] / 2).to(_C)
    return _stack([[c, 0, 0, s], [0, c, s, 0], [0, s, c, 0], [s, 0, 0, c]])


def _ryy(p: Sequence[Tensor], k: int) -> Tensor:
    c, s = torch.cos(p[0] / 2).to(_C), 1j * torch.sin(p[0] / 2).to(_C)
    return _stack([[c, 0, 0, s], [0, c, -s, 0], [0, -s, c, 0], [s, 0, 0, c]])


def _rzz(p: Sequence[Tensor], k: int) -> Tensor:
    a, b = _expi(-p[0] / 2), _expi(p[0] / 2)
    return _stack([[a, 0, 0, 0], [0, b, 0, 0], [0, 0, b, 0], [0, 0, 0, a]])


_S2 = 1 / math.sqrt(2)
_X: list[list[complex]] = [[0, 1], [1, 0]]
_Y: list[list[complex]] = [[0, -1j], [1j, 0]]
_Z: list[list[complex]] = [[1, 0], [0, -1]]
_H: list[list[complex]] = [[_S2, _S2], [_S2, -_S2]]
_SX: list[list[complex]] = [[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]]
_SXDG: list[list[complex]] = [[0.5 - 0.5j, 0.5 + 0.5j], [0.5 + 0.5j, 0.5 - 0.5j]]
_SWAP: list[list[complex]] = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]
_ISWAP: list[list[complex]] = [[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]
_EXP_PI4 = complex(math.cos(_PI / 4), math.sin(_PI / 4))


def _ctrl(base: Callable[[Sequence[Tensor], int], Tensor], nc: int) -> Callable[[Sequence[Tensor], int], Tensor]:
    return lambda p, k: controlled_matrix(base(p, k - nc), nc)


def _cst(m: Sequence[Sequence[complex]]) -> Callable[[Sequence[Tensor], int], Tensor]:
    return _const(m)


def _neg(name: str) -> Callable[[tuple], tuple[str, tuple]]:
    return lambda p: (name, tuple(-x for x in p))


def _same(name: str) -> Callable[[tuple], tuple[str, tuple]]:
    return lambda p: (name, tuple(p))


def _u_inv(name: str) -> Callable[[tuple], tuple[str, tuple]]:
    return lambda p: (name, (-p[0], -p[2], -p[1], *(-x for x in p[3:])))


def _mcx(p: Sequence[Tensor], k: int) -> Tensor:
    return controlled_matrix(torch.tensor(_X, dtype=_C), k - 1)


def _unitary_placeholder(p: Sequence[Tensor], k: int) -> Tensor:
    raise CircuitError("the matrix of a 'unitary' instruction is stored on the instruction itself")


def _seq_matrix(k: int, seq: list[tuple[str, tuple[int, ...], tuple[float, ...]]]) -> Tensor:
    """Multiply a short gate sequence into one ``2**k`` matrix (for composite gate definitions)."""
    dim = 2**k
    total = torch.eye(dim, dtype=_C)
    for name, qubits, params in seq:
        m = gate_matrix(name, params)
        total = _embed(m, qubits, k) @ total
    return total


def _embed(m: Tensor, qubits: Sequence[int], k: int) -> Tensor:
    """Full ``2**k`` matrix of ``m`` acting on ``qubits`` (little-endian)."""
    dim = 2**k
    idx = torch.arange(dim)
    sub = torch.zeros(dim, dtype=torch.long)
    for j, q in enumerate(qubits):
        sub |= ((idx >> q) & 1) << j
    mask = sum(1 << q for q in qubits)
    rest = idx & ~mask
    # full[r, c] = m[sub(r), sub(c)] if rest(r) == rest(c)
    same = rest.unsqueeze(1) == rest.unsqueeze(0)
    return torch.where(same, m[sub.unsqueeze(1), sub.unsqueeze(0)], torch.zeros((), dtype=_C))


def _rccx(p: Sequence[Tensor], k: int) -> Tensor:
    return _rccx_m()


@cache
def _rccx_m() -> Tensor:
    return _seq_matrix(3, [
        ("u2", (2,), (0.0, _PI)), ("u1", (2,), (_PI / 4,)), ("cx", (1, 2), ()), ("u1", (2,), (-_PI / 4,)),
        ("cx", (0, 2), ()), ("u1", (2,), (_PI / 4,)), ("cx", (1, 2), ()), ("u1", (2,), (-_PI / 4,)),
        ("u2", (2,), (0.0, _PI)),
    ])


def _rc3x(p: Sequence[Tensor], k: int) -> Tensor:
    return _rc3x_m()


@cache
def _rc3x_m() -> Tensor:
    q = 3
    return _seq_matrix(4, [
        ("u2", (q,), (0.0, _PI)), ("u1", (q,), (_PI / 4,)), ("cx", (2, q), ()), ("u1", (q,), (-_PI / 4,)),
        ("u2", (q,), (0.0, _PI)), ("cx", (0, q), ()), ("u1", (q,), (_PI / 4,)), ("cx", (1, q), ()),
        ("u1", (q,), (-_PI / 4,)), ("cx", (0, q), ()), ("u1", (q,), (_PI / 4,)), ("cx", (1, q), ()),
        ("u1", (q,), (-_PI / 4,)), ("u2", (q,), (0.0, _PI)), ("u1", (q,), (_PI / 4,)), ("cx", (2, q), ()),
        ("u1", (q,), (-_PI / 4,)), ("u2", (q,), (0.0, _PI)),
    ])


def _spec(name: str, nq: int | None, npar: int, fn: Callable, inv: Callable | None, desc: str, *,
          qasm2: bool = True, qasm3: bool = True, diagonal: bool = False) -> GateSpec:
    return GateSpec(name, nq, npar, fn, inv, qasm2, qasm3, diagonal, desc)


_SPECS = [
    _spec("id", 1, 0, _cst([[1, 0], [0, 1]]), _same("id"), "identity", diagonal=True),
    _spec("x", 1, 0, _cst(_X), _same("x"), "Pauli X (NOT)"),
    _spec("y", 1, 0, _cst(_Y), _same("y"), "Pauli Y"),
    _spec("z", 1, 0, _cst(_Z), _same("z"), "Pauli Z", diagonal=True),
    _spec("h", 1, 0, _cst(_H), _same("h"), "Hadamard"),
    _spec("s", 1, 0, _cst([[1, 0], [0, 1j]]), _same("sdg"), "sqrt(Z)", diagonal=True),
    _spec("sdg", 1, 0, _cst([[1, 0], [0, -1j]]), _same("s"), "adjoint of S", diagonal=True),
    _spec("t", 1, 0, _cst([[1, 0], [0, _EXP_PI4]]), _same("tdg"), "fourth root of Z", diagonal=True),
    _spec("tdg", 1, 0, _cst([[1, 0], [0, _EXP_PI4.conjugate()]]), _same("t"), "adjoint of T", diagonal=True),
    _spec("sx", 1, 0, _cst(_SX), _same("sxdg"), "sqrt(X)"),
    _spec("sxdg", 1, 0, _cst(_SXDG), _same("sx"), "adjoint of sqrt(X)"),
    _spec("rx", 1, 1, _rx, _neg("rx"), "exp(-i theta X / 2)"),
    _spec("ry", 1, 1, _ry, _neg("ry"), "exp(-i theta Y / 2)"),
    _spec("rz", 1, 1, _rz, _neg("rz"), "exp(-i theta Z / 2)", diagonal=True),
    _spec("p", 1, 1, _p, _neg("p"), "phase gate diag(1, e^{i lambda})", diagonal=True),
    _spec("u1", 1, 1, _p, _neg("u1"), "u1(lambda) = p(lambda)", qasm3=False, diagonal=True),
    _spec("u2", 1, 2, lambda p, k: _u(torch.full_like(p[0], _PI / 2), p[0], p[1]),
          lambda p: ("u2", (-p[1] - _PI, -p[0] + _PI)), "u2(phi, lambda) = u(pi/2, phi, lambda)", qasm3=False),
    _spec("u3", 1, 3, lambda p, k: _u(p[0], p[1], p[2]), _u_inv("u3"), "u3(theta, phi, lambda)", qasm3=False),
    _spec("u", 1, 3, lambda p, k: _u(p[0], p[1], p[2]), _u_inv("u"), "generic one-qubit gate U(theta, phi, lambda)"),
    _spec("cx", 2, 0, _ctrl(_cst(_X), 1), _same("cx"), "controlled X (CNOT); control first"),
    _spec("cy", 2, 0, _ctrl(_cst(_Y), 1), _same("cy"), "controlled Y"),
    _spec("cz", 2, 0, _ctrl(_cst(_Z), 1), _same("cz"), "controlled Z", diagonal=True),
    _spec("ch", 2, 0, _ctrl(_cst(_H), 1), _same("ch"), "controlled Hadamard"),
    _spec("csx", 2, 0, _ctrl(_cst(_SX), 1), None, "controlled sqrt(X)", qasm3=False),
    _spec("swap", 2, 0, _cst(_SWAP), _same("swap"), "swap two qubits"),
    _spec("iswap", 2, 0, _cst(_ISWAP), None, "iSWAP", qasm2=False, qasm3=False),
    _spec("crx", 2, 1, _ctrl(_rx, 1), _neg("crx"), "controlled RX"),
    _spec("cry", 2, 1, _ctrl(_ry, 1), _neg("cry"), "controlled RY"),
    _spec("crz", 2, 1, _ctrl(_rz, 1), _neg("crz"), "controlled RZ", diagonal=True),
    _spec("cp", 2, 1, _ctrl(_p, 1), _neg("cp"), "controlled phase", diagonal=True),
    _spec("cu3", 2, 3, _ctrl(lambda p, k: _u(p[0], p[1], p[2]), 1), _u_inv("cu3"), "controlled u3", qasm3=False),
    _spec("cu", 2, 4, _ctrl(lambda p, k: _expi(p[3])[..., None, None] * _u(p[0], p[1], p[2]), 1), _u_inv("cu"),
          "controlled U(theta, phi, lambda) with phase gamma on the controlled branch"),
    _spec("rxx", 2, 1, _rxx, _neg("rxx"), "exp(-i theta XX / 2)", qasm3=False),
    _spec("ryy", 2, 1, _ryy, _neg("ryy"), "exp(-i theta YY / 2)", qasm2=False, qasm3=False),
    _spec("rzz", 2, 1, _rzz, _neg("rzz"), "exp(-i theta ZZ / 2)", qasm3=False, diagonal=True),
    _spec("ccx", 3, 0, _ctrl(_cst(_X), 2), _same("ccx"), "Toffoli; controls first"),
    _spec("ccz", 3, 0, _ctrl(_cst(_Z), 2), _same("ccz"), "doubly controlled Z", qasm2=False, qasm3=False,
          diagonal=True),
    _spec("cswap", 3, 0, _ctrl(_cst(_SWAP), 1), _same("cswap"), "Fredkin (controlled swap); control first"),
    _spec("rccx", 3, 0, _rccx, None, "simplified Toffoli (relative phase)", qasm3=False),
    _spec("rc3x", 4, 0, _rc3x, None, "simplified 3-controlled X (relative phase)", qasm3=False),
    _spec("c3sqrtx", 4, 0, _ctrl(_cst(_SX), 3), None, "3-controlled sqrt(X)", qasm3=False),
    _spec("mcx", None, 0, _mcx, _same("mcx"), "multi-controlled X; controls first, target last",
          qasm2=False, qasm3=False),
    _spec("unitary", None, 0, _unitary_placeholder, None, "arbitrary unitary matrix", qasm2=False, qasm3=False),
]

GATES: dict[str, GateSpec] = {s.name: s for s in _SPECS}
"""Every gate by name."""


def get_gate(name: str) -> GateSpec:
    """Look a gate up by name.

    Raises:
        CircuitError: for an unknown name, with the closest known names.

    Examples:
        >>> get_gate("rz").num_params
        1
        >>> get_gate("cnot")
        Traceback (most recent call last):
        ...
        qtandem.errors.CircuitError: ...
    """
    try:
        return GATES[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), GATES, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise CircuitError(f"unknown gate {name!r}{hint} (known: {', '.join(sorted(GATES))})") from None


_CONST_CACHE: dict[tuple[str, int, torch.dtype, str], Tensor] = {}


def gate_matrix(
    name: str,
    params: Sequence[float | Tensor] = (),
    *,
    num_qubits: int | None = None,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
) -> Tensor:
    """Return the matrix of a registered gate.

    Args:
        name: registered gate name.
        params: one float or real tensor per angle; tensors may carry a batch
            shape, which broadcasts into the result.
        num_qubits: arity for variable-arity gates (``mcx``).
        dtype: complex dtype of the result.
        device: torch device of the result.

    Returns:
        Tensor of shape ``(*batch, 2**k, 2**k)``.

    Shape:
        params[i]: ``()`` or ``(*batch)``; result: ``(*batch, 2**k, 2**k)``.

    Examples:
        >>> import math
        >>> m = gate_matrix("rz", [math.pi])
        >>> [round(v.imag, 6) for v in m.diagonal().tolist()]
        [-1.0, 1.0]
    """
    spec = get_gate(name)
    k = spec.num_qubits if spec.num_qubits is not None else num_qubits
    if k is None:
        raise CircuitError(f"gate {name!r} has variable arity: pass num_qubits")
    if len(params) != spec.num_params:
        raise CircuitError(f"gate {name!r} takes {spec.num_params} parameter(s), got {len(params)}")
    if spec.num_params == 0:
        key = (name, k, dtype, str(device))
        m = _CONST_CACHE.get(key)
        if m is None:
            m = spec.matrix_fn((), k).to(dtype=dtype, device=device)
            _CONST_CACHE[key] = m
        return m
    ps = [p if isinstance(p, Tensor) else torch.tensor(float(p), dtype=torch.float64, device=device) for p in params]
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    ps = [p.to(device=device, dtype=real) if not p.is_floating_point() or p.dtype != real else p for p in ps]
    m = spec.matrix_fn(ps, k)
    return m.to(dtype=dtype, device=device if device is not None else m.device)


_BUILTIN_CONTROLS = {  # registry name -> (base gate, built-in controls)
    "cx": ("x", 1), "ccx": ("x", 2), "cz": ("z", 1), "ccz": ("z", 2), "cy": ("y", 1), "ch": ("h", 1),
    "csx": ("sx", 1), "c3sqrtx": ("sx", 3), "crx": ("rx", 1), "cry": ("ry", 1), "crz": ("rz", 1), "cp": ("p", 1),
    "cu3": ("u3", 1), "cswap": ("swap", 1),
}
_NAMED_CONTROLLED = {(base, k): name for name, (base, k) in _BUILTIN_CONTROLS.items()}
_NAMED_CONTROLLED[("u1", 1)] = "cp"


def fold_controls(name: str, ctrl: int, width: int) -> tuple[str, int]:
    """Canonical form of a gate with ``ctrl`` extra controls on ``width`` qubits in total.

    Controls are folded into a registry name where one exists (``x`` + 1 control
    is ``cx``, ``cx`` + 1 is ``ccx``, ``x`` + 3 or more is ``mcx``, ``sx`` + 3 is
    ``c3sqrtx``...), so equal operations have one spelling.

    Returns:
        ``(name, remaining ctrl)``.

    Examples:
        >>> fold_controls("x", 1, 2), fold_controls("cz", 1, 3), fold_controls("ry", 2, 3)
        (('cx', 0), ('ccz', 0), ('ry', 2))
    """
    if ctrl == 0 and name != "mcx":
        return name, 0
    base, builtin = _BUILTIN_CONTROLS.get(name, (name, 0))
    if name == "mcx":
        base, builtin = "x", width - ctrl - 1
    total = builtin + ctrl
    if base == "x" and total >= 3:
        return "mcx", 0
    named = _NAMED_CONTROLLED.get((base, total))
    if named is not None:
        return named, 0
    return name, ctrl


def inverse_of(name: str, params: tuple) -> tuple[str, tuple] | None:
    """Name and angles of the inverse gate, or ``None`` if it has no registered name.

    Examples:
        >>> inverse_of("s", ())
        ('sdg', ())
        >>> inverse_of("rz", (0.25,))
        ('rz', (-0.25,))
    """
    spec = get_gate(name)
    return spec.inverse(tuple(params)) if spec.inverse is not None else None
