"""Exponential extrapolation with a learned prior on the decay rate (trained once per device and structure).

Under gate noise an expectation value decays roughly as ``v(s) = v_0 e^{-lam s}`` with the noise
scale ``s``, and the exponential fit through scales 1 and ``s`` is nearly unbiased (on the
brickwork circuits of bench/mitigation.py, DEV instances, exact noisy values: 0.0011 mean
absolute bias on ``<Z_i>``, against 0.0048 for the linear fit on the same scales). Its weakness is
shot noise: ``lam`` comes from the ratio of two noisy values, so a small ``|v|`` gives a wild
``lam``. Circuits of the same structure share most of their decay: on those brickwork circuits
the exact ``lam`` of every ``<Z_i>`` lies around 0.12 with a spread of 0.04, on training and
DEV instances alike.

:func:`learned_decay` learns that spread once per observable and device: each training circuit
(circuits of the target's structure, or their near-Clifford variants, whose ideal values are
computed exactly) is measured at scale 1 with ``train_shots`` (a one-off cost, reported in
``MitigationResult.one_off_shots``), giving ``lam_c = log(ideal / noisy)``; the prior is their
mean and spread, both weighted by ``ideal**2`` (the value's error is ``|v_0|`` times the rate's
error), the spread less the measurements' own noise. Each target is then measured at scale 1
(``share`` of the shots) and at ``scale`` (the rest, global folding); the measured rate and its
variance are combined with the prior (precision-weighted, the Gaussian posterior mean), and the
estimate is ``v_1 e^{lam_post}``. So an observable with a clear decay is extrapolated with its own
rate and a small one borrows the family's, per circuit, by estimated variance. ``share=1`` spends
every shot at scale 1 and rescales by the prior alone (a per-device rescaling, through the origin).

The standard error is ``sqrt((e^lam_post sigma_1)^2 + v^2 var_post)``: the scale-1 noise and the
posterior variance of the rate (which includes the prior's spread, the model's own error).

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.mitigate import execute, readout, simulator_executor
    >>> from qtandem.noise import NoiseModel, depolarizing
    >>> noise = NoiseModel().add(depolarizing(0.02), gates=["rz", "sx", "x"]).add(depolarizing(0.04, 2), gates=["cx"])
    >>> def layer(a, b):
    ...     return Circuit(2).sx(0).rz(a, 0).sx(0).sx(1).rz(b, 1).sx(1).cx(0, 1)
    >>> train = [layer(0.3 * k, 0.2 * k + 0.1) for k in range(8)]
    >>> method = learned_decay(train, train_shots=20_000)
    >>> res = execute(layer(0.5, 1.0), "Z0", simulator_executor(noise, seed=1), methods=[method],
    ...               shots=40_000, seed=2, raw=False)
    >>> res.one_off_shots, res.shots_used, res.details["prior"]["n"]
    (160000, 40000, 8)
    >>> ideal = -math.cos(0.5)
    >>> bool(abs(res.value - ideal) < 3 * res.stderr < abs(res.details["noisy"][0] - ideal))
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate.core import Context, Estimate, Estimator, split_shots
from qtandem.random import Seed, as_generator

__all__ = ["LearnedDecay", "cone_error", "decay_prior", "learned_decay", "posterior_rate"]

MIN_SPREAD = 0.005
"""Floor of the prior's spread (a prior never pins the rate exactly)."""


