"""Bit data sets for Born machines: exact targets against independent references (brute force, SciPy's
densities, the Black-Scholes call price), seeded samplers against their targets, and bad input refused."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from qtandem.errors import DatasetError
from qtandem.learn.datasets import (
    BitDataset,
    bars_and_stripes,
    bits_to_index,
    gaussian_mixture,
    index_to_bits,
    lognormal,
    smoothed_kl,
)


def _is_bas(image: np.ndarray) -> bool:
    rows_const = all(len(set(row)) == 1 for row in image)
    cols_const = all(len(set(col)) == 1 for col in image.T)
    return rows_const or cols_const


@pytest.mark.parametrize(("rows", "cols"), [(1, 3), (2, 2), (2, 3), (3, 3), (3, 4)])
def test_bars_and_stripes_is_uniform_over_brute_force_valid_images(rows: int, cols: int) -> None:
    data = bars_and_stripes(rows, cols)
    valid = [k for k, bits in enumerate(itertools.product((0, 1), repeat=rows * cols))
             if _is_bas(np.array(bits[::-1]).reshape(rows, cols))]       # bits[::-1]: k's bit 0 first
    assert sorted(np.flatnonzero(data.probabilities)) == valid
    assert len(valid) == 2**rows + 2**cols - 2
    assert np.allclose(data.probabilities[valid], 1 / len(valid))


def test_bit_order_matches_index_and_roundtrips() -> None:
    idx = np.arange(64)
    bits = index_to_bits(idx, 6)
    assert bits[5].tolist() == [1, 0, 1, 0, 0, 0]
    assert (bits_to_index(bits) == idx).all()


def test_sampler_matches_target_and_is_seeded() -> None:
    data = gaussian_mixture(5, means=(0.2, 0.6), stds=(0.1, 0.05), weights=(1.0, 2.0))
    x = data.sample(200_000, seed=3)
    freq = np.bincount(bits_to_index(x), minlength=32) / len(x)
    sigma = np.sqrt(data.probabilities * (1 - data.probabilities) / len(x))
    assert np.all(np.abs(freq - data.probabilities) <= 5 * sigma + 1e-12)
    assert (data.sample(50, seed=7) == data.sample(50, seed=7)).all()
    assert not (data.sample(50, seed=7) == data.sample(50, seed=8)).all()


def test_gaussian_mixture_and_lognormal_follow_scipy_densities() -> None:
    gm = gaussian_mixture(7, means=(0.3, 0.7), stds=(0.08, 0.05), weights=(0.4, 0.6))
    x = np.arange(128) / 127
    ref = 0.4 * stats.norm.pdf(x, 0.3, 0.08) + 0.6 * stats.norm.pdf(x, 0.7, 0.05)
    assert np.allclose(gm.probabilities, ref / ref.sum())
    ln = lognormal(6, mu=0.1, sigma=0.3)
    ref = stats.lognorm.pdf(ln.values, s=0.3, scale=math.exp(0.1))
    assert np.allclose(ln.probabilities, ref / ref.sum())
    mean, std = stats.lognorm.mean(s=0.3, scale=math.exp(0.1)), stats.lognorm.std(s=0.3, scale=math.exp(0.1))
    assert ln.values[0] == pytest.approx(mean - 3 * std) and ln.values[-1] == pytest.approx(mean + 3 * std)


def test_lognormal_call_price_approaches_black_scholes() -> None:
    """E[max(S - K, 0)] for S = exp(N(mu, s^2)) on the grid's range [lo, hi]: Black-Scholes' undiscounted price
    exp(mu + s^2/2) N(d1) - K N(d2) less the part above hi, renormalised by P(lo <= S <= hi)."""
    mu, s, strike = 0.0, 0.2, 1.05
    data = lognormal(12, mu=mu, sigma=s)
    lo, hi = data.values[0], data.values[-1]
    d1 = (mu - math.log(strike) + s**2) / s
    full = math.exp(mu + s**2 / 2) * stats.norm.cdf(d1) - strike * stats.norm.cdf(d1 - s)
    dist = stats.lognorm(s=s, scale=math.exp(mu))
    above = dist.expect(lambda v: v - strike, lb=hi)
    mass = dist.cdf(hi) - dist.cdf(lo)
    assert 0.06 < full < 0.07 and above > 0.003          # the truncation matters at this accuracy
    price = data.expectation(np.maximum(data.values - strike, 0.0))
    assert price == pytest.approx((full - above * 1.0) / mass, rel=2e-3)


def test_kl_and_valid_fraction_against_references() -> None:
    data = bars_and_stripes(2, 2)
    model = np.random.default_rng(0).dirichlet(np.ones(16))
    assert data.kl(model) == pytest.approx(stats.entropy(data.probabilities, model))
    assert smoothed_kl(data.probabilities, data.probabilities) == pytest.approx(0.0, abs=1e-9)
    x = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [1, 0, 1, 0]])   # valid, valid, invalid, valid
    assert data.valid_fraction(x) == 0.75


def test_bad_input_is_refused_with_a_clear_error() -> None:
    data = bars_and_stripes(2, 2)
    with pytest.raises(DatasetError, match="only 0 and 1"):
        data.valid_fraction(np.array([[0, 2, 0, 0]]))
    with pytest.raises(DatasetError, match="shape"):
        bits_to_index(np.zeros(4))
    with pytest.raises(DatasetError, match="3 bits"):
        data.valid_fraction(np.zeros((2, 3), dtype=int))
    with pytest.raises(DatasetError, match="sigma"):
        lognormal(4, sigma=0.0)
    with pytest.raises(DatasetError, match="equal"):
        gaussian_mixture(4, means=(0.1, 0.2), stds=(0.1,))
    with pytest.raises(DatasetError, match="sum to 1"):
        BitDataset("bad", np.array([0.5, 0.6]), np.zeros(2))
    with pytest.raises(DatasetError, match="positive integer"):
        data.sample(0)
    with pytest.raises(DatasetError, match="rows"):
        bars_and_stripes(5, 5)
