"""The ``qtandem train`` pipeline: a hybrid classifier from a TOML file to curves, checkpoints and a report.

A run reads a TOML configuration, loads a bundled dataset
(:mod:`qtandem.hybrid.datasets`), builds a :class:`~qtandem.hybrid.HybridModel`
(classical compression -> :class:`~qtandem.hybrid.QuantumLayer` -> classical head),
trains it with cross-entropy and writes, into the output folder:

* ``metrics.jsonl`` -- one JSON object per line: ``{"kind": "step", ...}`` after
  every ``log_every`` optimizer steps (``step``, ``epoch``, ``loss``,
  ``accuracy`` of the batch, ``lr``, ``wall`` seconds) and ``{"kind": "eval", ...}``
  after every ``eval_every`` epochs (``train_loss``, ``train_accuracy``,
  ``val_*`` when a validation split is held out, ``test_loss``, ``test_accuracy``);
* ``checkpoint.safetensors`` -- every ``checkpoint_every`` steps and at the end,
  written atomically (temporary file + ``os.replace``): model and optimizer
  tensors, the data-shuffling generator, the global torch generator and the
  quantum layers' sampling generators as tensors; counters, the early-stopping
  state and the resolved configuration as JSON strings in the safetensors
  metadata. No pickle anywhere: loading a checkpoint cannot run code;
* ``best.safetensors`` (the model at the best monitored value, when evaluating),
  ``model.safetensors`` (the final model; :func:`load_model` rebuilds it),
  ``config.toml`` (the resolved configuration, every default spelled out),
  ``loss.png``, ``accuracy.png`` and ``report.html``.

``train(cfg, resume=True)`` (``qtandem train CONFIG --resume``) continues from
the checkpoint *exactly*: the batches, the optimizer moments and every random
stream pick up where they stopped, so an interrupted and resumed run writes the
same loss curve, bit for bit, as an uninterrupted one (same machine, same
threads). A fresh run (no ``--resume``) into a folder that already holds a run
replaces it.

Configuration schema (every key optional; unknown keys, wrong types and values
outside the choices raise :class:`~qtandem.errors.ConfigError` naming the file
and the key path, e.g. ``run.toml: model.layerz: unknown key (did you mean 'layers'?)``):

=================================  =====  ========================  ====================================================
key                                type   default                   meaning
=================================  =====  ========================  ====================================================
``seed``                           int    0                         seeds the split, initial weights, shuffling, shots
``output``                         str    ``runs/<config stem>``    output folder (relative to the working directory)
``threads``                        int    0                         torch threads during the run (0: leave as is)
``data.name``                      str    ``"digits"``              digits, breast_cancer, iris, moons, circles, tfim
``data.test_size``                 float  0.25                      held-out test fraction
``data.validation``                float  0.0                       fraction of the training split held out for early
                                                                    stopping (0: monitor the test split)
``data.n_samples``                 int    all                       sub-sample (or generate) this many samples
``model.pre``                      str    ``"pca"``                 none, pca, autoencoder, denoising_autoencoder
``model.features``                 int    8                         width after ``pre`` (ignored for ``"none"``)
``model.squash``                   str    ``"auto"``                tanh: ``input_scale * tanh(x)`` before the quantum
                                                                    layer; none; auto = tanh except amplitude encoding
``model.input_scale``              float  pi/2                      see ``squash``
``model.n_qubits``                 int    from the width            features (angle, iqp, reupload) or
                                                                    ``ceil(log2(features))`` (amplitude)
``model.layers``                   int    3                         ansatz layers
``model.encoder``                  str    ``"angle"``               angle, amplitude, iqp, reupload
``model.ansatz``                   str    ``"hardware_efficient"``  hardware_efficient, strongly_entangling, ttn
                                                                    (tree_tensor_network), qcnn
``model.entangle``                 bool   true                      false removes the entangling gates (ablation)
``model.diff_method``              str    ``"backprop"``            backprop, adjoint, parameter-shift, spsa
``model.shots``                    int    exact                     estimate expectations from shots (parameter-shift or
                                                                    spsa)
``model.dtype``                    str    ``"float32"``             float32 (complex64 states) or float64
``model.head``                     str    ``"linear"``              linear or mlp
``model.hidden``                   [int]  [32]                      hidden widths of the mlp head
``model.pretrain_epochs``          int    50                        auto-encoder pre-training epochs
``model.ae_hidden``                [int]  [64]                      auto-encoder hidden widths
``model.noise_std``                float  0.1                       denoising auto-encoder input noise
``optim.name``                     str    ``"adam"``                adam or sgd
``optim.lr``                       float  0.05                      learning rate
``optim.batch_size``               int    32                        0: full batch
``optim.epochs``                   int    20                        passes over the training split
``optim.weight_decay``             float  0.0                       L2 penalty
``optim.momentum``                 float  0.0                       sgd only
``train.checkpoint_every``         int    100                       steps between checkpoints (0: only at the end)
``train.eval_every``               int    1                         epochs between evaluations (and the last epoch)
``train.early_stopping_patience``  int    0                         stop when the monitored value has not improved for
                                                                    this many epochs (0: never)
``train.monitor``                  str    ``"val_loss"``            val_loss or val_accuracy
``train.min_delta``                float  0.0                       smallest change that counts as an improvement
``train.max_steps``                int    0                         stop (with a checkpoint) after this many steps in
                                                                    all; continue with resume (0: no limit)
``train.log_every``                int    1                         steps between step records in metrics.jsonl
=================================  =====  ========================  ====================================================

A full example (:data:`EXAMPLE_CONFIG`)::

    seed = 0
    output = "runs/digits-pca8"

    [data]
    name = "digits"
    test_size = 0.25

    [model]
    pre = "pca"              # 64 pixels -> 8 whitened principal components
    features = 8
    n_qubits = 8
    layers = 3
    encoder = "angle"
    ansatz = "hardware_efficient"
    diff_method = "backprop"
    head = "linear"

    [optim]
    name = "adam"
    lr = 0.05
    batch_size = 64
    epochs = 15

    [train]
    checkpoint_every = 50
    early_stopping_patience = 5
    eval_every = 1

Examples:
    >>> cfg = parse_config(EXAMPLE_CONFIG)
    >>> cfg.data.name, cfg.model.encoder, cfg.model.layers, cfg.optim.lr, cfg.train.checkpoint_every
    ('digits', 'angle', 3, 0.05, 50)
    >>> cfg.model.shots is None, cfg.data.validation
    (True, 0.0)
    >>> parse_config("[model]\\nlayerz = 2", source="run.toml")
    Traceback (most recent call last):
    ...
    qtandem.errors.ConfigError: run.toml: model.layerz: unknown key (did you mean 'layers'?)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.config import choices, parse_toml, read_config_text, to_toml
from qtandem.errors import CheckpointError, ConfigError, QtandemError
from qtandem.hybrid.ansatze import ANSATZE
from qtandem.hybrid.classical import PCA, AutoEncoder, DenoisingAutoEncoder, HybridModel, LinearHead, MLPHead
from qtandem.hybrid.datasets import list_datasets, load_dataset
from qtandem.hybrid.encoders import ENCODERS
from qtandem.hybrid.layer import DIFF_METHODS, QuantumLayer
from qtandem.io import (
    atomic_write_text,
    load_optimizer_state,
    optimizer_state,
    read_jsonl,
    read_safetensors,
    write_safetensors,
)

__all__ = [
    "EXAMPLE_CONFIG",
    "DataConfig",
    "DataSplit",
    "ModelConfig",
    "OptimConfig",
    "Squash",
    "TrainConfig",
    "TrainOptions",
    "TrainResult",
    "build_model",
    "config_to_toml",
    "load_config",
    "load_data",
    "load_model",
    "parse_config",
    "plot_curves",
    "read_metrics",
    "read_safetensors",
    "train",
]

Tensor = torch.Tensor

EXAMPLE_CONFIG = """\
seed = 0
output = "runs/digits-pca8"

