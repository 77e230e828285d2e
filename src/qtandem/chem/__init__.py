"""Quantum chemistry: PySCF integrals to qubit Hamiltonians, VQE and adaptive ansatze, beside the classical references.

Needs the ``chem`` extra (``pip install 'qtandem[chem]'``, PySCF).
"""

from __future__ import annotations

__all__: list[str] = []
