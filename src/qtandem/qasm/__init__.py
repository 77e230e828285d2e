"""OpenQASM 2.0 and 3 for qtandem: :func:`load`, :func:`loads`, :func:`dumps`, :func:`dump`.

The reader is a hand-written tokenizer and recursive-descent parser shared by
both versions (``lexer``, ``expr``, ``stdlib``; the parser is ``parser``, assembled
from ``base``, ``gatedefs``, ``classical``, ``control``, ``subroutines``,
``declarations`` and ``timing``); the writer is ``writer``. Every problem is a :class:`qtandem.QasmError` carrying
``file:line:col`` and a caret excerpt; no other exception escapes the reader.

Supported: OpenQASM 2.0 with the extended ``qelib1.inc`` (built in), custom
``gate`` definitions, register broadcasting, ``measure``/``reset``/``barrier``,
``if (c == n)``, includes relative to the including file (identifiers are
ASCII, as the version 2 grammar says). OpenQASM 3: ``qubit``/``bit`` (and
``qreg``/``creg``), physical qubits ``$n``, ``stdgates.inc``, modifiers
``ctrl``/``negctrl``/``inv``/``pow(k)``, Unicode identifiers, classical
variables, constants and arrays evaluated while reading (casts such as
``int[8](x)`` and ``bool(c)``, comparisons, logic, bit operations, ``sizeof``),
``for``/``while`` loops, ``break``/``continue``, ``switch``, ``let`` aliases
(slices, index sets, ``++``), ``def`` subroutines (inlined at each call),
``input`` parameters (linear angle expressions, or values bound with
``params=``), ``if``/``else``/``switch`` on measured bits (which become
instruction conditions), and timing (:mod:`~qtandem.qasm.timing`): durations in
ns, us (µs), ms or s (stored in ns), ``duration`` variables and constants and
arithmetic on them (``delay[2 * d] q;``, ``delay[d + 50ns] q;``); ``delay`` is one
instruction (the writer emits ``delay[<float>ns]``, version 3 only); ``box { ... }``
becomes its body between barriers on the body's qubits (nothing moves into or out
of it; the text written back is those barriers), ``box[T] { ... }`` also pads each
of its qubits with a delay up to ``T`` when the body is delays only (a body with
gates has no known length and is refused), and ``nop`` adds qubits to a box.
Refused with an error that names the feature: calibration grammar (``defcal``,
``cal``, ``defcalgrammar``, ``extern``), ``stretch`` and ``durationof`` (they need
a scheduler and gate durations, which qtandem does not have), ``dt`` units,
computation on measured bits at run time (``while`` on measured bits, arithmetic
on them), ``opaque``.

The writer (:func:`dumps`) keeps custom ``gate`` definitions read from the
input where the target version can express them (``inline=True`` flattens them).

Examples:
    >>> from qtandem.qasm import loads, dumps
    >>> c = loads('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; h q[0]; ctrl @ x q[0], q[1];')
    >>> c.count_ops()
    {'h': 1, 'cx': 1}
    >>> loads(dumps(c, version=3)) == c
    True
    >>> t = loads('OPENQASM 3.0; qubit[2] q; const duration d = 100ns; box[1us] { delay[2 * d + 50ns] q; }')
    >>> [(i.name, i.qubits, i.params) for i in t]
    [('barrier', (0, 1), ()), ('delay', (0, 1), (250.0,)), ('delay', (0, 1), (750.0,)), ('barrier', (0, 1), ())]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from qtandem.circuit.circuit import Circuit
from qtandem.errors import QasmError
from qtandem.qasm.lexer import MAX_SOURCE_BYTES, decode
from qtandem.qasm.parser import MAX_INSTRUCTIONS, MAX_QUBITS, parse
from qtandem.qasm.writer import dumps, needs_version_3

__all__ = ["MAX_INSTRUCTIONS", "MAX_QUBITS", "MAX_SOURCE_BYTES", "dump", "dumps", "load", "loads"]


def _guarded(text: str, filename: str, include_dirs: Iterable[str | os.PathLike[str]],
             base_dir: Path | None, params: Mapping[str, Any] | None = None) -> Circuit:
    """Run the parser; a stray internal exception becomes a located-less ``QasmError``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return parse(text, filename=filename, include_dirs=tuple(Path(d) for d in include_dirs), base_dir=base_dir,
                     params=params)
    except QasmError:
        raise
    except RecursionError:
        raise QasmError("program nested too deeply to read", filename=filename) from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, UnicodeError) as err:
        raise QasmError(f"internal error while reading OpenQASM ({type(err).__name__}: {err}); "
                        "please report this input", filename=filename) from err


