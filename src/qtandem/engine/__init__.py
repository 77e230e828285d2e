"""Execution engines: one seam (``map_unordered``) with a local process pool and Ray behind it.

:class:`LocalEngine` (the default; ``workers=1`` runs in-process) and :class:`RayEngine`
(``pip install 'qtandem[ray]'``; ``import ray`` happens only when one is created). Task
functions live in the package, take plain data and return plain data, so the same sweep runs
on a laptop and on a cluster. :func:`make_engine` builds one from CLI-style options.

Examples:
    >>> from qtandem.engine import make_engine
    >>> with make_engine("local", workers=1) as engine:
    ...     sorted(engine.map_unordered(abs, [-3, 2]))
    [2, 3]
"""

from __future__ import annotations

from qtandem.engine.base import Engine
from qtandem.engine.local import LocalEngine
from qtandem.engine.ray_engine import RayEngine
from qtandem.errors import EngineError

__all__ = ["Engine", "LocalEngine", "RayEngine", "make_engine"]

ENGINES = ("local", "ray")


def make_engine(name: str, *, workers: int | None = None, address: str | None = None) -> Engine:
    """The engine called ``name`` (``local`` or ``ray``).

    Args:
        name: ``local`` or ``ray``.
        workers: local processes, or the CPUs of a private local Ray.
        address: Ray only: ``None`` (private local), ``"auto"`` or ``"HOST:PORT"``.

    Raises:
        EngineError: unknown name, ``address`` with the local engine, or the engine cannot start.

    Examples:
        >>> make_engine("dask")
        Traceback (most recent call last):
        ...
        qtandem.errors.EngineError: unknown engine 'dask'; use local or ray
    """
    if name == "local":
        if address is not None:
            raise EngineError("--address is for the Ray engine (--engine ray); the local engine runs on this machine")
        return LocalEngine(workers)
    if name == "ray":
        return RayEngine(address, num_cpus=workers)
    raise EngineError(f"unknown engine {name!r}; use {' or '.join(ENGINES)}")
