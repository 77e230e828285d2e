"""The one decoder interface of :mod:`qtandem.qec`.

Usage contract (every decoder in qtandem, baseline or neural, follows it):

* A decoder is built for one ``stim.DetectorErrorModel`` (``decoder.dem``); neural decoders
  also keep the exact ``stim.Circuit`` they were trained for in ``decoder.circuit``
  (``None`` for decoders built from a DEM alone).
* ``decoder.decode(dets) -> flips``: ``dets`` is a bool array of shape
  ``(shots, num_detectors)`` (any 0/1 integer array is accepted, a 1-D array is one shot);
  ``flips`` is a bool array ``(shots, num_observables)``: the predicted observable flips,
  compared with the sampled observable flips to count logical errors.
* ``decoder.decode_soft(dets) -> probs``: float64 array ``(shots, num_observables)`` in
  ``[0, 1]``, the probability that each observable flipped. ``probs > 0.5`` agrees with
  ``decode`` (up to exact ties at 0.5). ``|probs - 0.5|`` is the confidence used to flag
  doubtful shots (:func:`qtandem.qec.metrics.postselection_curve`). A decoder without real
  soft information sets the class attribute ``has_soft = False`` (BP-OSD) and returns 0/1.
* ``decoder.decode_bit_packed(packed)``: the same on Stim's bit-packed layout
  (``uint8``, little-endian bits, shape ``(shots, ceil(num_detectors / 8))``), returning
  bit-packed predictions ``(shots, ceil(num_observables / 8))``; see :func:`pack_bits` and
  :func:`unpack_bits`.
* Inputs are checked by :meth:`Decoder.check_dets`: a wrong shape or dtype raises
  :class:`~qtandem.errors.DecoderError` naming the expected and received shapes.

Writing a decoder: subclass :class:`Decoder`, call ``super().__init__(dem, circuit=...)``
and implement ``_decode_soft(dets)`` (and ``_decode(dets)`` when the hard decision is not
``soft > 0.5``, e.g. for matching). Both receive an already validated bool array. Implement
:meth:`Decoder.with_dem` if the decoder can rebuild itself for another DEM (baselines do;
a trained neural decoder accepts only a DEM equal to its own). Check a new decoder with
``qtandem.qec.conformance.check_decoder(decoder)``, which tests every rule above.

Sinter: every :class:`Decoder` is a ``sinter.Decoder``. It must pickle (sinter sends it to
worker processes), so keep heavy state (a ``pymatching.Matching``, a torch module) either
picklable or rebuilt lazily in ``__setstate__``. ``compile_decoder_for_dem(dem=...)``
returns a ``sinter.CompiledDecoder`` for ``self.with_dem(dem)``. To give sinter a decoder
*family* (built per task), wrap a picklable factory ``dem -> Decoder`` in
:class:`SinterDecoder`::

    sinter.collect(tasks=..., decoders=["mwpm"], num_workers=1,
                   custom_decoders={"mwpm": SinterDecoder(MatchingDecoder)})

Examples:
    >>> import numpy as np, stim
    >>> from qtandem.qec.decoder import Decoder
    >>> class Majority(Decoder):
    ...     '''Toy decoder: observable flipped iff more than half the detectors fired.'''
    ...     def _decode_soft(self, dets):
    ...         frac = dets.mean(axis=1, keepdims=True)
    ...         return np.repeat(frac, self.num_observables, axis=1)
    >>> dem = stim.DetectorErrorModel("error(0.1) D0 D1 L0\\nerror(0.1) D1")
    >>> dec = Majority(dem)
    >>> dec.decode(np.array([[1, 1], [0, 1]]))
    array([[ True],
           [False]])
    >>> dec.decode_soft(np.array([[1, 0]])).tolist()
    [[0.5]]
    >>> from qtandem.qec.decoder import pack_bits
    >>> dec.decode_bit_packed(pack_bits(np.array([[1, 1]], dtype=bool))).tolist()
    [[1]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sinter
import stim

from qtandem.errors import DecoderError

__all__ = ["Decoder", "SinterDecoder", "dem_of", "pack_bits", "unpack_bits"]


def dem_of(source: stim.DetectorErrorModel | stim.Circuit) -> stim.DetectorErrorModel:
    """The detector error model of ``source`` (a DEM is returned as is).

    A circuit's DEM is built with ``decompose_errors=True`` (what matching needs); if Stim
    cannot decompose an error (e.g. colour codes) it falls back to the undecomposed DEM.
    ``approximate_disjoint_errors=True`` lets ``PAULI_CHANNEL_*`` noise through (as sinter does).

    Args:
        source: a ``stim.DetectorErrorModel`` or a noisy ``stim.Circuit`` with detectors.

    Returns:
        The ``stim.DetectorErrorModel``.

    Raises:
        DecoderError: ``source`` is neither.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=2,
        ...                            before_round_data_depolarization=0.01)
        >>> dem_of(c).num_detectors, dem_of(c).num_observables
        (6, 1)
    """
    if isinstance(source, stim.DetectorErrorModel):
        return source
    if isinstance(source, stim.Circuit):
        try:
            return source.detector_error_model(decompose_errors=True, approximate_disjoint_errors=True)
        except ValueError:
            try:
                return source.detector_error_model(decompose_errors=False, approximate_disjoint_errors=True)
            except ValueError as err:
                raise DecoderError(f"Stim cannot build a detector error model for this circuit: {err}") from err
    raise DecoderError(f"expected a stim.DetectorErrorModel or stim.Circuit, got {type(source).__name__}")


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a bool array ``(shots, n)`` into Stim's layout ``(shots, ceil(n / 8))`` uint8, little-endian.

    Examples:
        >>> import numpy as np
        >>> pack_bits(np.array([[1, 0, 0, 0, 0, 0, 0, 0, 1]], dtype=bool)).tolist()
        [[1, 1]]
    """
    return np.packbits(np.asarray(bits, dtype=bool), axis=1, bitorder="little")


