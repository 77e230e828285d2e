"""Learned ADAPT operator selection (issue 18 s.3): pool gradients, CNOTs and errors at chemical accuracy.

Split (fixed before any run; TEST molecules/geometries are never seen in training or selection):

- TRAIN: H4 chain (spacings 0.9 and 1.4 A, CAS(4,4)), LiH at 1.2 / 2.4 / 3.2 A (CAS(2,5)), BeH2 at 1.0 / 2.0 A
  (CAS(4,6)), HF at 0.917 A (CAS(8,5)), H2O with both O-H bonds scaled 1.4x (CAS(8,6)).
- DEV (choice of top_k and fallback_ratio): H4 chain 1.1 A, LiH 2.0 A, BeH2 1.6 A.
- TEST: LiH 1.595 A, BeH2 1.326 A, H2O at equilibrium (the issue's target geometries).

Training: DAgger-style, two rounds. Round 0 follows the heuristic ranker (OperatorRanker() default weights)
with top_k=20 and records the features and the full pool gradients of every iteration; the model is fitted;
round 1 follows the fitted model and adds its traces; the model is refitted on both. Every run stops at
chemical accuracy (1.6 mHa from CASCI of the same active space) or 60 operators.

Rows on DEV and TEST: plain qubit-ADAPT (the full pool every iteration), random top-k (3 seeds), the heuristic
ranker and the learned ranker, all with the same fallback rule. CNOTs after qtandem.compile level 1.

Usage:
    python bench/chem_adapt.py                    # everything -> bench/results/chem_adapt_learned.json
    python bench/chem_adapt.py --quick            # a smoke run (LiH only)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
CHEMICAL_ACCURACY = 1.6e-3


def _h4(d: float) -> str:
    return "; ".join(f"H 0 0 {i * d:.4f}" for i in range(4))


def _h2o(scale: float) -> str:
    x, y = 0.7572 * scale, 0.5865 * scale
    return f"O 0 0 0; H {x:.4f} {y:.4f} 0; H {-x:.4f} {y:.4f} 0"


def _beh2(d: float) -> str:
    return f"Be 0 0 0; H 0 0 {d}; H 0 0 {-d}"


SYSTEMS: dict[str, list[tuple[str, str, tuple[int, int]]]] = {
    "train": [("h4_0.9", _h4(0.9), (4, 4)), ("h4_1.4", _h4(1.4), (4, 4)),
              ("lih_1.2", "Li 0 0 0; H 0 0 1.2", (2, 5)), ("lih_2.4", "Li 0 0 0; H 0 0 2.4", (2, 5)),
              ("lih_3.2", "Li 0 0 0; H 0 0 3.2", (2, 5)), ("beh2_1.0", _beh2(1.0), (4, 6)),
              ("beh2_2.0", _beh2(2.0), (4, 6)), ("hf_0.917", "F 0 0 0; H 0 0 0.917", (8, 5)),
              ("h2o_x1.4", _h2o(1.4), (8, 6))],
    "dev": [("h4_1.1", _h4(1.1), (4, 4)), ("lih_2.0", "Li 0 0 0; H 0 0 2.0", (2, 5)),
            ("beh2_1.6", _beh2(1.6), (4, 6))],
    "test": [("lih_1.595", "Li 0 0 0; H 0 0 1.595", (2, 5)), ("beh2_1.326", _beh2(1.326), (4, 6)),
             ("h2o_eq", _h2o(1.0), (8, 6))],
}


def _problem(geometry: str, active: tuple[int, int]) -> Any:
    from qtandem.chem import Molecule

    return Molecule(geometry).problem(active=active)


def _run(problem: Any, kind: str, **kw: Any) -> dict[str, Any]:
    from qtandem.chem.adapt import adapt_vqe

    t0 = time.perf_counter()
    r = adapt_vqe(problem, kind, target=CHEMICAL_ACCURACY, reference="casci", compile_level=1, max_operators=60,
                  **kw)
    return {"pool_gradients": r.extra["pool_gradients"], "pool_size": r.extra["pool_size"],
            "fallbacks": r.extra.get("fallbacks"), "n_operators": len(r.operators), "operators": r.operators,
            "cnots": r.cnot_count, "error_casci_mha": 1e3 * r.error_vs("casci"),
            "error_fci_mha": 1e3 * r.error_vs("fci") if r.references.get("fci") is not None else None,
            "n_evaluations": r.n_evaluations, "stopped": r.extra["stopped"],
            "time_s": time.perf_counter() - t0}


def _mean_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("pool_gradients", "n_operators", "cnots", "error_casci_mha", "n_evaluations", "fallbacks")
    out: dict[str, Any] = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    out["max_cnots"] = max(r["cnots"] for r in rows)
    out["reached"] = sum(r["stopped"] == "target" for r in rows)
    out["runs"] = rows
    return out


def main(argv: list[str] | None = None) -> None:
    from qtandem.chem.adapt_learned import OperatorRanker, RandomRanker, collect_traces

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", default="qubit-adapt")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ks", default="5,10,20,40")
    parser.add_argument("--ratios", default="0,0.1,0.3")
    parser.add_argument("--random-seeds", type=int, default=3)
    parser.add_argument("--out", default=None)
    parser.add_argument("--save-model", default=None, help="also write the learned ranker here (safetensors)")
    parser.add_argument("--extra", default=None,
                        help="comma-separated extra TEST systems (n2, n2_1.3, lih, beh2, h2o) run with the shipped "
                             "model and the DEV choice stored in bench/results/chem_adapt_learned.json")
    args = parser.parse_args(argv)
    if args.extra:
        _extra(args)
        return
    ks = [int(k) for k in args.ks.split(",")]
    ratios = [float(r) for r in args.ratios.split(",")]
    systems = SYSTEMS
    if args.quick:
        systems = {"train": SYSTEMS["train"][2:4], "dev": SYSTEMS["dev"][1:2], "test": SYSTEMS["test"][:1]}
        ks, ratios = [10], [0.0]
    problems = {split: [(name, geo, act, _problem(geo, act)) for name, geo, act in rows]
                for split, rows in systems.items()}
    out: dict[str, Any] = {"kind": args.kind, "split": {s: [(n, g, list(a)) for n, g, a in rows]
                                                         for s, rows in systems.items()},
                           "chemical_accuracy": CHEMICAL_ACCURACY}

    # training: two DAgger rounds
    traces: list[tuple[np.ndarray, np.ndarray]] = []
    heuristic = OperatorRanker()
    t0 = time.perf_counter()
    for _, _, _, p in problems["train"]:
        tr, _ = collect_traces(p, args.kind, ranker=heuristic, top_k=20, target=CHEMICAL_ACCURACY,
                               reference="casci", compile_level=None, max_operators=60)
        traces += tr
    model = OperatorRanker().fit(traces)
    for _, _, _, p in problems["train"]:
        tr, _ = collect_traces(p, args.kind, ranker=model, top_k=20, target=CHEMICAL_ACCURACY,
                               reference="casci", compile_level=None, max_operators=60)
        traces += tr
    model = OperatorRanker().fit(traces)
    out["training"] = {"n_iterations": len(traces), "weights": dict(zip(_features(), model.weights_.tolist(),
                                                                        strict=True)),
                       "info": model.info_, "time_s": time.perf_counter() - t0}
    print(f"trained on {len(traces)} iterations in {out['training']['time_s']:.1f} s: "
          + ", ".join(f"{k} {v:+.2f}" for k, v in out["training"]["weights"].items()), flush=True)
    if args.save_model:
        model.save(args.save_model)

    # recall of the true argmax on DEV/TEST traces (traces collected with the learned ranker, k=20)
    for split in ("dev", "test"):
        tr_split: list[tuple[np.ndarray, np.ndarray]] = []
        for _, _, _, p in problems[split]:
            tr, _ = collect_traces(p, args.kind, ranker=model, top_k=20, target=CHEMICAL_ACCURACY,
                                   reference="casci", compile_level=None, max_operators=60)
            tr_split += tr
        rng = np.random.default_rng(0)
        out[f"recall_{split}"] = {
            str(k): {"learned": model.recall(tr_split, k), "heuristic": heuristic.recall(tr_split, k),
                     "random_draw": float(np.mean([np.abs(g)[rng.permutation(len(g))[:k]].max()
                                                   >= (1 - 1e-9) * np.abs(g).max() for _, g in tr_split]))}
            for k in (1, 5, 10, 20, 40)}
        print(f"recall on {split}: " + ", ".join(f"@{k} {v['learned']:.2f} (heur {v['heuristic']:.2f})"
                                                  for k, v in out[f"recall_{split}"].items()), flush=True)

    # DEV: choose (k, ratio): fewest summed pool gradients among settings whose CNOTs never exceed plain ADAPT's
    dev_rows: dict[str, Any] = {}
    plain_dev = {name: _run(p, args.kind) for name, _, _, p in problems["dev"]}
    for k in ks:
        for ratio in ratios:
            runs = {name: _run(p, args.kind, ranker=model, top_k=k, fallback_ratio=ratio)
                    for name, _, _, p in problems["dev"]}
            ok = all(runs[n]["cnots"] <= plain_dev[n]["cnots"] and runs[n]["stopped"] == "target" for n in runs)
            dev_rows[f"k{k}_r{ratio}"] = {"k": k, "ratio": ratio, "ok": ok, "runs": runs,
                                          "pool_gradients": sum(r["pool_gradients"] for r in runs.values())}
            print(f"dev k={k} ratio={ratio}: {dev_rows[f'k{k}_r{ratio}']['pool_gradients']} pool gradients, "
                  f"cnots {[r['cnots'] for r in runs.values()]} vs plain "
                  f"{[r['cnots'] for r in plain_dev.values()]}, ok={ok}", flush=True)
    candidates = [v for v in dev_rows.values() if v["ok"]] or list(dev_rows.values())
    chosen = min(candidates, key=lambda v: (v["pool_gradients"], v["k"]))
    out["dev"] = {"plain": plain_dev, "settings": dev_rows, "chosen": {"k": chosen["k"], "ratio": chosen["ratio"]}}
    k, ratio = chosen["k"], chosen["ratio"]
    print(f"chosen on DEV: top_k={k}, fallback_ratio={ratio}", flush=True)

    # TEST
    test: dict[str, Any] = {}
    for name, _, _, p in problems["test"]:
        row = {"references": dict(p.references), "n_qubits": p.n_qubits,
               "plain": _run(p, args.kind),
               "learned": _run(p, args.kind, ranker=model, top_k=k, fallback_ratio=ratio),
               "heuristic": _run(p, args.kind, ranker=heuristic, top_k=k, fallback_ratio=ratio),
               "random": _mean_rows([_run(p, args.kind, ranker=RandomRanker(s), top_k=k, fallback_ratio=ratio)
                                     for s in range(args.random_seeds)])}
        test[name] = row
        for label in ("plain", "learned", "heuristic", "random"):
            r = row[label]
            print(f"TEST {name} {label}: {r['pool_gradients']:.0f} pool gradients, {r['n_operators']:.1f} ops, "
                  f"{r['cnots']:.1f} cx, {r['error_casci_mha']:.3f} mHa vs CASCI, fallbacks {r['fallbacks']}",
                  flush=True)
    out["test"] = test
    out.update({"python": sys.version.split()[0], "platform": platform.platform(), "numpy": np.__version__,
                "command": " ".join(sys.argv)})
    path = Path(args.out) if args.out else RESULTS / ("chem_adapt_learned_quick.json" if args.quick
                                                      else "chem_adapt_learned.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {path}")


EXTRA: dict[str, tuple[str, tuple[int, int]]] = {
    "n2": ("N 0 0 0; N 0 0 1.098", (6, 6)), "n2_1.3": ("N 0 0 0; N 0 0 1.3", (6, 6)),
    "lih": ("Li 0 0 0; H 0 0 1.595", (2, 5)), "beh2": (_beh2(1.326), (4, 6)), "h2o": (_h2o(1.0), (8, 6)),
}


def _extra(args: argparse.Namespace) -> None:
    """Extra TEST rows with the shipped model and the settings chosen on DEV (nothing refitted or retuned)."""
    from qtandem.chem.adapt_learned import OperatorRanker, RandomRanker

    main_json = json.loads((RESULTS / "chem_adapt_learned.json").read_text())
    k, ratio = main_json["dev"]["chosen"]["k"], main_json["dev"]["chosen"]["ratio"]
    model = OperatorRanker.default()
    heuristic = OperatorRanker()
    rows: dict[str, Any] = {}
    for name in args.extra.split(","):
        geometry, active = EXTRA[name]
        p = _problem(geometry, active)
        row = {"geometry": geometry, "active": list(active), "references": dict(p.references), "n_qubits": p.n_qubits,
               "plain": _run(p, args.kind),
               "learned": _run(p, args.kind, ranker=model, top_k=k, fallback_ratio=ratio),
               "heuristic": _run(p, args.kind, ranker=heuristic, top_k=k, fallback_ratio=ratio),
               "random": _mean_rows([_run(p, args.kind, ranker=RandomRanker(s), top_k=k, fallback_ratio=ratio)
                                     for s in range(args.random_seeds)])}
        rows[name] = row
        for label in ("plain", "learned", "heuristic", "random"):
            r = row[label]
            print(f"TEST {name} {args.kind} {label}: {r['pool_gradients']:.0f} pool gradients, "
                  f"{r['n_operators']:.1f} ops, {r['cnots']:.1f} cx, {r['error_casci_mha']:.3f} mHa vs CASCI",
                  flush=True)
    out = {"kind": args.kind, "k": k, "ratio": ratio, "model": "src/qtandem/chem/data/adapt_ranker.safetensors",
           "test": rows, "python": sys.version.split()[0], "platform": platform.platform(),
           "command": " ".join(sys.argv)}
    path = Path(args.out) if args.out else RESULTS / f"chem_adapt_learned_extra_{args.kind}.json"
    path.write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"wrote {path}")


def _features() -> tuple[str, ...]:
    from qtandem.chem.adapt_learned import FEATURES

    return FEATURES


if __name__ == "__main__":
    main()
