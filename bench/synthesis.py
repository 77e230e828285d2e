"""Two-qubit block resynthesis on generated circuits (development set): blocks/s and gates/CX per basis.

For each family of :data:`qtandem.compile.generate.FAMILIES`, each size and seed, the circuit is
translated into each basis (``ibm`` {rz, sx, x, cx}, ``nam`` {rz, h, x, cx}, ``u`` {u, cx}), its
one-qubit runs merged (``Resynthesis1Q``: the "before" column), then three rounds of
``TwoQubitResynthesis`` + ``GateCancellation`` + ``Resynthesis1Q`` run (the "after" column). Every
"after" circuit is checked by :func:`qtandem.compile.verify.verify_equivalent` against the input.
Synthesis speed is the cold-cache rate of the minimal-CX block synthesis (both CX orientations,
polished) over all blocks of the ``ibm`` circuit. Only generated circuits: MQT Bench is the test set
and is never run here.

Run (under the CPU lock): flock /tmp/qtandem-cpu.lock python bench/synthesis.py --json
bench/results/synthesis.json. The committed result is ``--sizes 6 --seeds 1`` (about 40 s).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from qtandem.compile.dag import to_ops
from qtandem.compile.generate import FAMILIES, generate
from qtandem.compile.passes import kak
from qtandem.compile.passes.basis import BasisTranslation, basis_style
from qtandem.compile.passes.cancellation import GateCancellation
from qtandem.compile.passes.resynth_1q import Resynthesis1Q
from qtandem.compile.verify import verify_equivalent


def blocks_per_second(circuit) -> tuple[int, float]:
    ops = to_ops(circuit)
    blocks = []
    for pair, idx in kak.collect_blocks(ops):
        local = {pair[0]: 0, pair[1]: 1}
        blocks.append(tuple((ops[i].name, tuple(local[q] for q in ops[i].qubits), ops[i].angle, ops[i].params)
                            for i in idx))
    kak._resynth.cache_clear()
    t0 = time.perf_counter()
    for block in blocks:
        kak._resynth(block, "zsx")
    return len(blocks), len(blocks) / max(time.perf_counter() - t0, 1e-9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bases", default="ibm,nam,u")
    ap.add_argument("--sizes", default="4,6,8")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--objective", default="gates")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows = []
    for family in args.families.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            for seed in range(args.seeds):
                circuit = generate(family, n, seed=seed)
                n_blocks, rate = blocks_per_second(circuit)
                for basis in args.bases.split(","):
                    style = basis_style(basis)
                    before = Resynthesis1Q(style).run(BasisTranslation(basis).run(circuit))
                    t0 = time.perf_counter()
                    after = before
                    for _ in range(3):
                        after = kak.TwoQubitResynthesis(style).run(after, {"objective": args.objective})
                        after = Resynthesis1Q(style).run(GateCancellation().run(after))
                    seconds = time.perf_counter() - t0
                    verify_equivalent(circuit, after)
                    row = {"family": family, "n": n, "seed": seed, "basis": basis, "blocks": n_blocks,
                           "synthesis_blocks_per_s": round(rate, 1), "seconds": round(seconds, 3),
                           "before_gates": before.num_gates(), "before_cx": before.count_ops().get("cx", 0),
                           "after_gates": after.num_gates(), "after_cx": after.count_ops().get("cx", 0)}
                    rows.append(row)
                    print(f"{family:20s} n={n} seed={seed} {basis:4s} {row['before_gates']:5d}/{row['before_cx']:4d}"
                          f" -> {row['after_gates']:5d}/{row['after_cx']:4d}  {seconds:.2f} s  "
                          f"{rate:.0f} blocks/s", flush=True)
    summary = {}
    for basis in args.bases.split(","):
        sel = [r for r in rows if r["basis"] == basis]
        g = math.exp(sum(math.log(r["after_gates"] / r["before_gates"]) for r in sel) / len(sel))
        c = math.exp(sum(math.log(max(r["after_cx"], 1) / max(r["before_cx"], 1)) for r in sel) / len(sel))
        summary[basis] = {"geomean_gates_ratio": round(g, 4), "geomean_cx_ratio": round(c, 4), "circuits": len(sel)}
        print(f"{basis}: geometric mean after/before gates {g:.3f}, CX {c:.3f} over {len(sel)} circuits")
    rates = sorted(r["synthesis_blocks_per_s"] for r in rows)
    summary["median_synthesis_blocks_per_s"] = rates[len(rates) // 2]
    print(f"median synthesis rate {summary['median_synthesis_blocks_per_s']:.0f} blocks/s (cold cache)")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "summary": summary, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
