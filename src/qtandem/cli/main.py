"""Entry point of the ``qtandem`` command.

Every subcommand turns a :class:`~qtandem.QtandemError`, a missing file or a
bad option into a one-line message on stderr and exit status 2, never a
traceback. Anything else is a bug in qtandem: a one-line ``internal error``
message and exit status 1 (``QTANDEM_DEBUG=1`` shows the traceback).

One grammar for every command (:mod:`qtandem.cli.common`); :func:`command`
also gives every command and group ``-h``, metavariables in usage lines
(``FILE``, ``INT``) and flags without a type.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from qtandem.errors import QasmError, QtandemError

F = TypeVar("F", bound=Callable[..., Any])

HELP_OPTION_NAMES = ["-h", "--help"]
"""The help flags of every command and group."""

_INTERNAL_EXIT = 70  # friendly -> main: an internal error (main exits 1 for it)

app = typer.Typer(
    name="qtandem",
    help="Machine learning and quantum computing, improving each other.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)


def _print_version(value: bool) -> None:
    if value:
        from qtandem import __version__

        typer.echo(f"qtandem {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Machine learning and quantum computing, improving each other."""


def fail(message: str) -> NoReturn:
    """Print ``qtandem: error: message`` on stderr and exit with status 2."""
    typer.echo(f"qtandem: error: {message}", err=True)
    raise typer.Exit(2)


def _internal_error(err: BaseException) -> NoReturn:
    """The last line of defence: an unexpected exception is a bug, reported in one line (exit 1)."""
    message = " ".join(str(err).split())
    if len(message) > 500:
        message = message[:500] + "..."
    typer.echo(f"qtandem: internal error: {type(err).__name__}: {message}", err=True)
    typer.echo("This is a bug in qtandem: please report it with the command that ran "
               "(QTANDEM_DEBUG=1 shows the traceback).", err=True)
    raise typer.Exit(_INTERNAL_EXIT)


def _debug() -> bool:
    return os.environ.get("QTANDEM_DEBUG", "") not in ("", "0")


def friendly(fn: F) -> F:
    """Decorator: expected errors become short messages and exit status 2.

    An unexpected exception (a bug) prints ``qtandem: internal error: <type>: <message>``
    and exits with status 1, or re-raises with its traceback when ``QTANDEM_DEBUG=1``.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except QasmError as err:
            fail(str(err))
        except QtandemError as err:
            fail(str(err))
        except FileNotFoundError as err:
            fail(f"file not found: {err.filename or err}")
        except IsADirectoryError as err:
            fail(f"expected a file, got a directory: {err.filename or err}")
        except NotADirectoryError as err:
            fail(f"not a directory: {err.filename or err}")
        except PermissionError as err:
            fail(f"permission denied: {err.filename or err}")
        except MemoryError as err:
            fail(f"out of memory: {err}")
        except Exception as err:
            if _debug():
                raise
            _internal_error(err)

    return wrapper  # type: ignore[return-value]


def _register() -> None:
    """Add every subcommand to :data:`app` (once).

    Command modules import only typer at module level: anything heavy (torch,
    numpy, stim...) is imported inside the command body, so ``--help`` and
    argument errors answer without loading it (tests/cli/test_cli.py checks).
    """
    if app.registered_commands or app.registered_groups:
        return
    from qtandem.cli import chem as chem_cli
    from qtandem.cli import compile as compile_cli
    from qtandem.cli import convert, device, draw, info, learn, mitigate, noise, optimize, qec, simulate, tour, train
    from qtandem.cli import loop as loop_cli
    from qtandem.cli import opt as opt_cli
    from qtandem.cli import sweep as sweep_cli
    from qtandem.cli import tune as tune_cli

    for mod in (simulate, draw, convert, info, device, noise, train, tour, qec, optimize, compile_cli, learn,
                mitigate, sweep_cli, tune_cli, chem_cli, opt_cli, loop_cli):
        mod.register(app)


_TYPE_METAVARS = {"str": "TEXT", "int": "INT", "float": "FLOAT", "path": "PATH", "bool": "BOOLEAN"}


def _option_metavar(label: str) -> str:
    """``<int>`` -> ``INT``, ``<list[str]>`` -> ``TEXT``, ``<a|b>`` -> ``[a|b]``."""
    label = label.strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    if "|" in label:
        return f"[{label}]"
    return _TYPE_METAVARS.get(label, label.upper().replace(" ", "_"))


def _tidy(cmd: Any, ctx: Any) -> None:
    """Metavariables in usage lines and help, no ``<bool>`` on flags, for ``cmd`` and below."""
    params = list(cmd.params)
    help_option = cmd.get_help_option(ctx)  # created (and cached by click) here, tidied below
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if param.param_type_name == "argument":
            if getattr(param, "hidden", False):  # e.g. an old positional kept to explain its new option
                param.get_usage_pieces = lambda ctx: []
                continue
            if param.metavar is None:
                param.metavar = (param.name or "arg").upper()
            piece = param.metavar if param.required else f"[{param.metavar}]"
            piece += "..." if param.nargs != 1 else ""
            param._usage_display_name = lambda piece=piece: piece  # not {FILE}
            param.display_type_rich = lambda ctx: None  # no <path> beside FILE
        elif getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
        elif param.metavar is None and hasattr(param, "display_type"):
            param.metavar = _option_metavar(str(param.display_type(ctx)))
    for name, sub in getattr(cmd, "commands", {}).items():
        _tidy(sub, typer.Context(sub, info_name=name, parent=ctx))


_COMMAND: list[Any] = []


def command() -> Any:
    """The whole ``qtandem`` command tree (typer's click objects), registered and tidied once.

    Examples:
        >>> root = command()
        >>> sorted(root.commands)[:3]
        ['chem', 'compile', 'convert']
        >>> root.get_usage(typer.Context(root, info_name="qtandem"))
        'Usage: qtandem [OPTIONS] COMMAND [ARGS]...'
    """
    if not _COMMAND:
        _register()
        root = typer.main.get_command(app)
        _tidy(root, typer.Context(root, info_name="qtandem", help_option_names=HELP_OPTION_NAMES))
        _COMMAND.append(root)
    return _COMMAND[0]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI (console-script entry point)."""
    try:
        command().main(args=argv, prog_name="qtandem", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if code == _INTERNAL_EXIT:
            code = 1  # a bug, reported by friendly
        elif code not in (0, 2, 130):
            code = 2  # click usage errors exit 2 already; anything else unexpected too
        sys.exit(code)
    except Exception as err:  # outside friendly (option callbacks, click itself): still no traceback
        if _debug():
            raise
        try:
            _internal_error(err)
        except typer.Exit:
            sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
