"""Classical values known while reading: variables, arrays, casts, assignments and ``let`` aliases.

qtandem runs no classical computation at simulation time; it evaluates
classical code while it reads the program, as a compiler folds constants.
A classical variable holds a value known at parse time (an ``int``, ``float``,
``bool`` or nested list for arrays); loops, ``if``, ``switch`` and subroutine
calls whose values are known unroll or select at parse time. Measured bits
are the only run-time values: they can be compared with constants
(``if (c == 2)``, ``if (int[2](c) == 2)``, ``if (bool(b))``), which becomes the
instruction's condition. Anything that would need computation on measured
bits at run time is refused with an error that names the feature.

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> c = parse('''OPENQASM 3.0; include "stdgates.inc"; qubit[3] q;
    ... uint[3] pattern = 5; array[int[8], 2] steps = {1, 2}; let first_two = q[0:1] ++ q[2];
    ... for uint i in [0:2] { if (bool(pattern[i])) x first_two[i]; }
    ... int k = 0; k += steps[1]; rz(pi / k) q[2];''')
    >>> [(i.name, i.qubits) for i in c]
    [('x', (0,)), ('x', (2,)), ('rz', (2,))]
"""

from __future__ import annotations

from typing import Any

from qtandem.circuit.parameter import Parameter
from qtandem.qasm.base import _CLASSICAL_TYPES, _MISSING, MAX_QUBITS, Register
from qtandem.qasm.expr import Duration, Expr, RtBits, RtCond, evaluate
from qtandem.qasm.gatedefs import GatesMixin
from qtandem.qasm.lexer import Token

__all__ = ["ClassicalMixin"]

_COMPOUND = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "%=": "%", "&=": "&", "|=": "|", "^=": "^",
             "<<=": "<<", ">>=": ">>", "**=": "**"}


