"""``qtandem draw FILE``: the text drawing of an OpenQASM circuit.

Wide circuits fold at ``--width`` columns (the terminal's width by default, 120
when writing a file or JSON); a drawing taller than the terminal goes through
the pager (``less``), as ``git log`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag, OutputFile
from qtandem.cli.main import fail, friendly

FILE_WIDTH = 120
"""Fold width when the drawing is not shown on a terminal."""

MIN_WIDTH = 20


def register(app: typer.Typer) -> None:
    """Add the ``draw`` command to ``app``."""

    @app.command("draw")
    @friendly
    def draw(
        file: Annotated[Path, typer.Argument(metavar="FILE", help="OpenQASM 2 or 3 file.")],
        width: Annotated[int | None, typer.Option(metavar="COLUMNS",
                                                  help="Fold the drawing at this many characters "
                                                       "(default: the terminal's width; 120 for -o and --json).")
                         ] = None,
        pager: Annotated[bool, typer.Option("--pager/--no-pager",
                                            help="Page a drawing taller than the terminal.")] = True,
        output: OutputFile = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Print the text drawing of a circuit (-o FILE writes it to FILE)."""
        import shutil
        import sys

        if width is not None and width < MIN_WIDTH:
            fail(f"--width must be at least {MIN_WIDTH}, got {width}")
        if output is not None:
            from qtandem.cli.common import check_output_file

            check_output_file(output)
        import qtandem

        circuit = qtandem.load(file)
        on_terminal = output is None and not as_json and sys.stdout.isatty()
        if width is None:
            width = max(MIN_WIDTH, shutil.get_terminal_size((FILE_WIDTH, 24)).columns) if on_terminal else FILE_WIDTH
        text = circuit.draw(max_width=width)
        if output is not None:
            from qtandem.io import atomic_write_text

            atomic_write_text(output, text + "\n")
        if as_json:
            from qtandem.cli.common import emit_json

            emit_json({"file": str(file), "qubits": circuit.n_qubits, "clbits": circuit.n_clbits, "width": width,
                       "drawing": text, **({"output": str(output)} if output is not None else {})})
            return
        if output is not None:
            typer.echo(f"wrote {output}")
            return
        if on_terminal and pager and text.count("\n") + 1 > shutil.get_terminal_size((FILE_WIDTH, 24)).lines:
            import click

            click.echo_via_pager(text + "\n")
            return
        typer.echo(text)
