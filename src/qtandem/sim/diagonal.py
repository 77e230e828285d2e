"""Diagonal-cost evolutions: QAOA with the cost applied as a phase and the mixer by fast transforms.

Convention (the one of :func:`qtandem.opt.qaoa_expectation`):
``|psi> = prod_k exp(-i beta_k sum_j X_j) exp(-i gamma_k C) |+>^n`` (layer 1 rightmost) with ``C`` the
diagonal cost, ``C[i]`` the energy of basis state ``i = sum_q x_q 2**q`` (little-endian), and
``E = <psi|C|psi>``. QOKit's ``apply_qaoa_furx(gammas_q, betas_q, costs)`` applies
``exp(-i gamma_q C / 2)``, so it equals ours at ``gamma = gamma_q / 2``, ``beta = beta_q``.

:class:`DiagonalCost` prepares a cost once (checks it, and stores it as ``uint16`` "levels" into a table
of distinct values when it takes at most 65,536 values, e.g. any integer-weighted MaxCut: the phase is
then one table lookup per amplitude, 2 bytes of memory traffic instead of 8, and no ``sin``/``cos``).
The native kernels (``_kernels.qaoa_evolve`` / ``qaoa_adjoint``, in ``_kernels.c``) apply a layer in
two cache-blocked memory passes; the adjoint runs the layers backwards on ``(phi, lambda = C psi)``
and returns ``dE/dgamma_k = 2 Im <lam|C|phi>`` and ``dE/dbeta_k = 2 Im <lam|sum_j X_j|phi>``
at the right layer, so a gradient costs one forward plus one backward sweep. The backward sweep is fused
(``n - 14 <= 12``): the halves of a layer's inverse mixer commute, so its passes alternate between the
block and the chunk layout and each finishes one layer and starts the next, ``p + 1`` passes over the two
vectors instead of ``2p + 1``. When the forward's states fit under :data:`STORE_LIMIT_BYTES`
(``(p - 1) * 16 * 2**n`` bytes, kept on the cost between calls; off by default) the gradient
(``_kernels.qaoa_gradient``) stores them instead and the backward rotates only lambda, reading each layer's state
once. Without the extension a NumPy path gives the same numbers.

Bit-flip symmetry: when ``C(x) = C(~x)`` for every basis state (no odd terms, e.g. any MaxCut;
:attr:`DiagonalCost.symmetric`), ``|+>^n``, the phases and the mixer (it commutes with ``X^n``) keep
``psi(x) = psi(~x)``, so the energy, the gradient and :func:`qaoa_state` evolve only the ``2**(n - 1)``
amplitudes with the top qubit 0 (the top qubit's mixer pairs ``x`` with ``x ^ (2**(n-1) - 1)``): half the memory
traffic and half the work arrays (``15 < n <= 27``; :data:`SYMMETRY` turns it off). Other costs take the full path.

:func:`qaoa_expectation` wraps both in a ``torch.autograd.Function`` (batched over leading dimensions
of the angles). :func:`evolve_torch` is the general differentiable torch path for other mixers
(:func:`xy_mixer`, :func:`rotated_mixer` of warm-start QAOA) and initial states.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from qtandem.errors import SimulationError

try:  # the optional C extension
    from qtandem.sim import _kernels  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _kernels = None

__all__ = [
    "DiagonalCost",
    "evolve_torch",
    "native_available",
    "qaoa_energy_and_gradient",
    "qaoa_expectation",
    "qaoa_state",
    "rotated_mixer",
    "x_mixer",
    "xy_mixer",
]

_MAX_LEVELS = 65536
#: The gradient keeps the forward's states (``(p - 1) * 16 * 2**n`` bytes, reused between calls) when they fit
#: under this many bytes, so that the backward sweep rotates only the adjoint vector; otherwise the backward runs
#: the forward state backwards beside it (the fused two-vector sweep). Off (0) by default: measured once (both
#: CPU locks, an intermediate build), it was 1-3% faster at n = 20-22 and 4-6% slower at n = 16-18 than the fused
#: sweep, for 144-576 MiB more memory (``bench/qaoa_gradient_paths.py``).
STORE_LIMIT_BYTES = 0
#: Use the bit-flip symmetric half state for symmetric costs (:attr:`DiagonalCost.symmetric`) when the kernels
#: have it; set False for the full-state path (same values to rounding).
SYMMETRY = True
#: From this size on work arrays get transparent huge pages (``_kernels.fill``): fewer TLB misses.
_HUGE_MIN_QUBITS = 18

Mixer = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


def native_available() -> bool:
    """True when the compiled QAOA kernels are present and ``QTANDEM_NATIVE`` is not ``0``.

    Examples:
        >>> isinstance(native_available(), bool)
        True
    """
    return (_kernels is not None and hasattr(_kernels, "qaoa_evolve")
            and os.environ.get("QTANDEM_NATIVE", "1") != "0")


class DiagonalCost:
    """A diagonal cost prepared for repeated QAOA evaluations.

    Args:
        diagonal: ``C[i]`` for every basis state, float64-convertible, shape ``(2**n,)``, finite.

    Attributes:
        diagonal: the float64 array.
        n: number of qubits.
        levels: ``uint16`` index into :attr:`values` per basis state, or ``None`` (too many distinct values:
            the kernels then compute ``cos``/``sin`` of ``gamma * C[i]`` per amplitude).
        values: the distinct values (sorted), or ``None``.
        symmetric: ``C[i] == C[~i]`` for every ``i`` (``~i`` flips all ``n`` bits): the kernels then evolve half
            the state (module docstring).

    Raises:
        SimulationError: the length is not a power of two or a value is not finite.

    Examples:
        >>> cost = DiagonalCost([0.0, -1.0, -1.0, 0.0])
        >>> cost.n, cost.values.tolist(), cost.levels.tolist(), cost.symmetric
        (2, [-1.0, 0.0], [1, 0, 0, 1], True)
    """

    def __init__(self, diagonal: Any) -> None:
        d = np.ascontiguousarray(np.asarray(diagonal, dtype=np.float64).reshape(-1))
        n = int(d.size).bit_length() - 1
        if d.size < 1 or 2**n != d.size:
            raise SimulationError(f"DiagonalCost: the diagonal has length {d.size}, not a power of two")
        if not np.all(np.isfinite(d)):
            raise SimulationError("DiagonalCost: the diagonal has non-finite entries")
        self.diagonal: np.ndarray = d
        self.n = n
        self.levels: np.ndarray | None = None
        self.values: np.ndarray | None = None
        lo, hi = float(d.min()), float(d.max())
        if hi - lo < _MAX_LEVELS and np.array_equal(d, np.rint(d)):
            # integer costs: level = C - min (O(N), no sort)
            self.levels = (d - lo).astype(np.uint16)
            self.values = lo + np.arange(int(hi - lo) + 1, dtype=np.float64)
        elif d.size <= 2**22:
            values, inverse = np.unique(d, return_inverse=True)
            if values.size <= _MAX_LEVELS:
                self.values = values.astype(np.float64)
                self.levels = inverse.reshape(-1).astype(np.uint16)
        # C(~i) is C read backwards (~i = 2**n - 1 - i)
        self.symmetric = bool(np.array_equal(d, d[::-1]))
        self._work: dict[int, list[np.ndarray]] = {}
        self._store: np.ndarray | None = None

    def workspace(self, k: int, *, half: bool = False) -> list[np.ndarray]:
        """``k`` complex128 work arrays of length ``2**n`` (``2**(n - 1)`` with ``half``), allocated once and
        reused (not thread-safe).

        Examples:
            >>> [a.size for a in DiagonalCost([1.0, 2.0, 2.0, 1.0]).workspace(2, half=True)]
            [2, 2]
        """
        size = 2 ** (self.n - 1) if half else 2**self.n
        work = self._work.setdefault(size, [])
        while len(work) < k:
            a = np.empty(size, dtype=np.complex128)
            if _kernels is not None and self.n >= _HUGE_MIN_QUBITS:
                _kernels.fill(a, None, torch.get_num_threads())
            work.append(a)
        return work[:k]

    def _half_args(self, g: np.ndarray, b: np.ndarray) -> tuple[Any, ...] | None:
        """The kernels' (cost, tables, values, betas) of the symmetric half state, or None (full path)."""
        # one high group of the half state's kernels (low_bits 14): 14 < n - 1 <= 26
        if not (SYMMETRY and self.symmetric and g.size > 0 and 14 < self.n - 1 <= 26 and native_available()
                and bool(getattr(_kernels, "QAOA_SYMMETRIC", False))):
            return None
        h = 2 ** (self.n - 1)
        if self.levels is not None:
            return self.levels[:h], self._tables(g), self.values, b
        return self.diagonal[:h], g, None, b

    def _states(self, p: int) -> np.ndarray | None:
        """``p - 1`` complex128 rows of ``2**n`` for the stored-state gradient (kept), or None above the limit."""
        rows = p - 1
        # the kernel has the stored-state backward for one high group only: 14 < n <= 14 + 12 (low_bits 14)
        if not 14 < self.n <= 26 or rows * 16 * 2**self.n > STORE_LIMIT_BYTES:
            return None
        if rows <= 0:
            return np.empty((0, 2**self.n), dtype=np.complex128)
        if self._store is None or self._store.shape[0] < rows:
            self._store = np.empty((rows, 2**self.n), dtype=np.complex128)
            if _kernels is not None and self.n >= _HUGE_MIN_QUBITS:
                for row in self._store:
                    _kernels.fill(row, None, torch.get_num_threads())
        return self._store

    def _tables(self, gammas: np.ndarray) -> np.ndarray:
        if self.values is None:
            return np.ascontiguousarray(gammas, dtype=np.float64)
        out: np.ndarray = np.exp(-1j * np.outer(gammas, self.values))
        return np.ascontiguousarray(out)

    def __repr__(self) -> str:
        kind = f"{self.values.size} levels" if self.values is not None else "direct"
        return f"DiagonalCost(n={self.n}, {kind})"


