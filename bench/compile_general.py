"""General compiler benchmark: qtandem level 3 against Qiskit level 3 and tket on circuits nobody tuned for.

Sets (``--set``):

* ``dev`` (for development; tune on this): the dev half of the Nam suite (bench/data/nam_split.json;
  ../shared/data/nam, skipped with a message when absent; bench/compile.py runs the whole suite), the 15
  QASMBench "small" circuits of 4-10 qubits with at least 10 CX in {cx, rz, sx, x}
  (bench/data/qasmbench_small, pnnl/QASMBench; they contain the issue's anchors qaoa_n6, dnn_n8
  and basis_trotter_n4; see SOURCE.md there) and circuits of :mod:`qtandem.compile.generate`
  (every family at DEV_SIZES, seed 1).
* ``test`` (never tune on this): MQT Bench algorithm-level circuits (``mqt.bench.get_benchmark(name,
  BenchmarkLevel.ALG, circuit_size=n)``), every available family at the first size of each band of
  TEST_SIZES (about 5 and about 10) that generates, kept when it has 4-16 qubits, no mid-circuit
  measurement or classical control and at most MAX_INPUT_GATES gates in the basis; skipped ones are
  listed with the reason.

Every circuit runs in both bases, ``ibm`` {rz, sx, x, cx} and ``u`` {u, cx}. The common input of every
tool is the circuit as a framework emits it in that basis: Qiskit ``transpile(optimization_level=0,
basis_gates=...)`` (final measurements and barriers removed); generated circuits come in the basis.
Then, in one run, per circuit:

* qtandem: ``optimize(c, level=3, basis=..., seed=0, budget_s=BUDGET_S)``: its deterministic expansion
  budget (``qtandem.compile.search.default_budget_expansions``) with the wall-clock cap ``budget_s``
  (``--budget``, stated in the JSON; a row notes when the cap bound),
* Qiskit: ``transpile(optimization_level=3, basis_gates=..., seed_transpiler=0)``,
* tket: ``FullPeepholeOptimise()`` then ``AutoRebase`` to the basis ({CX, Rz, SX, X} or {CX, U3}).

With ``--permute`` qtandem runs with ``permute_output=True`` (its output may end in a wire permutation,
``report.permutation``, as tket's does; :mod:`qtandem.compile.permute`); the JSON says so (``"permute"``).
With ``--objective cx`` qtandem minimizes CX first (ties by total gates), the order both peers' passes
follow; the JSON records the objective (``"objective"``).

Every output of every tool is checked by ``qtandem.compile.verify.verify_equivalent`` against the
input (with the tool's final qubit permutation when it elided swaps: Qiskit's ``final_index_layout``,
tket's implicit permutation) and tolerance ATOL; a failure or an inconclusive proof is reported per row and such a
row leaves the ratios. Counts are total gates and CX as the tool returns them.

Summary per basis: geometric means of qtandem/Qiskit and qtandem/tket (gates, CX), wins/ties/losses
on gates and on CX, circuits where qtandem's output has more gates than its input, and the worst
circuits (highest qtandem/best-peer gate ratio).

Run: python bench/compile_general.py --set dev|test [--quick] [--budget 20] [--tools qtandem,qiskit,tket]
     [--only name,...] [--bases ibm,u] [--shard K/N] [--permute] [--objective gates|cx] [--json PATH]
     (default bench/results/compile_general_<set>[_quick].json). ``--shard K/N`` runs the K-th of N
     interleaved parts of the circuit list (so a long run splits into jobs that each fit a CPU-lock slot);
     ``--merge A.json B.json ... --json OUT`` joins such parts into one result with one summary;
     with ``--peers-from OLD.json`` the merged qtandem rows take Qiskit's and tket's rows of an earlier run
     (kept only where the circuit, basis and input counts are identical and the tool versions agree: both
     peers are deterministic, so rerunning them would give the same counts; a row whose input differs, such as
     MQT Bench's graphstate with its unseeded random graph, gets no peer entries and leaves the ratios).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASES: dict[str, list[str]] = {"ibm": ["cx", "rz", "sx", "x"], "u": ["cx", "u"]}
BUDGET_S = 20.0
"""Default wall-clock cap of qtandem per circuit (seconds); the expansion budget usually binds first."""
DEV_SIZES = (4, 8)
TEST_SIZES = ((5, 4, 6, 7, 8), (10, 12, 9, 11, 13, 14, 15, 16))
"""MQT Bench sizes (``circuit_size``), fixed before any test result was seen: per family, the first size of
each band that generates (many families accept only even, odd or multiple-of-k sizes)."""
ATOL = 1e-6
"""Tolerance of the exact equivalence check, the same for every tool (Qiskit's level-3 resynthesis of
basis_trotter_n4 is off by 1.1e-7 by Qiskit's own Operator, above the verifier's default 1e-8)."""
MAX_INPUT_GATES = 6000
"""Circuits with more gates than this in the basis (e.g. Grover's multi-controlled X) are skipped and listed."""
QUICK_DEV = ("qaoa_n6", "dnn_n8", "basis_trotter_n4", "tof_5", "mod5_4")
QUICK_FAMILIES = ("qaoa", "qnn", "trotter_heisenberg", "uccsd")
QUICK_TEST_SIZES = ((5, 4, 6, 7, 8),)
EXCLUDED_TEST = {"ghz_dynamic": "dynamic circuit (mid-circuit measurement)",
                 "dynamic_qft": "dynamic circuit (mid-circuit measurement)",
                 "iqpe": "dynamic circuit (mid-circuit measurement, classical control)"}


def nam_dir() -> Path | None:
    cand = HERE.parent.parent / "shared" / "data" / "nam"
    return cand if cand.is_dir() else None


def to_basis(qasm: str, basis: str) -> str:
    """The circuit in ``basis`` as Qiskit's level-0 translation emits it, without final measurements."""
    import qiskit
    from qiskit import qasm2

    qc = qasm2.loads(qasm, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    return qiskit_to_basis(qc, basis, qiskit)


def qiskit_to_basis(qc: Any, basis: str, qiskit: Any) -> str:
    from qiskit import qasm2

    qc = qc.remove_final_measurements(inplace=False)
    qc = qiskit.transpile(qc, optimization_level=0, basis_gates=BASES[basis], seed_transpiler=0)
    qc.data = [ins for ins in qc.data if ins.operation.name != "barrier"]
    return qasm2.dumps(qc)


def dev_circuits(quick: bool) -> Iterator[tuple[str, str, Callable[[str], str]]]:
    """``(name, source, basis -> OpenQASM 2 text)`` of the development set."""
    nam = nam_dir()
    if nam is None:
        print("Nam suite not found (../shared/data/nam); skipping it", file=sys.stderr)
    else:
        dev_half = set(json.loads((HERE / "data" / "nam_split.json").read_text())["dev"])
        for f in sorted(nam.glob("*.qasm")):
            if f.stem in dev_half and (not quick or f.stem in QUICK_DEV):
                yield f.stem, "nam", lambda b, f=f: to_basis(f.read_text(), b)
    for f in sorted((HERE / "data" / "qasmbench_small").glob("*.qasm")):
        name = f.stem.removesuffix("_transpiled")
        if not quick or name in QUICK_DEV:
            yield name, "qasmbench", lambda b, f=f: to_basis(f.read_text(), b)
    from qtandem.compile.generate import FAMILIES, generate

    for fam in FAMILIES:
        if quick and fam not in QUICK_FAMILIES:
            continue
        for n in DEV_SIZES[:1] if quick else DEV_SIZES:
            yield f"gen_{fam}_{n}", "generated", lambda b, fam=fam, n=n: generate(fam, n, seed=1, basis=b).to_qasm(2)


def test_circuits(quick: bool, skipped: list[dict[str, Any]],
                  only: frozenset[str] = frozenset()) -> Iterator[tuple[str, str, Callable[[str], str]]]:
    """MQT Bench algorithm-level circuits (the test set); families or sizes that do not qualify go to ``skipped``.
    With ``only`` (circuit names), families none of them belongs to are not generated."""
    import qiskit
    from mqt.bench import BenchmarkLevel, get_benchmark
    from mqt.bench.benchmarks import get_available_benchmark_names

    for fam in get_available_benchmark_names():
        if only and not any(n.rsplit("_", 1)[0] == fam for n in only):
            continue
        if fam in EXCLUDED_TEST:
            skipped.append({"name": fam, "reason": EXCLUDED_TEST[fam]})
            continue
        for band in QUICK_TEST_SIZES if quick else TEST_SIZES:
            qc, errors = None, []
            for size in band:
                try:
                    qc = get_benchmark(fam, BenchmarkLevel.ALG, circuit_size=size)
                    break
                except Exception as err:  # the family does not generate at this size: try the band's next one
                    errors.append(f"{size}: {type(err).__name__}: {err}"[:120])
            if qc is None:
                skipped.append({"name": f"{fam}_{band[0]}-{max(band)}", "reason": "does not generate: " + errors[0]})
                continue
            name = f"{fam}_{size}"
            qc = qc.remove_final_measurements(inplace=False)
            bad = {ins.operation.name for ins in qc.data} & {"measure", "reset", "if_else", "while_loop", "for_loop"}
            if not 4 <= qc.num_qubits <= 16 or bad:
                why = f"{qc.num_qubits} qubits" + (f", {sorted(bad)}" if bad else "")
                skipped.append({"name": name, "reason": why})
                continue
            yield name, "mqt_bench", lambda b, qc=qc: qiskit_to_basis(qc, b, qiskit)


def one_register(c: Any) -> Any:
    """``c``'s gates on one register ``q`` (tket writes several registers back sorted by name, which
    would reorder the wires of a multi-register input such as adder_n10)."""
    from qtandem import Circuit

    flat = Circuit(c.n_qubits)
    for ins in c:
        if ins.name not in ("barrier", "measure"):
            flat.append(ins.name, list(ins.qubits), list(ins.params))
    return flat


def gate_counts(c: Any) -> dict[str, int]:
    from qtandem.compile import counts

    k = counts(c)
    return {"gates": k.gates, "cx": k.cx, "depth": k.depth}


def check(inp: Any, out: Any, permutation: list[int] | None) -> str:
    """``"ok"``, or why the output is not proved equivalent to the input."""
    from qtandem.compile.verify import verify_equivalent
    from qtandem.errors import VerificationError

    try:
        verify_equivalent(inp, out, permutation=permutation, atol=ATOL)
    except VerificationError as err:
        msg = str(err)
        unproved = "inconclusive" in msg and "not equivalent" not in msg
        return ("inconclusive: " if unproved else "FAILED: ") + msg[:200]
    return "ok"


QTANDEM_OPTIONS: dict[str, Any] = {}
"""Extra ``optimize`` keywords of this run (``--permute``: ``permute_output=True``)."""


def run_qtandem(inp: Any, qasm: str, basis: str, budget: float) -> dict[str, Any]:
    from qtandem.compile import optimize
    from qtandem.errors import CompileError

    t0 = time.perf_counter()
    try:
        out, report = optimize(inp, level=3, basis=basis if basis == "ibm" else set(BASES[basis]),
                               budget_s=budget, seed=0, **QTANDEM_OPTIONS)
        how = basis
    except CompileError as err:
        if "basis" not in str(err):
            raise
        out, report = optimize(inp, level=3, budget_s=budget, seed=0, **QTANDEM_OPTIONS)  # the input's own gates
        how = "input's gates (basis not named)"
    secs = time.perf_counter() - t0
    row = {**gate_counts(out), "seconds": round(secs, 3), "basis_arg": how,
           "time_bound": any("(budget)" in n or "stopped: time" in n for n in report.notes)}
    extra = set(out.count_ops()) - set(BASES[basis])
    if extra:
        row["off_basis"] = sorted(extra)
    perm = report.permutation
    if QTANDEM_OPTIONS.get("permute_output"):
        row["permuted"] = perm is not None
    row["verified"] = check(inp, out, perm)
    return row


def run_qiskit(inp: Any, qasm: str, basis: str, budget: float) -> dict[str, Any]:
    import qiskit
    from qiskit import qasm2

    from qtandem import Circuit

    qc = qasm2.loads(qasm, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    t0 = time.perf_counter()
    out = qiskit.transpile(qc, optimization_level=3, basis_gates=BASES[basis], seed_transpiler=0)
    secs = time.perf_counter() - t0
    perm = out.layout.final_index_layout() if out.layout is not None else None
    c = Circuit.from_qasm(qasm2.dumps(out))
    if perm is not None and list(perm) == list(range(len(perm))):
        perm = None
    return {**gate_counts(c), "seconds": round(secs, 3), "permuted": perm is not None,
            "verified": check(inp, c, perm)}


def run_tket(inp: Any, qasm: str, basis: str, budget: float) -> dict[str, Any]:
    from pytket import OpType
    from pytket.passes import AutoRebase, FullPeepholeOptimise
    from pytket.qasm import circuit_from_qasm_str, circuit_to_qasm_str

    from qtandem import Circuit

    circ = circuit_from_qasm_str(qasm)
    gates = {"ibm": {OpType.CX, OpType.Rz, OpType.SX, OpType.X}, "u": {OpType.CX, OpType.U3}}[basis]
    t0 = time.perf_counter()
    FullPeepholeOptimise().apply(circ)
    AutoRebase(gates).apply(circ)
    secs = time.perf_counter() - t0
    implicit = circ.implicit_qubit_permutation()
    perm: list[int] | None = [0] * circ.n_qubits
    for q, r in implicit.items():  # tket maps output wire -> where the input's state is; qtandem wants the inverse
        perm[r.index[0]] = q.index[0]  # type: ignore[index]
    if perm == list(range(circ.n_qubits)):
        perm = None
    c = Circuit.from_qasm(circuit_to_qasm_str(circ))
    return {**gate_counts(c), "seconds": round(secs, 3), "permuted": perm is not None,
            "verified": check(inp, c, perm)}


TOOLS: dict[str, Callable[[Any, str, str, float], dict[str, Any]]] = {
    "qtandem": run_qtandem, "qiskit": run_qiskit, "tket": run_tket}


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def good(r: dict[str, Any], tool: str) -> bool:
    v = r.get(tool)
    return bool(v) and "error" not in v and v.get("verified") == "ok" and not v.get("off_basis")


def summarize(rows: list[dict[str, Any]], tools: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for basis in BASES:
        sel = [r for r in rows if r["basis"] == basis]
        if not sel:
            continue
        block: dict[str, Any] = {"circuits": len(sel)}
        for tool in tools:
            ok = [r for r in sel if good(r, tool)]
            block[tool] = {
                "n_verified": len(ok),
                "not_verified": [f"{r['name']}: {r[tool].get('error') or r[tool].get('verified')}"
                                 for r in sel if tool in r and not good(r, tool)],
                "over_input": {m: round(geomean([max(r[tool][m], 1) / max(r["input"][m], 1) for r in ok]), 4)
                               for m in ("gates", "cx")},
                "worse_than_input_gates": [r["name"] for r in ok if r[tool]["gates"] > r["input"]["gates"]],
                "max_seconds": round(max((r[tool]["seconds"] for r in ok), default=0.0), 2),
                "total_seconds": round(sum(r[tool]["seconds"] for r in ok), 1)}
        if "qtandem" in tools:
            for peer in [t for t in tools if t != "qtandem"]:
                both = [r for r in sel if good(r, "qtandem") and good(r, peer)]
                cmp: dict[str, Any] = {"n": len(both)}
                for m in ("gates", "cx"):
                    ratios = [max(r["qtandem"][m], 1) / max(r[peer][m], 1) for r in both]
                    cmp[m] = round(geomean(ratios), 4)
                    cmp[f"{m}_wins_ties_losses"] = [sum(r["qtandem"][m] < r[peer][m] for r in both),
                                                   sum(r["qtandem"][m] == r[peer][m] for r in both),
                                                   sum(r["qtandem"][m] > r[peer][m] for r in both)]
                block[f"qtandem_over_{peer}"] = cmp
            peers = [t for t in tools if t != "qtandem"]
            scored = [(max(r["qtandem"]["gates"], 1) / max(min(r[p]["gates"] for p in peers if good(r, p)), 1),
                       r["name"]) for r in sel if good(r, "qtandem") and any(good(r, p) for p in peers)]
            block["worst_vs_best_peer_gates"] = [f"{n}: {x:.3f}" for x, n in sorted(scored, reverse=True)[:8]]
        out[basis] = block
    return out


def progress_line(row: dict[str, Any], tools: list[str]) -> str:
    parts = []
    for t in tools:
        v = row[t]
        note = "" if v.get("verified") == "ok" else f" ({str(v.get('verified') or v.get('error'))[:60]})"
        parts.append(f"{t} {v.get('gates', 'err')}/{v.get('cx', '')}{note}")
    return f"{row['name']} [{row['basis']}] in {row['input']['gates']}/{row['input']['cx']}: " + ", ".join(parts)


def print_table(rows: list[dict[str, Any]], summary: dict[str, Any], tools: list[str]) -> None:
    print(f"{'circuit':<30}{'basis':<6}{'input g/cx':>14}" + "".join(f"{t + ' g/cx':>22}" for t in tools))
    for r in rows:
        line = f"{r['name']:<30}{r['basis']:<6}{r['input']['gates']:>9}/{r['input']['cx']:<5}"
        for t in tools:
            v = r.get(t, {})
            if v and "error" not in v:
                flag = "" if v.get("verified") == "ok" else "!"
                line += f"{v['gates']:>10}/{v['cx']:<5}{v['seconds']:>5.1f}s{flag}"
            else:
                line += f"{'error':>22}"
        print(line)
    for basis, s in summary.items():
        print(f"\n[{basis}: {s['circuits']} circuits]")
        for t in tools:
            print(f"  {t:<8} over input {s[t]['over_input']}  verified {s[t]['n_verified']}"
                  f"  worse than input: {s[t]['worse_than_input_gates']}  total {s[t]['total_seconds']} s")
        for k in [k for k in s if k.startswith("qtandem_over_")]:
            print(f"  {k}: {s[k]}")
        if "worst_vs_best_peer_gates" in s:
            print(f"  worst (qtandem / best peer, gates): {s['worst_vs_best_peer_gates']}")


def _wtl(cmp: dict[str, Any]) -> str:
    return "/".join(map(str, cmp.get("gates_wins_ties_losses", [])))


def markdown(result: dict[str, Any]) -> str:
    """The README table of one result JSON: per basis, ratios to each peer and to the input."""
    lines = [f"{result['set']}; qtandem budget_s={result['budget_s']}; {result['versions']}",
             "", "| basis | circuits | qtandem/Qiskit gates | CX | W/T/L gates | qtandem/tket gates | CX "
             "| W/T/L gates | qtandem/input gates | CX | worse than input | unverified (q/Qiskit/tket) |",
             "|---|---:|---:|---:|---|---:|---:|---|---:|---:|---|---|"]
    for basis, s in result["summary"].items():
        q, t, me = s.get("qtandem_over_qiskit", {}), s.get("qtandem_over_tket", {}), s["qtandem"]
        unv = "/".join(str(len(s[k]["not_verified"])) for k in ("qtandem", "qiskit", "tket") if k in s)
        lines.append(f"| {basis} | {s['circuits']} | {q.get('gates')} | {q.get('cx')} | {_wtl(q)} | {t.get('gates')} "
                     f"| {t.get('cx')} | {_wtl(t)} | {me['over_input']['gates']} | {me['over_input']['cx']} "
                     f"| {len(me['worse_than_input_gates'])} | {unv} |")
    return "\n".join(lines)


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Shard results of one set joined: rows concatenated (a circuit and basis twice is an error), skipped
    entries deduplicated, wall seconds summed, the summary recomputed over all rows."""
    if not parts:
        raise SystemExit("nothing to merge")
    first = parts[0]
    for other in parts[1:]:
        for key in ("benchmark", "qtandem", "budget_s", "verify_atol", "versions"):
            if other.get(key) != first.get(key):
                raise SystemExit(f"cannot merge: {key} differs ({first.get(key)!r} vs {other.get(key)!r})")
    rows = [r for part in parts for r in part["rows"]]
    keys = [(r["name"], r["basis"]) for r in rows]
    if len(set(keys)) != len(keys):
        raise SystemExit("cannot merge: a circuit appears in two shards")
    skipped = list({s["name"]: s for part in parts for s in part["skipped"]}.values())
    tools = first.get("tools") or [t for t in TOOLS if t in rows[0]]
    merged = {**first, "rows": rows, "skipped": skipped, "tools": tools,
              "shard": [p.get("shard") for p in parts], "summary": summarize(rows, tools),
              "wall_seconds": round(sum(p["wall_seconds"] for p in parts), 1)}
    return merged


def with_peers(result: dict[str, Any], old: dict[str, Any], source: str) -> dict[str, Any]:
    """``result`` (qtandem rows) with Qiskit's and tket's rows of the earlier run ``old`` on the same inputs."""
    peers = [t for t in ("qiskit", "tket") if t not in result["tools"]]
    for pkg in ("qiskit", "pytket", "mqt.bench"):
        if old["versions"].get(pkg) != result["versions"].get(pkg):
            raise SystemExit(f"cannot reuse peers: {pkg} {old['versions'].get(pkg)} vs {result['versions'].get(pkg)}")
    by_key = {(r["name"], r["basis"]): r for r in old["rows"]}
    missing = []
    rows = [dict(r) for r in result["rows"]]
    for r in rows:
        o = by_key.get((r["name"], r["basis"]))
        if o is None or o["input"] != r["input"] or o.get("qubits") != r.get("qubits"):
            missing.append(f"{r['name']} ({r['basis']})")
            continue
        for t in peers:
            r[t] = o[t]
    tools = [*result["tools"], *peers]
    return {**result, "rows": rows, "tools": tools, "summary": summarize(rows, tools),
            "peers_from": {"file": source, "wall_seconds": old.get("wall_seconds"), "tools": peers,
                           "no_peer_row": missing,  # e.g. MQT Bench's graphstate draws a new random graph each call
                           "note": "Qiskit and tket rows (counts, seconds, verification) of the earlier run on "
                                   "identical inputs with the same versions; both tools are deterministic here"}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", dest="which", choices=("dev", "test"), default="dev")
    ap.add_argument("--quick", action="store_true", help="a small subset (dev: QUICK_DEV and QUICK_FAMILIES)")
    ap.add_argument("--budget", type=float, default=BUDGET_S, help="qtandem's wall-clock cap per circuit, seconds")
    ap.add_argument("--tools", default="qtandem,qiskit,tket")
    ap.add_argument("--bases", default="ibm,u")
    ap.add_argument("--only", default="", help="comma-separated circuit names (with --merge: keep only these rows)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--markdown", type=Path, default=None, help="print the README table of a result JSON and exit")
    ap.add_argument("--shard", default="1/1", help="K/N: run every N-th circuit starting at the K-th")
    ap.add_argument("--merge", type=Path, nargs="+", default=None, help="join shard JSONs into --json and exit")
    ap.add_argument("--peers-from", type=Path, default=None, help="with --merge: peers' rows from this earlier run")
    ap.add_argument("--permute", action="store_true",
                    help="qtandem may end in a wire permutation (optimize(permute_output=True)), as tket does")
    ap.add_argument("--objective", default="gates", choices=("gates", "cx"),
                    help="qtandem's objective (optimize(objective=...)); both peers put two-qubit gates first")
    args = ap.parse_args(argv)
    if args.permute:
        QTANDEM_OPTIONS["permute_output"] = True
    if args.objective != "gates":
        QTANDEM_OPTIONS["objective"] = args.objective
    if args.markdown is not None:
        print(markdown(json.loads(args.markdown.read_text())))
        return 0
    if args.merge is not None:
        if args.json is None:
            raise SystemExit("--merge needs --json OUT")
        merged = merge([json.loads(f.read_text()) for f in args.merge])
        if args.only:  # a subset of an earlier run, e.g. to compare it with a partial rerun
            names = set(args.only.split(","))
            merged["rows"] = [r for r in merged["rows"] if r["name"] in names]
            merged["summary"] = summarize(merged["rows"], merged["tools"])
            merged["only"] = sorted(names)
        if args.peers_from is not None:
            import hashlib

            raw = args.peers_from.read_bytes()
            merged = with_peers(merged, json.loads(raw), f"{args.peers_from.name} (sha256 "
                                f"{hashlib.sha256(raw).hexdigest()[:16]})")
        print_table(merged["rows"], merged["summary"], merged["tools"])
        args.json.write_text(json.dumps(merged, indent=1))
        print(f"\nwrote {args.json}")
        return 0
    shard_k, shard_n = (int(x) for x in args.shard.split("/"))
    if not 1 <= shard_k <= shard_n:
        raise SystemExit(f"--shard must be K/N with 1 <= K <= N, got {args.shard}")
    suffix = "_quick" if args.quick else ""
    args.json = args.json or HERE / "results" / f"compile_general_{args.which}{suffix}.json"
    import torch

    torch.set_num_threads(1)
    from qtandem import Circuit

    tools = args.tools.split(",")
    skipped: list[dict[str, Any]] = []
    only = frozenset(args.only.split(",")) if args.only else frozenset()
    source = dev_circuits(args.quick) if args.which == "dev" else test_circuits(args.quick, skipped, only)
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    for index, (name, origin, make) in enumerate(source):
        if args.only and name not in args.only.split(","):
            continue
        if index % shard_n != shard_k - 1:
            continue
        for basis in args.bases.split(","):
            inp = one_register(Circuit.from_qasm(make(basis)))
            qasm = inp.to_qasm(2)
            row: dict[str, Any] = {"name": name, "set": origin, "basis": basis, "qubits": inp.n_qubits,
                                   "input": gate_counts(inp)}
            if row["input"]["gates"] > MAX_INPUT_GATES:
                skipped.append({"name": f"{name} ({basis})", "reason": f"{row['input']['gates']} gates > "
                                f"MAX_INPUT_GATES={MAX_INPUT_GATES}"})
                continue
            for t in tools:
                try:
                    row[t] = TOOLS[t](inp, qasm, basis, args.budget)
                except Exception as err:  # one tool failing on one circuit must not stop the run
                    row[t] = {"error": f"{type(err).__name__}: {err}"[:300]}
            rows.append(row)
            print(progress_line(row, tools), file=sys.stderr, flush=True)
    summary = summarize(rows, tools)
    result: dict[str, Any] = {
        "benchmark": f"compile_general_{args.which}",
        "set": {"dev": "development (Nam suite, QASMBench small, qtandem.compile.generate): tuned on",
                "test": "MQT Bench algorithm level: nothing tuned on it"}[args.which],
        "qtandem": f"optimize(level=3, seed=0{', permute_output=True' if args.permute else ''}"
                   f"{f', objective={args.objective!r}' if args.objective != 'gates' else ''}): default expansion "
                   f"budget, budget_s={args.budget} wall-clock cap",
        "permute": args.permute, "objective": args.objective,
        "qiskit": "transpile(optimization_level=3, seed_transpiler=0)",
        "tket": "FullPeepholeOptimise() then AutoRebase to the basis",
        "budget_s": args.budget, "verify_atol": ATOL, "sizes": list(DEV_SIZES if args.which == "dev" else TEST_SIZES),
        "max_input_gates": MAX_INPUT_GATES, "quick": args.quick, "cpu_count": os.cpu_count(), "torch_threads": 1,
        "wall_seconds": round(time.perf_counter() - t_start, 1), "versions": versions(),
        "tools": tools, "bases": args.bases.split(","), "shard": args.shard,
        "summary": summary, "skipped": skipped, "rows": rows}
    print_table(rows, summary, tools)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    from qtandem.io import atomic_write_text

    atomic_write_text(args.json, json.dumps(result, indent=1))
    print(f"\nwrote {args.json}")
    return 0


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("qtandem", "qiskit", "pytket", "mqt.bench"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


if __name__ == "__main__":
    sys.exit(main())
