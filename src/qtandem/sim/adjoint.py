"""Adjoint differentiation of expectation values (Jones & Gacon, arXiv:2009.02823).

The forward pass keeps only the final state. The backward pass walks the
circuit in reverse with three state vectors: ``phi`` (the state before the
current gate), ``lam`` (the co-state ``sum_k g_k O_k |psi>``, one vector for all
observables, weighted by the incoming gradients ``g_k``) and a scratch vector
for ``dU/dtheta |phi>``. Memory is a constant number of states, independent of
depth, where backprop stores one state per gate (or per fused block).

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

from collections.abc import Sequence
from typing import Any

import torch

from qtandem.circuit.circuit import Circuit, inverse_instruction
from qtandem.circuit.gates import controlled_matrix, gate_matrix
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import ParameterExpression
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import SimulationError
from qtandem.sim.apply import apply_matrix
from qtandem.sim.core import ParamSpec, apply_instruction, evaluate_angle, resolve_params, run
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


def _gate_function(inst: Instruction, spec: ParamSpec, dtype: torch.dtype, device: Any):
    """``angles -> matrix`` for a parametrised instruction (modifiers included)."""
    def fn(*angles: Tensor) -> Tensor:
        m = gate_matrix(inst.name, list(angles), num_qubits=len(inst.qubits) - inst.ctrl, dtype=dtype, device=device)
        if inst.inverted:
            m = m.conj().transpose(-1, -2)
        return controlled_matrix(m, inst.ctrl) if inst.ctrl else m

    return fn


class _AdjointExpval(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, values: Tensor, circuit: Circuit, observables: tuple[PauliSum, ...],  # type: ignore[override]
                index: dict[str, int], dtype: torch.dtype) -> Tensor:
        spec = ParamSpec(values.detach(), values.shape[0], index)
        with torch.no_grad():
            state, _ = run(circuit, spec.values, dtype=dtype, device=values.device, native=False)
            out = pauli_expectation_many(state, list(observables))
        ctx.save_for_backward(values)
        ctx.circuit, ctx.observables, ctx.index, ctx.dtype = circuit, observables, index, dtype
        ctx.state = state
        return out.real.to(values.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        (values,) = ctx.saved_tensors
        circuit: Circuit = ctx.circuit
        n = circuit.n_qubits
        dtype = ctx.dtype
        spec = ParamSpec(values.detach(), values.shape[0], ctx.index)
        with torch.no_grad():
            phi = ctx.state
            lam = torch.zeros_like(phi)
            for k, obs in enumerate(ctx.observables):
                lam = lam + grad_out[:, k].to(dtype).unsqueeze(1) * apply_pauli_sum(phi, obs, n)
            grad = torch.zeros_like(values)
            for inst in reversed(list(circuit)):
                if inst.name == "barrier":
                    continue
                inv = inverse_instruction(inst)
                phi = apply_instruction(phi, inv, spec, n)
                if inst.is_parametrized:
                    angles = [torch.as_tensor(evaluate_angle(a, spec), dtype=values.dtype, device=values.device)
                              .expand(values.shape[0]).clone() for a in inst.params]
                    fn = _gate_function(inst, spec, dtype, values.device)
                    for j, a in enumerate(inst.params):
                        if not isinstance(a, ParameterExpression) or not a.terms:
                            continue
                        tangents = [torch.zeros_like(x) for x in angles]
                        tangents[j] = torch.ones_like(angles[j])
                        _, dmat = torch.func.jvp(fn, tuple(angles), tuple(tangents))  # type: ignore[misc]
                        mu = apply_matrix(phi, dmat, inst.qubits, n)
                        g = 2 * (lam.conj() * mu).sum(dim=1).real
                        for p, coef in a.terms.items():
                            grad[:, spec.index[p.name]] += coef * g
                lam = apply_instruction(lam, inv, spec, n)
        return grad, None, None, None, None


def adjoint_expval(circuit: Circuit, observables: Sequence[PauliSum], params: Any, *,
                   dtype: torch.dtype = torch.complex128) -> Tensor:
    """Expectation values with adjoint-method gradients.

    Args:
        circuit: a circuit without measurement, reset or classical control.
        observables: Pauli sums (Hermitian).
        params: ``(P,)`` or ``(B, P)`` tensor in the order of ``circuit.parameters``.
        dtype: simulation dtype.

    Returns:
        ``(m,)`` or ``(B, m)`` real tensor; its gradient w.r.t. ``params`` is
        computed by the adjoint method.

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
    if any((not inst.is_gate and inst.name != "barrier") or inst.condition is not None for inst in circuit):
        raise SimulationError("adjoint differentiation needs a circuit without measure, reset or classical control")
    for o in observables:
        if not o.is_hermitian():
            raise SimulationError(f"adjoint differentiation needs Hermitian observables, got {o}")
    spec = resolve_params(circuit, params, dtype=dtype)
    values = params if isinstance(params, Tensor) else spec.values
    if values is None:
        raise SimulationError("adjoint_expval needs a params tensor (the circuit has no parameters)")
    if not isinstance(params, Tensor) or params.dim() not in (1, 2):
        values = spec.values
    assert values is not None
    batched = values.dim() == 2
    vals2 = values if batched else values.unsqueeze(0)
    out = _AdjointExpval.apply(vals2, circuit, tuple(observables), spec.index, dtype)
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
