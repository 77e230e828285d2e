"""Dense-free Pauli expectations: against dense algebra, finite differences and Qiskit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import qtandem.sim.expectation as expectation
from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import Parameter
from qtandem.circuit.pauli import I, PauliSum, X, Y, Z
from qtandem.errors import ObservableError
from qtandem.sim.core import statevector
from qtandem.sim.expectation import pauli_expectation, pauli_expectation_many

PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


def dense(obs: PauliSum, n: int) -> np.ndarray:
    """Independent dense matrix: explicit Kronecker products, qubit n-1 leftmost."""
    out = np.zeros((2**n, 2**n), dtype=complex)
    for c, word in obs.terms:
        letters = dict(word)
        m = np.ones((1, 1), dtype=complex)
        for q in reversed(range(n)):
            m = np.kron(m, PAULI[letters.get(q, "I")])
        out += c * m
    return out


def random_obs(n: int, k: int, rng: np.random.Generator, *, hermitian: bool = True, max_weight: int | None = None):
    terms: dict = {}
    for _ in range(k):
        weight = int(rng.integers(0, (max_weight or n) + 1))
        qs = rng.choice(n, size=weight, replace=False)
        word = tuple(sorted((int(q), "XYZ"[rng.integers(3)]) for q in qs))
        c = rng.normal() + (1j * rng.normal() if not hermitian else 0)
        terms[word] = terms.get(word, 0) + c
    return PauliSum(terms)


def random_states(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    psi = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return psi / np.linalg.norm(psi, axis=-1, keepdims=True)


def reference(psi: np.ndarray, obs: PauliSum, n: int) -> np.ndarray:
    return np.einsum("...i,ij,...j->...", psi.conj(), dense(obs, n), psi)


# --- values ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_matches_dense_batched_complex128(n):
    rng = np.random.default_rng(n)
    psi = random_states((3, 2**n), rng)
    obs = random_obs(n, 12, rng)
    got = pauli_expectation(torch.tensor(psi), obs)
    assert got.shape == (3,) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), reference(psi, obs, n).real, atol=1e-12)
    single = pauli_expectation(torch.tensor(psi[1]), obs)
    assert single.shape == ()
    np.testing.assert_allclose(float(single), reference(psi[1], obs, n).real, atol=1e-12)


@pytest.mark.parametrize("n", [2, 6])
def test_matches_dense_complex64(n):
    rng = np.random.default_rng(10 + n)
    psi = random_states((4, 2**n), rng)
    obs = random_obs(n, 10, rng)
    got = pauli_expectation(torch.tensor(psi, dtype=torch.complex64), obs)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), reference(psi, obs, n).real, atol=2e-5)
    nh = random_obs(n, 6, rng, hermitian=False)
    got = pauli_expectation(torch.tensor(psi, dtype=torch.complex64), nh)
    assert got.dtype == torch.complex64
    np.testing.assert_allclose(got.numpy(), reference(psi, nh, n), atol=2e-5)


@pytest.mark.parametrize("n", [1, 4, 7])
def test_non_hermitian_is_complex(n):
    rng = np.random.default_rng(20 + n)
    psi = random_states((2, 2**n), rng)
    obs = random_obs(n, 8, rng, hermitian=False)
    got = pauli_expectation(torch.tensor(psi), obs)
    assert got.dtype == torch.complex128
    np.testing.assert_allclose(got.numpy(), reference(psi, obs, n), atol=1e-12)
    # an operator product of Hermitian sums is generally not Hermitian
    prod = X(0) @ Y(0)
    np.testing.assert_allclose(pauli_expectation(torch.tensor(psi), prod).numpy(), reference(psi, prod, n), atol=1e-12)


def test_special_observables_and_states():
    rng = np.random.default_rng(3)
    n = 4
    psi = random_states((2, 2**n), rng) * np.array([[1.0], [2.5]])  # unnormalised too
    t = torch.tensor(psi)
    norms = (np.abs(psi) ** 2).sum(-1)
    np.testing.assert_allclose(pauli_expectation(t, PauliSum.identity(1.5)).numpy(), 1.5 * norms, atol=1e-12)
    np.testing.assert_allclose(pauli_expectation(t, I()).numpy(), norms, atol=1e-12)
    assert pauli_expectation(t, PauliSum()).tolist() == [0.0, 0.0]
    assert pauli_expectation(t, 0 * X(0)).tolist() == [0.0, 0.0]
    # an observable on fewer qubits than the state, and one given as a string
    np.testing.assert_allclose(pauli_expectation(t, "Z1 + 0.5*X0").numpy(),
                               reference(psi, Z(1) + 0.5 * X(0), n).real, atol=1e-12)
    # a single-qubit state and a 1-amplitude (0-qubit) state
    plus = torch.tensor([1, 1], dtype=torch.complex128) / 2**0.5
    assert abs(float(pauli_expectation(plus, X(0))) - 1) < 1e-15
    assert abs(float(pauli_expectation(plus, Z(0)))) < 1e-15
    assert float(pauli_expectation(torch.tensor([2.0 + 0j]), PauliSum.identity(3))) == 12.0
    # real floating states are promoted
    real = torch.tensor(psi.real)
    np.testing.assert_allclose(pauli_expectation(real, X(0) @ X(1) + Z(2)).numpy(),
                               reference(psi.real.astype(complex), X(0) @ X(1) + Z(2), n).real, atol=1e-12)


def test_extra_leading_dims_and_many():
    rng = np.random.default_rng(4)
    n = 5
    psi = random_states((2, 3, 2**n), rng)
    obs = [random_obs(n, 6, rng) for _ in range(4)]
    many = pauli_expectation_many(torch.tensor(psi), obs)
    assert many.shape == (2, 3, 4) and many.dtype == torch.float64
    for j, o in enumerate(obs):
        np.testing.assert_allclose(many[..., j].numpy(), reference(psi, o, n).real, atol=1e-12)
        np.testing.assert_allclose(pauli_expectation(torch.tensor(psi), o).numpy(), many[..., j].numpy(), atol=1e-13)
    # one non-Hermitian observable makes the whole result complex
    mixed = pauli_expectation_many(torch.tensor(psi[0, 0]), [*obs, 1j * Z(0)])
    assert mixed.shape == (5,) and mixed.dtype == torch.complex128
    np.testing.assert_allclose(mixed[:4].imag.numpy(), 0, atol=1e-15)
    np.testing.assert_allclose(mixed[4].numpy(), reference(psi[0, 0], 1j * Z(0), n), atol=1e-12)
    empty = pauli_expectation_many(torch.tensor(psi), [])
    assert empty.shape == (2, 3, 0)


def test_shared_masks_across_observables():
    """Observables sharing flip masks (same group) give the same values as separately."""
    rng = np.random.default_rng(5)
    n = 6
    psi = torch.tensor(random_states((2, 2**n), rng))
    h = sum((Z(q) @ Z(q + 1) + 0.3 * X(q) for q in range(n - 1)), PauliSum())
    obs = [h, 2 * h + Y(0) @ Y(1), Z(0), X(0) @ X(1) + Y(0) @ Y(1)]
    many = pauli_expectation_many(psi, obs)
    for j, o in enumerate(obs):
        np.testing.assert_allclose(many[:, j].numpy(), reference(psi.numpy(), o, n).real, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 64])
def test_walsh_hadamard_and_chunked_paths(monkeypatch, chunk):
    """Force the large-problem code paths (chunked sign matrices, Walsh-Hadamard) on a small state."""
    monkeypatch.setattr(expectation, "_SIGN_CHUNK", chunk)
    calls = []
    wht = expectation._walsh_hadamard
    monkeypatch.setattr(expectation, "_walsh_hadamard", lambda r, k: calls.append(k) or wht(r, k))
    expectation._plan.cache_clear()
    rng = np.random.default_rng(6)
    n = 6
    psi = random_states((2, 2**n), rng)
    ising = sum((Z(i) @ Z(j) for i in range(n) for j in range(i + 1, n)), PauliSum()) + sum(
        (0.5 * Z(i) for i in range(n)), PauliSum())  # many patterns: Walsh-Hadamard
    few = random_obs(n, 5, rng, max_weight=3)  # few patterns: chunked sign matrices
    nh = random_obs(n, 30, rng, hermitian=False)
    got = pauli_expectation_many(torch.tensor(psi), [ising, few, nh])
    for j, o in enumerate([ising, few, nh]):
        np.testing.assert_allclose(got[:, j].numpy(), reference(psi, o, n), atol=1e-11)
    assert calls  # the Ising group went through the transform
    expectation._plan.cache_clear()


def test_errors():
    psi = torch.zeros(8, dtype=torch.complex128)
    with pytest.raises(ObservableError, match="acts on qubit 3 but the state has 3 qubits"):
        pauli_expectation(psi, Z(3))
    with pytest.raises(ObservableError, match="not a power of two"):
        pauli_expectation(torch.zeros(6, dtype=torch.complex128), Z(0))
    with pytest.raises(ObservableError, match="complex"):
        pauli_expectation(torch.zeros(8, dtype=torch.int64), Z(0))
    with pytest.raises(ObservableError, match="scalar"):
        pauli_expectation(torch.tensor(1.0 + 0j), I())
    with pytest.raises(ObservableError, match="torch.Tensor"):
        pauli_expectation(np.zeros(8, dtype=complex), Z(0))  # type: ignore[arg-type]
    with pytest.raises(ObservableError, match="column"):
        pauli_expectation(psi, "Z0 +")
    with pytest.raises(ValueError):  # ObservableError is a ValueError too
        pauli_expectation_many(psi, [Z(0), Z(5)])


# --- gradients ----------------------------------------------------------------------
def _finite_difference(f, psi: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d Re(psi) + 1j * d f / d Im(psi), central differences (torch's convention for real f)."""
    grad = np.zeros(psi.shape, dtype=complex)
    for idx in np.ndindex(psi.shape):
        for unit in (1, 1j):
            e = np.zeros(psi.shape, dtype=complex)
            e[idx] = eps * unit
            d = (f(psi + e) - f(psi - e)) / (2 * eps)
            grad[idx] += d * unit
    return grad


