"""The data of a ``qtandem train`` run: training, validation (carved out of training) and test tensors.

The test split is held apart: the training loop reads the training and validation tensors only,
and :func:`~qtandem.hybrid.train.train` reads the test tensors once, for the final evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qtandem.errors import ConfigError, QtandemError
from qtandem.hybrid.datasets import load_dataset
from qtandem.hybrid.train.config import TrainConfig
from qtandem.random import derive_seed

__all__ = ["DataSplit", "load_data", "stream_seed"]

Tensor = torch.Tensor


def stream_seed(seed: int, stream: int) -> int:
    """The seed of one random stream of a run (0: initial weights, 1: shuffling, 2: global torch stream,
    3: validation split, 4: auto-encoder pre-training).

    Examples:
        >>> stream_seed(0, 1) == stream_seed(0, 1), stream_seed(0, 1) == stream_seed(0, 2)
        (True, False)
    """
    return derive_seed(seed, 7919, stream, bits=62)


@dataclass
class DataSplit:
    """The configured dataset, split into training, optional validation, and test tensors.

    Examples:
        >>> from qtandem.hybrid.train import parse_config
        >>> split = load_data(parse_config('[data]\\nname = "iris"\\nn_samples = 40'))
        >>> split.x_train.shape, split.x_val is None, split.x_test.shape, split.n_classes
        (torch.Size([30, 4]), True, torch.Size([10, 4]), 3)
    """

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
    """Load and split ``cfg.data`` as :func:`~qtandem.hybrid.train.train` does (same seed, same validation hold-out).

    The validation split (``data.validation``, or its default when the run monitors it) is a
    stratified, seeded part of the training split; the test split is the dataset's own.

    Raises:
        ConfigError: bad dataset options, or a validation split that cannot be stratified.

    Examples:
        >>> from qtandem.hybrid.train import parse_config
        >>> data = load_data(parse_config('[data]\\nname = "iris"\\n[train]\\nearly_stopping_patience = 3'))
        >>> len(data.y_train), len(data.y_val), len(data.y_test)
        (89, 23, 38)
    """
    d = cfg.data
    try:
        ds = load_dataset(d.name, seed=cfg.seed, test_size=d.test_size, n_samples=d.n_samples)
    except QtandemError as exc:
        raise ConfigError(f"{cfg.source}: data: {exc}") from None
    xtr, ytr = ds.x_train, ds.y_train
    xv = yv = None
    fraction = cfg.validation_fraction()
    if fraction > 0:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(ytr))
        try:
            tr, va = train_test_split(idx, test_size=fraction, random_state=stream_seed(cfg.seed, 3) % 2**32,
                                      stratify=ytr.numpy())
        except ValueError as exc:
            raise ConfigError(f"{cfg.source}: data.validation: cannot hold out {fraction} of "
                              f"{len(ytr)} training samples ({exc})") from None
        tr_t, va_t = torch.as_tensor(np.sort(tr)), torch.as_tensor(np.sort(va))
        xtr, ytr, xv, yv = xtr[tr_t], ytr[tr_t], xtr[va_t], ds.y_train[va_t]
    return DataSplit(xtr, ytr, xv, yv, ds.x_test, ds.y_test, ds.n_features, ds.n_classes, ds.info)