[data]
name = "digits"
test_size = 0.25

[model]
pre = "pca"              # 64 pixels -> 8 whitened principal components
features = 8
n_qubits = 8
layers = 3
encoder = "angle"
ansatz = "hardware_efficient"
diff_method = "backprop"
head = "linear"

[optim]
name = "adam"
lr = 0.05
batch_size = 64
epochs = 15

[train]
checkpoint_every = 50
early_stopping_patience = 5
eval_every = 1
"""
"""The example configuration shown in the module documentation."""

CHECKPOINT_FORMAT = "qtandem.train.checkpoint/1"
MODEL_FORMAT = "qtandem.hybrid.model/1"
PRE_CHOICES = ("none", "pca", "autoencoder", "denoising_autoencoder")


# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataConfig:
    """``[data]``: which dataset and how it is split."""

    name: str = field(default="digits", metadata=choices(*list_datasets()))
    test_size: float = field(default=0.25, metadata={"gt": 0.0, "lt": 1.0})
    validation: float = field(default=0.0, metadata={"ge": 0.0, "lt": 1.0})
    n_samples: int | None = field(default=None, metadata={"ge": 10})


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: pre-processing, quantum layer and head."""

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
    """``[optim]``: optimizer and schedule of passes."""

    name: str = field(default="adam", metadata=choices("adam", "sgd"))
    lr: float = field(default=0.05, metadata={"gt": 0.0})
    batch_size: int = field(default=32, metadata={"ge": 0})
    epochs: int = field(default=20, metadata={"ge": 1})
    weight_decay: float = field(default=0.0, metadata={"ge": 0.0})
    momentum: float = field(default=0.0, metadata={"ge": 0.0, "lt": 1.0})


