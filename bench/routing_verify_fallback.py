"""How often does ``route_and_verify`` fall back to a weaker cleanup? DEV analogues wider than 12 qubits only.

For each circuit (the generated DEV analogues of ``bench/compile_routing.py --set gen`` wider than 12 qubits, and
``qtandem.compile.generate`` UCCSD / Heisenberg Trotter / QNN circuits on 14 qubits), the level-3 output (objective
``cx``, seed 1) is routed twice on the device with the same seed: ``route()`` (no proof) and ``route_and_verify()``.
A higher verified CX count means the fully cleaned route (phase folding + two-qubit resynthesis) could not be proven
by path sums and a weaker cleanup of the same route was kept (see ``qtandem.compile.route_verify``).

Usage: ``flock /tmp/qt_lane_b.lock .venv/bin/python bench/routing_verify_fallback.py [DEVICE] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compile_routing import gen_cases  # noqa: E402
from qtandem.compile import optimize  # noqa: E402
from qtandem.compile.generate import generate  # noqa: E402
from qtandem.compile.routing import route, route_and_verify  # noqa: E402
from qtandem.device import Device  # noqa: E402
from qtandem.io import atomic_write_text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("device", nargs="?", default="heavy_hex_65")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "compile_routing_fallback_dev.json")
    args = ap.parse_args(argv)
    dev = Device.preset(args.device)
    cases = [(n, c) for n, c in gen_cases(False) if c.n_qubits > 12]
    for fam, n in [("uccsd", 14), ("trotter_heisenberg", 14), ("qnn", 14)]:
        cases.append((f"{fam}_{n}", generate(fam, n, seed=5, basis="ibm")))
    rows = []
    for name, c in cases:
        t0 = time.perf_counter()
        pre, _ = optimize(c, level=3, objective="cx", seed=1)
        a = route(pre, dev, seed=1, objective="cx")
        _, b = route_and_verify(pre, dev, seed=1, objective="cx")
        rows.append({"circuit": name, "qubits": c.n_qubits, "route_cx": a.cx, "verified_cx": b.cx,
                     "fallback": b.cx != a.cx, "s": round(time.perf_counter() - t0, 1)})
        print(rows[-1], flush=True)
        atomic_write_text(args.json, json.dumps({"device": args.device, "seed": 1, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
