"""Shipped neural decoders: :func:`pretrained` and :func:`list_pretrained`.

Each model is ``qtandem/qec/models/<name>.safetensors`` (weights plus metadata: model sizes,
the exact ``stim.Circuit`` it was trained for and the training cost) beside the TOML
configuration that trained it (``qtandem qec train <name>.toml`` reproduces it).

Examples:
    >>> "surface-d5-p0.005" in list_pretrained()
    True
    >>> dec = pretrained("surface-d5-p0.005")
    >>> dec.circuit.num_detectors, dec.info["kind"], dec.info["training"]["shots"] > 0
    (120, 'neural+matching', True)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtandem.errors import DecoderError

if TYPE_CHECKING:  # torch is imported only when a model is loaded
    from qtandem.qec.neural import NeuralDecoder

__all__ = ["MODELS_DIR", "list_pretrained", "pretrained"]

MODELS_DIR = Path(__file__).resolve().parent / "models"
"""Folder of the shipped ``.safetensors`` models and their ``.toml`` training configurations."""


def list_pretrained() -> list[str]:
    """Names of the shipped models (sorted).

    Examples:
        >>> "surface-d5-p0.005" in list_pretrained()
        True
    """
    return sorted(p.stem for p in MODELS_DIR.glob("*.safetensors"))


def pretrained(name: str, **kwargs: Any) -> NeuralDecoder:
    """Load a shipped neural decoder; its ``.circuit`` is the exact circuit it was trained for.

    Args:
        name: one of :func:`list_pretrained`.
        **kwargs: ``batch_size`` / ``threads`` for inference.

    Returns:
        The :class:`~qtandem.qec.neural.NeuralDecoder` (``.info`` holds kind, config and training cost).

    Raises:
        DecoderError: unknown name.

    Examples:
        >>> dec = pretrained("surface-d5-p0.005")
        >>> dec.num_observables, dec.info["kind"]
        (1, 'neural+matching')
        >>> pretrained("surface-d99")
        Traceback (most recent call last):
        ...
        qtandem.errors.DecoderError: ...
    """
    from qtandem.qec.neural import load_decoder

    path = MODELS_DIR / f"{name}.safetensors"
    if not path.is_file():
        raise DecoderError(f"no pretrained decoder named {name!r}; available: {', '.join(list_pretrained()) or 'none'}")
    return load_decoder(path, **kwargs)
