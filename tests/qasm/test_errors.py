import time

import pytest

from qtandem import QasmError
from qtandem.qasm import load, loads

V2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
V3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        (V2 + "qreg q[2];\nhh q[0];\n", "unknown gate 'hh'; did you mean 'h'", 4, 1),
        ("OPENQASM 2.0;\nqreg q[2];\nh q[0];\n", 'add include "qelib1.inc"', 3, 1),
        (V2 + "qreg q[2];\ncx q[0];\n", "gate 'cx' acts on 2 qubit(s), got 1", 4, 1),
        (V2 + "qreg q[2];\nrx q[0];\n", "gate 'rx' takes 1 parameter(s), got 0", 4, 1),
        (V2 + "qreg q[3];\nh q[5];\n", "index 5 is out of range for register 'q' of size 3", 4, 5),
        (V2 + "qreg q[2];\nh r[0];\n", "undeclared qubit register 'r'", 4, 3),
        (V2 + "qreg q[2];\nqreg q[3];\n", "'q' is already declared", 4, 6),
        (V2 + "qreg q[2];\nh q[0]\nx q[1];\n", "missing ';'", 5, 1),
        (V2 + "qreg q[2];\nh q[0]; @\n", "unexpected '@'", 4, 9),
        (V2 + "qreg q[2];\n/* never closed\nh q[0];\n", "unterminated /* comment", 4, 1),
        (V2 + 'include "nowhere.inc";\n', "include file 'nowhere.inc' not found", 3, 9),
        ("OPENQASM 4.0;\n", "unsupported OpenQASM version '4.0'", 1, 10),
        (V2 + "opaque magic a;\nqreg q[1];\n", "opaque gate 'magic' has no definition", 3, 1),
        (V2 + "qreg q[2];\ncreg c[1];\nmeasure q -> c;\n", "measure: 2 qubit(s) into 1 bit(s)", 5, 1),
        (V2 + "qreg q[2];\ncx q[0], q[0];\n", "same qubit twice", 4, 1),
        (V2 + "qreg q[2];\nrx(1/0) q[0];\n", "division by zero", 4, 5),
        (V2 + "qreg q[2];\nrx(foo) q[0];\n", "unknown identifier 'foo'", 4, 4),
        (V3 + "qubit[2] q;\nwhile (true) { h q[0]; }\n", "construct 'while' is not supported", 4, 1),
        (V3 + "input float[64] a;\ninput float[64] b;\nqubit q;\nrx(a * b) q;\n", "product of two parameters", 6, 6),
        (V3 + "input float[64] a;\nqubit q;\nrx(sin(a)) q;\n", "not linear", 5, 4),
        (V3 + "qubit[3] q;\npow(0.5) @ x q[0];\n", "pow needs an integer", 4, 1),
        (V3 + "qubit[2] q;\nctrl(3) @ x q[0], q[1];\n", "needs 3 control qubit(s)", 4, 1),
        ("OPENQASM 2.0;\nqreg q[1];\nctrl @ U(0, 0, 0) q[0];\n", "needs OpenQASM 3", 3, 1),
        (V2 + "qreg q[1000001];\n", "exceeds qtandem's limit of 100000 qubits", 3, 6),
        ("", "empty program", 1, 1),
        ("   \n// only a comment\n", "empty program", 3, 1),
        (V2 + "gate g a { h a; }\ngate g a { x a; }\n", "gate 'g' is already defined", 4, 6),
        (V2 + "gate h a { x a; }\n", "gate 'h' is already defined (by qelib1.inc)", 3, 6),
    ],
)
def test_errors_have_message_line_and_column(text, message, line, col):
    with pytest.raises(QasmError) as info:
        loads(text, filename="prog.qasm")
    err = info.value
    assert message.replace("\\", "") in str(err)
    assert (err.line, err.column) == (line, col), str(err)
    assert str(err).startswith(f"prog.qasm:{line}:{col}: ")
    assert "^" in err.excerpt or err.excerpt == ""


def test_include_cycle_is_reported(tmp_path):
    (tmp_path / "a.inc").write_text('include "b.inc";\n')
    (tmp_path / "b.inc").write_text('include "a.inc";\n')
    main = tmp_path / "main.qasm"
    main.write_text('OPENQASM 2.0;\ninclude "a.inc";\n')
    with pytest.raises(QasmError, match="include cycle: .*a.inc -> .*b.inc -> .*a.inc"):
        load(main)


def test_binary_garbage_and_missing_file(tmp_path):
    path = tmp_path / "garbage.qasm"
    path.write_bytes(b"OPENQASM 2.0;\n\xff\xfe\x00\x13garbage")
    with pytest.raises(QasmError, match="not UTF-8 text") as info:
        load(path)
    assert info.value.line == 2
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.qasm")


def test_pathological_inputs_fail_fast():
    t0 = time.perf_counter()
    with pytest.raises(QasmError, match="nested more than"):
        loads(V2 + "qreg q[1];\nrx(" + "(" * 100_000 + "1" + ")" * 100_000 + ") q[0];\n")
    with pytest.raises(QasmError, match="limit of 100000 qubits"):
        loads(V2 + "qreg q[1000000];\nh q;\n")
    with pytest.raises(QasmError, match="exceeds the limit of 2000000"):
        loads(V3 + "qubit[2] q;\nfor int i in [0:3000000] { h q[0]; }\n")
    assert time.perf_counter() - t0 < 10


@pytest.mark.slow
def test_instruction_cap():
    with pytest.raises(QasmError, match="more than 2000000 instructions"):
        loads(V3 + "qubit[2] q;\nfor int i in [0:1999999] { h q[0]; h q[1]; }\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("qubit q;\n" + "{" * 5000 + "h q;" + "}" * 5000, "blocks nested more than"),
        ("qubit q;\n" + "for int i in [0:1] {" * 500 + "h q;" + "}" * 500, "loops nested more than"),
        ("qubit q;\n" + "pow(1000) @ " * 5 + "h q;", "expands to more than"),
        ("qubit q;\n" + "".join(f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, 40)).replace(
            "g0 a; g0 a;", "h a; h a;") + "g39 q;", "more than"),
        ("qubit q;\nrx(1" + "+1" * 100_000 + ") q;", "nested more than 200"),
        ("qubit q;\nrx(10**4000) q;", "integer power too large"),
        ("qubit q;\nrx(" + "9" * 100_000 + ") q;", "too long"),
        ("qubit q;\nrx(1e999) q;", "must be finite"),
        ("qubit[3] q;\nh q[0:1000000000];", "out of range"),
        ("gate g a { g a; }\nqubit q;\ng q;", "nested more than 64 deep"),
    ],
)
def test_adversarial_programs_fail_fast(body, message):
    t0 = time.perf_counter()
    with pytest.raises(QasmError, match=message):
        loads(V3 + body)
    assert time.perf_counter() - t0 < 10
