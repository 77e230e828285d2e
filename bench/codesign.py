"""Issue 20's tables in one driver: hardware what-if, coupling-map search and the loop vs stale calibration.

Subcommands (each calls the bench script that owns the measurement and prints the table the README
shows, with the ratios and whether the issue's target is met):

- ``whatif``: ``bench/codesign_whatif.py`` (gradients of every device number, +-20% re-simulation of
  the top 10, Kendall tau), on ``Device.random(8, "heavy_hex", seed)`` for seeds 0-4;
- ``coupling``: ``bench/codesign_coupling.py`` (annealed 16-qubit map with at most 16 couplings vs
  heavy-hex, the 4x4 grid and the ring, held-out geometric mean of routed CX);
- ``loop``: ``bench/codesign_loop.py --learn loop`` (each loop workload on ``hidden_device(10, seed)``,
  seeds 0-4, under the stale, learned and oracle beliefs);
- ``vqe_pec``: ``bench/codesign_vqe_pec.py`` (the LiH energy with readout + PEC from each belief's
  noise model, 200,000 shots, seeds 0-4);
- ``tables``: no run; reads the committed JSON in ``bench/results/`` and prints the three tables.

``--quick`` shrinks every run to seconds (one seed, small workloads, small budgets: a smoke test of
the whole path, not a measurement; its numbers are not the README's). Without it the settings are the
README's (minutes per subcommand; take a CPU lane: ``flock /tmp/qt_lane_a.lock env OMP_NUM_THREADS=1
.venv/bin/python bench/codesign.py loop``).

Examples::

    python bench/codesign.py tables
    python bench/codesign.py loop --quick --out /tmp/loop.json
    python bench/codesign.py whatif --seeds 0 1 2 3 4 --out bench/results/codesign_whatif.json
    python bench/codesign.py coupling --family chem --out bench/results/codesign_coupling_chem.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

LOOP_FILE = RESULTS / "codesign_loop.json"
WHATIF_FILES = {"circuits": RESULTS / "codesign_whatif.json", "vqe": RESULTS / "codesign_whatif_vqe.json"}
# session 33: the "selected" coordinates (chosen on DEV seeds 10-14, codesign_whatif_select_dev.json) and the
# gate-error floor, reported on TEST seeds 20-24 nothing was chosen on
WHATIF_TEST_FILES = {"circuits, TEST seeds 20-24": RESULTS / "codesign_whatif_test.json",
                     "vqe, TEST seeds 20-24": RESULTS / "codesign_whatif_vqe_test.json"}
# session 34: every column rerun with the floor-crossing rule, and "second_order" (SECOND_ORDER, chosen on DEV
# seeds 10-14, codesign_whatif_second_dev_*.json), TEST seeds 20-24
WHATIF_TEST_S34_FILES = {"circuits, TEST seeds 20-24, session 34": RESULTS / "codesign_whatif_test_s34.json",
                         "vqe, TEST seeds 20-24, session 34": RESULTS / "codesign_whatif_vqe_test_s34.json"}
VQE_PEC_FILE = RESULTS / "codesign_vqe_pec_test.json"
COUPLING_FILES = {"QAOA p=1, degree <= 4": "codesign_coupling_qaoa_p1.json",
                  "QAOA p=1, degree <= 8": "codesign_coupling_qaoa_p1_deg8.json",
                  "QAOA p=2, degree <= 4": "codesign_coupling_qaoa_p2.json",
                  "chemistry, degree <= 4 (two runs)": "codesign_coupling_chem_run2.json"}

QUICK_LOOP = {"seeds": [0], "n_qubits": 8, "workloads": ["ghz", "qec_memory"], "learn_shots": 100,
              "shots": {"ghz": 1200, "qec_memory": 20_000}, "options": {"ghz": {"n_qubits": 4}}}


# ---------------------------------------------------------------- tables (pure functions of the JSON)

def loop_table(table: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of ``codesign_loop.table`` entries: stale / learned / oracle means, ratio, target."""
    by: dict[str, dict[str, dict[str, Any]]] = {}
    for e in table:
        by.setdefault(e["workload"], {})[e["compare"].split()[-1]] = e
    lines = ["| workload | seeds | shots per run | stale | learned | oracle | stale / learned (geo. mean) | "
             "learned better in | target | met |", "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for kind, entries in sorted(by.items()):
        ref = entries.get("learned") or entries.get("oracle")
        if ref is None:
            continue
        learned, oracle = entries.get("learned", {}), entries.get("oracle", {})
        ratio = learned.get("ratio_gmean", math.nan)
        if kind == "classifier" and learned:
            ratio_text = f"{learned['accuracy_gain_points']:+.2f} points"
        else:
            ratio_text = f"{ratio:.2f}x"
        lines.append(
            f"| {kind} | {len(ref['seeds'])} | {ref['shots_per_run']:,} (+{learned.get('learn_shots', 0):,} learn) | "
            f"{ref['stale_error_mean']:.4g} | {learned.get('learned_error_mean', math.nan):.4g} | "
            f"{oracle.get('oracle_error_mean', math.nan):.4g} | {ratio_text} | "
            f"{learned.get('better_in', '-')}/{len(ref['seeds'])} | {ref['target']} | "
            f"{'yes' if learned.get('target_met') else 'no'} |")
    return lines


def whatif_table(summary: dict[str, Any]) -> list[str]:
    """Markdown rows of ``codesign_whatif.summary``: within-10% share and tau per coordinate system
    (a "selected" column when the rows have it)."""
    extra = [c for c in ("selected", "second_order") if all(c in e for e in summary.values())]
    lines = ["| workload | merit | json: within 10% (worst) | tau (worst) | met | rates: within 10% (worst) | "
             "tau (worst) | met | physical: within 10% |"
             + "".join(f" {c}: within 10% (worst) | tau (worst) | met |" for c in extra),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|---:|---:|" * len(extra)]
    for name, e in summary.items():
        j, r, p = e["json"], e["rates"], e["physical"]
        line = (
            f"| {name} | {e['value_mean']:.3f} | {100 * j['within_10pct_mean']:.0f}% "
            f"({100 * j['within_10pct_min']:.0f}%) | {j['tau_mean']:.2f} ({j['tau_min']:.2f}) | "
            f"{j['cases_meeting_target']}/{e['cases']} | "
            f"{100 * r['within_10pct_mean']:.0f}% ({100 * r['within_10pct_min']:.0f}%) | {r['tau_mean']:.2f} "
            f"({r['tau_min']:.2f}) | {r['cases_meeting_target']}/{e['cases']} | {100 * p['within_10pct_mean']:.0f}% |")
        for c in extra:
            x = e[c]
            line += (f" {100 * x['within_10pct_mean']:.0f}% ({100 * x['within_10pct_min']:.0f}%) | "
                     f"{x['tau_mean']:.2f} ({x['tau_min']:.2f}) | {x['cases_meeting_target']}/{e['cases']} |")
        lines.append(line)
    return lines


def whatif_totals(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Pairs (workload x device) meeting each part of the target, per coordinate system."""
    out: dict[str, Any] = {}
    for coord in ("json", "rates", "physical"):
        cases = sum(e["cases"] for s in summaries for e in s.values())
        met = sum(e[coord]["cases_meeting_target"] for s in summaries for e in s.values())
        out[coord] = {"pairs": cases, "target_met": met}
    return out


def whatif_pair_counts(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per coordinate system: pairs with tau >= 0.8, with all 20 within 10%, and both."""
    out = {}
    for coord in [c for c in ("json", "rates", "physical", "selected", "second_order") if all(c in r for r in rows)]:
        tau = sum(r[coord]["kendall_tau"] >= 0.8 for r in rows)
        within = sum(r[coord]["within_10pct"] == 1.0 for r in rows)
        both = sum(r[coord]["kendall_tau"] >= 0.8 and r[coord]["within_10pct"] == 1.0 for r in rows)
        out[coord] = {"pairs": len(rows), "tau_ge_0.8": tau, "all_within_10pct": within, "both": both}
    return out


def vqe_pec_table(table: dict[str, Any]) -> list[str]:
    """Markdown rows of ``codesign_vqe_pec.table``: LiH energy error per mitigation and belief."""
    lines = ["| LiH energy error, Ha (mitigation) | stale | learned | oracle | stale / learned (geo. mean) | "
             "learned better in | mean stderr |", "|---|---:|---:|---:|---:|---:|---:|"]
    for method, e in table.items():
        n = len(e["per_seed_stale"])
        lines.append(f"| {method} | {e['stale_error_mean']:.4f} | {e['learned_error_mean']:.4f} | "
                     f"{e['oracle_error_mean']:.4f} | {e.get('stale_over_learned_gmean', math.nan):.2f}x | "
                     f"{e.get('learned_better_in', '-')}/{n} | {e['stderr_mean']:.4f} |")
    return lines


def coupling_row(label: str, result: dict[str, Any]) -> str:
    """One markdown row of a ``codesign_coupling`` result: held-out geometric means and the searched map's gains."""
    held = result["summary"]["heldout"]
    s = result["searched"]
    evals = f"{s.get('earlier_evaluations', 0) + s['evaluations']} + {len(s.get('reranked') or [])} reranked"
    refs = [k for k in ("heavy_hex", "grid", "ring") if k in held]
    gains = " / ".join(f"{100 * held[k]['gain_of_searched']:.1f}%" for k in refs)
    maps = " | ".join(f"{held[k]['geomean_cx']:.1f}" for k in refs)
    met = all(held[k]["gain_of_searched"] >= 0.2 for k in refs)
    return (f"| {label} | {evals} | {s['edges']} | {held['searched']['geomean_cx']:.1f} | {maps} | {gains} | "
            f"{'yes' if met else 'no'} |")


COUPLING_HEADER = ["| family | evaluations | searched edges | searched | heavy-hex (16) | grid 4x4 (24) | ring (16) | "
                   "gain vs heavy-hex / grid / ring | >= 20% vs all |", "|---|---|---:|---:|---:|---:|---:|---|---|"]


def print_tables(results: Path = RESULTS) -> dict[str, Any]:
    """Print the three tables from the JSON under ``results``; return what was found (for tests)."""
    found: dict[str, Any] = {}
    loop = results / LOOP_FILE.name
    if loop.exists():
        data = json.loads(loop.read_text())
        print(f"## Loop vs stale calibration ({loop.name})\n")
        print("\n".join(loop_table(data["table"])) + "\n")
        found["loop"] = data["table"]
    pec = results / VQE_PEC_FILE.name
    if pec.exists():
        data = json.loads(pec.read_text())
        print(f"## LiH VQE with readout + PEC from the believed noise model ({pec.name}, seeds {data.get('seeds')})\n")
        print("\n".join(vqe_pec_table(data["table"])) + "\n")
        found["vqe_pec"] = data["table"]
    for key, files in (("whatif", WHATIF_FILES), ("whatif_test", WHATIF_TEST_FILES),
                       ("whatif_test_s34", WHATIF_TEST_S34_FILES)):
        rows = []
        for label, path in files.items():
            p = results / path.name
            if p.exists():
                data = json.loads(p.read_text())
                print(f"## Hardware what-if, {label} ({p.name})\n")
                print("\n".join(whatif_table(data["summary"])) + "\n")
                rows.extend(data["rows"])
        if rows:
            counts = whatif_pair_counts(rows)
            for coord, c in counts.items():
                print(f"what-if {coord}: tau >= 0.8 on {c['tau_ge_0.8']}/{c['pairs']} pairs, all 20 within 10% on "
                      f"{c['all_within_10pct']}/{c['pairs']}, both (the target) on {c['both']}/{c['pairs']}")
            print()
            found[key] = counts
    lines = []
    for label, name in COUPLING_FILES.items():
        p = results / name
        if p.exists():
            lines.append(coupling_row(label, json.loads(p.read_text())))
    if lines:
        print("## Coupling-map search (held-out geometric mean of routed CX)\n")
        print("\n".join(COUPLING_HEADER + lines) + "\n")
        found["coupling"] = lines
    bounds = {}
    for name in COUPLING_BOUND_FILES:
        p = results / name
        if p.exists():
            bound = json.loads(p.read_text())
            family = json.loads((HERE / bound["family_result"]).read_text())
            bounds[bound["family"]] = coupling_bound_gains(bound, family)
    if bounds:
        print("## Coupling-map search: maps tailored to one held-out circuit each (best of tailored and family map)\n")
        for fam, gains in bounds.items():
            print(f"{fam}: geomean {gains['tailored_geomean']:.1f}; " + ", ".join(
                f"vs {k} {100 * v:.1f}% (needs 20%: {'yes' if v >= 0.2 else 'no'})" for k, v in gains["gain"].items()))
        print()
        found["coupling_bound"] = bounds
    return found


COUPLING_BOUND_FILES = ("codesign_coupling_bound_qaoa.json", "codesign_coupling_bound_chem.json")


def coupling_bound_gains(bound: dict[str, Any], family: dict[str, Any]) -> dict[str, Any]:
    """Gain of the per-circuit tailored maps (``codesign_coupling_bound``'s ``best``) over each reference map,
    from the family run's held-out geometric means (the same held-out circuits, router, seed and trials)."""
    held = family["summary"]["heldout"]
    best = bound["geomean_cx"]["best"]
    if abs(held["searched"]["geomean_cx"] - bound["geomean_cx"]["family"]) > 1e-6:
        raise ValueError("coupling bound and family result were not measured on the same held-out circuits")
    return {"tailored_geomean": best,
            "gain": {k: 1 - best / held[k]["geomean_cx"] for k in ("heavy_hex", "grid", "ring") if k in held}}


# ---------------------------------------------------------------- runs

def run_loop(args: argparse.Namespace) -> dict[str, Any]:
    import platform

    import codesign_loop as cl

    if args.quick:
        cfg = dict(QUICK_LOOP)
    else:
        cfg = {"seeds": [0, 1, 2, 3, 4], "n_qubits": 10, "workloads": ["ghz", "vqe_lih", "classifier", "qec_memory"],
               "learn_shots": cl.LEARN_SHOTS, "shots": {}, "options": {}}
    if args.seeds:
        cfg["seeds"] = args.seeds
    if args.workloads:
        cfg["workloads"] = args.workloads
    t0 = time.perf_counter()
    rows = cl.run(cfg["seeds"], cfg["workloads"], "loop", cfg["n_qubits"], shots=cfg["shots"],
                  options=cfg["options"], learn_shots=cfg["learn_shots"])
    result = {"bench": "codesign loop", "quick": args.quick, **cfg, "learn": "loop",
              "machine": platform.platform(), "seconds": time.perf_counter() - t0,
              "rows": rows, "table": cl.table(rows)}
    print("\n".join(loop_table(result["table"])))
    return result


def run_whatif(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    import codesign_whatif as cw
    from qtandem.circuit.library import ghz
    from qtandem.codesign import Workload
    from qtandem.device import Device

    torch.set_num_threads(1)
    rows = []
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2, 3, 4])
    for seed in seeds:
        if args.quick:
            device = Device.random(4, "line", seed=seed)
            works = [Workload(ghz(4), "fidelity", name="ghz4_fidelity")]
        else:
            device = Device.random(8, "heavy_hex", seed=seed)
            works = cw.vqe_workloads() if args.set == "vqe" else cw.workloads(seed)
        for work in works:
            rows.append(cw.run_case(work, device, seed))
            print(f"{work.name} device {seed}: " + ", ".join(
                f"{c} within {rows[-1][c]['within_10pct']:.2f} tau {rows[-1][c]['kendall_tau']:.2f}"
                for c in cw.COORDINATES), flush=True)
    summ = cw.summary(rows)
    print("\n".join(whatif_table(summ)))
    counts = whatif_pair_counts(rows)
    print(json.dumps(counts))
    return {"benchmark": "codesign_whatif", "quick": args.quick, "seeds": seeds, "summary": summ,
            "pair_counts": counts, "rows": rows}


def run_coupling(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    import codesign_coupling as cc

    argv = ["--family", args.family, "--out", str(out)]
    if args.quick:
        argv += ["--train", "2", "--heldout", "2", "--budget", "8", "--rerank", "1", "--search-trials", "1",
                 "--eval-trials", "1", "--maps", "heavy_hex,grid,ring", "--ops", "3"]
    elif args.family == "chem":
        argv += ["--ops", "8", "--train", "5", "--heldout", "8", "--budget", "100", "--eval-trials", "4",
                 "--maps", "heavy_hex,grid,ring"]
    else:
        argv += ["--budget", "250", "--maps", "heavy_hex,grid,ring"]
    cc.main(argv)
    result: dict[str, Any] = json.loads(out.read_text())
    print("\n".join([*COUPLING_HEADER, coupling_row(args.family, result)]))
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["loop", "whatif", "coupling", "vqe_pec", "tables"])
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke run (not the README's settings)")
    ap.add_argument("--seeds", type=int, nargs="*", default=None)
    ap.add_argument("--workloads", nargs="*", default=None, help="loop: workloads (default all four)")
    ap.add_argument("--set", choices=["standard", "vqe"], default="standard", help="whatif: workload set")
    ap.add_argument("--family", choices=["qaoa", "chem"], default="qaoa", help="coupling: workload family")
    ap.add_argument("--results", type=Path, default=RESULTS, help="tables: folder of the result JSON")
    ap.add_argument("--out", type=Path, default=None, help="where the run's JSON goes (default: a bench/results "
                                                           "file named after the subcommand; --quick: none)")
    args = ap.parse_args(argv)
    if args.what == "tables":
        print_tables(args.results)
        return
    out = args.out
    if out is None and not args.quick:
        out = RESULTS / {"loop": "codesign_loop_run.json", "whatif": "codesign_whatif_run.json",
                         "vqe_pec": "codesign_vqe_pec_run.json",
                         "coupling": f"codesign_coupling_{args.family}_run.json"}[args.what]
    if args.what == "coupling":
        import tempfile

        target = out or Path(tempfile.mkdtemp()) / "coupling.json"
        run_coupling(args, target)
        return
    if args.what == "vqe_pec":
        import tempfile

        import codesign_vqe_pec as cv

        target = out or Path(tempfile.mkdtemp()) / "vqe_pec.json"
        argv_pec = ["--out", str(target)]
        if args.seeds:
            argv_pec += ["--seeds", *map(str, args.seeds)]
        elif args.quick:
            argv_pec += ["--seeds", "0"]
        if args.quick:
            argv_pec += ["--shots", "2000", "--samples", "10", "--n-qubits", "8"]
        cv.main(argv_pec)
        print("\n".join(vqe_pec_table(json.loads(target.read_text())["table"])))
        return
    result = run_loop(args) if args.what == "loop" else run_whatif(args)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        tmp.replace(out)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
