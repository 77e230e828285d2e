"""QAOA angles: regenerate the fixed-angle table, check it, and compare starts (fixed, learned, INTERP, random).

    python bench/qaoa_angles.py tabulate            # writes src/qtandem/opt/data/fixed_angles.json
    python bench/qaoa_angles.py check               # fixed-angle ratios on 3-regular n=10 (issue anchors)
    python bench/qaoa_angles.py compare --split test --family weighted_er --n 14 --p 3 --instances 10
    python bench/qaoa_angles.py compare --split test --family cvrp --n 16 --p 3 --model PATH --tag _maxcut_model
    python bench/qaoa_angles.py zero --family regular3 --n 20     # zero evaluations, learned vs fixed
    python bench/qaoa_angles.py zero --split dev --family regular3 --n 20   # DEV seeds 0-9 (rule choice)

Run in CPU lane B: ``flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 python bench/qaoa_angles.py ...``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _energy_fn():
    from qtandem.opt import qaoa_expectation

    return qaoa_expectation, "qtandem.opt.qaoa_expectation"


def tabulate(args: argparse.Namespace) -> None:
    from qtandem.opt.angles import tabulate_fixed_angles

    fn, name = _energy_fn()
    out = {"producer": "bench/qaoa_angles.py tabulate", "energy": name,
           "convention": "|psi> = prod_k exp(-i beta_k sum_j X_j) exp(-i gamma_k C)|+>^n, C = QUBO energy = -cut "
                         "(unweighted MaxCut); angles minimise the mean energy per edge",
           "settings": {"n": args.n, "n_graphs": args.graphs, "seed": args.seed}, "angles": {}}
    for d in args.degrees:
        t0 = time.perf_counter()
        out["angles"][str(d)] = tabulate_fixed_angles(d, args.p_max, n=args.n, n_graphs=args.graphs,
                                                      seed=args.seed, energy=fn)
        print(f"degree {d}: {time.perf_counter() - t0:.1f} s", {k: round(v["energy_per_edge"], 4)
                                                                  for k, v in out["angles"][str(d)].items()})
    path = ROOT / "src/qtandem/opt/data/fixed_angles.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path)


def check(args: argparse.Namespace) -> None:
    import networkx as nx
    import torch

    from qtandem.opt import maxcut
    from qtandem.opt.angles import fixed_angles

    fn, name = _energy_fn()
    rows = []
    for p in (1, 2, 3):
        ratios = []
        for s in range(args.instances):
            prob = maxcut(nx.random_regular_graph(3, args.n, seed=1000 + s))
            diag = prob.qubo.diagonal()
            g, b = fixed_angles(p, 3)
            with torch.no_grad():
                e = float(fn(prob.qubo, torch.tensor(g), torch.tensor(b)))
            ratios.append(e / diag.min())
        rows.append({"p": p, "mean_ratio": float(np.mean(ratios)), "std": float(np.std(ratios)),
                     "instances": args.instances})
        print(rows[-1])
    (ROOT / "bench/results/qaoa_angles_check.json").write_text(json.dumps(
        {"energy": name, "n": args.n, "family": "3-regular MaxCut, graph seeds 1000..", "rows": rows}, indent=1))


def _cobyla(energy, x0, p: int, budget: int, rhobeg: float):
    """COBYLA from x0; returns (final energy, history of energies per evaluation)."""
    from scipy.optimize import minimize

    hist: list[float] = []

    def f(x):
        v = float(energy(x[:p], x[p:]))
        hist.append(v)
        return v

    minimize(f, np.asarray(x0, dtype=float), method="COBYLA", options={"maxiter": budget, "rhobeg": rhobeg,
                                                                          "tol": 1e-6})
    return min(hist), hist


def _evals_to_reach(hist: list[float], target: float) -> int | None:
    for k, v in enumerate(hist, 1):
        if v <= target:
            return k
    return None


def compare(args: argparse.Namespace) -> None:
    """INTERP (grid at p=1, then COBYLA at each depth) vs COBYLA from the learned / fixed / random start at depth p.

    Ratio r = (<C> - mean C) / (min C - mean C) (1 at the optimum, 0 uniform). INTERP's final r at depth p
    is the target; each start's cost is the evaluations until its energy is within ``tol`` (in r) of it;
    INTERP's own cost counts its grid, its lower depths and its last depth until the same point.
    """
    import torch

    from qtandem.opt.angles import fixed_angles, interp_angles, predict_angles
    from qtandem.opt.gnn import features
    from qtandem.opt.train_angles import instance

    fn, name = _energy_fn()
    from qtandem.opt.gnn import load_model

    net = load_model(args.model) if args.model else None  # None: predict_angles picks the shipped model
    seeds = range(100, 100 + args.instances) if args.split == "test" else range(args.instances)
    rows = []
    for seed in seeds:
        prob = instance(args.family, args.n, 7_000_000 + seed)
        d = prob.qubo.diagonal()
        lo, mu = float(d.min()), float(d.mean())
        scale = features(prob).scale

        def energy(g, b, prob=prob):
            with torch.no_grad():
                return fn(prob.qubo, torch.as_tensor(g, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64))

        def ratio(e, lo=lo, mu=mu):
            return (e - mu) / (lo - mu)

        t0 = time.perf_counter()
        # INTERP: depth 1 from the best of an 8 x 8 grid (64 evaluations), then COBYLA; depth k+1 from INTERP
        grid = [(float(energy([gg / scale], [bb])), gg, bb) for gg in np.linspace(0.05, 1.5, 8)
                for bb in np.linspace(-0.75, 0.75, 8)]
        _, gg, bb = min(grid)
        x = np.array([gg / scale, bb])
        n_interp = len(grid)
        for k in range(1, args.p + 1):
            if k > 1:
                g2, b2 = interp_angles(x[:k - 1], x[k - 1:])
                x = np.concatenate([g2, b2])
            best = [np.inf, None]

            def f(y, k=k, best=best):
                v = float(energy(y[:k], y[k:]))
                if v < best[0]:
                    best[0], best[1] = v, y.copy()
                return v

            from scipy.optimize import minimize

            n_before = n_interp
            last: list[float] = []
            res = minimize(lambda y, f=f, last=last: last.append(f(y)) or last[-1], x, method="COBYLA",
                           options={"maxiter": args.budget, "rhobeg": args.rhobeg, "tol": 1e-6})
            n_interp += int(res.nfev)
            x = best[1]
        r_interp = float(ratio(float(energy(x[:args.p], x[args.p:]))))
        target_e = mu + (r_interp - args.tol) * (lo - mu)
        # INTERP's own cost to reach its final ratio within tol: all lower depths + the last depth until there
        reach = _evals_to_reach(last, target_e)
        row = {"seed": seed, "n": prob.n_variables, "interp_ratio": r_interp, "interp_evals": n_interp,
               "interp_evals_to_target": n_before + (reach if reach is not None else len(last)),
               "interp_s": time.perf_counter() - t0}
        starts = {"learned": np.concatenate(predict_angles(prob, args.p, model=net))}
        if args.family.startswith("regular") or args.family == "weighted_regular":
            deg = 3 if args.family == "weighted_regular" else int(args.family[-1])
            g0, b0 = fixed_angles(args.p, deg, scale=2 * scale)  # table's unweighted scale s = 1/2
            starts["fixed"] = np.concatenate([g0, b0])
        rng = np.random.default_rng(seed)
        starts["random"] = np.concatenate([rng.uniform(0, 1.5, args.p) / scale, rng.uniform(-0.75, 0.75, args.p)])
        for key, x0 in starts.items():
            r0 = ratio(float(energy(x0[:args.p], x0[args.p:])))
            e_final, hist = _cobyla(energy, x0, args.p, args.budget, args.rhobeg)
            row[f"{key}_ratio0"] = r0
            row[f"{key}_ratio_final"] = ratio(e_final)
            row[f"{key}_evals_to_interp"] = 0 if r0 >= r_interp - args.tol else _evals_to_reach(hist, target_e)
        rows.append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    summary = {"family": args.family, "n": args.n, "p": args.p, "split": args.split, "instances": len(rows),
               "energy": name, "tol": args.tol, "budget": args.budget, "rhobeg": args.rhobeg,
               "model": args.model or "shipped (predict_angles' default for the problem: routing model for tsp/cvrp, "
               "portfolio model for portfolio, MaxCut model otherwise)"}
    for key in ("interp", "learned", "fixed", "random"):
        if f"{key}_evals_to_interp" in rows[0] or key == "interp":
            col = "interp_evals_to_target" if key == "interp" else f"{key}_evals_to_interp"
            vals = [r[col] for r in rows]
            reached = [v for v in vals if v is not None]
            summary[f"{key}_reached"] = len(reached)
            summary[f"{key}_evals_median"] = float(np.median(reached)) if reached else None
            summary[f"{key}_evals_mean"] = float(np.mean(reached)) if reached else None
            if key != "interp":
                summary[f"{key}_ratio0_mean"] = float(np.mean([r[f"{key}_ratio0"] for r in rows]))
    summary["interp_ratio_mean"] = float(np.mean([r["interp_ratio"] for r in rows]))
    print(json.dumps(summary))
    out = ROOT / f"bench/results/qaoa_angles_{args.split}_{args.family}_n{args.n}_p{args.p}{args.tag}.json"
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print("wrote", out)


def zero(args: argparse.Namespace) -> None:
    """Zero evaluations: the learned start vs the fixed table (regular families) at large n, p = 1..p_max.

    Reports r = (<C> - mean C)/(min C - mean C) and, for MaxCut, the approximation ratio <cut>/max cut.
    """
    import torch

    from qtandem.opt.angles import fixed_angles, predict_angles
    from qtandem.opt.gnn import features
    from qtandem.opt.train_angles import instance

    fn, name = _energy_fn()
    rows = []
    seeds = range(100, 100 + args.instances) if args.split == "test" else range(args.instances)
    for seed in seeds:
        prob = instance(args.family, args.n, 7_000_000 + seed)
        d = prob.qubo.diagonal()
        lo, mu = float(d.min()), float(d.mean())
        scale = features(prob).scale
        row: dict = {"seed": seed, "n": prob.n_variables}
        for p in range(1, args.p_max + 1):
            # gnn: the network alone; learned: predict_angles as shipped (the table where it applies)
            starts = {"gnn": predict_angles(prob, p, table=False), "learned": predict_angles(prob, p)}
            if args.family.startswith("regular") or args.family == "weighted_regular":
                deg = 3 if args.family == "weighted_regular" else int(args.family[-1])
                starts["fixed"] = fixed_angles(p, deg, scale=2 * scale)
                starts["blend"] = tuple((np.asarray(a) + np.asarray(f)) / 2
                                        for a, f in zip(starts["gnn"], starts["fixed"], strict=True))
            for key, (g, b) in starts.items():
                with torch.no_grad():
                    e = float(fn(prob.qubo, torch.as_tensor(g), torch.as_tensor(b)))
                row[f"{key}_r_p{p}"] = (e - mu) / (lo - mu)
                if prob.name == "maxcut":
                    row[f"{key}_approx_p{p}"] = e / lo
        rows.append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    summary = {"family": args.family, "n": args.n, "split": args.split, "instances": len(rows), "energy": name}
    for key in rows[0]:
        if key not in ("seed", "n"):
            summary[key + "_mean"] = float(np.mean([r[key] for r in rows]))
    print(json.dumps(summary))
    dev = "_dev" if args.split == "dev" else ""
    out = ROOT / f"bench/results/qaoa_angles_zero_{args.family}_n{args.n}{dev}.json"
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print("wrote", out)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tabulate")
    t.add_argument("--degrees", type=int, nargs="+", default=[3, 4, 5])
    t.add_argument("--p-max", type=int, default=5)
    t.add_argument("--n", type=int, default=12)
    t.add_argument("--graphs", type=int, default=8)
    t.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--n", type=int, default=10)
    c.add_argument("--instances", type=int, default=10)
    m = sub.add_parser("compare")
    m.add_argument("--family", default="weighted_er")
    m.add_argument("--n", type=int, default=12)
    m.add_argument("--p", type=int, default=3)
    m.add_argument("--instances", type=int, default=10)
    m.add_argument("--split", choices=["dev", "test"], default="dev")
    m.add_argument("--budget", type=int, default=400)
    m.add_argument("--rhobeg", type=float, default=0.1)
    m.add_argument("--tol", type=float, default=1e-3)
    m.add_argument("--model", default=None, help="AngleGNN safetensors (default: the shipped model)")
    m.add_argument("--tag", default="", help="suffix of the result file name")
    z = sub.add_parser("zero")
    z.add_argument("--family", default="regular3")
    z.add_argument("--n", type=int, default=20)
    z.add_argument("--p-max", type=int, default=3)
    z.add_argument("--instances", type=int, default=10)
    z.add_argument("--split", choices=["dev", "test"], default="test")
    args = ap.parse_args()
    {"tabulate": tabulate, "check": check, "compare": compare, "zero": zero}[args.cmd](args)


if __name__ == "__main__":
    main()
