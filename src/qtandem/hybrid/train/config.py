"""``qtandem train`` configuration: the ``[data]``, ``[model]``, ``[optim]`` and ``[train]`` dataclasses.

The schema, key by key, is in :mod:`qtandem.hybrid.train`.

Examples:
    >>> cfg = parse_config('[train]\\nearly_stopping_patience = 5')
    >>> cfg.data.validation          # carved out of the training split for early stopping
    0.2
    >>> parse_config('[train]\\nmonitor = "test_accuracy"', source="run.toml")
    Traceback (most recent call last):
    ...
    qtandem.errors.ConfigError: run.toml: train.monitor: 'test_accuracy' is refused: ...
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtandem.config import choices, parse_toml, to_toml
from qtandem.errors import ConfigError
from qtandem.hybrid.ansatze import ANSATZE
from qtandem.hybrid.datasets import list_datasets
from qtandem.hybrid.encoders import ENCODERS
from qtandem.hybrid.layer import DIFF_METHODS
from qtandem.training import load_config as _load
from qtandem.training import run_dir

__all__ = ["DEFAULT_VALIDATION", "DataConfig", "ModelConfig", "OptimConfig", "TrainConfig", "TrainOptions",
           "config_to_toml", "load_config", "parse_config"]

PRE_CHOICES = ("none", "pca", "autoencoder", "denoising_autoencoder")
DEFAULT_VALIDATION = 0.2
"""The fraction of the training split held out for validation when ``data.validation`` is not given
and the run monitors it (early stopping or ``train.select = "best"``)."""

_TEST_REFUSED = ("would select on the test split, which is read once, after training; monitor 'val_loss' or "
                 "'val_accuracy' (a validation split is carved out of the training data)")


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: which dataset and how it is split.

    Examples:
        >>> data = parse_config('[data]\\nname = "moons"\\ntest_size = 0.3').data
        >>> data.name, data.test_size, data.validation
        ('moons', 0.3, 0.0)
    """

    name: str = field(default="digits", metadata=choices(*list_datasets()))
    test_size: float = field(default=0.25, metadata={"gt": 0.0, "lt": 1.0})
    validation: float | None = field(default=None, metadata={"ge": 0.0, "lt": 1.0})
    n_samples: int | None = field(default=None, metadata={"ge": 10})


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: pre-processing, quantum layer and head.

    Examples:
        >>> model = parse_config('[model]\\nlayers = 2\\nencoder = "iqp"').model
        >>> model.layers, model.encoder, model.ansatz
        (2, 'iqp', 'hardware_efficient')
    """

    pre: str = field(default="pca", metadata=choices(*PRE_CHOICES))
    features: int = field(default=8, metadata={"ge": 1})
    squash: str = field(default="auto", metadata=choices("auto", "tanh", "none"))
    input_scale: float = field(default=math.pi / 2, metadata={"gt": 0.0})
    n_qubits: int | None = field(default=None, metadata={"ge": 1, "le": 24})
    layers: int = field(default=3, metadata={"ge": 1})
    encoder: str = field(default="angle", metadata=choices(*ENCODERS))
    ansatz: str = field(default="hardware_efficient", metadata=choices(*ANSATZE))
    entangle: bool = True
    diff_method: str = field(default="backprop", metadata=choices(*DIFF_METHODS))
    shots: int | None = field(default=None, metadata={"ge": 1})
    dtype: str = field(default="float32", metadata=choices("float32", "float64"))
    head: str = field(default="linear", metadata=choices("linear", "mlp"))
    hidden: list[int] = field(default_factory=lambda: [32], metadata={"ge": 1})
    pretrain_epochs: int = field(default=50, metadata={"ge": 0})
    ae_hidden: list[int] = field(default_factory=lambda: [64], metadata={"ge": 1})
    noise_std: float = field(default=0.1, metadata={"ge": 0.0})


@dataclass(frozen=True)
class OptimConfig:
    """``[optim]``: optimizer and schedule of passes.

    Examples:
        >>> optim = parse_config('[optim]\\nname = "sgd"\\nlr = 0.1\\nmomentum = 0.9').optim
        >>> optim.name, optim.lr, optim.epochs
        ('sgd', 0.1, 20)
    """

    name: str = field(default="adam", metadata=choices("adam", "sgd"))
    lr: float = field(default=0.05, metadata={"gt": 0.0})
    batch_size: int = field(default=32, metadata={"ge": 0})
    epochs: int = field(default=20, metadata={"ge": 1})
    weight_decay: float = field(default=0.0, metadata={"ge": 0.0})
    momentum: float = field(default=0.0, metadata={"ge": 0.0, "lt": 1.0})


@dataclass(frozen=True)
class TrainOptions:
    """``[train]``: checkpoints, evaluation, early stopping, model selection and logging.

    Examples:
        >>> opts = parse_config("[train]\\nearly_stopping_patience = 3").train
        >>> opts.early_stopping_patience, opts.monitor, opts.select
        (3, 'val_loss', 'last')
    """

    checkpoint_every: int = field(default=100, metadata={"ge": 0})
    eval_every: int = field(default=1, metadata={"ge": 1})
    early_stopping_patience: int = field(default=0, metadata={"ge": 0})
    monitor: str = field(default="val_loss", metadata={**choices("val_loss", "val_accuracy"),
                                                        "refused": dict.fromkeys(("test_loss", "test_accuracy"),
                                                                                 _TEST_REFUSED)})
    min_delta: float = field(default=0.0, metadata={"ge": 0.0})
    select: str = field(default="last", metadata=choices("last", "best"))
    max_steps: int = field(default=0, metadata={"ge": 0})
    log_every: int = field(default=1, metadata={"ge": 1})


@dataclass(frozen=True)
class TrainConfig:
    """A whole ``qtandem train`` configuration (see :mod:`qtandem.hybrid.train` for the schema).

    Attributes:
        source: where it was read from (for messages); not a configuration key.

    Examples:
        >>> cfg = TrainConfig()
        >>> cfg.seed, cfg.data.name, cfg.optim.name
        (0, 'digits', 'adam')
        >>> parse_config(config_to_toml(cfg)) == parse_config("")
        True
    """

    seed: int = field(default=0, metadata={"ge": 0})
    output: str = ""
    threads: int = field(default=0, metadata={"ge": 0})
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainOptions = field(default_factory=TrainOptions)
    source: str = field(default="<string>", metadata={"internal": True}, compare=False)

    def output_dir(self) -> Path:
        """The output folder: ``output``, else ``runs/<config file stem>``."""
        return run_dir(self.output, self.source, "train")

    def monitors_validation(self) -> bool:
        """Whether the run selects on the validation split (early stopping or ``select = "best"``)."""
        return self.train.early_stopping_patience > 0 or self.train.select == "best"

    def validation_fraction(self) -> float:
        """``data.validation``, or its default: :data:`DEFAULT_VALIDATION` when monitoring, else 0."""
        if self.data.validation is not None:
            return self.data.validation
        return DEFAULT_VALIDATION if self.monitors_validation() else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data (TOML / JSON ready; ``None`` values kept)."""
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainOptions}