def decay_prior(ideal: Sequence[float], noisy: Sequence[float], stderr: Sequence[float], *,
                min_ideal: float = 0.05, errors: Sequence[float] | None = None) -> dict[str, float] | None:
    """Mean and spread of ``lam = log(ideal / noisy)`` over training circuits, weighted by ``ideal**2``.

    A circuit counts when ``|ideal| >= min_ideal``, its noisy value has the same sign and is three
    standard errors away from 0. The spread is the weighted standard deviation less the measurements'
    own noise (``stderr / |noisy|`` per circuit), floored at :data:`MIN_SPREAD`. With ``errors``
    (each circuit's calibrated gate error in the observable's light cone, :func:`cone_error`) the
    prior is on the rate per unit of error, ``lam / error``, and the floor scales with the mean error.

    Returns:
        ``{"mean", "spread", "n"}``, or ``None`` with fewer than three usable circuits.

    Examples:
        >>> p = decay_prior([1.0, -0.5, 0.8, 0.0], [0.9, -0.44, 0.7, 0.01], [0.001] * 4)
        >>> round(p["mean"], 3), p["n"]
        (0.118, 3)
        >>> decay_prior([1.0], [0.9], [0.01]) is None
        True
    """
    i = np.asarray(ideal, dtype=float)
    v = np.asarray(noisy, dtype=float)
    s = np.asarray(stderr, dtype=float)
    if not (len(i) == len(v) == len(s)):
        raise ArgumentTypeError("decay_prior: ideal, noisy and stderr need the same length")
    e = np.ones_like(i) if errors is None else np.asarray(errors, dtype=float)
    if len(e) != len(i):
        raise ArgumentTypeError("decay_prior: errors needs one entry per circuit")
    ok = (np.abs(i) >= min_ideal) & (i * v > 0) & (np.abs(v) > 3 * s) & (e > 0)
    if int(ok.sum()) < 3:
        return None
    lam = np.log(i[ok] / v[ok]) / e[ok]
    w = i[ok] ** 2
    mean = float(np.sum(w * lam) / np.sum(w))
    var = float(np.sum(w * (lam - mean) ** 2) / np.sum(w))
    noise = float(np.sum(w * (s[ok] / np.abs(v[ok]) / e[ok]) ** 2) / np.sum(w))
    floor = MIN_SPREAD / float(np.mean(e[ok]))
    return {"mean": mean, "spread": max(math.sqrt(max(var - noise, 0.0)), floor), "n": int(ok.sum())}


def cone_error(circuit: Circuit, observable: Any, noise: Any) -> float:
    """Summed calibrated gate error (process infidelities) of the gates in the observable's backward light cone.

    ``observable`` is a parsed :class:`~qtandem.mitigate.observable.Observable` (a ``P(bits)`` one covers
    every qubit; a Pauli sum the union of its terms' supports). NaN when nothing is known about the device.

    Examples:
        >>> from qtandem.mitigate.observable import parse_observable
        >>> from qtandem.noise import NoiseModel, depolarizing
        >>> model = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"])
        >>> c = Circuit(3).cx(0, 1).cx(1, 2)
        >>> [round(cone_error(c, parse_observable(z, 3), model), 4) for z in ("Z0", "Z2")]
        [0.01, 0.02]
    """
    from qtandem.mitigate.features import gate_error, noise_model_of

    model = noise_model_of(noise, circuit.n_qubits)
    if model is None:
        return math.nan
    pauli = getattr(observable, "pauli", None)
    cone = set(range(circuit.n_qubits)) if pauli is None else {q for _, word in pauli.terms for q, _ in word}
    total = 0.0
    for inst in reversed(list(circuit)):
        if inst.name in ("barrier", "measure", "delay", "reset") or not cone.intersection(inst.qubits):
            continue
        total += gate_error(model, inst)
        cone.update(inst.qubits)
    return total


def posterior_rate(value_1: float, stderr_1: float, value_s: float | None, stderr_s: float | None, scale: float,
                   prior: dict[str, float] | None) -> tuple[float, float, float]:
    """The decay rate from scales 1 and ``scale`` combined with ``prior``: ``(rate, variance, weight)``.

    ``weight`` is the measured rate's share of the posterior (0: the prior alone, 1: no prior).
    Without a usable measurement (no second scale, opposite signs, a zero) the prior is returned;
    without both, the rate 0 with infinite variance.

    Examples:
        >>> rate, var, w = posterior_rate(0.8, 0.001, 0.8 * math.exp(-0.2), 0.001, 3.0, None)
        >>> round(rate, 6), w
        (0.1, 1.0)
        >>> rate, var, w = posterior_rate(0.01, 0.003, 0.009, 0.003, 3.0, {"mean": 0.12, "spread": 0.04})
        >>> round(rate, 2), w < 0.05
        (0.12, True)
    """
    measured, mvar = 0.0, math.inf
    if value_s is not None and stderr_s is not None and value_1 * value_s > 0:
        k = float(scale) - 1.0
        measured = math.log(abs(value_1) / abs(value_s)) / k
        mvar = ((stderr_1 / value_1) ** 2 + (stderr_s / value_s) ** 2) / k**2
    if prior is None:
        return measured, mvar, 1.0
    tau2 = float(prior["spread"]) ** 2
    if not math.isfinite(mvar):
        return float(prior["mean"]), tau2, 0.0
    if mvar == 0.0:
        return measured, 0.0, 1.0
    prec = 1.0 / tau2 + 1.0 / mvar
    weight = (1.0 / mvar) / prec
    return weight * measured + (1.0 - weight) * float(prior["mean"]), 1.0 / prec, weight


