"""Orbital alignment across geometries: overlap near identity, HF energy unchanged, amplitudes transfer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyscf")

from qtandem.chem import Molecule
from qtandem.chem.align import align, orbital_overlap, reorient
from qtandem.errors import ChemistryError
from qtandem.sim.sparse import pauli_sum_sparse


def sector_ground(problem):
    """(sector basis, ground vector in it with a positive HF amplitude, sparse H restricted to it)."""
    basis = problem.sector_basis()
    h = pauli_sum_sparse(problem.hamiltonian, problem.n_qubits, basis=basis).toarray().real
    vec = np.linalg.eigh(h)[1][:, 0]
    hf = int(np.nonzero(basis == problem.hf_state)[0][0])
    return basis, vec * np.sign(vec[hf]), h


@pytest.fixture(scope="module")
def scrambled(lih_problem):
    """LiH CAS(2,5) at 1.75 A with two virtual orbitals swapped and two signs flipped."""
    p = Molecule("Li 0 0 0; H 0 0 1.75").problem((2, 5), references=["hf", "casci"])
    u = np.zeros((5, 5))
    for new, (old, sign) in enumerate([(0, -1), (2, 1), (1, 1), (3, -1), (4, 1)]):
        u[old, new] = sign
    return reorient(p, u)


@pytest.mark.parametrize("method", ["rotation", "permutation"])
def test_aligned_orbitals_match_the_reference(lih_problem, scrambled, method):
    before = orbital_overlap(scrambled, lih_problem)
    assert np.min(np.diag(before)) < 0  # the scrambled orbitals really are out of order / sign
    aligned = align(scrambled, lih_problem, method=method)
    m = orbital_overlap(aligned, lih_problem)
    assert np.all(np.diag(m) > 0.5) and np.all(np.abs(m).argmax(axis=1) == np.arange(5))
    if method == "rotation":  # also undoes the arbitrary mixing of the degenerate pi pair
        assert np.all(np.diag(m) > 0.95) and np.abs(m - np.diag(np.diag(m))).max() < 0.1
    # same physics: HF determinant energy and the sector ground energy are unchanged
    e_hf = pauli_sum_sparse(aligned.hamiltonian, aligned.n_qubits)[aligned.hf_state, aligned.hf_state].real
    assert abs(e_hf - scrambled.references["hf"]) < 1e-8
    assert abs(aligned.ground_state_energy() - scrambled.references["casci"]) < 1e-8


def test_amplitudes_transfer_after_alignment(lih_problem, scrambled):
    basis_ref, v_ref, _ = sector_ground(lih_problem)
    hf = int(np.nonzero(basis_ref == lih_problem.hf_state)[0][0])
    aligned = align(scrambled, lih_problem)
    e0 = aligned.ground_state_energy()
    cosine, transfer_error = {}, {}
    for name, p in (("aligned", aligned), ("scrambled", scrambled)):
        basis, v, h = sector_ground(p)
        assert np.array_equal(basis, basis_ref)
        a, b = np.delete(v_ref, hf), np.delete(v, hf)  # the correlation amplitudes (HF weight is ~0.98)
        cosine[name] = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        transfer_error[name] = float(v_ref @ h @ v_ref) - e0  # reference amplitudes used at the new geometry
    # measured: cosine 0.999 vs 0.59, transfer error 0.3 mEh vs 12.9 mEh
    assert cosine["aligned"] > 0.99 and cosine["scrambled"] < 0.9
    assert transfer_error["aligned"] < 1e-3 < transfer_error["scrambled"]


def test_align_rejects_mismatched_problems(lih_problem, h2_problem):
    with pytest.raises(ChemistryError, match="different shapes"):
        align(h2_problem, lih_problem)
    with pytest.raises(ChemistryError, match="block"):
        reorient(lih_problem, np.eye(5)[[1, 0, 2, 3, 4]])
    with pytest.raises(ChemistryError, match="method"):
        align(lih_problem, lih_problem, method="magic")
