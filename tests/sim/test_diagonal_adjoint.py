"""The native QAOA kernels' fused adjoint (one high group: p + 1 alternating passes) and the unfused one.

Reference: the torch autograd path of ``qaoa_energy_and_gradient`` (``QTANDEM_NATIVE=0``), which shares no
code with the C kernels. Every blocking split of the kernel is covered: no high pass (low_bits >= n), one
high group (fused backward, with and without bits above the L1 tile), two high groups (unfused backward), and
p odd / even (the last fused pass is a chunk pass or a block pass).
"""

from __future__ import annotations

import numpy as np
import pytest

from qtandem.sim import diagonal as D

pytestmark = pytest.mark.skipif(not D.native_available(), reason="native QAOA kernels not built")


def _reference(diag, g, b, monkeypatch):
    with monkeypatch.context() as m:
        m.setenv("QTANDEM_NATIVE", "0")
        return D.qaoa_energy_and_gradient(diag, g, b)


def _native(cost, g, b, low, threads):
    from qtandem.sim import _kernels

    psi = np.empty(2**cost.n, dtype=complex)
    if cost.levels is not None:
        args = (cost.levels, cost._tables(g), cost.values, b)
    else:
        args = (cost.diagonal, g, None, b)
    _kernels.qaoa_evolve(psi, *args, 1, threads, low)
    e, dg, db = _kernels.qaoa_adjoint(psi, np.empty_like(psi), *args, threads, low)
    return e, np.asarray(dg), np.asarray(db)


@pytest.mark.parametrize("kind", ["integer", "real"])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_fused_and_unfused_adjoint_match_torch(kind, p, monkeypatch):
    """n = 12: low_bits 12 (no high pass), 11 / 5 / 2 (one group; 11 also has low bits above the L1 tile)."""
    rng = np.random.default_rng(10 * p + (kind == "real"))
    n = 12
    diag = rng.integers(-6, 7, 2**n).astype(float) if kind == "integer" else rng.normal(size=2**n)
    cost = D.DiagonalCost(diag)
    if kind == "real":
        cost.levels = cost.values = None  # force the direct (cos/sin per amplitude) path
    g, b = rng.uniform(-1, 1, p), rng.uniform(-1, 1, p)
    e_ref, dg_ref, db_ref = _reference(diag, g, b, monkeypatch)
    for low in (12, 11, 5, 2):
        for threads in (1, 2):
            e, dg, db = _native(cost, g, b, low, threads)
            msg = f"low_bits={low} threads={threads}"
            assert e == pytest.approx(e_ref, abs=1e-9), msg
            np.testing.assert_allclose(dg, dg_ref, atol=1e-9, err_msg=msg)
            np.testing.assert_allclose(db, db_ref, atol=1e-9, err_msg=msg)


def test_two_high_groups_and_wide_chunks_match_torch(monkeypatch):
    """n = 16: low_bits 2 gives 14 high bits (two groups: the unfused backward), 4 gives one group of 12."""
    rng = np.random.default_rng(16)
    n, p = 16, 3
    diag = rng.integers(0, 30, 2**n).astype(float)
    g, b = rng.uniform(-1, 1, p), rng.uniform(-1, 1, p)
    e_ref, dg_ref, db_ref = _reference(diag, g, b, monkeypatch)
    cost = D.DiagonalCost(diag)
    for low in (2, 4, 14):
        e, dg, db = _native(cost, g, b, low, 2)
        assert e == pytest.approx(e_ref, abs=1e-9)
        np.testing.assert_allclose(dg, dg_ref, atol=1e-9, err_msg=f"low_bits={low}")
        np.testing.assert_allclose(db, db_ref, atol=1e-9, err_msg=f"low_bits={low}")


def test_fused_adjoint_is_deterministic_for_a_thread_count():
    rng = np.random.default_rng(3)
    cost = D.DiagonalCost(rng.integers(0, 9, 2**15).astype(float))
    g, b = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4)
    first = _native(cost, g, b, 14, 2)
    second = _native(cost, g, b, 14, 2)
    assert first[0] == second[0]
    assert np.array_equal(first[1], second[1]) and np.array_equal(first[2], second[2])


