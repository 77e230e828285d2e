"""Options and helpers shared by every ``qtandem`` command: one CLI grammar.

Every command that writes results takes ``-o/--output``; every command that
prints results takes ``--json``; every command that writes a folder refuses to
replace an existing one unless ``--overwrite`` is given; output files need an
existing parent folder (the tree is never created silently).

Examples:
    >>> from pathlib import Path
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> prepare_output_dir(root / "run", overwrite=False).name
    'run'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.errors import QtandemError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
"""``--json``: print the command's results as one JSON document."""

OverwriteFlag = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output folder.")]
"""``--overwrite``: allow replacing an existing, non-empty output folder."""

OutputFile = Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE",
                                                 help="Output file (default: stdout).")]
"""``-o/--output FILE`` for commands that write one file (stdout when absent)."""

OutputDir = Annotated[Path | None, typer.Option("-o", "--output", metavar="DIR",
                                                help="Output folder (default: under runs/).")]
"""``-o/--output DIR`` for commands that write a folder of results."""


class OutputError(QtandemError):
    """An output path that cannot be used as asked (exists, parent missing)."""


def prepare_output_dir(path: Path, *, overwrite: bool, resume: bool = False) -> Path:
    """Check (and create) a run's output folder.

    Args:
        path: the folder.
        overwrite: replace an existing, non-empty folder (its files are overwritten as the run writes them).
        resume: the run continues what is in the folder (then an existing folder is expected, not an error).

    Returns:
        ``path``, which exists afterwards.

    Raises:
        OutputError: ``path`` exists, is not empty, and neither ``overwrite`` nor ``resume`` is set;
            or ``path`` is a file.

    Examples:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / "old").mkdir(); _ = (root / "old" / "x.txt").write_text("1")
        >>> prepare_output_dir(root / "old", overwrite=False)
        Traceback (most recent call last):
        ...
        qtandem.cli.common.OutputError: output folder ... exists and is not empty: pass --overwrite to replace it
        >>> prepare_output_dir(root / "old", overwrite=True).is_dir()
        True
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"output {path} is a file, expected a folder")
    if path.is_dir() and any(path.iterdir()) and not (overwrite or resume):
        raise OutputError(f"output folder {path} exists and is not empty: pass --overwrite to replace it")
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_output_file(path: Path) -> Path:
    """Check that ``path`` can be written as an output file; the folder tree is never created.

    Raises:
        OutputError: the parent folder does not exist, or ``path`` is a folder.

    Examples:
        >>> check_output_file(Path("/no/such/dir/x.qasm"))
        Traceback (most recent call last):
        ...
        qtandem.cli.common.OutputError: cannot write /no/such/dir/x.qasm: folder /no/such/dir does not exist
    """
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder, expected a file name")
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {parent} does not exist")
    return path


def emit_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout (non-finite floats become ``null``).

    Examples:
        >>> emit_json({"a": 1, "b": float("nan")})
        {"a": 1, "b": null}
    """
    from qtandem.io import json_safe

    typer.echo(json.dumps(json_safe(data)))
    sys.stdout.flush()
