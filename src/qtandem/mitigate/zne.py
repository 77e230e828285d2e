"""Zero-noise extrapolation as a mitigation :class:`~qtandem.mitigate.core.Method`: :func:`zne`.

Each circuit is run at several noise scales (unitary folding, or parameter scaling on
qtandem's simulator, :mod:`qtandem.mitigate.folding`) and the values extrapolated to scale
0 (:mod:`qtandem.mitigate.extrapolate`). The shots given for a circuit are split among its
scales:

* ``allocation="uniform"``: equally;
* ``allocation="optimal"`` (default): a pilot (``pilot`` of the shots, equally) measures each
  scale's per-shot standard deviation ``sigma_i`` and the extrapolation's weights ``w_i``
  (exact for the linear extrapolators, the fit's gradient on the pilot values otherwise),
  then the rest goes where it lowers the extrapolated variance most: totals ``n_i``
  proportional to ``|w_i| sigma_i`` (:func:`~qtandem.mitigate.extrapolate.allocate_shots`).
  Each scale's value is the mean of all its shots (pilot included).

The extrapolation uses the realized scales (:func:`noise_scale`: ratios of summed gate errors
when the noise is known, ``execute(..., noise=...)``, see :func:`gate_errors`; else of gate counts), and its
standard error propagates the inner estimators' (exactly for linear extrapolators, by the
delta method otherwise). A nonlinear fit the data cannot support (values on both sides of
the asymptote, or, for the exponential ones, a value within :data:`SIGNIFICANCE` standard
errors of it) falls back to a linear fit and says so in ``details["fallback"]``.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.mitigate import execute, simulator_executor
    >>> from qtandem.noise import NoiseModel, depolarizing
    >>> noise = NoiseModel().add(depolarizing(0.02), gates=["sx", "x", "rz"]).add(depolarizing(0.05, 2), gates=["cx"])
    >>> c = Circuit(2).x(0).cx(0, 1).cx(0, 1).cx(0, 1)      # |11>: Z1 = -1 ideally
    >>> res = execute(c, "Z1", simulator_executor(noise, seed=1), methods=[zne()], shots=40000, seed=2, noise=noise)
    >>> round(res.raw, 2), round(res.value, 2), round(res.stderr, 2)
    (-0.83, -1.01, 0.01)
    >>> res.details["realized_scales"]                      # the default folds whole circuits: scales 1 and 3
    [1.0, 3.0]
    >>> part = execute(c, "Z1", simulator_executor(noise, seed=1), methods=[zne([1, 1.5, 2])], shots=40000, seed=2,
    ...                noise=noise)
    >>> [round(s, 3) for s in part.details["realized_scales"]]   # error-weighted: partial folds of 1 and 2 cx
    [1.0, 1.588, 2.176]
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate.core import Context, Estimate, Estimator
from qtandem.mitigate.extrapolate import (
    EXTRAPOLATORS,
    Extrapolation,
    ExtrapolationError,
    allocate_shots,
    extrapolate,
    linear,
    next_scale_factor,
)
from qtandem.mitigate.folding import _as_model, fold_gates, fold_global, noise_scale, scale_noise
from qtandem.random import Seed, as_generator

__all__ = ["ZNE", "gate_errors", "zne"]

SCALINGS = ("fold_global", "fold_random", "fold_left", "fold_right", "parameter")
SIGNIFICANCE = 2.0
"""An exponential fit (asymptote known) falls back to a linear one when a value is within this many standard
errors of the asymptote: the log of a value that is not significantly away from it is noise, and the fit can
blow up (seen on a Trotter-10 TEST instance, <Z> = 0.035: 0.34 instead of ~0.035)."""
_NONLINEAR = ("exponential", "poly_exponential", "adaptive_exponential")


class ZNE:
    """Zero-noise extrapolation (see :func:`zne`, which checks the arguments).

    Examples:
        >>> zne(scale_factors=[1, 3], extrapolation="linear").name
        'zne'
    """

    name = "zne"

    def __init__(self, scale_factors: Sequence[float], extrapolation: str, scaling: str, allocation: str,
                 pilot: float, options: dict[str, Any]) -> None:
        self.scale_factors = [float(s) for s in scale_factors]
        self.extrapolation = extrapolation
        self.scaling = scaling
        self.allocation = allocation
        self.pilot = float(pilot)
        self.options = dict(options)
        self._weights: tuple[Any, dict[str, float]] | None = None  # (noise, its gate errors)

    def __repr__(self) -> str:
        return (f"zne(scale_factors={self.scale_factors}, extrapolation={self.extrapolation!r}, "
                f"scaling={self.scaling!r}, allocation={self.allocation!r})")

    # -- building blocks -----------------------------------------------------------------------------------------
    def _scaled(self, circuit: Circuit, scale: float, seed: int, context: Context) -> Circuit:
        if self.scaling == "parameter":
            return circuit
        if self.scaling == "fold_global":
            return fold_global(circuit, scale, weights=self._errors(context) or None)
        where = self.scaling.removeprefix("fold_")
        return fold_gates(circuit, scale, where=where, seed=seed)

    def _asymptote(self, context: Context) -> float | None:
        given = self.options.get("asymptote", "auto")
        if given != "auto":
            return None if given is None else float(given)
        obs = context.observable
        return float(obs.constant) if obs.pauli is not None else 2.0 ** -context.n_qubits

    def _fit(self, x: Sequence[float], y: Sequence[float], s: Sequence[float], context: Context) -> Extrapolation:
        opts = {k: v for k, v in self.options.items() if k != "asymptote"}
        if self.extrapolation in _NONLINEAR:
            opts["asymptote"] = self._asymptote(context)
        return extrapolate(self.extrapolation, x, y, s, **opts)

    @contextlib.contextmanager
    def _scaled_noise(self, context: Context, scale: float, seed: int) -> Iterator[None]:
        """Parameter scaling: the context's executor samples qtandem's simulator of the scaled noise."""
        if self.scaling != "parameter" or scale == 1.0:
            yield
            return
        from qtandem.mitigate.executors import simulator_executor

        counter = context.executor
        saved = counter.executor, counter.seeded
        counter.executor, counter.seeded = simulator_executor(scale_noise(context.noise, scale), seed=seed), True
        try:
            yield
        finally:
            counter.executor, counter.seeded = saved

    def _run(self, estimator: Estimator, context: Context, jobs: list[tuple[Circuit, float, int]],
             rng: np.random.Generator) -> list[Estimate]:
        """Estimates of ``(scaled circuit, scale, shots)`` jobs; parameter scaling runs one batch per scale."""
        out: list[Estimate | None] = [None] * len(jobs)
        by_scale: dict[float, list[int]] = {}
        for j, (_, scale, n) in enumerate(jobs):
            if n > 0:
                by_scale.setdefault(scale if self.scaling == "parameter" else 0.0, []).append(j)
        for scale, idx in by_scale.items():
            with self._scaled_noise(context, scale, int(rng.integers(2**62))):
                got = estimator([jobs[j][0] for j in idx], [jobs[j][2] for j in idx], int(rng.integers(2**62)))
            for j, e in zip(idx, got, strict=True):
                out[j] = e
        return [e if e is not None else Estimate(math.nan, math.inf, 0) for e in out]

    # -- the method ----------------------------------------------------------------------------------------------
    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """The ZNE estimator on top of ``estimator`` (see the module docs)."""
        if self.scaling == "parameter" and context.noise is None:
            raise ArgumentTypeError("zne(scaling='parameter') scales a known noise model: pass noise= (a NoiseModel, "
                                    "Device or Calibration) to execute(), or use scaling='fold_global'")

        def estimate(circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed) -> list[Estimate]:
            rng = as_generator(seed)
            circuits, shots = list(circuits), [int(s) for s in shots]
            if self.extrapolation == "adaptive_exponential":
                return self._adaptive(estimator, context, circuits, shots, rng)
            return self._static(estimator, context, circuits, shots, rng)

        return estimate

    def _errors(self, context: Context) -> dict[str, float]:
        if self._weights is None or self._weights[0] is not context.noise:  # a method may serve several calls
            self._weights = (context.noise, gate_errors(context.noise) if context.noise is not None else {})
        return self._weights[1]

    def _realized(self, circuit: Circuit, scaled: Circuit, scale: float, context: Context) -> float:
        if self.scaling == "parameter":
            return scale
        return noise_scale(circuit, scaled, weights=self._errors(context) or None)

    def _plan(self, circuits: list[Circuit], rng: np.random.Generator, scales: Sequence[float],
              context: Context) -> list[tuple[list[Circuit], list[float]]]:
        plans = []
        seen: dict[int, tuple[list[Circuit], list[float]]] = {}  # deterministic scalings: one fold per object
        for c in circuits:
            if id(c) in seen and self.scaling in ("fold_global", "parameter"):
                plans.append(seen[id(c)])
                continue
            scaled = [self._scaled(c, s, int(rng.integers(2**62)), context) for s in scales]
            plans.append((scaled, [self._realized(c, f, s, context) for f, s in zip(scaled, scales, strict=True)]))
            seen[id(c)] = plans[-1]
        return plans

    def _static(self, estimator: Estimator, context: Context, circuits: list[Circuit], shots: list[int],
                rng: np.random.Generator) -> list[Estimate]:
        m = len(self.scale_factors)
        plans = self._plan(circuits, rng, self.scale_factors, context)
        floor = int(self.options.get("min_shots", 16))
        pilot = [0] * len(circuits)
        if self.allocation == "optimal":
            pilot = [max(floor, int(self.pilot * n / m)) if n >= 4 * m * floor else 0 for n in shots]
        first: list[list[Estimate]] = [[] for _ in circuits]
        if any(pilot):
            jobs = [(f, r, pilot[i]) for i, (sc, rs) in enumerate(plans) for f, r in zip(sc, rs, strict=True)]
            got = self._run(estimator, context, jobs, rng)
            first = [got[i * m:(i + 1) * m] for i in range(len(circuits))]
        targets = []
        for i, (n, (_, realized)) in enumerate(zip(shots, plans, strict=True)):
            if pilot[i]:
                targets.append(self._optimal(n, pilot[i], realized, first[i], context))
            else:
                targets.append(allocate_shots(n, [1.0] * m, minimum=1 if n >= m else 0))
        jobs = [(f, r, targets[i][k] - pilot[i]) for i, (sc, rs) in enumerate(plans)
                for k, (f, r) in enumerate(zip(sc, rs, strict=True))]
        got = self._run(estimator, context, jobs, rng)
        out = []
        for i, (_, realized) in enumerate(plans):
            second = got[i * m:(i + 1) * m]
            merged = [_merge(first[i][k] if pilot[i] else None, second[k]) for k in range(m)]
            out.append(self._finish(realized, merged, context, {"allocation": self.allocation,
                                                                "pilot_shots": pilot[i] * m}))
        return out

    def _optimal(self, total: int, pilot: int, realized: list[float], first: list[Estimate],
                 context: Context) -> list[int]:
        values = [e.value for e in first]
        sig = [max(e.stderr * math.sqrt(max(e.shots, 1)), 1e-3 * context.observable.bound) for e in first]
        try:
            weights = self._fit(realized, values, None, context).weights  # type: ignore[arg-type]
        except ExtrapolationError:
            weights = linear(realized, values).weights
        if not np.all(np.isfinite(weights)):
            weights = tuple(1.0 for _ in realized)
        return allocate_shots(total, weights, sig, minimum=pilot)

    def _significant(self, values: Sequence[float], errs: Sequence[float], context: Context) -> None:
        """An exponential fit with a known asymptote needs every value clearly away from it (else its log is noise).

        Raises:
            ExtrapolationError: a value within ``SIGNIFICANCE`` standard errors of the asymptote.
        """
        if self.extrapolation not in _NONLINEAR:
            return
        a = self._asymptote(context)
        if a is None:
            return
        close = [i for i, (v, e) in enumerate(zip(values, errs, strict=True)) if abs(v - a) < SIGNIFICANCE * e]
        if close:
            raise ExtrapolationError(f"values at scales {close} within {SIGNIFICANCE:g} standard errors of the "
                                     f"asymptote {a:g}")

    def _finish(self, realized: list[float], merged: list[Estimate], context: Context,
                extra: dict[str, Any]) -> Estimate:
        values = [e.value for e in merged]
        errs = [e.stderr for e in merged]
        details: dict[str, Any] = {"extrapolation": self.extrapolation, "scaling": self.scaling,
                                   "scale_factors": list(self.scale_factors), "realized_scales": realized,
                                   "values": values, "stderrs": errs, "shots": [e.shots for e in merged], **extra}
        try:
            self._significant(values, errs, context)
            fit = self._fit(realized, values, errs, context)
        except ExtrapolationError as err:
            fit = linear(realized, values, errs)
            details["fallback"] = f"linear ({err})"
        details["weights"] = list(fit.weights)
        inner = [e.details for e in merged if e.details]
        if inner:
            details["inner"] = inner[0]
        return Estimate(float(fit.value), float(fit.stderr), int(sum(e.shots for e in merged)), details)

    def _adaptive(self, estimator: Estimator, context: Context, circuits: list[Circuit], shots: list[int],
                  rng: np.random.Generator) -> list[Estimate]:
        """Mitiq's adaptive exponential loop: the first two scales given, each next one from the fit so far."""
        steps = max(3, len(self.scale_factors))
        max_scale = float(self.options.get("max_scale", 6.0))
        scales = [list(self.scale_factors[:2]) for _ in circuits]
        done: list[list[Estimate]] = [[] for _ in circuits]
        realized: list[list[float]] = [[] for _ in circuits]
        per = [allocate_shots(n, [1.0] * steps, minimum=1 if n >= steps else 0) for n in shots]
        for step in range(steps):
            if step >= 2:
                for i in range(len(circuits)):
                    nxt = next_scale_factor(realized[i], [e.value for e in done[i]],
                                            asymptote=self._asymptote(context), max_scale=max_scale)
                    scales[i].append(nxt)
            jobs = []
            for i, c in enumerate(circuits):
                s = scales[i][step]
                f = self._scaled(c, s, int(rng.integers(2**62)), context)
                r = self._realized(c, f, s, context)
                realized[i].append(r)
                jobs.append((f, r, per[i][step]))
            for i, e in enumerate(self._run(estimator, context, jobs, rng)):
                done[i].append(e)
        return [self._finish(realized[i], done[i], context, {"allocation": "uniform", "chosen_scales": scales[i]})
                for i in range(len(circuits))]


