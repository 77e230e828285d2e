"""QAOA beside the classical solvers, as one table (``qtandem opt solve --compare classical``).

Examples:
    >>> shots_to_confidence(0.01)
    459
"""

from __future__ import annotations

import math
import time
from typing import Any

__all__ = ["best_of_samples", "compare", "shots_to_confidence"]


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


def best_of_samples(problem: Any, samples: Any) -> tuple[float, Any]:
    """The best feasible sample's value in the user's sense (largest cut, shortest tour...) and the sample.

    Returns ``(nan, None)`` when no sample is feasible. This is what a user running QAOA gets from ``N``
    shots, to set beside a classical solver's value.

    Examples:
        >>> import networkx as nx, numpy as np
        >>> from qtandem.opt import maxcut
        >>> best_of_samples(maxcut(nx.path_graph(3)), np.array([[0, 0, 0], [0, 1, 0], [1, 1, 0]]))
        (2.0, [0, 1, 0])
    """
    import numpy as np

    best, arg = math.nan, None
    sense_max = problem.qubo.sense == "max"
    for x in np.asarray(samples):
        if not problem.is_feasible(x):
            continue
        v = float(problem.value(x))
        if arg is None or (v > best if sense_max else v < best):
            best, arg = v, [int(b) for b in x]
    return best, arg


def compare(problem: Any, *, p: int = 2, init: str = "fixed", classical: tuple[str, ...] = ("auto",),
            seed: int = 0, max_evaluations: int | None = None, shots: int = 1000,
            **qaoa_kw: Any) -> dict[str, Any]:
    """Run QAOA and the classical solvers on ``problem``; one row per solver, compared like with like.

    Row keys: ``solver``, ``value`` (the user's objective: a classical solver's answer; for QAOA the best
    feasible sample among ``shots`` draws from the optimised state, seeded by ``seed``, NaN if none is
    feasible), ``ratio`` (``value / optimum``), ``feasible`` (the value's solution is feasible),
    ``expected`` (QAOA: the expected objective ``<C>`` of the state, penalties included, in the user's
    sense), ``approximation_ratio`` (QAOA: of ``<C>`` over all basis states), ``p_opt``, ``p_feasible``,
    ``shots_99`` (shots to sample the optimum with 99% confidence), ``shots``, ``evaluations``,
    ``time_s``. ``optimum`` is the best classical value (proved optimal when the solver says so).

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> out = compare(maxcut(nx.random_regular_graph(3, 8, seed=0)), p=1, classical=("exact",),
        ...               max_evaluations=20, shots=100)
        >>> [r["solver"] for r in out["rows"]], out["optimum"] >= out["rows"][1]["value"] >= out["rows"][1]["expected"]
        (['exact', 'qaoa p=1 (fixed), best of 100'], True)
    """
    from qtandem.errors import ConfigError
    from qtandem.opt import qaoa, solve_classical

    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ConfigError(f"compare: shots must be a positive int, got {shots!r}")
    rows: list[dict[str, Any]] = []
    best: float | None = None
    proved = False
    q = problem.qubo
    for method in classical:
        res = solve_classical(problem, method=method, seed=seed)
        value = float(res.value)
        rows.append({"solver": str(res.method), "value": value, "time_s": float(res.time_s),
                     "optimal": res.optimal, "feasible": bool(problem.is_feasible(res.solution)),
                     "expected": None, "approximation_ratio": None, "p_opt": None, "p_feasible": None,
                     "shots_99": None, "shots": None, "evaluations": None})
        better = best is None or (value > best if q.sense == "max" else value < best)
        if better:
            best, proved = value, bool(res.optimal)
    t0 = time.perf_counter()
    res_q = qaoa(problem, p, init=init, seed=seed, max_evaluations=max_evaluations, **qaoa_kw)
    value_q, _ = best_of_samples(problem, res_q.samples(shots, seed=seed))
    dt = time.perf_counter() - t0
    p_opt = float(res_q.p_optimal)
    mixer = str(qaoa_kw.get("mixer", "x"))
    label = f"qaoa p={p} ({init}{'' if mixer == 'x' else ', ' + mixer})"
    rows.append({"solver": f"{label}, best of {shots}", "value": value_q,
                 "feasible": not math.isnan(value_q), "expected": float(q.objective(res_q.energy)),
                 "approximation_ratio": float(res_q.approximation_ratio), "p_opt": p_opt,
                 "p_feasible": float(res_q.p_feasible), "shots_99": shots_to_confidence(p_opt), "shots": shots,
                 "evaluations": int(res_q.n_evaluations), "time_s": dt, "optimal": None})
    for row in rows:
        ok = best not in (None, 0.0) and not math.isnan(row["value"])
        row["ratio"] = (row["value"] / best) if ok else None
    return {"problem": problem.name, "n_variables": problem.n_variables, "optimum": best,
            "optimum_proved": proved, "shots": shots, "seed": seed, "rows": rows}
