"""Issue 19's QAOA anchors, measured on the TEST instances of bench/opt_apps.py.

Anchors (issue 19, section 4): "on a 4-city TSP (16 qubits) OR-Tools returns the optimum in 5 ms, while QAOA
at p = 2 samples it with probability 0.7-1.6%"; "on a 10-asset portfolio with budget 5, standard QAOA learns
the constraint (P(feasible) 0.99) but not the objective (P(optimal) 0.35%, 3.5x uniform), and warm-start QAOA
at p = 3 samples the optimum 11% of the time".

Instances: the 10 seeded 4-city TSP and 10-asset portfolio TEST instances of ``opt_apps.make_instance``
(seeds 0-9). The TSP anchor's 16 qubits are the unpinned encoding (``tsp(d, fix_start=False)``: 4 x 4 bits;
the table's TSP-4 rows pin city 0 and have 9), where each tour has 8 optimal bit strings (4 rotations x 2
directions): P(opt) counts all of them. The portfolio anchor holds 5 of 10 assets (the table's rows hold 4),
otherwise the same returns. QAOA settings are the table's (``opt_apps.QAOA_SETTINGS``: INTERP start, energy
objective, at most 300 evaluations over all depths, exact simulation), fixed before any run; the issue does
not give its depth for "standard QAOA" on portfolios, so p = 2 and p = 3 are both run.

    flock /tmp/qt_lane_a.lock env OMP_NUM_THREADS=1 .venv/bin/python bench/opt_anchors.py
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from opt_apps import QAOA_SETTINGS, make_instance
from qtandem.io import atomic_write_text
from qtandem.opt import portfolio_from_returns, qaoa, solve_classical, tsp
from qtandem.opt.report import shots_to_confidence

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = range(10)
RUNS: dict[str, list[tuple[str, int]]] = {
    "tsp4_16q": [("x", 2), ("xy", 2)],
    "portfolio10_b5": [("x", 2), ("x", 3), ("xy", 3), ("warm", 3)],
}
ANCHORS = {"tsp4_16q": "x p=2: P(opt) 0.7-1.6%; OR-Tools optimum in 5 ms",
           "portfolio10_b5": "x: P(feasible) 0.99, P(opt) 0.35% (3.5x uniform); warm p=3: P(opt) 11%"}


def _returns(size: int, seed: int) -> np.ndarray:
    """The factor-model returns of ``opt_apps.make_instance('portfolio', size, seed)`` (same RNG stream)."""
    rng = np.random.default_rng(1000 * size + seed)
    factor = rng.normal(0.005, 0.03, size=(60, 1))
    out: np.ndarray = (factor * rng.uniform(0.5, 1.5, size=(1, size)) + rng.normal(0.002, 0.02, size=(60, size))
                       + rng.uniform(-0.005, 0.01, size=(1, size)))
    return out


def instance(kind: str, seed: int) -> Any:
    if kind == "tsp4_16q":
        return tsp(make_instance("tsp", 4, seed).data["distances"], fix_start=False)
    ref = make_instance("portfolio", 10, seed)
    prob = portfolio_from_returns(_returns(10, seed), budget=5, risk=0.5)
    assert np.allclose(prob.data["mu"], ref.data["mu"])  # the table's returns, budget 5 instead of 4
    return prob


def run(kind: str, seeds: range) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        prob = instance(kind, seed)
        opt = solve_classical(prob, "exact")
        classical = {"exact_value": float(opt.value)}
        if kind.startswith("tsp"):
            rt = solve_classical(prob, "routing", seed=seed)
            classical.update(routing_value=float(rt.value), routing_time_s=float(rt.time_s),
                             routing_optimal=bool(abs(rt.value - opt.value) <= 1e-9 * max(1.0, abs(opt.value))))
        n_opt = int(np.sum(prob.qubo.diagonal() <= prob.qubo.diagonal().min() + 1e-9))
        for mixer, p in RUNS[kind]:
            t0 = time.perf_counter()
            res = qaoa(prob, p, mixer=mixer, init=str(QAOA_SETTINGS["init"]), seed=seed,
                       max_evaluations=int(QAOA_SETTINGS["max_evaluations"]))
            dt = time.perf_counter() - t0
            row = {"kind": kind, "seed": seed, "n_variables": prob.n_variables, "mixer": mixer, "p": p,
                   "p_opt": float(res.p_optimal), "p_feasible": float(res.p_feasible),
                   "approximation_ratio": float(res.approximation_ratio), "evaluations": int(res.n_evaluations),
                   "shots_99": shots_to_confidence(float(res.p_optimal)), "optimal_strings": n_opt,
                   "uniform_p_opt": n_opt / 2**prob.n_variables, "time_s": dt, **classical}
            rows.append(row)
            print(f"{kind} seed={seed} {mixer} p={p}: P(opt) {row['p_opt']:.4f} P(feas) {row['p_feasible']:.3f} "
                  f"ratio {row['approximation_ratio']:.3f} evals {row['evaluations']} {dt:.1f} s", flush=True)
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    keys = sorted({(r["kind"], r["mixer"], r["p"]) for r in rows})
    for kind, mixer, p in keys:
        rs = [r for r in rows if (r["kind"], r["mixer"], r["p"]) == (kind, mixer, p)]
        po = np.array([r["p_opt"] for r in rs])
        uni = np.array([r["uniform_p_opt"] for r in rs])
        s = {"kind": kind, "mixer": mixer, "p": p, "instances": len(rs), "p_opt_mean": float(po.mean()),
             "p_opt_min": float(po.min()), "p_opt_max": float(po.max()),
             "p_opt_over_uniform_mean": float(np.mean(po / uni)),
             "p_feasible_mean": float(np.mean([r["p_feasible"] for r in rs])),
             "approximation_ratio_mean": float(np.mean([r["approximation_ratio"] for r in rs])),
             "evaluations_mean": float(np.mean([r["evaluations"] for r in rs])), "anchor": ANCHORS[kind]}
        if "routing_time_s" in rs[0]:
            s["routing_time_ms_max"] = 1e3 * max(r["routing_time_s"] for r in rs)
            s["routing_optimal"] = int(sum(r["routing_optimal"] for r in rs))
        out.append(s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", nargs="*", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--seeds", type=int, nargs=2, default=[0, 10], metavar=("START", "STOP"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = [r for k in args.kinds for r in run(k, range(*args.seeds))]
    out = {"rows": rows, "summary": summary(rows), "settings": QAOA_SETTINGS, "runs": RUNS,
           "python": platform.python_version(), "command": " ".join(sys.argv), "wall_s": time.perf_counter() - t0}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "opt_anchors.json", json.dumps(out, indent=1) + "\n")
    for s in out["summary"]:
        print(json.dumps(s))


if __name__ == "__main__":
    main()
