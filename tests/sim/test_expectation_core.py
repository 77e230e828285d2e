import numpy as np
import pytest
import torch
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit, Parameter, PauliSum
from qtandem.sim.adjoint import adjoint_expval, apply_pauli_sum
from qtandem.sim.expectation import pauli_expectation


def random_obs(n, k, seed):
    rng = np.random.default_rng(seed)
    terms = {}
    for _ in range(k):
        qs = rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)
        terms[tuple((int(q), "XYZ"[rng.integers(3)]) for q in qs)] = float(rng.normal())
    return PauliSum(terms)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_expectation_matches_dense(n):
    rng = np.random.default_rng(n)
    psi = rng.normal(size=(4, 2**n)) + 1j * rng.normal(size=(4, 2**n))
    psi /= np.linalg.norm(psi, axis=1, keepdims=True)
    obs = random_obs(n, 6, n)
    m = obs.to_matrix(n).numpy()
    ours = pauli_expectation(torch.tensor(psi), obs).numpy()
    np.testing.assert_allclose(ours, np.einsum("bi,ij,bj->b", psi.conj(), m, psi).real, atol=1e-12)
    np.testing.assert_allclose(pauli_expectation(torch.tensor(psi[0], dtype=torch.complex64), obs).numpy(),
                               (psi[0].conj() @ m @ psi[0]).real, atol=1e-5)
    np.testing.assert_allclose(apply_pauli_sum(torch.tensor(psi), obs, n).numpy(), psi @ m.T, atol=1e-12)


def test_against_qiskit_expectation():
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import SparsePauliOp, Statevector

    n = 5
    c = random_circuit(n, 40, seed=3)
    psi = qtandem.statevector(c).numpy()
    obs = random_obs(n, 8, 7)
    labels, coefs = [], []
    for coef, word in obs.terms:
        lab = ["I"] * n
        for q, letter in word:
            lab[n - 1 - q] = letter
        labels.append("".join(lab))
        coefs.append(coef)
    ref = Statevector(psi).expectation_value(SparsePauliOp(labels, coefs)).real
    assert abs(float(qtandem.expval(c, obs)) - ref) < 1e-10


def _circuit():
    ps = [Parameter(f"w{i}") for i in range(7)]
    c = Circuit(4)
    c.ry(ps[0], 0).rx(ps[1] * 2 - 0.3, 1).cx(0, 1).crz(ps[2], 1, 2).u(ps[3], ps[4], 0.2, 3).rzz(ps[5], 2, 3)
    c.append("ry", [0, 3], [ps[6]], ctrl=1).append("rx", [2], [ps[0]], inverted=True).h(1).ccx(0, 1, 3)
    return c


def test_adjoint_gradient_matches_backprop_and_finite_differences():
    c = _circuit()
    obs = [PauliSum.from_string("Z0 Z1 + 0.5*X2"), PauliSum.from_string("Y3 - 0.2*X0 Z2")]
    theta = torch.tensor(np.random.default_rng(2).uniform(-2, 2, size=(3, 7)), requires_grad=True)
    weights = torch.tensor([[1.0, -0.5]] * 3, dtype=torch.float64)
    (ga,) = torch.autograd.grad((adjoint_expval(c, obs, theta) * weights).sum(), theta)
    t2 = theta.detach().clone().requires_grad_(True)
    (gb,) = torch.autograd.grad((qtandem.expval(c, obs, t2) * weights).sum(), t2)
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), atol=1e-10)
    eps = 1e-6
    fd = np.zeros((3, 7))
    with torch.no_grad():
        for j in range(7):
            e = torch.zeros(3, 7, dtype=torch.float64)
            e[:, j] = eps
            fd[:, j] = (((qtandem.expval(c, obs, theta + e) - qtandem.expval(c, obs, theta - e)) * weights).sum(1)
                        / (2 * eps)).numpy()
    np.testing.assert_allclose(ga.numpy(), fd, atol=1e-8)
    np.testing.assert_allclose(adjoint_expval(c, obs, theta).detach().numpy(),
                               qtandem.expval(c, obs, theta).detach().numpy(), atol=1e-12)
