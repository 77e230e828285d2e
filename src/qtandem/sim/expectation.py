"""Expectation values of Pauli sums on state vectors, without dense matrices.

A Pauli word ``P`` with X/Y *flip mask* ``x``, Z/Y mask ``z`` and ``ny`` Y
letters acts as ``(P psi)[i] = (-i)**ny * (-1)**popcount(i & z) * psi[i ^ x]``, so

    ``<psi|P|psi> = (-i)**ny * sum_i v[i] * (-1)**popcount(i & z)``, ``v[i] = conj(psi[i]) * psi[i ^ x]``.

The work is organised by flip mask, shared by all terms of all observables:

1. per distinct mask ``x``: ``psi[i ^ x]`` is a view-level ``flip`` of the state
   (consecutive flipped qubits are merged into one reversed axis, no index tensor),
   and ``v`` is one product; since ``v[i ^ x] = conj(v[i])`` only the half of the
   basis with the top bit of ``x`` clear is computed. For ``x = 0`` (Z-only terms)
   ``v = |psi|**2``, real, computed once;
2. ``v`` is summed over the qubits no term of that mask reads (a marginal), leaving
   ``2**k`` entries for the ``k`` qubits in the union of the Z/Y supports;
3. all the parities ``sum_j r[j] (-1)**popcount(j & z)`` of that mask are one real
   matrix product with a cached ``(K, 2**k)`` matrix of ±1 sign vectors (or a fast
   Walsh-Hadamard transform when there are many patterns on many qubits);
4. one small complex matrix product with the coefficients gives every observable.

Everything is plain torch, hence differentiable with autograd (with respect to the
state) and usable on any device, in complex64 or complex128.

Examples:
    >>> import torch
    >>> from qtandem.circuit.pauli import PauliSum
    >>> from qtandem.sim.expectation import pauli_expectation
    >>> plus = torch.tensor([1, 1], dtype=torch.complex128) / 2**0.5
    >>> round(float(pauli_expectation(plus, PauliSum.from_string("X0 + 0.5*Z0"))), 12)
    1.0
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch

from qtandem.circuit.pauli import PauliSum, word_masks
from qtandem.errors import ObservableError

__all__ = ["dm_expectation", "pauli_expectation", "pauli_expectation_many"]

Tensor = torch.Tensor

# sign matrices bigger than this (entries) are not materialised in one piece
_SIGN_CHUNK = 1 << 22


class _TensorCache:
    """A least-recently-used cache of tensors bounded by their total size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._items: OrderedDict[tuple[Any, ...], Tensor] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Tensor | None:
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
        return hit

    def put(self, key: tuple[Any, ...], value: Tensor) -> None:
        size = value.numel() * value.element_size()
        if size > self.max_bytes // 4 or key in self._items:
            return
        self._items[key] = value
        self.nbytes += size
        while self.nbytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self.nbytes -= old.numel() * old.element_size()


_sign_cache = _TensorCache(128 << 20)


