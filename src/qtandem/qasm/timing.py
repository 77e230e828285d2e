"""OpenQASM 3 timing: ``delay[...]``, ``box { ... }`` and ``box[...] { ... }``; ``stretch`` is refused.

Durations are values known while reading (:class:`~qtandem.qasm.expr.Duration`, kept in ns):
literals such as ``100ns``, ``duration`` variables and constants, and arithmetic on them
(``delay[2 * d] q;``, ``delay[d + 50ns] q;``). How each construct maps onto the circuit IR,
which has one timing instruction (``delay``) and no scheduler:

- ``delay[T] qubits;`` is one ``delay`` instruction of ``T`` ns (``T`` must be >= 0).
- ``box { body }`` is the body fenced by a ``barrier`` on the qubits the body uses, before and
  after it: nothing moves into or out of the box (the optimizer and the router treat a barrier as
  a fence), which is what a box forbids, and its qubits start and end together, as the
  specification says. It is stricter than the specification in one way: a compiler may move a gate
  past a whole box, which the barriers forbid too. The writer emits those barriers, so a box
  round-trips as ``barrier; body; barrier;`` (the same circuit when read again), not as ``box``.
- ``box[T] { body }`` also fixes the box's length. When the body holds only delays (and
  barriers), its length is known: each qubit of the box gets a ``delay`` for the time it has
  left, so every qubit of the box idles until ``T``, then the closing barrier. A body longer
  than ``T`` is an error. A body with a gate, measurement or reset has no known length (gate
  durations belong to a device and are assigned when a circuit is scheduled), so ``box[T]``
  around one is refused; write ``box`` without a duration, or the delays themselves.
- ``nop qubits;`` (OpenQASM 3.2) inside a box makes those qubits part of the box (fenced, and
  padded to its duration) without acting on them; outside a box it does nothing.
- An empty box has no qubits and produces nothing.
- ``stretch`` (a duration that a scheduler solves for) and ``durationof(...)`` (the length of a
  block of gates) need gate durations and a scheduler, which qtandem does not have: both are
  refused with a located error that says so.

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> c = parse('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; const duration d = 100ns;'
    ...           'delay[2 * d] q[0]; box[500ns] { delay[d + 50ns] q[0]; delay[d] q[1]; }')
    >>> [(i.name, i.qubits, i.params) for i in c]  # doctest: +NORMALIZE_WHITESPACE
    [('delay', (0,), (200.0,)), ('barrier', (0, 1), ()), ('delay', (0,), (150.0,)), ('delay', (1,), (100.0,)),
     ('delay', (0,), (350.0,)), ('delay', (1,), (400.0,)), ('barrier', (0, 1), ())]
"""

from __future__ import annotations

from typing import Any

from qtandem.circuit.instruction import Instruction
from qtandem.qasm.base import ParserBase
from qtandem.qasm.expr import Duration, Expr
from qtandem.qasm.lexer import Token

__all__ = ["STRETCH_REFUSAL", "TimingMixin"]

STRETCH_REFUSAL = ("not supported: 'stretch' (a stretch is a duration that a scheduler solves for when it lays the "
                   "program out in time; qtandem has no scheduler, so it cannot give one a value). Use a fixed "
                   "duration instead, such as 'const duration d = 100ns;'")
"""The error for a ``stretch`` declaration."""
_TOLERANCE = 1e-9
"""Relative slack (of the box's duration) under which a body's length counts as equal to it."""


