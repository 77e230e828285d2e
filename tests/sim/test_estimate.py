"""qtandem.sim.estimate_expval: shot estimates against the exact expectation value."""

import numpy as np
import pytest

import qtandem
from qtandem.errors import ObservableError, SimulationError
from qtandem.noise import NoiseModel, depolarizing, readout_error
from qtandem.sim import estimate_expval


def _circuit(seed: int) -> qtandem.Circuit:
    rng = np.random.default_rng(seed)
    c = qtandem.Circuit(3)
    for _ in range(4):
        for q in range(3):
            c.ry(float(rng.uniform(0, np.pi)), q).rz(float(rng.uniform(0, np.pi)), q)
        c.cx(0, 1).cx(1, 2)
    return c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimate_within_five_standard_errors_of_exact(seed):
    c = _circuit(seed)
    obs = qtandem.PauliSum.from_string("0.5 + Z0 Z1 - 0.7*X1 + 0.3*Y0 Y2 + X0 Z2")
    exact = float(qtandem.expval(c, obs))
    est = estimate_expval(c, obs, 4000, seed=seed)
    assert est.bases >= 3 and est.shots == 4000 * est.bases
    assert 0 < est.stderr < 0.1
    assert abs(est.value - exact) < 5 * est.stderr


def test_noisy_estimate_matches_density_matrix_expval():
    c = _circuit(5)
    model = NoiseModel(strict=False).add(depolarizing(0.02)).add(depolarizing(0.05, 2), gates=["cx"])
    obs = qtandem.PauliSum.from_string("Z0 Z1 + X2")
    exact = float(qtandem.expval(c, obs, noise=model))
    est = estimate_expval(c, obs, 6000, seed=3, noise=model)
    assert abs(est.value - exact) < 5 * est.stderr
    # readout error biases the shot estimate (as on hardware) but not the exact expval without readout
    biased = model.add_readout(readout_error(0.2, 0.2))
    est_ro = estimate_expval(c, "Z0 Z1", 6000, seed=3, noise=biased)
    assert abs(est_ro.value) < abs(float(qtandem.expval(c, qtandem.PauliSum.from_string("Z0 Z1"), noise=model)))


def test_seeded_and_constant_terms():
    c = _circuit(1)
    a = estimate_expval(c, "Z0 + 2", 500, seed=7)
    b = estimate_expval(c, "Z0 + 2", 500, seed=7)
    assert a == b
    assert estimate_expval(c, "3", 10, seed=0).value == 3.0


def test_mid_circuit_measurement_and_feed_forward_are_kept():
    # h; measure -> |0> or |1>; feed-forward x if the bit is 1 -> always |0>; h -> |+>: <X0> = 1 exactly
    c = qtandem.Circuit(1, 1).h(0).measure(0, 0)
    c.append("x", [0], condition=((0,), 1)).h(0)
    est = estimate_expval(c, "X0", 2000, seed=1)
    assert est.value == pytest.approx(1.0) and est.stderr == 0.0
    # without the feed-forward the collapse leaves |+> or |->: <X0> = 0 within shot noise
    c2 = qtandem.Circuit(1, 1).h(0).measure(0, 0).h(0)
    est2 = estimate_expval(c2, "X0", 2000, seed=1)
    assert abs(est2.value) < 5 * est2.stderr and est2.stderr > 0.01


def test_bad_input():
    c = qtandem.Circuit(2)
    with pytest.raises(ObservableError, match="qubit 4"):
        estimate_expval(c, "Z4", 10)
    with pytest.raises(ObservableError, match="Hermitian"):
        estimate_expval(c, qtandem.PauliSum.from_string("1j*Z0"), 10)
    with pytest.raises(SimulationError, match="shots"):
        estimate_expval(c, "Z0", 0)
