"""Every reader error is a QasmError with a message, file, line, column and caret excerpt."""

import pytest

import qtandem.qasm
import qtandem.qasm.lexer
from qtandem import Circuit, Parameter, QasmError
from qtandem.qasm import MAX_INSTRUCTIONS, dumps, load, loads

V2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
V3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        # names
        (V2 + "qreg q[2];\nhh q[0];\n", "unknown gate 'hh'; did you mean 'h'", 4, 1),
        ("OPENQASM 2.0;\nqreg q[2];\nh q[0];\n", 'unknown gate \'h\'; add include "qelib1.inc"', 3, 1),
        ("OPENQASM 3.0;\nqubit q;\nh q;\n", 'add include "stdgates.inc"', 3, 1),
        (V2 + "qreg q[2];\nh r[0];\n", "undeclared qubit register 'r'", 4, 3),
        (V2 + "qreg qq[2];\nh q[0];\n", "undeclared qubit register 'q'; did you mean 'qq'?", 4, 3),
        (V2 + "qreg q[1];\ncreg c[1];\nmeasure q[0] -> d[0];\n", "undeclared classical register 'd'", 5, 17),
        (V2 + "qreg q[1];\ncreg c[1];\nh c[0];\n", "'c' is a classical register, not qubits", 5, 3),
        (V2 + "qreg q[2];\nqreg q[3];\n", "'q' is already declared", 4, 6),
        (V3 + "qubit q;\nbit q;\n", "'q' is already declared", 4, 5),
        (V2 + "qreg q[2];\nrx(foo) q[0];\n", "unknown identifier 'foo'", 4, 4),
        (V2 + "gate g a { h a; }\ngate g a { x a; }\n", "gate 'g' is already defined", 4, 6),
        (V2 + "gate h a { x a; }\n", "gate 'h' is already defined (by qelib1.inc)", 3, 6),
        (V2 + "gate g a { hh a; }\n", "unknown gate 'hh'; did you mean 'h'", 3, 12),
        (V2 + "gate g a { h b; }\n", "'b' is not a qubit argument of gate 'g'", 3, 14),
        (V2 + "gate g(t) a { rx(s) a; }\n", "unknown identifier 's' in the body of gate 'g'", 3, 18),
        (V2 + "gate g a { g a; }\n", "gate 'g' calls itself", 3, 12),
        # arity
        (V2 + "qreg q[2];\ncx q[0];\n", "gate 'cx' acts on 2 qubit(s), got 1", 4, 1),
        (V2 + "qreg q[2];\nrx q[0];\n", "gate 'rx' takes 1 parameter(s), got 0", 4, 1),
        (V2 + "qreg q[2];\nh(0.1) q[0];\n", "gate 'h' takes 0 parameter(s), got 1", 4, 1),
        (V2 + "gate g(a) x, y { rx(a) x; }\nqreg q[2];\ng(1) q[0];\n", "gate 'g' acts on 2 qubit(s), got 1", 5, 1),
        (V2 + "gate g(a) x { rx(a) x; }\nqreg q[2];\ng q[0];\n", "gate 'g' takes 1 parameter(s), got 0", 5, 1),
        (V2 + "qreg q[2];\ncx q[0], q[0];\n", "same qubit twice", 4, 1),
        (V2 + "qreg a[2];\nqreg b[3];\ncx a, b;\n", "registers of different sizes [2, 3]", 5, 1),
        (V2 + "qreg q[2];\ncreg c[1];\nmeasure q -> c;\n", "measure: 2 qubit(s) into 1 bit(s)", 5, 1),
        # indices
        (V2 + "qreg q[3];\nh q[5];\n", "index 5 is out of range for register 'q' of size 3", 4, 5),
        (V2 + "qreg q[3];\nh q[-1];\n", "index -1 is out of range for register 'q' of size 3", 4, 5),
        (V3 + "qubit[3] q;\nh q[0.5];\n", "index must be an integer constant, got 0.5", 4, 5),
        (V3 + "qubit q;\nh q[0];\n", "'q' is a single qubit/bit and cannot be indexed", 4, 4),
        (V2 + "qreg q[0];\n", "register 'q' must have a positive size", 3, 8),
        # syntax
        (V2 + "qreg q[2];\nh q[0]\nx q[1];\n", "missing ';' after ']' (got 'x')", 5, 1),
        (V2 + "qreg q[2]\n", "missing ';' after ']' (got end of input)", 4, 1),
        (V2 + "qreg q[2];\nh q[0] x q[1];\n", "missing ';' after ']' (got 'x')", 4, 8),
        (V2 + "qreg q[2];\nh q[0]; @\n", "unexpected '@'", 4, 9),
        (V2 + "qreg q[2];\n}\n", "unexpected '}'", 4, 1),
        (V2 + "qreg q[2];\nrx(1 +) q[0];\n", "expected an expression, got ')'", 4, 7),
        (V2 + "qreg q[2];\nrx((1) q[0];\n", "expected ',' or ')', got 'q'", 4, 8),
        (V2 + "qreg q[2];\nrx(sin(1 q[0]);\n", "expected ')' to close the '(' at 4:4, got 'q'", 4, 10),
        (V2 + "qreg q[2];\n/* never closed\nh q[0];\n", "unterminated /* comment", 4, 1),
        ('OPENQASM 2.0;\ninclude "qelib1.inc;\n', "unterminated string", 2, 9),
        (V2 + "qreg q[2];\nh q[0]; # comment\n", "unexpected '#'", 4, 9),
        (V2 + "gate ħ a { h a; }\n", "identifier 'ħ' is not ASCII: OpenQASM 2 identifiers are ASCII", 3, 6),
        (V2 + "qreg q[1];\nrx(π) q[0];\n", "identifier 'π' is not ASCII", 4, 4),
        (V2 + "qreg q[1];\nh $0;\n", "physical qubit $0 needs OpenQASM 3", 4, 3),
        (V3 + "qubit θ₁;\n", "unexpected character '₁' in identifier 'θ₁'", 3, 8),
        (V2 + "qreg q[2];\nrx(1/0) q[0];\n", "division by zero", 4, 5),
        (V2 + "qreg q[2];\nrx(sqrt(-1)) q[0];\n", "sqrt(): math domain error", 4, 4),
        (V2 + "qreg q[2];\nrx(1e999) q[0];\n", "gate angle must be finite", 4, 1),
        (V2 + "qreg q[1];\nrx(2im) q[0];\n", "imaginary numbers are not supported", 4, 4),
        # header
        ("OPENQASM 4.0;\n", "unsupported OpenQASM version '4.0'", 1, 10),
        ("OPENQASM;\n", "unsupported OpenQASM version ';'", 1, 9),
        ("OPENQASM 2.0\nqreg q[1];\n", "missing ';' after '2.0' (got 'qreg')", 2, 1),
        (V2 + "OPENQASM 2.0;\n", "must be the first statement", 3, 1),
        ("", "empty program", 1, 1),
        ("   \n// only a comment\n", "empty program", 3, 1),
        # includes
        (V2 + 'include "nowhere.inc";\n', "include file 'nowhere.inc' not found (looked in: ", 3, 9),
        # unsupported constructs
        (V2 + "opaque magic a;\nqreg q[1];\n", "opaque gate 'magic' has no definition: qtandem cannot simulate it",
         3, 1),
        ("OPENQASM 2.0;\nqreg q[1];\nctrl @ U(0, 0, 0) q[0];\n", "gate modifier 'ctrl' needs OpenQASM 3", 3, 1),
        (V3 + "qubit[2] q;\nwhile (true) { h q[0]; }\n", "while loop still running after 100000 iterations", 4, 1),
        (V3 + "qubit q;\nbit c;\nwhile (c == 0) { c = measure q; }\n", "not supported: while loop with a run-time "
         "condition (it reads the measured bits 'c'", 5, 8),
        (V3 + "extern f(int) -> int;\n", "not supported: calibration grammar ('extern')", 3, 1),
        ("OPENQASM 3.0;\ndefcalgrammar \"openpulse\";\n", "not supported: calibration grammar ('defcalgrammar')",
         2, 1),
        (V3 + "defcal x $0 { }\n", "not supported: calibration grammar ('defcal')", 3, 1),
        (V3 + "cal { }\n", "not supported: calibration grammar ('cal')", 3, 1),
        (V3 + "qubit q;\nstretch s;\n", "not supported: 'stretch' (a stretch is a duration that a scheduler", 4, 1),
        (V3 + "qubit q;\ndelay[100dt] q;\n", "delay unit 'dt' (a device's sample time) is not known", 4, 10),
        (V3 + "qubit q;\ndelay[durationof({h q;})] q;\n", "not supported: durationof()", 4, 7),
        (V3 + "qubit q;\nbox[100ns] { h q; }\n", "not supported: 'h' inside box[100.0ns]", 4, 14),
        (V3 + "qubit[2] q;\nbit[2] c;\nc = measure q;\nif (c == 1) { x q[0]; } else { h q[0]; }\n",
         "not supported: 'else' after a run-time condition on 2 bits", 6, 25),
        (V3 + "qubit q;\nbit c;\nint i = 1;\nc = measure q;\ni = c;\n", "not supported: storing measured bits "
         "in the classical variable 'i'", 7, 3),
        (V3 + "qubit q;\nbit c;\nint i = 1;\nc = measure q;\nif (c) i = 2;\n", "not supported: assignment to 'i' "
         "under a run-time condition", 7, 8),
        (V3 + "bit c;\nc = 1;\n", "not supported: bit register 'c' ends the program holding a value set by "
         "assignment", 4, 1),
        (V3 + "input int n;\n", "input 'n' of type int needs a value while reading", 3, 7),
        (V3 + "qubit q;\nbit c;\nc = measure q;\nint k = bool(c);\n", "storing measured bits in the classical "
         "variable 'k'", 6, 9),
        (V3 + "qubit q;\nangle[4] a;\nmeasure q -> a[0];\n", "not supported: measuring into the classical "
         "variable 'a'", 5, 14),
        (V3 + "qubit q;\nbit c;\nc = measure q;\nrz(c) q;\n", "not supported: a gate angle on a run-time value", 6, 1),
        (V3 + "qubit q;\nbreak;\n", "'break' outside a loop", 4, 1),
        (V3 + "qubit q;\nreturn;\n", "'return' outside a subroutine", 4, 1),
        (V3 + "qubit q;\nbit c;\nc = measure q;\nfor int i in [0:2] { if (c) break; }\n",
         "not supported: 'break' under a run-time condition", 6, 29),
        (V3 + "qubit[2] q;\nbit[2] c;\nc = measure q;\nswitch (c) { case 0 { x q; } default { h q; } }\n",
         "not supported: 'default' in a switch on measured bits", 6, 30),
        (V3 + "qubit q;\nswitch (1) { case 0, 0 { x q; } }\n", "case value 0 appears twice", 4, 22),
        (V3 + "def f(qubit a) { f(a); }\nqubit q;\nf(q);\n", "subroutine calls nested more than 64 deep", 3, 18),
        (V3 + "def f(qubit a) { h a; }\nqubit[2] q;\nf(q);\n", "argument 'a' takes 1 qubit(s), got 2", 5, 3),
        (V3 + "qubit[2] q;\nfor int i in [0:1] { qubit r; }\n", "'qubit' is allowed only at the global scope", 4, 22),
        (V3 + "qubit[2] q;\nh $0;\n", "physical qubit $0 in a program that declares qubits", 4, 3),
        (V3 + "h $0;\nqubit[2] q;\n", "a program that uses physical qubits ($0, $1, ...) cannot declare qubits", 4, 10),
        (V3 + "qubit[2] q;\nlet a = q[0] ++ q[0];\n", "alias 'a' repeats a qubit", 4, 1),
        (V3 + "qubit[2] q;\nint[8] x = int[8](q);\n", "unknown identifier 'q'", 4, 19),
        # parameters and modifiers
        (V3 + "input float[64] a;\ninput float[64] b;\nqubit q;\nrx(a * b) q;\n", "product of two parameters", 6, 6),
        (V3 + "input float[64] a;\nqubit q;\nrx(sin(a)) q;\n", "sin() of an input parameter is not linear", 5, 4),
        (V3 + "input float[64] a;\nqubit q;\nrx(1 / a) q;\n", "division by a parameter is not linear", 5, 6),
        (V3 + "input float[64] a;\nqubit q;\nrx(a ** 2) q;\n", "operator '**' on a parameter is not linear", 5, 6),
        (V3 + "input float[64] a;\nqubit[2] q;\nh q[a];\n", "index must be an integer constant, got input parameter "
         "'a'", 5, 5),
        (V3 + "qubit[3] q;\npow(0.5) @ x q[0];\n", "pow needs an integer constant, got 0.5", 4, 1),
        (V3 + "qubit[2] q;\nctrl(3) @ x q[0], q[1];\n", "ctrl(3) needs 3 control qubit(s)", 4, 1),
        (V3 + "qubit[2] q;\nctrl(0) @ x q[0], q[1];\n", "ctrl(0) needs at least one control", 4, 1),
        (V3 + "qubit[2] q;\ninv(2) @ x q[0];\n", "inv takes no argument", 4, 4),
        (V3 + "qubit[2] q;\npow @ x q[0];\n", "pow needs an exponent", 4, 1),
        (V3 + "qubit[2] q;\nctrl @ x q[0], q[0];\n", "repeated qubit", 4, 8),
        (V3 + "qubit q;\nbit[2] c;\nif (c) x q;\n", "the condition reads 2 measured bits of 'c': compare them", 5, 5),
        (V3 + "qubit q;\nbit[2] c;\nif (c == 4) x q;\n", "condition value 4 does not fit in 2 bit(s)", 5, 7),
        (V3 + "qubit q;\nfor int i in [0:1] { i = 2; }\n", "assignment to loop variable 'i'", 4, 22),
        (V3 + "const int n = 2;\nfor int n in [0:1] { }\n", "loop variable 'n' shadows a declaration", 4, 9),
        # limits
        (V2 + "qreg q[1000001];\n", "exceeds qtandem's limit of 100000 qubits", 3, 6),
        (V2 + "qreg q[1];\nrx(" + "(" * 600 + "1" + ")" * 600 + ") q[0];\n", "nested more than 500 levels deep",
         4, 504),
    ],
)
def test_errors_have_message_line_and_column(text, message, line, col):
    with pytest.raises(QasmError) as info:
        loads(text, filename="prog.qasm")
    err = info.value
    assert message in err.message, str(err)
    assert (err.filename, err.line, err.column) == ("prog.qasm", line, col), str(err)
    assert str(err).startswith(f"prog.qasm:{line}:{col}: {err.message}")
    caret_line = err.excerpt.splitlines()[-1]
    assert caret_line == " " * (4 + col - 1) + "^", err.excerpt


