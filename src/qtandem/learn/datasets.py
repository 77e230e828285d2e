"""Bitstring data sets for generative models, each with its exact target distribution.

A :class:`BitDataset` is a distribution over ``n`` bits (``2**n`` outcomes) that a model learns
from samples only; the exact probabilities are kept for evaluation (KL divergence, valid
fraction), never for training. Outcome ``k`` is the bitstring whose bit ``q`` is ``(k >> q) & 1``
(column ``q`` of a ``(shots, n)`` sample array), the same order as qtandem's simulator
(:func:`qtandem.sim.run_batched` with ``output="probs"``).

* :func:`bars_and_stripes` -- the uniform distribution over the bars-and-stripes images of a
  ``rows x cols`` grid (Liu & Wang 2018): ``2**rows + 2**cols - 2`` valid images.
* :func:`gaussian_mixture` -- a mixture of Gaussians discretised on the ``2**n`` integers.
* :func:`lognormal` -- a log-normal asset price discretised on ``2**n`` grid points
  (the distribution of option pricing; :meth:`BitDataset.expectation` prices a call).

Examples:
    >>> data = bars_and_stripes(2, 2)
    >>> data.n_bits, int((data.probabilities > 0).sum())
    (4, 6)
    >>> bits = data.sample(1000, seed=0)
    >>> bits.shape, data.valid_fraction(bits)
    ((1000, 4), 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qtandem.errors import DatasetError
from qtandem.random import Seed, as_generator

__all__ = ["BitDataset", "bars_and_stripes", "bits_to_index", "gaussian_mixture", "index_to_bits", "lognormal",
           "smoothed_kl"]

MAX_BITS = 20


def index_to_bits(index: np.ndarray, n_bits: int) -> np.ndarray:
    """``(shots,)`` outcome indices -> ``(shots, n_bits)`` uint8 bits (bit ``q`` in column ``q``).

    Examples:
        >>> index_to_bits(np.array([0, 1, 6]), 3).tolist()
        [[0, 0, 0], [1, 0, 0], [0, 1, 1]]
    """
    idx = np.asarray(index, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n_bits)) & 1).astype(np.uint8)


def bits_to_index(bits: np.ndarray) -> np.ndarray:
    """``(shots, n)`` bits -> ``(shots,)`` int64 outcome indices (inverse of :func:`index_to_bits`).

    Raises:
        DatasetError: not a 2-D array of 0/1 values, or more than 20 bits.

    Examples:
        >>> bits_to_index(np.array([[0, 1, 1], [1, 0, 0]])).tolist()
        [6, 1]
    """
    arr = np.asarray(bits)
    if arr.ndim != 2:
        raise DatasetError(f"samples must be a (shots, n_bits) array of 0/1, got shape {arr.shape}")
    if arr.shape[1] > MAX_BITS:
        raise DatasetError(f"{arr.shape[1]} bits: at most {MAX_BITS} are supported (2**n outcomes are enumerated)")
    if arr.size and not np.isin(arr, (0, 1)).all():
        bad = sorted({v.item() for v in np.unique(arr)} - {0, 1})[:3]
        raise DatasetError(f"samples must hold only 0 and 1, found {bad}")
    return (arr.astype(np.int64) << np.arange(arr.shape[1])).sum(axis=1)


def smoothed_kl(target: np.ndarray, model: np.ndarray, *, eps: float = 1e-12) -> float:
    """``KL(target || model)`` in nats, model probabilities floored at ``eps`` (then renormalised).

    Examples:
        >>> round(smoothed_kl(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 4)
        0.1438
    """
    p = np.asarray(target, dtype=np.float64)
    q = np.maximum(np.asarray(model, dtype=np.float64), eps)
    q = q / q.sum()
    m = p > 0
    return float(np.sum(p[m] * (np.log(p[m]) - np.log(q[m]))))


@dataclass(frozen=True)
class BitDataset:
    """A distribution over ``n_bits`` bits: exact probabilities (for evaluation) and a seeded sampler.

    Attributes:
        name: short description.
        probabilities: ``(2**n_bits,)`` float64 exact target distribution.
        values: ``(2**n_bits,)`` float64 value of each outcome (grid point of a discretised
            variable; the outcome index for bit patterns).

    Examples:
        >>> d = BitDataset("coin", np.array([0.5, 0.5]), np.array([0.0, 1.0]))
        >>> d.n_bits, d.kl(np.array([0.5, 0.5]))
        (1, 0.0)
    """

    name: str
    probabilities: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        p = np.asarray(self.probabilities, dtype=np.float64)
        n = p.size.bit_length() - 1
        if p.ndim != 1 or p.size != 2**n or n < 1:
            raise DatasetError(f"probabilities must have 2**n entries (n >= 1), got shape {p.shape}")
        if (p < 0).any() or not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
            raise DatasetError(f"probabilities must be non-negative and sum to 1 (sum {p.sum():.6g})")
        if np.shape(self.values) != p.shape:
            raise DatasetError(f"values has shape {np.shape(self.values)}; expected {p.shape}")
        object.__setattr__(self, "probabilities", p)
        object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64))

    @property
    def n_bits(self) -> int:
        """Bits per sample (qubits of a Born machine that models it)."""
        return int(self.probabilities.size.bit_length() - 1)

    def sample(self, shots: int, *, seed: Seed = None) -> np.ndarray:
        """``(shots, n_bits)`` uint8 samples, seeded.

        Examples:
            >>> bars_and_stripes(2, 2).sample(2, seed=1).tolist()
            [[0, 1, 0, 1], [1, 1, 1, 1]]
        """
        if int(shots) != shots or shots < 1:
            raise DatasetError(f"shots must be a positive integer, got {shots!r}")
        idx = as_generator(seed).choice(self.probabilities.size, size=int(shots), p=self.probabilities)
        return index_to_bits(idx, self.n_bits)

    def kl(self, model: np.ndarray) -> float:
        """``KL(target || model)`` in nats for a model's ``(2**n,)`` probabilities (see :func:`smoothed_kl`).

        Examples:
            >>> d = bars_and_stripes(2, 2)
            >>> round(d.kl(np.full(16, 1 / 16)), 4)        # log(16 / 6)
            0.9808
        """
        q = np.asarray(model, dtype=np.float64).reshape(-1)
        if q.size != self.probabilities.size:
            raise DatasetError(f"model has {q.size} probabilities; the data set has {self.probabilities.size}")
        return smoothed_kl(self.probabilities, q)

    def valid_fraction(self, samples: np.ndarray) -> float:
        """Fraction of samples in the target's support (for bars-and-stripes: valid images).

        Examples:
            >>> bars_and_stripes(2, 2).valid_fraction(np.array([[1, 1, 0, 0], [1, 0, 0, 0]]))
            0.5
        """
        idx = bits_to_index(samples)
        if np.asarray(samples).shape[1] != self.n_bits:
            raise DatasetError(f"samples have {np.asarray(samples).shape[1]} bits; the data set has {self.n_bits}")
        return float((self.probabilities[idx] > 0).mean()) if idx.size else math.nan

    def expectation(self, payoff: np.ndarray | None = None, samples: np.ndarray | None = None) -> float:
        """Mean of ``payoff`` (default: the value itself) under the target, or over ``samples``.

        Args:
            payoff: ``(2**n,)`` value per outcome (e.g. ``np.maximum(values - strike, 0)``).
            samples: ``(shots, n)`` bits (a model's samples); ``None``: the exact target mean.

        Examples:
            >>> d = lognormal(4, mu=0.0, sigma=0.2)
            >>> call = np.maximum(d.values - 1.0, 0.0)
            >>> exact = d.expectation(call)
            >>> abs(d.expectation(call, d.sample(200000, seed=0)) - exact) < 0.002
            True
        """
        f = self.values if payoff is None else np.asarray(payoff, dtype=np.float64)
        if f.shape != self.probabilities.shape:
            raise DatasetError(f"payoff has shape {f.shape}; expected {self.probabilities.shape}")
        if samples is None:
            return float(self.probabilities @ f)
        return float(f[bits_to_index(samples)].mean())


def _check_bits(n: int, what: str) -> int:
    if int(n) != n or not 1 <= n <= MAX_BITS:
        raise DatasetError(f"{what} must be an integer in [1, {MAX_BITS}], got {n!r}")
    return int(n)


def bars_and_stripes(rows: int, cols: int) -> BitDataset:
    """Uniform over the bars-and-stripes images of a ``rows x cols`` grid (pixel ``r * cols + c`` is bit ``r*cols+c``).

    An image is valid when every row is constant (stripes) or every column is constant (bars):
    ``2**rows + 2**cols - 2`` images (all-0 and all-1 counted once).

    Raises:
        DatasetError: sizes below 1 or more than 20 pixels.

    Examples:
        >>> d = bars_and_stripes(3, 3)
        >>> d.n_bits, int((d.probabilities > 0).sum())
        (9, 14)
    """
    _check_bits(rows * cols if int(rows) == rows and int(cols) == cols and rows > 0 and cols > 0 else 0,
                "rows * cols")
    valid = set()
    for mask in range(2**rows):                   # stripes: row r all equal to bit r of mask
        valid.add(sum(((mask >> r) & 1) << (r * cols + c) for r in range(rows) for c in range(cols)))
    for mask in range(2**cols):                   # bars: column c all equal to bit c of mask
        valid.add(sum(((mask >> c) & 1) << (r * cols + c) for r in range(rows) for c in range(cols)))
    p = np.zeros(2**(rows * cols))
    p[sorted(valid)] = 1.0 / len(valid)
    return BitDataset(f"bars-and-stripes {rows}x{cols}", p, np.arange(p.size, dtype=np.float64))


def gaussian_mixture(n_bits: int, means: Sequence[float] = (0.3, 0.7), stds: Sequence[float] = (0.08, 0.08),
                     weights: Sequence[float] | None = None) -> BitDataset:
    """A Gaussian mixture discretised on the ``2**n_bits`` points ``k / (2**n_bits - 1)`` of ``[0, 1]``.

    Each point's probability is the mixture density there, normalised over the grid.

    Raises:
        DatasetError: mismatched lengths, non-positive ``stds`` or ``weights``.

    Examples:
        >>> d = gaussian_mixture(6)
        >>> d.n_bits, int(np.argmax(d.probabilities[:32])), round(d.expectation(), 3)
        (6, 19, 0.5)
    """
    n = _check_bits(n_bits, "n_bits")
    w = np.ones(len(means)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (len(means) == len(stds) == len(w)) or not len(means):
        raise DatasetError(f"means, stds and weights need equal, non-zero lengths, got {len(means)}, {len(stds)}, "
                           f"{len(w)}")
    if min(stds) <= 0 or (w <= 0).any():
        raise DatasetError("stds and weights must be positive")
    x = np.arange(2**n) / (2**n - 1)
    dens = sum(wi * np.exp(-0.5 * ((x - m) / s) ** 2) / s for m, s, wi in zip(means, stds, w, strict=True))
    p = np.asarray(dens, dtype=np.float64)
    return BitDataset(f"Gaussian mixture ({n} bits)", p / p.sum(), x)


def lognormal(n_bits: int, *, mu: float = 0.0, sigma: float = 0.2, low: float | None = None,
              high: float | None = None) -> BitDataset:
    """A log-normal price ``S = exp(N(mu, sigma**2))`` discretised on ``2**n_bits`` points in ``[low, high]``.

    The default range is the mean +/- 3 standard deviations (clipped at 0), as in the option-pricing
    loaders of Stamatopoulos et al. (Quantum 2020); the probabilities are the density at each grid
    point, normalised over the grid.

    Raises:
        DatasetError: ``sigma <= 0`` or ``low >= high``.

    Examples:
        >>> d = lognormal(5, mu=0.0, sigma=0.2)
        >>> round(float(d.values[0]), 3), round(float(d.values[-1]), 3), round(d.expectation(), 2)
        (0.402, 1.638, 1.02)
    """
    n = _check_bits(n_bits, "n_bits")
    if sigma <= 0:
        raise DatasetError(f"sigma must be positive, got {sigma}")
    mean = math.exp(mu + sigma**2 / 2)
    std = math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2))
    lo = max(0.0, mean - 3 * std) if low is None else float(low)
    hi = mean + 3 * std if high is None else float(high)
    if not 0 <= lo < hi:
        raise DatasetError(f"need 0 <= low < high, got low={lo}, high={hi}")
    s = np.linspace(lo, hi, 2**n)
    with np.errstate(divide="ignore"):
        dens = np.where(s > 0, np.exp(-((np.log(np.where(s > 0, s, 1.0)) - mu) ** 2) / (2 * sigma**2))
                        / np.where(s > 0, s, 1.0), 0.0)
    return BitDataset(f"log-normal (mu={mu}, sigma={sigma}, {n} bits)", dens / dens.sum(), s)
