"""Curves and the HTML report of a ``qtandem train`` run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from qtandem.hybrid.classical import HybridModel
from qtandem.hybrid.train.config import TrainConfig, config_to_toml
from qtandem.hybrid.train.data import DataSplit

if TYPE_CHECKING:
    from qtandem.hybrid.train.loop import _State

__all__ = ["plot_curves", "write_report"]


def describe(cfg: TrainConfig, model: HybridModel, n_features: int) -> str:
    """One line: the model's parts, from input to head."""
    m = cfg.model
    q = model.quantum
    parts = []
    if m.pre != "none":
        parts.append(f"{m.pre} ({n_features} -> {m.features})")
    pre = model.pre
    if isinstance(pre, nn.Sequential) and "squash" in pre._modules:
        parts.append(f"{m.input_scale:.3g} * tanh")
    parts.append(f"QuantumLayer ({getattr(q, 'n_qubits', '?')} qubits, {m.layers} layers, {m.encoder} encoding, "
                 f"{m.ansatz}{'' if m.entangle else ', no entanglement'}, {m.diff_method}"
                 f"{f', {m.shots} shots' if m.shots else ''})")
    parts.append(f"{m.head} head")
    return " -> ".join(parts)


def plot_curves(records: list[dict[str, Any]], title: str = "") -> tuple[Any, Any]:
    """Loss against step and accuracy against epoch, from ``metrics.jsonl`` records: two matplotlib figures.

    Training and validation curves (evaluated after epochs); the test split, evaluated once at
    the end, is one marker at the last epoch.

    Examples:
        >>> records = [{"kind": "step", "step": 1, "epoch": 0, "loss": 1.2},
        ...            {"kind": "eval", "step": 1, "epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5}]
        >>> loss_fig, acc_fig = plot_curves(records, title="demo")
        >>> type(loss_fig).__name__, type(acc_fig).__name__
        ('Figure', 'Figure')
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in records if r["kind"] == "step"]
    evals = [r for r in records if r["kind"] == "eval"]
    finals = [r for r in records if r["kind"] == "final"]
    fig_l, ax = plt.subplots(figsize=(6.5, 4))
    if steps:
        ax.plot([r["step"] for r in steps], [r["loss"] for r in steps], lw=0.8, alpha=0.45, label="batch loss")
    for split, marker in (("train", "o"), ("val", "^")):
        pts = [(r["step"], r[f"{split}_loss"]) for r in evals if f"{split}_loss" in r]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker=marker, ms=3.5, label=f"{split} loss (epoch end)")
    if finals:
        ax.plot([finals[-1]["step"]], [finals[-1]["test_loss"]], "s", color="k", label="test loss (final model)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(f"{title}: loss" if title else "loss")
    fig_a, ax = plt.subplots(figsize=(6.5, 4))
    for split, marker in (("train", "o"), ("val", "^")):
        pts = [(r["epoch"], r[f"{split}_accuracy"]) for r in evals if f"{split}_accuracy" in r]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker=marker, ms=3.5, label=f"{split} accuracy")
    if finals:
        ax.plot([finals[-1]["epoch"]], [finals[-1]["test_accuracy"]], "s", color="k",
                label="test accuracy (final model)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(f"{title}: accuracy" if title else "accuracy")
    return fig_l, fig_a


def write_report(cfg: TrainConfig, out: Path, records: list[dict[str, Any]], final: dict[str, Any], st: _State,
                 counts: dict[str, int], data: DataSplit, model: HybridModel, finished: bool) -> Path:
    """``report.html`` (with ``loss.png`` and ``accuracy.png``) in ``out``.

    Examples:
        >>> import tempfile
        >>> from qtandem.hybrid.train import parse_config, train
        >>> cfg = parse_config('[data]\\nname = "iris"\\nn_samples = 40\\n[model]\\nfeatures = 4\\nlayers = 1\\n'
        ...                    '[optim]\\nepochs = 1\\nbatch_size = 16')
        >>> result = train(cfg, output=tempfile.mkdtemp(), progress=False)   # train() calls write_report
        >>> result.report.name, "Training curves" in result.report.read_text()
        ('report.html', True)
    """
    from qtandem.report import Report

    rep = Report(f"qtandem train: {cfg.data.name}", out)
    sec = rep.section("Summary")
    status = ("stopped early (no improvement for "
              f"{cfg.train.early_stopping_patience} epochs; best epoch {st.best_epoch})" if st.stopped_early
              else "finished" if finished else f"paused at step {st.step} (max_steps); continue with --resume")
    sec.text(f"Model: {describe(cfg, model, data.n_features)}.")
    sec.text(f"Data: {data.info}; {len(data.y_train)} training, "
             f"{0 if data.y_val is None else len(data.y_val)} validation and {len(data.y_test)} test samples, "
             f"{data.n_classes} classes. Seed {cfg.seed}.")
    if "test_accuracy" in final:
        sec.text(f"The test split was read once, after training, to evaluate the {final['weights']} weights "
                 f"(epoch {final['weights_epoch']}); early stopping and model selection saw the validation split only.")
    else:
        sec.text("The test split has not been read yet: it is evaluated once, when the run finishes.")
    rows: list[list[Any]] = [["status", status], ["steps", st.step], ["epochs", st.epoch],
                             ["training time (s)", round(st.elapsed, 2)]]
    for split in ("train", "val", "test"):
        if f"{split}_accuracy" in final:
            rows.append([f"{split} accuracy", float(final[f"{split}_accuracy"])])
            rows.append([f"{split} loss", float(final[f"{split}_loss"])])
    rows += [[f"parameters ({k})", v] for k, v in counts.items()]
    rows.append(["parameters (total)", sum(counts.values())])
    sec.table(["", "value"], rows)
    fig_l, fig_a = plot_curves(records, cfg.data.name)
    curves = rep.section("Training curves")
    curves.figure(fig_l, "loss", "Batch loss per step and full-split loss at each evaluation.")
    curves.figure(fig_a, "accuracy", "Accuracy at each evaluation; the test split only at the end.")
    rep.section("Model").code(repr(model))
    rep.section("Configuration").code(config_to_toml(cfg))
    files = rep.section("Files")
    files.html("<ul>" + "".join(f'<li><a href="{n}">{n}</a></li>' for n in
                                ("metrics.jsonl", "config.toml", "model.safetensors", "checkpoint.safetensors",
                                 "best.safetensors", "loss.png", "accuracy.png") if (out / n).exists()
                                or n.endswith(".png")) + "</ul>")
    return rep.write()
