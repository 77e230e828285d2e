"""Recursive-descent reader for OpenQASM 2.0 and OpenQASM 3 (the gate-level subset).

One pass over the tokens builds the circuit: declarations, gate definitions
(expanded at each use), gate calls with register broadcasting, modifiers
(``ctrl``, ``negctrl``, ``inv``, ``pow``), constant expressions, ``for`` loops
(unrolled), measurement, reset, barrier, ``if`` on classical registers and
``input`` parameters. Every error is a :class:`QasmError` with file, line,
column and a caret excerpt.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import GATES, fold_controls, gate_matrix, get_gate, inverse_of
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter
from qtandem.errors import QasmError, QtandemError
from qtandem.qasm.expr import ExprParser, Node, as_angle, evaluate
from qtandem.qasm.lexer import Source, Token, decode, tokenize
from qtandem.qasm.stdlib import BUILTIN_2, BUILTIN_3, QELIB1, STDGATES, GateMap

__all__ = ["MAX_INSTRUCTIONS", "MAX_QUBITS", "parse"]

MAX_QUBITS = 100_000
"""Most qubits (and classical bits) a program may declare."""
MAX_INSTRUCTIONS = 2_000_000
"""Most instructions a program may expand to (loops and gate definitions included)."""
MAX_GATE_DEPTH = 64
MAX_BLOCK_DEPTH = 64
"""Deepest nesting of braces and for loops."""

_UNSUPPORTED = {"while", "def", "extern", "delay", "box", "let", "return", "break", "continue", "output", "switch",
                "cal", "defcal", "defcalgrammar", "stretch", "duration", "complex", "array", "else", "end", "case"}
_CLASSICAL_TYPES = {"int", "uint", "float", "angle", "bool", "bit"}
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
    """A gate call inside a gate body (qargs are local names)."""

    mods: list[tuple[str, Node | None, Token]]
    name: str
    args: list[Node]
    qargs: list[Token]
    tok: Token


@dataclass
class GateDef:
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
    libraries: dict[str, str] = field(default_factory=dict)  # gate name -> library that defined it


class _Parser:
    def __init__(self, tokens: list[Token], src: Source, state: _State, base_dir: Path | None) -> None:
        self.toks = tokens
        self.src = src
        self.st = state
        self.pos = 0
        self.depth = 0
        self.base_dir = base_dir
        self.exprs = ExprParser(tokens, src)

    # -- helpers ---------------------------------------------------------------
    def err(self, tok: Token, message: str) -> QasmError:
        return self.src.error(message, tok.line, tok.col)

    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def next(self) -> Token:
        tok = self.toks[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def expect(self, value: str, what: str | None = None) -> Token:
        tok = self.next()
        if tok.value != value or (tok.kind in ("string", "eof") and value != ""):
            if tok.kind == "eof":
                raise self.err(tok, f"expected {what or repr(value)}, got end of input")
            if value == ";":
                prev = self.toks[self.pos - 2] if self.pos >= 2 else tok
                raise self.src.error(f"missing ';' after {prev.value!r} (got {tok.value!r})", tok.line, tok.col)
            raise self.err(tok, f"expected {what or repr(value)}, got {tok.value!r}")
        return tok

    def ident(self, what: str = "an identifier") -> Token:
        tok = self.next()
        if tok.kind != "id":
            raise self.err(tok, f"expected {what}, got {'end of input' if tok.kind == 'eof' else repr(tok.value)}")
        return tok

    def expr(self) -> tuple[Node, Token]:
        start = self.peek()
        node, self.pos = self.exprs.parse(self.pos)
        return node, start

    def value(self, node: Node, scope: dict[str, Any] | None = None) -> Any:
        return evaluate(node, self.st.scope if scope is None else scope, self.src)

    def int_value(self, node: Node, tok: Token, what: str) -> int:
        v = self.value(node)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.err(tok, f"{what} must be an integer, got {v!r}")
        return v

    # -- program -----------------------------------------------------------------
    def header(self) -> None:
        tok = self.peek()
        if tok.kind == "eof":
            raise self.err(tok, "empty program: expected 'OPENQASM 2.0;' or 'OPENQASM 3.0;' and statements")
        if tok.value != "OPENQASM":
            self.st.version = 3
            return
        self.next()
        ver = self.next()
        if ver.kind != "number" or ver.value not in ("2.0", "2", "3", "3.0", "3.1"):
            raise self.err(ver, f"unsupported OpenQASM version {ver.value!r} (qtandem reads 2.0 and 3)")
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
                self.block_rest()
                return None
            raise self.err(tok, f"unexpected {v!r}")
        if tok.kind != "id":
            raise self.err(tok, f"expected a statement, got {v!r}")
        if v == "OPENQASM":
            raise self.err(tok, "the OPENQASM version line must be the first statement")
        if v == "include":
            return self.include()
        if v in ("qreg", "creg"):
            return self.old_register()
        if v in ("qubit", "bit") and not (self.peek(1).value == "=" or (v == "bit" and self.peek(2).value == "=")):
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
        if v == "for":
            return self.for_loop()
        if v == "const" or (v in _CLASSICAL_TYPES and self.st.version == 3):
            return self.classical_decl()
        if v == "input":
            return self.input_decl()
        if v in _UNSUPPORTED and self.st.version == 3:
            raise self.err(tok, f"OpenQASM 3 construct {v!r} is not supported by qtandem")
        nxt = self.peek(1)
        if nxt.value == "=" or (nxt.value == "[" and self._assign_ahead()):
            return self.measure_assign()
        return self.gate_call_stmt()

    def _assign_ahead(self) -> bool:
        depth, k = 0, 1
        while True:
            t = self.peek(k)
            if t.kind == "eof":
                return False
            if t.value == "[":
                depth += 1
            elif t.value == "]":
                depth -= 1
                if depth == 0:
                    return self.peek(k + 1).value == "="
            k += 1

    def block_rest(self) -> None:
        self.depth += 1
        if self.depth > MAX_BLOCK_DEPTH:
            raise self.err(self.peek(), f"blocks nested more than {MAX_BLOCK_DEPTH} deep")
        try:
            self._block_body()
        finally:
            self.depth -= 1

    def _block_body(self) -> None:
        while self.peek().value != "}":
            if self.peek().kind == "eof":
                raise self.err(self.peek(), "unclosed '{': expected '}' before the end of input")
            self.statement()
        self.next()

    # -- declarations --------------------------------------------------------------
    def _declare(self, kind: str, name_tok: Token, size: int, scalar: bool) -> None:
        name = name_tok.value
        if name in self.st.qregs or name in self.st.cregs or name in self.st.scope:
            raise self.err(name_tok, f"{name!r} is already declared")
        if size <= 0:
            raise self.err(name_tok, f"register {name!r} must have a positive size, got {size}")
        if kind == "q":
            if self.st.n_qubits + size > MAX_QUBITS:
                raise self.err(name_tok, f"register {name!r} of {size} qubits exceeds qtandem's limit of "
                                         f"{MAX_QUBITS} qubits per program")
            self.st.qregs[name] = (self.st.n_qubits, size, scalar)
            self.st.qreg_order.append((name, size))
            self.st.n_qubits += size
        else:
            if self.st.n_clbits + size > MAX_QUBITS:
                raise self.err(name_tok, f"register {name!r} of {size} bits exceeds qtandem's limit of "
                                         f"{MAX_QUBITS} bits per program")
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
        self._declare("q" if kw.value == "qreg" else "c", name, size, False)

    def new_register(self) -> None:
        kw = self.next()
        size, scalar = 1, True
        if self.peek().value == "[":
            self.next()
            node, t = self.expr()
            size = self.int_value(node, t, "register size")
            self.expect("]")
            scalar = False
        name = self.ident("a register name")
        if self.peek().value == "=" and kw.value == "bit":
            raise self.err(self.peek(), "initialising bits is not supported; declare, then measure into them")
        self.expect(";")
        self._declare("q" if kw.value == "qubit" else "c", name, size, scalar)

    def classical_decl(self) -> None:
        first = self.next()
        is_const = first.value == "const"
        type_tok = self.ident("a type") if is_const else first
        if type_tok.value not in _CLASSICAL_TYPES:
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
        self.expect(";")
        if name.value in self.st.scope or name.value in self.st.qregs:
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
        if name.value in self.st.scope:
            raise self.err(name, f"{name.value!r} is already declared")
        self.st.scope[name.value] = Parameter(name.value)

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
        candidates = [(self.base_dir or Path.cwd()) / name] + [Path(d) / name for d in self.st.include_dirs]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            tried = ", ".join(str(p) for p in candidates)
            raise self.err(f, f"include file {name!r} not found (looked in: {tried})")
        key = str(path.resolve())
        if key in self.st.include_stack:
            chain = " -> ".join([*self.st.include_stack, key])
            raise self.err(kw, f"include cycle: {chain}")
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

    # -- gate definitions -------------------------------------------------------------
    def gate_def(self) -> None:
        self.next()
        name = self.ident("a gate name")
        params: list[str] = []
        if self.peek().value == "(":
            self.next()
            while self.peek().value != ")":
                params.append(self.ident("a parameter name").value)
                if self.peek().value == ",":
                    self.next()
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
        self.expect("{")
        body: list[Call] = []
        while self.peek().value != "}":
            t = self.peek()
            if t.kind == "eof":
                raise self.err(t, f"unclosed body of gate {name.value!r}")
            if t.value == ";":
                self.next()
                continue
            if t.value == "barrier":
                self.next()
                while self.next().value != ";":
                    if self.peek().kind == "eof":
                        raise self.err(self.peek(), "missing ';'")
                continue
            call = self.parse_call(local=True)
            for q in call.qargs:
                if q.value not in qargs:
                    raise self.err(q, f"{q.value!r} is not a qubit argument of gate {name.value!r} "
                                      f"({', '.join(qargs)})")
            body.append(call)
        self.next()
        if name.value in self.st.defs or (name.value in self.st.gates and name.value not in self.st.recognized):
            where = self.st.libraries.get(name.value, "an earlier definition")
            raise self.err(name, f"gate {name.value!r} is already defined (by {where})")
        gdef = GateDef(name.value, params, qargs, body, name)
        self.st.defs[name.value] = gdef
        self.st.libraries[name.value] = "an earlier definition"
        self._recognize(gdef)

    def _recognize(self, gdef: GateDef) -> None:
        """A definition named like a registry gate with the same unitary is kept as that gate."""
        spec = GATES.get(gdef.name)
        if spec is None or spec.num_qubits != len(gdef.qargs) or spec.num_params != len(gdef.params) \
                or spec.num_qubits > 5:
            return
        rng = np.random.default_rng(7)
        values = [float(x) for x in rng.uniform(-2.0, 2.0, size=len(gdef.params))]
        try:
            prims = self.expand_def(gdef, values, tuple(range(len(gdef.qargs))), depth=0)
            theirs = _unitary(prims, len(gdef.qargs))
        except (QtandemError, KeyError, ValueError):
            return
        ours = gate_matrix(gdef.name, values, num_qubits=spec.num_qubits).numpy()
        idx = np.unravel_index(np.argmax(np.abs(ours)), ours.shape)
        phase = theirs[idx] / ours[idx]
        if abs(abs(phase) - 1) < 1e-9 and np.allclose(theirs, phase * ours, atol=1e-9):
            self.st.recognized.add(gdef.name)

    # -- gate calls ------------------------------------------------------------------
    def parse_call(self, *, local: bool) -> Call:
        mods: list[tuple[str, Node | None, Token]] = []
        while True:
            t = self.peek()
            if t.value in ("ctrl", "negctrl", "inv", "pow") and self.peek(1).value in ("@", "("):
                if self.st.version == 2:
                    raise self.err(t, f"gate modifier {t.value!r} needs OpenQASM 3")
                self.next()
                arg = None
                if self.peek().value == "(":
                    self.next()
                    arg, _ = self.expr()
                    self.expect(")")
                elif t.value == "pow":
                    raise self.err(t, "pow needs an exponent: pow(k) @")
                self.expect("@")
                mods.append((t.value, arg, t))
                continue
            break
        name = self.ident("a gate name")
        args: list[Node] = []
        if self.peek().value == "(":
            self.next()
            while self.peek().value != ")":
                node, _ = self.expr()
                args.append(node)
                if self.peek().value == ",":
                    self.next()
                elif self.peek().value != ")":
                    raise self.err(self.peek(), f"expected ',' or ')', got {self.peek().value!r}")
            self.next()
        qargs: list[Token] = []
        operands: list[Any] = []
        while self.peek().value != ";":
            if self.peek().kind == "eof":
                raise self.err(self.peek(), "missing ';' at the end of input")
            if local:
                qargs.append(self.ident("a qubit argument"))
            else:
                operands.append(self.operand())
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != ";":
                raise self.err(self.peek(), f"missing ';' or ',' before {self.peek().value!r}")
        self.next()
        call = Call(mods, name.value, args, qargs, name)
        call.operands = operands  # type: ignore[attr-defined]
        return call

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
            raise self.err(tok, f"undeclared classical register {tok.value!r}")
        return self._index(tok, self.st.cregs[tok.value]), tok

    def _index(self, tok: Token, reg: tuple[int, int, bool]) -> list[int]:
        offset, size, scalar = reg
        if self.peek().value != "[":
            return list(range(offset, offset + size))
        if scalar:
            raise self.err(self.peek(), f"{tok.value!r} is a single qubit/bit and cannot be indexed")
        self.next()
        start_tok = self.peek()
        node, _ = self.expr()
        first = self.int_value(node, start_tok, "index")
        picks = [first]
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
            for bound in (first, second):
                if not 0 <= bound < size:
                    raise self.err(start_tok, f"index {bound} is out of range for register {tok.value!r} "
                                              f"of size {size}")
            picks = list(range(first, second + (1 if step > 0 else -1), step))
        self.expect("]")
        for i in picks:
            if not 0 <= i < size:
                raise self.err(start_tok, f"index {i} is out of range for register {tok.value!r} of size {size}")
        return [offset + i for i in picks]

    def gate_call_stmt(self, condition: tuple[tuple[int, ...], int] | None = None) -> None:
        call = self.parse_call(local=False)
        operands = call.operands  # type: ignore[attr-defined]
        params = [self.value(a) for a in call.args]
        lengths = {len(q) for q, _ in operands if len(q) != 1}
        if len(lengths) > 1:
            raise self.err(call.tok, f"registers of different sizes {sorted(lengths)} in one broadcast call")
        reps = lengths.pop() if lengths else 1
        for i in range(reps):
            qubits = tuple(q[i] if len(q) > 1 else q[0] for q, _ in operands)
            prims = self.expand_call(call, params, qubits, self.st.scope, depth=0)
            for p in prims:
                self.emit_prim(p, call.tok, condition)

    def emit_prim(self, p: Prim, tok: Token, condition: tuple[tuple[int, ...], int] | None) -> None:
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
        # controls are taken from the front, modifier by modifier, left to right
        ctrl_groups: list[tuple[int, ...]] = []
        rest = list(qubits)
        mod_values: list[tuple[str, int, Token]] = []
        for kind, arg, tok in call.mods:
            k = 1
            if arg is not None:
                v = evaluate(arg, scope, self.src)
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                if not isinstance(v, int) or isinstance(v, bool):
                    raise self.err(tok, f"{kind} needs an integer, got {v!r}")
                k = v
            if kind in ("ctrl", "negctrl"):
                if k < 1:
                    raise self.err(tok, f"{kind}({k}) needs at least one control")
                if len(rest) < k:
                    raise self.err(tok, f"{kind}({k}) needs {k} control qubit(s) before the gate's own qubits")
                ctrl_groups.append(tuple(rest[:k]))
                rest = rest[k:]
            mod_values.append((kind, k, tok))
        prims = self.expand_base(call, params, tuple(rest), depth)
        groups = list(ctrl_groups)
        for kind, k, tok in reversed(mod_values):
            if kind == "inv":
                prims = [_invert(p) for p in reversed(prims)]
            elif kind == "pow":
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

    def expand_base(self, call: Call, params: list[Any], qubits: tuple[int, ...], depth: int) -> list[Prim]:
        name = call.name
        if name in self.st.defs and name not in self.st.recognized:
            gdef = self.st.defs[name]
            if len(params) != len(gdef.params):
                raise self.err(call.tok, f"gate {name!r} takes {len(gdef.params)} parameter(s), got {len(params)}")
            if len(qubits) != len(gdef.qargs):
                raise self.err(call.tok, f"gate {name!r} acts on {len(gdef.qargs)} qubit(s), got {len(qubits)}")
            return self.expand_def(gdef, params, qubits, depth + 1)
        if name in self.st.recognized:
            spec = get_gate(name)
            return self._checked(call, name, spec.num_params, spec.num_qubits or len(qubits), params, qubits,
                                 lambda p: p)
        if name in self.st.gates:
            reg, npar, nq, fn = self.st.gates[name]
            return self._checked(call, reg, npar, nq, params, qubits, fn)
        if name == "gphase" and self.st.version == 3:
            if len(params) != 1 or qubits:
                raise self.err(call.tok, "gphase takes one angle and no qubits")
            return [Prim("gphase", (), params)]
        known = list(self.st.gates) + list(self.st.defs)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if not close and name in QELIB1 and self.st.version == 2:
            hint = '; add include "qelib1.inc";'
        elif not close and name in STDGATES and self.st.version == 3:
            hint = '; add include "stdgates.inc";'
        raise self.err(call.tok, f"unknown gate {name!r}{hint}")

    def _checked(self, call: Call, reg: str, npar: int, nq: int, params: list[Any], qubits: tuple[int, ...],
                 fn: Any) -> list[Prim]:
        if len(params) != npar:
            raise self.err(call.tok, f"gate {call.name!r} takes {npar} parameter(s), got {len(params)}")
        if len(qubits) != nq:
            raise self.err(call.tok, f"gate {call.name!r} acts on {nq} qubit(s), got {len(qubits)}")
        if len(set(qubits)) != len(qubits):
            raise self.err(call.tok, f"gate {call.name!r} is applied to the same qubit twice")
        return [Prim(reg, qubits, list(fn(list(params))))]

    def expand_def(self, gdef: GateDef, params: list[Any], qubits: tuple[int, ...], depth: int) -> list[Prim]:
        scope = dict(zip(gdef.params, params, strict=True))
        qmap = dict(zip(gdef.qargs, qubits, strict=True))
        out: list[Prim] = []
        for inner in gdef.body:
            vals = [evaluate(a, scope, self.src) for a in inner.args]
            out.extend(self.expand_call(inner, vals, tuple(qmap[q.value] for q in inner.qargs), scope, depth + 1))
            if len(out) > MAX_INSTRUCTIONS:
                raise self.err(gdef.tok, f"gate {gdef.name!r} expands to more than {MAX_INSTRUCTIONS} gates")
        return out

    # -- non-unitary statements ----------------------------------------------------
    def measure_arrow(self, condition: tuple[tuple[int, ...], int] | None = None) -> None:
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

    def _measure(self, qs: list[int], cs: list[int], tok: Token, condition: tuple[tuple[int, ...], int] | None) -> None:
        if len(qs) != len(cs):
            raise self.err(tok, f"measure: {len(qs)} qubit(s) into {len(cs)} bit(s)")
        for q, c in zip(qs, cs, strict=True):
            self.emit(Instruction("measure", (q,), (), (c,), condition=condition), tok)

    def measure_assign(self, condition: tuple[tuple[int, ...], int] | None = None) -> None:
        cs, _ct = self.bits_operand()
        self.expect("=")
        kw = self.peek()
        if kw.value != "measure":
            raise self.err(kw, "only 'bits = measure qubits;' assignments are supported")
        self.next()
        qs, _ = self.operand()
        self.expect(";")
        self._measure(qs, cs, kw, condition)

    def reset(self, condition: tuple[tuple[int, ...], int] | None = None) -> None:
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
        bits, btok = self.bits_operand()
        value = 1
        if self.peek().value == "==":
            self.next()
            node, t = self.expr()
            value = self.int_value(node, t, "condition value")
        elif self.st.version == 2:
            raise self.err(self.peek(), "expected '==' in if condition")
        self.expect(")")
        if value < 0 or value >= 2 ** len(bits):
            raise self.err(btok, f"condition value {value} does not fit in {len(bits)} bit(s)")
        cond = (tuple(bits), value)
        if self.peek().value == "{" and self.st.version == 3:
            self.next()
            while self.peek().value != "}":
                if self.peek().kind == "eof":
                    raise self.err(self.peek(), "unclosed '{' in if body")
                self._conditional_statement(cond, kw)
            self.next()
            if self.peek().value == "else":
                raise self.err(self.peek(), "'else' branches are not supported by qtandem")
            return
        self._conditional_statement(cond, kw)

    def _conditional_statement(self, cond: tuple[tuple[int, ...], int], kw: Token) -> None:
        v = self.peek().value
        if v == "measure":
            return self.measure_arrow(cond)
        if v == "reset":
            return self.reset(cond)
        if self.peek(1).value == "=" or (self.peek(1).value == "[" and self._assign_ahead()):
            return self.measure_assign(cond)
        if v in ("if", "for", "gate", "qreg", "creg", "barrier"):
            raise self.err(self.peek(), f"{v!r} is not allowed inside an if statement")
        return self.gate_call_stmt(cond)

    def for_loop(self) -> None:
        kw = self.next()
        if self.peek().value in _CLASSICAL_TYPES and self.peek(1).kind in ("id", "op") and \
                self.peek(1).value not in ("in",):
            self.next()
            if self.peek().value == "[":
                self.next()
                self.expr()
                self.expect("]")
        var = self.ident("a loop variable")
        if self.next().value != "in":
            raise self.err(self.toks[self.pos - 1], "expected 'in' in for loop")
        values: list[int] = []
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
            count = max(0, (b - a) // step + 1)
            if count > MAX_INSTRUCTIONS:
                raise self.err(t, f"loop of {count} iterations exceeds the limit of {MAX_INSTRUCTIONS}")
            values = list(range(a, b + (1 if step > 0 else -1), step))
        elif self.peek().value == "{":
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
        body_start = self.pos
        saved = self.st.scope.get(var.value, _MISSING)
        if var.value in self.st.constants or var.value in self.st.qregs:
            raise self.err(var, f"loop variable {var.value!r} shadows a declaration")
        end = self._skip_body(body_start, kw)
        self.depth += 1
        if self.depth > MAX_BLOCK_DEPTH:
            raise self.err(kw, f"loops nested more than {MAX_BLOCK_DEPTH} deep")
        try:
            for v in values:
                self.st.scope[var.value] = v
                self.pos = body_start
                if self.peek().value == "{":
                    self.next()
                    self.block_rest()
                else:
                    self.statement()
        finally:
            self.depth -= 1
            if saved is _MISSING:
                self.st.scope.pop(var.value, None)
            else:
                self.st.scope[var.value] = saved
        self.pos = end

    def _skip_body(self, start: int, kw: Token) -> int:
        """Position after the loop body (a braced block or one statement), without executing it."""
        if self.toks[start].value != "{":
            k = start
            while self.toks[k].value != ";":
                if self.toks[k].kind == "eof":
                    raise self.err(kw, "for loop body has no ';'")
                k += 1
            return k + 1
        depth, k = 0, start
        while True:
            t = self.toks[k]
            if t.kind == "eof":
                raise self.err(kw, "unclosed '{' in for loop body")
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
    if not p.inverted:
        named = None
        if p.name != "unitary":
            try:
                named = inverse_of(p.name, tuple(p.params))
            except QtandemError:
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
    from qtandem.circuit.gates import controlled_matrix

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
    """Parse OpenQASM 2 or 3 source into a :class:`Circuit`."""
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
