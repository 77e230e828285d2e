"""Core of the OpenQASM reader: limits, parse state, token helpers, operands, simple statements.

The reader is one recursive-descent class, ``qtandem.qasm.parser._Parser``,
assembled from :class:`ParserBase` and three mixins cut along the language's
seams: :mod:`~qtandem.qasm.declarations` (registers, constants, inputs,
includes), :mod:`~qtandem.qasm.gatedefs` (gate definitions, gate calls,
modifiers) and :mod:`~qtandem.qasm.control` (``if`` and ``for``). This module
holds what all of them use: the work limits, the shared :class:`ParseState`,
token navigation, qubit and bit operands, and the statements without structure
(``measure``, ``reset``, ``barrier``, ``bits = measure qubits``); timing (``delay``, ``box``) is in
:mod:`~qtandem.qasm.timing`.

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> parse("OPENQASM 3.0; qubit[2] q; bit[2] c; reset q[1]; c[0] = measure q[0];").count_ops()
    {'reset': 1, 'measure': 1}
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter
from qtandem.errors import QasmError
from qtandem.qasm.expr import Expr, ExprParser, RtBits, RtCond, evaluate
from qtandem.qasm.lexer import LOOKAHEAD, Source, Token
from qtandem.qasm.stdlib import GateMap

__all__ = ["MAX_GATE_DEPTH", "MAX_INCLUDE_DEPTH", "MAX_INSTRUCTIONS", "MAX_MODIFIERS", "MAX_NESTING", "MAX_QUBITS",
           "MAX_WORK", "Call", "Condition", "GateDef", "ParseState", "ParserBase", "Prim"]

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
    "extern": "calibration grammar",
    "cal": "calibration grammar", "defcal": "calibration grammar", "defcalgrammar": "calibration grammar",
    "stretch": "timing", "durationof": "timing",
    "output": "output variables", "complex": "complex numbers", "end": "program termination",
    "pragma": "pragmas", "return": "'return' outside a subroutine", "break": "'break' outside a loop",
    "continue": "'continue' outside a loop", "else": "'else' without 'if'", "case": "'case' outside 'switch'",
    "default": "'default' outside 'switch'",
}
_CLASSICAL_TYPES = {"int", "uint", "float", "angle", "bool", "duration"}
_ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "++", "%=", "&=", "|=", "^=", "<<=", ">>=", "**="}
_MISSING = object()

Condition = tuple[tuple[int, ...], int] | None
Register = tuple[tuple[int, ...] | range, bool]
"""Qubits or bits a name refers to (indices, in order) and whether it is a single qubit/bit."""


class LoopBreak(Exception):
    """``break`` unwinding to the innermost loop.

    Examples:
        >>> isinstance(LoopBreak(), Exception)
        True
    """


class LoopContinue(Exception):
    """``continue`` unwinding to the innermost loop.

    Examples:
        >>> isinstance(LoopContinue(), Exception)
        True
    """


class SubReturn(Exception):
    """``return`` unwinding to the subroutine call; ``value`` is what it returns.

    Examples:
        >>> SubReturn(3).value
        3
    """

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


@dataclass
class Prim:
    """A primitive gate application produced by expansion.

    Examples:
        >>> prim = Prim("rz", (1,), [0.5])
        >>> prim.name, prim.qubits, prim.ctrl, prim.inverted
        ('rz', (1,), 0, False)
    """

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

    Examples:
        >>> from qtandem.qasm.lexer import Source, Token
        >>> tok = Token("id", "h", 0, Source("h q[0];", "<string>"))
        >>> call = Call(mods=[], name="h", args=[], qargs=[], tok=tok, operands=[[0]])
        >>> call.name, call.operands
        ('h', [[0]])
    """

    mods: list[tuple[str, Expr | None, Token]]
    name: str
    args: list[Expr]
    qargs: list[Token]
    tok: Token
    operands: list[list[int]] = field(default_factory=list)


