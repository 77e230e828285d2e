"""Ablation of the learned rewrite policy on the Nam et al. suite, one run.

Per circuit (../shared/data/nam): qtandem's level-3 passes alone
(``optimize(level=3, policy=None)``), then the rewrite search
(:func:`qtandem.compile.search.search`) from that result at the same budget
with each ranking of rewrites:

* ``learned``: the shipped policy (``qtandem.compile.policy.pretrained_policy``),
* ``random``: a seeded random order (same ``k`` rewrites per expanded circuit),
* ``all``: every rewrite tried (no pruning; fewer circuits expanded in the budget).

Every search result is verified against the original circuit
(``qtandem.compile.verify.verify_equivalent``). Summary: geometric means of
optimized/original gates and CX for each, and learned/random.

Run: python bench/compile_search.py [--quick] [--budget-scale 1.0] [--policies learned,random,all]
     [--json bench/results/compile_search.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compile import NOT_IN_NAM_HEAVY, QUICK, find_data, geomean  # noqa: E402


def budget_for(gates: int, scale: float) -> float:
    """Search seconds for a circuit: 2 s plus 5 ms per gate, at most 30 s, times ``scale``."""
    return scale * min(30.0, 2.0 + 0.005 * gates)


def run_circuit(path: Path, policies: list[str], scale: float, options: dict[str, Any]) -> dict[str, Any]:
    from qtandem.compile import counts, optimize
    from qtandem.compile.search import search
    from qtandem.compile.verify import verify_equivalent
    from qtandem.qasm import load

    c = load(path)
    row: dict[str, Any] = {"name": path.stem, "qubits": c.n_qubits, "original": counts(c).as_dict()}
    t0 = time.perf_counter()
    base, _ = optimize(c, level=3, seed=0, policy=None)
    row["passes"] = {**counts(base).as_dict(), "seconds": round(time.perf_counter() - t0, 2)}
    budget = budget_for(base.num_gates(), scale)
    row["budget_s"] = round(budget, 2)
    for pol in policies:
        t0 = time.perf_counter()
        out, stats = search(base, budget_s=budget, seed=0, policy=pol, return_stats=True, **options)
        secs = time.perf_counter() - t0
        t1 = time.perf_counter()
        verify_equivalent(c, out)
        row[pol] = {**counts(out).as_dict(), "seconds": round(secs, 2), "verify_s": round(time.perf_counter() - t1, 2),
                    "windows": stats.windows, "improved_windows": stats.improved_windows,
                    "expansions": stats.expansions, "rounds": stats.rounds}
    return row


def summarize(rows: list[dict[str, Any]], tools: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, subset in (("all", rows), ("nam_heavy_29", [r for r in rows if r["name"] not in NOT_IN_NAM_HEAVY])):
        if not subset:
            continue
        s: dict[str, Any] = {"circuits": len(subset)}
        for t in tools:
            s[t] = {m: round(100 * (geomean([r[t][m] / r["original"][m] for r in subset]) - 1), 2)
                    for m in ("gates", "cx")}
        for t in tools:
            if t != "passes":
                s[f"{t}/passes"] = {m: round(geomean([r[t][m] / r["passes"][m] for r in subset]), 4)
                                    for m in ("gates", "cx")}
        if "learned" in tools and "random" in tools:
            s["learned/random"] = {m: round(geomean([r["learned"][m] / r["random"][m] for r in subset]), 4)
                                   for m in ("gates", "cx")}
            s["learned_wins_ties_losses"] = [sum(r["learned"]["gates"] < r["random"]["gates"] for r in subset),
                                             sum(r["learned"]["gates"] == r["random"]["gates"] for r in subset),
                                             sum(r["learned"]["gates"] > r["random"]["gates"] for r in subset)]
        out[label] = s
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--only", default="")
    ap.add_argument("--budget-scale", type=float, default=1.0)
    ap.add_argument("--policies", default="learned,random,all")
    ap.add_argument("--k", type=int, default=None, help="rewrites per expanded circuit (search default)")
    ap.add_argument("--expansions", type=int, default=None, help="expanded circuits per window (search default)")
    ap.add_argument("--window", type=int, default=None, help="gates per window (search default)")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "compile_search.json")
    args = ap.parse_args(argv)
    data = args.data or find_data()
    if data is None or not data.is_dir():
        print("Nam suite not found (../shared/data/nam); skipping", file=sys.stderr)
        return 0
    import torch

    torch.set_num_threads(1)
    files = sorted(data.glob("*.qasm"))
    if args.quick:
        files = [f for f in files if f.stem in QUICK]
    if args.only:
        files = [f for f in files if f.stem in args.only.split(",")]
    policies = args.policies.split(",")
    options = {key: v for key, v in (("k", args.k), ("max_expansions", args.expansions), ("window", args.window))
               if v is not None}
    rows = []
    for f in files:
        row = run_circuit(f, policies, args.budget_scale, options)
        rows.append(row)
        print(f"{f.stem}: original {row['original']['gates']}, passes {row['passes']['gates']}, "
              + ", ".join(f"{p} {row[p]['gates']}" for p in policies) + f" ({row['budget_s']} s each)",
              file=sys.stderr, flush=True)
    tools = ["passes", *policies]
    summary = summarize(rows, tools)
    print("\n| circuit | original | level-3 passes | " + " | ".join(f"+ search ({p})" for p in policies)
          + " | budget s |")
    print("|---|---:|---:|" + "---:|" * len(policies) + "---:|")
    for r in rows:
        cells = [f"{r[t]['gates']} / {r[t]['cx']}" for t in ["original", *tools]]
        print(f"| {r['name']} | " + " | ".join(cells) + f" | {r['budget_s']} |")
    print()
    for label, s in summary.items():
        print(f"{label} ({s['circuits']} circuits): "
              + "; ".join(f"{t} gates {s[t]['gates']:+.1f}% cx {s[t]['cx']:+.1f}%" for t in tools))
        for key in [k for k in s if "/" in k]:
            print(f"  {key}: gates {s[key]['gates']:.4f}, cx {s[key]['cx']:.4f}")
        if "learned_wins_ties_losses" in s:
            print(f"  learned vs random (gates): wins/ties/losses {s['learned_wins_ties_losses']}")
    result = {"benchmark": "nam_suite_search_ablation", "budget": "2 s + 5 ms/gate, <= 30 s, x scale",
              "budget_scale": args.budget_scale, "search_options": options, "cpu_count": os.cpu_count(),
              "torch_threads": 1, "rows": rows, "summary": summary}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    from qtandem.io import atomic_write_text

    atomic_write_text(args.json, json.dumps(result, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
