"""Native kernels, fusion and the fast path against explicit NumPy matrices.

References are full ``2**n x 2**n`` matrices built entry by entry from the
little-endian convention of ``docs/design.md`` (first listed qubit = least
significant bit of the gate's index), independent of the code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from qtandem.errors import SimulationError
from qtandem.sim import fast, fusion

native = pytest.mark.skipif(not fast.available(), reason="native kernels not built")
TOL = {np.complex128: 1e-12, np.complex64: 1e-5}
DTYPES = [np.complex128, np.complex64]


def full_matrix(n: int, qubits: tuple[int, ...], m: np.ndarray, controls: tuple[int, ...] = ()) -> np.ndarray:
    """The ``2**n x 2**n`` matrix of ``m`` on ``qubits`` (controls must be 1)."""
    dim = 2**n
    out = np.zeros((dim, dim), dtype=complex)
    cols = np.arange(dim)
    active = np.ones(dim, dtype=bool)
    for c in controls:
        active &= ((cols >> c) & 1) == 1
    out[cols[~active], cols[~active]] = 1
    cols = cols[active]
    mask = sum(1 << q for q in qubits)
    sub_c = sum(((cols >> q) & 1) << j for j, q in enumerate(qubits))
    for sub_r in range(2 ** len(qubits)):
        rows = (cols & ~mask) | sum(((sub_r >> j) & 1) << q for j, q in enumerate(qubits))
        out[rows, cols] = m[sub_r, sub_c]
    return out


def random_unitary(d: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    q, r = np.linalg.qr(z)
    return q * (np.diagonal(r) / np.abs(np.diagonal(r)))


def random_state(n: int, rng: np.random.Generator, dtype=np.complex128) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return (v / np.linalg.norm(v)).astype(dtype)


def perm_matrix(perm: np.ndarray, phases: np.ndarray) -> np.ndarray:
    m = np.zeros((len(perm), len(perm)), dtype=complex)
    m[perm, np.arange(len(perm))] = phases
    return m


def placements(n: int, k: int, rng: np.random.Generator, limit: int = 40) -> list[tuple[int, ...]]:
    """All ordered placements of k qubits for small k, a seeded sample otherwise."""
    allp = list(itertools.permutations(range(n), k))
    if len(allp) <= limit:
        return allp
    return [allp[i] for i in rng.choice(len(allp), limit, replace=False)]


# ----------------------------------------------------------------------------- single kernels


@native
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_dense_every_placement(dtype, k):
    from qtandem.sim import _kernels

    n = 6
    rng = np.random.default_rng(100 + k)
    for qs in placements(n, k, rng):
        m = random_unitary(2**k, rng)
        psi = random_state(n, rng, dtype)
        want = full_matrix(n, qs, m) @ psi.astype(complex)
        _kernels.apply_matrix(psi, qs, m, threads=2)
        np.testing.assert_allclose(psi, want, atol=TOL[dtype])


@native
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_real_matrices(dtype, k):
    """Real matrices take the kernels' real fast path (half the multiply-adds)."""
    from qtandem.sim import _kernels

    n = 6
    rng = np.random.default_rng(150 + k)
    for qs in placements(n, k, rng, limit=20):
        m = np.linalg.qr(rng.normal(size=(2**k, 2**k)))[0].astype(complex)
        psi = random_state(n, rng, dtype)
        want = full_matrix(n, qs, m) @ psi.astype(complex)
        _kernels.apply_matrix(psi, qs, m)
        np.testing.assert_allclose(psi, want, atol=TOL[dtype])


@native
@pytest.mark.parametrize("dtype", DTYPES)
def test_controlled_dense(dtype):
    from qtandem.sim import _kernels

    n = 7
    rng = np.random.default_rng(7)
    for _ in range(60):
        k = int(rng.integers(1, 4))
        nc = int(rng.integers(1, 4))
        qs = tuple(int(q) for q in rng.choice(n, k + nc, replace=False))
        t, c = qs[:k], qs[k:]
        m = random_unitary(2**k, rng)
        psi = random_state(n, rng, dtype)
        want = full_matrix(n, t, m, c) @ psi.astype(complex)
        _kernels.apply_matrix(psi, t, m, controls=c)
        np.testing.assert_allclose(psi, want, atol=TOL[dtype])


