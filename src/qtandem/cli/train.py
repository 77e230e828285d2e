"""``qtandem train CONFIG.toml``: train a hybrid classifier (schema and outputs in :mod:`qtandem.hybrid.train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag, OverwriteFlag
from qtandem.cli.main import friendly


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
        out = prepare_output_dir(cfg.output_dir(), overwrite=overwrite, resume=resume)
        res = run(cfg, resume=resume, progress=progress, output=out)
        summary = {"output": str(res.output), "report": str(res.report), "steps": res.steps, "epochs": res.epochs,
                   "finished": res.finished, "stopped_early": res.stopped_early, "seconds": round(res.seconds, 3),
                   "parameters": res.parameter_counts,
                   **{k: v for k, v in res.final.items() if k.endswith(("_accuracy", "_loss"))}}
        if as_json:
            emit_json(summary)
            return
        state = ("stopped early" if res.stopped_early else "done" if res.finished
                 else "paused (continue with --resume)")
        val = f", validation {res.final['val_accuracy']:.4f}" if "val_accuracy" in res.final else ""
        test = (f"test accuracy {res.test_accuracy:.4f} ({res.final['weights']} weights), "
                if "test_accuracy" in res.final else "test split not read yet (read once, at the end); ")
        typer.echo(f"{cfg.data.name}: {state} after {res.epochs} epochs ({res.steps} steps, {res.seconds:.1f} s): "
                   f"{test}train {res.train_accuracy:.4f}{val}; {sum(res.parameter_counts.values())} parameters")
        typer.echo(f"report: {res.report}")
