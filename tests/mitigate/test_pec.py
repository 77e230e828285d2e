"""PEC: layers, unbiasedness within error bars under Pauli noise, honest error bars, learned models, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import qtandem
from qtandem import Circuit
from qtandem.errors import ArgumentTypeError, SimulationError
from qtandem.mitigate import execute, from_noise_model, pec, simulator_executor
from qtandem.mitigate.pec import split_layers
from qtandem.noise import NoiseModel, depolarizing, depolarizing_qiskit
from qtandem.sim.dense import equal_up_to_phase

OBS = "Z0 Z1 + 0.5*X1"


def _noise() -> NoiseModel:
    return (NoiseModel().add(depolarizing_qiskit(0.01), gates=["rz", "sx", "x"])
            .add(depolarizing_qiskit(0.08, 2), gates=["cx"]))


def _circuit() -> Circuit:
    return (Circuit(2).rz(0.7, 0).sx(0).rz(0.3, 1).sx(1).rz(-1.2, 1).cx(0, 1).rz(1.1, 1).sx(1).rz(0.4, 1)
            .cx(1, 0).rz(-0.6, 0).sx(0).rz(2.0, 0))


def test_layers_keep_the_unitary() -> None:
    rng = np.random.default_rng(0)
    c = Circuit(4)
    for _ in range(4):
        for q in range(4):
            c.rz(float(rng.uniform(-3, 3)), q).sx(q)
        a, b = (int(x) for x in rng.choice(4, size=2, replace=False))
        c.cx(a, b)
    layers, tail = split_layers(c)
    assert tail == []
    rebuilt = Circuit(4)
    for k, layer in enumerate(layers):
        sizes = {len(inst.qubits) for inst in layer}
        assert len(sizes) == 1
        qubits = [q for inst in layer for q in inst.qubits]
        assert len(qubits) == len(set(qubits))
        for inst in layer:
            rebuilt.append(inst)
        if k and sizes == {2}:
            assert len(layers[k - 1][0].qubits) == 1  # two-qubit layers are never adjacent
    assert equal_up_to_phase(rebuilt.to_matrix().numpy(), c.to_matrix().numpy(), 1e-9)


def test_unbiased_within_error_bars_and_honest_stderr() -> None:
    noise, c = _noise(), _circuit()
    ideal = float(qtandem.expval(c, OBS).real)
    run = simulator_executor(noise, seed=0)
    method = pec(samples=200)
    vals, errs, raws = [], [], []
    for s in range(12):
        res = execute(c, OBS, run, methods=[method], shots=20_000, seed=s, noise=noise)
        assert res.shots_used == 20_000
        vals.append(res.value)
        errs.append(res.stderr)
        raws.append(res.raw)
    sigma = math.sqrt(float(np.sum(np.square(errs)))) / len(vals)
    assert abs(np.mean(vals) - ideal) < 4 * sigma
    assert abs(np.mean(raws) - ideal) > 8 * sigma  # the noise is strong enough that the test could fail
    ratio = float(np.std(vals, ddof=1)) / math.sqrt(float(np.mean(np.square(errs))))
    assert 0.5 < ratio < 1.6
    info = res.details["pec"]
    layers, _ = split_layers(c)
    gamma = math.prod(from_noise_model(noise, Circuit(2).compose(_as_circuit(layer))).gamma for layer in layers)
    assert math.isclose(info["gamma"], gamma) and math.isclose(info["sampling_overhead"], gamma**2)
    assert info["model"] == "exact" and info["samples"] == 200


def _as_circuit(layer: list) -> Circuit:
    out = Circuit(2)
    for inst in layer:
        out.append(inst)
    return out


def test_learned_model_is_one_off_and_cached() -> None:
    noise = NoiseModel().add(depolarizing(0.08, 2), gates=["cx"]).add(depolarizing(0.005), gates=["rz", "sx", "x"])
    c = _circuit()
    ideal = float(qtandem.expval(c, OBS).real)
    run = simulator_executor(noise, seed=1)
    method = pec(samples=200, learn_shots=40_000)
    first = execute(c, OBS, run, methods=[method], shots=40_000, seed=2)
    assert first.details["pec"]["model"] == "learn"
    assert first.one_off_shots == first.details["one_off"]["pec_learning"] > 0
    assert first.shots_used == 40_000
    assert abs(first.value - ideal) < 4 * first.stderr
    assert abs(first.raw - ideal) > 3 * first.stderr
    second = execute(c, OBS, run, methods=[method], shots=40_000, seed=3)
    assert second.one_off_shots == 0  # cached in the method object


def test_given_model_is_restricted_to_each_layer() -> None:
    noise = NoiseModel().add(depolarizing(0.05, 2), gates=["cx"]).set_ideal(["rz", "sx", "x"])
    model = from_noise_model(noise, Circuit(2).cx(0, 1))
    c = Circuit(2).x(0).cx(0, 1).cx(0, 1).cx(0, 1)
    res = execute(c, "Z0 Z1", simulator_executor(noise, seed=0), methods=[pec(model, samples=300)], shots=30_000,
                  seed=4)
    assert math.isclose(res.details["pec"]["gamma"], model.gamma**3)
    assert abs(res.value - 1) < 4 * res.stderr


def test_bad_arguments_and_circuits() -> None:
    with pytest.raises(ArgumentTypeError, match="samples"):
        pec(samples=1)
    with pytest.raises(ArgumentTypeError, match="model"):
        pec(model=5)
    with pytest.raises(ArgumentTypeError, match="learn_shots"):
        pec(learn_shots=0)
    run = simulator_executor(_noise(), seed=0)
    with pytest.raises(ArgumentTypeError, match="noise="):
        execute(_circuit(), OBS, run, methods=[pec("exact")], shots=1000, seed=0)
    with pytest.raises(SimulationError, match="not a one- or two-qubit gate"):
        split_layers(Circuit(2, 1).sx(0).measure(0, 0).cx(0, 1))
    with pytest.raises(SimulationError, match="not a one- or two-qubit gate"):
        split_layers(Circuit(3).ccx(0, 1, 2))
    loose = NoiseModel(strict=False).add(depolarizing(0.01, 2), gates=["cx"])
    with pytest.raises(SimulationError, match="stand-in"):
        execute(Circuit(2).ry(0.3, 0).cx(0, 1), "Z0", simulator_executor(loose, seed=0),
                methods=[pec(learn_shots=1000)], shots=1000, seed=0)
