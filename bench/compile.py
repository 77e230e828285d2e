"""Circuit optimization on the Nam et al. suite: qtandem against Qiskit and tket, one run.

Per circuit (OpenQASM files in ../shared/data/nam, Nam gate set {h, x, cx, rz}):
total gates and CX in {h, x, cx, rz}, T count in Clifford+T (rz by an odd
multiple of pi/4), depth and wall time for

* qtandem: ``optimize(circuit, level=3, budget_s=BUDGET)`` (verified against the input),
* Qiskit: ``transpile(optimization_level=3, basis_gates=["cx", "h", "x", "rz"], seed_transpiler=0)``,
* tket: ``FullPeepholeOptimise`` then ``AutoRebase({CX, H, X, Rz})``.

Summary: geometric means of optimized/original per metric (reduction = 1 - that)
over all circuits and over the 29 circuits the Nam heavy anchor covers, and
geometric means of qtandem/Qiskit and qtandem/tket. The anchors (Nam heavy,
Qiskit and tket as measured by the suite's README) are printed beside them.
Missing peers or data are skipped with a message.

Run: python bench/compile.py [--quick] [--budget 60] [--tools qtandem,qiskit,tket] [--json bench/results/compile.json]
Routing: ``--routing`` runs the functions in ROUTING_SECTIONS (filled in by the routing module).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
METRICS = ("gates", "cx", "t", "depth")
QUICK = ("tof_3", "tof_5", "barenco_tof_3", "mod5_4", "vbe_adder_3", "gf2^4_mult", "rc_adder_6", "mod_mult_55")
NOT_IN_NAM_HEAVY = {"grover_5", "ham15-low", "ham15-med", "ham15-high", "hwb6"}
ANCHORS = {  # geometric-mean reductions from ../shared/data/nam/README.md (gates, cx, t)
    "nam_heavy (29 circuits, published outputs)": (-27.3, -17.5, -42.3),
    "qiskit 2.6 L3 (README)": (-1.9, -1.9, -9.6),
    "tket 2.18 FullPeepholeOptimise (README)": (8.1, -2.6, -12.2),
}


def find_data() -> Path | None:
    for cand in (HERE.parent.parent / "shared" / "data" / "nam",):
        if cand.is_dir():
            return cand
    return None


def odd_quarter(theta: float, unit: float = math.pi) -> bool:
    k = theta / (unit / 4)
    return abs(k - round(k)) < 1e-9 and round(k) % 2 == 1


def run_qtandem(path: Path, budget: float) -> dict[str, Any]:
    from qtandem.compile import counts, optimize
    from qtandem.compile.passes.basis import BasisTranslation
    from qtandem.qasm import load

    c = load(path)
    t0 = time.perf_counter()
    out, report = optimize(c, level=3, budget_s=budget, seed=0)
    secs = time.perf_counter() - t0
    k = counts(out)
    t_ct = sum(1 for i in BasisTranslation("clifford_t").run(out) if i.name in ("t", "tdg"))
    assert set(out.count_ops()) <= {"h", "x", "cx", "rz"}, out.count_ops()
    return {"gates": k.gates, "cx": k.cx, "t": t_ct, "depth": k.depth, "seconds": secs,
            "verified": True, "notes": report.notes[-2:]}


def original_counts(path: Path) -> dict[str, Any]:
    from qtandem.compile import counts
    from qtandem.qasm import load

    c = load(path)
    k = counts(c)
    return {"gates": k.gates, "cx": k.cx, "t": k.t, "depth": k.depth, "qubits": c.n_qubits}


def run_qiskit(path: Path, budget: float) -> dict[str, Any]:
    import qiskit
    from qiskit import qasm2

    qc = qasm2.load(str(path), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    t0 = time.perf_counter()
    out = qiskit.transpile(qc, optimization_level=3, basis_gates=["cx", "h", "x", "rz"], seed_transpiler=0)
    secs = time.perf_counter() - t0
    ops = out.count_ops()
    t = sum(1 for ins in out.data if ins.operation.name == "rz" and odd_quarter(float(ins.operation.params[0])))
    return {"gates": int(sum(ops.values())), "cx": int(ops.get("cx", 0)), "t": t, "depth": out.depth(),
            "seconds": secs}


def run_tket(path: Path, budget: float) -> dict[str, Any]:
    from pytket import OpType
    from pytket.passes import AutoRebase, FullPeepholeOptimise
    from pytket.qasm import circuit_from_qasm

    circ = circuit_from_qasm(str(path))
    t0 = time.perf_counter()
    FullPeepholeOptimise().apply(circ)
    AutoRebase({OpType.CX, OpType.H, OpType.X, OpType.Rz}).apply(circ)
    secs = time.perf_counter() - t0
    cmds = circ.get_commands()
    t = sum(1 for cmd in cmds if cmd.op.type == OpType.Rz and odd_quarter(float(cmd.op.params[0]), 1.0))
    return {"gates": len(cmds), "cx": circ.n_gates_of_type(OpType.CX), "t": t, "depth": circ.depth(),
            "seconds": secs}


TOOLS: dict[str, Callable[[Path, float], dict[str, Any]]] = {
    "qtandem": run_qtandem, "qiskit": run_qiskit, "tket": run_tket}


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def summarize(rows: list[dict[str, Any]], tools: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for subset, keep in (("all", lambda r: True), ("nam29", lambda r: r["name"] not in NOT_IN_NAM_HEAVY)):
        sel = [r for r in rows if keep(r)]
        block: dict[str, Any] = {"circuits": len(sel)}
        for tool in tools:
            ok = [r for r in sel if tool in r and "error" not in r[tool]]
            red = {}
            for m in ("gates", "cx", "t", "depth"):
                vals = [max(r[tool][m], 1) / max(r["original"][m], 1) for r in ok if r["original"][m] > 0]
                red[m] = round(100 * (geomean(vals) - 1), 2)
            block[tool] = {"n": len(ok), "change_pct": red,
                           "max_seconds": round(max((r[tool]["seconds"] for r in ok), default=0.0), 2)}
        for peer in ("qiskit", "tket"):
            if "qtandem" in tools and peer in tools:
                both = [r for r in sel if all(t in r and "error" not in r[t] for t in ("qtandem", peer))]
                block[f"qtandem_over_{peer}"] = {
                    m: round(geomean([max(r["qtandem"][m], 1) / max(r[peer][m], 1) for r in both]), 4)
                    for m in ("gates", "cx", "t", "depth")}
        out[subset] = block
    out["anchors_pct"] = {k: dict(zip(("gates", "cx", "t"), v, strict=True)) for k, v in ANCHORS.items()}
    return out


def print_table(rows: list[dict[str, Any]], summary: dict[str, Any], tools: list[str]) -> None:
    head = f"{'circuit':<20}{'orig g/cx/t':>18}" + "".join(f"{t + ' g/cx/t':>22}" for t in tools)
    print(head)
    for r in rows:
        o = r["original"]
        line = f"{r['name']:<20}{o['gates']:>8}/{o['cx']}/{o['t']:<6}"
        for t in tools:
            v = r.get(t, {})
            ok = v and "error" not in v
            line += f"{v['gates']:>10}/{v['cx']}/{v['t']:<5}{v['seconds']:>5.1f}s" if ok else f"{'error':>22}"
        print(line)
    for subset in ("all", "nam29"):
        s = summary[subset]
        print(f"\n[{subset}: {s['circuits']} circuits] geometric-mean change (gates, cx, t, depth)")
        for t in tools:
            c = s[t]["change_pct"]
            print(f"  {t:<10} {c['gates']:+7.1f}% {c['cx']:+7.1f}% {c['t']:+7.1f}% {c['depth']:+7.1f}%"
                  f"   (n={s[t]['n']}, max {s[t]['max_seconds']} s)")
        for peer in ("qiskit", "tket"):
            if f"qtandem_over_{peer}" in s:
                print(f"  qtandem/{peer}: {s[f'qtandem_over_{peer}']}")
    print("\nanchors (README of the suite):")
    for k, v in summary["anchors_pct"].items():
        print(f"  {k}: {v}")


ROUTING_SECTIONS: list[Callable[[argparse.Namespace], dict[str, Any]]] = []
"""Routing benchmarks (filled in by the layout/routing module): each takes the args and returns a JSON block."""


def _routing_vs_qiskit(args: argparse.Namespace) -> dict[str, Any]:
    """Layout + routing on heavy_hex_27 and grid_4x4 against Qiskit (bench/compile_routing.py)."""
    import compile_routing  # bench/ is on sys.path when this script runs

    return {"name": "routing_vs_qiskit", **compile_routing.run(quick=bool(args.quick))}


ROUTING_SECTIONS.append(_routing_vs_qiskit)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--budget", type=float, default=60.0, help="qtandem seconds per circuit")
    ap.add_argument("--tools", default="qtandem,qiskit,tket")
    ap.add_argument("--only", default="", help="comma-separated circuit names")
    ap.add_argument("--routing", action="store_true", help="also run ROUTING_SECTIONS")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "compile.json")
    args = ap.parse_args(argv)
    data = args.data or find_data()
    if data is None or not data.is_dir():
        print("Nam suite not found (../shared/data/nam); skipping", file=sys.stderr)
        return 0
    files = sorted(data.glob("*.qasm"))
    if args.quick:
        files = [f for f in files if f.stem in QUICK]
    if args.only:
        files = [f for f in files if f.stem in args.only.split(",")]
    tools = []
    for t in args.tools.split(","):
        try:
            __import__({"qtandem": "qtandem", "qiskit": "qiskit", "tket": "pytket"}[t])
            tools.append(t)
        except ImportError:
            print(f"{t} not installed; skipped", file=sys.stderr)
    rows = []
    for f in files:
        row: dict[str, Any] = {"name": f.stem, "original": original_counts(f)}
        for t in tools:
            try:
                row[t] = TOOLS[t](f, args.budget)
            except Exception as err:  # a tool failing on one circuit (or unverified) must not stop the run
                row[t] = {"error": f"{type(err).__name__}: {err}"[:300]}
        rows.append(row)
        print(f"{f.stem}: " + ", ".join(f"{t} {row[t].get('gates', 'err')}" for t in tools), file=sys.stderr,
              flush=True)
    summary = summarize(rows, tools)
    result: dict[str, Any] = {"benchmark": "nam_suite", "budget_s": args.budget, "quick": args.quick,
                              "cpu_count": os.cpu_count(), "rows": rows, "summary": summary}
    if args.routing:
        result["routing"] = [fn(args) for fn in ROUTING_SECTIONS]
    print_table(rows, summary, tools)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    from qtandem.io import atomic_write_text

    atomic_write_text(args.json, json.dumps(result, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