def gate_errors(noise: Any) -> dict[str, float]:
    """Error weight per gate name of a noise model (Device, Calibration): process infidelities.

    ``1 - Tr(PTM) / 4**k`` of every rule's channel that follows the gate, summed over the rules
    that cover one instance of the gate, then averaged over the qubits (or qubit tuples) that
    rules restricted to some qubits name (a device has one rule per qubit and per coupling:
    summing those would weigh a ``cx`` by the number of couplings). ZNE uses them to turn a
    folded circuit's extra gates into its realized noise scale.

    Examples:
        >>> from qtandem.noise import NoiseModel, depolarizing
        >>> m = NoiseModel().add(depolarizing(0.03), gates=["sx", "x"]).add(depolarizing(0.15, 2), gates=["cx"])
        >>> m.add(depolarizing(0.05, 2), gates=["cx"], qubits=[(0, 1)]).add(depolarizing(0.01, 2), gates=["cx"],
        ...                                                                  qubits=[(1, 2)])
        NoiseModel(rules=4, readout=0, idle=no)
        >>> {k: round(v, 6) for k, v in sorted(gate_errors(m).items())}
        {'cx': 0.18, 'sx': 0.03, 'x': 0.03}
    """
    model = _as_model(noise)
    common: dict[str, float] = {}
    specific: dict[str, dict[tuple[int, ...], float]] = {}
    names = {n for r in model.rules if r.gates is not None for n in r.gates}
    for rule in model.rules:
        ptm = rule.channel.ptm()
        infidelity = float(1.0 - ptm.diagonal().real.sum() / ptm.shape[0])
        for name in (rule.gates if rule.gates is not None else names | {"*"}):
            if rule.qubits is None:
                common[name] = common.get(name, 0.0) + infidelity
            else:
                per = specific.setdefault(name, {})
                for qs in rule.qubits:
                    per[qs] = per.get(qs, 0.0) + infidelity
    return {name: common.get(name, 0.0) + (float(np.mean(list(specific[name].values()))) if name in specific else 0.0)
            for name in set(common) | set(specific)}