class LearnedDecay:
    """The method of :func:`learned_decay` (module docs).

    Attributes:
        name: ``"learned_decay"``.
        fitted: the priors, by (observable, qubits, device): reused by later calls.

    Examples:
        >>> m = learned_decay([Circuit(1).sx(0)] * 3)
        >>> m.name, m.fitted
        ('learned_decay', {})
    """

    name = "learned_decay"

    def __init__(self, training: Sequence[Circuit], *, scale: float = 3.0, share: float = 0.7,
                 train_shots: int = 100_000, clifford: bool = False, min_ideal: float = 0.05,
                 relative: bool = False, seed: int = 0) -> None:
        if isinstance(training, Circuit) or not training or not all(isinstance(c, Circuit) for c in training):
            raise ArgumentTypeError("learned_decay: training is a non-empty list of qtandem Circuits of the "
                                    "target's structure")
        if not math.isfinite(float(scale)) or float(scale) <= 1:
            raise ArgumentTypeError(f"learned_decay: scale must be a noise scale factor > 1, got {scale!r}")
        if not 0 < float(share) <= 1:
            raise ArgumentTypeError(f"learned_decay: share (of the shots at scale 1) must be in (0, 1], got {share!r}")
        if isinstance(train_shots, bool) or int(train_shots) < 1:
            raise ArgumentTypeError(f"learned_decay: train_shots must be a positive integer, got {train_shots!r}")
        self.training = list(training)
        self.scale = float(scale)
        self.share = float(share)
        self.train_shots = int(train_shots)
        self.clifford = bool(clifford)
        self.min_ideal = float(min_ideal)
        self.relative = bool(relative)
        self.seed = int(seed)
        self.fitted: dict[tuple[Any, ...], dict[str, Any]] = {}

    def _key(self, context: Context) -> tuple[Any, ...]:
        noise = context.noise
        try:
            fingerprint = noise.to_json() if hasattr(noise, "to_json") else id(noise)
        except Exception:
            fingerprint = id(noise)
        return (context.observable.text, context.n_qubits, fingerprint)

    def train(self, inner: Estimator, context: Context) -> dict[str, Any]:
        """The prior for this observable and device (trained on first use; the shots are one-off)."""
        from qtandem.mitigate.features import near_clifford

        key = self._key(context)
        if key in self.fitted:
            return self.fitted[key]
        rng = as_generator(self.seed)
        circuits: list[Circuit] = []
        for src in self.training:
            if src.n_qubits != context.n_qubits:
                raise ArgumentTypeError(f"learned_decay: a training circuit has {src.n_qubits} qubits, the target "
                                        f"{context.n_qubits}")
            if self.clifford:
                circuits += near_clifford(src, 1, fraction=0.0, seed=0)
                circuits += near_clifford(src, 3, fraction=(0.1, 1.0), seed=int(rng.integers(2**62)))
            else:
                circuits.append(src)
        ideal = [context.observable.exact(c) for c in circuits]
        with context.executor.charged_to("learned_decay_training"):
            ests = inner(circuits, [self.train_shots] * len(circuits), int(rng.integers(2**62)))
        errors = None
        if self.relative:
            errors = [cone_error(c, context.observable, context.noise) for c in circuits]
            if not all(math.isfinite(e) and e > 0 for e in errors):
                raise ArgumentTypeError("learned_decay(relative=True) needs the device's calibration: "
                                        "execute(..., noise=NoiseModel or Device)")
        prior = decay_prior(ideal, [e.value for e in ests], [e.stderr for e in ests], min_ideal=self.min_ideal,
                            errors=errors)
        entry = {"prior": prior, "n_train": len(circuits)}
        self.fitted[key] = entry
        return entry

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """The estimator: scale 1 and ``scale`` measured, the rate combined with the learned prior."""
        from qtandem.mitigate.folding import fold_global

        def estimate(circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed = None) -> list[Estimate]:
            circuits, shots = list(circuits), [int(s) for s in shots]
            if not circuits:
                return []
            rng = as_generator(seed)
            learned = self.train(estimator, context)["prior"]
            out = []
            for circuit, total in zip(circuits, shots, strict=True):
                prior = learned
                if learned is not None and self.relative:  # the rate per unit of error, times this circuit's error
                    e = cone_error(circuit, context.observable, context.noise)
                    prior = {**learned, "mean": learned["mean"] * e, "spread": learned["spread"] * e, "error": e}
                if self.share < 1 and total >= 2:
                    n1, ns = split_shots(total, [self.share, 1 - self.share])
                    a, b = estimator([circuit, fold_global(circuit, self.scale)], [n1, ns], int(rng.integers(2**62)))
                else:
                    a, b = estimator([circuit], [total], int(rng.integers(2**62)))[0], None
                rate, var, weight = posterior_rate(a.value, a.stderr, None if b is None else b.value,
                                                   None if b is None else b.stderr, self.scale, prior)
                if not math.isfinite(var):  # no prior and no usable decay: the scale-1 value
                    rate, var = 0.0, 0.0
                value = a.value * math.exp(rate)
                err = math.sqrt((math.exp(rate) * a.stderr) ** 2 + value**2 * var)
                details: dict[str, Any] = {
                    "rate": rate, "rate_stderr": math.sqrt(var), "measured_weight": weight,
                    "prior": None if prior is None else dict(prior), "scale": self.scale,
                    "noisy": [a.value] + ([] if b is None else [b.value]),
                    "noisy_stderr": [a.stderr] + ([] if b is None else [b.stderr])}
                out.append(Estimate(value, err, a.shots + (0 if b is None else b.shots), details))
            return out

        return estimate


