"""MQT Predictor (arXiv:2310.06889) as the anchor of the learned pass choice: its RL compiler vs qtandem.

MQT Predictor lives in its own virtual environment (it pins other versions of torch and qiskit):
``python -m venv /tmp/venv-mqtp && /tmp/venv-mqtp/bin/pip install mqt.predictor``. It ships no
trained model, so this script trains one with its own documented call
(``Predictor(figure_of_merit, device, path_training_circuits=...).train_model(timesteps, test=True,
seed=0)``) on generated dev circuits only (``qtandem.compile.generate``, seeds 100+, never MQT
Bench), then compiles the dev set of bench/compile_general.py's generated families (4 and 8 qubits,
seed 1) for ``ibm_falcon_27`` ({cx, rz, sx, x}, 27-qubit heavy hex) with the expected-fidelity
reward, the objective it offers closest to ours. qtandem compiles the same inputs with
``optimize(level=3, basis="ibm", hardware="heavy_hex_27")`` (also routed to a 27-qubit heavy hex).
Counts only: MQT's routed outputs are not checked by qtandem's verifier here.

Run (under the CPU lock): ``flock /tmp/qtandem-cpu.lock .venv/bin/python bench/compile_mqt_predictor.py``;
raw JSON in bench/results/compile_mqt_predictor.json.

``--probe-steps N`` instead times N random valid actions of MQT Predictor's RL environment (seeded, on
the same generated training circuits, each action capped at ``--cap-s``) and projects what one PPO
update would cost (stable-baselines3's default rollout is 2048 environment steps per update); raw JSON in
bench/results/compile_mqt_predictor_probe.json. No release of mqt.predictor ships a trained RL
compilation model (1.3.0: only res.csv; 2.0.0-2.4.0: an empty trained_model folder), so this cost
decides whether the comparison fits.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MQT_PYTHON = Path("/tmp/venv-mqtp/bin/python")

MQT_STEP = r"""
import json, sys, time, logging, signal
from pathlib import Path
folder = Path(sys.argv[1]); timesteps = int(sys.argv[2]); cap = int(sys.argv[3])

def _alarm(*_):
    raise TimeoutError(f"over {cap} s")

signal.signal(signal.SIGALRM, _alarm)
from mqt.bench.targets import get_device
from mqt.predictor.rl import Predictor
from qiskit import qasm2
import qiskit
device = get_device("ibm_falcon_27")
t0 = time.perf_counter()
pred = Predictor(figure_of_merit="expected_fidelity", device=device, path_training_circuits=folder / "train",
                 logger_level=logging.WARNING)
