"""Configuration of neural-decoder training (``qtandem qec train CONFIG.toml``).

A TOML file with a few top-level keys and the sections ``[data]``, ``[pretrain]``, ``[model]``,
``[optim]`` and ``[train]``; every key is checked, and a bad one is named with the file and
its path (``d3.toml: optim.lr: must be > 0.0, got -1.0``)::

    name = "surface-d3-p0.005"     # model name (kept in the saved model)
    seed = 0
    output = "runs/d3"             # default runs/<config stem>
    threads = 1                    # torch threads (0: leave torch's setting)

    [data]                         # the circuit the model decodes (and fine-tunes on)
    code = "surface"               # surface | repetition
    distance = 3
    rounds = 3                     # 0: rounds = distance
    basis = "Z"
    noise = "uniform"              # uniform | si1000
    p = 0.005
    val_shots = 100000             # fixed validation set (matching decoded beside it)

    [pretrain]                     # optional stage 1 on another noise model
    steps = 0                      # the first `steps` steps sample from this noise instead
    noise = "uniform"
    p = 0.005

    [model]                        # qtandem.qec.neural.ModelSpec
    hidden = 32
    layers = 2
    heads = 4
    mlp_ratio = 2
    readout = 64
    matching_features = 0          # 2: neural+matching

    [optim]
    steps = 20000                  # length of the schedule (fresh shots every step)
    batch_size = 1024
    lr = 0.002
    weight_decay = 0.01
    warmup = 200
    min_lr = 0.00005               # cosine decay to this value
    grad_clip = 1.0

    [train]
    checkpoint_every = 500
    eval_every = 1000
    log_every = 50
    max_steps = 0                  # stop this session at this step (0: run the whole schedule)

Examples:
    >>> cfg = parse_config('[data]\\ndistance = 3\\n[optim]\\nsteps = 10', source="demo.toml")
    >>> cfg.data.distance, cfg.optim.steps, cfg.model.hidden
    (3, 10, 32)
    >>> parse_config('[optim]\\nbatchsize = 64', source="demo.toml")
    Traceback (most recent call last):
    ...
    qtandem.errors.ConfigError: demo.toml: optim.batchsize: unknown key (did you mean 'batch_size'?)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stim

from qtandem.config import choices, parse_toml, read_config_text
from qtandem.errors import ConfigError
from qtandem.qec.codes import memory_circuit
from qtandem.qec.neural import ModelSpec

__all__ = ["DataConfig", "OptimConfig", "PretrainConfig", "TrainConfig", "TrainOptions", "config_to_toml",
           "load_config", "parse_config"]


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: the circuit the model is for, and the validation set."""

    code: str = field(default="surface", metadata=choices("surface", "repetition"))
    distance: int = field(default=3, metadata={"ge": 2})
    rounds: int = field(default=0, metadata={"ge": 0})
    basis: str = field(default="Z", metadata=choices("X", "Z"))
    noise: str = field(default="uniform", metadata=choices("uniform", "si1000"))
    p: float = field(default=0.005, metadata={"gt": 0.0, "lt": 0.5})
    val_shots: int = field(default=20000, metadata={"ge": 0})

    def circuit(self, noise: str | None = None, p: float | None = None) -> stim.Circuit:
        """The ``stim.Circuit`` (optionally with another noise preset / rate)."""
        return memory_circuit(self.code, self.distance, self.rounds or self.distance, basis=self.basis,
                              noise=noise or self.noise, p=self.p if p is None else p)


