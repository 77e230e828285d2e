"""Warm starts along dissociation curves: evaluations to chemical accuracy and to convergence, per start.

For each molecule and optimizer, :func:`qtandem.chem.curve` solves the whole curve three times (equilibrium first,
then outward): ``cold`` (every point from Hartree-Fock), ``transfer`` (the aligned neighbour's parameters) and
``learned`` (:class:`qtandem.chem.warmstart.WarmStartModel` fitted on every solved point). The issue's score is
the sum over the *stretched half* of each curve (the upper half of the distances by count) of the evaluations
to chemical accuracy (1.6 mHa from CASCI of the same active space), at equal final accuracy (every run converges
to the same tolerance; the final errors are printed beside).

Splits: ``--split dev`` runs shifted grids (H2 and LiH at other bond lengths) for choosing the model's
``max_points``; ``--split test`` runs the reported grids (H2, LiH CAS(2,5), N2 CAS(6,6), 10+ points to >= 3 A).

Run (one shard per molecule and split, lane A, under ~8 minutes each; CNOTs uncompiled, compile_level=None)::

    flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        .venv/bin/python bench/chem_curves.py --split test --molecule h2 --optimizers bfgs,cobyla
    .venv/bin/python bench/chem_curves.py --merge      # bench/results/chem_curves.json + a table
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

MOLECULES: dict[str, dict[str, Any]] = {
    "h2": {"template": "H 0 0 0; H 0 0 {d}", "active": None,
           "test": [0.5, 0.6, 0.74, 0.9, 1.1, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1],
           "dev": [0.55, 0.8, 1.0, 1.2, 1.45, 1.75, 2.05, 2.35, 2.65, 2.95, 3.25]},
    "lih": {"template": "Li 0 0 0; H 0 0 {d}", "active": (2, 5),
            "test": [1.0, 1.2, 1.4, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1, 3.4],
            "dev": [1.1, 1.3, 1.5, 1.75, 2.05, 2.35, 2.65, 2.95, 3.25, 3.55]},
    "n2": {"template": "N 0 0 0; N 0 0 {d}", "active": (6, 6),
           "test": [0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7, 1.9, 2.2, 2.5, 2.8, 3.1],
           "dev": []},
}
INITS = ("cold", "transfer", "two-level", "learned")


def stretched(distances: list[float]) -> list[float]:
    """The upper half of the distances by count (the issue's 'stretched half')."""
    ds = sorted(distances)
    return ds[len(ds) // 2:]


def summarize(points: list[dict[str, Any]], distances: list[float]) -> dict[str, Any]:
    far = set(stretched(distances))
    sel = [p for p in points if p["distance"] in far]
    reached = [p for p in sel if p["evaluations_to_accuracy"] is not None]
    return {
        "stretched_distances": sorted(far),
        "evaluations_to_accuracy": sum(p["evaluations_to_accuracy"] if p["evaluations_to_accuracy"] is not None
                                       else p["n_evaluations"] for p in sel),
        "points_reaching_accuracy": len(reached), "points": len(sel),
        "evaluations_to_convergence": sum(p["n_evaluations"] for p in sel),
        "max_abs_final_error_mha": max(abs(p["error"]) * 1e3 for p in sel),
        "curve_evaluations_to_accuracy": sum(p["evaluations_to_accuracy"] if p["evaluations_to_accuracy"] is not None
                                             else p["n_evaluations"] for p in points),
        "curve_evaluations_to_convergence": sum(p["n_evaluations"] for p in points),
    }


def run(split: str, molecule: str, optimizers: list[str], inits: list[str], max_points: int | None,
        max_evaluations: int | None, ansatz: str) -> dict[str, Any]:
    from qtandem.chem.curve import build_problems, curve
    from qtandem.chem.warmstart import WarmStartModel

    spec = MOLECULES[molecule]
    distances = spec[split]
    if not distances:
        raise SystemExit(f"no {split} grid for {molecule}")
    t0 = time.perf_counter()
    problems = build_problems(spec["template"], distances, active=spec["active"])
    out: dict[str, Any] = {"molecule": molecule, "split": split, "ansatz": ansatz, "template": spec["template"],
                           "active": spec["active"], "distances": distances, "max_points": max_points,
                           "max_evaluations": max_evaluations, "compile_level": None,
                           "problems_s": round(time.perf_counter() - t0, 2), "runs": {}}
    for optimizer in optimizers:
        for init in inits:
            t0 = time.perf_counter()
            model = WarmStartModel(max_points=max_points) if init == "learned" else None
            res = curve(spec["template"], distances, active=spec["active"], ansatz=ansatz, init=init,
                        optimizer=optimizer, model=model, max_evaluations=max_evaluations, seed=0,
                        compile_level=None, problems=problems)
            points = res.to_json()["points"]
            key = f"{optimizer}/{init}"
            out["runs"][key] = {"optimizer": optimizer, "init": init, "points": points,
                                "summary": summarize(points, distances),
                                "time_s": round(time.perf_counter() - t0, 2)}
            print(json.dumps({molecule: key, **out["runs"][key]["summary"]}), flush=True)
    return out


def merge() -> dict[str, Any]:
    shards = sorted(p for p in RESULTS.glob("chem_curves_*.json"))
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for path in shards:
        data = json.loads(path.read_text())
        for run in data["runs"].values():
            key = (data["molecule"], data["split"], run["optimizer"], str(data["max_points"]))
            row = rows.setdefault(key, {"molecule": key[0], "split": key[1], "optimizer": key[2],
                                        "ansatz": data["ansatz"], "max_points": data["max_points"], "shards": []})
            if path.name not in row["shards"]:
                row["shards"].append(path.name)
            row[run["init"]] = run["summary"]
    merged: dict[str, Any] = {"shards": [p.name for p in shards], "rows": list(rows.values())}
    for row in merged["rows"]:
        tr, le = row.get("transfer"), row.get("learned")
        if tr and le and tr["evaluations_to_accuracy"]:
            row["learned_saving_vs_transfer"] = 1 - le["evaluations_to_accuracy"] / tr["evaluations_to_accuracy"]
    (RESULTS / "chem_curves.json").write_text(json.dumps(merged, indent=1) + "\n")
    print(f"{'molecule':8} {'split':5} {'opt':7} {'k':>4} {'cold':>6} {'transfer':>8} {'2-level':>7} {'learned':>7} "
          f"{'saving':>7}  {'to convergence c/t/2/l':<26} {'max final err mHa c/t/2/l'}")
    for r in merged["rows"]:
        c, t, tl, ll = (r.get(k) or {} for k in INITS)
        saving = r.get("learned_saving_vs_transfer")
        conv = "/".join(str(x.get("evaluations_to_convergence", "-")) for x in (c, t, tl, ll))
        errs = "/".join(f"{x.get('max_abs_final_error_mha', float('nan')):.2g}" for x in (c, t, tl, ll))
        print(f"{r['molecule']:8} {r['split']:5} {r['optimizer']:7} {r['max_points']!s:>4} "
              f"{c.get('evaluations_to_accuracy', '-'):>6} "
              f"{t.get('evaluations_to_accuracy', '-'):>8} {tl.get('evaluations_to_accuracy', '-'):>7} "
              f"{ll.get('evaluations_to_accuracy', '-'):>7} {'-' if saving is None else f'{saving:.0%}':>7}  "
              f"{conv:<26} {errs}")
    return merged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("dev", "test"), default="test")
    ap.add_argument("--molecule", choices=sorted(MOLECULES), default="h2")
    ap.add_argument("--optimizers", default="bfgs,cobyla")
    ap.add_argument("--ansatz", default="uccsd")
    ap.add_argument("--inits", default=",".join(INITS))
    ap.add_argument("--max-points", type=int, default=3, help="WarmStartModel(max_points=...); 0 = all points")
    ap.add_argument("--max-evaluations", type=int, default=None)
    ap.add_argument("--tag", default="", help="suffix of the result file")
    ap.add_argument("--merge", action="store_true")
    args = ap.parse_args(argv)
    if args.merge:
        merge()
        return 0
    t0 = time.perf_counter()
    out = run(args.split, args.molecule, args.optimizers.split(","), args.inits.split(","), args.max_points or None,
              args.max_evaluations, args.ansatz)
    out["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(), "threads": 1}
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    name = f"chem_curves_{args.split}_{args.molecule}{'_' + args.tag if args.tag else ''}.json"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS / name} ({out['wall_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
