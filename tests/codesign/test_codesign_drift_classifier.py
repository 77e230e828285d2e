"""The loop's classifier workload (K4, issue 20): believed-noise training, hardware evaluation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qtandem.codesign.classifier_workload import ClassifierWorkload, best_chain
from qtandem.codesign.drift import hidden_device
from qtandem.codesign.stages import make_workload
from qtandem.device import Device, EdgeProperties, QubitProperties
from qtandem.device.executors import simulator_executor
from qtandem.errors import ConfigError


def _readout_only(p01: float, p10: float) -> Device:
    """Two coupled qubits whose only noise is readout (T1, T2 far beyond the gate times)."""
    base = Device.random(2, "line", seed=0)
    ideal = QubitProperties(t1=1e15, t2=1e15, readout_p01=p01, readout_p10=p10, gate_duration_1q=35.6)
    return replace(base, qubits=[ideal, ideal], edges={(0, 1): EdgeProperties(error=0.0, duration=300.0)},
                   readout_correlations={})


def test_believed_probabilities_match_the_closed_form() -> None:
    # one qubit, one layer: rz(w0) sx rz(x + w1) sx rz(w2) |0> reads 1 with probability (1 + cos(x + w1)) / 2,
    # then the readout confusion: p01 + (1 - p01 - p10) * P1
    work = ClassifierWorkload(n_samples=20, width=1, layers=1)
    dev = _readout_only(0.03, 0.08)
    w = np.array([0.4, -0.7, 1.1])
    x = np.array([[0.2, 0.0], [1.5, 0.0], [2.9, 0.0]])
    order = [n for n in work.names if n.startswith("w")]
    w1 = w[order.index("w0_0_1")]
    p1 = (1 + np.cos(x[:, 0] + w1)) / 2
    assert work.predicted(dev, [0], w, x) == pytest.approx(0.03 + (1 - 0.11) * p1, abs=1e-9)


def test_training_learns_and_hardware_agrees_on_the_same_device() -> None:
    dev = _readout_only(0.02, 0.04)
    work = ClassifierWorkload(n_samples=60, width=1, layers=2, epochs=25, lr=0.2)
    res = work.run(dev, simulator_executor(dev, seed=0), shots=24 * 400, seed=1)
    assert res.details["n_test"] == 24 and res.details["shots_per_point"] == 400
    assert res.details["believed_accuracy"] >= 0.75            # moons, 60 points: well above chance
    assert abs(res.value - res.details["believed_accuracy"]) <= 2 / 24 + 1e-9   # shot noise flips <= 2 points
    assert res.error == pytest.approx(1 - res.value)
    assert res.observations["ones"].shape == (24,) and res.details["observation_kinds"] == {"ones": "rate"}


def test_best_chain_avoids_bad_qubits() -> None:
    dev = Device.random(5, "line", seed=2)
    bad = [replace(q, readout_p01=0.3) if i == 2 else q for i, q in enumerate(dev.qubits)]
    chain = best_chain(replace(dev, qubits=bad), 2)
    assert 2 not in chain and abs(chain[0] - chain[1]) == 1
    with pytest.raises(ConfigError, match="no chain of 6"):
        best_chain(dev, 6)


def test_registered_and_options_checked() -> None:
    hidden = hidden_device(8, seed=0)
    work = make_workload("classifier", n_samples=20, width=1, layers=1, epochs=1)
    assert isinstance(work, ClassifierWorkload)
    assert work.run(hidden.published, hidden.executor(0, seed=0), shots=80, seed=0).details["shots_per_point"] == 10
    with pytest.raises(ConfigError, match=r"workload\.layers"):
        make_workload("classifier", layers=0)
    with pytest.raises(ConfigError, match=r"workload\.lr"):
        ClassifierWorkload(lr=0)
