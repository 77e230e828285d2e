"""The loop's shared records and the workload protocol: what a stage cost and what a workload measured.

A co-design loop iteration runs stages (characterize, calibrate, compile, run, mitigate,
detect); each leaves a :class:`StageRecord`. A workload (GHZ fidelity, LiH VQE, a hybrid
classifier, a QEC memory) is any object with a ``name`` and a
``run(device, executor, *, shots, seed) -> WorkloadResult`` method
(:class:`LoopWorkload`); ``device`` is the model the pipeline believes and ``executor``
the hardware. Workload kinds are registered by name in :data:`WORKLOADS` so a loop
config's ``[workload] kind = "..."`` can build one.

Examples:
    >>> rec = StageRecord("run", 0, shots=1000, seconds=0.5, metrics={"error": 0.1})
    >>> rec.metrics["error"]
    0.1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from qtandem.errors import ConfigError

if TYPE_CHECKING:
    from qtandem.device import Device
    from qtandem.device.executors import Executor
    from qtandem.learn import ShotData

__all__ = ["DEFAULT_EXPERIMENTS", "WORKLOADS", "LoopWorkload", "StageRecord", "WorkloadResult", "calibrate",
           "characterize", "detect", "learn_device", "make_workload", "register_workload"]


@dataclass
class StageRecord:
    """One stage of one loop iteration: what it cost (shots, seconds) and what it bought (metrics).

    Attributes:
        stage: ``"characterize"``, ``"calibrate"``, ``"compile"``, ``"run"``, ``"mitigate"``,
            ``"detect"``, ...
        iteration: the loop iteration (0-based).
        shots: shots the stage spent on the hardware (0 for classical stages).
        seconds: wall-clock seconds the stage took.
        metrics: figures it produced, e.g. ``{"error": 0.03, "fidelity": 0.97}``.
        notes: free text (what was re-characterized, why).

    Examples:
        >>> r = StageRecord("characterize", 1, shots=4096, seconds=1.2, metrics={}, notes="qubits 3, 4")
        >>> StageRecord.from_dict(r.to_dict()) == r
        True
    """

    stage: str
    iteration: int
    shots: int
    seconds: float
    metrics: dict[str, float]
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (round-trips through :meth:`from_dict`).

        Examples:
            >>> StageRecord("run", 0, 10, 0.25, {"error": 0.5}).to_dict()["metrics"]
            {'error': 0.5}
        """
        return {"stage": self.stage, "iteration": int(self.iteration), "shots": int(self.shots),
                "seconds": float(self.seconds), "metrics": {k: float(v) for k, v in self.metrics.items()},
                "notes": self.notes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageRecord:
        """Inverse of :meth:`to_dict`.

        Examples:
            >>> StageRecord.from_dict({"stage": "run", "iteration": 2, "shots": 5, "seconds": 0.1,
            ...                        "metrics": {}}).iteration
            2
        """
        return cls(stage=str(data["stage"]), iteration=int(data["iteration"]), shots=int(data["shots"]),
                   seconds=float(data["seconds"]), metrics={k: float(v) for k, v in data["metrics"].items()},
                   notes=str(data.get("notes", "")))


@dataclass
class WorkloadResult:
    """What one run of a workload measured.

    Attributes:
        name: the workload's name.
        value: its figure of merit (fidelity, energy, accuracy, logical error rate).
        error: distance to the ideal, lower is better (``1 - F``, ``|E - E_fci|``,
            ``1 - accuracy``, LER).
        shots: shots spent on the hardware.
        observations: the workload's own raw data that drift detection reads, by name
            (e.g. ``"parities"``: per-qubit-pair parity expectation values, ``"syndromes"``:
            per-detector firing rates), each an array.
        details: anything else (mitigated vs raw values, the compiled circuit's size, ...).

    Examples:
        >>> res = WorkloadResult("ghz", 0.9, 0.1, 2000, {"populations": np.array([0.45, 0.45])})
        >>> WorkloadResult.from_dict(res.to_dict()).observations["populations"].tolist()
        [0.45, 0.45]
    """

    name: str
    value: float
    error: float
    shots: int
    observations: dict[str, np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as nested lists with their dtype; details kept if JSON-ready).

        Examples:
            >>> WorkloadResult("x", 1.0, 0.0, 0, {"a": np.zeros(2, dtype=np.int64)}).to_dict()["observations"]
            {'a': {'dtype': 'int64', 'data': [0, 0]}}
        """
        return {"name": self.name, "value": float(self.value), "error": float(self.error),
                "shots": int(self.shots),
                "observations": {k: {"dtype": str(np.asarray(v).dtype), "data": np.asarray(v).tolist()}
                                 for k, v in self.observations.items()},
                "details": _jsonable(self.details)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkloadResult:
        """Inverse of :meth:`to_dict`.

        Examples:
            >>> d = WorkloadResult("x", 0.5, 0.5, 10, {}).to_dict()
            >>> WorkloadResult.from_dict(d).value
            0.5
        """
        obs = {k: np.asarray(v["data"], dtype=v["dtype"]) for k, v in data["observations"].items()}
        return cls(name=str(data["name"]), value=float(data["value"]), error=float(data["error"]),
                   shots=int(data["shots"]), observations=obs, details=dict(data.get("details", {})))


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays turned into Python numbers/lists (dict keys as strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


@runtime_checkable
class LoopWorkload(Protocol):
    """A workload the loop runs: anything with a ``name`` and this ``run`` method.

    ``device`` is the model the pipeline believes (the stale published calibration, or the
    learned one): the workload compiles, trains, mitigates and decodes with it.
    ``executor`` is the hardware (:data:`qtandem.device.executors.Executor`), whose noise
    may differ from ``device``'s.

    Examples:
        >>> class Const:
        ...     name = "const"
        ...     def run(self, device, executor, *, shots, seed):
        ...         return WorkloadResult(self.name, 1.0, 0.0, 0, {})
        >>> isinstance(Const(), LoopWorkload)
        True
    """

    name: str

    def run(self, device: Device, executor: Executor, *, shots: int, seed: int) -> WorkloadResult:
        """Run on ``executor`` with ``shots`` shots, using ``device`` as the believed model."""
        ...


WORKLOADS: dict[str, Callable[..., LoopWorkload]] = {}
"""Workload kinds by name (``"ghz"``, ``"vqe_lih"``, ``"classifier"``, ``"qec_memory"``): factories
taking keyword options (the loop config's ``[workload]`` table less ``kind``)."""


def register_workload(kind: str, factory: Callable[..., LoopWorkload]) -> None:
    """Register (or replace) the factory of a workload kind.

    Args:
        kind: the name a loop config's ``[workload] kind`` uses.
        factory: called with the config's other ``[workload]`` keys as keyword arguments.

    Examples:
        >>> class Const:
        ...     name = "const"
        ...     def run(self, device, executor, *, shots, seed):
        ...         return WorkloadResult(self.name, 1.0, 0.0, 0, {})
        >>> register_workload("const_example", Const)
        >>> WORKLOADS["const_example"]().name
        'const'
        >>> del WORKLOADS["const_example"]
    """
    if not kind or not isinstance(kind, str):
        raise ConfigError(f"register_workload: the kind must be a non-empty string, got {kind!r}")
    WORKLOADS[kind] = factory


def make_workload(kind: str, **options: Any) -> LoopWorkload:
    """Build a registered workload (the built-in kinds are registered on first use).

    Raises:
        ConfigError: unknown kind (the known ones are listed), or options the factory refuses.

    Examples:
        >>> try:
        ...     make_workload("nope")
        ... except ConfigError as err:
        ...     print(str(err).split(";")[0])
        workload.kind: unknown workload 'nope'
    """
    _register_builtins()
    if kind not in WORKLOADS:
        raise ConfigError(f"workload.kind: unknown workload {kind!r}; known: {', '.join(sorted(WORKLOADS))}")
    try:
        return WORKLOADS[kind](**options)
    except TypeError as err:
        raise ConfigError(f"workload: options {sorted(options)} refused by {kind!r}: {err}") from None


def _register_builtins() -> None:
    """Import the modules that register the built-in workload kinds (those present)."""
    import importlib

    for module in ("qtandem.codesign.workloads", "qtandem.codesign.classifier_workload",
                   "qtandem.codesign.qec_workload"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


# ---------------------------------------------------------------------------------------------------------------
# the learning stages: characterize -> calibrate, and drift detection

DEFAULT_EXPERIMENTS = ("readout", "t1", "amplify_sx", "amplify_x", "amplify_cx")
"""What the loop characterizes by default: the numbers a stale calibration gets wrong that the
workloads feel (readout errors, T1, ``sx``/``x``/``cx`` over-rotations)."""


def characterize(device: Device, executor: Executor, qubits: Sequence[int], pairs: Sequence[tuple[int, int]] = (),
                 *, shots: int = 200, experiments: Sequence[str] = DEFAULT_EXPERIMENTS, seed: int = 0) -> ShotData:
    """Run a characterization plan of ``qubits`` and ``pairs`` on ``executor`` (the hardware).

    The x-values come from ``device`` (the current belief, :func:`qtandem.learn.characterization`'s
    ``prior``); readout is calibrated in parallel groups of uncoupled qubits.

    Args:
        device: the believed device (sets delays and repetition counts).
        executor: the hardware.
        qubits: device qubits to characterize.
        pairs: couplings for the pair experiments (``amplify_cx``); pairs with a qubit outside
            ``qubits`` are dropped.
        shots: shots per circuit.
        experiments: experiment names (:data:`qtandem.learn.EXPERIMENTS`).
        seed: seeds the plan and the executor.

    Returns:
        The :class:`~qtandem.learn.ShotData` (``data.shots``: shots per circuit).

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.device.executors import simulator_executor
        >>> dev = Device.preset("line_5")
        >>> data = characterize(dev, simulator_executor(dev), [0, 1], [(0, 1)], shots=50)
        >>> sorted({e.name for e, _, _ in data.experiments()})
        ['amplify_cx', 'amplify_sx', 'amplify_x', 'readout', 't1']
    """
    from qtandem.learn import characterization

    qs = sorted({int(q) for q in qubits})
    prs = [(int(a), int(b)) for a, b in pairs if a in qs and b in qs]
    names = [n for n in experiments if prs or n not in ("amplify_cx", "zz", "irb")]
    plan = characterization(qs, pairs=prs or None, experiments=names, prior=device, seed=seed,
                            readout="parallel")
    return plan.run(executor, shots, seed=seed, device_name=getattr(device, "name", None))


def _frequency(counts: Mapping[str, int], bit: int) -> tuple[int, int]:
    """``(ones, shots)`` of classical bit ``bit`` (rightmost character = bit 0)."""
    ones = sum(int(v) for k, v in counts.items() if len(k) > bit and k[-1 - bit] == "1")
    return ones, sum(int(v) for v in counts.values())


def _nll(ones: np.ndarray, shots: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial negative log-likelihood summed over the last axis."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    out: np.ndarray = -(ones * np.log(p) + (shots - ones) * np.log1p(-p)).sum(axis=-1)
    return out


def _fit_angle(ones: np.ndarray, shots: np.ndarray, angle_of: Any, ro: tuple[float, float], counts: np.ndarray,
               span: float = 0.4) -> float:
    """Grid maximum likelihood of an over-rotation ``e`` in ``[-span, span]`` with a per-gate contrast ``lam``:
    ``P(1) = p01 + (1 - p01 - p10) (1/2 + lam^n (sin^2(angle_of(e) / 2) - 1/2))`` after ``n = counts`` gates.
    (A constant contrast would trade off against ``e``: for small angles only ``lam^n sin(n e)`` is seen.)"""
    grid = np.linspace(-span, span, 1601)
    lam = 1.0 - np.linspace(0.0, 0.05, 26)
    ideal = np.sin(angle_of(grid[:, None]) / 2) ** 2  # (grid, circuits)
    p01, p10 = ro
    contrast = lam[:, None, None] ** counts[None, None, :]
    p = p01 + (1 - p01 - p10) * (0.5 + contrast * (ideal[None] - 0.5))
    nll = _nll(ones[None, None], shots[None, None], p)
    i = np.unravel_index(int(np.argmin(nll)), nll.shape)
    return float(grid[i[1]])


def calibrate(data: ShotData, prior: Device, *, method: str = "fast", seed: int = 0) -> Device:
    """The learned device: ``prior`` with every number ``data`` informs replaced by its estimate.

    ``method="fast"`` (the loop's default, milliseconds): each experiment on its own, a grid
    maximum likelihood of its one number under a closed-form model: readout ``p01``/``p10``
    from the prepared ``|0>``/``|1>`` frequencies (the ``x`` pulse's over-rotation taken out of
    ``p10``; readout and angles are fitted twice around, since each needs the other); ``sx`` over-rotation ``e`` from
    ``P(1) = sin^2(n (pi/2 + e) / 2)`` after ``n`` ``sx``; ``x`` from ``pi/2 + e_sx + n (pi + e_x)``;
    the ``cx`` over-rotation (an ``rzx(e)`` after each ``cx``, a target rotation ``+e`` with the
    control in ``|0>``, ``-e`` in ``|1>``) from ``pi/2 + e_sx + n (s pi +- e)``; T1 from
    ``exp(-t / T1)``; each through the fitted readout errors with a contrast ``lam^n`` after ``n`` gates for
    their incoherent error. ``method="mle"``: :func:`qtandem.learn.calibrate` (every number jointly, by
    the full likelihood of the noisy simulator, standard errors too; about a minute per qubit).

    Args:
        data: the characterization shots (:func:`characterize`).
        prior: the device whose numbers are kept where ``data`` says nothing (gate errors, T2,
            detuning, ZZ, durations, couplings).
        method: ``"fast"`` or ``"mle"``.
        seed: seeds the ``"mle"`` restarts.

    Returns:
        A new :class:`~qtandem.device.Device` (``prior`` is not modified).

    Raises:
        ConfigError: an unknown method.

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.device.executors import simulator_executor
        >>> true = Device.preset("line_5")
        >>> true.qubits[0].sx_angle_error = 0.08
        >>> data = characterize(true, simulator_executor(true, seed=1), [0], shots=4000,
        ...                     experiments=["readout", "amplify_sx"])
        >>> abs(calibrate(data, Device.preset("line_5")).qubits[0].sx_angle_error - 0.08) < 0.01
        True
    """
    import copy
    import math

    if method == "mle":
        from qtandem.learn import calibrate as mle

        return mle(data, prior=prior, restarts=1, seed=seed).device(prior)
    if method != "fast":
        raise ConfigError(f"characterize.method: 'fast' or 'mle', got {method!r}")
    dev = copy.deepcopy(prior)
    exps = data.experiments()
    tallies: dict[tuple[int, int], list[int]] = {}  # (qubit, prepared bit) -> [ones, shots]
    for exp, counts, _ in exps:
        if exp.name != "readout":
            continue
        for state, c in zip(exp.xs, counts, strict=True):
            for i, q in enumerate(exp.qubits):
                ones, n = _frequency(c, i)
                t = tallies.setdefault((q, int(state) >> i & 1), [0, 0])
                t[0], t[1] = t[0] + ones, t[1] + n

    def readout_errors() -> None:
        """``p01`` from the prepared 0s; ``p10`` from the prepared 1s, the ``x`` pulse's own miss
        ``s = sin^2(e_x / 2)`` (an over-rotated ``x`` leaves ``|0>`` with probability ``s``) taken out."""
        for (q, prepared), (ones, n) in sorted(tallies.items()):
            if not n:
                continue
            if prepared == 0:
                dev.qubits[q].readout_p01 = ones / n
            else:
                miss = math.sin(float(dev.qubits[q].x_angle_error) / 2) ** 2
                p0 = (n - ones) / n
                p10 = (p0 - (1 - float(dev.qubits[q].readout_p01)) * miss) / (1 - miss)
                dev.qubits[q].readout_p10 = min(max(p10, 0.0), 0.5)

    def ro(q: int) -> tuple[float, float]:
        return float(dev.qubits[q].readout_p01), float(dev.qubits[q].readout_p10)

    half = math.pi / 2
    for _ in range(2):  # the readout needs e_x and the fits need the readout: twice around
        readout_errors()
        for name in ("amplify_sx", "amplify_x", "amplify_cx", "t1"):
            for exp, counts, _ in exps:
                if exp.name != name:
                    continue
                bit = 1 if name == "amplify_cx" else 0
                tally = np.array([_frequency(c, bit) for c in counts], dtype=float)
                hits: np.ndarray = tally[:, 0]
                tot: np.ndarray = tally[:, 1]
                xs = np.asarray(exp.xs, dtype=float)
                if name == "amplify_sx":
                    q = exp.qubits[0]
                    dev.qubits[q].sx_angle_error = _fit_angle(hits, tot, lambda e, xs=xs: xs * (half + e), ro(q), xs)
                elif name == "amplify_x":
                    q = exp.qubits[0]
                    esx = float(dev.qubits[q].sx_angle_error)
                    dev.qubits[q].x_angle_error = _fit_angle(
                        hits, tot, lambda e, xs=xs, esx=esx: half + esx + xs * (math.pi + e), ro(q), xs + 1)
                elif name == "amplify_cx":
                    a, b = exp.qubits
                    esx = float(dev.qubits[b].sx_angle_error)
                    s = np.asarray(exp.meta["control_state"], dtype=float)
                    e = _fit_angle(hits, tot, lambda e, xs=xs, s=s, esx=esx:
                                   half + esx + xs * (s * math.pi + (1 - 2 * s) * e), ro(b), xs, span=0.2)
                    key = (a, b) if (a, b) in dev.edges else (b, a)
                    dev.edges[key].angle_error = e
                else:  # t1
                    q = exp.qubits[0]
                    p01, p10 = ro(q)
                    t1_grid = float(prior.qubits[q].t1) * np.geomspace(0.1, 10, 801)
                    amp = np.linspace(0.8, 1.0, 11)
                    p = p01 + (1 - p01 - p10) * amp[:, None, None] * np.exp(-xs[None, None] / t1_grid[None, :, None])
                    nll = _nll(hits[None, None], tot[None, None], p)
                    best = np.unravel_index(int(np.argmin(nll)), nll.shape)
                    dev.qubits[q].t1 = float(t1_grid[best[1]])
                    dev.qubits[q].t2 = min(float(dev.qubits[q].t2), 2 * dev.qubits[q].t1)
    dev.name = f"{prior.name}_learned"
    return dev


def learn_device(published: Device, executor: Executor, *, shots: int = 200, seed: int = 0,
                 qubits: Sequence[int] | None = None, pairs: Sequence[tuple[int, int]] | None = None,
                 experiments: Sequence[str] = DEFAULT_EXPERIMENTS, method: str = "fast") -> Device:
    """:func:`characterize` then :func:`calibrate`: the device learned from the hardware.

    Args:
        published: the stale calibration (the prior and the plan's x-values).
        executor: the hardware.
        shots: shots per characterization circuit.
        seed: seeds the plan and the executor.
        qubits: qubits to learn (default: all).
        pairs: couplings for ``amplify_cx`` (default: every coupling among ``qubits``).
        experiments: experiment names.
        method: :func:`calibrate`'s method.

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.device.executors import simulator_executor
        >>> true = Device.preset("line_5")
        >>> true.qubits[1].readout_p10 = 0.1
        >>> learned = learn_device(Device.preset("line_5"), simulator_executor(true, seed=0), shots=2000,
        ...                        qubits=[1], experiments=["readout"])
        >>> abs(learned.qubits[1].readout_p10 - 0.1) < 0.02
        True
    """
    qs = list(range(published.num_qubits)) if qubits is None else [int(q) for q in qubits]
    prs: list[tuple[int, int]] = (sorted(published.edges) if pairs is None
                                  else [(int(p[0]), int(p[1])) for p in pairs])
    data = characterize(published, executor, qs, prs, shots=shots, experiments=experiments, seed=seed)
    return calibrate(data, published, method=method, seed=seed)


def detect(reference: WorkloadResult, current: WorkloadResult, *, alpha: float = 0.01) -> dict[str, Any]:
    """Has the hardware drifted between two runs of the same workload? A test on their own observations.

    Calls :func:`qtandem.codesign.drift.drift_test` (exact binomial per measured bit,
    Welch z-test per real-valued column, Holm-corrected) and turns its suspects into the
    device qubits to re-characterize: a column labelled ``q<k>`` points at qubit ``k``; when only other
    columns are significant (a total, a parity setting), every qubit the workload used
    (``details["qubits"]``) is a suspect.

    Returns:
        ``{"drifted": bool, "p_value": float, "which": [...labels], "qubits": [...]}``.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> ref = WorkloadResult("w", 0, 0, 4000, {"z_bits": rng.random((4000, 2)) < 0.1},
        ...                      {"qubits": [3, 4], "labels": {"z_bits": ["q3", "q4"]}})
        >>> cur = WorkloadResult("w", 0, 0, 4000, {"z_bits": rng.random((4000, 2)) < [0.1, 0.2]},
        ...                      {"qubits": [3, 4], "labels": {"z_bits": ["q3", "q4"]}})
        >>> out = detect(ref, cur)
        >>> out["drifted"], out["qubits"]
        (True, [4])
    """
    from qtandem.codesign.drift import drift_test

    test = drift_test(reference, current, alpha=alpha)
    used = [int(q) for q in current.details.get("qubits", [])]
    flagged = {int(label[1:]) for label in test.which if label.startswith("q") and label[1:].isdigit()}
    if test.drifted and not flagged:  # a total or a parity setting moved: every qubit is a suspect
        flagged.update(used)
    return {"drifted": bool(test.drifted), "p_value": float(test.p_value), "which": list(test.which),
            "qubits": sorted(flagged)}
