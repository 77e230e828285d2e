"""Molecules: geometry parsing, PySCF mean field, and the door to qubit problems.

A :class:`Molecule` stores a validated geometry, basis, charge and spin and builds the
PySCF objects lazily (needs the ``chem`` extra, ``pip install 'qtandem[chem]'``).
:meth:`Molecule.problem` turns it into a :class:`~qtandem.chem.problem.ChemProblem`.

Examples:
    >>> from qtandem.chem import Molecule
    >>> h2 = Molecule("H 0 0 0; H 0 0 0.735")
    >>> h2.n_electrons, h2.symbols
    (2, ('H', 'H'))
    >>> round(float(h2.scf().e_tot), 6)
    -1.116999
"""

from __future__ import annotations

import contextlib
import math
import operator
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from qtandem.errors import ChemistryError

if TYPE_CHECKING:
    from qtandem.chem.problem import ChemProblem

__all__ = ["Atom", "Molecule", "parse_geometry", "require_pyscf"]

Atom = tuple[str, tuple[float, float, float]]
"""One atom: ``(symbol, (x, y, z))``."""

_SYMBOLS = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca",
    "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",
    "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe",
)
ATOMIC_NUMBER = {s: z + 1 for z, s in enumerate(_SYMBOLS)}
_CORE_SHELLS = ((2, 0), (10, 1), (18, 5), (36, 9), (54, 18))  # (up to Z, frozen-core spatial orbitals)


def require_pyscf() -> Any:
    """Import PySCF, or raise a :class:`ChemistryError` naming the ``chem`` extra.

    Examples:
        >>> require_pyscf().__name__
        'pyscf'
    """
    try:
        import pyscf
    except ImportError:  # pragma: no cover - the dev install has it
        raise ChemistryError("qtandem.chem needs PySCF: pip install 'qtandem[chem]'") from None
    return pyscf


def _symbol(text: str, piece: str) -> str:
    sym = text[:1].upper() + text[1:].lower()
    if sym not in ATOMIC_NUMBER:
        raise ChemistryError(f"unknown element {text!r} in geometry piece {piece!r}")
    return sym


def parse_geometry(geometry: str | Sequence[Any]) -> tuple[Atom, ...]:
    """Parse ``"Li 0 0 0; H 0 0 1.595"`` (``;`` or newlines) or ``[(symbol, (x, y, z)), ...]``.

    Raises:
        ChemistryError: naming the piece that cannot be read.

    Examples:
        >>> parse_geometry("li 0 0 0\\nH 0 0 1.5")
        (('Li', (0.0, 0.0, 0.0)), ('H', (0.0, 0.0, 1.5)))
        >>> parse_geometry([("H", (0, 0, 0)), ("H", 0, 0, 0.7)])[1]
        ('H', (0.0, 0.0, 0.7))
        >>> parse_geometry("H 0 0")
        Traceback (most recent call last):
        ...
        qtandem.errors.ChemistryError: cannot read geometry piece 'H 0 0'...
    """
    atoms: list[Atom] = []
    if isinstance(geometry, str):
        for piece in (p.strip() for p in re.split(r"[;\n]", geometry)):
            if not piece:
                continue
            parts = piece.replace(",", " ").split()
            try:
                if len(parts) != 4:
                    raise ValueError
                xyz = (float(parts[1]), float(parts[2]), float(parts[3]))
            except ValueError:
                raise ChemistryError(f"cannot read geometry piece {piece!r}: expected 'Symbol x y z' "
                                     f"(pieces separated by ';' or newlines)") from None
            atoms.append((_symbol(parts[0], piece), xyz))
    elif isinstance(geometry, Sequence):
        items: Sequence[Any] = geometry
        for item in items:
            try:
                sym, *rest = item
                coords = rest[0] if len(rest) == 1 else rest
                x, y, z = (float(v) for v in coords)
            except (TypeError, ValueError):
                raise ChemistryError(f"cannot read geometry item {item!r}: expected (symbol, (x, y, z))") from None
            if not isinstance(sym, str):
                raise ChemistryError(f"cannot read geometry item {item!r}: the symbol must be a string")
            atoms.append((_symbol(sym, str(item)), (x, y, z)))
    else:
        raise ChemistryError(f"geometry must be a string or a list of (symbol, (x, y, z)), "
                             f"got {type(geometry).__name__}")
    if not atoms:
        raise ChemistryError("the geometry has no atoms")
    for a in atoms:
        if not all(math.isfinite(v) for v in a[1]):
            raise ChemistryError(f"non-finite coordinate in atom {a}")
    return tuple(atoms)


