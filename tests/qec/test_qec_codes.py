"""Circuits, noise presets and the NoiseModel/Device -> Stim mapping."""

import numpy as np
import pytest
import stim

from qtandem.errors import NoiseError
from qtandem.noise import NoiseModel, amplitude_damping, depolarizing, pauli_channel, readout_error
from qtandem.qec.codes import (
    circuit_from_spec,
    color_code,
    memory_circuit,
    repetition_code,
    si1000,
    surface_code,
    uniform_noise_kwargs,
)
from qtandem.qec.noise_map import noisy_circuit, twirl


@pytest.mark.parametrize("d", [3, 5])
@pytest.mark.parametrize("basis", ["X", "Z"])
def test_surface_code_counts(d, basis):
    c = surface_code(d, d, basis=basis, p=0.001)
    # (d^2 - 1) / 2 stabilizers of the memory basis in the first and last round, all d^2 - 1 in between
    assert c.num_detectors == (d * d - 1) * d
    assert c.num_observables == 1
    assert c.num_qubits >= 2 * d * d - 1


def test_repetition_and_colour_counts():
    assert repetition_code(5, 4).num_detectors == 4 * 4 + 4
    assert color_code(3, 2).num_observables == 1
    with pytest.raises(NoiseError, match="odd"):
        color_code(4, 2)


def test_uniform_preset_is_stims_generator():
    want = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
                                  after_clifford_depolarization=0.004, before_round_data_depolarization=0.004,
                                  before_measure_flip_probability=0.004, after_reset_flip_probability=0.004)
    assert surface_code(3, 3, p=0.004) == want
    text = str(surface_code(3, 3, p=0.004))
    for inst in ("DEPOLARIZE1(0.004)", "DEPOLARIZE2(0.004)", "X_ERROR(0.004)"):
        assert inst in text
    assert set(uniform_noise_kwargs(0.2).values()) == {0.2}


def test_si1000_instructions():
    p = 0.002
    c = surface_code(3, 3, noise="si1000", p=p)
    names = {(inst.name, tuple(inst.gate_args_copy())) for inst in c.flattened()}
    assert ("DEPOLARIZE2", (p,)) in names  # after CX
    assert ("DEPOLARIZE1", (p / 10,)) in names  # after H and gate-layer idles
    assert ("DEPOLARIZE1", (2 * p,)) in names  # idles during measure/reset layers
    assert ("X_ERROR", (5 * p,)) in names  # before measurements
    assert ("X_ERROR", (2 * p,)) in names  # after resets
    # every qubit idle in the final data measurement layer: ancillas get the resonator-idle error
    small = si1000(stim.Circuit("R 0 1 2\nTICK\nCX 0 1\nTICK\nM 0"), 0.01)
    ops = [(i.name, [t.value for t in i.targets_copy()], i.gate_args_copy()) for i in small]
    assert ("DEPOLARIZE1", [2], [pytest.approx(0.001)]) in ops
    assert ("DEPOLARIZE1", [1, 2], [pytest.approx(0.02)]) in ops
    assert ops.index(("X_ERROR", [0], [pytest.approx(0.05)])) < ops.index(("M", [0], []))
    with pytest.raises(NoiseError, match="noiseless"):
        si1000(surface_code(3, 3, p=0.001), 0.001)


def test_bad_noise_and_sizes():
    with pytest.raises(NoiseError, match="unknown noise preset 'bogus'"):
        surface_code(3, 3, noise="bogus")
    with pytest.raises(NoiseError, match="basis"):
        surface_code(3, 3, basis="Y")
    with pytest.raises(NoiseError, match="probability"):
        surface_code(3, 3, p=1.5)
    with pytest.raises(NoiseError, match="unknown code"):
        memory_circuit("toric", 3)
    with pytest.raises(NoiseError, match="allows only"):
        circuit_from_spec({"code": "surface", "distance": 3, "colour": 1})


def test_pauli_channel_maps_exactly():
    model = NoiseModel().add(pauli_channel(0.01, 0.02, 0.03), gates="h").add(depolarizing(0.015, 2), gates="cx")
    base = stim.Circuit("R 0 1\nTICK\nH 0\nTICK\nCX 0 1\nTICK\nM 0 1")
    got = noisy_circuit(base, model)
    want = stim.Circuit("R 0 1\nTICK\nH 0\nPAULI_CHANNEL_1(0.01, 0.02, 0.03) 0\nTICK\nCX 0 1\n"
                        "DEPOLARIZE2(0.015) 0 1\nTICK\nM 0 1")
    assert got.approx_equals(want, atol=1e-12)
    probs, exact = twirl(pauli_channel(0.01, 0.02, 0.03))
    assert exact and probs == pytest.approx([0.01, 0.02, 0.03], abs=1e-14)


def test_two_qubit_twirl_order_matches_stim():
    # X on the first qubit only: Stim's PAULI_CHANNEL_2 argument "XI" (index 3)
    from qtandem.noise.channels import KrausChannel

    x_first = np.kron(np.eye(2), np.array([[0, 1], [1, 0]]))  # qtandem: first qubit least significant
    ch = KrausChannel([np.sqrt(0.9) * np.eye(4), np.sqrt(0.1) * x_first])
    probs, exact = twirl(ch)
    assert exact and probs[3] == pytest.approx(0.1) and sum(probs) == pytest.approx(0.1)


def test_non_pauli_is_twirled_and_readout_symmetrised():
    probs, exact = twirl(amplitude_damping(0.2))
    g = 0.2
    assert not exact
    assert probs == pytest.approx([g / 4, g / 4, (1 - np.sqrt(1 - g)) ** 2 / 4])
    model = NoiseModel().add_readout(readout_error(0.01, 0.03))
    c = noisy_circuit(stim.Circuit("M 0"), model)
    assert c == stim.Circuit("X_ERROR(0.02) 0\nM 0")


def test_device_mapping_gives_a_decodable_circuit():
    from qtandem.device import Device
    from qtandem.qec.matching import MatchingDecoder

    c = surface_code(3, 3, noise=Device.preset("line_5"))
    assert "PAULI_CHANNEL" in str(c) or "DEPOLARIZE" in str(c)
    dec = MatchingDecoder(c)
    dets, obs = c.compile_detector_sampler(seed=1).sample(500, separate_observables=True)
    assert (dec.decode(dets) != obs).mean() < 0.3


def test_idle_relaxation_on_untouched_qubits_only():
    from qtandem.noise import thermal_relaxation

    model = NoiseModel().add_idle(100.0, 80.0).set_durations({"1q": 10.0, "2q": 40.0})
    c = noisy_circuit(stim.Circuit("H 0\nTICK\nCX 0 1\nTICK\nH 2"), model)
    probs, exact = twirl(thermal_relaxation(100.0, 80.0, 10.0))
    assert not exact  # amplitude damping part: a twirled approximation
    ops = [(i.name, [t.value for t in i.targets_copy()], i.gate_args_copy()) for i in c]
    # layer 1 (H 0, 10 time units): qubits 1 and 2 idle; layer 2 (CX, 40): qubit 2; layer 3: 0 and 1
    assert ops[1][0] == "PAULI_CHANNEL_1" and ops[1][1] == [1, 2] and ops[1][2] == pytest.approx(probs)
    assert ops[4][1] == [2] and ops[4][2] != ops[1][2]  # longer layer, larger error
    assert ops[-1][1] == [0, 1]
