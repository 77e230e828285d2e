"""``qtandem tour``: run every capability's tour section and write an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OverwriteFlag
from qtandem.cli.main import fail, friendly


def register(app: typer.Typer) -> None:
    """Add the ``tour`` command to ``app``."""

    @app.command("tour")
    @friendly
    def tour(
        output: OutputDir = None,
        out: Annotated[Path | None, typer.Option("--out", hidden=True, help="Old name of --output.")] = None,
        overwrite: OverwriteFlag = False,
        seed: Annotated[int, typer.Option(help="Base seed.")] = 2026,
        quick: Annotated[bool, typer.Option(help="Smaller sizes, for a fast look.")] = False,
        only: Annotated[list[str] | None, typer.Option(help="Run only sections whose title contains this "
                                                            "(repeatable; an unknown one is refused).")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Run the guided tour (default folder runs/tour-<timestamp>); prints the path of report.html."""
        from datetime import datetime

        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from qtandem.cli.common import emit_json, prepare_output_dir
        from qtandem.errors import ConfigError
        from qtandem.tour import failed_sections, run_tour, select_sections

        if output is not None and out is not None and output != out:
            raise ConfigError(f"--output {output} and --out {out} disagree; give --output only")
        chosen = [s.title for s in select_sections(only)]  # refuses an unknown --only before writing anything
        if seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {seed}")
        folder = output or out or Path("runs") / f"tour-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        prepare_output_dir(folder, overwrite=overwrite)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      transient=True) as progress:
            task = progress.add_task("tour", total=None)
            path = run_tour(folder, seed=seed, quick=quick, only=only,
                            progress=lambda msg: progress.update(task, description=msg))
        failed = failed_sections()
        if as_json:
            emit_json({"report": str(path), "sections": chosen, "failed": failed})
        else:
            typer.echo(str(path))
        if failed:
            fail(f"tour sections failed: {', '.join(failed)} (details in {path})")
