"""Recursive-descent reader for OpenQASM 2.0 and OpenQASM 3 (the gate-level subset).

One pass over the tokens builds the circuit: declarations, gate definitions
(expanded at each use), gate calls with register broadcasting, modifiers
(``ctrl``, ``negctrl``, ``inv``, ``pow``), constant expressions, ``for`` loops
(unrolled), measurement, reset, barrier, ``if`` on classical registers and
``input`` parameters. Every error is a :class:`QasmError` with file, line,
column and a caret excerpt.

The reader class is assembled here from its parts: :mod:`~qtandem.qasm.base`
(limits, state, tokens, operands, simple statements),
:mod:`~qtandem.qasm.declarations` (registers, constants, inputs, includes),
:mod:`~qtandem.qasm.gatedefs` (gate definitions, calls and modifiers) and
:mod:`~qtandem.qasm.control` (``if``, ``for``); this module adds the version
header and the statement dispatch.

Work is bounded: register sizes (:data:`MAX_QUBITS`), the number of
instructions a program expands to (:data:`MAX_INSTRUCTIONS`), total expansion
work (:data:`MAX_WORK`: gates created, loop iterations, expression terms
evaluated) and nesting (:data:`MAX_NESTING` blocks, :data:`MAX_GATE_DEPTH`
gate definitions, :data:`MAX_INCLUDE_DEPTH` includes).

Examples:
    >>> parse('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0], q[1];').count_ops()
    {'h': 1, 'cx': 1}
"""

from __future__ import annotations

import gc
from pathlib import Path

from qtandem.circuit.circuit import Circuit
from qtandem.errors import QtandemError
from qtandem.qasm.base import (
    _ASSIGN_OPS,
    _CLASSICAL_TYPES,
    _UNSUPPORTED,
    MAX_GATE_DEPTH,
    MAX_INCLUDE_DEPTH,
    MAX_INSTRUCTIONS,
    MAX_MODIFIERS,
    MAX_NESTING,
    MAX_QUBITS,
    MAX_WORK,
    Call,
    GateDef,
    ParseState,
    Prim,
)
from qtandem.qasm.control import ControlFlowMixin
from qtandem.qasm.declarations import DeclarationsMixin
from qtandem.qasm.lexer import Source, tokenize
from qtandem.qasm.stdlib import BUILTIN_2, BUILTIN_3

__all__ = ["MAX_GATE_DEPTH", "MAX_INCLUDE_DEPTH", "MAX_INSTRUCTIONS", "MAX_MODIFIERS", "MAX_NESTING", "MAX_QUBITS",
           "MAX_WORK", "Call", "GateDef", "Prim", "parse"]


