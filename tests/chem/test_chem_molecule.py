"""Molecules and problems: every mapping's sector ground energy equals PySCF CASCI; references; bad input."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyscf")

from qtandem.chem import Molecule
from qtandem.chem.mapping import jordan_wigner
from qtandem.chem.problem import MAPPINGS
from qtandem.errors import ChemistryError
from qtandem.sim.sparse import pauli_sum_sparse


def hf_energy(problem) -> float:
    m = pauli_sum_sparse(problem.hamiltonian, problem.n_qubits)
    return float(m[problem.hf_state, problem.hf_state].real)


@pytest.mark.parametrize("name", ["h2_problem", "lih_problem", "lih_stretched_problem"])
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_every_mapping_reproduces_casci(name, mapping, request):
    base = request.getfixturevalue(name)
    active = None if base.n_orbitals == 2 else (2, 5)
    p = base.molecule.problem(active, mapping, references=["hf", "casci"])
    assert p.n_qubits == 2 * p.n_orbitals - (2 if mapping == "parity_2q" else 0)
    assert all(c.imag == 0 for c, _ in p.hamiltonian.terms)
    assert abs(p.ground_state_energy() - p.references["casci"]) < 1e-8
    assert abs(hf_energy(p) - p.references["hf"]) < 1e-8  # the HF basis state is the SCF determinant
    assert p.hf_circuit.num_qubits == p.n_qubits


@pytest.mark.parametrize("mapping", ["jordan_wigner", "bravyi_kitaev", "parity_2q"])
def test_tapered_problems_keep_the_ground_energy(lih_stretched_problem, mapping):
    p = lih_stretched_problem.molecule.problem((2, 5), mapping, taper=True, references=["hf", "casci"])
    assert p.tapering is not None and p.n_qubits < 2 * 5 - (2 if mapping == "parity_2q" else 0)
    assert abs(p.ground_state_energy() - p.references["casci"]) < 1e-8
    assert abs(hf_energy(p) - p.references["hf"]) < 1e-8
    n = pauli_sum_sparse(p.number_operator(), p.n_qubits)
    assert abs(n[p.hf_state, p.hf_state] - 2) < 1e-12


def test_references_and_spin_operators(h2_problem, lih_problem):
    r = h2_problem.references
    assert set(r) == {"hf", "mp2", "ccsd", "ccsd_t", "casci", "fci"}
    # two electrons: CCSD is exact, FCI = CASCI over all orbitals
    assert abs(r["ccsd"] - r["fci"]) < 1e-7 and abs(r["casci"] - r["fci"]) < 1e-9
    assert r["hf"] > r["mp2"] > r["fci"]
    assert abs(r["fci"] - (-1.137306)) < 2e-6  # H2/STO-3G at 0.735 A, the textbook value
    ref = lih_problem.references
    assert ref["fci"] <= ref["casci"] <= ref["hf"] and ref["ccsd_t"] is not None
    for p in (h2_problem, lih_problem):
        h = pauli_sum_sparse(p.hamiltonian, p.n_qubits)
        for op in (p.number_operator(), p.sz_operator(), p.s2_operator()):
            m = pauli_sum_sparse(op, p.n_qubits)
            assert abs(h @ m - m @ h).max() < 1e-10
        s2 = pauli_sum_sparse(h2_problem.s2_operator(), 4).toarray()
    # S^2 on the H2 sector: the spectrum of a 2-electron, 2-orbital Sz=0 space is {0 (x3), 2 (x1)}
    basis = h2_problem.sector_basis()
    ev = np.linalg.eigvalsh(s2[np.ix_(basis, basis)])
    np.testing.assert_allclose(np.sort(ev), [0, 0, 0, 2], atol=1e-12)


def test_fermion_hamiltonian_maps_to_the_problem_hamiltonian(lih_problem):
    p = lih_problem
    assert (jordan_wigner(p.fermion_hamiltonian, p.n_modes) - p.hamiltonian).simplify(1e-10).terms == []
    assert p.fermion_hamiltonian.is_hermitian()
    assert p.orbital_coefficients.shape == (6, 5)
    assert abs(p.one_body - p.one_body.T).max() < 1e-12


def test_active_space_choices_agree():
    mol = Molecule("Li 0 0 0; H 0 0 1.595")
    a = mol.problem((2, 5), references=["casci"])
    b = mol.problem(frozen_core=True, references=["casci"])
    c = mol.problem(orbitals=[1, 2, 3, 4, 5], references=["casci"])
    for p in (b, c):
        assert p.n_orbitals == 5 and p.n_electrons == 2
        assert abs(p.references["casci"] - a.references["casci"]) < 1e-10
        assert abs(p.ground_state_energy() - a.ground_state_energy()) < 1e-10
    no = mol.problem((2, 3), natural_orbitals="mp2", references=["casci"])
    assert abs(no.ground_state_energy() - no.references["casci"]) < 1e-8
    # a CAS(2,3) in MP2 natural orbitals recovers more correlation than in canonical ones
    canon = mol.problem((2, 3), references=["casci"])
    assert no.references["casci"] < canon.references["casci"]


def test_open_shell_rohf():
    li = Molecule("Li 0 0 0", spin=1)
    p = li.problem(references=["hf", "casci"])
    assert (p.n_alpha, p.n_beta, p.n_qubits) == (2, 1, 10)
    assert abs(p.ground_state_energy() - p.references["casci"]) < 1e-8
    assert abs(hf_energy(p) - p.references["hf"]) < 1e-8


def test_bad_input_raises_clear_errors():
    with pytest.raises(ChemistryError, match="'H 0 x 1'"):
        Molecule("H 0 0 0; H 0 x 1")
    with pytest.raises(ChemistryError, match="unknown element 'Xx'"):
        Molecule("Xx 0 0 0")
    with pytest.raises(ChemistryError, match="3 electrons cannot have spin 2S=0"):
        Molecule("Li 0 0 0")
    with pytest.raises(ChemistryError, match="basis 'no-such-basis'"):
        Molecule("H 0 0 0; H 0 0 0.7", basis="no-such-basis").pyscf()
    mol = Molecule("H 0 0 0; H 0 0 0.7")
    with pytest.raises(ChemistryError, match="exceeds the 2 orbitals"):
        mol.problem((2, 3))
    with pytest.raises(ChemistryError, match="4 active electrons out of 2"):
        mol.problem((4, 2))
    with pytest.raises(ChemistryError, match="unknown mapping 'ternary'"):
        mol.problem(mapping="ternary")
    with pytest.raises(ChemistryError, match="unknown references"):
        mol.problem(references=["dmrg"])
    with pytest.raises(ChemistryError, match="disagrees"):
        Molecule("Li 0 0 0; H 0 0 1.6").problem((4, 6), frozen_core=True)


def test_stretched_beh2_parity_two_qubit_reduction():
    mol = Molecule("Be 0 0 0; H 0 0 2.5; H 0 0 -2.5")
    p = mol.problem((4, 6), "parity_2q", references=["hf", "casci"])
    assert p.n_qubits == 10 and len(p.hamiltonian) == 327
    assert abs(p.ground_state_energy() - p.references["casci"]) < 1e-8
    assert abs(hf_energy(p) - p.references["hf"]) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize(("geometry", "active"), [
    ("Be 0 0 0; H 0 0 1.326; H 0 0 -1.326", (4, 6)),
    ("Be 0 0 0; H 0 0 2.5; H 0 0 -2.5", (4, 6)),
    ("O 0 0 0; H 0.7572 0.5865 0; H -0.7572 0.5865 0", (8, 6)),
    ("N 0 0 0; N 0 0 1.098", (6, 6)),
])
def test_larger_molecules_every_mapping_and_tapering(geometry, active):
    mol = Molecule(geometry)
    for mapping in MAPPINGS:
        for taper in (False, True):
            p = mol.problem(active, mapping, taper=taper, references=["hf", "casci"])
            assert abs(p.ground_state_energy() - p.references["casci"]) < 1e-8, (mapping, taper)
            assert abs(hf_energy(p) - p.references["hf"]) < 1e-8, (mapping, taper)


def test_ccsd_natural_orbitals_and_tapered_operator_mapping(lih_problem):
    mol = lih_problem.molecule
    no = mol.problem((2, 3), natural_orbitals="ccsd", references=["casci"])
    assert abs(no.ground_state_energy() - no.references["casci"]) < 1e-8
    with pytest.raises(ChemistryError, match="natural_orbitals"):
        mol.problem((2, 3), natural_orbitals="dmrg")
    from qtandem.chem import anti_hermitian, single_excitation
    tapered = mol.problem((2, 5), taper=True, references="none")
    # sigma -> sigma keeps every symmetry; HOMO (sigma, orbital 0) -> a pi orbital (2) breaks a point-group one
    ok = tapered.map(anti_hermitian(single_excitation(2, 0)))
    assert len(ok) > 0 and all(c.real == 0 for c, _ in ok.terms)
    with pytest.raises(ChemistryError, match="Z2 symmetries"):
        tapered.map(anti_hermitian(single_excitation(4, 0)))
    assert tapered.conserves_symmetries(anti_hermitian(single_excitation(2, 0)))
    assert not tapered.conserves_symmetries(anti_hermitian(single_excitation(4, 0)))
