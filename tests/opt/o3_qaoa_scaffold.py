"""TEMPORARY scaffold (O3): a small exact QAOA energy used only until qtandem.opt.qaoa_expectation lands.

Same convention as the contract: |psi> = prod_k exp(-i beta_k sum_j X_j) exp(-i gamma_k C) |+>^n, C the
QUBO energy (diagonal). Not part of the package.
"""

from __future__ import annotations

from typing import Any

import torch


def qaoa_expectation(qubo: Any, gammas: Any, betas: Any) -> torch.Tensor:
    q = getattr(qubo, "qubo", qubo)
    n = q.n
    diag = torch.as_tensor(q.diagonal(), dtype=torch.float64)
    g = torch.as_tensor(gammas, dtype=torch.float64)
    b = torch.as_tensor(betas, dtype=torch.float64)
    psi = torch.full((2**n,), 2.0 ** (-n / 2), dtype=torch.complex128)
    for k in range(g.shape[-1]):
        psi = psi * torch.exp(-1j * g[k] * diag)
        c, s = torch.cos(b[k]), torch.sin(b[k])
        t = psi.reshape((2,) * n)
        for ax in range(n):
            t = c * t - 1j * s * torch.flip(t, dims=(ax,))
        psi = t.reshape(-1)
    return (psi.abs() ** 2 * diag).sum()
