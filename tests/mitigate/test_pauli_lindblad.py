"""Sparse Pauli-Lindblad models: exact rates in closed form, the inverse's sampling, learning by cycle benchmarking."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from qtandem import Circuit, PauliSum
from qtandem.errors import ArgumentTypeError, NoiseError, SimulationError
from qtandem.mitigate import SparsePauliLindblad, from_noise_model, learn_pauli_lindblad, simulator_executor
from qtandem.mitigate.pauli_lindblad import combine, layer_generators
from qtandem.noise import NoiseModel, depolarizing, depolarizing_qiskit, pauli_channel, readout_error
from qtandem.noise.channels import coherent_rotation


def bench_noise() -> NoiseModel:
    """Issue 17's bench noise: Qiskit-convention depolarizing 0.002 / 0.01, readout flips 0.03."""
    return (NoiseModel().add(depolarizing_qiskit(0.002), gates=["rz", "sx", "x"])
            .add(depolarizing_qiskit(0.01, 2), gates=["cx"]).add_readout(readout_error(0.03, 0.03)))


def test_depolarizing_rates_in_closed_form() -> None:
    # depolarizing(p, n): every non-identity Pauli has fidelity 1 - 4^n p / (4^n - 1); each anticommutes
    # with 2 of the 3 (n=1) or 8 of the 15 (n=2) generators, so lambda = -log(f) / 4 or / 16
    m = from_noise_model(NoiseModel().add(depolarizing(0.03), gates=["sx"]).add(depolarizing(0.06, 2), gates=["cx"]),
                         Circuit(3).sx(0).cx(1, 2))
    assert len(m.generators) == 18
    one = [r for g, r in zip(m.generators, m.rates, strict=True) if g[0][0] == 0]
    two = [r for g, r in zip(m.generators, m.rates, strict=True) if g[0][0] != 0]
    assert np.allclose(one, -math.log(1 - 4 * 0.03 / 3) / 4)
    assert np.allclose(two, -math.log(1 - 16 * 0.06 / 15) / 16)
    assert math.isclose(m.gamma, math.exp(2 * sum(m.rates)))


def test_pauli_channel_fidelities_match() -> None:
    px, py, pz = 0.02, 0.005, 0.03
    m = from_noise_model(NoiseModel().add(pauli_channel(px, py, pz), gates=["x"]), Circuit(1).x(0))
    # Pauli fidelities of a Pauli channel: f_X = 1 - 2 (py + pz), ...
    for word, f in ((((0, "X"),), 1 - 2 * (py + pz)), (((0, "Y"),), 1 - 2 * (px + pz)),
                    (((0, "Z"),), 1 - 2 * (px + py))):
        assert math.isclose(m.fidelity(word), f, rel_tol=1e-10)


def test_sampled_inverse_undoes_the_channel() -> None:
    gens = (((0, "X"),), ((0, "Z"), (1, "Z")), ((1, "Y"),), ((0, "X"), (1, "X")))
    m = SparsePauliLindblad(gens, (0.02, 0.05, 0.01, 0.03))
    paulis, signs = m.sample_inverse(np.random.default_rng(0), 50_000)
    for letters in map("".join, itertools.product("IXYZ", repeat=2)):
        q = tuple((i, a) for i, a in enumerate(letters) if a != "I")
        # E[gamma * sign * (+-1 as the drawn Pauli commutes with Q)] = 1 / f_Q
        flips = np.array([(sum(1 for i, a in q if p.get(i, "I") not in ("I", a)) % 2) for p in paulis])
        x = m.gamma * signs * (1 - 2 * flips)
        assert abs(x.mean() - 1 / m.fidelity(q)) < 5 * x.std() / math.sqrt(len(x)) + 1e-12


def test_combine_and_restrict() -> None:
    m = from_noise_model(bench_noise(), Circuit(4).cx(0, 1).sx(2).rz(0.1, 3))
    assert len(m.restrict([0, 1]).generators) == 15
    assert math.isclose(combine([m.restrict([0, 1]), m.restrict([2, 3])]).gamma, m.gamma)
    assert len(layer_generators(Circuit(4).cx(0, 1).sx(2))) == 18


@pytest.mark.parametrize("layer", [Circuit(2).cx(0, 1), Circuit(4).cx(0, 1).cx(3, 2), Circuit(3).sx(0).sx(1).sx(2)],
                         ids=["cx", "2cx", "3sx"])
