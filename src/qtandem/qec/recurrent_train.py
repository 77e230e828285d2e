"""Training the recurrent decoder: two stages, soft readout, resumable through the training core.

A TOML configuration like :mod:`qtandem.qec.train_config`'s, with the same ``[data]``,
``[pretrain]``, ``[optim]`` (phases included) and ``[train]`` sections, a ``[model]`` section of
:class:`~qtandem.qec.recurrent.RecurrentSpec` fields and a ``[readout]`` section::

    [model]
    hidden = 32
    layers = 1
    heads = 4
    mixer = "attention"        # attention | conv | none
    gated = true
    soft_inputs = true

    [readout]                  # soft (analog) readout of every measurement (qtandem.qec.SoftReadout)
    soft = false               # false: plain Stim sampling, hard events only
    separation = 6.0
    t1_decay = 0.0
    leakage = 0.0

Every step draws a fresh batch, seeded by ``(seed, step)``: the first ``[pretrain] steps`` from the
pretraining noise (e.g. the uniform model, i.e. its detector error model), the rest from
``[data]``'s (e.g. SI1000). With ``readout.soft`` the shots come from
:func:`~qtandem.qec.data.sample` with a :class:`~qtandem.qec.soft.SoftReadout` on the circuit
without its measurement flips (the analog model supplies them), and the model reads
:func:`~qtandem.qec.soft.detector_soft`'s channels when ``model.soft_inputs``; the decoder's
circuit is :func:`~qtandem.qec.soft.with_readout_flips` of it, so matching on the same shots
sees the same average readout error. A model with ``soft_inputs = false`` trained on the same
shots is the hard-outcome ablation.

Written to the output folder: ``checkpoint.safetensors`` (weights, AdamW state, RNG state,
counters), ``metrics.jsonl`` (step and eval records; eval has PyMatching on the same validation
shots), ``model.safetensors`` (:func:`~qtandem.qec.recurrent.save_recurrent`, with the training
cost) and ``config.toml``. ``resume=True`` continues exactly (the same keys as
:data:`qtandem.qec.train.RESUMABLE` may change; the schedule only at a new phase).

Examples:
    >>> import tempfile
    >>> cfg = parse_recurrent_config('[data]\\ndistance = 3\\nval_shots = 0\\n[model]\\nhidden = 8\\n'
    ...                              'heads = 2\\nreadout = 8\\n[optim]\\nsteps = 3\\nbatch_size = 32\\nwarmup = 1')
    >>> res = train_recurrent(cfg, output=tempfile.mkdtemp(), progress=False)
    >>> res.step, res.shots, res.decoder.spec.hidden
    (3, 96, 8)
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import stim
import torch
from torch import Tensor

from qtandem.config import choices, parse_toml, to_toml
from qtandem.errors import ConfigError
from qtandem.qec.neural import StabilizerLayout
from qtandem.qec.recurrent import MIXERS, RecurrentDecoder, RecurrentNet, RecurrentSpec, save_recurrent
from qtandem.qec.train import RESUMABLE, check_schedule
from qtandem.qec.train_config import DataConfig, OptimConfig, PretrainConfig, TrainOptions
from qtandem.random import derive_seed, seed_torch
from qtandem.training import (
    MetricsLog,
    check_resumable,
    load_checkpoint,
    progress_bar,
    restore_optimizer,
    run_dir,
    save_checkpoint,
    torch_threads,
)
from qtandem.training import load_config as _load

__all__ = ["ReadoutConfig", "RecurrentConfig", "RecurrentModelConfig", "RecurrentTrainResult",
           "load_recurrent_config", "parse_recurrent_config", "train_recurrent"]

CHECKPOINT_FORMAT = "qtandem.qec.recurrent-checkpoint/1"


@dataclass(frozen=True)
class RecurrentModelConfig:
    """``[model]``: the fields of :class:`~qtandem.qec.recurrent.RecurrentSpec`.

    Examples:
        >>> RecurrentModelConfig(mixer="conv").spec().mixer
        'conv'
    """

    hidden: int = field(default=32, metadata={"ge": 1})
    layers: int = field(default=1, metadata={"ge": 1})
    heads: int = field(default=4, metadata={"ge": 1})
    mixer: str = field(default="attention", metadata=choices(*MIXERS))
    gated: bool = True
    soft_inputs: bool = True
    mlp_ratio: int = field(default=2, metadata={"ge": 1})
    readout: int = field(default=64, metadata={"ge": 1})
    unit_inputs: bool = False
    matching_features: int = field(default=0, metadata={"ge": 0, "le": 2})

    def spec(self) -> RecurrentSpec:
        """As a :class:`~qtandem.qec.recurrent.RecurrentSpec`."""
        return RecurrentSpec(**dataclasses.asdict(self))


@dataclass(frozen=True)
class ReadoutConfig:
    """``[readout]``: soft readout of the training and validation shots.

    Examples:
        >>> ReadoutConfig(soft=True, leakage=0.01).model().leakage
        0.01
    """

    soft: bool = False
    separation: float = field(default=6.0, metadata={"gt": 0.0})
    t1_decay: float = field(default=0.0, metadata={"ge": 0.0, "le": 1.0})
    leakage: float = field(default=0.0, metadata={"ge": 0.0, "le": 1.0})

    def model(self) -> Any:
        """The :class:`~qtandem.qec.soft.SoftReadout`."""
        from qtandem.qec.soft import SoftReadout

        return SoftReadout(separation=self.separation, t1_decay=self.t1_decay, leakage=self.leakage)


@dataclass(frozen=True)
class RecurrentConfig:
    """A whole recurrent-decoder training configuration (schema in the module docstring).

    Examples:
        >>> cfg = RecurrentConfig()
        >>> cfg.model.mixer, cfg.readout.soft, cfg.optim.steps
        ('attention', False, 1000)
    """

    name: str = "recurrent-decoder"
    seed: int = field(default=0, metadata={"ge": 0})
    output: str = ""
    threads: int = field(default=1, metadata={"ge": 0})
    data: DataConfig = field(default_factory=DataConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    model: RecurrentModelConfig = field(default_factory=RecurrentModelConfig)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainOptions = field(default_factory=TrainOptions)
    source: str = field(default="<string>", metadata={"internal": True}, compare=False)

    def output_dir(self) -> Path:
        """``output``, else ``runs/<config file stem>``."""
        return run_dir(self.output, self.source, "qec-recurrent")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (TOML/JSON ready)."""
        d = dataclasses.asdict(self)
        d.pop("source")
        return d

    def sampling_circuit(self, noise: str | None = None, p: float | None = None) -> stim.Circuit:
        """The circuit shots are drawn from (without measurement flips under soft readout)."""
        from qtandem.qec.soft import without_measurement_flips

        c = self.data.circuit(noise, p)
        return without_measurement_flips(c) if self.readout.soft else c

    def decoder_circuit(self) -> stim.Circuit:
        """The circuit the decoder is for (readout flips put back into the DEM under soft readout)."""
        from qtandem.qec.soft import with_readout_flips

        c = self.sampling_circuit()
        return with_readout_flips(c, self.readout.model()) if self.readout.soft else c


