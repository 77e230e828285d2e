"""Optimisation problems (MaxCut, routing, portfolios, independent sets), QAOA and the classical solvers beside it.

The classical solvers need the ``opt`` extra (``pip install 'qtandem[opt]'``: OR-Tools, cvxpy).
"""

from __future__ import annotations

__all__: list[str] = []
