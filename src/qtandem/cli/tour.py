"""``qtandem tour``: run every capability's tour section and write an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.main import fail, friendly


def register(app: typer.Typer) -> None:
    """Add the ``tour`` command to ``app``."""

    @app.command("tour")
    @friendly
    def tour(
        out: Annotated[Path | None, typer.Option(help="Output folder (default runs/tour-<timestamp>).")] = None,
        seed: Annotated[int, typer.Option(help="Base seed.")] = 2026,
        quick: Annotated[bool, typer.Option(help="Smaller sizes, for a fast look.")] = False,
        only: Annotated[list[str] | None, typer.Option(help="Run only sections whose title contains this.")] = None,
    ) -> None:
        """Run the guided tour; prints the path of report.html."""
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from qtandem.tour import failed_sections, run_tour

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      transient=True) as progress:
            task = progress.add_task("tour", total=None)
            path = run_tour(out, seed=seed, quick=quick, only=only,
                            progress=lambda msg: progress.update(task, description=msg))
        typer.echo(str(path))
        if failed_sections():
            fail(f"tour sections failed: {', '.join(failed_sections())} (details in {path})")
