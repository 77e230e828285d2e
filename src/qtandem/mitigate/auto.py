"""``methods="auto"``: pick the mitigation per circuit by predicted error (bias squared plus variance).

:func:`choose` returns ``[readout(), AutoExtrapolation(...)]``. Readout inversion is always
kept (unbiased; its variance cost, ``1 / (1 - 2 p)`` per measured qubit, is small next to the
bias it removes at the 3% flips this library is benchmarked on). :class:`AutoExtrapolation`
decides at run time, per circuit, whether to extrapolate:

1. a pilot (``pilot`` of the shots, 20% by default: two thirds at scale 1, one third at scale
   3 by global folding) estimates the readout-mitigated value ``v``, its standard error, and
   the decay rate ``lam`` of this observable (``|v_3 / v_1| = e^{-2 lam}``; 0 when the pilot
   values are not significant);
2. ``lam`` is capped by the calibration's total gate error (``context.noise``, summed process
   infidelities, :func:`~qtandem.mitigate.features.calibration_features`) when one is given,
   and predicts the bias left in ``v``: ``|v| (e^{lam} - 1)``;
3. each candidate gets a predicted mean squared error at the full budget: no extrapolation
   (that bias squared plus the variance at all shots), linear ZNE on ``[1, 3]`` and Richardson
   on ``[1, 2, 3]`` (their residual bias for an exponential decay, and their variance: the
   scale-1 variance times ``(sum_i |w_i| e^{lam (s_i - 1)})^2``, the optimal allocation's
   amplification), and the exponential fit on ``[1, 1.5, 2]`` (unbiased for that decay; its
   amplification carries the fit's gradient ``e^{lam s_i}``, :func:`predicted_mse`);
4. the lowest wins; the pilot's shots are pooled into the no-extrapolation estimate.

So at small budgets (large shot noise) or shallow circuits (small bias) it does not
extrapolate, and at large budgets on deep circuits it does: the rule the issue asks for
("skip extrapolation when its amplified shot noise exceeds the bias it removes"). The
threshold ``margin`` (default 1.0: pick ZNE only when its predicted MSE is lower) is an a
priori choice. The candidates and the pilot share were chosen on the DEV instances of
bench/mitigation.py only (seeds 2000+k; bench/results/mitigation_auto_dev_*.json, 8 families x
2 budgets): adding the exponential candidate lowered the geometric-mean MAE over the 16 cells
from 0.0446 to 0.0273, a 20% pilot (instead of 10%) to 0.0231 (lower in 11 of 16 cells); no
configuration was worse than unmitigated in any cell. The reported TEST instances were not used.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.mitigate import Context
    >>> ctx = Context.create("Z0", 1, lambda circuits, shots: [{"0": shots} for _ in circuits])
    >>> [m.name for m in choose(Circuit(1).sx(0), ctx, 10_000)]
    ['readout', 'auto_zne']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate.core import Context, Estimate, Estimator, Method, split_shots
from qtandem.mitigate.features import calibration_features
from qtandem.random import Seed, as_generator

__all__ = ["AutoExtrapolation", "choose", "predicted_mse"]

_CANDIDATES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "linear": ((1.0, 3.0), (1.5, -0.5)),
    "richardson": ((1.0, 2.0, 3.0), (3.0, -3.0, 1.0)),
    "exponential": ((1.0, 1.5, 2.0), (11 / 6, 1 / 3, -7 / 6)),
}
"""Extrapolation candidates: scale factors and the weights of the zero-noise value (for ``"exponential"``, the
least-squares intercept weights of the log values: a straight line through ``log |v_i|``)."""

DEFAULT_CANDIDATES = ("linear", "richardson", "exponential")
"""The candidates of ``methods="auto"`` (chosen on DEV instances: bench/results/mitigation_auto_dev*.json)."""

_EXTRAPOLATION = {"linear": "linear", "richardson": "richardson", "exponential": "exponential"}


def predicted_mse(value: float, stderr_full: float, lam: float,
                  candidates: Sequence[str] = DEFAULT_CANDIDATES, sigma_ratio: float | None = None) -> dict[str, float]:
    """Predicted mean squared error of each choice at the full budget.

    Under the model ``v(s) = v_0 e^{-lam s}``: the linear candidates keep a bias (their weights
    applied to the decay) and amplify the shot noise by ``sum_i |w_i| e^{lam (s_i - 1)}``; the
    exponential fit on ``[1, 1.5, 2]`` is unbiased under this model and amplifies by
    ``sum_i |w_i| e^{lam s_i} e^{lam (s_i - 1)}`` (its gradient ``dv_0 / dv_i = w_i v_0 / v_i``).

    The factor ``e^{lam (s_i - 1)}`` is the per-shot standard deviation at scale ``s_i`` relative
    to scale 1 when nothing is measured (``sigma_ratio=None``). It is wrong for observables whose
    per-shot spread shrinks with the noise, a probability ``P(bits)`` above all (its spread is
    ``sqrt(p (1 - p))``): there it overstated the exponential fit's noise about 12-fold on mirror
    d20 at 1e4 shots, so auto chose Richardson (which leaves most of the bias) or nothing, 0.44
    against the fixed exponential fit's 0.09.
    ``sigma_ratio`` is the measured ratio ``sigma(3) / sigma(1)`` (the pilot's), interpolated as
    ``sigma(s) / sigma(1) = sigma_ratio^((s - 1) / 2)``.

    Args:
        value: the (readout-mitigated) scale-1 estimate.
        stderr_full: its standard error if every shot went to scale 1.
        lam: the total gate error (decay ``e^{-lam}`` per unit of noise scale).
        candidates: names in ``"linear"``, ``"richardson"``, ``"exponential"``.
        sigma_ratio: the measured per-shot standard deviation at scale 3 over that at scale 1
            (``None``: ``e^{2 lam}``, the a priori factor above).

    Returns:
        ``{"none": ..., **{candidate: ...}}``.

    Examples:
        >>> mse = predicted_mse(0.5, 0.01, 0.3, candidates=("linear", "richardson"))
        >>> min(mse, key=mse.get)
        'linear'
        >>> mse = predicted_mse(0.5, 0.001, 0.3, candidates=("linear", "richardson"))
        >>> min(mse, key=mse.get)
        'richardson'
        >>> mse = predicted_mse(0.5, 0.001, 0.3)
        >>> min(mse, key=mse.get)
        'exponential'
        >>> mse = predicted_mse(0.5, 0.01, 0.01)
        >>> min(mse, key=mse.get)
        'none'
        >>> mse = predicted_mse(0.19, 0.004, 1.66)  # mirror d20's P(bits) at 1e4 shots, a priori spread
        >>> min(mse, key=mse.get)
        'richardson'
        >>> mse = predicted_mse(0.19, 0.004, 1.66, sigma_ratio=0.2)  # the measured spread of a probability
        >>> min(mse, key=mse.get)
        'exponential'
    """
    ideal = abs(value) * math.exp(lam)
    out = {"none": (ideal - abs(value)) ** 2 + stderr_full**2}
    log_ratio = 2.0 * lam if sigma_ratio is None else math.log(max(float(sigma_ratio), 1e-6))

    def spread(s: float) -> float:  # per-shot standard deviation at scale s over scale 1's
        return math.exp(log_ratio * (s - 1.0) / 2.0)

    for name in candidates:
        if name not in _CANDIDATES:
            raise ArgumentTypeError(f"auto: unknown candidate {name!r}; known: {sorted(_CANDIDATES)}")
        scales, weights = _CANDIDATES[name]
        pairs = list(zip(scales, weights, strict=True))
        if name == "exponential":
            bias = 0.0
            amplification = sum(abs(w) * math.exp(lam * s) * spread(s) for s, w in pairs)
        else:
            bias = ideal - sum(w * ideal * math.exp(-lam * s) for s, w in pairs)
            amplification = sum(abs(w) * spread(s) for s, w in pairs)
        out[name] = bias**2 + (amplification * stderr_full) ** 2
    return out


class AutoExtrapolation:
    """Extrapolate or not, per circuit, by predicted error (module docs).

    Args:
        pilot: share of the shots spent on the pilot (at scale 1 and 3; scale 1 pooled if not extrapolating).
        margin: extrapolate only when its predicted MSE is below ``margin`` times the alternative's.
        candidates: the extrapolations considered (:data:`DEFAULT_CANDIDATES`).
        spread: ``"measured"`` (default): the per-shot spread at scale 3 relative to scale 1 comes from
            the pilot (``sigma_ratio`` of :func:`predicted_mse`); ``"prior"``: the a priori ``e^{2 lam}``
            of the first versions.

    Examples:
        >>> AutoExtrapolation().name
        'auto_zne'
    """

    name = "auto_zne"

    def __init__(self, pilot: float = 0.2, margin: float = 1.0,
                 candidates: Sequence[str] = DEFAULT_CANDIDATES, spread: str = "measured") -> None:
        if not 0 < float(pilot) < 1:
            raise ArgumentTypeError(f"auto: pilot must be in (0, 1), got {pilot!r}")
        unknown = [c for c in candidates if c not in _CANDIDATES]
        if unknown:
            raise ArgumentTypeError(f"auto: unknown candidates {unknown}; known: {sorted(_CANDIDATES)}")
        self.pilot = float(pilot)
        self.margin = float(margin)
        self.candidates = tuple(candidates)
        if spread not in ("measured", "prior"):
            raise ArgumentTypeError(f"auto: spread must be 'measured' or 'prior', got {spread!r}")
        self.spread = spread

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """The estimator that decides per circuit."""
        from qtandem.mitigate.zne import zne

        def estimate(circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed = None) -> list[Estimate]:
            rng = as_generator(seed)
            out = []
            for circuit, total in zip(list(circuits), [int(s) for s in shots], strict=True):
                n_pilot, n_fold, n_rest = split_shots(total, [self.pilot * 2 / 3, self.pilot / 3, 1 - self.pilot])
                p = estimator([circuit], [n_pilot], int(rng.integers(2**62)))[0]
                measured, ratio = _decay(estimator, circuit, n_fold, p, n_pilot, rng)
                cal = float(calibration_features(circuit, context.noise)[2]) if context.noise is not None else None
                lam = measured if cal is None else min(measured, cal)
                stderr_full = p.stderr * math.sqrt(n_pilot / max(total, 1))
                mse = predicted_mse(p.value, stderr_full, lam, self.candidates,
                                    sigma_ratio=ratio if self.spread == "measured" else None)
                best = min(mse, key=lambda k: mse[k])
                details: dict[str, Any] = {
                    "lam": lam, "lam_measured": measured, "lam_calibration": cal, "sigma_ratio": ratio,
                    "pilot": {"value": p.value, "stderr": p.stderr, "shots": n_pilot + n_fold},
                    "predicted_rmse": {k: math.sqrt(v) for k, v in mse.items()}}
                if best == "none" or mse[best] >= self.margin * mse["none"]:
                    rest = estimator([circuit], [n_rest], int(rng.integers(2**62)))[0]
                    w1, w2 = n_pilot / (n_pilot + n_rest), n_rest / (n_pilot + n_rest)
                    value = w1 * p.value + w2 * rest.value
                    err = math.sqrt((w1 * p.stderr) ** 2 + (w2 * rest.stderr) ** 2)
                    details["chosen"] = "none"
                    out.append(Estimate(value, err, total, details))
                    continue
                scales, _ = _CANDIDATES[best]
                inner = zne(list(scales), _EXTRAPOLATION[best]).wrap(estimator, context)
                z = inner([circuit], [n_rest], int(rng.integers(2**62)))[0]
                details["chosen"] = f"zne_{best}"
                details["zne"] = z.details
                out.append(Estimate(z.value, z.stderr, n_pilot + n_fold + z.shots, details))
            return out

        return estimate


def _decay(estimator: Estimator, circuit: Circuit, shots: int, p: Estimate, p_shots: int,
           rng: np.random.Generator) -> tuple[float, float]:
    """``lam`` from the ratio of a scale-3 pilot to the scale-1 pilot ``p`` (0 when the values are not significant),
    and the ratio of their per-shot standard deviations (clipped to [0.05, 20]; 1 when one is not measured)."""
    from qtandem.mitigate.folding import fold_global

    q = estimator([fold_global(circuit, 3.0)], [shots], int(rng.integers(2**62)))[0]
    s1, s3 = p.stderr * math.sqrt(max(p_shots, 1)), q.stderr * math.sqrt(max(shots, 1))
    spread = min(max(s3 / s1, 0.05), 20.0) if s1 > 0 and s3 > 0 else 1.0
    if abs(p.value) < 3 * p.stderr or q.value * p.value <= 0:
        return 0.0, spread
    ratio = min(abs(q.value / p.value), 1.0)
    return max(-math.log(ratio) / 2.0, 0.0), spread


def choose(circuit: Circuit, context: Context, shots: int) -> list[Method]:
    """The methods of ``methods="auto"``: readout inversion, then extrapolation decided per circuit.

    Args:
        circuit: the target circuit.
        context: the :class:`~qtandem.mitigate.Context` (observable, executor, calibration).
        shots: the total budget.

    Returns:
        ``[readout(), AutoExtrapolation()]``; with a budget too small for a pilot (under 20 shots),
        ``[readout()]``.

    Raises:
        ArgumentTypeError: not a Circuit or a non-positive budget.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.mitigate import Context
        >>> ctx = Context.create("Z0", 1, lambda circuits, shots: [{"0": shots} for _ in circuits])
        >>> [m.name for m in choose(Circuit(1), ctx, 10)]
        ['readout']
    """
    from qtandem.mitigate.readout import readout

    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"auto.choose needs a qtandem Circuit, got {type(circuit).__name__}")
    if isinstance(shots, bool) or int(shots) < 1:
        raise ArgumentTypeError(f"auto.choose: shots must be a positive integer, got {shots!r}")
    if int(shots) < 20:
        return [readout()]
    return [readout(), AutoExtrapolation()]