@dataclass(frozen=True)
class TrainOptions:
    """``[train]``: checkpoints, evaluation, early stopping and logging."""

    checkpoint_every: int = field(default=100, metadata={"ge": 0})
    eval_every: int = field(default=1, metadata={"ge": 1})
    early_stopping_patience: int = field(default=0, metadata={"ge": 0})
    monitor: str = field(default="val_loss", metadata=choices("val_loss", "val_accuracy"))
    min_delta: float = field(default=0.0, metadata={"ge": 0.0})
    max_steps: int = field(default=0, metadata={"ge": 0})
    log_every: int = field(default=1, metadata={"ge": 1})


@dataclass(frozen=True)
class TrainConfig:
    """A whole ``qtandem train`` configuration (see the module documentation for the schema).

    Attributes:
        source: where it was read from (for messages); not a configuration key.
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
        if self.output:
            return Path(self.output)
        stem = Path(self.source).stem if self.source and not self.source.startswith("<") else "train"
        return Path("runs") / stem

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data (TOML / JSON ready; ``None`` values kept)."""
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainOptions}


def parse_config(text: str, *, source: str = "<string>") -> TrainConfig:
    """Parse and validate a TOML configuration.

    Args:
        text: the TOML text.
        source: a name for messages (the file path).

    Returns:
        The :class:`TrainConfig`, defaults filled in.

    Raises:
        ConfigError: TOML syntax errors, unknown keys, wrong types, values out of
            range or not among the choices, and inconsistent combinations; the
            message names ``source`` and the key path.
    """
    def err(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    cfg = parse_toml(text, TrainConfig, _SECTIONS, source=source)
    m, o = cfg.model, cfg.optim
    if m.shots is not None and m.diff_method in ("backprop", "adjoint"):
        raise err("model.shots", f"finite shots are not differentiable by diff_method {m.diff_method!r}: "
                                 "use 'parameter-shift' or 'spsa', or remove shots")
    if o.momentum and o.name != "sgd":
        raise err("optim.momentum", f"momentum applies to name = 'sgd' only (name is {o.name!r})")
    if m.encoder == "amplitude" and m.squash == "tanh":
        raise err("model.squash", "amplitude encoding normalises its input; squashing it would lose information "
                                  "(use 'none' or 'auto')")
    return cfg


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a TOML configuration file (see :func:`parse_config`).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: see :func:`parse_config`.
    """
    return parse_config(read_config_text(path), source=str(Path(path)))


def config_to_toml(cfg: TrainConfig, *, header: str = "") -> str:
    """The configuration as TOML, every key spelled out (``None`` values are left out).

    Examples:
        >>> text = config_to_toml(TrainConfig())
        >>> parse_config(text) == TrainConfig()
        True
    """
    return to_toml(cfg.to_dict(), header=header)


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------
class Squash(nn.Module):
    """``scale * tanh(x)``: bounded inputs for angle-type encoders."""

    def __init__(self, scale: float = math.pi / 2) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * torch.tanh(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale:.4g}"


def _derive_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([int(seed), 7919, stream]).generate_state(1, dtype=np.uint64)[0] >> 2)


def _width_after_pre(cfg: TrainConfig, n_features: int) -> int:
    return n_features if cfg.model.pre == "none" else cfg.model.features


def _n_qubits(cfg: TrainConfig, width: int) -> int:
    m = cfg.model
    if m.n_qubits is not None:
        return m.n_qubits
    if m.encoder == "amplitude":
        return max(1, math.ceil(math.log2(width)))
    return width


def _build(cfg: TrainConfig, n_features: int, n_classes: int, x_fit: Tensor | None, data_name: str = "") -> HybridModel:
    """The model; ``x_fit`` (training inputs) fits PCA and pre-trains auto-encoders (``None``: leave unfitted)."""
    m = cfg.model
    src = cfg.source

    def err(key: str, message: str) -> ConfigError:
        return ConfigError(f"{src}: {key}: {message}")

    width = _width_after_pre(cfg, n_features)
    parts: OrderedDict[str, nn.Module] = OrderedDict()
    if m.pre != "none":
        if m.pre == "pca" and m.features > n_features:
            raise err("model.features", f"{m.features} principal components of {data_name or cfg.data.name}'s "
                                        f"{n_features} features are too many")
        compress: nn.Module
        if m.pre == "pca":
            compress = PCA(m.features, whiten=True)
            if x_fit is not None:
                if m.features > x_fit.shape[0]:
                    raise err("model.features", f"{m.features} components need at least as many training "
                                                f"samples (have {x_fit.shape[0]})")
                compress.fit(x_fit)
        else:
            cls = AutoEncoder if m.pre == "autoencoder" else DenoisingAutoEncoder
            kwargs: dict[str, Any] = {"noise_std": m.noise_std} if cls is DenoisingAutoEncoder else {}
            compress = cls(n_features, m.features, hidden=tuple(m.ae_hidden), bounded=True, **kwargs)
            if x_fit is not None and m.pretrain_epochs:
                compress.pretrain(x_fit, epochs=m.pretrain_epochs, seed=_derive_seed(cfg.seed, 4))
        parts["compress"] = compress
    squash = m.squash if m.squash != "auto" else ("none" if m.encoder == "amplitude" else "tanh")
    if squash == "tanh":
        parts["squash"] = Squash(m.input_scale)
    pre: nn.Module | None = nn.Sequential(parts) if parts else None
    dtype = torch.float64 if m.dtype == "float64" else torch.float32
    try:
        quantum = QuantumLayer(n_qubits=_n_qubits(cfg, width), layers=m.layers, encoder=m.encoder, ansatz=m.ansatz,
                               n_features=width, diff_method=m.diff_method, shots=m.shots, entangle=m.entangle,
                               seed=cfg.seed, dtype=dtype)
    except QtandemError as exc:
        raise ConfigError(f"{src}: model: {exc}") from None
    if m.head == "linear":
        head: nn.Module = LinearHead(quantum.n_outputs, n_classes)
    else:
        head = MLPHead(quantum.n_outputs, n_classes, hidden=tuple(m.hidden))
    model = HybridModel(pre, quantum, head)
    _contiguous_buffers(model)
    return model


def _contiguous_buffers(model: nn.Module) -> None:
    """Make fitted buffers contiguous, as they are when loaded from a checkpoint.

    A fitted buffer may be a strided view (PCA's components come transposed out
    of the SVD); the matrix products then round differently in the last bit than
    with the contiguous copy a resumed run loads, and the loss curves would part.
    """
    for mod in model.modules():
        for name, buf in mod._buffers.items():
            if buf is not None and not buf.is_contiguous():
                mod._buffers[name] = buf.contiguous()


def build_model(cfg: TrainConfig, dataset: Any) -> HybridModel:
    """Build (and fit the pre-processing of) the configured model for ``dataset``.

    Classical weights are initialised from ``cfg.seed`` (inside a forked global
    torch RNG, which is left untouched), the quantum weights from the layer's seed.

    Args:
        cfg: the configuration.
        dataset: a :class:`~qtandem.hybrid.datasets.Dataset` (``x_train``,
            ``n_features``, ``n_classes``); PCA is fitted, and auto-encoders
            pre-trained, on ``x_train``.

    Raises:
        ConfigError: the model section does not fit the dataset (e.g. too many
            features for the qubits).

    Examples:
        >>> from qtandem.hybrid.datasets import load_dataset
        >>> cfg = parse_config('[model]\\nfeatures = 4\\nlayers = 1')
        >>> model = build_model(cfg, load_dataset("iris"))
        >>> model.parameter_counts()
        {'pre': 0, 'quantum': 8, 'post': 15}
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_derive_seed(cfg.seed, 0))
        return _build(cfg, int(dataset.n_features), int(dataset.n_classes), dataset.x_train,
                      str(getattr(dataset, "name", "")))