pred.train_model(timesteps=timesteps, test=True, seed=0, verbose=0)
train_s = time.perf_counter() - t0
rows = {}
for f in sorted((folder / "eval").glob("*.qasm")):
    qc = qasm2.load(str(f), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    t1 = time.perf_counter()
    signal.alarm(cap)
    try:
        out, passes = pred.compile_as_predicted(qc)
        signal.alarm(0)
    except Exception as err:
        signal.alarm(0)
        rows[f.stem] = {"error": f"{type(err).__name__}: {err}"[:300]}
        continue
    ops = out.count_ops()
    gates = sum(v for k, v in ops.items() if k not in ("measure", "barrier", "delay"))
    rows[f.stem] = {"gates": int(gates), "cx": int(ops.get("cx", 0)), "passes": passes,
                    "seconds": round(time.perf_counter() - t1, 2), "ops": {k: int(v) for k, v in ops.items()}}
json.dump({"train_seconds": round(train_s, 1), "timesteps": timesteps, "qiskit": qiskit.__version__,
           "rows": rows}, open(folder / "mqt.json", "w"), indent=1)
"""


MQT_PROBE = r"""
import json, sys, time, logging, signal, statistics
from pathlib import Path
import numpy as np
folder = Path(sys.argv[1]); steps = int(sys.argv[2]); cap = int(sys.argv[3])

def _alarm(*_):
    raise TimeoutError(f"over {cap} s")

signal.signal(signal.SIGALRM, _alarm)
import mqt.predictor
from mqt.bench.targets import get_device
from mqt.predictor.rl import Predictor
t0 = time.perf_counter()
pred = Predictor(figure_of_merit="expected_fidelity", device=get_device("ibm_falcon_27"),
                 path_training_circuits=folder / "train", logger_level=logging.WARNING)
env = pred.env
setup_s = time.perf_counter() - t0
env.reset(seed=0)
rng = np.random.default_rng(0)
times, log, episodes = {}, [], 0
for k in range(steps):
    valid = [i for i, m in enumerate(env.action_masks()) if m]
    a = int(rng.choice(valid))
    act = env.action_set[a]
    name = act["name"] if isinstance(act, dict) else getattr(act, "name", str(a))
    t1 = time.perf_counter()
    signal.alarm(cap)
    try:
        _, _, term, trunc, _ = env.step(a)
        signal.alarm(0)
        status = "ok"
    except Exception as err:
        signal.alarm(0)
        term, trunc, status = True, False, f"{type(err).__name__}: {err}"[:120]
    dt = time.perf_counter() - t1
    times.setdefault(name, []).append(dt)
    log.append({"step": k, "action": name, "seconds": round(dt, 3), "status": status})
    if term or trunc:
        episodes += 1
        env.reset(seed=k + 1)
all_s = [x["seconds"] for x in log]
from importlib.metadata import version
json.dump({"mqt.predictor": version("mqt.predictor"), "bqskit": version("bqskit"),
           "setup_seconds": round(setup_s, 1), "steps": steps, "episodes_finished": episodes,
           "per_action": {n: {"n": len(v), "median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3)}
                          for n, v in sorted(times.items())},
           "mean_step_s": round(sum(all_s) / len(all_s), 3), "median_step_s": round(statistics.median(all_s), 3),
           "projected_one_ppo_update_s": round(2048 * sum(all_s) / len(all_s)), "log": log},
          open(folder / "probe.json", "w"), indent=1)
"""


def probe(args: argparse.Namespace) -> int:
    """Time random actions of MQT Predictor's RL environment (see the module docstring)."""
    from qtandem.compile.generate import FAMILIES, generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "train").mkdir()
        for i in range(args.train_circuits):
            fam, n = FAMILIES[i % len(FAMILIES)], 4 + (i // len(FAMILIES)) % 5
            c = generate(fam, n, seed=100 + i, basis="ibm")
            (folder / "train" / f"{fam}_s{100 + i}_{n}.qasm").write_text(c.to_qasm(2))
        t0 = time.perf_counter()
        proc = subprocess.run([str(MQT_PYTHON), "-c", MQT_PROBE, str(folder), str(args.probe_steps),
                               str(args.cap_s)], capture_output=True, text=True, check=False,
                              timeout=args.mqt_timeout)
        if proc.returncode != 0:
            raise SystemExit(f"MQT Predictor probe failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        result = json.loads((folder / "probe.json").read_text())
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    result["train_circuits"] = args.train_circuits
    result["cap_s"] = args.cap_s
    out = args.output if args.output != HERE / "results" / "compile_mqt_predictor.json" else \
        HERE / "results" / "compile_mqt_predictor_probe.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "log"}, indent=1))
    return 0


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=256, help="MQT Predictor PPO training steps")
    ap.add_argument("--train-circuits", type=int, default=40)
    ap.add_argument("--budget-expansions", type=int, default=400)
    ap.add_argument("--mqt-timeout", type=int, default=1800, help="seconds for MQT Predictor (train + compile)")
    ap.add_argument("--sizes", default="4,8", help="qubit counts of the generated dev circuits")
    ap.add_argument("--cap-s", type=int, default=180, help="MQT Predictor seconds per circuit (then: timeout)")
    ap.add_argument("--output", "-o", type=Path, default=HERE / "results" / "compile_mqt_predictor.json")
    ap.add_argument("--probe-steps", type=int, default=0, help="time this many random RL actions instead (see above)")
    args = ap.parse_args(argv)
    if args.probe_steps:
        return probe(args)
    from qtandem.compile import counts, optimize
    from qtandem.compile.generate import FAMILIES, generate

    result: dict[str, Any] = {"device": "ibm_falcon_27 (MQT) / heavy_hex_27 (qtandem)", "basis": "cx, rz, sx, x",
                              "figure_of_merit": "expected_fidelity", "timesteps": args.timesteps,
                              "cap_s": args.cap_s, "sizes": args.sizes}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "train").mkdir()
        (folder / "eval").mkdir()
        for i in range(args.train_circuits):
            fam, n = FAMILIES[i % len(FAMILIES)], 4 + (i // len(FAMILIES)) % 5
            c = generate(fam, n, seed=100 + i, basis="ibm")
            (folder / "train" / f"{fam}_s{100 + i}_{n}.qasm").write_text(c.to_qasm(2))
        inputs = {}
        for fam in FAMILIES:
            for n in (int(x) for x in args.sizes.split(",")):
                c = generate(fam, n, seed=1, basis="ibm")
                inputs[f"gen_{fam}_{n}"] = c
                (folder / "eval" / f"gen_{fam}_{n}.qasm").write_text(c.to_qasm(2))
        if not MQT_PYTHON.exists():
            result["error"] = f"{MQT_PYTHON} not found: install mqt.predictor in its own venv first"
        else:
            try:
                proc = subprocess.run([str(MQT_PYTHON), "-c", MQT_STEP, str(folder), str(args.timesteps),
                                       str(args.cap_s)], capture_output=True, text=True, check=False,
                                      timeout=args.mqt_timeout)
            except subprocess.TimeoutExpired:
                proc = None
            if proc is None:
                result["error"] = (f"MQT Predictor's training and compilation did not finish in {args.mqt_timeout} s "
                                   "(its BQSKit actions take 20-70 s each here)")
            elif proc.returncode != 0:
                result["error"] = f"MQT Predictor failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
            else:
                result.update(json.loads((folder / "mqt.json").read_text()))
    rows = result.get("rows", {})
    for name, c in inputs.items():
        k = counts(c)
        row = rows.setdefault(name, {"error": "not run"})
        row["input"] = {"gates": k.gates, "cx": k.cx}
        t0 = time.perf_counter()
        out, _ = optimize(c, level=3, basis="ibm", hardware="heavy_hex_27", budget_expansions=args.budget_expansions,
                          seed=0)
        ko = counts(out)
        row["qtandem"] = {"gates": ko.gates, "cx": ko.cx, "seconds": round(time.perf_counter() - t0, 2)}
        print(name, row["input"], "mqt", row.get("gates"), row.get("cx"), "qtandem", ko.gates, ko.cx, file=sys.stderr)
    both = [r for r in rows.values() if "gates" in r and "qtandem" in r]
    result["rows"] = rows
    result["summary"] = {
        "circuits": len(both),
        "qtandem_over_mqt_gates": round(geomean([(r["qtandem"]["gates"] + 1) / (r["gates"] + 1) for r in both]), 4),
        "qtandem_over_mqt_cx": round(geomean([(r["qtandem"]["cx"] + 1) / (r["cx"] + 1) for r in both]), 4),
        "mqt_over_input_gates": round(geomean([(r["gates"] + 1) / (r["input"]["gates"] + 1) for r in both]), 4),
        "qtandem_over_input_gates": round(geomean([(r["qtandem"]["gates"] + 1) / (r["input"]["gates"] + 1)
                                                   for r in both]), 4),
    }
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
