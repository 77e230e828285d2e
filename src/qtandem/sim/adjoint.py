"""Adjoint differentiation of expectation values (Jones & Gacon, arXiv:2009.02823).

The forward pass keeps only the final state. The backward pass walks the
circuit's fused gate blocks in reverse with two state vectors: ``phi`` (the
state before the current block) and ``lam`` (the co-state ``sum_k g_k O_k |psi>``,
one vector for all observables, weighted by the incoming gradients ``g_k``),
and hands each block the gradient of its matrix; autograd carries it on to the
gate angles that built the block. Memory is a constant number of states,
independent of depth, where backprop stores one state per fused block.
:func:`qtandem.sim.run_batched` with ``diff_method="adjoint"`` is the entry point;
:func:`adjoint_expval` is its unbatched-friendly spelling.

Examples:
    >>> import torch, qtandem
    >>> from qtandem.sim.adjoint import adjoint_expval
    >>> c = qtandem.Circuit(1).ry(qtandem.Parameter("t"), 0)
    >>> t = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    >>> value = adjoint_expval(c, [qtandem.PauliSum.from_string("Z0")], t)
    >>> value.sum().backward()
    >>> round(float(t.grad[0]), 6)   # d cos(t) / dt = -sin(0.3)
    -0.29552
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import SimulationError
from qtandem.sim.apply import apply_matrix
from qtandem.sim.expectation import pauli_expectation_many

__all__ = ["adjoint_expval", "apply_pauli_sum", "blocks_adjoint_expval"]

Tensor = torch.Tensor


def apply_pauli_sum(state: Tensor, observable: PauliSum, n: int) -> Tensor:
    """``O |psi>`` for a Pauli sum, without a dense matrix. ``state`` is ``(B, 2**n)``.

    Examples:
        >>> import torch
        >>> from qtandem import PauliSum
        >>> zero = torch.tensor([[1, 0]], dtype=torch.complex128)       # |0>, batch of one
        >>> apply_pauli_sum(zero, PauliSum.from_string("X0 + 2*Z0"), 1).real.tolist()
        [[2.0, 1.0]]
    """
    b = state.shape[0]
    t = state.reshape((b,) + (2,) * n)
    out = torch.zeros_like(t)
    for coef, word in observable.terms:
        flips = [1 + n - 1 - q for q, letter in word if letter in ("X", "Y")]
        term = t.flip(flips) if flips else t
        for q, letter in word:
            if letter in ("Z", "Y"):
                axis = 1 + n - 1 - q
                shape = [1] * (n + 1)
                shape[axis] = 2
                # after the flip, entry i holds psi[i ^ m]; Z/Y act on the bit before flipping
                pre_bit_one = torch.tensor([1.0, -1.0] if letter == "Z" else [-1.0, 1.0], dtype=t.real.dtype,
                                           device=t.device)
                if letter == "Y":
                    pre_bit_one = pre_bit_one.to(t.dtype) * 1j
                term = term * pre_bit_one.view(shape).to(t.dtype)
        out = out + complex(coef) * term
    return out.reshape(b, -1)


def adjoint_expval(circuit: Circuit, observables: Sequence[PauliSum], params: Any, *,
                   dtype: torch.dtype = torch.complex128) -> Tensor:
    """Expectation values with adjoint-method gradients.

    The same as ``run_batched(circuit, params, observables=..., diff_method="adjoint")``
    (:func:`qtandem.sim.run_batched`, whose gates are fused into blocks before
    :func:`blocks_adjoint_expval`), without the batch dimension for unbatched ``params``.

    Args:
        circuit: a circuit without measurement, reset or classical control.
        observables: Pauli sums (Hermitian).
        params: ``(P,)`` or ``(B, P)`` tensor in the order of ``circuit.parameters``
            (or a mapping name -> scalar or ``(B,)`` values).
        dtype: simulation dtype.

    Returns:
        ``(m,)`` or ``(B, m)`` real tensor; its gradient w.r.t. ``params`` is
        computed by the adjoint method.

    Raises:
        SimulationError: measurements, resets, classical control or a non-Hermitian observable.

    Examples:
        >>> import torch
        >>> from qtandem import Circuit, Parameter, PauliSum
        >>> c = Circuit(1).ry(Parameter("t"), 0)
        >>> t = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
        >>> value = adjoint_expval(c, [PauliSum.from_string("Z0")], t)    # cos(t)
        >>> value.sum().backward()
        >>> bool(torch.allclose(value, torch.cos(t))), bool(torch.allclose(t.grad, -torch.sin(t)))
        (True, True)
    """
    from qtandem.sim.functional import run_batched

    if any((not inst.is_gate and inst.name not in ("barrier", "delay")) or inst.condition is not None
           for inst in circuit):
        raise SimulationError("adjoint differentiation needs a circuit without measure, reset or classical control")
    for o in observables:
        if not o.is_hermitian():
            raise SimulationError(f"adjoint differentiation needs Hermitian observables, got {o}")
    if isinstance(params, Mapping):
        batched = any((v.dim() if isinstance(v, Tensor) else np.ndim(v)) == 1 for v in params.values())
    else:
        batched = (params.dim() if isinstance(params, Tensor) else np.ndim(params)) == 2
    out = run_batched(circuit, params, observables=list(observables), diff_method="adjoint", dtype=dtype)
    return out if batched else out[0]


def _matrix_grad(lam: Tensor, phi: Tensor, qubits: tuple[int, ...], n: int, batched: bool) -> Tensor:
    """``2 * sum_rest lam[.., i, ..] conj(phi[.., j, ..])`` over the other qubits (and the batch unless ``batched``).

    The gradient torch expects for a matrix ``G`` applied to ``phi`` when ``lam`` is
    the co-state after it (index bit ``j`` of ``G`` <-> ``qubits[j]``).
    """
    b = lam.shape[0]
    k = len(qubits)
    axes = [1 + n - 1 - q for q in reversed(qubits)]  # high index bit first
    rest = [a for a in range(1, n + 1) if a not in axes]
    lt = lam.reshape((b,) + (2,) * n).permute(0, *rest, *axes).reshape(b, -1, 2**k)
    pt = phi.reshape((b,) + (2,) * n).permute(0, *rest, *axes).reshape(b, -1, 2**k)
    if batched:
        return 2 * torch.einsum("bri,brj->bij", lt, pt.conj())
    return 2 * torch.einsum("bri,brj->ij", lt, pt.conj())


class _BlocksAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, state0: Tensor, qubits: tuple[tuple[int, ...], ...],  # type: ignore[override]
                observables: tuple[PauliSum, ...], n: int, *mats: Tensor) -> Tensor:
        with torch.no_grad():
            state = state0
            for qs, m in zip(qubits, mats, strict=True):
                state = apply_matrix(state, m, qs, n)
            out = pauli_expectation_many(state, list(observables))
        ctx.save_for_backward(*mats)
        ctx.qubits, ctx.observables, ctx.n, ctx.state = qubits, observables, n, state
        ctx.state0_grad = state0.requires_grad
        return out.real

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        mats = ctx.saved_tensors
        n = ctx.n
        with torch.no_grad():
            phi = ctx.state
            lam = torch.zeros_like(phi)
            for k, obs in enumerate(ctx.observables):
                lam = lam + grad_out[:, k].to(phi.dtype).unsqueeze(1) * apply_pauli_sum(phi, obs, n)
            grads: list[Tensor | None] = [None] * len(mats)
            for i in range(len(mats) - 1, -1, -1):
                qs, m = ctx.qubits[i], mats[i]
                inv = m.conj().transpose(-1, -2)
                phi = apply_matrix(phi, inv, qs, n)
                if ctx.needs_input_grad[4 + i]:
                    grads[i] = _matrix_grad(lam, phi, qs, n, m.dim() == 3)
                lam = apply_matrix(lam, inv, qs, n)
        g0 = 2 * lam if ctx.state0_grad else None
        return (g0, None, None, None, *grads)


def blocks_adjoint_expval(state0: Tensor, blocks: Sequence[tuple[tuple[int, ...], Tensor]],
                          observables: Sequence[PauliSum], n: int) -> Tensor:
    """``<psi|O_k|psi>`` for ``psi = G_m ... G_1 state0``, with adjoint-method gradients.

    Each ``G_i`` is a *unitary* ``(qubits, matrix)`` block (batched ``(B, d, d)`` or
    shared ``(d, d)``), for example from :func:`qtandem.sim.core.fuse_ops`. The
    forward pass keeps only the final state; the backward pass walks the blocks
    in reverse with two state vectors and hands each block the gradient of its
    matrix, so autograd carries it on to whatever angles built the block. Memory
    is a constant number of states, independent of depth.

    Args:
        state0: ``(B, 2**n)`` initial states (may require grad).
        blocks: unitary blocks in order.
        observables: Hermitian Pauli sums.
        n: number of qubits.

    Returns:
        ``(B, len(observables))`` real tensor.

    Examples:
        >>> import math, torch
        >>> from qtandem import PauliSum
        >>> t = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        >>> c, s = torch.cos(t / 2), torch.sin(t / 2)
        >>> ry = torch.stack([torch.stack([c, -s]), torch.stack([s, c])]).to(torch.complex128)
        >>> zero = torch.tensor([[1, 0]], dtype=torch.complex128)
        >>> value = blocks_adjoint_expval(zero, [((0,), ry)], [PauliSum.from_string("Z0")], 1)
        >>> value.sum().backward()
        >>> round(value.item(), 6) == round(math.cos(0.3), 6), round(t.grad.item(), 6) == round(-math.sin(0.3), 6)
        (True, True)
    """
    qubits = tuple(tuple(q) for q, _ in blocks)
    mats = [m for _, m in blocks]
    out: Tensor = _BlocksAdjoint.apply(state0, qubits, tuple(observables), n, *mats)
    return out