class TimingMixin(ParserBase):
    """``delay``, ``box`` and the ``stretch`` refusal.

    Examples:
        >>> from qtandem.qasm.parser import parse
        >>> c = parse('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; box { h q[0]; cx q[0], q[2]; }')
        >>> [(i.name, i.qubits) for i in c]
        [('barrier', (0, 2)), ('h', (0,)), ('cx', (0, 2)), ('barrier', (0, 2))]
    """

    def duration_value(self, what: str) -> tuple[float, Token]:
        """Read a duration expression (up to, not including, ``]``): its value in ns and its first token."""
        node, tok = self.expr()
        value = self.value(node)
        if not isinstance(value, Duration):
            self._not_a_duration(node, value, tok, what)
        if value.ns < 0:
            raise self.err(tok, f"a {what} must be >= 0, got {value!r}")
        return value.ns, tok

    def _not_a_duration(self, node: Expr, value: Any, tok: Token, what: str) -> None:
        last = node.ops[-1][2] if node.ops else tok
        after = self.peek()
        if len(node.ops) == 1 and last.kind == "number" and after.kind == "id":
            if after.pos == last.pos + len(last.value):
                raise self.err(after, f"unknown delay unit {after.value!r}: use ns, us (or µs), ms or s")
            raise self.err(last, f"the {what} {last.value} needs a unit right after the number, with no space "
                                 f"(ns, us, µs, ms, s), such as {last.value}ns")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise self.err(tok, f"the {what} needs a unit: got the number {value!r}; write it as a duration such "
                                f"as {value!r}ns")
        from qtandem.circuit.parameter import is_symbolic

        shown = "an input parameter" if is_symbolic(value) else "an array" if isinstance(value, list) \
            else repr(value)
        raise self.err(tok, f"the {what} must be a duration known while reading (such as 100ns, 2 * d or d + "
                            f"50ns), got {shown}")

    def delay(self) -> None:
        """``delay[100ns] q[0], q[1];`` (OpenQASM 3): one ``delay`` instruction, its duration in ns."""
        kw = self.next()
        if self.st.condition is not None:
            raise self.err(kw, "not supported: a delay inside a run-time 'if' (qtandem's delays are unconditional)")
        if self.peek().value != "[":
            raise self.err(self.peek(), "delay needs a duration in brackets, such as 'delay[100ns] q[0];'")
        self.next()
        ns, _ = self.duration_value("delay duration")
        if self.peek().value != "]":
            raise self.err(self.peek(), f"expected ']' after the delay duration, got {self.peek().value!r}")
        self.next()
        qubits = self.operand_list()
        if len(set(qubits)) != len(qubits):
            raise self.err(kw, "delay: a qubit appears twice in its operands")
        self.emit(Instruction("delay", tuple(qubits) or self.all_qubits(), (ns,)), kw)

    def stretch(self) -> None:
        """``stretch s;``: refused (it needs a scheduler)."""
        raise self.err(self.peek(), STRETCH_REFUSAL)

    def nop(self) -> None:
        """``nop q[0], $1;``: the qubits join the innermost open box (nothing happens outside a box)."""
        self.next()
        qubits = self.operand_list()
        if self.st.box_nops:
            self.st.box_nops[-1].update(qubits)

    def box(self) -> None:
        """``box { ... }`` or ``box[T] { ... }``: the body between barriers on its qubits (padded to ``T``)."""
        kw = self.next()
        target: float | None = None
        if self.peek().value == "[":
            self.next()
            target, _ = self.duration_value("box duration")
            self.expect("]")
        elif self.peek().kind == "id" and self.peek(1).value in ("{", "["):
            raise self.err(self.peek(), f"not supported: a box label ({self.peek().value!r}); write 'box {{ ... }}' "
                                        "or 'box[100ns] { ... }'")
        open_tok = self.expect("{", "'{' to open the box body (or '[duration]')")
        start = len(self.st.insts)
        self.emit(Instruction("barrier", (0,)), kw)  # placeholder: the body's qubits are known after the body
        nesting = self.st.nesting
        self.enter(open_tok)
        self.push_frame()
        self.st.box_nops.append(set())
        try:
            self.block_rest(open_tok)
        finally:
            self.pop_frame()
            self.st.nesting = nesting
            nops = self.st.box_nops.pop()
        qubits = tuple(sorted(nops.union(*(inst.qubits for inst, _, _ in self.st.insts[start + 1:]))))
        if not qubits:
            del self.st.insts[start]
            return
        self.st.insts[start] = (Instruction("barrier", qubits), kw, self.src)
        if target is not None:
            self._pad(start + 1, qubits, target, kw)
        self.emit(Instruction("barrier", qubits), kw)

    def _pad(self, first: int, qubits: tuple[int, ...], target: float, kw: Token) -> None:
        """Delays that bring every qubit of a ``box[target]`` (body from instruction ``first`` on) to ``target`` ns.

        The body must be delays and barriers only: nothing else has a known length.
        """
        if self.st.condition is not None:
            raise self.err(kw, "not supported: a box with a duration inside a run-time 'if' (its padding is a delay, "
                               "and qtandem's delays are unconditional)")
        clock = dict.fromkeys(qubits, 0.0)  # as soon as possible; a barrier or a multi-qubit delay aligns its qubits
        for inst, tok, src in self.st.insts[first:]:
            if inst.name not in ("delay", "barrier"):
                raise src.error(f"not supported: {inst.name!r} inside box[{target!r}ns] (a box with a duration needs "
                                "its body's length, and qtandem knows only the length of delays: gate, measurement "
                                "and reset durations belong to a device). Write 'box { ... }' without a duration, "
                                "or give the idle time as delays", tok.line, tok.col)
            start = max(clock.get(q, 0.0) for q in inst.qubits)
            for q in inst.qubits:
                clock[q] = start + (float(inst.params[0]) if inst.name == "delay" else 0.0)
        length = max(clock.values())
        if length > target * (1 + _TOLERANCE):
            raise self.err(kw, f"the box body lasts {length!r}ns, longer than the box's {target!r}ns")
        rest: dict[float, list[int]] = {}
        for q in qubits:
            left = target - clock[q]
            if left > target * _TOLERANCE:
                rest.setdefault(left, []).append(q)
        for left, group in rest.items():
            self.emit(Instruction("delay", tuple(group), (left,)), kw)
