"""optimize()'s input floor: under any objective the result has no more gates and no more CX than an input
that is already in the output basis (compile.optimize._no_worse_than_input), checked by dense unitaries."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile import counts, optimize
from qtandem.compile.passmanager import PropertySet, Report
from qtandem.compile.presets import objective_cost
from qtandem.sim import unitary

ROOT = Path(__file__).resolve().parents[2]


def _perm_matrix(perm: list[int] | None, n: int) -> np.ndarray:
    c = Circuit(n)
    where = list(range(n))
    for i, target in enumerate(perm or range(n)):
        w = where.index(i)
        if w != target:
            c.swap(w, target)
            where[w], where[target] = where[target], where[w]
    return np.asarray(unitary(c))


def _same(inp: Circuit, out: Circuit, perm: list[int] | None) -> bool:
    a = _perm_matrix(perm, inp.n_qubits) @ np.asarray(unitary(inp))
    b = np.asarray(unitary(out))
    k = np.unravel_index(np.argmax(np.abs(a)), a.shape)
    ph = b[k] / a[k]
    return bool(abs(abs(ph) - 1) < 1e-7 and np.allclose(a * ph, b, atol=1e-7))


def _random_ibm(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(gates):
        r = rng.random()
        if r < 0.35:
            a, b = rng.choice(n, 2, replace=False)
            c.cx(int(a), int(b))
        elif r < 0.7:
            c.rz(float(rng.uniform(-math.pi, math.pi)), int(rng.integers(n)))
        elif r < 0.95:
            c.sx(int(rng.integers(n)))
        else:
            c.x(int(rng.integers(n)))
    return c


def test_variational_n4_cx_objective_stays_within_the_input() -> None:
    """QASMBench variational_n4 in {rz, sx, x, cx}: objective cx alone gives 63/8 gates/CX for a 58/16 input."""
    pytest.importorskip("qiskit")
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import compile_general as cg
    finally:
        sys.path.remove(str(ROOT / "bench"))
    qasm = (ROOT / "bench/data/qasmbench_small/variational_n4_transpiled.qasm").read_text()
    c = Circuit.from_qasm(cg.to_basis(qasm, "ibm"))
    out, report = optimize(c, level=3, basis="ibm", seed=0, permute_output=True, objective="cx")
    k0, k1 = counts(c), counts(out)
    assert k1.gates <= k0.gates and k1.cx <= k0.cx
    assert k1.gates < k0.gates  # the floor is not just "return the input"
    assert any("within the input's counts" in n for n in report.notes)
    assert _same(c, out, report.permutation)


def test_repair_keeps_the_permutation_and_the_unitary() -> None:
    """A padded result (more gates than the input, same unitary) is repaired below the input's counts."""
    from qtandem.compile.optimize import _no_worse_than_input

    c = Circuit(3).cx(0, 1).rz(0.3, 1).sx(2).cx(1, 2).rz(-0.7, 2).cx(0, 2)
    padded = c.copy()
    for q in range(3):
        padded.x(q).x(q).sx(q).sx(q).sx(q).sx(q)
    props = PropertySet(objective="cx", seed=0, level=3, policy=None, budget_expansions=None, progress=None)
    rep = Report(initial=counts(c))
    out, rep = _no_worse_than_input(c, padded, rep, "ibm", objective_cost("cx"), props, None, 0.0)
    assert counts(out).gates <= counts(c).gates and counts(out).cx <= counts(c).cx
    assert rep.permutation is None and _same(c, out, None)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("objective", ["cx", "gates"])
def test_random_ibm_circuits_never_grow(seed: int, objective: str) -> None:
    c = _random_ibm(4, 40, seed)
    out, report = optimize(c, level=3, basis="ibm", seed=seed, permute_output=True, objective=objective,
                           budget_expansions=200)
    k0, k1 = counts(c), counts(out)
    assert k1.gates <= k0.gates and k1.cx <= k0.cx
    assert _same(c, out, report.permutation)