class Molecule:
    """A molecule: geometry, basis, charge and spin, with a cached PySCF mean field.

    Args:
        geometry: ``"Li 0 0 0; H 0 0 1.595"`` or ``[(symbol, (x, y, z)), ...]``.
        basis: a PySCF basis name (``"sto-3g"``, ``"6-31g"``, ``"cc-pvdz"``...).
        charge: total charge.
        spin: ``2S = n_alpha - n_beta`` (PySCF's convention); ROHF when non-zero.
        unit: ``"angstrom"`` or ``"bohr"``.
        threads: OpenMP threads PySCF may use for this molecule's SCF, integrals, natural
            orbitals and references. The default ``1`` makes every build bit-reproducible:
            with more threads PySCF's parallel sums run in a different order from process to
            process, so the orbitals and the Hamiltonian's coefficients differ in the last bits
            between runs (measured: 5 distinct H4 Hamiltonians in 6 processes with 2 threads),
            enough to flip ADAPT's choice among tied operators. ``None`` leaves PySCF's own
            setting (all cores): faster for large bases and for the CCSD/FCI references, not
            reproducible bit for bit.

    Raises:
        ChemistryError: unreadable geometry, impossible spin for the electron count,
            unknown unit or thread count (the basis is checked when PySCF first builds the molecule).

    Examples:
        >>> Molecule("O 0 0 0; H 0 0 0.96", spin=0)
        Traceback (most recent call last):
        ...
        qtandem.errors.ChemistryError: 9 electrons cannot have spin 2S=0 ...
        >>> Molecule("O 0 0 0; H 0 0 0.96", spin=1).n_alpha
        5
    """

    def __init__(self, geometry: str | Sequence[Any], basis: str = "sto-3g", charge: int = 0, spin: int = 0, *,
                 unit: str = "angstrom", threads: int | None = 1) -> None:
        self.atoms = parse_geometry(geometry)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ChemistryError(f"threads must be a positive integer or None (PySCF's default), got {threads!r}")
        self.threads = threads
        if not isinstance(basis, str) or not basis.strip():
            raise ChemistryError(f"basis must be a basis-set name such as 'sto-3g', got {basis!r}")
        if unit.lower() not in ("angstrom", "bohr"):
            raise ChemistryError(f"unit must be 'angstrom' or 'bohr', got {unit!r}")
        self.basis = basis
        self.charge = operator.index(charge)
        self.spin = operator.index(spin)
        self.unit = unit.lower()
        n = self.n_electrons
        if n < 0:
            raise ChemistryError(f"charge {charge} leaves {n} electrons")
        if self.spin < 0 or self.spin > n or (n - self.spin) % 2:
            raise ChemistryError(f"{n} electrons cannot have spin 2S={self.spin} (2S = n_alpha - n_beta must have "
                                 f"the parity of the electron count and lie in 0..{n}); pass spin=1 for a doublet")
        self._cache: dict[str, Any] = {}

    @property
    def symbols(self) -> tuple[str, ...]:
        """Element symbols in geometry order.

        Examples:
            >>> Molecule("Li 0 0 0; H 0 0 1.6").symbols
            ('Li', 'H')
        """
        return tuple(s for s, _ in self.atoms)

    @property
    def geometry(self) -> tuple[Atom, ...]:
        """The parsed geometry ``((symbol, (x, y, z)), ...)`` in :attr:`unit`.

        Examples:
            >>> Molecule("H 0 0 0; H 0 0 0.7").geometry[1]
            ('H', (0.0, 0.0, 0.7))
        """
        return self.atoms

    @property
    def n_electrons(self) -> int:
        """Total electron count.

        Examples:
            >>> Molecule("Li 0 0 0; H 0 0 1.6", charge=1, spin=1).n_electrons
            3
        """
        return sum(ATOMIC_NUMBER[s] for s in self.symbols) - self.charge

    @property
    def n_alpha(self) -> int:
        """Alpha electrons ``(n + spin) / 2``.

        Examples:
            >>> Molecule("H 0 0 0", spin=1).n_alpha
            1
        """
        return (self.n_electrons + self.spin) // 2

    @property
    def n_beta(self) -> int:
        """Beta electrons ``(n - spin) / 2``.

        Examples:
            >>> Molecule("H 0 0 0", spin=1).n_beta
            0
        """
        return (self.n_electrons - self.spin) // 2

    @property
    def n_core_orbitals(self) -> int:
        """The chemical frozen core: spatial orbitals of the inner shells (1s for Li-Ne, 1s2s2p for Na-Ar...).

        Examples:
            >>> Molecule("Be 0 0 0; H 0 0 1.3; H 0 0 -1.3").n_core_orbitals
            1
        """
        total = 0
        for s in self.symbols:
            z = ATOMIC_NUMBER[s]
            total += next((k for zmax, k in _CORE_SHELLS if z <= zmax), 27)
        return total

    @contextlib.contextmanager
    def pyscf_threads(self) -> Iterator[None]:
        """Run the enclosed PySCF calls with :attr:`threads` OpenMP threads (no change when ``None``).

        Examples:
            >>> from pyscf import lib
            >>> with Molecule("H 0 0 0; H 0 0 0.74").pyscf_threads():
            ...     lib.num_threads()
            1
        """
        if self.threads is None:
            yield
            return
        require_pyscf()
        from pyscf import lib
        with lib.with_omp_threads(self.threads):
            yield

    def pyscf(self) -> Any:
        """The built ``pyscf.gto.Mole`` (cached).

        Raises:
            ChemistryError: PySCF missing or the basis unknown for an element.

        Examples:
            >>> Molecule("H 0 0 0; H 0 0 0.74").pyscf().nao
            2
        """
        if "mol" not in self._cache:
            require_pyscf()
            import warnings

            from pyscf import gto
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mol = gto.M(atom=[(s, xyz) for s, xyz in self.atoms], basis=self.basis, charge=self.charge,
                                spin=self.spin, unit=self.unit, verbose=0)
            except Exception as err:  # PySCF raises several types (BasisNotFoundError, KeyError, RuntimeError)
                raise ChemistryError(f"PySCF cannot build {self.formula} in basis {self.basis!r}: {err}".strip()
                                     + " (check the basis name and that it covers every element)") from None
            self._cache["mol"] = mol
        return self._cache["mol"]

    def scf(self) -> Any:
        """The converged mean field (cached): RHF for ``spin == 0``, ROHF otherwise.

        Raises:
            ChemistryError: the SCF does not converge (after a second-order retry).

        Examples:
            >>> Molecule("H 0 0 0", spin=1).scf().converged
            True
        """
        if "scf" not in self._cache:
            from pyscf import scf
            mol = self.pyscf()
            mf = scf.RHF(mol) if self.spin == 0 else scf.ROHF(mol)
            mf.conv_tol = 1e-10
            with self.pyscf_threads():
                mf.kernel()
                if not mf.converged:
                    mf = mf.newton()
                    mf.kernel()
            if not mf.converged:
                raise ChemistryError(f"the {'RHF' if self.spin == 0 else 'ROHF'} of {self.formula} did not converge")
            self._cache["scf"] = mf
        return self._cache["scf"]

    @property
    def formula(self) -> str:
        """A Hill-order formula such as ``'H2O'``.

        Examples:
            >>> Molecule("O 0 0 0; H 0 0 0.96; H 0 0.9 -0.3").formula
            'H2O'
        """
        counts: dict[str, int] = {}
        for s in self.symbols:
            counts[s] = counts.get(s, 0) + 1
        order = (["C", "H"] if "C" in counts else []) + sorted(k for k in counts if "C" not in counts or
                                                                k not in ("C", "H"))
        return "".join(s + (str(counts[s]) if counts[s] > 1 else "") for s in order)

    def problem(self, active: tuple[int, int] | None = None, mapping: str = "jordan_wigner", *,
                frozen_core: bool | int | None = None, orbitals: Sequence[int] | None = None,
                natural_orbitals: bool | str = False, references: str | Sequence[str] = "auto",
                taper: bool = False) -> ChemProblem:
        """The qubit problem of this molecule (see :func:`qtandem.chem.problem.build_problem`).

        Examples:
            >>> p = Molecule("H 0 0 0; H 0 0 0.735").problem(references=["fci"])
            >>> p.n_qubits, round(p.references["fci"], 6)
            (4, -1.137306)
        """
        from qtandem.chem.problem import build_problem
        return build_problem(self, active, mapping, frozen_core=frozen_core, orbitals=orbitals,
                             natural_orbitals=natural_orbitals, references=references, taper=taper)

    def with_geometry(self, geometry: str | Sequence[Any]) -> Molecule:
        """The same basis, charge, spin, unit and threads at another geometry.

        Examples:
            >>> Molecule("H 0 0 0; H 0 0 0.7").with_geometry("H 0 0 0; H 0 0 1.4").atoms[1][1][2]
            1.4
        """
        return Molecule(geometry, self.basis, self.charge, self.spin, unit=self.unit, threads=self.threads)

    def __repr__(self) -> str:
        geo = "; ".join(f"{s} {x:g} {y:g} {z:g}" for s, (x, y, z) in self.atoms)
        extra = "".join(f", {k}={v!r}" for k, v in (("charge", self.charge), ("spin", self.spin)) if v)
        unit = "" if self.unit == "angstrom" else f", unit={self.unit!r}"
        threads = "" if self.threads == 1 else f", threads={self.threads!r}"
        return f"Molecule({geo!r}, basis={self.basis!r}{extra}{unit}{threads})"
