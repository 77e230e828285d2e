"""Qubit problems from molecules: active spaces, integrals, mapping, references.

:func:`build_problem` (or :meth:`Molecule.problem <qtandem.chem.molecule.Molecule.problem>`)
runs the mean field, picks the active space, builds the active-space Hamiltonian

    H = E_core + sum_{pq,s} h_pq a+_{ps} a_{qs} + 1/2 sum_{pqrs,s,t} (pq|rs) a+_{ps} a+_{rt} a_{st} a_{qs}

on interleaved spin orbitals (``2p`` alpha, ``2p + 1`` beta; ``E_core`` holds the
nuclear repulsion and the frozen-core energy, so the lowest eigenvalue in the right
particle-number sector is the CASCI total energy), maps it to qubits and computes the
classical references. The result is a frozen :class:`ChemProblem`.

Reference rules (``references="auto"``): ``hf`` is the SCF energy; ``mp2``, ``ccsd`` and
``ccsd_t`` are computed in the same window of *canonical* orbitals as the active space
(inactive orbitals frozen), so they are the classical methods a VQE in that active space
competes with; ``casci`` is the exact energy of the active space in the problem's own
orbitals, computed when it has at most ``2e7`` determinants; ``fci`` is the full-space
exact energy (all electrons, all orbitals) when that space has at most ``2e6``
determinants (N2/STO-3G: 14 400). A reference that is skipped or does not converge is ``None``.

Examples:
    >>> from qtandem.chem import Molecule
    >>> p = Molecule("Li 0 0 0; H 0 0 1.595").problem((2, 5), references=["casci"])
    >>> p.n_qubits, p.n_electrons, p.n_orbitals, len(p.hamiltonian)
    (10, 2, 5, 276)
    >>> round(p.references["casci"], 8) == round(p.ground_state_energy(), 8)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem.chem.fermion import FermionOperator
from qtandem.chem.mapping import (
    LinearEncoding,
    Tapering,
    _block_parity_matrix,
    _drop_bits,
    masks_to_pauli,
    pauli_to_masks,
    reduce_two_qubits,
    z2_symmetries,
)
from qtandem.circuit import Circuit
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ChemistryError

if TYPE_CHECKING:
    from qtandem.chem.molecule import Molecule

__all__ = ["MAPPINGS", "REFERENCE_KEYS", "ChemProblem", "assemble_problem", "build_problem"]

MAPPINGS = ("jordan_wigner", "bravyi_kitaev", "parity", "parity_2q")
"""Accepted ``mapping`` names; ``"parity_2q"`` is parity with the two-qubit reduction."""
REFERENCE_KEYS = ("hf", "mp2", "ccsd", "ccsd_t", "casci", "fci")
MAX_CASCI_DETERMINANTS = 20_000_000
MAX_FCI_DETERMINANTS = 2_000_000
_CUTOFF = 1e-12


@dataclass(frozen=True)
class ChemProblem:
    """A molecule's active-space problem mapped to qubits.

    Attributes:
        hamiltonian: the qubit Hamiltonian (constant term = nuclear repulsion + core energy).
        n_qubits: qubits of :attr:`hamiltonian` (``2 * n_orbitals``, minus 2 for
            ``"parity_2q"``, minus the tapered symmetries).
        n_electrons: active electrons; ``n_alpha + n_beta``.
        n_orbitals: active spatial orbitals.
        n_alpha: active alpha electrons.
        n_beta: active beta electrons.
        mapping: one of :data:`MAPPINGS`.
        hf_state: basis index of the Hartree-Fock determinant in this mapping.
        hf_circuit: X gates preparing :attr:`hf_state` from ``|0...0>``.
        references: total energies (hartree) with keys :data:`REFERENCE_KEYS`, ``None`` where skipped.
        fermion_hamiltonian: the active-space Hamiltonian on spin orbitals (with the constant).
        geometry: the molecule's parsed geometry.
        basis: the basis-set name.
        orbital_coefficients: AO x active-MO coefficient matrix, shape ``(n_ao, n_orbitals)``.
        core_energy: nuclear repulsion plus frozen-core energy.
        one_body: active one-electron integrals ``h_pq`` (core field included), ``(n, n)``.
        two_body: active two-electron integrals ``(pq|rs)`` (chemists' order), ``(n, n, n, n)``.
        n_core: frozen doubly-occupied spatial orbitals.
        tapering: the Z2 tapering applied after the mapping, or ``None``.
        molecule: the :class:`~qtandem.chem.molecule.Molecule` it came from.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(mapping="parity_2q", references="none")
        >>> p.n_qubits, p.hf_state, p.mapping
        (2, 1, 'parity_2q')
    """

    hamiltonian: PauliSum = field(repr=False)
    n_qubits: int
    n_electrons: int
    n_orbitals: int
    n_alpha: int
    n_beta: int
    mapping: str
    hf_state: int
    hf_circuit: Circuit = field(repr=False)
    references: dict[str, float | None] = field(repr=False)
    fermion_hamiltonian: FermionOperator = field(repr=False)
    geometry: tuple[Any, ...] = field(repr=False)
    basis: str
    orbital_coefficients: np.ndarray = field(repr=False)
    core_energy: float = field(repr=False)
    one_body: np.ndarray = field(repr=False)
    two_body: np.ndarray = field(repr=False)
    n_core: int = field(repr=False)
    tapering: Tapering | None = field(repr=False)
    molecule: Molecule = field(repr=False, compare=False)

    @property
    def n_modes(self) -> int:
        """Spin orbitals of the active space, ``2 * n_orbitals``.

        Examples:
            >>> from qtandem.chem import Molecule
            >>> Molecule("H 0 0 0; H 0 0 0.735").problem(references="none").n_modes
            4
        """
        return 2 * self.n_orbitals

    def map(self, op: FermionOperator) -> PauliSum:
        """Map an active-space fermion operator exactly as the Hamiltonian was (reduction and tapering included).

        Raises:
            ChemistryError: the operator leaves the symmetry sector the problem was
                reduced to (changes electron-number parities, or breaks a tapered symmetry).

        Examples:
            >>> from qtandem.chem import Molecule
            >>> from qtandem.chem.fermion import anti_hermitian, double_excitation
            >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(references="none")
            >>> len(p.map(anti_hermitian(double_excitation(3, 2, 1, 0))))
            8
        """
        n = self.n_modes
        if op.n_modes > n:
            raise ChemistryError(f"the operator acts on {op.n_modes} spin orbitals; the active space has {n}")
        if self.mapping == "parity_2q":
            masks = reduce_two_qubits(LinearEncoding(_block_parity_matrix(n)).map_masks(op), n, self.n_alpha,
                                      self.n_beta)
        else:
            masks = LinearEncoding.of(self.mapping, n).map_masks(op)
        if self.tapering is not None:
            masks = self.tapering.apply_masks(masks)
        return masks_to_pauli(masks)

    def conserves_symmetries(self, op: FermionOperator) -> bool:
        """Whether :meth:`map` can represent ``op`` (it keeps the reduced parities and tapered symmetries).

        Filter excitation pools with it on a ``taper=True`` or ``"parity_2q"`` problem: an
        operator that breaks a symmetry of the Hamiltonian leaves the sector of the
        Hartree-Fock state, where the ground state lies, so dropping it loses nothing.

        Examples:
            >>> from qtandem.chem import Molecule
            >>> from qtandem.chem.fermion import anti_hermitian, single_excitation
            >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(taper=True, references="none")
            >>> p.conserves_symmetries(anti_hermitian(single_excitation(2, 0)))  # sigma_g -> sigma_u
            False
        """
        try:
            self.map(op)
        except ChemistryError:
            return False
        return True

    def number_operator(self) -> PauliSum:
        """Total active electron number ``N = sum_j a+_j a_j`` in this mapping.

        Examples:
            >>> from qtandem.chem import Molecule
            >>> Molecule("H 0 0 0; H 0 0 0.735").problem(mapping="parity_2q", references="none").number_operator()
            PauliSum('2')
        """
        return self.map(_number(self.n_orbitals, (0, 1)))

    def sz_operator(self) -> PauliSum:
        """``S_z = (N_alpha - N_beta) / 2`` in this mapping.

        Examples:
            >>> from qtandem.chem import Molecule
            >>> len(Molecule("H 0 0 0; H 0 0 0.735").problem(references="none").sz_operator())
            4
        """
        return self.map(0.5 * (_number(self.n_orbitals, (0,)) - _number(self.n_orbitals, (1,))))

    def s2_operator(self) -> PauliSum:
        """Total spin ``S^2 = S_- S_+ + S_z (S_z + 1)`` in this mapping.

        Examples:
            >>> from qtandem.chem import Molecule
            >>> from qtandem.sim.sparse import pauli_sum_sparse
            >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(references="none")
            >>> s2 = pauli_sum_sparse(p.s2_operator(), p.n_qubits)
            >>> round(float(abs(s2[p.hf_state, p.hf_state])), 12)   # the closed-shell HF determinant is a singlet
            0.0
        """
        n = self.n_orbitals
        s_plus = FermionOperator({((2 * p, 1), (2 * p + 1, 0)): 1.0 for p in range(n)})
        sz = 0.5 * (_number(n, (0,)) - _number(n, (1,)))
        return self.map(s_plus.adjoint() * s_plus + sz * sz + sz)

    def sector_basis(self) -> np.ndarray | None:
        """Basis indices with ``n_alpha`` alpha and ``n_beta`` beta electrons, or ``None`` when tapered.

        Number operators are diagonal in every linear encoding, so the sector is a set of
        basis states; after tapering it is not, and this returns ``None``.

        Examples:
            >>> from qtandem.chem import Molecule
            >>> Molecule("H 0 0 0; H 0 0 0.735").problem(references="none").sector_basis().tolist()
            [3, 6, 9, 12]
        """
        if self.tapering is not None:
            return None
        from qtandem.sim.sparse import pauli_diagonal
        na = pauli_diagonal(self.map(_number(self.n_orbitals, (0,))), self.n_qubits).real
        nb = pauli_diagonal(self.map(_number(self.n_orbitals, (1,))), self.n_qubits).real
        keep: np.ndarray = np.nonzero((np.abs(na - self.n_alpha) < 1e-9) & (np.abs(nb - self.n_beta) < 1e-9))[0]
        return keep

    def ground_state_energy(self) -> float:
        """Exact lowest energy with ``n_alpha`` alpha and ``n_beta`` beta electrons (sparse, up to ~20 qubits).

        Untapered: the Hamiltonian restricted to :meth:`sector_basis`. Tapered: the lowest
        eigenvalue of ``H + mu [(N_a - n_a)^2 + (N_b - n_b)^2]`` with ``mu`` above the
        Hamiltonian's spectral range (the sum of its coefficients' moduli).

        Examples:
            >>> from qtandem.chem import Molecule
            >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(references=["casci"])
            >>> abs(p.ground_state_energy() - p.references["casci"]) < 1e-10
            True
        """
        from qtandem.sim.sparse import lowest_eigenvalue
        basis = self.sector_basis()
        if basis is not None:
            return lowest_eigenvalue(self.hamiltonian, self.n_qubits, basis=basis)
        n = self.n_orbitals
        na = self.map(_number(n, (0,))) - self.n_alpha
        nb = self.map(_number(n, (1,))) - self.n_beta
        mu = 2.0 * sum(abs(c) for c, _ in self.hamiltonian.terms) + 1.0
        h = self.hamiltonian + mu * (na @ na + nb @ nb)
        return lowest_eigenvalue(h.simplify(1e-12), self.n_qubits)

    def error_vs(self, energy: float, reference: str = "casci") -> float:
        """``energy - references[reference]`` in hartree.

        Examples:
            >>> from qtandem.chem import Molecule
            >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(references=["hf", "casci"])
            >>> p.error_vs(p.references["hf"]) > 0
            True
        """
        ref = self.references.get(reference)
        if ref is None:
            raise ChemistryError(f"reference {reference!r} is not available for this problem "
                                 f"(have: {', '.join(k for k, v in self.references.items() if v is not None)})")
        return float(energy - ref)


def _diagonal_element(masks: dict[tuple[int, int], complex], state: int) -> float:
    """``<state| sum c X^x Z^z |state>``: only ``x = 0`` terms contribute."""
    return float(sum((c * (-1) ** (z & state).bit_count()).real for (x, z), c in masks.items() if x == 0))


def _number(n_orb: int, spins: Sequence[int]) -> FermionOperator:
    return FermionOperator({((2 * p + s, 1), (2 * p + s, 0)): 1.0 for p in range(n_orb) for s in spins})


def fermion_hamiltonian(core: float, h1: np.ndarray, eri: np.ndarray, cutoff: float = _CUTOFF) -> FermionOperator:
    """The spin-orbital Hamiltonian from spatial integrals (chemists' ``(pq|rs)``), interleaved spins.

    Examples:
        >>> h = fermion_hamiltonian(0.5, np.eye(1), np.zeros((1, 1, 1, 1)))
        >>> sorted(h.terms.items())
        [((), (0.5+0j)), (((0, 1), (0, 0)), (1+0j)), (((1, 1), (1, 0)), (1+0j))]
    """
    n = h1.shape[0]
    terms: dict[tuple[tuple[int, int], ...], complex] = {(): complex(core)}
    for p in range(n):
        for q in range(n):
            if abs(h1[p, q]) > cutoff:
                for s in (0, 1):
                    terms[((2 * p + s, 1), (2 * q + s, 0))] = complex(h1[p, q])
    idx = np.argwhere(np.abs(eri) > cutoff)
    for p, q, r, s in idx:
        v = 0.5 * float(eri[p, q, r, s])
        for a in (0, 1):
            for b in (0, 1):
                i, j, k, m = 2 * p + a, 2 * r + b, 2 * s + b, 2 * q + a
                if i == j or k == m:
                    continue
                key = ((int(i), 1), (int(j), 1), (int(k), 0), (int(m), 0))
                terms[key] = terms.get(key, 0j) + v
    return FermionOperator(terms)


def _natural_orbitals(mf: Any, kind: str) -> np.ndarray:
    from pyscf import cc, mp
    if kind == "mp2":
        solver = mp.MP2(mf).run()
    elif kind == "ccsd":
        solver = cc.CCSD(mf).run()
    else:
        raise ChemistryError(f"natural_orbitals must be False, True, 'mp2' or 'ccsd', got {kind!r}")
    dm = solver.make_rdm1()
    if isinstance(dm, tuple | list):
        dm = dm[0] + dm[1]
    occ, u = np.linalg.eigh(dm)
    order = np.argsort(-occ, kind="stable")
    coeff: np.ndarray = mf.mo_coeff @ u[:, order]
    for k in range(coeff.shape[1]):  # deterministic signs: the largest AO coefficient positive
        if coeff[np.argmax(np.abs(coeff[:, k])), k] < 0:
            coeff[:, k] *= -1
    return coeff


def _select(mol: Molecule, nmo: int, active: tuple[int, int] | None, frozen_core: bool | int | None,
            orbitals: Sequence[int] | None) -> tuple[list[int], list[int]]:
    """(core orbital indices, active orbital indices) in the orbital basis."""
    n_el, na, nb = mol.n_electrons, mol.n_alpha, mol.n_beta
    if frozen_core is True:
        n_frozen: int | None = mol.n_core_orbitals
    elif frozen_core is False or frozen_core is None:
        n_frozen = None
    else:
        n_frozen = int(frozen_core)
        if n_frozen < 0 or n_frozen > nb:
            raise ChemistryError(f"frozen_core={frozen_core}: only {nb} orbitals are doubly occupied")
    if orbitals is not None:
        act = [int(i) for i in orbitals]
        if len(set(act)) != len(act) or any(i < 0 or i >= nmo for i in act):
            raise ChemistryError(f"orbitals={list(orbitals)} must be distinct indices in 0..{nmo - 1}")
        act = sorted(act)
        core = [i for i in range(nb) if i not in act]
        missing = [i for i in range(nb, na) if i not in act]
        if missing:
            raise ChemistryError(f"the singly occupied orbitals {missing} must be in the active orbitals")
        if active is not None and (active[1] != len(act) or active[0] != n_el - 2 * len(core)):
            raise ChemistryError(f"active={active} disagrees with orbitals={act} ({n_el - 2 * len(core)} electrons "
                                 f"in {len(act)} orbitals)")
        if n_frozen is not None and n_frozen != len(core):
            raise ChemistryError(f"frozen_core={frozen_core} disagrees with orbitals={act} (core of {len(core)})")
        return core, act
    if active is None:
        ncore = n_frozen or 0
        return list(range(ncore)), list(range(ncore, nmo))
    try:
        a_el, a_orb = (int(v) for v in active)
    except (TypeError, ValueError):
        raise ChemistryError(f"active must be (n_electrons, n_orbitals), got {active!r}") from None
    if a_el < 0 or a_el > n_el or (n_el - a_el) % 2:
        raise ChemistryError(f"active space {active}: {a_el} active electrons out of {n_el} (the rest must fill "
                             f"whole core orbitals, so the difference must be even)")
    ncore = (n_el - a_el) // 2
    if ncore > nb:
        raise ChemistryError(f"active space {active} would freeze {ncore} orbitals but only {nb} are doubly occupied")
    if a_orb <= 0 or ncore + a_orb > nmo:
        raise ChemistryError(f"active space {active}: {a_orb} orbitals above {ncore} core orbitals exceeds the "
                             f"{nmo} orbitals of the basis")
    if na - ncore > a_orb:
        raise ChemistryError(f"active space {active}: {na - ncore} alpha electrons do not fit in {a_orb} orbitals")
    if n_frozen is not None and n_frozen != ncore:
        raise ChemistryError(f"frozen_core={frozen_core} ({n_frozen} orbitals) disagrees with active={active} "
                             f"({ncore} core orbitals)")
    return list(range(ncore)), list(range(ncore, ncore + a_orb))


def _references(mf: Any, mo: np.ndarray, core: list[int], act: list[int], nelecas: tuple[int, int],
                which: Sequence[str], cas: Any) -> dict[str, float | None]:
    from pyscf import cc, fci, mp
    refs: dict[str, float | None] = dict.fromkeys(REFERENCE_KEYS)
    refs["hf"] = float(mf.e_tot)
    nmo = mo.shape[1]
    mol = mf.mol
    ncore, ncas = len(core), len(act)
    frozen = [i for i in range(nmo) if i < ncore or i >= ncore + ncas] or None
    if "mp2" in which:
        refs["mp2"] = float(mp.MP2(mf, frozen=frozen).run().e_tot)
    if "ccsd" in which or "ccsd_t" in which:
        mycc = cc.CCSD(mf, frozen=frozen)
        mycc.conv_tol = 1e-9
        mycc.run()
        if mycc.converged:
            refs["ccsd"] = float(mycc.e_tot)
            if "ccsd_t" in which:
                refs["ccsd_t"] = float(mycc.e_tot + mycc.ccsd_t())
    if "casci" in which and math.comb(ncas, nelecas[0]) * math.comb(ncas, nelecas[1]) <= MAX_CASCI_DETERMINANTS:
        refs["casci"] = float(cas.kernel(mo)[0])
    if "fci" in which and math.comb(nmo, mol.nelec[0]) * math.comb(nmo, mol.nelec[1]) <= MAX_FCI_DETERMINANTS:
        solver = fci.FCI(mf)
        solver.conv_tol = 1e-10
        refs["fci"] = float(solver.kernel()[0])
    return refs


def build_problem(molecule: Molecule, active: tuple[int, int] | None = None, mapping: str = "jordan_wigner", *,
                  frozen_core: bool | int | None = None, orbitals: Sequence[int] | None = None,
                  natural_orbitals: bool | str = False, references: str | Sequence[str] = "auto",
                  taper: bool = False) -> ChemProblem:
    """Build the :class:`ChemProblem` of ``molecule``.

    Args:
        molecule: the molecule (its cached RHF/ROHF is used; every PySCF step runs with its
            :attr:`~qtandem.chem.molecule.Molecule.threads`, one by default, so builds are bit-reproducible).
        active: ``(n_electrons, n_orbitals)`` around the Fermi level; ``None`` keeps every
            orbital above the frozen core.
        mapping: one of :data:`MAPPINGS`.
        frozen_core: ``True`` freezes the chemical core (1s for Li-Ne...), an integer
            that many lowest orbitals; must agree with ``active``/``orbitals`` when both are given.
        orbitals: explicit active spatial-orbital indices (energy order, or occupation
            order with ``natural_orbitals``); the doubly occupied orbitals left out become the core.
        natural_orbitals: ``"mp2"`` (or ``True``) or ``"ccsd"``: pick the active space among
            the natural orbitals of that method's one-particle density, by occupation.
        references: ``"auto"`` (every reference the size rules allow), ``"none"``
            (``hf`` only) or a list of keys from :data:`REFERENCE_KEYS`.
        taper: taper the Z-string Z2 symmetries (sector of the HF state) after the mapping.

    Raises:
        ChemistryError: an impossible active space, an unknown mapping or reference,
            PySCF missing, or a basis PySCF does not know.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(taper=True, references="none")
        >>> p.n_qubits, round(float(p.hamiltonian.to_matrix()[p.hf_state, p.hf_state].real), 6)
        (1, -1.116999)
    """
    if mapping not in MAPPINGS:
        raise ChemistryError(f"unknown mapping {mapping!r}; choose one of {', '.join(MAPPINGS)}")
    if isinstance(references, str):
        if references not in ("auto", "none"):
            raise ChemistryError(f"references must be 'auto', 'none' or a list of {REFERENCE_KEYS}, "
                                 f"got {references!r}")
        which: tuple[str, ...] = REFERENCE_KEYS if references == "auto" else ("hf",)
    else:
        which = tuple(references)
        bad = [r for r in which if r not in REFERENCE_KEYS]
        if bad:
            raise ChemistryError(f"unknown references {bad}; choose among {REFERENCE_KEYS}")
    from qtandem.chem.molecule import require_pyscf

    require_pyscf()
    with molecule.pyscf_threads():
        return _build(molecule, active, mapping, frozen_core, orbitals, natural_orbitals, which, taper)


def _build(molecule: Molecule, active: tuple[int, int] | None, mapping: str, frozen_core: bool | int | None,
           orbitals: Sequence[int] | None, natural_orbitals: bool | str, which: tuple[str, ...],
           taper: bool) -> ChemProblem:
    from pyscf import ao2mo, mcscf

    mf = molecule.scf()
    if natural_orbitals:
        mo = _natural_orbitals(mf, "mp2" if natural_orbitals is True else str(natural_orbitals))
    else:
        mo = np.asarray(mf.mo_coeff)
    nmo = mo.shape[1]
    core, act = _select(molecule, nmo, active, frozen_core, orbitals)
    rest = [i for i in range(nmo) if i not in core and i not in act]
    mo = mo[:, core + act + rest]
    ncore, ncas = len(core), len(act)
    na, nb = molecule.n_alpha - ncore, molecule.n_beta - ncore
    cas = mcscf.CASCI(mf, ncas, (na, nb))
    cas.verbose = 0
    h1, ecore = cas.get_h1eff(mo)
    eri = ao2mo.restore(1, cas.get_h2eff(mo), ncas)
    h1 = np.asarray(h1, dtype=np.float64)
    eri = np.asarray(eri, dtype=np.float64)
    refs = _references(mf, mo, core, act, (na, nb), which, cas)
    return assemble_problem(molecule, float(ecore), h1, eri, mo[:, ncore:ncore + ncas].copy(), na, nb, mapping,
                            taper=taper, references=refs, n_core=ncore)


def assemble_problem(molecule: Molecule, core_energy: float, one_body: np.ndarray, two_body: np.ndarray,
                     orbital_coefficients: np.ndarray, n_alpha: int, n_beta: int, mapping: str, *,
                     taper: bool = False, references: dict[str, float | None] | None = None,
                     n_core: int = 0) -> ChemProblem:
    """A :class:`ChemProblem` from active-space integrals (no PySCF call): fermion operator, mapping, HF state.

    Examples:
        >>> from qtandem.chem import Molecule
        >>> h1 = np.diag([-1.0, 0.5]); eri = np.zeros((2, 2, 2, 2))
        >>> p = assemble_problem(Molecule("H 0 0 0; H 0 0 0.7"), 0.0, h1, eri, np.eye(2), 1, 1, "jordan_wigner")
        >>> p.hf_state, float(p.hamiltonian.to_matrix()[3, 3].real)
        (3, -2.0)
    """
    if mapping not in MAPPINGS:
        raise ChemistryError(f"unknown mapping {mapping!r}; choose one of {', '.join(MAPPINGS)}")
    na, nb = n_alpha, n_beta
    ncas = one_body.shape[0]
    fop = fermion_hamiltonian(core_energy, one_body, two_body)
    n_modes = 2 * ncas
    occupation = sum(1 << (2 * p) for p in range(na)) + sum(1 << (2 * p + 1) for p in range(nb))
    if mapping == "parity_2q":
        if n_modes < 4:
            raise ChemistryError("the two-qubit reduction needs at least 2 active orbitals")
        masks = reduce_two_qubits(LinearEncoding(_block_parity_matrix(n_modes)).map_masks(fop), n_modes, na, nb)
        hf = _drop_bits(LinearEncoding(_block_parity_matrix(n_modes)).encode(occupation), (ncas - 1, n_modes - 1))
        n_qubits = n_modes - 2
    else:
        enc = LinearEncoding.of(mapping, n_modes)
        masks = enc.map_masks(fop)
        hf = enc.encode(occupation)
        n_qubits = n_modes
    tapering = None
    if taper:
        masks = pauli_to_masks(masks_to_pauli(masks))
        e_hf = _diagonal_element(masks, hf)
        tapering = Tapering(z2_symmetries(masks, n_qubits), n_qubits, hf)
        masks = tapering.apply_masks(masks)
        hf = tapering.reduce_state(hf)
        n_qubits = tapering.n_tapered
        if abs(_diagonal_element(masks, hf) - e_hf) > 1e-8:  # the sector must hold the HF determinant
            raise ChemistryError(f"tapering check failed: the HF energy moved from {e_hf} to "
                                 f"{_diagonal_element(masks, hf)} (please report this)")
    hamiltonian = masks_to_pauli(masks)
    circuit = Circuit(n_qubits)
    for q in range(n_qubits):
        if hf >> q & 1:
            circuit.x(q)
    refs = dict.fromkeys(REFERENCE_KEYS) if references is None else dict(references)
    return ChemProblem(
        hamiltonian=hamiltonian, n_qubits=n_qubits, n_electrons=na + nb, n_orbitals=ncas, n_alpha=na, n_beta=nb,
        mapping=mapping, hf_state=hf, hf_circuit=circuit, references=refs, fermion_hamiltonian=fop,
        geometry=molecule.geometry, basis=molecule.basis, orbital_coefficients=orbital_coefficients,
        core_energy=float(core_energy), one_body=one_body, two_body=two_body, n_core=n_core, tapering=tapering,
        molecule=molecule)
