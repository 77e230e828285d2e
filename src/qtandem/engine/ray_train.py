"""Data-parallel training on Ray Train (``TorchTrainer``): the ``--engine ray`` of ``qtandem train --workers N``.

Ray Train starts ``workers`` processes (one CPU each) on the Ray cluster, sets up a gloo
``torch.distributed`` process group between them, and runs the same training function as
:func:`qtandem.training.launch` with :meth:`qtandem.training.DataParallel.current` as ``dp``:
the ranks, slices and weights are the same as a local run's. Rank 0 writes the run folder, so on a
cluster the output folder must be on a file system rank 0's node shares with you (or read it there).
``import ray`` happens only inside :func:`launch_ray`.

Examples:
    >>> from qtandem.engine.ray_train import launch_ray
    >>> def total(values, *, dp):
    ...     return {"total": sum(values[dp.shard(len(values))])}
    >>> launch_ray(total, 1, [1, 2, 3])  # doctest: +SKIP
    {'total': 6}
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qtandem.errors import EngineError

__all__ = ["launch_ray"]


def _loop_per_worker(config: dict[str, Any]) -> None:
    import ray.train

    from qtandem.training import DataParallel

    dp = DataParallel.current()
    result = config["fn"](*config["args"], dp=dp, **config["kwargs"])
    if not dp.main:
        ray.train.report({})
        return
    summary = config["summarize"](result) if config["summarize"] is not None else result
    with tempfile.TemporaryDirectory() as folder:  # Ray keeps a report's metrics with its checkpoint
        (Path(folder) / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        ray.train.report({"summary": json.dumps(summary)}, checkpoint=ray.train.Checkpoint.from_directory(folder))


def launch_ray(fn: Callable[..., Any], workers: int, *args: Any, address: str | None = None,
               summarize: Callable[[Any], dict[str, Any]] | None = None, storage: str | None = None,
               **kwargs: Any) -> dict[str, Any]:
    """Run ``fn(*args, dp=..., **kwargs)`` on ``workers`` Ray Train workers; rank 0's ``summarize(result)``.

    Args:
        fn: the training function (as for :func:`qtandem.training.launch`).
        workers: Ray Train workers (one CPU each).
        address: ``None`` (a private local Ray), ``"auto"`` or ``"HOST:PORT"``.
        summarize: turns rank 0's result into plain data (the return value); ``None``: ``fn``'s result
            must be plain data already.
        storage: Ray Train's storage folder (default: a temporary folder).

    Raises:
        EngineError: Ray missing or unreachable, or the training failed (its error in the message).

    Examples:
        >>> launch_ray(print, 0)
        Traceback (most recent call last):
        ...
        qtandem.errors.EngineError: --workers must be >= 1, got 0
    """
    from qtandem.engine.ray_engine import RayEngine

    if workers < 1:
        raise EngineError(f"--workers must be >= 1, got {workers}")
    with RayEngine(address, num_cpus=workers if address is None else None):
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        trainer = TorchTrainer(
            _loop_per_worker,
            train_loop_config={"fn": fn, "args": args, "kwargs": kwargs, "summarize": summarize},
            torch_config=TorchConfig(backend="gloo"),
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=False, resources_per_worker={"CPU": 1}),
            run_config=RunConfig(name="qtandem-train", storage_path=storage or tempfile.mkdtemp(prefix="qtandem-ray-")),
        )
        try:
            result = trainer.fit()
        except Exception as err:  # Ray wraps the worker's error
            raise EngineError(f"Ray Train failed: {' '.join(str(err).split())[:600]}") from None
        if getattr(result, "error", None) is not None:
            raise EngineError(f"Ray Train failed: {' '.join(str(result.error).split())[:600]}")
        metrics = dict(result.metrics or {})
    summary = json.loads(metrics["summary"]) if "summary" in metrics else None
    checkpoint: Any = getattr(result, "checkpoint", None)
    if summary is None and checkpoint is not None:
        with checkpoint.as_directory() as folder:
            summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    if not isinstance(summary, dict):
        raise EngineError("Ray Train finished without rank 0's summary")
    return summary