def _as_cost(cost: Any) -> DiagonalCost:
    return cost if isinstance(cost, DiagonalCost) else DiagonalCost(cost)


def _angles(gammas: Any, betas: Any) -> tuple[np.ndarray, np.ndarray]:
    g = np.ascontiguousarray(np.asarray(gammas, dtype=np.float64).reshape(-1))
    b = np.ascontiguousarray(np.asarray(betas, dtype=np.float64).reshape(-1))
    if g.shape != b.shape:
        raise SimulationError(f"QAOA: {g.size} gammas but {b.size} betas (one of each per layer)")
    return g, b


def _threads(threads: int | None) -> int:
    return torch.get_num_threads() if threads is None else max(1, int(threads))


def _rx_numpy(psi: np.ndarray, n: int, beta: float) -> np.ndarray:
    c, s = math.cos(beta), math.sin(beta)
    for q in range(n):
        v = psi.reshape(-1, 2, 2**q)
        a0 = v[:, 0, :].copy()
        v[:, 0, :] = c * a0 - 1j * s * v[:, 1, :]
        v[:, 1, :] = c * v[:, 1, :] - 1j * s * a0
    return psi


def _evolve_into(out: np.ndarray, cost: DiagonalCost, g: np.ndarray, b: np.ndarray, threads: int) -> None:
    half = cost._half_args(g, b)
    if half is not None:  # the half state, then psi(~x) = psi(x): the upper half is the lower one reversed
        h = out.size // 2
        _kernels.qaoa_evolve(out[:h], *half, 1, threads, sym=True)
        out[h:] = out[:h][::-1]
        return
    if native_available():
        if cost.levels is not None:
            _kernels.qaoa_evolve(out, cost.levels, cost._tables(g), cost.values, b, 1, threads)
        else:
            _kernels.qaoa_evolve(out, cost.diagonal, g, None, b, 1, threads)
        return
    out[:] = 2.0 ** (-cost.n / 2)
    for gk, bk in zip(g, b, strict=True):
        out *= np.exp(-1j * gk * cost.diagonal)
        _rx_numpy(out, cost.n, float(bk))


