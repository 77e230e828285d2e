"""qtandem.mitigate.decay: exponential extrapolation with a learned prior on the decay rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import execute, readout, simulator_executor
from qtandem.mitigate.decay import cone_error, decay_prior, learned_decay, posterior_rate
from qtandem.mitigate.observable import parse_observable
from qtandem.noise import NoiseModel, depolarizing, readout_error


def _noise() -> NoiseModel:
    return (NoiseModel().add(depolarizing(0.01), gates=["rz", "sx", "x"]).add(depolarizing(0.03, 2), gates=["cx"])
            .add_readout(readout_error(0.02, 0.02)))


def _layer(a: float, b: float) -> Circuit:
    c = Circuit(2)
    for _ in range(2):
        c.sx(0).rz(a, 0).sx(0).sx(1).rz(b, 1).sx(1).cx(0, 1)
    return c


def test_decay_prior_weighted_mean_and_spread() -> None:
    ideal = np.array([1.0, 0.5, -0.8, 0.02])
    lam = np.array([0.10, 0.20, 0.15, 3.0])  # the last one is too small to count
    noisy = ideal * np.exp(-lam)
    p = decay_prior(ideal, noisy, [0.0] * 4)
    assert p is not None and p["n"] == 3
    w = ideal[:3] ** 2
    mean = float(np.sum(w * lam[:3]) / w.sum())
    assert p["mean"] == pytest.approx(mean, abs=1e-12)
    assert p["spread"] == pytest.approx(math.sqrt(float(np.sum(w * (lam[:3] - mean) ** 2) / w.sum())), abs=1e-12)
    # per unit of error: rates proportional to the errors give a prior with (floored) zero spread
    q = decay_prior(ideal[:3], ideal[:3] * np.exp(-0.5 * np.array([0.2, 0.4, 0.3])), [0.0] * 3,
                    errors=[0.2, 0.4, 0.3])
    assert q is not None and q["mean"] == pytest.approx(0.5) and q["spread"] < 0.02


def test_posterior_rate_is_the_precision_weighted_mean() -> None:
    a, sa, b, sb, scale = 0.5, 0.01, 0.5 * math.exp(-0.3), 0.01, 3.0
    measured = math.log(a / b) / 2
    mvar = ((sa / a) ** 2 + (sb / b) ** 2) / 4
    prior = {"mean": 0.1, "spread": 0.05}
    rate, var, w = posterior_rate(a, sa, b, sb, scale, prior)
    assert w == pytest.approx((1 / mvar) / (1 / mvar + 1 / 0.05**2))
    assert rate == pytest.approx(w * measured + (1 - w) * 0.1)
    assert var == pytest.approx(1 / (1 / mvar + 1 / 0.05**2))
    # opposite signs: the prior alone; nothing at all: rate 0, infinite variance
    assert posterior_rate(0.1, 0.01, -0.1, 0.01, 3.0, prior) == (0.1, 0.05**2, 0.0)
    r, v, _ = posterior_rate(0.1, 0.01, None, None, 3.0, None)
    assert r == 0.0 and math.isinf(v)


def test_cone_error_counts_only_the_light_cone() -> None:
    model = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).add(depolarizing(0.001), gates=["x"])
    c = Circuit(4).x(3).cx(0, 1).cx(2, 3).x(0)
    z1 = cone_error(c, parse_observable("Z1", 4), model)
    z3 = cone_error(c, parse_observable("Z3", 4), model)
    whole = cone_error(c, parse_observable("P(0000)", 4), model)
    one_cx = cone_error(Circuit(2).cx(0, 1), parse_observable("Z0", 2), model)
    one_x = cone_error(Circuit(1).x(0), parse_observable("Z0", 1), model)
    assert z1 == pytest.approx(one_cx)  # cx(0, 1) only: the final x(0) comes after, on another wire
    assert z3 == pytest.approx(one_cx + one_x)  # cx(2, 3) and the first x(3)
    assert whole == pytest.approx(2 * one_cx + 2 * one_x)
    assert math.isnan(cone_error(c, parse_observable("Z1", 4), None))


def test_learned_decay_beats_raw_and_reuses_its_prior() -> None:
    noise = _noise()
    train = [_layer(0.3 * k + 0.05, 0.2 * k + 0.1) for k in range(10)]
    method = learned_decay(train, train_shots=40_000, seed=1)
    run = simulator_executor(noise, seed=3)
    target = _layer(0.5, 1.0)
    ideal = parse_observable("Z0", 2).exact(target)
    first = execute(target, "Z0", run, methods=[readout(), method], shots=200_000, seed=4, noise=noise)
    assert first.one_off_shots >= 10 * 40_000 and first.shots_used == 200_000
    assert abs(first.value - ideal) < 0.2 * abs(first.raw - ideal)  # 0.02 against 0.17 here (the model's bias)
    d = first.details
    rate, var, _ = posterior_rate(d["noisy"][0], d["noisy_stderr"][0], d["noisy"][1], d["noisy_stderr"][1], 3.0,
                                  d["prior"])
    assert d["rate"] == pytest.approx(rate) and first.value == pytest.approx(d["noisy"][0] * math.exp(rate))
    assert first.stderr == pytest.approx(math.hypot(math.exp(rate) * d["noisy_stderr"][0], first.value * var**0.5))
    again = execute(target, "Z0", run, methods=[readout(), method], shots=200_000, seed=5, noise=noise)
    assert again.details["one_off"].get("learned_decay_training", 0) == 0  # the prior is kept
    assert again.details["prior"] == first.details["prior"]


def test_share_one_rescales_by_the_prior_alone() -> None:
    noise = _noise()
    train = [_layer(0.3 * k + 0.05, 0.2 * k + 0.1) for k in range(10)]
    res = execute(_layer(0.5, 1.0), "Z0", simulator_executor(noise, seed=3),
                  methods=[readout(), learned_decay(train, share=1.0, train_shots=20_000)], shots=50_000, seed=4,
                  noise=noise, raw=False)
    d = res.details
    assert len(d["noisy"]) == 1 and d["measured_weight"] == 0.0
    assert res.value == pytest.approx(d["noisy"][0] * math.exp(d["prior"]["mean"]), rel=1e-12)


def test_relative_prior_scales_with_the_cone_error() -> None:
    noise = _noise()
    train = [_layer(0.3 * k + 0.05, 0.2 * k + 0.1) for k in range(10)]
    method = learned_decay(train, share=1.0, relative=True, train_shots=20_000)
    target = _layer(0.5, 1.0).x(1)  # one more gate, on the other wire
    res = execute(target, "Z1", simulator_executor(noise, seed=3), methods=[readout(), method], shots=20_000, seed=4,
                  noise=noise, raw=False)
    e = cone_error(target, parse_observable("Z1", 2), noise)
    assert res.details["prior"]["error"] == pytest.approx(e)
    assert res.details["rate"] == pytest.approx(method.fitted[next(iter(method.fitted))]["prior"]["mean"] * e)
    with pytest.raises(ArgumentTypeError, match="calibration"):
        execute(target, "Z1", simulator_executor(noise, seed=3),
                methods=[learned_decay(train, relative=True, train_shots=100)], shots=1000, seed=4)


@pytest.mark.parametrize("kwargs", [{"share": 0.0}, {"share": 1.5}, {"scale": 1.0}, {"train_shots": 0}])
def test_bad_arguments_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ArgumentTypeError):
        learned_decay([Circuit(1).sx(0)], **kwargs)  # type: ignore[arg-type]


def test_bad_training_is_refused() -> None:
    with pytest.raises(ArgumentTypeError, match="training"):
        learned_decay([])
    with pytest.raises(ArgumentTypeError, match="training"):
        learned_decay(Circuit(1))  # type: ignore[arg-type]
    method = learned_decay([Circuit(3).sx(0)] * 3, train_shots=10)
    with pytest.raises(ArgumentTypeError, match="qubits"):
        execute(Circuit(2).sx(0), "Z0", simulator_executor(_noise(), seed=0), methods=[method], shots=100, seed=0)
