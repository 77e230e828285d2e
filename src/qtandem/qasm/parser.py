"""Recursive-descent reader for OpenQASM 2.0 and OpenQASM 3 (the gate-level subset).

One pass over the tokens builds the circuit: declarations, gate definitions
(expanded at each use), gate calls with register broadcasting, modifiers
(``ctrl``, ``negctrl``, ``inv``, ``pow``), constant expressions, ``for`` loops
(unrolled), measurement, reset, barrier, timing (``delay[2 * d]``, ``box``), ``if`` on classical
registers and ``input`` parameters. Every error is a :class:`QasmError` with file, line,
column and a caret excerpt.

The reader class is assembled here from its parts: :mod:`~qtandem.qasm.base`
(limits, state, tokens, operands, simple statements),
:mod:`~qtandem.qasm.declarations` (registers, constants, inputs, includes),
:mod:`~qtandem.qasm.gatedefs` (gate definitions, calls and modifiers),
:mod:`~qtandem.qasm.control` (``if``, ``for``) and :mod:`~qtandem.qasm.timing`
(``delay``, ``box``); this module adds the version header and the statement dispatch.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from qtandem.circuit.circuit import Circuit
from qtandem.errors import QasmError, QtandemError
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
from qtandem.qasm.classical import ClassicalMixin
from qtandem.qasm.control import ControlFlowMixin
from qtandem.qasm.declarations import DeclarationsMixin
from qtandem.qasm.lexer import Source, tokenize
from qtandem.qasm.stdlib import BUILTIN_2, BUILTIN_3
from qtandem.qasm.subroutines import SubroutinesMixin
from qtandem.qasm.timing import TimingMixin

__all__ = ["MAX_GATE_DEPTH", "MAX_INCLUDE_DEPTH", "MAX_INSTRUCTIONS", "MAX_MODIFIERS", "MAX_NESTING", "MAX_QUBITS",
           "MAX_WORK", "Call", "GateDef", "Prim", "parse"]


class _Parser(DeclarationsMixin, TimingMixin):
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
        if self.st.version == 2:
            self.check_version_2()

    def check_version_2(self) -> None:
        """OpenQASM 2 identifiers are ASCII (``[a-z][A-Za-z0-9_]*``) and it has no physical qubits."""
        for tok in self.toks:
            if tok.kind == "id" and not tok.value.isascii():
                raise self.err(tok, f"identifier {tok.value!r} is not ASCII: OpenQASM 2 identifiers are ASCII "
                                    "letters, digits and '_' (OpenQASM 3 allows Unicode letters)")
            if tok.kind == "physical":
                raise self.err(tok, f"physical qubit {tok.value} needs OpenQASM 3")

    def statement(self) -> None:
        tok = self.peek()
        v = tok.value
        if tok.kind == "op":
            if v == ";":
                self.next()
                return None
            if v == "{":
                self.next()
                nesting = self.st.nesting
                self.enter(tok)
                self.push_frame()
                try:
                    self.block_rest(tok)
                finally:
                    self.pop_frame()
                    self.st.nesting = nesting
                return None
            if v == "}":
                raise self.err(tok, "unexpected '}' with no open block")
            raise self.err(tok, f"unexpected {v!r}: expected a statement")
        if tok.kind == "physical":
            return self.gate_call_stmt()
        if tok.kind != "id":
            what = "end of input" if tok.kind == "eof" else repr(v)
            raise self.err(tok, f"expected a statement, got {what}")
        if v == "OPENQASM":
            raise self.err(tok, "the OPENQASM version line must be the first statement")
        nxt = self.peek(1)
        assigning = nxt.kind == "op" and (nxt.value in _ASSIGN_OPS or (nxt.value == "[" and self._assign_ahead()))
        if v in _GLOBAL_ONLY and (self.st.frames or self.st.nesting) and not assigning:
            raise self.err(tok, f"{v!r} is allowed only at the global scope, not inside a block")
        if v == "include":
            return self.include()
        if v in ("qreg", "creg"):
            return self.old_register()
        if v in ("qubit", "bit") and not assigning:
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
        if v == "delay" and self.st.version == 2 and nxt.value == "[":
            raise self.err(tok, "delay needs OpenQASM 3 (OpenQASM 2 has no timing): start the file with "
                                "'OPENQASM 3.0;'")
        if self.st.version == 3 and not assigning:
            handler = self._V3_STATEMENTS.get(v)
            if handler is not None:
                return handler(self)
            if v == "const" or v in _CLASSICAL_TYPES or v == "array":
                return self.classical_decl()
            if v in self.st.subs:
                self.sub_call(None)
                return None
            if v in _UNSUPPORTED:
                raise self.err(tok, f"not supported: {_UNSUPPORTED[v]} ({v!r}){_WHY.get(_UNSUPPORTED[v], '')}")
        if assigning:
            return self.assignment()
        return self.gate_call_stmt()

    _V3_STATEMENTS: ClassVar[dict[str, Any]] = {
        "for": ControlFlowMixin.for_loop, "while": ControlFlowMixin.while_loop,
        "switch": ControlFlowMixin.switch_stmt, "break": ControlFlowMixin.loop_jump,
        "continue": ControlFlowMixin.loop_jump, "let": ClassicalMixin.let_stmt, "def": SubroutinesMixin.def_stmt,
        "return": SubroutinesMixin.return_stmt, "input": DeclarationsMixin.input_decl,
        "delay": TimingMixin.delay, "box": TimingMixin.box, "stretch": TimingMixin.stretch,
        "nop": TimingMixin.nop,
    }


_WHY = {
    "calibration grammar": ": pulse-level definitions and extern functions are supplied by a control system, "
                           "which qtandem's simulator does not have",
    "timing": ": qtandem simulates gates, not schedules",
}
_GLOBAL_ONLY = {"include", "qreg", "qubit", "gate", "def", "input", "opaque", "defcal", "OPENQASM"}


def parse(text: str, *, filename: str = "<string>", include_dirs: tuple[str | Path, ...] = (),
          base_dir: Path | None = None, params: Mapping[str, Any] | None = None) -> Circuit:
    """Parse OpenQASM 2 or 3 source into a :class:`Circuit`.

    Args:
        text: the program.
        filename: name shown in error messages.
        include_dirs: folders searched for ``include`` files after ``base_dir``.
        base_dir: folder of the file being read (``include`` resolves there first;
            the current directory when ``None``).
        params: values for ``input`` declarations (a number, or a list for an
            ``input array``); inputs without a value stay free parameters.

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
        >>> parse("OPENQASM 3.0; input float t; qubit q; U(t, 0, 0) q;", params={"t": 0.5})[0].params
        (0.5, 0.0, 0.0)
    """
    # the reader allocates many small objects and no cycles: pausing the cyclic
    # garbage collector makes it about twice as fast on large files
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, filename, include_dirs, base_dir, dict(params or {}))
    finally:
        if was_enabled:
            gc.enable()


def _parse(text: str, filename: str, include_dirs: tuple[str | Path, ...], base_dir: Path | None,
           params: dict[str, Any]) -> Circuit:
    src = Source(text, filename)
    state = ParseState(include_dirs=tuple(Path(d) for d in include_dirs), bindings=params)
    if base_dir is not None:
        state.include_stack.append(str((base_dir / Path(filename).name).resolve()))
    parser = _Parser(tokenize(src), src, state, base_dir)
    parser.header()
    parser.run()
    unknown = sorted(set(params) - set(state.bound))
    if unknown:
        raise QasmError(f"no input named {', '.join(repr(n) for n in unknown)} in the program "
                        f"(its inputs: {', '.join(state.inputs) or 'none'})", filename=filename)
    _check_global_bits(state, src)
    _prune_local_bits(state)
    n_qubits, qregs = state.n_qubits, state.qreg_order
    if state.physical:
        n_qubits, qregs = state.physical, [("q", state.physical)]
    circuit = Circuit(n_qubits, state.n_clbits, qregs=qregs, cregs=state.creg_order)
    for inst, tok, isrc in state.insts:
        try:
            circuit.append(inst)
        except QtandemError as err:
            msg = str(err).split(": ", 1)[-1] if str(err).startswith("instruction ") else str(err)
            raise isrc.error(msg, tok.line, tok.col) from None
    used = {name for _, _, name, _, _ in state.calls}
    circuit.gate_definitions = {k: v for k, v in state.exports.items() if k in used}
    circuit.gate_calls = list(state.calls)
    return circuit


def _check_global_bits(state: ParseState, src: Source) -> None:
    """A global bit register still holding a nonzero value set while reading would read 0 in the circuit."""
    offset = 0
    for name, size in state.creg_order:
        if name not in state.local_cregs:
            ones = [b for b in range(offset, offset + size) if state.known_bits.get(b)]
            if ones:
                tok, where = state.known_where[ones[0]]
                raise where.error(f"not supported: bit register {name!r} ends the program holding a value set by "
                                "assignment, not by measurement (qtandem's circuits start every bit at 0 and "
                                "write bits only by measuring)", tok.line, tok.col)
        offset += size


def _prune_local_bits(state: ParseState) -> None:
    """Drop bit registers declared inside blocks or subroutines that no instruction uses; renumber the bits."""
    if not state.local_cregs:
        return
    used: set[int] = set()
    for inst, _, _ in state.insts:
        used.update(inst.clbits)
        if inst.condition is not None:
            used.update(inst.condition[0])
    keep: list[tuple[str, int]] = []
    mapping: dict[int, int] = {}
    offset = 0
    for name, size in state.creg_order:
        bits = range(offset, offset + size)
        offset += size
        if name in state.local_cregs and not used.intersection(bits):
            continue
        for b in bits:
            mapping[b] = len(mapping)
        keep.append((name, size))
    if len(keep) == len(state.creg_order):
        return
    state.creg_order = keep
    state.n_clbits = len(mapping)
    for k, (inst, tok, isrc) in enumerate(state.insts):
        if inst.clbits or inst.condition is not None:
            cond = None if inst.condition is None else (tuple(mapping[c] for c in inst.condition[0]),
                                                        inst.condition[1])
            state.insts[k] = (inst.replace(clbits=tuple(mapping[c] for c in inst.clbits), condition=cond), tok,
                              isrc)
