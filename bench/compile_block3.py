"""Three-qubit block resynthesis (passes/block3.py): what it wins at level 3, and its speed.

Development circuits only (issue 14): the Nam suite's dev half (bench/data/nam_split.json) and
circuits from :func:`qtandem.compile.generate` (every family, 4 and 6 qubits, seed 1, ibm basis).
Each circuit runs through ``optimize(level=3, seed=0)`` twice, with the pass and with its ``run``
replaced by the identity (same everything else), and the gate and CX counts of both are
recorded; ``--search`` keeps the learned rewrite search on (default off: the passes alone, which
is where the three-qubit pass acts; the search runs after them either way).

Speed: the pass alone on the dev circuits' level-2 outputs: blocks tried, syntheses (cache
misses), seconds, blocks per second.

Run: flock /tmp/qtandem-cpu.lock python bench/compile_block3.py [--max-gates 5000] [--search]
     [--json bench/results/compile_block3.json]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAM = HERE.parent.parent / "shared" / "data" / "nam"


def circuits(max_gates: int) -> list[tuple[str, object]]:
    from qtandem.compile.generate import FAMILIES, generate
    from qtandem.qasm import load

    out = []
    split = json.loads((HERE / "data" / "nam_split.json").read_text())
    for name in split["dev"]:
        path = NAM / f"{name}.qasm"
        if path.exists():
            c = load(path)
            if c.num_gates() <= max_gates:
                out.append((name, c))
    for fam in FAMILIES:
        for n in (4, 6):
            out.append((f"gen:{fam}_{n}", generate(fam, n, seed=1, basis="ibm")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-gates", type=int, default=5000)
    ap.add_argument("--search", action="store_true", help="keep level 3's learned search on")
    ap.add_argument("--objective", default="gates")
    ap.add_argument("--only", default="", help="comma-separated circuit names")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from qtandem.compile.dag import to_ops
    from qtandem.compile.optimize import optimize
    from qtandem.compile.passes import block3
    from qtandem.compile.passmanager import PropertySet

    real_run = block3.ThreeQubitResynthesis.run
    rows = []
    speed = {"blocks": 0, "synthesized": 0, "replaced": 0, "seconds": 0.0, "gates": 0}
    only = {s for s in args.only.split(",") if s}
    for name, c in circuits(args.max_gates):
        if only and name not in only:
            continue
        row: dict = {"circuit": name, "input": {"gates": c.num_gates(), "cx": c.count_ops().get("cx", 0)}}
        for label, run in (("without", lambda self, circ, props=None: circ), ("with", real_run)):
            block3.ThreeQubitResynthesis.run = run  # type: ignore[method-assign]
            block3._CACHE.clear()
            t0 = time.perf_counter()
            out, _ = optimize(c, level=3, seed=0, objective=args.objective,
                              policy="learned" if args.search else None)
            row[label] = {"gates": out.num_gates(), "cx": out.count_ops().get("cx", 0),
                          "seconds": round(time.perf_counter() - t0, 2)}
        block3.ThreeQubitResynthesis.run = real_run  # type: ignore[method-assign]
        # speed of the pass alone on the level-2 output, cold cache
        l2, _ = optimize(c, level=2)
        style = "nam" if {"h"} & set(l2.count_ops()) else "zsx"
        p = block3.ThreeQubitResynthesis(style)
        block3._CACHE.clear()
        t0 = time.perf_counter()
        p.run(l2, PropertySet(objective=args.objective))
        dt = time.perf_counter() - t0
        row["pass_alone"] = {**p.stats, "forms": p.forms, "seconds": round(dt, 3), "gates": l2.num_gates(),
                             "blocks3": len(block3.collect_blocks3(to_ops(l2)))}
        for k in ("blocks", "synthesized", "replaced"):
            speed[k] += p.stats[k]
        speed["seconds"] += dt
        speed["gates"] += l2.num_gates()
        rows.append(row)
        w, wo = row["with"], row["without"]
        print(f"{name:24s} in {row['input']['gates']:6d}/{row['input']['cx']:5d}  "
              f"without {wo['gates']:6d}/{wo['cx']:5d} "
              f"({wo['seconds']:6.1f}s)  with {w['gates']:6d}/{w['cx']:5d} ({w['seconds']:6.1f}s)  "
              f"pass alone: {p.stats['blocks']} blocks, {p.stats['synthesized']} synth, "
              f"{p.stats['replaced']} replaced, {dt:.3f}s", flush=True)

    def gm(key: str, metric: str) -> float:
        vals = [r[key][metric] / max(r["without"][metric], 1) for r in rows if r["without"][metric] > 0]
        return math.exp(sum(math.log(max(v, 1e-9)) for v in vals) / len(vals)) if vals else 1.0

    summary = {
        "circuits": len(rows),
        "gm_gates_with_over_without": round(gm("with", "gates"), 4),
        "gm_cx_with_over_without": round(gm("with", "cx"), 4),
        "worse_gates": [r["circuit"] for r in rows if r["with"]["gates"] > r["without"]["gates"]],
        "worse_cx": [r["circuit"] for r in rows if r["with"]["cx"] > r["without"]["cx"]],
        "better": [r["circuit"] for r in rows
                   if (r["with"]["gates"], r["with"]["cx"]) < (r["without"]["gates"], r["without"]["cx"])],
        "pass_speed": {**speed, "blocks_per_s": round(speed["blocks"] / max(speed["seconds"], 1e-9), 1),
                       "gates_per_s": round(speed["gates"] / max(speed["seconds"], 1e-9), 1)},
        "search": args.search, "objective": args.objective,
    }
    print(json.dumps(summary, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
