"""Optimisation applications: each classical solver against the enumerated optimum, per family and size.

Families (10 instances each, seeds 0-9, the TEST instances; nothing here is tuned: the solver settings
below were fixed before any run): MaxCut on 3-regular graphs (unit weights), weighted 3-regular graphs
(weights U(0.1, 1)) and Erdos-Renyi G(n, 0.3) graphs, n = 10-24; TSP with 4 and 5 random cities in the
unit square scaled by 10 (9 and 16 bits); CVRP with 3 and 4 customers and 2 vehicles (16-24 bits);
Markowitz portfolios of 10, 15 and 20 assets (budget n / 5 * 2, risk 0.5, 60 periods of factor-model
returns); maximum independent set on G(n, 0.25), n = 16 and 22.

The reference optimum is exhaustive enumeration of the QUBO (``method="exact"``; n <= 24; the penalty
rules make its minimum the feasible optimum, checked by tests/opt/test_opt_problems.py). Solvers:
CP-SAT on the QUBO (run to proof, one worker), Goemans-Williamson (100 seeded hyperplanes; its SDP
bound is recorded), simulated annealing (16 chains x 500 sweeps), OR-Tools routing (TSP/CVRP; cheapest
arc + local search, no time limit). Each row: value, optimum, relative gap (>= 0; 0 = optimal), time,
feasibility/repair, CP-SAT's optimality proof and bound.

QAOA rows come from :func:`qaoa_rows` on the same instances (``--qaoa-only``), with the X mixer and,
``--mixer xy|warm``, the XY and warm-start mixers on the families in ``MIXER_FAMILIES`` (same
``QAOA_SETTINGS``: depth, INTERP start, evaluation cap, 1,000 shots).

Run one family per shard (lane B; times are single-threaded on the shared 2-core machine)::

    flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        .venv/bin/python bench/opt_apps.py --family maxcut_3reg
    .venv/bin/python bench/opt_apps.py --merge     # bench/results/opt_apps.json + a markdown table
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from qtandem.errors import ConfigError
from qtandem.opt import Problem, cvrp, maxcut, mis, portfolio_from_returns, solve_classical, tsp

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = range(10)
FAMILIES: dict[str, list[int]] = {
    "maxcut_3reg": [10, 16, 22],
    "maxcut_weighted": [12, 20, 24],
    "maxcut_er": [12, 18, 24],
    "tsp": [4, 5],
    "cvrp": [3, 4],
    "portfolio": [10, 15, 20],
    "mis": [16, 22],
}
SETTINGS = {"gw": {"rounds": 100}, "anneal": {"sweeps": 500, "replicas": 16}, "mip": {"time_limit": None},
            "routing": {"time_limit": None}}


def _points(n: int, rng: np.random.Generator) -> np.ndarray:
    xy = rng.uniform(0, 10, size=(n, 2))
    return np.linalg.norm(xy[:, None] - xy[None], axis=-1)


def make_instance(family: str, size: int, seed: int) -> Problem:
    """The benchmark instance ``(family, size, seed)`` (deterministic; QAOA rows use the same ones)."""
    rng = np.random.default_rng(1000 * size + seed)
    if family == "maxcut_3reg":
        return maxcut(nx.random_regular_graph(3, size, seed=seed))
    if family == "maxcut_weighted":
        g = nx.random_regular_graph(3, size, seed=seed)
        for u, v in g.edges:
            g[u][v]["weight"] = float(rng.uniform(0.1, 1.0))
        return maxcut(g)
    if family == "maxcut_er":
        return maxcut(nx.gnp_random_graph(size, 0.3, seed=seed))
    if family == "mis":
        return mis(nx.gnp_random_graph(size, 0.25, seed=seed))
    if family == "tsp":
        return tsp(_points(size, rng))
    if family == "cvrp":  # demands in 1..3, capacity = the larger load of a balanced split; <= 24 bits
        d = _points(size + 1, rng)
        while True:
            dem = sorted(rng.integers(1, 4, size=size).tolist())
            cap = max(dem[0] + dem[-1], sum(dem[1:-1])) if size == 4 else max(dem[0] + dem[1], dem[2])
            try:
                p = cvrp(d, [0, *rng.permutation(dem).tolist()], capacity=cap, n_vehicles=2)
            except ConfigError:
                continue
            if p.n_variables <= 24:
                return p
    if family == "portfolio":
        factor = rng.normal(0.005, 0.03, size=(60, 1))
        r = (factor * rng.uniform(0.5, 1.5, size=(1, size)) + rng.normal(0.002, 0.02, size=(60, size))
             + rng.uniform(-0.005, 0.01, size=(1, size)))
        return portfolio_from_returns(r, budget=2 * size // 5, risk=0.5)
    raise SystemExit(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")


def methods_for(problem: Problem) -> list[str]:
    out = ["mip", "gw", "anneal"]
    if problem.name in ("tsp", "cvrp"):
        out.append("routing")
    return out


def gap(problem: Problem, value: float, optimum: float) -> float:
    """Relative distance to the optimum in the user's sense (0 = optimal, > 0 worse)."""
    if math.isnan(value):
        return math.nan
    diff = (optimum - value) if problem.sense == "max" else (value - optimum)
    return max(0.0, diff) / max(abs(optimum), 1e-12)


