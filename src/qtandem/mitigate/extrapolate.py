"""Zero-noise extrapolation as pure functions of ``(scale_factors, values, stderrs)``.

Each extrapolator returns an :class:`Extrapolation`: the value at scale 0, its standard
error propagated from the ``stderrs`` of the inputs (exactly for the linear estimators,
by the delta method for the others), and ``weights``, the derivatives of the value with
respect to each input value. For the linear estimators (:func:`richardson`,
:func:`linear`, :func:`polynomial`: ordinary least squares, so the weights depend on the
scale factors only and the estimate is unbiased under its model) the value is exactly
``sum(weights * values)``.

Shot noise. With ``N`` shots in total and per-shot standard deviation ``sigma_i`` at scale
``i``, spending ``n_i`` shots there gives variance ``sum w_i^2 sigma_i^2 / n_i``:

* uniform ``n_i = N / m``: amplification over the unmitigated ``sigma_1 / sqrt(N)`` of
  ``sqrt(m sum w_i^2 sigma_i^2) / sigma_1``. For equal ``sigma`` on scales ``[1, 2, 3]``
  that is ``sqrt(57) = 7.55`` for Richardson (weights ``[3, -3, 1]``) and ``sqrt(7) = 2.65``
  for a linear fit (weights ``[4/3, 1/3, -2/3]``): the issue's "7.5x" and "2.6x";
* optimal ``n_i`` proportional to ``|w_i| sigma_i`` (:func:`allocate_shots`): amplification
  ``sum |w_i| sigma_i / sigma_1``, 7 and 2.33 on the same example.

Examples:
    >>> r = richardson([1, 2, 3], [0.8, 0.65, 0.52], [0.01, 0.01, 0.01])
    >>> [round(w, 6) for w in r.weights], round(r.value, 6)
    ([3.0, -3.0, 1.0], 0.97)
    >>> round(shot_noise_amplification(r.weights), 2), round(shot_noise_amplification(r.weights, "optimal"), 2)
    (7.55, 7.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.errors import ArgumentTypeError, MitigationError

__all__ = [
    "EXTRAPOLATORS",
    "Extrapolation",
    "ExtrapolationError",
    "adaptive_exponential",
    "allocate_shots",
    "exponential",
    "extrapolate",
    "linear",
    "next_scale_factor",
    "poly_exponential",
    "polynomial",
    "richardson",
    "shot_noise_amplification",
]


class ExtrapolationError(MitigationError):
    """A fit that the data cannot support (too few points, values on both sides of the asymptote).

    Examples:
        >>> richardson([1, 1], [0.5, 0.4])
        Traceback (most recent call last):
        ...
        qtandem.mitigate.extrapolate.ExtrapolationError: richardson needs at least 2 distinct scale factors, \
