"""``qtandem loop CONFIG.toml -o DIR [--resume] [--json]``: the co-design loop (:mod:`qtandem.codesign.loop`).

The run folder gets ``state.json`` (the checkpoint, after every stage), ``iter<t>/`` (each stage's
output) and ``report.html`` (per stage: cost and gain against the stale calibration).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OutputError, OverwriteFlag, emit_json
from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add ``loop`` to ``app``."""

    @app.command("loop")
    @friendly
    def loop(
        config: Annotated[Path, typer.Argument(metavar="CONFIG", help="The loop's TOML file (see "
                                                                      "examples/codesign/).")],
        output: OutputDir = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the loop in DIR, skipping the stages "
                                                             "its state.json lists as done.")] = False,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Learn the device, compile and run the workload with it, mitigate, detect drift, re-learn;
        beside the same pipeline with the published (stale) calibration."""
        import shutil

        from qtandem.cli.common import prepare_output_dir
        from qtandem.codesign.config import load_loop_config
        from qtandem.codesign.loop import STATE, run_loop
        from qtandem.training import run_dir

        cfg = load_loop_config(config)
        folder = output if output is not None else run_dir("", str(config), "loop")
        if resume and not (folder / STATE).exists():
            raise OutputError(f"--resume: {folder} holds no loop run ({STATE} missing)")
        if overwrite and not resume and folder.is_dir() and (folder / STATE).exists():
            shutil.rmtree(folder)
        prepare_output_dir(folder, overwrite=overwrite, resume=resume)
        result = run_loop(cfg, output=folder, resume=resume, progress=not as_json)
        if as_json:
            emit_json(result.to_dict())
            return
        for row in result.table():
            stale = (f", stale error {row['stale_error']:.4g} (gain {row['gain']:.2f}x)"
                     if "stale_error" in row else "")
            typer.echo(f"iteration {row['iteration']}: loop error {row['loop_error']:.4g}{stale}")
        typer.echo(f"wrote {folder} ({result.report})")