def qaoa_state(cost: Any, gammas: Any, betas: Any, *, threads: int | None = None) -> np.ndarray:
    """The QAOA state with the transverse-field mixer (module convention), as a new complex128 array.

    Args:
        cost: a :class:`DiagonalCost` or the diagonal itself (shape ``(2**n,)``).
        gammas, betas: ``p`` angles each.
        threads: OpenMP threads (default ``torch.get_num_threads()``).

    Returns:
        ``psi``, complex128, shape ``(2**n,)``.

    Examples:
        >>> psi = qaoa_state([0.0, 1.0], [0.0], [0.0])
        >>> np.abs(psi).round(4).tolist()
        [0.7071, 0.7071]
    """
    c = _as_cost(cost)
    g, b = _angles(gammas, betas)
    out = np.empty(2**c.n, dtype=np.complex128)
    _evolve_into(out, c, g, b, _threads(threads))
    return out


def _energy(cost: DiagonalCost, psi: np.ndarray, threads: int) -> float:
    if native_available():
        if cost.levels is not None:
            return float(_kernels.qaoa_energy(psi, cost.levels, cost.values, threads))
        return float(_kernels.qaoa_energy(psi, cost.diagonal, None, threads))
    return float(np.dot(cost.diagonal, psi.real**2 + psi.imag**2))


