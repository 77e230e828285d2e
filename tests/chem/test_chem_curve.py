"""qtandem.chem.curve: solving order, warm starts, checkpoint and resume.

The machinery is tested on a stand-in problem whose exact optimum is known in closed form (a quadratic energy
around smoothly moving amplitudes, minimised by SciPy's BFGS); the end-to-end H2 test uses PySCF and C2's VQE.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qtandem.chem.curve import CurveResult, curve, evaluations_to_accuracy, solve_order
from qtandem.errors import ChemistryError


def _amplitudes(d: float) -> np.ndarray:
    return np.array([0.785 / (1 + np.exp(-3 * (d - 2.0))), 0.05 * d, -0.02 * d ** 2])


class _Problem:
    def __init__(self, d: float) -> None:
        self.d = d
        casci = -1.0 + 0.3 * (d - 1.0) ** 2
        self.references = {"hf": casci + 0.02 * d, "casci": casci, "fci": casci - 1e-3}
        self.n_qubits = 4


class _Molecule:
    def __init__(self, geometry: str, **kw: Any) -> None:
        self.d = float(re.findall(r"[-+]?\d*\.\d+|\d+", geometry)[-1])

    def problem(self, active: Any = None, **kw: Any) -> _Problem:
        return _Problem(self.d)


class _Result:
    def __init__(self, energy: float, parameters: np.ndarray, history: list[float]) -> None:
        self.energy, self.parameters, self.history = energy, parameters, history
        self.n_evaluations = len(history)
        self.cnot_count = 2
        self.operators = None


def _vqe(problem: _Problem, *, ansatz: str, initial: Any, optimizer: str, seed: int, **kw: Any) -> _Result:
    from scipy.optimize import minimize

    target = _amplitudes(problem.d)
    history: list[float] = []

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        e = problem.references["casci"] + float(np.sum((x - target) ** 2))
        history.append(e)
        return e, 2 * (x - target)

    x0 = np.zeros(3) if initial is None else np.asarray(initial, dtype=float)
    res = minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-9})
    return _Result(float(res.fun), res.x, history)


@pytest.fixture
def fake_chem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.import_module("qtandem.chem.molecule"), "Molecule", _Molecule)
    monkeypatch.setattr(importlib.import_module("qtandem.chem.vqe"), "vqe", _vqe)
    monkeypatch.setattr(importlib.import_module("qtandem.chem.align"), "align", lambda p, ref: p)
    monkeypatch.setattr(importlib.import_module("qtandem.chem.curve"), "_two_level", lambda p, name: np.zeros(3))


DS = [0.6, 0.8, 1.0, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1]


def test_order_and_accuracy_helpers() -> None:
    assert solve_order([0.5, 1.0, 1.5, 2.0], 1) == [(1, None), (2, 1), (3, 2), (0, 1)]
    assert evaluations_to_accuracy([-0.9, -0.99, -0.9995], -1.0, 1.6e-3) == 3
    with pytest.raises(ChemistryError, match="start index"):
        solve_order([1.0], 3)


def test_curve_starts_at_equilibrium_and_warm_starts_save_evaluations(fake_chem: None) -> None:
    results = {init: curve("H 0 0 0; H 0 0 {d}", DS, init=init) for init in ("cold", "transfer", "learned")}
    cold = results["cold"]
    assert [p.distance for p in cold.points] == DS
    first = min(cold.points, key=lambda p: p.order)
    assert first.distance == 1.0 and first.init == "cold"
    for res in results.values():
        for p in res.points:
            assert abs(p.error) < 1e-10
            np.testing.assert_allclose(p.parameters, _amplitudes(p.distance), atol=1e-5)
    # warm starts begin closer to the optimum than the reference state on the stretched half
    stretched = [p for p in cold.points if p.distance >= 1.9]
    for p_cold, p_tr, p_le in zip(stretched, [p for p in results["transfer"].points if p.distance >= 1.9],
                                  [p for p in results["learned"].points if p.distance >= 1.9], strict=True):
        assert p_tr.initial_error < p_cold.initial_error
        assert p_le.init == "learned"
    # the learned start (GP with a linear mean over the solved points) lands closer than plain transfer
    assert (sum(p.initial_error for p in results["learned"].points if p.distance >= 1.9)
            < 0.5 * sum(p.initial_error for p in results["transfer"].points if p.distance >= 1.9))
    # on a quadratic BFGS needs the same few steps from anywhere; to chemical accuracy a warm start needs fewer
    assert (results["learned"].total_evaluations(beyond=1.9, to_accuracy=True)
            < cold.total_evaluations(beyond=1.9, to_accuracy=True))


def test_checkpoint_resume_and_mismatch(fake_chem: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ck = tmp_path / "points.json"
    full = curve("H 0 0 0; H 0 0 {d}", DS[:5], init="transfer", checkpoint=ck)
    saved = json.loads(ck.read_text())
    assert len(saved["points"]) == 5 and saved["config"]["init"] == "transfer"
    # drop two points (as if interrupted), rerun: only those two are solved again
    saved["points"] = [row for row in saved["points"] if row["distance"] not in (0.6, 1.6)]
    ck.write_text(json.dumps(saved))
    calls: list[float] = []

    def counting(problem: _Problem, **kw: Any) -> _Result:
        calls.append(problem.d)
        return _vqe(problem, **kw)

    monkeypatch.setattr(importlib.import_module("qtandem.chem.vqe"), "vqe", counting)
    resumed = curve("H 0 0 0; H 0 0 {d}", DS[:5], init="transfer", checkpoint=ck)
    assert sorted(calls) == [0.6, 1.6]
    assert [p.energy for p in resumed.points] == pytest.approx([p.energy for p in full.points], abs=1e-12)
    with pytest.raises(ChemistryError, match="init='transfer'.*init='cold'"):
        curve("H 0 0 0; H 0 0 {d}", DS[:5], init="cold", checkpoint=ck)


def test_bad_arguments(fake_chem: None) -> None:
    with pytest.raises(ChemistryError, match="init must be one of"):
        curve("H 0 0 0; H 0 0 {d}", DS, init="psychic")
    with pytest.raises(ChemistryError, match="no distances"):
        curve("H 0 0 0; H 0 0 {d}", [])
    with pytest.raises(ChemistryError, match="placeholder"):
        curve("H 0 0 0; H 0 0 {x}", [1.0])
    assert isinstance(curve("H 0 0 0; H 0 0 {d}", [1.0]), CurveResult)


H2_DS = [0.74, 1.5, 2.5]


@pytest.fixture(scope="module")
def h2_curve_problems() -> dict[float, Any]:
    pytest.importorskip("pyscf")
    from qtandem.chem.curve import build_problems

    return build_problems("H 0 0 0; H 0 0 {d}", H2_DS)


def test_h2_curve_against_pyscf_fci(h2_curve_problems: dict[float, Any]) -> None:
    ds = H2_DS
    res = curve("H 0 0 0; H 0 0 {d}", ds, init="learned", compile_level=None, problems=h2_curve_problems)
    assert [p.distance for p in res.points] == ds
    assert min(res.points, key=lambda p: p.order).distance == 0.74        # lowest CASCI energy first
    for p in res.points:
        fci = p.references["fci"]
        assert fci is not None and abs(p.energy - fci) < 1e-6               # UCCSD is exact for two electrons
        assert p.references["hf"] is not None and p.references["hf"] > fci
    # minimal-basis H2 is a two-level problem: the two-level estimate is already the FCI answer
    assert all(abs(p.initial_error) < 1e-6 for p in res.points if p.order > 0)
    assert all(p.evaluations_to_accuracy == 1 for p in res.points if p.order > 0)


def test_two_level_parameters_reproduce_h2_fci_and_help_lih(lih_stretched_problem: Any) -> None:
    from qtandem.chem.ansatz import ansatz
    from qtandem.chem.molecule import Molecule
    from qtandem.chem.warmstart import two_level_parameters

    h2 = Molecule("H 0 0 0; H 0 0 2.0").problem()
    a = ansatz(h2, "uccsd")
    theta = two_level_parameters(h2.hamiltonian, [op.generator for op in a.operators], h2.hf_state)
    assert abs(a.energy(theta) - h2.references["fci"]) < 1e-8
    lih = lih_stretched_problem
    a = ansatz(lih, "uccsd")
    theta = two_level_parameters(lih.hamiltonian, [op.generator for op in a.operators], lih.hf_state)
    hf, casci = lih.references["hf"], lih.references["casci"]
    assert a.energy(theta) < hf - 0.5 * (hf - casci)          # recovers most of the correlation energy
    assert a.energy(theta) > casci - 1e-9                      # variational


@pytest.mark.slow
def test_lih_learned_start_beats_transfer_on_the_stretched_half() -> None:
    pytest.importorskip("pyscf")
    ds = [1.6, 2.0, 2.4, 2.8, 3.2, 3.6]
    from qtandem.chem.curve import build_problems

    probs = build_problems("Li 0 0 0; H 0 0 {d}", ds, active=(2, 5))
    runs = {init: curve("Li 0 0 0; H 0 0 {d}", ds, active=(2, 5), init=init, problems=probs, compile_level=None)
            for init in ("transfer", "learned")}
    for res in runs.values():
        assert max(abs(p.error) for p in res.points) < 1e-6
    assert (runs["learned"].total_evaluations(beyond=2.8, to_accuracy=True)
            < runs["transfer"].total_evaluations(beyond=2.8, to_accuracy=True))


def test_adapt_curve_warm_starts_the_operator_sequence(h2_curve_problems: dict[float, Any]) -> None:
    res = curve("H 0 0 0; H 0 0 {d}", H2_DS, ansatz="qubit-adapt", init="learned", problems=h2_curve_problems,
                compile_level=None)
    first = min(res.points, key=lambda p: p.order)
    for p in res.points:
        assert abs(p.energy - p.references["fci"]) < 1.6e-3
        assert p.operators is not None and len(p.operators) == len(p.parameters)
        if p is not first:
            assert first.operators is not None and p.operators[:len(first.operators)] == first.operators
