"""Full-state (dense) Born-rule likelihood, the MADE backbone, and training on global bases (GHZ's phase)."""

import numpy as np
import pytest
import torch
from tests.conftest import kron_nll

from qtandem.errors import DataError, ResourceError
from qtandem.learn import NeuralStateModel, ShotRecord, measure_randomized
from qtandem.learn.autoregressive import AutoregressiveModel
from qtandem.learn.neural_state import local_pauli_bases

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("kind", ["made", "rnn"])
def test_dense_nll_equals_exact_rotation_and_sparse_path(kind: str) -> None:
    n = 5
    model = NeuralStateModel(n, kind=kind, d_model=8, hidden=24, seed=3)
    psi = model.statevector().numpy()
    rng = np.random.default_rng(0)
    bases, outcomes = rng.integers(0, 3, (30, n)), rng.integers(0, 2, (30, n))
    local, lout = local_pauli_bases(20, n, rotated=0.3, seed=1), rng.integers(0, 2, (20, n))
    dense, extra = model.dense_nll(bases, outcomes, extra=(local, lout))
    assert extra is not None
    np.testing.assert_allclose(dense.detach().numpy(), kron_nll(psi, bases, outcomes), atol=1e-9)
    np.testing.assert_allclose(extra.detach().numpy(), kron_nll(psi, local, lout), atol=1e-9)
    # gradients of the two paths agree
    model.zero_grad()
    dense.sum().backward()
    g_dense = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    model.born_nll(bases, outcomes, backward_weights=np.ones(len(bases)))
    g_sparse = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    assert len(g_dense) == len(g_sparse) > 0
    for a, b in zip(g_dense, g_sparse, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_made_is_normalised_autoregressive_and_samples_its_law() -> None:
    n = 6
    m = AutoregressiveModel(n, 2, kind="made", d_model=4, hidden=32, layers=2, seed=2)
    seqs = torch.tensor([[(i >> q) & 1 for q in range(n)] for i in range(1 << n)])
    with torch.no_grad():
        p = m.log_prob(seqs).double().exp().numpy()
    assert abs(p.sum() - 1) < 1e-5
    x = m.sample(40000, seed=3).numpy()
    emp = np.bincount(x @ (1 << np.arange(n)), minlength=1 << n) / len(x)
    assert 0.5 * np.abs(emp - p).sum() < 0.03  # sampling noise ~0.02 at 64 outcomes
    # conditional of step i ignores tokens >= i (the masks)
    t = seqs[:10].clone()
    u = t.clone()
    u[:, 2:] = 1 - u[:, 2:]
    with torch.no_grad():
        assert torch.allclose(m(t).step_log_probs[:, :3], m(u).step_log_probs[:, :3])
        assert not torch.allclose(m(t).step_log_probs[:, 3:], m(u).step_log_probs[:, 3:])


def ghz(n: int, phase: float) -> np.ndarray:
    psi = np.zeros(1 << n, dtype=complex)
    psi[0], psi[-1] = 2 ** -0.5, np.exp(1j * phase) * 2 ** -0.5
    return psi


def test_global_bases_pin_down_ghz_phase() -> None:
    n, phase = 5, 2.0
    psi = ghz(n, phase)
    local = measure_randomized(psi, 200 * 20, bases=local_pauli_bases(200, n, rotated=0.3, seed=0), shots_per_basis=20,
                               seed=1)
    glob = np.random.default_rng(2).integers(0, 2, (20, n)).astype(np.uint8)
    rec = ShotRecord.merge(local, measure_randomized(psi, 20 * 50, bases=glob, shots_per_basis=50, seed=3))
    def made() -> NeuralStateModel:
        return NeuralStateModel(n, kind="made", d_model=4, hidden=32, layers=1, seed=0)

    with_global = made().fit(rec, steps=300, batch_size=64, lr=0.03, max_rotated=3, dense_every=2,
                                                dense_batch=32, seed=0)
    assert with_global.fidelity(psi) > 0.95
    only_local = rec[np.flatnonzero((rec.bases != 2).sum(1) <= 3)]
    without = made().fit(only_local, steps=300, batch_size=64, lr=0.03, max_rotated=3, seed=0)
    # same populations, but the relative phase is not seen: the fidelity is set by the initial phase
    amps = without.amplitudes(["00000", "11111"]).numpy()
    assert abs(abs(amps[0]) ** 2 - 0.5) < 0.1 and abs(abs(amps[1]) ** 2 - 0.5) < 0.1
    learned = np.angle(with_global.amplitudes(["11111"])[0] / with_global.amplitudes(["00000"])[0])
    assert abs(np.angle(np.exp(1j * (learned - phase)))) < 0.3


def test_dense_errors() -> None:
    rec = ShotRecord(np.zeros((4, 3), np.uint8), np.zeros((4, 3), np.uint8))
    model = NeuralStateModel(3, kind="made", d_model=4, seed=0)
    with pytest.raises(DataError, match="dense_every"):
        model.fit(rec, steps=1, max_rotated=2)
    big = ShotRecord(np.zeros((2, 21), np.uint8), np.zeros((2, 21), np.uint8))
    with pytest.raises(ResourceError, match="20 qubits"):
        NeuralStateModel(21, kind="made", d_model=4, seed=0).fit(big, steps=1, max_rotated=2, dense_every=1)
    with pytest.raises(ResourceError, match="limit"):
        NeuralStateModel(21, kind="made", d_model=4, seed=0).dense_nll(big.bases, big.outcomes)


def test_save_load_keeps_made_width(tmp_path) -> None:
    m = NeuralStateModel(4, kind="made", d_model=4, hidden=20, layers=2, seed=1)
    m.save(tmp_path)
    back = NeuralStateModel.load(tmp_path)
    assert back.net.hidden == 20
    assert torch.allclose(back.statevector(), m.statevector())