def test_include_not_found_names_the_paths_tried(tmp_path):
    main = tmp_path / "main.qasm"
    main.write_text(V2 + 'include "lib/gates.inc";\n')
    with pytest.raises(QasmError) as info:
        load(main, include_dirs=[tmp_path / "extra"])
    err = info.value
    assert (err.line, err.column) == (3, 9)
    assert "include file 'lib/gates.inc' not found" in err.message
    assert str(tmp_path / "lib" / "gates.inc") in err.message
    assert str(tmp_path / "extra" / "lib" / "gates.inc") in err.message


def test_include_cycle_is_reported_with_the_chain(tmp_path):
    (tmp_path / "a.inc").write_text('include "b.inc";\n')
    (tmp_path / "b.inc").write_text('// b\ninclude "a.inc";\n')
    main = tmp_path / "main.qasm"
    main.write_text('OPENQASM 2.0;\ninclude "a.inc";\n')
    with pytest.raises(QasmError, match=r"include cycle: .*a\.inc -> .*b\.inc -> .*a\.inc") as info:
        load(main)
    err = info.value
    assert err.filename == str(tmp_path / "b.inc") and (err.line, err.column) == (2, 9)
    (tmp_path / "self.qasm").write_text('OPENQASM 2.0;\ninclude "self.qasm";\n')
    with pytest.raises(QasmError, match=r"include cycle: .*self\.qasm -> .*self\.qasm"):
        load(tmp_path / "self.qasm")


