import math

import numpy as np
import pytest
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit, NoiseModel, PauliSum
from qtandem.errors import SimulationError
from qtandem.noise import (
    amplitude_damping,
    coherent_rotation,
    depolarizing,
    pauli_channel,
    readout_error,
    thermal_relaxation,
)
from qtandem.noise.density import density_matrix, dm_expectation, noisy_probabilities
from qtandem.noise.trajectories import run_trajectories

TWO_Q = ["cx", "cy", "cz", "ch", "swap", "iswap", "crx", "cry", "crz", "cp", "rxx", "ryy", "rzz"]


def _model():
    return (NoiseModel().add(thermal_relaxation(40.0, 30.0, 4.0)).add(depolarizing(0.04, 2), gates=TWO_Q)
            .add(amplitude_damping(0.05), gates=["h"]).add_readout(readout_error(0.03, 0.06)))


def _mixture_model():
    """Every channel a mixture of unitaries and resets (the native engine's case), with strong resets."""
    return (NoiseModel().add(thermal_relaxation(40.0, 30.0, 4.0))
            .add(thermal_relaxation(20.0, 12.0, 3.0, excited_population=0.2), gates=["h", "x"])
            .add(depolarizing(0.04, 2), gates=TWO_Q).add(pauli_channel(0.02, 0.01, 0.03), gates=["ry"])
            .add(coherent_rotation("x", 0.05), gates=["rz"]).add_readout(readout_error(0.03, 0.06)))


ENGINES = [("torch", _model), ("native", _mixture_model), ("torch", _mixture_model)]


@pytest.mark.parametrize(("engine", "make_model"), ENGINES)
def test_trajectory_counts_converge_to_density_matrix(engine, make_model):
    c = random_circuit(4, 24, seed=8, modifiers=False).measure_all()
    model = make_model()
    shots = 6000
    exact = noisy_probabilities(c, noise=model).numpy()
    res = run_trajectories(c, noise=model, shots=shots, seed=2, engine=engine)
    emp = np.zeros(16)
    for k, v in res.counts().items():
        emp[int(k, 2)] = v / shots
    sigma = np.sqrt(exact * (1 - exact) / shots) + 1e-4
    assert np.all(np.abs(emp - exact) < 4 * sigma)  # 16 outcomes, 4 sigma


@pytest.mark.parametrize(("engine", "make_model"), ENGINES)
def test_trajectory_expectations_within_three_standard_errors(engine, make_model):
    c = random_circuit(3, 18, seed=12, modifiers=False)
    model = make_model()
    observables = [PauliSum.from_string("Z0 Z1"), PauliSum.from_string("X0 + 0.5*Y2"), PauliSum.from_string("Z2")]
    rho = density_matrix(c, noise=model)
    exact = [float(dm_expectation(rho, o)) for o in observables]
    res = run_trajectories(c, noise=model, shots=3000, seed=9, observables=observables, engine=engine)
    assert res.stderr.shape == (3,)
    for mean, err, ex in zip(res.expvals, res.stderr, exact, strict=True):
        assert 0 < err < 0.05
        assert abs(mean - ex) < 3 * err + 1e-12


def test_trajectories_are_seeded_and_handle_feed_forward():
    c = Circuit(2, 2).h(0).measure(0, 0)
    c.append("x", [1], condition=((0,), 1))
    c.measure(1, 1)
    a = run_trajectories(c, noise=None, shots=500, seed=4)
    b = run_trajectories(c, noise=None, shots=500, seed=4)
    assert np.array_equal(a.bits, b.bits)
    assert set(a.counts()) == {"00", "11"}


def test_sample_methods_agree():
    c = Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    model = _model()
    d = qtandem.sample(c, shots=8000, seed=1, noise=model, method="density").counts
    t = qtandem.sample(c, shots=8000, seed=1, noise=model, method="trajectories").counts
    for key in set(d) | set(t):
        pd, pt = d.get(key, 0) / 8000, t.get(key, 0) / 8000
        assert abs(pd - pt) < 5 * math.sqrt(max(pd, 1e-3) * (1 - pd) / 4000)


def test_bad_method():
    with pytest.raises(qtandem.QtandemError, match="method must be"):
        qtandem.sample(Circuit(1), shots=10, noise=NoiseModel(), method="magic")


def test_native_engine_is_seeded_and_says_when_it_cannot_run():
    c = random_circuit(3, 12, seed=3, modifiers=False).h(0).measure_all()
    a = run_trajectories(c, noise=_mixture_model(), shots=300, seed=5, engine="native")
    b = run_trajectories(c, noise=_mixture_model(), shots=300, seed=5, engine="native")
    assert np.array_equal(a.bits, b.bits)
    with pytest.raises(SimulationError, match="amplitude_damping.*not a mixture"):
        run_trajectories(c, noise=_model(), shots=10, seed=1, engine="native")
    with pytest.raises(SimulationError, match="engine must be"):
        run_trajectories(c, noise=None, shots=10, engine="gpu")


def test_native_engine_many_windows_and_frequent_resets():
    """Deep circuit (many precompiled windows) with relaxation strong enough to reset most shots."""
    c = random_circuit(5, 120, seed=21, modifiers=False)
    model = NoiseModel().add(thermal_relaxation(30.0, 20.0, 2.0)).add(depolarizing(0.02, 2), gates=TWO_Q)
    obs = [PauliSum.from_string("Z0"), PauliSum.from_string("Z1 Z3"), PauliSum.from_string("X2")]
    exact = [float(dm_expectation(density_matrix(c, noise=model), o)) for o in obs]
    res = run_trajectories(c, noise=model, shots=2000, seed=13, observables=obs, engine="native")
    for mean, err, ex in zip(res.expvals, res.stderr, exact, strict=True):
        assert abs(mean - ex) < 3.5 * err + 1e-12