@dataclass
class _Group:
    """All terms (of all observables) sharing one flip mask ``x``.

    For ``x != 0`` only the half of the basis whose bit ``top`` (the highest bit of
    ``x``) is 0 is visited: its partners ``i ^ x`` make up the other half and
    contribute ``conj(v[i]) * sigma`` with ``sigma = (-1)**popcount(x & z)``.
    The half is indexed by ``j`` = ``i`` with bit ``top`` removed (``m = n - 1`` bits).
    """

    mask: int
    top: int  # highest set bit of mask (-1 for mask 0)
    flip_shape: tuple[int, ...]  # the odd half, (B, H, runs of low qubits) to flip
    flip_dims: tuple[int, ...]
    marg_shape: tuple[int, ...]  # v reshaped to runs of read / unread qubits
    marg_dims: tuple[int, ...]  # the unread runs, summed over (descending)
    k: int  # number of qubits read
    patterns: tuple[int, ...]  # distinct Z/Y masks, in local bits (bit r = r-th read qubit, ascending)
    sigma: tuple[float, ...]  # per pattern, (-1)**popcount(x & z) (mask != 0)
    _sigma_tensors: dict[tuple[Any, ...], Tensor] = field(default_factory=dict)

    def sigma_tensor(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        key = (dtype, device)
        if key not in self._sigma_tensors:
            with torch.inference_mode(False):  # cached: must stay usable outside inference mode
                self._sigma_tensors[key] = torch.tensor(self.sigma, dtype=dtype, device=device)
        return self._sigma_tensors[key]


@dataclass
class _Plan:
    n: int
    groups: list[_Group]
    coefs: list[list[complex]]  # (total patterns, observables)
    hermitian: bool
    _coef_tensors: dict[tuple[Any, ...], Tensor] = field(default_factory=dict)

    def coef_tensor(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        key = (dtype, device)
        if key not in self._coef_tensors:
            with torch.inference_mode(False):  # cached: must stay usable outside inference mode
                self._coef_tensors[key] = torch.tensor(self.coefs, dtype=dtype, device=device).reshape(
                    len(self.coefs), -1)
        return self._coef_tensors[key]


def _runs(n: int, selected: int) -> tuple[list[int], list[int]]:
    """Split ``n`` qubits (qubit n-1 first, as in a row-major ``(2,)*n`` view) into runs of
    consecutive qubits all in ``selected`` or all out of it: the run sizes and the
    positions of the selected runs."""
    shape: list[int] = []
    dims: list[int] = []
    prev = None
    for q in range(n - 1, -1, -1):
        bit = selected >> q & 1
        if bit == prev:
            shape[-1] *= 2
        else:
            shape.append(2)
            if bit:
                dims.append(len(shape) - 1)
            prev = bit
    return shape, dims


def _drop_bit(value: int, bit: int) -> int:
    """``value`` with bit ``bit`` removed (higher bits shift down by one)."""
    low = value & ((1 << bit) - 1)
    return ((value >> (bit + 1)) << bit) | low


def _make_group(n: int, mask: int, zmasks: list[int]) -> _Group:
    top = mask.bit_length() - 1
    if mask:
        m = n - 1
        sigma = tuple(-1.0 if (mask & z).bit_count() & 1 else 1.0 for z in zmasks)
        local_z = [_drop_bit(z, top) for z in zmasks]
        runs, dims = _runs(top, mask & ((1 << top) - 1))
        flip_shape = (-1, 2 ** (n - 1 - top), *runs)
        flip_dims = tuple(2 + d for d in dims)
    else:
        m, sigma, local_z = n, (), list(zmasks)
        flip_shape, flip_dims = (), ()
    read = 0
    for z in local_z:
        read |= z
    qubits = [q for q in range(m) if read >> q & 1]
    patterns = []
    for z in local_z:
        p = 0
        for r, q in enumerate(qubits):
            if z >> q & 1:
                p |= 1 << r
        patterns.append(p)
    runs, dims = _runs(m, ((1 << m) - 1) & ~read)
    marg_dims = tuple(sorted((1 + d for d in dims), reverse=True))
    return _Group(mask, top, flip_shape, flip_dims, (-1, *runs), marg_dims, len(qubits), tuple(patterns), sigma)


@lru_cache(maxsize=128)
def _plan(n: int, observables: tuple[PauliSum, ...]) -> _Plan:
    by_mask: dict[int, dict[int, int]] = {}  # mask -> {zmask: row within the group}
    entries: list[tuple[int, int, int, complex]] = []  # (mask, zmask, observable, coefficient)
    for o_idx, obs in enumerate(observables):
        for coef, word in obs.terms:
            if coef == 0:
                continue
            x, z, ny = word_masks(word)
            rows = by_mask.setdefault(x, {})
            if z not in rows:
                rows[z] = len(rows)
            entries.append((x, z, o_idx, coef * (-1j) ** ny))
    groups: list[_Group] = []
    offset: dict[int, int] = {}
    total = 0
    for x, zs in by_mask.items():
        groups.append(_make_group(n, x, list(zs)))
        offset[x] = total
        total += len(zs)
    coefs = [[0j] * len(observables) for _ in range(total)]
    for x, z, o_idx, a in entries:
        coefs[offset[x] + by_mask[x][z]][o_idx] += a
    return _Plan(n, groups, coefs, all(o.is_hermitian() for o in observables))


def _sign_matrix(k: int, patterns: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    """``S[p, j] = (-1)**popcount(j & patterns[p])`` for ``j < 2**k`` (cached within a byte budget)."""
    key = (k, patterns, dtype, device)
    hit = _sign_cache.get(key)
    if hit is not None:
        return hit
    with torch.inference_mode(False):  # cached: must stay usable outside inference mode
        flat = torch.empty(len(patterns), 2**k, dtype=dtype, device=device)
        pm = torch.tensor([1.0, -1.0], dtype=dtype, device=device)
        for row, p in enumerate(patterns):
            t = torch.ones((1,) * k, dtype=dtype, device=device)
            for b in range(k):
                if p >> b & 1:
                    shape = [1] * k
                    shape[k - 1 - b] = 2  # row-major: the last axis is local bit 0
                    t = t * pm.view(shape)
            flat[row] = t.expand((2,) * k).reshape(-1)
    _sign_cache.put(key, flat)
    return flat


def _walsh_hadamard(r: Tensor, k: int) -> Tensor:
    """Unnormalised Walsh-Hadamard transform along axis 1 (``2**k`` long) of a real ``(B, 2**k, C)``."""
    b, _, c = r.shape
    for bit in range(k):
        t = r.reshape(b, 2 ** (k - 1 - bit), 2, 2**bit * c)
        lo, hi = t[:, :, 0], t[:, :, 1]
        r = torch.stack((lo + hi, lo - hi), dim=2)
    return r.reshape(b, 2**k, c)


def _parities(r: Tensor, group: _Group) -> Tensor:
    """``h[:, p] = sum_j r[:, j] (-1)**popcount(j & patterns[p])`` for a real ``(B, 2**k, C)``; ``(B, K, C)``."""
    k, patterns = group.k, group.patterns
    size = len(patterns) * 2**k
    if size > _SIGN_CHUNK and len(patterns) > 3 * k:
        return _walsh_hadamard(r, k)[:, list(patterns)]
    if size <= _SIGN_CHUNK:
        return torch.matmul(_sign_matrix(k, patterns, r.dtype, r.device), r)
    per = max(1, _SIGN_CHUNK // 2**k)
    parts = [torch.matmul(_sign_matrix(k, patterns[i:i + per], r.dtype, r.device), r)
             for i in range(0, len(patterns), per)]
    return torch.cat(parts, dim=1)


def _group_values(psi: Tensor, group: _Group) -> Tensor:
    """Complex ``(B, K)``: ``sum_i conj(psi[i]) psi[i ^ x] (-1)**popcount(i & z)`` for the group's patterns."""
    b = psi.shape[0]
    if group.mask == 0:
        v = psi.real.square() + psi.imag.square()
    else:
        low = 2**group.top
        t = psi.reshape(b, -1, 2, low)
        partner = t[:, :, 1]
        if group.flip_dims:
            partner = partner.reshape(group.flip_shape).flip(group.flip_dims)
        v = (t[:, :, 0].conj() * partner.reshape(b, -1, low)).reshape(b, -1)
    if group.marg_dims:
        v = v.reshape(group.marg_shape)
        for d in group.marg_dims:
            v = v.sum(d)
    v = v.reshape(b, 2**group.k)
    if not v.is_complex():
        return _parities(v.unsqueeze(-1), group)[..., 0].to(psi.dtype)
    g = torch.view_as_complex(_parities(torch.view_as_real(v), group))
    return g + group.sigma_tensor(g.real.dtype, g.device) * g.conj()


def _prepare(state: Tensor, observables: Sequence[PauliSum | str]) -> tuple[Tensor, tuple[int, ...], int,
                                                                              tuple[PauliSum, ...]]:
    if not isinstance(state, torch.Tensor):
        raise ObservableError(f"the state must be a torch.Tensor, got {type(state).__name__}")
    if state.dim() == 0:
        raise ObservableError("the state must have shape (2**n,) or (batch, 2**n), got a scalar")
    if not state.is_complex():
        if not state.is_floating_point():
            raise ObservableError(f"the state must be a complex (or real floating) tensor, got {state.dtype}")
        state = state.to(torch.complex128 if state.dtype == torch.float64 else torch.complex64)
    dim = state.shape[-1]
    n = dim.bit_length() - 1
    if dim < 1 or 2**n != dim:
        raise ObservableError(f"the state's last dimension ({dim}) is not a power of two")
    obs = tuple(o if isinstance(o, PauliSum) else PauliSum.from_string(o) for o in observables)
    for o in obs:
        if not isinstance(o, PauliSum):
            raise ObservableError(f"observables must be PauliSum or str, got {type(o).__name__}")
        if o.num_qubits > n:
            raise ObservableError(f"the observable {o} acts on qubit {o.num_qubits - 1} but the state has {n} "
                                  f"qubit{'s' if n != 1 else ''}")
    psi = state.reshape(-1, dim).resolve_conj().resolve_neg().contiguous()
    return psi, tuple(state.shape[:-1]), n, obs


def pauli_expectation_many(state: Tensor, observables: Sequence[PauliSum | str]) -> Tensor:
    """``<psi|O_j|psi>`` for several observables, sharing the work between them.

    Terms of all observables with the same X/Y flip mask share one flipped copy of the
    state and one marginal; see the module docs. No ``2**n x 2**n`` matrix is formed.

    Args:
        state: complex tensor of shape ``(2**n,)`` or ``(..., 2**n)`` (for example
            ``(batch, 2**n)``); it need not be normalised. Real floating states are
            promoted to complex.
        observables: Pauli sums (or strings for :meth:`PauliSum.from_string`) acting on
            qubits ``< n``.

    Returns:
        Tensor of shape ``(..., len(observables))``: real (``float32`` for
        ``complex64`` states, ``float64`` for ``complex128``) when every observable is
        Hermitian, complex otherwise. Differentiable with respect to ``state``; on the
        state's device.

    Raises:
        ObservableError: the state's length is not a power of two, or an observable acts
            on a qubit the state does not have.

    Examples:
        >>> import torch
        >>> from qtandem.circuit.pauli import PauliSum
        >>> bell = torch.tensor([1, 0, 0, 1], dtype=torch.complex128) / 2**0.5
        >>> pauli_expectation_many(bell, ["Z0 Z1", "X0 X1", "Y0 Y1", "Z0"]).tolist()
        [0.9999999999999998, 0.9999999999999998, -0.9999999999999998, 0.0]
        >>> batch = torch.stack([bell, torch.tensor([1, 0, 0, 0], dtype=torch.complex128)])
        >>> pauli_expectation_many(batch, [PauliSum.from_string("Z0 + Z1")]).shape
        torch.Size([2, 1])
    """
    psi, lead, n, obs = _prepare(state, observables)
    real_dtype = psi.real.dtype
    plan = _plan(n, obs)
    if not obs or not plan.groups:
        out = torch.zeros((psi.shape[0], len(obs)), dtype=real_dtype if plan.hermitian else psi.dtype,
                          device=psi.device)
        return out.reshape(*lead, len(obs))
    h = torch.cat([_group_values(psi, g) for g in plan.groups], dim=1)
    vals = h @ plan.coef_tensor(psi.dtype, psi.device)
    if plan.hermitian:
        vals = vals.real
    return vals.reshape(*lead, len(obs))


def pauli_expectation(state: Tensor, observable: PauliSum | str) -> Tensor:
    """``<psi|O|psi>`` for a Pauli sum, without a dense matrix.

    Args:
        state: complex tensor of shape ``(2**n,)`` or ``(..., 2**n)``; need not be normalised.
        observable: the Pauli sum (or a string for :meth:`PauliSum.from_string`); it may
            act on fewer qubits than the state.

    Returns:
        Tensor of shape ``()`` or ``(...)``: real for a Hermitian observable, complex
        otherwise. Differentiable with respect to ``state``.

    Raises:
        ObservableError: the state's length is not a power of two, or the observable
            acts on a qubit the state does not have.

    Examples:
        >>> import torch
        >>> from qtandem.circuit.pauli import PauliSum, X, Y
        >>> psi = torch.tensor([1, 1j], dtype=torch.complex128) / 2**0.5   # the +1 eigenstate of Y
        >>> float(pauli_expectation(psi, Y(0)))
        0.9999999999999998
        >>> complex(pauli_expectation(psi, X(0) @ Y(0)))   # X Y = iZ, not Hermitian
        0j
    """
    return pauli_expectation_many(state, [observable])[..., 0]


def dm_expectation(rho: Tensor, observable: PauliSum) -> Tensor:
    """``Tr(rho O)`` for a Pauli sum without building ``O`` (batched over leading dims).

    Args:
        rho: ``(..., 2**n, 2**n)`` density matrix (or matrices).
        observable: the Pauli sum.

    Returns:
        ``(...)``, real when ``observable`` is Hermitian.

    Examples:
        >>> from qtandem import Circuit, PauliSum, statevector
        >>> psi = statevector(Circuit(2).h(0).cx(0, 1))
        >>> rho = torch.outer(psi, psi.conj())
        >>> round(dm_expectation(rho, PauliSum.from_string("Z0 Z1 + X0 X1")).item(), 6)
        2.0
    """
    dim = rho.shape[-1]
    j = torch.arange(dim, device=rho.device)
    total = torch.zeros(rho.shape[:-2], dtype=rho.dtype, device=rho.device)
    for coef, word in observable.terms:
        xmask = zmask = ny = 0
        for q, letter in word:
            if letter in ("X", "Y"):
                xmask |= 1 << q
            if letter in ("Z", "Y"):
                zmask |= 1 << q
            ny += letter == "Y"
        parity = _popcount_parity(j & zmask)
        phase = (1j**ny) * (1 - 2 * parity).to(rho.dtype)
        vals = rho[..., j, j ^ xmask]
        total = total + complex(coef) * (phase * vals).sum(-1)
    return total.real if observable.is_hermitian() else total


def _popcount_parity(x: Tensor) -> Tensor:
    parity = torch.zeros_like(x)
    while bool((x > 0).any()):
        parity ^= x & 1
        x = x >> 1
    return parity
