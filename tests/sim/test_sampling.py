import math

import numpy as np
import pytest
import torch
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit
from qtandem.errors import SimulationError
from qtandem.sim.reference import reference_statevector


def _chi2_ok(counts: dict[str, int], probs: np.ndarray, shots: int) -> bool:
    """Pearson chi-square against the exact distribution, loose 1e-4-level threshold."""
    n_bits = int(math.log2(len(probs)))
    observed = np.zeros(len(probs))
    for k, v in counts.items():
        observed[int(k, 2)] = v
    mask = probs * shots > 5
    expected = probs[mask] * shots
    stat = ((observed[mask] - expected) ** 2 / expected).sum()
    dof = max(mask.sum() - 1, 1)
    # mean dof, sd sqrt(2 dof): 6 sd is far beyond noise but catches a wrong distribution
    return stat < dof + 6 * math.sqrt(2 * dof) + 10 and observed[~mask].sum() <= 5 * max(1, (~mask).sum()) + n_bits


def test_samples_follow_born_rule():
    c = random_circuit(4, 30, seed=11, modifiers=False)
    probs = np.abs(reference_statevector(c)) ** 2
    res = qtandem.sample(c, shots=20000, seed=1)
    assert res.bits.shape == (20000, 4)
    assert _chi2_ok(res.counts, probs, 20000)


def test_seed_reproducible_and_different_seeds_differ():
    c = Circuit(3).h([0, 1, 2])
    a = qtandem.sample(c, shots=200, seed=9)
    b = qtandem.sample(c, shots=200, seed=9)
    d = qtandem.sample(c, shots=200, seed=10)
    assert np.array_equal(a.bits, b.bits)
    assert not np.array_equal(a.bits, d.bits)


def test_measure_map_to_chosen_bits():
    c = Circuit(3, 2).x(2).measure(2, 0).measure(0, 1)
    res = qtandem.sample(c, shots=50, seed=0)
    assert res.counts == {"01": 50}
    assert res.most_common(1) == [("01", 50)]
    assert res.to_ints().tolist() == [1] * 50


def test_mid_circuit_measurement_branches_per_shot():
    # teleport-like feed-forward: measure a |+> qubit, flip target when the outcome is 1
    c = Circuit(2, 2).h(0).measure(0, 0)
    c.append("x", [1], condition=((0,), 1))
    c.measure(1, 1)
    res = qtandem.sample(c, shots=4000, seed=3)
    assert set(res.counts) == {"00", "11"}
    assert abs(res.counts["11"] / 4000 - 0.5) < 0.04


def test_reset_mid_circuit():
    c = Circuit(1, 2).x(0).measure(0, 0).reset(0).measure(0, 1)
    assert qtandem.sample(c, shots=100, seed=0).counts == {"01": 100}


def test_sample_without_measurements_measures_all():
    res = qtandem.sample(Circuit(2).x(1), shots=10, seed=0)
    assert res.counts == {"10": 10}


def test_probabilities_and_marginals():
    c = random_circuit(4, 25, seed=5, modifiers=False)
    psi = reference_statevector(c)
    probs = np.abs(psi) ** 2
    np.testing.assert_allclose(qtandem.probabilities(c).numpy(), probs, atol=1e-12)
    marg = qtandem.probabilities(c, qubits=[2, 0]).numpy()
    expect = np.zeros(4)
    for i, p in enumerate(probs):
        expect[((i >> 2) & 1) | (((i >> 0) & 1) << 1)] += p
    np.testing.assert_allclose(marg, expect, atol=1e-12)


def test_probabilities_average_the_branches_of_a_mid_circuit_measurement():
    c = Circuit(1, 1).h(0).measure(0, 0).h(0)   # was refused before issue 13: now the branches' mean
    assert qtandem.probabilities(c).tolist() == pytest.approx([0.5, 0.5], abs=1e-12)
    assert qtandem.probabilities(Circuit(1).reset(0).x(0)).tolist() == pytest.approx([0.0, 1.0], abs=1e-12)


def test_bad_shots():
    with pytest.raises(SimulationError, match="positive integer"):
        qtandem.sample(Circuit(1), shots=0)


def test_expval_batched_matches_loop():
    from qtandem import Parameter

    a = Parameter("a")
    c = Circuit(2).ry(a, 0).cx(0, 1).rx(a / 2, 1)
    vals = torch.linspace(-2, 2, 7, dtype=torch.float64).reshape(-1, 1)
    batched = qtandem.expval(c, ["Z0 Z1", "X0 + Y1"], vals)
    assert batched.shape == (7, 2)
    for i in range(7):
        single = qtandem.expval(c, ["Z0 Z1", "X0 + Y1"], vals[i])
        np.testing.assert_allclose(batched[i].numpy(), single.numpy(), atol=1e-12)
