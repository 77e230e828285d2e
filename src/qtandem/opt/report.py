"""QAOA beside the classical solvers, as one table (``qtandem opt solve --compare classical``).

Examples:
    >>> shots_to_confidence(0.01)
    459
"""

from __future__ import annotations

import math
import time
from typing import Any

__all__ = ["compare", "shots_to_confidence"]


def shots_to_confidence(p_success: float, confidence: float = 0.99) -> int | None:
    """Shots needed to sample a success at least once with probability ``confidence``.

    ``ceil(log(1 - confidence) / log(1 - p_success))``; 1 when ``p_success >= confidence``'s need is met in
    one shot, ``None`` when ``p_success`` is 0.

    Examples:
        >>> shots_to_confidence(0.5), shots_to_confidence(1.0), shots_to_confidence(0.0)
        (7, 1, None)
    """
    if p_success <= 0.0:
        return None
    if p_success >= 1.0:
        return 1
    return max(1, math.ceil(math.log(1.0 - confidence) / math.log1p(-p_success)))


def compare(problem: Any, *, p: int = 2, init: str = "fixed", classical: tuple[str, ...] = ("auto",),
            seed: int = 0, max_evaluations: int | None = None, **qaoa_kw: Any) -> dict[str, Any]:
    """Run QAOA and the classical solvers on ``problem``; one row per solver.

    Row keys: ``solver``, ``value`` (the user's objective), ``ratio`` (QAOA: its approximation ratio;
    classical: value / optimum), ``p_opt``, ``p_feasible``, ``shots_99`` (shots to sample the optimum
    with 99% confidence), ``evaluations``, ``time_s``. ``optimum`` is the best classical value (proved
    optimal when the solver says so).

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> out = compare(maxcut(nx.random_regular_graph(3, 8, seed=0)), p=1, classical=("exact",),
        ...               max_evaluations=20)
        >>> [r["solver"] for r in out["rows"]], out["optimum"] >= out["rows"][1]["value"]
        (['exact', 'qaoa p=1 (fixed)'], True)
    """
    from qtandem.opt import qaoa, solve_classical

    rows: list[dict[str, Any]] = []
    best: float | None = None
    proved = False
    q = problem.qubo
    for method in classical:
        res = solve_classical(problem, method=method, seed=seed)
        value = float(res.value)
        rows.append({"solver": str(res.method), "value": value, "time_s": float(res.time_s),
                     "optimal": res.optimal, "p_opt": None, "p_feasible": None, "shots_99": None,
                     "evaluations": None})
        better = best is None or (value > best if q.sense == "max" else value < best)
        if better:
            best, proved = value, bool(res.optimal)
    t0 = time.perf_counter()
    res_q = qaoa(problem, p, init=init, seed=seed, max_evaluations=max_evaluations, **qaoa_kw)
    dt = time.perf_counter() - t0
    p_opt = float(res_q.p_optimal)
    rows.append({"solver": f"qaoa p={p} ({init})", "value": float(q.objective(res_q.energy)),
                 "ratio": float(res_q.approximation_ratio), "p_opt": p_opt,
                 "p_feasible": float(res_q.p_feasible), "shots_99": shots_to_confidence(p_opt),
                 "evaluations": int(res_q.n_evaluations), "time_s": dt, "optimal": None})
    for row in rows[:-1]:
        row["ratio"] = (row["value"] / best) if best not in (None, 0.0) else None
    return {"problem": problem.name, "n_variables": problem.n_variables, "optimum": best,
            "optimum_proved": proved, "rows": rows}
