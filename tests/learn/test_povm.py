"""Tetrahedral POVM data, its density-matrix inversion and the autoregressive POVM state model."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import torch

from qtandem import Circuit
from qtandem.errors import DataError, ParameterError
from qtandem.learn.povm import TETRAHEDRAL, POVMStateModel, measure_povm, povm_density_matrix, povm_mle
from qtandem.learn.tomography import state_fidelity, trace_distance
from qtandem.noise import NoiseModel, depolarizing
from qtandem.noise.density import density_matrix

SIGMA = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]


def random_rho(n, rank, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2**n, rank)) + 1j * rng.normal(size=(2**n, rank))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def numpy_povm_probs(rho, n):
    """P(a) = tr(rho kron M) with kron ordered qubit n-1 first; index sum_q a_q 4**q."""
    p = np.zeros(4**n)
    for a in itertools.product(range(4), repeat=n):  # a[q] for qubit q
        op = functools.reduce(np.kron, [TETRAHEDRAL[a[q]].numpy() for q in reversed(range(n))])
        p[sum(a[q] * 4**q for q in range(n))] = np.real(np.trace(rho @ op))
    return p


def test_tetrahedral_povm_is_a_symmetric_ic_povm():
    m = TETRAHEDRAL.numpy()
    assert np.allclose(m.sum(0), np.eye(2))
    assert all(np.linalg.eigvalsh(e).min() > -1e-12 for e in m)
    overlap = np.einsum("aij,bji->ab", m, m).real
    assert np.allclose(overlap, (np.eye(4) * 2 + 1) / 12)  # tr(M_a M_b) = (2 delta_ab + 1) / 12 (SIC)
    for s in SIGMA:  # Bloch vectors of the effects sum to zero
        assert abs(sum(np.trace(e @ s) for e in m)) < 1e-12


def test_measure_povm_follows_born_rule():
    n = 2
    rho = random_rho(n, 2, 0)
    exact = numpy_povm_probs(rho, n)
    shots = 200000
    a = measure_povm(torch.as_tensor(rho), shots, seed=1).astype(np.int64)
    freq = np.bincount(a @ (4 ** np.arange(n)), minlength=16) / shots
    z = (freq - exact) / np.sqrt(exact * (1 - exact) / shots)
    assert np.abs(z).max() < 5
    assert 0.5 * np.abs(freq - exact).sum() < 0.01


def test_povm_inversion_of_exact_probabilities_recovers_rho():
    n = 3
    rho = random_rho(n, 3, 2)
    assert np.allclose(povm_density_matrix(numpy_povm_probs(rho, n)).numpy(), rho, atol=1e-12)


def test_noisy_state_frequencies_and_mle():
    circ = Circuit(3).h(0).cx(0, 1).cx(1, 2)
    noise = NoiseModel().add(depolarizing(0.05, 1), gates=["h"]).add(depolarizing(0.08, 2), gates=["cx"])
    rho = density_matrix(circ, noise=noise)
    data = measure_povm(circ, 50000, noise=noise, seed=3)
    lin = povm_density_matrix(data)
    assert abs(float(torch.trace(lin).real) - 1) < 1e-12
    ml = povm_mle(data)
    assert float(torch.linalg.eigvalsh(ml).min()) > -1e-10
    assert trace_distance(ml, rho) < 0.06
    assert trace_distance(ml, rho) < trace_distance(lin, rho)


def test_model_learns_noisy_two_qubit_state():
    circ = Circuit(2).h(0).cx(0, 1)
    noise = NoiseModel().add(depolarizing(0.1, 2), gates=["cx"]).set_ideal(["h"])
    rho = density_matrix(circ, noise=noise)
    data = measure_povm(circ, 20000, noise=noise, seed=4)
    model = POVMStateModel(2, kind="rnn", d_model=16, layers=1, seed=0).fit(data, steps=300, batch_size=256, seed=0)
    assert model.history_[-1] < model.history_[0]
    p = model.probabilities()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-6)  # float32 model
    exact = torch.as_tensor(numpy_povm_probs(rho.numpy(), 2))
    assert 0.5 * float((p - exact).abs().sum()) < 0.03
    for project in ("frobenius", "likelihood"):
        est = model.density_matrix(project=project)
        assert float(torch.linalg.eigvalsh(est).min()) > -1e-10
        assert trace_distance(est, rho) < 0.1
        assert state_fidelity(est, rho) > 0.97
    zz = model.expectation(["ZZ", "XX", "ZI"], shots=20000, seed=5)
    want = [float(np.real(np.trace(rho.numpy() @ np.kron(a, b)))) for a, b in
            [(SIGMA[2], SIGMA[2]), (SIGMA[0], SIGMA[0]), (SIGMA[2], np.eye(2))]]
    exact_model = [float(np.real(np.trace(model.density_matrix().numpy() @ np.kron(a, b)))) for a, b in
                   [(SIGMA[2], SIGMA[2]), (SIGMA[0], SIGMA[0]), (SIGMA[2], np.eye(2))]]
    assert np.all(np.abs(zz.values.numpy() - exact_model) < 5 * zz.stderr.numpy())  # unbiased for the model
    assert np.all(np.abs(np.array(exact_model) - want) < 0.1)


def test_bad_inputs_are_refused():
    with pytest.raises(DataError, match="integers 0..3"):
        povm_density_matrix(np.array([[0, 4]]))
    with pytest.raises(DataError, match="not 4\\*\\*n"):
        povm_density_matrix(np.ones(8) / 8)
    model = POVMStateModel(2, kind="rnn", d_model=8, layers=1)
    with pytest.raises(DataError, match="shape \\(shots, 2\\)"):
        model.fit(np.zeros((5, 3), int), steps=1)
    with pytest.raises(ParameterError, match="steps"):
        model.fit(np.zeros((5, 2), int), steps=0)
    with pytest.raises(DataError, match="Pauli label"):
        model.expectation(["ZQ"])
    with pytest.raises(DataError, match="project must be"):
        model.density_matrix(project="psd")
    with pytest.raises(DataError, match="method must be"):
        povm_mle(np.zeros((3, 1), int), method="em")
