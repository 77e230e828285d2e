import json

import pytest

from qtandem import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.errors import NoiseError
from qtandem.noise import (
    KrausChannel,
    NoiseModel,
    amplitude_damping,
    depolarizing,
    readout_error,
    thermal_relaxation,
)


def full_model():
    return (NoiseModel()
            .add(depolarizing(0.001), gates=["h", "rx"])
            .add(thermal_relaxation(100.0, 80.0, 5.0), gates=["h"], qubits=[0, 2])
            .add(depolarizing(0.02, 2), gates=["cx"], qubits=[(0, 1)])
            .add(KrausChannel([amplitude_damping(0.2).kraus[0], amplitude_damping(0.2).kraus[1]]), gates=["x"])
            .add_readout(readout_error(0.01, 0.02))
            .add_readout(readout_error(0.05, 0.1), qubits=[3])
            .add_idle(120.0, 90.0)
            .set_durations({"1q": 35.0, "cx": 300.0}))


def test_json_round_trip_is_lossless(tmp_path):
    model = full_model()
    path = tmp_path / "noise.json"
    text = model.to_json(path)
    assert json.loads(path.read_text())["schema"] == "qtandem.noise_model"
    again = NoiseModel.from_json(path)
    assert again == model
    assert NoiseModel.from_json(text) == model


def test_rules_apply_in_order_and_by_qubit():
    model = full_model()
    after_h0 = model.errors_after(Instruction("h", (0,)))
    assert [c.name for c, _ in after_h0] == ["depolarizing", "thermal_relaxation"]
    assert [c.name for c, _ in model.errors_after(Instruction("h", (1,)))] == ["depolarizing"]
    assert model.errors_after(Instruction("cx", (1, 0))) == []
    assert [q for _, q in model.errors_after(Instruction("cx", (0, 1)))] == [(0, 1)]
    one_q_on_cx = NoiseModel().add(amplitude_damping(0.1), gates=["cx"])
    assert [q for _, q in one_q_on_cx.errors_after(Instruction("cx", (2, 5)))] == [(2,), (5,)]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(colour=1), "top level: unknown key 'colour'"),
        (lambda d: d.update(version=7), "version: this qtandem reads version 1"),
        (lambda d: d["errors"][1].update(gatez=["h"]), r"errors\[1\]: unknown key 'gatez'"),
        (lambda d: d["errors"][0]["channel"].update(p=3.0), r"errors\[0\]\.channel\.p: must be in \[0, 1\], got 3\.0"),
        (lambda d: d["errors"][0]["channel"].update(type="teleport"),
         r"errors\[0\]\.channel\.type: unknown channel type 'teleport'"),
        (lambda d: d["readout"][0].pop("p10"), r"readout\[0\]: missing key 'p10'"),
        (lambda d: d["idle"][0].update(t2=1000.0), r"idle\[0\]\.t2: T2 .* must be <= 2 T1"),
    ],
)
def test_bad_files_name_the_key_and_path(tmp_path, mutate, message):
    data = full_model().to_dict()
    mutate(data)
    path = tmp_path / "bad_noise.json"
    path.write_text(json.dumps(data))
    with pytest.raises(NoiseError, match=message) as info:
        NoiseModel.from_json(path)
    assert str(path) in str(info.value)


def test_invalid_json_reports_line_and_column(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{\n  "schema": \n}')
    with pytest.raises(NoiseError, match=r"x.json:3:1: invalid JSON"):
        NoiseModel.from_json(path)


def test_channel_size_mismatch_is_reported():
    with pytest.raises(NoiseError, match="2-qubit channel cannot follow the 1-qubit gate 'h'"):
        NoiseModel().add(depolarizing(0.1, 2), gates=["h"])
    model = NoiseModel(strict=False).add(depolarizing(0.1, 2))  # every gate: found when a 1-qubit gate comes
    assert model.check(Circuit(2).h(0)) == ["gate 'h' on qubits (0,): a 2-qubit channel cannot follow a 1-qubit "
                                            "gate (1 instruction, at index 0)"]
    with pytest.raises(NoiseError, match="2-qubit channel cannot follow the 1-qubit gate 'h'"):
        model.errors_after(Instruction("h", (0,)))
