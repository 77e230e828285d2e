"""Training neural decoders on shots sampled on the fly from Stim (``qtandem qec train``).

Every optimizer step draws a fresh batch from the circuit's detector sampler, seeded by
``(seed, step)``, so there is no fixed training set to overfit and a resumed run sees exactly
the shots an uninterrupted one would. Loss: binary cross-entropy on the observable flip;
AdamW with linear warm-up and cosine decay; the learning rate, batch size, weight decay and
gradient clipping of a step come from its phase of the schedule
(:meth:`~qtandem.qec.train_config.OptimConfig.at`). Two-stage training: the first
``[pretrain] steps`` steps sample from another noise model (e.g. uniform noise), the rest from
``[data]``'s (e.g. SI1000), a stand-in for experimental data drifting from the model.

Written to the output folder: ``checkpoint.safetensors`` (weights, AdamW state, RNG state,
counters; atomically every ``checkpoint_every`` steps), ``metrics.jsonl`` (``kind = "step"``
loss records and ``kind = "eval"`` validation records with PyMatching on the same shots),
``model.safetensors`` (a :class:`~qtandem.qec.neural.NeuralDecoder` with its circuit and the
training cost: steps, shots, wall time of the steps), ``curves.png``, ``report.html`` and ``config.toml``.

``--resume`` continues exactly; it refuses a changed configuration except the keys in
``RESUMABLE``, and a changed schedule unless the change starts at a new phase (an
``[[optim.phases]]`` entry ending at the checkpoint's step): then the config still describes
the whole run, and training it afresh gives the same model.

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

from qtandem.errors import CheckpointError
from qtandem.io import atomic_write_text, read_jsonl
from qtandem.qec.neural import (
    NeuralDecoder,
    StabilizerLayout,
    SyndromeNet,
    matching_features,
    save_decoder,
)
from qtandem.qec.train_config import OptimConfig, TrainConfig, config_to_toml, load_config, parse_config
from qtandem.random import derive_seed, seed_torch
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

__all__ = ["RESUMABLE", "TrainResult", "load_config", "parse_config", "read_metrics", "train"]

CHECKPOINT_FORMAT = "qtandem.qec.train-checkpoint/1"
RESUMABLE = {"output", "threads", "train.checkpoint_every", "train.max_steps", "train.log_every", "train.eval_every",
             "data.val_shots"}
"""Keys that may change on ``--resume``. The schedule (``[optim]``) may change only as a new phase."""


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
    """The learning rate of (0-based) ``step``: warm-up, then cosine decay, in the step's phase."""
    o = cfg.optim.at(step)
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

    def batch(self, step: int, part: slice | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """The step's batch, or its slice ``part`` (a data-parallel rank's share of the same shots)."""
        stage = int(step < self.cfg.pretrain.steps)
        circuit = self.pre_circuit if stage else self.circuit
        sampler = circuit.compile_detector_sampler(seed=derive_seed(self.cfg.seed, 1, step))
        dets, obs = sampler.sample(self.cfg.optim.at(step).batch_size, separate_observables=True)
        if part is not None:
            dets, obs = dets[part], obs[part]
        extra = None
        if self.cfg.model.matching_features:
            extra = torch.from_numpy(matching_features(circuit, dets, self.cache[stage]))
        return torch.from_numpy(dets.astype(np.float32)), torch.from_numpy(obs.astype(np.float32)), extra


def _save_checkpoint(path: Path, cfg: TrainConfig, net: SyndromeNet, opt: torch.optim.Optimizer, st: _State) -> None:
    tensors: dict[str, Tensor] = {f"model.{k}": v for k, v in net.state_dict().items()}
    tensors["rng.torch"] = torch.get_rng_state()
    save_checkpoint(path, CHECKPOINT_FORMAT, tensors, config=cfg.to_dict(), state=dataclasses.asdict(st),
                    optimizer=opt)


def _restore_checkpoint(path: Path, cfg: TrainConfig, net: SyndromeNet, opt: torch.optim.Optimizer) -> _State:
    tensors, meta = load_checkpoint(path, CHECKPOINT_FORMAT, what="qtandem.qec training")
    saved = json.loads(meta["config"])
    st = _State(**json.loads(meta["state"]))
    check_resumable(saved, cfg.to_dict(), resumable=RESUMABLE, path=path, source=cfg.source,
                    ignore=lambda k: k.startswith("optim."))
    check_schedule(OptimConfig.from_dict(saved["optim"]), cfg.optim, st.step, path=path, source=cfg.source)
    net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    restore_optimizer(opt, tensors, meta)
    torch.set_rng_state(tensors["rng.torch"])
    return st


def check_schedule(saved: OptimConfig, now: OptimConfig, step: int, *, path: str | Path = "checkpoint",
                   source: str = "<string>") -> None:
    """Refuse a schedule that rewrites the steps already run, or changes later ones without a new phase.

    Args:
        saved: the checkpoint's ``[optim]`` (with its phases).
        now: this session's ``[optim]``.
        step: the checkpoint's step.
        path: the checkpoint (for messages).
        source: the configuration file (for messages).

    Raises:
        CheckpointError: naming the key, both values and the phase to declare.

    Examples:
        >>> old = parse_config('[optim]\\nsteps = 100').optim
        >>> check_schedule(old, parse_config('[optim]\\nsteps = 150').optim, 40)
        Traceback (most recent call last):
        ...
        qtandem.errors.CheckpointError: <string>: optim.steps: 150 differs from the checkpoint's 100 (checkpoint); \
the schedule may change on --resume only at a new phase: add [[optim.phases]] with until = 40 and the schedule \
run so far (steps = 100)
        >>> new = parse_config('[optim]\\nsteps = 150\\n[[optim.phases]]\\nuntil = 40\\nsteps = 100').optim
        >>> check_schedule(old, new, 40)  # a new phase from the checkpoint's step on: accepted
    """
    def first_change(a: OptimConfig, b: OptimConfig) -> str:
        return next(f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name))

    starts = set(now.boundaries())
    for s in sorted({0, step, *saved.boundaries(), *now.boundaries()}):
        a, b = saved.at(s), now.at(s)
        if a == b:
            continue
        key = first_change(a, b)
        if s < step and step in starts:
            raise CheckpointError(
                f"{source}: optim.{key}: {getattr(b, key)!r} from step {s} differs from the "
                f"{getattr(a, key)!r} that the checkpoint's run followed ({path}); the steps before the checkpoint "
                f"(step {step}) were run as they were: keep their phases")
        if s < step or s not in starts:
            run_so_far = ", ".join(f"{f.name} = {getattr(a, f.name)!r}" for f in dataclasses.fields(a)
                                   if f.name != "phases" and getattr(a, f.name) != getattr(b, f.name))
            raise CheckpointError(
                f"{source}: optim.{key}: {getattr(b, key)!r} differs from the checkpoint's {getattr(a, key)!r} "
                f"({path}); the schedule may change on --resume only at a new phase: add [[optim.phases]] with "
                f"until = {max(s, step)} and the schedule run so far ({run_so_far})")
        return  # the change starts at a declared phase, at or after the checkpoint