def test_learned_rates_within_error_bars_of_exact(layer: Circuit) -> None:
    noise = bench_noise()
    run = simulator_executor(noise, seed=1)
    learned = learn_pauli_lindblad(run, layer, shots=200_000, seed=3)
    exact = from_noise_model(noise, layer)
    assert learned.generators == exact.generators
    assert 0.95 * 200_000 < learned.learn_shots <= 200_000
    z = (np.array(learned.rates) - np.array(exact.rates)) / np.array(learned.stderr)
    assert np.abs(z).max() < 4.0
    # the total rate (hence gamma) is pinned much better than any single rate
    se_total = math.sqrt(float(np.sum(np.square(learned.stderr))))
    assert abs(sum(learned.rates) - sum(exact.rates)) < 4 * se_total
    assert se_total < 0.5 * sum(exact.rates)


def test_learning_ignores_readout_and_preparation_errors() -> None:
    # strong readout errors change the decays' amplitudes, not their rates
    noise = NoiseModel().add(depolarizing(0.02, 2), gates=["cx"]).set_ideal(["rz", "sx", "x"])
    heavy = NoiseModel().add(depolarizing(0.02, 2), gates=["cx"]).set_ideal(["rz", "sx", "x"])
    heavy.add_readout(readout_error(0.1, 0.15))
    a = learn_pauli_lindblad(simulator_executor(noise, seed=0), Circuit(2).cx(0, 1), shots=100_000, seed=1)
    b = learn_pauli_lindblad(simulator_executor(heavy, seed=0), Circuit(2).cx(0, 1), shots=100_000, seed=1)
    exact = sum(from_noise_model(noise, Circuit(2).cx(0, 1)).rates)
    for m in (a, b):
        assert abs(sum(m.rates) - exact) < 4 * math.sqrt(float(np.sum(np.square(m.stderr))))


def test_twirled_cycle_benchmarking_learns_the_twirled_coherent_error() -> None:
    # a coherent rz(0.2) on both qubits after every cx: untwirled, the decays are not those of its Pauli
    # twirl (the error adds up coherently); with random frames between the layers they are
    noise = NoiseModel(strict=False).add(coherent_rotation("z", 0.2), gates=["cx"])
    layer = Circuit(2).cx(0, 1)
    exact = from_noise_model(noise, layer)

    def z_scores(model: SparsePauliLindblad) -> np.ndarray:
        out = []
        for key, f in model.details["pair_fidelities"].items():
            a, b = (PauliSum.from_string(t).terms[0][1] for t in key.split("|"))
            out.append((f - exact.fidelity(a) * exact.fidelity(b)) / model.details["pair_fidelity_stderr"][key])
        return np.abs(out)

    twirled = learn_pauli_lindblad(simulator_executor(noise, seed=1), layer, shots=300_000, seed=1, twirl=True,
                                   instances=24, depths=(0, 2, 4, 8))
    plain = learn_pauli_lindblad(simulator_executor(noise, seed=1), layer, shots=300_000, seed=1,
                                 depths=(0, 2, 4, 8))
    assert z_scores(twirled).max() < 4.5
    assert z_scores(plain).max() > 8
    assert abs(twirled.gamma - exact.gamma) < 0.01


def test_bad_inputs() -> None:
    run = simulator_executor(bench_noise(), seed=0)
    with pytest.raises(SimulationError, match="distinct qubits"):
        from_noise_model(bench_noise(), Circuit(2).sx(0).cx(0, 1))
    with pytest.raises(SimulationError, match="not"):
        learn_pauli_lindblad(run, Circuit(1).rz(0.3, 0), shots=1000)
    with pytest.raises(SimulationError, match="back to itself"):
        learn_pauli_lindblad(run, Circuit(2).cx(0, 1), depths=(1, 2), shots=9000)
    with pytest.raises(SimulationError, match="at least two"):
        learn_pauli_lindblad(run, Circuit(2).cx(0, 1), depths=(2,), shots=9000)
    with pytest.raises(SimulationError, match="cannot cover"):
        learn_pauli_lindblad(run, Circuit(2).cx(0, 1), shots=10)
    with pytest.raises(ArgumentTypeError, match="NoiseModel or a Device"):
        from_noise_model("bench", Circuit(1).sx(0))
    with pytest.raises(NoiseError, match="no inverse"):
        from_noise_model(NoiseModel().add(depolarizing(0.75), gates=["sx"]), Circuit(1).sx(0))
    with pytest.raises(NoiseError, match="rates"):
        SparsePauliLindblad((((0, "X"),),), (0.1, 0.2))
