"""BornMachine and its MADE baseline: probabilities against the NumPy reference simulator, the kernels
against direct formulas, the shot-based parameter-shift gradients against autograd of the exact losses,
training from samples, persistence, and bad input refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from qtandem.errors import CheckpointError, DatasetError, ParameterError, ResourceError
from qtandem.learn.born import MADE, BornMachine, born_circuit, gaussian_kernel, quantum_kernel
from qtandem.learn.datasets import bars_and_stripes, bits_to_index, index_to_bits
from qtandem.sim.reference import reference_statevector


@pytest.mark.parametrize("entangler", ["ring", "line", "all"])
def test_probabilities_match_the_reference_simulator(entangler: str) -> None:
    born = BornMachine(4, layers=2, entangler=entangler, seed=3)
    values = {f"w{i}": float(v) for i, v in enumerate(born.weights.detach())}
    ref = np.abs(reference_statevector(born.circuit, values)) ** 2
    assert np.allclose(born.probabilities(), ref, atol=1e-12)
    assert born.n_parameters == 2 * 4 * 2 + 4
    assert born_circuit(4, 2, entangler).count_ops()["cx"] == {"ring": 8, "line": 6, "all": 12}[entangler]


def test_samples_follow_the_probabilities() -> None:
    born = BornMachine(3, layers=1, seed=5)
    x = born.sample(100_000, seed=1)
    freq = np.bincount(bits_to_index(x), minlength=8) / len(x)
    p = born.probabilities()
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / len(x)) + 1e-12)


def test_gaussian_kernel_matches_the_direct_formula() -> None:
    bw = (0.5, 2.0)
    k = gaussian_kernel(3, bw)
    bits = index_to_bits(np.arange(8), 3)
    for i in range(8):
        for j in range(8):
            d2 = float(np.sum((bits[i].astype(float) - bits[j]) ** 2))
            assert k[i, j] == pytest.approx(np.mean([math.exp(-d2 / (2 * s**2)) for s in bw]))
    ki = gaussian_kernel(3, (2.0,), space="integer")
    assert ki[1, 4] == pytest.approx(math.exp(-9 / 8))


def test_quantum_kernel_matches_a_numpy_feature_map() -> None:
    """|phi(x)> = (RZZ RZ H)^2 |0> built with NumPy diagonals (RZ(t) = diag(e^{-it/2}, e^{it/2}))."""
    n, a = 3, math.pi / 2
    bits = index_to_bits(np.arange(2**n), n)
    hadamard = np.ones((1, 1))
    for _ in range(n):
        hadamard = np.kron(hadamard, np.array([[1, 1], [1, -1]]) / math.sqrt(2))
    z = 1 - 2 * index_to_bits(np.arange(2**n), n).astype(float)       # z[k, q] = +/-1 of basis state k
    states = []
    for x in bits:
        phase = sum(-a * x[q] / 2 * z[:, q] for q in range(n))
        phase = phase + sum(-a * x[q] * x[(q + 1) % n] / 2 * z[:, q] * z[:, (q + 1) % n] for q in range(n))
        psi = np.zeros(2**n, dtype=complex)
        psi[0] = 1
        for _ in range(2):
            psi = np.exp(1j * phase) * (hadamard @ psi)
        states.append(psi)
    s = np.array(states)
    assert np.allclose(quantum_kernel(n), np.abs(s.conj() @ s.T) ** 2, atol=1e-12)


def _exact_grads(born: BornMachine, data: np.ndarray, gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = born.weights
    p = born()
    d = torch.as_tensor(data)
    mmd = (p - d) @ torch.as_tensor(gram) @ (p - d)
    g_mmd = torch.autograd.grad(mmd, w)[0].numpy()
    m = d > 0
    kl = torch.sum(d[m] * torch.log(d[m] / born()[m]))
    return g_mmd, torch.autograd.grad(kl, w)[0].numpy()


def test_shot_gradients_estimate_the_exact_gradients() -> None:
    """Parameter shift on 10^6 shots per circuit against autograd through the exact probabilities."""
    born = BornMachine(3, layers=1, seed=2)
    data = np.bincount(bits_to_index(bars_and_stripes(1, 3).sample(4000, seed=0)), minlength=8) / 4000
    gram = gaussian_kernel(3)
    g_mmd, g_kl = _exact_grads(born, data, gram)
    rng = np.random.default_rng(0)
    _, est_mmd = born.shot_gradient(data, 1_000_000, rng, gram=gram)
    _, est_kl = born.shot_gradient(data, 1_000_000, rng, smoothing=1e-3)
    assert np.abs(g_mmd).max() > 0.01 and np.abs(g_kl).max() > 0.1
    assert np.allclose(est_mmd, g_mmd, atol=3e-3), np.abs(est_mmd - g_mmd).max()
    assert np.allclose(est_kl, g_kl, atol=0.03), np.abs(est_kl - g_kl).max()
    # the MMD estimate is unbiased: the mean of many small-shot estimates converges too
    mean = np.mean([born.shot_gradient(data, 200, rng, gram=gram)[1] for _ in range(400)], axis=0)
    assert np.allclose(mean, g_mmd, atol=6e-3), np.abs(mean - g_mmd).max()


@pytest.mark.parametrize(("loss", "kernel"), [("mmd", "gaussian"), ("mmd", "quantum"), ("kl", "gaussian")])
def test_fit_from_samples_learns_bars_and_stripes_2x2(loss: str, kernel: str) -> None:
    data = bars_and_stripes(2, 2)
    train = data.sample(1000, seed=1)
    born = BornMachine(4, layers=2, seed=0)
    before = data.kl(born.probabilities())
    born.fit(train, loss=loss, kernel=kernel, steps=80, shots=500, lr=0.1, seed=2)
    after = data.kl(born.probabilities())
    assert after < 0.5 * before, (before, after)
    assert len(born.loss_history_) == 80 and np.mean(born.loss_history_[-10:]) < np.mean(born.loss_history_[:10])
    again = BornMachine(4, layers=2, seed=0).fit(train, loss=loss, kernel=kernel, steps=80, shots=500, lr=0.1, seed=2)
    assert np.array_equal(again.probabilities(), born.probabilities())       # seeded


def test_save_and_load_roundtrip(tmp_path: Path) -> None:
    born = BornMachine(3, layers=2, entangler="all", seed=1)
    born.save(tmp_path / "b.safetensors")
    back = BornMachine.load(tmp_path / "b.safetensors")
    assert (back.entangler, back.layers) == ("all", 2)
    assert np.allclose(back.probabilities(), born.probabilities())
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(CheckpointError):
        BornMachine.load(tmp_path / "junk.safetensors")


def test_made_is_autoregressive_normalised_and_counted() -> None:
    made = MADE(5, hidden=3, seed=0)
    with torch.no_grad():
        for p in made.parameters():
            p.normal_()
    assert made.probabilities().sum() == pytest.approx(1.0)
    x = torch.zeros(1, 5, dtype=torch.float64, requires_grad=True)
    jac = torch.autograd.functional.jacobian(lambda v: made.logits(v)[0], x)[:, 0, :]
    assert torch.all(jac[torch.triu(torch.ones(5, 5, dtype=torch.bool))] == 0)   # logit d ignores bits >= d
    grads = torch.autograd.grad(made.log_prob(index_to_bits(np.arange(32), 5)).sum(), list(made.parameters()))
    assert sum(int((g != 0).sum()) for g in grads) == made.n_parameters == 5 * 6 // 2 + 3 * 6
    assert MADE.matching(9, 63).n_parameters == 65
    counts = np.bincount(bits_to_index(made.sample(50_000, seed=0)), minlength=32) / 50_000
    p = made.probabilities()
    assert np.all(np.abs(counts - p) <= 5 * np.sqrt(p * (1 - p) / 50_000) + 1e-12)


def test_bad_input_is_refused() -> None:
    born = BornMachine(3, layers=1, seed=0)
    with pytest.raises(DatasetError, match=r"\(shots, 3\)"):
        born.fit(np.zeros((5, 4), dtype=int), steps=1)
    with pytest.raises(DatasetError, match="only 0 and 1"):
        born.fit(np.full((5, 3), 2), steps=1)
    with pytest.raises(ParameterError, match="loss"):
        born.fit(np.zeros((5, 3), dtype=int), loss="hinge")
    with pytest.raises(ParameterError, match="kernel matrix"):
        born.fit(np.zeros((5, 3), dtype=int), kernel=np.eye(4))
    with pytest.raises(ParameterError, match="entangler"):
        BornMachine(3, entangler="star")
    with pytest.raises(ResourceError, match="GiB"):
        gaussian_kernel(13)
    with pytest.raises(DatasetError, match="bits"):
        MADE(3).fit(np.zeros((4, 2), dtype=int))
