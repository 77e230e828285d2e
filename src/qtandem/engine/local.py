"""``LocalEngine``: a process pool on this machine (spawn start method, one torch thread per worker).

``workers=1`` runs every task in the calling process (no pool, no pickling): the cheapest
way to debug a task (``in_process=False`` gives a pool of one spawned worker instead, the
like-for-like baseline of a speed-up measurement). ``workers >= 2`` starts that
many spawned processes on first use; each sets ``OMP_NUM_THREADS=MKL_NUM_THREADS=1`` and
``torch.set_num_threads(1)`` before running a task, so workers do not oversubscribe the cores.

Examples:
    >>> from qtandem.engine import LocalEngine
    >>> with LocalEngine(1) as engine:
    ...     sorted(engine.map_unordered(str, [3, 1, 2]))
    ['1', '2', '3']
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from qtandem.engine.base import Engine
from qtandem.errors import EngineError

__all__ = ["LocalEngine", "one_thread"]

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def one_thread() -> None:
    """Pin this process to one compute thread (each worker's initialiser).

    Sets the thread variables before torch, NumPy's BLAS or OpenMP are loaded in the worker (torch
    then starts with one thread); a torch already loaded gets ``torch.set_num_threads(1)``.

    Examples:
        >>> import os
        >>> saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        >>> one_thread(); os.environ["OMP_NUM_THREADS"]
        '1'
        >>> for k, v in saved.items():
        ...     _ = os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    """
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


class LocalEngine(Engine):
    """A local process pool (spawn), or the calling process itself for ``workers=1``.

    Args:
        workers: processes (>= 1); ``None`` = ``os.cpu_count()``.
        in_process: run the tasks in the calling process; default ``workers == 1``. ``LocalEngine(1,
            in_process=False)`` is a pool of one spawned worker: the same task path as ``workers >= 2``
            (pickling, a cold process), the like-for-like baseline of a 1-to-N speed-up.

    Raises:
        EngineError: ``workers`` < 1, or ``in_process`` with more than one worker.

    Examples:
        >>> with LocalEngine(1) as engine:
        ...     list(engine.map_unordered(len, ["ab", "c"]))
        [2, 1]
        >>> LocalEngine(0)
        Traceback (most recent call last):
        ...
        qtandem.errors.EngineError: LocalEngine needs workers >= 1, got 0
    """

    name = "local"

    def __init__(self, workers: int | None = None, *, in_process: bool | None = None) -> None:
        n = (os.cpu_count() or 1) if workers is None else workers
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise EngineError(f"LocalEngine needs workers >= 1, got {workers!r}")
        if in_process and n > 1:
            raise EngineError(f"LocalEngine(in_process=True) runs one task at a time; got workers={n}")
        self._workers = n
        self._in_process = n == 1 if in_process is None else bool(in_process)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        """Number of worker processes (or 1 for the calling process)."""
        return self._workers

    @property
    def in_process(self) -> bool:
        """Whether tasks run in the calling process.

        Examples:
            >>> LocalEngine(1).in_process, LocalEngine(1, in_process=False).in_process, LocalEngine(2).in_process
            (True, False, False)
        """
        return self._in_process

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self._workers, mp_context=ctx, initializer=one_thread)
        return self._pool

    def map_unordered(self, fn: Callable[[Any], Any], payloads: Iterable[Any], *,
                      max_in_flight: int | None = None) -> Iterator[Any]:
        """Run ``fn`` on every payload, results in completion order (see :class:`~qtandem.engine.Engine`).

        Examples:
            >>> with LocalEngine(1) as engine:
            ...     list(engine.map_unordered(abs, iter([-1, -2])))
            [1, 2]
        """
        if self._in_process:
            return (fn(p) for p in payloads)
        return self._pooled(fn, payloads, max_in_flight or 4 * self._workers)

    def _pooled(self, fn: Callable[[Any], Any], payloads: Iterable[Any], window: int) -> Iterator[Any]:
        pool = self._executor()
        it = iter(payloads)
        pending: set[Future[Any]] = set()
        done: deque[Future[Any]] = deque()
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) + len(done) < window:
                    try:
                        pending.add(pool.submit(fn, next(it)))
                    except StopIteration:
                        exhausted = True
                if not done:
                    if not pending:
                        return
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    done.extend(finished)
                yield done.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        """Shut the pool down and wait for its processes to exit.

        Examples:
            >>> engine = LocalEngine(2); engine.close(); engine.close()
        """
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
