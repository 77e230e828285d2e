"""PEC with sparse Pauli-Lindblad layer models on issue 17's bench (device and families of bench/mitigation.py).

Each TEST instance (seeds 1000 + k) is estimated with ``methods=[readout(), pec(...)]`` at a total
of ``--shots`` shots per estimate (readout calibration and, with ``--model learn``, the cycle
benchmarking of each distinct layer are one-off costs, reported apart; the learned models are
kept in the method object and reused across the instances, as a per-device calibration).
``--model exact`` takes the layer models from the bench noise model (the oracle PEC model).
The unmitigated value at the same shots comes from ``execute``'s ``raw``.

Each distinct sampled circuit costs one density-matrix simulation, so the number of sampled
circuits per estimate (``--samples``) is bounded by simulation time here; the shots are split
evenly among them.

Usage (lane B, one job per family or instance range)::

    flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python \\
        bench/mitigation_pec.py --family trotter_4 --json bench/results/mitigation_pec_trotter_4.json
    .venv/bin/python bench/mitigation_pec.py --merge bench/results/mitigation_pec_*.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mitigation as mb
from qtandem.mitigate import execute, pec, readout, simulator_executor


def run(family: str, first: int, last: int, samples: int, shots: int, model: str, learn_shots: int,
        executor: object = None, method: object = None) -> dict:
    tasks = [t for t in mb.tasks(family, "test", last) if t.instance >= first]
    n = tasks[0].circuit.n_qubits
    noise = mb.bench_noise(n)
    executor = executor or simulator_executor(noise, seed=0)
    method = method or pec(model if model == "exact" else "learn", samples=samples,
                           learn_shots=None if model == "exact" else learn_shots)
    rows = []
    for task in tasks:
        t0 = time.time()
        res = execute(task.circuit, task.observable, executor, methods=[readout(), method], shots=shots,
                      seed=task.seed, noise=noise)
        info = res.details["pec"]
        rows.append({"instance": task.instance, "label": task.label, "seed": task.seed, "ideal": task.ideal,
                     "value": res.value, "stderr": res.stderr, "raw": res.raw, "raw_stderr": res.raw_stderr,
                     "shots_used": res.shots_used, "one_off": res.details["one_off"], "gamma": info["gamma"],
                     "sampling_overhead": info["sampling_overhead"], "samples": info["samples"],
                     "layers": info["layers"], "seconds": time.time() - t0})
        print(f"{family} #{task.instance}{task.label}: ideal {task.ideal:+.4f} pec {res.value:+.4f} +- "
              f"{res.stderr:.4f} raw {res.raw:+.4f} gamma {info['gamma']:.2f} ({time.time() - t0:.0f} s)",
              flush=True)
    return {"family": family, "shots": shots, "samples": samples, "model": model, "learn_shots": learn_shots,
            "methods": ["readout", "pec"], "split": "test", "rows": rows}


def summary(results: list[dict]) -> dict:
    out = {}
    for key in sorted({(r["family"], r["shots"], r["model"]) for r in results}):
        rows = [row for r in results if (r["family"], r["shots"], r["model"]) == key for row in r["rows"]]
        if len(rows) < 2:
            continue
        err = np.array([abs(row["value"] - row["ideal"]) for row in rows])
        raw = np.array([abs(row["raw"] - row["ideal"]) for row in rows])
        sq = np.array([(row["value"] - row["ideal"]) ** 2 for row in rows])
        rsq = np.array([(row["raw"] - row["ideal"]) ** 2 for row in rows])
        z = np.array([(row["value"] - row["ideal"]) / row["stderr"] for row in rows])
        one_off = sorted({json.dumps(row["one_off"], sort_keys=True) for row in rows})
        out[f"{key[0]} N={key[1]} model={key[2]}"] = {
            "tasks": len(rows),
            "mae": float(err.mean()), "mae_se": float(err.std(ddof=1) / math.sqrt(len(err))),
            "mae_raw": float(raw.mean()), "mae_raw_se": float(raw.std(ddof=1) / math.sqrt(len(raw))),
            "rmse_ratio_raw_over_pec": float(math.sqrt(rsq.mean() / sq.mean())),
            "mean_stderr": float(np.mean([row["stderr"] for row in rows])),
            "z_rms": float(np.sqrt(np.mean(z**2))),
            "gamma_mean": float(np.mean([row["gamma"] for row in rows])),
            "sampling_overhead_mean": float(np.mean([row["sampling_overhead"] for row in rows])),
            "samples": rows[0]["samples"], "one_off": [json.loads(s) for s in one_off],
            "seconds_per_estimate": float(np.mean([row["seconds"] for row in rows])),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", default="trotter_4")
    ap.add_argument("--first", type=int, default=0, help="first instance (inclusive)")
    ap.add_argument("--last", type=int, default=10, help="last instance (exclusive)")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--shots", type=int, nargs="+", default=[100_000],
                    help="total shots per estimate; several values share one executor cache and learned model")
    ap.add_argument("--model", choices=("exact", "learn"), default="exact")
    ap.add_argument("--learn-shots", type=int, default=200_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--merge", nargs="+", type=Path, help="result files to summarize (writes --json if given)")
    args = ap.parse_args()
    if args.merge:
        results = [run_ for p in args.merge for run_ in json.loads(p.read_text())["runs"]]
        merged = {"summary": summary(results), "runs": results}
        print(json.dumps(merged["summary"], indent=2))
        if args.json:
            args.json.write_text(json.dumps(merged, indent=1))
        return
    n = mb.tasks(args.family, "test", 1)[0].circuit.n_qubits
    executor = simulator_executor(mb.bench_noise(n), seed=0)
    method = pec(args.model, samples=args.samples, learn_shots=None if args.model == "exact" else args.learn_shots)
    results = [run(args.family, args.first, args.last, args.samples, shots, args.model, args.learn_shots,
                   executor, method) for shots in args.shots]
    merged = {"summary": summary(results), "runs": results}
    print(json.dumps(merged["summary"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(merged, indent=1))


if __name__ == "__main__":
    main()