@pytest.mark.parametrize("n", [1, 3])
def test_gradient_matches_finite_differences(n):
    rng = np.random.default_rng(30 + n)
    psi = random_states((2, 2**n), rng)
    obs = random_obs(n, 8, rng)
    weights = torch.tensor([0.7, -1.3], dtype=torch.float64)

    def f(p: np.ndarray) -> float:
        with torch.no_grad():
            return float((pauli_expectation(torch.tensor(p), obs) * weights).sum())

    t = torch.tensor(psi, requires_grad=True)
    (grad,) = torch.autograd.grad((pauli_expectation(t, obs) * weights).sum(), t)
    np.testing.assert_allclose(grad.numpy(), _finite_difference(f, psi), atol=1e-8)
    # and the closed form: d<psi|H|psi>/d conj(psi) convention gives 2 H psi
    np.testing.assert_allclose(grad.numpy(), 2 * weights.numpy()[:, None] * (psi @ dense(obs, n).T), atol=1e-12)


def test_gradient_non_hermitian_and_many():
    rng = np.random.default_rng(40)
    n = 3
    psi = random_states((2**n,), rng)
    obs = [random_obs(n, 5, rng, hermitian=False), random_obs(n, 5, rng)]

    def f(p: np.ndarray) -> float:
        with torch.no_grad():
            v = pauli_expectation_many(torch.tensor(p), obs)
            return float(v[0].real + 2 * v[0].imag - v[1].real)

    t = torch.tensor(psi, requires_grad=True)
    v = pauli_expectation_many(t, obs)
    (grad,) = torch.autograd.grad(v[0].real + 2 * v[0].imag - v[1].real, t)
    np.testing.assert_allclose(grad.numpy(), _finite_difference(f, psi), atol=1e-8)