def loads(text: str | bytes, *, filename: str = "<string>",
          include_dirs: Iterable[str | os.PathLike[str]] = (), params: Mapping[str, Any] | None = None) -> Circuit:
    """Parse OpenQASM 2 or 3 text into a :class:`~qtandem.Circuit`.

    The version comes from the ``OPENQASM`` line (OpenQASM 3 when it is absent).
    ``include "qelib1.inc"`` and ``include "stdgates.inc"`` are built in; other
    ``include`` paths resolve relative to the current directory, then ``include_dirs``.

    Args:
        text: the program (``bytes`` are decoded as UTF-8).
        filename: name used in error messages.
        include_dirs: extra folders searched for ``include`` files.
        params: values bound to ``input`` declarations while reading (a number,
            or a list for an ``input array``); the others stay free parameters.

    Returns:
        The circuit; several registers become consecutive indices in declaration
        order, recorded in ``circuit.qregs`` / ``circuit.cregs``.

    Raises:
        QasmError: any syntax or semantic problem, with ``filename:line:col``.

    Examples:
        >>> c = loads('OPENQASM 2.0; include "qelib1.inc"; qreg a[1]; qreg b[2]; creg m[2];'
        ...           'cx a[0], b; measure b -> m;')
        >>> [(i.name, i.qubits) for i in c][:2], c.qregs
        ([('cx', (0, 1)), ('cx', (0, 2))], [('a', 1), ('b', 2)])
        >>> try:
        ...     loads('OPENQASM 2.0;\\ninclude "qelib1.inc";\\nqreg q[3];\\nh q[5];', filename="bad.qasm")
        ... except QasmError as err:
        ...     print(err)
        bad.qasm:4:5: index 5 is out of range for register 'q' of size 3
            h q[5];
                ^
    """
    if isinstance(text, (bytes, bytearray)):
        text = decode(bytes(text), filename)
    if not isinstance(text, str):
        raise QasmError(f"loads expects OpenQASM text (str), got {type(text).__name__}", filename=filename)
    return _guarded(text, filename, include_dirs, None, params)


def load(path: str | os.PathLike[str], *, include_dirs: Iterable[str | os.PathLike[str]] = (),
         params: Mapping[str, Any] | None = None) -> Circuit:
    """Read an OpenQASM 2 or 3 file; ``include`` paths resolve relative to the file's folder first.

    Args:
        path: the file.
        include_dirs: extra folders searched for ``include`` files.
        params: values bound to ``input`` declarations while reading (see :func:`loads`).

    Returns:
        The circuit, named after the file's stem.

    Raises:
        FileNotFoundError: the file does not exist.
        QasmError: the file is not valid OpenQASM (message has ``file:line:col``).

    Examples:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> text = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0], q[1];'
        >>> _ = (folder / "bell.qasm").write_text(text)
        >>> c = load(folder / "bell.qasm")
        >>> c.name, c.count_ops()
        ('bell', {'h': 1, 'cx': 1})
    """
    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_SOURCE_BYTES:
        raise QasmError(f"file is {path.stat().st_size} bytes; qtandem reads OpenQASM sources up to "
                        f"{MAX_SOURCE_BYTES} bytes", filename=str(path))
    text = decode(path.read_bytes(), str(path))
    circuit = _guarded(text, str(path), include_dirs, path.parent, params)
    if circuit.name is None:
        circuit.name = path.stem
    return circuit


def dump(circuit: Circuit, path: str | os.PathLike[str], version: int | None = None, *,
         inline: bool = False) -> None:
    """Write ``circuit`` as OpenQASM to ``path`` (atomically).

    Args:
        circuit: the circuit.
        path: destination file.
        version: 2 or 3. By default 3 for a ``.qasm3`` file name, otherwise 2
            unless the circuit needs OpenQASM 3 (free parameters, modifiers,
            ``mcx`` with more than four controls...), then 3.
        inline: write custom gates' bodies instead of their definitions (see :func:`dumps`).

    Raises:
        QasmError: the circuit has no OpenQASM form in that version (see :func:`dumps`).

    Examples:
        >>> import tempfile, pathlib
        >>> from qtandem import Circuit, Parameter
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> dump(Circuit(1).rx(Parameter("t"), 0), folder / "p.qasm")
        >>> (folder / "p.qasm").read_text().splitlines()[0]
        'OPENQASM 3.0;'
    """
    from qtandem.io import atomic_write_text

    path = Path(path)
    if version is None:
        version = 3 if path.suffix == ".qasm3" or needs_version_3(circuit) else 2
    atomic_write_text(path, dumps(circuit, version=version, inline=inline))
