"""Minimum-weight perfect matching (PyMatching) behind the :mod:`qtandem.qec.decoder` interface.

``MatchingDecoder(dem)`` decodes with ``pymatching.Matching.from_detector_error_model``;
``correlated=True`` uses PyMatching 2.4's correlated matching
(``from_detector_error_model(dem, enable_correlations=True)`` and
``decode_batch(..., enable_correlations=True)``), which needs the DEM's hyperedges decomposed
(``decompose_errors=True``, what :func:`qtandem.qec.decoder.dem_of` does).

Soft output is the *complementary gap* (Gidney, Newman, Brooks, Jones, "Yoked surface codes",
arXiv:2312.04522; also Bombín et al. and Smith et al. on post-selection): the decoder is run
twice per observable, once with the observable forced to be unflipped and once forced flipped,
and the difference of the two minimum solution weights ``W0 - W1`` is a log-likelihood ratio in
PyMatching's units (edge weight ``log((1 - p) / p)``). ``decode_soft`` returns
``sigmoid(W0 - W1)``: near 0 or 1 when one explanation is far cheaper, near 0.5 when the
shot is doubtful. The observable is forced by turning it into an extra detector node ``D*``:
every DEM component that flips the observable and one detector ``D_i`` (a boundary edge)
becomes the edge ``D_i - D*``, so the parity of ``D*`` equals the parity of the observable
in any matching; decoding with ``D* = 0`` and ``D* = 1`` gives ``W0`` and ``W1``. This is exact
when every observable-flipping component is a boundary edge, which holds for Stim's generated
repetition and surface codes; otherwise :class:`~qtandem.errors.DecoderError` is raised. (The
gap samplers published with Gidney et al.'s post-selection work make the same replacement of
the observable by a detector, with the same boundary-edge requirement.)

PyMatching ignores DEM errors with more than two detectors that have no graphlike
decomposition (e.g. in colour codes); the constructor warns when the DEM has any.

Correlated matching is not always better. PyMatching 2.4's two-pass rule lowers, for every edge
the first pass used, the weight of each edge that shares a DEM error with it (to
``log((1 - q) / q)``, ``q = P(both) / P(edge)``), one edge at a time; two edges made cheap by two
*different* errors can then replace a single likelier error. On the rotated surface code at
d = 3, p = 0.001 this makes it 1.4x-1.5x worse than plain matching; sinter's own
``pymatching-correlated`` (no qtandem code) gives the same, so it is upstream behaviour, not a
usage error (``bench/qec_correlated.py``). At d = 5 it is better or even at p = 0.001 (0.74x to
1.06x between runs) and clearly better from p = 0.003.

Examples:
    >>> import stim
    >>> from qtandem.qec.matching import MatchingDecoder
    >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=1,
    ...                            before_round_data_depolarization=0.1)
    >>> dec = MatchingDecoder(c)
    >>> dets, obs = c.compile_detector_sampler(seed=1).sample(200, separate_observables=True)
    >>> bool((dec.decode(dets) == obs).mean() > 0.8)
    True
    >>> p = dec.decode_soft(dets)
    >>> bool(((p > 0.5) == dec.decode(dets))[abs(p - 0.5) > 1e-9].all())
    True
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pymatching
import stim

from qtandem.errors import DecoderError
from qtandem.qec.decoder import Decoder

__all__ = ["MatchingDecoder", "forced_observable_dem"]


def _components(inst: stim.DemInstruction) -> list[list[stim.DemTarget]]:
    comps: list[list[stim.DemTarget]] = [[]]
    for t in inst.targets_copy():
        if t.is_separator():
            comps.append([])
        else:
            comps[-1].append(t)
    return comps


def forced_observable_dem(dem: stim.DetectorErrorModel, observable: int) -> stim.DetectorErrorModel:
    """``dem`` with observable ``observable`` also made a detector ``D{num_detectors}``.

    Each error component that flips the observable gets the new detector added, so a
    matching's parity at the new node equals its observable parity.

    Args:
        dem: a detector error model with graphlike (decomposed) errors.
        observable: index of the observable to force.

    Returns:
        A DEM with ``dem.num_detectors + 1`` detectors.

    Raises:
        DecoderError: ``observable`` is out of range, or a component flips the observable
            and two detectors (not a boundary edge), so forcing would need a hyperedge.

    Examples:
        >>> import stim
        >>> print(forced_observable_dem(stim.DetectorErrorModel("error(0.125) D0 L0"), 0))
        error(0.125) D0 D1 L0
    """
    if not 0 <= observable < dem.num_observables:
        raise DecoderError(f"observable {observable} out of range for a DEM with {dem.num_observables} observables")
    extra = stim.target_relative_detector_id(dem.num_detectors)
    out = stim.DetectorErrorModel()
    for inst in dem.flattened():
        if inst.type != "error":
            out.append(inst)
            continue
        new: list[stim.DemTarget] = []
        for k, comp in enumerate(_components(inst)):
            if k:
                new.append(stim.target_separator())
            flips = sum(1 for t in comp if t.is_logical_observable_id() and t.val == observable) % 2
            if flips:
                dets = [t for t in comp if t.is_relative_detector_id()]
                if len(dets) > 1:
                    raise DecoderError(f"cannot force observable L{observable}: error {inst} flips it together with "
                                       f"{len(dets)} detectors in one component; the complementary gap needs "
                                       f"observable-flipping errors to be boundary edges")
                comp = [*dets, extra, *(t for t in comp if not t.is_relative_detector_id())]
            new.extend(comp)
        out.append(stim.DemInstruction("error", inst.args_copy(), new))
    return out


class MatchingDecoder(Decoder):
    """PyMatching decoder, plain or correlated, with complementary-gap soft output.

    With ``correlated=True`` the soft output is an approximation: the forced decodings use
    plain matching (correlated matching re-weights its graph after a first pass, so the
    weights of two forced correlated solutions are not comparable), the probability takes the
    plain gap's size and the correlated decision's side, and shots where plain and correlated
    matching disagree get a probability within ``1e-3`` of 0.5 (doubtful).

    Args:
        dem: detector error model (decomposed), or a noisy ``stim.Circuit``.
        correlated: use PyMatching's correlated matching (``enable_correlations=True``).
        circuit: the circuit, when ``dem`` is a DEM (kept in ``.circuit``).

    Raises:
        DecoderError: PyMatching cannot build a matching graph from ``dem``.

    Examples:
        >>> from qtandem.qec.codes import surface_code
        >>> from qtandem.qec.data import sample
        >>> circuit = surface_code(3, 3, p=0.005)
        >>> dets, obs = sample(circuit, 1000, seed=4)
        >>> dec = MatchingDecoder(circuit)
        >>> pred, soft = dec.decode(dets), dec.decode_soft(dets)
        >>> pred.shape, soft.shape, int((pred != obs).sum()) < 50
        ((1000, 1), (1000, 1), True)
    """

    def __init__(self, dem: stim.DetectorErrorModel | stim.Circuit, *, correlated: bool = False,
                 circuit: stim.Circuit | None = None) -> None:
        super().__init__(dem, circuit=circuit)
        hyper = sum(1 for inst in self.dem.flattened() if inst.type == "error"
                    and any(sum(t.is_relative_detector_id() for t in comp) > 2 for comp in _components(inst)))
        if hyper:
            warnings.warn(f"{hyper} error mechanism(s) of this DEM flip more than two detectors with no graphlike "
                          f"decomposition; PyMatching ignores them, so matching is only approximate here (e.g. "
                          f"colour codes): use BPOSDDecoder", stacklevel=2)
        self.correlated = bool(correlated)
        self.name = "pymatching-correlated" if self.correlated else "pymatching"
        self._matching: pymatching.Matching | None = None
        self._forced: dict[int, pymatching.Matching | None] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_matching"] = None  # rebuilt lazily in the worker process
        state["_forced"] = {}
        return state

    def _build(self, dem: stim.DetectorErrorModel, correlated: bool | None = None) -> pymatching.Matching:
        corr = self.correlated if correlated is None else correlated
        try:
            return pymatching.Matching.from_detector_error_model(dem, enable_correlations=corr)
        except ValueError as err:
            raise DecoderError(f"PyMatching cannot build a matching graph from this DEM ({err}); "
                               f"use a DEM with decompose_errors=True") from err

    @property
    def matching(self) -> pymatching.Matching:
        """The ``pymatching.Matching`` for ``self.dem`` (built on first use)."""
        if self._matching is None:
            self._matching = self._build(self.dem)
        return self._matching

    def prepare(self) -> MatchingDecoder:
        """Build the matching graph now (it is otherwise built on the first ``decode``)."""
        _ = self.matching
        return self

    def with_dem(self, dem: stim.DetectorErrorModel) -> MatchingDecoder:
        """This decoder (same options) for ``dem``."""
        return self if dem == self.dem else MatchingDecoder(dem, correlated=self.correlated)

    def _decode(self, dets: np.ndarray) -> np.ndarray:
        return self.matching.decode_batch(dets, enable_correlations=self.correlated)

    def decode_bit_packed(self, packed: np.ndarray) -> np.ndarray:
        """Bit-packed decoding straight through PyMatching (no unpacking)."""
        packed = np.asarray(packed)
        width = (self.num_detectors + 7) // 8
        if packed.ndim != 2 or packed.dtype != np.uint8 or packed.shape[1] != width:
            raise DecoderError(f"bit-packed detection events must be uint8 of shape (shots, {width}), "
                               f"got {packed.dtype} of shape {packed.shape}")
        return self.matching.decode_batch(packed, bit_packed_shots=True, bit_packed_predictions=True,
                                          enable_correlations=self.correlated)

    def log_likelihood_ratio(self, dets: Any) -> np.ndarray:
        """Signed complementary gap ``W0 - W1`` per shot and observable (plain matching).

        ``W_b`` is the weight of the lightest matching whose observable parity is ``b``;
        positive values mean "flipped" is the cheaper explanation, and ``|W0 - W1|`` is
        the complementary gap.

        Args:
            dets: detection events ``(shots, num_detectors)``.

        Returns:
            float64 array ``(shots, num_observables)``.

        Raises:
            DecoderError: bad ``dets``, or the DEM does not allow forcing an observable.
        """
        return self._plain_llr(self.check_dets(dets))

    def _plain_llr(self, dets: np.ndarray) -> np.ndarray:
        shots = dets.shape[0]
        out = np.empty((shots, self.num_observables))
        ext = np.empty((shots, self.num_detectors + 1), dtype=bool)
        ext[:, :-1] = dets
        for k in range(self.num_observables):
            if k not in self._forced:
                forced = forced_observable_dem(self.dem, k)
                # no error flips L_k (e.g. p = 0): the observable cannot flip, W1 is infinite
                self._forced[k] = (None if forced.num_detectors <= self.num_detectors
                                   else self._build(forced, correlated=False))
            m = self._forced[k]
            if m is None:
                out[:, k] = -np.inf
                continue
            weights = []
            for b in (False, True):
                ext[:, -1] = b
                try:
                    _, w = m.decode_batch(ext, return_weights=True)
                except ValueError as err:
                    raise DecoderError(f"complementary gap: PyMatching failed with observable L{k} forced to "
                                       f"{int(b)} ({err})") from err
                weights.append(np.asarray(w, dtype=np.float64))
            out[:, k] = weights[0] - weights[1]
        return out

    def _decode_soft(self, dets: np.ndarray) -> np.ndarray:
        llr = self._plain_llr(dets)
        if self.correlated:
            # Correlated matching re-weights edges after a first pass, so the forced solutions'
            # weights are not comparable with its decision. Approximation (documented in the
            # class docstring): the plain gap's size with the correlated decision's sign; shots
            # where the two decisions disagree get |llr| = 1e-3 (doubtful, flagged first).
            sign = np.where(self._decode(dets), 1.0, -1.0)
            agree = np.sign(llr) == sign
            llr = sign * np.where(agree, np.abs(llr), 1e-3)
        llr = np.clip(llr, -700.0, 700.0)
        return 1.0 / (1.0 + np.exp(-llr))

    def __repr__(self) -> str:
        return (f"MatchingDecoder(num_detectors={self.num_detectors}, num_observables={self.num_observables}, "
                f"correlated={self.correlated})")