def parse_config(text: str, *, source: str = "<string>") -> TrainConfig:
    """Parse and validate a TOML configuration; ``data.validation`` comes back resolved.

    Args:
        text: the TOML text.
        source: a name for messages (the file path).

    Returns:
        The :class:`TrainConfig`, defaults filled in.

    Raises:
        ConfigError: TOML syntax errors, unknown keys, wrong types, values out of
            range or not among the choices, a monitor on the test split, early stopping or
            best-model selection without a validation split, and other inconsistent
            combinations; the message names ``source`` and the key path.

    Examples:
        >>> parse_config("[optim]\\nepochs = 5").optim.epochs
        5
        >>> parse_config("[optim]\\nepochs = 0", source="run.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: run.toml: optim.epochs: ...
    """
    def err(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    cfg = parse_toml(text, TrainConfig, SECTIONS, source=source)
    m, o = cfg.model, cfg.optim
    if m.shots is not None and m.diff_method in ("backprop", "adjoint"):
        raise err("model.shots", f"finite shots are not differentiable by diff_method {m.diff_method!r}: "
                                 "use 'parameter-shift' or 'spsa', or remove shots")
    if o.momentum and o.name != "sgd":
        raise err("optim.momentum", f"momentum applies to name = 'sgd' only (name is {o.name!r})")
    if m.encoder == "amplitude" and m.squash == "tanh":
        raise err("model.squash", "amplitude encoding normalises its input; squashing it would lose information "
                                  "(use 'none' or 'auto')")
    check_selection(cfg)
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, validation=cfg.validation_fraction()))


def check_selection(cfg: TrainConfig) -> None:
    """Refuse early stopping or best-model selection without a validation split (never fall back to test).

    Raises:
        ConfigError: naming ``data.validation``.
    """
    t = cfg.train
    if cfg.data.validation == 0 and cfg.monitors_validation():
        why = (f"train.early_stopping_patience = {t.early_stopping_patience}" if t.early_stopping_patience
               else "train.select = 'best'")
        raise ConfigError(f"{cfg.source}: data.validation: {why} monitors a validation split carved out of the "
                          f"training data, and 0 leaves none (the test split is never monitored); remove the key "
                          f"for the default {DEFAULT_VALIDATION} or give a fraction")


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a TOML configuration file (see :func:`parse_config`).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: see :func:`parse_config`.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
        >>> _ = path.write_text('[data]\\nname = "iris"\\n')
        >>> load_config(path).data.name
        'iris'
    """
    return _load(path, parse_config)


def config_to_toml(cfg: TrainConfig, *, header: str = "") -> str:
    """The configuration as TOML, every key spelled out (``None`` values are left out).

    Examples:
        >>> cfg = parse_config('[data]\\nname = "iris"')
        >>> parse_config(config_to_toml(cfg)) == cfg
        True
    """
    return to_toml(cfg.to_dict(), header=header)


def config_from_dict(d: dict[str, Any], source: str) -> TrainConfig:
    """A configuration from its :meth:`TrainConfig.to_dict` data (as stored in model files), re-validated."""
    top = {k: v for k, v in d.items() if k not in SECTIONS}
    secs = {k: SECTIONS[k](**d[k]) for k in SECTIONS if k in d}
    return parse_config(config_to_toml(TrainConfig(**top, **secs)), source=source)