# ----------------------------------------------------------------------------------------------
# model files (safetensors: loading runs no code)
# ----------------------------------------------------------------------------------------------
def load_model(path: str | Path) -> HybridModel:
    """Rebuild a trained model from ``model.safetensors`` or ``best.safetensors`` (or a run folder).

    Examples:
        >>> import tempfile
        >>> cfg = parse_config('seed = 1\\n[data]\\nname = "iris"\\n[model]\\nfeatures = 2\\nlayers = 1\\n'
        ...                    '[optim]\\nepochs = 1', source="demo.toml")
        >>> out = tempfile.mkdtemp()
        >>> res = train(dataclasses.replace(cfg, output=out), progress=False)
        >>> model = load_model(out)
        >>> bool(torch.equal(model.quantum.weights, res.model.quantum.weights))
        True
    """
    p = Path(path)
    if p.is_dir():
        p = p / "model.safetensors"
    tensors, meta = read_safetensors(p)
    if meta.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{p}: not a qtandem model file (format {meta.get('format')!r})")
    cfg = _config_from_json(meta["config"], str(p))
    model = _build(cfg, int(meta["n_features"]), int(meta["n_classes"]), None)
    model.load_state_dict(tensors)
    return model


def _config_from_json(text: str, source: str) -> TrainConfig:
    d = json.loads(text)
    return parse_config(config_to_toml(_cfg_from_plain(d)), source=source)


