"""Does ``optimize(budget_s=...)`` cap the whole run, verification included? (issue 14, orchestration)

A long 21-qubit rotation circuit from the development generators (``qtandem.compile.generate``: Heisenberg
and XY Trotter steps, UCCSD-style exponentials, a QNN and a QAOA layer, concatenated; no benchmark-set
circuit) is optimized at level 3 under a few wall-clock budgets; the script records the wall time, the
counts, the windows proven / skipped and what the report lists as skipped.

Usage::

    flock /tmp/qtandem-cpu.lock .venv/bin/python bench/optimize_budget.py \\
        --json bench/results/optimize_budget.json
"""

from __future__ import annotations

import argparse
import json
import time

from qtandem import Circuit
from qtandem.compile.generate import generate
from qtandem.compile.optimize import optimize
from qtandem.compile.passmanager import counts

FAMILIES = ("trotter_heisenberg", "uccsd", "qnn", "qaoa", "trotter_xy", "uccsd")


def circuit(n: int) -> Circuit:
    """The concatenated development circuit on ``n`` qubits (seeds 0..5)."""
    out = Circuit(n)
    for seed, family in enumerate(FAMILIES):
        for inst in generate(family, n, seed=seed):
            out.append(inst)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=21)
    parser.add_argument("--budgets", default="10,20")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    c = circuit(args.qubits)
    rows = []
    for budget in (float(b) for b in args.budgets.split(",")):
        t0 = time.perf_counter()
        out, report = optimize(c, level=3, budget_s=budget, seed=0)
        wall = time.perf_counter() - t0
        row = {"budget_s": budget, "wall_s": round(wall, 2), "within_budget": wall <= budget,
               "input": counts(c).as_dict(), "output": counts(out).as_dict(), "windows": report.windows,
               "skipped": report.skipped, "verification": report.verification}
        rows.append(row)
        print(f"budget {budget:g} s: wall {wall:.1f} s, gates {counts(c).gates} -> {counts(out).gates}, "
              f"windows proven {report.windows.get('proven')}, skipped {report.windows.get('skipped')}")
    result = {"benchmark": "optimize_budget", "qubits": args.qubits, "families": list(FAMILIES),
              "input_gates": counts(c).gates, "rows": rows}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
