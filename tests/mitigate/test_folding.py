"""Unitary folding and parameter noise scaling (qtandem.mitigate.folding) against exact matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tests.conftest import random_circuit

from qtandem import Circuit
from qtandem.errors import ArgumentTypeError, CircuitError, NoiseError
from qtandem.mitigate.folding import fold_gates, fold_global, noise_scale, scale_noise
from qtandem.noise import NoiseModel, amplitude_damping, coherent_rotation, depolarizing, pauli_channel, readout_error
from qtandem.sim.reference import reference_unitary

BASIS = ["rz", "sx", "x", "cx"]


def compiled_like(n: int, layers: int, seed: int) -> Circuit:
    """A circuit as the compiler writes it: rz sx rz sx rz runs between cx (or x) layers, no two rz in a row."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            for _ in range(2):
                c.rz(rng.uniform(-math.pi, math.pi), q).sx(q)
            c.rz(rng.uniform(-math.pi, math.pi), q)
        touched = set()
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
            touched |= {q, q + 1}
        for q in sorted(set(range(n)) - touched):
            c.x(q)
    return c


def same_unitary(a: Circuit, b: Circuit) -> bool:
    ua, ub = reference_unitary(a), reference_unitary(b)
    k = int(np.argmax(np.abs(ub)))
    phase = ua.flat[k] / ub.flat[k]
    return abs(abs(phase) - 1) < 1e-9 and np.allclose(ua, phase * ub, atol=1e-9)


@pytest.mark.parametrize("sx_inverse", ["rz", "x", "sxdg"])
@pytest.mark.parametrize("scale", [1, 1.4, 2, 3, 3.7, 5])
def test_global_folding_keeps_the_unitary(scale: float, sx_inverse: str) -> None:
    c = compiled_like(3, 2, seed=int(scale * 10))
    folded = fold_global(c, scale, sx_inverse=sx_inverse)
    assert same_unitary(folded, c)
    if sx_inverse != "sxdg":
        assert set(folded.count_ops()) <= set(BASIS)


@pytest.mark.parametrize("where", ["random", "left", "right"])
@pytest.mark.parametrize("scale", [1.3, 2, 3, 4.5])
def test_local_folding_keeps_the_unitary(scale: float, where: str) -> None:
    c = compiled_like(3, 2, seed=7)
    folded = fold_gates(c, scale, where=where, seed=3)
    assert same_unitary(folded, c)
    assert set(folded.count_ops()) <= set(BASIS)


def test_folding_any_gate_set() -> None:
    c = random_circuit(3, 25, seed=11, modifiers=False)
    assert same_unitary(fold_global(c, 2.5), c)
    assert same_unitary(fold_gates(c, 2.5, seed=1), c)


@pytest.mark.parametrize("scale", [1, 3, 5, 7])
def test_global_fold_of_a_compiled_circuit_scales_every_count_exactly(scale: int) -> None:
    c = compiled_like(4, 3, seed=scale)
    folded = fold_global(c, scale)
    before, after = c.count_ops(), folded.count_ops()
    assert after == {name: scale * count for name, count in before.items()}
    assert noise_scale(c, folded) == scale


@pytest.mark.parametrize("scale", [1.2, 1.5, 2, 2.5, 3.3, 4])
def test_fractional_scales_hit_the_gate_count(scale: float) -> None:
    c = compiled_like(4, 3, seed=1)
    n = c.num_gates()
    assert abs(fold_global(c, scale).num_gates() - scale * n) <= 2  # rounding of the partial fold (an rz pair)
    folded = fold_gates(c, scale, seed=2, sx_inverse="sxdg")  # one gate per inverse: exact counts
    assert abs(folded.num_gates() - scale * n) <= 2


def test_local_folding_choice_is_seeded_and_positional() -> None:
    c = Circuit(3).x(0).x(1).x(2).cx(0, 1)
    assert fold_gates(c, 2, seed=5) == fold_gates(c, 2, seed=5)
    left = [i.name for i in fold_gates(c, 1.5, where="left")]
    right = [i.name for i in fold_gates(c, 1.5, where="right")]
    assert left == ["x", "x", "x", "x", "x", "cx"]
    assert right == ["x", "x", "x", "cx", "cx", "cx"]


def test_sx_inverse_forms() -> None:
    c = Circuit(1).sx(0)
    assert [i.name for i in fold_gates(c, 3)] == ["sx", "x", "sx", "sx"]
    assert [i.name for i in fold_gates(c, 3, sx_inverse="sxdg")] == ["sx", "sxdg", "sx"]
    assert [i.name for i in fold_global(c, 3)] == ["sx", "x", "sx", "sx"]  # no rz to merge with: x sx
    flanked = Circuit(1).rz(0.3, 0).sx(0)
    assert [i.name for i in fold_global(flanked, 3)] == ["rz", "sx", "rz", "sx", "rz", "rz", "sx"]


def test_measurements_and_barriers() -> None:
    c = Circuit(2, 2).sx(0).barrier(0, 1).cx(0, 1).measure([0, 1], [0, 1])
    folded = fold_global(c, 3)
    names = [i.name for i in folded]
    assert names[-2:] == ["measure", "measure"] and names.count("measure") == 2
    assert names.count("barrier") == 3  # one in G, G^dag, G each: no gate crosses it
    body = Circuit(2).compose(Circuit(2, 0).sx(0).barrier(0, 1).cx(0, 1))
    unit = Circuit(2)
    for inst in folded:
        if inst.name != "measure":
            unit.append(inst)
    assert same_unitary(unit, body)
    mid = Circuit(1, 1).sx(0).measure(0, 0).sx(0)
    with pytest.raises(CircuitError, match="mid-circuit measure"):
        fold_global(mid, 3)
    with pytest.raises(CircuitError, match="mid-circuit reset"):
        fold_gates(Circuit(1).reset(0).x(0), 3)