got [1.0, 1.0]
    """


@dataclass(frozen=True)
class Extrapolation:
    """The zero-noise value of one extrapolation.

    Attributes:
        value: the estimate at scale 0.
        stderr: its standard error (0 when no ``stderrs`` were given).
        weights: ``d value / d values[i]`` (for linear estimators the exact coefficients).
        method: the extrapolator's name.
        params: the fitted model's parameters (method-specific order, see each function).

    Examples:
        >>> round(linear([1, 3], [0.9, 0.7]).value, 12)
        1.0
    """

    value: float
    stderr: float
    weights: tuple[float, ...]
    method: str
    params: dict[str, Any] = field(default_factory=dict)


def _inputs(scale_factors: Sequence[float], values: Sequence[float], stderrs: Sequence[float] | None,
            need: int, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        x = np.asarray(scale_factors, dtype=float).ravel()
        y = np.asarray(values, dtype=float).ravel()
        s = np.zeros_like(y) if stderrs is None else np.asarray(stderrs, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{what}: scale factors, values and stderrs must be numbers") from None
    if not (x.shape == y.shape == s.shape):
        raise ExtrapolationError(f"{what}: got {x.size} scale factors, {y.size} values and {s.size} stderrs; "
                                 f"they must match")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(np.isfinite(s))) or np.any(s < 0):
        raise ExtrapolationError(f"{what}: scale factors, values and stderrs must be finite (stderrs >= 0)")
    if len(np.unique(x)) < need:
        raise ExtrapolationError(f"{what} needs at least {need} distinct scale factors, got {x.tolist()}")
    return x, y, s


def _ols_weights(x: np.ndarray, order: int) -> np.ndarray:
    """Weights ``w`` with ``p(0) = w @ y`` for the least-squares polynomial of ``order`` through ``(x, y)``."""
    scale = float(np.max(np.abs(x)))
    v = np.vander(x / scale, order + 1, increasing=True)
    return np.linalg.pinv(v)[0]


def _linear(x: np.ndarray, y: np.ndarray, s: np.ndarray, order: int, method: str) -> Extrapolation:
    w = _ols_weights(x, order)
    coef = np.polynomial.polynomial.polyfit(x, y, order)
    return Extrapolation(float(w @ y), float(np.sqrt(np.sum(w**2 * s**2))), tuple(float(v) for v in w), method,
                         {"coefficients": [float(c) for c in coef]})


def richardson(scale_factors: Sequence[float], values: Sequence[float],
               stderrs: Sequence[float] | None = None) -> Extrapolation:
    """Richardson extrapolation: the interpolating polynomial through all points, at 0.

    Weights ``w_i = prod_{j != i} x_j / (x_j - x_i)`` (``[3, -3, 1]`` on ``[1, 2, 3]``).

    Examples:
        >>> r = richardson([1, 2, 3], [0.91, 0.84, 0.79], [0.01] * 3)
        >>> round(r.value, 12), round(r.stderr, 6)
        (1.0, 0.043589)
    """
    x, y, s = _inputs(scale_factors, values, stderrs, 2, "richardson")
    return _linear(x, y, s, len(x) - 1, "richardson")


def linear(scale_factors: Sequence[float], values: Sequence[float],
           stderrs: Sequence[float] | None = None) -> Extrapolation:
    """Least-squares line through the points, at 0 (``params["coefficients"]``: intercept, slope).

    Examples:
        >>> [round(w, 6) for w in linear([1, 2, 3], [0.9, 0.8, 0.7]).weights]
        [1.333333, 0.333333, -0.666667]
    """
    x, y, s = _inputs(scale_factors, values, stderrs, 2, "linear")
    return _linear(x, y, s, 1, "linear")


def polynomial(scale_factors: Sequence[float], values: Sequence[float], stderrs: Sequence[float] | None = None,
               *, order: int = 2) -> Extrapolation:
    """Least-squares polynomial of ``order`` through the points, at 0 (needs ``order + 1`` scale factors).

    Examples:
        >>> round(polynomial([1, 2, 3, 4], [1 - x + 0.5 * x * x for x in [1, 2, 3, 4]], order=2).value, 10)
        1.0
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ArgumentTypeError(f"polynomial: order must be a non-negative integer, got {order!r}")
    x, y, s = _inputs(scale_factors, values, stderrs, order + 1, "polynomial")
    return _linear(x, y, s, order, "polynomial")


def _delta(fn: Callable[[np.ndarray], float], y: np.ndarray, s: np.ndarray) -> tuple[float, np.ndarray, float]:
    value = fn(y)
    grad = np.zeros_like(y)
    for i in range(y.size):
        h = 1e-6 * max(1e-3, abs(y[i]))
        up, down = y.copy(), y.copy()
        up[i] += h
        down[i] -= h
        try:
            grad[i] = (fn(up) - fn(down)) / (2 * h)
        except ExtrapolationError:
            grad[i] = (fn(up) - value) / h if _ok(fn, up) else (value - fn(down)) / h
    return value, grad, float(np.sqrt(np.sum(grad**2 * s**2)))


def _ok(fn: Callable[[np.ndarray], float], y: np.ndarray) -> bool:
    try:
        fn(y)
    except ExtrapolationError:
        return False
    return True


