"""Noise never silently disappears: strict models refuse gates they have no rule for, in every noisy path."""

import numpy as np
import pytest
import torch

import qtandem
from qtandem import Circuit, PauliSum
from qtandem.device import Device
from qtandem.errors import NoiseError
from qtandem.noise import NoiseModel, depolarizing, readout_error
from qtandem.noise.trajectories import run_trajectories
from qtandem.sim.functional import run_batched

DEV = Device.preset("line_5")
# issue 13 section 2: non-native h, ccx and an uncoupled cx, simulated with the device's noise
NON_NATIVE = Circuit(3, 3).h(0).cx(0, 2).ccx(0, 1, 2).measure([0, 1, 2], [0, 1, 2])
Z0 = PauliSum.from_string("Z0")

ENTRY_POINTS = {
    "sample/density": lambda c, m: qtandem.sample(c, shots=10, seed=0, noise=m, method="density"),
    "sample/trajectories": lambda c, m: qtandem.sample(c, shots=10, seed=0, noise=m, method="trajectories"),
    "probabilities": lambda c, m: qtandem.probabilities(c, noise=m),
    "expval": lambda c, m: qtandem.expval(c, Z0, noise=m),
    "density_matrix": lambda c, m: qtandem.density_matrix(c, noise=m),
    "run_trajectories": lambda c, m: run_trajectories(c, noise=m, shots=10, seed=0),
    "run_batched": lambda c, m: run_batched(_unmeasured(c), {}, observables=[Z0], noise=m),
    "distribution": lambda c, m: qtandem.distribution(c, noise=m),
    "distribution/mid-circuit": lambda c, m: qtandem.distribution(Circuit(3, 4).compose(c).reset(0).h(0).measure(0, 3),
                                                                  noise=m),
}


def _unmeasured(c):
    out = Circuit(c.n_qubits)
    for inst in c:
        if inst.name != "measure":
            out.append(inst)
    return out


def test_check_lists_every_kind_of_problem():
    model = DEV.noise_model()
    assert model.check(NON_NATIVE) == [
        "gate 'h': no noise rule (1 instruction, at index 0)",
        "gate 'ccx': no noise rule (1 instruction, at index 2)",
        "gate 'cx' on qubits (0, 2): no noise rule for these qubits (not coupled?) (1 instruction, at index 1)",
    ]
    wide = Circuit(7).sx(6)
    assert model.check(wide) == [
        "the circuit has 7 qubits, the noise model describes 5: qubits 5..6 would get no noise",
        "gate 'sx' on qubits (6,): no noise rule for these qubits (1 instruction, at index 0)"]
    native = Circuit(5, 5).rz(0.2, 0).sx(0).x(1).id(2).cx(0, 1).cx(2, 1).measure(range(5), range(5))
    assert model.check(native) == []


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_noisy_entry_point_refuses_uncovered_gates(name):
    with pytest.raises(NoiseError) as info:
        ENTRY_POINTS[name](NON_NATIVE, DEV.noise_model())
    text = str(info.value)
    assert "gate 'h': no noise rule" in text and "(0, 2)" in text
    assert "prepare_for_device" in text and "strict=False" in text


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_strict_false_keeps_only_covered_gates_noisy(name):
    ENTRY_POINTS[name](NON_NATIVE, DEV.noise_model(strict=False))  # runs
    lenient = NoiseModel(strict=False).add(depolarizing(0.2), gates=["x"])
    declared = NoiseModel().add(depolarizing(0.2), gates=["x"]).set_ideal(["h", "cx"])
    c = Circuit(2).h(0).x(1).cx(0, 1)
    assert torch.allclose(qtandem.density_matrix(c, noise=lenient), qtandem.density_matrix(c, noise=declared))


def test_opt_out_and_ideal_survive_json():
    model = DEV.noise_model(strict=False)
    again = NoiseModel.from_json(model.to_json())
    assert again == model and not again.strict and again.ideal == {"rz"} and again.num_qubits == 5
    assert again.check(NON_NATIVE) == model.check(NON_NATIVE)


def test_a_default_rule_covers_every_gate_and_readout_only_models_have_nothing_to_check():
    everything = NoiseModel().add(depolarizing(0.01))
    assert everything.check(NON_NATIVE) == []
    qtandem.probabilities(NON_NATIVE, noise=everything)
    readout_only = NoiseModel().add_readout(readout_error(0.1, 0.1))
    assert readout_only.check(NON_NATIVE) == []
    probs = qtandem.probabilities(Circuit(1, 1).x(0).measure(0, 0), noise=readout_only)
    assert np.allclose(probs.numpy(), [0.1, 0.9])


def test_a_rule_for_some_qubits_only_is_a_problem_on_the_others():
    model = NoiseModel().add(depolarizing(0.01), gates=["x"], qubits=[0])
    assert model.check(Circuit(2).x(0).x(1)) == [
        "gate 'x' on qubits (1,): no noise rule for these qubits (1 instruction, at index 1)"]


def test_the_error_lists_at_most_eight_problems():
    c = Circuit(12)
    for q in range(11):
        c.h(q).cx(q, q + 1)
    model = NoiseModel(num_qubits=2).add(depolarizing(0.01, 2), gates=["cx"], qubits=[(0, 1)])
    with pytest.raises(NoiseError, match=r"\.\.\. and \d+ more"):
        model.require_coverage(c)


def test_compiled_circuits_run_with_the_device_noise():
    from qtandem.compile import prepare_for_device

    dev = Device.preset("heavy_hex_27")
    with pytest.raises(NoiseError):
        qtandem.sample(NON_NATIVE, shots=10, seed=0, noise=dev.noise_model())
    out, report = prepare_for_device(NON_NATIVE, dev, seed=3)
    model = dev.subset(report["physical_qubits"]).noise_model()
    assert model.check(out) == []
    noisy = qtandem.sample(out, shots=2000, seed=1, noise=model).counts
    ideal = qtandem.sample(NON_NATIVE, shots=2000, seed=1).counts
    assert set(ideal) == {"000", "101"}  # h, cx to 2, then ccx does nothing (qubit 1 stays 0)
    assert sorted(sorted(noisy, key=noisy.get)[-2:]) == ["000", "101"] and len(noisy) > 2  # noise is there
