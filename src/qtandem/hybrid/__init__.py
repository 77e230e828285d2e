"""Hybrid models: classical pre-processing -> quantum layer -> classical read-out, in PyTorch.

* :class:`QuantumLayer` (:mod:`qtandem.hybrid.layer`): a circuit as an ``nn.Module`` whose forward
  pass is one call to the simulator's functional entry point, :func:`qtandem.sim.run_batched`.
* :mod:`qtandem.hybrid.encoders` and :mod:`qtandem.hybrid.ansatze`: the building blocks.
* :mod:`qtandem.hybrid.classical`: PCA, auto-encoders, heads and :class:`HybridModel`.
* :mod:`qtandem.hybrid.datasets`: bundled datasets (no downloads).
* :mod:`qtandem.hybrid.train`: the ``qtandem train`` pipeline.
"""

from __future__ import annotations

from qtandem.hybrid.ansatze import hardware_efficient, qcnn, strongly_entangling, tree_tensor_network
from qtandem.hybrid.classical import PCA, AutoEncoder, DenoisingAutoEncoder, HybridModel, LinearHead, MLPHead
from qtandem.hybrid.encoders import AmplitudeEncoder, AngleEncoder, Encoder, IQPEncoder
from qtandem.hybrid.layer import QuantumLayer

__all__ = [
    "PCA",
    "AmplitudeEncoder",
    "AngleEncoder",
    "AutoEncoder",
    "DenoisingAutoEncoder",
    "Encoder",
    "HybridModel",
    "IQPEncoder",
    "LinearHead",
    "MLPHead",
    "QuantumLayer",
    "hardware_efficient",
    "qcnn",
    "strongly_entangling",
    "tree_tensor_network",
]

