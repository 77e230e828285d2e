"""Classical solvers against enumeration, and each other's guarantees (bounds, seeds)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from qtandem.errors import OptimizationError
from qtandem.opt import QUBO, cvrp, maxcut, portfolio_from_returns, solve_classical, tsp
from qtandem.opt import classical as cl

pytest.importorskip("ortools")


def _weighted_graph(n: int, seed: int) -> nx.Graph:
    g = nx.gnp_random_graph(n, 0.4, seed=seed)
    rng = np.random.default_rng(seed)
    for u, v in g.edges:
        g[u][v]["weight"] = float(rng.uniform(0.2, 1.0))
    return g


def _dist(n: int, seed: int) -> np.ndarray:
    p = np.random.default_rng(seed).uniform(0, 10, size=(n, 2))
    return np.linalg.norm(p[:, None] - p[None], axis=-1)


def test_chunked_enumeration_equals_the_full_diagonal(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    q = QUBO.from_matrix(rng.normal(size=(9, 9)), offset=0.3)
    monkeypatch.setattr(cl, "_CHUNK_BITS", 4)  # 32 chunks of 16 states
    x, e = cl.exact_minimum(q)
    diag = q.diagonal()
    assert e == pytest.approx(diag.min()) and int(x @ (1 << np.arange(9))) == int(np.argmin(diag))
    with pytest.raises(OptimizationError, match="at most 24"):
        cl.exact_minimum(QUBO(25))


@pytest.mark.parametrize("seed", [0, 1])
def test_cp_sat_proves_the_enumerated_optimum_on_float_qubos(seed: int) -> None:
    q = QUBO.from_matrix(np.random.default_rng(seed).normal(size=(12, 12)))
    exact = solve_classical(q, "exact")
    mip = solve_classical(q, "mip", seed=seed)
    assert mip.optimal is True and mip.energy == pytest.approx(exact.energy, abs=1e-9)
    assert mip.bound <= exact.value + 1e-9


def test_maxcut_gw_bound_rounding_and_seed() -> None:
    g = _weighted_graph(12, 3)
    p = maxcut(g)
    best = solve_classical(p, "exact").value
    a = solve_classical(p, "gw", seed=5, rounds=50)
    b = solve_classical(p, "gw", seed=5, rounds=50)
    assert np.array_equal(a.solution, b.solution)
    assert a.bound >= best - 1e-6  # the SDP value bounds the cut from above
    assert 0.878 * a.bound <= a.value <= best + 1e-9
    assert solve_classical(p, "mip").value == pytest.approx(best)


def test_anneal_finds_the_optimum_and_is_reproducible() -> None:
    p = maxcut(_weighted_graph(16, 7))
    best = solve_classical(p, "exact").value
    r1 = solve_classical(p, "anneal", seed=2, sweeps=200)
    r2 = solve_classical(p, "anneal", seed=2, sweeps=200)
    assert r1.value == pytest.approx(best) and np.array_equal(r1.solution, r2.solution)


def test_anneal_swap_moves_cross_the_budget_penalty() -> None:
    # objective differences ~1e-4 under a budget penalty ~0.1: single flips alone stall; swaps keep the budget
    rng = np.random.default_rng(1)
    r = rng.normal(0.005, 0.03, size=(60, 1)) * rng.uniform(0.5, 1.5, size=(1, 16)) + rng.normal(0.002, 0.02, (60, 16))
    port = portfolio_from_returns(r, budget=6)
    res = solve_classical(port, "anneal", seed=0, sweeps=150)
    assert res.info["swap_groups"] == 1 and not res.repaired
    assert port.is_feasible(res.solution) and res.value == pytest.approx(solve_classical(port, "exact").value)


def test_routing_matches_enumeration_on_tsp_and_cvrp() -> None:
    d = _dist(5, 4)
    t = tsp(d)
    assert solve_classical(t, "routing").value == pytest.approx(solve_classical(t, "exact").value, abs=1e-2)
    c = cvrp(d[:4, :4], [0, 1, 2, 2], capacity=3, n_vehicles=2)
    r = solve_classical(c, "routing")
    assert c.is_feasible(r.solution)
    assert r.value == pytest.approx(solve_classical(c, "exact").value, abs=1e-2)


def test_method_errors_name_the_problem() -> None:
    p = maxcut(nx.cycle_graph(4))
    with pytest.raises(OptimizationError, match="unknown method"):
        solve_classical(p, "quantum")
    with pytest.raises(OptimizationError, match="tsp and cvrp"):
        solve_classical(p, "routing")
    assert solve_classical(p).method == "exact"
