"""``RayEngine``: the same seam on Ray, from a private local Ray to a cluster (``pip install 'qtandem[ray]'``).

``address=None`` starts a private Ray on this machine (``ray.init(address="local")``), even when
a Ray cluster is running here or ``RAY_ADDRESS`` is set: it never attaches silently. A cluster is
joined only when asked: ``address="auto"`` (the cluster started on this machine with
``ray start --head``) or ``"HOST:PORT"`` (its GCS address). An unreachable ``HOST:PORT`` fails
within seconds with :class:`~qtandem.errors.EngineError`. If the calling process has already
called ``ray.init`` itself, that Ray is used and left running on :meth:`RayEngine.close`.

Each task asks for one CPU; Ray sets ``OMP_NUM_THREADS=1`` in its workers. ``import ray``
happens only when a ``RayEngine`` is created.

Examples:
    >>> from qtandem.engine import RayEngine
    >>> RayEngine(address="127.0.0.1:1")  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    qtandem.errors.EngineError: cannot reach a Ray cluster at 127.0.0.1:1 ...
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from qtandem.engine.base import Engine
from qtandem.errors import EngineError

__all__ = ["RayEngine", "import_ray"]


def import_ray() -> Any:
    """``import ray``, or an :class:`~qtandem.errors.EngineError` naming the extra to install.

    Examples:
        >>> try:
        ...     ray = import_ray()
        ... except EngineError as err:
        ...     print(err)  # doctest: +SKIP
    """
    try:
        import ray
    except ImportError as err:
        raise EngineError("the Ray engine needs Ray: pip install 'qtandem[ray]' "
                          f"(or use the local engine, --engine local); import failed: {err}") from None
    return ray


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    host, sep, port = address.rpartition(":")
    if address.startswith("ray://"):
        return  # Ray Client: ray.init reports its own errors
    if not sep or not host or not port.isdigit():
        raise EngineError(f"Ray address {address!r} is not HOST:PORT (e.g. 10.0.0.5:6379), 'auto' or empty "
                          f"for a private local Ray")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        raise EngineError(f"cannot reach a Ray cluster at {address} ({err}); start one with "
                          f"'ray start --head --port={port}' on {host} (docs/cluster.md), or omit --address "
                          f"for a private local Ray") from None


def _apply(fn: Callable[[Any], Any], payload: Any) -> Any:
    return fn(payload)


class RayEngine(Engine):
    """Tasks on Ray: a private local instance (``address=None``) or a cluster.

    Args:
        address: ``None`` (private local Ray), ``"auto"`` (the cluster running on this machine)
            or ``"HOST:PORT"`` of a cluster's head.
        num_cpus: CPUs of the private local Ray (default: all); ignored for a cluster.
        init_options: more ``ray.init`` keywords (e.g. ``runtime_env``).

    Raises:
        EngineError: Ray not installed, the address unreachable or malformed, or no cluster for
            ``"auto"``.

    Examples:
        >>> engine = RayEngine(num_cpus=1)  # doctest: +SKIP
        >>> sorted(engine.map_unordered(abs, [-1, -2])); engine.close()  # doctest: +SKIP
        [1, 2]
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, **init_options: Any) -> None:
        if num_cpus is not None and (not isinstance(num_cpus, int) or num_cpus < 1):
            raise EngineError(f"RayEngine needs num_cpus >= 1, got {num_cpus!r}")
        if address is not None and address not in ("auto", "local"):
            _check_reachable(address)
        ray = import_ray()
        self._ray = ray
        self._owned = False
        self._remote: dict[Any, Any] = {}
        if ray.is_initialized():
            self.address = "in-process"
        else:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False, **init_options}
            target = "local" if address is None else address
            if target == "local":
                options["num_cpus"] = num_cpus
            try:
                ray.init(address=target, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise EngineError(f"cannot start or join Ray at {target!r}: {' '.join(str(err).split())[:300]}; "
                                  f"omit --address for a private local Ray (docs/cluster.md)") from None
            self._owned = True
            self.address = target
        self._workers = max(1, int(ray.cluster_resources().get("CPU", 1)))

    @property
    def workers(self) -> int:
        """CPUs of the Ray cluster (tasks take one each)."""
        return self._workers

    def _remote_fn(self, fn: Callable[[Any], Any]) -> Any:
        """A remote callable ``payload -> fn(payload)``: a Ray task of ``fn`` itself for a Python function, else
        a generic task taking ``fn`` from the object store (builtins, callable objects)."""
        if inspect.isfunction(fn):
            if fn not in self._remote:
                self._remote[fn] = self._ray.remote(num_cpus=1, max_retries=3)(fn)
            return self._remote[fn].remote
        if "apply" not in self._remote:
            self._remote["apply"] = self._ray.remote(num_cpus=1, max_retries=3)(_apply)
        if fn not in self._remote:
            self._remote[fn] = self._ray.put(fn)
        apply, ref = self._remote["apply"], self._remote[fn]
        return lambda payload: apply.remote(ref, payload)

    def map_unordered(self, fn: Callable[[Any], Any], payloads: Iterable[Any], *,
                      max_in_flight: int | None = None) -> Iterator[Any]:
        """Run ``fn`` on every payload as Ray tasks; results in completion order.

        Examples:
            >>> with RayEngine(num_cpus=1) as engine:  # doctest: +SKIP
            ...     list(engine.map_unordered(abs, [-1]))
            [1]
        """
        return self._run(self._remote_fn(fn), payloads, max_in_flight or max(16, 4 * self._workers))

    def _run(self, remote: Any, payloads: Iterable[Any], window: int) -> Iterator[Any]:
        ray = self._ray
        it = iter(payloads)
        pending: list[Any] = []
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        pending.append(remote(next(it)))
                    except StopIteration:
                        exhausted = True
                if not pending:
                    return
                ready, pending = ray.wait(pending, num_returns=1)
                more, pending = ray.wait(pending, num_returns=len(pending), timeout=0) if pending else ([], [])
                yield from ray.get(ready + more)
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        """Shut down the Ray this engine started (a cluster or an outside ``ray.init`` stays up).

        Examples:
            >>> RayEngine(num_cpus=1).close()  # doctest: +SKIP
        """
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
        self._owned = False