def _cfg_from_plain(d: dict[str, Any]) -> TrainConfig:
    top = {k: v for k, v in d.items() if k not in _SECTIONS}
    secs = {k: _SECTIONS[k](**d[k]) for k in _SECTIONS if k in d}
    return TrainConfig(**top, **secs)


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        output: the output folder.
        model: the trained model (final weights).
        steps: optimizer steps done in all (including before a resume).
        epochs: completed epochs.
        finished: ``False`` when stopped by ``train.max_steps`` (resume to continue).
        stopped_early: early stopping ended the run.
        best_epoch: epoch of the best monitored value (0 if never evaluated).
        final: the last evaluation record (``train_accuracy``, ``test_accuracy``...).
        seconds: training wall time in all (including before a resume).
        parameter_counts: trainable parameters per part (``pre``, ``quantum``, ``post``).
        report: path of ``report.html``.
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
        return float(self.final.get("test_accuracy", float("nan")))

    @property
    def train_accuracy(self) -> float:
        return float(self.final.get("train_accuracy", float("nan")))


@dataclass
class DataSplit:
    """The configured dataset, split into training, optional validation, and test tensors."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor | None
    y_val: Tensor | None
    x_test: Tensor
    y_test: Tensor
    n_features: int
    n_classes: int
    info: str


def load_data(cfg: TrainConfig) -> DataSplit:
    """Load and split ``cfg.data`` as :func:`train` does (same seed, same validation hold-out).

    Raises:
        ConfigError: bad dataset options.
    """
    d = cfg.data
    try:
        ds = load_dataset(d.name, seed=cfg.seed, test_size=d.test_size, n_samples=d.n_samples)
    except QtandemError as exc:
        raise ConfigError(f"{cfg.source}: data: {exc}") from None
    xtr, ytr = ds.x_train, ds.y_train
    xv = yv = None
    if d.validation > 0:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(ytr))
        try:
            tr, va = train_test_split(idx, test_size=d.validation, random_state=_derive_seed(cfg.seed, 3) % 2**32,
                                      stratify=ytr.numpy())
        except ValueError as exc:
            raise ConfigError(f"{cfg.source}: data.validation: cannot hold out {d.validation} of "
                              f"{len(ytr)} training samples ({exc})") from None
        tr_t, va_t = torch.as_tensor(np.sort(tr)), torch.as_tensor(np.sort(va))
        xtr, ytr, xv, yv = xtr[tr_t], ytr[tr_t], xtr[va_t], ds.y_train[va_t]
    return DataSplit(xtr, ytr, xv, yv, ds.x_test, ds.y_test, ds.n_features, ds.n_classes, ds.info)


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
    opt_tensors, opt_meta = optimizer_state(opt)
    tensors.update(opt_tensors)
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
    meta = {"format": CHECKPOINT_FORMAT, "state": json.dumps(counters), "config": json.dumps(cfg.to_dict()),
            **opt_meta, "rng.numpy": json.dumps(np_states)}
    write_safetensors(path, tensors, meta)


def _restore_checkpoint(path: Path, cfg: TrainConfig, model: nn.Module, opt: torch.optim.Optimizer,
                        gen: torch.Generator) -> _State:
    if not path.exists():
        raise CheckpointError(f"nothing to resume: no checkpoint at {path} (run without --resume to start)")
    tensors, meta = read_safetensors(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a qtandem training checkpoint (format {meta.get('format')!r})")
    _check_same_run(json.loads(meta["config"]), cfg, path)
    try:
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: model tensors do not fit the configured model ({exc})") from None
    load_optimizer_state(opt, tensors, meta)
    gen.set_state(tensors["rng.shuffle"])
    torch.set_rng_state(tensors["rng.torch"])
    np_states = json.loads(meta.get("rng.numpy", "{}"))
    for name, mod in _module_rngs(model):
        if name in np_states:
            rng = np.random.default_rng()
            rng.bit_generator.state = np_states[name]
            mod._rng = rng  # type: ignore[assignment]
        key = f"rng.module.{name}.spsa"
        if key in tensors:
            sg = torch.Generator()
            sg.set_state(tensors[key])
            mod._spsa_gen = sg  # type: ignore[assignment]
    c = json.loads(meta["state"])
    return _State(step=c["step"], epoch=c["epoch"], batch=c["batch"], best=c["best"], best_epoch=c["best_epoch"],
                  stopped_early=c["stopped_early"], elapsed=c["elapsed"], perm=tensors.get("data.perm"))


#: keys that may change between a run and its resumption
_RESUMABLE_CHANGES = {"output", "threads", "optim.epochs", "train.checkpoint_every", "train.max_steps",
                      "train.log_every", "train.early_stopping_patience", "train.min_delta"}


def _check_same_run(saved: dict[str, Any], cfg: TrainConfig, path: Path) -> None:
    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    a, b = flat(saved), flat(cfg.to_dict())
    diff = [k for k in sorted(set(a) | set(b)) if k not in _RESUMABLE_CHANGES and a.get(k) != b.get(k)]
    if diff:
        k = diff[0]
        raise CheckpointError(f"{cfg.source}: {k}: {b.get(k)!r} differs from the checkpoint's {a.get(k)!r} "
                              f"({path}); resuming needs the same configuration (or start afresh without --resume)")


def _evaluate(model: nn.Module, x: Tensor, y: Tensor, batch: int = 1024) -> tuple[float, float]:
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


read_metrics = read_jsonl
"""The records of a ``metrics.jsonl`` file (a torn last line is skipped)."""


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _NoBar:
    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int, done: int, label: str) -> Iterator[Any]:
    if not enabled:
        yield _NoBar(), None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("epoch {task.fields[epoch]}  loss {task.fields[loss]}  test acc {task.fields[acc]}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total, completed=done, epoch="-", loss="-", acc="-")
        yield bar, task


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True, output: str | Path | None = None,
          callback: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Train the configured hybrid classifier; see the module documentation for what is written.

    Args:
        cfg: the configuration (:func:`load_config`).
        resume: continue from ``<output>/checkpoint.safetensors`` exactly.
        progress: show a rich progress bar (on stderr).
        output: override ``cfg.output``.
        callback: called with every record written to ``metrics.jsonl`` (after it is written).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ConfigError: the configuration does not fit the dataset.
        CheckpointError: ``resume`` without a usable checkpoint, or with a changed configuration.
    """
    if output is not None:
        cfg = dataclasses.replace(cfg, output=str(output))
    out = cfg.output_dir()
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, metrics_path = out / "checkpoint.safetensors", out / "metrics.jsonl"
    with _threads(cfg.threads), torch.random.fork_rng(devices=[]):
        data = load_data(cfg)
        if resume:
            model = _build(cfg, data.n_features, data.n_classes, None)
        else:
            torch.manual_seed(_derive_seed(cfg.seed, 0))
            model = _build(cfg, data.n_features, data.n_classes, data.x_train)
        opt = _make_optimizer(cfg, model)
        gen = torch.Generator().manual_seed(_derive_seed(cfg.seed, 1))
        if resume:
            st = _restore_checkpoint(ckpt_path, cfg, model, opt, gen)
            records = [r for r in read_jsonl(metrics_path) if r.get("step", 0) <= st.step]
            atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in records))
        else:
            st = _State()
            torch.manual_seed(_derive_seed(cfg.seed, 2))
            for stale in (ckpt_path, metrics_path, out / "best.safetensors", out / "model.safetensors"):
                stale.unlink(missing_ok=True)
            records = []
        header = f"qtandem train: resolved from {cfg.source} (defaults filled in)"
        atomic_write_text(out / "config.toml", config_to_toml(cfg, header=header))
        st = _loop(cfg, model, opt, gen, st, data, out, progress, callback, records)
        finished = st.epoch >= cfg.optim.epochs or st.stopped_early
        _save_checkpoint(ckpt_path, cfg, model, opt, gen, st)
        evals = [r for r in records if r["kind"] == "eval"]
        final = evals[-1] if evals else {}
        if not finished or not evals or evals[-1]["step"] != st.step:
            final = _eval_record(model, data, st, st.elapsed)
        counts = model.parameter_counts()
        meta = {"format": MODEL_FORMAT, "config": json.dumps(cfg.to_dict()), "n_features": str(data.n_features),
                "n_classes": str(data.n_classes), "final": json.dumps(final)}
        write_safetensors(out / "model.safetensors", dict(model.state_dict()), meta)
        report = _write_report(cfg, out, records, final, st, counts, data, model, finished)
    return TrainResult(out, model, st.step, st.epoch, finished, st.stopped_early, st.best_epoch, final, st.elapsed,
                       counts, report)