@dataclass
class GateDef:
    """A user ``gate`` definition.

    Examples:
        >>> from qtandem.qasm.lexer import Source, Token
        >>> tok = Token("id", "bell", 5, Source("gate bell a, b { h a; cx a, b; }", "<string>"))
        >>> gate = GateDef(name="bell", params=[], qargs=["a", "b"], body=[], tok=tok)
        >>> gate.name, gate.qargs
        ('bell', ['a', 'b'])
    """

    name: str
    params: list[str]
    qargs: list[str]
    body: list[Call]
    tok: Token


@dataclass
class ParseState:
    """Everything one program (with its includes) accumulates while it is read.

    Examples:
        >>> state = ParseState()
        >>> state.version, state.n_qubits, state.qregs
        (3, 0, {})
    """

    version: int = 3
    qregs: dict[str, Register] = field(default_factory=dict)  # name -> (qubits, scalar): registers and aliases
    cregs: dict[str, Register] = field(default_factory=dict)
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
    frames: list[dict[tuple[str, str], Any]] = field(default_factory=list)  # block scopes: shadowed bindings
    condition: Condition = None  # run-time condition of the enclosing 'if' blocks
    physical: int = 0  # 1 + largest physical qubit '$n' used
    subs: dict[str, Any] = field(default_factory=dict)  # 'def' subroutines
    locals_at: dict[int, str] = field(default_factory=dict)  # bit declaration inside a block -> its register
    local_cregs: set[str] = field(default_factory=set)
    local_range: dict[str, range] = field(default_factory=dict)
    calls: list[tuple[int, int, str, tuple[Any, ...], tuple[int, ...]]] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)  # gate name -> (params, qargs, body) for the writer
    bindings: dict[str, Any] = field(default_factory=dict)  # input name -> value bound while reading
    bound: set[str] = field(default_factory=set)  # inputs that took a value from bindings
    inputs: list[str] = field(default_factory=list)  # every input declared
    loop_depth: int = 0
    sub_depth: int = 0
    known_bits: dict[int, int] = field(default_factory=dict)  # classical bit -> value known while reading
    known_where: dict[int, tuple[Token, Source]] = field(default_factory=dict)  # where that value was set
    box_nops: list[set[int]] = field(default_factory=list)  # qubits 'nop' adds to each open box, innermost last


