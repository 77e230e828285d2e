"""Logical error rates with Wilson intervals, per-round conversion, and post-selection (flagging) curves.

A shot is a logical error when any observable's prediction differs from the sampled flip.
The post-selection curve ranks shots by the *doubt* of a soft output
(:func:`doubt`: the estimated probability that the decoder's decision is wrong,
``min(p, 1 - p)`` per observable, combined over observables as ``1 - prod(1 - d_k)``), flags
the most doubtful ones for review and reports the logical error rate among the kept shots.

Examples:
    >>> import numpy as np
    >>> from qtandem.qec.metrics import wilson_interval, logical_error_rate, per_round
    >>> lo, hi = wilson_interval(10, 1000)
    >>> round(lo, 5), round(hi, 5)
    (0.00544, 0.01831)
    >>> r = logical_error_rate(np.array([[1], [0], [0], [0]], bool), np.array([[1], [1], [0], [0]], bool))
    >>> r.errors, r.shots, r.rate
    (1, 4, 0.25)
    >>> round(per_round(0.1, 5), 6)
    0.021824
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from qtandem.errors import DecoderError

__all__ = ["FlagCurve", "LogicalErrorRate", "doubt", "flag_shots", "logical_error_rate", "per_round",
           "postselection_curve", "wilson_interval"]


def wilson_interval(errors: int, shots: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial rate ``errors / shots``.

    Args:
        errors: number of failures.
        shots: number of trials (0 gives ``(0, 1)``).
        confidence: two-sided level (``0.95`` -> ``z = 1.95996``).

    Returns:
        ``(low, high)``.

    Raises:
        DecoderError: ``errors`` outside ``[0, shots]`` or confidence outside ``(0, 1)``.

    Examples:
        >>> [round(x, 4) for x in wilson_interval(0, 100)]
        [0.0, 0.037]
    """
    if not 0 <= errors <= shots:
        raise DecoderError(f"need 0 <= errors <= shots, got errors={errors}, shots={shots}")
    if not 0 < confidence < 1:
        raise DecoderError(f"confidence must be in (0, 1), got {confidence}")
    if shots == 0:
        return 0.0, 1.0
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    phat = errors / shots
    denom = 1 + z * z / shots
    centre = (phat + z * z / (2 * shots)) / denom
    half = z * math.sqrt(phat * (1 - phat) / shots + z * z / (4 * shots * shots)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def per_round(rate: float, rounds: int) -> float:
    """Per-round logical error rate from a per-shot rate over ``rounds`` rounds: ``(1 - (1 - 2P)^(1/r)) / 2``.

    Rates at or above 0.5 return 0.5 (no information left).

    Examples:
        >>> per_round(0.0, 3)
        0.0
    """
    if rounds < 1:
        raise DecoderError(f"rounds must be >= 1, got {rounds}")
    if rate >= 0.5:
        return 0.5
    return (1 - (1 - 2 * rate) ** (1 / rounds)) / 2


@dataclass(frozen=True)
class LogicalErrorRate:
    """Errors among shots, with a Wilson interval.

    Attributes:
        errors: shots where any observable was mispredicted.
        shots: shots decoded.
        rate: ``errors / shots``.
        low: lower end of the Wilson interval.
        high: upper end.
        confidence: the interval's level.

    Examples:
        >>> ler = logical_error_rate(np.array([[0], [1], [0], [0]], dtype=bool), np.zeros((4, 1), dtype=bool))
        >>> ler.errors, ler.shots, ler.rate, round(ler.low, 4), round(ler.high, 4)
        (1, 4, 0.25, 0.0456, 0.6994)
    """

    errors: int
    shots: int
    rate: float
    low: float
    high: float
    confidence: float = 0.95

    def per_round(self, rounds: int) -> tuple[float, float, float]:
        """``(rate, low, high)`` converted per round (see :func:`per_round`)."""
        return per_round(self.rate, rounds), per_round(self.low, rounds), per_round(self.high, rounds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"errors": self.errors, "shots": self.shots, "rate": self.rate, "low": self.low, "high": self.high,
                "confidence": self.confidence}


def _pair(pred: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, obs = np.asarray(pred), np.asarray(obs)
    if pred.ndim == 1:
        pred = pred[:, None]
    if obs.ndim == 1:
        obs = obs[:, None]
    if pred.shape != obs.shape:
        raise DecoderError(f"predictions {pred.shape} and observable flips {obs.shape} must have the same shape")
    return pred.astype(bool), obs.astype(bool)


def logical_error_rate(pred: np.ndarray, obs: np.ndarray, *, confidence: float = 0.95) -> LogicalErrorRate:
    """Logical error rate of predictions ``(shots, num_observables)`` against sampled flips.

    Raises:
        DecoderError: shapes differ.

    Examples:
        >>> pred = np.array([[0, 1], [1, 1], [0, 0]], dtype=bool)
        >>> obs = np.array([[0, 1], [1, 0], [0, 0]], dtype=bool)
        >>> logical_error_rate(pred, obs).errors             # a shot counts once, whichever observable is wrong
        1
        >>> logical_error_rate(pred, obs[:, :1])
        Traceback (most recent call last):
        ...
        qtandem.errors.DecoderError: ...
    """
    pred, obs = _pair(pred, obs)
    shots = pred.shape[0]
    errors = int(np.any(pred != obs, axis=1).sum())
    lo, hi = wilson_interval(errors, shots, confidence=confidence)
    return LogicalErrorRate(errors, shots, errors / shots if shots else 0.0, lo, hi, confidence)


def doubt(soft: np.ndarray) -> np.ndarray:
    """Estimated probability that the thresholded decision ``soft > 0.5`` is wrong, per shot.

    Args:
        soft: probabilities ``(shots, num_observables)`` (or 1-D for one observable).

    Returns:
        float64 ``(shots,)`` in ``[0, 0.5]`` for one observable: ``min(p, 1 - p)``;
        ``1 - prod_k (1 - min(p_k, 1 - p_k))`` for several.

    Raises:
        DecoderError: values outside ``[0, 1]``.

    Examples:
        >>> doubt(np.array([[0.9], [0.5], [0.01]])).round(2).tolist()
        [0.1, 0.5, 0.01]
    """
    p = np.asarray(soft, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1 or np.isnan(p).any()):
        raise DecoderError("soft outputs must be probabilities in [0, 1]")
    d = np.minimum(p, 1 - p)
    return 1 - np.prod(1 - d, axis=1)


def flag_shots(soft: np.ndarray, threshold: float) -> np.ndarray:
    """Bool mask of shots whose :func:`doubt` exceeds ``threshold`` (flagged for review).

    Examples:
        >>> flag_shots(np.array([[0.9], [0.6], [0.01]]), 0.2).tolist()
        [False, True, False]
    """
    if not 0 <= threshold <= 1:
        raise DecoderError(f"flag threshold must be in [0, 1] (a probability that the decision is wrong), "
                           f"got {threshold}")
    return doubt(soft) > threshold


@dataclass(frozen=True)
class FlagCurve:
    """Post-selection curve, one point per distinct doubt threshold (and the no-flag point).

    Attributes:
        threshold: flag shots with doubt ``>= threshold`` (``inf`` for the first point: none flagged).
        fraction_flagged: fraction of shots flagged, non-decreasing.
        kept: shots kept.
        errors_kept: logical errors among kept shots, non-increasing.
        ler_kept: ``errors_kept / kept`` (``nan`` when nothing is kept).

    Examples:
        >>> curve = postselection_curve(np.array([0.1, 0.4, 0.2, 0.3]), np.array([0, 1, 0, 0], dtype=bool))
        >>> curve.fraction_flagged.tolist(), curve.errors_kept.tolist()
        ([0.0, 0.25, 0.5, 0.75, 1.0], [1, 0, 0, 0, 0])
    """

    threshold: np.ndarray
    fraction_flagged: np.ndarray
    kept: np.ndarray
    errors_kept: np.ndarray
    ler_kept: np.ndarray

    def at(self, fraction: float) -> float:
        """LER among kept shots when at most ``fraction`` of the shots are flagged."""
        i = int(np.searchsorted(self.fraction_flagged, fraction, side="right")) - 1
        return float(self.ler_kept[max(i, 0)])

    def to_dict(self, max_points: int = 200) -> dict[str, list[float]]:
        """JSON-ready form, thinned to at most ``max_points`` points."""
        idx = np.unique(np.linspace(0, len(self.kept) - 1, min(max_points, len(self.kept))).astype(int))
        return {"fraction_flagged": self.fraction_flagged[idx].tolist(), "ler_kept": self.ler_kept[idx].tolist(),
                "kept": self.kept[idx].tolist(), "errors_kept": self.errors_kept[idx].tolist()}


def postselection_curve(soft: np.ndarray, obs: np.ndarray, pred: np.ndarray | None = None) -> FlagCurve:
    """LER among kept shots against the fraction flagged, flagging the most doubtful shots first.

    Args:
        soft: soft output ``(shots, num_observables)`` of any decoder.
        obs: sampled observable flips, same shape.
        pred: the decisions to score (default ``soft > 0.5``; pass ``decoder.decode(dets)`` to
            score a decoder's own hard output with another soft ranking).

    Returns:
        The :class:`FlagCurve`.

    Raises:
        DecoderError: shapes differ or probabilities are out of range.

    Examples:
        >>> soft = np.array([[0.99], [0.4], [0.02], [0.7]])
        >>> obs = np.array([[1], [1], [0], [1]], bool)
        >>> c = postselection_curve(soft, obs)
        >>> c.fraction_flagged.tolist(), c.ler_kept.round(3).tolist()
        ([0.0, 0.25, 0.5, 0.75, 1.0], [0.25, 0.0, 0.0, 0.0, nan])
    """
    p = np.asarray(soft, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    decisions = p > 0.5 if pred is None else pred
    decisions, obs_b = _pair(decisions, obs)
    if decisions.shape != p.shape:
        raise DecoderError(f"soft output {p.shape} and observable flips {obs_b.shape} must have the same shape")
    wrong = np.any(decisions != obs_b, axis=1)
    dz = doubt(p)
    n = len(dz)
    order = np.argsort(-dz, kind="stable")
    dz_sorted, wrong_sorted = dz[order], wrong[order]
    cum_err = np.concatenate([[0], np.cumsum(wrong_sorted)])
    # boundaries: flag every shot with doubt >= t, for each distinct t (descending), plus "none flagged"
    starts = np.flatnonzero(np.r_[True, dz_sorted[1:] != dz_sorted[:-1]]) if n else np.array([], dtype=int)
    flagged = np.concatenate([[0], starts[1:], [n]]) if n else np.array([0])
    thresholds = np.concatenate([[np.inf], dz_sorted[starts[1:] - 1] if n else [], [dz_sorted[-1]] if n else []])
    kept = n - flagged
    errors_kept = int(wrong.sum()) - cum_err[flagged]
    with np.errstate(invalid="ignore", divide="ignore"):
        ler = np.where(kept > 0, errors_kept / np.maximum(kept, 1), np.nan)
    frac = flagged / n if n else np.zeros(1)
    return FlagCurve(thresholds[: len(flagged)], frac, kept, errors_kept, ler)