QAOA_SETTINGS = {"p": 2, "init": "interp", "max_evaluations": 300, "shots": 1000, "max_bits": 20}
"""QAOA beside the classical solvers: depth, start, evaluation cap (over all INTERP depths), the shots a user
would draw from the optimised state, and the largest instance run (exact simulation). Fixed a priori, not tuned."""


MIXER_FAMILIES: dict[str, list[str]] = {
    "xy": ["tsp", "cvrp", "portfolio"],
    "warm": ["portfolio", "maxcut_3reg", "maxcut_weighted", "maxcut_er"],
}
"""Families each non-X mixer runs on: XY where the problem has one-hot / budget groups (TSP and CVRP
positions, the portfolio budget), warm start where a relaxation exists (the portfolio QP; MaxCut's
Goemans-Williamson cut). XY rows may go up to ``XY_MAX_BITS`` bits: they are simulated inside the groups'
subspace (CVRP's 22-24 bits included); warm-start rows keep ``max_bits`` (full state vector)."""
XY_MAX_BITS = 24


def qaoa_rows(problem: Problem, instance: dict[str, Any], optimum: float, mixer: str = "x",
              p: int | None = None, objective: str = "energy") -> list[dict[str, Any]]:
    """QAOA rows for one instance: the classical rows' keys plus the quantum statistics.

    ``value`` is what a user gets: the best feasible sample among ``shots`` draws from the optimised state
    (NaN when none of them is feasible), so ``gap`` compares like with like. Beside it: the approximation
    ratio of the expected energy, P(optimum), P(feasible), the shots needed to sample the optimum once with
    99% confidence, objective evaluations, and the wall time of simulation plus optimisation. ``objective``
    is what the angles are optimised for (``qaoa(objective=...)``: energy, CVaR at alpha 0.1, or P(optimum)).
    """
    from qtandem.opt import qaoa
    from qtandem.opt.report import shots_to_confidence

    cfg = QAOA_SETTINGS
    depth = int(cfg["p"]) if p is None else int(p)
    if problem.n_variables > (XY_MAX_BITS if mixer == "xy" else int(cfg["max_bits"])):
        return []
    t0 = time.perf_counter()
    res = qaoa(problem, depth, mixer=mixer, init=str(cfg["init"]), seed=instance["seed"],
               max_evaluations=int(cfg["max_evaluations"]), objective=objective)
    samples = res.samples(int(cfg["shots"]), seed=instance["seed"])
    dt = time.perf_counter() - t0
    feasible = [x for x in samples if problem.is_feasible(x)]
    values = [float(problem.value(x)) for x in feasible]
    if not values:
        best = float("nan")
    else:
        best = max(values) if problem.sense == "max" else min(values)
    name = (f"qaoa-p{depth}-{cfg['init']}" + ("" if mixer == "x" else f"-{mixer}")
            + ("" if objective == "energy" else f"-{objective}"))
    return [{**instance, "method": name, "mixer": mixer, "objective": objective, "value": best, "optimum": optimum,
             "gap": gap(problem, best, optimum), "time_s": dt, "optimal": None,
             "bound": None, "repaired": False, "feasible": bool(values),
             "approximation_ratio": float(res.approximation_ratio), "p_opt": float(res.p_optimal),
             "p_feasible": float(res.p_feasible), "shots_99": shots_to_confidence(float(res.p_optimal)),
             "evaluations": int(res.n_evaluations), "shots": int(cfg["shots"])}]


