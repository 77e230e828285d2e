"""Shot-noise floors and exact biases on issue 17's bench (bias vs variance per method), from exact noisy values.

For every task of a family (``bench/mitigation.py``'s circuits, device and observables) this computes, from the
exact noisy distributions (density matrix, readout included; nothing sampled):

* ``floor``: the error of the best estimator that spends every shot at scale 1, inverts the (known, symmetric)
  readout shot by shot and rescales by the *exact* ratio ideal / noisy (a perfectly known decay): standard
  deviation ``r * sqrt(Var f / N)`` with ``f`` the shot-by-shot readout-inverted observable and ``r`` the ratio.
  Its mean absolute error is ``sqrt(2 / pi)`` times that. No rescaling method (``learned_decay``, the ``vlin``
  ridge) can do better on average; their excess over it is what the learned rate gets wrong.
* ``mitiq_linear_rem``: Mitiq's ZNE-linear on global folding [1, 2, 3] with readout inversion, N/3 shots per
  scale (how ``bench/mitigation.py`` runs it): its exact bias (from the exact folded values) and its standard
  deviation; ``mitiq_richardson_rem`` the same for Richardson.

With ``--results FILE`` (a ``bench/mitigation.py`` output of the same split) it also gives, per method, the
measured mean absolute error divided by the floor's mean absolute error (1: at the floor).

Usage::

    flock /tmp/qt_lane_a.lock .venv/bin/python bench/mitigation_floor.py --family ghz_z0z9 --split dev \\
        --json bench/results/mitigation_floor_dev_ghz_z0z9.json
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
from qtandem.mitigate.folding import fold_global

MAE_FACTOR = math.sqrt(2 / math.pi)
"""E|X| / sd(X) for a centred normal X."""


def shot_values(keys: Sequence[str], observable: str) -> np.ndarray:
    """The shot-by-shot readout-inverted value of ``observable`` for each bitstring (symmetric flips READOUT).

    A Z product on ``k`` qubits is divided by ``(1 - 2p)^k`` (unbiased for tensored symmetric flips); ``P(bits)``
    is the tensor product of the per-qubit inverse ``[[1-p, -p], [-p, 1-p]] / (1 - 2p)`` read at ``bits``.
    """
    p = mb.READOUT
    if observable.startswith("P("):
        target = observable[2:-1]
        a, b = (1 - p) / (1 - 2 * p), -p / (1 - 2 * p)
        return np.array([math.prod(a if x == y else b for x, y in zip(k, target, strict=True)) for k in keys])
    terms = mb.z_terms(observable)
    out = np.zeros(len(keys))
    for i, bits in enumerate(keys):
        out[i] = sum(c * (-1) ** sum(int(bits[-1 - q]) for q in qs) / (1 - 2 * p) ** len(qs) for c, qs in terms)
    return out


def moments(executor: Any, circuit: Any, observable: str) -> tuple[float, float]:
    """Exact mean and per-shot variance of the readout-inverted observable on ``circuit`` (noisy)."""
    keys, probs = executor._distribution(circuit)
    f = shot_values(keys, observable)
    mean = float(probs @ f)
    return mean, float(probs @ (f - mean) ** 2)


def task_floor(executor: Any, task: mb.Task, shots: int) -> dict[str, Any]:
    """Floor and Mitiq's exact bias and deviation for one task at ``shots``."""
    vals, vars_ = [], []
    for s in (1, 2, 3):
        m, v = moments(executor, task.circuit if s == 1 else fold_global(task.circuit, s), task.observable)
        vals.append(m)
        vars_.append(v)
    ratio = task.ideal / vals[0] if abs(vals[0]) > 1e-12 else math.nan
    floor_sd = abs(ratio) * math.sqrt(vars_[0] / shots) if math.isfinite(ratio) else math.nan
    out: dict[str, Any] = {"instance": task.instance, "label": task.label, "ideal": task.ideal,
                           "noisy_readout_inverted": vals, "per_shot_var": vars_, "ratio": ratio,
                           "floor_sd": floor_sd, "rate": math.log(ratio) if ratio > 0 else math.nan}
    for name, w in (("mitiq_linear_rem", (4 / 3, 1 / 3, -2 / 3)), ("mitiq_richardson_rem", (3.0, -3.0, 1.0))):
        est = sum(wi * v for wi, v in zip(w, vals, strict=True))
        sd = math.sqrt(sum(wi**2 * v / (shots // 3) for wi, v in zip(w, vars_, strict=True)))
        out[name] = {"bias": est - task.ideal, "sd": sd,
                     "expected_abs_error": expected_abs(est - task.ideal, sd)}
    return out


def expected_abs(bias: float, sd: float) -> float:
    """E|b + sd Z| for a standard normal Z (folded normal mean)."""
    if sd <= 0:
        return abs(bias)
    z = bias / sd
    return sd * MAE_FACTOR * math.exp(-z * z / 2) + bias * (1 - 2 * 0.5 * math.erfc(z / math.sqrt(2)))


def per_instance_mean(rows: list[dict[str, Any]], key: str) -> float:
    """Mean over instances of the per-instance mean of ``key`` (the bench's MAE convention)."""
    by: dict[int, list[float]] = {}
    for r in rows:
        by.setdefault(r["instance"], []).append(r[key])
    return statistics.fmean(statistics.fmean(v) for v in by.values())


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, choices=mb.FAMILIES)
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--budgets", default="100000,10000")
    ap.add_argument("--results", nargs="*", default=[], help="bench/mitigation.py outputs to compare with the floor")
    ap.add_argument("--json", required=True)
    args = ap.parse_args(argv)
    executor = mb.bench_executor(seed=0)
    executor.stim = False  # exact distributions for every circuit (Clifford ones included)
    all_tasks = mb.tasks(args.family, args.split, instances=args.instances)
    out: dict[str, Any] = {"family": args.family, "split": args.split, "instances": args.instances, "budgets": {}}
    for shots in (int(b) for b in args.budgets.split(",")):
        rows = [task_floor(executor, t, shots) for t in all_tasks]
        for r in rows:
            r["floor_mae"] = MAE_FACTOR * r["floor_sd"]
            for k in ("mitiq_linear_rem", "mitiq_richardson_rem"):
                r[k + "_eae"] = r[k]["expected_abs_error"]
                r[k + "_absbias"] = abs(r[k]["bias"])
        summary = {"floor_mae": per_instance_mean(rows, "floor_mae")}
        for k in ("mitiq_linear_rem", "mitiq_richardson_rem"):
            summary[k + "_expected_mae"] = per_instance_mean(rows, k + "_eae")
            summary[k + "_mean_abs_bias"] = per_instance_mean(rows, k + "_absbias")
        rates = [r["rate"] for r in rows if math.isfinite(r["rate"]) and abs(r["ideal"]) > 0.05]
        if len(rates) > 1:
            summary["rate_mean"], summary["rate_sd"] = statistics.fmean(rates), statistics.stdev(rates)
        measured: dict[str, Any] = {}
        for path in args.results:
            with open(path) as fh:
                data = json.load(fh)
            for s in data["summary"]:
                if s["family"] == args.family and s["shots"] == shots:
                    for name, v in s["methods"].items():
                        measured[name] = {"mae": v["mae"], "mae_stderr": v["mae_stderr"],
                                          "over_floor": v["mae"] / summary["floor_mae"], "file": path}
        summary["measured"] = measured
        out["budgets"][str(shots)] = {"summary": summary, "tasks": rows}
        line = ", ".join(f"{k} {v:.4f}" for k, v in summary.items() if isinstance(v, float))
        print(f"{args.family} {args.split} N={shots}: {line}")
        for name, v in sorted(measured.items(), key=lambda kv: kv[1]["mae"])[:12]:
            print(f"   {name}: {v['mae']:.4f} = {v['over_floor']:.2f}x floor")
    with open(args.json, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
