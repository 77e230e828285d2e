"""The ``qtandem train`` loop: batches, evaluation on train and validation, early stopping, checkpoints,
and one final evaluation on the test split."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.errors import CheckpointError, ConfigError
from qtandem.hybrid.classical import HybridModel
from qtandem.hybrid.train.config import TrainConfig, check_selection, config_to_toml
from qtandem.hybrid.train.data import DataSplit, load_data, stream_seed
from qtandem.hybrid.train.model import build, save_model
from qtandem.hybrid.train.report import write_report
from qtandem.io import atomic_write_text, read_safetensors
from qtandem.random import as_generator, seed_torch, torch_generator_from
from qtandem.training import (
    DataParallel,
    MetricsLog,
    check_resumable,
    load_checkpoint,
    progress_bar,
    restore_optimizer,
    save_checkpoint,
    torch_threads,
)

__all__ = ["CHECKPOINT_FORMAT", "TrainResult", "evaluate", "train"]

Tensor = torch.Tensor
CHECKPOINT_FORMAT = "qtandem.train.checkpoint/1"

#: keys that may change between a run and its resumption
RESUMABLE = {"output", "threads", "optim.epochs", "train.checkpoint_every", "train.max_steps", "train.log_every",
             "train.early_stopping_patience", "train.min_delta", "train.select"}


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        output: the output folder.
        model: the trained model: the last weights, or the best epoch's with ``train.select = "best"``.
        steps: optimizer steps done in all (including before a resume).
        epochs: completed epochs.
        finished: ``False`` when stopped by ``train.max_steps`` (resume to continue).
        stopped_early: early stopping ended the run.
        best_epoch: epoch of the best monitored validation value (0 without a validation split).
        final: a finished run's final evaluation (``kind = "final"``: ``train_*``, ``val_*``,
            ``test_loss``, ``test_accuracy`` of :attr:`model`); for a paused run the last
            evaluation, which has no test metrics (the test split is read only at the end).
        seconds: training wall time in all (including before a resume).
        parameter_counts: trainable parameters per part (``pre``, ``quantum``, ``post``).
        report: path of ``report.html``.

    Examples:
        >>> import tempfile
        >>> from qtandem.hybrid.train import parse_config
        >>> cfg = parse_config('[data]\\nname = "iris"\\nn_samples = 40\\n[model]\\nfeatures = 4\\nlayers = 1\\n'
        ...                    '[optim]\\nepochs = 1\\nbatch_size = 16')
        >>> result = train(cfg, output=tempfile.mkdtemp(), progress=False)
        >>> result.steps, result.epochs, result.finished, result.parameter_counts
        (2, 1, True, {'pre': 0, 'quantum': 8, 'post': 15})
        >>> sorted(k for k in result.final if k.startswith("test_"))
        ['test_accuracy', 'test_loss']
    """

    output: Path
    model: HybridModel
    steps: int
    epochs: int
    finished: bool
    stopped_early: bool
    best_epoch: int
    final: dict[str, Any]
    seconds: float
    parameter_counts: dict[str, int]
    report: Path

    @property
    def test_accuracy(self) -> float:
        """Test accuracy of the final evaluation (NaN for a paused run)."""
        return float(self.final.get("test_accuracy", float("nan")))

    @property
    def train_accuracy(self) -> float:
        """Training accuracy of the final (or last) evaluation."""
        return float(self.final.get("train_accuracy", float("nan")))


@dataclass
class _State:
    step: int = 0
    epoch: int = 0  # completed epochs
    batch: int = 0  # next batch within the current epoch
    best: float | None = None
    best_epoch: int = 0
    stopped_early: bool = False
    elapsed: float = 0.0
    perm: Tensor | None = None


def _make_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    o = cfg.optim
    params = [p for p in model.parameters() if p.requires_grad]
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)


