"""ML-QEM on the noisy values alone (mlqem(..., features="values"), session 32)."""

from __future__ import annotations

import numpy as np
import pytest

from qtandem import Circuit, expval
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import execute, readout, simulator_executor
from qtandem.mitigate.learned import mlqem, mlqem_features
from qtandem.noise import NoiseModel, depolarizing, readout_error


def _noise() -> NoiseModel:
    return (NoiseModel().add(depolarizing(0.01), gates=["rz", "sx", "x"]).add(depolarizing(0.04, 2), gates=["cx"])
            .add_readout(readout_error(0.03, 0.03)))


def _ghz(seed: int, n: int = 4) -> Circuit:
    """GHZ grown from a random root, then random X flips (the flips change the gate counts)."""
    rng = np.random.default_rng(seed)
    root = int(rng.integers(n))
    c = Circuit(n).rz(np.pi / 2, root).sx(root).rz(np.pi / 2, root)
    left = right = root
    while left > 0 or right < n - 1:
        if left > 0:
            c.cx(left, left - 1)
            left -= 1
        if right < n - 1:
            c.cx(right, right + 1)
            right += 1
    for q in range(n):
        if rng.random() < 0.5:
            c.x(q)
    return c


def test_values_features_layout():
    noise = _noise()
    f = mlqem_features([0.5, 0.25], Circuit(1).sx(0), noise, features="values")
    full = mlqem_features([0.5, 0.25], Circuit(1).sx(0), noise)
    assert f.tolist() == pytest.approx(full[:4].tolist())
    with pytest.raises(ArgumentTypeError):
        mlqem_features([0.5], Circuit(1).sx(0), noise, features="gates")
    with pytest.raises(ArgumentTypeError):
        mlqem(features="gates")


def test_values_model_trained_once_rescales_other_instances():
    noise = _noise()
    method = mlqem("linear", training=[_ghz(100 + k) for k in range(4)], scales=(1.0,), n_train=24,
                   train_shots=20_000, seed=0, features="values")
    errs_readout, errs_model = [], []
    for k in range(4):
        c = _ghz(200 + k)
        exact = float(np.real(expval(c, "Z0 Z3")))
        run = simulator_executor(noise, seed=k)
        ro = execute(c, "Z0 Z3", run, methods=[readout()], shots=20_000, seed=k, noise=noise)
        res = execute(c, "Z0 Z3", run, methods=[readout(), method], shots=20_000, seed=k, noise=noise)
        assert res.refused is None and res.shots_used == 20_000
        assert res.details["scales"] == [1.0]  # every target shot at scale 1
        errs_readout.append(abs(ro.value - exact))
        errs_model.append(abs(res.value - exact))
    assert len(method.fitted) == 1  # one model, one one-off training
    assert np.mean(errs_model) < 0.3 * np.mean(errs_readout)