_SECTIONS: dict[str, type] = {"data": DataConfig, "pretrain": PretrainConfig, "model": RecurrentModelConfig,
                              "readout": ReadoutConfig, "optim": OptimConfig, "train": TrainOptions}


def parse_recurrent_config(text: str, *, source: str = "<string>") -> RecurrentConfig:
    """Parse and validate a TOML configuration (every key checked; errors name ``source`` and the key).

    Raises:
        ConfigError: bad TOML, unknown keys, values out of range or inconsistent.

    Examples:
        >>> parse_recurrent_config('[model]\\nmixer = "conv"').model.mixer
        'conv'
        >>> parse_recurrent_config('[model]\\nmixer = "rnn"', source="r.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: r.toml: model.mixer: ...
    """
    cfg = parse_toml(text, RecurrentConfig, _SECTIONS, source=source)
    if cfg.model.mixer == "attention" and cfg.model.hidden % cfg.model.heads:
        raise ConfigError(f"{source}: model.heads: must divide model.hidden ({cfg.model.hidden}), "
                          f"got {cfg.model.heads}")
    if cfg.model.matching_features not in (0, 2):
        raise ConfigError(f"{source}: model.matching_features: must be 0 (pure recurrent) or 2 (recurrent+matching), "
                          f"got {cfg.model.matching_features}")
    if cfg.data.code != "surface":
        raise ConfigError(f"{source}: data.code: the recurrent decoder needs (x, y, t) detector coordinates on a "
                          f"2-D stabilizer lattice; use \"surface\", got {cfg.data.code!r}")
    if cfg.pretrain.steps >= cfg.optim.steps:
        raise ConfigError(f"{source}: pretrain.steps: must be < optim.steps ({cfg.optim.steps}), got "
                          f"{cfg.pretrain.steps}")
    last = 0
    for i, ph in enumerate(cfg.optim.phases):
        if ph.until <= last or ph.until >= cfg.optim.steps:
            raise ConfigError(f"{source}: optim.phases[{i}].until: phases must end in increasing order before "
                              f"optim.steps ({cfg.optim.steps}), got {ph.until}")
        last = ph.until
    return cfg


