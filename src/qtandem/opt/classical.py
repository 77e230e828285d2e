"""Classical solvers beside QAOA: exact enumeration, CP-SAT, OR-Tools routing, Goemans-Williamson, annealing.

:func:`solve_classical` takes a :class:`~qtandem.opt.problems.Problem` (or a bare
:class:`~qtandem.opt.qubo.QUBO`) and returns a :class:`ClassicalResult` in the user's units.

- ``"exact"``: enumeration of all ``2**n`` energies (``n <= 24``), vectorised: the low 20 bits by
  :meth:`QUBO.diagonal`'s doubling, one chunk per assignment of the high bits. ``optimal=True``.
- ``"mip"``: OR-Tools CP-SAT on the QUBO, coefficients scaled to integers, each product ``x_i x_j``
  a Boolean ``y_ij`` tied by ``y => x_i``, ``y => x_j``, ``x_i & x_j => y``. These are clauses, which
  CP-SAT's SAT core propagates natively and its LP relaxation reads as the McCormick inequalities;
  ``AddMultiplicationEquality`` would go through the generic integer-product propagator instead.
  ``optimal`` is CP-SAT's proof (up to the integer rounding, reported in ``info``); ``bound`` its bound.
- ``"routing"``: OR-Tools' routing solver on TSP/CVRP (integer-rounded distances, cheapest arc then
  local search; guided local search when ``time_limit`` is given). A heuristic: ``optimal=None``.
- ``"gw"``: Goemans-Williamson: the SDP relaxation of the Ising form (cvxpy + Clarabel; a spin
  ``z_0`` homogenises the fields, so it applies to any QUBO, MaxCut being the classic case) and
  ``rounds`` seeded random hyperplanes; ``bound`` is the SDP bound in the user's units.
- ``"anneal"``: simulated annealing, single-bit Metropolis sweeps vectorised over ``replicas``
  chains, geometric inverse-temperature schedule, seeded. A heuristic: ``optimal=None``.

An infeasible answer of a heuristic is passed through ``problem.repair`` (``repaired=True``).

Examples:
    >>> import networkx as nx
    >>> from qtandem.opt import maxcut, solve_classical
    >>> r = solve_classical(maxcut(nx.cycle_graph(6)), "exact")
    >>> r.value, r.optimal, r.solution.tolist()
    (6.0, True, [1, 0, 1, 0, 1, 0])
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.errors import OptimizationError
from qtandem.opt.problems import Problem
from qtandem.opt.qubo import QUBO, bits_of
from qtandem.random import as_generator

__all__ = ["METHODS", "ClassicalResult", "solve_classical"]

METHODS = ("auto", "exact", "mip", "routing", "gw", "anneal")
MAX_EXACT = 24
_CHUNK_BITS = 20


@dataclass(frozen=True)
class ClassicalResult:
    """What a classical solver found, in the user's units.

    Attributes:
        value: the user's objective of ``solution`` (cut weight, tour length...; the energy for a bare QUBO).
        solution: bit vector, ``int64`` array of shape ``(n,)``.
        energy: QUBO energy of ``solution`` (penalties included).
        time_s: wall-clock seconds of the solve.
        method: the method that ran (``"auto"`` resolved).
        optimal: ``True`` when proven optimal, ``False`` when proven not, ``None`` when unknown.
        bound: a proven bound on the optimal value in the user's units (upper for maximisation), or ``None``.
        repaired: whether the raw answer was infeasible and ``problem.repair`` fixed it.
        info: solver details (status, rounding error, rounds...).

    Examples:
        >>> from qtandem.opt import QUBO
        >>> r = solve_classical(QUBO(2, {0: 1.0, 1: -1.0}), "exact")
        >>> r.value, r.solution.tolist(), r.method
        (-1.0, [0, 1], 'exact')
    """

    value: float
    solution: np.ndarray
    energy: float
    time_s: float
    method: str
    optimal: bool | None
    bound: float | None = None
    repaired: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def _as_problem(problem: Problem | QUBO) -> Problem:
    if isinstance(problem, QUBO):
        return Problem("qubo", problem, sense=problem.sense)
    if not isinstance(problem, Problem):
        raise OptimizationError(f"solve_classical: expected a Problem or a QUBO, got {type(problem).__name__}")
    return problem


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise OptimizationError(f"{module} is not installed: pip install 'qtandem[opt]'") from err


def exact_minimum(qubo: QUBO) -> tuple[np.ndarray, float]:
    """The lowest-energy bit vector (lowest basis index among ties) and its energy, by enumeration.

    Raises:
        OptimizationError: more than 24 variables.

    Examples:
        >>> x, e = exact_minimum(QUBO(3, {0: 1.0, 2: -2.0}, {(1, 2): -1.0}))
        >>> x.tolist(), e
        ([0, 1, 1], -3.0)
    """
    n = qubo.n
    if n > MAX_EXACT:
        raise OptimizationError(f"exact enumeration handles at most {MAX_EXACT} variables, got {n}; "
                                "use method='mip' or 'anneal'")
    low = min(n, _CHUNK_BITS)
    best_e, best_idx = math.inf, 0
    for hi in range(2 ** (n - low)):
        fixed = {low + b: (hi >> b) & 1 for b in range(n - low)}
        diag = qubo.restrict(fixed).diagonal() if fixed else qubo.diagonal()
        k = int(np.argmin(diag))
        if diag[k] < best_e:
            best_e, best_idx = float(diag[k]), k + (hi << low)
    return bits_of([best_idx], n)[0].astype(np.int64), float(qubo.energy(bits_of([best_idx], n)[0]))


def _mip(qubo: QUBO, seed: int, time_limit: float | None) -> tuple[np.ndarray, bool | None, float | None, dict]:
    cp_model = _need("ortools.sat.python.cp_model")
    coefs = np.concatenate([qubo.linear, np.asarray(list(qubo.quadratic.values()), dtype=np.float64)])
    total = float(np.abs(coefs).sum()) or 1.0
    integral = bool(np.all(coefs == np.round(coefs))) and total < 2**40
    scale = 1.0 if integral else 1e12 / total
    lin = np.round(qubo.linear * scale).astype(np.int64)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(qubo.n)]
    terms = [(int(lin[i]), x[i]) for i in range(qubo.n) if lin[i]]
    rounding = float(np.abs(qubo.linear * scale - lin).sum())
    for (i, j), w in qubo.quadratic.items():
        c = round(w * scale)
        rounding += abs(w * scale - c)
        if not c:
            continue
        y = model.new_bool_var(f"y{i}_{j}")
        model.add_implication(y, x[i])
        model.add_implication(y, x[j])
        model.add_bool_or([~x[i], ~x[j], y])
        terms.append((int(c), y))
    model.minimize(sum(c * v for c, v in terms))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed)
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    status = solver.solve(model)
    name = solver.status_name(status)
    if name not in ("OPTIMAL", "FEASIBLE"):
        raise OptimizationError(f"CP-SAT found no solution (status {name}); give a larger time_limit")
    bits = np.array([int(solver.value(v)) for v in x], dtype=np.int64)
    err = rounding / scale  # |true - scaled energy| <= err for every x
    e = float(qubo.energy(bits))
    optimal: bool | None = name == "OPTIMAL"
    if optimal and 2 * err > 1e-6 * max(1.0, abs(e)):
        optimal = None
    bound = qubo.offset + solver.best_objective_bound / scale - err
    return bits, optimal, bound, {"status": name, "rounding_error": err, "scale": scale}


def _routing(problem: Problem, seed: int, time_limit: float | None) -> tuple[np.ndarray, dict]:
    pywrapcp = _need("ortools.constraint_solver.pywrapcp")
    enums = _need("ortools.constraint_solver.routing_enums_pb2")
    if problem.name not in ("tsp", "cvrp"):
        raise OptimizationError(f"method='routing' solves tsp and cvrp problems, not {problem.name!r}")
    d = problem.data["distances"]
    n = d.shape[0]
    k = problem.data.get("n_vehicles", 1)
    depot = problem.data.get("depot", 0)
    manager = pywrapcp.RoutingIndexManager(n, k, depot)
    routing = pywrapcp.RoutingModel(manager)
    dist = np.round(d * 1000).astype(np.int64)

    def cost(a: int, b: int) -> int:
        return int(dist[manager.IndexToNode(a), manager.IndexToNode(b)])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(cost))
    if problem.name == "cvrp":
        dem = problem.data["demands"]
        load = routing.RegisterUnaryTransitCallback(lambda a: int(dem[manager.IndexToNode(a)]))
        routing.AddDimensionWithVehicleCapacity(load, 0, [int(problem.data["capacity"])] * k, True, "load")
        count = routing.RegisterUnaryTransitCallback(lambda a: int(manager.IndexToNode(a) != depot))
        routing.AddDimensionWithVehicleCapacity(count, 0, [int(problem.data["slots"])] * k, True, "count")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = enums.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    if time_limit is not None:
        params.local_search_metaheuristic = enums.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        params.time_limit.FromMilliseconds(max(1, int(1000 * time_limit)))
    sol = routing.SolveWithParameters(params)
    if sol is None:
        raise OptimizationError("OR-Tools routing found no solution")
    routes = []
    for v in range(k):
        idx, route = routing.Start(v), []
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            if node != depot:
                route.append(node)
            idx = sol.Value(routing.NextVar(idx))
        routes.append(route)
    bits = problem.encode([depot, *routes[0]] if problem.name == "tsp" else routes)
    return bits, {"status": int(routing.status()), "objective_scaled": int(sol.ObjectiveValue())}


def _gw(qubo: QUBO, seed: int, rounds: int) -> tuple[np.ndarray, float, dict]:
    cp = _need("cvxpy")
    h, J, const = qubo.to_ising()
    n = qubo.n
    X = cp.Variable((n + 1, n + 1), PSD=True)  # index 0 is the homogenising spin z_0
    obj = sum(v * X[i + 1, j + 1] for (i, j), v in J.items()) + sum(
        float(h[i]) * X[0, i + 1] for i in range(n) if h[i])
    prob = cp.Problem(cp.Minimize(obj if not isinstance(obj, int) else cp.Constant(0.0)), [cp.diag(X) == 1])
    solver = "CLARABEL" if "CLARABEL" in cp.installed_solvers() else "SCS"
    prob.solve(solver=solver)
    if X.value is None:
        raise OptimizationError(f"the GW SDP did not solve (cvxpy status {prob.status})")
    w, v = np.linalg.eigh((X.value + X.value.T) / 2)
    vecs: np.ndarray = v * np.sqrt(np.clip(w, 0, None))
    r = as_generator(seed).standard_normal((n + 1, rounds))
    s = np.where(vecs @ r >= 0, 1, -1)  # (n + 1, rounds)
    z = s[1:] * s[0]
    bits = ((1 - z) // 2).T.astype(np.int64)  # (rounds, n)
    e = qubo.energy(bits)
    k = int(np.argmin(e))
    bound = const + float(prob.value)
    return bits[k], bound, {"sdp_status": prob.status, "solver": solver, "rounds": rounds,
                            "mean_round_energy": float(np.mean(e))}


def _anneal(qubo: QUBO, seed: int, sweeps: int, replicas: int,
            groups: list[list[int]] | None = None) -> tuple[np.ndarray, dict]:
    n = qubo.n
    rng = as_generator(seed)
    m = qubo.to_matrix()
    qs = m + m.T
    np.fill_diagonal(qs, 0.0)
    lin = qubo.linear
    if not np.any(lin) and not np.any(qs):
        return np.zeros(n, dtype=np.int64), {"sweeps": 0}
    groups = [g for g in (groups or []) if len(g) >= 2]
    x = rng.integers(0, 2, size=(replicas, n)).astype(np.int64)
    f = lin[None, :] + x @ qs  # local fields: E(x with bit i flipped) - E(x) = (1 - 2 x_i) f_i
    rows = np.arange(replicas)
    # schedule: the hot end accepts the largest single flip half the time; the cold end rejects a small move
    # (the 10th percentile of nonzero |dE| at the start: of the swaps when there are groups) 99 times in 100
    single = np.abs((1 - 2 * x) * f).ravel()
    pairs = [np.zeros(0)]
    for g in groups:
        i, j = rng.choice(g, size=(2, 16 * replicas))
        r = rng.integers(0, replicas, size=i.size)
        si, sj = 1 - 2 * x[r, i], 1 - 2 * x[r, j]
        pair = np.abs(si * f[r, i] + sj * f[r, j] + si * sj * qs[i, j])
        pairs.append(pair[(i != j) & (x[r, i] != x[r, j])])
    swaps = np.concatenate(pairs)
    de0 = swaps if swaps.size else single
    de0 = de0[de0 > 1e-12 * max(1.0, float(single.max()))]
    hot = float(single.max()) if single.size else 1.0
    cold = float(np.quantile(de0, 0.1)) if de0.size else 1.0
    beta = np.geomspace(math.log(2) / hot, math.log(100) / min(cold, hot), sweeps)
    best = x.copy()
    best_e = qubo.energy(x)
    for b in beta:
        u = rng.random((n, replicas))
        for i in rng.permutation(n):
            de = (1 - 2 * x[:, i]) * f[:, i]
            acc = (de <= 0) | (u[i] < np.exp(-b * np.clip(de, 0, None)))
            if acc.any():
                step = np.where(acc, 1 - 2 * x[:, i], 0)
                x[rows, i] ^= acc.astype(np.int64)
                f += step[:, None] * qs[i][None, :]
        for g in groups:  # swap moves: one bit on and one off in the same group (keeps its Hamming weight)
            ga = np.asarray(g)
            for _ in range(len(g)):
                xg = x[:, ga]
                key = rng.random((replicas, ga.size))
                i = ga[np.argmax(np.where(xg == 1, key, -1.0), axis=1)]
                j = ga[np.argmax(np.where(xg == 0, key, -1.0), axis=1)]
                ok = (x[rows, i] == 1) & (x[rows, j] == 0)
                si, sj = 1 - 2 * x[rows, i], 1 - 2 * x[rows, j]
                de = si * f[rows, i] + sj * f[rows, j] + si * sj * qs[i, j]
                acc = ok & ((de <= 0) | (rng.random(replicas) < np.exp(-b * np.clip(de, 0, None))))
                if acc.any():
                    a = np.flatnonzero(acc)
                    x[a, i[a]] ^= 1
                    x[a, j[a]] ^= 1
                    f[a] += si[a, None] * qs[i[a]] + sj[a, None] * qs[j[a]]
        e = qubo.energy(x)
        better = e < best_e
        best[better], best_e[better] = x[better], e[better]
    k = int(np.argmin(best_e))
    return best[k], {"sweeps": sweeps, "replicas": replicas, "swap_groups": len(groups),
                     "beta": [float(beta[0]), float(beta[-1])], "replica_energies": best_e.tolist()}


def solve_classical(problem: Problem | QUBO, method: str = "auto", *, seed: int = 0, time_limit: float | None = None,
                    rounds: int = 100, sweeps: int = 500, replicas: int = 16) -> ClassicalResult:
    """Solve ``problem`` with a classical method (see the module docstring for each one).

    Args:
        problem: a :class:`Problem` or a :class:`QUBO`.
        method: ``"auto"`` (exact up to 20 variables, routing for tsp/cvrp, else CP-SAT), ``"exact"``,
            ``"mip"``, ``"routing"``, ``"gw"``, ``"anneal"``.
        seed: seeds CP-SAT, the GW hyperplanes and the annealer.
        time_limit: seconds for CP-SAT and routing (``None``: CP-SAT runs to proof; routing stops at a
            local optimum). Deterministic budgets (``rounds``, ``sweeps``) are preferred elsewhere.
        rounds: GW hyperplanes.
        sweeps, replicas: annealing sweeps per chain and parallel chains.

    Returns:
        A :class:`ClassicalResult`.

    Raises:
        OptimizationError: unknown method, a method that does not apply, a missing backend (naming the
            ``opt`` extra), or a problem too large for ``"exact"``.

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> p = maxcut(nx.random_regular_graph(3, 10, seed=1))
        >>> exact = solve_classical(p, "exact")
        >>> sa = solve_classical(p, "anneal", seed=0, sweeps=100)
        >>> exact.value, sa.value <= exact.value
        (12.0, True)
    """
    p = _as_problem(problem)
    q = p.qubo
    if method not in METHODS:
        raise OptimizationError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "auto":
        method = "exact" if q.n <= 20 else "routing" if p.name in ("tsp", "cvrp") else "mip"
    t0 = time.perf_counter()
    optimal: bool | None = None
    bound: float | None = None
    info: dict[str, Any] = {}
    if method == "exact":
        bits, _ = exact_minimum(q)
        optimal = True
    elif method == "mip":
        bits, optimal, ebound, info = _mip(q, seed, time_limit)
        bound = None if ebound is None else float(q.objective(ebound))
    elif method == "routing":
        bits, info = _routing(p, seed, time_limit)
    elif method == "gw":
        bits, ebound, info = _gw(q, seed, rounds)
        bound = float(q.objective(ebound))
    else:
        bits, info = _anneal(q, seed, sweeps, replicas, p.constraints)
    elapsed = time.perf_counter() - t0
    repaired = False
    if not p.is_feasible(bits):
        bits, repaired = p.repair(bits), True
    e = float(q.energy(bits))
    if bound is not None and optimal is None:
        value = p.value(bits)
        if abs(value - bound) <= 1e-6 * max(1.0, abs(bound)):
            optimal = True
    return ClassicalResult(value=p.value(bits), solution=np.asarray(bits, dtype=np.int64), energy=e, time_s=elapsed,
                           method=method, optimal=optimal, bound=bound, repaired=repaired, info=info)
