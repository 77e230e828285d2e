"""methods="auto" (qtandem.mitigate.auto)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit, expval
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import Context, execute, simulator_executor
from qtandem.mitigate.auto import AutoExtrapolation, choose, predicted_mse
from qtandem.noise import NoiseModel, depolarizing, readout_error


def _noise(p1: float, p2: float) -> NoiseModel:
    return (NoiseModel().add(depolarizing(p1), gates=["rz", "sx", "x"]).add(depolarizing(p2, 2), gates=["cx"])
            .add_readout(readout_error(0.03, 0.03)))


def _circuit(layers: int) -> Circuit:
    c = Circuit(2)
    for k in range(layers):
        c.rz(0.3 + 0.1 * k, 0).sx(0).rz(0.2, 1).sx(1).cx(0, 1)
    return c


def test_predicted_mse_closed_form():
    # no extrapolation: bias |v|(e^lam - 1), variance sigma^2; linear on [1, 3]: weights 3/2, -1/2
    v, s, lam = 0.4, 0.02, 0.2
    mse = predicted_mse(v, s, lam)
    ideal = v * math.exp(lam)
    assert mse["none"] == pytest.approx((ideal - v) ** 2 + s**2)
    lin = 1.5 * ideal * math.exp(-lam) - 0.5 * ideal * math.exp(-3 * lam)
    amp = 1.5 + 0.5 * math.exp(2 * lam)
    assert mse["linear"] == pytest.approx((ideal - lin) ** 2 + (amp * s) ** 2)
    # shot noise dominates -> no extrapolation; bias dominates -> extrapolate
    assert min(predicted_mse(0.4, 0.05, 0.02).items(), key=lambda kv: kv[1])[0] == "none"
    assert min(predicted_mse(0.4, 0.001, 0.3).items(), key=lambda kv: kv[1])[0] != "none"


def test_auto_skips_extrapolation_at_small_budgets_and_uses_it_at_large_ones():
    noise = _noise(0.01, 0.05)
    c = _circuit(4)
    small = execute(c, "Z0 Z1", simulator_executor(noise, seed=1), methods="auto", shots=100, seed=1, noise=noise)
    large = execute(c, "Z0 Z1", simulator_executor(noise, seed=2), methods="auto", shots=400_000, seed=2,
                    noise=noise)
    assert small.methods == ["readout", "auto_zne"] and small.details["auto"] == "qtandem.mitigate.auto.choose"
    assert small.details["chosen"] == "none"
    assert large.details["chosen"].startswith("zne_")
    assert small.shots_used == 100 and large.shots_used == 400_000


def test_auto_is_not_worse_than_unmitigated():
    noise = _noise(0.01, 0.05)
    c = _circuit(3)
    exact = float(np.real(expval(c, "Z0 Z1")))
    err_auto, err_raw = [], []
    for seed in range(6):
        res = execute(c, "Z0 Z1", simulator_executor(noise, seed=seed), methods="auto", shots=10_000, seed=seed,
                      noise=noise)
        err_auto.append((res.value - exact) ** 2)
        err_raw.append((res.raw - exact) ** 2)
    assert math.sqrt(np.mean(err_auto)) < math.sqrt(np.mean(err_raw))


def test_auto_without_calibration_measures_the_decay():
    noise = _noise(0.01, 0.05)
    res = execute(_circuit(4), "Z0 Z1", simulator_executor(noise, seed=3), methods="auto", shots=200_000, seed=3)
    assert res.details["lam_calibration"] is None and res.details["lam_measured"] > 0


def test_choose_rejects_bad_input():
    ctx = Context.create("Z0", 1, lambda circuits, shots: [{"0": shots} for _ in circuits])
    with pytest.raises(ArgumentTypeError):
        choose("not a circuit", ctx, 100)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        choose(Circuit(1), ctx, 0)
    with pytest.raises(ArgumentTypeError):
        AutoExtrapolation(pilot=1.5)


def test_exponential_candidate_closed_form_and_fit():
    # least-squares intercept of log values on [1, 1.5, 2]: weights (11/6, 1/3, -7/6); unbiased under the decay
    v, s, lam = 0.3, 0.002, 0.8
    mse = predicted_mse(v, s, lam)
    w = (11 / 6, 1 / 3, -7 / 6)
    scales = (1.0, 1.5, 2.0)
    assert sum(w) == pytest.approx(1.0) and sum(wi * si for wi, si in zip(w, scales, strict=True)) == pytest.approx(0)
    amp = sum(abs(wi) * math.exp(lam * si) * math.exp(lam * (si - 1)) for wi, si in zip(w, scales, strict=True))
    assert mse["exponential"] == pytest.approx((amp * s) ** 2)
    assert min(mse, key=lambda k: mse[k]) == "exponential"      # deep circuit, small shot noise
    old = predicted_mse(v, s, lam, candidates=("linear", "richardson"))
    assert set(old) == {"none", "linear", "richardson"}
    with pytest.raises(ArgumentTypeError, match="unknown candidate"):
        AutoExtrapolation(candidates=("cubic",))