def test_zero_layers_give_the_uniform_state():
    """p = 0: the state is |+>^n (the kernel used to leave it unwritten) and the energy is the mean cost."""
    from qtandem.sim import _kernels

    diag = np.arange(2.0**16) % 7
    cost = D.DiagonalCost(diag)
    psi = np.full(2**16, 5.0 + 1j)
    empty = np.empty(0)
    _kernels.qaoa_evolve(psi, cost.levels, np.empty((0, cost.values.size), dtype=complex), cost.values, empty, 1, 2)
    np.testing.assert_allclose(psi, np.full(2**16, 2.0**-8), atol=0)
    assert D.qaoa_energy_and_gradient(cost, [], [])[0] == pytest.approx(diag.mean(), abs=1e-12)


def _gradient(cost, g, b, low, threads, store):
    """``_kernels.qaoa_gradient``: forward from |+> (skipping the last high half) and the backward, with the
    forward's states stored (``store`` an array) or the fused two-vector backward (``store`` None)."""
    from qtandem.sim import _kernels

    psi = np.empty(2**cost.n, dtype=complex)
    if cost.levels is not None:
        args = (cost.levels, cost._tables(g), cost.values, b)
    else:
        args = (cost.diagonal, g, None, b)
    e, dg, db = _kernels.qaoa_gradient(psi, np.empty_like(psi), store, *args, threads, low)
    return e, np.asarray(dg), np.asarray(db)


@pytest.mark.parametrize("kind", ["integer", "real"])
@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_stored_state_and_fused_gradient_match_torch(kind, p, monkeypatch):
    """Every path of ``qaoa_gradient`` (stored states / fused, one high group of 1-11 bits / none, p odd / even,
    1 and 2 threads) against torch autograd."""
    rng = np.random.default_rng(100 + 10 * p + (kind == "real"))
    n = 13
    diag = rng.integers(-6, 7, 2**n).astype(float) if kind == "integer" else rng.normal(size=2**n)
    cost = D.DiagonalCost(diag)
    if kind == "real":
        cost.levels = cost.values = None
    g, b = rng.uniform(-1, 1, p), rng.uniform(-1, 1, p)
    e_ref, dg_ref, db_ref = _reference(diag, g, b, monkeypatch)
    store = np.full((max(p - 1, 0), 2**n), np.nan, dtype=complex)  # every entry read is written first
    for low in (13, 12, 6, 2):
        for threads in (1, 2):
            for st in (store, None):
                e, dg, db = _gradient(cost, g, b, low, threads, st)
                msg = f"low_bits={low} threads={threads} stored={st is not None}"
                assert e == pytest.approx(e_ref, abs=1e-9), msg
                np.testing.assert_allclose(dg, dg_ref, atol=1e-9, err_msg=msg)
                np.testing.assert_allclose(db, db_ref, atol=1e-9, err_msg=msg)


def test_gradient_store_limit_switches_paths_with_equal_values(monkeypatch):
    """``qaoa_energy_and_gradient`` keeps the states under STORE_LIMIT_BYTES and runs the fused sweep above it:
    same values (to rounding) either way; a too-short store is refused."""
    from qtandem.sim import _kernels

    rng = np.random.default_rng(7)
    n, p = 15, 5
    cost = D.DiagonalCost(rng.integers(0, 20, 2**n).astype(float))
    assert D.DiagonalCost(np.zeros(2**14))._states(p) is None  # n <= 14: no high group, nothing to store
    g, b = rng.uniform(-1, 1, p), rng.uniform(-1, 1, p)
    monkeypatch.setattr(D, "STORE_LIMIT_BYTES", 1 << 30)
    stored = D.qaoa_energy_and_gradient(cost, g, b, threads=2)
    assert cost._store is not None and cost._store.shape == (p - 1, 2**n)
    monkeypatch.setattr(D, "STORE_LIMIT_BYTES", 0)
    assert cost._states(p) is None
    fused = D.qaoa_energy_and_gradient(cost, g, b, threads=2)
    assert stored[0] == pytest.approx(fused[0], abs=1e-12)
    np.testing.assert_allclose(stored[1], fused[1], atol=1e-12)
    np.testing.assert_allclose(stored[2], fused[2], atol=1e-12)
    psi = np.empty(2**n, dtype=complex)
    with pytest.raises(TypeError, match="store"):
        _kernels.qaoa_gradient(psi, np.empty_like(psi), np.empty((p - 2, 2**n), dtype=complex), cost.levels,
                               cost._tables(g), cost.values, b, 2)