def unpack_bits(packed: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(shots, ceil(n / 8))`` uint8 -> bool ``(shots, n)``.

    Raises:
        DecoderError: ``packed`` is not 2-D uint8 with ``ceil(n / 8)`` columns.

    Examples:
        >>> import numpy as np
        >>> unpack_bits(np.array([[5]], dtype=np.uint8), 3).tolist()
        [[True, False, True]]
    """
    packed = np.asarray(packed)
    width = (n + 7) // 8
    if packed.ndim != 2 or packed.dtype != np.uint8 or packed.shape[1] != width:
        raise DecoderError(f"bit-packed data must be uint8 of shape (shots, {width}) for {n} bits, "
                           f"got {packed.dtype} of shape {packed.shape}")
    return np.unpackbits(packed, axis=1, count=n, bitorder="little").astype(bool)


class Decoder(sinter.Decoder):
    """Base class: a decoder for one detector error model (see the module docstring).

    Args:
        dem: the detector error model, or a ``stim.Circuit`` (its DEM is taken with
            :func:`dem_of`, and the circuit is kept in ``.circuit``).
        circuit: the exact circuit the decoder is for, when ``dem`` is given as a DEM.

    Attributes:
        dem: the ``stim.DetectorErrorModel``.
        circuit: the ``stim.Circuit`` or ``None``.
        num_detectors: columns of ``dets``.
        num_observables: columns of the predictions.
        has_soft: whether ``decode_soft`` is informative (class attribute; BP-OSD sets False).

    Raises:
        DecoderError: ``dem`` is not a DEM or circuit.

    Examples:
        >>> import numpy as np, stim
        >>> class FirstDetector(Decoder):
        ...     def decode(self, dets):
        ...         return np.asarray(dets, dtype=bool)[:, :1]          # predict L0 flipped when D0 fired
        >>> dec = FirstDetector(stim.DetectorErrorModel("error(0.1) D0 L0"))
        >>> dec.num_detectors, dec.num_observables, dec.decode(np.array([[1], [0]])).tolist()
        (1, 1, [[True], [False]])
    """

    name: str = "decoder"
    #: whether ``decode_soft`` carries confidence information (False: it returns the hard decision as 0/1)
    has_soft: bool = True

    def __init__(self, dem: stim.DetectorErrorModel | stim.Circuit, *, circuit: stim.Circuit | None = None) -> None:
        if isinstance(dem, stim.Circuit):
            circuit = dem if circuit is None else circuit
        self.dem: stim.DetectorErrorModel = dem_of(dem)
        self.circuit: stim.Circuit | None = circuit
        self.num_detectors: int = self.dem.num_detectors
        self.num_observables: int = self.dem.num_observables

    # -- subclass hooks --------------------------------------------------------
    def _decode_soft(self, dets: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement _decode_soft")

    def _decode(self, dets: np.ndarray) -> np.ndarray:
        return self._decode_soft(dets) > 0.5

    def with_dem(self, dem: stim.DetectorErrorModel) -> Decoder:
        """This decoder for ``dem``: ``self`` if ``dem`` equals ``self.dem``.

        Subclasses that can rebuild for another DEM override this.

        Raises:
            DecoderError: ``dem`` differs and the decoder cannot be rebuilt.
        """
        if dem == self.dem:
            return self
        raise DecoderError(f"{type(self).__name__} was built for a different detector error model "
                           f"({self.num_detectors} detectors, {self.num_observables} observables; got "
                           f"{dem.num_detectors} and {dem.num_observables}); build one per circuit or "
                           f"use SinterDecoder(factory)")

    # -- public API ------------------------------------------------------------
    def prepare(self) -> Decoder:
        """Do the one-off set-up now (matching graphs, networks), so that ``decode`` times only decoding.

        Optional: decoders set up lazily on first use anyway. Timed evaluations
        (:func:`qtandem.qec.evaluate.evaluate`, ``bench/``) call it before starting the clock.

        Returns:
            ``self``.
        """
        return self

    def check_dets(self, dets: Any) -> np.ndarray:
        """Validate detection events and return them as a C-contiguous bool array ``(shots, num_detectors)``.

        Raises:
            DecoderError: wrong number of columns, wrong rank, or values other than 0/1.
        """
        arr = np.asarray(dets)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.num_detectors:
            raise DecoderError(f"{type(self).__name__}: detection events must have shape (shots, "
                               f"{self.num_detectors}), got {np.asarray(dets).shape}")
        if arr.dtype != np.bool_:
            if arr.dtype.kind not in "biu" or (arr.size and (arr.min() < 0 or arr.max() > 1)):
                raise DecoderError(f"{type(self).__name__}: detection events must be 0/1 or bool, got dtype "
                                   f"{arr.dtype}" + (f" with values in [{arr.min()}, {arr.max()}]"
                                                     if arr.size and arr.dtype.kind in "iuf" else ""))
            arr = arr.astype(bool)
        return np.ascontiguousarray(arr)

    def decode(self, dets: Any) -> np.ndarray:
        """Predicted observable flips.

        Args:
            dets: detection events, bool/0-1 array ``(shots, num_detectors)`` (or one shot, 1-D).

        Returns:
            bool array ``(shots, num_observables)``.

        Raises:
            DecoderError: ``dets`` has the wrong shape or values.
        """
        dets = self.check_dets(dets)
        return np.asarray(self._decode(dets), dtype=bool).reshape(dets.shape[0], self.num_observables)

    def decode_soft(self, dets: Any) -> np.ndarray:
        """Probability that each observable flipped.

        Args:
            dets: detection events, bool/0-1 array ``(shots, num_detectors)`` (or one shot, 1-D).

        Returns:
            float64 array ``(shots, num_observables)`` with values in ``[0, 1]``.

        Raises:
            DecoderError: ``dets`` has the wrong shape or values.
        """
        dets = self.check_dets(dets)
        out = np.asarray(self._decode_soft(dets), dtype=np.float64).reshape(dets.shape[0], self.num_observables)
        return np.clip(out, 0.0, 1.0)

    def decode_bit_packed(self, packed: np.ndarray) -> np.ndarray:
        """:meth:`decode` on Stim's bit-packed layout (see :func:`pack_bits`).

        Args:
            packed: uint8 ``(shots, ceil(num_detectors / 8))``.

        Returns:
            uint8 ``(shots, ceil(num_observables / 8))``.
        """
        return pack_bits(self.decode(unpack_bits(packed, self.num_detectors)))

    # -- sinter ----------------------------------------------------------------
    def compile_decoder_for_dem(self, *, dem: stim.DetectorErrorModel) -> sinter.CompiledDecoder:
        """``sinter.Decoder`` hook: a compiled decoder for ``self.with_dem(dem)``."""
        return _Compiled(self.with_dem(dem))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_detectors={self.num_detectors}, "
                f"num_observables={self.num_observables})")


class _Compiled(sinter.CompiledDecoder):
    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder

    def decode_shots_bit_packed(self, *, bit_packed_detection_event_data: np.ndarray) -> np.ndarray:
        return self.decoder.decode_bit_packed(bit_packed_detection_event_data)


class SinterDecoder(sinter.Decoder):
    """A ``sinter.Decoder`` that builds a qtandem decoder per task from a factory.

    Args:
        factory: picklable callable ``dem -> Decoder`` (a decoder class, a module-level
            function or a ``functools.partial``), e.g. ``MatchingDecoder`` or
            ``functools.partial(MatchingDecoder, correlated=True)``.

    Examples:
        >>> import stim
        >>> from qtandem.qec.decoder import SinterDecoder
        >>> from qtandem.qec.matching import MatchingDecoder
        >>> dem = stim.DetectorErrorModel("error(0.1) D0 L0\\nerror(0.1) D0 D1\\nerror(0.1) D1")
        >>> compiled = SinterDecoder(MatchingDecoder).compile_decoder_for_dem(dem=dem)
        >>> compiled.decode_shots_bit_packed(bit_packed_detection_event_data=np.array([[1]], np.uint8)).tolist()
        [[1]]
    """

    def __init__(self, factory: Callable[[stim.DetectorErrorModel], Decoder]) -> None:
        self.factory = factory

    def compile_decoder_for_dem(self, *, dem: stim.DetectorErrorModel) -> sinter.CompiledDecoder:
        """Build ``factory(dem)`` and compile it."""
        decoder = self.factory(dem)
        if not isinstance(decoder, Decoder):
            raise DecoderError(f"SinterDecoder factory {self.factory!r} returned {type(decoder).__name__}, "
                               f"expected a qtandem.qec.Decoder")
        return _Compiled(decoder)

    def __repr__(self) -> str:
        return f"SinterDecoder({self.factory!r})"