@native
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_diagonal(dtype, k):
    from qtandem.sim import _kernels

    n = 8
    rng = np.random.default_rng(200 + k)
    for qs in placements(n, k, rng, limit=25):
        d = np.exp(1j * rng.uniform(0, 2 * np.pi, 2**k))
        c = tuple(int(q) for q in rng.choice([q for q in range(n) if q not in qs], min(1, n - k), replace=False))
        for controls in ((), c):
            psi = random_state(n, rng, dtype)
            want = full_matrix(n, qs, np.diag(d), controls) @ psi.astype(complex)
            _kernels.apply_diagonal(psi, qs, d, controls=controls)
            np.testing.assert_allclose(psi, want, atol=TOL[dtype])


@native
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_permutation(dtype, k):
    from qtandem.sim import _kernels

    n = 7
    rng = np.random.default_rng(300 + k)
    for qs in placements(n, k, rng, limit=25):
        perm = rng.permutation(2**k)
        phases = np.where(rng.random(2**k) < 0.5, 1, np.exp(1j * rng.uniform(0, 6, 2**k)))
        rest = [q for q in range(n) if q not in qs]
        for controls in ((), (int(rng.choice(rest)),)):
            psi = random_state(n, rng, dtype)
            want = full_matrix(n, qs, perm_matrix(perm, phases), controls) @ psi.astype(complex)
            _kernels.apply_permutation(psi, qs, perm.tolist(), phases, controls=controls)
            np.testing.assert_allclose(psi, want, atol=TOL[dtype])


@native
def test_fill():
    from qtandem.sim import _kernels

    psi = np.full(2**12, 3 + 1j)
    _kernels.fill(psi, None, 2)
    assert psi[0] == 1 and not psi[1:].any()
    src = np.arange(2**12, dtype=np.complex64)
    out = np.empty_like(src)
    _kernels.fill(out, src, 2)
    np.testing.assert_array_equal(out, src)


@native
@pytest.mark.parametrize("dtype", DTYPES)
def test_tile_groups(dtype):
    """Second-level blocking (tile markers) gives the same state."""
    from qtandem.sim import _kernels

    rng = np.random.default_rng(77)
    n = 9
    ops = random_ops(n, 60, rng)
    init = random_state(n, rng)
    for local, tile in ((20, 3), (6, 3), (6, 4)):
        prog = fusion.compile_program(n, ops, fusion=2, local=local, low=2, tile=tile)
        psi = init.astype(dtype)
        for step in prog.steps:
            _kernels.run_program(psi, step[1], step[2], 2)
        np.testing.assert_allclose(psi, reference(n, ops, init), atol=10 * TOL[dtype])


@native
def test_kernel_errors_do_not_crash():
    from qtandem.sim import _kernels

    psi = np.zeros(8, complex)
    with pytest.raises(ValueError):
        _kernels.apply_matrix(psi, (0, 3), np.eye(4, dtype=complex))
    with pytest.raises(ValueError):
        _kernels.apply_matrix(psi, (0, 0), np.eye(4, dtype=complex))
    with pytest.raises(ValueError):
        _kernels.run_program(psi, np.array([1, 1, 0, 1, 0, 999, 0], np.int64), np.zeros(1, complex))
    with pytest.raises(ValueError):
        _kernels.run_program(psi, np.array([7], np.int64), np.zeros(1, complex))
    with pytest.raises(TypeError):
        _kernels.apply_diagonal(np.zeros(8), (0,), np.ones(2, complex))


# ----------------------------------------------------------------------------- classification and fusion


