"""Recursive-descent reader for OpenQASM 2.0 and OpenQASM 3 (the gate-level subset).

One pass over the tokens builds the circuit: declarations, gate definitions
(expanded at each use), gate calls with register broadcasting, modifiers
(``ctrl``, ``negctrl``, ``inv``, ``pow``), constant expressions, ``for`` loops
(unrolled), measurement, reset, barrier, ``if`` on classical registers and
``input`` parameters. Every error is a :class:`QasmError` with file, line,
column and a caret excerpt.

Work is bounded: register sizes (:data:`MAX_QUBITS`), the number of
instructions a program expands to (:data:`MAX_INSTRUCTIONS`), total expansion
work (:data:`MAX_WORK`: gates created, loop iterations, expression terms
evaluated) and nesting (:data:`MAX_NESTING` blocks, :data:`MAX_GATE_DEPTH`
gate definitions, :data:`MAX_INCLUDE_DEPTH` includes).
"""

from __future__ import annotations

import difflib
import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import GATES, controlled_matrix, fold_controls, gate_matrix, inverse_of
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter
from qtandem.errors import QasmError, QtandemError
from qtandem.qasm.expr import CONSTANTS, Expr, ExprParser, as_angle, evaluate
from qtandem.qasm.lexer import LOOKAHEAD, Source, Token, decode, tokenize
from qtandem.qasm.stdlib import BUILTIN_2, BUILTIN_3, QELIB1, STDGATES, GateMap

__all__ = ["MAX_GATE_DEPTH", "MAX_INCLUDE_DEPTH", "MAX_INSTRUCTIONS", "MAX_NESTING", "MAX_QUBITS", "MAX_WORK",
           "parse"]

MAX_QUBITS = 100_000
"""Most qubits (and, separately, classical bits) a program may declare."""
MAX_INSTRUCTIONS = 1_000_000
"""Most instructions a program may expand to (loops and gate definitions included)."""
MAX_WORK = 20_000_000
"""Most units of expansion work (gates created, loop-body tokens replayed, expression terms evaluated)."""
MAX_GATE_DEPTH = 64
"""Deepest nesting of gate definitions calling gate definitions."""
MAX_NESTING = 100
"""Deepest nesting of blocks (``{ }``, ``for``, ``if``)."""
MAX_INCLUDE_DEPTH = 32
"""Deepest chain of ``include`` files."""
MAX_MODIFIERS = 64
"""Most modifiers (``ctrl @``, ``inv @``...) on one gate call."""

_UNSUPPORTED = {
    "while": "loops with a run-time condition", "def": "subroutines", "extern": "external functions",
    "delay": "timing", "box": "timing boxes", "let": "aliases", "return": "subroutines", "break": "loop control",
    "continue": "loop control", "output": "output variables", "switch": "classical control flow",
    "cal": "pulse calibration", "defcal": "pulse calibration", "defcalgrammar": "pulse calibration",
    "stretch": "timing", "duration": "timing", "complex": "complex numbers", "array": "classical arrays",
    "else": "else branches", "end": "program termination", "case": "classical control flow",
    "default": "classical control flow", "pragma": "pragmas", "durationof": "timing",
}
_CLASSICAL_TYPES = {"int", "uint", "float", "angle", "bool"}
_ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "++"}

Condition = tuple[tuple[int, ...], int] | None


@dataclass
class Prim:
    """A primitive gate application produced by expansion."""

    name: str
    qubits: tuple[int, ...]
    params: list[Any]
    ctrl: int = 0
    inverted: bool = False


@dataclass
class Call:
    """A gate call: modifiers, name, angle expressions, and operands.

    ``qargs`` holds local qubit-argument tokens (inside a gate body);
    ``operands`` the resolved qubit lists of a top-level call.
    """

    mods: list[tuple[str, Expr | None, Token]]
    name: str
    args: list[Expr]
    qargs: list[Token]
    tok: Token
    operands: list[list[int]] = field(default_factory=list)


@dataclass
class GateDef:
    """A user ``gate`` definition."""

    name: str
    params: list[str]
    qargs: list[str]
    body: list[Call]
    tok: Token


@dataclass
class _State:
    version: int = 3
    qregs: dict[str, tuple[int, int, bool]] = field(default_factory=dict)  # name -> (offset, size, scalar)
    cregs: dict[str, tuple[int, int, bool]] = field(default_factory=dict)
    qreg_order: list[tuple[str, int]] = field(default_factory=list)
    creg_order: list[tuple[str, int]] = field(default_factory=list)
    n_qubits: int = 0
    n_clbits: int = 0
    gates: dict[str, GateMap] = field(default_factory=dict)
    defs: dict[str, GateDef] = field(default_factory=dict)
    recognized: set[str] = field(default_factory=set)
    scope: dict[str, Any] = field(default_factory=dict)
    constants: set[str] = field(default_factory=set)
    insts: list[tuple[Instruction, Token, Source]] = field(default_factory=list)
    include_stack: list[str] = field(default_factory=list)
    include_dirs: tuple[Path, ...] = ()
    libraries: dict[str, str] = field(default_factory=dict)  # gate name -> who defined it
    work: int = 0
    nesting: int = 0
    loop_vars: dict[str, int] = field(default_factory=dict)
    loop_mult: int = 1