def test_bad_arguments() -> None:
    c = Circuit(1).x(0)
    with pytest.raises(CircuitError, match=">= 1"):
        fold_global(c, 0.5)
    with pytest.raises(ArgumentTypeError, match="number"):
        fold_global(c, "big")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="where"):
        fold_gates(c, 2, where="middle")
    with pytest.raises(ArgumentTypeError, match="sx_inverse"):
        fold_global(c, 2, sx_inverse="h")
    with pytest.raises(ArgumentTypeError, match="Circuit"):
        fold_global("x q[0];", 3)  # type: ignore[arg-type]


def test_noise_scale_by_weights() -> None:
    c = Circuit(2).sx(0).cx(0, 1)
    folded = fold_gates(c, 2, where="left")  # sx -> sx x sx sx: 4 one-qubit gates
    assert noise_scale(c, folded) == 5 / 2
    assert noise_scale(c, folded, weights={"sx": 1, "x": 1, "cx": 10}) == pytest.approx(14 / 11)


# -- parameter scaling ---------------------------------------------------------------------------------------------


def _ptm_power_ok(channel, scale: int) -> bool:
    ref = channel.ptm()
    want = torch.linalg.matrix_power(ref, scale)
    return bool(torch.allclose(want, scale_noise(NoiseModel().add(channel, gates=["x"]), scale).rules[0].channel.ptm(),
                               atol=1e-12))


@pytest.mark.parametrize("channel", [depolarizing(0.03), depolarizing(0.02, 2), pauli_channel(0.01, 0.02, 0.05),
                                     amplitude_damping(0.1), coherent_rotation("x", 0.07)],
                         ids=["dep1", "dep2", "pauli", "damping", "coherent"])
def test_integer_parameter_scaling_is_the_channel_applied_repeatedly(channel) -> None:
    for scale in (2, 3):
        if channel.num_qubits == 2:
            model = NoiseModel().add(channel, gates=["cx"])
            got = scale_noise(model, scale).rules[0].channel.ptm()
            assert torch.allclose(got, torch.linalg.matrix_power(channel.ptm(), scale), atol=1e-12)
        else:
            assert _ptm_power_ok(channel, scale)


def test_fractional_parameter_scaling_composes() -> None:
    model = NoiseModel().add(depolarizing(0.03), gates=["sx"]).add(amplitude_damping(0.1), gates=["sx"])
    half = scale_noise(model, 1.5)
    twice = scale_noise(half, 2)
    three = scale_noise(model, 3)
    for a, b in zip(twice.rules, three.rules, strict=True):
        assert a.channel.allclose(b.channel, atol=1e-12)


def test_parameter_scaling_keeps_readout_and_scales_idle() -> None:
    model = (NoiseModel().add(depolarizing(0.01), gates=["sx"]).add_readout(readout_error(0.02, 0.03))
             .add_idle(1e5, 8e4))
    scaled = scale_noise(model, 2)
    assert scaled.default_readout is model.default_readout
    assert scaled.default_idle == (5e4, 4e4)
    assert model.rules[0].channel.params["p"] == 0.01  # input unchanged
    c = Circuit(1, 1).sx(0).sx(0).measure(0, 0)
    # the noisy probability of the scaled model equals the original's with every sx error applied twice
    doubled = NoiseModel().add(depolarizing(0.01).compose(depolarizing(0.01)), gates=["sx"]).add_readout(
        readout_error(0.02, 0.03)).add_idle(5e4, 4e4)
    assert torch.allclose(scaled.outcome_probabilities(c), doubled.outcome_probabilities(c), atol=1e-12)


def test_parameter_scaling_of_a_device() -> None:
    from qtandem.device import Device

    device = Device.preset("line_5")
    scaled = scale_noise(device, 2)
    assert isinstance(scaled, NoiseModel) and len(scaled.rules) == len(device.noise_model().rules)


def test_parameter_scaling_refuses() -> None:
    with pytest.raises(ArgumentTypeError, match="NoiseModel, Device or Calibration"):
        scale_noise("noisy", 2)
    with pytest.raises(ArgumentTypeError, match="positive"):
        scale_noise(NoiseModel(), 0)
    from qtandem.noise import KrausChannel

    raw = NoiseModel().add(KrausChannel(depolarizing(0.05).kraus, name="kraus"), gates=["x"])
    assert len(scale_noise(raw, 2).rules[0].channel.kraus) >= 4
    with pytest.raises(NoiseError, match="integer factor"):
        scale_noise(raw, 1.5)


def test_weighted_partial_fold_scales_the_error() -> None:
    c = Circuit(4).rz(0.3, 0).sx(0).rz(0.2, 0).rz(0.1, 1).sx(1).rz(0.4, 1).cx(0, 1).cx(1, 2).cx(2, 3)
    w = {"rz": 0.001, "sx": 0.001, "x": 0.001, "cx": 0.01}
    by_count = fold_global(c, 2)  # the last half of the gates: all three cx, nearly 3x the error
    by_weight = fold_global(c, 2, weights=w)
    assert noise_scale(c, by_count, weights=w) > 2.8
    assert abs(noise_scale(c, by_weight, weights=w) - 2) < abs(noise_scale(c, by_count, weights=w) - 2)
    assert same_unitary(by_weight, c)
    assert fold_global(c, 3, weights=w) == fold_global(c, 3)  # whole folds do not depend on weights