def test_gradient_through_the_simulator():
    a, b = Parameter("a"), Parameter("b")
    c = Circuit(3).ry(a, 0).cx(0, 1).rx(b, 2).cz(1, 2).h(2)
    obs = PauliSum.from_string("Z0 Z1 + 0.5*X2 - 0.3*Y0 X1")
    theta = torch.tensor([0.4, -1.1], dtype=torch.float64, requires_grad=True)

    def energy(th: torch.Tensor) -> torch.Tensor:
        return pauli_expectation(statevector(c, th), obs)

    (grad,) = torch.autograd.grad(energy(theta), theta)
    eps = 1e-6
    with torch.no_grad():
        fd = [float(energy(theta + e) - energy(theta - e)) / (2 * eps) for e in torch.eye(2, dtype=torch.float64) * eps]
    np.testing.assert_allclose(grad.numpy(), fd, atol=1e-8)


# --- properties ---------------------------------------------------------------------
words = st.dictionaries(st.integers(0, 4), st.sampled_from("XYZ"), max_size=5)
sums = st.lists(st.tuples(st.floats(-2, 2), words), min_size=1, max_size=5).map(
    lambda ts: sum((PauliSum.term(c, w) for c, w in ts), PauliSum()))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(sums, sums, st.complex_numbers(max_magnitude=3), st.integers(0, 2**32 - 1))