def _eval_record(model: nn.Module, data: DataSplit, st: _State, wall: float) -> dict[str, Any]:
    rec: dict[str, Any] = {"kind": "eval", "step": st.step, "epoch": st.epoch}
    rec["train_loss"], rec["train_accuracy"] = _evaluate(model, data.x_train, data.y_train)
    if data.x_val is not None and data.y_val is not None:
        rec["val_loss"], rec["val_accuracy"] = _evaluate(model, data.x_val, data.y_val)
    rec["test_loss"], rec["test_accuracy"] = _evaluate(model, data.x_test, data.y_test)
    rec["wall"] = round(wall, 4)
    return rec


def _loop(cfg: TrainConfig, model: HybridModel, opt: torch.optim.Optimizer, gen: torch.Generator, st: _State,
          data: DataSplit, out: Path, progress: bool, callback: Callable[[dict[str, Any]], None] | None,
          records: list[dict[str, Any]]) -> _State:
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

    def emit(rec: dict[str, Any], fh: Any) -> None:
        fh.write(json.dumps(rec) + "\n")
        fh.flush()
        records.append(rec)
        if callback is not None:
            callback(rec)

    with (out / "metrics.jsonl").open("a", encoding="utf-8") as fh, \
            _progress_bar(progress, total, min(st.step, total), cfg.data.name) as (bar, task):
        while st.epoch < o.epochs and not st.stopped_early and not (t.max_steps and st.step >= t.max_steps):
            if st.perm is None:
                st.perm = torch.randperm(n, generator=gen)
                st.batch = 0
            idx = st.perm[st.batch * bs:(st.batch + 1) * bs]
            xb, yb = data.x_train[idx], data.y_train[idx]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            st.step += 1
            st.batch += 1
            st.elapsed = time.perf_counter() - t0
            loss_v = float(loss.detach())
            if st.step % t.log_every == 0:
                acc = float((logits.detach().argmax(1) == yb).float().mean())
                emit({"kind": "step", "step": st.step, "epoch": st.epoch + 1, "loss": loss_v, "accuracy": acc,
                      "lr": opt.param_groups[0]["lr"], "wall": round(st.elapsed, 4)}, fh)
            if st.batch >= per_epoch:
                st.epoch += 1
                st.perm = None
                st.batch = 0
                if st.epoch % t.eval_every == 0 or st.epoch == o.epochs:
                    rec = _eval_record(model, data, st, time.perf_counter() - t0)
                    emit(rec, fh)
                    _early_stopping(cfg, st, rec, model, out)
                    bar.update(task, epoch=st.epoch, acc=f"{rec['test_accuracy']:.3f}")
            st.elapsed = time.perf_counter() - t0
            if t.checkpoint_every and st.step % t.checkpoint_every == 0:
                _save_checkpoint(ckpt_path, cfg, model, opt, gen, st)
            bar.update(task, completed=min(st.step, total), loss=f"{loss_v:.4f}")
    return st