def load_recurrent_config(path: str | Path) -> RecurrentConfig:
    """Read and validate a TOML file (see :func:`parse_recurrent_config`).

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.toml"
        >>> _ = path.write_text("[data]\\ndistance = 5\\n")
        >>> load_recurrent_config(path).data.distance
        5
    """
    return _load(path, parse_recurrent_config)


@dataclass
class RecurrentTrainResult:
    """What :func:`train_recurrent` returns.

    Attributes:
        decoder: the trained :class:`~qtandem.qec.recurrent.RecurrentDecoder`.
        step: optimizer steps done (all sessions).
        shots: training shots drawn.
        wall_s: training wall time of the steps (all sessions).
        output: the output folder.
        finished: the schedule ran to ``optim.steps``.
        records: the ``metrics.jsonl`` records.

    Examples:
        >>> import tempfile
        >>> cfg = parse_recurrent_config('[data]\\nval_shots = 0\\n[model]\\nhidden = 8\\nheads = 2\\n'
        ...                              '[optim]\\nsteps = 1\\nbatch_size = 8\\nwarmup = 0')
        >>> train_recurrent(cfg, output=tempfile.mkdtemp(), progress=False).finished
        True
    """

    decoder: RecurrentDecoder
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


def _draw(cfg: RecurrentConfig, circuit: stim.Circuit, n: int, seed: int,
          cache: dict[str, Any] | None = None) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    """``(dets, obs, soft, matching features)`` tensors for ``n`` shots of ``circuit``.

    ``cache`` keeps the matchers of ``recurrent+matching`` features (one dict per sampled
    circuit); their circuit is ``circuit`` with the readout flips put back under soft readout.
    """
    from qtandem.qec.data import sample
    from qtandem.qec.recurrent import recurrent_matching_features

    feats = None
    if cfg.readout.soft:
        from qtandem.qec.soft import detector_soft, with_readout_flips

        readout = cfg.readout.model()
        shots = sample(circuit, n, seed=seed, readout=readout)
        dets, obs = shots.dets, shots.obs
        soft = torch.from_numpy(detector_soft(circuit, shots)) if cfg.model.soft_inputs else None
        if cfg.model.matching_features:
            soft_shots = shots if cfg.model.soft_inputs else None
            cache = {} if cache is None else cache
            if "circuit" not in cache:
                cache["circuit"] = with_readout_flips(circuit, readout)
            feats = recurrent_matching_features(cache["circuit"], dets, soft_shots, readout, cache=cache)
    else:
        dets, obs = sample(circuit, n, seed=seed)
        soft = None
        if cfg.model.matching_features:
            feats = recurrent_matching_features(circuit, dets, cache=cache)
    return (torch.from_numpy(dets.astype(np.float32)), torch.from_numpy(obs.astype(np.float32)), soft,
            None if feats is None else torch.from_numpy(feats))


