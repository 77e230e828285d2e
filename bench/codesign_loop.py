"""Loop vs stale calibration (issue 20 section 3): the same workload pipeline with three beliefs about the device.

Target (issue 20): on a hidden 8-16 qubit device whose parameters drift between the published
calibration and the run (T1 down 30%, an over-rotation appearing, readout worsening), over >= 5
seeds of the hidden device, each at a stated total shot budget: >= 2x lower error on the 10-qubit
GHZ fidelity and on the LiH VQE energy, >= 5 points higher test accuracy for the hybrid classifier,
a lower logical error rate for the d = 3 surface-code memory decoded with the re-learned noise.

Hidden devices: ``qtandem.codesign.drift.hidden_device(10, seed=s, coupling="heavy_hex")`` with the
default drift (T1 and T2 x0.7, readout errors x2, a +-0.1 rad ``sx`` over-rotation on 3 of 10 qubits,
+-0.05 rad on 30% of the couplings' ``cx``), seeds fixed before any run (0-4 by default). Workloads
(the registered loop workloads, ``qtandem.codesign.stages.make_workload``): ``ghz`` (10 qubits,
K3's), ``vqe_lih`` (K3's, when registered), ``classifier`` and ``qec_memory`` (d = 3, 3 rounds).
Each workload runs with the same hardware (``hidden.executor(0, seed)``) and the same seeds under
three beliefs:

* ``stale``: the published calibration;
* ``learned``: the device the loop learns from the hardware: ``--learn loop`` runs the loop's own
  iteration-0 stages (:func:`loop_learn`: ``stages.characterize`` of every qubit and coupling, 200 shots
  per circuit, then ``stages.calibrate(method="fast")`` from the published prior); ``--learn
  module:function(published, executor, *, shots, seed) -> (Device, shots spent)`` plugs in another; the
  characterization shots are reported beside the workload's;
* ``oracle``: the actual device itself: what a perfect re-learning would give (the ceiling of the
  loop, not the loop).

Usage (lane A, one shard per few seeds, each < 8 min):
``flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/codesign_loop.py
--seeds 0 1 2 3 4 --workloads ghz classifier qec_memory --learn loop --out bench/results/codesign_loop_a.json``
(and ``--workloads vqe_lih ... _b.json``), then
``python bench/codesign_loop.py --merge bench/results/codesign_loop_*.json --out bench/results/codesign_loop.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import platform
import statistics
import time
from pathlib import Path
from typing import Any

SHOTS = {"ghz": 8000, "vqe_lih": 20000, "classifier": 16000, "qec_memory": 200_000}
"""Hardware shots per run of each workload (fixed before the runs)."""

LEARN_SHOTS = 200
"""Shots per characterization circuit (the loop config's default)."""

OPTIONS: dict[str, dict[str, Any]] = {"ghz": {"n_qubits": 10}, "vqe_lih": {}, "classifier": {},
                                      "qec_memory": {"distance": 3, "rounds": 3}}

TARGETS = {"ghz": "stale/loop error >= 2", "vqe_lih": "stale/loop error >= 2",
           "classifier": "loop accuracy - stale >= 5 points", "qec_memory": "loop LER < stale LER"}


def loop_learn(published: Any, executor: Any, *, shots: int, seed: int) -> tuple[Any, int]:
    """The loop's iteration-0 learning (``qtandem.codesign.stages``, the loop config's defaults): characterize
    every qubit and coupling (readout, t1, amplify_sx, amplify_x, amplify_cx; ``shots`` per circuit) on the
    hardware, then the fast calibration from the published prior. Returns the device and the shots spent."""
    from qtandem.codesign import stages

    qubits = list(range(published.num_qubits))
    data = stages.characterize(published, executor, qubits, sorted(published.edges), shots=shots, seed=seed)
    return stages.calibrate(data, published, method="fast", seed=seed), int(sum(sum(c.values()) for c in data.counts))


def _learner(spec: str | None) -> Any:
    if not spec:
        return None
    if spec == "loop":
        return loop_learn
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def run(seeds: list[int], workloads: list[str], learn: str | None, n_qubits: int, *,
        shots: dict[str, int] | None = None, options: dict[str, dict[str, Any]] | None = None,
        learn_shots: int = LEARN_SHOTS) -> list[dict[str, Any]]:
    """Every workload under every belief on ``hidden_device(n_qubits, seed)`` for each seed (``shots``,
    ``options``: per-workload overrides of :data:`SHOTS` and :data:`OPTIONS`)."""
    from qtandem.codesign.drift import hidden_device
    from qtandem.codesign.stages import make_workload

    shots = {**SHOTS, **(shots or {})}
    options = {**OPTIONS, **(options or {})}
    learner = _learner(learn)
    rows = []
    for seed in seeds:
        hidden = hidden_device(n_qubits, seed=seed, coupling="heavy_hex")
        beliefs: dict[str, tuple[Any, int]] = {"stale": (hidden.published, 0), "oracle": (hidden.actual(0), 0)}
        if learner is not None:
            t0 = time.perf_counter()
            learned, spent = learner(hidden.published, hidden.executor(0, seed=1000 + seed), shots=learn_shots,
                                     seed=seed)
            beliefs["learned"] = (learned, spent)
            print(f"seed {seed}: learned with {spent} shots in {time.perf_counter() - t0:.1f} s", flush=True)
        for kind in workloads:
            work = make_workload(kind, **options.get(kind, {}))
            for belief, (device, extra_shots) in beliefs.items():
                t0 = time.perf_counter()
                res = work.run(device, hidden.executor(0, seed=100 + seed), shots=shots[kind], seed=seed)
                row = {"seed": seed, "workload": kind, "belief": belief, "value": res.value, "error": res.error,
                       "shots": res.shots, "learn_shots": extra_shots, "seconds": time.perf_counter() - t0,
                       "details": {k: v for k, v in res.details.items() if k not in ("labels",)}}
                rows.append(row)
                print(f"seed {seed} {kind:10s} {belief:7s} value {res.value:.5f} error {res.error:.5f} "
                      f"({row['seconds']:.1f} s)", flush=True)
            if kind == "qec_memory":
                paired = qec_paired(work, hidden, {b: d for b, (d, _) in beliefs.items()}, seed, shots[kind])
                for row in rows[-len(beliefs):]:
                    row["paired_vs_stale"] = paired.get(row["belief"])
    return rows


def qec_paired(work: Any, hidden: Any, devices: dict[str, Any], seed: int,
               shots: int = SHOTS["qec_memory"]) -> dict[str, dict[str, Any]]:
    """McNemar's exact test on the very shots the workload runs decoded (same executor seed and Stim seed):
    shots the stale decoder gets wrong and the other right (``b``) vs the reverse (``c``)."""
    import numpy as np
    from scipy import stats

    dets, obs = hidden.executor(0, seed=100 + seed).sample_stim(work.circuit, shots, seed=seed)
    wrong = {b: np.any(work.decoder(d).decode(dets) != obs, axis=1) for b, d in devices.items()}
    out = {}
    for belief, w in wrong.items():
        if belief == "stale":
            continue
        b, c = int(np.sum(wrong["stale"] & ~w)), int(np.sum(~wrong["stale"] & w))
        p = float(stats.binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
        out[belief] = {"stale_only_wrong": b, "only_wrong": c, "mcnemar_p": p}
    return out


def _gmean(xs: list[float]) -> float:
    xs = [max(x, 1e-12) for x in xs]
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for kind in sorted({r["workload"] for r in rows}):
        by: dict[str, dict[int, dict[str, Any]]] = {}
        for r in rows:
            if r["workload"] == kind:
                by.setdefault(r["belief"], {})[r["seed"]] = r
        stale = by.get("stale", {})
        for belief in ("learned", "oracle"):
            other = by.get(belief, {})
            seeds = sorted(set(stale) & set(other))
            if not seeds:
                continue
            es = [stale[s]["error"] for s in seeds]
            eo = [other[s]["error"] for s in seeds]
            entry: dict[str, Any] = {
                "workload": kind, "compare": f"stale vs {belief}", "seeds": seeds,
                "shots_per_run": stale[seeds[0]]["shots"], "learn_shots": other[seeds[0]]["learn_shots"],
                "stale_error_mean": statistics.fmean(es), f"{belief}_error_mean": statistics.fmean(eo),
                "per_seed_stale": es, f"per_seed_{belief}": eo,
                "ratio_gmean": _gmean(es) / _gmean(eo), "better_in": sum(b < a for a, b in zip(es, eo, strict=True)),
                "target": TARGETS.get(kind, "")}
            if kind == "classifier":
                gain = statistics.fmean(eo) - statistics.fmean(es)
                entry["accuracy_gain_points"] = -100 * gain
                entry["target_met"] = bool(-100 * gain >= 5)
            elif kind == "qec_memory":
                entry["target_met"] = bool(statistics.fmean(eo) < statistics.fmean(es))
                paired = [other[s].get("paired_vs_stale") for s in seeds]
                if all(paired):
                    entry["mcnemar_p_per_seed"] = [p["mcnemar_p"] for p in paired]
                    entry["stale_only_wrong"] = sum(p["stale_only_wrong"] for p in paired)
                    entry["only_wrong"] = sum(p["only_wrong"] for p in paired)
            else:
                entry["target_met"] = bool(entry["ratio_gmean"] >= 2)
            out.append(entry)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--workloads", nargs="*", default=["ghz", "vqe_lih", "classifier", "qec_memory"])
    ap.add_argument("--learn", default=None, help="'loop' (the loop's own stages) or module:function")
    ap.add_argument("--n-qubits", type=int, default=10)
    ap.add_argument("--options", default=None, help='JSON overrides of OPTIONS, e.g. \'{"classifier": '
                    '{"mitigate_readout": true}}\'')
    ap.add_argument("--learn-shots", type=int, default=LEARN_SHOTS)
    ap.add_argument("--merge", nargs="*", default=None, help="merge shard files into one table")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if args.merge:
        rows: list[dict[str, Any]] = []
        for path in args.merge:
            if Path(path).resolve() != Path(args.out).resolve():
                rows.extend(json.loads(Path(path).read_text())["rows"])
        result = {"shards": args.merge, "rows": rows, "table": table(rows)}
    else:
        t0 = time.perf_counter()
        options = {**OPTIONS, **(json.loads(args.options) if args.options else {})}
        rows = run(args.seeds, args.workloads, args.learn, args.n_qubits, options=options, learn_shots=args.learn_shots)
        result = {"seeds": args.seeds, "workloads": args.workloads, "learn": args.learn, "n_qubits": args.n_qubits,
                  "shots": {k: SHOTS[k] for k in args.workloads}, "options": options, "learn_shots": args.learn_shots,
                  "machine": platform.platform(), "seconds": time.perf_counter() - t0,
                  "rows": rows, "table": table(rows)}
    Path(args.out).write_text(json.dumps(result, indent=1))
    for entry in result["table"]:
        print(json.dumps({k: v for k, v in entry.items() if not k.startswith("per_seed")}))


if __name__ == "__main__":
    main()
