"""A conformance check every decoder passes (in the spirit of scikit-learn's ``check_estimator``).

:func:`check_decoder` samples shots from the decoder's circuit (or DEM) and verifies the
contract of :mod:`qtandem.qec.decoder`: output shapes and dtypes, soft outputs in ``[0, 1]``
and consistent with the hard decisions, one-shot (1-D) input, bit-packed decoding equal to
bool decoding, bad input rejected with :class:`~qtandem.errors.DecoderError`, pickling (sinter
sends decoders to worker processes) and ``compile_decoder_for_dem`` for its own DEM.

Examples:
    >>> from qtandem.qec.codes import surface_code
    >>> from qtandem.qec.matching import MatchingDecoder
    >>> from qtandem.qec.conformance import check_decoder
    >>> check_decoder(MatchingDecoder(surface_code(3, 3, p=0.01)), shots=100)
"""

from __future__ import annotations

import pickle

import numpy as np
import stim

from qtandem.errors import DecoderError
from qtandem.qec.decoder import Decoder, pack_bits

__all__ = ["ConformanceError", "check_decoder"]


class ConformanceError(AssertionError):
    """A decoder broke the decoder contract; the message says which rule and what was seen.

    Examples:
        >>> import numpy as np, stim
        >>> from qtandem.qec.decoder import Decoder
        >>> class WrongShape(Decoder):
        ...     def decode(self, dets):
        ...         return np.zeros((len(dets), 5), dtype=bool)      # 5 columns, the DEM has 1 observable
        >>> check_decoder(WrongShape(stim.DetectorErrorModel("error(0.1) D0 L0")), shots=20)
        Traceback (most recent call last):
        ...
        qtandem.qec.conformance.ConformanceError: ...
    """


def _fail(decoder: Decoder, rule: str, seen: str) -> ConformanceError:
    return ConformanceError(f"{type(decoder).__name__} breaks the decoder contract: {rule}; got {seen}")


def _shots(decoder: Decoder, shots: int, seed: int) -> np.ndarray:
    if decoder.circuit is not None:
        sampler = decoder.circuit.compile_detector_sampler(seed=seed)
        dets: np.ndarray = sampler.sample(shots)
        return dets
    dets, _, _ = decoder.dem.compile_sampler(seed=seed).sample(shots)
    return np.asarray(dets)


def check_decoder(decoder: Decoder, *, shots: int = 200, seed: int = 0, pickle_check: bool = True) -> None:
    """Check that ``decoder`` follows the decoder contract; raise on the first violation.

    Args:
        decoder: the decoder to check.
        shots: shots sampled from its circuit (or DEM).
        seed: sampler seed.
        pickle_check: also check that a pickled copy decodes identically.

    Raises:
        ConformanceError: a rule is broken (the message names it).

    Examples:
        >>> from qtandem.qec.codes import repetition_code
        >>> from qtandem.qec.matching import MatchingDecoder
        >>> check_decoder(MatchingDecoder(repetition_code(3, 2, p=0.01)), shots=50)     # passes: returns None
    """
    if not isinstance(decoder, Decoder):
        raise ConformanceError(f"expected a qtandem.qec.Decoder, got {type(decoder).__name__}")
    n, k = decoder.num_detectors, decoder.num_observables
    if (n, k) != (decoder.dem.num_detectors, decoder.dem.num_observables):
        raise _fail(decoder, "num_detectors/num_observables must match the DEM", f"{(n, k)}")
    dets = _shots(decoder, shots, seed)
    hard = decoder.decode(dets)
    if not (isinstance(hard, np.ndarray) and hard.dtype == np.bool_ and hard.shape == (shots, k)):
        raise _fail(decoder, f"decode must return bool (shots, {k})",
                    f"{type(hard).__name__} {getattr(hard, 'dtype', '?')} {getattr(hard, 'shape', '?')}")
    soft = decoder.decode_soft(dets)
    if not (isinstance(soft, np.ndarray) and soft.dtype == np.float64 and soft.shape == (shots, k)):
        raise _fail(decoder, f"decode_soft must return float64 (shots, {k})",
                    f"{type(soft).__name__} {getattr(soft, 'dtype', '?')} {getattr(soft, 'shape', '?')}")
    if np.isnan(soft).any() or soft.min(initial=0.0) < 0 or soft.max(initial=0.0) > 1:
        raise _fail(decoder, "decode_soft must be probabilities in [0, 1]", f"range [{soft.min()}, {soft.max()}]")
    decided = np.abs(soft - 0.5) > 1e-9
    bad = int(((soft > 0.5) != hard)[decided].sum())
    if bad:
        raise _fail(decoder, "decode_soft > 0.5 must agree with decode (except exact ties)",
                    f"{bad} disagreement(s) in {shots} shots")
    if not getattr(decoder, "has_soft", True) and not np.isin(soft, (0.0, 1.0)).all():
        raise _fail(decoder, "has_soft = False decoders return the hard decision as 0/1", "other values")
    one = decoder.decode(dets[0].astype(np.uint8))
    if one.shape != (1, k) or not np.array_equal(one[0], hard[0]):
        raise _fail(decoder, "a 1-D shot decodes like the first row of a batch", f"{one!r} vs {hard[0]!r}")
    packed = decoder.decode_bit_packed(pack_bits(dets))
    if not np.array_equal(packed, pack_bits(hard)):
        raise _fail(decoder, "decode_bit_packed must equal pack_bits(decode(...))", "different predictions")
    for bad_input in (np.zeros((2, n + 1), dtype=bool), np.full((2, n), 3, dtype=np.int64)):
        try:
            decoder.decode(bad_input)
        except DecoderError:
            continue
        except Exception as err:  # pragma: no cover - reported as a violation
            raise _fail(decoder, "bad input must raise DecoderError", type(err).__name__) from err
        raise _fail(decoder, "bad input must raise DecoderError", f"no error for shape {bad_input.shape}")
    compiled = decoder.compile_decoder_for_dem(dem=decoder.dem)
    out = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=pack_bits(dets))
    if not np.array_equal(out, pack_bits(hard)):
        raise _fail(decoder, "compile_decoder_for_dem(own DEM) must decode like decode", "different predictions")
    if pickle_check:
        clone = pickle.loads(pickle.dumps(decoder))
        if not np.array_equal(clone.decode(dets), hard):
            raise _fail(decoder, "a pickled copy must decode identically", "different predictions")
    if decoder.circuit is not None and not isinstance(decoder.circuit, stim.Circuit):
        raise _fail(decoder, ".circuit must be a stim.Circuit or None", type(decoder.circuit).__name__)
