"""qtandem.chem.vqe on H2 against PySCF's FCI; optimizers, counting, shots, noise, compiled circuits."""

from __future__ import annotations

import numpy as np
import pytest

import qtandem
from qtandem.chem.vqe import OPTIMIZERS, VQEResult, minimize, vqe
from qtandem.errors import ChemistryError

pytest.importorskip("pyscf")


@pytest.fixture(scope="module")
def h2():
    from qtandem.chem.molecule import Molecule

    return Molecule("H 0 0 0; H 0 0 0.735").problem(references=["fci"])


@pytest.mark.parametrize("ansatz_name", ["uccsd", "fermionic-uccsd", "kupccgsd"])
def test_exact_vqe_reaches_fci(h2, ansatz_name):
    r = vqe(h2, ansatz_name, compile_level=None)
    assert abs(r.error_vs("fci")) < 1e-8
    assert r.n_evaluations == len(r.history) == r.n_gradient_evaluations
    assert r.energy == pytest.approx(min(r.history))


@pytest.mark.parametrize("optimizer", ["lbfgs", "cobyla", "adam", "spsa"])
def test_optimizers(h2, optimizer):
    hf = h2.references["hf"] if h2.references.get("hf") is not None else float(qtandem.expval(
        h2.hf_circuit, h2.hamiltonian).real)
    r = vqe(h2, "uccsd", optimizer=optimizer, max_evaluations=300, compile_level=None, seed=3)
    assert r.n_evaluations <= 300 and len(r.history) == r.n_evaluations
    tolerance = {"lbfgs": 1e-8, "cobyla": 1e-5, "adam": 1e-3, "spsa": 2e-2}[optimizer]
    assert r.error_vs("fci") < tolerance
    assert r.energy < hf
    if optimizer in ("cobyla", "spsa"):
        assert r.n_gradient_evaluations == 0


def test_spsa_is_seeded(h2):
    a = vqe(h2, "uccsd", optimizer="spsa", max_evaluations=20, compile_level=None, seed=7)
    b = vqe(h2, "uccsd", optimizer="spsa", max_evaluations=20, compile_level=None, seed=7)
    assert a.history == b.history


def test_compiled_circuit_has_the_energy(h2):
    r = vqe(h2, "uccsd", compile_level=1)
    assert all(inst.name == "cx" for inst in r.circuit.instructions if len(inst.qubits) > 1)
    assert r.cnot_count == r.circuit.count_ops().get("cx", 0) <= 14 + 2 * 2
    value = float(qtandem.expval(r.circuit, h2.hamiltonian).real)
    assert value == pytest.approx(r.energy, abs=1e-9)


def test_shots_and_noise(h2):
    exact = vqe(h2, "uccsd", compile_level=None)
    sampled = vqe(h2, "uccsd", optimizer="cobyla", shots=4000, max_evaluations=25, compile_level=None, seed=1,
                  initial=exact.parameters)
    assert abs(sampled.exact_energy - exact.energy) < 5e-3          # the start was optimal; sampling jitters it
    assert abs(sampled.energy - exact.energy) < 0.05                   # a 4,000-shot estimate
    from qtandem.noise import NoiseModel, depolarizing

    noise = NoiseModel(strict=False).add(depolarizing(0.02, 2), gates=["cx"])
    noisy = vqe(h2, "uccsd", optimizer="cobyla", noise=noise, max_evaluations=15, compile_level=None,
                initial=exact.parameters)
    assert noisy.energy > exact.energy + 1e-3                           # depolarising raises the energy
    with pytest.raises(ChemistryError, match="cobyla"):
        vqe(h2, "uccsd", optimizer="bfgs", shots=100, compile_level=None)


def test_errors(h2):
    with pytest.raises(ChemistryError, match="unknown optimizer 'newton'"):
        vqe(h2, "uccsd", optimizer="newton", compile_level=None)
    with pytest.raises(ChemistryError, match=r"shape \(2,\)"):
        vqe(h2, "uccsd", initial=[0.0, 0.0], compile_level=None)
    r = VQEResult(energy=0.0, parameters=np.zeros(0), circuit=qtandem.Circuit(1), n_evaluations=0,
                  n_gradient_evaluations=0, history=[], references={"ccsd": None})
    with pytest.raises(ChemistryError, match="'ccsd' is not available"):
        r.error_vs("ccsd")
    assert set(OPTIMIZERS) == {"bfgs", "lbfgs", "cobyla", "spsa", "adam"}
    x, e, _, _ = minimize(lambda x: float(((x - 1) ** 2).sum()), np.zeros(3), optimizer="cobyla")
    assert e < 1e-8 and np.allclose(x, 1, atol=1e-4)


def test_grouped_shot_budget(h2):
    exact = vqe(h2, "uccsd", compile_level=None)
    for kind in ("qubitwise", "general"):
        r = vqe(h2, "uccsd", optimizer="cobyla", shots=20000, grouping=kind, max_evaluations=5, compile_level=None,
                initial=exact.parameters, seed=2)
        assert abs(r.history[0] - exact.energy) < 0.02          # one estimate of the optimum, 20,000 shots in all
    with pytest.raises(ChemistryError, match="total shot budget"):
        vqe(h2, "uccsd", optimizer="cobyla", grouping="general", compile_level=None)