def qaoa_only(family: str, sizes: list[int], seeds: range, mixer: str = "x",
              objective: str = "energy") -> dict[str, Any]:
    """QAOA rows alone (the classical rows are in the family's own shard), optimum by enumeration."""
    rows: list[dict[str, Any]] = []
    cap = XY_MAX_BITS if mixer == "xy" else int(QAOA_SETTINGS["max_bits"])
    for size in sizes:
        for seed in seeds:
            p = make_instance(family, size, seed)
            if p.n_variables > cap:
                break
            inst = {"family": family, "size": size, "seed": seed, "n_variables": p.n_variables}
            rows.extend(qaoa_rows(p, inst, solve_classical(p, "exact").value, mixer=mixer, objective=objective))
            r = rows[-1]
            print(f"{family} n={size} seed={seed} ({p.n_variables} bits): ratio {r['approximation_ratio']:.3f} "
                  f"P(opt) {r['p_opt']:.4f} P(feas) {r['p_feasible']:.3f} best-of-{r['shots']} gap {r['gap']:.3g} "
                  f"{r['time_s']:.1f} s", flush=True)
    return {"family": family, "mixer": mixer, "objective": objective, "rows": rows, "qaoa_settings": QAOA_SETTINGS,
            "python": platform.python_version(), "command": " ".join(sys.argv)}


def qaoa_table(rows: list[dict[str, Any]]) -> str:
    """Per family and size: QAOA's means beside the exact optimum (the README table)."""
    groups: dict[tuple[str, int, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if str(r["method"]).startswith("qaoa"):
            key = (r["family"], r["size"], str(r.get("mixer", "x")), str(r.get("objective", "energy")))
            groups.setdefault(key, []).append(r)
    with_objective = any(k[3] != "energy" for k in groups)
    lines = ["| family, size | bits | mixer | approx. ratio | P(opt) | P(feasible) | shots to 99% (median) | "
             "best of 1000 optimal | evaluations | time (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    if with_objective:
        lines = [lines[0].replace("| mixer |", "| mixer | objective |"), lines[1] + "---|"]
    order = {"x": 0, "xy": 1, "warm": 2}
    obj_order = {"energy": 0, "cvar": 1, "p_opt": 2}
    for (fam, size, mixer, obj), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], order[kv[0][2]],
                                                                               obj_order[kv[0][3]])):
        shots = [r["shots_99"] for r in rs if r["shots_99"] is not None]
        hits = sum(1 for r in rs if r["gap"] == r["gap"] and r["gap"] <= 1e-9)
        head = f"| {fam} {size} | {rs[0]['n_variables']} | {mixer} | " + (f"{obj} | " if with_objective else "")
        lines.append(head +
                     f"{np.mean([r['approximation_ratio'] for r in rs]):.3f} | "
                     f"{np.mean([r['p_opt'] for r in rs]):.4f} | "
                     f"{np.mean([r['p_feasible'] for r in rs]):.3f} | "
                     f"{int(np.median(shots)) if shots else '-'} | {hits}/{len(rs)} | "
                     f"{np.mean([r['evaluations'] for r in rs]):.0f} | {np.mean([r['time_s'] for r in rs]):.2f} |")
    return "\n".join(lines)


def run_family(family: str, sizes: list[int], seeds: range, with_qaoa: bool) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for size in sizes:
        for seed in seeds:
            p = make_instance(family, size, seed)
            inst = {"family": family, "size": size, "seed": seed, "n_variables": p.n_variables}
            ex = solve_classical(p, "exact")
            opt = ex.value
            rows.append({**inst, "method": "exact", "value": opt, "optimum": opt, "gap": 0.0, "time_s": ex.time_s,
                         "optimal": True, "bound": None, "repaired": ex.repaired, "feasible": True})
            for m in methods_for(p):
                r = solve_classical(p, m, seed=seed, **SETTINGS[m])
                rows.append({**inst, "method": m, "value": r.value, "optimum": opt, "gap": gap(p, r.value, opt),
                             "time_s": r.time_s, "optimal": r.optimal, "bound": r.bound, "repaired": r.repaired,
                             "feasible": bool(p.is_feasible(r.solution))})
            if with_qaoa:
                rows.extend(qaoa_rows(p, inst, opt))
            print(f"{family} n={size} seed={seed} ({p.n_variables} bits): opt {opt:.4f} | "
                  + " ".join(f"{r['method']} {r['gap']:.3g}/{r['time_s']:.2f}s" for r in rows[-len(methods_for(p)):]),
                  flush=True)
    return {"family": family, "rows": rows, "settings": SETTINGS, "python": platform.python_version(),
            "command": " ".join(sys.argv)}


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["family"], r["size"], r["method"]), []).append(r)
    out = []
    for (fam, size, m), rs in groups.items():
        gaps = np.array([r["gap"] for r in rs], dtype=float)
        times = np.array([r["time_s"] for r in rs])
        out.append({"family": fam, "size": size, "n_variables": rs[0]["n_variables"], "method": m,
                    "instances": len(rs), "optimal_hits": int(np.sum(gaps <= 1e-9)),
                    "mean_gap": float(np.nanmean(gaps)), "max_gap": float(np.nanmax(gaps)),
                    "mean_time_s": float(times.mean()), "max_time_s": float(times.max()),
                    "proved_optimal": int(sum(r["optimal"] is True for r in rs)),
                    "repaired": int(sum(bool(r["repaired"]) for r in rs))})
    return out


