"""Device noise mapped to Stim with a layout: each qubit keeps its own calibration (qtandem.qec.noise_map)."""

from __future__ import annotations

import dataclasses

import pytest
import stim

from qtandem.device import Device
from qtandem.errors import NoiseError
from qtandem.noise import thermal_relaxation
from qtandem.qec.noise_map import noisy_circuit, twirl

CIRCUIT = stim.Circuit("R 0 1 2\nTICK\nCX 0 1\nTICK\nM 0 1 2")
LAYOUT = {0: 2, 1: 1, 2: 0}


def _device() -> Device:
    return dataclasses.replace(Device.random(3, "line", seed=1), readout_correlations={})


def _args(circuit: stim.Circuit, name: str, qubit: int) -> list[float]:
    """Arguments of the one-qubit noise ``name`` acting on ``qubit`` (Stim fuses equal neighbours)."""
    for inst in circuit.flattened():
        if inst.name == name and qubit in [t.value for t in inst.targets_copy()]:
            return inst.gate_args_copy()
    raise AssertionError(f"no {name} on qubit {qubit} in\n{circuit}")


def test_each_qubit_gets_its_own_readout_and_idle_relaxation() -> None:
    dev = _device()
    noisy = noisy_circuit(CIRCUIT, dev, layout=LAYOUT)
    for q, d in LAYOUT.items():
        props = dev.qubits[d]
        assert _args(noisy, "X_ERROR", q)[0] == pytest.approx((props.readout_p01 + props.readout_p10) / 2)
    # stim qubit 2 (device qubit 0) idles during CX 0 1 (device coupling 1-2): its own T1/T2 for that duration
    idle = dev.qubits[0]
    want, _ = twirl(thermal_relaxation(idle.t1, idle.t2, dev.edges[(1, 2)].duration))
    assert _args(noisy, "PAULI_CHANNEL_1", 2) == pytest.approx(want, rel=1e-6)
    # the average model gives something else
    avg = noisy_circuit(CIRCUIT, dev)
    assert _args(avg, "X_ERROR", 0)[0] != pytest.approx(_args(noisy, "X_ERROR", 0)[0])


def test_layout_equals_relabelled_identity() -> None:
    dev = _device()
    relabelled = stim.Circuit("R 2 1 0\nTICK\nCX 2 1\nTICK\nM 2 1 0")
    mapped = noisy_circuit(CIRCUIT, dev, layout=LAYOUT)
    direct = noisy_circuit(relabelled, dev, layout={0: 0, 1: 1, 2: 2})
    for q, d in LAYOUT.items():
        assert _args(mapped, "X_ERROR", q) == _args(direct, "X_ERROR", d)
    def two_q(c: stim.Circuit) -> list[list[float]]:
        return [i.gate_args_copy() for i in c if i.name in ("PAULI_CHANNEL_2", "DEPOLARIZE2")]

    assert len(two_q(mapped)) >= 2  # coherent rzx (twirled), relaxation, depolarising of coupling 1-2
    assert two_q(mapped) == two_q(direct)


def test_bad_layouts_refused() -> None:
    dev = _device()
    with pytest.raises(NoiseError, match="no device qubit for Stim qubit"):
        noisy_circuit(CIRCUIT, dev, layout={0: 0, 1: 1})
    with pytest.raises(NoiseError, match="same device qubit"):
        noisy_circuit(CIRCUIT, dev, layout={0: 0, 1: 1, 2: 1})
    with pytest.raises(NoiseError, match="has 3 qubits"):
        noisy_circuit(CIRCUIT, dev, layout={0: 0, 1: 1, 2: 7})
    with pytest.raises(NoiseError, match="are not coupled"):
        noisy_circuit(CIRCUIT, dev, layout={0: 0, 1: 2, 2: 1})
