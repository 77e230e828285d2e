"""Quantum chemistry: PySCF integrals to qubit Hamiltonians, VQE and adaptive ansatze, beside the classical references.

Needs the ``chem`` extra (``pip install 'qtandem[chem]'``, PySCF).

Examples:
    >>> from qtandem.chem import Molecule, jordan_wigner, single_excitation
    >>> jordan_wigner(single_excitation(0, 0))
    PauliSum('0.5 - 0.5*Z0')
"""

from __future__ import annotations

from qtandem.chem.adapt import adapt_vqe, pool
from qtandem.chem.adapt_learned import OperatorRanker
from qtandem.chem.align import align
from qtandem.chem.ansatz import Ansatz, Operator, ansatz
from qtandem.chem.curve import CurvePoint, CurveResult, curve
from qtandem.chem.fermion import FermionOperator, anti_hermitian, double_excitation, single_excitation
from qtandem.chem.mapping import Tapering, bravyi_kitaev, jordan_wigner, parity, taper
from qtandem.chem.molecule import Molecule
from qtandem.chem.noisy import device_energy
from qtandem.chem.problem import ChemProblem
from qtandem.chem.vqe import VQEResult, vqe
from qtandem.chem.warmstart import WarmStartModel, two_level_parameters

__all__: list[str] = [
    "Ansatz",
    "ChemProblem",
    "CurvePoint",
    "CurveResult",
    "FermionOperator",
    "Molecule",
    "Operator",
    "OperatorRanker",
    "Tapering",
    "VQEResult",
    "WarmStartModel",
    "adapt_vqe",
    "align",
    "ansatz",
    "anti_hermitian",
    "bravyi_kitaev",
    "curve",
    "device_energy",
    "double_excitation",
    "jordan_wigner",
    "parity",
    "pool",
    "single_excitation",
    "taper",
    "two_level_parameters",
    "vqe",
]