class _Parser:
    def __init__(self, tokens: list[Token], src: Source, state: _State, base_dir: Path | None) -> None:
        self.toks = tokens
        self.src = src
        self.st = state
        self.pos = 0
        self.base_dir = base_dir
        self.exprs = ExprParser(tokens, src)

    # -- helpers ---------------------------------------------------------------
    def err(self, tok: Token, message: str) -> QasmError:
        return self.src.error(message, tok.line, tok.col)

    def peek(self, k: int = 0) -> Token:
        if k < LOOKAHEAD:
            return self.toks[self.pos + k]
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def next(self) -> Token:
        tok = self.toks[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def expect(self, value: str, what: str | None = None) -> Token:
        idx = self.pos
        tok = self.next()
        if tok.value != value or tok.kind in ("string", "eof"):
            if value == ";" and idx > 0:
                raise self.missing_semicolon(idx)
            if tok.kind == "eof":
                raise self.err(tok, f"expected {what or repr(value)}, got end of input")
            raise self.err(tok, f"expected {what or repr(value)}, got {tok.value!r}")
        return tok

    def missing_semicolon(self, idx: int) -> QasmError:
        """Error for a missing ``;`` before token ``idx``, located at that token."""
        prev, tok = self.toks[idx - 1], self.toks[idx]
        got = "end of input" if tok.kind == "eof" else repr(tok.value)
        return self.err(tok, f"missing ';' after {prev.value!r} (got {got})")

    def ident(self, what: str = "an identifier") -> Token:
        tok = self.next()
        if tok.kind != "id":
            raise self.err(tok, f"expected {what}, got {'end of input' if tok.kind == 'eof' else repr(tok.value)}")
        return tok

    def expr(self) -> tuple[Expr, Token]:
        start = self.peek()
        node, self.pos = self.exprs.parse(self.pos)
        return node, start

    def value(self, node: Expr, scope: dict[str, Any] | None = None) -> Any:
        if len(node.ops) > 1:
            self.spend(len(node.ops), node.tok)
        return evaluate(node, self.st.scope if scope is None else scope, self.src)

    def int_value(self, node: Expr, tok: Token, what: str, scope: dict[str, Any] | None = None) -> int:
        v = self.value(node, scope)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            shown = "an array" if isinstance(v, list) else repr(v) if not isinstance(v, Parameter) else \
                f"input parameter {v.name!r}"
            raise self.err(tok, f"{what} must be an integer constant, got {shown}")
        return v

    def spend(self, units: int, tok: Token) -> None:
        """Charge expansion work; fails once the program needs more than :data:`MAX_WORK` units."""
        self.st.work += units
        if self.st.work > MAX_WORK:
            raise self.err(tok, f"program expands to too much work (more than {MAX_WORK} gates, loop steps and "
                                "expression terms); qtandem bounds expansion so pathological input fails fast")

    def enter(self, tok: Token) -> None:
        self.st.nesting += 1
        if self.st.nesting > MAX_NESTING:
            raise self.err(tok, f"blocks nested more than {MAX_NESTING} deep")

    def leave(self) -> None:
        self.st.nesting -= 1

    # -- program -----------------------------------------------------------------
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

    def run(self) -> None:
        while self.peek().kind != "eof":
            self.statement()

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

    def _assign_ahead(self) -> bool:
        """True if the statement at ``pos`` is ``name[...] = ...`` (an assignment, not a gate call)."""
        depth, k = 0, self.pos + 1
        toks = self.toks
        while True:
            t = toks[k]
            if t.kind == "eof" or t.value == ";":
                return False
            if t.value == "[":
                depth += 1
            elif t.value == "]":
                depth -= 1
                if depth == 0:
                    return toks[k + 1].value in _ASSIGN_OPS
            k += 1

    def block_rest(self, open_tok: Token) -> None:
        while self.peek().value != "}" or self.peek().kind != "op":
            if self.peek().kind == "eof":
                raise self.err(open_tok, "unclosed '{': expected '}' before the end of input")
            self.statement()
        self.next()

    # -- declarations --------------------------------------------------------------
    def _declare(self, kind: str, name_tok: Token, size: int, scalar: bool, size_tok: Token) -> None:
        name = name_tok.value
        if name in self.st.qregs or name in self.st.cregs or name in self.st.scope:
            raise self.err(name_tok, f"{name!r} is already declared")
        if size <= 0:
            raise self.err(size_tok, f"register {name!r} must have a positive size, got {size}")
        what = "qubits" if kind == "q" else "classical bits"
        total = (self.st.n_qubits if kind == "q" else self.st.n_clbits) + size
        if total > MAX_QUBITS:
            raise self.err(name_tok, f"register {name!r} of {size} {what} exceeds qtandem's limit of {MAX_QUBITS} "
                                     f"{what} per program (the reader bounds memory; simulators need far fewer)")
        if kind == "q":
            self.st.qregs[name] = (self.st.n_qubits, size, scalar)
            self.st.qreg_order.append((name, size))
            self.st.n_qubits += size
        else:
            self.st.cregs[name] = (self.st.n_clbits, size, scalar)
            self.st.creg_order.append((name, size))
            self.st.n_clbits += size

    def old_register(self) -> None:
        kw = self.next()
        name = self.ident("a register name")
        self.expect("[")
        node, t = self.expr()
        size = self.int_value(node, t, "register size")
        self.expect("]")
        self.expect(";")
        self._declare("q" if kw.value == "qreg" else "c", name, size, False, t)

    def new_register(self) -> None:
        kw = self.next()
        size, scalar, t = 1, True, kw
        if self.peek().value == "[":
            self.next()
            node, t = self.expr()
            size = self.int_value(node, t, "register size")
            self.expect("]")
            scalar = False
        name = self.ident("a register name")
        kind = "q" if kw.value == "qubit" else "c"
        if self.peek().value == "=" and kind == "c":
            self._declare(kind, name, size, scalar, t)
            self.next()
            if self.peek().value != "measure":
                raise self.err(self.peek(), "bits can only be initialised by 'measure' "
                                            "(qtandem does not run classical computation)")
            kw2 = self.next()
            qs, _ = self.operand()
            self.expect(";")
            self._measure(qs, self._reg_bits(name), kw2, None)
            return
        self.expect(";")
        self._declare(kind, name, size, scalar, t)

    def _reg_bits(self, name: Token) -> list[int]:
        offset, size, _ = self.st.cregs[name.value]
        return list(range(offset, offset + size))

    def classical_decl(self) -> None:
        first = self.next()
        is_const = first.value == "const"
        type_tok = self.ident("a type") if is_const else first
        if type_tok.value not in _CLASSICAL_TYPES:
            if type_tok.value in _UNSUPPORTED:
                raise self.err(type_tok, f"OpenQASM 3 construct {type_tok.value!r} ({_UNSUPPORTED[type_tok.value]}) "
                                         "is not supported by qtandem")
            raise self.err(type_tok, f"unsupported classical type {type_tok.value!r}")
        if self.peek().value == "[":
            self.next()
            self.expr()
            self.expect("]")
        name = self.ident("a variable name")
        if self.peek().value != "=":
            raise self.err(self.peek(), "classical variables must be initialised with a constant expression "
                                        "(qtandem supports constants, not classical computation)")
        self.next()
        node, t = self.expr()
        value = self.value(node)
        if type_tok.value in ("int", "uint"):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int):
                raise self.err(t, f"{name.value!r} is declared {type_tok.value} but its value is {value!r}")
        elif isinstance(value, list):
            raise self.err(t, f"{name.value!r} cannot hold an array")
        self.expect(";")
        if name.value in self.st.scope or name.value in self.st.qregs or name.value in self.st.cregs:
            raise self.err(name, f"{name.value!r} is already declared")
        self.st.scope[name.value] = value
        self.st.constants.add(name.value)

    def input_decl(self) -> None:
        self.next()
        type_tok = self.ident("a type")
        if type_tok.value == "array":
            self.expect("[")
            elem = self.ident("an element type")
            if elem.value not in ("float", "angle"):
                raise self.err(elem, f"input arrays must hold float or angle, got {elem.value!r}")
            if self.peek().value == "[":
                self.next()
                self.expr()
                self.expect("]")
            self.expect(",")
            node, t = self.expr()
            size = self.int_value(node, t, "array size")
            self.expect("]")
            name = self.ident("an input name")
            self.expect(";")
            if not 0 < size <= MAX_QUBITS:
                raise self.err(t, f"input array size must be in 1..{MAX_QUBITS}, got {size}")
            self._check_new_name(name)
            self.spend(size, t)
            self.st.scope[name.value] = [Parameter(f"{name.value}[{i}]") for i in range(size)]
            return
        if type_tok.value not in ("float", "angle"):
            raise self.err(type_tok, f"inputs of type {type_tok.value!r} are not supported (use float or angle)")
        if self.peek().value == "[":
            self.next()
            self.expr()
            self.expect("]")
        name = self.ident("an input name")
        self.expect(";")
        self._check_new_name(name)
        self.st.scope[name.value] = Parameter(name.value)

    def _check_new_name(self, name: Token) -> None:
        if name.value in self.st.scope or name.value in self.st.qregs or name.value in self.st.cregs:
            raise self.err(name, f"{name.value!r} is already declared")

    # -- includes -------------------------------------------------------------------
    def include(self) -> None:
        kw = self.next()
        f = self.next()
        if f.kind != "string":
            raise self.err(f, "include expects a quoted file name")
        self.expect(";")
        name = f.value[1:-1]
        if name in ("qelib1.inc", "stdgates.inc"):
            lib = QELIB1 if name == "qelib1.inc" else STDGATES
            for g, m in lib.items():
                if g in self.st.defs:
                    raise self.err(f, f"{name} defines {g!r}, which this program already defined")
                self.st.gates[g] = m
                self.st.libraries.setdefault(g, name)
            return
        if not name:
            raise self.err(f, "include needs a file name")
        base = self.base_dir or Path.cwd()
        candidates = [base / name] + [Path(d) / name for d in self.st.include_dirs]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            tried = ", ".join(str(p) for p in candidates)
            raise self.err(f, f"include file {name!r} not found (looked in: {tried})")
        key = str(path.resolve())
        if key in self.st.include_stack:
            chain = " -> ".join([*self.st.include_stack[self.st.include_stack.index(key):], key])
            raise self.err(f, f"include cycle: {chain}")
        if len(self.st.include_stack) >= MAX_INCLUDE_DEPTH:
            raise self.err(f, f"includes nested more than {MAX_INCLUDE_DEPTH} deep")
        try:
            text = decode(path.read_bytes(), str(path))
        except OSError as err:
            raise self.err(f, f"cannot read include file {str(path)!r}: {err.strerror}") from None
        sub_src = Source(text, str(path))
        sub = _Parser(tokenize(sub_src), sub_src, self.st, path.parent)
        if sub.peek().value == "OPENQASM":
            sub.next()
            sub.next()
            sub.expect(";")
        self.st.include_stack.append(key)
        try:
            sub.run()
        finally:
            self.st.include_stack.pop()
        del kw

    # -- gate definitions -------------------------------------------------------------
    def gate_def(self) -> None:
        kw = self.next()
        name = self.ident("a gate name")
        params: list[str] = []
        if self.peek().value == "(":
            self.next()
            while self.peek().value != ")":
                t = self.ident("a parameter name")
                if t.value in params:
                    raise self.err(t, f"parameter {t.value!r} repeated")
                params.append(t.value)
                if self.peek().value == ",":
                    self.next()
                elif self.peek().value != ")":
                    raise self.err(self.peek(), f"expected ',' or ')', got {self.peek().value!r}")
            self.next()
        qargs: list[str] = []
        while self.peek().value != "{":
            t = self.ident("a qubit argument name")
            if t.value in qargs:
                raise self.err(t, f"qubit argument {t.value!r} repeated")
            qargs.append(t.value)
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != "{":
                raise self.err(self.peek(), f"expected ',' or '{{', got {self.peek().value!r}")
        if not qargs:
            raise self.err(name, f"gate {name.value!r} needs at least one qubit argument")
        if name.value in self.st.defs or (name.value in self.st.gates and name.value not in self.st.recognized):
            where = self.st.libraries.get(name.value, "an earlier definition")
            raise self.err(name, f"gate {name.value!r} is already defined (by {where})")
        self.expect("{")
        body: list[Call] = []
        allowed = set(params) | set(CONSTANTS) | (set(self.st.constants) if self.st.version == 3 else set())
        while self.peek().value != "}":
            t = self.peek()
            if t.kind == "eof":
                raise self.err(kw, f"unclosed body of gate {name.value!r}: expected '}}'")
            if t.value == ";":
                self.next()
                continue
            if t.value == "barrier":
                self.next()
                while self.peek().value != ";":
                    q = self.ident("a qubit argument")
                    if q.value not in qargs:
                        raise self.err(q, f"{q.value!r} is not a qubit argument of gate {name.value!r}")
                    if self.peek().value == ",":
                        self.next()
                    elif self.peek().value != ";":
                        raise self.err(self.peek(), f"missing ';' or ',' before {self.peek().value!r}")
                self.next()
                continue
            if t.value in ("gate", "measure", "reset", "qreg", "creg", "qubit", "bit", "if", "for", "include"):
                raise self.err(t, f"{t.value!r} is not allowed inside a gate definition")
            call = self.parse_call(local=True)
            if call.name == name.value:
                raise self.err(call.tok, f"gate {name.value!r} calls itself: recursive definitions are not allowed")
            if call.name not in self.st.gates and call.name not in self.st.defs and \
                    not (call.name == "gphase" and self.st.version == 3):
                raise self._unknown_gate(call)
            for q in call.qargs:
                if q.value not in qargs:
                    raise self.err(q, f"{q.value!r} is not a qubit argument of gate {name.value!r} "
                                      f"({', '.join(qargs)})")
            for e in [*call.args, *(m[1] for m in call.mods if m[1] is not None)]:
                for op, arg, otok in e.ops:
                    if op in ("name", "index") and arg not in allowed:
                        raise self.err(otok, f"unknown identifier {arg!r} in the body of gate {name.value!r} "
                                             f"(its parameters: {', '.join(params) or 'none'})")
            body.append(call)
        self.next()
        gdef = GateDef(name.value, params, qargs, body, name)
        self.st.defs[name.value] = gdef
        self.st.libraries[name.value] = "an earlier definition"
        self._recognize(gdef)

    def _recognize(self, gdef: GateDef) -> None:
        """A definition named like a registry gate with the same unitary is kept as that gate.

        OpenQASM 3 requires equality including the global phase (a modifier could
        make it observable); OpenQASM 2 has no modifiers, so equality up to phase suffices.
        """
        spec = GATES.get(gdef.name)
        if spec is None or spec.num_qubits != len(gdef.qargs) or spec.num_params != len(gdef.params) \
                or spec.num_qubits is None or spec.num_qubits > 5:
            return
        rng = np.random.default_rng(7)
        values = [float(x) for x in rng.uniform(-2.0, 2.0, size=len(gdef.params))]
        saved = self.st.work
        try:
            prims = self.expand_def(gdef, values, tuple(range(len(gdef.qargs))), depth=0)
            if len(prims) > 1000:
                return
            theirs = _unitary(prims, len(gdef.qargs))
        except QtandemError:
            return
        finally:
            self.st.work = saved
        ours = gate_matrix(gdef.name, values, num_qubits=spec.num_qubits).numpy()
        idx = np.unravel_index(np.argmax(np.abs(ours)), ours.shape)
        phase = theirs[idx] / ours[idx] if self.st.version == 2 else 1.0
        if abs(abs(phase) - 1) < 1e-9 and np.allclose(theirs, phase * ours, atol=1e-9):
            self.st.recognized.add(gdef.name)

    # -- gate calls ------------------------------------------------------------------
    def parse_call(self, *, local: bool) -> Call:
        mods: list[tuple[str, Expr | None, Token]] = []
        while True:
            t = self.peek()
            if t.kind == "id" and t.value in ("ctrl", "negctrl", "inv", "pow") and self.peek(1).value in ("@", "("):
                if self.st.version == 2:
                    raise self.err(t, f"gate modifier {t.value!r} needs OpenQASM 3")
                if len(mods) >= MAX_MODIFIERS:
                    raise self.err(t, f"more than {MAX_MODIFIERS} modifiers on one gate")
                self.next()
                arg = None
                if self.peek().value == "(":
                    if t.value == "inv":
                        raise self.err(self.peek(), "inv takes no argument: write 'inv @'")
                    self.next()
                    arg, _ = self.expr()
                    self.expect(")")
                elif t.value == "pow":
                    raise self.err(t, "pow needs an exponent: pow(k) @")
                self.expect("@", "'@' after the modifier")
                mods.append((t.value, arg, t))
                continue
            break
        name = self.ident("a gate name")
        args: list[Expr] = []
        if self.peek().value == "(":
            self.next()
            while self.peek().value != ")":
                node, _ = self.expr()
                args.append(node)
                if self.peek().value == ",":
                    self.next()
                elif self.peek().value != ")":
                    bad = self.peek()
                    got = "end of input" if bad.kind == "eof" else repr(bad.value)
                    raise self.err(bad, f"expected ',' or ')', got {got}")
            self.next()
        qargs: list[Token] = []
        operands: list[list[int]] = []
        while self.peek().value != ";":
            if self.peek().kind == "eof":
                raise self.missing_semicolon(self.pos)
            if local:
                qargs.append(self.ident("a qubit argument"))
            else:
                operands.append(self.operand()[0])
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != ";":
                bad = self.peek()
                if bad.kind == "op" and bad.value in ("[", "("):
                    raise self.err(bad, f"unexpected {bad.value!r}")
                raise self.missing_semicolon(self.pos)
        self.next()
        return Call(mods, name.value, args, qargs, name, operands)

    def operand(self) -> tuple[list[int], Token]:
        tok = self.ident("a qubit or register")
        if tok.value not in self.st.qregs:
            if tok.value in self.st.cregs:
                raise self.err(tok, f"{tok.value!r} is a classical register, not qubits")
            close = difflib.get_close_matches(tok.value, list(self.st.qregs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.err(tok, f"undeclared qubit register {tok.value!r}{hint}")
        return self._index(tok, self.st.qregs[tok.value]), tok

    def bits_operand(self) -> tuple[list[int], Token]:
        tok = self.ident("a classical bit or register")
        if tok.value not in self.st.cregs:
            if tok.value in self.st.qregs:
                raise self.err(tok, f"{tok.value!r} is a qubit register, not classical bits")
            close = difflib.get_close_matches(tok.value, list(self.st.cregs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.err(tok, f"undeclared classical register {tok.value!r}{hint}")
        return self._index(tok, self.st.cregs[tok.value]), tok

    def _index(self, tok: Token, reg: tuple[int, int, bool]) -> list[int]:
        offset, size, scalar = reg
        if self.peek().value != "[":
            return list(range(offset, offset + size))
        if scalar:
            raise self.err(self.peek(), f"{tok.value!r} is a single qubit/bit and cannot be indexed")
        self.next()
        start_tok = self.peek()
        # fast path: a literal index
        if start_tok.kind == "number" and self.peek(1).value == "]" and start_tok.value.isdigit() \
                and len(start_tok.value) < 12:
            self.pos += 2
            i = int(start_tok.value)
            if i >= size:
                raise self.err(start_tok, f"index {i} is out of range for register {tok.value!r} of size {size}")
            return [offset + i]
        node, _ = self.expr()
        first = self.int_value(node, start_tok, "index")
        if self.peek().value == ":":
            self.next()
            node2, t2 = self.expr()
            second = self.int_value(node2, t2, "range bound")
            step = 1
            if self.peek().value == ":":
                self.next()
                node3, t3 = self.expr()
                step, second = second, self.int_value(node3, t3, "range bound")
            if step == 0:
                raise self.err(t2, "range step must not be 0")
            for i, t in ((first, start_tok), (second, t2)):
                if not 0 <= i < size:
                    raise self.err(t, f"index {i} is out of range for register {tok.value!r} of size {size}")
            picks = list(range(first, second + (1 if step > 0 else -1), step))
            if not picks:
                raise self.err(start_tok, f"empty range {first}:{step}:{second}")
        else:
            if not 0 <= first < size:
                raise self.err(start_tok, f"index {first} is out of range for register {tok.value!r} of size {size}")
            picks = [first]
        self.expect("]")
        return [offset + i for i in picks]

    def gate_call_stmt(self, condition: Condition = None) -> None:
        call = self.parse_call(local=False)
        operands = call.operands
        params = [self.value(a) for a in call.args]
        lengths = {len(q) for q in operands if len(q) != 1}
        if len(lengths) > 1:
            raise self.err(call.tok, f"registers of different sizes {sorted(lengths)} in one broadcast call")
        reps = lengths.pop() if lengths else 1
        name = call.name
        if not call.mods and name in self.st.gates and name not in self.st.defs:
            # fast path: a library gate without modifiers
            reg, npar, nq, fn = self.st.gates[name]
            if len(params) != npar:
                raise self.err(call.tok, f"gate {name!r} takes {npar} parameter(s), got {len(params)}")
            if len(operands) != nq:
                raise self.err(call.tok, f"gate {name!r} acts on {nq} qubit(s), got {len(operands)}")
            angles = [as_angle(v, call.tok, self.src) for v in fn(params)]
            for i in range(reps):
                qubits = tuple(q[i] if len(q) > 1 else q[0] for q in operands)
                if nq > 1 and len(set(qubits)) != nq:
                    raise self.err(call.tok, f"gate {name!r} is applied to the same qubit twice")
                self.emit(Instruction(reg, qubits, angles, condition=condition), call.tok)
            return
        for i in range(reps):
            qubits = tuple(q[i] if len(q) > 1 else q[0] for q in operands)
            prims = self.expand_call(call, params, qubits, self.st.scope, depth=0)
            for p in prims:
                self.emit_prim(p, call.tok, condition)

    def emit_prim(self, p: Prim, tok: Token, condition: Condition) -> None:
        if p.name == "gphase":
            return  # a global phase without control has no effect
        params = [as_angle(v, tok, self.src) for v in p.params]
        self.emit(Instruction(p.name, p.qubits, params, ctrl=p.ctrl, inverted=p.inverted, condition=condition), tok)

    def emit(self, inst: Instruction, tok: Token) -> None:
        if len(self.st.insts) >= MAX_INSTRUCTIONS:
            raise self.err(tok, f"program expands to more than {MAX_INSTRUCTIONS} instructions")
        self.st.insts.append((inst, tok, self.src))

    def expand_call(self, call: Call, params: list[Any], qubits: tuple[int, ...], scope: dict[str, Any],
                    depth: int) -> list[Prim]:
        if depth > MAX_GATE_DEPTH:
            raise self.err(call.tok, f"gate definitions nested more than {MAX_GATE_DEPTH} deep")
        if not call.mods:
            return self.expand_base(call, params, qubits, depth)
        # controls are taken from the front, modifier by modifier, left to right
        ctrl_groups: list[tuple[int, ...]] = []
        rest = list(qubits)
        mod_values: list[tuple[str, int, Token]] = []
        for kind, arg, tok in call.mods:
            k = 1
            if arg is not None:
                v = self.value(arg, scope)
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                if not isinstance(v, int) or isinstance(v, bool):
                    shown = repr(v) if isinstance(v, (int, float)) else "a parameter" \
                        if not isinstance(v, list) else "an array"
                    raise self.err(tok, f"{kind} needs an integer constant, got {shown}")
                k = v
            if kind in ("ctrl", "negctrl"):
                if k < 1:
                    raise self.err(tok, f"{kind}({k}) needs at least one control")
                if len(rest) < k + (call.name != "gphase"):
                    raise self.err(tok, f"{kind}({k}) needs {k} control qubit(s) before the gate's own qubits, "
                                        f"got {len(rest)} qubit(s) in all")
                ctrl_groups.append(tuple(rest[:k]))
                rest = rest[k:]
            mod_values.append((kind, k, tok))
        prims = self.expand_base(call, params, tuple(rest), depth)
        groups = list(ctrl_groups)
        for kind, k, tok in reversed(mod_values):
            self.spend(len(prims), tok)
            if kind == "inv":
                prims = [_invert(p) for p in reversed(prims)]
            elif kind == "pow":
                self.spend(len(prims) * abs(k), tok)
                if len(prims) * abs(k) > MAX_INSTRUCTIONS:
                    raise self.err(tok, f"pow({k}) expands to more than {MAX_INSTRUCTIONS} gates")
                prims = [_invert(p) for p in reversed(prims)] * (-k) if k < 0 else prims * k
            else:
                controls = groups.pop()
                inner = [_control(p, controls) for p in prims]
                if kind == "negctrl":
                    flips = [Prim("x", (c,), []) for c in controls]
                    inner = flips + inner + flips
                prims = inner
        return prims

    def _unknown_gate(self, call: Call) -> QasmError:
        name = call.name
        known = list(self.st.gates) + list(self.st.defs)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if name in QELIB1 and self.st.version == 2 and name not in self.st.gates:
            hint = '; add include "qelib1.inc";'
        elif name in STDGATES and self.st.version == 3 and name not in self.st.gates:
            hint = '; add include "stdgates.inc";'
        return self.err(call.tok, f"unknown gate {name!r}{hint}")

    def expand_base(self, call: Call, params: list[Any], qubits: tuple[int, ...], depth: int) -> list[Prim]:
        name = call.name
        if name in self.st.defs and name not in self.st.recognized:
            gdef = self.st.defs[name]
            if len(params) != len(gdef.params):
                raise self.err(call.tok, f"gate {name!r} takes {len(gdef.params)} parameter(s), got {len(params)}")
            if len(qubits) != len(gdef.qargs):
                raise self.err(call.tok, f"gate {name!r} acts on {len(gdef.qargs)} qubit(s), got {len(qubits)}")
            if len(set(qubits)) != len(qubits):
                raise self.err(call.tok, f"gate {name!r} is applied to the same qubit twice")
            return self.expand_def(gdef, params, qubits, depth + 1)
        if name in self.st.recognized:
            spec = GATES[name]
            return self._checked(call, name, spec.num_params, spec.num_qubits or len(qubits), params, qubits,
                                 None)
        if name in self.st.gates:
            reg, npar, nq, fn = self.st.gates[name]
            return self._checked(call, reg, npar, nq, params, qubits, fn)
        if name == "gphase" and self.st.version == 3:
            if len(params) != 1 or qubits:
                raise self.err(call.tok, "gphase takes one angle and no qubits")
            return [Prim("gphase", (), params)]
        raise self._unknown_gate(call)

    def _checked(self, call: Call, reg: str, npar: int, nq: int, params: list[Any], qubits: tuple[int, ...],
                 fn: Any) -> list[Prim]:
        if len(params) != npar:
            raise self.err(call.tok, f"gate {call.name!r} takes {npar} parameter(s), got {len(params)}")
        if len(qubits) != nq:
            raise self.err(call.tok, f"gate {call.name!r} acts on {nq} qubit(s), got {len(qubits)}")
        if nq > 1 and len(set(qubits)) != len(qubits):
            raise self.err(call.tok, f"gate {call.name!r} is applied to the same qubit twice")
        self.st.work += 1
        if self.st.work > MAX_WORK:
            self.spend(0, call.tok)
        return [Prim(reg, qubits, fn(params) if fn is not None else params)]

    def expand_def(self, gdef: GateDef, params: list[Any], qubits: tuple[int, ...], depth: int) -> list[Prim]:
        scope = dict(zip(gdef.params, params, strict=True))
        if self.st.version == 3:
            scope = {**{k: self.st.scope[k] for k in self.st.constants}, **scope}
        qmap = dict(zip(gdef.qargs, qubits, strict=True))
        out: list[Prim] = []
        for inner in gdef.body:
            vals = [self.value(a, scope) for a in inner.args]
            out.extend(self.expand_call(inner, vals, tuple(qmap[q.value] for q in inner.qargs), scope, depth + 1))
            if len(out) > MAX_INSTRUCTIONS:
                raise self.err(gdef.tok, f"gate {gdef.name!r} expands to more than {MAX_INSTRUCTIONS} gates")
        return out

    # -- non-unitary statements ----------------------------------------------------
    def measure_arrow(self, condition: Condition = None) -> None:
        kw = self.next()
        qs, _qt = self.operand()
        if self.peek().value != "->":
            if self.st.version == 3 and self.peek().value == ";":
                raise self.err(self.peek(), "measure without a target bit: write 'c = measure q;'")
            raise self.err(self.peek(), f"expected '->' after measure operand, got {self.peek().value!r}")
        self.next()
        cs, _ct = self.bits_operand()
        self.expect(";")
        self._measure(qs, cs, kw, condition)

    def _measure(self, qs: list[int], cs: list[int], tok: Token, condition: Condition) -> None:
        if len(qs) != len(cs):
            raise self.err(tok, f"measure: {len(qs)} qubit(s) into {len(cs)} bit(s)")
        for q, c in zip(qs, cs, strict=True):
            self.emit(Instruction("measure", (q,), (), (c,), condition=condition), tok)

    def assignment(self, condition: Condition = None) -> None:
        target = self.peek()
        if target.value not in self.st.cregs:
            if target.value in self.st.scope:
                raise self.err(target, f"assignment to {target.value!r}: classical computation is not supported "
                                       "by qtandem (only 'bits = measure qubits;')")
            if target.value in self.st.qregs:
                raise self.err(target, f"cannot assign to qubit register {target.value!r}")
        cs, _ct = self.bits_operand()
        op = self.next()
        kw = self.peek()
        if op.value != "=" or kw.value != "measure":
            raise self.err(kw if op.value == "=" else op,
                           "only 'bits = measure qubits;' assignments are supported "
                           "(qtandem does not run classical computation)")
        self.next()
        qs, _ = self.operand()
        self.expect(";")
        self._measure(qs, cs, kw, condition)

    def reset(self, condition: Condition = None) -> None:
        kw = self.next()
        qs, _ = self.operand()
        self.expect(";")
        for q in qs:
            self.emit(Instruction("reset", (q,), condition=condition), kw)

    def barrier(self) -> None:
        kw = self.next()
        qubits: list[int] = []
        while self.peek().value != ";":
            qs, _ = self.operand()
            qubits.extend(qs)
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != ";":
                raise self.err(self.peek(), f"missing ';' or ',' before {self.peek().value!r}")
        self.next()
        self.emit(Instruction("barrier", tuple(dict.fromkeys(qubits)) or tuple(range(self.st.n_qubits))), kw)

    def if_stmt(self) -> None:
        kw = self.next()
        self.expect("(")
        if self.peek().value == "!":
            raise self.err(self.peek(), "only 'if (bits == value)' conditions are supported")
        bits, btok = self.bits_operand()
        if self.peek().value == "==":
            self.next()
            node, t = self.expr()
            value = self.int_value(node, t, "condition value")
        elif self.st.version == 3 and self.peek().value == ")" and len(bits) == 1:
            value = 1
        else:
            bad = self.peek()
            raise self.err(bad, "expected '==' in the if condition (qtandem supports 'if (bits == value)' "
                                f"and, for one bit, 'if (bit)'), got {bad.value!r}")
        self.expect(")")
        if value < 0 or value >= 2 ** len(bits):
            raise self.err(btok, f"condition value {value} does not fit in {len(bits)} bit(s)")
        cond = (tuple(bits), value)
        if self.peek().value == "{" and self.st.version == 3:
            open_tok = self.next()
            self.enter(open_tok)
            while self.peek().value != "}":
                if self.peek().kind == "eof":
                    raise self.err(open_tok, "unclosed '{' in if body")
                self._conditional_statement(cond)
            self.next()
            self.leave()
        else:
            self._conditional_statement(cond)
        if self.peek().value == "else":
            raise self.err(self.peek(), "'else' branches are not supported by qtandem")
        del kw

    def _conditional_statement(self, cond: tuple[tuple[int, ...], int]) -> None:
        t = self.peek()
        v = t.value
        if v == "measure":
            return self.measure_arrow(cond)
        if v == "reset":
            return self.reset(cond)
        if v == ";":
            self.next()
            return None
        if t.kind != "id" or v in ("if", "for", "gate", "qreg", "creg", "qubit", "bit", "barrier", "include",
                                   "const", "input", "opaque") or v in _UNSUPPORTED:
            raise self.err(t, f"{v!r} is not allowed inside an if statement (qtandem supports gates, measure "
                              "and reset there)")
        nxt = self.peek(1)
        if nxt.kind == "op" and (nxt.value in _ASSIGN_OPS or (nxt.value == "[" and self._assign_ahead())):
            return self.assignment(cond)
        return self.gate_call_stmt(cond)

    def for_loop(self) -> None:
        kw = self.next()
        if self.peek().value in _CLASSICAL_TYPES and self.peek(1).kind in ("id", "op") and \
                self.peek(1).value != "in":
            self.next()
            if self.peek().value == "[":
                self.next()
                self.expr()
                self.expect("]")
        var = self.ident("a loop variable")
        if self.next().value != "in":
            raise self.err(self.toks[self.pos - 1], "expected 'in' in for loop")
        values: list[int] | range
        if self.peek().value == "[":
            self.next()
            node, t = self.expr()
            a = self.int_value(node, t, "range start")
            self.expect(":")
            node, t = self.expr()
            b = self.int_value(node, t, "range bound")
            step = 1
            if self.peek().value == ":":
                self.next()
                node, t3 = self.expr()
                step, b = b, self.int_value(node, t3, "range bound")
            self.expect("]")
            if step == 0:
                raise self.err(t, "range step must not be 0")
            values = range(a, b + (1 if step > 0 else -1), step)
            if len(values) > MAX_INSTRUCTIONS:
                raise self.err(t, f"loop of {len(values)} iterations exceeds the limit of {MAX_INSTRUCTIONS}")
        elif self.peek().value == "{":
            values = []
            self.next()
            while self.peek().value != "}":
                node, t = self.expr()
                values.append(self.int_value(node, t, "loop value"))
                if self.peek().value == ",":
                    self.next()
                elif self.peek().value != "}":
                    raise self.err(self.peek(), f"expected ',' or '}}', got {self.peek().value!r}")
            self.next()
        else:
            raise self.err(self.peek(), "for loops need a range [a:b], [a:step:b] or a set {a, b, ...}")
        if (var.value in self.st.scope and var.value not in self.st.loop_vars) or var.value in self.st.qregs \
                or var.value in self.st.cregs:
            raise self.err(var, f"loop variable {var.value!r} shadows a declaration")
        body_start = self.pos
        end = self._skip_body(body_start, kw)
        # nested loops multiply: refuse up front what cannot fit in the work budget
        mult = self.st.loop_mult * len(values)
        if self.st.work + mult * max(1, end - body_start) > MAX_WORK:
            raise self.err(kw, f"loop expands to too much work ({mult} iterations of a {end - body_start}-token "
                               f"body, more than {MAX_WORK} units); qtandem bounds expansion so pathological "
                               "input fails fast")
        outer_mult, self.st.loop_mult = self.st.loop_mult, mult
        self.enter(kw)
        saved = self.st.scope.get(var.value, _MISSING)
        self.st.loop_vars[var.value] = self.st.loop_vars.get(var.value, 0) + 1
        try:
            for v in values:
                self.spend(end - body_start, kw)
                self.st.scope[var.value] = v
                self.pos = body_start
                if self.peek().value == "{":
                    open_tok = self.next()
                    self.block_rest(open_tok)
                else:
                    self.statement()
        finally:
            self.st.loop_mult = outer_mult
            self.st.loop_vars[var.value] -= 1
            if not self.st.loop_vars[var.value]:
                del self.st.loop_vars[var.value]
            if saved is _MISSING:
                self.st.scope.pop(var.value, None)
            else:
                self.st.scope[var.value] = saved
        self.leave()
        self.pos = end

    def _skip_body(self, start: int, kw: Token) -> int:
        """Position after the loop body (a braced block or one statement), without executing it."""
        toks = self.toks
        if toks[start].value != "{":
            k = start
            while toks[k].value != ";":
                if toks[k].kind == "eof":
                    raise self.err(kw, "for loop body has no ';'")
                k += 1
            return k + 1
        depth, k = 0, start
        while True:
            t = toks[k]
            if t.kind == "eof":
                raise self.err(toks[start], "unclosed '{' in for loop body")
            if t.kind == "op":
                if t.value == "{":
                    depth += 1
                elif t.value == "}":
                    depth -= 1
                    if depth == 0:
                        return k + 1
            k += 1


_MISSING = object()


def _invert(p: Prim) -> Prim:
    if p.name == "gphase":
        return Prim("gphase", (), [-p.params[0]])
    if not p.inverted and p.name != "unitary":
        try:
            named = inverse_of(p.name, tuple(p.params))
        except (QtandemError, TypeError):
            named = None
        if named is not None:
            return Prim(named[0], p.qubits, list(named[1]), p.ctrl, False)
    return Prim(p.name, p.qubits, p.params, p.ctrl, not p.inverted)


def _control(p: Prim, controls: tuple[int, ...]) -> Prim:
    if p.name == "gphase":
        inner = Prim("p", (controls[-1],), list(p.params), 0, False)
        return _control(inner, controls[:-1]) if len(controls) > 1 else inner
    qubits = controls + p.qubits
    ctrl = p.ctrl + len(controls)
    if p.inverted:
        return Prim(p.name, qubits, p.params, ctrl, True)
    name, ctrl = fold_controls(p.name, ctrl, len(qubits))
    return Prim(name, qubits, list(p.params), ctrl, False)


def _unitary(prims: list[Prim], k: int) -> np.ndarray:
    """Dense unitary of primitive gates on ``k`` qubits (used to recognise registry gates)."""
    dim = 2**k
    total = np.eye(dim, dtype=complex)
    idx = np.arange(dim)
    for p in prims:
        if p.name == "gphase":
            total = np.exp(1j * float(p.params[0])) * total
            continue
        m = gate_matrix(p.name, [float(x) for x in p.params], num_qubits=len(p.qubits) - p.ctrl)
        if p.inverted:
            m = m.conj().T
        if p.ctrl:
            m = controlled_matrix(m, p.ctrl)
        mm = m.numpy()
        sub = np.zeros(dim, dtype=int)
        for j, q in enumerate(p.qubits):
            sub |= ((idx >> q) & 1) << j
        mask = sum(1 << q for q in p.qubits)
        rest = idx & ~mask
        full = np.where(rest[:, None] == rest[None, :], mm[sub[:, None], sub[None, :]], 0)
        total = full @ total
    return total


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
    state = _State(include_dirs=tuple(Path(d) for d in include_dirs))
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