@dataclass(frozen=True)
class PretrainConfig:
    """``[pretrain]``: an optional first stage on data from another noise model."""

    steps: int = field(default=0, metadata={"ge": 0})
    noise: str = field(default="uniform", metadata=choices("uniform", "si1000"))
    p: float = field(default=0.005, metadata={"gt": 0.0, "lt": 0.5})


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: sizes of :class:`~qtandem.qec.neural.SyndromeNet`."""

    hidden: int = field(default=32, metadata={"ge": 1})
    layers: int = field(default=1, metadata={"ge": 1})
    heads: int = field(default=4, metadata={"ge": 1})
    mlp_ratio: int = field(default=2, metadata={"ge": 1})
    readout: int = field(default=64, metadata={"ge": 1})
    matching_features: int = field(default=0, metadata={"choices": (0, 2)})

    def spec(self) -> ModelSpec:
        """As a :class:`~qtandem.qec.neural.ModelSpec`."""
        return ModelSpec(**dataclasses.asdict(self))


@dataclass(frozen=True)
class OptimConfig:
    """``[optim]``: AdamW with linear warm-up and cosine decay over ``steps``."""

    steps: int = field(default=1000, metadata={"ge": 1})
    batch_size: int = field(default=1024, metadata={"ge": 1})
    lr: float = field(default=0.002, metadata={"gt": 0.0})
    weight_decay: float = field(default=0.01, metadata={"ge": 0.0})
    warmup: int = field(default=100, metadata={"ge": 0})
    min_lr: float = field(default=5e-5, metadata={"ge": 0.0})
    grad_clip: float = field(default=1.0, metadata={"ge": 0.0})


@dataclass(frozen=True)
class TrainOptions:
    """``[train]``: checkpoints, evaluation and logging."""

    checkpoint_every: int = field(default=500, metadata={"ge": 1})
    eval_every: int = field(default=1000, metadata={"ge": 1})
    log_every: int = field(default=50, metadata={"ge": 1})
    max_steps: int = field(default=0, metadata={"ge": 0})


@dataclass(frozen=True)
class TrainConfig:
    """A whole training configuration (schema in the module docstring)."""

    name: str = "neural-decoder"
    seed: int = field(default=0, metadata={"ge": 0})
    output: str = ""
    threads: int = field(default=1, metadata={"ge": 0})
    data: DataConfig = field(default_factory=DataConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainOptions = field(default_factory=TrainOptions)
    source: str = field(default="<string>", metadata={"internal": True}, compare=False)

    def output_dir(self) -> Path:
        """``output``, else ``runs/<config file stem>``."""
        if self.output:
            return Path(self.output)
        stem = Path(self.source).stem if self.source and not self.source.startswith("<") else "qec-train"
        return Path("runs") / stem

    def to_dict(self) -> dict[str, Any]:
        """Plain data (TOML/JSON ready)."""
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


_SECTIONS: dict[str, type] = {"data": DataConfig, "pretrain": PretrainConfig, "model": ModelConfig,
                              "optim": OptimConfig, "train": TrainOptions}


def parse_config(text: str, *, source: str = "<string>") -> TrainConfig:
    """Parse and validate a TOML training configuration.

    Args:
        text: the TOML text.
        source: a name for messages (the file path).

    Returns:
        The :class:`TrainConfig` with defaults filled in.

    Raises:
        ConfigError: TOML syntax errors, unknown keys, wrong types, values out of range or
            inconsistent; the message names ``source`` and the key path.
    """
    def err(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    cfg = parse_toml(text, TrainConfig, _SECTIONS, source=source)
    if cfg.model.hidden % cfg.model.heads:
        raise err("model.heads", f"must divide model.hidden ({cfg.model.hidden}), got {cfg.model.heads}")
    if cfg.pretrain.steps >= cfg.optim.steps:
        raise err("pretrain.steps", f"must be < optim.steps ({cfg.optim.steps}) so that some steps fine-tune on "
                                    f"[data]'s noise, got {cfg.pretrain.steps}")
    if cfg.model.matching_features and cfg.data.code != "surface":
        raise err("model.matching_features", "matching features are implemented for surface codes only")
    return cfg


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a TOML configuration file (see :func:`parse_config`).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: see :func:`parse_config`.
    """
    return parse_config(read_config_text(path), source=str(Path(path)))


def config_to_toml(cfg: TrainConfig) -> str:
    """The configuration as TOML text (``parse_config`` reads it back).

    Examples:
        >>> cfg = parse_config('name = "x"\\n[optim]\\nsteps = 7')
        >>> parse_config(config_to_toml(cfg)) == cfg
        True
    """
    d = cfg.to_dict()
    lines = [f"{k} = {json.dumps(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for sec in _SECTIONS:
        lines.append(f"\n[{sec}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in d[sec].items()]
    return "\n".join(lines) + "\n"
