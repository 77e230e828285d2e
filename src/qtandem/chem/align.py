"""Orbital alignment between geometries, so amplitudes and parameters transfer along a curve.

Molecular orbitals from separate SCF runs are defined up to a sign each, and near
degeneracies can swap their order. :func:`align` matches the active orbitals of a problem
to those of a reference problem (usually the previous point of a curve) by their overlap
``M = C_ref^T S(R_ref, R) C``, where ``S`` is the AO overlap *between the two geometries*
(PySCF's ``intor_cross``). Orbitals are matched by a maximum-weight assignment on ``|M|``
within the doubly occupied, singly occupied and virtual blocks separately (so the
Hartree-Fock determinant, and its energy, are unchanged), then signs are flipped to make
the diagonal of ``M`` positive. With ``method="rotation"`` (default) the
orbitals are instead rotated within each block by the orthogonal Procrustes solution, which
also undoes arbitrary mixing inside degenerate shells. The integrals are transformed
accordingly: no new PySCF run, same energies and references.

Examples:
    >>> from qtandem.chem import Molecule
    >>> from qtandem.chem.align import align, orbital_overlap
    >>> ref = Molecule("Li 0 0 0; H 0 0 1.5").problem((2, 4), references="none")
    >>> new = align(Molecule("Li 0 0 0; H 0 0 1.6").problem((2, 4), references="none"), ref)
    >>> bool((orbital_overlap(new, ref).diagonal() > 0.9).all())
    True
"""

from __future__ import annotations

import numpy as np

from qtandem.chem.problem import ChemProblem, assemble_problem
from qtandem.errors import ChemistryError

__all__ = ["align", "orbital_overlap", "reorient"]


def orbital_overlap(problem: ChemProblem, reference: ChemProblem) -> np.ndarray:
    """``M[i, j] = <ref orbital i | orbital j>``: active-orbital overlaps across the two geometries.

    Returns:
        ``(reference.n_orbitals, problem.n_orbitals)`` float64 array.

    Raises:
        ChemistryError: different atoms or basis sets.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.74").problem(references="none")
        >>> np.round(orbital_overlap(p, p), 8).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    from pyscf import gto

    mol_a, mol_b = reference.molecule, problem.molecule
    if mol_a.symbols != mol_b.symbols or mol_a.basis != mol_b.basis:
        raise ChemistryError(f"cannot align {mol_b.formula}/{mol_b.basis} to {mol_a.formula}/{mol_a.basis}: the "
                             f"atoms (in order) and the basis must be the same")
    s_cross = gto.intor_cross("int1e_ovlp", mol_a.pyscf(), mol_b.pyscf())
    m: np.ndarray = reference.orbital_coefficients.T @ s_cross @ problem.orbital_coefficients
    return m


def reorient(problem: ChemProblem, rotation: np.ndarray) -> ChemProblem:
    """The same problem in rotated active orbitals: new orbital ``k = sum_j old_j rotation[j, k]``.

    ``rotation`` must be orthogonal and must not mix the doubly occupied, singly occupied
    and virtual blocks (so the Hartree-Fock determinant and its energy are unchanged). A
    signed permutation matrix reorders and re-signs. Integrals and coefficients are
    transformed; the mapping, the tapering choice and the references are kept.

    Raises:
        ChemistryError: ``rotation`` is not orthogonal or mixes the blocks.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.74").problem(references="none")
        >>> q = reorient(p, np.diag([1.0, -1.0]))
        >>> round(q.ground_state_energy() - p.ground_state_energy(), 12)
        0.0
    """
    u = np.asarray(rotation, dtype=np.float64)
    n = problem.n_orbitals
    if u.shape != (n, n) or not np.allclose(u.T @ u, np.eye(n), atol=1e-10):
        raise ChemistryError(f"rotation must be an orthogonal {n}x{n} matrix")
    blocks = np.zeros(n, dtype=np.int64)
    blocks[problem.n_beta:problem.n_alpha] = 1
    blocks[problem.n_alpha:] = 2
    if np.abs(u[blocks[:, None] != blocks[None, :]]).max(initial=0.0) > 1e-10:
        raise ChemistryError("the rotation must keep doubly occupied, singly occupied and virtual orbitals in their "
                             "own blocks (the Hartree-Fock determinant would change)")
    h1 = u.T @ problem.one_body @ u
    eri = np.einsum("pqrs,pa,qb,rc,sd->abcd", problem.two_body, u, u, u, u, optimize=True)
    coeff = problem.orbital_coefficients @ u
    return assemble_problem(problem.molecule, problem.core_energy, h1, eri, coeff, problem.n_alpha, problem.n_beta,
                            problem.mapping, taper=problem.tapering is not None, references=problem.references,
                            n_core=problem.n_core)


def align(problem: ChemProblem, reference: ChemProblem, *, method: str = "rotation") -> ChemProblem:
    """``problem`` with its active orbitals matched to ``reference``'s.

    Args:
        problem: the problem to align (e.g. the next geometry of a curve).
        reference: the problem whose orbitals to follow (same atoms, basis and active-space shape).
        method: ``"rotation"`` (default): within each block the orthogonal rotation that
            brings the overlap closest to the identity (Procrustes: ``M u = W S W^T``,
            symmetric positive semi-definite), which also fixes arbitrary mixing inside
            degenerate shells (the pi orbitals of a linear molecule); the orbitals are then
            no longer canonical. ``"permutation"``: only reorder (maximum-weight assignment
            on ``|M|``) and flip signs, keeping canonical orbitals.

    Returns:
        A new :class:`ChemProblem`; ``orbital_overlap(result, reference)`` has a positive
        diagonal (and is close to the identity when the geometries are close).

    Raises:
        ChemistryError: different molecules, basis sets or active spaces, or an unknown method.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.74").problem(references="none")
        >>> q = align(reorient(p, np.diag([-1.0, 1.0])), p, method="permutation")
        >>> bool(np.allclose(q.orbital_coefficients, p.orbital_coefficients))
        True
    """
    if method not in ("rotation", "permutation"):
        raise ChemistryError(f"method must be 'rotation' or 'permutation', got {method!r}")
    if (problem.n_orbitals, problem.n_alpha, problem.n_beta) != (reference.n_orbitals, reference.n_alpha,
                                                                  reference.n_beta):
        raise ChemistryError(f"cannot align active spaces of different shapes: (orbitals, alpha, beta) = "
                             f"{(problem.n_orbitals, problem.n_alpha, problem.n_beta)} vs "
                             f"{(reference.n_orbitals, reference.n_alpha, reference.n_beta)}")
    from scipy.optimize import linear_sum_assignment

    m = orbital_overlap(problem, reference)
    n = problem.n_orbitals
    u = np.zeros((n, n))
    for lo, hi in ((0, problem.n_beta), (problem.n_beta, problem.n_alpha), (problem.n_alpha, n)):
        if hi <= lo:
            continue
        block = m[lo:hi, lo:hi]
        if method == "rotation":
            w, _, vt = np.linalg.svd(block)
            u[lo:hi, lo:hi] = vt.T @ w.T
        else:
            rows, cols = linear_sum_assignment(-np.abs(block))
            for r, c in zip(rows, cols, strict=True):
                u[lo + c, lo + r] = -1.0 if block[r, c] < 0 else 1.0
    return reorient(problem, u)
