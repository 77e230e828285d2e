"""Shared, session-cached small chemistry problems (H2, LiH CAS(2,5) at equilibrium and stretched).

Other chemistry tests (solvers, curves) reuse these fixtures so PySCF runs once per session.
Each problem is Jordan-Wigner with every reference computed (``references="auto"``).
"""

from __future__ import annotations

import pytest

pytest.importorskip("pyscf")

from qtandem.chem import ChemProblem, Molecule

H2_GEOMETRY = "H 0 0 0; H 0 0 0.735"
LIH_GEOMETRY = "Li 0 0 0; H 0 0 1.595"
LIH_STRETCHED_GEOMETRY = "Li 0 0 0; H 0 0 3.0"


@pytest.fixture(scope="session")
def h2_problem() -> ChemProblem:
    """H2 / STO-3G at 0.735 A: 4 qubits, 2 electrons (JW)."""
    return Molecule(H2_GEOMETRY).problem()


@pytest.fixture(scope="session")
def lih_problem() -> ChemProblem:
    """LiH / STO-3G at 1.595 A, CAS(2, 5): 10 qubits (JW)."""
    return Molecule(LIH_GEOMETRY).problem((2, 5))


@pytest.fixture(scope="session")
def lih_stretched_problem() -> ChemProblem:
    """LiH / STO-3G at 3.0 A, CAS(2, 5): 10 qubits (JW), strongly correlated."""
    return Molecule(LIH_STRETCHED_GEOMETRY).problem((2, 5))
