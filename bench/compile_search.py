"""Ablation of the learned rewrite policy on the Nam et al. suite (dev/test halves), several seeds, one run.

Per circuit (../shared/data/nam): qtandem's level-3 passes alone
(``optimize(level=3, policy=None)``), then the rewrite search
(:func:`qtandem.compile.search.search`) from that result at the same
deterministic budget (``default_budget_expansions`` of the circuit's size, in
expanded circuits, so the result does not depend on the machine) with each
ranking of rewrites:

* ``learned``: the shipped policy (``qtandem.compile.policy.pretrained_policy``),
* ``random``: a seeded random order (same ``k`` rewrites per expanded circuit),
* ``prior``: the rule-frequency prior (``qtandem.compile.policy.RulePrior``: rules ranked by how often they
  were good in the policy's training split; seeded tie-breaks),
* ``all``: every rewrite tried (no pruning; fewer circuits expanded in the budget).

Each ranking runs with every seed of ``--seeds`` (the seed moves the window
offsets of later rounds, the random order and the prior's tie-breaks;
``all`` only with the first). Every search result is verified against the
original circuit (``qtandem.compile.verify.verify_equivalent``). Summary per
subset (the fixed dev and test halves of bench/data/nam_split.json, all 34,
Nam heavy's 29): geometric means of optimized/original gates and CX, per seed
and their mean, and learned/random, learned/prior with wins/ties/losses.

Throughput: every run records the candidate rewrites the search evaluated
(applied, cleaned up and costed) and candidates per second of search time
(``SearchStats.candidates_per_s``); the summary gives the total per policy.

``--suite generated`` runs the same ablation on rotation-heavy circuits that
nobody trained or tuned on: every family of :mod:`qtandem.compile.generate` in
{rz, sx, x, cx}, {u, cx} and Nam's basis, with circuit seeds from 10000 on (the
policy's training circuits come from ``rotation_circuits(seed=7)``, a different
stream; split by circuit), summarized per basis.

Run: python bench/compile_search.py [--quick] [--seeds 0,1,2] [--policies learned,random,prior,all]
     [--json bench/results/compile_search.json]
     python bench/compile_search.py --suite generated [--qubits 5] [--budget-expansions 600]
     [--json bench/results/compile_search_generated.json]
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

from compile import NOT_IN_NAM_HEAVY, QUICK, find_data, geomean, load_split  # noqa: E402


def run_circuit(path: Path | Any, policies: list[str], seeds: list[int], options: dict[str, Any]) -> dict[str, Any]:
    from qtandem.compile import counts, optimize
    from qtandem.compile.search import default_budget_expansions, search
    from qtandem.compile.verify import verify_equivalent
    from qtandem.errors import QtandemError, VerificationError
    from qtandem.qasm import load

    c = load(path) if isinstance(path, Path) else path
    name = path.stem if isinstance(path, Path) else c.name
    row: dict[str, Any] = {"name": name, "qubits": c.n_qubits, "original": counts(c).as_dict()}
    t0 = time.perf_counter()
    try:
        base, _ = optimize(c, level=3, seed=0, policy=None)
        failed = None
    except QtandemError as err:  # the passes failed (a bug to report): search from the input, say so in the row
        base, failed = c, f"{type(err).__name__}: {err}"
    row["passes"] = {**counts(base).as_dict(), "seconds": round(time.perf_counter() - t0, 2)}
    if failed:
        row["passes"]["failed"] = failed
    budget = options.get("budget_expansions") or default_budget_expansions(base.num_gates())
    row["budget_expansions"] = budget
    for pol in policies:
        runs = {}
        for seed in (seeds[:1] if pol == "all" else seeds):
            t0 = time.perf_counter()
            result = search(base, seed=seed, policy=pol, **{**options, "budget_expansions": budget})
            secs = time.perf_counter() - t0
            out, stats = result.circuit, result.stats
            t1 = time.perf_counter()
            try:
                verify_equivalent(c, out)
                verified = True
            except VerificationError:  # the verifier could not prove it: keep the passes' result, as optimize() does
                out, verified = base, False
            runs[str(seed)] = {**counts(out).as_dict(), "verified": verified, "seconds": round(secs, 2),
                               "verify_s": round(time.perf_counter() - t1, 2), "windows": stats.windows,
                               "improved_windows": stats.improved_windows, "expansions": stats.expansions,
                               "rounds": stats.rounds, "stopped": stats.stopped, "style": stats.style,
                               "candidates": stats.candidates, "search_s": round(stats.search_s, 3),
                               "candidates_per_s": round(stats.candidates_per_s, 1)}
        row[pol] = {**runs[str(seeds[0])], "seeds": runs}
    return row


def _per_seed(r: dict[str, Any], tool: str, seed: str) -> dict[str, Any]:
    """A row's counts for ``tool`` at ``seed`` (``all`` and the passes have one run)."""
    if tool in ("passes", "original"):
        return r[tool]
    return r[tool]["seeds"].get(seed, r[tool])