def table(summary: list[dict[str, Any]]) -> str:
    lines = ["| family | n | bits | method | optimum hits | mean gap | max gap | mean time (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['family']} | {s['size']} | {s['n_variables']} | {s['method']} | "
                     f"{s['optimal_hits']}/{s['instances']} | {s['mean_gap']:.2%} | {s['max_gap']:.2%} | "
                     f"{s['mean_time_s']:.3f} |")
    return "\n".join(lines)


def compact(summary: list[dict[str, Any]]) -> str:
    """One row per family and size; per solver: optimum hits / instances, mean gap, mean time (the README table)."""
    cols = ["mip", "gw", "anneal", "routing"]
    by = {(s["family"], s["size"], s["method"]): s for s in summary}
    lines = ["| family, size | bits | exact (s) | CP-SAT | GW | annealing | OR-Tools routing |",
             "|---|---|---|---|---|---|---|"]
    for fam, size in sorted({(s["family"], s["size"]) for s in summary}):
        ex = by[(fam, size, "exact")]
        cells = []
        for m in cols:
            c = by.get((fam, size, m))
            cells.append("-" if c is None else
                         f"{c['optimal_hits']}/{c['instances']}, {c['mean_gap']:.1%}, {c['mean_time_s']:.2f} s")
        lines.append(f"| {fam} {size} | {ex['n_variables']} | {ex['mean_time_s']:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", choices=list(FAMILIES))
    ap.add_argument("--sizes", type=int, nargs="*", help="subset of the family's sizes")
    ap.add_argument("--seeds", type=int, nargs=2, default=[0, 10], metavar=("START", "STOP"))
    ap.add_argument("--qaoa", action="store_true", help="add qaoa_rows() on each instance")
    ap.add_argument("--qaoa-only", action="store_true",
                    help="only the QAOA rows (instances up to QAOA_SETTINGS['max_bits']), "
                         "into opt_apps_qaoa_<family>.json")
    ap.add_argument("--mixer", choices=["x", "xy", "warm"], default="x",
                    help="QAOA mixer of --qaoa-only (shard opt_apps_qaoa_<family>_<mixer>.json for xy / warm)")
    ap.add_argument("--objective", choices=["energy", "cvar", "p_opt"], default="energy",
                    help="what --qaoa-only optimises the angles for (shard ..._<objective>.json unless energy)")
    ap.add_argument("--tag", default="", help="suffix of the shard file name")
    ap.add_argument("--merge", action="store_true")
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.merge:
        rows = []
        for f in sorted(RESULTS.glob("opt_apps_*.json")):
            rows += json.loads(f.read_text())["rows"]
        summary = summarize(rows)
        (RESULTS / "opt_apps.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
        print(table(summary))
        print()
        print(compact(summary))
        print()
        print(qaoa_table(rows))
        return
    if not args.family:
        ap.error("give --family or --merge")
    t0 = time.perf_counter()
    if args.qaoa_only:
        if args.mixer != "x" and args.family not in MIXER_FAMILIES[args.mixer]:
            ap.error(f"--mixer {args.mixer} runs on {', '.join(MIXER_FAMILIES[args.mixer])}")
        out = qaoa_only(args.family, args.sizes or FAMILIES[args.family], range(*args.seeds), args.mixer,
                        args.objective)
        out["wall_s"] = time.perf_counter() - t0
        name = (f"opt_apps_qaoa_{args.family}{'' if args.mixer == 'x' else '_' + args.mixer}"
                f"{'' if args.objective == 'energy' else '_' + args.objective}{args.tag}.json")
        (RESULTS / name).write_text(json.dumps(out, indent=1) + "\n")
        print(qaoa_table(out["rows"]))
        print(f"wrote bench/results/{name} in {out['wall_s']:.0f} s")
        return
    out = run_family(args.family, args.sizes or FAMILIES[args.family], range(*args.seeds), args.qaoa)
    out["wall_s"] = time.perf_counter() - t0
    out["summary"] = summarize(out["rows"])
    name = f"opt_apps_{args.family}{args.tag}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=1) + "\n")
    print(table(out["summary"]))
    print(f"wrote bench/results/{name} in {out['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
