"""How long a maximum-likelihood calibration takes (issue 15).

Draws hidden devices (``Device.random(n, "line", seed=s)``, correlated readout removed:
its 4x4 matrices are not fitted), runs the default characterization plan of all qubits and
all line pairs (every experiment, RB and IRB included) through the simulator executor, and
times ``calibrate`` on one thread: the profile start, the L-BFGS restarts and the Hessian,
in wall-clock and CPU seconds. Also reports how well the fit did (|fit - truth| / stderr
per parameter) and, with ``--eval``, the seconds of one NLL and one NLL + gradient of the
full plan (evaluations per second). The prior is :func:`qtandem.learn.layout_prior`.

Before/after comparisons run this script twice on two source trees (``PYTHONPATH``) and
label the rows (``--label``). Run with both CPU locks (a timing):
``flock /tmp/qtandem-cpu0.lock flock /tmp/qtandem-cpu1.lock .venv/bin/python bench/learn_fit_speed.py
--qubits 2 3 5 --eval --label after --out bench/results/learn_fit_speed_after.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from qtandem.device import Device
from qtandem.learn import characterization, layout_prior, simulator_executor
from qtandem.learn.calibrate import calibrate
from qtandem.learn.likelihood import parse_param


def truth(device: Device, name: str) -> float:
    kind, where, field = parse_param(name)
    obj = device.qubits[where] if kind == "q" else device.edges[where]  # type: ignore[index]
    return float(getattr(obj, field))


def run_one(n: int, seed: int, shots: int, restarts: int, experiments: list[str] | None) -> dict:
    true = Device.random(n, seed=seed)
    true.readout_correlations = {}
    pairs = [(q, q + 1) for q in range(n - 1)]
    # amplify="equator": the design of the stored timings (characterization's default before session 34)
    plan = characterization(list(range(n)), pairs=pairs, experiments=experiments, seed=seed, width=n,
                            amplify="equator")
    t0 = time.perf_counter()
    data = plan.run(simulator_executor(true, seed=seed), shots=shots, seed=seed)
    t_sim = time.perf_counter() - t0
    stages: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(msg: str) -> None:
        now = time.perf_counter()
        key = "initial values" if msg.startswith("initial") else msg.split(":", maxsplit=1)[0]
        stages[key] = stages.get(key, 0.0) + now - last[0]
        if not msg.startswith("initial"):
            print(f"  {now - start:7.1f} s  {msg}", flush=True)
        last[0] = now

    t0 = start = last[0] = time.perf_counter()
    c0 = time.process_time()
    cal = calibrate(data, prior=layout_prior(true), restarts=restarts, seed=seed, progress=progress)
    t_fit = time.perf_counter() - t0
    c_fit = time.process_time() - c0
    z = {k: (v - truth(true, k)) / cal.stderr[k] for k, v in cal.values.items() if k not in cal.uninformed}
    return {"qubits": n, "pairs": len(pairs), "seed": seed, "shots": shots, "restarts": restarts,
            "circuits": len(plan.circuits), "parameters": len(cal.values), "simulate_s": round(t_sim, 2),
            "fit_s": round(t_fit, 2), "fit_cpu_s": round(c_fit, 2),
            "stages_s": {k: round(v, 2) for k, v in stages.items()},
            "uninformed": cal.uninformed, "within_3_sigma": sum(abs(v) < 3 for v in z.values()) / max(len(z), 1),
            "within_1_sigma": sum(abs(v) < 1 for v in z.values()) / max(len(z), 1),
            "median_abs_z": statistics.median(abs(v) for v in z.values()) if z else None,
            "worst": sorted(((round(v, 2), k) for k, v in z.items()), key=lambda t: -abs(t[0]))[:3]}


def time_evaluation(n: int, seed: int, shots: int, repeats: int = 5) -> dict:
    """Seconds of one NLL and one NLL + gradient of the full plan (the unit of every fit stage)."""
    from qtandem.learn.calibrate import model_parameters
    from qtandem.learn.likelihood import LikelihoodModel

    true = Device.random(n, seed=seed)
    true.readout_correlations = {}
    pairs = [(q, q + 1) for q in range(n - 1)]
    plan = characterization(list(range(n)), pairs=pairs, seed=seed, width=n, amplify="equator")  # stored timings
    data = plan.run(simulator_executor(true, seed=seed), shots=shots, seed=seed)
    prior = layout_prior(true)
    names = model_parameters([(e.name, e.qubits) for e in plan.experiments], "full", prior)
    lik = LikelihoodModel(names, prior, list(range(n)))
    t0 = time.perf_counter()
    lik.nll(data, lik.theta0()).item()
    first = time.perf_counter() - t0
    plain, grad, grad_cpu = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with torch.no_grad():
            lik.nll(data, lik.theta0()).item()
        plain.append(time.perf_counter() - t0)
        theta = lik.theta0().requires_grad_(True)
        t0, c0 = time.perf_counter(), time.process_time()
        lik.nll(data, theta).backward()
        grad.append(time.perf_counter() - t0)
        grad_cpu.append(time.process_time() - c0)
    return {"qubits": n, "pairs": len(pairs), "circuits": len(plan.circuits), "parameters": len(names),
            "steps": sum(len(lik._program(c).steps) for c in plan.circuits),
            "first_nll_s": round(first, 3), "nll_s": round(min(plain), 4), "nll_and_gradient_s": round(min(grad), 4),
            "nll_and_gradient_cpu_s": round(min(grad_cpu), 4),
            "nll_and_gradient_per_s": round(1 / min(grad), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[5], help="qubit counts (a line each)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--restarts", type=int, default=1)
    ap.add_argument("--experiments", default=None, help="comma-separated (default: the full plan)")
    ap.add_argument("--eval", action="store_true", help="also time one NLL (+ gradient) of the full plan")
    ap.add_argument("--eval-only", action="store_true", help="time one NLL (+ gradient) of the full plan only")
    ap.add_argument("--label", default="", help="a name for the source tree timed (before/after)")
    ap.add_argument("--out", default=None, help="default bench/results/learn_fit_speed.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    import qtandem

    exps = args.experiments.split(",") if args.experiments else None
    out = Path(args.out or "bench/results/learn_fit_speed.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    evals: list[dict] = []

    def save() -> None:  # after every row: a run stopped by its time limit keeps what it measured
        out.write_text(json.dumps({"benchmark": "learn_fit_speed", "threads": 1, "machine": platform.machine(),
                                   "python": platform.python_version(), "torch": torch.__version__,
                                   "source": str(Path(qtandem.__file__).parent), "args": vars(args),
                                   "rows": rows, "evaluations": evals}, indent=1) + "\n")

    for n in args.qubits:
        if args.eval or args.eval_only:
            row = {"label": args.label, **time_evaluation(n, args.seeds[0], args.shots)}
            print(json.dumps(row), flush=True)
            evals.append(row)
            save()
        if args.eval_only:
            continue
        for seed in args.seeds:
            row = {"label": args.label, **run_one(n, seed, args.shots, args.restarts, exps)}
            print(json.dumps(row), flush=True)
            rows.append(row)
            save()


if __name__ == "__main__":
    main()
