"""Orbital rotations inside an active space: same CASCI, a more compact wavefunction.

A unitary rotation ``u`` of the active orbitals changes the qubit Hamiltonian but not its spectrum in the
particle-number sector, so CASCI is unchanged; when ``u`` mixes occupied orbitals only among themselves and
virtual orbitals only among themselves, the Hartree-Fock determinant (and its energy) is unchanged too, and
every ansatz still starts from the same reference state. What changes is how many excitations the correlated
state needs: in natural orbitals the wavefunction is most compact (for two electrons it is a sum of paired
determinants), so ADAPT needs fewer operators, hence fewer CNOTs.

:func:`block_natural_orbitals` computes the MP2 one-particle density of the active space from the
problem's own integrals (semicanonical orbitals, closed shell) and diagonalises its occupied-occupied and
virtual-virtual blocks separately (the "frozen natural orbitals" idea applied inside the window);
:func:`rotate_orbitals` applies any rotation.

Examples:
    >>> import numpy as np
    >>> from qtandem.chem import Molecule
    >>> p = Molecule("H 0 0 0; H 0 0 0.735", basis="6-31g").problem(references=["casci"])
    >>> q = block_natural_orbitals(p)
    >>> abs(q.ground_state_energy() - p.ground_state_energy()) < 1e-9, q.hf_state == p.hf_state
    (True, True)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from qtandem.chem.problem import ChemProblem, assemble_problem
from qtandem.errors import ChemistryError

__all__ = ["active_mp2_density", "block_natural_orbitals", "rotate_orbitals"]


def rotate_orbitals(problem: ChemProblem, u: np.ndarray) -> ChemProblem:
    """The same problem in rotated active orbitals ``C' = C u`` (``u`` real orthogonal, ``n_orbitals`` square).

    The references are kept: HF stays valid when ``u`` is block-diagonal in occupied/virtual orbitals, CASCI
    and the others do not depend on the active orbitals' basis.

    Raises:
        ChemistryError: ``u`` of the wrong shape or not orthogonal.

    Examples:
        >>> import numpy as np
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(references="none")
        >>> q = rotate_orbitals(p, np.array([[0.0, 1.0], [1.0, 0.0]]))   # swap the two orbitals
        >>> round(float(q.one_body[1, 1] - p.one_body[0, 0]), 12)
        0.0
    """
    u = np.asarray(u, dtype=np.float64)
    n = int(problem.n_orbitals)
    if u.shape != (n, n):
        raise ChemistryError(f"the rotation must be {n} x {n} (the active orbitals), got shape {u.shape}")
    if not np.allclose(u.T @ u, np.eye(n), atol=1e-9):
        raise ChemistryError("the orbital rotation must be a real orthogonal matrix")
    h1 = u.T @ problem.one_body @ u
    eri = np.einsum("pqrs,pi,qj,rk,sl->ijkl", problem.two_body, u, u, u, u, optimize=True)
    out = assemble_problem(problem.molecule, problem.core_energy, h1, eri, problem.orbital_coefficients @ u,
                           problem.n_alpha, problem.n_beta, problem.mapping, taper=problem.tapering is not None,
                           references=dict(problem.references), n_core=problem.n_core)
    return replace(out, geometry=problem.geometry, basis=problem.basis)


def _fock(problem: ChemProblem) -> np.ndarray:
    no = int(problem.n_alpha)
    eri = problem.two_body
    f: np.ndarray = (problem.one_body + 2.0 * np.einsum("pqii->pq", eri[:, :, :no, :no])
                     - np.einsum("piiq->pq", eri[:, :no, :no, :]))
    return f


def _block_eigenvectors(m: np.ndarray, no: int, *, descending: bool = False) -> np.ndarray:
    """Eigenvectors of the occupied (first ``no``) and virtual blocks of ``m`` apart, as one block-diagonal matrix."""
    n = m.shape[0]
    u = np.zeros((n, n))
    for block in (slice(0, no), slice(no, n)):
        w, vecs = np.linalg.eigh(m[block, block])
        u[block, block] = vecs[:, np.argsort(-w, kind="stable")] if descending else vecs
    return u


def _closed_shell(problem: ChemProblem, what: str) -> int:
    if problem.n_alpha != problem.n_beta:
        raise ChemistryError(f"{what} needs a closed-shell active space (n_alpha == n_beta), got "
                             f"{problem.n_alpha} alpha and {problem.n_beta} beta electrons")
    no = int(problem.n_alpha)
    if no in (0, problem.n_orbitals):
        raise ChemistryError(f"{what} needs occupied and virtual active orbitals, got {no} of "
                             f"{problem.n_orbitals} doubly occupied")
    return no


def active_mp2_density(problem: ChemProblem) -> np.ndarray:
    """The spin-summed MP2 one-particle density of the active space, in the problem's orbitals.

    Closed-shell MP2 (relaxed only in the sense of the unrelaxed density) from the active integrals, with the
    occupied and virtual blocks of the active Fock matrix diagonalised first (semicanonical orbitals), so any
    block-diagonal rotation of canonical orbitals gives the same density (rotated).

    Raises:
        ChemistryError: an open-shell active space, or one with no occupied or no virtual orbital.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.735", basis="6-31g").problem(references="none")
        >>> d = active_mp2_density(p)
        >>> d.shape, round(float(np.trace(d)), 10)
        ((4, 4), 2.0)
    """
    no = _closed_shell(problem, "the MP2 density")
    n = int(problem.n_orbitals)
    f = _fock(problem)
    o, v = slice(0, no), slice(no, n)
    semi = _block_eigenvectors(f, no)
    fs = semi.T @ f @ semi
    eri = np.einsum("pqrs,pi,qj,rk,sl->ijkl", problem.two_body, semi, semi, semi, semi, optimize=True)
    e = np.diag(fs)
    eo, ev = e[o], e[v]
    denom = eo[:, None, None, None] - ev[None, :, None, None] + eo[None, None, :, None] - ev[None, None, None, :]
    t = eri[o, v, o, v] / denom                     # t[i, a, j, b] = (ia|jb) / (e_i + e_j - e_a - e_b)
    tt = 2.0 * t - t.transpose(0, 3, 2, 1)
    dm = np.zeros((n, n))
    dm[o, o] = 2.0 * np.eye(no) - 2.0 * np.einsum("iakb,jakb->ij", t, tt)
    dm[v, v] = 2.0 * np.einsum("iajc,ibjc->ab", t, tt)
    out: np.ndarray = semi @ dm @ semi.T
    return out


def block_natural_orbitals(problem: ChemProblem) -> ChemProblem:
    """The problem in active-space MP2 natural orbitals, occupied and virtual blocks rotated separately.

    The Hartree-Fock determinant, the HF energy and CASCI are unchanged (checked); within each block the
    orbitals are ordered by decreasing MP2 occupation, with the largest AO coefficient of each made positive.

    Raises:
        ChemistryError: an open-shell active space, or one with no occupied or no virtual orbital.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.735", basis="6-31g").problem(references="none")
        >>> q = block_natural_orbitals(p)
        >>> [round(float(x), 6) for x in np.diag(active_mp2_density(q))][:2]
        [1.986823, 0.009669]
    """
    no = _closed_shell(problem, "block natural orbitals")
    n = int(problem.n_orbitals)
    u = _block_eigenvectors(active_mp2_density(problem), no, descending=True)
    coeff = problem.orbital_coefficients @ u
    for k in range(n):
        if coeff[np.argmax(np.abs(coeff[:, k])), k] < 0:
            u[:, k] *= -1.0
    out = rotate_orbitals(problem, u)
    e_hf_before = _determinant_energy(problem)
    e_hf_after = _determinant_energy(out)
    if abs(e_hf_after - e_hf_before) > 1e-8:
        raise ChemistryError(f"block rotation moved the HF energy from {e_hf_before} to {e_hf_after} "
                             "(please report this)")
    return out


def _determinant_energy(problem: Any) -> float:
    """Closed-shell HF determinant energy: core + sum over occupied i of (h_ii + f_ii)."""
    no = int(problem.n_alpha)
    occ = np.arange(no)
    return float(problem.core_energy + np.sum(problem.one_body[occ, occ] + _fock(problem)[occ, occ]))
