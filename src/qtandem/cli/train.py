"""``qtandem train CONFIG.toml``: train a hybrid model (see :mod:`qtandem.hybrid.train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to ``app``."""

    @app.command("train")
    @friendly
    def train(
        config: Annotated[Path, typer.Argument(help="TOML config (schema in qtandem.hybrid.train).")],
        resume: Annotated[bool, typer.Option(help="Continue from the output folder's last checkpoint.")] = False,
        output: Annotated[Path | None, typer.Option(help="Override the config's output folder.")] = None,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    ) -> None:
        """Train; prints the test accuracy and the report's path."""
        from qtandem.hybrid.train import load_config
        from qtandem.hybrid.train import train as run

        cfg = load_config(config)
        if output is not None:
            cfg["output"] = str(output)
        summary = run(cfg, resume=resume, progress=progress)
        typer.echo(f"test accuracy {summary['test_acc']:.4f} after {summary['steps']} steps "
                   f"({summary['seconds']:.1f} s); report: {Path(cfg['output']) / 'report.html'}")
