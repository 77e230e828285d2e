"""One compiled-program cache for state vectors and density matrices (qtandem.sim.fast.compile_cached)."""

from __future__ import annotations

import numpy as np
import pytest

import qtandem
from qtandem import Circuit
from qtandem.noise import NoiseModel, depolarizing
from qtandem.sim import fast

pytestmark = pytest.mark.skipif(not fast.available(), reason="native kernels not built")


def test_statevector_and_density_matrix_share_one_lru_cache(monkeypatch):
    monkeypatch.setattr(fast, "_PROGRAMS", type(fast._PROGRAMS)())
    c = Circuit(4).h(0).cx(0, 1).rz(0.3, 2).h(3)  # 4 qubits: density matrices of <= 3 run uncompiled (NumPy)
    qtandem.statevector(c)
    qtandem.density_matrix(c, noise=NoiseModel().add(depolarizing(0.01), gates=["h"]).set_ideal(["cx", "rz"]))
    kinds = [key[2][0] for key in fast._PROGRAMS]
    assert kinds == ["statevector", "density"]
    first = next(iter(fast._PROGRAMS.values()))
    qtandem.statevector(c)  # a hit: the same program object, moved to the most recent end
    assert list(fast._PROGRAMS.values())[-1] is first and len(fast._PROGRAMS) == 2


def test_compile_cached_compiles_once_and_evicts_the_least_recent(monkeypatch):
    monkeypatch.setattr(fast, "_PROGRAMS", type(fast._PROGRAMS)())
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    calls = []

    def ops():
        calls.append(1)
        return [((0,), x)]

    first = fast.compile_cached("k0", 1, ops)
    assert fast.compile_cached("k0", 1, ops) is first and len(calls) == 1
    for i in range(1, fast.PROGRAM_CACHE_SIZE + 1):
        fast.compile_cached(f"k{i}", 1, ops)
    assert len(fast._PROGRAMS) == fast.PROGRAM_CACHE_SIZE
    assert fast.compile_cached("k0", 1, ops) is not first  # evicted, compiled again
