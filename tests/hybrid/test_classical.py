"""Classical parts against scikit-learn, and a hybrid model trained end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtandem.errors import ParameterError
from qtandem.hybrid import PCA, AutoEncoder, DenoisingAutoEncoder, HybridModel, LinearHead, MLPHead, QuantumLayer
from qtandem.hybrid.datasets import list_datasets, load_dataset


def test_pca_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.decomposition")
    x = torch.randn(200, 9, generator=torch.Generator().manual_seed(0)) @ torch.randn(9, 9)
    ours = PCA(4).fit(x)
    ref = sk.PCA(4).fit(x.numpy())
    comps = ours.components_.numpy()
    for a, b in zip(comps, ref.components_, strict=True):
        assert min(np.abs(a - b).max(), np.abs(a + b).max()) < 1e-4  # up to sign
    proj_ref = ref.transform(x.numpy())
    proj = ours(x).detach().numpy()
    assert np.allclose(np.abs(proj), np.abs(proj_ref), atol=1e-3)
    assert np.allclose(ours.explained_variance_.numpy(), ref.explained_variance_, rtol=1e-4)
    back = ours.inverse_transform(ours(x))
    assert back.shape == x.shape
    restored = PCA(4)
    restored.load_state_dict(ours.state_dict())
    assert torch.allclose(restored(x), ours(x))


def test_pca_errors():
    with pytest.raises(ParameterError, match="not fitted"):
        PCA(2)(torch.zeros(3, 4))
    with pytest.raises(ParameterError, match="exceeds"):
        PCA(5).fit(torch.zeros(10, 3))


@pytest.mark.parametrize("cls", [AutoEncoder, DenoisingAutoEncoder])
def test_autoencoders_learn_and_are_seeded(cls):
    x = torch.randn(128, 3, generator=torch.Generator().manual_seed(1)) @ torch.randn(3, 12)
    torch.manual_seed(0)
    a = cls(12, 3, hidden=(16,))
    hist = a.pretrain(x, epochs=30, lr=1e-2, seed=3)
    assert hist[-1] < 0.5 * hist[0]
    torch.manual_seed(0)
    b = cls(12, 3, hidden=(16,))
    assert b.pretrain(x, epochs=30, lr=1e-2, seed=3) == hist
    assert a(x).shape == (128, 3) and float(a(x).detach().abs().max()) <= 1


def test_heads_and_hybrid_gradients_reach_every_part():
    x = torch.randn(16, 6)
    model = HybridModel(AutoEncoder(6, 3, hidden=(8,)), QuantumLayer(n_qubits=3, layers=1, seed=0), MLPHead(3, 2))
    model(x).sum().backward()
    for part in (model.pre.encoder, model.quantum, model.post):  # the decoder is not on the forward path
        grads = [p.grad for p in part.parameters()]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert LinearHead(3, 2)(torch.zeros(5, 3)).shape == (5, 2)
    assert model.parameter_counts()["quantum"] == 6


def test_datasets_shapes_splits_and_seeds():
    assert set(list_datasets()) == {"digits", "breast_cancer", "iris", "moons", "circles", "tfim"}
    d = load_dataset("digits", seed=0)
    assert d.n_features == 64 and d.n_classes == 10 and len(d.x_train) + len(d.x_test) == 1797
    # standardised with train statistics only: train columns have mean ~0, test columns need not
    assert d.x_train.mean(0).abs().max() < 1e-4
    again = load_dataset("digits", seed=0)
    assert torch.equal(d.x_train, again.x_train)
    other = load_dataset("digits", seed=1)
    assert not torch.equal(d.x_train, other.x_train)
    m = load_dataset("moons", seed=2, n_samples=200)
    assert len(m.x_train) == 150 and m.n_classes == 2
    # stratified
    frac_tr, frac_te = m.y_train.float().mean(), m.y_test.float().mean()
    assert abs(float(frac_tr - frac_te)) < 0.05
    with pytest.raises(ParameterError, match="did you mean 'iris'"):
        load_dataset("irsi")


def test_tfim_states_are_normalised_ground_states_labelled_by_phase():
    from qtandem.hybrid.datasets import tfim_ground_states

    d = load_dataset("tfim", seed=0, n_samples=60)
    assert d.n_features == 256
    assert torch.allclose(d.x_train.norm(dim=1), torch.ones(len(d.x_train)), atol=1e-5)
    # deep in each phase: ordered states are cat-like (|0..0> and |1..1> dominate), disordered ones are not
    psi = tfim_ground_states(8, np.array([0.2, 2.0]))
    assert psi[0, 0] ** 2 + psi[0, -1] ** 2 > 0.9
    assert psi[1, 0] ** 2 + psi[1, -1] ** 2 < 0.1


def test_hybrid_classifier_learns_moons():
    d = load_dataset("moons", seed=0, n_samples=200)
    torch.manual_seed(0)
    model = HybridModel(None, QuantumLayer(n_qubits=2, layers=3, encoder="reupload", seed=1), LinearHead(2, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(d.x_train), d.y_train)
        loss.backward()
        opt.step()
    acc = float((model(d.x_test).argmax(1) == d.y_test).float().mean())
    assert acc > 0.8
