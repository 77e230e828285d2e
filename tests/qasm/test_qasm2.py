"""OpenQASM 2.0 reading: qelib1.inc, registers, broadcasting, custom gates, includes, conditions."""

import math
from pathlib import Path

import numpy as np
import pytest

from qtandem import Circuit, QasmError
from qtandem.circuit.instruction import Instruction
from qtandem.qasm import dump, dumps, load, loads
from qtandem.qasm.stdlib import QELIB1

V2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
ROOT = Path(__file__).resolve().parents[2]

# one call of every gate of the extended qelib1.inc Qiskit ships (plus the U and CX built-ins)
EVERY_QELIB1_GATE = V2 + """qreg q[5];
u3(0.1,0.2,0.3) q[0]; u2(0.4,0.5) q[1]; u1(0.6) q[2]; cx q[0],q[1]; id q[3]; u0(1) q[4]; u(1,2,3) q[0];
p(0.3) q[1]; x q[0]; y q[1]; z q[2]; h q[3]; s q[4]; sdg q[0]; t q[1]; tdg q[2]; sx q[3]; sxdg q[4];
rx(0.1) q[0]; ry(0.2) q[1]; rz(0.3) q[2]; cz q[0],q[1]; cy q[1],q[2]; ch q[2],q[3]; swap q[3],q[4];
ccx q[0],q[1],q[2]; cswap q[2],q[3],q[4]; crx(0.5) q[0],q[4]; cry(0.6) q[1],q[3]; crz(0.7) q[2],q[0];
cu1(0.8) q[3],q[1]; cp(0.9) q[4],q[2]; cu3(0.1,0.2,0.3) q[0],q[3]; csx q[1],q[4];
cu(0.1,0.2,0.3,0.4) q[2],q[1]; rxx(0.5) q[0],q[2]; rzz(0.6) q[1],q[3]; rccx q[0],q[1],q[2];
rc3x q[0],q[1],q[2],q[3]; c3x q[0],q[1],q[2],q[3]; c3sqrtx q[1],q[2],q[3],q[4]; c4x q[0],q[1],q[2],q[3],q[4];
U(0.1,0.2,0.3) q[0]; CX q[1],q[0];
"""


def test_every_qelib1_gate_maps_to_the_registry():
    c = loads(EVERY_QELIB1_GATE)
    assert c.n_qubits == 5 and len(c) == 44
    ops = c.count_ops()
    assert ops["cp"] == 2 and ops["mcx"] == 2 and ops["id"] == 2 and ops["u"] == 2 and ops["cx"] == 2
    assert "cu1" not in ops and "c3x" not in ops and "u0" not in ops
    names = {i.name for i in c}
    for gate, (reg, *_rest) in QELIB1.items():
        assert reg in names, gate
    assert [i.qubits for i in c if i.name == "mcx"] == [(0, 1, 2, 3), (0, 1, 2, 3, 4)]


def test_several_registers_are_flattened_in_declaration_order():
    c = loads(V2 + "qreg a[2];\nqreg b[2];\ncreg c[2];\ncreg d[2];\nh a;\ncx a, b;\nmeasure a -> c;\n"
                   "measure b[1] -> d[0];\nbarrier a, b[0];\nreset b;\n")
    assert c.qregs == [("a", 2), ("b", 2)] and c.cregs == [("c", 2), ("d", 2)]
    assert [i.qubits for i in c if i.name == "h"] == [(0,), (1,)]
    assert [i.qubits for i in c if i.name == "cx"] == [(0, 2), (1, 3)]
    assert [(i.qubits, i.clbits) for i in c if i.name == "measure"] == [((0,), (0,)), ((1,), (1,)), ((3,), (2,))]
    assert [i.qubits for i in c if i.name == "barrier"] == [(0, 1, 2)]
    assert [i.qubits for i in c if i.name == "reset"] == [(2,), (3,)]
    assert loads(dumps(c)) == c and loads(dumps(c)).qregs == c.qregs


def test_broadcast_mixes_single_qubits_and_registers():
    c = loads(V2 + "qreg a[1];\nqreg b[3];\ncx a[0], b;\nccx a, b[0], b[1];\nbarrier;\n")
    assert [i.qubits for i in c][:4] == [(0, 1), (0, 2), (0, 3), (0, 1, 2)]
    assert c[-1].qubits == (0, 1, 2, 3)


def test_custom_gates_nested_with_parameters():
    c = loads(V2 + "gate rot(a, b) q { rz(a) q; ry(b/2) q; }\ngate two(t) x, y { rot(t, 2*t) x; cx x, y; "
                   "rot(-t, pi) y; }\nqreg q[2];\ntwo(0.3) q[1], q[0];\n")
    assert c == Circuit(2).rz(0.3, 1).ry(0.3, 1).cx(1, 0).rz(-0.3, 0).ry(math.pi / 2, 0)


def test_custom_gate_broadcast_and_barrier_in_body():
    c = loads(V2 + "gate bell a, b { h a; barrier a, b; cx a, b; }\nqreg p[2];\nqreg r[2];\nbell p, r;\n")
    assert [(i.name, i.qubits) for i in c] == [("h", (0,)), ("cx", (0, 2)), ("h", (1,)), ("cx", (1, 3))]


def test_registry_named_definitions_are_recognised():
    c = loads(V2 + "gate ccz a, b, c { h c; ccx a, b, c; h c; }\nqreg q[3];\nccz q[0], q[1], q[2];\n")
    assert c.count_ops() == {"ccz": 1}
    wrong = loads(V2 + "gate ccz a, b, c { ccx a, b, c; }\nqreg q[3];\nccz q[0], q[1], q[2];\n")
    assert wrong.count_ops() == {"ccx": 1}  # not the real ccz: expanded as written