class ParserBase:
    """Token navigation and the pieces every statement kind uses; the mixins add the statements.

    Examples:
        >>> from qtandem.qasm.lexer import Source, tokenize
        >>> src = Source("qubit[2] q;", "<string>")
        >>> parser = ParserBase(tokenize(src), src, ParseState(), None)
        >>> parser.next().value, parser.peek().value
        ('qubit', '[')
        >>> parser.expect(";")
        Traceback (most recent call last):
        ...
        qtandem.errors.QasmError: <string>:1:6: ...
    """

    def __init__(self, tokens: list[Token], src: Source, state: ParseState, base_dir: Path | None) -> None:
        self.toks = tokens
        self.src = src
        self.st = state
        self.pos = 0
        self.base_dir = base_dir
        self.exprs = ExprParser(tokens, src, state.subs)

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
        return evaluate(node, self.st.scope if scope is None else scope, self.src, registers=self.runtime_bits,
                        call=self.call_in_expression)

    def call_in_expression(self, name: str, values: list[Any], tok: Token) -> Any:
        """Run subroutine ``name`` called inside an expression (``qtandem.qasm.subroutines``)."""
        raise self.err(tok, f"subroutine {name!r} cannot be called here")

    def runtime_bits(self, name: str) -> RtBits | int | None:
        """The classical register (or bit alias) ``name``: its value if known while reading, else run-time bits."""
        reg = self.st.cregs.get(name)
        if reg is None:
            return None
        bits = tuple(reg[0])
        known = self.st.known_bits
        if all(b in known for b in bits):
            return sum(known[b] << i for i, b in enumerate(bits))
        return RtBits(bits, name)

    def bracket_size(self) -> tuple[int, Token] | None:
        """Read an optional ``[size]`` (a constant integer): ``(size, its token)``, or ``None`` when absent."""
        if self.peek().value != "[":
            return None
        self.next()
        node, tok = self.expr()
        size = self.int_value(node, tok, "register size")
        self.expect("]")
        return size, tok

    def int_value(self, node: Expr, tok: Token, what: str, scope: dict[str, Any] | None = None) -> int:
        v = self.value(node, scope)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int):
            shown = "an array" if isinstance(v, list) else f"input parameter {v.name!r}" \
                if isinstance(v, Parameter) else "measured bits (known only at run time)" \
                if isinstance(v, (RtBits, RtCond)) else repr(v)
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

    # -- block scopes ------------------------------------------------------------------
    def push_frame(self) -> None:
        self.st.frames.append({})

    def pop_frame(self) -> None:
        frame = self.st.frames.pop()
        for (table, name), old in frame.items():
            d = self._table(table)
            if old is _MISSING:
                d.pop(name, None)
            else:
                d[name] = old
            if table == "scope" and old is _MISSING:
                self.st.constants.discard(name)

    def _table(self, table: str) -> dict[str, Any]:
        return {"scope": self.st.scope, "qregs": self.st.qregs, "cregs": self.st.cregs}[table]

    def bind_local(self, table: str, name: str, value: Any) -> None:
        """Bind ``name`` in the innermost block (restored when the block ends)."""
        d = self._table(table)
        if self.st.frames:
            frame = self.st.frames[-1]
            for other in ("scope", "qregs", "cregs"):
                if (other, name) not in frame:
                    frame[(other, name)] = self._table(other).get(name, _MISSING)
            for other in ("scope", "qregs", "cregs"):
                if other != table:
                    self._table(other).pop(name, None)
        d[name] = value

    def declared_here(self, name: str) -> bool:
        """True if ``name`` is bound in the innermost block (so redeclaring it is an error)."""
        if self.st.frames:
            return ("scope", name) in self.st.frames[-1] and self.is_declared(name)
        return self.is_declared(name)

    def is_declared(self, name: str) -> bool:
        return name in self.st.scope or name in self.st.qregs or name in self.st.cregs or name in self.st.subs

    # -- statements ------------------------------------------------------------------
    def run(self) -> None:
        while self.peek().kind != "eof":
            self.statement()

    def statement(self) -> None:
        """Read one statement (``qtandem.qasm.parser._Parser`` dispatches on its first token)."""
        raise NotImplementedError

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

    # -- operands --------------------------------------------------------------------
    def operand(self) -> tuple[list[int], Token]:
        tok = self.peek()
        if tok.kind == "physical":
            return [self.physical_qubit(self.next())], tok
        tok = self.ident("a qubit or register")
        if tok.value not in self.st.qregs:
            if tok.value in self.st.cregs:
                raise self.err(tok, f"{tok.value!r} is a classical register, not qubits")
            close = difflib.get_close_matches(tok.value, list(self.st.qregs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.err(tok, f"undeclared qubit register {tok.value!r}{hint}")
        return self._index(tok, self.st.qregs[tok.value]), tok

    def physical_qubit(self, tok: Token) -> int:
        """Index of physical qubit ``$n`` (the circuit is as wide as the largest index + 1)."""
        if self.st.version == 2:
            raise self.err(tok, f"physical qubit {tok.value} needs OpenQASM 3")
        if self.st.qreg_order:
            raise self.err(tok, f"physical qubit {tok.value} in a program that declares qubits: OpenQASM 3 "
                                "programs use either physical qubits ($0, $1, ...) or declared ones")
        n = int(tok.value[1:])
        if n >= MAX_QUBITS:
            raise self.err(tok, f"physical qubit {tok.value} exceeds qtandem's limit of {MAX_QUBITS} qubits")
        self.st.physical = max(self.st.physical, n + 1)
        return n

    def bits_operand(self) -> tuple[list[int], Token]:
        tok = self.ident("a classical bit or register")
        if tok.value not in self.st.cregs:
            if tok.value in self.st.qregs:
                raise self.err(tok, f"{tok.value!r} is a qubit register, not classical bits")
            if tok.value in self.st.scope:
                raise self.err(tok, f"not supported: measuring into the classical variable {tok.value!r} "
                                    "(qtandem writes measurement results to bit registers only)")
            close = difflib.get_close_matches(tok.value, list(self.st.cregs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.err(tok, f"undeclared classical register {tok.value!r}{hint}")
        return self._index(tok, self.st.cregs[tok.value]), tok

    def _index(self, tok: Token, reg: Register) -> list[int]:
        items, scalar = reg
        size = len(items)
        if self.peek().value != "[":
            return list(items)
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
            return [items[i]]
        if start_tok.value == "{":  # an index set: q[{0, 2, 5}]
            self.next()
            picks: list[int] = []
            while True:
                node, t = self.expr()
                i = self.int_value(node, t, "index")
                if not 0 <= i < size:
                    raise self.err(t, f"index {i} is out of range for register {tok.value!r} of size {size}")
                picks.append(i)
                if self.peek().value == ",":
                    self.next()
                    continue
                self.expect("}", "',' or '}' in the index set")
                break
            self.expect("]")
            return [items[i] for i in picks]
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
            if first < 0 and self.st.version == 3 and first >= -size:
                first += size  # OpenQASM 3: negative indices count from the end
            if not 0 <= first < size:
                raise self.err(start_tok, f"index {first} is out of range for register {tok.value!r} of size {size}")
            picks = [first]
        self.expect("]")
        return [items[i] for i in picks]

    def emit(self, inst: Instruction, tok: Token) -> None:
        if len(self.st.insts) >= MAX_INSTRUCTIONS:
            raise self.err(tok, f"program expands to more than {MAX_INSTRUCTIONS} instructions")
        outer = self.st.condition
        if outer is not None and inst.name != "barrier":
            if inst.condition is None:
                inst = inst.replace(condition=outer)
            else:
                bits, value = inst.condition
                if set(bits) & set(outer[0]):
                    raise self.err(tok, "not supported: nested run-time conditions on the same bits")
                inst = inst.replace(condition=(outer[0] + bits, outer[1] | (value << len(outer[0]))))
        if inst.name == "measure":
            for c in inst.clbits:
                self.st.known_bits.pop(c, None)
        self.st.insts.append((inst, tok, self.src))

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

    def reset(self, condition: Condition = None) -> None:
        kw = self.next()
        qs, _ = self.operand()
        self.expect(";")
        for q in qs:
            self.emit(Instruction("reset", (q,), condition=condition), kw)

    def operand_list(self) -> list[int]:
        """The qubits of a comma-separated operand list up to and including its ``;`` (barrier, delay)."""
        qubits: list[int] = []
        while self.peek().value != ";":
            qs, _ = self.operand()
            qubits.extend(qs)
            if self.peek().value == ",":
                self.next()
            elif self.peek().value != ";":
                raise self.err(self.peek(), f"missing ';' or ',' before {self.peek().value!r}")
        self.next()
        return qubits

    def barrier(self) -> None:
        kw = self.next()
        qubits = self.operand_list()
        self.emit(Instruction("barrier", tuple(dict.fromkeys(qubits)) or self.all_qubits()), kw)

    def all_qubits(self) -> tuple[int, ...]:
        """Every qubit declared so far (what ``barrier;`` and ``delay[...];`` without operands act on)."""
        return tuple(range(max(self.st.n_qubits, self.st.physical)))