def test_linearity_and_products(a, b, alpha, seed):
    n = 5
    psi = torch.tensor(random_states((2**n,), np.random.default_rng(seed)))
    ea, eb = pauli_expectation(psi, a), pauli_expectation(psi, b)
    lhs = pauli_expectation(psi, alpha * a + b)
    assert abs(complex(lhs) - (alpha * complex(ea) + complex(eb))) < 1e-10
    # <a b> from the product sum equals <psi| A B |psi> computed densely
    prod = pauli_expectation(psi, a @ b)
    ref = reference(psi.numpy(), a @ b, n)
    assert abs(complex(prod) - complex(ref)) < 1e-10
    # a Pauli word's expectation on a normalised state lies in [-1, 1]
    for _, w in a.terms:
        assert abs(float(pauli_expectation(psi, PauliSum({w: 1})))) <= 1 + 1e-12


# --- Qiskit -------------------------------------------------------------------------
def _sparse_pauli_op(obs: PauliSum, n: int):
    from qiskit.quantum_info import SparsePauliOp

    labels, coefs = [], []
    for c, word in obs.terms:
        lab = ["I"] * n
        for q, letter in word:
            lab[n - 1 - q] = letter
        labels.append("".join(lab))
        coefs.append(c)
    return SparsePauliOp(labels, np.array(coefs))


@pytest.mark.parametrize("n", [2, 5, 8])
def test_against_qiskit(n):
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import Statevector

    rng = np.random.default_rng(50 + n)
    for hermitian in (True, False):
        psi = random_states((2**n,), rng)
        obs = random_obs(n, 10, rng, hermitian=hermitian)
        ref = Statevector(psi).expectation_value(_sparse_pauli_op(obs, n))
        got = complex(pauli_expectation(torch.tensor(psi), obs))
        assert abs(got - ref) < 1e-10


# --- devices ------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_cuda_matches_cpu(dtype):
    rng = np.random.default_rng(60)
    n = 10
    psi = torch.tensor(random_states((3, 2**n), rng), dtype=dtype)
    obs = [random_obs(n, 20, rng), random_obs(n, 5, rng, hermitian=False),
           sum((Z(i) @ Z(j) for i in range(n) for j in range(i + 1, n)), PauliSum())]
    cpu = pauli_expectation_many(psi, obs)
    gpu_in = psi.cuda().requires_grad_(True)
    gpu = pauli_expectation_many(gpu_in, obs)
    assert gpu.device.type == "cuda"
    tol = 1e-4 if dtype == torch.complex64 else 1e-11
    np.testing.assert_allclose(gpu.detach().cpu().numpy(), cpu.numpy(), atol=tol)
    gpu.real.sum().backward()
    assert gpu_in.grad is not None and gpu_in.grad.device.type == "cuda"


def test_caches_survive_inference_mode():
    """Tensors cached during an inference-mode call must still work with autograd later."""
    expectation._plan.cache_clear()
    obs = PauliSum.from_string("Z0 Z1 + 0.5*X0 Y2 - 0.25*Y1")
    psi = torch.tensor(random_states((2**3,), np.random.default_rng(70)))
    with torch.inference_mode():
        first = pauli_expectation(psi, obs)
    t = psi.clone().requires_grad_(True)
    value = pauli_expectation(t, obs)
    value.backward()
    assert float(value.detach()) == pytest.approx(float(first), abs=1e-14)
    assert t.grad is not None
