"""The native build is portable, and its two kernel flavours (AVX2+FMA and scalar) agree.

A default build has no ``-march``; the AVX2+FMA kernels are chosen when the module loads
(``_kernels.info()``). Both flavours are run here on the same random programs and
compared with the NumPy fallback, which shares no code with the kernels.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from qtandem.sim import fast

ROOT = Path(__file__).resolve().parents[2]
native = pytest.mark.skipif(not fast.available(), reason="native kernels not built")


def _setup_ext():
    spec = importlib.util.spec_from_file_location("qtandem_setup_ext", ROOT / "setup_ext.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_compile_args_are_portable():
    ext = _setup_ext()
    args = ext.compile_args({}, "linux")
    assert not any(a.startswith(("-march", "-mtune=native", "-mavx", "-mfma")) for a in args), args
    assert "-march=native" not in ext.compile_args({"QTANDEM_MARCH_NATIVE": "0"}, "linux")
    assert ext.compile_args({"QTANDEM_MARCH_NATIVE": "1"}, "linux")[-1] == "-march=native"
    (extension,) = ext.native_extensions()
    assert extension.optional  # no compiler: qtandem still installs, on the torch path


def test_default_build_has_no_march_flag(monkeypatch):
    monkeypatch.delenv("QTANDEM_MARCH_NATIVE", raising=False)
    (extension,) = _setup_ext().native_extensions()
    assert not any(a.startswith("-march") for a in extension.extra_compile_args), extension.extra_compile_args


def _flavours() -> list[str]:
    if not fast.available():
        return []
    from qtandem.sim import _kernels

    info = _kernels.info()
    if info["dispatch"] == "runtime":
        return ["scalar", "avx2+fma"] if info["cpu_avx2_fma"] else ["scalar"]
    return [info["simd"]]


def _random_unitary(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diagonal(r) / np.abs(np.diagonal(r)))


def _random_ops(n: int, count: int, rng: np.random.Generator) -> list:
    """Dense (low and high qubits, real and complex), diagonal, permutation and controlled ops."""
    ops = []
    perms = [np.eye(4, dtype=complex)[[0, 3, 2, 1]], np.eye(4, dtype=complex)[[0, 2, 1, 3]],
             np.eye(8, dtype=complex)[[0, 1, 2, 7, 4, 5, 6, 3]]]
    for _ in range(count):
        kind = int(rng.integers(5))
        if kind == 0:
            m = _random_unitary(2 ** int(rng.integers(1, 4)), rng)
        elif kind == 1:
            m = np.linalg.qr(rng.normal(size=(4, 4)))[0].astype(complex)
        elif kind == 2:
            m = np.diag(np.exp(1j * rng.uniform(0, 6, 2 ** int(rng.integers(1, 4)))))
        elif kind == 3:
            m = perms[int(rng.integers(3))] * np.exp(1j * rng.uniform(0, 6))
        else:
            m = np.eye(4, dtype=complex)
            m[np.ix_([1, 3], [1, 3])] = _random_unitary(2, rng)
        k = int(np.log2(m.shape[0]))
        ops.append((tuple(int(q) for q in rng.choice(n, k, replace=False)), m))
    return ops


@native
@pytest.mark.parametrize("dtype", [torch.complex128, torch.complex64])
@pytest.mark.parametrize("local", ["4", "20"])
def test_kernel_flavours_agree_with_the_numpy_fallback(dtype, local, monkeypatch):
    from qtandem.sim import _kernels

    monkeypatch.setenv("QTANDEM_LOCAL_BITS", local)  # 4: chunk gathers; 20: whole-state sweeps
    rng = np.random.default_rng(2026)
    n = 10
    ops = _random_ops(n, 120, rng)
    init = torch.from_numpy(rng.normal(size=2**n) + 1j * rng.normal(size=2**n))
    init = init / init.norm()
    outs = {}
    before = _kernels.info()["simd"]
    try:
        for name in _flavours():
            _kernels.set_simd(name)
            assert _kernels.info()["simd"] == name
            outs[name] = fast.simulate_numeric(n, ops, dtype=dtype, initial_state=init, threads=2).numpy()
    finally:
        _kernels.set_simd(before)
    monkeypatch.setenv("QTANDEM_NATIVE", "0")
    want = fast.simulate_numeric(n, ops, dtype=torch.complex128, initial_state=init).numpy()
    tol = 1e-11 if dtype == torch.complex128 else 3e-5
    assert outs
    for name, out in outs.items():
        np.testing.assert_allclose(out, want, atol=tol, err_msg=name)


@native
def test_set_simd_rejects_unknown_flavours():
    from qtandem.sim import _kernels

    with pytest.raises(ValueError, match="expected 'avx2\\+fma' or 'scalar'"):
        _kernels.set_simd("sse9")
    with pytest.raises(TypeError):
        _kernels.set_simd(3)
    info = _kernels.info()
    assert info["simd"] in ("avx2+fma", "scalar")
    assert info["dispatch"] in ("runtime", "compile-time", "none")
    if info["dispatch"] == "runtime":  # the fastest flavour the CPU runs is the default
        assert info["simd"] == ("avx2+fma" if info["cpu_avx2_fma"] else "scalar")