def _early_stopping(cfg: TrainConfig, st: _State, rec: dict[str, Any], model: nn.Module, out: Path) -> None:
    t = cfg.train
    split = "val" if "val_loss" in rec else "test"
    what = t.monitor.split("_", 1)[1]  # loss or accuracy
    value = float(rec[f"{split}_{what}"])
    better = (st.best is None or (value < st.best - t.min_delta if what == "loss" else value > st.best + t.min_delta))
    if better:
        st.best, st.best_epoch = value, st.epoch
        meta = {"format": MODEL_FORMAT, "config": json.dumps(cfg.to_dict()), "n_features": str(_n_in(model)),
                "n_classes": str(_n_out(model)), "final": json.dumps(rec)}
        write_safetensors(out / "best.safetensors", dict(model.state_dict()), meta)
    elif t.early_stopping_patience and st.epoch - st.best_epoch >= t.early_stopping_patience:
        st.stopped_early = True


def _n_in(model: nn.Module) -> int:
    pre = getattr(model, "pre", None)
    if isinstance(pre, nn.Sequential) and "compress" in pre._modules:
        comp = pre._modules["compress"]
        if isinstance(comp, PCA):
            return int(comp.components_.shape[1])
        return int(getattr(comp, "in_features", 0))
    return int(getattr(model, "quantum").n_features)  # noqa: B009


