"""Circuit optimization on the Nam et al. suite (dev/test halves) and a second suite: qtandem against Qiskit and tket.

Suites (``--suite``):

* ``nam`` (default): the 34 circuits of Nam et al.'s arithmetic suite (../shared/data/nam, gate set
  {h, x, cx, rz}). The search was tuned on this suite, so it is split into a fixed **dev** half (for
  tuning from now on) and a **test** half, reported separately, plus the full suite for comparison
  with published numbers. The split is :func:`nam_split` (a seeded permutation of the sorted names,
  seed 12, made before any result was looked at) and is committed as bench/data/nam_split.json.
* ``qft_adders``: 10 circuits of the "QFT and adders" suite of the same paper (bench/data/qft_adders,
  from quantum-compiler/quartz, Apache-2.0; see SOURCE.md there). Nothing in qtandem was tuned on it.
  The files are Toffoli-level (ccx) or QFT circuits with small rotations; every tool gets the same
  input: qtandem's level-0 translation to {h, x, cx, rz} (ccx by the 7-T decomposition).

Per circuit: total gates and CX in {h, x, cx, rz}, T count in Clifford+T (rz by an odd
multiple of pi/4), depth and wall time for

* qtandem: ``optimize(circuit, level=3, seed=0)`` with its default expansion budget (deterministic,
  machine-independent); ``--budget`` is only an upper bound in seconds (a row notes when it bound),
* Qiskit: ``transpile(optimization_level=3, basis_gates=["cx", "h", "x", "rz"], seed_transpiler=0)``,
* tket: ``FullPeepholeOptimise`` then ``AutoRebase({CX, H, X, Rz})``.

Summary: geometric means of optimized/original per metric (reduction = 1 - that)
over all circuits and over the 29 circuits the Nam heavy anchor covers, and
geometric means of qtandem/Qiskit and qtandem/tket. The anchors (Nam heavy,
Qiskit and tket as measured by the suite's README) are printed beside them.
Missing peers or data are skipped with a message.

Run: python bench/compile.py [--suite nam|qft_adders] [--quick] [--budget 600] [--tools qtandem,qiskit,tket]
     [--json bench/results/compile.json]
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


SPLIT_SEED = 12
"""Seed of the Nam suite's dev/test split (issue 12); never change it after results are seen."""