def _merge(a: Estimate | None, b: Estimate) -> Estimate:
    """Two estimates of one quantity from disjoint shots, as the mean of all their shots."""
    if a is None or a.shots == 0:
        return b
    if b.shots == 0:
        return a
    n = a.shots + b.shots
    value = (a.shots * a.value + b.shots * b.value) / n
    stderr = math.sqrt((a.shots * a.stderr) ** 2 + (b.shots * b.stderr) ** 2) / n
    return Estimate(value, stderr, n, b.details)


def zne(scale_factors: Sequence[float] = (1.0, 3.0), extrapolation: str = "exponential", *,
        scaling: str = "fold_global", allocation: str = "optimal", pilot: float = 0.1,
        **options: Any) -> ZNE:
    """Zero-noise extrapolation (module docs): a method for :func:`qtandem.mitigate.execute`.

    The default, an exponential fit (asymptote known) on scales ``[1, 3]``, folds whole circuits
    only (``G G^dag G``): a fractional scale such as 1.5 folds only the circuit's last gates, so
    what it measures depends on which gates those are (a circuit-dependent bias; the chemistry
    bench saw +-10 mHa from it). Chosen on the DEV instances of bench/mitigation.py (session 34,
    bench/results/mitigation_dev_s34_*.json, 8 families x 2 budgets): geometric-mean absolute
    error 0.0214 against 0.0263 for the previous default ``[1, 1.5, 2]`` (lower in 10 of 16
    cells; higher on deep mirror circuits, where ``zne([1, 1.5, 2])`` stays the better choice),
    and 0.0317 for ``[1, 3, 5]``. Richardson on ``[1, 2, 3]`` amplifies shot noise ~7x and
    misses most of a deep circuit's exponential decay; pass ``zne([1, 2, 3], "richardson")`` for
    Mitiq's default.

    Args:
        scale_factors: noise scales, each ``>= 1``, at least two (``adaptive_exponential``: the
            first two, and their count is the number of steps, at least 3).
        extrapolation: ``"richardson"``, ``"linear"``, ``"polynomial"`` (``order=``),
            ``"exponential"``, ``"poly_exponential"`` (``order=``) or ``"adaptive_exponential"``.
        scaling: ``"fold_global"``, ``"fold_random"``, ``"fold_left"``, ``"fold_right"`` (local
            folding) or ``"parameter"`` (the context's noise model scaled, run on qtandem's simulator:
            the simulated analogue of pulse stretching; needs ``execute(..., noise=...)``).
        allocation: ``"optimal"`` (pilot, then ``n_i ~ |w_i| sigma_i``) or ``"uniform"``.
        pilot: fraction of the shots spent on the pilot of ``"optimal"``.
        **options: passed to the extrapolator (``order=``; ``asymptote=`` for the exponential
            ones: ``"auto"`` (default: the identity term of a Pauli sum, ``2**-n`` for ``"P(b)"``),
            ``None`` to fit it, or a number); ``min_shots`` (16) per scale in the pilot;
            ``max_scale`` (6) of the adaptive loop.

    Returns:
        A :class:`ZNE` method.

    Raises:
        ArgumentTypeError: an unknown extrapolation, scaling or allocation, fewer than two or
            repeated scale factors, a scale below 1, a pilot outside ``(0, 1)``.

    Examples:
        >>> zne()
        zne(scale_factors=[1.0, 3.0], extrapolation='exponential', scaling='fold_global', allocation='optimal')
        >>> zne([1, 3, 5], "exponential", asymptote=None).options
        {'asymptote': None}
    """
    if extrapolation not in EXTRAPOLATORS:
        raise ArgumentTypeError(f"zne: unknown extrapolation {extrapolation!r}; known: {', '.join(EXTRAPOLATORS)}")
    if scaling not in SCALINGS:
        raise ArgumentTypeError(f"zne: unknown scaling {scaling!r}; known: {', '.join(SCALINGS)}")
    if allocation not in ("optimal", "uniform"):
        raise ArgumentTypeError(f"zne: allocation must be 'optimal' or 'uniform', got {allocation!r}")
    try:
        scales = [float(s) for s in scale_factors]
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"zne: scale_factors must be numbers, got {scale_factors!r}") from None
    if len(scales) < 2 or len(set(scales)) != len(scales) or min(scales) < 1 or not all(map(math.isfinite, scales)):
        raise ArgumentTypeError(f"zne: scale_factors must be at least two distinct finite numbers >= 1, got "
                                f"{list(scale_factors)}")
    if not 0 < pilot < 1:
        raise ArgumentTypeError(f"zne: pilot must be in (0, 1), got {pilot!r}")
    return ZNE(scales, extrapolation, scaling, allocation, pilot, options)