def learned_decay(training: Sequence[Circuit], *, scale: float = 3.0, share: float = 0.7, train_shots: int = 100_000,
                  clifford: bool = False, min_ideal: float = 0.05, relative: bool = False,
                  seed: int = 0) -> LearnedDecay:
    """Exponential extrapolation whose decay rate is shrunk toward a learned prior: ``[readout(), learned_decay(...)]``.

    Keep one instance to reuse its priors across circuits of the same family (training is a one-off
    cost per observable and device).

    Args:
        training: circuits of the targets' structure (ideal values computed exactly by statevector).
        scale: the second noise scale (global folding).
        share: the share of the shots at scale 1 (``1``: every shot at scale 1, the prior's rate alone).
        train_shots: shots per training circuit (one-off).
        clifford: train on near-Clifford variants of ``training`` (4 per circuit) instead of the circuits.
        min_ideal: training circuits with a smaller ``|ideal|`` are not used.
        relative: learn the rate per unit of calibrated gate error in the observable's light cone
            (:func:`cone_error`; needs ``execute(..., noise=...)``), so circuits with more or fewer gates
            in the cone get a proportionally larger or smaller prior rate.
        seed: seed of the training set and of the measurements.

    Returns:
        A :class:`LearnedDecay` method.

    Raises:
        ArgumentTypeError: no training circuits, ``scale <= 1``, ``share`` outside ``(0, 1]``.

    Examples:
        >>> learned_decay([Circuit(1).sx(0)], share=1.0).share
        1.0
    """
    return LearnedDecay(training, scale=scale, share=share, train_shots=train_shots, clifford=clifford,
                        min_ideal=min_ideal, relative=relative, seed=seed)
