"""Zero-noise extrapolators (qtandem.mitigate.extrapolate) against closed forms and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem.errors import ArgumentTypeError
from qtandem.mitigate.extrapolate import (
    ExtrapolationError,
    adaptive_exponential,
    allocate_shots,
    exponential,
    extrapolate,
    linear,
    next_scale_factor,
    poly_exponential,
    polynomial,
    richardson,
    shot_noise_amplification,
)


def lagrange_weights(x: list[float]) -> list[float]:
    return [math.prod(xj / (xj - xi) for j, xj in enumerate(x) if j != i) for i, xi in enumerate(x)]


@pytest.mark.parametrize("x", [[1, 2, 3], [1, 1.5, 2], [1, 3, 5, 7], [1, 2]])
def test_richardson_weights_are_lagrange_at_zero(x: list[float]) -> None:
    r = richardson(x, [0.0] * len(x))
    assert np.allclose(r.weights, lagrange_weights(x), atol=1e-9)
    coef = np.random.default_rng(len(x)).normal(size=len(x))  # a polynomial of degree m - 1 is recovered exactly
    y = np.polynomial.polynomial.polyval(np.array(x, float), coef)
    assert richardson(x, y).value == pytest.approx(coef[0], abs=1e-9)


def test_the_issue_amplification_numbers() -> None:
    rich = richardson([1, 2, 3], [0, 0, 0]).weights
    lin = linear([1, 2, 3], [0, 0, 0]).weights
    assert np.allclose(rich, [3, -3, 1]) and np.allclose(lin, [4 / 3, 1 / 3, -2 / 3])
    # equal per-shot sigma, N/3 shots per scale vs N shots at scale 1: the issue's 7.5x and 2.6x
    assert shot_noise_amplification(rich) == pytest.approx(math.sqrt(57))
    assert shot_noise_amplification(lin) == pytest.approx(math.sqrt(7))
    assert round(shot_noise_amplification(rich), 1) == 7.5 and round(shot_noise_amplification(lin), 1) == 2.6
    assert shot_noise_amplification(rich, "optimal") == pytest.approx(7.0)
    assert shot_noise_amplification(lin, "optimal") == pytest.approx(7 / 3)


def test_linear_and_polynomial_are_least_squares() -> None:
    rng = np.random.default_rng(4)
    x = np.array([1.0, 1.5, 2.0, 3.0, 4.0])
    y = rng.normal(size=5)
    for order in (1, 2, 3):
        want = np.polyfit(x, y, order)[-1]
        assert polynomial(x, y, order=order).value == pytest.approx(want, abs=1e-10)
    assert linear(x, y).value == pytest.approx(np.polyfit(x, y, 1)[-1], abs=1e-10)


def test_linear_stderr_matches_monte_carlo() -> None:
    rng = np.random.default_rng(5)
    x, truth, sig = [1, 2, 3], np.array([0.8, 0.64, 0.51]), np.array([0.01, 0.02, 0.03])
    draws = truth + rng.normal(size=(20000, 3)) * sig
    for fn in (richardson, linear):
        w = np.array(fn(x, truth).weights)
        values = draws @ w
        assert fn(x, truth, sig).stderr == pytest.approx(values.std(), rel=0.03)
        assert values.mean() == pytest.approx(w @ truth, abs=4 * values.std() / math.sqrt(len(values)))


def test_exponential_recovers_closed_forms() -> None:
    x = [1, 2, 3]
    y = [0.25 * math.exp(-0.5 * v) for v in x]
    assert exponential(x[:2], y[:2], asymptote=0.0).value == pytest.approx(0.25, abs=1e-12)
    fit = exponential(x, [0.1 + v for v in y])
    assert fit.value == pytest.approx(0.35, abs=1e-6)
    assert fit.params["asymptote"] == pytest.approx(0.1, abs=1e-6)
    assert fit.params["rate"] == pytest.approx(0.5, abs=1e-5)
    rising = [-0.3 - 0.5 * math.exp(-0.7 * v) for v in x]  # values below the asymptote, rising towards it
    assert exponential(x, rising).value == pytest.approx(-0.8, abs=1e-6)


def test_poly_exponential_with_fitted_asymptote() -> None:
    x = [1, 1.5, 2, 3]
    y = [0.05 + 0.9 * math.exp(-0.2 * v - 0.05 * v * v) for v in x]
    assert poly_exponential(x, y, order=2).value == pytest.approx(0.95, abs=1e-5)
    assert poly_exponential(x[:3], y[:3], order=2, asymptote=0.05).value == pytest.approx(0.95, abs=1e-10)


def test_exponential_stderr_matches_monte_carlo() -> None:
    rng = np.random.default_rng(6)
    x = np.array([1.0, 2.0, 3.0])
    truth = 0.9 * np.exp(-0.3 * x)
    sig = np.array([0.003, 0.004, 0.005])
    est = exponential(x, truth, sig, asymptote=0.0)
    values = [exponential(x, truth + rng.normal(size=3) * sig, asymptote=0.0).value for _ in range(1000)]
    assert est.stderr == pytest.approx(np.std(values), rel=0.1)
    assert np.mean(values) == pytest.approx(0.9, abs=4 * est.stderr / math.sqrt(1000) + 1e-4)


def test_adaptive_exponential_and_next_scale() -> None:
    x = [1, 2, 4]
    y = [0.02 + 0.7 * math.exp(-0.25 * v) for v in x]
    assert adaptive_exponential(x, y).value == pytest.approx(0.72, abs=1e-5)
    assert adaptive_exponential(x[:2], [0.7 * math.exp(-0.25 * v) for v in x[:2]]).value == pytest.approx(0.7)
    # rate 0.25 -> next scale 1 + 1/0.25 = 5, capped at max_scale
    assert next_scale_factor([1, 2], [0.7 * math.exp(-0.25), 0.7 * math.exp(-0.5)]) == pytest.approx(5.0)
    assert next_scale_factor([1, 2], [0.7 * math.exp(-0.25), 0.7 * math.exp(-0.5)], max_scale=4) == 4
    assert next_scale_factor([1, 2], [0.5, 0.6]) == 6.0  # growing values: no decay, go far


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ExtrapolationError, match="both sides of the asymptote"):
        exponential([1, 2], [0.3, -0.1], asymptote=0.0)
    with pytest.raises(ExtrapolationError, match="at least 3 distinct"):
        polynomial([1, 2], [0.3, 0.2], order=2)
    with pytest.raises(ExtrapolationError, match="must match"):
        linear([1, 2, 3], [0.3, 0.2])
    with pytest.raises(ExtrapolationError, match="finite"):
        linear([1, 2], [0.3, float("nan")])
    with pytest.raises(ArgumentTypeError, match="unknown extrapolation 'cubic'"):
        extrapolate("cubic", [1, 2], [0.3, 0.2])
    with pytest.raises(ArgumentTypeError, match="order"):
        polynomial([1, 2, 3], [0.3, 0.2, 0.1], order=-1)
    assert isinstance(ExtrapolationError("x"), ValueError)


def test_allocation_minimizes_the_variance() -> None:
    rng = np.random.default_rng(7)
    w, sig, total = np.array([3.0, -3.0, 1.0]), np.array([0.6, 0.8, 0.9]), 30000
    n = np.array(allocate_shots(total, w, sig))
    assert n.sum() == total and np.all(n >= 1)
    best = float(np.sum(w**2 * sig**2 / n))
    assert best == pytest.approx(np.sum(np.abs(w) * sig) ** 2 / total, rel=1e-3)
    for _ in range(200):  # no other split of the same total does better
        p = rng.dirichlet(np.ones(3))
        other = np.maximum(1, np.round(p * total))
        assert np.sum(w**2 * sig**2 / other) >= best * (1 - 1e-3)
    assert allocate_shots(10, [1, 1, 1]) in ([4, 3, 3], [3, 4, 3], [3, 3, 4])
    with pytest.raises(ArgumentTypeError, match="cannot give"):
        allocate_shots(2, [1, 1, 1])