def test_classify_structure():
    cx = np.eye(4)[[0, 3, 2, 1]].astype(complex)  # control = index bit 0
    op = fusion.classify((3, 5), cx)
    assert (op.kind, op.targets, op.controls) == (fusion.PERM, (5,), (3,))
    cz = np.diag([1, 1, 1, -1]).astype(complex)
    op = fusion.classify((0, 1), cz)
    assert op.kind == fusion.DIAG and len(op.targets) + len(op.controls) == 2 and op.controls
    ccx = np.eye(8, dtype=complex)[[0, 1, 2, 7, 4, 5, 6, 3]]
    op = fusion.classify((0, 1, 2), ccx)
    assert (op.kind, op.targets, op.controls) == (fusion.PERM, (2,), (0, 1))
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    op = fusion.classify((0, 1), np.kron(np.eye(2), h))  # h on qubit 0 only
    assert (op.kind, op.targets) == (fusion.DENSE, (0,))
    assert fusion.classify((4,), np.diag([1, 1j])).kind == fusion.DIAG


def test_references_agree():
    rng = np.random.default_rng(9)
    psi = random_state(5, rng)
    m = random_unitary(8, rng)
    np.testing.assert_allclose(apply_ref(psi, 5, (3, 0, 4), m), full_matrix(5, (3, 0, 4), m) @ psi, atol=1e-13)


def test_canonicalize_matches_full_matrix():
    rng = np.random.default_rng(5)
    m = random_unitary(8, rng)
    qs, mc = fusion.canonicalize((4, 0, 2), m)
    assert qs == (0, 2, 4)
    np.testing.assert_allclose(full_matrix(5, qs, mc), full_matrix(5, (4, 0, 2), m), atol=1e-14)


def random_ops(n: int, count: int, rng: np.random.Generator) -> list:
    ops = []
    cx = np.eye(4, dtype=complex)[[0, 3, 2, 1]]
    swap = np.eye(4, dtype=complex)[[0, 2, 1, 3]]
    ccx = np.eye(8, dtype=complex)[[0, 1, 2, 7, 4, 5, 6, 3]]
    for _ in range(count):
        kind = rng.integers(6)
        if kind == 0:
            k = int(rng.integers(1, 4))
            m = random_unitary(2**k, rng)
        elif kind == 1:
            k = int(rng.integers(1, 3))
            m = np.diag(np.exp(1j * rng.uniform(0, 6, 2**k)))
        elif kind == 2:
            k, m = 2, cx
        elif kind == 3:
            k, m = 2, swap
        elif kind == 4:
            k, m = 3, ccx
        else:  # controlled random 1-qubit unitary
            k = 2
            m = np.eye(4, dtype=complex)
            m[np.ix_([1, 3], [1, 3])] = random_unitary(2, rng)
        ops.append((tuple(int(q) for q in rng.choice(n, k, replace=False)), m))
    return ops


def apply_ref(psi: np.ndarray, n: int, qubits: tuple[int, ...], m: np.ndarray) -> np.ndarray:
    """``m`` on ``qubits`` by explicit index arithmetic (same convention as full_matrix)."""
    idx = np.arange(2**n)
    base = idx[(idx & sum(1 << q for q in qubits)) == 0]
    dep = [sum(((r >> j) & 1) << q for j, q in enumerate(qubits)) for r in range(2 ** len(qubits))]
    out = np.empty_like(psi)
    for r, dr in enumerate(dep):
        out[base | dr] = sum(m[r, c] * psi[base | dc] for c, dc in enumerate(dep))
    return out


def reference(n: int, ops: list, psi: np.ndarray | None = None) -> np.ndarray:
    if psi is None:
        psi = np.zeros(2**n, complex)
        psi[0] = 1
    psi = psi.astype(complex)
    for qs, m in ops:
        psi = apply_ref(psi, n, qs, m)
    return psi


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_fusion_preserves_product(k):
    rng = np.random.default_rng(40 + k)
    n = 6
    ops = random_ops(n, 40, rng)
    fused = fusion.fuse(ops, k)
    assert all(len(q) <= max(k, 8) for q, _ in fused)
    np.testing.assert_allclose(reference(n, fused), reference(n, ops), atol=1e-12)


