"""OpenQASM 2.0 and 3 for qtandem: :func:`load`, :func:`loads`, :func:`dumps`, :func:`dump`.

Examples:
    >>> from qtandem.qasm import loads, dumps
    >>> c = loads('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; h q[0]; ctrl @ x q[0], q[1];')
    >>> c.count_ops()
    {'h': 1, 'cx': 1}
    >>> loads(dumps(c, version=3)) == c
    True
"""

from __future__ import annotations

import os
from pathlib import Path

from qtandem.circuit.circuit import Circuit
from qtandem.qasm.lexer import decode
from qtandem.qasm.parser import MAX_INSTRUCTIONS, MAX_QUBITS, parse
from qtandem.qasm.writer import dumps

__all__ = ["MAX_INSTRUCTIONS", "MAX_QUBITS", "dump", "dumps", "load", "loads"]


def loads(text: str, *, filename: str = "<string>", include_dirs: tuple[str | os.PathLike[str], ...] = ()) -> Circuit:
    """Parse OpenQASM 2 or 3 text.

    The version comes from the ``OPENQASM`` line (OpenQASM 3 when it is absent).
    ``include`` paths resolve relative to the current directory, then ``include_dirs``.

    Raises:
        QasmError: any syntax or semantic problem, with ``filename:line:col``.
    """
    if isinstance(text, bytes):
        text = decode(text, filename)
    return parse(text, filename=filename, include_dirs=tuple(Path(d) for d in include_dirs))


def load(path: str | os.PathLike[str], *, include_dirs: tuple[str | os.PathLike[str], ...] = ()) -> Circuit:
    """Read an OpenQASM 2 or 3 file; ``include`` paths resolve relative to the file's folder.

    Raises:
        FileNotFoundError: the file does not exist.
        QasmError: the file is not valid OpenQASM (message has ``file:line:col``).
    """
    path = Path(path)
    text = decode(path.read_bytes(), str(path))
    circuit = parse(text, filename=str(path), include_dirs=tuple(Path(d) for d in include_dirs),
                    base_dir=path.parent)
    if circuit.name is None:
        circuit.name = path.stem
    return circuit


def dump(circuit: Circuit, path: str | os.PathLike[str], version: int | None = None) -> None:
    """Write OpenQASM atomically; ``version`` defaults to 3 for ``.qasm3`` files or parametrised circuits."""
    from qtandem.io import atomic_write_text

    path = Path(path)
    if version is None:
        version = 3 if path.suffix == ".qasm3" or circuit.parameters else 2
    atomic_write_text(path, dumps(circuit, version=version))
