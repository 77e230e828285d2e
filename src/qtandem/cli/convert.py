"""``qtandem convert IN --to qasm2|qasm3 [-o OUT]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.main import fail, friendly


def register(app: typer.Typer) -> None:
    """Add the ``convert`` command to ``app``."""

    @app.command("convert")
    @friendly
    def convert(
        file: Annotated[Path, typer.Argument(help="OpenQASM 2 or 3 file.")],
        to: Annotated[str, typer.Option("--to", help="qasm2 or qasm3.")] = "qasm3",
        output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default: stdout).")] = None,
    ) -> None:
        """Convert an OpenQASM file to OpenQASM 2 or 3."""
        import qtandem
        from qtandem.io import atomic_write_text

        versions = {"qasm2": 2, "qasm3": 3}
        if to not in versions:
            fail(f"--to must be qasm2 or qasm3, got {to!r}")
        text = qtandem.load(file).to_qasm(version=versions[to])
        if output is None:
            typer.echo(text, nl=False)
        else:
            atomic_write_text(output, text)
            typer.echo(f"wrote {output}", err=True)