def summarize(rows: list[dict[str, Any]], tools: list[str], seeds: list[int],
              subsets: list[tuple[str, list[dict[str, Any]]]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if subsets is None:
        split = load_split()
        subsets = [("dev", [r for r in rows if r["name"] in split["dev"]]),
                   ("test", [r for r in rows if r["name"] in split["test"]]), ("all", rows),
                   ("nam_heavy_29", [r for r in rows if r["name"] not in NOT_IN_NAM_HEAVY])]
    keys = [str(x) for x in seeds]
    for label, subset in subsets:
        if not subset:
            continue
        s: dict[str, Any] = {"circuits": len(subset), "seeds": keys}
        for t in tools:
            if t != "passes":
                cand = sum(run.get("candidates", 0) for r in subset for run in r[t]["seeds"].values())
                secs = sum(run.get("search_s", 0.0) for r in subset for run in r[t]["seeds"].values())
                s[f"{t}_throughput"] = {"candidates": cand, "search_s": round(secs, 2),
                                        "candidates_per_s": round(cand / secs, 1) if secs else None}
        for t in tools:
            per = {k: {m: round(100 * (geomean([_per_seed(r, t, k)[m] / r["original"][m] for r in subset]) - 1), 2)
                       for m in ("gates", "cx")} for k in keys}
            s[t] = {m: round(sum(v[m] for v in per.values()) / len(per), 2) for m in ("gates", "cx")}
            s[t]["per_seed"] = per
        for t in tools:
            if t != "passes":
                s[f"{t}/passes"] = {m: round(sum(geomean([_per_seed(r, t, k)[m] / r["passes"][m] for r in subset])
                                                 for k in keys) / len(keys), 4) for m in ("gates", "cx")}
        for other in ("random", "prior", "all"):
            if "learned" in tools and other in tools:
                ratios = {k: {m: round(geomean([_per_seed(r, "learned", k)[m] / _per_seed(r, other, k)[m]
                                                for r in subset]), 4) for m in ("gates", "cx")} for k in keys}
                wtl = [0, 0, 0]
                for k in keys:
                    for r in subset:
                        a, b = _per_seed(r, "learned", k)["gates"], _per_seed(r, other, k)["gates"]
                        wtl[0 if a < b else 1 if a == b else 2] += 1
                s[f"learned/{other}"] = {m: round(sum(v[m] for v in ratios.values()) / len(keys), 4)
                                         for m in ("gates", "cx")}
                s[f"learned/{other}"]["per_seed"] = ratios
                s[f"learned_vs_{other}_wins_ties_losses"] = wtl
        out[label] = s
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--only", default="")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated search seeds")
    ap.add_argument("--budget-expansions", type=int, default=None,
                    help="expanded circuits per search (default: default_budget_expansions of the circuit)")
    ap.add_argument("--policies", default="learned,random,prior,all")
    ap.add_argument("--k", type=int, default=None, help="rewrites per expanded circuit (search default)")
    ap.add_argument("--expansions", type=int, default=None, help="expanded circuits per window (search default)")
    ap.add_argument("--window", type=int, default=None, help="gates per window (search default)")
    ap.add_argument("--json", type=Path, default=None,
                    help="default bench/results/compile_search.json (compile_search_generated.json for --suite "
                         "generated)")
    ap.add_argument("--suite", choices=("nam", "generated"), default="nam")
    ap.add_argument("--qubits", type=int, default=5, help="width of the generated circuits (--suite generated)")
    args = ap.parse_args(argv)
    if args.suite == "generated":
        return main_generated(args)
    args.json = args.json or HERE / "results" / "compile_search.json"
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
    seeds = [int(x) for x in args.seeds.split(",")]
    options = {key: v for key, v in (("k", args.k), ("max_expansions", args.expansions), ("window", args.window),
                                     ("budget_expansions", args.budget_expansions)) if v is not None}
    split = load_split()
    rows = []
    for f in files:
        row = run_circuit(f, policies, seeds, options)
        row["half"] = "dev" if f.stem in split["dev"] else "test" if f.stem in split["test"] else "?"
        rows.append(row)
        print(f"{f.stem} ({row['half']}): original {row['original']['gates']}, passes {row['passes']['gates']}, "
              + ", ".join(f"{p} {'/'.join(str(v['gates']) for v in row[p]['seeds'].values())}" for p in policies)
              + f" ({row['budget_expansions']} expansions each)", file=sys.stderr, flush=True)
    tools = ["passes", *policies]
    summary = summarize(rows, tools, seeds)
    print("\n| circuit | half | original | level-3 passes | " + " | ".join(f"+ search ({p})" for p in policies)
          + " | expansions |")
    print("|---|---|---:|---:|" + "---:|" * len(policies) + "---:|")
    for r in rows:
        cells = [f"{r[t]['gates']} / {r[t]['cx']}" for t in ["original", *tools]]
        print(f"| {r['name']} | {r['half']} | " + " | ".join(cells) + f" | {r['budget_expansions']} |")
    print(f"\n(search columns: seed {seeds[0]}; summaries: mean over seeds {seeds})")
    _print_summary(summary, tools)
    result = {"benchmark": "nam_suite_search_ablation",
              "budget": "default_budget_expansions(gates after the passes) = min(30000, 2000 + 5 * gates) "
                        "expanded circuits, no time limit", "seeds": seeds, "search_options": options,
              "cpu_count": os.cpu_count(), "torch_threads": 1, "split": split, "rows": rows, "summary": summary}
    _write(args.json, result)
    return 0


def _print_summary(summary: dict[str, Any], tools: list[str]) -> None:
    for label, s in summary.items():
        print(f"{label} ({s['circuits']} circuits): "
              + "; ".join(f"{t} gates {s[t]['gates']:+.2f}% cx {s[t]['cx']:+.2f}%" for t in tools))
        for key in [k for k in s if "/" in k]:
            print(f"  {key}: gates {s[key]['gates']:.4f}, cx {s[key]['cx']:.4f}")
        for key in [k for k in s if k.endswith("wins_ties_losses")]:
            print(f"  {key} (gates, over seeds x circuits): {s[key]}")
        for key in [k for k in s if k.endswith("_throughput")]:
            print(f"  {key}: {s[key]['candidates']} candidates in {s[key]['search_s']} s = "
                  f"{s[key]['candidates_per_s']} candidates/s")


def _write(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    from qtandem.io import atomic_write_text

    atomic_write_text(path, json.dumps(result, indent=1))
    print(f"\nwrote {path}")


GENERATED_SEED = 10_000
"""Circuit seeds of the generated suite start here (the policy trains on another stream)."""


def main_generated(args: argparse.Namespace) -> int:
    """The ablation on held-out generated rotation-heavy circuits, per basis."""
    import torch

    from qtandem.compile.generate import FAMILIES, generate

    torch.set_num_threads(1)
    policies = args.policies.split(",")
    seeds = [int(x) for x in args.seeds.split(",")]
    options = {key: v for key, v in (("k", args.k), ("max_expansions", args.expansions), ("window", args.window),
                                     ("budget_expansions", args.budget_expansions)) if v is not None}
    families = [f for f in FAMILIES if not args.only or f in args.only.split(",")]
    bases = ("ibm", "u", "nam")
    rows = []
    for i, family in enumerate(families):
        for basis in bases:
            c = generate(family, args.qubits, seed=GENERATED_SEED + i, basis=basis, depth=1)
            row = run_circuit(c, policies, seeds, options)
            row.update(name=f"{family}-{basis}", family=family, basis=basis)
            rows.append(row)
            print(f"{row['name']}: original {row['original']['gates']}, passes {row['passes']['gates']}, "
                  + ", ".join(f"{p} {'/'.join(str(v['gates']) for v in row[p]['seeds'].values())}"
                              for p in policies) + f" ({row['budget_expansions']} expansions each)",
                  file=sys.stderr, flush=True)
    tools = ["passes", *policies]
    subsets = [(b, [r for r in rows if r["basis"] == b]) for b in bases] + [("all", rows)]
    summary = summarize(rows, tools, seeds, subsets)
    print("\n| circuit | original | level-3 passes | " + " | ".join(f"+ search ({p})" for p in policies) + " |")
    print("|---|---:|---:|" + "---:|" * len(policies))
    for r in rows:
        print(f"| {r['name']} | " + " | ".join(f"{r[t]['gates']} / {r[t]['cx']}" for t in ["original", *tools]) + " |")
    print(f"\n(search columns: seed {seeds[0]}; summaries: mean over seeds {seeds})")
    _print_summary(summary, tools)
    result = {"benchmark": "generated_rotation_search_ablation", "qubits": args.qubits,
              "circuit_seeds": f"{GENERATED_SEED} + family index (depth 1)",
              "budget": ("default_budget_expansions(gates after the passes)" if args.budget_expansions is None
                         else f"{args.budget_expansions} expanded circuits per search"),
              "seeds": seeds, "search_options": options, "cpu_count": os.cpu_count(), "torch_threads": 1,
              "rows": rows, "summary": summary}
    _write(args.json or HERE / "results" / "compile_search_generated.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
