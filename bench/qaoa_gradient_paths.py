"""QAOA gradient paths of the native kernels, side by side in one process (p = 10, 3-regular MaxCut, as bench/qaoa.py).

Per size, min over ``--repeats`` after a warm-up, interleaved so that load drifts hit every column alike:

- ``energy``: ``qaoa_evolve`` + ``qaoa_energy`` (what ``bench/qaoa.py`` times as the energy);
- ``fused``: ``qaoa_evolve`` + ``qaoa_adjoint`` (the fused two-vector backward, the gradient before session 33);
- ``fused_fold``: ``qaoa_gradient`` without a store (the same backward, the forward's last high half folded into
  its first pass);
- ``stored``: ``qaoa_gradient`` with the forward's ``p - 1`` states stored (the backward rotates lambda only).

Every column's gradient is checked against ``fused`` (``max_abs_diff``). Run with both CPU locks::

    flock /tmp/qt_lane_a.lock flock /tmp/qt_lane_b.lock env OMP_NUM_THREADS=2 \\
        python bench/qaoa_gradient_paths.py --sizes 20,22 --json bench/results/qaoa_gradient_paths.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse
import json
import time
from typing import Any

import networkx as nx
import numpy as np

from qtandem.opt import maxcut
from qtandem.sim import diagonal as D


def bench(n: int, p: int, repeats: int, threads: int) -> dict[str, Any]:
    K = D._kernels
    rng = np.random.default_rng(1234)
    g, b = rng.uniform(0.1, 0.6, p), rng.uniform(-0.6, -0.1, p)
    c = D.DiagonalCost(maxcut(nx.random_regular_graph(3, n, seed=n)).qubo.diagonal())
    assert c.levels is not None
    psi, work = c.workspace(2)
    tab = c._tables(g)
    store = np.empty((p - 1, 2**n), dtype=np.complex128)
    for part in store:
        K.fill(part, None, threads)
    fns = {
        "energy": lambda: (K.qaoa_evolve(psi, c.levels, tab, c.values, b, 1, threads),
                           K.qaoa_energy(psi, c.levels, c.values, threads))[1],
        "fused": lambda: (K.qaoa_evolve(psi, c.levels, tab, c.values, b, 1, threads),
                          K.qaoa_adjoint(psi, work, c.levels, tab, c.values, b, threads))[1],
        "fused_fold": lambda: K.qaoa_gradient(psi, work, None, c.levels, tab, c.values, b, threads),
        "stored": lambda: K.qaoa_gradient(psi, work, store, c.levels, tab, c.values, b, threads),
    }
    out = {k: f() for k, f in fns.items()}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    ref = np.concatenate([[out["fused"][0]], out["fused"][1], out["fused"][2]])
    row: dict[str, Any] = {"n": n, "p": p, "threads": threads, "store_bytes": int(store.nbytes)}
    for k in fns:
        row[f"{k}_s"] = best[k]
        if k != "energy":
            row[f"{k}_over_energy"] = best[k] / best["energy"]
            v = np.concatenate([[out[k][0]], out[k][1], out[k][2]])
            row[f"{k}_max_abs_diff"] = float(np.abs(v - ref).max())
    print(f"n={n}: energy {best['energy']:.4f} s; " + ", ".join(
        f"{k} {best[k]:.4f} s ({best[k] / best['energy']:.2f}x)" for k in fns if k != "energy"), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20,22")
    ap.add_argument("--p", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if not D.native_available() or not hasattr(D._kernels, "qaoa_gradient"):
        raise SystemExit("the native kernels with qaoa_gradient are not built")
    threads = int(os.environ["OMP_NUM_THREADS"])
    rows = [bench(int(n), args.p, args.repeats, threads) for n in args.sizes.split(",")]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"benchmark": "qaoa_gradient_paths", "repeats": args.repeats, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
