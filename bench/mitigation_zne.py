"""ZNE and CDR configurations of qtandem.mitigate on bench/mitigation.py's device and families (issue 17).

Each task (family instance and observable) runs at each budget: the unmitigated estimate, then every
configuration below through :func:`qtandem.mitigate.execute` on bench/mitigation.py's
:func:`bench_executor` (qtandem's simulator_executor: exact noisy distributions, Stim for Clifford
circuits), with the same per-task seed. Summary: bench/mitigation.py's :func:`summarize` (MAE +- stderr
over instances, RMSE, improvement).
Configurations are compared on the DEV split; the TEST split is only reported.

Usage (lane B)::

    flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python bench/mitigation_zne.py \\
        ghz_parity test 0-9 100000,10000 readout,zne_rich_opt,zne_exp135 bench/results/mitigation_zne_ghz_parity.json
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mitigation as bench
from qtandem.mitigate import cdr, execute, readout, zne
from qtandem.mitigate.auto import AutoExtrapolation

CONFIGS = {
    "readout": lambda: [readout()],
    "zne_rich_opt": lambda: [readout(), zne([1, 2, 3], "richardson")],
    "zne_rich_uni": lambda: [readout(), zne([1, 2, 3], "richardson", allocation="uniform")],
    "zne_lin_opt": lambda: [readout(), zne([1, 2, 3], "linear")],
    "zne_exp135": lambda: [readout(), zne([1, 3, 5], "exponential")],
    "zne_exp123": lambda: [readout(), zne([1, 2, 3], "exponential")],
    "zne_exp1152": lambda: [readout(), zne([1, 1.5, 2], "exponential")],
    "zne_exp1152_uni": lambda: [readout(), zne([1, 1.5, 2], "exponential", allocation="uniform")],
    "zne_rand1152": lambda: [readout(), zne([1, 1.5, 2], "exponential", scaling="fold_random")],
    "zne_rand123": lambda: [readout(), zne([1, 2, 3], "exponential", scaling="fold_random")],
    "zne_rich135": lambda: [readout(), zne([1, 3, 5], "richardson")],
    "zne_param_rich": lambda: [readout(), zne([1, 2, 3], "richardson", scaling="parameter")],
    "zne_param_exp123": lambda: [readout(), zne([1, 2, 3], "exponential", scaling="parameter")],
    "zne_param_exp1152": lambda: [readout(), zne([1, 1.5, 2], "exponential", scaling="parameter")],
    "auto": lambda: "auto",  # the DEV runs of mitigation_auto_dev_*.json: "auto" was today's auto_p10 then
    "auto_lr": lambda: [readout(), AutoExtrapolation(pilot=0.1, candidates=("linear", "richardson"))],
    "auto_p10": lambda: [readout(), AutoExtrapolation(pilot=0.1)],
    "auto_exp": lambda: [readout(), AutoExtrapolation(pilot=0.1, candidates=("exponential",))],
    "auto_p20": lambda: [readout(), AutoExtrapolation(pilot=0.2)],  # "measured" spread since session 32
    "auto_prior": lambda: [readout(), AutoExtrapolation(pilot=0.2, spread="prior")],  # auto before session 32
    "auto_meas": lambda: [readout(), AutoExtrapolation(pilot=0.2, spread="measured")],
    "cdr": lambda: [readout(), cdr()],
    "vncdr": lambda: [readout(), cdr(scale_factors=[1, 2, 3])],
}


def learned(family: str) -> dict[str, list]:
    """ML-QEM configurations trained ONCE per family (on the TRAIN instances, seeds 3000+k) and reused.

    ``lin1_*``: the ridge model on the scale-1 value alone (every target shot at scale 1: no folding); ``for1_*``:
    the forest on the same features; ``lin13``: the ridge on scales 1 and 3. The suffix is the one-off training
    shots per training circuit and scale (48 circuits). Not for mirror families (their observable differs per
    instance).
    """
    from qtandem.mitigate.learned import mlqem

    train = list({id(t.circuit): t.circuit for t in bench.tasks(family, "train", instances=6)}.values())
    out = {}
    for tag, shots in (("10k", 10_000), ("100k", 100_000)):
        out[f"lin1_{tag}"] = [readout(), mlqem("linear", training=train, scales=(1.0,), train_shots=shots, seed=7)]
        out[f"for1_{tag}"] = [readout(), mlqem("forest", training=train, scales=(1.0,), train_shots=shots, seed=7)]
    out["lin13"] = [readout(), mlqem("linear", training=train, train_shots=10_000, seed=7)]
    for tag, shots in (("10k", 10_000), ("100k", 100_000)):  # features="values": no additive structure terms
        out[f"vlin1_{tag}"] = [readout(), mlqem("linear", training=train, scales=(1.0,), train_shots=shots, seed=7,
                                                features="values")]
    out["vlin13"] = [readout(), mlqem("linear", training=train, train_shots=100_000, seed=7, features="values")]
    return out


def main(family: str, split: str, instances: set[int], budgets: list[int], configs: list[str], out: str) -> None:
    t0 = time.perf_counter()
    ex = bench.bench_executor(seed=0)
    if any(c not in CONFIGS for c in configs):
        made = learned(family)
        for name in configs:
            if name not in CONFIGS:
                CONFIGS[name] = lambda name=name: made[name]
    rows = []
    for task in [t for t in bench.tasks(family, split) if t.instance in instances]:
        noise = bench.bench_noise(task.circuit.n_qubits)
        for shots in budgets:
            tseed = int.from_bytes(hashlib.sha256(f"{family}/{task.instance}/{task.label}/{shots}".encode())
                                   .digest()[:4], "little")
            ex.rng = np.random.default_rng(tseed)
            vals = {"unmitigated": execute(task.circuit, task.observable, ex, methods=[], shots=shots, seed=tseed,
                                           raw=False).value}
            for name in configs:
                try:
                    r = execute(task.circuit, task.observable, ex, methods=CONFIGS[name](), shots=shots, seed=tseed,
                                noise=noise, raw=False)
                except Exception as err:  # report and go on with the other configurations
                    print(name, type(err).__name__, str(err)[:200], file=sys.stderr)
                    continue
                vals[name] = r.value
                if r.refused:
                    vals[name + ":refused"] = 1.0
            rows.append({"family": family, "instance": task.instance, "label": task.label, "ideal": task.ideal,
                         "shots": shots, "values": vals})
        print(family, task.instance, task.label, f"{time.perf_counter() - t0:.0f}s sims={ex.simulations}",
              file=sys.stderr, flush=True)
    summary = bench.summarize(rows)
    with open(out, "w") as fh:
        json.dump({"family": family, "split": split, "instances": sorted(instances), "rows": rows,
                   "summary": summary, "seconds": time.perf_counter() - t0}, fh, indent=1)
    for s in summary:
        print(f"{family}/{split} N={s['shots']}: " + ", ".join(
            f"{k} {v['mae']:.4f}+-{v['mae_stderr']:.4f}" for k, v in sorted(s["methods"].items(),
                                                                         key=lambda kv: kv[1]["mae"])))


if __name__ == "__main__":
    fam, split, inst, budgets, configs, path = sys.argv[1:7]
    lo, hi = (int(x) for x in inst.split("-"))
    main(fam, split, set(range(lo, hi + 1)), [int(float(b)) for b in budgets.split(",")], configs.split(","), path)
