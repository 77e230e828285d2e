"""qtandem.sim.diagonal: QAOA evolutions against dense matrix exponentials and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from qtandem.errors import SimulationError
from qtandem.sim import diagonal as D

X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)


def _op(n: int, ops: dict[int, np.ndarray]) -> np.ndarray:
    """Dense operator, little-endian (qubit 0 = least significant bit = rightmost kron factor)."""
    out = np.eye(1, dtype=complex)
    for q in reversed(range(n)):
        out = np.kron(out, ops.get(q, np.eye(2)))
    return out


def _dense_qaoa(diag: np.ndarray, gammas, betas, mixer_h=None, psi0=None) -> np.ndarray:
    n = int(math.log2(diag.size))
    psi = np.full(2**n, 2 ** (-n / 2), dtype=complex) if psi0 is None else psi0.astype(complex)
    for g, b in zip(gammas, betas, strict=True):
        psi = np.exp(-1j * g * diag) * psi
        if mixer_h is None:  # sum_j X_j: commuting terms, so the exponential is a Kronecker product
            psi = _op(n, dict.fromkeys(range(n), scipy.linalg.expm(-1j * b * X))) @ psi
        else:
            psi = scipy.linalg.expm(-1j * b * mixer_h) @ psi
    return psi


@pytest.fixture(params=["native", "numpy"])
def path(request, monkeypatch):
    if request.param == "native":
        if not D.native_available():
            pytest.skip("native QAOA kernels not built")
    else:
        monkeypatch.setenv("QTANDEM_NATIVE", "0")
    return request.param


@pytest.mark.parametrize("n", [1, 2, 5, 7])
@pytest.mark.parametrize("kind", ["integer", "real"])
def test_state_and_energy_match_dense(path, n, kind):
    rng = np.random.default_rng(n)
    diag = rng.integers(-4, 5, 2**n).astype(float) if kind == "integer" else rng.normal(size=2**n)
    cost = D.DiagonalCost(diag)
    assert (cost.levels is not None) == (kind == "integer" or 2**n <= 2**22)
    g, b = rng.normal(size=3), rng.normal(size=3)
    ref = _dense_qaoa(diag, g, b)
    np.testing.assert_allclose(D.qaoa_state(cost, g, b), ref, atol=1e-12)
    e = float(D.qaoa_expectation(cost, torch.tensor(g), torch.tensor(b)))
    assert e == pytest.approx(float(np.real(np.vdot(ref, diag * ref))), abs=1e-12)


def test_direct_costs_and_blocking_paths_of_the_kernel():
    """Many distinct values (no levels table) and every cache-blocking split (low_bits 2..9) on 9 qubits."""
    if not D.native_available():
        pytest.skip("native QAOA kernels not built")
    from qtandem.sim import _kernels

    rng = np.random.default_rng(3)
    n = 9
    diag = rng.normal(size=2**n)
    g, b = rng.normal(size=2), rng.normal(size=2)
    ref = _dense_qaoa(diag, g, b)
    _, dg_ref, db_ref = D.qaoa_energy_and_gradient(diag, g, b)  # low_bits 14 > n: no high pass
    for low in range(2, n + 1):
        out = np.empty(2**n, dtype=complex)
        _kernels.qaoa_evolve(out, diag, g, None, b, 1, 2, low)
        np.testing.assert_allclose(out, ref, atol=1e-12, err_msg=f"low_bits={low}")
        e, dg, db = _kernels.qaoa_adjoint(out, np.empty_like(out), diag, g, None, b, 2, low)
        assert e == pytest.approx(float(np.real(np.vdot(ref, diag * ref))), abs=1e-12)
        np.testing.assert_allclose(dg, dg_ref, atol=1e-11)
        np.testing.assert_allclose(db, db_ref, atol=1e-11)


@pytest.mark.parametrize("kind", ["integer", "real"])
def test_adjoint_gradient_matches_finite_differences(path, kind):
    rng = np.random.default_rng(7)
    n, p = 5, 2
    diag = rng.integers(-3, 4, 2**n).astype(float) if kind == "integer" else rng.normal(size=2**n)
    g, b = rng.normal(size=p), rng.normal(size=p)
    e, dg, db = D.qaoa_energy_and_gradient(diag, g, b)

    def f(gg, bb):
        psi = _dense_qaoa(diag, gg, bb)
        return float(np.real(np.vdot(psi, diag * psi)))

    h = 1e-6
    eye = np.eye(p)
    fd_g = [(f(g + h * eye[k], b) - f(g - h * eye[k], b)) / (2 * h) for k in range(p)]
    fd_b = [(f(g, b + h * eye[k]) - f(g, b - h * eye[k])) / (2 * h) for k in range(p)]
    assert e == pytest.approx(f(g, b), abs=1e-12)
    np.testing.assert_allclose(dg, fd_g, atol=1e-7)
    np.testing.assert_allclose(db, fd_b, atol=1e-7)


def test_large_state_native_equals_numpy(monkeypatch):
    """15 qubits: the high-qubit chunk pass of the kernel (blocks of 2^14) against the NumPy path."""
    if not D.native_available():
        pytest.skip("native QAOA kernels not built")
    rng = np.random.default_rng(5)
    n = 15
    diag = rng.integers(0, 40, 2**n).astype(float)
    g, b = rng.normal(size=2), rng.normal(size=2)
    nat = D.qaoa_state(diag, g, b, threads=2)
    e, dg, db = D.qaoa_energy_and_gradient(diag, g, b, threads=2)
    monkeypatch.setenv("QTANDEM_NATIVE", "0")
    ref = D.qaoa_state(diag, g, b)
    np.testing.assert_allclose(nat, ref, atol=1e-12)
    e2, dg2, db2 = D.qaoa_energy_and_gradient(diag, g, b)
    assert e == pytest.approx(e2, abs=1e-9)
    np.testing.assert_allclose(dg, dg2, atol=1e-8)
    np.testing.assert_allclose(db, db2, atol=1e-8)


def test_batched_expectation_and_autograd(path):
    diag = np.array([0.0, -1.0, -2.0, 0.5, 1.0, -1.0, 0.0, 3.0])
    g = torch.tensor(np.random.default_rng(1).normal(size=(2, 3, 2)), requires_grad=True)
    b = torch.tensor(np.random.default_rng(2).normal(size=(2, 3, 2)), requires_grad=True)
    e = D.qaoa_expectation(diag, g, b)
    assert e.shape == (2, 3)
    (e * torch.arange(6.0, dtype=torch.float64).reshape(2, 3)).sum().backward()
    d = torch.tensor(diag)
    for i in range(2):
        for j in range(3):
            gg = g[i, j].detach().clone().requires_grad_(True)
            bb = b[i, j].detach().clone().requires_grad_(True)
            psi = D.evolve_torch(d, gg, bb)
            ref = (d * psi.abs() ** 2).sum()
            (ref * (3 * i + j)).backward()
            assert float(e[i, j].detach()) == pytest.approx(float(ref.detach()), abs=1e-12)
            assert torch.allclose(g.grad[i, j], gg.grad, atol=1e-10)
            assert torch.allclose(b.grad[i, j], bb.grad, atol=1e-10)


def test_xy_mixer_matches_dense_and_keeps_hamming_weight():
    n = 4
    h01 = (_op(n, {0: X, 1: X}) + _op(n, {0: Y, 1: Y})) / 2
    psi = torch.zeros(2**n, dtype=torch.complex128)
    psi[0b0001] = 1
    beta = torch.tensor(0.37, dtype=torch.float64)
    out = D.xy_mixer([[0, 1]], n)(psi, beta, n)
    ref = scipy.linalg.expm(-1j * 0.37 * h01) @ psi.numpy()
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    ring = D.xy_mixer([[0, 1, 2], [3]], n, ring=True)
    full = D.xy_mixer([[0, 1, 2]], n, ring=False)
    rng = np.random.default_rng(0)
    start = torch.tensor(rng.normal(size=2**n) + 1j * rng.normal(size=2**n))
    weight = np.array([bin(i & 0b0111).count("1") for i in range(2**n)])
    for mix in (ring, full):
        o = mix(start, beta, n).numpy()
        for w in range(4):
            sel = weight == w
            assert np.linalg.norm(o[sel]) == pytest.approx(np.linalg.norm(start.numpy()[sel]), abs=1e-12)


def test_rotated_mixer_ground_state_and_x_limit():
    th = [0.4, 1.1, 2.0]
    n = 3
    warm = torch.tensor(_op(n, {}))[:, 0]
    for q, t in enumerate(th):
        ry = torch.tensor([[math.cos(t / 2), -math.sin(t / 2)], [math.sin(t / 2), math.cos(t / 2)]],
                          dtype=torch.complex128)
        warm = D._apply_1q(warm, ry, q, n)
    out = D.rotated_mixer(th)(warm, torch.tensor(0.8, dtype=torch.float64), n)
    assert abs(torch.vdot(warm, out)) == pytest.approx(1.0, abs=1e-12)  # eigenstate: only a phase
    diag = torch.tensor([0.0, 1.0, -1.0, 2.0, 0.5, -0.5, 1.5, 0.0], dtype=torch.float64)
    g, b = torch.tensor([0.3, 0.7]), torch.tensor([0.2, -0.4])
    a = D.evolve_torch(diag, g, b, mixer=D.rotated_mixer([math.pi / 2] * 3))
    ref = D.evolve_torch(diag, g, -b)
    assert torch.allclose(a, ref, atol=1e-12)


def test_bad_inputs():
    with pytest.raises(SimulationError, match="power of two"):
        D.DiagonalCost([1.0, 2.0, 3.0])
    with pytest.raises(SimulationError, match="non-finite"):
        D.DiagonalCost([1.0, np.nan])
    with pytest.raises(SimulationError, match="2 gammas but 1 betas"):
        D.qaoa_state([0.0, 1.0], [0.1, 0.2], [0.3])
