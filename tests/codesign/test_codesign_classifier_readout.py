"""The classifier workload's ``mitigate_readout``: readout left out of training, inverted on the hardware's shots."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qtandem.codesign.classifier_workload import ClassifierWorkload
from qtandem.device import Device, EdgeProperties, QubitProperties
from qtandem.device.executors import simulator_executor
from qtandem.errors import ConfigError


def _readout_heavy(p01: float, p10: float) -> Device:
    base = Device.random(2, "line", seed=0)
    q = QubitProperties(t1=1e15, t2=1e15, readout_p01=p01, readout_p10=p10, gate_duration_1q=35.6)
    return replace(base, qubits=[q, q], edges={(0, 1): EdgeProperties(error=0.0, duration=300.0)},
                   readout_correlations={})


def test_mitigated_frequencies_match_the_readout_free_prediction() -> None:
    dev = _readout_heavy(0.15, 0.25)
    work = ClassifierWorkload(n_samples=30, width=1, layers=1, epochs=3, mitigate_readout=True)
    xtr, ytr, xte, _ = work.data()
    shots = 4000
    res = work.run(dev, simulator_executor(dev, seed=3), shots=shots * len(xte), seed=2)
    assert res.details["mitigate_readout"] is True
    w = work.train(dev, [0], xtr, ytr, seed=2)             # the same weights run() trained (same seed)
    ideal = work.predicted(dev, [0], w, xte)                # readout-free P(1): nothing but rotations here
    mitigated = (res.observations["ones"] - 0.15) / (1 - 0.15 - 0.25)
    sigma = 1 / (1 - 0.4) * np.sqrt(0.25 / shots)
    assert np.max(np.abs(mitigated - ideal)) < 5 * sigma
    assert np.max(np.abs(res.observations["ones"] - ideal)) > 10 * sigma   # the raw frequencies are far off
    # without the option the simulator includes readout: its prediction is the raw frequency instead
    plain = ClassifierWorkload(n_samples=30, width=1, layers=1, epochs=3)
    assert plain.predicted(dev, [0], w, xte) == pytest.approx(0.15 + 0.6 * ideal, abs=1e-9)


def test_mitigate_readout_must_be_a_bool() -> None:
    with pytest.raises(ConfigError, match=r"workload\.mitigate_readout"):
        ClassifierWorkload(mitigate_readout="yes")  # type: ignore[arg-type]
