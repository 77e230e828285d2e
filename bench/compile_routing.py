"""Routing benchmark: CX count and expected success probability after layout + routing, qtandem vs Qiskit vs tket.

One run compares, on the same input circuit and the same coupling map (heavy_hex_27, grid_4x4, heavy_hex_65):

* qtandem: ``optimize(level=3, hardware=device, objective="cx", seed=...)``: level-3 passes (two-qubit blocks
  consolidated and resynthesized before routing), then the perfect-layout check (VF2) or the SABRE-style router
  (noise-weighted and hop-distance trials, swap absorption into the neighbouring CX), the post-routing cleanup
  (every two-qubit block resynthesized again) and noise-aware placement, every output verified
  (``route_and_verify``). ``--level`` runs another level.
* Qiskit: ``transpile(optimization_level=3, coupling_map=..., basis_gates=[rz, sx, x, cx], seed_transpiler=...)``
  (SabreLayout + SabreSwap with their default trials, then the level-3 optimization loop).
* tket: ``FullPeepholeOptimise(allow_swaps=False)``, ``DefaultMappingPass(Architecture)``, then
  ``KAKDecomposition``, ``CliffordSimp(allow_swaps=False)``, ``SynthesiseTket``, ``AutoRebase({cx, rz, sx, x})``,
  ``RemoveRedundancies``.

All outputs are scored by ``qtandem.compile.esp.expected_success_probability`` under the device's calibration
(noise-aware layout reported as ESP beside CX); final measurements are removed from the inputs, so ESP covers
gates and idling. Per device and set, the summary gives the CX ratio qtandem / Qiskit and qtandem / tket
(geometric mean, median, the circuit that dominates the geometric mean) and the ESP ratios.

Sets: ``dev`` (the only one the router was tuned on): seeded random circuits, QAOA circuits and the Nam suite's
development half (bench/data/nam_split.json). ``qasmbench``: 13 QASMBench circuits (bench/data/qasmbench,
selection rule in its SOURCE.md), never tuned on. ``mqt``: MQT Bench algorithm-level circuits (one size in 10-14
per family, at most 2000 CX after translation), the issue's test set, run once at the end.

Usage: ``flock /tmp/qtandem-cpu1.lock python bench/compile_routing.py --set dev [--quick] [--devices ...]``;
``--from-json FILE`` recomputes the summary from a saved run's rows. ``--reuse FILE...`` takes the Qiskit and
tket rows (CX, ESP, seconds) of the same set, device and circuit from earlier runs instead of rerunning them when
the input's qubit and CX counts match (both are seeded or deterministic: only qtandem changes between runs); each
reused row says where it came from.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx

from qtandem import Circuit
from qtandem.compile import optimize
from qtandem.compile.esp import expected_success_probability
from qtandem.compile.routing import route
from qtandem.device import Device
from qtandem.io import atomic_write_text

HERE = Path(__file__).resolve().parent
NAM = HERE.parent.parent / "shared" / "data" / "nam"
QASMBENCH = HERE / "data" / "qasmbench"
DEVICES = ("heavy_hex_27", "grid_4x4", "heavy_hex_65")
MQT_SIZES = (12, 11, 13, 10, 14)
MAX_CX = 2000


def random_circuit(n: int, m: int, seed: int) -> Circuit:
    r = random.Random(seed)
    c = Circuit(n)
    for _ in range(m):
        if r.random() < 0.5:
            c.cx(*r.sample(range(n), 2))
        else:
            c.append(r.choice(["h", "t", "s"]), [r.randrange(n)])
    return c


def qaoa(graph: nx.Graph, p: int, seed: int) -> Circuit:
    r = random.Random(seed)
    c = Circuit(graph.number_of_nodes())
    c.h(list(graph.nodes))
    for _ in range(p):
        gamma, beta = r.uniform(0, math.pi), r.uniform(0, math.pi)
        for a, b in graph.edges:
            c.cx(a, b).rz(gamma, b).cx(a, b)
        for q in graph.nodes:
            c.rx(2 * beta, q)
    return c


def _strip(c: Circuit) -> Circuit:
    """The circuit without measurements and barriers (every tool routes the same unitary)."""
    out = Circuit(c.n_qubits)
    for inst in c:
        if inst.name not in ("measure", "barrier"):
            out.append(inst)
    return out


def dev_cases(quick: bool) -> Iterator[tuple[str, Circuit]]:
    yield "random_8x60", random_circuit(8, 120, 1)
    yield "random_12x100", random_circuit(12, 200, 2)
    yield "qaoa_ring10_p2", qaoa(nx.cycle_graph(10), 2, 4)
    if quick:
        return
    yield "qaoa_3reg12_p2", qaoa(nx.random_regular_graph(3, 12, seed=6), 2, 6)
    yield "random_16x150", random_circuit(16, 300, 3)
    split = json.loads((HERE / "data" / "nam_split.json").read_text())
    for name in split["dev"]:
        path = NAM / f"{name}.qasm"
        if path.exists():
            c = Circuit.from_qasm(path.read_text())
            if c.n_qubits >= 5 and c.count_ops().get("cx", 0) <= 400:
                yield name, c


def gen_cases(quick: bool) -> Iterator[tuple[str, Circuit]]:
    """DEV analogues of the structures the test set holds (generated here, seeded; sizes differ from the test's):
    a W-state-like chain, Toffoli arithmetic, controlled swaps, a QFT, layered rotations with a ring of rzz,
    a ripple-carry adder. Tuning on these is tuning on dev."""
    r = random.Random(11)
    c = Circuit(22)
    c.x(0)
    for i in range(21):
        c.cry(r.uniform(0.3, 2.8), i, i + 1).cx(i + 1, i)
    yield "gen_wchain_22", c
    c = Circuit(12)
    for _ in range(40):
        a, b, t = r.sample(range(12), 3)
        c.ccx(a, b, t) if r.random() < 0.6 else c.cx(a, t)
        if r.random() < 0.3:
            c.x(r.randrange(12))
    yield "gen_toffoli_12", c
    if quick:
        return
    c = Circuit(15)
    c.h(list(range(4)))
    for _ in range(30):
        a, b, t = r.sample(range(15), 3)
        c.cswap(a, b, t) if r.random() < 0.6 else c.ccx(a, b, t)
    yield "gen_cswap_15", c
    n = 14
    c = Circuit(n)
    for i in range(n):
        c.h(i)
        for j in range(i + 1, n):
            c.cp(math.pi / 2 ** (j - i), j, i)
    yield "gen_qft_14", c
    c = Circuit(14)
    for _ in range(4):
        for i in range(14):
            c.ry(r.uniform(0, math.pi), i).rz(r.uniform(0, math.pi), i)
        for i in range(14):
            c.rzz(r.uniform(0, math.pi), i, (i + 3) % 14)
    yield "gen_layers_14", c
    m = 7  # Cuccaro ripple-carry adder on 2m + 2 qubits
    c = Circuit(2 * m + 2)
    ra, rb, cin, z = list(range(1, 2 * m, 2)), list(range(2, 2 * m + 1, 2)), 0, 2 * m + 1
    c.x(ra[0]).x(rb[2]).x(ra[4])

    def maj(x: int, y: int, w: int) -> None:
        c.cx(w, y).cx(w, x).ccx(x, y, w)

    def uma(x: int, y: int, w: int) -> None:
        c.ccx(x, y, w).cx(w, x).cx(x, y)

    maj(cin, rb[0], ra[0])
    for i in range(1, m):
        maj(ra[i - 1], rb[i], ra[i])
    c.cx(ra[m - 1], z)
    for i in range(m - 1, 0, -1):
        uma(ra[i - 1], rb[i], ra[i])
    uma(cin, rb[0], ra[0])
    yield "gen_adder_16", c


def qasmbench_cases(quick: bool) -> Iterator[tuple[str, Circuit]]:
    for path in sorted(QASMBENCH.glob("*.qasm"))[: 3 if quick else None]:
        yield path.stem, _strip(Circuit.from_qasm(path.read_text()))


def mqt_cases(quick: bool, skipped: list[dict[str, Any]]) -> Iterator[tuple[str, Circuit]]:
    import qiskit
    from mqt.bench import BenchmarkLevel, get_benchmark
    from mqt.bench.benchmarks import get_available_benchmark_names
    from qiskit import qasm2

    for fam in get_available_benchmark_names()[: 3 if quick else None]:
        qc = None
        for size in MQT_SIZES:
            try:
                qc = get_benchmark(fam, BenchmarkLevel.ALG, circuit_size=size)
                break
            except Exception:  # the family does not generate at this size: try the next
                continue
        if qc is None:
            skipped.append({"name": fam, "reason": f"does not generate at {MQT_SIZES}"})
            continue
        qc = qc.remove_final_measurements(inplace=False)
        bad = {ins.operation.name for ins in qc.data} & {"measure", "reset", "if_else", "while_loop", "for_loop"}
        if bad:
            skipped.append({"name": fam, "reason": f"has {sorted(bad)}"})
            continue
        qc = qiskit.transpile(qc, optimization_level=0, basis_gates=["rz", "sx", "x", "cx"], seed_transpiler=0)
        qc.data = [ins for ins in qc.data if ins.operation.name != "barrier"]
        c = Circuit.from_qasm(qasm2.dumps(qc))
        if c.count_ops().get("cx", 0) > MAX_CX:
            skipped.append({"name": f"{fam}_{qc.num_qubits}", "reason": f"more than {MAX_CX} CX"})
            continue
        yield f"{fam}_{qc.num_qubits}", c


def qiskit_route(c: Circuit, dev: Any, seed: int) -> Circuit:
    from qiskit import qasm2, transpile
    from qiskit.transpiler import CouplingMap

    edges = [[a, b] for a, b in dev.coupling_map.edges()] + [[b, a] for a, b in dev.coupling_map.edges()]
    qc = qasm2.loads(c.to_qasm(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    out = transpile(qc, coupling_map=CouplingMap(edges), basis_gates=["rz", "sx", "x", "cx"], optimization_level=3,
                    seed_transpiler=seed)
    return _widen(Circuit.from_qasm(qasm2.dumps(out)), dev)


def tket_route(c: Circuit, dev: Any) -> Circuit:
    from pytket import OpType
    from pytket.architecture import Architecture
    from pytket.passes import (
        AutoRebase,
        CliffordSimp,
        DecomposeBoxes,
        DefaultMappingPass,
        FullPeepholeOptimise,
        KAKDecomposition,
        RemoveRedundancies,
        SynthesiseTket,
    )
    from pytket.qasm import circuit_from_qasm_str, circuit_to_qasm_str

    circ = circuit_from_qasm_str(c.to_qasm())
    arch = Architecture([(int(a), int(b)) for a, b in dev.coupling_map.edges()])
    DecomposeBoxes().apply(circ)  # gate definitions of the QASM file (CustomGate): the passes need basic gates
    FullPeepholeOptimise(allow_swaps=False).apply(circ)
    DefaultMappingPass(arch).apply(circ)
    KAKDecomposition(allow_swaps=False).apply(circ)
    CliffordSimp(allow_swaps=False).apply(circ)
    SynthesiseTket().apply(circ)
    AutoRebase({OpType.CX, OpType.Rz, OpType.SX, OpType.X}).apply(circ)
    RemoveRedundancies().apply(circ)
    # physical qubits are the architecture's nodes node[i]: one register, indices = device qubits
    circ.rename_units({q: q.__class__("node", q.index[0]) for q in circ.qubits})
    return _widen(Circuit.from_qasm(circuit_to_qasm_str(circ)), dev)


def _widen(c: Circuit, dev: Any) -> Circuit:
    c = _strip(c)
    return Circuit(dev.num_qubits).compose(c) if c.n_qubits < dev.num_qubits else c


def _cx(c: Circuit) -> int:
    return sum(1 for i in c if i.is_gate and len(i.qubits) == 2)


def _esp(c: Circuit, dev: Any) -> float | None:
    return expected_success_probability(c, dev) if not dev.validate(c) else None


def _peer_rows(paths: list[Path] | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Peer (Qiskit, tket) results of earlier runs by (set, device, circuit); later files win."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in paths or []:
        for r in json.loads(path.read_text())["rows"]:
            if "set" in r:
                keep = {k: v for k, v in r.items() if k.startswith(("qiskit_", "tket_"))}
                out[(r["set"], r["device"], r["circuit"])] = {**keep, "qubits": r["qubits"], "cx_in": r["cx_in"],
                                                              "from": r.get("peers_from", path.name)}
    return out


def run(*, sets: list[str], devices: list[str], quick: bool = False, seed: int = 1, level: int = 3,
        only: list[str] | None = None, reuse: list[Path] | None = None, verify: bool = True) -> dict[str, Any]:
    """All rows and the per-(set, device) ratios (printed as they come)."""
    peers = _peer_rows(reuse)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for set_name in sets:
        cases = list({"dev": lambda: dev_cases(quick), "gen": lambda: gen_cases(quick),
                      "qasmbench": lambda: qasmbench_cases(quick),
                      "mqt": lambda: mqt_cases(quick, skipped)}[set_name]())
        for dname in devices:
            dev = Device.preset(dname)
            for name, c in cases:
                if c.n_qubits > dev.num_qubits or (only and name not in only):
                    continue
                row: dict[str, Any] = {"set": set_name, "device": dname, "circuit": name, "qubits": c.n_qubits,
                                       "cx_in": _cx(c)}
                t0 = time.perf_counter()
                if verify:
                    ours, _ = optimize(c, level=level, hardware=dev, objective="cx", seed=seed)
                else:  # the same passes and router, without the equivalence proof of the routed output
                    pre, _ = optimize(c, level=level, objective="cx", seed=seed)
                    ours = route(pre, dev, seed=seed, objective="cx").circuit
                row["verified"] = verify
                row["qtandem_s"] = round(time.perf_counter() - t0, 2)
                row["qtandem_cx"], row["qtandem_esp"] = _cx(ours), _esp(ours, dev)
                row["valid"] = dev.validate(ours) == []
                old = peers.get((set_name, dname, name))
                if old is not None and (old["qubits"], old["cx_in"]) == (row["qubits"], row["cx_in"]):
                    row.update({k: v for k, v in old.items() if k.startswith(("qiskit_", "tket_"))})
                    row["peers_from"] = old["from"]
                for tool in ("qiskit", "tket") if "peers_from" not in row else ():
                    t0 = time.perf_counter()
                    try:
                        out = qiskit_route(c, dev, seed) if tool == "qiskit" else tket_route(c, dev)
                    except Exception as err:  # a tool that fails on a circuit is recorded, not fatal
                        row[f"{tool}_error"] = f"{type(err).__name__}: {err}"[:200]
                        continue
                    row[f"{tool}_s"] = round(time.perf_counter() - t0, 2)
                    row[f"{tool}_cx"], row[f"{tool}_esp"] = _cx(out), _esp(out, dev)
                rows.append(row)
                print(f"{set_name:9s} {dname:13s} {name:20s} cx in {row['cx_in']:5d}  qtandem {row['qtandem_cx']:5d}"
                      f"  qiskit {row.get('qiskit_cx', -1):5d}  tket {row.get('tket_cx', -1):5d}  "
                      f"esp {row['qtandem_esp'] or 0:.3e} / {row.get('qiskit_esp') or 0:.3e} / "
                      f"{row.get('tket_esp') or 0:.3e}  {row['qtandem_s']:.1f}s", flush=True)
    summary = summarize(rows)
    print(report(summary))
    return {"rows": rows, "skipped": skipped, "summary": summary, "seed": seed, "level": level,
            "versions": versions()}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("qtandem", "qiskit", "pytket", "mqt.bench"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def ratio_summary(names: list[str], ratios: list[float]) -> dict[str, Any]:
    """Geometric mean of ``ratios``, the same without the circuit that dominates it, and the median.

    The dominating circuit is the one with the largest ``|log(ratio)|``; one extreme ratio (e.g. an ESP
    of 1.9e-6 against 4.5e-10) can carry a geometric mean on its own.

    Examples:
        >>> s = ratio_summary(["a", "b", "c"], [1000.0, 1.0, 0.5])
        >>> round(s["geomean"], 3), s["dominant"], round(s["geomean_without_dominant"], 3), s["median"]
        (7.937, 'a', 0.707, 1.0)
        >>> s["wins"], s["losses"], s["ties"]
        (1, 1, 1)
    """
    if not ratios:
        return {"circuits": 0}
    k = max(range(len(ratios)), key=lambda i: abs(math.log(ratios[i])))
    rest = ratios[:k] + ratios[k + 1:]
    return {"geomean": _geomean(ratios), "dominant": names[k], "dominant_ratio": ratios[k],
            "geomean_without_dominant": _geomean(rest), "median": statistics.median(ratios),
            "wins": sum(r > 1 for r in ratios), "losses": sum(r < 1 for r in ratios),
            "ties": sum(r == 1 for r in ratios), "circuits": len(ratios)}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per set and device: qtandem / tool ratios of CX (lower is better) and ESP (higher is better)."""
    summary: dict[str, Any] = {}
    for key in sorted({(r["set"], r["device"]) for r in rows}):
        sel = [r for r in rows if (r["set"], r["device"]) == key]
        out: dict[str, Any] = {"circuits": len(sel)}
        for tool in ("qiskit", "tket"):
            ok = [r for r in sel if r.get(f"{tool}_cx") and r["qtandem_cx"]]
            names = [r["circuit"] for r in ok]
            out[f"cx_vs_{tool}"] = ratio_summary(names, [r["qtandem_cx"] / r[f"{tool}_cx"] for r in ok])
            ok = [r for r in ok if r.get(f"{tool}_esp") and r["qtandem_esp"]]
            out[f"esp_vs_{tool}"] = ratio_summary([r["circuit"] for r in ok],
                                                  [r["qtandem_esp"] / r[f"{tool}_esp"] for r in ok])
        # absolute ESP per tool over the circuits all three scored (median and geometric mean)
        both = [r for r in sel if all(r.get(f"{t}_esp") for t in ("qtandem", "qiskit", "tket"))]
        out["esp"] = {"circuits": len(both)} | {
            t: {"geomean": _geomean([r[f"{t}_esp"] for r in both]),
                "median": statistics.median([r[f"{t}_esp"] for r in both])} for t in ("qtandem", "qiskit", "tket")
        } if both else {"circuits": 0}
        summary[f"{key[0]}/{key[1]}"] = out
    return summary


def report(summary: dict[str, Any]) -> str:
    """The summary lines quoted in the README."""
    lines = []
    for key, out in summary.items():
        for tool in ("qiskit", "tket"):
            cx, esp = out[f"cx_vs_{tool}"], out[f"esp_vs_{tool}"]
            if not cx.get("circuits"):
                continue
            line = (f"{key} ({cx['circuits']} circuits) qtandem / {tool}: CX geomean {cx['geomean']:.3f}, median "
                    f"{cx['median']:.3f} (dominant {cx['dominant']} {cx['dominant_ratio']:.3f})")
            if esp.get("circuits"):
                line += (f"; ESP geomean {esp['geomean']:.3f}, median {esp['median']:.3f}, without "
                         f"{esp['dominant']} ({esp['dominant_ratio']:.4g}) {esp['geomean_without_dominant']:.3f}")
            lines.append(line)
        esp_abs = out.get("esp", {})
        if esp_abs.get("circuits"):
            lines.append(f"{key} ESP over {esp_abs['circuits']} circuits, geomean (median): " + ", ".join(
                f"{t} {esp_abs[t]['geomean']:.3g} ({esp_abs[t]['median']:.3g})" for t in ("qtandem", "qiskit", "tket")))
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    """The README table: per set and device, qtandem / Qiskit L3 and qtandem / tket ratios."""
    lines = ["| set | device | circuits | CX / Qiskit geomean (median) | CX / tket geomean (median) | "
             "ESP / Qiskit geomean (median) | ESP / tket geomean (median) | ESP geomean dominated by |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for key, out in summary.items():
        set_name, device = key.split("/")
        cells = []
        for part in ("cx_vs_qiskit", "cx_vs_tket", "esp_vs_qiskit", "esp_vs_tket"):
            r = out[part]
            cells.append(f"{r['geomean']:.3f} ({r['median']:.3f})" if r.get("circuits") else "-")
        esp = out["esp_vs_qiskit"]
        dom = (f"{esp['dominant']} ({esp['dominant_ratio']:.3g}x; without: {esp['geomean_without_dominant']:.3f})"
               if esp.get("circuits") else "-")
        lines.append(f"| {set_name} | {device} | {out['circuits']} | " + " | ".join(cells) + f" | {dom} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", dest="sets", action="append", choices=["dev", "gen", "qasmbench", "mqt"],
                    help="circuit set(s) to run (default: dev)")
    ap.add_argument("--devices", nargs="+", default=list(DEVICES), choices=list(DEVICES))
    ap.add_argument("--quick", action="store_true", help="three circuits per set (development)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--level", type=int, default=3, choices=[2, 3], help="qtandem optimize level (default 3)")
    ap.add_argument("--only", nargs="+", default=None, help="only these circuits (development)")
    ap.add_argument("--json", type=Path, default=None,
                    help="output (default bench/results/compile_routing.json; with --from-json: none unless given)")
    ap.add_argument("--append", action="store_true",
                    help="keep the rows of other sets already in --json (one set per run on a busy machine)")
    ap.add_argument("--no-verify", action="store_true",
                    help="route the level-N output directly (route(), no equivalence proof): a quicker dev-set run")
    ap.add_argument("--reuse", type=Path, nargs="+", default=None,
                    help="take Qiskit/tket rows for the same (set, device, circuit, qubits, CX) from these runs")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="recompute the summary from the per-circuit rows of a saved run (no rerun)")
    args = ap.parse_args(argv)
    if args.json is None and args.from_json is None:
        args.json = HERE / "results" / "compile_routing.json"
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
        result["summary"] = summarize(result["rows"])
        print(report(result["summary"]))
        print(markdown(result["summary"]))
    else:
        result = run(sets=args.sets or ["dev"], devices=args.devices, quick=args.quick, seed=args.seed,
                     level=args.level, only=args.only, reuse=args.reuse, verify=not args.no_verify)
        if args.append and args.json.exists():
            old = json.loads(args.json.read_text())
            # with --only, a shard: replace only the circuits it ran (shards of one set/device merge into one file)
            def key(r: dict[str, Any]) -> tuple[str, ...]:
                return (r["set"], r["device"], r["circuit"]) if args.only else (r["set"], r["device"])
            done = {key(r) for r in result["rows"]}
            keep = [r for r in old["rows"] if "set" in r and key(r) not in done]
            result["rows"] = keep + result["rows"]
            result["skipped"] = old.get("skipped", []) + result["skipped"]
            result["summary"] = summarize(result["rows"])
            print(report(result["summary"]))
    if args.json is not None:  # --from-json alone only prints (it used to overwrite the default file)
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
