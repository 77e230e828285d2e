"""Honest comparison: a hybrid quantum classifier against its un-entangled ablation and classical baselines.

Bowles, Ahmed & Schuld (arXiv:2403.07059) found that on small benchmarks classical
baselines usually win and that removing the entangling gates often does not hurt.
This script measures the same questions on qtandem's bundled datasets, with the same
splits and seeds for every model, and reports mean +- std test accuracy over seeds.

Per dataset (features standardised on the training split):
* features: PCA to ``--features`` (8) components for digits and breast_cancer, the raw
  features for iris (4), moons and circles (2), and for tfim the first 8 PCA components
  of the 256 ground-state amplitudes;
* ``hybrid``: features scaled to [-pi/2, pi/2] (tanh) -> ``QuantumLayer`` (angle encoding,
  hardware-efficient ansatz, ``--layers`` layers, one qubit per feature) -> linear head;
  Adam, full batch, ``--epochs`` epochs, cross-entropy;
* ``hybrid, no entanglement``: the same with ``entangle=False`` (no CX gates);
* ``logistic``, ``mlp`` (one hidden layer sized so its parameter count is close to the
  hybrid's), ``svm-rbf``: scikit-learn on the same features.
digits is the full 10-class task.

Evaluation hygiene: every hyper-parameter above is fixed in advance (none was tuned on the test
split), there is no early stopping and no model selection, and each model's test accuracy is
computed once, after its fixed training budget; the PCA and standardisation are fitted on the
training split only.

Run: python bench/hybrid_baselines.py [--seeds 5] [--epochs 60] [--datasets ...] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
import torch

from qtandem.hybrid import PCA, HybridModel, LinearHead, QuantumLayer
from qtandem.hybrid.datasets import load_dataset


def features(name: str, data, n_features: int):
    if data.n_features > n_features:
        pca = PCA(n_features).fit(data.x_train)
        with torch.no_grad():
            xtr, xte = pca(data.x_train), pca(data.x_test)
        std = xtr.std(0).clamp_min(1e-8)
        return xtr / std, xte / std
    return data.x_train, data.x_test


class _Squash(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return math.pi / 2 * torch.tanh(x)


def train_hybrid(xtr, ytr, xte, yte, n_classes: int, layers: int, epochs: int, seed: int, entangle: bool):
    torch.manual_seed(seed)
    n = xtr.shape[1]
    layer = QuantumLayer(n_qubits=n, layers=layers, seed=seed, entangle=entangle)
    model = HybridModel(_Squash(), layer, LinearHead(n, n_classes))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xtr), ytr)
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = float((model(xte).argmax(1) == yte).float().mean())
    return acc, sum(p.numel() for p in model.parameters())


def classical(xtr, ytr, xte, yte, seed: int, hybrid_params: int, n_classes: int) -> dict[str, tuple[float, int]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    f = xtr.shape[1]
    out = {}
    lr = LogisticRegression(max_iter=2000).fit(xtr, ytr)
    out["logistic"] = (lr.score(xte, yte), lr.coef_.size + lr.intercept_.size)
    # hidden width h: f*h + h + h*c + c ~ hybrid's parameter count
    h = max(1, round((hybrid_params - n_classes) / (f + 1 + n_classes)))
    mlp = MLPClassifier(hidden_layer_sizes=(h,), max_iter=2000, random_state=seed).fit(xtr, ytr)
    out["mlp"] = (mlp.score(xte, yte), f * h + h + h * n_classes + n_classes)
    svm = SVC(kernel="rbf", random_state=seed).fit(xtr, ytr)
    out["svm-rbf"] = (svm.score(xte, yte), int(svm.support_vectors_.size))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="iris,moons,circles,breast_cancer,digits,tfim")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20 epochs, iris and moons")
    ap.add_argument("--json", default="bench/results/hybrid_baselines.json")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.epochs, args.datasets = 2, 20, "iris,moons"
    torch.set_num_threads(args.threads)
    results: dict[str, dict[str, dict[str, float]]] = {}
    t0 = time.perf_counter()
    for name in args.datasets.split(","):
        scores: dict[str, list[float]] = {}
        params: dict[str, int] = {}
        for seed in range(args.seeds):
            data = load_dataset(name, seed=seed, n_samples=400 if name == "tfim" else None)
            xtr, xte = features(name, data, args.features)
            ytr, yte = data.y_train, data.y_test
            for label, ent in (("hybrid", True), ("hybrid, no entanglement", False)):
                acc, p = train_hybrid(xtr, ytr, xte, yte, data.n_classes, args.layers, args.epochs, seed, ent)
                scores.setdefault(label, []).append(acc)
                params[label] = p
            for label, (acc, p) in classical(xtr.numpy(), ytr.numpy(), xte.numpy(), yte.numpy(), seed,
                                            params["hybrid"], data.n_classes).items():
                scores.setdefault(label, []).append(acc)
                params[label] = p
        results[name] = {k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "params": params[k]}
                         for k, v in scores.items()}
        print(f"{name}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    models = list(next(iter(results.values())))
    print(f"\nTest accuracy, mean +- std over {args.seeds} seeds ({args.epochs} epochs, {args.layers} layers); "
          "trainable parameters in brackets (SVM: support-vector entries)\n")
    print("| dataset | " + " | ".join(models) + " |")
    print("|---|" + "---:|" * len(models))
    for name, row in results.items():
        cells = [f"{row[m]['mean']:.3f} +- {row[m]['std']:.3f} ({row[m]['params']})" for m in models]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"seeds": args.seeds, "epochs": args.epochs, "layers": args.layers, "results": results}, fh,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
