"""Router tuning on the DEV routing circuits only: CX after ``route()`` for router option sets, vs Qiskit L3 and tket.

The dev circuits are those of ``bench/compile_routing.py --set dev`` (seeded random circuits, QAOA circuits, the Nam
suite's development half); the QASMBench test set is never read here. Each circuit is optimized once at level 3
(objective ``cx``, no device; the pass ``optimize(level=3, hardware=...)`` runs before routing) and cached, then
routed with each option set (``objective="cx"``, seed 1). Peer CX counts (Qiskit L3, tket) come from the dev rows
of the committed ``bench/results/compile_routing*.json`` runs (the peers do not depend on qtandem), matched by
circuit, device, qubits and input CX.

Usage: ``flock /tmp/qt_lane_a.lock python bench/routing_tune.py --config base --config trials48 [--devices ...]``;
``--json FILE`` writes the rows (default ``bench/results/routing_tune_dev.json``, appended per config).
Budgets are counts (trials, passes), never seconds; the seconds column is informational.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compile_routing import DEVICES, _peer_rows, dev_cases, gen_cases  # noqa: E402
from qtandem.compile import optimize  # noqa: E402
from qtandem.compile.routing import route  # noqa: E402
from qtandem.device import Device  # noqa: E402
from qtandem.io import atomic_write_text  # noqa: E402

CACHE = Path("/tmp/qtandem_routing_tune_pre.pkl")
PEERS = [HERE / "results" / "compile_routing.json", HERE / "results" / "compile_routing_l3.json",
         HERE / "results" / "compile_routing_gen.json"]

CONFIGS: dict[str, dict[str, Any]] = {
    "base": {},  # the router's defaults at the time of the run
    # the router before this tuning (defaults of commit df6522c)
    "before": {"trials": 24, "bidirectional": False, "bridge": None, "fold": False},
    "nobidir": {"bidirectional": False},  # the router before the backward-pass candidates
    "bidir": {"bidirectional": True},
    "bridge0": {"bridge": 0.0},
    "bridgem05": {"bridge": -0.5},
    "bridge05": {"bridge": 0.5},
    "t48": {"trials": 48},
    "st8": {"swap_trials": 8},
    "fin6": {"finish": 6},
    "it4": {"iterations": 4},
    "bridge0_t48": {"bridge": 0.0, "trials": 48},
    "bridge0_fin6": {"bridge": 0.0, "finish": 6},
    "bridge0_st8": {"bridge": 0.0, "swap_trials": 8},
    "bridge0_nobidir": {"bridge": 0.0, "bidirectional": False},
    "t96": {"trials": 96},
    "t48_st8": {"trials": 48, "swap_trials": 8},
    "t48_fin6": {"trials": 48, "finish": 6},
    "bridge0_t96": {"bridge": 0.0, "trials": 96},
    "nofold": {"fold": False},
    "fold": {"fold": True},
    "fold_bridge0": {"fold": True, "bridge": 0.0},
    "fold_t48": {"fold": True, "trials": 48},
    "fold_bridge0_t48": {"fold": True, "bridge": 0.0, "trials": 48},
    "fold_bridge0_t96": {"fold": True, "bridge": 0.0, "trials": 96},
    # session 32 (R14): on dev + the generated dev analogues (--set dev gen)
    "nw0": {"noise_weight": 0.0},
    "nw1": {"noise_weight": 1.0},
    "la30": {"lookahead": 30},
    "la10": {"lookahead": 10},
    "w03": {"weight": 0.3},
    "w08": {"weight": 0.8},
    "it5": {"iterations": 5},
    "absorb2": {"absorb": 2.0},
}


def _cx(c: Any) -> int:
    return sum(1 for i in c if i.is_gate and len(i.qubits) == 2)


def pre_optimized(set_name: str = "dev") -> list[tuple[str, int, int, Any]]:
    """``(name, qubits, cx_in, level-3 output)`` per dev (or generated-dev, ``gen``) circuit, cached across runs."""
    cache = CACHE if set_name == "dev" else CACHE.with_name(f"qtandem_routing_tune_pre_{set_name}.pkl")
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    out = []
    for name, c in (dev_cases(False) if set_name == "dev" else gen_cases(False)):
        pre, _ = optimize(c, level=3, objective="cx", seed=1)
        out.append((name, c.n_qubits, _cx(c), pre))
    cache.write_bytes(pickle.dumps(out))
    return out


def _geo(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", default=None, help="option set name(s) or JSON dicts")
    ap.add_argument("--devices", nargs="+", default=list(DEVICES), choices=list(DEVICES))
    ap.add_argument("--only", nargs="+", default=None)
    ap.add_argument("--set", dest="sets", nargs="+", default=["dev"], choices=["dev", "gen"],
                    help="dev: the original dev circuits; gen: bench/compile_routing.py's generated dev analogues")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "routing_tune_dev.json")
    args = ap.parse_args(argv)
    peers = _peer_rows(PEERS)
    cases = [(s, *case) for s in args.sets for case in pre_optimized(s)]
    old = json.loads(args.json.read_text()) if args.json.exists() else {"rows": [], "summary": {}}
    for cname in args.config or ["base"]:
        opts = json.loads(cname) if cname.startswith("{") else CONFIGS[cname]
        if args.sets != ["dev"]:  # rows and summary of other sets under their own key
            cname = f"{cname}@{'+'.join(args.sets)}"
        rows = []
        for dname in args.devices:
            dev = Device.preset(dname)
            for set_name, name, nq, cx_in, pre in cases:
                if nq > dev.num_qubits or (args.only and name not in args.only):
                    continue
                peer = peers.get((set_name, dname, name))
                if peer is None or (peer["qubits"], peer["cx_in"]) != (nq, cx_in):
                    continue
                t0 = time.perf_counter()
                res = route(pre, dev, seed=args.seed, objective="cx", **opts)
                row = {"config": cname, "set": set_name, "device": dname, "circuit": name, "cx": res.cx,
                       "qiskit_cx": peer.get("qiskit_cx"), "tket_cx": peer.get("tket_cx"),
                       "s": round(time.perf_counter() - t0, 2)}
                rows.append(row)
                print(f"{cname[:30]:30s} {dname:13s} {name:16s} {res.cx:5d} q {row['qiskit_cx']} t {row['tket_cx']}"
                      f"  {row['s']:.1f}s", flush=True)
        summ = {}
        for dname in args.devices:
            sel = [r for r in rows if r["device"] == dname]
            summ[dname] = {
                "vs_qiskit": _geo([r["cx"] / r["qiskit_cx"] for r in sel if r["qiskit_cx"]]),
                "vs_tket": _geo([r["cx"] / r["tket_cx"] for r in sel if r["tket_cx"]]),
                "cx_total": sum(r["cx"] for r in sel), "s": round(sum(r["s"] for r in sel), 1),
                "circuits": len(sel)}
            print(f"== {cname} {dname}: vs Qiskit {summ[dname]['vs_qiskit']:.4f}  vs tket "
                  f"{summ[dname]['vs_tket']:.4f}  total CX {summ[dname]['cx_total']}  {summ[dname]['s']} s", flush=True)
        old["rows"] = [r for r in old["rows"] if r["config"] != cname or r["device"] not in args.devices] + rows
        old["summary"].setdefault(cname, {}).update(summ)
        old["options"] = {**old.get("options", {}), cname: opts}
        atomic_write_text(args.json, json.dumps(old, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
