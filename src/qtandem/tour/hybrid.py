"""Tour section of hybrid models: a quantum classifier on digits, its curves, and classical baselines beside it."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from qtandem.hybrid.train import load_data, parse_config, plot_curves, read_metrics, train
from qtandem.report import Section
from qtandem.tour import TourContext, register

_CONFIG = """
seed = {seed}
[data]
name = "digits"
{n_samples}
[model]
pre = "pca"
features = 8
n_qubits = 8
layers = 6
encoder = "angle"
ansatz = "hardware_efficient"
head = "linear"
[optim]
name = "adam"
lr = 0.05
batch_size = 64
epochs = {epochs}
[train]
checkpoint_every = 100
"""


def _baselines(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray, seed: int,
               hybrid_params: int, n_classes: int) -> list[list[Any]]:
    """Logistic regression and a one-hidden-layer MLP of about the hybrid's parameter count (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    rows: list[list[Any]] = []
    f = xtr.shape[1]
    t0 = time.perf_counter()
    lr = LogisticRegression(max_iter=2000).fit(xtr, ytr)
    rows.append(["logistic regression", lr.coef_.size + lr.intercept_.size, lr.score(xtr, ytr), lr.score(xte, yte),
                 time.perf_counter() - t0])
    h = max(1, round((hybrid_params - n_classes) / (f + 1 + n_classes)))
    t0 = time.perf_counter()
    mlp = MLPClassifier(hidden_layer_sizes=(h,), max_iter=2000, random_state=seed).fit(xtr, ytr)
    rows.append([f"MLP (hidden {h})", f * h + h + h * n_classes + n_classes, mlp.score(xtr, ytr),
                 mlp.score(xte, yte), time.perf_counter() - t0])
    return rows


@register("Hybrid models: a quantum classifier on digits", order=30)
def hybrid_section(section: Section, ctx: TourContext) -> None:
    """PCA -> 8-qubit layer -> linear head, trained by the ``qtandem train`` pipeline; baselines beside it."""
    epochs = 3 if ctx.quick else 12
    text = _CONFIG.format(seed=ctx.seed, epochs=epochs, n_samples="n_samples = 400" if ctx.quick else "")
    cfg = parse_config(text, source="tour:hybrid")
    run_dir = ctx.outdir / "hybrid_digits"

    def on_record(rec: dict[str, Any]) -> None:
        if rec["kind"] == "eval":
            ctx.progress(f"hybrid digits: epoch {rec['epoch']}/{epochs}, train accuracy {rec['train_accuracy']:.3f}")

    ctx.progress("hybrid digits: training")
    res = train(cfg, output=run_dir, progress=False, callback=on_record)
    model = res.model
    counts = res.parameter_counts
    params = sum(counts.values())
    section.text(
        "scikit-learn's digits (8x8 images, 10 classes), compressed by PCA to 8 whitened components, squashed to "
        "angles pi/2 tanh(x), encoded one per qubit into an 8-qubit circuit with 6 hardware-efficient layers "
        "(RY/RZ and a CX ring); the 8 expectation values <Z_i> feed a linear head. Adam, batches of 64, "
        f"{epochs} epochs, cross-entropy, trained end to end by the same pipeline as `qtandem train` "
        f"({res.steps} steps in {res.seconds:.1f} s).")

    # baselines on exactly the hybrid's (whitened PCA) features and split
    data = load_data(cfg)
    compress = model.pre.get_submodule("compress")
    with torch.no_grad():
        ftr, fte = compress(data.x_train).numpy(), compress(data.x_test).numpy()
    ytr, yte = data.y_train.numpy(), data.y_test.numpy()
    ctx.progress("hybrid digits: classical baselines")
    rows: list[list[Any]] = [["hybrid (PCA -> 8 qubits -> linear)", params, res.train_accuracy, res.test_accuracy,
                              res.seconds]]
    rows += _baselines(ftr, ytr, fte, yte, ctx.seed, params, data.n_classes)

    fig_l, fig_a = plot_curves(read_metrics(run_dir / "metrics.jsonl"), "hybrid classifier on digits")
    ax = fig_a.axes[0]
    for (name, *_rest, acc, _t), style in zip(rows[1:], ("--", ":"), strict=True):
        ax.axhline(acc, ls=style, color="grey", label=f"{name} (test)")
    ax.legend(fontsize=8, loc="lower right")
    section.figure(fig_l, "hybrid_loss", "Batch loss per optimizer step and full-split loss after every epoch.")
    section.figure(fig_a, "hybrid_accuracy", "Accuracy after every epoch; grey lines: classical baselines on the "
                                             "same 8 PCA features (test accuracy).")
    section.table(["model", "trainable parameters", "train accuracy", "test accuracy", "fit time (s)"], rows)
    best = max(rows[1:], key=lambda r: r[3])
    if res.test_accuracy >= best[3] - 1e-9:
        verdict = f"The hybrid model ({res.test_accuracy:.3f}) matches or beats the classical baselines here"
    else:
        verdict = (f"The best classical baseline, {best[0]} ({best[3]:.3f} test accuracy), beats the hybrid model "
                   f"({res.test_accuracy:.3f}) here")
    section.text(
        f"{verdict}, with one seed and a short run: a quick look, not a verdict. "
        "bench/hybrid_baselines.py repeats the comparison over several seeds and datasets, with the hybrid's "
        "entangling gates removed as an ablation (Bowles, Ahmed & Schuld, arXiv:2403.07059, found classical models "
        "usually win on such small benchmarks).")
    section.html(f'<p>The run\'s own report, metrics and checkpoints: '
                 f'<a href="hybrid_digits/report.html">hybrid_digits/report.html</a>. Parameters: '
                 f'{counts["quantum"]} in the circuit, {counts["post"]} in the head.</p>')