def nam_split(names: list[str], seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """The fixed dev/test halves: a seeded permutation of the sorted names, first half dev."""
    import numpy as np

    order = sorted(names)
    perm = np.random.default_rng(seed).permutation(len(order))
    half = len(order) // 2
    return {"dev": sorted(order[int(i)] for i in perm[:half]), "test": sorted(order[int(i)] for i in perm[half:])}


def load_split() -> dict[str, list[str]]:
    return json.loads((HERE / "data" / "nam_split.json").read_text())


def find_data() -> Path | None:
    for cand in (HERE.parent.parent / "shared" / "data" / "nam",):
        if cand.is_dir():
            return cand
    return None


def odd_quarter(theta: float, unit: float = math.pi) -> bool:
    k = theta / (unit / 4)
    return abs(k - round(k)) < 1e-9 and round(k) % 2 == 1


def t_count(circuit: Any) -> int:
    """rz by an odd multiple of pi/4 (and t/tdg): the T count after translation to Clifford+T."""
    from qtandem.compile import counts

    return counts(circuit).t


def run_qtandem(path: Path, budget: float) -> dict[str, Any]:
    from qtandem.compile import counts, optimize
    from qtandem.qasm import load

    c = load(path)
    t0 = time.perf_counter()
    out, report = optimize(c, level=3, budget_s=budget, seed=0)
    secs = time.perf_counter() - t0
    k = counts(out)
    assert set(out.count_ops()) <= {"h", "x", "cx", "rz"}, out.count_ops()
    notes = [n for n in report.notes if n.startswith("rewrite search")]
    return {"gates": k.gates, "cx": k.cx, "t": t_count(out), "depth": k.depth, "seconds": secs,
            "verified": True, "time_bound": any("stopped: time" in n for n in notes) or any(
                "(budget)" in n for n in report.notes), "notes": notes + report.notes[-1:]}


def original_counts(path: Path) -> dict[str, Any]:
    from qtandem.compile import counts
    from qtandem.qasm import load

    c = load(path)
    k = counts(c)
    return {"gates": k.gates, "cx": k.cx, "t": k.t, "depth": k.depth, "qubits": c.n_qubits}


def translated(path: Path, folder: Path) -> Path:
    """``path`` translated to {h, x, cx, rz} by qtandem at level 0 (the common input of every tool)."""
    from qtandem.compile import optimize
    from qtandem.qasm import dump, load

    out, _ = optimize(load(path), level=0, basis="nam")
    dst = folder / path.name
    dump(out, dst, version=2)
    return dst


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


def summarize(rows: list[dict[str, Any]], tools: list[str], suite: str = "nam") -> dict[str, Any]:
    out: dict[str, Any] = {}
    subsets: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [("all", lambda r: True)]
    if suite == "nam":
        split = load_split()
        subsets += [("dev", lambda r: r["name"] in split["dev"]), ("test", lambda r: r["name"] in split["test"]),
                    ("nam29", lambda r: r["name"] not in NOT_IN_NAM_HEAVY)]
    for subset, keep in subsets:
        sel = [r for r in rows if keep(r)]
        if not sel:
            continue
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
    if suite == "nam":
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
    for subset in [k for k in ("dev", "test", "all", "nam29") if k in summary]:
        s = summary[subset]
        print(f"\n[{subset}: {s['circuits']} circuits] geometric-mean change (gates, cx, t, depth)")
        for t in tools:
            c = s[t]["change_pct"]
            print(f"  {t:<10} {c['gates']:+7.1f}% {c['cx']:+7.1f}% {c['t']:+7.1f}% {c['depth']:+7.1f}%"
                  f"   (n={s[t]['n']}, max {s[t]['max_seconds']} s)")
        for peer in ("qiskit", "tket"):
            if f"qtandem_over_{peer}" in s:
                print(f"  qtandem/{peer}: {s[f'qtandem_over_{peer}']}")
    if "anchors_pct" in summary:
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
    ap.add_argument("--suite", choices=("nam", "qft_adders"), default="nam")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)} (nam)")
    ap.add_argument("--budget", type=float, default=600.0,
                    help="upper bound on qtandem's seconds per circuit (the expansion budget binds first)")
    ap.add_argument("--tools", default="qtandem,qiskit,tket")
    ap.add_argument("--only", default="", help="comma-separated circuit names")
    ap.add_argument("--routing", action="store_true", help="also run ROUTING_SECTIONS")
    ap.add_argument("--json", type=Path, default=None,
                    help="default bench/results/compile.json (nam) or compile_qft_adders.json")
    args = ap.parse_args(argv)
    if args.json is None:
        args.json = HERE / "results" / ("compile.json" if args.suite == "nam" else f"compile_{args.suite}.json")
    data = args.data or (find_data() if args.suite == "nam" else HERE / "data" / args.suite)
    if data is None or not data.is_dir():
        print(f"{args.suite} suite not found ({'../shared/data/nam' if args.suite == 'nam' else data}); skipping",
              file=sys.stderr)
        return 0
    import torch

    torch.set_num_threads(1)  # the policy's small graphs: one thread is fastest, and the cores are shared
    files = sorted(data.glob("*.qasm"))
    if args.suite != "nam":
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="qtandem-bench-"))
        files = [translated(f, folder) for f in files]
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
    summary = summarize(rows, tools, args.suite)
    result: dict[str, Any] = {"benchmark": f"{args.suite}_suite", "budget": "default expansion budget "
                              "(qtandem.compile.search.default_budget_expansions), seed 0",
                              "budget_s_upper_bound": args.budget, "quick": args.quick,
                              "cpu_count": os.cpu_count(), "torch_threads": 1, "rows": rows, "summary": summary}
    if args.suite == "nam":
        result["split"] = load_split()
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
