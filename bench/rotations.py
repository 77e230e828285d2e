"""RotationMerge and GraySynth on generated circuits (development set): with and without them in the presets.

For each family of :data:`qtandem.compile.generate.FAMILIES`, each basis and each seed, the
circuit is optimized at ``--level`` by :func:`qtandem.compile.optimize` twice: once with the
presets as shipped and once with ``rotation_merge`` and ``graysynth`` filtered out of
:func:`~qtandem.compile.optimize.preset_passes`. Gates and CX of both, their ratio, and the
geometric means per family are printed; ``--json`` writes the raw rows. Every result is verified
by ``optimize`` itself. Only generated circuits: MQT Bench is the test set and is never run here.

Run (under the CPU lock): flock /tmp/qtandem-cpu.lock python bench/rotations.py --level 2 --json
bench/results/rotations_l2.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import time
from pathlib import Path

from qtandem.compile.generate import FAMILIES, generate

MINE = ("rotation_merge", "graysynth")
opt = importlib.import_module("qtandem.compile.optimize")  # the package re-exports a function of that name
stretches = importlib.import_module("qtandem.compile.stretches")  # where level 3 looks its presets up


def run(circuit, level: int, objective: str, without: bool, policy: str | None = None):
    original = stretches.preset_passes
    if without:
        stretches.preset_passes = lambda *a, **k: [p for p in original(*a, **k) if p.name not in MINE]  # type: ignore
    try:
        t0 = time.perf_counter()
        out, _ = opt.optimize(circuit, level=level, objective=objective, seed=0, policy=policy)
        return out, time.perf_counter() - t0
    finally:
        stretches.preset_passes = original


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=int, default=2)
    ap.add_argument("--objective", default="gates")
    ap.add_argument("--bases", default="ibm,nam")
    ap.add_argument("--sizes", default="4,6")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--nam", default="", help="instead: these Nam-suite circuits (comma-separated, 'quick': "
                    "bench/compile.py's QUICK list) at --level with the learned search")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.nam:
        return nam(args)
    rows = []
    for family in args.families.split(","):
        for basis in args.bases.split(","):
            for n in (int(s) for s in args.sizes.split(",")):
                for seed in range(args.seeds):
                    c = generate(family, n, seed=seed, basis=basis)
                    base, t_base = run(c, args.level, args.objective, True)
                    new, t_new = run(c, args.level, args.objective, False)
                    row = {"family": family, "basis": basis, "n": n, "seed": seed, "input_gates": c.num_gates(),
                           "input_cx": c.count_ops().get("cx", 0),
                           "without_gates": base.num_gates(), "without_cx": base.count_ops().get("cx", 0),
                           "with_gates": new.num_gates(), "with_cx": new.count_ops().get("cx", 0),
                           "without_s": round(t_base, 3), "with_s": round(t_new, 3)}
                    rows.append(row)
                    print(f"{family:20s} {basis:4s} n={n} s={seed}: in {row['input_gates']}/{row['input_cx']} "
                          f"without {row['without_gates']}/{row['without_cx']} with {row['with_gates']}/"
                          f"{row['with_cx']} ({t_base:.2f} s, {t_new:.2f} s)", flush=True)

    def gm(key_a: str, key_b: str, sel: list[dict]) -> float:
        vals = [max(r[key_a], 1) / max(r[key_b], 1) for r in sel]
        return math.exp(sum(math.log(v) for v in vals) / len(vals))

    summary = {}
    for basis in args.bases.split(","):
        sel = [r for r in rows if r["basis"] == basis]
        summary[basis] = {"gates_with_over_without": round(gm("with_gates", "without_gates", sel), 4),
                          "cx_with_over_without": round(gm("with_cx", "without_cx", sel), 4),
                          "worse_gates": sum(r["with_gates"] > r["without_gates"] for r in sel),
                          "better_gates": sum(r["with_gates"] < r["without_gates"] for r in sel)}
        print(basis, summary[basis])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "rows": rows,
                                         "summary": summary}, indent=1))
    return 0


def nam(args: argparse.Namespace) -> int:
    """Nam-suite circuits (development set) with and without the two passes, learned search on."""
    import sys

    from qtandem.compile import counts
    from qtandem.qasm import load

    sys.path.insert(0, str(Path(__file__).parent))
    from compile import QUICK, t_count  # bench/compile.py

    names = QUICK if args.nam == "quick" else tuple(args.nam.split(","))
    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "nam"
    rows = []
    for name in names:
        c = load(folder / f"{name}.qasm")
        row: dict = {"name": name, "input": counts(c).as_dict()}
        for label, without in (("without", True), ("with", False)):
            out, secs = run(c, args.level, args.objective, without, policy="learned")
            row[label] = counts(out).as_dict() | {"t": t_count(out), "seconds": round(secs, 2)}
        rows.append(row)
        print(name, {k: (row["without"][k], row["with"][k]) for k in ("gates", "cx", "t", "seconds")}, flush=True)
    for key in ("gates", "cx", "t"):
        vals = [max(r["with"][key], 1) / max(r["without"][key], 1) for r in rows]
        print(f"{key}: with/without geometric mean {math.exp(sum(map(math.log, vals)) / len(vals)):.4f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
