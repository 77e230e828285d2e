"""``qtandem qec eval``: logical error rate vs physical error rate and distance (see :mod:`qtandem.qec.evaluate`)."""

from __future__ import annotations

import typer


def register(qec_app: typer.Typer) -> None:
    """Add ``eval`` to the ``qtandem qec`` sub-app (filled in by the QEC foundation work)."""
