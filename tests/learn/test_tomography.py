"""Linear-inversion and maximum-likelihood tomography against NumPy references and exact states."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import torch

from qtandem import Circuit
from qtandem.circuit.library import layered
from qtandem.errors import ArgumentTypeError, DataError, SimulationError
from qtandem.learn import ShotRecord, measure_randomized
from qtandem.learn.tomography import (
    PAULI_EFFECTS,
    PauliCounts,
    born_table,
    effect_sum,
    linear_inversion,
    measure_pauli_bases,
    mle_tomography,
    pauli_counts,
    state_fidelity,
    trace_distance,
)
from qtandem.noise import NoiseModel, depolarizing
from qtandem.noise.density import density_matrix

PAULI = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
         "Z": np.diag([1.0, -1.0])}
ROT = {"X": np.array([[1, 1], [1, -1]]) / np.sqrt(2), "Y": np.array([[1, -1j], [1, 1j]]) / np.sqrt(2), "Z": np.eye(2)}


def kron(mats):
    return functools.reduce(np.kron, mats, np.eye(1))


def random_rho(n, rank, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2**n, rank)) + 1j * rng.normal(size=(2**n, rank))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def numpy_born(rho, n):
    """Per basis label (qubit 0 rightmost) its outcome distribution: rotate, read the diagonal."""
    out = {}
    for label in map("".join, itertools.product("XYZ", repeat=n)):
        u = kron([ROT[ch] for ch in label])  # kron puts the leftmost letter (qubit n-1) most significant
        out[label] = np.real(np.diag(u @ rho @ u.conj().T))
    return out


def counts_from_probs(probs, n, scale):
    """A PauliCounts table with expected counts scale * p (exact data, not integers)."""
    table = np.zeros(6**n)
    for label, p in probs.items():
        codes = ["XYZ".index(ch) for ch in reversed(label)]
        for s in range(2**n):
            e = sum((2 * codes[q] + ((s >> q) & 1)) * 6**q for q in range(n))
            table[e] = scale * p[s]
    return PauliCounts(torch.as_tensor(table), n)


def test_born_table_matches_numpy_rotation():
    n = 3
    rho = random_rho(n, 2, 0)
    exact = counts_from_probs(numpy_born(rho, n), n, 1.0).table
    got = born_table(torch.as_tensor(rho), PAULI_EFFECTS, n)
    assert torch.allclose(got, exact, atol=1e-12)


def test_effect_sum_matches_explicit_sum():
    n = 2
    w = torch.as_tensor(np.random.default_rng(1).random(36))
    want = np.zeros((4, 4), complex)
    for e in range(36):
        digits = [(e // 6**q) % 6 for q in range(n)]
        want += float(w[e]) * kron([PAULI_EFFECTS[d] for d in reversed(digits)])
    assert np.allclose(effect_sum(w, PAULI_EFFECTS, n).numpy(), want, atol=1e-12)


@pytest.mark.parametrize("rank", [1, 3])
def test_linear_inversion_exact_data_recovers_rho(rank):
    n = 3
    rho = random_rho(n, rank, 2)
    counts = counts_from_probs(numpy_born(rho, n), n, 1.0)
    raw = linear_inversion(counts, psd=False).numpy()
    assert np.allclose(raw, rho, atol=1e-12)
    assert np.allclose(linear_inversion(counts).numpy(), rho, atol=1e-9)  # already PSD: projection keeps it


def test_linear_inversion_pauli_expectations_match_shot_means():
    rec = measure_randomized(layered(3, 2, seed=3), 3000, seed=4)
    rho = linear_inversion(rec, psd=False).numpy()
    labels = np.array(rec.basis_labels())
    parity = (-1.0) ** rec.outcomes
    for pauli in ["ZII", "XYI", "IZX", "YYY", "XIZ"]:  # qubit 0 rightmost
        mask = np.ones(len(rec), bool)
        value = np.ones(len(rec))
        for j, ch in enumerate(pauli):
            q = 2 - j
            if ch != "I":
                mask &= np.array([lab[j] == ch for lab in labels])
                value *= parity[:, q]
        want = value[mask].mean()
        got = np.real(np.trace(rho @ kron([PAULI[ch] for ch in pauli])))
        assert got == pytest.approx(want, abs=1e-12)


def test_measure_pauli_bases_counts_follow_born_rule():
    n = 2
    rho = random_rho(n, 2, 5)
    counts = measure_pauli_bases(torch.as_tensor(rho), 20000, seed=6)
    assert counts.shots == 9 * 20000
    exact = counts_from_probs(numpy_born(rho, n), n, 20000).table
    z = (counts.table - exact) / exact.clamp_min(1).sqrt()
    assert float(z.abs().max()) < 5
    rec = counts.to_record(seed=1)
    assert pauli_counts(rec).table.equal(counts.table)


def test_measure_pauli_bases_selected_bases():
    counts = measure_pauli_bases(Circuit(2).x(1), 50, bases=["ZZ", "XZ"], seed=0)
    rec = counts.to_record()
    assert sorted(set(rec.basis_labels())) == ["XZ", "ZZ"]
    zz = rec.outcomes[np.array(rec.basis_labels()) == "ZZ"]
    assert (zz[:, 1] == 1).all() and (zz[:, 0] == 0).all()  # qubit 1 in |1>, qubit 0 in |0>


@pytest.mark.parametrize("method", ["pgd", "rrr"])
def test_mle_exact_data_recovers_full_rank_state(method):
    n = 2
    rho = random_rho(n, 4, 7)
    counts = counts_from_probs(numpy_born(rho, n), n, 1000.0)
    est = mle_tomography(counts, method=method, tol=1e-14, max_iter=5000).numpy()
    assert np.abs(est - rho).max() < 1e-5


def test_mle_methods_agree_and_beat_linear_inversion_on_noisy_data():
    n = 3
    c = Circuit(n).h(0).cx(0, 1).cx(1, 2)
    psi = np.zeros(8, complex)
    psi[[0, 7]] = 2**-0.5
    counts = measure_pauli_bases(c, 30, seed=8)
    h1, h2 = [], []
    a = mle_tomography(counts, method="pgd", history=h1, tol=1e-13)
    b = mle_tomography(counts, method="rrr", history=h2, tol=1e-13, max_iter=5000)
    assert h1[-1] == pytest.approx(h2[-1], abs=1e-7)  # the same maximum
    assert trace_distance(a, b) < 1e-3
    assert all(x >= y - 1e-12 for x, y in itertools.pairwise(h1))  # never worse than the previous iterate
    assert float(torch.linalg.eigvalsh(a).min()) > -1e-10
    assert state_fidelity(a, psi) > state_fidelity(linear_inversion(counts), psi)
    assert state_fidelity(a, psi) > 0.97


def test_mle_noisy_density_matrix():
    circ = Circuit(3).h(0).cx(0, 1).ry(0.7, 2).cx(1, 2)
    noise = NoiseModel().add(depolarizing(0.08, 1), gates=["h", "ry"]).add(depolarizing(0.1, 2), gates=["cx"])
    rho = density_matrix(circ, noise=noise)
    counts = measure_pauli_bases(circ, 3000, noise=noise, seed=9)
    est = mle_tomography(counts)
    assert trace_distance(est, rho) < 0.05
    assert trace_distance(est, rho) < trace_distance(linear_inversion(counts), rho) + 1e-9


def test_fidelity_and_trace_distance_against_closed_forms():
    zero, one = np.array([1, 0], complex), np.array([0, 1], complex)
    plus = (zero + one) / np.sqrt(2)
    assert state_fidelity(zero, plus) == pytest.approx(0.5)
    a, b = np.diag([0.7, 0.3]), np.diag([0.2, 0.8])
    assert state_fidelity(a, b) == pytest.approx((np.sqrt(0.14) + np.sqrt(0.24)) ** 2)
    assert trace_distance(a, b) == pytest.approx(0.5)
    assert trace_distance(zero, one) == pytest.approx(1.0)
    rho = random_rho(2, 2, 3)
    assert state_fidelity(rho, rho) == pytest.approx(1.0, abs=1e-7)


def test_bad_inputs_are_refused():
    with pytest.raises(DataError, match="Clifford record"):
        linear_inversion(measure_randomized(Circuit(2), 10, basis="clifford", seed=0))
    with pytest.raises(DataError, match="method must be"):
        mle_tomography(ShotRecord([[0]], [[0]]), method="newton")
    with pytest.raises(ArgumentTypeError, match="ShotRecord or PauliCounts"):
        linear_inversion({"Z": {"0": 1}})
    with pytest.raises(SimulationError, match="beyond tomography"):
        pauli_counts(ShotRecord(np.zeros((1, 11), int), np.zeros((1, 11), int)))
    with pytest.raises(DataError, match="dimensions differ"):
        state_fidelity(np.eye(2) / 2, np.eye(4) / 4)
    with pytest.raises(DataError, match="basis 'ZQ'"):
        measure_pauli_bases(Circuit(2), 5, bases=["ZQ"])
    with pytest.raises(SimulationError, match="shots_per_basis"):
        measure_pauli_bases(Circuit(2), 0)


def test_linear_inversion_equals_qiskit_experiments_fitter():
    lininv = pytest.importorskip("qiskit_experiments.library.tomography.fitters").linear_inversion
    basis = pytest.importorskip("qiskit_experiments.library.tomography.basis").PauliMeasurementBasis()
    n = 3
    counts = measure_pauli_bases(torch.as_tensor(random_rho(n, 2, 0)), 300, seed=1)
    perm = [2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]
    per_basis = counts.table.numpy().reshape((3, 2) * n).transpose(perm).reshape(3**n, 2**n)
    codes = (np.arange(3**n)[:, None] // 3 ** np.arange(n)) % 3  # X, Y, Z = 0, 1, 2 per qubit
    meas = np.array([1, 2, 0])[codes]  # qiskit-experiments' Pauli basis indexes Z, X, Y
    fit, _ = lininv(per_basis[None], per_basis.sum(1), meas, np.zeros((3**n, 0), int), measurement_basis=basis)
    assert np.abs(fit - linear_inversion(counts, psd=False).numpy()).max() < 1e-12