def _lr(o: OptimConfig, step: int) -> float:
    import math

    ph = o.at(step)
    if step < ph.warmup:
        return ph.lr * (step + 1) / ph.warmup
    frac = (step - ph.warmup) / max(1, ph.steps - ph.warmup)
    return ph.min_lr + 0.5 * (ph.lr - ph.min_lr) * (1 + math.cos(math.pi * min(1.0, frac)))


def _decoder(cfg: RecurrentConfig, net: RecurrentNet, circuit: stim.Circuit, st: _State,
             finished: bool) -> RecurrentDecoder:
    info = {"name": cfg.name, "kind": cfg.model.spec().kind, "config": cfg.to_dict(),
            "readout": dataclasses.asdict(cfg.readout),
            "training": {"steps": st.step, "shots": st.shots, "wall_s": round(st.wall, 1),
                         "core_hours": round(st.wall * max(1, cfg.threads) / 3600, 4),
                         "pretrain_steps": min(st.step, cfg.pretrain.steps), "finished": finished,
                         "torch_threads": cfg.threads}}
    return RecurrentDecoder(circuit, cfg.model.spec(), net.state_dict(), info=info)


def train_recurrent(cfg: RecurrentConfig, *, resume: bool = False, progress: bool = True,
                    output: str | Path | None = None) -> RecurrentTrainResult:
    """Train the configured recurrent decoder (see the module docstring for what is written).

    Args:
        cfg: the configuration (:func:`load_recurrent_config`).
        resume: continue exactly from ``<output>/checkpoint.safetensors``.
        progress: show a rich progress bar on stderr.
        output: override ``cfg.output``.

    Returns:
        A :class:`RecurrentTrainResult`.

    Raises:
        CheckpointError: ``resume`` without a usable checkpoint or with a changed configuration.

    Examples:
        >>> import tempfile
        >>> cfg = parse_recurrent_config('[data]\\nval_shots = 50\\n[model]\\nhidden = 8\\nheads = 2\\n'
        ...                              '[optim]\\nsteps = 2\\nbatch_size = 16\\nwarmup = 1')
        >>> out = tempfile.mkdtemp()
        >>> a = train_recurrent(cfg, output=out, progress=False)
        >>> train_recurrent(cfg, output=out, progress=False, resume=True).step   # finished: nothing more to do
        2
    """
    from qtandem.io import atomic_write_text
    from qtandem.qec.matching import MatchingDecoder

    if output is not None:
        cfg = dataclasses.replace(cfg, output=str(output))
    out = cfg.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.safetensors"
    o, t = cfg.optim, cfg.train
    with torch_threads(cfg.threads), torch.random.fork_rng(devices=[]):
        seed_torch(derive_seed(cfg.seed, 0))
        circuit = cfg.decoder_circuit()
        target = cfg.sampling_circuit()
        pre = cfg.sampling_circuit(cfg.pretrain.noise, cfg.pretrain.p) if cfg.pretrain.steps else target
        net = RecurrentNet(StabilizerLayout(circuit), cfg.model.spec(), circuit.num_observables)
        opt = torch.optim.AdamW(net.parameters(), lr=o.at(0).lr, weight_decay=o.at(0).weight_decay)
        st = _State()
        if resume:
            tensors, meta = load_checkpoint(ckpt, CHECKPOINT_FORMAT, what="qtandem.qec recurrent training")
            saved = json.loads(meta["config"])
            # a checkpoint written before a [model] field existed ran with that field's default
            saved["model"] = {**dataclasses.asdict(RecurrentModelConfig()), **saved.get("model", {})}
            check_resumable(saved, cfg.to_dict(), resumable=RESUMABLE, path=ckpt, source=cfg.source,
                            ignore=lambda k: k.startswith("optim."))
            check_schedule(OptimConfig.from_dict(saved["optim"]), o, json.loads(meta["state"])["step"], path=ckpt,
                           source=cfg.source)
            st = _State(**json.loads(meta["state"]))
            net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            restore_optimizer(opt, tensors, meta)
            torch.set_rng_state(tensors["rng.torch"])
        atomic_write_text(out / "config.toml", to_toml(cfg.to_dict()))
        nval = cfg.data.val_shots
        caches: dict[int, dict[str, Any]] = {id(target): {}, id(pre): {}}
        vx, vy, vs, vf = _draw(cfg, target, nval, derive_seed(cfg.seed, 2), caches[id(target)])
        v_obs = vy.numpy()[:, :1].astype(bool)
        m_err = int((MatchingDecoder(circuit).decode(vx.numpy().astype(bool))[:, :1] != v_obs).sum()) if nval else 0
        stop = min(o.steps, t.max_steps) if t.max_steps else o.steps
        with MetricsLog(out / "metrics.jsonl", resume_from=st.step if resume else None) as log, \
                progress_bar(progress, o.steps, done=st.step, label=cfg.name,
                             fields={"loss": "loss", "ratio": "val LER/PyMatching"}) as bar:
            while st.step < stop:
                t0 = time.perf_counter()
                net.train()
                ph = o.at(st.step)
                src = pre if st.step < cfg.pretrain.steps else target
                x, y, soft, feats = _draw(cfg, src, ph.batch_size, derive_seed(cfg.seed, 1, st.step), caches[id(src)])
                for g in opt.param_groups:
                    g["lr"], g["weight_decay"] = _lr(o, st.step), ph.weight_decay
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(net.grid(x, soft), feats), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if ph.grad_clip:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), ph.grad_clip)
                opt.step()
                st.step += 1
                st.shots += len(x)
                st.loss_sum += float(loss.detach())
                st.loss_n += 1
                st.wall += time.perf_counter() - t0
                if st.step % t.log_every == 0 or st.step == stop:
                    log.emit({"kind": "step", "step": st.step, "loss": st.loss_sum / st.loss_n,
                              "lr": _lr(o, st.step - 1), "shots": st.shots, "wall_s": round(st.wall, 3)})
                    st.loss_sum, st.loss_n = 0.0, 0
                ratio = "-"
                if nval and (st.step % t.eval_every == 0 or st.step == o.steps):
                    net.eval()
                    with torch.inference_mode():
                        pred = (net(net.grid(vx, vs), vf) > 0).numpy()[:, :1]
                    errors = int((pred != v_obs).sum())
                    log.emit({"kind": "eval", "step": st.step, "val_shots": nval, "val_errors": errors,
                              "val_ler": errors / nval, "matching_ler": m_err / nval,
                              "ratio_to_matching": errors / max(1, m_err), "shots": st.shots,
                              "wall_s": round(st.wall, 3)})
                    ratio = f"{errors / max(1, m_err):.3f}"
                if st.step % t.checkpoint_every == 0 or st.step == stop:
                    tensors_out: dict[str, Tensor] = {f"model.{k}": v for k, v in net.state_dict().items()}
                    tensors_out["rng.torch"] = torch.get_rng_state()
                    save_checkpoint(ckpt, CHECKPOINT_FORMAT, tensors_out, config=cfg.to_dict(),
                                    state=dataclasses.asdict(st), optimizer=opt)
                fields = {"ratio": ratio} if ratio != "-" else {}
                bar.update(completed=st.step, loss=f"{float(loss.detach()):.4f}", **fields)
            records = log.records
        net.eval()
        finished = st.step >= o.steps
        decoder = _decoder(cfg, net, circuit, st, finished)
        save_recurrent(out / "model.safetensors", decoder)
        return RecurrentTrainResult(decoder, st.step, st.shots, st.wall, out, finished, records)