def _energy_only(cost: DiagonalCost, g: np.ndarray, b: np.ndarray, threads: int) -> float:
    half = cost._half_args(g, b)
    if half is not None:  # sum over x and ~x: twice the half's
        (psi,) = cost.workspace(1, half=True)
        _kernels.qaoa_evolve(psi, *half, 1, threads, sym=True)
        return 2.0 * float(_kernels.qaoa_energy(psi, half[0], half[2], threads))
    (psi,) = cost.workspace(1)
    _evolve_into(psi, cost, g, b, threads)
    return _energy(cost, psi, threads)


def qaoa_energy_and_gradient(cost: Any, gammas: Any, betas: Any, *,
                             threads: int | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """``E = <psi|C|psi>`` and its gradient by the adjoint method (one forward, one backward sweep).

    Args:
        cost: a :class:`DiagonalCost` or the diagonal.
        gammas, betas: ``p`` angles each.
        threads: OpenMP threads (default ``torch.get_num_threads()``).

    Returns:
        ``(energy, dE/dgammas, dE/dbetas)`` (float, float64 arrays of shape ``(p,)``).

    Examples:
        >>> e, dg, db = qaoa_energy_and_gradient([0.0, -1.0, -1.0, 0.0], [0.3], [-0.4])
        >>> round(e, 6), dg.shape
        (-0.647697, (1,))
    """
    c = _as_cost(cost)
    g, b = _angles(gammas, betas)
    nth = _threads(threads)
    half = c._half_args(g, b)
    if half is not None:
        psi, work = c.workspace(2, half=True)
        e, dg, db = _kernels.qaoa_gradient(psi, work, None, *half, nth, sym=True)
        return float(e), np.asarray(dg, dtype=np.float64), np.asarray(db, dtype=np.float64)
    if native_available() and hasattr(_kernels, "qaoa_gradient"):
        psi, work = c.workspace(2)
        store = c._states(g.size)
        if c.levels is not None:
            e, dg, db = _kernels.qaoa_gradient(psi, work, store, c.levels, c._tables(g), c.values, b, nth)
        else:
            e, dg, db = _kernels.qaoa_gradient(psi, work, store, c.diagonal, g, None, b, nth)
        return float(e), np.asarray(dg, dtype=np.float64), np.asarray(db, dtype=np.float64)
    if native_available():  # an extension built before qaoa_gradient (bench/qaoa.py --kernels OLD_BUILD)
        psi, work = c.workspace(2)
        _evolve_into(psi, c, g, b, nth)
        if c.levels is not None:
            e, dg, db = _kernels.qaoa_adjoint(psi, work, c.levels, c._tables(g), c.values, b, nth)
        else:
            e, dg, db = _kernels.qaoa_adjoint(psi, work, c.diagonal, g, None, b, nth)
        return float(e), np.asarray(dg, dtype=np.float64), np.asarray(db, dtype=np.float64)
    with torch.enable_grad():  # also when called inside an autograd.Function's forward
        gt = torch.tensor(g, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True)
        e_t = _expectation_torch(torch.from_numpy(c.diagonal), gt, bt)
        e_t.backward()
    assert gt.grad is not None and bt.grad is not None
    return float(e_t.detach()), gt.grad.numpy().copy(), bt.grad.numpy().copy()


class _XMixerExpectation(torch.autograd.Function):
    """``E(gammas, betas)`` for one angle set; the gradient is computed with the energy when needed."""

    @staticmethod
    def forward(ctx: Any, gammas: torch.Tensor, betas: torch.Tensor, cost: DiagonalCost,  # type: ignore[override]
                threads: int) -> torch.Tensor:
        g = gammas.detach().cpu().numpy().astype(np.float64)
        b = betas.detach().cpu().numpy().astype(np.float64)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            e, dg, db = qaoa_energy_and_gradient(cost, g, b, threads=threads)
            ctx.save_for_backward(torch.from_numpy(dg).to(gammas), torch.from_numpy(db).to(betas))
        else:
            e = _energy_only(cost, g, b, threads)
        return torch.tensor(e, dtype=gammas.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> Any:  # type: ignore[override]
        dg, db = ctx.saved_tensors
        return grad_out * dg, grad_out * db, None, None


def qaoa_expectation(cost: Any, gammas: Any, betas: Any, *, threads: int | None = None) -> torch.Tensor:
    """Differentiable QAOA energy ``<psi|C|psi>`` with the transverse-field mixer, batched over angles.

    Args:
        cost: a :class:`DiagonalCost` or the diagonal.
        gammas, betas: tensors (or arrays) of shape ``(..., p)``; leading dimensions are a batch.
        threads: OpenMP threads of the native kernels.

    Returns:
        float64 tensor of shape ``(...)`` (a scalar for 1-D angles), differentiable in the angles
        (adjoint gradient, computed together with the energy when an input requires grad).

    Shape:
        gammas, betas: ``(..., p)`` -> ``(...)``.

    Examples:
        >>> g = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
        >>> e = qaoa_expectation([0.0, -1.0, -1.0, 0.0], g, torch.tensor([-0.4], dtype=torch.float64))
        >>> e.backward()
        >>> round(float(e.detach()), 6), g.grad.shape
        (-0.647697, torch.Size([1]))
    """
    c = _as_cost(cost)
    gt = torch.as_tensor(gammas, dtype=torch.float64)
    bt = torch.as_tensor(betas, dtype=torch.float64)
    if gt.shape != bt.shape or gt.dim() < 1:
        raise SimulationError(f"qaoa_expectation: gammas {tuple(gt.shape)} and betas {tuple(bt.shape)} must "
                              "have one shape (..., p)")
    nth = _threads(threads)
    lead = gt.shape[:-1]
    gf = gt.reshape(-1, gt.shape[-1])
    bf = bt.reshape(-1, bt.shape[-1])
    outs = [_XMixerExpectation.apply(gf[i], bf[i], c, nth) for i in range(gf.shape[0])]
    return torch.stack(outs).reshape(lead)


# ---------------------------------------------------------------------------------------------
# The general torch path (any mixer, any initial state; autograd by torch)
# ---------------------------------------------------------------------------------------------

def _apply_1q(psi: torch.Tensor, u: torch.Tensor, q: int, n: int) -> torch.Tensor:
    v = psi.reshape(2 ** (n - 1 - q), 2, 2**q)
    return torch.einsum("ab,ibj->iaj", u, v).reshape(-1)


def x_mixer() -> Mixer:
    """The transverse-field mixer ``exp(-i beta sum_j X_j)`` for :func:`evolve_torch`.

    Examples:
        >>> psi = torch.tensor([1, 0], dtype=torch.complex128)
        >>> x_mixer()(psi, torch.tensor(math.pi / 2, dtype=torch.float64), 1).abs().tolist()
        [6.123233995736766e-17, 1.0]
    """
    def mix(psi: torch.Tensor, beta: torch.Tensor, n: int) -> torch.Tensor:
        c, s = torch.cos(beta), torch.sin(beta)
        u = torch.stack([torch.stack([c + 0j, -1j * s]), torch.stack([-1j * s, c + 0j])])
        for q in range(n):
            psi = _apply_1q(psi, u, q, n)
        return psi
    return mix


def _pair_indices(n: int, i: int, j: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx = np.arange(2**n)
    a = idx[(((idx >> i) & 1) == 1) & (((idx >> j) & 1) == 0)]
    return torch.from_numpy(a), torch.from_numpy(a ^ (1 << i) ^ (1 << j))


def xy_mixer(groups: Sequence[Sequence[int]], n: int, *, ring: bool = True) -> Mixer:
    """The XY mixer on one-hot groups: ``exp(-i beta (X_a X_b + Y_a Y_b) / 2)`` over the pairs of each group.

    Args:
        groups: disjoint groups of qubits; within each, the pairs are the ring ``(g0, g1), (g1, g2), ...,
            (g_{k-1}, g0)`` (``ring=True``; even pairs, odd pairs, then the closing pair, one Trotter
            step) or all pairs (``ring=False``, the complete-graph mixer). Hamming weight in each group
            is preserved exactly.
        n: number of qubits.

    Examples:
        >>> psi = torch.zeros(4, dtype=torch.complex128); psi[1] = 1
        >>> out = xy_mixer([[0, 1]], 2)(psi, torch.tensor(math.pi / 2, dtype=torch.float64), 2)
        >>> out.abs().round(decimals=6).tolist()
        [0.0, 0.0, 1.0, 0.0]
    """
    pairs: list[tuple[int, int]] = []
    for grp in groups:
        g = [int(q) for q in grp]
        k = len(g)
        if k < 2:
            continue
        if ring:
            cyc = [(g[t], g[(t + 1) % k]) for t in range(k)] if k > 2 else [(g[0], g[1])]
            pairs += cyc[0::2] + cyc[1::2]
        else:
            pairs += [(g[a], g[b]) for a in range(k) for b in range(a + 1, k)]
    index = [_pair_indices(n, i, j) for i, j in pairs]

    def mix(psi: torch.Tensor, beta: torch.Tensor, n_: int) -> torch.Tensor:
        c, s = torch.cos(beta), torch.sin(beta)
        for a, b in index:
            pa, pb = psi[a], psi[b]
            psi = psi.index_copy(0, a, c * pa - 1j * s * pb).index_copy(0, b, c * pb - 1j * s * pa)
        return psi
    return mix


def rotated_mixer(thetas: Sequence[float]) -> Mixer:
    """Warm-start mixer (Egger et al., Quantum 5, 479, 2021): ``RY(theta_j) RZ(-2 beta) RY(-theta_j)`` per qubit.

    Its ground state is the warm-start state ``prod_j RY(theta_j)|0>``; with ``theta_j = pi/2`` it is
    ``exp(+i beta X_j)``.

    Examples:
        >>> psi = torch.tensor([1, 0], dtype=torch.complex128)
        >>> out = rotated_mixer([math.pi / 2])(psi, torch.tensor(0.3, dtype=torch.float64), 1)
        >>> ref = x_mixer()(psi, torch.tensor(-0.3, dtype=torch.float64), 1)
        >>> bool(torch.allclose(out, ref))
        True
    """
    th = [float(t) for t in thetas]

    def ry(t: float) -> torch.Tensor:
        c, s = math.cos(t / 2), math.sin(t / 2)
        return torch.tensor([[c, -s], [s, c]], dtype=torch.complex128)

    rys = [(ry(t), ry(-t)) for t in th]

    def mix(psi: torch.Tensor, beta: torch.Tensor, n: int) -> torch.Tensor:
        ph = torch.exp(1j * beta.to(torch.complex128))  # RZ(-2 beta) = diag(e^{i beta}, e^{-i beta})
        z0 = torch.zeros((), dtype=torch.complex128)
        rz = torch.stack([torch.stack([ph, z0]), torch.stack([z0, ph.conj()])])
        for q in range(n):
            u = rys[q][0] @ rz @ rys[q][1]
            psi = _apply_1q(psi, u, q, n)
        return psi
    return mix


def evolve_torch(diagonal: torch.Tensor, gammas: torch.Tensor, betas: torch.Tensor, *,
                 initial: torch.Tensor | None = None, mixer: Mixer | None = None) -> torch.Tensor:
    """``prod_k M(beta_k) exp(-i gamma_k C) |initial>`` in torch (differentiable; any mixer).

    Args:
        diagonal: ``C``, real tensor of shape ``(2**n,)``.
        gammas, betas: real tensors of shape ``(p,)``.
        initial: complex128 state (default ``|+>^n``).
        mixer: ``(psi, beta, n) -> psi`` (default :func:`x_mixer`).

    Returns:
        complex128 state of shape ``(2**n,)``.

    Examples:
        >>> d = torch.tensor([0.0, -1.0, -1.0, 0.0], dtype=torch.float64)
        >>> psi = evolve_torch(d, torch.tensor([0.3]), torch.tensor([-0.4]))
        >>> round(float((d * psi.abs() ** 2).sum()), 6)
        -0.647697
    """
    d = torch.as_tensor(diagonal, dtype=torch.float64)
    n = int(d.numel()).bit_length() - 1
    if initial is None:
        psi = torch.full((2**n,), 2.0 ** (-n / 2), dtype=torch.complex128)
    else:
        psi = torch.as_tensor(initial).to(torch.complex128)
    mix = mixer if mixer is not None else x_mixer()
    g = torch.as_tensor(gammas, dtype=torch.float64)
    b = torch.as_tensor(betas, dtype=torch.float64)
    for k in range(g.shape[-1]):
        psi = psi * torch.exp(-1j * g[k] * d)
        psi = mix(psi, b[k], n)
    return psi


def _expectation_torch(diag: torch.Tensor, gammas: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    psi = evolve_torch(diag, gammas, betas)
    return (diag * (psi.real**2 + psi.imag**2)).sum()
