"""Coupling-map search (issue 20 section 2): a searched 16-qubit map vs heavy-hex, the 4x4 grid, the ring, the line.

Workload families (train circuits for the search, held-out circuits for the report, split by seed):

- ``qaoa``: MaxCut QAOA (``qtandem.opt.qaoa_circuit``, p layers, seeded random angles) on random 3-regular
  16-node graphs (``networkx.random_regular_graph(3, 16, seed)``).
- ``chem``: UCCSD-pool ansatz circuits from ``qtandem.chem.ansatz`` (``fermionic_excitation`` +
  ``append_operator``, Jordan-Wigner) on 16 spin orbitals with 8 electrons (H8 in STO-3G: 8 orbitals,
  interleaved spins, the HF state on the first 8): each circuit is a seeded random selection of
  ``--ops`` spin-conserving singles and doubles (a stand-in for an ADAPT-VQE ansatz; the gate
  structure of a Jordan-Wigner excitation does not depend on the integrals, so no PySCF run is needed).

The search scores candidates on the train circuits with the fast path (``routed_cx``, SABRE passes only);
the report routes every held-out circuit on every map with the full router
(``routed_cx(..., full=True)``: ``qtandem.compile.routing.route``, fewest CX, cleanup and native CX basis,
the same seed and trial count for every map) and gives geometric means and the searched map's gain
``1 - searched / reference``.

Run (lane A, one family per run, each under ~8 min):
    flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        .venv/bin/python bench/codesign_coupling.py --family qaoa --p 1 \
        --out bench/results/codesign_coupling_qaoa_p1.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

from qtandem import Circuit
from qtandem.codesign.coupling import coupling_map, routed_cx, search_coupling


def qaoa_family(seeds: list[int], p: int) -> list[Circuit]:
    from qtandem.opt.problems import maxcut
    from qtandem.opt.qaoa import qaoa_circuit

    out = []
    for s in seeds:
        g = nx.random_regular_graph(3, 16, seed=s)
        rng = np.random.default_rng(s)
        out.append(qaoa_circuit(maxcut(g), rng.uniform(0.1, 1.0, p).tolist(), rng.uniform(0.1, 1.0, p).tolist()))
    return out


def chem_pool(n_orb: int = 8, n_elec: int = 8) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Spin-conserving singles and doubles from the HF state (spin orbital 2i + s, s = 0 alpha, 1 beta)."""
    occ, vir = list(range(n_elec)), list(range(n_elec, 2 * n_orb))
    singles = [((o,), (v,)) for o in occ for v in vir if o % 2 == v % 2]
    doubles = [(oo, vv) for oo in itertools.combinations(occ, 2) for vv in itertools.combinations(vir, 2)
               if sorted(q % 2 for q in oo) == sorted(q % 2 for q in vv)]
    return singles + doubles


def chem_family(seeds: list[int], n_ops: int) -> list[Circuit]:
    from qtandem.chem.ansatz import append_operator, fermionic_excitation

    pool = chem_pool()
    out = []
    for s in seeds:
        rng = np.random.default_rng(s)
        c = Circuit(16)
        for q in range(8):
            c.x(q)
        for k in sorted(rng.choice(len(pool), n_ops, replace=False)):
            ann, cre = pool[int(k)]
            append_operator(c, fermionic_excitation(None, ann, cre), float(rng.uniform(-0.2, 0.2)))
        out.append(c)
    return out