def test_errors_inside_an_include_name_that_file(tmp_path):
    (tmp_path / "bad.inc").write_text("gate g a {\n  hh a;\n}\n")
    main = tmp_path / "main.qasm"
    main.write_text(V2 + 'include "bad.inc";\n')
    with pytest.raises(QasmError) as info:
        load(main)
    assert (info.value.filename, info.value.line, info.value.column) == (str(tmp_path / "bad.inc"), 2, 3)


def test_binary_garbage_empty_file_and_missing_file(tmp_path):
    path = tmp_path / "garbage.qasm"
    path.write_bytes(b"OPENQASM 2.0;\n\xff\xfe\x00\x13garbage")
    with pytest.raises(QasmError, match="not UTF-8 text") as info:
        load(path)
    assert (info.value.line, info.value.column) == (2, 1)
    with pytest.raises(QasmError, match="NUL byte") as info:
        loads("OPENQASM 2.0;\nqreg\x00 q[1];")
    assert (info.value.line, info.value.column) == (2, 5)
    (tmp_path / "empty.qasm").write_bytes(b"")
    with pytest.raises(QasmError, match="empty program"):
        load(tmp_path / "empty.qasm")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.qasm")


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(qtandem.qasm, "MAX_SOURCE_BYTES", 1000)
    monkeypatch.setattr(qtandem.qasm.lexer, "MAX_SOURCE_BYTES", 1000)
    path = tmp_path / "big.qasm"
    path.write_text(V2 + "qreg q[1];\n" + "h q[0];\n" * 200)
    with pytest.raises(QasmError, match="qtandem reads OpenQASM sources up to 1000 bytes"):
        load(path)
    with pytest.raises(QasmError, match="up to 1000 characters"):
        loads(path.read_text())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("qubit q;\n" + "{" * 100_000 + "h q;" + "}" * 100_000, "blocks nested more than 100 deep"),
        ("qubit q;\n" + "".join(f"for int i{k} in [0:0] {{" for k in range(500)) + "h q;" + "}" * 500,
         "blocks nested more than 100 deep"),
        ("qubit q;\n" + "".join(f"for int i{k} in [0:1] {{" for k in range(40)) + "h q;" + "}" * 40,
         "loop expands to too much work"),
        ("qubit q;\n" + "pow(1000) @ " * 5 + "h q;", "too much work"),
        ("qubit q;\n" + "inv @ " * 100_000 + "h q;", "more than 64 modifiers"),
        ("qubit q;\n" + "".join(f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, 40)).replace(
            "g0 a; g0 a;", "h a; h a;") + "g39 q;", "more than"),
        ("qubit q;\nrx(" + "(" * 100_000 + "1" + ")" * 100_000 + ") q;", "nested more than 500 levels deep"),
        ("qubit q;\nrx(" + "-" * 100_000 + "1) q;", "nested more than 500 levels deep"),
        ("qubit q;\nrx(1" + "+1" * 100_000 + ") q;", "longer than 10000 terms"),
        ("qubit q;\nrx(2" + "**2" * 100_000 + ") q;", "longer than 10000 terms"),
        ("qubit q;\nrx(10**4000) q;", "numeric overflow"),
        ("qubit q;\nrx(9**9**9) q;", "numeric overflow"),
        ("qubit q;\nrx(" + "9" * 100_000 + ") q;", "number literal longer than 400 digits"),
        ("qubit q;\nrx(1e999) q;", "must be finite"),
        ("qubit[3] q;\nh q[0:1000000000];", "index 1000000000 is out of range"),
        ("qubit[3] q;\nfor int i in [0:10**12] { }", f"exceeds the limit of {MAX_INSTRUCTIONS}"),
        ("const int n = 10**10;\nqubit[n] q;", "exceeds qtandem's limit of 100000 qubits"),
        ("qubit[50000] a;\nqubit[50001] b;", "exceeds qtandem's limit of 100000 qubits"),
        ("input array[float[64], 1000000000] w;", "input array size must be in 1..100000"),
    ],
)
def test_adversarial_programs_fail_fast(body, message):
    # Each program is refused before any expensive work (a huge power, range or register); speed is not timed
    # here (no timed unit tests), a regression would show as a hang or a MemoryError.
    with pytest.raises(QasmError, match=message) as info:
        loads(V3 + body)
    assert info.value.line is not None and info.value.column is not None


