"""A hidden device that drifts away from its published calibration, and a drift test on a workload's own shots.

:func:`hidden_device` draws a device (:meth:`qtandem.device.Device.random`) whose calibration is
*published* (what a user downloads) and which then drifts before the run: T1 and T2 down 30%, a
coherent over-rotation appearing on the ``sx``/``x`` gates of some qubits and on some couplings'
``cx``, readout errors doubling. Every change is expressed with the device JSON's own fields
(``t1``, ``t2``, ``sx_angle_error``, ``x_angle_error``, edge ``angle_error``, ``readout_p01``,
``readout_p10``), so the actual device is an ordinary :class:`~qtandem.device.Device` and its noise
model is :meth:`~qtandem.device.Device.noise_model`'s. The pipeline under test must see the actual
device only through :meth:`HiddenDevice.executor`: shots of qtandem circuits from the noisy
simulator (:func:`qtandem.device.executors.simulator_executor` over the actual device), and, for
QEC experiments, detection events sampled by Stim from the actual device's noise
(:func:`qtandem.qec.noise_map.noisy_circuit`; :meth:`HiddenExecutor.sample_stim`).

:func:`drift_test` compares two runs of a workload (a reference and the current one) column by
column: binary observations (syndrome detectors firing, a measured bit) with an exact conditional
binomial test, real-valued per-shot observations with a Welch z-test, plus one test per observation
on the per-shot total (sensitive to a small change spread over many columns); the p-values are
corrected for multiple testing with Holm's method, so the chance of any false alarm on an undrifted
device stays at most ``alpha`` whatever the correlations between columns.

Examples:
    >>> hidden = hidden_device(8, seed=1)
    >>> pub, act = hidden.published, hidden.actual()
    >>> round(act.qubits[0].t1 / pub.qubits[0].t1, 3), act.qubits[0].readout_p01 > pub.qubits[0].readout_p01
    (0.7, True)
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = {"detectors": rng.random((4000, 6)) < 0.05}
    >>> cur = {"detectors": rng.random((4000, 6)) < np.array([0.05] * 5 + [0.09])}
    >>> test = drift_test(ref, cur)
    >>> test.drifted, test.which
    (True, ['detectors[5]', 'detectors[total]'])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem.device import Device
from qtandem.errors import ArgumentTypeError, ConfigError

if TYPE_CHECKING:
    import stim

    from qtandem.codesign.stages import WorkloadResult
    from qtandem.device.executors import Executor

__all__ = ["DriftSpec", "DriftTest", "HiddenDevice", "HiddenExecutor", "drift_test", "hidden_device"]


@dataclass(frozen=True)
class DriftSpec:
    """How the actual device differs from the published calibration.

    Attributes:
        t1_factor: T1 (and T2) of every qubit times this (``0.7``: down 30%).
        readout_factor: ``readout_p01`` and ``readout_p10`` times this (capped at 0.25).
        over_rotation: rad added to ``sx_angle_error`` (twice that to ``x_angle_error``) of the
            drifted qubits, with a random sign.
        edge_over_rotation: rad added to the ``angle_error`` of the drifted couplings' ``cx``.
        fraction: share of qubits (and of couplings) that get an over-rotation (at least one).
        creep: after the run starts, T1 keeps falling by this fraction per iteration
            (``actual(t)``: ``t1_factor * (1 - creep) ** t``); 0 keeps the actual device fixed.

    Examples:
        >>> DriftSpec().t1_factor, DriftSpec(creep=0.05).creep
        (0.7, 0.05)
    """

    t1_factor: float = 0.7
    readout_factor: float = 2.0
    over_rotation: float = 0.1
    edge_over_rotation: float = 0.05
    fraction: float = 0.3
    creep: float = 0.0

    def __post_init__(self) -> None:
        checks = {"t1_factor": 0 < self.t1_factor <= 10, "readout_factor": 0 <= self.readout_factor <= 20,
                  "fraction": 0 <= self.fraction <= 1, "creep": 0 <= self.creep < 1,
                  "over_rotation": math.isfinite(self.over_rotation),
                  "edge_over_rotation": math.isfinite(self.edge_over_rotation)}
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"drift.{key}: out of range, got {getattr(self, key)!r}")


class HiddenExecutor:
    """The hidden hardware at one iteration: an :data:`~qtandem.device.executors.Executor` plus a Stim sampler.

    Calling it runs qtandem circuits (``executor(circuits, shots, seed=None) -> list of counts``)
    on the noisy simulator of the actual device. :meth:`sample_stim` samples a noiseless Stim
    memory circuit with the actual device's noise added by
    :func:`qtandem.qec.noise_map.noisy_circuit` (the device's average calibration; Pauli-twirled).
    It keeps the device private (``_device``): the pipeline sees shots only.

    Examples:
        >>> from qtandem import Circuit
        >>> run = hidden_device(8, seed=0).executor(0, seed=1)
        >>> counts = run([Circuit(8, 1).x(2).measure(2, 0)], shots=200)[0]
        >>> sum(counts.values()), counts["1"] > 150
        (200, True)
    """

    def __init__(self, device: Device, *, seed: int = 0) -> None:
        from qtandem.device.executors import simulator_executor

        self._device = device
        self._run: Executor = simulator_executor(device, seed=seed)
        self._rng = np.random.default_rng(seed)
        self._stim_cache: dict[str, stim.Circuit] = {}

    def __call__(self, circuits: Sequence[Any], shots: int, *, seed: int | None = None) -> list[dict[str, int]]:
        return self._run(circuits, shots, seed=seed)

    def sample_stim(self, circuit: stim.Circuit, shots: int, *, seed: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Detection events and observable flips of a noiseless Stim circuit run on the hidden device.

        Args:
            circuit: a Stim circuit with detectors and observables and no noise of its own.
            shots: number of shots.
            seed: Stim's seed (default: the next one from the executor's generator).

        Returns:
            ``(dets, obs)``: bool ``(shots, num_detectors)``, ``(shots, num_observables)``.

        Examples:
            >>> from qtandem.qec import surface_code
            >>> run = hidden_device(8, seed=0).executor(0, seed=1)
            >>> dets, obs = run.sample_stim(surface_code(3, 3, noise="none"), 100, seed=2)
            >>> dets.shape, obs.shape
            ((100, 24), (100, 1))
        """
        from qtandem.qec.data import sample
        from qtandem.qec.noise_map import noisy_circuit

        key = str(circuit)
        if key not in self._stim_cache:
            self._stim_cache[key] = noisy_circuit(circuit, self._device)
        s = int(self._rng.integers(2**62)) if seed is None else int(seed)
        return sample(self._stim_cache[key], shots, seed=s)

    def __repr__(self) -> str:
        return f"HiddenExecutor({self._device.num_qubits} qubits)"


@dataclass
class HiddenDevice:
    """A device whose published calibration is stale: see :func:`hidden_device`.

    Attributes:
        published: the calibration a user downloads (what the stale pipeline believes).
        spec: how the actual device drifted (:class:`DriftSpec`).
        drifted_qubits: qubits whose ``sx``/``x`` gained an over-rotation (ground truth, for tests
            and reports; the pipeline must not read it).
        drifted_edges: couplings whose ``cx`` gained one.
        signs: ``+1``/``-1`` sign of each qubit's and coupling's new over-rotation.

    Examples:
        >>> hidden = hidden_device(10, seed=3)
        >>> len(hidden.drifted_qubits), hidden.actual(0).num_qubits
        (3, 10)
    """

    published: Device
    spec: DriftSpec
    drifted_qubits: list[int]
    drifted_edges: list[tuple[int, int]]
    signs: dict[str, float] = field(default_factory=dict)

    def actual(self, t: int = 0) -> Device:
        """The real device at iteration ``t`` (already drifted at ``t = 0``; T1 keeps creeping if ``spec.creep``).

        Examples:
            >>> hidden = hidden_device(8, seed=2, spec=DriftSpec(creep=0.1))
            >>> a0, a2 = hidden.actual(0), hidden.actual(2)
            >>> round(a2.qubits[1].t1 / a0.qubits[1].t1, 3)
            0.81
        """
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ArgumentTypeError(f"HiddenDevice.actual: t must be an iteration >= 0, got {t!r}")
        s = self.spec
        factor = s.t1_factor * (1.0 - s.creep) ** t
        qubits = []
        for q, props in enumerate(self.published.qubits):
            t1 = props.t1 * factor
            t2 = min(props.t2 * factor, 2 * t1)
            p01 = min(props.readout_p01 * s.readout_factor, 0.25)
            p10 = min(props.readout_p10 * s.readout_factor, 0.25)
            sx, x = props.sx_angle_error, props.x_angle_error
            if q in self.drifted_qubits:
                sign = self.signs[f"q{q}"]
                sx += sign * s.over_rotation
                x += 2 * sign * s.over_rotation
            qubits.append(replace(props, t1=t1, t2=t2, readout_p01=p01, readout_p10=p10, sx_angle_error=sx,
                                  x_angle_error=x))
        edges = {}
        for (a, b), edge in self.published.edges.items():
            angle = edge.angle_error
            if (a, b) in self.drifted_edges:
                angle += self.signs[f"e{a}-{b}"] * s.edge_over_rotation
            edges[(a, b)] = replace(edge, angle_error=angle)
        return replace(self.published, name=f"{self.published.name}_actual_t{t}", qubits=qubits, edges=edges,
                       coupling_map=self.published.coupling_map.copy(), extra=dict(self.published.extra),
                       source=f"hidden_device: the published calibration drifted ({s}) at iteration {t}")

    def executor(self, t: int = 0, seed: int = 0) -> HiddenExecutor:
        """The hardware at iteration ``t``: shots only (:class:`HiddenExecutor`).

        Examples:
            >>> from qtandem import Circuit
            >>> run = hidden_device(8, seed=0).executor(0, seed=5)
            >>> len(run([Circuit(8, 1).measure(0, 0)] * 2, shots=10))
            2
        """
        return HiddenExecutor(self.actual(t), seed=seed)


def hidden_device(n_qubits: int, *, seed: int, coupling: str = "heavy_hex", spec: DriftSpec | None = None
                  ) -> HiddenDevice:
    """A seeded device whose published calibration is stale (module docstring).

    The published calibration is :meth:`Device.random(n_qubits, coupling, seed=seed)
    <qtandem.device.Device.random>` without its correlated readout matrices (they would replace
    the per-qubit readout errors that drift); the drifted qubits and couplings and their signs come
    from a generator seeded by ``seed`` too.

    Args:
        n_qubits: number of qubits (8-16 for the benchmark; any size ``Device.random`` accepts).
        seed: the seed; the same seed gives the same hidden device.
        coupling: ``"heavy_hex"``, ``"grid"``, ``"ring"``, ``"line"`` (as ``Device.random``).
        spec: the drift (default :class:`DriftSpec`: T1 -30%, readout x2, 0.1 rad ``sx``
            over-rotation on 30% of qubits, 0.05 rad ``cx`` over-rotation on 30% of couplings).

    Returns:
        a :class:`HiddenDevice`.

    Raises:
        NoiseError: a bad size or coupling (from ``Device.random``).

    Examples:
        >>> hidden = hidden_device(12, seed=4, coupling="grid")
        >>> hidden.published.num_qubits, hidden.published.readout_correlations
        (12, {})
        >>> q = hidden.drifted_qubits[0]
        >>> round(abs(hidden.actual().qubits[q].sx_angle_error - hidden.published.qubits[q].sx_angle_error), 6)
        0.1
    """
    spec = spec or DriftSpec()
    base = Device.random(n_qubits, coupling, seed=seed)
    published = replace(base, name=f"hidden_{coupling}_{n_qubits}_seed{seed}", readout_correlations={},
                        source=f"hidden_device({n_qubits}, seed={seed}, coupling={coupling!r}): published calibration")
    rng = np.random.default_rng([seed, 20])
    k = max(1, round(spec.fraction * n_qubits)) if spec.fraction > 0 else 0
    qubits = sorted(int(q) for q in rng.choice(n_qubits, size=k, replace=False))
    edge_list = sorted(published.edges)
    ke = min(len(edge_list), max(1, round(spec.fraction * len(edge_list)))) if spec.fraction > 0 and edge_list else 0
    edges = [edge_list[int(i)] for i in sorted(rng.choice(len(edge_list), size=ke, replace=False))] if ke else []
    signs = {f"q{q}": float(rng.choice([-1.0, 1.0])) for q in qubits}
    signs.update({f"e{a}-{b}": float(rng.choice([-1.0, 1.0])) for a, b in edges})
    return HiddenDevice(published=published, spec=spec, drifted_qubits=qubits, drifted_edges=edges, signs=signs)


# ---------------------------------------------------------------------------------------------------------------
# the drift test


@dataclass
class DriftTest:
    """Outcome of :func:`drift_test`.

    Attributes:
        drifted: whether any Holm-adjusted p-value is below ``alpha``.
        p_value: the smallest Holm-adjusted p-value (the family-wise p-value of "no drift").
        which: labels of the columns (qubits, detectors, observables) whose adjusted p-value is
            below ``alpha``, most significant first (``"<observation>[<column>]"`` unless the
            workload labelled its columns; ``"<observation>[total]"`` for the per-shot total).
        p_values: every test's adjusted p-value by label.
        alpha: the family-wise level used.
        tests: the number of tests in the family.

    Examples:
        >>> DriftTest(False, 0.7, [], {}, 0.01, 3).drifted
        False
    """

    drifted: bool
    p_value: float
    which: list[str]
    p_values: dict[str, float]
    alpha: float
    tests: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form.

        Examples:
            >>> DriftTest(True, 1e-5, ["q3"], {"q3": 1e-5}, 0.01, 1).to_dict()["which"]
            ['q3']
        """
        return {"drifted": bool(self.drifted), "p_value": float(self.p_value), "which": list(self.which),
                "p_values": {k: float(v) for k, v in self.p_values.items()}, "alpha": float(self.alpha),
                "tests": int(self.tests)}


@dataclass
class _Obs:
    kind: str                 # "binary" (counts of ones) or "real" (means and variances)
    n: np.ndarray             # shots per column
    ones: np.ndarray | None   # binary: count of ones per column
    mean: np.ndarray | None   # real: column means
    var: np.ndarray | None    # real: column sample variances
    total: tuple[float, float, int] | None   # per-shot total: mean, variance, shots (None without shots)


def _is_binary(a: np.ndarray) -> bool:
    return a.dtype == np.bool_ or (a.size > 0 and bool(np.isin(a, (0, 1)).all()))


def _summarise(name: str, value: Any, shots: int | None, kind: str | None) -> _Obs:
    a: np.ndarray[Any, Any] = np.asarray(value)
    if a.dtype == object or (not np.issubdtype(a.dtype, np.number) and a.dtype != np.bool_):
        raise ArgumentTypeError(f"drift_test: observation {name!r} must be a numeric array, got dtype {a.dtype}")
    if kind in ("rate", "expval"):
        if a.ndim != 1 or shots is None:
            raise ArgumentTypeError(f"drift_test: observation {name!r} of kind {kind!r} needs a 1-D array and the "
                                    f"shot count (a WorkloadResult)")
        rate = np.clip((1.0 - a) / 2.0 if kind == "expval" else a.astype(np.float64), 0.0, 1.0)
        n = np.full(a.shape, float(shots))
        return _Obs("binary", n, np.round(rate * shots), None, None, None)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ArgumentTypeError(f"drift_test: observation {name!r} must be (shots,) or (shots, k) per-shot data, "
                                f"got shape {a.shape}")
    n = np.full(a.shape[1], float(a.shape[0]))
    x = a.astype(np.float64)
    row = x.sum(axis=1)
    total = (float(row.mean()), float(row.var(ddof=1)) if len(row) > 1 else 0.0, len(row))
    if _is_binary(a):
        return _Obs("binary", n, x.sum(axis=0), None, None, total)
    var = x.var(axis=0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1])
    return _Obs("real", n, None, x.mean(axis=0), var, total)


def _observations(source: Any) -> tuple[dict[str, _Obs], dict[str, list[str]]]:
    from qtandem.codesign.stages import WorkloadResult

    if isinstance(source, WorkloadResult):
        kinds = dict(source.details.get("observation_kinds", {}))
        labels = {k: [str(s) for s in v] for k, v in dict(source.details.get("labels", {})).items()}
        per = source.details.get("observation_shots", int(source.shots))
        shots = {k: int(per.get(k, source.shots) if isinstance(per, Mapping) else per) for k in source.observations}
        return {k: _summarise(k, v, shots[k], kinds.get(k)) for k, v in source.observations.items()}, labels
    if isinstance(source, Mapping):
        return {str(k): _summarise(str(k), v, None, None) for k, v in source.items()}, {}
    raise ArgumentTypeError(f"drift_test: expected a WorkloadResult or a mapping of arrays, got "
                            f"{type(source).__name__}")


def _binomial_p(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Exact two-sided p-values of equal rates: ``x1`` given ``x1 + x2`` is binomial(``x1 + x2``, ``n1/(n1+n2)``)
    for rare events (conditional test; conservative otherwise), with the normal two-proportion test for common ones."""
    from scipy import stats

    k = x1 + x2
    frac = n1 / (n1 + n2)
    rare = np.minimum(k, (n1 + n2) - k) <= 200
    lo = stats.binom.cdf(x1, k, frac)
    hi = stats.binom.sf(x1 - 1, k, frac)
    exact = np.minimum(1.0, 2 * np.minimum(lo, hi))
    pool = k / (n1 + n2)
    se = np.sqrt(np.maximum(pool * (1 - pool) * (1 / n1 + 1 / n2), 1e-300))
    z = np.abs(x1 / n1 - x2 / n2) / se
    normal = np.where(pool * (1 - pool) > 0, stats.norm.sf(z) * 2, 1.0)
    return np.where(rare, exact, normal)


def _welch_p(m1: float | np.ndarray, v1: Any, n1: Any, m2: Any, v2: Any, n2: Any) -> np.ndarray:
    from scipy import stats

    se = np.sqrt(np.asarray(v1) / n1 + np.asarray(v2) / n2)
    diff = np.abs(np.asarray(m1) - np.asarray(m2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff > 0, np.inf, 0.0))
    return np.asarray(2 * stats.norm.sf(z), dtype=np.float64)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error control under any dependence)."""
    m = len(p)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p[i])))
        adjusted[i] = running
    return adjusted


def drift_test(reference: WorkloadResult | Mapping[str, np.ndarray], current: WorkloadResult | Mapping[str, np.ndarray],
               *, alpha: float = 0.01, total: bool = True) -> DriftTest:
    """Has the hardware drifted between two runs of a workload? A test on the workload's own observations.

    Each observation present in both runs is read as follows:

    * a per-shot array, ``(shots,)`` or ``(shots, k)``: bool or 0/1 columns (detectors firing,
      measured bits) are compared by their counts of ones (exact conditional binomial test when
      either count is small, two-proportion z-test otherwise); other numbers by their column means
      (Welch z-test); with ``total``, also the per-shot sum over the columns (Welch z-test), which
      catches a small change spread over all columns;
    * in a :class:`~qtandem.codesign.stages.WorkloadResult` whose ``details["observation_kinds"]``
      marks an observation ``"rate"`` (per-column frequencies of an event) or ``"expval"``
      (expectation values of +-1 outcomes, read as frequencies ``(1 - e) / 2``): a 1-D array, each
      column measured on ``result.shots`` shots (or ``details["observation_shots"]``: a number, or
      one per observation name), compared with the binomial test.

    ``details["labels"][name]`` (a list, one label per column, e.g. the qubit or ancilla a detector
    reads) names the columns in :attr:`DriftTest.which`. All p-values form one family, corrected with
    Holm's method: on an undrifted device the chance that ``drifted`` is ``True`` is at most ``alpha``.

    Args:
        reference: the run the pipeline trusts (right after characterization).
        current: the new run.
        alpha: family-wise false-alarm level.
        total: add the per-shot-total test of each per-shot observation.

    Returns:
        a :class:`DriftTest`.

    Raises:
        ArgumentTypeError: not a WorkloadResult or mapping, a non-numeric or badly shaped array, or
            no observation shared by both runs.
        ConfigError: ``alpha`` outside ``(0, 1)`` or column counts that differ between the runs.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> same = drift_test({"bits": rng.random((2000, 4)) < 0.1}, {"bits": rng.random((2000, 4)) < 0.1})
        >>> same.drifted, same.tests
        (False, 5)
        >>> z = drift_test({"energy": rng.normal(0.0, 1.0, 500)}, {"energy": rng.normal(0.5, 1.0, 500)})
        >>> z.drifted, z.which[0]
        (True, 'energy[0]')
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"drift_test: alpha must be in (0, 1), got {alpha!r}")
    ref, labels = _observations(reference)
    cur, cur_labels = _observations(current)
    labels = {**cur_labels, **labels}
    names = [k for k in ref if k in cur]
    if not names:
        raise ArgumentTypeError(f"drift_test: no observation in both runs (reference {sorted(ref)}, "
                                f"current {sorted(cur)})")
    keys: list[str] = []
    pvals: list[np.ndarray] = []
    for name in names:
        a, b = ref[name], cur[name]
        if a.n.shape != b.n.shape:
            raise ConfigError(f"drift_test: observation {name!r} has {a.n.shape[0]} columns in the reference and "
                              f"{b.n.shape[0]} now")
        if a.kind != b.kind:
            raise ConfigError(f"drift_test: observation {name!r} is {a.kind} in one run and {b.kind} in the other")
        names_k = labels.get(name) or [f"{name}[{j}]" for j in range(a.n.shape[0])]
        if len(names_k) != a.n.shape[0]:
            names_k = [f"{name}[{j}]" for j in range(a.n.shape[0])]
        if a.kind == "binary":
            assert a.ones is not None and b.ones is not None
            pvals.append(_binomial_p(a.ones, a.n, b.ones, b.n))
        else:
            assert a.mean is not None and b.mean is not None
            pvals.append(_welch_p(a.mean, a.var, a.n, b.mean, b.var, b.n))
        keys.extend(names_k)
        if total and a.total is not None and b.total is not None and a.n.shape[0] > 1:
            pvals.append(_welch_p(a.total[0], a.total[1], a.total[2], b.total[0], b.total[1], b.total[2]).reshape(1))
            keys.append(f"{name}[total]")
    raw = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1) for p in pvals])
    adjusted = _holm(raw)
    order = np.argsort(adjusted, kind="stable")
    which = [keys[i] for i in order if adjusted[i] < alpha]
    p_values = {keys[i]: float(adjusted[i]) for i in range(len(keys))}
    p_min = float(adjusted.min())
    return DriftTest(drifted=p_min < alpha, p_value=p_min, which=which, p_values=p_values, alpha=float(alpha),
                     tests=len(keys))
