"""Declarations and includes: ``qreg``/``creg``, ``qubit``/``bit``, constants, ``input``, ``include``.

Examples:
    >>> from qtandem.qasm.parser import parse
    >>> c = parse("OPENQASM 3.0; const int n = 2; qubit[n] q; qubit a; bit[n + 1] m; input angle t;")
    >>> c.num_qubits, c.num_clbits, c.qregs
    (3, 3, [('q', 2), ('a', 1)])
"""

from __future__ import annotations

from pathlib import Path

from qtandem.circuit.parameter import Parameter
from qtandem.qasm.base import _CLASSICAL_TYPES, _UNSUPPORTED, MAX_INCLUDE_DEPTH, MAX_QUBITS, ParserBase
from qtandem.qasm.lexer import Source, Token, decode, tokenize
from qtandem.qasm.stdlib import QELIB1, STDGATES

__all__ = ["DeclarationsMixin"]


class DeclarationsMixin(ParserBase):
    """Registers, classical constants, ``input`` parameters and ``include`` files.

    Examples:
        >>> from qtandem.qasm.parser import parse
        >>> c = parse('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; qubit r; bit[3] c; const int n = 2;'
        ...           'input float theta; rz(theta * n) r;')
        >>> c.n_qubits, c.n_clbits, [p.name for p in c.parameters]
        (3, 3, ['theta'])
    """

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

    # -- includes ----------------------------------------------------------------------
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
        sub = type(self)(tokenize(sub_src), sub_src, self.st, path.parent)
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
