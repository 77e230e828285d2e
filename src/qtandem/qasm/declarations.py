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
from qtandem.qasm.base import _MISSING, MAX_INCLUDE_DEPTH, MAX_QUBITS
from qtandem.qasm.lexer import Source, Token, decode, tokenize
from qtandem.qasm.stdlib import QELIB1, STDGATES
from qtandem.qasm.subroutines import SubroutinesMixin

__all__ = ["DeclarationsMixin"]


class DeclarationsMixin(SubroutinesMixin):
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
        if self.is_declared(name):
            raise self.err(name_tok, f"{name!r} is already declared")
        if kind == "q" and self.st.physical:
            raise self.err(name_tok, "a program that uses physical qubits ($0, $1, ...) cannot declare qubits")
        if size <= 0:
            raise self.err(size_tok, f"register {name!r} must have a positive size, got {size}")
        what = "qubits" if kind == "q" else "classical bits"
        total = (self.st.n_qubits if kind == "q" else self.st.n_clbits) + size
        if total > MAX_QUBITS:
            raise self.err(name_tok, f"register {name!r} of {size} {what} exceeds qtandem's limit of {MAX_QUBITS} "
                                     f"{what} per program (the reader bounds memory; simulators need far fewer)")
        if kind == "q":
            self.st.qregs[name] = (range(self.st.n_qubits, self.st.n_qubits + size), scalar)
            self.st.qreg_order.append((name, size))
            self.st.n_qubits += size
        else:
            self.st.cregs[name] = (range(self.st.n_clbits, self.st.n_clbits + size), scalar)
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
        sized = self.bracket_size()
        if sized is not None:
            (size, t), scalar = sized, False
        name = self.ident("a register name")
        if kw.value == "qubit":
            if self.st.frames or self.st.nesting:
                raise self.err(kw, "qubits are declared only at the global scope")
            self.expect(";")
            self._declare("q", name, size, scalar, t)
            return
        if size <= 0:
            raise self.err(t, f"register {name.value!r} must have a positive size, got {size}")
        if self.peek().value != "=":
            self.expect(";")
            self.declare_bits(name, size, scalar, t)
            return
        self.next()
        first = self.peek()
        if first.value == "measure":
            self.declare_bits(name, size, scalar, t)
            kw2 = self.next()
            qs, _ = self.operand()
            self.expect(";")
            self._measure(qs, self._reg_bits(name), kw2, None)
            return
        if first.kind == "id" and first.value in self.st.subs:
            self.declare_bits(name, size, scalar, t)
            self.sub_call(self._reg_bits(name))
            return
        node, vt = self.expr()
        value = self.convert(self.value(node), "bit", size, None, name.value, vt)
        self.expect(";")
        self.declare_bits(name, size, scalar, t)
        for i, c in enumerate(self._reg_bits(name)):
            self.st.known_bits[c] = (value >> i) & 1
            self.st.known_where[c] = (name, self.src)

    def _reg_bits(self, name: Token) -> list[int]:
        return list(self.st.cregs[name.value][0])

    def input_decl(self) -> None:
        kw = self.next()
        if self.st.frames or self.st.nesting:
            raise self.err(kw, "inputs are declared only at the global scope")
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
            bound = self.bound_input(name, "array", size)
            if bound is not _MISSING:
                self.st.scope[name.value] = bound
                return
            self.spend(size, t)
            self.st.scope[name.value] = [Parameter(f"{name.value}[{i}]") for i in range(size)]
            return
        if type_tok.value not in ("float", "angle", "int", "uint", "bool"):
            raise self.err(type_tok, f"inputs of type {type_tok.value!r} are not supported (use float or angle)")
        width = None
        if self.peek().value == "[":
            self.next()
            node, wt = self.expr()
            width = self.int_value(node, wt, "type width")
            self.expect("]")
        name = self.ident("an input name")
        self.expect(";")
        self._check_new_name(name)
        bound = self.bound_input(name, type_tok.value, None)
        if bound is not _MISSING:
            self.st.scope[name.value] = self.convert(bound, type_tok.value, width, None, name.value, name)
            return
        if type_tok.value not in ("float", "angle"):
            raise self.err(type_tok, f"input {name.value!r} of type {type_tok.value} needs a value while reading: "
                                     f"bind it (loads(..., params={{'{name.value}': ...}}) or "
                                     f"qtandem convert --param {name.value}=...)")
        self.st.scope[name.value] = Parameter(name.value)

    def _check_new_name(self, name: Token) -> None:
        if self.is_declared(name.value):
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
        if self.st.version == 2:
            sub.check_version_2()  # type: ignore[attr-defined]
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
