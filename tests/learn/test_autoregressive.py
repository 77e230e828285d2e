"""The shared autoregressive core: normalisation, causality, sampling against its own probabilities, training."""

import itertools

import numpy as np
import pytest
import torch

from qtandem.errors import DataError, ParameterError, SeedError
from qtandem.learn.autoregressive import AutoregressiveModel

pytestmark = pytest.mark.usefixtures("torch_one_thread")


CASES = [("transformer", 2), ("transformer", 4), ("rnn", 2), ("rnn", 4)]


def all_sequences(n: int, k: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(k), repeat=n)))


@pytest.mark.parametrize(("kind", "k"), CASES)
def test_distribution_is_normalised(kind: str, k: int) -> None:
    model = AutoregressiveModel(3, k, kind=kind, seed=4)
    with torch.no_grad():
        total = model.log_prob(all_sequences(3, k)).double().exp().sum()
    assert abs(float(total) - 1) < 1e-5


@pytest.mark.parametrize(("kind", "k"), CASES)
def test_step_i_sees_only_earlier_tokens(kind: str, k: int) -> None:
    model = AutoregressiveModel(5, k, kind=kind, seed=1)
    x = model.sample(6, seed=0)
    for j in range(5):
        y = x.clone()
        y[:, j] = (y[:, j] + 1) % k
        with torch.no_grad():
            a, b = model(x), model(y)
        assert torch.allclose(a.step_log_probs[:, :j + 1], b.step_log_probs[:, :j + 1], atol=1e-6)
        assert torch.allclose(a.features[:, :j + 1], b.features[:, :j + 1], atol=1e-6)
        if j < 4:
            assert not torch.allclose(a.step_log_probs[:, j + 1:], b.step_log_probs[:, j + 1:], atol=1e-6)


@pytest.mark.parametrize(("kind", "k"), CASES)
def test_samples_follow_log_prob(kind: str, k: int) -> None:
    """Sampling (incremental path) and log_prob (one pass) describe the same distribution."""
    n, draws = 3, 40000
    model = AutoregressiveModel(n, k, kind=kind, seed=2)
    seqs = all_sequences(n, k)
    with torch.no_grad():
        p = model.log_prob(seqs).double().exp().numpy()
    x = model.sample(draws, seed=5).numpy()
    index = (x * k ** np.arange(n - 1, -1, -1)).sum(1)
    freq = np.bincount(index, minlength=k ** n) / draws
    sigma = np.sqrt(p * (1 - p) / draws)
    assert np.all(np.abs(freq - p) <= 5 * sigma + 1e-4)


def test_seeds_reproduce_and_differ() -> None:
    a = AutoregressiveModel(4, 2, seed=7)
    b = AutoregressiveModel(4, 2, seed=7)
    c = AutoregressiveModel(4, 2, seed=8)
    x = all_sequences(4, 2)
    with torch.no_grad():
        assert torch.equal(a.log_prob(x), b.log_prob(x))
        assert not torch.allclose(a.log_prob(x), c.log_prob(x))
    assert torch.equal(a.sample(20, seed=1), a.sample(20, seed=1))
    gen = torch.Generator().manual_seed(0)
    assert not torch.equal(a.sample(50, generator=gen), a.sample(50, generator=gen))


@pytest.mark.parametrize("kind", ["transformer", "rnn"])
def test_maximum_likelihood_learns_a_distribution(kind: str) -> None:
    """Fitting samples of a known 4-token distribution brings the KL divergence near zero."""
    n = 4
    seqs = all_sequences(n, 2)
    rng = np.random.default_rng(0)
    target = rng.dirichlet(np.full(2 ** n, 0.5))
    data = seqs[rng.choice(2 ** n, size=2000, p=target)]
    model = AutoregressiveModel(n, 2, kind=kind, d_model=16, heads=2, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        opt.zero_grad()
        loss = -model.log_prob(data).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        q = model.log_prob(seqs).double().exp().numpy()
    empirical = np.bincount((data.numpy() * 2 ** np.arange(n - 1, -1, -1)).sum(1), minlength=2 ** n) / len(data)
    seen = empirical > 0
    kl = float(np.sum(empirical[seen] * np.log(empirical[seen] / q[seen])))
    assert kl < 0.01, kl


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ParameterError, match="alphabet must be an integer >= 2"):
        AutoregressiveModel(3, 1)
    with pytest.raises(ParameterError, match="heads .3. must divide d_model .32."):
        AutoregressiveModel(3, 2, heads=3)
    with pytest.raises(SeedError):
        AutoregressiveModel(3, 2, seed=-1)
    model = AutoregressiveModel(3, 2, seed=0)
    with pytest.raises(DataError, match=r"must be a \(batch, 3\) integer tensor, got \(2, 4\)"):
        model.log_prob(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(DataError, match=r"must lie in \[0, 2\)"):
        model.log_prob(torch.tensor([[0, 2, 1]]))
    with pytest.raises(DataError, match="must be integers"):
        model.log_prob(torch.zeros(1, 3))
    with pytest.raises(ParameterError, match="count must be a non-negative integer"):
        model.sample(-1)
    assert model.sample(0, seed=0).shape == (0, 3)
