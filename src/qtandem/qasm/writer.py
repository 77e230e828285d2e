"""OpenQASM 2 and 3 writers.

Angles are written exactly: ``pi/4`` where that is the exact float, otherwise
``repr(float)``, so a written circuit reads back equal.
"""

from __future__ import annotations

import math
import re

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import GATES
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import ParameterExpression, format_angle
from qtandem.errors import QasmError
from qtandem.qasm.stdlib import QELIB1, STDGATES

__all__ = ["dumps", "needs_version_3"]

# gates qelib1.inc lacks, defined in the written file (exact up to global phase; the reader recognises them)
_DEFS_2 = {
    "ccz": "gate ccz a, b, c { h c; ccx a, b, c; h c; }",
    "iswap": "gate iswap a, b { s a; s b; h a; cx a, b; cx b, a; h b; }",
    "ryy": "gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; rx(-pi/2) a; "
           "rx(-pi/2) b; }",
}
# gates stdgates.inc lacks, written with modifiers (the reader folds them back to the same names)
_MODIFIED_3 = {"sxdg": "inv @ sx", "csx": "ctrl @ sx", "cu3": "ctrl @ u3", "ccz": "ctrl(2) @ z",
               "c3sqrtx": "ctrl(3) @ sx"}
_DEFS_3 = {
    "iswap": _DEFS_2["iswap"],
    "ryy": _DEFS_2["ryy"],
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "rccx": "gate rccx a, b, c { u2(0, pi) c; u1(pi/4) c; cx b, c; u1(-pi/4) c; cx a, c; u1(pi/4) c; cx b, c; "
            "u1(-pi/4) c; u2(0, pi) c; }",
    "rc3x": "gate rc3x a, b, c, d { u2(0, pi) d; u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0, pi) d; cx a, d; "
            "u1(pi/4) d; cx b, d; u1(-pi/4) d; cx a, d; u1(pi/4) d; cx b, d; u1(-pi/4) d; u2(0, pi) d; "
            "u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0, pi) d; }",
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _identifier(name: str, version: int) -> bool:
    if version == 2:
        return bool(_IDENT.match(name))
    return bool(re.match(r"^[^\W\d]\w*$", name)) and all(ch.isalpha() or ch == "_" or ch in "0123456789"
                                                           for ch in name)
_RESERVED = {
    "OPENQASM", "include", "qreg", "creg", "qubit", "bit", "gate", "opaque", "measure", "reset", "barrier", "if",
    "else", "for", "while", "in", "input", "output", "const", "int", "uint", "float", "angle", "bool", "complex",
    "array", "ctrl", "negctrl", "inv", "pow", "gphase", "pi", "tau", "euler", "U", "CX", "def", "return", "let",
    "extern", "box", "delay", "duration", "stretch", "true", "false", "break", "continue", "end", "switch", "case",
    "default", "sin", "cos", "tan", "exp", "ln", "sqrt", "arcsin", "arccos", "arctan", "mod",
}


def _angle(value: object) -> str:
    if isinstance(value, ParameterExpression):
        return value.to_text(pi_symbol=True)
    x = float(value)  # type: ignore[arg-type]
    if not math.isfinite(x):
        raise QasmError(f"angle {x} is not finite; OpenQASM has no literal for it")
    text = format_angle(x)
    if "pi" in text:
        return text
    # the shortest text that reads back as x: repr, or the integer when that is shorter
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


def _check_names(circuit: Circuit, version: int) -> None:
    names: set[str] = set()
    for kind, regs in (("quantum", circuit.qregs), ("classical", circuit.cregs)):
        for name, _ in regs:
            if not _identifier(name, version) or name in _RESERVED or name in GATES or name in names:
                raise QasmError(f"{kind} register name {name!r} cannot be written as OpenQASM (not an identifier, "
                                "reserved, a gate name, or repeated); rename the registers")
            names.add(name)
    scalars = {p.name for p in circuit.parameters if "[" not in p.name}
    for p in circuit.parameters:
        base = p.name.split("[", 1)[0]
        if base in names or base in _RESERVED or ("[" in p.name and base in scalars) or not _identifier(base, version):
            raise QasmError(f"parameter name {p.name!r} clashes with a register, another parameter or a keyword "
                            f"of OpenQASM {version}; rename it")


def needs_version_3(circuit: Circuit) -> bool:
    """True if ``circuit`` has no OpenQASM 2 form (free parameters, modifiers, wide ``mcx``...).

    Examples:
        >>> from qtandem import Circuit, Parameter
        >>> needs_version_3(Circuit(2).h(0).cx(0, 1)), needs_version_3(Circuit(1).rz(Parameter("a"), 0))
        (False, True)
    """
    try:
        dumps(circuit, version=2)
    except QasmError:
        return True
    return False


def _bit_names(regs: list[tuple[str, int]], total: int, default: str) -> list[str]:
    if not regs:
        regs = [(default, total)] if total else []
    names: list[str] = []
    for name, size in regs:
        names.extend(f"{name}[{i}]" for i in range(size))
    return names


def dumps(circuit: Circuit, version: int = 2, *, inline: bool = False) -> str:
    """OpenQASM text for ``circuit``.

    Version 2 uses ``qelib1.inc`` names; gates it lacks are written as ``gate``
    definitions with an exact decomposition (``ccz``, ``iswap``, ``ryy``) or as
    ``c3x``/``c4x`` (``mcx`` with 3 or 4 controls). Version 3 uses
    ``stdgates.inc`` names, modifiers (``ctrl(2) @ ry(...)``, ``inv @ ...``) and
    ``input float[64]`` declarations for free parameters. Angles are written
    exactly (``pi/4`` when that is the exact float, else the shortest ``repr``
    that round-trips), so reading the text back gives an equal circuit.
    Registers come from ``circuit.qregs`` and ``circuit.cregs``.

    Custom ``gate`` definitions read from OpenQASM (``circuit.gate_definitions``)
    are written again as definitions, and their calls as calls, where the
    target version can express them and the instructions still are what the
    call expanded to; otherwise (or with ``inline=True``) the gates are written
    one by one.

    Args:
        circuit: the circuit.
        version: 2 or 3.
        inline: write custom gates' expansions instead of their definitions.

    Returns:
        The program text, ending with a newline.

    Raises:
        QasmError: the circuit has no form in that version: a ``unitary``
            matrix; in version 2 free parameters, modifiers or ``mcx`` with more
            than four controls; conditions that are not a whole register (or,
            in version 3, one bit); non-finite angles; unusable register names.

    Examples:
        >>> from qtandem import Circuit, Parameter
        >>> print(dumps(Circuit(3).append("ry", [0, 1, 2], [Parameter("t") / 2], ctrl=2).s(0), version=3), end="")
        OPENQASM 3.0;
        include "stdgates.inc";
        input float[64] t;
        qubit[3] q;
        ctrl(2) @ ry(0.5*t) q[0], q[1], q[2];
        s q[0];
        >>> from qtandem import Circuit
        >>> print(dumps(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])), end="")
        OPENQASM 2.0;
        include "qelib1.inc";
        qreg q[2];
        creg c[2];
        h q[0];
        cx q[0], q[1];
        measure q[0] -> c[0];
        measure q[1] -> c[1];
    """
    if version not in (2, 3):
        raise QasmError(f"version must be 2 or 3, got {version!r}")
    _check_names(circuit, version)
    qnames = _bit_names(circuit.qregs, circuit.n_qubits, "q")
    cnames = _bit_names(circuit.cregs, circuit.n_clbits, "c")
    body: list[str] = []
    needed: dict[str, str] = {}
    calls, definitions = ({}, []) if inline else _custom_gates(circuit, version, qnames, needed)
    insts = circuit.instructions
    idx = 0
    while idx < len(insts):
        call = calls.get(idx)
        if call is not None:
            end, text = call
            body.append(_condition(insts[idx], circuit, idx, version) + text)
            idx = end
            continue
        body.append(_line(insts[idx], idx, version, qnames, cnames, circuit, needed))
        idx += 1
    head = ["OPENQASM 2.0;", 'include "qelib1.inc";'] if version == 2 else ["OPENQASM 3.0;", 'include "stdgates.inc";']
    params = circuit.parameters
    if params and version == 2:
        raise QasmError(f"OpenQASM 2 has no free parameters; bind {[p.name for p in params]} or use version=3")
    if circuit.n_qubits and not circuit.qregs:
        raise QasmError("the circuit has qubits but no register layout")
    arrays: dict[str, int] = {}
    for p in params:
        m = re.match(r"^(\w+)\[(\d+)\]$", p.name)
        if m:
            arrays[m.group(1)] = max(arrays.get(m.group(1), 0), int(m.group(2)) + 1)
        else:
            head.append(f"input float[64] {p.name};")
    head.extend(f"input array[float[64], {size}] {name};" for name, size in arrays.items())
    head.extend(needed.values())
    head.extend(definitions)
    for name, size in circuit.qregs:
        head.append(f"qreg {name}[{size}];" if version == 2 else f"qubit[{size}] {name};")
    for name, size in circuit.cregs:
        head.append(f"creg {name}[{size}];" if version == 2 else f"bit[{size}] {name};")
    return "\n".join(head + body) + "\n"


def _condition(inst: Instruction, circuit: Circuit, idx: int, version: int) -> str:
    if inst.condition is None:
        return ""
    bits, value = inst.condition
    offset = 0
    for name, size in circuit.cregs:
        if tuple(range(offset, offset + size)) == tuple(bits):
            return f"if ({name} == {value}) " if version == 3 else f"if({name}=={value}) "
        if version == 3 and len(bits) == 1 and offset <= bits[0] < offset + size:
            return f"if ({name}[{bits[0] - offset}] == {value}) "
        offset += size
    extra = "" if version == 3 else " (OpenQASM 3 can also test a single bit)"
    raise QasmError(f"instruction {idx} ({inst.label}): its condition reads bits {list(bits)}, "
                    f"which are not one whole classical register; OpenQASM {version} cannot express that{extra}")


def _line(inst: Instruction, idx: int, version: int, qn: list[str], cn: list[str], circuit: Circuit,
          needed: dict[str, str]) -> str:
    cond = _condition(inst, circuit, idx, version)
    qs = ", ".join(qn[q] for q in inst.qubits)
    if inst.name == "measure":
        lines = [f"{cond}measure {qn[q]} -> {cn[c]};" if version == 2 else f"{cond}{cn[c]} = measure {qn[q]};"
                 for q, c in zip(inst.qubits, inst.clbits, strict=True)]
        return "\n".join(lines)
    if inst.name == "reset":
        return "\n".join(f"{cond}reset {qn[q]};" for q in inst.qubits)
    if inst.name == "barrier":
        return f"barrier {qs};"
    where = f"instruction {idx} ({inst.label})"
    if inst.name == "delay":
        if version == 2:
            raise QasmError(f"{where}: delay needs OpenQASM 3 (OpenQASM 2 has no timing); use version=3")
        if cond:
            raise QasmError(f"{where}: a conditional delay has no OpenQASM form")
        return f"delay[{float(inst.params[0])!r}ns] {qs};"
    if inst.name == "unitary":
        raise QasmError(f"{where}: an arbitrary unitary matrix has no OpenQASM form; decompose it first")
    args = f"({', '.join(_angle(p) for p in inst.params)})" if inst.params else ""
    spec = GATES[inst.name]
    if version == 2:
        if inst.ctrl or inst.inverted:
            raise QasmError(f"{where}: gate modifiers (ctrl @, inv @) need OpenQASM 3; use version=3 "
                            "or decompose the gate")
        name = inst.name
        if name == "mcx":
            name = {4: "c3x", 5: "c4x"}.get(len(inst.qubits), "")
            if not name:
                raise QasmError(f"{where}: OpenQASM 2 has no {len(inst.qubits) - 1}-controlled X (qelib1.inc stops "
                                "at c4x); use version=3 or decompose it")
        elif not spec.qasm2:
            if name not in _DEFS_2:
                raise QasmError(f"{where}: qelib1.inc has no {name!r}; use version=3 or decompose it")
            needed[name] = _DEFS_2[name]
        return f"{cond}{name}{args} {qs};"
    name = inst.name
    prefix = ""
    if name == "mcx":
        prefix, name = f"ctrl({len(inst.qubits) - 1}) @ ", "x"
    elif name in _MODIFIED_3:
        prefix, name = _MODIFIED_3[name].rsplit(" ", 1)[0] + " ", _MODIFIED_3[name].rsplit(" ", 1)[1]
    elif name in _DEFS_3:
        needed[name] = _DEFS_3[name]
    elif not spec.qasm3 and name not in ("u1", "u2", "u3", "id", "u"):
        raise QasmError(f"{where}: no OpenQASM 3 form for {name!r}")
    if inst.inverted:
        prefix = "inv @ " + prefix
    if inst.ctrl:
        prefix = (f"ctrl({inst.ctrl}) @ " if inst.ctrl > 1 else "ctrl @ ") + prefix
    if name == "u":
        name = "U"
    return f"{cond}{prefix}{name}{args} {qs};"


def _custom_gates(circuit: Circuit, version: int, qnames: list[str],
                  needed: dict[str, str]) -> tuple[dict[int, tuple[int, str]], list[str]]:
    """Calls of custom gates that can be written as calls (``start -> (end, text)``) and their definitions."""
    if not circuit.gate_calls or not circuit.gate_definitions:
        return {}, []
    taken = {name for name, _ in circuit.qregs} | {name for name, _ in circuit.cregs} | \
        {p.name.split("[", 1)[0] for p in circuit.parameters}
    library = set(QELIB1 if version == 2 else STDGATES) | set(_DEFS_2) | set(_DEFS_3) | set(_MODIFIED_3)
    texts: dict[str, str] = {}
    for name, (params, qargs, body) in circuit.gate_definitions.items():
        names = [name, *params, *qargs]
        if any(not _identifier(n, version) or n in _RESERVED for n in names) or name in GATES or name in library \
                or name in taken or len(set(names)) != len(names):
            continue
        extra: dict[str, str] = {}
        try:
            lines = [_line(inst, k, version, qargs, [], circuit, extra) for k, inst in enumerate(body)]
        except QasmError:
            continue
        needed.update(extra)
        head = f"gate {name}({', '.join(params)})" if params else f"gate {name}"
        texts[name] = f"{head} {', '.join(qargs)} {{ {' '.join(lines)} }}".replace("{  }", "{ }")
    insts = circuit.instructions
    calls: dict[int, tuple[int, str]] = {}
    used: set[str] = set()
    last = 0
    for start, end, name, angles, qubits in circuit.gate_calls:
        if name not in texts or not last <= start < end <= len(insts):
            continue
        params, _qargs, body = circuit.gate_definitions[name]
        if not _expands_to(body, dict(zip(params, angles, strict=True)), qubits, insts[start:end]):
            continue
        try:
            args = f"({', '.join(_angle(a) for a in angles)})" if angles else ""
        except QasmError:
            continue
        calls[start] = (end, f"{name}{args} {', '.join(qnames[q] for q in qubits)};")
        used.add(name)
        last = end
    return calls, [text for name, text in texts.items() if name in used]


def _expands_to(body: list[Instruction], values: dict[str, object], qubits: tuple[int, ...],
                insts: list[Instruction]) -> bool:
    """True if ``body`` with ``values`` on ``qubits`` gives ``insts`` (angles to 1e-12, one shared condition)."""
    if len(body) != len(insts) or len({i.condition for i in insts}) > 1:
        return False
    scratch = Circuit(len(qubits))
    for inst in body:
        angles = [_substitute(p, values) for p in inst.params]
        scratch.append(inst.replace(params=tuple(angles)))
    for ours, theirs in zip(scratch, insts, strict=True):
        if (ours.name, tuple(qubits[q] for q in ours.qubits), ours.ctrl, ours.inverted) != \
                (theirs.name, theirs.qubits, theirs.ctrl, theirs.inverted) or theirs.clbits or \
                len(ours.params) != len(theirs.params):
            return False
        for a, b in zip(ours.params, theirs.params, strict=True):
            if isinstance(a, ParameterExpression) or isinstance(b, ParameterExpression):
                if not isinstance(a, ParameterExpression) or not isinstance(b, ParameterExpression) or \
                        a.terms.keys() != b.terms.keys() or not math.isclose(a.const, b.const, abs_tol=1e-12) or \
                        any(not math.isclose(c, b.terms[p], rel_tol=1e-12) for p, c in a.terms.items()):
                    return False
            elif not math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12):
                return False
    return True


def _substitute(angle: object, values: dict[str, object]) -> object:
    if not isinstance(angle, ParameterExpression):
        return angle
    out: object = angle.const
    for p, c in angle.terms.items():
        out = out + c * values[p.name]  # type: ignore[operator]
    return out
