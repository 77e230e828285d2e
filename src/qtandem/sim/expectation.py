"""Expectation values of Pauli sums on state vectors, without dense matrices.

Terms are grouped by their X/Y *flip mask* ``m``: every term in a group maps
amplitude ``i ^ m`` to ``i`` with a phase that depends only on the Z/Y bits of
``i``. Per group, the state is flipped once (a view-level ``flip`` along the
masked qubit axes) and all the group's phases are summed into one weight tensor
built by broadcasting per-qubit ``(2,)`` factors, so a group costs one pass over
the state whatever its number of terms. Z-only terms share one ``|psi|^2``.

Examples:
    >>> import torch
    >>> from qtandem.circuit.pauli import PauliSum
    >>> from qtandem.sim.expectation import pauli_expectation
    >>> plus = torch.tensor([1, 1], dtype=torch.complex128) / 2**0.5
    >>> round(float(pauli_expectation(plus, PauliSum.from_string("X0 + 0.5*Z0"))), 12)
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from qtandem.circuit.pauli import PauliSum, Word
from qtandem.errors import ObservableError

__all__ = ["pauli_expectation", "pauli_expectation_many"]

Tensor = torch.Tensor


def _weights(n: int, terms: list[tuple[complex, Word]], dtype: torch.dtype, device: torch.device) -> Tensor:
    """``W[i] = sum_t c_t * phase_t(i)`` as a ``(2,)*n`` tensor (axis a <-> qubit n-1-a)."""
    total = torch.zeros((2,) * n, dtype=dtype, device=device)
    for coef, word in terms:
        w = torch.full((1,) * n, complex(coef), dtype=dtype, device=device)
        for q, letter in word:
            if letter == "X":
                continue
            shape = [1] * n
            shape[n - 1 - q] = 2
            # phase as a function of the output bit i_q (the source bit is i_q ^ m_q)
            f = [1.0, -1.0] if letter == "Z" else [-1j, 1j]
            w = w * torch.tensor(f, dtype=dtype, device=device).view(shape)
        total = total + w
    return total


def _grouped(observable: PauliSum) -> dict[int, list[tuple[complex, Word]]]:
    groups: dict[int, list[tuple[complex, Word]]] = {}
    for coef, word in observable.terms:
        mask = 0
        for q, letter in word:
            if letter in ("X", "Y"):
                mask |= 1 << q
        groups.setdefault(mask, []).append((coef, word))
    return groups


def pauli_expectation(state: Tensor, observable: PauliSum) -> Tensor:
    """``<psi|O|psi>`` for a Pauli sum.

    Args:
        state: ``(2**n,)`` or ``(B, 2**n)`` complex tensor (need not be normalised).
        observable: the Pauli sum; it may act on fewer qubits than the state.

    Returns:
        Real tensor ``()`` or ``(B,)`` for a Hermitian observable, complex otherwise.
        Differentiable with respect to ``state``.

    Raises:
        ObservableError: the observable acts on qubits the state does not have.
    """
    single = state.dim() == 1
    st = state.unsqueeze(0) if single else state
    dim = st.shape[-1]
    n = dim.bit_length() - 1
    if 2**n != dim:
        raise ObservableError(f"state length {dim} is not a power of two")
    if observable.num_qubits > n:
        raise ObservableError(f"observable acts on qubit {observable.num_qubits - 1}; the state has {n} qubits")
    b = st.shape[0]
    t = st.reshape((b,) + (2,) * n)
    total = torch.zeros(b, dtype=st.dtype, device=st.device)
    for mask, terms in _grouped(observable).items():
        w = _weights(n, terms, st.dtype, st.device)
        if mask == 0:
            dens = (t.real**2 + t.imag**2).to(st.dtype)
            total = total + (dens * w).reshape(b, -1).sum(-1)
            continue
        axes = [1 + n - 1 - q for q in range(n) if mask >> q & 1]
        flipped = t.flip(axes)
        total = total + (t.conj() * w * flipped).reshape(b, -1).sum(-1)
    out = total.real if observable.is_hermitian() else total
    return out[0] if single else out


def pauli_expectation_many(state: Tensor, observables: Sequence[PauliSum]) -> Tensor:
    """Several observables at once: returns ``(m,)`` or ``(B, m)``."""
    vals = [pauli_expectation(state, o) for o in observables]
    if all(not v.is_complex() for v in vals):
        return torch.stack(vals, dim=-1)
    return torch.stack([v.to(state.dtype) for v in vals], dim=-1)
