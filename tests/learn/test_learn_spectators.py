"""Spectator readout (characterization(spectators=True)) and its pooling in the fit (fold_spectators)."""

from __future__ import annotations

import numpy as np
import pytest

from qtandem.device import Device
from qtandem.device.executors import simulator_executor
from qtandem.errors import DataError
from qtandem.learn import characterization
from qtandem.learn.calibrate import calibrate
from qtandem.learn.data import ShotData, fold_spectators
from qtandem.learn.experiments import build_experiment
from qtandem.learn.likelihood import LikelihoodModel


def _device() -> Device:
    return Device.random(5, "line", seed=3)


def test_spectators_are_uncoupled_to_the_qubit_and_to_each_other() -> None:
    dev = _device()
    plan = characterization(range(5), experiments=["readout", "t1", "ramsey"], prior=dev, spectators=True)
    seen = 0
    for exp in plan.experiments:
        spect = exp.meta.get("spectators", [])
        if exp.name == "readout":
            assert not spect
            continue
        q = exp.qubits[0]
        group = [q, *spect]
        assert all(not dev.coupling_map.has_edge(a, b) for a in group for b in group if a != b)
        for c in exp.circuits:  # own qubit into bit 0, spectators after it, nothing else touches them
            measured = [(i.qubits[0], i.clbits[0]) for i in c if i.name == "measure"]
            assert measured == [(q, 0)] + [(s, 1 + j) for j, s in enumerate(spect)]
            assert all(i.name == "measure" or not set(i.qubits) & set(spect) or i.name == "delay" for i in c)
        seen += len(spect)
    assert seen > 0


def test_spectators_refused_on_pair_and_readout_experiments() -> None:
    with pytest.raises(DataError, match="spectators"):
        build_experiment("readout", (0,), width=3, spectators=[2])
    with pytest.raises(DataError, match="spectators"):
        build_experiment("t1", (0,), width=3, spectators=[0])
    with pytest.raises(DataError, match="outside"):
        build_experiment("t1", (0,), width=3, spectators=[5])


def test_folding_keeps_the_likelihood_of_the_full_circuits() -> None:
    """The NLL of the spectator circuits, simulated in full (active qubit and spectators together,
    correlated readout of the device included), equals the NLL of the folded data at any parameters."""
    dev = _device()
    plan = characterization(range(5), experiments=["t1", "amplify_sx"], prior=dev, spectators=True)
    data = plan.run(simulator_executor(dev), 200, seed=1)
    folded = fold_spectators(data)
    pooled = [e.qubits[0] for e in folded.plan.experiments if e.meta.get("pooled_spectators")]
    assert pooled == [0, 1, 2, 3, 4]  # the least-read qubits first: every qubit is a spectator somewhere
    assert all(c.n_clbits == 1 for c in folded.plan.circuits)
    names = [f"q{q}.{f}" for q in range(5) for f in ("readout_p01", "readout_p10", "t1", "sx_angle_error")]
    lik = LikelihoodModel(names, dev, list(range(5)))
    rng = np.random.default_rng(0)
    for _ in range(2):
        theta = lik.theta0() * (1 + 0.2 * __import__("torch").as_tensor(rng.uniform(-1, 1, len(names))))
        theta[3::4] = 0.02  # some sx angle
        full = float(lik.nll(data, theta))
        fold = float(lik.nll(folded, theta))
        assert abs(full - fold) < 1e-6 * abs(full)
    # the pooled counts are the spectator bits' totals
    q0_exps = [e for e in data.plan.experiments if 0 in e.meta.get("spectators", [])]
    assert q0_exps
    total = sum(sh for e, _, shs in data.experiments() if 0 in e.meta.get("spectators", []) for sh in shs)
    assert folded.shots[-5] == total and sum(folded.counts[-5].values()) == total


@pytest.mark.slow
def test_spectators_sharpen_readout_p01() -> None:
    """Same circuits and shots: with spectators read, p01 is estimated closer to the truth (qubits 0, 2, 4
    of a line: each reads the other two in its T1 circuits)."""
    dev = _device()
    errs = {}
    for spect in (False, True):
        plan = characterization([0, 2, 4], experiments=["readout", "t1"], prior=dev, spectators=spect)
        data = plan.run(simulator_executor(dev), 400, seed=5)
        cal = calibrate(data, prior=dev, restarts=1, seed=0)
        errs[spect] = np.median([abs(cal.values[f"q{q}.readout_p01"] - dev.qubits[q].readout_p01)
                                 / dev.qubits[q].readout_p01 for q in (0, 2, 4)])
    assert errs[True] < errs[False]


def test_data_without_spectators_is_unchanged() -> None:
    plan = characterization([0], experiments=["readout"])
    data = ShotData(plan, [{"0": 2}, {"1": 2}], 2)
    assert fold_spectators(data) is data
