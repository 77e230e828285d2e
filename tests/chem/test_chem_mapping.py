"""Fermion-to-qubit mappings: JW against explicit matrices and OpenFermion, CAR for every encoding."""

from __future__ import annotations

import numpy as np
import pytest
from tests.chem.test_chem_fermion import dense, ladder, random_op

from qtandem.chem.fermion import FermionOperator, anti_hermitian, double_excitation, single_excitation
from qtandem.chem.mapping import LinearEncoding, bravyi_kitaev, encode_occupation, jordan_wigner, parity
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ChemistryError


def mat(p: PauliSum, n: int) -> np.ndarray:
    return p.to_matrix(n).numpy()


def test_jordan_wigner_matches_explicit_ladder_matrices():
    n = 4
    for j in range(n):
        for action in (0, 1):
            np.testing.assert_allclose(mat(jordan_wigner(FermionOperator.term(1, ((j, action),)), n), n),
                                       ladder(j, n, bool(action)), atol=1e-12)
    rng = np.random.default_rng(3)
    op = random_op(rng, n, 8)
    np.testing.assert_allclose(mat(jordan_wigner(op, n), n), dense(op, n), atol=1e-12)


@pytest.mark.parametrize("name", ["jordan_wigner", "bravyi_kitaev", "parity"])
def test_mapped_ladders_satisfy_the_anticommutation_relations(name):
    n = 5
    mapper = {"jordan_wigner": jordan_wigner, "bravyi_kitaev": bravyi_kitaev, "parity": parity}[name]
    a = [mat(mapper(FermionOperator.term(1, ((j, 0),)), n), n) for j in range(n)]
    eye = np.eye(2**n)
    for p in range(n):
        for q in range(n):
            np.testing.assert_allclose(a[p] @ a[q].conj().T + a[q].conj().T @ a[p], eye * (p == q), atol=1e-12)
            np.testing.assert_allclose(a[p] @ a[q] + a[q] @ a[p], 0 * eye, atol=1e-12)
    # the encoded occupation state is the number-operator eigenstate it claims to be
    enc = LinearEncoding.of(name, n)
    for occ in (0b00101, 0b11010):
        v = np.zeros(2**n)
        v[enc.encode(occ)] = 1
        for j in range(n):
            np.testing.assert_allclose(a[j].conj().T @ a[j] @ v, (occ >> j & 1) * v, atol=1e-12)


def test_hermitian_real_and_antihermitian_imaginary():
    h = double_excitation(3, 2, 1, 0) + double_excitation(3, 2, 1, 0).adjoint() + 0.3 * single_excitation(2, 2)
    for mapper in (jordan_wigner, bravyi_kitaev, parity):
        assert all(c.imag == 0 for c, _ in mapper(h, 4).terms)
        g = mapper(anti_hermitian(double_excitation(3, 2, 1, 0)), 4)
        assert len(g) == 8 and all(c.real == 0 and abs(abs(c.imag) - 0.125) < 1e-15 for c, _ in g.terms)


def test_parity_two_qubit_reduction_spectrum():
    n = 6  # 3 spatial orbitals, interleaved spin orbitals; 1 alpha + 1 beta electron
    rng = np.random.default_rng(11)
    h = FermionOperator()
    for p in range(n):
        for q in range(n):
            if p % 2 == q % 2:  # spin conserving
                c = rng.normal()
                h = h + FermionOperator.term(c, ((p, 1), (q, 0))) + FermionOperator.term(c, ((q, 1), (p, 0)))
    h = h + 0.7 * FermionOperator.term(1, ((0, 1), (1, 1), (1, 0), (0, 0)))
    full = dense(h, n)
    sector = [s for s in range(2**n) if bin(s & 0b010101).count("1") == 1 and bin(s & 0b101010).count("1") == 1]
    ref = np.linalg.eigvalsh(full[np.ix_(sector, sector)])
    red = parity(h, n, two_qubit_reduction=True, n_alpha=1, n_beta=1)
    assert red.num_qubits <= n - 2
    ev = np.linalg.eigvalsh(mat(red, n - 2))
    # the reduced space holds every state of the same alpha/beta parities: the 1+1 sector is inside it
    for e in ref:
        assert np.min(np.abs(ev - e)) < 1e-10
    occ = 0b000011  # modes 0 (alpha) and 1 (beta)
    v = np.zeros(2 ** (n - 2))
    v[encode_occupation(occ, n, "parity", two_qubit_reduction=True)] = 1
    np.testing.assert_allclose(v @ mat(red, n - 2) @ v, dense(h, n)[occ, occ], atol=1e-12)
    with pytest.raises(ChemistryError, match="parity"):
        parity(single_excitation(1, 0), 4, two_qubit_reduction=True, n_alpha=1, n_beta=1)
    with pytest.raises(ChemistryError, match="n_alpha"):
        parity(single_excitation(2, 0), 4, two_qubit_reduction=True)


def test_against_openfermion():
    of = pytest.importorskip("openfermion")
    rng = np.random.default_rng(5)
    op = random_op(rng, 6, 10)
    op = op + op.adjoint()
    of_op = of.FermionOperator()
    for term, c in op.terms.items():
        of_op += of.FermionOperator(term, c)
    for ours, theirs in ((jordan_wigner(op, 6), of.jordan_wigner(of_op)),
                         (bravyi_kitaev(op, 6), of.bravyi_kitaev(of_op, n_qubits=6))):
        expected = PauliSum({tuple((q, p) for q, p in w): c for w, c in theirs.terms.items()}).simplify(1e-12)
        assert (ours - expected).simplify(1e-10) == PauliSum()


def test_errors():
    with pytest.raises(ChemistryError, match="n_modes"):
        jordan_wigner(single_excitation(5, 0), 3)
    with pytest.raises(ChemistryError, match="unknown mapping"):
        LinearEncoding.of("ternary", 3)