read_metrics = read_jsonl
"""The records of a ``metrics.jsonl`` file (empty if absent)."""


class _Validation:
    """A fixed validation set with PyMatching's errors on it (computed once)."""

    def __init__(self, cfg: TrainConfig, circuit: stim.Circuit, *, skip: bool = False) -> None:
        from qtandem.qec.matching import MatchingDecoder

        n = 0 if skip else cfg.data.val_shots
        sampler = circuit.compile_detector_sampler(seed=derive_seed(cfg.seed, 2))
        self.dets, obs = sampler.sample(n, separate_observables=True)
        self.obs = obs[:, :1]
        self.matching_errors = int((MatchingDecoder(circuit).decode(self.dets)[:, :1] != self.obs).sum()) if n else 0

    def record(self, decoder: NeuralDecoder) -> dict[str, Any]:
        n = len(self.dets)
        if not n:
            return {}
        errors = int((decoder.decode(self.dets)[:, :1] != self.obs).sum())
        return {"val_shots": n, "val_errors": errors, "val_ler": errors / n, "matching_ler": self.matching_errors / n,
                "ratio_to_matching": errors / max(1, self.matching_errors)}


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True, output: str | Path | None = None,
          callback: Callable[[dict[str, Any]], None] | None = None, dp: DataParallel | None = None) -> TrainResult:
    """Train the configured neural decoder (see the module docstring for what is written).

    Args:
        cfg: the configuration (:func:`load_config`).
        resume: continue exactly from ``<output>/checkpoint.safetensors``.
        progress: show a rich progress bar on stderr.
        output: override ``cfg.output``.
        callback: called with every record written to ``metrics.jsonl``.
        dp: this process's rank in a data-parallel run (:func:`qtandem.training.launch`): every rank
            samples the step's shots and trains on its slice; rank 0 validates and writes the files.

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
    ckpt = out / "checkpoint.safetensors"
    with torch_threads(cfg.threads):
        with torch.random.fork_rng(devices=[]):
            seed_torch(derive_seed(cfg.seed, 0))
            sampler = _Sampler(cfg)
            net = SyndromeNet(StabilizerLayout(sampler.circuit), cfg.model.spec(), sampler.circuit.num_observables)
            first = cfg.optim.at(0)
            opt = torch.optim.AdamW(net.parameters(), lr=first.lr, weight_decay=first.weight_decay)
            st = _restore_checkpoint(ckpt, cfg, net, opt) if resume else _State()
            dp = dp or DataParallel()
            if dp.main:
                atomic_write_text(out / "config.toml", config_to_toml(cfg))
            val = _Validation(cfg, sampler.circuit, skip=not dp.main)
            with MetricsLog(out / "metrics.jsonl", resume_from=st.step if resume else None, callback=callback,
                            write=dp.main) as log:
                finished = _loop(cfg, net, opt, sampler, val, st, log, out, progress and dp.main, dp)
            records = log.records
        if not dp.main:
            return TrainResult(_decoder(cfg, net, sampler.circuit, st, finished), st.step, st.shots, st.wall, out,
                               finished, records)
        decoder = _decoder(cfg, net, sampler.circuit, st, finished)
        save_decoder(out / "model.safetensors", decoder)
        _write_report(cfg, out, records, decoder)
        return TrainResult(decoder, st.step, st.shots, st.wall, out, finished, records)


def _decoder(cfg: TrainConfig, net: SyndromeNet, circuit: stim.Circuit, st: _State, finished: bool) -> NeuralDecoder:
    info = {"name": cfg.name, "kind": cfg.model.spec().kind, "config": cfg.to_dict(),
            "training": {"steps": st.step, "shots": st.shots, "wall_s": round(st.wall, 1),
                         "pretrain_steps": min(st.step, cfg.pretrain.steps), "finished": finished,
                         "torch_threads": cfg.threads}}
    return NeuralDecoder(circuit, cfg.model.spec(), net.state_dict(), info=info)


def _sharded_loss(net: SyndromeNet, opt: torch.optim.Optimizer, sampler: _Sampler, step: int, batch: int,
                  dp: DataParallel) -> Tensor:
    """Gradients of the global batch's mean loss from this rank's slice (summed across ranks); that loss."""
    x, y, extra = sampler.batch(step, dp.shard(batch))
    share = len(x) / batch
    opt.zero_grad(set_to_none=True)
    if len(x):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, extra), y)
        loss.backward()
        local = float(loss.detach()) * share
    else:  # fewer shots than ranks: this rank adds nothing
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        local = 0.0
    (total,) = dp.reduce(net.parameters(), share, [local])
    return torch.tensor(total)


def _loop(cfg: TrainConfig, net: SyndromeNet, opt: torch.optim.Optimizer, sampler: _Sampler, val: _Validation,
          st: _State, log: MetricsLog, out: Path, progress: bool, dp: DataParallel) -> bool:
    o, t = cfg.optim, cfg.train
    stop = min(o.steps, t.max_steps) if t.max_steps else o.steps
    records, emit = log.records, log.emit
    with progress_bar(progress, o.steps, done=st.step, label=cfg.name,
                      fields={"loss": "loss", "ratio": "val LER/PyMatching"}) as bar:
        while st.step < stop:
            t0 = time.perf_counter()
            net.train()
            phase = o.at(st.step)
            for g in opt.param_groups:
                g["lr"] = _lr(cfg, st.step)
                g["weight_decay"] = phase.weight_decay
            if dp.world > 1:
                loss, n_shots = _sharded_loss(net, opt, sampler, st.step, phase.batch_size, dp), phase.batch_size
            else:
                x, y, extra = sampler.batch(st.step)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, extra), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                n_shots = len(x)
            if phase.grad_clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), phase.grad_clip)
            opt.step()
            st.step += 1
            st.shots += n_shots
            st.loss_sum += float(loss.detach())
            st.loss_n += 1
            st.wall += time.perf_counter() - t0
            if st.step % t.log_every == 0 or st.step == stop:
                emit({"kind": "step", "step": st.step, "loss": st.loss_sum / st.loss_n, "lr": _lr(cfg, st.step - 1),
                      "shots": st.shots, "wall_s": round(st.wall, 3)})
                st.loss_sum, st.loss_n = 0.0, 0
            if dp.main and (st.step % t.eval_every == 0 or st.step == o.steps):
                net.eval()
                rec = val.record(_decoder(cfg, net, sampler.circuit, st, False))
                if rec:
                    emit({"kind": "eval", "step": st.step, **rec, "shots": st.shots, "wall_s": round(st.wall, 3)})
            if dp.main and (st.step % t.checkpoint_every == 0 or st.step == stop):
                _save_checkpoint(out / "checkpoint.safetensors", cfg, net, opt, st)
            last = next((r for r in reversed(records) if r["kind"] == "eval"), None)
            lrec = next((r for r in reversed(records) if r["kind"] == "step"), None)
            bar.update(completed=st.step, loss=f"{lrec['loss']:.4f}" if lrec else "-",
                       ratio=f"{last['ratio_to_matching']:.3f}" if last else "-")
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
