"""Building the configured :class:`~qtandem.hybrid.HybridModel`, and model files (safetensors: loading runs no code)."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from qtandem.errors import CheckpointError, ConfigError, QtandemError
from qtandem.hybrid.classical import PCA, AutoEncoder, DenoisingAutoEncoder, HybridModel, LinearHead, MLPHead
from qtandem.hybrid.layer import QuantumLayer
from qtandem.hybrid.train.config import TrainConfig, config_from_dict
from qtandem.hybrid.train.data import stream_seed
from qtandem.io import read_safetensors, write_safetensors
from qtandem.random import seed_torch

__all__ = ["MODEL_FORMAT", "Squash", "build_model", "load_model", "save_model"]

Tensor = torch.Tensor
MODEL_FORMAT = "qtandem.hybrid.model/1"


class Squash(nn.Module):
    """``scale * tanh(x)``: bounded inputs for angle-type encoders.

    Examples:
        >>> Squash(2.0)(torch.tensor([100.0, 0.0, -100.0])).tolist()
        [2.0, 0.0, -2.0]
    """

    def __init__(self, scale: float = math.pi / 2) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * torch.tanh(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale:.4g}"


def _n_qubits(cfg: TrainConfig, width: int) -> int:
    m = cfg.model
    if m.n_qubits is not None:
        return m.n_qubits
    if m.encoder == "amplitude":
        return max(1, math.ceil(math.log2(width)))
    return width


def build(cfg: TrainConfig, n_features: int, n_classes: int, x_fit: Tensor | None, data_name: str = "") -> HybridModel:
    """The model; ``x_fit`` (training inputs) fits PCA and pre-trains auto-encoders (``None``: leave unfitted).

    Classical weights come from torch's global generator (seed it first).
    """
    m = cfg.model
    src = cfg.source

    def err(key: str, message: str) -> ConfigError:
        return ConfigError(f"{src}: {key}: {message}")

    width = n_features if m.pre == "none" else m.features
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
                compress.pretrain(x_fit, epochs=m.pretrain_epochs, seed=stream_seed(cfg.seed, 4))
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
        >>> from qtandem.hybrid.train import parse_config
        >>> cfg = parse_config('[model]\\nfeatures = 4\\nlayers = 1')
        >>> model = build_model(cfg, load_dataset("iris"))
        >>> model.parameter_counts()
        {'pre': 0, 'quantum': 8, 'post': 15}
    """
    with torch.random.fork_rng(devices=[]):
        seed_torch(stream_seed(cfg.seed, 0))
        return build(cfg, int(dataset.n_features), int(dataset.n_classes), dataset.x_train,
                     str(getattr(dataset, "name", "")))


def n_in(model: nn.Module) -> int:
    """Input width of a built model."""
    pre = getattr(model, "pre", None)
    if isinstance(pre, nn.Sequential) and "compress" in pre._modules:
        comp = pre._modules["compress"]
        if isinstance(comp, PCA):
            return int(comp.components_.shape[1])
        return int(getattr(comp, "in_features", 0))
    return int(getattr(model, "quantum").n_features)  # noqa: B009


def n_out(model: nn.Module) -> int:
    """Number of classes of a built model."""
    params = list(getattr(model, "post").parameters())  # noqa: B009
    return int(params[-1].shape[0])


def save_model(path: str | Path, cfg: TrainConfig, model: nn.Module, record: dict[str, Any]) -> None:
    """Write ``model`` with its configuration and ``record`` (metrics) as safetensors (:func:`load_model` reads it).

    Examples:
        >>> import tempfile, pathlib
        >>> from qtandem.hybrid.train import load_data, parse_config
        >>> cfg = parse_config('[data]\\nname = "iris"\\nn_samples = 40\\n[model]\\nfeatures = 4\\nlayers = 1')
        >>> model = build_model(cfg, load_data(cfg))
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
        >>> save_model(path, cfg, model, {"test_accuracy": 0.9})
        >>> x = torch.zeros(2, 4)
        >>> torch.allclose(load_model(path)(x), model(x))
        True
    """
    meta = {"format": MODEL_FORMAT, "config": json.dumps(cfg.to_dict()), "n_features": str(n_in(model)),
            "n_classes": str(n_out(model)), "final": json.dumps(record)}
    write_safetensors(path, dict(model.state_dict()), meta)


def load_model(path: str | Path) -> HybridModel:
    """Rebuild a trained model from ``model.safetensors`` or ``best.safetensors`` (or a run folder).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a qtandem model file.

    Examples:
        >>> import dataclasses, tempfile
        >>> from qtandem.hybrid.train import parse_config, train
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
    cfg = config_from_dict(json.loads(meta["config"]), str(p))
    model = build(cfg, int(meta["n_features"]), int(meta["n_classes"]), None)
    model.load_state_dict(tensors)
    return model
