"""Pauli-basis sampling of pure states basis by basis (the 20-qubit path) against exact Born probabilities."""

import numpy as np
import pytest
import torch

from qtandem.learn import measure_randomized
from qtandem.learn.neural_state import local_pauli_bases
from qtandem.learn.shots import PRODUCT_MIN_QUBITS, _pauli_probabilities, _rotate_basis

ROT = {0: np.array([[1, 1], [1, -1]]) / np.sqrt(2), 1: np.array([[1, -1j], [1, 1j]]) / np.sqrt(2), 2: np.eye(2)}


def random_state(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return psi / np.linalg.norm(psi)


def kron_probabilities(psi: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """|<b|U_c|psi>|^2 by an explicit Kronecker product (qubit 0 least significant)."""
    u = np.array([[1.0]])
    for q in range(len(basis)):
        u = np.kron(ROT[int(basis[q])], u)
    return np.abs(u @ psi) ** 2


def test_rotation_equals_kronecker_and_prefix_tree_for_every_basis() -> None:
    n = 4
    psi = random_state(n, 0)
    codes = np.array(np.meshgrid(*[range(3)] * n, indexing="ij")).reshape(n, -1).T.astype(np.uint8)  # all 81
    tree, rows = _pauli_probabilities(torch.as_tensor(psi), n, codes, False)
    for i, code in enumerate(codes):
        fast = np.abs(_rotate_basis(psi, n, code)) ** 2
        np.testing.assert_allclose(fast, kron_probabilities(psi, code), atol=1e-12)
        np.testing.assert_allclose(fast, tree[rows[i]].numpy(), atol=1e-12)


def test_fast_path_samples_follow_the_born_rule() -> None:
    n = PRODUCT_MIN_QUBITS  # the first size on the basis-by-basis path
    psi = random_state(n, 1)
    bases = np.vstack([local_pauli_bases(3, n, rotated=0.5, seed=2), np.zeros((1, n), np.uint8)])
    per = 20000
    rec = measure_randomized(psi, len(bases) * per, bases=bases, shots_per_basis=per, seed=3)
    assert rec.metadata["simulation"] == "state vector"
    for j, code in enumerate(bases):
        sel = np.flatnonzero((rec.bases == code).all(1))
        assert len(sel) == per
        exact = kron_probabilities(psi, code).reshape(-1, 8).sum(0)  # marginal of qubits 0, 1, 2
        low = rec.outcomes[sel, :3] @ np.array([1, 2, 4])
        counts = np.bincount(low, minlength=8)
        chi2 = float(((counts - per * exact) ** 2 / (per * exact)).sum())
        assert chi2 < 30, (j, chi2)  # 7 degrees of freedom: P(chi2 > 30) ~ 1e-4


@pytest.mark.parametrize("n", [5, 12])  # prefix-tree path and basis-by-basis path
def test_each_shot_keeps_its_basis(n: int) -> None:
    psi = np.zeros(1 << n, dtype=complex)
    psi[0] = psi[-1] = 2 ** -0.5  # GHZ: Z outcomes all equal, all-X outcomes of even parity
    bases = np.array([[2] * n, [0] * n, [1] + [0] * (n - 1), [2] * n], dtype=np.uint8)
    rec = measure_randomized(psi, 4 * 500, bases=bases, shots_per_basis=500, seed=0)
    z = (rec.bases == 2).all(1)
    assert z.sum() == 1000
    assert set(rec.outcomes[z].sum(1).tolist()) == {0, n}
    allx = (rec.bases == 0).all(1)
    assert (rec.outcomes[allx].sum(1) % 2 == 0).all()
    # one Y and eleven X: <Y X...X> = 0 for GHZ+, so both parities appear
    mixed = rec.bases[:, 0] == 1
    parity = rec.outcomes[mixed].sum(1) % 2
    assert 150 < parity.sum() < 350


@pytest.mark.parametrize("seed", [0, 1])
def test_small_and_large_paths_agree_in_distribution(seed: int) -> None:
    """Below PRODUCT_MIN_QUBITS the prefix tree runs; the same law must come out of both paths."""
    n = PRODUCT_MIN_QUBITS
    psi = random_state(n, 10 + seed)
    code = local_pauli_bases(1, n, rotated=0.6, seed=seed)[0]
    tree, rows = _pauli_probabilities(torch.as_tensor(psi), n, code[None], False)
    fast = np.abs(_rotate_basis(psi, n, code)) ** 2
    np.testing.assert_allclose(fast, tree[rows[0]].numpy(), atol=1e-12)