@pytest.mark.slow
def test_instruction_cap():
    with pytest.raises(QasmError, match=f"more than {MAX_INSTRUCTIONS} instructions"):
        loads(V3 + "qubit[2] q;\nfor int i in [0:499999] { h q[0]; h q[1]; h q[0]; }\n")


def test_writer_errors_are_qasm_errors():
    with pytest.raises(QasmError, match="OpenQASM 2 has no free parameters"):
        dumps(Circuit(1).rx(Parameter("a"), 0), version=2)
    with pytest.raises(QasmError, match="gate modifiers .* need OpenQASM 3"):
        dumps(Circuit(3).append("ry", [0, 1, 2], [0.1], ctrl=2), version=2)
    with pytest.raises(QasmError, match="qelib1.inc stops at c4x"):
        dumps(Circuit(6).mcx([0, 1, 2, 3, 4], 5), version=2)
    with pytest.raises(QasmError, match="arbitrary unitary matrix has no OpenQASM form"):
        dumps(Circuit(1).unitary([[0, 1], [1, 0]], 0), version=3)
    with pytest.raises(QasmError, match="not one whole classical register"):
        dumps(Circuit(1, 2).append("x", [0], condition=((0,), 1)), version=2)
    with pytest.raises(QasmError, match="version must be 2 or 3"):
        dumps(Circuit(1), version=4)
    with pytest.raises(QasmError, match="register name 'h'"):
        dumps(Circuit(1, qregs=[("h", 1)]))
    with pytest.raises(QasmError, match="parameter name 'q' clashes"):
        dumps(Circuit(1).rx(Parameter("q"), 0), version=3)
