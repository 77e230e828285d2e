"""Job kinds a sweep can repeat, by name: how a point is validated, hashed, cut into chunks and run.

A job kind is an object with ``name``, ``task`` (a module-level function run on the workers:
plain-data payload in, plain-data dict out), ``prepare(point, where) -> PreparedPoint``
(validate, fill defaults, build the circuit text that enters the point's hash),
``payload(prepared, chunk, seed) -> dict`` and ``complete(prepared, rows) -> bool`` (the stopping
rule, applied to the contiguous prefix of chunk rows 0, 1, ...). The QEC collection (``qec``) is
built in; applications register theirs with :func:`register_job` (or lazily by
``"module:attribute"`` in :data:`LAZY_JOBS`), importing their packages only inside the task.

Examples:
    >>> sorted(list_jobs())
    ['mitigation', 'qaoa', 'qec', 'spin', 'vqe']
    >>> get_job("qec").name
    'qec'
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from qtandem.errors import ConfigError

__all__ = ["JobKind", "PreparedPoint", "get_job", "list_jobs", "register_job"]


@dataclass(frozen=True)
class PreparedPoint:
    """A validated point: its full parameters, the content that is hashed, and its chunk budget.

    Attributes:
        params: every parameter, defaults filled (stored in each row).
        identity: what identifies the work (params that change results; not the stopping targets).
        text: job-specific input text that enters the hash (e.g. the Stim circuit).
        max_chunks: the most chunks the point may need.

    Examples:
        >>> PreparedPoint({"n": 1}, {"n": 1}, "", 1).max_chunks
        1
    """

    params: dict[str, Any]
    identity: dict[str, Any]
    text: str
    max_chunks: int
    extra: dict[str, Any] = field(default_factory=dict)


class JobKind(Protocol):
    """What a job kind provides (see the module docstring).

    Examples:
        >>> isinstance(get_job("spin").name, str)
        True
    """

    name: str

    def prepare(self, point: dict[str, Any], where: str) -> PreparedPoint: ...

    def payload(self, prepared: PreparedPoint, chunk: int, seed: int) -> dict[str, Any]: ...

    def task(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    def complete(self, prepared: PreparedPoint, rows: list[dict[str, Any]]) -> bool: ...

    def initial_chunks(self, prepared: PreparedPoint, rows: list[dict[str, Any]]) -> int: ...



class OneChunkJob:
    """Base of the job kinds whose point is one task (one chunk, complete once its row is in)."""

    def complete(self, prepared: PreparedPoint, rows: list[dict[str, Any]]) -> bool:
        """One chunk."""
        return len(rows) >= 1

    def initial_chunks(self, prepared: PreparedPoint, rows: list[dict[str, Any]]) -> int:
        """One chunk."""
        return 1


def spin_task(payload: dict[str, Any]) -> dict[str, Any]:
    """A CPU-bound stand-in task: ``iterations`` of integer arithmetic, a checksum from the seed.

    Examples:
        >>> spin_task({"iterations": 10, "seed": 3})["checksum"]
        925237
    """
    t0, c0 = time.perf_counter(), time.process_time()
    x = int(payload["seed"]) & 0xFFFF
    for i in range(int(payload["iterations"])):
        x = (x * 1103515245 + 12345 + i) % 2147483648
    return {"checksum": x % 1_000_003, "seconds": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


class SpinJob:
    """``spin``: ``repeats`` chunks of ``iterations`` arithmetic steps (engine tests and dispatch benchmarks).

    Examples:
        >>> job = SpinJob()
        >>> prepared = job.prepare({"iterations": 5, "repeats": 2}, "points[0]")
        >>> prepared.max_chunks, job.task(job.payload(prepared, 0, 7))["checksum"]
        (2, 225246)
    """

    name = "spin"

    def prepare(self, point: dict[str, Any], where: str) -> PreparedPoint:
        """Check ``iterations`` (>= 0) and ``repeats`` (>= 1, default 1)."""
        extra = sorted(set(point) - {"iterations", "repeats"})
        if extra:
            raise ConfigError(f"{where}.{extra[0]}: unknown parameter of job 'spin' (iterations, repeats)")
        it, rep = point.get("iterations", 1000), point.get("repeats", 1)
        for key, value, low in (("iterations", it, 0), ("repeats", rep, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"{where}.{key}: expected an integer >= {low}, got {value!r}")
        return PreparedPoint({"iterations": it, "repeats": rep}, {"iterations": it}, "", rep)

    def payload(self, prepared: PreparedPoint, chunk: int, seed: int) -> dict[str, Any]:
        """``{"iterations", "seed"}``."""
        return {"iterations": prepared.params["iterations"], "seed": seed}

    def task(self, payload: dict[str, Any]) -> dict[str, Any]:
        """:func:`spin_task`."""
        return spin_task(payload)

    def complete(self, prepared: PreparedPoint, rows: list[dict[str, Any]]) -> bool:
        """All ``repeats`` chunks done."""
        return len(rows) >= prepared.max_chunks

    def initial_chunks(self, prepared: PreparedPoint, rows: list[dict[str, Any]]) -> int:
        """All of them."""
        return prepared.max_chunks


_JOBS: dict[str, Any] = {}
LAZY_JOBS: dict[str, str] = {"qec": "qtandem.sweep.qec:QecJob", "vqe": "qtandem.sweep.apps:VqeJob",
                             "qaoa": "qtandem.sweep.apps:QaoaJob",
                             "mitigation": "qtandem.sweep.mitigation:MitigationJob"}
"""Job kinds loaded on first use, ``name -> "module:Class"`` (applications add theirs here)."""


def register_job(job: Any) -> None:
    """Make ``job`` available to sweeps as ``job.name``.

    Raises:
        ConfigError: the object lacks a part of :class:`JobKind`.

    Examples:
        >>> register_job(SpinJob()); get_job("spin").name
        'spin'
    """
    missing = [a for a in ("name", "prepare", "payload", "task", "complete", "initial_chunks") if not hasattr(job, a)]
    if missing:
        raise ConfigError(f"job kind {job!r} lacks {', '.join(missing)}")
    _JOBS[job.name] = job


def get_job(name: str) -> Any:
    """The job kind called ``name``.

    Raises:
        ConfigError: unknown name (the message lists the known ones).

    Examples:
        >>> get_job("vqe-curvez")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: sweep.job: unknown job 'vqe-curvez'; known jobs: mitigation, qaoa, qec, spin, vqe
    """
    if name not in _JOBS and name in LAZY_JOBS:
        module, attr = LAZY_JOBS[name].split(":")
        register_job(getattr(importlib.import_module(module), attr)())
    if name not in _JOBS:
        raise ConfigError(f"sweep.job: unknown job {name!r}; known jobs: {', '.join(list_jobs())}")
    return _JOBS[name]


def list_jobs() -> list[str]:
    """Names of the registered and lazily registered job kinds.

    Examples:
        >>> "qec" in list_jobs()
        True
    """
    return sorted(set(_JOBS) | set(LAZY_JOBS))


register_job(SpinJob())