def _logfit(x: np.ndarray, y: np.ndarray, asymptote: float, order: int) -> tuple[float, np.ndarray, float]:
    """``y = a + sign * exp(p(x))`` with ``a`` known: ``(sign, coefficients of p, residual)``."""
    d = y - asymptote
    sign = 1.0 if np.all(d > 0) else -1.0 if np.all(d < 0) else 0.0
    if sign == 0.0:
        raise ExtrapolationError(f"exponential fit: the values {np.round(y, 6).tolist()} lie on both sides of "
                                 f"the asymptote {asymptote:g}")
    z = np.log(np.abs(d))
    coef = np.polynomial.polynomial.polyfit(x, z, order)
    resid = float(np.sum((np.polynomial.polynomial.polyval(x, coef) - z) ** 2))
    spread = float(np.sum((z - z.mean()) ** 2))
    return sign, coef, resid / spread if spread > 0 else resid  # relative: an asymptote far away cannot win


def _fit_asymptote(x: np.ndarray, y: np.ndarray, order: int) -> float:
    """The asymptote minimizing the residual of the log-polynomial fit (a golden-section search).

    The values approach the asymptote as the scale grows, so it lies beyond the value at the
    largest scale, on the side the values move to.
    """
    far = y[np.argmax(x)]
    near = y[np.argmin(x)]
    direction = -1.0 if far <= near else 1.0
    span = max(abs(far - near), 1e-12)

    def cost(t: float) -> float:  # t in (0, 1): asymptote = far + direction * span * t / (1 - t)
        a = far + direction * span * t / (1 - t)
        try:
            return _logfit(x, y, a, order)[2]
        except ExtrapolationError:
            return math.inf

    lo, hi = 1e-9, 1 - 1e-9
    g = (math.sqrt(5) - 1) / 2
    c, d = hi - g * (hi - lo), lo + g * (hi - lo)
    fc, fd = cost(c), cost(d)
    for _ in range(200):
        if fc < fd:
            hi, d, fd = d, c, fc
            c = hi - g * (hi - lo)
            fc = cost(c)
        else:
            lo, c, fc = c, d, fd
            d = lo + g * (hi - lo)
            fd = cost(d)
    t = (lo + hi) / 2
    return float(far + direction * span * t / (1 - t))


