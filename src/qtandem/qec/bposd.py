"""BP-OSD (belief propagation + ordered-statistics decoding, ``ldpc`` 2.x) behind the decoder interface.

The DEM becomes a check matrix ``H`` (detectors x error mechanisms), an observable matrix
``L`` (observables x mechanisms) and priors: each ``error(p)`` instruction is one column
(its ``^`` components merged, i.e. the undecomposed hyperedge), and columns with the same
detectors and observables are merged with ``p = p1 (1 - p2) + p2 (1 - p1)``. ``ldpc.BpOsdDecoder``
finds an error ``e`` with ``H e = dets``; the prediction is ``L e``. Identical syndromes in
a batch are decoded once.

BP-OSD has no calibrated soft output here: ``decode_soft`` returns the hard decision as
0.0 / 1.0 (every shot equally confident), so it is not useful for flagging.

``ldpc`` is an optional dependency (``pip install qtandem[dev]``); constructing the decoder
without it raises :class:`~qtandem.errors.DecoderError`.

Examples:
    >>> import pytest; _ = pytest.importorskip("ldpc")
    >>> from qtandem.qec.codes import repetition_code
    >>> from qtandem.qec.bposd import BPOSDDecoder
    >>> from qtandem.qec.data import sample
    >>> c = repetition_code(5, 3, p=0.02)
    >>> dets, obs = sample(c, 300, seed=3)
    >>> bool((BPOSDDecoder(c).decode(dets) == obs).mean() > 0.9)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import stim

from qtandem.errors import DecoderError
from qtandem.qec.decoder import Decoder

__all__ = ["BPOSDDecoder", "dem_matrices"]


def dem_matrices(dem: stim.DetectorErrorModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(H, L, priors)`` of a DEM: uint8 ``(num_detectors, m)``, uint8 ``(num_observables, m)``, float ``(m,)``.

    Examples:
        >>> import stim
        >>> H, L, p = dem_matrices(stim.DetectorErrorModel("error(0.1) D0 D1\\nerror(0.1) D0 ^ D1\\nerror(0.2) D1 L0"))
        >>> H.tolist(), L.tolist(), [round(float(x), 3) for x in p]
        ([[1, 0], [1, 1]], [[0, 1]], [0.18, 0.2])
    """
    cols: dict[tuple[frozenset[int], frozenset[int]], float] = {}
    for inst in dem.flattened():
        if inst.type != "error":
            continue
        p = float(inst.args_copy()[0])
        dets: set[int] = set()
        obs: set[int] = set()
        for t in inst.targets_copy():
            if t.is_relative_detector_id():
                dets ^= {t.val}
            elif t.is_logical_observable_id():
                obs ^= {t.val}
        if (not dets and not obs) or p == 0:
            continue
        key = (frozenset(dets), frozenset(obs))
        q = cols.get(key, 0.0)
        cols[key] = q * (1 - p) + p * (1 - q)
    keys = list(cols)
    H = np.zeros((dem.num_detectors, len(keys)), dtype=np.uint8)
    L = np.zeros((dem.num_observables, len(keys)), dtype=np.uint8)
    for j, (dets_j, obs_j) in enumerate(keys):
        H[list(dets_j), j] = 1
        L[list(obs_j), j] = 1
    return H, L, np.array([cols[k] for k in keys], dtype=np.float64)


class BPOSDDecoder(Decoder):
    """BP-OSD from ``ldpc`` (``ldpc.BpOsdDecoder``) on the DEM's check matrix.

    Args:
        dem: detector error model or noisy circuit.
        max_iter: BP iterations before OSD.
        bp_method: ``"product_sum"`` or ``"minimum_sum"``.
        osd_method: ``"osd_cs"`` (combination sweep), ``"osd_e"`` or ``"osd0"``.
        osd_order: OSD search depth.
        circuit: the circuit, when ``dem`` is a DEM.

    Raises:
        DecoderError: ``ldpc`` is not installed, or bad options.

    Examples:
        >>> from qtandem.qec.codes import repetition_code
        >>> from qtandem.qec.data import sample
        >>> circuit = repetition_code(3, 2, p=0.01)
        >>> dets, obs = sample(circuit, 100, seed=1)
        >>> pred = BPOSDDecoder(circuit, osd_order=2).decode(dets)
        >>> pred.shape, pred.dtype, int((pred != obs).sum()) <= 5
        ((100, 1), dtype('bool'), True)
    """

    name = "bposd"
    has_soft = False

    def __init__(self, dem: stim.DetectorErrorModel | stim.Circuit, *, max_iter: int = 30,
                 bp_method: str = "product_sum", osd_method: str = "osd_cs", osd_order: int = 7,
                 circuit: stim.Circuit | None = None) -> None:
        super().__init__(dem, circuit=circuit)
        try:
            import ldpc  # noqa: F401
        except ImportError as err:
            raise DecoderError("BPOSDDecoder needs the 'ldpc' package (pip install 'ldpc>=2'); "
                               "it is in qtandem's dev and bench extras") from err
        if bp_method not in ("product_sum", "minimum_sum"):
            raise DecoderError(f"bp_method must be 'product_sum' or 'minimum_sum', got {bp_method!r}")
        if osd_method not in ("osd_cs", "osd_e", "osd0"):
            raise DecoderError(f"osd_method must be 'osd_cs', 'osd_e' or 'osd0', got {osd_method!r}")
        self.options: dict[str, Any] = {"max_iter": int(max_iter), "bp_method": bp_method, "osd_method": osd_method,
                        "osd_order": int(osd_order)}
        self.H, self.L, self.priors = dem_matrices(self.dem)
        self._bposd: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_bposd"] = None
        return state

    def _decoder(self) -> Any:
        if self._bposd is None:
            from ldpc import BpOsdDecoder
            from scipy.sparse import csr_matrix

            self._bposd = BpOsdDecoder(csr_matrix(self.H), error_channel=list(self.priors), **self.options)
        return self._bposd

    def with_dem(self, dem: stim.DetectorErrorModel) -> BPOSDDecoder:
        """This decoder (same options) for ``dem``."""
        return self if dem == self.dem else BPOSDDecoder(dem, **self.options)

    def _decode(self, dets: np.ndarray) -> np.ndarray:
        out = np.zeros((dets.shape[0], self.num_observables), dtype=bool)
        if dets.shape[0] == 0 or self.H.shape[1] == 0:
            return out
        uniq, inverse = np.unique(dets, axis=0, return_inverse=True)
        dec = self._decoder()
        preds = np.zeros((uniq.shape[0], self.num_observables), dtype=bool)
        for i, syndrome in enumerate(uniq):
            if syndrome.any():
                e = dec.decode(syndrome.astype(np.uint8))
                preds[i] = (self.L @ e) % 2 == 1
        return preds[inverse.reshape(-1)]

    def _decode_soft(self, dets: np.ndarray) -> np.ndarray:
        return self._decode(dets).astype(np.float64)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"BPOSDDecoder(num_detectors={self.num_detectors}, num_observables={self.num_observables}, {opts})"
