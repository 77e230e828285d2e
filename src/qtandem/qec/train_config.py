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

    [[optim.phases]]               # optional: earlier phases of the schedule, in order
    until = 5000                   # this phase covers the steps before 5000 (after the previous phase)
    steps = 10000                  # any [optim] key; the others are [optim]'s
    batch_size = 512

    [train]
    checkpoint_every = 500
    eval_every = 1000
    log_every = 50
    max_steps = 0                  # stop this session at this step (0: run the whole schedule)

**Phases.** ``[optim]`` is the schedule of the last phase; each ``[[optim.phases]]`` table is an
earlier phase, in force for the steps before its ``until`` (and from the previous phase's
``until``), with its own values for the ``[optim]`` keys it names. The learning rate and batch
size of a step come from its phase (:meth:`OptimConfig.at`), so a run that was resumed with a new
schedule is written down as the phases it followed, and the config then reproduces the run in one
go. ``--resume`` refuses a schedule that differs from the checkpoint's, unless the change starts
at a new phase: a ``[[optim.phases]]`` entry whose ``until`` is the checkpoint's step (or later).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stim

from qtandem.config import choices, parse_toml, to_toml
from qtandem.errors import ConfigError
from qtandem.qec.codes import memory_circuit
from qtandem.qec.neural import ModelSpec
from qtandem.training import load_config as _load
from qtandem.training import run_dir

__all__ = ["DataConfig", "OptimConfig", "PhaseConfig", "PretrainConfig", "TrainConfig", "TrainOptions",
           "config_to_toml", "load_config", "parse_config"]


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: the circuit the model is for, and the validation set.

    Examples:
        >>> data = DataConfig(code="repetition", distance=5, p=0.01)
        >>> data.rounds, data.circuit().num_detectors > 0
        (0, True)
    """

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
    """``[pretrain]``: an optional first stage on data from another noise model.

    Examples:
        >>> parse_config('[pretrain]\\nsteps = 10\\nnoise = "uniform"\\np = 0.01').pretrain.steps
        10
    """

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
class PhaseConfig:
    """``[[optim.phases]]``: an earlier phase of the schedule, in force for the steps before ``until``.

    Examples:
        >>> cfg = parse_config("[optim]\\nsteps = 100\\nlr = 0.001\\n[[optim.phases]]\\nuntil = 40\\nlr = 0.01")
        >>> cfg.optim.phases[0].until, cfg.optim.at(10).lr, cfg.optim.at(50).lr
        (40, 0.01, 0.001)
    """

    until: int = field(default=0, metadata={"ge": 1})
    steps: int | None = field(default=None, metadata={"ge": 1})
    batch_size: int | None = field(default=None, metadata={"ge": 1})
    lr: float | None = field(default=None, metadata={"gt": 0.0})
    weight_decay: float | None = field(default=None, metadata={"ge": 0.0})
    warmup: int | None = field(default=None, metadata={"ge": 0})
    min_lr: float | None = field(default=None, metadata={"ge": 0.0})
    grad_clip: float | None = field(default=None, metadata={"ge": 0.0})


@dataclass(frozen=True)
class OptimConfig:
    """``[optim]``: AdamW with linear warm-up and cosine decay over ``steps``; earlier ``phases`` optional.

    Examples:
        >>> o = parse_config('[optim]\\nsteps = 30\\nbatch_size = 64\\n[[optim.phases]]\\nuntil = 10\\n'
        ...                  'steps = 20\\nbatch_size = 32').optim
        >>> [(s, o.at(s).steps, o.at(s).batch_size) for s in (0, 9, 10, 29)]
        [(0, 20, 32), (9, 20, 32), (10, 30, 64), (29, 30, 64)]

    Examples:
        >>> parse_config("[optim]\\nsteps = 50\\nlr = 0.001").optim.steps
        50
    """

    steps: int = field(default=1000, metadata={"ge": 1})
    batch_size: int = field(default=1024, metadata={"ge": 1})
    lr: float = field(default=0.002, metadata={"gt": 0.0})
    weight_decay: float = field(default=0.01, metadata={"ge": 0.0})
    warmup: int = field(default=100, metadata={"ge": 0})
    min_lr: float = field(default=5e-5, metadata={"ge": 0.0})
    grad_clip: float = field(default=1.0, metadata={"ge": 0.0})
    phases: list[PhaseConfig] = field(default_factory=list)

    def at(self, step: int) -> OptimConfig:
        """The schedule in force at ``step`` (0-based): its phase's values, ``phases`` left empty."""
        base = dataclasses.replace(self, phases=[])
        for ph in self.phases:
            if step < ph.until:
                changes = {k: v for k, v in dataclasses.asdict(ph).items() if k != "until" and v is not None}
                return dataclasses.replace(base, **changes)
        return base

    def boundaries(self) -> list[int]:
        """The steps where a new phase starts."""
        return [ph.until for ph in self.phases]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OptimConfig:
        """From :meth:`TrainConfig.to_dict`'s ``optim`` data (a checkpoint's; ``phases`` may be absent)."""
        plain = {k: v for k, v in d.items() if k != "phases"}
        return cls(**plain, phases=[PhaseConfig(**ph) for ph in d.get("phases", [])])


@dataclass(frozen=True)
class TrainOptions:
    """``[train]``: checkpoints, evaluation and logging.

    Examples:
        >>> parse_config("[train]\\ncheckpoint_every = 100").train.checkpoint_every
        100
    """

    checkpoint_every: int = field(default=500, metadata={"ge": 1})
    eval_every: int = field(default=1000, metadata={"ge": 1})
    log_every: int = field(default=50, metadata={"ge": 1})
    max_steps: int = field(default=0, metadata={"ge": 0})


@dataclass(frozen=True)
class TrainConfig:
    """A whole training configuration (schema in the module docstring).

    Examples:
        >>> cfg = TrainConfig()
        >>> cfg.name, cfg.data.distance, cfg.optim.steps
        ('neural-decoder', 3, 1000)
    """

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
        return run_dir(self.output, self.source, "qec-train")

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

    Examples:
        >>> parse_config("[data]\\ndistance = 5").data.distance
        5
        >>> parse_config("[data]\\ndistanse = 5", source="run.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: run.toml: data.distanse: unknown key (did you mean 'distance'?)
    """
    def err(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    cfg = parse_toml(text, TrainConfig, _SECTIONS, source=source)
    if cfg.model.hidden % cfg.model.heads:
        raise err("model.heads", f"must divide model.hidden ({cfg.model.hidden}), got {cfg.model.heads}")
    last = 0
    for i, ph in enumerate(cfg.optim.phases):
        key = f"optim.phases[{i}].until"
        if ph.until <= last:
            raise err(key, f"phases must end in increasing order and be given (until >= 1): got {ph.until} "
                           f"after {last}")
        if ph.until >= cfg.optim.steps:
            raise err(key, f"an earlier phase must end before optim.steps ({cfg.optim.steps}), got {ph.until}")
        last = ph.until
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

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
        >>> _ = path.write_text("[data]\\ndistance = 5\\n")
        >>> load_config(path).data.distance
        5
    """
    return _load(path, parse_config)


def config_to_toml(cfg: TrainConfig) -> str:
    """The configuration as TOML text (``parse_config`` reads it back).

    Examples:
        >>> cfg = parse_config('name = "x"\\n[optim]\\nsteps = 7')
        >>> parse_config(config_to_toml(cfg)) == cfg
        True
    """
    return to_toml(cfg.to_dict())
