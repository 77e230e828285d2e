"""``qtandem qec flag``: mark shots whose soft output is doubtful and write them out."""

from __future__ import annotations

import typer


def register(qec_app: typer.Typer) -> None:
    """Add ``flag`` to the ``qtandem qec`` sub-app (filled in by the QEC foundation work)."""
