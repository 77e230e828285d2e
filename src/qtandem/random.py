"""The one place where seeds become random generators.

Every stochastic function in qtandem takes ``seed=`` and passes it here.

Examples:
    >>> from qtandem.random import as_generator
    >>> int(as_generator(7).integers(100)) == int(as_generator(7).integers(100))
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Seed", "as_generator", "torch_generator"]

Seed = int | np.random.Generator | None


def as_generator(seed: Seed) -> np.random.Generator:
    """Return a NumPy ``Generator`` for ``seed``.

    Args:
        seed: an int (reproducible), an existing ``Generator`` (used as is), or
            ``None`` (fresh OS entropy; not reproducible).

    Returns:
        A ``numpy.random.Generator``.

    Raises:
        TypeError: if ``seed`` is of another type.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")


def torch_generator(seed: Seed, device: str | torch.device = "cpu") -> torch.Generator:
    """Return a ``torch.Generator`` seeded from ``seed`` (see :func:`as_generator`)."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(as_generator(seed).integers(2**63 - 1)))
    return gen
