"""The ``qtandem train`` pipeline: a hybrid classifier from a TOML file to curves, checkpoints and a report.

A run reads a TOML configuration (:mod:`~qtandem.hybrid.train.config`), loads and splits a
bundled dataset (:mod:`~qtandem.hybrid.train.data`), builds a :class:`~qtandem.hybrid.HybridModel`
(classical compression -> :class:`~qtandem.hybrid.QuantumLayer` -> classical head;
:mod:`~qtandem.hybrid.train.model`), trains it with cross-entropy
(:mod:`~qtandem.hybrid.train.loop`) and writes, into the output folder
(:mod:`~qtandem.hybrid.train.report` draws the curves and the report):

* ``metrics.jsonl`` -- one JSON object per line: ``{"kind": "step", ...}`` after
  every ``log_every`` optimizer steps (``step``, ``epoch``, ``loss``,
  ``accuracy`` of the batch, ``lr``, ``wall`` seconds), ``{"kind": "eval", ...}``
  after every ``eval_every`` epochs (``train_loss``, ``train_accuracy``, and
  ``val_loss``, ``val_accuracy`` when a validation split is held out) and, once the
  run has finished, one ``{"kind": "final", ...}`` record: the selected weights
  (``weights``: last or best, ``weights_epoch``) evaluated on every split, the
  **test** split included (``test_loss``, ``test_accuracy``). The test split is read
  there and nowhere else: early stopping and model selection see the validation split only;
* ``checkpoint.safetensors`` -- every ``checkpoint_every`` steps and at the end,
  written atomically (temporary file + ``os.replace``): model and optimizer
  tensors, the data-shuffling generator, the global torch generator and the
  quantum layers' sampling generators as tensors; counters, the early-stopping
  state and the resolved configuration as JSON strings in the safetensors
  metadata. No pickle anywhere: loading a checkpoint cannot run code;
* ``best.safetensors`` (the model at the best validation value, when a validation split is held out),
  ``model.safetensors`` (the selected model; :func:`load_model` rebuilds it),
  ``config.toml`` (the resolved configuration, every default spelled out),
  ``loss.png``, ``accuracy.png`` and ``report.html``.

``train(cfg, resume=True)`` (``qtandem train CONFIG --resume``) continues from
the checkpoint *exactly*: the batches, the optimizer moments and every random
stream pick up where they stopped, so an interrupted and resumed run writes the
same loss curve, bit for bit, as an uninterrupted one (same machine, same
threads). A fresh run (no ``--resume``) into a folder that already holds a run
replaces it. Example configurations: ``examples/train/*.toml``.

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
``data.test_size``                 float  0.25                      held-out test fraction (read once, at the end)
``data.validation``                float  0.2 or 0                  fraction of the training split held out for
                                                                    validation; default 0.2 when early stopping or
                                                                    ``select = "best"`` is on, else 0
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
``train.early_stopping_patience``  int    0                         stop when the monitored validation value has not
                                                                    improved for this many epochs (0: never)
``train.monitor``                  str    ``"val_loss"``            val_loss or val_accuracy (test_loss and
                                                                    test_accuracy are refused: no selection on test)
``train.min_delta``                float  0.0                       smallest change that counts as an improvement
``train.select``                   str    ``"last"``                the weights that end the run and are tested: last
                                                                    (the last epoch's) or best (by ``monitor``)
``train.max_steps``                int    0                         stop (with a checkpoint) after this many steps in
                                                                    all; continue with resume (0: no limit)
``train.log_every``                int    1                         steps between step records in metrics.jsonl
=================================  =====  ========================  ====================================================

Examples:
    >>> cfg = parse_config('[data]\\nname = "iris"\\n[model]\\nlayers = 2\\n[train]\\nearly_stopping_patience = 5')
    >>> cfg.data.name, cfg.model.layers, cfg.data.validation, cfg.train.monitor
    ('iris', 2, 0.2, 'val_loss')
    >>> parse_config("[model]\\nlayerz = 2", source="run.toml")
    Traceback (most recent call last):
    ...
    qtandem.errors.ConfigError: run.toml: model.layerz: unknown key (did you mean 'layers'?)
"""

from __future__ import annotations

from qtandem.hybrid.train.config import (
    DEFAULT_VALIDATION,
    DataConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    TrainOptions,
    config_to_toml,
    load_config,
    parse_config,
)
from qtandem.hybrid.train.data import DataSplit, load_data
from qtandem.hybrid.train.loop import CHECKPOINT_FORMAT, TrainResult, train
from qtandem.hybrid.train.model import MODEL_FORMAT, Squash, build_model, load_model
from qtandem.hybrid.train.report import plot_curves
from qtandem.io import read_jsonl, read_safetensors

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_VALIDATION",
    "MODEL_FORMAT",
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

read_metrics = read_jsonl
"""The records of a ``metrics.jsonl`` file (a torn last line is skipped)."""
