"""The bit-flip symmetric half state of the QAOA kernels (``sym=True``; costs with ``C(x) = C(~x)``).

Reference: torch autograd on the full state (``QTANDEM_NATIVE=0``), which shares no code with the C kernels.
The kernels keep the 2**(n-1) amplitudes with the top qubit 0; the top qubit's mixer pairs partner chunks
(t, nchunks - 1 - t) in reverse order, so every chunk layout is covered: one chunk paired with itself
(n - 1 <= 14), two chunks (n = 16, low_bits 14) and several pairs (n = 17, low_bits 10 / 12), p odd and even.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from qtandem.sim import diagonal as D

pytestmark = pytest.mark.skipif(not D.native_available() or not getattr(D._kernels, "QAOA_SYMMETRIC", 0),
                                reason="native QAOA kernels with the symmetric half state not built")


def _symmetric(n, rng, kind):
    """A random cost with C(x) = C(~x): the upper half is the lower half reversed."""
    h = 2 ** (n - 1)
    low = rng.integers(-6, 7, h).astype(float) if kind == "integer" else rng.normal(size=h)
    return np.concatenate([low, low[::-1]])


def _reference(diag, g, b, monkeypatch):
    with monkeypatch.context() as m:
        m.setenv("QTANDEM_NATIVE", "0")
        return D.qaoa_energy_and_gradient(diag, g, b)


def _half(cost, g, b, low, threads):
    """(half state after qaoa_evolve, (energy, dgammas, dbetas) of qaoa_gradient), both with sym=True."""
    from qtandem.sim import _kernels

    h = 2 ** (cost.n - 1)
    if cost.levels is not None:
        args = (cost.levels[:h], cost._tables(g), cost.values, b)
    else:
        args = (cost.diagonal[:h], g, None, b)
    psi = np.empty(h, dtype=complex)
    _kernels.qaoa_evolve(psi, *args, 1, threads, low, sym=True)
    e, dg, db = _kernels.qaoa_gradient(np.empty(h, dtype=complex), np.empty(h, dtype=complex), None, *args, threads,
                                       low, sym=True)
    return psi, (e, np.asarray(dg), np.asarray(db))


@pytest.mark.parametrize("kind", ["integer", "real"])
@pytest.mark.parametrize("n,lows,p", [(9, (4, 2), 3), (16, (14,), 2), (17, (10, 12), 1), (17, (12,), 4)])
def test_half_state_kernels_match_torch(kind, n, lows, p, monkeypatch):
    rng = np.random.default_rng(1000 * n + 10 * p + (kind == "real"))
    diag = _symmetric(n, rng, kind)
    cost = D.DiagonalCost(diag)
    assert cost.symmetric
    if kind == "real":
        cost.levels = cost.values = None  # the direct (cos/sin per amplitude) path
    g, b = rng.uniform(-1, 1, p), rng.uniform(-1, 1, p)
    e_ref, dg_ref, db_ref = _reference(diag, g, b, monkeypatch)
    with monkeypatch.context() as m:
        m.setenv("QTANDEM_NATIVE", "0")
        psi_ref = D.qaoa_state(diag, g, b)
    for low in lows:
        for threads in (1, 2):
            psi, (e, dg, db) = _half(cost, g, b, low, threads)
            msg = f"low_bits={low} threads={threads}"
            np.testing.assert_allclose(psi, psi_ref[: 2 ** (n - 1)], atol=1e-12, err_msg=msg)
            assert e == pytest.approx(e_ref, abs=1e-9), msg
            np.testing.assert_allclose(dg, dg_ref, atol=1e-9, err_msg=msg)
            np.testing.assert_allclose(db, db_ref, atol=1e-9, err_msg=msg)


def test_maxcut_takes_the_half_state_with_the_full_paths_values(monkeypatch):
    """MaxCut (n = 16) through the public functions: the half state's energy, gradient and state equal the
    full-state kernels' (SYMMETRY off) and torch's, and the work arrays are half as long."""
    from qtandem.opt import maxcut

    n, p = 16, 3
    diag = maxcut(nx.random_regular_graph(3, n, seed=5)).qubo.diagonal()
    rng = np.random.default_rng(5)
    g, b = rng.uniform(0.1, 0.6, p), rng.uniform(-0.6, -0.1, p)
    cost = D.DiagonalCost(diag)
    assert cost.symmetric and cost._half_args(g, b) is not None
    half = D.qaoa_energy_and_gradient(cost, g, b, threads=2)
    e_half = D._energy_only(cost, g, b, 2)
    psi_half = D.qaoa_state(cost, g, b, threads=2)
    assert set(cost._work) == {2 ** (n - 1)}  # no full-length work array was needed
    monkeypatch.setattr(D, "SYMMETRY", False)
    assert cost._half_args(g, b) is None
    full = D.qaoa_energy_and_gradient(cost, g, b, threads=2)
    ref = _reference(diag, g, b, monkeypatch)
    for other, tol in ((full, 1e-12), (ref, 1e-9)):
        assert half[0] == pytest.approx(other[0], abs=tol)
        np.testing.assert_allclose(half[1], other[1], atol=tol)
        np.testing.assert_allclose(half[2], other[2], atol=tol)
    assert e_half == pytest.approx(full[0], abs=1e-12)
    np.testing.assert_allclose(psi_half, D.qaoa_state(cost, g, b, threads=2), atol=1e-13)


def test_odd_terms_take_the_full_path(monkeypatch):
    """A field term (odd) breaks the symmetry: detected, the full state is used, values still torch's."""
    rng = np.random.default_rng(8)
    n, p = 16, 2
    diag = _symmetric(n, rng, "integer")
    diag[3] += 1.0  # one entry off: C(3) != C(~3)
    cost = D.DiagonalCost(diag)
    g, b = rng.uniform(-1, 1, p), rng.uniform(-1, 1, p)
    assert not cost.symmetric and cost._half_args(g, b) is None
    got = D.qaoa_energy_and_gradient(cost, g, b, threads=2)
    ref = _reference(diag, g, b, monkeypatch)
    assert got[0] == pytest.approx(ref[0], abs=1e-9)
    np.testing.assert_allclose(got[2], ref[2], atol=1e-9)
    assert set(cost._work) == {2**n}


def test_half_state_refuses_layouts_it_cannot_pair():
    from qtandem.sim import _kernels

    cost = D.DiagonalCost(_symmetric(8, np.random.default_rng(0), "integer"))
    g, b = np.array([0.3]), np.array([0.2])
    h = 2**7
    args = (cost.levels[:h], cost._tables(g), cost.values, b)
    psi = np.empty(h, dtype=complex)
    with pytest.raises(ValueError, match="sym"):
        _kernels.qaoa_evolve(psi, *args, 1, 1, 7, sym=True)  # low_bits >= log2(len): no high group
    with pytest.raises(ValueError, match="sym"):
        _kernels.qaoa_evolve(psi, *args, 0, 1, 4, sym=True)  # init=0: an arbitrary state need not be symmetric
    with pytest.raises(ValueError, match="store"):
        _kernels.qaoa_gradient(psi, np.empty_like(psi), np.empty((1, h), dtype=complex), *args, 1, 4, sym=True)
