"""``qtandem qec``: the QEC sub-app (decoder evaluation, flagging, training).

Each subcommand lives in its own small module with a ``register(qec_app)`` function and is
listed in :data:`COMMAND_MODULES`; the library (:mod:`qtandem.qec`) holds the behaviour.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: tuple[str, ...] = (
    "qtandem.cli.qec_eval",
    "qtandem.cli.qec_flag",
    "qtandem.cli.qec_train",
)
"""Modules that add a command to ``qtandem qec`` (each defines ``register(qec_app)``)."""


def register(app: typer.Typer) -> None:
    """Add the ``qec`` sub-app, with every command of :data:`COMMAND_MODULES`, to ``app``."""
    qec_app = typer.Typer(name="qec", help="Quantum error correction: evaluate decoders, flag doubtful shots, "
                                           "train neural decoders.", no_args_is_help=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(qec_app)
    app.add_typer(qec_app, name="qec")
