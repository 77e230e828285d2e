"""Optimisation problems (MaxCut, routing, portfolios, independent sets), QAOA and the classical solvers beside it.

The classical solvers need the ``opt`` extra (``pip install 'qtandem[opt]'``: OR-Tools, cvxpy).

Examples:
    >>> import networkx as nx
    >>> from qtandem.opt import maxcut
    >>> maxcut(nx.cycle_graph(4)).qubo
    QUBO(n=4, linear=4, quadratic=4, offset=0, sense='max')
"""

from __future__ import annotations

from qtandem.opt.angles import fixed_angles, predict_angles
from qtandem.opt.classical import ClassicalResult, solve_classical
from qtandem.opt.io import load_problem
from qtandem.opt.problems import Problem, cvrp, maxcut, mis, portfolio, portfolio_from_returns, tsp
from qtandem.opt.qaoa import QAOAResult, qaoa, qaoa_expectation
from qtandem.opt.qubo import QUBO, Expression, binary

__all__ = [
    "QUBO", "ClassicalResult", "Expression", "Problem", "QAOAResult", "binary", "cvrp", "fixed_angles", "load_problem",
    "maxcut", "mis", "portfolio", "portfolio_from_returns", "predict_angles", "qaoa", "qaoa_expectation",
    "solve_classical", "tsp",
]
