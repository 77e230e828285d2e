"""Sweep results: append-only JSON Lines, one row per finished chunk, written by the driver only.

Each row is flushed when written and the file is fsynced at most about once a second (and on
close), so a killed sweep loses at most its last second of rows and never leaves a half row
that a resume would trip on: an unterminated last line is dropped when the file is reopened.
Rows are keyed by ``(key, chunk)``: ``key`` is the point's content hash.

Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.jsonl"
    >>> with RowStore(path) as store:
    ...     store.append({"key": "a", "chunk": 0, "shots": 10, "errors": 1})
    >>> [r["errors"] for r in read_rows(path)]
    [1]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from qtandem.errors import DataError

__all__ = ["RESULTS", "RowStore", "merge_rows", "read_rows", "results_path"]

RESULTS = "results.jsonl"
"""The rows' file name inside a run folder."""

_DETERMINISTIC = ("shots", "errors", "discards", "checksum")


def results_path(path: str | os.PathLike[str]) -> Path:
    """``path/results.jsonl`` for a run folder, ``path`` itself for a file.

    Examples:
        >>> results_path("runs/a").name, results_path("x.jsonl").name
        ('results.jsonl', 'x.jsonl')
    """
    p = Path(path)
    return p / RESULTS if p.is_dir() or p.suffix != ".jsonl" else p


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a run folder or a ``.jsonl`` file (a missing file has none; a cut-off last line is dropped).

    Raises:
        DataError: a line that is not a JSON object with ``key`` and ``chunk`` (file:line named).

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.jsonl"
        >>> _ = p.write_text('{"key": "a", "chunk": 0}\\n{"key": "a", "ch')
        >>> read_rows(p)
        [{'key': 'a', 'chunk': 0}]
    """
    p = results_path(path)
    if not p.exists():
        return []
    text = p.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] != "":
        lines = lines[:-1]  # cut off by a kill mid-write: never completed, so never counted
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{p}:{i}: not a JSON row ({err.msg})") from None
        if not isinstance(row, dict) or "key" not in row or "chunk" not in row:
            raise DataError(f"{p}:{i}: a sweep row needs 'key' and 'chunk'")
        rows.append(row)
    return rows


def merge_rows(*tables: list[dict[str, Any]], sources: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of several runs, each ``(key, chunk)`` once; duplicates must agree on their counts.

    Raises:
        DataError: the same chunk with different counts (not the same code version or seed policy).

    Examples:
        >>> a = [{"key": "k", "chunk": 0, "errors": 2}]
        >>> b = [{"key": "k", "chunk": 0, "errors": 2}, {"key": "k", "chunk": 1, "errors": 0}]
        >>> [r["chunk"] for r in merge_rows(a, b)]
        [0, 1]
    """
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for t, rows in enumerate(tables):
        for row in rows:
            ident = (str(row["key"]), int(row["chunk"]))
            old = seen.get(ident)
            if old is None:
                seen[ident] = row
            elif any(old.get(k) != row.get(k) for k in _DETERMINISTIC):
                where = sources[t] if t < len(sources) else f"input {t + 1}"
                raise DataError(f"{where}: point {ident[0]} chunk {ident[1]} disagrees with an earlier input "
                                f"({ {k: old.get(k) for k in _DETERMINISTIC if k in old} } vs "
                                f"{ {k: row.get(k) for k in _DETERMINISTIC if k in row} }): not the same sweep")
    return list(seen.values())


class RowStore:
    """Append rows to a JSON Lines file: flush per row, fsync about once a second and on close.

    Args:
        path: the file (created with its folder's existing parent; an unterminated last line is cut).
        fsync_every: seconds between fsyncs.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.jsonl"
        >>> _ = p.write_text('{"key": "a", "chunk": 0}\\n{"ke')
        >>> with RowStore(p) as store:
        ...     store.append({"key": "a", "chunk": 1})
        >>> p.read_text().count("\\n"), len(read_rows(p))
        (2, 2)
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync_every: float = 1.0) -> None:
        self.path = Path(path)
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(self.path, "r+b") as fh:
                    fh.truncate(data.rfind(b"\n") + 1)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._every = fsync_every
        self._last = time.monotonic()
        self.written = 0

    def append(self, row: dict[str, Any]) -> None:
        """Write one row (one line), flushed."""
        self._fh.write(json.dumps(row, sort_keys=True, allow_nan=False) + "\n")
        self._fh.flush()
        self.written += 1
        now = time.monotonic()
        if now - self._last >= self._every:
            os.fsync(self._fh.fileno())
            self._last = now

    def close(self) -> None:
        """Fsync and close (idempotent)."""
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> RowStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