def test_if_condition_on_a_register():
    c = loads(V2 + "qreg q[2];\ncreg c[2];\ncreg d[1];\nmeasure q[0] -> c[0];\nif (c == 1) x q[1];\n"
                   "if(d==1) measure q[1] -> d[0];\nif (c==3) reset q[0];\n")
    assert c[1].condition == ((0, 1), 1) and c[1].name == "x"
    assert c[2].condition == ((2,), 1) and c[2].name == "measure"
    assert c[3].condition == ((0, 1), 3) and c[3].name == "reset"
    text = dumps(c)
    assert "if(c==1) x q[1];" in text and "if(d==1) measure q[1] -> d[0];" in text
    assert loads(text) == c


def test_measure_broadcast_and_single():
    c = loads(V2 + "qreg q[3];\ncreg c[3];\nmeasure q -> c;\nmeasure q[2] -> c[0];\n")
    assert [(i.qubits, i.clbits) for i in c] == [((0,), (0,)), ((1,), (1,)), ((2,), (2,)), ((2,), (0,))]


def test_comments_whitespace_and_expressions():
    c = loads("// header comment\nOPENQASM 2.0; /* block\ncomment */ include \"qelib1.inc\";\nqreg q[1];\n"
              "rz(-pi/2 + 2*0.25e1 - (3-1)^0 * 0) q[0];\nrx(-(pi)) q[0];\nry(sin(pi/2)+cos(0)+sqrt(4)+exp(0)+ln(1)"
              "+tan(0)) q[0];\n".replace("^0 * 0", " * 0"))
    assert c[0].params[0] == pytest.approx(-math.pi / 2 + 5)
    assert c[1].params[0] == -math.pi
    assert c[2].params[0] == pytest.approx(5.0)


def test_u0_is_identity_and_cu1_is_cp():
    c = loads(V2 + "qreg q[2];\nu0(5) q[0];\ncu1(0.25) q[0], q[1];\n")
    assert c.instructions == [Instruction("id", (0,)), Instruction("cp", (0, 1), (0.25,))]


def test_includes_relative_to_the_including_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "sub").mkdir()
    (tmp_path / "lib" / "mygates.inc").write_text('include "sub/inner.inc";\ngate bell a, b { h a; cx a, b; }\n')
    (tmp_path / "lib" / "sub" / "inner.inc").write_text('include "deeper.inc";\ngate nop a { id a; }\n')
    (tmp_path / "lib" / "sub" / "deeper.inc").write_text("gate flip a { x a; }\n")
    main = tmp_path / "lib" / "main.qasm"
    main.write_text(V2 + 'include "mygates.inc";\nqreg q[2];\nbell q[0], q[1];\nnop q[1];\nflip q[0];\n')
    assert load(main).count_ops() == {"h": 1, "cx": 1, "id": 1, "x": 1}
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "extra.inc").write_text("gate flip2 a { x a; x a; }\n")
    text = V2 + 'include "extra.inc";\nqreg q[1];\nflip2 q[0];\n'
    assert len(loads(text, include_dirs=[other])) == 2


def test_qelib1_is_built_in_and_never_read_from_disk(tmp_path, monkeypatch):
    (tmp_path / "qelib1.inc").write_text("this is not OpenQASM")
    monkeypatch.chdir(tmp_path)
    assert len(loads(V2 + "qreg q[1];\nh q[0];\n")) == 1


def test_bytes_and_file_round_trip(tmp_path):
    c = loads((V2 + "qreg q[2];\nh q[0];\ncx q[0], q[1];\n").encode())
    dump(c, tmp_path / "bell.qasm")
    again = load(tmp_path / "bell.qasm")
    assert again == c and again.name == "bell"
    assert (tmp_path / "bell.qasm").read_text().startswith("OPENQASM 2.0;")


def test_dump_picks_the_version(tmp_path):
    plain = Circuit(5).h(0).mcx([0, 1, 2, 3], 4)
    dump(plain, tmp_path / "a.qasm")
    assert (tmp_path / "a.qasm").read_text().startswith("OPENQASM 2.0;")
    dump(plain, tmp_path / "a.qasm3")
    assert (tmp_path / "a.qasm3").read_text().startswith("OPENQASM 3.0;")
    wide = Circuit(6).mcx([0, 1, 2, 3, 4], 5)
    dump(wide, tmp_path / "w.qasm")
    assert (tmp_path / "w.qasm").read_text().startswith("OPENQASM 3.0;")
    assert load(tmp_path / "w.qasm") == wide


def test_circuit_from_and_to_qasm():
    c = Circuit.from_qasm(V2 + "qreg q[1];\nt q[0];\n")
    assert c == Circuit(1).t(0)
    assert Circuit.from_qasm(c.to_qasm()) == c
    assert Circuit.from_qasm(c.to_qasm(3)) == c


def test_examples_and_shipped_files_load_and_round_trip():
    files = sorted((ROOT / "examples" / "qasm").glob("*.qasm")) + sorted(
        (ROOT / "src" / "qtandem" / "data" / "qasm").glob("*.qasm"))
    assert len(files) >= 8
    for f in files:
        c = load(f)
        for version in (2, 3):
            try:
                text = dumps(c, version=version)
            except QasmError:
                assert version == 2
                continue
            assert loads(text) == c, (f, version)


def test_written_definitions_keep_the_unitary():
    c = Circuit(3).iswap(0, 1).ryy(0.7, 1, 2).append("ccz", [0, 1, 2]).rxx(0.2, 0, 2)
    again = loads(dumps(c, version=2))
    assert again == c
    np.testing.assert_allclose(again.to_matrix().numpy(), c.to_matrix().numpy(), atol=1e-10)
