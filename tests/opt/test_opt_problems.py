"""Problem builders: the penalised QUBO minimum is feasible and equals the true optimum (brute force)."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from qtandem.errors import ConfigError
from qtandem.opt import Problem, cvrp, maxcut, mis, portfolio, portfolio_from_returns, tsp
from qtandem.opt.qubo import bits_of


def _argmin_bits(problem: Problem) -> tuple[np.ndarray, float]:
    diag = problem.qubo.diagonal()
    return bits_of([int(np.argmin(diag))], problem.n_variables)[0], float(diag.min())


def _points(n: int, seed: int) -> np.ndarray:
    p = np.random.default_rng(seed).uniform(0, 10, size=(n, 2))
    return np.round(np.linalg.norm(p[:, None] - p[None], axis=-1), 3)


def _best_tour(d: np.ndarray) -> float:
    n = d.shape[0]
    return min(sum(d[t[i], t[(i + 1) % n]] for i in range(n)) for t in
               ([0, *perm] for perm in itertools.permutations(range(1, n))))


@pytest.mark.parametrize(("n", "seed", "fix_start"), [(4, 0, True), (4, 1, False), (5, 2, True), (5, 3, True)])
def test_tsp_qubo_minimum_is_the_optimal_tour(n: int, seed: int, fix_start: bool) -> None:
    d = _points(n, seed)
    if not fix_start:  # also an asymmetric instance
        d = d + np.triu(np.random.default_rng(seed).uniform(0, 3, size=(n, n)), 1)
    p = tsp(d, fix_start=fix_start)
    assert p.n_variables == ((n - 1) ** 2 if fix_start else n * n)
    x, e = _argmin_bits(p)
    assert p.is_feasible(x)
    assert p.value(x) == pytest.approx(_best_tour(d))
    assert e == pytest.approx(p.value(x))  # penalties vanish on a feasible tour
    tour = p.decode(x)
    assert sorted(tour) == list(range(n)) and np.array_equal(p.encode(tour), x)
    bad = np.zeros(p.n_variables, dtype=int)
    assert not p.is_feasible(bad) and math.isnan(p.value(bad)) and p.is_feasible(p.repair(bad))


def _best_cvrp(d: np.ndarray, dem: list[int], cap: int, k: int) -> float:
    customers = list(range(1, d.shape[0]))
    best = math.inf
    for assign in itertools.product(range(k), repeat=len(customers)):
        groups = [[c for c, a in zip(customers, assign, strict=True) if a == v] for v in range(k)]
        if any(sum(dem[c] for c in g) > cap for g in groups):
            continue
        total = 0.0
        for g in groups:
            total += min((sum(d[a, b] for a, b in zip([0, *o], [*o, 0], strict=True))
                          for o in itertools.permutations(g)), default=0.0)
        best = min(best, total)
    return best


@pytest.mark.parametrize(("dem", "cap"), [([0, 1, 1, 1], 2), ([0, 1, 2, 2], 3)])
def test_cvrp_qubo_minimum_is_the_optimal_routing(dem: list[int], cap: int) -> None:
    d = _points(4, seed=cap)
    p = cvrp(d, dem, capacity=cap, n_vehicles=2)
    assert p.n_variables == 16 + 2 * p.data["slack_bits"]
    assert p.data["slack_bits"] == (2 if cap == 3 else 0)
    x, _ = _argmin_bits(p)
    assert p.is_feasible(x)
    assert p.value(x) == pytest.approx(_best_cvrp(d, dem, cap, 2))
    routes = p.decode(x)
    assert sorted(c for r in routes for c in r) == [1, 2, 3]
    assert all(sum(dem[c] for c in r) <= cap for r in routes)
    assert p.is_feasible(p.repair(np.ones(p.n_variables, dtype=int)))


def test_mis_and_weighted_mis_match_brute_force() -> None:
    g = nx.gnp_random_graph(10, 0.35, seed=5)
    rng = np.random.default_rng(5)
    for weighted in (False, True):
        if weighted:
            for v in g.nodes:
                g.nodes[v]["weight"] = float(rng.uniform(0.5, 2.0))
        p = mis(g)
        x, _ = _argmin_bits(p)
        w = [g.nodes[v].get("weight", 1.0) for v in range(10)]
        best = max(sum(w[v] for v in s) for r in range(11) for s in itertools.combinations(range(10), r)
                   if not any(g.has_edge(a, b) for a, b in itertools.combinations(s, 2)))
        assert p.is_feasible(x) and p.value(x) == pytest.approx(best)
        assert p.is_feasible(p.repair(np.ones(10, dtype=int)))
    with pytest.raises(ConfigError, match="penalty"):
        mis(g, penalty=0.5)


def test_portfolio_matches_enumeration_over_subsets() -> None:
    rng = np.random.default_rng(8)
    r = rng.normal(0.01, 0.05, size=(60, 8)) + rng.normal(0, 0.02, size=(1, 8))
    p = portfolio_from_returns(r, budget=3, risk=2.0)
    mu, sigma = r.mean(0), np.cov(r, rowvar=False)
    best = min(2.0 * sigma[np.ix_(s, s)].sum() - mu[list(s)].sum() for s in itertools.combinations(range(8), 3))
    x, e = _argmin_bits(p)
    assert p.is_feasible(x) and p.value(x) == pytest.approx(best) and e == pytest.approx(best)
    assert int(p.repair(np.ones(8, dtype=int)).sum()) == 3
    assert p.constraints == [list(range(8))]
    with pytest.raises(ConfigError, match="budget"):
        portfolio(mu, sigma, budget=9)


def test_builders_reject_bad_input() -> None:
    with pytest.raises(ConfigError, match="square"):
        tsp([[0, 1, 2]])
    with pytest.raises(ConfigError, match="cannot serve"):
        cvrp(_points(4, 0), [0, 2, 2, 2], capacity=2, n_vehicles=2)
    with pytest.raises(ConfigError, match="integers"):
        cvrp(_points(4, 0), [0, 1.5, 1, 1], capacity=2, n_vehicles=2)
    with pytest.raises(ConfigError, match="undirected"):
        maxcut(nx.DiGraph([(0, 1)]))
    with pytest.raises(ConfigError, match="length 4"):
        maxcut(nx.cycle_graph(4)).value([1, 0])
