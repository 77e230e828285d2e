"""Training neural decoders on shots sampled on the fly from Stim (``qtandem qec train``).

Every optimizer step draws a fresh batch from the circuit's detector sampler, seeded by
``(seed, step)``, so there is no fixed training set to overfit and a resumed run sees exactly
the shots an uninterrupted one would. Loss: binary cross-entropy on the observable flip;
AdamW with linear warm-up and cosine decay. Two-stage training: the first
``[pretrain] steps`` steps sample from another noise model (e.g. uniform noise), the rest from
``[data]``'s (e.g. SI1000), a stand-in for experimental data drifting from the model.

Written to the output folder: ``checkpoint.safetensors`` (weights, AdamW state, RNG state,
counters; atomically every ``checkpoint_every`` steps), ``metrics.jsonl`` (``kind = "step"``
loss records and ``kind = "eval"`` validation records with PyMatching on the same shots),
``model.safetensors`` (a :class:`~qtandem.qec.neural.NeuralDecoder` with its circuit and the
training cost: steps, shots, wall time of the steps), ``curves.png``, ``report.html`` and ``config.toml``.

Examples:
    >>> import tempfile
    >>> cfg = parse_config('[data]\\ndistance = 3\\nval_shots = 200\\n[model]\\nhidden = 8\\nheads = 2\\n'
    ...                    'readout = 8\\n[optim]\\nsteps = 3\\nbatch_size = 64\\nwarmup = 1\\n'
    ...                    '[train]\\neval_every = 3')
    >>> res = train(cfg, output=tempfile.mkdtemp(), progress=False)
    >>> res.step, res.shots, res.decoder.circuit == cfg.data.circuit()
    (3, 192, True)
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import stim
import torch
from torch import Tensor

from qtandem.config import flatten
from qtandem.errors import CheckpointError
from qtandem.io import (
    atomic_write_bytes,
    atomic_write_text,
    load_optimizer_state,
    optimizer_state,
    read_jsonl,
    read_safetensors,
)
from qtandem.qec.neural import (
    NeuralDecoder,
    StabilizerLayout,
    SyndromeNet,
    matching_features,
    save_decoder,
)
from qtandem.qec.train_config import TrainConfig, config_to_toml, load_config, parse_config

__all__ = ["TrainResult", "load_config", "parse_config", "read_metrics", "train"]

CHECKPOINT_FORMAT = "qtandem.qec.train-checkpoint/1"
_RESUMABLE = {"output", "threads", "train.checkpoint_every", "train.max_steps", "train.log_every", "train.eval_every",
              "data.val_shots", "optim.steps", "optim.batch_size"}
"""Keys that may change on ``--resume``. Changing ``optim.steps`` re-shapes the rest of the cosine schedule
(to lengthen or shorten a run) and ``optim.batch_size`` changes the shots per later step (larger batches
to anneal); the result then equals no single uninterrupted run."""


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, dtype=np.uint32)[0])


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        decoder: the trained :class:`~qtandem.qec.neural.NeuralDecoder`.
        step: optimizer steps done (over all sessions).
        shots: training shots drawn.
        wall_s: training wall time over all sessions (seconds).
        output: the output folder.
        finished: the schedule ran to ``optim.steps``.
        records: the ``metrics.jsonl`` records.

    Examples:
        >>> import tempfile
        >>> cfg = parse_config('[data]\\ndistance = 3\\nval_shots = 100\\n[model]\\nhidden = 8\\nheads = 2\\n'
        ...                    'readout = 8\\n[optim]\\nsteps = 2\\nbatch_size = 32\\nwarmup = 1')
        >>> res = train(cfg, output=tempfile.mkdtemp(), progress=False)
        >>> res.step, res.shots, res.finished, res.output.exists()
        (2, 64, True, True)
    """

    decoder: NeuralDecoder
    step: int
    shots: int
    wall_s: float
    output: Path
    finished: bool
    records: list[dict[str, Any]]


@dataclass
class _State:
    step: int = 0
    shots: int = 0
    wall: float = 0.0
    loss_sum: float = 0.0
    loss_n: int = 0


