"""Routing benchmark: CX count and expected success probability after layout + routing, qtandem vs Qiskit.

qtandem: ``optimize(level=2, hardware=..., objective="fidelity")`` and ``objective="cx"`` (passes, then SABRE-style
noise-aware routing, verified). Qiskit: ``transpile(optimization_level=3, coupling_map=..., basis_gates=[rz, sx, x, cx],
layout_method="sabre", routing_method="sabre", seed_transpiler=...)`` on the same coupling map. Both outputs
are scored by ``qtandem.compile.esp.expected_success_probability`` under the device's calibration.

Usage: ``flock /tmp/qtandem-cpu.lock python bench/compile_routing.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import networkx as nx

from qtandem import Circuit
from qtandem.compile import optimize
from qtandem.compile.esp import expected_success_probability
from qtandem.device import Device
from qtandem.io import atomic_write_text

HERE = Path(__file__).resolve().parent
NAM = HERE.parent.parent / "shared" / "data" / "nam"


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


def cases(quick: bool) -> list[tuple[str, Circuit]]:
    out = [("random_8x60", random_circuit(8, 120, 1)), ("random_12x100", random_circuit(12, 200, 2)),
           ("qaoa_ring10_p1", qaoa(nx.cycle_graph(10), 1, 3)), ("qaoa_ring10_p2", qaoa(nx.cycle_graph(10), 2, 4)),
           ("qaoa_3reg12_p1", qaoa(nx.random_regular_graph(3, 12, seed=5), 1, 5)),
           ("qaoa_3reg12_p2", qaoa(nx.random_regular_graph(3, 12, seed=6), 2, 6))]
    if quick:
        out = out[:3]
    for name in ["tof_5", "barenco_tof_5", "mod5_4", "csla_mux_3", "adder_8"] if not quick else ["tof_5"]:
        path = NAM / f"{name}.qasm"
        if path.exists():
            out.append((name, Circuit.from_qasm(path.read_text())))
    return out


def qiskit_route(c: Circuit, dev: Any, seed: int) -> Circuit:
    from qiskit import qasm2, transpile
    from qiskit.transpiler import CouplingMap

    edges = [[a, b] for a, b in dev.coupling_map.edges()] + [[b, a] for a, b in dev.coupling_map.edges()]
    qc = qasm2.loads(c.to_qasm(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    out = transpile(qc, coupling_map=CouplingMap(edges), basis_gates=["rz", "sx", "x", "cx"], optimization_level=3,
                    layout_method="sabre", routing_method="sabre", seed_transpiler=seed)
    routed = Circuit.from_qasm(qasm2.dumps(out))
    if routed.n_qubits < dev.num_qubits:
        routed = Circuit(dev.num_qubits).compose(routed)
    return routed


def run(*, quick: bool = False, seed: int = 1) -> dict[str, Any]:
    """All rows and the per-device geometric-mean ratios (printed as they come)."""
    rows = []
    for dname in ("heavy_hex_27", "grid_4x4"):
        dev = Device.preset(dname)
        for name, c in cases(quick):
            if c.n_qubits > dev.num_qubits:
                continue
            t0 = time.perf_counter()
            ours, _ = optimize(c, level=2, hardware=dev, objective="fidelity", seed=seed)
            t1 = time.perf_counter()
            ours_cx, _ = optimize(c, level=2, hardware=dev, objective="cx", seed=seed)
            t2 = time.perf_counter()
            theirs = qiskit_route(c, dev, seed)
            t3 = time.perf_counter()
            row = {"device": dname, "circuit": name, "qubits": c.n_qubits, "cx_in": c.count_ops().get("cx", 0),
                   "qtandem_cx": ours.count_ops().get("cx", 0), "qiskit_cx": theirs.count_ops().get("cx", 0),
                   "qtandem_esp": expected_success_probability(ours, dev),
                   "qiskit_esp": expected_success_probability(theirs, dev),
                   "qtandem_cxobj_cx": ours_cx.count_ops().get("cx", 0),
                   "qtandem_cxobj_esp": expected_success_probability(ours_cx, dev),
                   "qtandem_s": t1 - t0, "qtandem_cxobj_s": t2 - t1, "qiskit_s": t3 - t2,
                   "valid": dev.validate(ours) == [] and dev.validate(ours_cx) == []}
            rows.append(row)
            print(f"{dname:13s} {name:16s} cx {row['qtandem_cx']:5d} ({row['qtandem_cxobj_cx']:5d}) vs "
                  f"{row['qiskit_cx']:5d}  esp {row['qtandem_esp']:.3e} ({row['qtandem_cxobj_esp']:.3e}) vs "
                  f"{row['qiskit_esp']:.3e}  {row['qtandem_s']:.1f}s", flush=True)
    summary = {}
    for dname in ("heavy_hex_27", "grid_4x4"):
        sel = [r for r in rows if r["device"] == dname]
        if not sel:
            continue
        cx = math.exp(sum(math.log(r["qtandem_cx"] / r["qiskit_cx"]) for r in sel) / len(sel))
        esp = math.exp(sum(math.log(r["qtandem_esp"] / r["qiskit_esp"]) for r in sel) / len(sel))
        cx2 = math.exp(sum(math.log(r["qtandem_cxobj_cx"] / r["qiskit_cx"]) for r in sel) / len(sel))
        esp2 = math.exp(sum(math.log(r["qtandem_cxobj_esp"] / r["qiskit_esp"]) for r in sel) / len(sel))
        summary[dname] = {"geomean_cx_ratio": cx, "geomean_esp_ratio": esp, "cx_objective_geomean_cx_ratio": cx2,
                          "cx_objective_geomean_esp_ratio": esp2, "circuits": len(sel)}
        print(f"{dname}: geomean ratios qtandem/qiskit: objective fidelity CX {cx:.3f}, ESP {esp:.3f}; "
              f"objective cx CX {cx2:.3f}, ESP {esp2:.3f} ({len(sel)} circuits)")
    return {"rows": rows, "summary": summary, "seed": seed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "compile_routing.json")
    args = ap.parse_args(argv)
    result = run(quick=args.quick, seed=args.seed)
    atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