# ----------------------------------------------------------------------------- the fast path


@pytest.mark.parametrize("dtype", [torch.complex128, torch.complex64])
@pytest.mark.parametrize("fusion_k", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("local", ["3", "5", "20"])
def test_simulate_numeric_random_circuits(dtype, fusion_k, local, monkeypatch):
    monkeypatch.setenv("QTANDEM_LOCAL_BITS", local)  # small values force chunk gathers
    monkeypatch.setenv("QTANDEM_LOW_BITS", "2")
    rng = np.random.default_rng(fusion_k * 10 + int(local))
    n = 8
    ops = random_ops(n, 60, rng)
    init = torch.from_numpy(random_state(n, rng))
    out = fast.simulate_numeric(n, ops, dtype=dtype, fusion=fusion_k, initial_state=init, threads=2)
    assert out.dtype == dtype and out.shape == (2**n,) and out.is_contiguous()
    tol = 1e-11 if dtype == torch.complex128 else 2e-5
    np.testing.assert_allclose(out.numpy(), reference(n, ops, init.numpy()), atol=tol)


def test_fallback_agrees_with_native(monkeypatch):
    rng = np.random.default_rng(11)
    n = 9
    ops = random_ops(n, 50, rng)
    a = fast.simulate_numeric(n, ops).numpy()
    monkeypatch.setenv("QTANDEM_NATIVE", "0")
    assert not fast.available()
    b = fast.simulate_numeric(n, ops).numpy()
    c = fast.simulate_numeric(n, ops, fusion=0, dtype=torch.complex64).numpy()
    np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(c, b, atol=2e-5)


@native
@pytest.mark.parametrize("local", ["10", "30"])
def test_threads_agree(local, monkeypatch):
    monkeypatch.setenv("QTANDEM_LOCAL_BITS", local)
    rng = np.random.default_rng(12)
    n = 15
    ops = random_ops(n, 80, rng)
    one = fast.simulate_numeric(n, ops, threads=1)
    two = fast.simulate_numeric(n, ops, threads=2)
    assert torch.equal(one, two)


def test_initial_state_untouched_and_errors():
    init = torch.zeros(4, dtype=torch.complex128)
    init[3] = 1
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    out = fast.simulate_numeric(2, [((0,), x)], initial_state=init)
    assert out[2] == 1 and init[3] == 1 and out.data_ptr() != init.data_ptr()
    with pytest.raises(SimulationError):
        fast.simulate_numeric(2, [((0, 0), np.eye(4))])
    with pytest.raises(SimulationError):
        fast.simulate_numeric(2, [((2,), x)])
    with pytest.raises(SimulationError):
        fast.simulate_numeric(2, [((0,), np.eye(4))])
    with pytest.raises(SimulationError):
        fast.simulate_numeric(2, [], dtype=torch.float64)
    with pytest.raises(SimulationError):
        fast.simulate_numeric(2, [], initial_state=torch.zeros(8))


def test_wide_op_uses_numpy_step():
    rng = np.random.default_rng(3)
    n = 8
    ops = [((0,), random_unitary(2, rng)), (tuple(range(1, 8)), random_unitary(2**7, rng))]
    prog = fast.compile_ops(n, ops, fusion=0)
    assert prog.stats["numpy"] == (1 if fast.available() else prog.stats["numpy"])
    want = np.zeros(2**n, complex)
    want[0] = 1
    for qs, m in ops:
        want = full_matrix(n, qs, m) @ want
    np.testing.assert_allclose(fast.simulate_numeric(n, ops).numpy(), want, atol=1e-12)


def test_layered_benchmark_circuit_matches_reference():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[2] / "bench" / "statevector.py"
    spec = importlib.util.spec_from_file_location("bench_statevector", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    n = 7
    ops = bench.numeric_ops(n, layers=4)
    np.testing.assert_allclose(fast.simulate_numeric(n, ops).numpy(), reference(n, ops), atol=1e-12)
