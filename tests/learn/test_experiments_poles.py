"""characterization(amplify="poles"): amplify_sx counts at the equator and the pole, deeper than the unimodal limit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qtandem.device import Device
from qtandem.errors import DataError
from qtandem.learn import characterization, layout_prior, simulator_executor
from qtandem.learn.calibrate import calibrate
from qtandem.learn.experiments import TYPICAL, build_experiment, default_xs
from qtandem.learn.likelihood import LikelihoodModel


def test_pole_counts_alternate_equator_and_pole_up_to_twice_the_limit() -> None:
    equator = default_xs("amplify_sx", (0,), amplify="equator")
    poles = default_xs("amplify_sx", (0,), amplify="poles")
    assert default_xs("amplify_sx", (0,)) == poles  # the default since session 34 (DEV bound 2.42x vs 0.67x)
    assert len(poles) == 8 and poles == sorted(set(poles)) and poles[0] == 1.0
    assert [int(n) % 4 for n in poles] == [1, 2] * 4  # sx^(4k+1): the equator, sx^(4k+2) = x^(2k+1): the pole
    assert 1.8 * equator[-1] <= poles[-1] <= 2.3 * equator[-1]
    assert poles[-1] * TYPICAL["angle_range"] > math.pi / 2  # past the unimodal limit: the short counts pin the fringe
    # the circuits hold exactly that many sx pulses
    exp = build_experiment("amplify_sx", (0,), width=1, amplify="poles")
    assert [sum(inst.name == "sx" for inst in c) for c in exp.circuits] == [int(n) for n in poles]
    with pytest.raises(DataError, match="amplify must be"):
        characterization([0], experiments=["amplify_sx"], amplify="pole")


def _angle_sd(dev: Device, amplify: str) -> float:
    """Cramer-Rao standard deviation of the sx angle, jointly with the gate error and the readout (1000 shots)."""
    names = ["q0.sx_angle_error", "q0.gate_error_1q", "q0.readout_p01", "q0.readout_p10"]
    lik = LikelihoodModel(names, dev, [0])
    plan = characterization([0], experiments=["readout", "amplify_sx"], width=1, prior=dev, amplify=amplify)
    circuits = [c for e in plan.experiments for c in e.circuits]
    info = lik.fisher(circuits, 1000, lik.theta0())
    return math.sqrt(float(torch.linalg.inv(info)[0, 0]))


def test_pole_counts_lower_the_angle_bound() -> None:
    """The equator counts confound the angle with the contrast the gate error takes away; the poles do not."""
    dev = Device.random(1, seed=3)
    dev.readout_correlations = {}
    dev.qubits[0].sx_angle_error = 0.02
    dev.qubits[0].gate_error_1q = 1e-3  # above the relaxation floor of a 36 ns pulse (below it: no gradient)
    assert _angle_sd(dev, "poles") < 0.5 * _angle_sd(dev, "equator")


@pytest.mark.parametrize("angle", [-0.048, 0.0331])
def test_pole_design_fit_finds_the_right_fringe(angle: float) -> None:
    """Counts past the unimodal limit (62 x 0.048 rad ~ 3 rad): the fit still lands on the true angle."""
    true = Device.random(1, seed=4)
    true.readout_correlations = {}
    true.qubits[0].sx_angle_error = angle
    plan = characterization([0], experiments=["readout", "t1", "amplify_sx"], width=1, prior=layout_prior(true),
                            amplify="poles")
    data = plan.run(simulator_executor(true, seed=7), shots=4000, seed=7)
    cal = calibrate(data, prior=layout_prior(true), restarts=1, seed=7)
    err = cal.values["q0.sx_angle_error"] - angle
    assert abs(err) < 4 * cal.stderr["q0.sx_angle_error"] and abs(err) < 2e-3, (cal.values, cal.stderr)
    assert np.isfinite(cal.stderr["q0.gate_error_1q"])
