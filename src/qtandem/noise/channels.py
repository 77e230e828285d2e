"""Quantum channels in Kraus form, validated and differentiable.

A :class:`KrausChannel` holds Kraus operators ``K_i`` (``sum_i K_i^dagger K_i = I``)
as torch tensors, so a channel built from a tensor that requires grad (an error
rate, a T1) is differentiable through every simulation that uses it.

Matrices follow qtandem's convention: the first qubit a channel acts on is the
least significant bit of the operator index.

**Depolarizing conventions.** ``depolarizing(p, n)`` applies a uniformly random
*non-identity* n-qubit Pauli with probability ``p``:
``rho -> (1 - p) rho + p/(4^n - 1) sum_{P != I} P rho P``. Qiskit's
``depolarizing_error(lam, n)`` instead replaces the state by the maximally mixed
state with probability ``lam``: ``rho -> (1 - lam) rho + lam I/2^n``, which is the
same channel with ``p = lam (4^n - 1) / 4^n``. Use
:func:`depolarizing_qiskit` to pass Qiskit's parameter.

Examples:
    >>> from qtandem.noise import depolarizing, depolarizing_qiskit, amplitude_damping
    >>> ch = depolarizing(0.03)
    >>> len(ch.kraus), ch.num_qubits
    (4, 1)
    >>> bool(depolarizing_qiskit(0.04).allclose(depolarizing(0.03)))
    True
    >>> amplitude_damping(0.1).compose(depolarizing(0.01)).num_qubits
    1
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce

import torch

from qtandem.errors import NoiseError

__all__ = [
    "KrausChannel",
    "amplitude_damping",
    "bit_flip",
    "coherent_rotation",
    "depolarizing",
    "depolarizing_qiskit",
    "generalized_amplitude_damping",
    "pauli_channel",
    "phase_damping",
    "phase_flip",
    "thermal_relaxation",
    "zx_rotation",
]

Tensor = torch.Tensor
_C = torch.complex128
_PAULIS = {
    "I": [[1, 0], [0, 1]],
    "X": [[0, 1], [1, 0]],
    "Y": [[0, -1j], [1j, 0]],
    "Z": [[1, 0], [0, -1]],
}
COMPLETENESS_TOL = 1e-10


def _pauli(label: str) -> Tensor:
    """n-qubit Pauli matrix; ``label[0]`` acts on the first qubit (least significant)."""
    mats = [torch.tensor(_PAULIS[ch], dtype=_C) for ch in label]
    return reduce(lambda acc, m: torch.kron(m, acc), mats[1:], mats[0])


def _real(x: float | Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor | int | float) or isinstance(x, bool):
        try:  # numpy scalars and other real numbers
            x = float(x)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise NoiseError(f"{name} must be a real number, got {x!r} ({type(x).__name__})") from None
    t = x if isinstance(x, Tensor) else torch.tensor(float(x), dtype=torch.float64)
    if t.dim() != 0:
        raise NoiseError(f"{name} must be a scalar, got a tensor of shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t.detach())):
        raise NoiseError(f"{name} must be finite, got {float(t.detach())}")
    return t.to(torch.float64)


def _prob(x: float | Tensor, name: str, hi: float = 1.0) -> Tensor:
    t = _real(x, name)
    v = float(t.detach())
    if not -1e-15 <= v <= hi + 1e-15:
        raise NoiseError(f"{name} must be in [0, {hi:g}], got {v}")
    return t


def _sqrt(t: Tensor) -> Tensor:
    # sqrt with a finite gradient at 0 (the channel's derivative there is taken as 0)
    return torch.where(t > 0, torch.sqrt(t.clamp_min(1e-300)), torch.zeros_like(t))


class KrausChannel:
    """A completely positive trace-preserving map ``rho -> sum_i K_i rho K_i^dagger``.

    Args:
        kraus: Kraus operators, each ``(2**n, 2**n)`` (torch tensors or array-likes).
        name: short name for display and serialisation.
        params: the constructor's parameters (for serialisation), if any.
        check: verify completeness to ``1e-10`` (default True).

    Raises:
        NoiseError: shapes differ, are not ``2**n`` square, or ``sum K^dagger K != I``.

    Examples:
        >>> import torch
        >>> k0 = torch.tensor([[1, 0], [0, 0.8]], dtype=torch.complex128)
        >>> k1 = torch.tensor([[0, 0.6], [0, 0]], dtype=torch.complex128)
        >>> channel = KrausChannel([k0, k1], name="my_damping")
        >>> channel.num_qubits, channel.allclose(amplitude_damping(0.36))
        (1, True)
        >>> KrausChannel([k0])
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: ...
    """

    def __init__(self, kraus: Sequence[object], *, name: str = "kraus", params: dict[str, float] | None = None,
                 check: bool = True) -> None:
        ops = [k if isinstance(k, Tensor) else torch.as_tensor(k) for k in kraus]
        if not ops:
            raise NoiseError("a channel needs at least one Kraus operator")
        ops = [k.to(_C) for k in ops]
        dim = ops[0].shape[-1]
        if any(k.shape != (dim, dim) for k in ops) or dim & (dim - 1) or dim < 2:
            shapes = [tuple(k.shape) for k in ops]
            raise NoiseError(f"Kraus operators must all be square 2^n x 2^n, got shapes {shapes}")
        self.kraus: list[Tensor] = ops
        #: how compose/tensor built this channel: ("compose"|"tensor", first, second), else None
        self._parts: tuple[str, KrausChannel, KrausChannel] | None = None
        self.num_qubits = int(math.log2(dim))
        self.name = name
        self.params = dict(params or {})
        if check:
            total = sum(k.conj().T @ k for k in ops)
            err = float((total - torch.eye(dim, dtype=_C)).abs().max().detach())
            if err > COMPLETENESS_TOL:
                raise NoiseError(f"channel {name!r} is not trace preserving: max |sum K^dagger K - I| = {err:.3e} "
                                 f"(tolerance {COMPLETENESS_TOL:g})")

    # -- algebra ---------------------------------------------------------------
    def compose(self, other: KrausChannel) -> KrausChannel:
        """This channel first, then ``other`` (same qubits)."""
        if other.num_qubits != self.num_qubits:
            raise NoiseError(f"cannot compose a {self.num_qubits}-qubit channel with a {other.num_qubits}-qubit one")
        ops = [b @ a for a in self.kraus for b in other.kraus]
        out = KrausChannel(_prune(ops), name=f"{self.name}+{other.name}", check=False)
        out._parts = ("compose", self, other)  # structure kept for qtandem.noise.mixture
        return out

    def tensor(self, other: KrausChannel) -> KrausChannel:
        """``self`` on the first qubits (least significant), ``other`` on the following ones."""
        ops = [torch.kron(b, a) for a in self.kraus for b in other.kraus]
        out = KrausChannel(_prune(ops), name=f"{self.name}*{other.name}", check=False)
        out._parts = ("tensor", self, other)  # structure kept for qtandem.noise.mixture
        return out

    # -- representations -------------------------------------------------------
    def superop(self) -> Tensor:
        """Superoperator acting on ``vec(rho)`` in qtandem's layout.

        ``vec(rho)[j + 2**n * i] = rho[i, j]``: the column index is the low half,
        so ``S = sum_i kron(K_i, conj(K_i))`` (row part on the high bits). Cached
        unless a Kraus operator requires grad (then it is rebuilt, differentiably).
        """
        differentiable = any(k.requires_grad for k in self.kraus)
        cached = getattr(self, "_superop", None)
        if cached is not None and not differentiable:
            return cached
        s = sum(torch.kron(k, k.conj()) for k in self.kraus)
        if not differentiable:
            self._superop = s
        return s  # type: ignore[return-value]

    def choi(self) -> Tensor:
        """Choi matrix ``sum_ij |i><j| (x) E(|i><j|)`` (input on the high bits), trace ``2**n``."""
        d = 2**self.num_qubits
        out = torch.zeros(d * d, d * d, dtype=_C)
        for i in range(d):
            for j in range(d):
                e = torch.zeros(d, d, dtype=_C)
                e[i, j] = 1
                out[i * d:(i + 1) * d, j * d:(j + 1) * d] = self.apply(e)
        return out

    def ptm(self) -> Tensor:
        """Pauli transfer matrix ``R_ij = Tr(P_i E(P_j)) / 2**n`` (real), Paulis in ``I,X,Y,Z`` order."""
        n = self.num_qubits
        labels = ["".join(t) for t in _product("IXYZ", n)]
        paulis = [_pauli(lab) for lab in labels]
        d = 2**n
        rows = [[torch.trace(pi @ self.apply(pj)).real / d for pj in paulis] for pi in paulis]
        return torch.stack([torch.stack(r) for r in rows])

    def apply(self, rho: Tensor) -> Tensor:
        """Apply to a ``(2**n, 2**n)`` density matrix."""
        return sum(k @ rho.to(_C) @ k.conj().T for k in self.kraus)  # type: ignore[return-value]

    def allclose(self, other: KrausChannel, atol: float = 1e-10) -> bool:
        """Same channel (compares superoperators)."""
        return self.num_qubits == other.num_qubits and bool(torch.allclose(self.superop(), other.superop(), atol=atol))

    @property
    def is_unitary(self) -> bool:
        """True when the channel has a single Kraus operator."""
        return len(self.kraus) == 1

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"KrausChannel({self.name}({ps}), qubits={self.num_qubits}, kraus={len(self.kraus)})"


def _product(alphabet: str, n: int) -> list[tuple[str, ...]]:
    """Labels with the first character varying slowest (``II, IX, ...``)."""
    out: list[tuple[str, ...]] = [()]
    for _ in range(n):
        out = [t + (a,) for t in out for a in alphabet]
    return out


def _prune(ops: list[Tensor]) -> list[Tensor]:
    kept = [k for k in ops if k.requires_grad or float(k.abs().max()) > 1e-15]
    return kept or ops[:1]


def pauli_channel(px: float | Tensor, py: float | Tensor, pz: float | Tensor) -> KrausChannel:
    """Apply X, Y, Z with probabilities ``px, py, pz`` (identity otherwise).

    Examples:
        >>> pauli_channel(0.1, 0.0, 0.0).allclose(bit_flip(0.1))
        True
        >>> pauli_channel(0.0, 0.0, 0.1).allclose(phase_flip(0.1))
        True
    """
    tx, ty, tz = _prob(px, "px"), _prob(py, "py"), _prob(pz, "pz")
    p_id = 1 - tx - ty - tz
    if float(p_id.detach()) < -1e-15:
        raise NoiseError(f"pauli_channel probabilities sum to {float((tx + ty + tz).detach())} > 1")
    ops = [_sqrt(p) * _pauli(lab) for p, lab in ((p_id, "I"), (tx, "X"), (ty, "Y"), (tz, "Z"))]
    return KrausChannel(ops, name="pauli_channel", params={"px": float(tx), "py": float(ty), "pz": float(tz)})


def depolarizing(p: float | Tensor, num_qubits: int = 1) -> KrausChannel:
    """A uniformly random non-identity Pauli with probability ``p`` (see module docs).

    Args:
        p: error probability, ``0 <= p <= 1``.
        num_qubits: 1 or 2 (any n works; the Kraus count is ``4**n``).

    Examples:
        >>> import torch
        >>> rho = torch.tensor([[1, 0], [0, 0]], dtype=torch.complex128)
        >>> [round(p, 6) for p in depolarizing(0.3).apply(rho).real.diagonal().tolist()]   # X or Y flip: 2/3 of p
        [0.8, 0.2]
        >>> len(depolarizing(0.01, 2).kraus)
        16
    """
    if num_qubits < 1:
        raise NoiseError(f"num_qubits must be >= 1, got {num_qubits}")
    tp = _prob(p, "p")
    labels = ["".join(t) for t in _product("IXYZ", num_qubits)]
    each = tp / (4**num_qubits - 1)
    ops = [(_sqrt(1 - tp) if lab == "I" * num_qubits else _sqrt(each)) * _pauli(lab) for lab in labels]
    return KrausChannel(ops, name="depolarizing", params={"p": float(tp.detach()), "num_qubits": num_qubits})


def depolarizing_qiskit(lam: float | Tensor, num_qubits: int = 1) -> KrausChannel:
    """Depolarizing with Qiskit's parameter: fully mixed with probability ``lam``.

    Equal to ``depolarizing(lam * (4**n - 1) / 4**n, n)``; ``lam`` may go up to ``4**n/(4**n - 1)``.

    Examples:
        >>> depolarizing_qiskit(0.4).allclose(depolarizing(0.3))
        True
    """
    d2 = 4**num_qubits
    tl = _prob(lam, "lam", hi=d2 / (d2 - 1))
    return depolarizing(tl * (d2 - 1) / d2, num_qubits)


def bit_flip(p: float | Tensor) -> KrausChannel:
    """X with probability ``p``.

    Examples:
        >>> import torch
        >>> rho = torch.tensor([[1, 0], [0, 0]], dtype=torch.complex128)   # |0><0|
        >>> [round(p, 6) for p in bit_flip(0.125).apply(rho).real.diagonal().tolist()]
        [0.875, 0.125]
    """
    return pauli_channel(p, 0.0, 0.0)


def phase_flip(p: float | Tensor) -> KrausChannel:
    """Z with probability ``p``.

    Examples:
        >>> import torch
        >>> plus = torch.full((2, 2), 0.5, dtype=torch.complex128)
        >>> round(phase_flip(0.25).apply(plus)[0, 1].real.item(), 6)   # 0.5 * (1 - 2p)
        0.25
    """
    return pauli_channel(0.0, 0.0, p)


def amplitude_damping(gamma: float | Tensor) -> KrausChannel:
    """Energy relaxation |1> -> |0> with probability ``gamma``.

    Examples:
        >>> import torch
        >>> rho = torch.tensor([[0, 0], [0, 1]], dtype=torch.complex128)   # |1><1|
        >>> [round(p, 6) for p in amplitude_damping(0.25).apply(rho).real.diagonal().tolist()]
        [0.25, 0.75]
    """
    g = _prob(gamma, "gamma")
    zero = torch.zeros((), dtype=torch.float64)
    one = torch.ones((), dtype=torch.float64)
    k0 = torch.stack([torch.stack([one, zero]), torch.stack([zero, _sqrt(1 - g)])]).to(_C)
    k1 = torch.stack([torch.stack([zero, _sqrt(g)]), torch.stack([zero, zero])]).to(_C)
    return KrausChannel([k0, k1], name="amplitude_damping", params={"gamma": float(g.detach())})


def phase_damping(lam: float | Tensor) -> KrausChannel:
    """Pure dephasing: off-diagonals shrink by ``sqrt(1 - lam)``.

    Examples:
        >>> import torch
        >>> plus = torch.full((2, 2), 0.5, dtype=torch.complex128)   # |+><+|
        >>> phase_damping(0.36).apply(plus)[0, 1].real.item()   # 0.5 * sqrt(1 - 0.36)
        0.4
    """
    lt = _prob(lam, "lam")
    zero = torch.zeros((), dtype=torch.float64)
    one = torch.ones((), dtype=torch.float64)
    k0 = torch.stack([torch.stack([one, zero]), torch.stack([zero, _sqrt(1 - lt)])]).to(_C)
    k1 = torch.stack([torch.stack([zero, zero]), torch.stack([zero, _sqrt(lt)])]).to(_C)
    return KrausChannel([k0, k1], name="phase_damping", params={"lam": float(lt.detach())})


def generalized_amplitude_damping(p: float | Tensor, gamma: float | Tensor) -> KrausChannel:
    """Amplitude damping towards a thermal state with excited population ``1 - p``.

    ``p`` is the probability of decaying towards |0> (``p = 1`` is plain amplitude damping).

    Examples:
        >>> generalized_amplitude_damping(1.0, 0.2).allclose(amplitude_damping(0.2))
        True
    """
    tp, g = _prob(p, "p"), _prob(gamma, "gamma")
    zero = torch.zeros((), dtype=torch.float64)
    one = torch.ones((), dtype=torch.float64)

    def m(a: Tensor, b: Tensor, c: Tensor, d: Tensor) -> Tensor:
        return torch.stack([torch.stack([a, b]), torch.stack([c, d])]).to(_C)

    k0 = _sqrt(tp) * m(one, zero, zero, _sqrt(1 - g))
    k1 = _sqrt(tp) * m(zero, _sqrt(g), zero, zero)
    k2 = _sqrt(1 - tp) * m(_sqrt(1 - g), zero, zero, one)
    k3 = _sqrt(1 - tp) * m(zero, zero, _sqrt(g), zero)
    return KrausChannel([k0, k1, k2, k3], name="generalized_amplitude_damping",
                        params={"p": float(tp.detach()), "gamma": float(g.detach())})


def thermal_relaxation(t1: float | Tensor, t2: float | Tensor, time: float | Tensor,
                       excited_population: float = 0.0) -> KrausChannel:
    """T1/T2 relaxation for ``time`` (same units as T1 and T2).

    Populations relax with ``exp(-time/T1)``; coherences decay with ``exp(-time/T2)``.
    Built as amplitude damping (``gamma = 1 - exp(-t/T1)``) followed by the pure
    dephasing that makes up the rest of T2.

    Raises:
        NoiseError: ``T2 > 2 T1`` (unphysical), non-positive times.

    Examples:
        >>> import math, torch
        >>> one = torch.tensor([[0, 0], [0, 1]], dtype=torch.complex128)
        >>> rho = thermal_relaxation(t1=100.0, t2=80.0, time=50.0).apply(one)
        >>> round(rho[1, 1].real.item(), 6) == round(math.exp(-0.5), 6)
        True
        >>> thermal_relaxation(t1=10.0, t2=30.0, time=1.0)
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: ...
    """
    a, b, t = _real(t1, "t1"), _real(t2, "t2"), _real(time, "time")
    if float(a.detach()) <= 0 or float(b.detach()) <= 0:
        raise NoiseError(f"T1 and T2 must be positive, got T1={float(a.detach())}, T2={float(b.detach())}")
    if float(t.detach()) < 0:
        raise NoiseError(f"time must be >= 0, got {float(t.detach())}")
    if float(b.detach()) > 2 * float(a.detach()) * (1 + 1e-12):
        raise NoiseError(f"T2 ({float(b.detach())}) must be <= 2*T1 ({2 * float(a.detach())}): T2 > 2 T1 is unphysical")
    gamma = 1 - torch.exp(-t / a)
    # coherence after damping alone: sqrt(1-gamma) = exp(-t/(2 T1)); dephasing supplies exp(-t/T2 + t/(2 T1))
    extra = torch.exp(-t / b + t / (2 * a)).clamp(max=1.0)
    lam = 1 - extra**2
    if excited_population:
        ch = generalized_amplitude_damping(1 - excited_population, gamma)
    else:
        ch = amplitude_damping(gamma)
    out = ch.compose(phase_damping(lam))
    out.name = "thermal_relaxation"
    out.params = {"t1": float(a.detach()), "t2": float(b.detach()), "time": float(t.detach())}
    return out


def coherent_rotation(axis: str | Sequence[float], angle: float | Tensor) -> KrausChannel:
    """A unitary over-rotation ``exp(-i angle/2 n.sigma)`` about ``axis`` ("x", "y", "z" or a 3-vector).

    Examples:
        >>> import math, torch
        >>> rho = torch.tensor([[1, 0], [0, 0]], dtype=torch.complex128)
        >>> flip = coherent_rotation("x", math.pi)
        >>> flip.is_unitary, round(float(flip.apply(rho)[1, 1].real), 6)
        (True, 1.0)
    """
    if isinstance(axis, str):
        vec: tuple[float, ...] | None = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0),
                                         "z": (0.0, 0.0, 1.0)}.get(axis.lower())
        if vec is None:
            raise NoiseError(f"axis must be 'x', 'y', 'z' or a 3-vector, got {axis!r}")
    else:
        vec = tuple(float(v) for v in axis)
        if len(vec) != 3 or math.hypot(*vec) == 0:
            raise NoiseError(f"axis must be a non-zero 3-vector, got {axis!r}")
    assert vec is not None
    norm = math.hypot(*vec)
    nx, ny, nz = (v / norm for v in vec)
    th = _real(angle, "angle")
    gen = nx * _pauli("X") + ny * _pauli("Y") + nz * _pauli("Z")
    u = torch.cos(th / 2).to(_C) * torch.eye(2, dtype=_C) - 1j * torch.sin(th / 2).to(_C) * gen
    return KrausChannel([u], name="coherent_rotation", params={"angle": float(th.detach())})


def zx_rotation(angle: float | Tensor) -> KrausChannel:
    """A two-qubit over-rotation ``rzx(angle) = exp(-i angle/2 Z_c X_t)`` on ``(c, t)`` (a cross-resonance
    amplitude error); ``angle`` may be a tensor that requires grad.

    Examples:
        >>> import math, torch
        >>> rho = torch.zeros(4, 4, dtype=torch.complex128)
        >>> rho[1, 1] = 1                                   # c = |1> (first qubit), t = |0>
        >>> out = zx_rotation(math.pi).apply(rho)           # c = |1>: t rotates by -pi about X
        >>> round(float(out[3, 3].real), 6)
        1.0
    """
    th = _real(angle, "angle")
    u = (torch.cos(th / 2).to(_C) * torch.eye(4, dtype=_C)
         - 1j * torch.sin(th / 2).to(_C) * _pauli("ZX"))
    return KrausChannel([u], name="zx_rotation", params={"angle": float(th.detach())})
