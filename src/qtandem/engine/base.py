"""The engine seam: ``map_unordered(fn, payloads)`` yields ``fn(payload)`` results as they finish.

An engine runs plain functions (importable on the workers, e.g. module-level functions of
qtandem) on plain data (dicts, numbers, strings) and returns plain data. Results arrive in
completion order, not submission order: callers key results by something inside them.

Examples:
    >>> from qtandem.engine import LocalEngine
    >>> with LocalEngine(1) as engine:
    ...     sorted(engine.map_unordered(abs, [-2, 1, -3]))
    [1, 2, 3]
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

__all__ = ["Engine"]


class Engine(abc.ABC):
    """Where work runs. Subclasses: :class:`~qtandem.engine.LocalEngine`, :class:`~qtandem.engine.RayEngine`.

    Use as a context manager (or call :meth:`close`) so no worker outlives the run.

    Examples:
        >>> from qtandem.engine import LocalEngine
        >>> engine = LocalEngine(1)
        >>> isinstance(engine, Engine), engine.workers
        (True, 1)
        >>> engine.close()
    """

    name: str = "engine"
    """Short name (``local``, ``ray``) recorded in results."""

    @property
    @abc.abstractmethod
    def workers(self) -> int:
        """How many tasks run at once."""

    @abc.abstractmethod
    def map_unordered(self, fn: Callable[[Any], Any], payloads: Iterable[Any], *,
                      max_in_flight: int | None = None) -> Iterator[Any]:
        """Run ``fn`` on every payload; yield results in completion order.

        Args:
            fn: a module-level function (importable on the workers) of one plain-data argument.
            payloads: consumed lazily, at most ``max_in_flight`` ahead of the results taken.
            max_in_flight: tasks submitted but not yet yielded (default: a few per worker).

        Returns:
            An iterator of results; an exception in a task is raised here. Closing the iterator
            early cancels the tasks not yet started.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the workers this engine started (idempotent)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"
