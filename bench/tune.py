"""Wall time of a small ``qtandem tune`` run (local engine vs Ray Tune) and 1 vs 2 data-parallel training workers.

Run with both lane locks (timings):

    flock /tmp/qt_lane_a.lock flock /tmp/qt_lane_b.lock env OMP_NUM_THREADS=1 \\
        .venv/bin/python bench/tune.py --out bench/results/tune_small.json

Tune: examples/tune/moons.toml (8 trials of the two-moons hybrid classifier, 8 epochs each, ASHA with
grace period 2 and reduction factor 2), with 1 and 2 workers on the local engine (successive halving in
rounds) and 2 CPUs of a private local Ray (Ray Tune's ASHA; ``ray.init`` included in the time).
Budgets are counted in epochs and trials, not seconds. Reported per run: wall time, trials, how many
stopped early, evaluations run in all (the work), best trial and its validation accuracy.

Training: ``qtandem qec train``'s trainer (d = 5 surface code, a SyndromeNet of hidden width 32, global
batch 512, 40 steps, no validation) with 1 and 2 workers (``qtandem.training.launch``: gloo ranks
on this machine, one torch thread each): time per optimizer step over the steps after the first 5, and
the largest weight difference between the two runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

QEC = """seed = 0
threads = 1
[data]
distance = 5
p = 0.005
val_shots = 0
[model]
hidden = 32
heads = 4
readout = 32
[optim]
steps = {steps}
batch_size = 512
warmup = 5
[train]
log_every = 1
eval_every = 1000
checkpoint_every = 1000
"""


def tune_runs(args: argparse.Namespace) -> list[dict]:
    from qtandem.sweep.tune import run_tune
    from qtandem.sweep.tune_config import load_config

    cfg = load_config(args.tune_config)
    rows = []
    for engine, workers in (("local", 1), ("local", 2), ("ray", 2)):
        if engine not in args.engines:
            continue
        out = Path(tempfile.mkdtemp(prefix=f"tune-{engine}{workers}-"))
        t0 = time.perf_counter()
        res = run_tune(cfg, out, engine=engine, workers=workers)
        wall = time.perf_counter() - t0
        rows.append({"engine": engine, "workers": workers, "wall_s": round(wall, 2), "trials": len(res.table),
                     "stopped_early": sum(1 for r in res.table if str(r["status"]).startswith("stopped")),
                     "evaluations": sum(r["reports"] for r in res.table),
                     "best_trial": res.best["trial"] if res.best else None,
                     "best_val_accuracy": res.best["val_accuracy"] if res.best else None})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def train_runs(args: argparse.Namespace) -> dict:
    import torch

    from qtandem.qec.train import parse_config, train
    from qtandem.training import launch

    cfg = parse_config(QEC.format(steps=args.steps))
    out: dict = {"steps": args.steps, "global_batch": 512, "distance": 5, "runs": []}
    models = {}
    for workers in (1, 2):
        folder = tempfile.mkdtemp(prefix=f"dp{workers}-")
        t0 = time.perf_counter()
        res = launch(train, workers, cfg, output=folder, progress=False, threads=1)
        wall = time.perf_counter() - t0
        steps = [r for r in res.records if r["kind"] == "step"]
        skip = 5
        per_step = (steps[-1]["wall_s"] - steps[skip - 1]["wall_s"]) / (len(steps) - skip)
        models[workers] = res.decoder.model.state_dict()
        out["runs"].append({"workers": workers, "wall_s_total": round(wall, 2),
                            "step_ms": round(1000 * per_step, 2), "final_loss": steps[-1]["loss"]})
        print(json.dumps(out["runs"][-1]), flush=True)
    out["speedup_step"] = round(out["runs"][0]["step_ms"] / out["runs"][1]["step_ms"], 3)
    out["max_weight_diff"] = max(float((models[1][k] - models[2][k]).abs().max()) for k in models[1])
    out["torch"] = torch.__version__
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tune-config", default="examples/tune/moons.toml")
    ap.add_argument("--engines", nargs="+", default=["local", "ray"])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--skip-tune", action="store_true")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--out", default="bench/results/tune_small.json")
    args = ap.parse_args()
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_before": os.getloadavg()}, "tune": [], "train": None}
    if not args.skip_tune:
        result["tune"] = tune_runs(args)
    if not args.skip_train:
        result["train"] = train_runs(args)
    result["machine"]["load_after"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
