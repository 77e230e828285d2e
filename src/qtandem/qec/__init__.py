"""Quantum error correction: Stim codes and data, one decoder interface, baselines, metrics.

Modules: :mod:`~qtandem.qec.decoder` (the interface every decoder follows; read its docstring),
:mod:`~qtandem.qec.matching` (PyMatching, plain/correlated, complementary-gap soft output),
:mod:`~qtandem.qec.bposd` (BP-OSD from ``ldpc``), :mod:`~qtandem.qec.codes` (circuits and noise),
:mod:`~qtandem.qec.data` (sampling, datasets), :mod:`~qtandem.qec.metrics` (LER, flagging curves).
Pretrained neural decoders: ``qtandem.qec.pretrained(name)`` / ``list_pretrained()``.

Examples:
    >>> from qtandem.qec import MatchingDecoder, surface_code, sample, logical_error_rate
    >>> c = surface_code(3, 3, p=0.005)
    >>> dets, obs = sample(c, 1000, seed=1)
    >>> bool(logical_error_rate(MatchingDecoder(c).decode(dets), obs).rate < 0.05)
    True
"""

from __future__ import annotations

from qtandem.qec.codes import memory_circuit, repetition_code, si1000, surface_code
from qtandem.qec.conformance import check_decoder
from qtandem.qec.data import open_dataset, sample, write_dataset
from qtandem.qec.decoder import Decoder, SinterDecoder, dem_of, pack_bits, unpack_bits
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.metrics import logical_error_rate, postselection_curve, wilson_interval
from qtandem.qec.registry import make_decoder
from qtandem.qec.soft import SoftReadout, SoftShots, detector_soft
from qtandem.qec.soft_matching import SoftMatchingDecoder
from qtandem.qec.zoo import list_pretrained, pretrained

__all__ = [
    "Decoder",
    "MatchingDecoder",
    "SinterDecoder",
    "SoftMatchingDecoder",
    "SoftReadout",
    "SoftShots",
    "check_decoder",
    "dem_of",
    "detector_soft",
    "list_pretrained",
    "logical_error_rate",
    "make_decoder",
    "memory_circuit",
    "open_dataset",
    "pack_bits",
    "postselection_curve",
    "pretrained",
    "repetition_code",
    "sample",
    "si1000",
    "surface_code",
    "unpack_bits",
    "wilson_interval",
    "write_dataset",
]