class ClassicalMixin(GatesMixin):
    """Classical declarations, assignments, arrays and aliases, evaluated while reading.

    Examples:
        >>> from qtandem.qasm.parser import parse
        >>> c = parse('OPENQASM 3.0; include "stdgates.inc"; qubit[4] q; array[uint[8], 2, 2] m = {{0, 1}, {2, 3}};'
        ...           'const uint n = sizeof(m, 1); let pair = q[{0, 3}]; cx pair[0], q[m[1, 1]]; x q[n];')
        >>> [(i.name, i.qubits) for i in c]
        [('cx', (0, 3)), ('x', (2,))]
    """

    # -- provided by later mixins ----------------------------------------------------------
    def sub_call(self, target: list[int] | None) -> Any:
        """Inline a subroutine call (:class:`~qtandem.qasm.subroutines.SubroutinesMixin`)."""
        raise NotImplementedError

    def _declare(self, kind: str, name_tok: Token, size: int, scalar: bool, size_tok: Token) -> None:
        """Declare a global register (:class:`~qtandem.qasm.declarations.DeclarationsMixin`)."""
        raise NotImplementedError

    # -- declarations --------------------------------------------------------------------
    def type_spec(self) -> tuple[Token, int | None, list[int] | None]:
        """Read ``int[8]``, ``float``, ``array[uint[8], 2, 3]``: (type token, width, array dims)."""
        type_tok = self.ident("a type")
        dims: list[int] | None = None
        if type_tok.value == "array":
            self.expect("[")
            elem, width, _ = self.type_spec()
            dims = []
            while self.peek().value == ",":
                self.next()
                if self.peek().value == "#":
                    raise self.err(self.peek(), "'#dim' array types are allowed only for subroutine arguments")
                node, t = self.expr()
                size = self.int_value(node, t, "array size")
                if not 0 < size <= MAX_QUBITS:
                    raise self.err(t, f"array size must be in 1..{MAX_QUBITS}, got {size}")
                dims.append(size)
            if not dims:
                raise self.err(self.peek(), "an array type needs its size: array[type, size]")
            self.expect("]")
            return elem, width, dims
        if type_tok.value not in _CLASSICAL_TYPES and type_tok.value != "bit":
            raise self.unsupported_type(type_tok)
        width = None
        if self.peek().value == "[" and type_tok.value == "duration":
            raise self.err(self.peek(), "a duration has no width: write 'duration d = 100ns;'")
        if self.peek().value == "[":
            self.next()
            node, t = self.expr()
            width = self.int_value(node, t, "type width")
            if width <= 0:
                raise self.err(t, f"type width must be positive, got {width}")
            self.expect("]")
        return type_tok, width, None

    def unsupported_type(self, tok: Token) -> Exception:
        from qtandem.qasm.base import _UNSUPPORTED
        from qtandem.qasm.timing import STRETCH_REFUSAL

        if tok.value == "stretch":
            return self.err(tok, STRETCH_REFUSAL)
        if tok.value in _UNSUPPORTED:
            return self.err(tok, f"not supported: {_UNSUPPORTED[tok.value]} ({tok.value!r})")
        return self.err(tok, f"unsupported classical type {tok.value!r}")

    def classical_decl(self) -> None:
        first = self.peek()
        is_const = first.value == "const"
        if is_const:
            self.next()
        type_tok, width, dims = self.type_spec()
        name = self.ident("a variable name")
        if self.declared_here(name.value):
            raise self.err(name, f"{name.value!r} is already declared")
        value: Any
        if self.peek().value == "=":
            self.next()
            if dims is not None and self.peek().value == "{":
                value = self.array_literal(type_tok, width, dims)
            elif self.peek().value in self.st.subs and self.peek(1).value == "(" and self.peek().kind == "id":
                start = self.peek()
                value = self.convert(self.sub_call(None), type_tok.value, width, dims, name.value, start)
                self.bind_local("scope", name.value, value)
                if is_const:
                    self.st.constants.add(name.value)
                return
            else:
                node, t = self.expr()
                value = self.convert(self.value(node), type_tok.value, width, dims, name.value, t)
        elif is_const:
            raise self.err(self.peek(), f"constant {name.value!r} needs a value: const {type_tok.value} "
                                        f"{name.value} = ...;")
        else:
            value = self.zeros(type_tok.value, dims, name)
        self.expect(";")
        self.bind_local("scope", name.value, value)
        if is_const:
            self.st.constants.add(name.value)

    def zeros(self, kind: str, dims: list[int] | None, tok: Token) -> Any:
        """The value of a declaration without an initialiser (zero, as C and Qiskit do)."""
        zero: Any = False if kind == "bool" else 0.0 if kind in ("float", "angle") else Duration(0.0) \
            if kind == "duration" else 0
        if dims is None:
            return zero
        total = 1
        for d in dims:
            total *= d
        self.spend(total, tok)
        value: Any = zero
        for d in reversed(dims):
            value = [value if not isinstance(value, list) else list(value) for _ in range(d)]
        return value

    def array_literal(self, type_tok: Token, width: int | None, dims: list[int]) -> list[Any]:
        open_tok = self.expect("{")
        items: list[Any] = []
        while True:
            if len(dims) > 1:
                items.append(self.array_literal(type_tok, width, dims[1:]))
            else:
                node, t = self.expr()
                items.append(self.convert(self.value(node), type_tok.value, width, None, "array element", t))
            if self.peek().value == ",":
                self.next()
                continue
            self.expect("}", "',' or '}' in the array literal")
            break
        if len(items) != dims[0]:
            raise self.err(open_tok, f"array literal has {len(items)} element(s), the type says {dims[0]}")
        return items

    def convert(self, value: Any, kind: str, width: int | None, dims: list[int] | None, name: str,
                tok: Token) -> Any:
        """``value`` as type ``kind[width]`` (a cast, as an assignment does it)."""
        from qtandem.qasm.expr import _cast

        if isinstance(value, (RtBits, RtCond)):
            raise self.err(tok, f"not supported: storing measured bits in the classical variable {name!r} "
                                "(measurement results live in bit registers; compare them in 'if' conditions)")
        if dims is not None:
            if not isinstance(value, list) or len(value) != dims[0]:
                raise self.err(tok, f"{name!r} is an array of size {dims[0]}; the value does not match")
            return [self.convert(v, kind, width, dims[1:] or None, name, tok) for v in value]
        if isinstance(value, list):
            raise self.err(tok, f"{name!r} cannot hold an array")
        if kind == "duration" or isinstance(value, Duration):
            return self.as_duration(value, kind, name, tok)
        if isinstance(value, Parameter) or (hasattr(value, "parameters") and not isinstance(value, (int, float))):
            if kind in ("float", "angle"):
                return value
            raise self.err(tok, f"{name!r} is declared {kind} but its value depends on input parameters")
        if kind == "bit":
            kind = "uint"
        return _cast(kind, value, width, tok, self.src)

    def as_duration(self, value: Any, kind: str, name: str, tok: Token) -> Duration:
        """``value`` stored in ``name`` of type ``kind``, where one of them is a duration (both must be)."""
        if kind != "duration":
            raise self.err(tok, f"{name!r} is declared {kind}; it cannot hold the duration {value!r} (a duration "
                                "divided by a duration is a number: d / 1ns)")
        if not isinstance(value, Duration):
            shown = "an input parameter" if isinstance(value, Parameter) or hasattr(value, "parameters") \
                else repr(value)
            raise self.err(tok, f"{name!r} is a duration: give it a value with a unit, such as 100ns (got {shown})")
        return value

    # -- assignments ---------------------------------------------------------------------
    def assignment(self, condition: Any = None) -> None:
        target = self.peek()
        name = target.value
        if name in self.st.qregs:
            raise self.err(target, f"cannot assign to qubit register {name!r}")
        if name in self.st.cregs:
            self.bits_assignment()
            return
        if name not in self.st.scope:
            raise self.err(target, f"assignment to undeclared variable {name!r}")
        self.next()
        if name in self.st.loop_vars:
            raise self.err(target, f"assignment to loop variable {name!r}")
        if name in self.st.constants:
            raise self.err(target, f"assignment to constant {name!r}")
        if self.st.condition is not None:
            raise self.err(target, f"not supported: assignment to {name!r} under a run-time condition (its value "
                                   "would depend on measurement results)")
        indices: list[int] = []
        if self.peek().value == "[":
            self.next()
            while True:
                node, t = self.expr()
                indices.append(self.int_value(node, t, "index"))
                if self.peek().value == ",":
                    self.next()
                    continue
                break
            self.expect("]")
        op = self.next()
        if op.value not in _COMPOUND and op.value != "=":
            raise self.err(op, f"expected an assignment operator, got {op.value!r}")
        if self.peek().kind == "id" and self.peek().value in self.st.subs:
            value = self.sub_call(None)
        else:
            node, t = self.expr()
            value = self.value(node)
            self.expect(";")
        if isinstance(value, (RtBits, RtCond)):
            raise self.err(op, f"not supported: storing measured bits in the classical variable {name!r} "
                               "(measurement results live in bit registers; compare them in 'if' conditions)")
        current = self.st.scope[name]
        holder: Any = None
        for i in indices:
            if isinstance(current, list) and -len(current) <= i < len(current):
                holder, current = (current, i), current[i]
            elif isinstance(current, int) and not isinstance(current, bool) and len(indices) == 1 and 0 <= i < 64:
                holder = ("bit", i)
            else:
                raise self.err(target, f"index {i} is out of range for {name!r}")
        if op.value != "=":
            base = current if holder is None or holder[0] != "bit" else (current >> holder[1]) & 1
            value = evaluate(Expr([("num", base, op), ("num", value, op), ("bin", _COMPOUND[op.value], op)], op),
                             {}, self.src)
        if isinstance(current, Duration) or (isinstance(value, Duration) and (holder is None or holder[0] != "bit")):
            value = self.as_duration(value, "duration" if isinstance(current, Duration) else
                                     type(current).__name__, name, op)
        if holder is None:
            self.st.scope[name] = self.like(current, value, op)
        elif holder[0] == "bit":
            bit = 1 if value else 0
            self.st.scope[name] = (current & ~(1 << holder[1])) | (bit << holder[1])
        else:
            holder[0][holder[1]] = self.like(current, value, op)

    @staticmethod
    def like(old: Any, value: Any, tok: Token) -> Any:
        """``value`` converted to the type of ``old`` (assignments keep the declared type)."""
        if isinstance(old, bool):
            return bool(value)
        if isinstance(old, int) and isinstance(value, float):
            return int(value)
        return value

    def bits_assignment(self) -> None:
        cs, ctok = self.bits_operand()
        op = self.next()
        kw = self.peek()
        if op.value != "=":
            raise self.err(op, f"not supported: classical computation on measured bits ({op.value!r} on "
                               f"{ctok.value!r}); qtandem's bits are written only by 'measure'")
        if kw.value == "measure":
            self.next()
            qs, _ = self.operand()
            self.expect(";")
            self._measure(qs, cs, kw, None)
            return
        if kw.kind == "id" and kw.value in self.st.subs:
            self.sub_call(cs)
            return
        node, t = self.expr()
        value = self.value(node)
        self.expect(";")
        if isinstance(value, (RtBits, RtCond)):
            raise self.err(t, "not supported: copying measured bits between registers (qtandem's bits are "
                              "written only by 'measure')")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int) or not 0 <= value < 2 ** len(cs):
            raise self.err(t, f"value {value!r} does not fit in {len(cs)} bit(s)")
        if self.st.condition is not None:
            raise self.err(ctok, "not supported: setting bits under a run-time condition")
        for i, c in enumerate(cs):
            self.st.known_bits[c] = (value >> i) & 1
            self.st.known_where[c] = (ctok, self.src)

    # -- bit registers inside blocks -----------------------------------------------------
    def declare_bits(self, name: Token, size: int, scalar: bool, size_tok: Token) -> None:
        """A ``bit`` declaration: global registers are declared once; ones inside blocks get bits per site."""
        if self.declared_here(name.value):
            raise self.err(name, f"{name.value!r} is already declared")
        if not self.st.frames:
            self._declare("c", name, size, scalar, size_tok)
            return
        reg = self.st.locals_at.get(name.pos)
        if reg is None:
            base, k = name.value, 1
            reg = base
            taken = {n for n, _ in self.st.creg_order}
            while reg in taken or reg in self.st.qregs or reg in self.st.scope:
                k += 1
                reg = f"{base}_{k}"
            offset = self.st.n_clbits
            if offset + size > MAX_QUBITS:
                raise self.err(name, f"more than {MAX_QUBITS} classical bits")
            self.st.creg_order.append((reg, size))
            self.st.n_clbits += size
            self.st.locals_at[name.pos] = reg
            self.st.local_cregs.add(reg)
            self.st.local_range[reg] = range(offset, offset + size)
        bits = self.st.local_range[reg]
        for b in bits:
            self.st.known_bits.pop(b, None)
        self.bind_local("cregs", name.value, (bits, scalar))
        return

    # -- let -----------------------------------------------------------------------------
    def let_stmt(self) -> None:
        kw = self.next()
        name = self.ident("an alias name")
        if self.declared_here(name.value):
            raise self.err(name, f"{name.value!r} is already declared")
        self.expect("=")
        first = self.peek()
        quantum = first.kind == "physical" or first.value in self.st.qregs
        if not quantum and first.value not in self.st.cregs:
            raise self.err(first, "let aliases qubits or bits: expected a register, slice or concatenation")
        items: list[int] = []
        while True:
            part, _ = self.operand() if quantum else self.bits_operand()
            items.extend(part)
            if self.peek().value != "++":
                break
            self.next()
        self.expect(";")
        if len(set(items)) != len(items):
            raise self.err(kw, f"alias {name.value!r} repeats a qubit or bit")
        reg: Register = (tuple(items), False)
        self.bind_local("qregs" if quantum else "cregs", name.value, reg)

    # -- bound input values -----------------------------------------------------------------
    def bound_input(self, name: Token, kind: str, size: int | None) -> Any:
        """The value ``--param`` / ``params=`` gives input ``name``, or :data:`_MISSING`."""
        self.st.inputs.append(name.value)
        if name.value not in self.st.bindings:
            return _MISSING
        self.st.bound.add(name.value)
        value = self.st.bindings[name.value]
        if size is None:
            if isinstance(value, (list, tuple)):
                raise self.err(name, f"input {name.value!r} is a {kind}, but the value bound to it is an array")
            return float(value)
        if not isinstance(value, (list, tuple)) or len(value) != size:
            raise self.err(name, f"input {name.value!r} is an array of {size} value(s); bind a list of {size}")
        self.spend(size, name)
        return [float(v) for v in value]

