"""The one place where seeds become random generators.

Every stochastic function in qtandem takes ``seed=`` and passes it here. The trainers
(:mod:`qtandem.training`) derive one seed per random stream from the run's seed with
:func:`derive_seed` and turn it into a generator with :func:`torch_generator_from` (or seed
torch's global generator, inside ``torch.random.fork_rng``, with :func:`seed_torch`).

Examples:
    >>> from qtandem.random import as_generator
    >>> int(as_generator(7).integers(100)) == int(as_generator(7).integers(100))
    True
    >>> derive_seed(3, 1, 0) == derive_seed(3, 1, 0) != derive_seed(3, 1, 1)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Seed", "as_generator", "derive_seed", "seed_torch", "torch_generator", "torch_generator_from"]

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
        SeedError: a negative integer.

    Examples:
        >>> a, b = as_generator(7), as_generator(7)
        >>> int(a.integers(1000)) == int(b.integers(1000))
        True
        >>> as_generator(a) is a
        True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        if seed is not None and seed < 0:
            from qtandem.errors import SeedError

            raise SeedError(f"seed must be a non-negative integer, got {seed}")
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")


def torch_generator(seed: Seed, device: str | torch.device = "cpu") -> torch.Generator:
    """Return a ``torch.Generator`` seeded from ``seed`` (see :func:`as_generator`).

    Examples:
        >>> import torch
        >>> x = torch.rand(2, generator=torch_generator(3))
        >>> torch.equal(x, torch.rand(2, generator=torch_generator(3)))
        True
    """
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(as_generator(seed).integers(2**63 - 1)))
    return gen


def derive_seed(*keys: int, bits: int = 32) -> int:
    """A seed for one random stream, derived from ``keys`` (a run's seed, then stream numbers).

    NumPy's ``SeedSequence`` mixes the keys, so nearby keys give unrelated seeds.

    Args:
        *keys: non-negative integers, e.g. ``(seed, stream)`` or ``(seed, stream, step)``.
        bits: 32 (the first 32-bit word of the sequence) or 62 (the first 64-bit word shifted
            right by 2, a non-negative value that fits ``torch.manual_seed``).

    Returns:
        An integer in ``[0, 2**bits)``.

    Raises:
        ValueError: ``bits`` is neither 32 nor 62.

    Examples:
        >>> derive_seed(0, 1)
        3964924996
        >>> derive_seed(0, 7919, 1, bits=62) < 2**62
        True
    """
    ss = np.random.SeedSequence([int(k) for k in keys])
    if bits == 32:
        return int(ss.generate_state(1, dtype=np.uint32)[0])
    if bits == 62:
        return int(ss.generate_state(1, dtype=np.uint64)[0] >> 2)
    raise ValueError(f"bits must be 32 or 62, got {bits}")


def torch_generator_from(value: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded with exactly ``value`` (e.g. from :func:`derive_seed`).

    Examples:
        >>> import torch
        >>> a, b = torch_generator_from(5), torch_generator_from(5)
        >>> bool(torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b)))
        True
    """
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(value))
    return gen


def seed_torch(value: int) -> None:
    """Seed torch's global generator (from which ``nn`` modules draw initial weights) with ``value``.

    Call it inside ``torch.random.fork_rng(devices=[])`` so that the caller's global stream is
    left as it was.

    Examples:
        >>> import torch
        >>> with torch.random.fork_rng(devices=[]):
        ...     seed_torch(5)
        ...     a = torch.rand(2)
        ...     seed_torch(5)
        ...     torch.equal(a, torch.rand(2))
        True
    """
    import torch

    torch.manual_seed(int(value))
