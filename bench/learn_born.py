"""Born machines against a matched classical autoregressive model (issue 16, section 4).

Data sets (``qtandem.learn.datasets``, exact targets kept for evaluation only):

* ``bas``: bars-and-stripes 3x3 (9 bits, 14 valid images, uniform);
* ``gm``: a two-Gaussian mixture discretised on 2**8 points (means 0.3, 0.7, std 0.08);
* ``ln``: a log-normal price (mu 0, sigma 0.2) discretised on 2**8 points in mean +/- 3 std;
  also priced: a European call with strike 1.0, expected payoff from 10^4 model samples
  against the exact value of the discretised target.

Every run gets ``N_TRAIN`` = 2000 training samples (seeded by the run's seed). Models:

* ``born-mmd-gauss``, ``born-mmd-quantum``, ``born-kl``: ``BornMachine(n, layers=3, entangler="ring")``,
  ``STEPS`` = 200 Adam steps, each with ``SHOTS`` = 1000 model shots per circuit (the circuit and its
  2P parameter-shifted copies); gradients by parameter shift on those shots (see
  ``qtandem.learn.born``). Gaussian kernel on bits for ``bas``, on the integer grid for ``gm``/``ln``.
* ``made``: ``MADE.matching(n, P)`` (the same parameter count up to n + 1: its hidden units cost n + 1
  each), maximum likelihood, 1000 full-batch Adam steps on the same 2000 samples.
* ``born-exact``: a capacity reference, not a sample-only method: the same circuit trained on the
  same 2000 samples by ``EXACT_STEPS`` = 1000 Adam steps on the exact cross-entropy of the training
  histogram (autograd through the exact probabilities), learning rate ``EXACT_LR`` = 0.03 (not
  tuned): what this circuit can reach when shot noise in the model's queries is removed.
* ``empirical``: the training histogram with add-0.5 smoothing (what memorising the data gives); its
  call price is the plain Monte Carlo mean over the 2000 training samples.

Metrics: KL(target || model) from the exact model distribution; fraction of valid samples among 10^4
model samples (``bas``); call price error (``ln``). Learning rates are chosen on the **dev seeds**
(100, 101; ``--part dev``: a grid per method and data set, lowest mean KL) and reported on the
**test seeds** 0-4 (``--part test``), which nothing was tuned on. Budgets are counts (steps, shots,
samples), never seconds.

Reproduce (lane A, one job per data set and part, each under 8 minutes; this is how the committed
files were made):
``flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/learn_born.py --part dev
--datasets bas --json bench/results/learn_born_dev_bas.json`` (likewise gm, ln); then, with
``DEV="bench/results/learn_born_dev_bas.json bench/results/learn_born_dev_gm.json
bench/results/learn_born_dev_ln.json"``, ``... --part test --datasets D --methods M --dev $DEV --json
bench/results/learn_born_test_T.json`` for (D, M, T) = (gm, all but born-exact, gm), (bas, all, bas), (ln, all,
ln), (gm, born-exact, gm_exact) and (bas,gm,ln, empirical, empirical); then ``python bench/learn_born.py
--summarize`` over the test files in the order gm, ln, bas, empirical, gm_exact ``--json
bench/results/learn_born.json`` (a row of a later file replaces the same data set, method and seed of an
earlier one: the empirical rows were rerun to add the Monte Carlo call price).
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

from qtandem.learn.born import MADE, BornMachine
from qtandem.learn.datasets import BitDataset, bars_and_stripes, bits_to_index, gaussian_mixture, lognormal
from qtandem.random import derive_seed

N_TRAIN, STEPS, SHOTS, LAYERS, MADE_STEPS, EVAL_SHOTS, STRIKE = 2000, 200, 1000, 3, 1000, 10_000, 1.0
DEV_SEEDS, TEST_SEEDS = [100, 101], [0, 1, 2, 3, 4]
GRID = {"born-mmd-gauss": [0.05, 0.1, 0.2], "born-mmd-quantum": [0.05, 0.1, 0.2], "born-kl": [0.05, 0.1, 0.2],
        "made": [0.01, 0.03, 0.1]}
EXACT_STEPS, EXACT_LR = 1000, 0.03


def dataset(name: str) -> BitDataset:
    if name == "bas":
        return bars_and_stripes(3, 3)
    if name == "gm":
        return gaussian_mixture(8, means=(0.3, 0.7), stds=(0.08, 0.08))
    if name == "ln":
        return lognormal(8, mu=0.0, sigma=0.2)
    raise SystemExit(f"unknown data set {name!r}")


def run_one(name: str, method: str, seed: int, lr: float | None) -> dict[str, Any]:
    data = dataset(name)
    n = data.n_bits
    train = data.sample(N_TRAIN, seed=derive_seed(seed, 0))
    born = BornMachine(n, layers=LAYERS, seed=derive_seed(seed, 1))
    start = time.process_time()
    model: Any
    if method == "empirical":
        counts = np.bincount(bits_to_index(train), minlength=2**n) + 0.5
        probs, params = counts / counts.sum(), 0
        samples = train                  # the call price: plain Monte Carlo over the 2000 training samples
    elif method == "born-exact":            # capacity reference: exact probabilities, not shots
        import torch

        data_hist = torch.as_tensor(np.bincount(bits_to_index(train), minlength=2**n) / N_TRAIN)
        opt = torch.optim.Adam(born.parameters(), lr=lr)
        mask = data_hist > 0
        for _ in range(EXACT_STEPS):
            opt.zero_grad()
            loss = -(data_hist[mask] * torch.log(born()[mask])).sum()
            loss.backward()
            opt.step()
        probs, params = born.probabilities(), born.n_parameters
        samples = born.sample(EVAL_SHOTS, seed=derive_seed(seed, 3))
    elif method == "made":
        model = MADE.matching(n, born.n_parameters, seed=derive_seed(seed, 2)).fit(train, steps=MADE_STEPS, lr=lr)
        probs, params = model.probabilities(), model.n_parameters
        samples = model.sample(EVAL_SHOTS, seed=derive_seed(seed, 3))
    else:
        loss, kernel = {"born-mmd-gauss": ("mmd", "gaussian"), "born-mmd-quantum": ("mmd", "quantum"),
                        "born-kl": ("kl", "gaussian")}[method]
        born.fit(train, loss=loss, kernel=kernel, space="bits" if name == "bas" else "integer", steps=STEPS,
                 shots=SHOTS, lr=lr, seed=derive_seed(seed, 4))
        probs, params = born.probabilities(), born.n_parameters
        samples = born.sample(EVAL_SHOTS, seed=derive_seed(seed, 3))
        model = born
    row: dict[str, Any] = {"dataset": name, "method": method, "seed": seed, "lr": lr, "parameters": params,
                           "kl": data.kl(probs), "cpu_s": round(time.process_time() - start, 2)}
    if method.startswith("born") and method != "born-exact":
        row["loss_first_last"] = [model.loss_history_[0], float(np.mean(model.loss_history_[-10:]))]
    if samples is not None:
        row["valid_fraction"] = data.valid_fraction(samples)
        if name == "ln":
            payoff = np.maximum(data.values - STRIKE, 0.0)
            row["call_exact"] = data.expectation(payoff)
            row["call_model_samples"] = data.expectation(payoff, samples)
            row["call_model_exact"] = float(probs @ payoff)
    return row


def best_lr(dev_rows: list[dict[str, Any]], name: str, method: str) -> float | None:
    means: dict[float, list[float]] = {}
    for r in dev_rows:
        if r["dataset"] == name and r["method"] == method:
            means.setdefault(r["lr"], []).append(r["kl"])
    if not means:
        return None
    return min(means, key=lambda lr: float(np.mean(means[lr])))


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted({r["dataset"] for r in rows}):
        for method in ["born-mmd-gauss", "born-mmd-quantum", "born-kl", "born-exact", "made", "empirical"]:
            sel = [r for r in rows if r["dataset"] == name and r["method"] == method]
            if not sel:
                continue
            s: dict[str, Any] = {"seeds": [r["seed"] for r in sel], "lr": sel[0]["lr"],
                                 "parameters": sel[0]["parameters"]}
            for key in ("kl", "valid_fraction"):
                if key in sel[0] and (key == "kl" or name == "bas"):     # elsewhere every outcome is valid
                    vals = np.array([r[key] for r in sel])
                    s[key] = [float(vals.mean()), float(vals.std(ddof=1)) if len(vals) > 1 else 0.0]
            if "call_exact" in sel[0]:
                rel = np.array([r["call_model_samples"] / r["call_exact"] - 1 for r in sel])
                s["call_exact"] = sel[0]["call_exact"]
                s["call_rel_error"] = [float(np.abs(rel).mean()), float(np.abs(rel).std(ddof=1))]
            out[f"{name}/{method}"] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["dev", "test"])
    ap.add_argument("--datasets", default="bas,gm,ln")
    ap.add_argument("--methods", default="born-mmd-gauss,born-mmd-quantum,born-kl,made,empirical")
    ap.add_argument("--seeds", default=None, help="comma list (default: the part's seeds)")
    ap.add_argument("--dev", nargs="*", default=[], help="dev result files (learning rates for --part test)")
    ap.add_argument("--summarize", nargs="*", default=None, help="test result files to merge")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "n_train": N_TRAIN, "steps": STEPS,
            "shots": SHOTS, "layers": LAYERS, "made_steps": MADE_STEPS, "eval_shots": EVAL_SHOTS, "strike": STRIKE}
    if a.summarize is not None:
        merged = {(r["dataset"], r["method"], r["seed"]): r for f in a.summarize
                  for r in json.loads(Path(f).read_text())["rows"]}          # a later file's row replaces
        rows = list(merged.values())
        summary = summarize(rows)
        Path(a.json).write_text(json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=1))
        for key, s in summary.items():
            print(key, {k: v for k, v in s.items() if k != "seeds"})
        return
    dev_rows = [r for f in a.dev for r in json.loads(Path(f).read_text())["rows"]]
    seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else (DEV_SEEDS if a.part == "dev" else TEST_SEEDS)
    rows = []
    for name in a.datasets.split(","):
        for method in a.methods.split(","):
            if method == "empirical":
                lrs: list[float | None] = [None] if a.part == "test" else []
            elif method == "born-exact":
                lrs = [EXACT_LR]
            elif a.part == "dev":
                lrs = list(GRID[method])
            else:
                lrs = [best_lr(dev_rows, name, method)]
                if lrs[0] is None:
                    raise SystemExit(f"no dev rows for {name}/{method}: pass --dev files")
            for lr in lrs:
                for seed in seeds:
                    row = run_one(name, method, seed, lr)
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    Path(a.json).write_text(json.dumps({"meta": meta | {"part": a.part, "seeds": seeds}, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