def geomean(xs: list[int]) -> float:
    return float(math.exp(sum(math.log(x) for x in xs) / len(xs)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", choices=["qaoa", "chem"], required=True)
    ap.add_argument("--p", type=int, default=1, help="QAOA layers")
    ap.add_argument("--ops", type=int, default=10, help="excitations per chemistry circuit")
    ap.add_argument("--train", type=int, default=6, help="train circuits (seeds 0..train-1)")
    ap.add_argument("--heldout", type=int, default=10, help="held-out circuits (seeds 1000..)")
    ap.add_argument("--budget", type=int, default=150, help="candidate evaluations of the search")
    ap.add_argument("--max-edges", type=int, default=16)
    ap.add_argument("--max-degree", type=int, default=4)
    ap.add_argument("--search-trials", type=int, default=2)
    ap.add_argument("--eval-trials", type=int, default=8, help="trials of the full router (rerank and report)")
    ap.add_argument("--rerank", type=int, default=5, help="best fast-path maps re-scored with the full router")
    ap.add_argument("--maps", default="heavy_hex,grid,ring,line", help="reference maps of the report")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start-from", type=Path, default=None,
                    help="continue from the searched map of an earlier result file of this script (same family)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    def make(seeds: list[int]) -> list[Circuit]:
        return qaoa_family(seeds, args.p) if args.family == "qaoa" else chem_family(seeds, args.ops)

    train = make(list(range(args.train)))
    heldout = make(list(range(1000, 1000 + args.heldout)))
    start = None
    earlier = 0
    if args.start_from is not None:
        prior = json.loads(args.start_from.read_text())
        if prior["family"] != args.family:
            raise SystemExit(f"--start-from {args.start_from}: family {prior['family']!r}, not {args.family!r}")
        start = [tuple(e) for e in prior["searched"]["coupling"]]
        earlier = int(prior["searched"]["evaluations"]) + int(prior["searched"].get("earlier_evaluations", 0))
    t0 = time.perf_counter()
    found = search_coupling(train, 16, args.max_edges, args.max_degree, seed=args.seed, budget=args.budget, start=start,
                            trials=args.search_trials, rerank=args.rerank, rerank_trials=args.eval_trials)
    search_s = time.perf_counter() - t0
    print(f"search: {len(found.history) - 1} evaluations, {search_s:.1f} s, fast score "
          f"{found.start_score:.1f} -> {found.score:.1f}; map {found.coupling}", flush=True)
    refs = args.maps.split(",")
    maps = {"searched": found.coupling, **{name: coupling_map(name, 16) for name in refs}}
    rows: dict[str, dict[str, list[int]]] = {}
    t1 = time.perf_counter()
    for name, edges in maps.items():
        rows[name] = {}
        for split, circuits in (("train", train), ("heldout", heldout)):
            rows[name][split] = [routed_cx(c, edges, n_qubits=16, seed=7, trials=args.eval_trials, full=True)
                                 for c in circuits]
        print(f"{name:10s} edges {len(edges):2d}  train gm {geomean(rows[name]['train']):7.1f}  held-out gm "
              f"{geomean(rows[name]['heldout']):7.1f}", flush=True)
    eval_s = time.perf_counter() - t1
    summary = {}
    for split in ("train", "heldout"):
        s = geomean(rows["searched"][split])
        summary[split] = {name: {"geomean_cx": geomean(r[split]),
                                 "gain_of_searched": 1 - s / geomean(r[split])} for name, r in rows.items()}
    for name in refs:
        print(f"searched vs {name:9s}: held-out gain {100 * summary['heldout'][name]['gain_of_searched']:5.1f} %  "
              f"(train {100 * summary['train'][name]['gain_of_searched']:5.1f} %)")
    g = nx.Graph(found.coupling)
    result = {
        "bench": "codesign_coupling", "family": args.family, "args": {k: (str(v) if isinstance(v, Path) else v)
                                                                     for k, v in vars(args).items()},
        "raw_cx": {"train_circuits": [c.count_ops().get("cx", 0) + c.count_ops().get("rzz", 0) for c in train],
                   "heldout_circuits": [c.count_ops().get("cx", 0) + c.count_ops().get("rzz", 0) for c in heldout]},
        "searched": {"coupling": found.coupling, "edges": len(found.coupling),
                     "degrees": sorted(d for _, d in g.degree()), "diameter": nx.diameter(g),
                     "fast_score_start": found.start_score, "fast_score": found.score,
                     "evaluations": len(found.history) - 1, "history_best": [h["best"] for h in found.history],
                     "reranked": found.reranked, "start_from": str(args.start_from) if args.start_from else None,
                     "earlier_evaluations": earlier},
        "maps": {k: {"edges": len(v), "max_degree": max(d for _, d in nx.Graph(v).degree()),
                     "diameter": nx.diameter(nx.Graph(v))} for k, v in maps.items()},
        "routed_cx": rows, "summary": summary, "seconds": {"search": search_s, "report": eval_s},
        "python": sys.version.split()[0], "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