def _n_out(model: nn.Module) -> int:
    params = list(getattr(model, "post").parameters())  # noqa: B009
    return int(params[-1].shape[0])


# ----------------------------------------------------------------------------------------------
# figures and report
# ----------------------------------------------------------------------------------------------
def _describe(cfg: TrainConfig, model: HybridModel, n_features: int) -> str:
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
    """Loss against step and accuracy against epoch, from ``metrics.jsonl`` records: two matplotlib figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in records if r["kind"] == "step"]
    evals = [r for r in records if r["kind"] == "eval"]
    fig_l, ax = plt.subplots(figsize=(6.5, 4))
    if steps:
        ax.plot([r["step"] for r in steps], [r["loss"] for r in steps], lw=0.8, alpha=0.45, label="batch loss")
    for split, marker in (("train", "o"), ("val", "^"), ("test", "s")):
        pts = [(r["step"], r[f"{split}_loss"]) for r in evals if f"{split}_loss" in r]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker=marker, ms=3.5, label=f"{split} loss (epoch end)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(f"{title}: loss" if title else "loss")
    fig_a, ax = plt.subplots(figsize=(6.5, 4))
    for split, marker in (("train", "o"), ("val", "^"), ("test", "s")):
        pts = [(r["epoch"], r[f"{split}_accuracy"]) for r in evals if f"{split}_accuracy" in r]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker=marker, ms=3.5, label=f"{split} accuracy")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(f"{title}: accuracy" if title else "accuracy")
    return fig_l, fig_a


def _write_report(cfg: TrainConfig, out: Path, records: list[dict[str, Any]], final: dict[str, Any], st: _State,
                  counts: dict[str, int], data: DataSplit, model: HybridModel, finished: bool) -> Path:
    from qtandem.report import Report

    rep = Report(f"qtandem train: {cfg.data.name}", out)
    sec = rep.section("Summary")
    status = ("stopped early (no improvement for "
              f"{cfg.train.early_stopping_patience} epochs; best epoch {st.best_epoch})" if st.stopped_early
              else "finished" if finished else f"paused at step {st.step} (max_steps); continue with --resume")
    sec.text(f"Model: {_describe(cfg, model, data.n_features)}.")
    sec.text(f"Data: {data.info}; {len(data.y_train)} training, "
             f"{0 if data.y_val is None else len(data.y_val)} validation and {len(data.y_test)} test samples, "
             f"{data.n_classes} classes. Seed {cfg.seed}.")
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
    curves.figure(fig_a, "accuracy", "Accuracy at each evaluation.")
    rep.section("Model").code(repr(model))
    rep.section("Configuration").code(config_to_toml(cfg))
    files = rep.section("Files")
    files.html("<ul>" + "".join(f'<li><a href="{n}">{n}</a></li>' for n in
                                ("metrics.jsonl", "config.toml", "model.safetensors", "checkpoint.safetensors",
                                 "best.safetensors", "loss.png", "accuracy.png") if (out / n).exists()
                                or n.endswith(".png")) + "</ul>")
    return rep.write()
