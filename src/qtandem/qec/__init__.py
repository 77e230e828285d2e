"""Quantum error correction: Stim codes and data, one decoder interface, baselines, metrics.

Modules: :mod:`~qtandem.qec.decoder` (the interface every decoder follows; read its docstring),
:mod:`~qtandem.qec.matching` (PyMatching, plain/correlated, complementary-gap soft output),
:mod:`~qtandem.qec.bposd` (BP-OSD from ``ldpc``), :mod:`~qtandem.qec.codes` (circuits and noise),
:mod:`~qtandem.qec.data` (sampling, datasets), :mod:`~qtandem.qec.metrics` (LER, flagging curves).
Pretrained neural decoders: ``qtandem.qec.pretrained(name)`` / ``list_pretrained()``.

Examples:
    >>> import stim
    >>> from qtandem.qec import MatchingDecoder
    >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
    ...                            after_clifford_depolarization=0.001)
    >>> MatchingDecoder(c).num_detectors
    24
"""

from __future__ import annotations

from qtandem.qec.decoder import Decoder, SinterDecoder, dem_of, pack_bits, unpack_bits
from qtandem.qec.matching import MatchingDecoder

__all__ = ["Decoder", "MatchingDecoder", "SinterDecoder", "dem_of", "pack_bits", "unpack_bits"]
