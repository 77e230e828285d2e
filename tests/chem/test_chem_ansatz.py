"""Ansatz operators and circuits: every circuit equals the kernel's exponential; PennyLane's gate convention."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import qtandem
from qtandem.chem.ansatz import (
    Ansatz,
    Operator,
    ansatz,
    append_operator,
    excitations,
    fermionic_excitation,
    pauli_operator,
    qubit_excitation,
)
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ChemistryError

pytest.importorskip("pyscf")


@pytest.fixture(scope="module")
def h2():
    from qtandem.chem.molecule import Molecule

    return Molecule("H 0 0 0; H 0 0 0.735").problem(references=["fci"])


@pytest.mark.parametrize("op", [
    qubit_excitation((0,), (1,)), qubit_excitation((3,), (1,)), qubit_excitation((0, 1), (2, 3)),
    qubit_excitation((0, 4), (1, 3)), qubit_excitation((2, 3), (0, 4)),
    pauli_operator(PauliSum("X0 Z1 Y3")), fermionic_excitation(None, (0,), (3,)),
    fermionic_excitation(None, (0, 1), (3, 4)),
    Operator("ceo", (qubit_excitation((0, 1), (2, 3)).generator - qubit_excitation((0, 3), (1, 2)).generator),
             "ceo", (0, 1, 2, 3)),
], ids=lambda op: op.label)
def test_operator_circuit_is_the_exponential(op):
    n = 5
    theta = 0.83
    u = qtandem.unitary(append_operator(qtandem.Circuit(n), op, theta)).numpy()
    np.testing.assert_allclose(u, sl.expm(-1j * theta * op.generator.to_matrix(n).numpy()), atol=1e-10)


def test_cnot_costs():
    assert qubit_excitation((0,), (1,)).cnots == 2
    assert qubit_excitation((0, 1), (2, 3)).cnots == 14
    assert pauli_operator(PauliSum("X0 Y1 X2 X3")).cnots == 6


def _to_big_endian(u: np.ndarray, n: int) -> np.ndarray:
    perm = [int(format(i, f"0{n}b")[::-1], 2) for i in range(2**n)]
    return u[np.ix_(perm, perm)]


@pytest.mark.slow  # importing PennyLane alone takes ~5-10 s
def test_qubit_excitations_are_pennylanes_gates():
    qml = pytest.importorskip("pennylane")
    t = 0.61
    for occ, virt, gate in [((0,), (1,), qml.SingleExcitation), ((0, 1), (2, 3), qml.DoubleExcitation)]:
        n = len(occ) + len(virt)
        ours = qtandem.unitary(append_operator(qtandem.Circuit(n), qubit_excitation(occ, virt), t)).numpy()
        theirs = qml.matrix(gate(t, wires=list(range(n))))
        np.testing.assert_allclose(_to_big_endian(ours, n), theirs, atol=1e-12)


def test_fermionic_generator_matches_jordan_wigner(h2):
    from qtandem.chem.fermion import FermionOperator, anti_hermitian
    from qtandem.chem.mapping import jordan_wigner

    op = fermionic_excitation(h2, (0, 1), (2, 3))
    mapped = jordan_wigner(anti_hermitian(FermionOperator.term(1.0, ((2, 1), (3, 1), (1, 0), (0, 0)))), 4)
    assert op.generator == (-0.5j * mapped).simplify(1e-12)
    assert fermionic_excitation(None, (0, 1), (2, 3)).generator == op.generator


@pytest.mark.parametrize("name", ["uccsd", "fermionic-uccsd", "kupccgsd", "hea"])
def test_circuit_state_equals_kernel_state(h2, name):
    a = ansatz(h2, name)
    theta = np.random.default_rng(1).normal(size=a.n_parameters)
    psi = qtandem.statevector(a.circuit(theta)).numpy().ravel()
    np.testing.assert_allclose(psi, a.state(theta), atol=1e-10)
    e, g = a.energy_and_gradient(theta)
    assert e == pytest.approx(float(qtandem.expval(a.circuit(theta), h2.hamiltonian).real), abs=1e-10)
    assert g.shape == (a.n_parameters,)


def test_excitations_and_sizes(h2):
    singles, doubles = excitations(h2)
    assert singles == [(0, 2), (1, 3)] and doubles == [(0, 1, 2, 3)]
    assert ansatz(h2, "uccsd").n_parameters == 3
    assert ansatz(h2, "kupccgsd", k=2).n_parameters == 2 * (1 + 2)
    assert ansatz(h2, "hea", layers=1).n_parameters == 4 * 2 * 2
    assert isinstance(ansatz(h2), Ansatz)
    with pytest.raises(ChemistryError, match="unknown ansatz 'ucc'"):
        ansatz(h2, "ucc")
    with pytest.raises(ChemistryError, match="expected 3 parameters"):
        ansatz(h2, "uccsd").circuit([0.1])


def test_zero_angles_give_hartree_fock(h2):
    hf = float(qtandem.expval(h2.hf_circuit, h2.hamiltonian).real)
    for name in ("uccsd", "kupccgsd", "hea"):
        a = ansatz(h2, name)
        assert a.energy(np.zeros(a.n_parameters)) == pytest.approx(hf, abs=1e-12)
