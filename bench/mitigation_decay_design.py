"""Choose ``learned_decay``'s second scale and shot share on DEV from exact noisy values (issue 17, variance-aware).

``learned_decay(scale=s, share=q)`` measures each target at scale 1 (``q`` of the shots) and at global fold ``s``
(the rest) and shrinks the measured rate toward a prior learned on TRAIN circuits. Its error has three parts: the
scale-1 shot noise (the floor), the rate's shot noise (falls with the leverage ``s - 1`` but rises as the value at
``s`` shrinks) and the fit's bias (a decay that is not one exponential: grows with ``s``). This script evaluates
every ``(s, q)`` of a grid without sampling a single circuit: exact readout-inverted means and per-shot variances
at scales 1, 3, 5, 7 (``bench/mitigation_floor.py``), the prior from the TRAIN instances' exact values (as the
method learns it, with 100,000 training shots each), and the estimator's mean absolute error by Monte Carlo over
Gaussian shot noise (4,000 draws per task), using the library's own ``posterior_rate``.

Usage::

    flock /tmp/qt_lane_a.lock .venv/bin/python bench/mitigation_decay_design.py --family brickwork --split dev \\
        --json bench/results/mitigation_decay_design_dev_brickwork.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mitigation as mb
from mitigation_floor import moments
from qtandem.mitigate.decay import decay_prior, posterior_rate
from qtandem.mitigate.folding import fold_global

SCALES = (1, 3, 5, 7)


def exact_rows(executor: Any, family: str, split: str, instances: int) -> list[dict[str, Any]]:
    """Per task: ideal value, readout-inverted exact means and per-shot variances at :data:`SCALES`."""
    rows = []
    for t in mb.tasks(family, split, instances=instances):
        means, vars_ = [], []
        for s in SCALES:
            m, v = moments(executor, t.circuit if s == 1 else fold_global(t.circuit, s), t.observable)
            means.append(m)
            vars_.append(v)
        rows.append({"instance": t.instance, "label": t.label, "ideal": t.ideal, "means": means, "vars": vars_})
    return rows


def design_mae(rows: list[dict[str, Any]], prior: dict[str, float] | None, scale: int, share: float, shots: int,
               rng: np.random.Generator, draws: int = 4000) -> float:
    """Monte Carlo mean absolute error (per-instance mean first) of learned_decay(scale, share) at ``shots``."""
    k = SCALES.index(scale)
    per_inst: dict[int, list[float]] = {}
    for r in rows:
        n1 = max(1, round(share * shots)) if share < 1 else shots
        ns = shots - n1
        s1 = math.sqrt(r["vars"][0] / n1)
        v1 = r["means"][0] + s1 * rng.standard_normal(draws)
        if ns > 0:
            ss = math.sqrt(r["vars"][k] / ns)
            vs = r["means"][k] + ss * rng.standard_normal(draws)
        errs = np.empty(draws)
        for i in range(draws):
            if ns > 0:
                rate, var, _ = posterior_rate(v1[i], s1, vs[i], ss, float(scale), prior)
            else:
                rate, var, _ = posterior_rate(v1[i], s1, None, None, float(scale), prior)
            if not math.isfinite(var):
                rate = 0.0
            errs[i] = abs(v1[i] * math.exp(rate) - r["ideal"])
        per_inst.setdefault(r["instance"], []).append(float(errs.mean()))
    return statistics.fmean(statistics.fmean(v) for v in per_inst.values())


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, choices=mb.FAMILIES)
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--train-instances", type=int, default=12)
    ap.add_argument("--train-shots", type=int, default=100_000)
    ap.add_argument("--shares", default="0.5,0.6,0.7,0.8,0.9,1.0")
    ap.add_argument("--budgets", default="100000,10000")
    ap.add_argument("--json", required=True)
    args = ap.parse_args(argv)
    executor = mb.bench_executor(seed=0)
    executor.stim = False
    train = exact_rows(executor, args.family, "train", args.train_instances)
    rows = exact_rows(executor, args.family, args.split, args.instances)
    out: dict[str, Any] = {"family": args.family, "split": args.split, "scales": SCALES, "priors": {},
                           "grid": [], "rows": rows}
    rng = np.random.default_rng(7)
    labels = sorted({r["label"] for r in rows})
    priors: dict[str, dict[str, float] | None] = {}
    for lab in labels:  # one prior per observable, as learned_decay keys them
        sel = [r for r in train if r["label"] == lab]
        sd = [math.sqrt(r["vars"][0] / args.train_shots) for r in sel]
        priors[lab] = decay_prior([r["ideal"] for r in sel], [r["means"][0] for r in sel], sd)
    out["priors"] = priors
    shares = [float(x) for x in args.shares.split(",")]
    for shots in (int(b) for b in args.budgets.split(",")):
        floor = statistics.fmean(statistics.fmean(
            math.sqrt(2 / math.pi) * abs(r["ideal"] / r["means"][0]) * math.sqrt(r["vars"][0] / shots)
            for r in rows if r["instance"] == i) for i in sorted({r["instance"] for r in rows}))
        for scale in SCALES[1:]:
            for share in shares:
                if share == 1.0 and scale != SCALES[1]:
                    continue  # share 1 never measures the second scale
                # per observable prior, then the family MAE over every task (per-instance mean first)
                per_task: list[dict[str, Any]] = []
                for lab in labels:
                    sel = [r for r in rows if r["label"] == lab]
                    for r in sel:
                        per_task.append({"instance": r["instance"],
                                         "mae": design_mae([r], priors[lab], scale, share, shots, rng, draws=1500)})
                mae = statistics.fmean(statistics.fmean(p["mae"] for p in per_task if p["instance"] == i)
                                       for i in sorted({p["instance"] for p in per_task}))
                out["grid"].append({"shots": shots, "scale": scale, "share": share, "mae": mae,
                                    "floor": floor, "over_floor": mae / floor})
                print(f"N={shots} scale={scale} share={share}: MAE {mae:.4f} ({mae / floor:.2f}x floor {floor:.4f})",
                      flush=True)
    with open(args.json, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
