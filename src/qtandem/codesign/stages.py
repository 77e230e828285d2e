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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from qtandem.errors import ConfigError

if TYPE_CHECKING:
    from qtandem.device import Device
    from qtandem.device.executors import Executor

__all__ = ["WORKLOADS", "LoopWorkload", "StageRecord", "WorkloadResult", "make_workload", "register_workload"]


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
