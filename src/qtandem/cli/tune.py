"""``qtandem tune CONFIG.toml -o DIR``: hyper-parameter search (Ray Tune with ASHA, or the local engine).

See :mod:`qtandem.sweep.tune` for the engines and what the run folder holds, and
:mod:`qtandem.sweep.tune_config` for the TOML layout (examples in ``examples/tune/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OverwriteFlag, emit_json
from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``tune`` command to ``app``."""

    @app.command("tune")
    @friendly
    def tune(
        config: Annotated[Path, typer.Argument(metavar="CONFIG", help="The search's TOML file (see "
                                                                      "examples/tune/).")],
        output: OutputDir = None,
        engine: Annotated[str, typer.Option(help="local (no Ray: successive halving by rounds) or ray "
                                                 "(Ray Tune, ASHA).")] = "local",
        address: Annotated[str | None, typer.Option(help="Ray cluster: 'auto' or HOST:PORT (default: a private "
                                                         "local Ray).")] = None,
        workers: Annotated[int | None, typer.Option(help="Trials at once: local processes (default 1, "
                                                         "in-process), or CPUs of a private local Ray.")] = None,
        samples: Annotated[int | None, typer.Option(help="Draws of the search space (overrides "
                                                         "tune.samples).")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the search in DIR (local: only missing "
                                                             "evaluations run; Ray: Tuner.restore).")] = False,
        overwrite: OverwriteFlag = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
        as_json: JsonFlag = False,
    ) -> None:
        """Search hyper-parameters of a trainer; writes trials.csv, best_config.toml and report.html to DIR."""
        import dataclasses

        from qtandem.cli.common import OutputError, prepare_output_dir
        from qtandem.errors import ConfigError
        from qtandem.sweep.tune import prepare_trials, run_tune
        from qtandem.sweep.tune_config import load_config

        if output is None:
            raise OutputError("give the run folder: -o/--output DIR")
        if resume and overwrite:
            raise ConfigError("--resume continues the run folder and --overwrite starts it afresh: give one")
        if engine not in ("local", "ray"):
            raise ConfigError(f"--engine: unknown {engine!r}; use local or ray")
        if address is not None and engine != "ray":
            raise ConfigError("--address is for --engine ray")
        cfg = load_config(config)
        if samples is not None:
            if samples < 1:
                raise ConfigError(f"--samples must be >= 1, got {samples}")
            cfg = dataclasses.replace(cfg, samples=samples)
        prepare_trials(cfg)  # every trial validated before anything is written
        prepare_output_dir(output, overwrite=overwrite, resume=resume)
        res = run_tune(cfg, output, engine=engine, workers=workers, address=address, resume=resume,
                       progress=progress and not as_json)
        best = res.best
        summary = {"output": str(res.output), "engine": res.engine, "trials": len(res.table), "complete": res.complete,
                   "stopped_early": sum(1 for r in res.table if str(r["status"]).startswith("stopped")),
                   "metric": cfg.metric, "mode": cfg.mode, "best": best,
                   "best_config": str(res.best_config) if res.best_config else None, "report": str(res.report),
                   "seconds": round(res.seconds, 2)}
        if as_json:
            emit_json(summary)
            return
        typer.echo(f"{cfg.name}: {len(res.table)} trials on the {res.engine} engine in {res.seconds:.1f} s, "
                   f"{summary['stopped_early']} stopped early{'' if res.complete else ' (incomplete: --resume)'}")
        if best is not None:
            tuned = ", ".join(f"{k} = {best[k]!r}" for k in cfg.space)
            typer.echo(f"best: trial {best['trial']}, {cfg.metric} = {best[cfg.metric]}: {tuned}")
            typer.echo(f"best config: {res.best_config}")
        typer.echo(f"report: {res.report}")
