"""Classical readout (measurement) errors as confusion matrices.

Examples:
    >>> from qtandem.noise import readout_error
    >>> err = readout_error(0.02, 0.05)
    >>> err.matrix.tolist()
    [[0.98, 0.05], [0.02, 0.95]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from qtandem.errors import NoiseError
from qtandem.random import Seed, as_generator

__all__ = ["ReadoutError", "readout_error"]


class ReadoutError:
    """A confusion matrix ``M[i, j] = P(read i | true j)`` on ``k`` measured bits.

    Column ``j`` sums to one. For several bits, the first bit is the least
    significant bit of ``i`` and ``j``, so correlated errors are expressed directly.

    Args:
        matrix: ``(2**k, 2**k)`` column-stochastic matrix (array-like or tensor;
            a tensor that requires grad makes noisy probabilities differentiable).

    Raises:
        NoiseError: wrong shape, negative entries or columns that do not sum to one.

    Examples:
        >>> error = ReadoutError([[0.9, 0.2], [0.1, 0.8]])
        >>> error.matrix.shape
        torch.Size([2, 2])
        >>> ReadoutError([[0.9, 0.2], [0.2, 0.8]])
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: ...
    """

    def __init__(self, matrix: object) -> None:
        try:
            m = matrix if isinstance(matrix, torch.Tensor) else torch.as_tensor(np.asarray(matrix, dtype=float))
        except (TypeError, ValueError) as err:
            raise NoiseError(f"a readout confusion matrix must be a square array of numbers ({err})") from None
        m = m.to(torch.float64)
        d = m.shape[0] if m.dim() == 2 else 0
        if m.dim() != 2 or m.shape[0] != m.shape[1] or d < 2 or d & (d - 1):
            raise NoiseError(f"a readout confusion matrix must be 2^k x 2^k, got shape {tuple(m.shape)}")
        md = m.detach()
        if float(md.min()) < -1e-12:
            raise NoiseError(f"readout confusion matrix has a negative entry ({float(md.min()):.3g})")
        sums = md.sum(dim=0)
        if float((sums - 1).abs().max()) > 1e-9:
            raise NoiseError(f"each column of a readout confusion matrix must sum to 1 (P(read i | true j)); "
                             f"column sums are {sums.tolist()}")
        self.matrix = m
        self.num_qubits = int(d).bit_length() - 1

    def apply_to_probabilities(self, probs: torch.Tensor, qubits: Sequence[int], n: int) -> torch.Tensor:
        """Apply to a ``(..., 2**n)`` probability vector on ``qubits`` (differentiable)."""
        k = self.num_qubits
        if len(qubits) != k:
            raise NoiseError(f"readout error on {k} bit(s) applied to {len(qubits)} qubit(s)")
        from qtandem.sim.apply import apply_matrix

        lead = probs.shape[:-1]
        flat = probs.reshape(-1, 2**n).to(torch.float64)
        out = apply_matrix(flat, self.matrix.to(flat.device), tuple(qubits), n)
        return out.reshape(*lead, 2**n)

    def apply_to_bits(self, bits: np.ndarray, columns: Sequence[int], seed: Seed = None) -> np.ndarray:
        """Flip sampled bits ``(shots, n_bits)`` in ``columns`` according to the matrix (returns a copy)."""
        rng = as_generator(seed)
        out = bits.copy()
        k = self.num_qubits
        true = np.zeros(out.shape[0], dtype=np.int64)
        for j, c in enumerate(columns):
            true |= out[:, c].astype(np.int64) << j
        cdf = np.cumsum(self.matrix.detach().cpu().numpy(), axis=0)  # (2^k read, 2^k true)
        u = np.asarray(rng.random(out.shape[0]))
        read = (u[:, None] > cdf[:, true].T).sum(axis=1).clip(max=2**k - 1)
        for j, c in enumerate(columns):
            out[:, c] = (read >> j) & 1
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        m = self.matrix.detach().tolist()
        if self.num_qubits == 1:
            return {"p01": m[1][0], "p10": m[0][1]}
        return {"matrix": m}

    def __repr__(self) -> str:
        return f"ReadoutError(bits={self.num_qubits}, matrix={self.matrix.detach().tolist()})"


def readout_error(p01: float | torch.Tensor, p10: float | torch.Tensor) -> ReadoutError:
    """Single-bit readout error.

    Args:
        p01: probability of reading 1 when the qubit is in |0>.
        p10: probability of reading 0 when the qubit is in |1>.

    Examples:
        >>> readout_error(p01=0.1, p10=0.2).matrix.tolist()
        [[0.9, 0.2], [0.1, 0.8]]
    """
    def real(x: object, name: str) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x
        try:
            if isinstance(x, bool | str):
                raise TypeError
            return torch.tensor(float(x), dtype=torch.float64)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise NoiseError(f"{name} must be a probability (a number in [0, 1]), got {x!r}") from None

    a, b = real(p01, "p01"), real(p10, "p10")
    for name, v in (("p01", a), ("p10", b)):
        if not 0.0 <= float(v.detach()) <= 1.0:
            raise NoiseError(f"{name} must be in [0, 1], got {float(v.detach())}")
    one = torch.ones((), dtype=torch.float64)
    m = torch.stack([torch.stack([one - a, b.to(torch.float64)]), torch.stack([a.to(torch.float64), one - b])])
    return ReadoutError(m)
