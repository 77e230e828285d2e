"""``qtandem train CONFIG.toml``: train a hybrid classifier (schema and outputs in :mod:`qtandem.hybrid.train`).

``--workers N`` trains data-parallel (:func:`qtandem.training.launch`: gloo ranks on this machine, or
Ray Train's ``TorchTrainer`` with ``--engine ray``): each rank takes its slice of every batch, and the
weights equal a one-worker run's up to float reduction order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OverwriteFlag
from qtandem.cli.main import friendly

Workers = Annotated[int, typer.Option("--workers", metavar="N", help="Data-parallel ranks (each takes its slice of "
                                                                "every batch; rank 0 writes the files).")]
TrainEngine = Annotated[str, typer.Option("--engine", help="Where --workers run: local (spawned processes) or ray "
                                                          "(Ray Train's TorchTrainer).")]
Address = Annotated[str | None, typer.Option(help="Ray cluster for --engine ray: 'auto' or HOST:PORT (default: a "
                                                  "private local Ray).")]


def summary(res: Any) -> dict[str, Any]:
    """A :class:`~qtandem.hybrid.train.TrainResult` as the plain data the command prints (``--json``)."""
    return {"output": str(res.output), "report": str(res.report), "steps": res.steps, "epochs": res.epochs,
            "finished": res.finished, "stopped_early": res.stopped_early, "seconds": round(res.seconds, 3),
            "parameters": res.parameter_counts, "weights": res.final.get("weights"),
            **{k: v for k, v in res.final.items() if k.endswith(("_accuracy", "_loss"))}}


def threads_per_worker(threads: int, workers: int) -> int:
    """Torch threads of each rank: the configured ``threads``, else the CPUs shared out (at least 1).

    Examples:
        >>> threads_per_worker(0, 1) >= 1, threads_per_worker(3, 2)
        (True, 3)
    """
    import os

    return threads or max(1, (os.cpu_count() or 1) // workers)


def check_workers(workers: int, engine: str, address: str | None) -> None:
    """Refuse bad ``--workers`` / ``--engine`` / ``--address`` before anything is written.

    Examples:
        >>> check_workers(2, "local", None)
        >>> check_workers(1, "local", "auto")
        Traceback (most recent call last):
        qtandem.errors.ConfigError: --address is for --engine ray
    """
    from qtandem.errors import ConfigError

    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if engine not in ("local", "ray"):
        raise ConfigError(f"--engine: unknown {engine!r}; use local or ray")
    if address is not None and engine != "ray":
        raise ConfigError("--address is for --engine ray")


def launch_workers(run: Any, cfg: Any, out: Path, summarize: Any, *, workers: int, engine: str,
                   address: str | None, resume: bool, progress: bool, **kwargs: Any) -> dict[str, Any]:
    """Run ``run(cfg, dp=...)`` on ``workers`` ranks (here, or on Ray Train) and return ``summarize(result)``.

    With more than one rank or on Ray, ``cfg``'s output is pinned to ``out`` (absolute) and its torch
    threads shared out (:func:`threads_per_worker`); ``kwargs`` go to ``run`` on the local path.

    Examples:
        >>> from types import SimpleNamespace
        >>> def run(cfg, *, dp, resume=False, progress=False):   # a trainer's shape
        ...     return cfg.output
        >>> launch_workers(run, SimpleNamespace(output="o", threads=1), Path("o"), str, workers=1,
        ...                engine="local", address=None, resume=False, progress=False)
        'o'
    """
    import dataclasses

    if workers > 1 or engine == "ray":
        cfg = dataclasses.replace(cfg, output=str(out.resolve()), threads=threads_per_worker(cfg.threads, workers))
    if engine == "ray":
        from qtandem.engine.ray_train import launch_ray

        return launch_ray(run, workers, cfg, address=address, summarize=summarize, resume=resume, progress=False)
    from qtandem.training import launch

    return summarize(launch(run, workers, cfg, resume=resume, progress=progress, threads=cfg.threads, **kwargs))


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to ``app``."""

    @app.command("train")
    @friendly
    def train(
        config: Annotated[Path, typer.Argument(help="TOML configuration (schema: python -m pydoc "
                                                    "qtandem.hybrid.train).")],
        resume: Annotated[bool, typer.Option("--resume", help="Continue exactly from the output folder's "
                                                              "checkpoint.")] = False,
        output: Annotated[Path | None, typer.Option("-o", "--output", metavar="DIR",
                                                    help="Output folder (overrides the config's output).")] = None,
        overwrite: OverwriteFlag = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
        max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps in all, with a checkpoint "
                                                           "(continue with --resume).")] = None,
        workers: Workers = 1,
        engine: TrainEngine = "local",
        address: Address = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Train a hybrid model; writes metrics, checkpoints, curves and report.html, prints a summary."""
        import dataclasses

        from qtandem.cli.common import emit_json, prepare_output_dir
        from qtandem.errors import ConfigError
        from qtandem.hybrid.train import load_config
        from qtandem.hybrid.train import train as run

        cfg = load_config(config)
        if max_steps is not None:
            if max_steps < 0:
                raise ConfigError(f"--max-steps must be >= 0, got {max_steps}")
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=max_steps))
        if output is not None:
            cfg = dataclasses.replace(cfg, output=str(output))
        check_workers(workers, engine, address)
        out = prepare_output_dir(cfg.output_dir(), overwrite=overwrite, resume=resume)
        s = launch_workers(run, cfg, out, summary, workers=workers, engine=engine, address=address, resume=resume,
                           progress=progress, output=out)
        s["workers"] = workers
        if as_json:
            emit_json(s)
            return
        state = ("stopped early" if s["stopped_early"] else "done" if s["finished"]
                 else "paused (continue with --resume)")
        val = f", validation {s['val_accuracy']:.4f}" if "val_accuracy" in s else ""
        test = (f"test accuracy {s['test_accuracy']:.4f} ({s['weights']} weights), "
                if "test_accuracy" in s else "test split not read yet (read once, at the end); ")
        par = f" on {workers} data-parallel workers ({engine})" if workers > 1 or engine == "ray" else ""
        typer.echo(f"{cfg.data.name}: {state} after {s['epochs']} epochs ({s['steps']} steps, {s['seconds']:.1f} s"
                   f"{par}): {test}train {s.get('train_accuracy', float('nan')):.4f}{val}; "
                   f"{sum(s['parameters'].values())} parameters")
        typer.echo(f"report: {s['report']}")