class _Parser(DeclarationsMixin, ControlFlowMixin):
    """The OpenQASM reader: the version header, then one statement at a time."""

    def header(self) -> None:
        tok = self.peek()
        if tok.kind == "eof":
            raise self.err(tok, "empty program: expected 'OPENQASM 2.0;' or 'OPENQASM 3.0;' and statements")
        if tok.value != "OPENQASM":
            self.st.version = 3
            self.st.gates.update(BUILTIN_3)
            return
        self.next()
        ver = self.next()
        if ver.kind != "number" or ver.value not in ("2.0", "2", "3", "3.0", "3.1"):
            shown = "nothing" if ver.kind == "eof" else repr(ver.value)
            raise self.err(ver, f"unsupported OpenQASM version {shown} (qtandem reads 2.0 and 3)")
        self.st.version = 2 if ver.value.startswith("2") else 3
        self.expect(";")
        builtin = BUILTIN_2 if self.st.version == 2 else BUILTIN_3
        self.st.gates.update(builtin)
        for name in builtin:
            self.st.libraries[name] = "the language"

    def statement(self) -> None:
        tok = self.peek()
        v = tok.value
        if tok.kind == "op":
            if v == ";":
                self.next()
                return None
            if v == "{":
                self.next()
                self.enter(tok)
                self.block_rest(tok)
                self.leave()
                return None
            if v == "}":
                raise self.err(tok, "unexpected '}' with no open block")
            raise self.err(tok, f"unexpected {v!r}: expected a statement")
        if tok.kind != "id":
            what = "end of input" if tok.kind == "eof" else repr(v)
            raise self.err(tok, f"expected a statement, got {what}")
        if v == "OPENQASM":
            raise self.err(tok, "the OPENQASM version line must be the first statement")
        if v == "include":
            return self.include()
        if v in ("qreg", "creg"):
            return self.old_register()
        if v in ("qubit", "bit") and self.peek(1).value not in _ASSIGN_OPS:
            return self.new_register()
        if v == "gate":
            return self.gate_def()
        if v == "opaque":
            name = self.peek(1)
            raise self.err(tok, f"opaque gate {name.value!r} has no definition: qtandem cannot simulate it")
        if v == "measure":
            return self.measure_arrow()
        if v == "reset":
            return self.reset()
        if v == "barrier":
            return self.barrier()
        if v == "if":
            return self.if_stmt()
        if v == "for" and self.st.version == 3:
            return self.for_loop()
        if self.st.version == 3 and (v == "const" or v in _CLASSICAL_TYPES):
            return self.classical_decl()
        if v == "input" and self.st.version == 3:
            return self.input_decl()
        if v in _UNSUPPORTED and self.st.version == 3 and self.peek(1).value not in _ASSIGN_OPS:
            raise self.err(tok, f"OpenQASM 3 construct {v!r} ({_UNSUPPORTED[v]}) is not supported by qtandem; "
                                "it reads the gate-level subset: gates, modifiers, constants, for loops, "
                                "measure, reset, barrier, if")
        nxt = self.peek(1)
        if nxt.kind == "op" and (nxt.value in _ASSIGN_OPS or (nxt.value == "[" and self._assign_ahead())):
            return self.assignment()
        return self.gate_call_stmt()


def parse(text: str, *, filename: str = "<string>", include_dirs: tuple[str | Path, ...] = (),
          base_dir: Path | None = None) -> Circuit:
    """Parse OpenQASM 2 or 3 source into a :class:`Circuit`.

    Args:
        text: the program.
        filename: name shown in error messages.
        include_dirs: folders searched for ``include`` files after ``base_dir``.
        base_dir: folder of the file being read (``include`` resolves there first;
            the current directory when ``None``).

    Raises:
        QasmError: any problem, located at ``filename:line:col``.

    Examples:
        >>> c = parse('OPENQASM 2.0;\\ninclude "qelib1.inc";\\nqreg q[2];\\ncreg c[2];\\n'
        ...           'h q[0];\\ncx q[0], q[1];\\nmeasure q -> c;')
        >>> c.n_qubits, c.count_ops()
        (2, {'h': 1, 'cx': 1, 'measure': 2})
        >>> parse("OPENQASM 3.0;\\nqubit q;\\nfoo q;", filename="bad.qasm")
        Traceback (most recent call last):
        ...
        qtandem.errors.QasmError: bad.qasm:3:1: unknown gate 'foo'...
    """
    # the reader allocates many small objects and no cycles: pausing the cyclic
    # garbage collector makes it about twice as fast on large files
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, filename, include_dirs, base_dir)
    finally:
        if was_enabled:
            gc.enable()


def _parse(text: str, filename: str, include_dirs: tuple[str | Path, ...], base_dir: Path | None) -> Circuit:
    src = Source(text, filename)
    state = ParseState(include_dirs=tuple(Path(d) for d in include_dirs))
    if base_dir is not None:
        state.include_stack.append(str((base_dir / Path(filename).name).resolve()))
    parser = _Parser(tokenize(src), src, state, base_dir)
    parser.header()
    parser.run()
    circuit = Circuit(state.n_qubits, state.n_clbits, qregs=state.qreg_order, cregs=state.creg_order)
    for inst, tok, isrc in state.insts:
        try:
            circuit.append(inst)
        except QtandemError as err:
            msg = str(err).split(": ", 1)[-1] if str(err).startswith("instruction ") else str(err)
            raise isrc.error(msg, tok.line, tok.col) from None
    return circuit