def _lr(cfg: TrainConfig, step: int) -> float:
    o = cfg.optim
    if step < o.warmup:
        return o.lr * (step + 1) / o.warmup
    frac = (step - o.warmup) / max(1, o.steps - o.warmup)
    return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + math.cos(math.pi * min(1.0, frac)))


class _Sampler:
    """Fresh seeded batches; the pretrain stage's circuit for its first steps."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.circuit = cfg.data.circuit()
        pre = cfg.pretrain
        self.pre_circuit = cfg.data.circuit(pre.noise, pre.p) if pre.steps else self.circuit
        self.cache: dict[int, dict[str, Any]] = {0: {}, 1: {}}

    def batch(self, step: int) -> tuple[Tensor, Tensor, Tensor | None]:
        stage = int(step < self.cfg.pretrain.steps)
        circuit = self.pre_circuit if stage else self.circuit
        sampler = circuit.compile_detector_sampler(seed=_seed(self.cfg.seed, 1, step))
        dets, obs = sampler.sample(self.cfg.optim.batch_size, separate_observables=True)
        extra = None
        if self.cfg.model.matching_features:
            extra = torch.from_numpy(matching_features(circuit, dets, self.cache[stage]))
        return torch.from_numpy(dets.astype(np.float32)), torch.from_numpy(obs.astype(np.float32)), extra


def _save_checkpoint(path: Path, cfg: TrainConfig, net: SyndromeNet, opt: torch.optim.Optimizer, st: _State) -> None:
    from safetensors.torch import save

    tensors: dict[str, Tensor] = {f"model.{k}": v.contiguous() for k, v in net.state_dict().items()}
    opt_tensors, opt_meta = optimizer_state(opt)
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {"format": CHECKPOINT_FORMAT, "state": json.dumps(dataclasses.asdict(st)),
            "config": json.dumps(cfg.to_dict()), **opt_meta}
    atomic_write_bytes(path, save(tensors, metadata=meta))


def _restore_checkpoint(path: Path, cfg: TrainConfig, net: SyndromeNet, opt: torch.optim.Optimizer) -> _State:
    if not path.exists():
        raise CheckpointError(f"nothing to resume: no checkpoint at {path} (run without --resume to start)")
    tensors, meta = read_safetensors(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a qtandem.qec training checkpoint (format {meta.get('format')!r})")
    saved, now = flatten(json.loads(meta["config"])), flatten(cfg.to_dict())
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k) and k not in _RESUMABLE)
    if changed:
        raise CheckpointError(f"{path}: the configuration changed since the checkpoint ({', '.join(changed)}); "
                              f"resume with the same settings (only {', '.join(sorted(_RESUMABLE))} may change)")
    net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    load_optimizer_state(opt, tensors, meta)
    torch.set_rng_state(tensors["rng.torch"])
    return _State(**json.loads(meta["state"]))


read_metrics = read_jsonl
"""The records of a ``metrics.jsonl`` file (empty if absent)."""


class _Validation:
    """A fixed validation set with PyMatching's errors on it (computed once)."""

    def __init__(self, cfg: TrainConfig, circuit: stim.Circuit) -> None:
        from qtandem.qec.matching import MatchingDecoder

        n = cfg.data.val_shots
        self.dets, obs = circuit.compile_detector_sampler(seed=_seed(cfg.seed, 2)).sample(n, separate_observables=True)
        self.obs = obs[:, :1]
        self.matching_errors = int((MatchingDecoder(circuit).decode(self.dets)[:, :1] != self.obs).sum()) if n else 0

    def record(self, decoder: NeuralDecoder) -> dict[str, Any]:
        n = len(self.dets)
        if not n:
            return {}
        errors = int((decoder.decode(self.dets)[:, :1] != self.obs).sum())
        return {"val_shots": n, "val_errors": errors, "val_ler": errors / n, "matching_ler": self.matching_errors / n,
                "ratio_to_matching": errors / max(1, self.matching_errors)}