def poly_exponential(scale_factors: Sequence[float], values: Sequence[float], stderrs: Sequence[float] | None = None,
                     *, order: int = 1, asymptote: float | None = None) -> Extrapolation:
    """``y = a + s exp(p(x))`` with ``p`` a polynomial of ``order``, at 0 (Mitiq's poly-exponential).

    With ``asymptote`` known (``0`` for a Pauli expectation under depolarizing noise,
    ``2**-n`` for the probability of one outcome of ``n`` qubits) ``log|y - a|`` is fitted
    by least squares (``order + 1`` points needed); otherwise ``a`` is fitted too, by
    minimizing that residual (``order + 2`` points needed). ``params``: ``asymptote``,
    ``sign``, ``coefficients`` of ``p``. Standard error by the delta method.

    Raises:
        ExtrapolationError: too few points, or values on both sides of the asymptote.

    Examples:
        >>> x = [1, 2, 3]
        >>> round(poly_exponential(x, [0.2 + 0.7 * math.exp(-0.3 * v - 0.02 * v * v) for v in x], order=2,
        ...                        asymptote=0.2).value, 10)
        0.9
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ArgumentTypeError(f"poly_exponential: order must be a positive integer, got {order!r}")
    x, y, s = _inputs(scale_factors, values, stderrs, order + (1 if asymptote is not None else 2),
                      "poly_exponential")

    def value_of(vals: np.ndarray) -> float:
        a = float(asymptote) if asymptote is not None else _fit_asymptote(x, vals, order)
        sign, coef, _ = _logfit(x, vals, a, order)
        return a + sign * math.exp(coef[0])

    value, grad, stderr = _delta(value_of, y, s)
    a = float(asymptote) if asymptote is not None else _fit_asymptote(x, y, order)
    sign, coef, _ = _logfit(x, y, a, order)
    return Extrapolation(value, stderr, tuple(float(g) for g in grad), "poly_exponential",
                         {"asymptote": a, "sign": sign, "coefficients": [float(c) for c in coef]})


def exponential(scale_factors: Sequence[float], values: Sequence[float], stderrs: Sequence[float] | None = None,
                *, asymptote: float | None = None) -> Extrapolation:
    """``y = a + b exp(-c x)``, at 0: :func:`poly_exponential` of order 1 (asymptote known or fitted).

    ``params`` adds ``rate`` (``c``). With the asymptote known two scale factors suffice, three otherwise.

    Examples:
        >>> x = [1, 2, 3]
        >>> e = exponential(x, [0.1 + 0.8 * math.exp(-0.4 * v) for v in x])   # asymptote fitted
        >>> round(e.value, 6), round(e.params["asymptote"], 6), round(e.params["rate"], 6)
        (0.9, 0.1, 0.4)
    """
    out = poly_exponential(scale_factors, values, stderrs, order=1, asymptote=asymptote)
    rate = -out.params["coefficients"][1]
    return Extrapolation(out.value, out.stderr, out.weights, "exponential", {**out.params, "rate": rate})


def adaptive_exponential(scale_factors: Sequence[float], values: Sequence[float],
                         stderrs: Sequence[float] | None = None, *, asymptote: float | None = None) -> Extrapolation:
    """The exponential fit of Mitiq's adaptive factory: asymptote fitted when 3+ points allow, else known.

    The adaptivity is in the scale factors: :func:`next_scale_factor` picks each next one
    from the decay rate fitted so far (``zne(extrapolation="adaptive_exponential")`` runs
    the loop). Falls back to the given ``asymptote`` (default 0) when the fitted one fails.

    Examples:
        >>> x = [1, 2, 3.5]
        >>> round(adaptive_exponential(x, [0.05 + 0.9 * math.exp(-0.5 * v) for v in x]).value, 6)
        0.95
    """
    x = np.asarray(scale_factors, dtype=float)
    if asymptote is None and len(np.unique(x)) >= 3:
        try:
            out = exponential(scale_factors, values, stderrs)
        except ExtrapolationError:
            out = exponential(scale_factors, values, stderrs, asymptote=0.0)
    else:
        out = exponential(scale_factors, values, stderrs, asymptote=0.0 if asymptote is None else asymptote)
    return Extrapolation(out.value, out.stderr, out.weights, "adaptive_exponential", out.params)


def next_scale_factor(scale_factors: Sequence[float], values: Sequence[float], *, asymptote: float | None = 0.0,
                      max_scale: float = 6.0) -> float:
    """The next scale factor of the adaptive exponential loop: ``1 + 1 / c`` for the fitted rate ``c``.

    Probing where the signal has decayed by ``1/e`` from scale 1 is most informative about the
    rate (Mitiq's AdaExpFactory rule); capped at ``max_scale``, and at least a step of 0.5 beyond the
    largest scale tried so far when the rule would repeat one.

    Examples:
        >>> round(next_scale_factor([1, 2], [0.9 * math.exp(-0.5), 0.9 * math.exp(-1.0)]), 6)
        3.0
    """
    x, y, _ = _inputs(scale_factors, values, None, 2, "next_scale_factor")
    try:
        fit = exponential(list(x), list(y), asymptote=asymptote if asymptote is not None or len(x) < 3 else None)
        rate = float(fit.params["rate"])
    except ExtrapolationError:
        rate = 0.0
    target = max_scale if rate <= 0 else min(max_scale, 1.0 + 1.0 / rate)
    if np.min(np.abs(x - target)) < 0.25:
        target = min(max_scale, float(np.max(x)) + 0.5)
    return float(target)


EXTRAPOLATORS: dict[str, Callable[..., Extrapolation]] = {
    "richardson": richardson,
    "linear": linear,
    "polynomial": polynomial,
    "exponential": exponential,
    "poly_exponential": poly_exponential,
    "adaptive_exponential": adaptive_exponential,
}
"""Extrapolator name -> function (``extrapolate`` and ``zne(extrapolation=...)`` take these names)."""


def extrapolate(method: str, scale_factors: Sequence[float], values: Sequence[float],
                stderrs: Sequence[float] | None = None, **options: Any) -> Extrapolation:
    """Run the extrapolator named ``method`` (a key of :data:`EXTRAPOLATORS`) with its ``options``.

    Raises:
        ArgumentTypeError: an unknown name (the known ones listed).

    Examples:
        >>> x, y = [1, 2, 3], [0.9, 0.8, 0.7]
        >>> extrapolate("polynomial", x, y, order=1).value == linear(x, y).value
        True
    """
    if method not in EXTRAPOLATORS:
        raise ArgumentTypeError(f"unknown extrapolation {method!r}; known: {', '.join(EXTRAPOLATORS)}")
    return EXTRAPOLATORS[method](scale_factors, values, stderrs, **options)


def allocate_shots(total: int, weights: Sequence[float], sigmas: Sequence[float] | None = None, *,
                   minimum: int = 1) -> list[int]:
    """Shots per scale factor minimizing ``sum w_i^2 sigma_i^2 / n_i`` at ``sum n_i = total``.

    ``n_i`` proportional to ``|w_i| sigma_i`` (Lagrange), rounded by largest remainder, each at
    least ``minimum`` (a scale with weight 0 still gets ``minimum`` to be measured at all).

    Args:
        total: shots to split.
        weights: the extrapolation's ``weights``.
        sigmas: per-shot standard deviations at each scale (default all 1).
        minimum: the least shots of any scale.

    Raises:
        ArgumentTypeError: ``total`` below ``minimum * len(weights)``, mismatched lengths.

    Examples:
        >>> allocate_shots(7000, [3, -3, 1])
        [3000, 3000, 1000]
        >>> allocate_shots(1000, [1, 0], minimum=10)
        [990, 10]
    """
    w = np.abs(np.asarray(weights, dtype=float))
    sig = np.ones_like(w) if sigmas is None else np.asarray(sigmas, dtype=float)
    if sig.shape != w.shape:
        raise ArgumentTypeError(f"allocate_shots: {w.size} weights but {sig.size} sigmas")
    total, minimum = int(total), int(minimum)
    if total < minimum * w.size:
        raise ArgumentTypeError(f"allocate_shots: {total} shots cannot give {w.size} scale factors "
                                f"{minimum} shots each")
    share = w * np.maximum(sig, 1e-12)
    if share.sum() <= 0:
        share = np.ones_like(share)
    free = total - minimum * w.size
    raw = free * share / share.sum()
    base = np.floor(raw).astype(int)
    rest = free - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return [int(minimum + b) for b in base]


def shot_noise_amplification(weights: Sequence[float], allocation: str = "uniform",
                             sigmas: Sequence[float] | None = None) -> float:
    """Standard error of the extrapolation over the unmitigated one, at equal total shots.

    The unmitigated estimate spends every shot at scale 1 (``sigmas[0]`` per shot).

    Args:
        weights: the extrapolation's ``weights``.
        allocation: ``"uniform"`` (``sqrt(m sum w^2 sigma^2) / sigma_1``) or ``"optimal"``
            (``sum |w| sigma / sigma_1``, :func:`allocate_shots`).
        sigmas: per-shot standard deviations at each scale (default all 1).

    Examples:
        >>> w = linear([1, 2, 3], [0, 0, 0]).weights
        >>> round(shot_noise_amplification(w), 2), round(shot_noise_amplification(w, "optimal"), 2)
        (2.65, 2.33)
    """
    w = np.asarray(weights, dtype=float)
    sig = np.ones_like(w) if sigmas is None else np.asarray(sigmas, dtype=float)
    if allocation == "uniform":
        return float(np.sqrt(w.size * np.sum(w**2 * sig**2)) / sig[0])
    if allocation == "optimal":
        return float(np.sum(np.abs(w) * sig) / sig[0])
    raise ArgumentTypeError(f"allocation must be 'uniform' or 'optimal', got {allocation!r}")
