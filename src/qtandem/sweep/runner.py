"""Run a sweep on an engine, resumably: only the chunks not yet in ``results.jsonl`` are submitted.

Seeds: chunk ``k`` of a point with content hash ``key`` uses
``derive_seed(int(key[:16], 16), k, bits=62)`` (:data:`SEED_POLICY`), never anything about the
worker, so a resumed, rescheduled or merged chunk gives identical numbers. A point's table
entry sums its chunks 0, 1, ... up to the first prefix that meets the job's stopping rule, so
chunks that were still running when the rule was met (their number depends on timing) never
change the table: an interrupted and resumed sweep gives the table of an uninterrupted one.

Examples:
    >>> import tempfile
    >>> from qtandem.engine import LocalEngine
    >>> from qtandem.sweep.config import parse_config
    >>> cfg = parse_config('[sweep]\\njob = "spin"\\n[grid]\\niterations = [10, 20]\\n')
    >>> with LocalEngine(1) as engine:
    ...     result = run_sweep(cfg, engine, tempfile.mkdtemp())
    >>> result.complete, result.rows_written, [e["chunks"] for e in result.table]
    (True, 2, [1, 1])
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtandem.engine.base import Engine
from qtandem.errors import DataError
from qtandem.random import derive_seed
from qtandem.sweep.config import SweepConfig
from qtandem.sweep.jobs import PreparedPoint, get_job
from qtandem.sweep.store import RESULTS, RowStore, read_rows

__all__ = ["PlannedPoint", "SweepProgress", "SweepResult", "plan", "run_payload", "run_sweep", "summarise"]

SEED_POLICY = "derive_seed(int(key[:16], 16), chunk, bits=62) v1"
"""How chunk seeds are made (part of every point's hash)."""

_SUMMED = ("shots", "errors", "discards", "seconds", "cpu_s")


@functools.lru_cache(maxsize=1)
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qtandem")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class PlannedPoint:
    """A validated point of a sweep and its content hash.

    Examples:
        >>> from qtandem.sweep.config import parse_config
        >>> p = plan(parse_config('[sweep]\\njob = "spin"\\n[grid]\\niterations = [5]\\n'))[0]
        >>> len(p.key), p.prepared.params
        (24, {'iterations': 5, 'repeats': 1})
    """

    key: str
    job: str
    prepared: PreparedPoint

    def seed(self, chunk: int) -> int:
        """The seed of chunk ``chunk`` (see :data:`SEED_POLICY`)."""
        return derive_seed(int(self.key[:16], 16), chunk, bits=62)


def plan(config: SweepConfig) -> list[PlannedPoint]:
    """Validate every point of ``config`` and hash it (job, parameters, version, input text, seeds).

    Raises:
        ConfigError: unknown job, or a bad point (the message names ``points[i]`` and the key).

    Examples:
        >>> from qtandem.sweep.config import parse_config
        >>> plan(parse_config('[sweep]\\njob = "spin"\\n[grid]\\niterationz = [5]\\n', "s.toml"))
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: s.toml: points[0].iterationz: unknown parameter of job 'spin' (iterations, repeats)
    """
    job = get_job(config.job)
    version = _version()
    out, seen = [], set()
    for i, point in enumerate(config.points):
        prepared = job.prepare(point, f"{config.source}: points[{i}]")
        ident = json.dumps({"job": job.name, "identity": prepared.identity, "text": prepared.text,
                            "version": version, "seed": config.seed, "seed_policy": SEED_POLICY},
                           sort_keys=True)
        key = hashlib.sha256(ident.encode()).hexdigest()[:24]
        if key not in seen:
            seen.add(key)
            out.append(PlannedPoint(key, job.name, prepared))
    return out


def run_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The worker side of every sweep task: run the job kind's task, tag the result with its chunk.

    Examples:
        >>> run_payload({"job": "spin", "key": "k", "chunk": 0, "iterations": 3, "seed": 1})["checksum"]
        334033
    """
    job = get_job(payload["job"])
    return {"key": payload["key"], "chunk": payload["chunk"], "worker_version": _version(), **job.task(payload)}


def _prefix(chunks: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    rows, k = [], 0
    while k in chunks:
        rows.append(chunks[k])
        k += 1
    return rows


def _used(point: PlannedPoint, chunks: dict[int, dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The chunk rows that count (the prefix up to the stopping rule) and whether the point is complete."""
    job = get_job(point.job)
    prefix = _prefix(chunks)
    for n in range(1, len(prefix) + 1):
        if job.complete(point.prepared, prefix[:n]):
            return prefix[:n], True
    return prefix, len(prefix) >= point.prepared.max_chunks


@dataclass
class SweepProgress:
    """What a progress display needs, passed to ``progress`` after every row.

    Examples:
        >>> SweepProgress(1, 0, 4, 1000, 2.0).shots_per_s
        500.0
    """

    rows: int
    points_done: int
    points_total: int
    shots: int
    elapsed_s: float
    chunks_left: int = 0

    @property
    def shots_per_s(self) -> float:
        """Shots collected per second of this run."""
        return self.shots / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left, from the rows per second so far and the chunks still estimated (``None`` early)."""
        if self.rows == 0 or self.elapsed_s <= 0:
            return None
        return self.chunks_left * self.elapsed_s / self.rows


@dataclass
class SweepResult:
    """The outcome of :func:`run_sweep`.

    Attributes:
        complete: every point met its stopping rule (``False`` when stopped early).
        rows_written: rows added by this run.
        table: :func:`summarise` of the run folder's rows for this sweep's points.
        wall_s: this run's wall time; cpu_s: the tasks' CPU time (their sum, all workers).

    Examples:
        >>> SweepResult(True, 0, []).effective_parallelism
        0.0
    """

    complete: bool
    rows_written: int
    table: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    path: Path | None = None

    @property
    def effective_parallelism(self) -> float:
        """Sum of task CPU time over wall time (about the number of busy workers)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


def summarise(rows: list[dict[str, Any]], points: list[PlannedPoint] | None = None) -> list[dict[str, Any]]:
    """One entry per point: its parameters and the sums over the chunks that count.

    Args:
        rows: chunk rows (any order; duplicates of a ``(key, chunk)`` are counted once).
        points: restrict to (and order by) these points; default every key in ``rows``, in order.

    Returns:
        Dicts with ``key``, ``job``, ``point``, ``chunks``, ``complete`` and the sums of ``shots``,
        ``errors``, ``discards``, ``seconds``, ``cpu_s`` (those present), plus any other
        deterministic per-chunk value of the last counted chunk (e.g. ``checksum``).

    Examples:
        >>> rows = [{"key": "k", "chunk": 1, "job": "spin", "point": {"iterations": 1, "repeats": 2},
        ...          "max_chunks": 2, "checksum": 7}, {"key": "k", "chunk": 0, "job": "spin",
        ...          "point": {"iterations": 1, "repeats": 2}, "max_chunks": 2, "checksum": 5}]
        >>> [(e["chunks"], e["complete"], e["checksum"]) for e in summarise(rows)]
        [(2, True, 7)]
    """
    by_key: dict[str, dict[int, dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(str(row["key"]), {}).setdefault(int(row["chunk"]), row)
    if points is None:
        points = []
        for key, chunks in by_key.items():
            first = next(iter(chunks.values()))
            prepared = PreparedPoint(dict(first["point"]), {}, "", int(first.get("max_chunks", 1)))
            points.append(PlannedPoint(key, str(first["job"]), prepared))
    table = []
    for point in points:
        used, complete = _used(point, by_key.get(point.key, {}))
        entry: dict[str, Any] = {"key": point.key, "job": point.job, "point": point.prepared.params,
                                 "chunks": len(used), "complete": complete}
        for name in _SUMMED:
            if used and name in used[0]:
                entry[name] = sum(r[name] for r in used)
        for name in ("checksum", "result"):  # deterministic values of the last counted chunk
            if used and name in used[-1]:
                entry[name] = used[-1][name]
        table.append(entry)
    return table


def run_sweep(config: SweepConfig, engine: Engine, out: str | os.PathLike[str], *,
              points: list[PlannedPoint] | None = None,
              progress: Callable[[SweepProgress], None] | None = None,
              stop_after: int | None = None) -> SweepResult:
    """Run (or resume) ``config`` on ``engine``, appending rows to ``out/results.jsonl``.

    Args:
        config: the sweep.
        engine: where tasks run.
        out: the run folder (created if missing, not its parents); rows already there are reused (resume).
        points: ``plan(config)`` if already computed.
        progress: called after every row.
        stop_after: stop after writing this many rows (as a kill would; for tests and dry runs).

    Returns:
        A :class:`SweepResult`.

    Raises:
        ConfigError: see :func:`plan`.
        DataError: a worker runs another qtandem version than the driver (its rows would carry the
            driver's hash).

    Examples:
        >>> import tempfile
        >>> from qtandem.engine import LocalEngine
        >>> from qtandem.sweep.config import parse_config
        >>> cfg = parse_config('[sweep]\\njob = "spin"\\n[fixed]\\nrepeats = 3\\n[grid]\\niterations = [10]\\n')
        >>> out = tempfile.mkdtemp()
        >>> with LocalEngine(1) as engine:
        ...     first = run_sweep(cfg, engine, out, stop_after=2)
        ...     rest = run_sweep(cfg, engine, out)
        >>> first.complete, rest.rows_written, rest.table[0]["chunks"]
        (False, 1, 3)
    """
    points = plan(config) if points is None else points
    folder = Path(out)
    folder.mkdir(exist_ok=True)
    path = folder / RESULTS
    chunks: dict[str, dict[int, dict[str, Any]]] = {p.key: {} for p in points}
    for row in read_rows(path):
        if row["key"] in chunks:
            chunks[row["key"]].setdefault(int(row["chunk"]), row)
    by_key = {p.key: p for p in points}
    version, t0 = _version(), time.perf_counter()
    written, shots, cpu = 0, 0, 0.0
    stopped = False
    with RowStore(path) as store:
        while not stopped:
            payloads = []
            for point in points:
                job = get_job(point.job)
                used, complete = _used(point, chunks[point.key])
                if complete:
                    continue
                n_more = job.initial_chunks(point.prepared, used)
                todo = [k for k in range(len(used), point.prepared.max_chunks) if k not in chunks[point.key]]
                for k in todo[:n_more]:
                    payloads.append({**job.payload(point.prepared, k, point.seed(k)), "job": point.job,
                                     "key": point.key, "chunk": k})
            if not payloads:
                break
            left = len(payloads)
            results = engine.map_unordered(run_payload, payloads)
            try:
                for res in results:
                    worker = res.pop("worker_version", version)
                    if worker != version:
                        raise DataError(f"a worker runs qtandem {worker!r}, this driver "
                                        f"{version!r}: install the same version on every node (docs/cluster.md)")
                    point = by_key[res["key"]]
                    row = {"key": point.key, "chunk": res["chunk"], "job": point.job,
                           "point": point.prepared.params, "max_chunks": point.prepared.max_chunks,
                           "seed": point.seed(res["chunk"]), "version": version, "engine": engine.name,
                           "sweep": config.name,
                           **{k: v for k, v in res.items() if k not in ("key", "chunk")}}
                    store.append(row)
                    chunks[point.key][int(row["chunk"])] = row
                    written, left = written + 1, left - 1
                    shots += int(row.get("shots", 0))
                    cpu += float(row.get("cpu_s", 0.0))
                    if progress is not None:
                        done = sum(_used(p, chunks[p.key])[1] for p in points)
                        progress(SweepProgress(written, done, len(points), shots, time.perf_counter() - t0, left))
                    if stop_after is not None and written >= stop_after:
                        stopped = True
                        break
            finally:
                close = getattr(results, "close", None)
                if close is not None:
                    close()
    rows = [r for c in chunks.values() for r in c.values()]
    table = summarise(rows, points)
    return SweepResult(all(e["complete"] for e in table), written, table, time.perf_counter() - t0, cpu, path)