def _progress(enabled: bool, total: int, done: int, label: str) -> Any:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]}  val LER/PyMatching {task.fields[ratio]}"),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
    bar.start()
    bar.add_task(label, total=total, completed=done, loss="-", ratio="-")
    return bar


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True, output: str | Path | None = None,
          callback: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Train the configured neural decoder (see the module docstring for what is written).

    Args:
        cfg: the configuration (:func:`load_config`).
        resume: continue exactly from ``<output>/checkpoint.safetensors``.
        progress: show a rich progress bar on stderr.
        output: override ``cfg.output``.
        callback: called with every record written to ``metrics.jsonl``.

    Returns:
        A :class:`TrainResult`.

    Raises:
        CheckpointError: ``resume`` without a usable checkpoint or with a changed configuration.

    Examples:
        >>> import tempfile
        >>> cfg = parse_config('[data]\\ndistance = 3\\nval_shots = 100\\n[model]\\nhidden = 8\\nheads = 2\\n'
        ...                    'readout = 8\\n[optim]\\nsteps = 2\\nbatch_size = 32\\nwarmup = 1')
        >>> out = tempfile.mkdtemp()
        >>> first = train(cfg, output=out, progress=False)
        >>> again = train(cfg, output=out, progress=False, resume=True)     # already finished: nothing more to do
        >>> first.step, again.step
        (2, 2)
    """
    if output is not None:
        cfg = dataclasses.replace(cfg, output=str(output))
    out = cfg.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    ckpt, metrics = out / "checkpoint.safetensors", out / "metrics.jsonl"
    before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed(cfg.seed, 0))
            sampler = _Sampler(cfg)
            net = SyndromeNet(StabilizerLayout(sampler.circuit), cfg.model.spec(), sampler.circuit.num_observables)
            opt = torch.optim.AdamW(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
            if resume:
                st = _restore_checkpoint(ckpt, cfg, net, opt)
                records = [r for r in read_metrics(metrics) if r["step"] <= st.step]
            else:
                st, records = _State(), []
            atomic_write_text(metrics, "".join(json.dumps(r) + "\n" for r in records))
            atomic_write_text(out / "config.toml", config_to_toml(cfg))
            val = _Validation(cfg, sampler.circuit)
            finished = _loop(cfg, net, opt, sampler, val, st, records, out, progress, callback)
        decoder = _decoder(cfg, net, sampler.circuit, st, finished)
        save_decoder(out / "model.safetensors", decoder)
        _write_report(cfg, out, records, decoder)
        return TrainResult(decoder, st.step, st.shots, st.wall, out, finished, records)
    finally:
        torch.set_num_threads(before)


def _decoder(cfg: TrainConfig, net: SyndromeNet, circuit: stim.Circuit, st: _State, finished: bool) -> NeuralDecoder:
    info = {"name": cfg.name, "kind": cfg.model.spec().kind, "config": cfg.to_dict(),
            "training": {"steps": st.step, "shots": st.shots, "wall_s": round(st.wall, 1),
                         "pretrain_steps": min(st.step, cfg.pretrain.steps), "finished": finished,
                         "torch_threads": cfg.threads}}
    return NeuralDecoder(circuit, cfg.model.spec(), net.state_dict(), info=info)


def _loop(cfg: TrainConfig, net: SyndromeNet, opt: torch.optim.Optimizer, sampler: _Sampler, val: _Validation,
          st: _State, records: list[dict[str, Any]], out: Path, progress: bool,
          callback: Callable[[dict[str, Any]], None] | None) -> bool:
    o, t = cfg.optim, cfg.train
    stop = min(o.steps, t.max_steps) if t.max_steps else o.steps
    bar = _progress(progress, o.steps, st.step, cfg.name)
    fh = (out / "metrics.jsonl").open("a")

    def emit(rec: dict[str, Any]) -> None:
        records.append(rec)
        fh.write(json.dumps(rec) + "\n")
        fh.flush()
        if callback is not None:
            callback(rec)

    try:
        while st.step < stop:
            t0 = time.perf_counter()
            net.train()
            x, y, extra = sampler.batch(st.step)
            for g in opt.param_groups:
                g["lr"] = _lr(cfg, st.step)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, extra), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if o.grad_clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), o.grad_clip)
            opt.step()
            st.step += 1
            st.shots += len(x)
            st.loss_sum += float(loss.detach())
            st.loss_n += 1
            st.wall += time.perf_counter() - t0
            if st.step % t.log_every == 0 or st.step == stop:
                emit({"kind": "step", "step": st.step, "loss": st.loss_sum / st.loss_n, "lr": _lr(cfg, st.step - 1),
                      "shots": st.shots, "wall_s": round(st.wall, 3)})
                st.loss_sum, st.loss_n = 0.0, 0
            if st.step % t.eval_every == 0 or st.step == o.steps:
                net.eval()
                rec = val.record(_decoder(cfg, net, sampler.circuit, st, False))
                if rec:
                    emit({"kind": "eval", "step": st.step, **rec, "shots": st.shots, "wall_s": round(st.wall, 3)})
            if st.step % t.checkpoint_every == 0 or st.step == stop:
                _save_checkpoint(out / "checkpoint.safetensors", cfg, net, opt, st)
            if bar is not None:
                last = next((r for r in reversed(records) if r["kind"] == "eval"), None)
                lrec = next((r for r in reversed(records) if r["kind"] == "step"), None)
                bar.update(bar.task_ids[0], completed=st.step, loss=f"{lrec['loss']:.4f}" if lrec else "-",
                           ratio=f"{last['ratio_to_matching']:.3f}" if last else "-")
    finally:
        fh.close()
        if bar is not None:
            bar.stop()
    net.eval()
    return st.step >= o.steps


def _figure(records: list[dict[str, Any]], title: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in records if r["kind"] == "step"]
    evals = [r for r in records if r["kind"] == "eval"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    if steps:
        a1.plot([r["shots"] for r in steps], [r["loss"] for r in steps], lw=0.8)
    a1.set_xscale("log")
    a1.set_xlabel("training shots")
    a1.set_ylabel("cross-entropy")
    a1.grid(alpha=0.3)
    if evals:
        a2.plot([r["shots"] for r in evals], [r["val_ler"] for r in evals], marker="o", ms=3, label="neural")
        a2.axhline(evals[-1]["matching_ler"], color="k", ls="--", label="PyMatching (same shots)")
        a2.legend()
    a2.set_xscale("log")
    a2.set_xlabel("training shots")
    a2.set_ylabel("validation logical error rate")
    a2.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def _write_report(cfg: TrainConfig, out: Path, records: list[dict[str, Any]], decoder: NeuralDecoder) -> Path:
    from qtandem.report import Report

    rep = Report(f"qtandem qec train: {cfg.name}", out)
    t = decoder.info["training"]
    sec = rep.section("Summary")
    sec.text(f"{decoder.info['kind']} decoder for {cfg.data.code} code d = {cfg.data.distance}, "
             f"{cfg.data.noise} noise p = {cfg.data.p}; {'finished' if t['finished'] else 'paused (--resume)'}.")
    rows: list[list[Any]] = [["steps", t["steps"]], ["training shots", t["shots"]],
                             ["training wall time (s, steps only)", t["wall_s"]],
                             ["parameters", sum(v.numel() for v in decoder.model.parameters())]]
    evals = [r for r in records if r["kind"] == "eval"]
    if evals:
        rows += [["validation LER", evals[-1]["val_ler"]], ["PyMatching LER (same shots)", evals[-1]["matching_ler"]],
                 ["ratio to PyMatching", evals[-1]["ratio_to_matching"]]]
    sec.table(["", "value"], rows)
    rep.section("Training curves").figure(_figure(records, cfg.name), "curves",
                                          "Batch loss and validation LER against training shots.")
    rep.section("Configuration").code(config_to_toml(cfg))
    return rep.write()


def train_file(path: str | Path, **kwargs: Any) -> TrainResult:
    """:func:`train` on a TOML configuration file (``qtandem qec train PATH``)."""
    return train(load_config(path), **kwargs)