def _module_rngs(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Modules holding their own random streams (the quantum layers' shot sampling and SPSA)."""
    for name, mod in model.named_modules():
        if hasattr(mod, "_rng") or hasattr(mod, "_spsa_gen"):
            yield name or "root", mod


def _save_checkpoint(path: Path, cfg: TrainConfig, model: nn.Module, opt: torch.optim.Optimizer,
                     gen: torch.Generator, st: _State) -> None:
    tensors: dict[str, Tensor] = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors["rng.shuffle"] = gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    if st.perm is not None:
        tensors["data.perm"] = st.perm
    np_states: dict[str, Any] = {}
    for name, mod in _module_rngs(model):
        rng = getattr(mod, "_rng", None)
        if isinstance(rng, np.random.Generator):
            np_states[name] = rng.bit_generator.state
        sg = getattr(mod, "_spsa_gen", None)
        if isinstance(sg, torch.Generator):
            tensors[f"rng.module.{name}.spsa"] = sg.get_state()
    counters = {"step": st.step, "epoch": st.epoch, "batch": st.batch, "best": st.best, "best_epoch": st.best_epoch,
                "stopped_early": st.stopped_early, "elapsed": st.elapsed}
    save_checkpoint(path, CHECKPOINT_FORMAT, tensors, config=cfg.to_dict(), state=counters, optimizer=opt,
                    meta={"rng.numpy": json.dumps(np_states)})


def _restore_checkpoint(path: Path, cfg: TrainConfig, model: nn.Module, opt: torch.optim.Optimizer,
                        gen: torch.Generator) -> _State:
    tensors, meta = load_checkpoint(path, CHECKPOINT_FORMAT, what="qtandem training")
    check_resumable(json.loads(meta["config"]), cfg.to_dict(), resumable=RESUMABLE, path=path, source=cfg.source)
    try:
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: model tensors do not fit the configured model ({exc})") from None
    restore_optimizer(opt, tensors, meta)
    gen.set_state(tensors["rng.shuffle"])
    torch.set_rng_state(tensors["rng.torch"])
    np_states = json.loads(meta.get("rng.numpy", "{}"))
    for name, mod in _module_rngs(model):
        if name in np_states:
            rng = as_generator(0)
            rng.bit_generator.state = np_states[name]
            mod._rng = rng  # type: ignore[assignment]
        key = f"rng.module.{name}.spsa"
        if key in tensors:
            sg = torch_generator_from(0)
            sg.set_state(tensors[key])
            mod._spsa_gen = sg  # type: ignore[assignment]
    c = json.loads(meta["state"])
    return _State(step=c["step"], epoch=c["epoch"], batch=c["batch"], best=c["best"], best_epoch=c["best_epoch"],
                  stopped_early=c["stopped_early"], elapsed=c["elapsed"], perm=tensors.get("data.perm"))


def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)`` (no gradients; training mode restored).

    Examples:
        >>> import torch
        >>> model = torch.nn.Linear(2, 2)
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]])); _ = model.bias.zero_()
        >>> x, y = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]]), torch.tensor([0, 1, 1])
        >>> loss, accuracy = evaluate(model, x, y)
        >>> round(accuracy, 4), loss > 0
        (0.6667, True)
    """
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for lo in range(0, x.shape[0], batch):
            logits = model(x[lo:lo + batch])
            yb = y[lo:lo + batch]
            total += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
    model.train()
    n = max(int(x.shape[0]), 1)
    return total / n, correct / n


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True, output: str | Path | None = None,
          callback: Callable[[dict[str, Any]], None] | None = None, dp: DataParallel | None = None) -> TrainResult:
    """Train the configured hybrid classifier; see :mod:`qtandem.hybrid.train` for what is written.

    The loop reads the training and validation splits only; the test split is read once,
    when the run has finished, to evaluate the final model (``kind = "final"`` record).

    Args:
        cfg: the configuration (:func:`~qtandem.hybrid.train.load_config`).
        resume: continue from ``<output>/checkpoint.safetensors`` exactly.
        progress: show a rich progress bar (on stderr).
        output: override ``cfg.output``.
        callback: called with every record written to ``metrics.jsonl`` (after it is written).
        dp: this process's rank in a data-parallel run (:func:`qtandem.training.launch`): each rank
            takes its slice of every batch; rank 0 evaluates, decides early stopping and writes the
            files; the other ranks return a result without evaluations (``final`` empty).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ConfigError: the configuration does not fit the dataset; data-parallel training of a model
            that samples inside (``model.shots``, ``diff_method = "spsa"``).
        CheckpointError: ``resume`` without a usable checkpoint, or with a changed configuration.

    Examples:
        >>> import tempfile
        >>> from qtandem.hybrid.train import parse_config
        >>> cfg = parse_config('[data]\\nname = "iris"\\nn_samples = 40\\n[model]\\nfeatures = 4\\nlayers = 1\\n'
        ...                    '[optim]\\nepochs = 1\\nbatch_size = 16')
        >>> result = train(cfg, output=tempfile.mkdtemp(), progress=False)
        >>> sorted(p.name for p in result.output.iterdir())
        ['accuracy.png', 'checkpoint.safetensors', 'config.toml', 'loss.png', 'metrics.jsonl',
         'model.safetensors', 'report.html']
    """
    if output is not None:
        cfg = dataclasses.replace(cfg, output=str(output))
    check_selection(cfg)
    dp = dp or DataParallel()
    if dp.world > 1 and (cfg.model.shots is not None or cfg.model.diff_method == "spsa"):
        raise ConfigError(f"{cfg.source}: model.shots / model.diff_method: data-parallel training (--workers "
                          f"{dp.world}) needs a model without random sampling inside (each rank would draw its own "
                          "shots, unlike one worker); remove model.shots and use an exact diff_method")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, validation=cfg.validation_fraction()))
    out = cfg.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.safetensors"
    with torch_threads(cfg.threads), torch.random.fork_rng(devices=[]):
        data = load_data(cfg)
        if resume:
            model = build(cfg, data.n_features, data.n_classes, None)
        else:
            seed_torch(stream_seed(cfg.seed, 0))
            model = build(cfg, data.n_features, data.n_classes, data.x_train)
        opt = _make_optimizer(cfg, model)
        gen = torch_generator_from(stream_seed(cfg.seed, 1))
        if resume:
            st = _restore_checkpoint(ckpt_path, cfg, model, opt, gen)
        else:
            st = _State()
            seed_torch(stream_seed(cfg.seed, 2))
            for stale in (ckpt_path, out / "best.safetensors", out / "model.safetensors"):
                if dp.main:
                    stale.unlink(missing_ok=True)
        header = f"qtandem train: resolved from {cfg.source} (defaults filled in)"
        if dp.main:
            atomic_write_text(out / "config.toml", config_to_toml(cfg, header=header))
        with MetricsLog(out / "metrics.jsonl", resume_from=st.step if resume else None,
                        keep=lambda r: r.get("kind") != "final", callback=callback, write=dp.main) as log:
            _loop(cfg, model, opt, gen, st, data, out, progress and dp.main, log, dp)
            finished = st.epoch >= cfg.optim.epochs or st.stopped_early
            if not dp.main:
                return TrainResult(out, model, st.step, st.epoch, finished, st.stopped_early, st.best_epoch, {},
                                   st.elapsed, model.parameter_counts(), out / "report.html")
            _save_checkpoint(ckpt_path, cfg, model, opt, gen, st)
            if finished:
                final = _final_evaluation(cfg, model, data, st, out)
                log.emit(final)
            else:
                evals = [r for r in log.records if r["kind"] == "eval"]
                final = evals[-1] if evals else _eval_record(model, data, st, st.elapsed)
            records = log.records
        counts = model.parameter_counts()
        save_model(out / "model.safetensors", cfg, model, final)
        report = write_report(cfg, out, records, final, st, counts, data, model, finished)
    return TrainResult(out, model, st.step, st.epoch, finished, st.stopped_early, st.best_epoch, final, st.elapsed,
                       counts, report)


def _eval_record(model: nn.Module, data: DataSplit, st: _State, wall: float) -> dict[str, Any]:
    """Training and validation metrics (never the test split)."""
    rec: dict[str, Any] = {"kind": "eval", "step": st.step, "epoch": st.epoch}
    rec["train_loss"], rec["train_accuracy"] = evaluate(model, data.x_train, data.y_train)
    if data.x_val is not None and data.y_val is not None:
        rec["val_loss"], rec["val_accuracy"] = evaluate(model, data.x_val, data.y_val)
    rec["wall"] = round(wall, 4)
    return rec


def _final_evaluation(cfg: TrainConfig, model: nn.Module, data: DataSplit, st: _State, out: Path) -> dict[str, Any]:
    """The one evaluation on the test split, of the selected weights (last, or best by validation)."""
    weights, weights_epoch = "last", st.epoch
    if cfg.train.select == "best" and st.best is not None and (out / "best.safetensors").exists():
        tensors, _ = read_safetensors(out / "best.safetensors")
        model.load_state_dict(tensors)
        weights, weights_epoch = "best", st.best_epoch
    rec = _eval_record(model, data, st, st.elapsed)
    rec.update(kind="final", weights=weights, weights_epoch=weights_epoch)
    rec["test_loss"], rec["test_accuracy"] = evaluate(model, data.x_test, data.y_test)
    return rec


def _sharded_step(model: HybridModel, opt: torch.optim.Optimizer, data: DataSplit, idx: Tensor,
                  dp: DataParallel) -> tuple[float, float]:
    """One optimizer step on this rank's slice of the batch ``idx``; the global batch's loss and accuracy."""
    sub = idx[dp.shard(len(idx))]
    params = [p for p in model.parameters() if p.requires_grad]
    opt.zero_grad(set_to_none=True)
    share = len(sub) / len(idx)
    if len(sub):
        xb, yb = data.x_train[sub], data.y_train[sub]
        logits = model(xb)
        loss = nn.functional.cross_entropy(logits, yb)
        loss.backward()
        local = [float(loss.detach()) * share, float((logits.detach().argmax(1) == yb).sum())]
    else:  # fewer samples than ranks: this rank adds nothing
        for p in params:
            p.grad = torch.zeros_like(p)
        local = [0.0, 0.0]
    loss_v, correct = dp.reduce(params, share, local)
    opt.step()
    return loss_v, correct / len(idx)


def _loop(cfg: TrainConfig, model: HybridModel, opt: torch.optim.Optimizer, gen: torch.Generator, st: _State,
          data: DataSplit, out: Path, progress: bool, log: MetricsLog, dp: DataParallel) -> _State:
    o, t = cfg.optim, cfg.train
    n = int(data.x_train.shape[0])
    bs = o.batch_size or n
    per_epoch = math.ceil(n / bs)
    total = o.epochs * per_epoch
    if t.max_steps:
        total = min(total, t.max_steps)
    ckpt_path = out / "checkpoint.safetensors"
    t0 = time.perf_counter() - st.elapsed
    model.train()
    acc_name = "val acc" if data.x_val is not None else "train acc"
    with progress_bar(progress, total, done=min(st.step, total), label=cfg.data.name,
                      fields={"epoch": "epoch", "loss": "loss", "acc": acc_name}) as bar:
        while st.epoch < o.epochs and not st.stopped_early and not (t.max_steps and st.step >= t.max_steps):
            if st.perm is None:
                st.perm = torch.randperm(n, generator=gen)
                st.batch = 0
            idx = st.perm[st.batch * bs:(st.batch + 1) * bs]
            if dp.world > 1:
                loss_v, acc = _sharded_step(model, opt, data, idx, dp)
            else:
                xb, yb = data.x_train[idx], data.y_train[idx]
                opt.zero_grad(set_to_none=True)
                logits = model(xb)
                loss = nn.functional.cross_entropy(logits, yb)
                loss.backward()
                opt.step()
                loss_v = float(loss.detach())
                acc = float((logits.detach().argmax(1) == yb).float().mean())
            st.step += 1
            st.batch += 1
            st.elapsed = time.perf_counter() - t0
            if st.step % t.log_every == 0:
                log.emit({"kind": "step", "step": st.step, "epoch": st.epoch + 1, "loss": loss_v, "accuracy": acc,
                          "lr": opt.param_groups[0]["lr"], "wall": round(st.elapsed, 4)})
            if st.batch >= per_epoch:
                st.epoch += 1
                st.perm = None
                st.batch = 0
                if st.epoch % t.eval_every == 0 or st.epoch == o.epochs:
                    if dp.main:
                        rec = _eval_record(model, data, st, time.perf_counter() - t0)
                        log.emit(rec)
                        _early_stopping(cfg, st, rec, model, out)
                        bar.update(epoch=st.epoch, acc=f"{rec.get('val_accuracy', rec['train_accuracy']):.3f}")
                    st.stopped_early = dp.agree(st.stopped_early)
            st.elapsed = time.perf_counter() - t0
            if dp.main and t.checkpoint_every and st.step % t.checkpoint_every == 0:
                _save_checkpoint(ckpt_path, cfg, model, opt, gen, st)
            bar.update(completed=min(st.step, total), loss=f"{loss_v:.4f}")
    return st


def _early_stopping(cfg: TrainConfig, st: _State, rec: dict[str, Any], model: nn.Module, out: Path) -> None:
    """Track the best validation value (writing ``best.safetensors``) and stop when it has not improved."""
    t = cfg.train
    if "val_loss" not in rec:  # no validation split: nothing is monitored (the test split never is)
        return
    what = t.monitor.split("_", 1)[1]  # loss or accuracy
    value = float(rec[f"val_{what}"])
    better = (st.best is None or (value < st.best - t.min_delta if what == "loss" else value > st.best + t.min_delta))
    if better:
        st.best, st.best_epoch = value, st.epoch
        save_model(out / "best.safetensors", cfg, model, rec)
    elif t.early_stopping_patience and st.epoch - st.best_epoch >= t.early_stopping_patience:
        st.stopped_early = True
