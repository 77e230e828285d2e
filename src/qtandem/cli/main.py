"""Entry point of the ``qtandem`` command.

Every subcommand turns a :class:`~qtandem.QtandemError`, a missing file or a
bad option into a one-line message on stderr and exit status 2, never a
traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from qtandem.errors import QasmError, QtandemError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="qtandem",
    help="Machine learning and quantum computing, improving each other.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str) -> None:
    """Print ``qtandem: error: message`` on stderr and exit with status 2."""
    typer.echo(f"qtandem: error: {message}", err=True)
    raise typer.Exit(2)


def friendly(fn: F) -> F:
    """Decorator: expected errors become short messages and exit status 2."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QasmError as err:
            fail(str(err))
        except QtandemError as err:
            fail(str(err))
        except FileNotFoundError as err:
            fail(f"file not found: {err.filename or err}")
        except IsADirectoryError as err:
            fail(f"expected a file, got a directory: {err.filename or err}")
        except PermissionError as err:
            fail(f"permission denied: {err.filename or err}")
        except MemoryError as err:
            fail(f"out of memory: {err}")
        return None

    return wrapper  # type: ignore[return-value]


def _register() -> None:
    """Add every subcommand to :data:`app` (once).

    Command modules import only typer at module level: anything heavy (torch,
    numpy, stim...) is imported inside the command body, so ``--help`` and
    argument errors answer without loading it (tests/cli/test_cli.py checks).
    """
    if app.registered_commands or app.registered_groups:
        return
    from qtandem.cli import compile as compile_cli
    from qtandem.cli import convert, device, info, optimize, qec, simulate, tour, train

    for mod in (simulate, convert, info, device, train, tour, qec, optimize, compile_cli):
        mod.register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI (console-script entry point)."""
    _register()
    try:
        app(args=argv, prog_name="qtandem", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if code not in (0, 2):
            code = 2  # click usage errors exit 2 already; anything else unexpected too
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
