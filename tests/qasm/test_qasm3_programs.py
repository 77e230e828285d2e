"""OpenQASM 3 that real programs use: casts, comparisons, subroutines, while, switch, let, $n, sizeof, Unicode.

Each snippet follows the language specification's text (openqasm/openqasm, source/language/*.rst).
"""

import math

import numpy as np
import pytest

from qtandem import Circuit, QasmError
from qtandem.qasm import dumps, loads

V3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def ops(circuit):
    return [(i.name, i.qubits, i.clbits, i.condition) for i in circuit]


# -- identifiers ---------------------------------------------------------------------------
def test_unicode_identifiers_in_version_3():
    c = loads(V3 + "gate ħ a { h a; }\nqubit[2] ψ;\nfloat θ_1 = π / 4;\nħ ψ[0];\nrz(θ_1) ψ[1];\n")
    assert [(i.name, i.qubits) for i in c] == [("h", (0,)), ("rz", (1,))]
    assert c[1].params == (math.pi / 4,)
    assert c.qregs == [("ψ", 2)]


def test_version_2_refuses_non_ascii_identifiers_with_line_and_column():
    with pytest.raises(QasmError) as info:
        loads('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ngate ħ a { h a; }\n', filename="u.qasm")
    err = info.value
    assert (err.line, err.column) == (4, 6)
    assert "OpenQASM 2 identifiers are ASCII" in err.message
    assert err.excerpt.splitlines()[-1] == " " * 9 + "^"


def test_version_2_checks_included_files_too(tmp_path):
    (tmp_path / "lib.inc").write_text("gate é a { U(0, 0, 0) a; }\n", encoding="utf-8")
    main = tmp_path / "main.qasm"
    main.write_text('OPENQASM 2.0;\ninclude "lib.inc";\nqreg q[1];\n')
    from qtandem.qasm import load

    with pytest.raises(QasmError, match="not ASCII") as info:
        load(main)
    assert info.value.filename.endswith("lib.inc")
    assert (info.value.line, info.value.column) == (1, 6)


# -- casts and comparisons -----------------------------------------------------------------
def test_casts_of_constants():
    c = loads(V3 + "qubit[4] q;\nuint[4] a = 5;\nfloat f = 2.7;\n"
              "for uint i in [0:3] { if (bool(a[i])) x q[i]; }\n"
              "if (int[8](f) == 2) h q[0];\nif (int(f) != 2) h q[1];\n"
              "if (uint[2](7) == 3 && float(1) / 2 == 0.5) z q[2];\n"
              "if (bit[2](6) == 2) y q[3];\n")
    assert [(i.name, i.qubits) for i in c] == [("x", (0,)), ("x", (2,)), ("h", (0,)), ("z", (2,)), ("y", (3,))]


def test_int_cast_of_bits_is_a_condition_on_the_register():
    c = loads(V3 + "qubit[2] q;\nbit[2] c;\nc = measure q;\nif (int[2](c) == 2) x q[0];\n"
              "if (bool(c[1])) z q[1];\nif (!c[0]) h q[0];\nif (c[0] == 1 && c[1] == 0) y q[1];\n")
    assert [i.condition for i in c][2:] == [((0, 1), 2), ((1,), 1), ((0,), 0), ((0, 1), 1)]


def test_comparisons_on_loop_variables_select_at_parse_time():
    c = loads(V3 + "qubit[4] q;\nfor int i in [0:3] {\n  if (i < 2) h q[i];\n  else if (i == 2) x q[i];\n"
              "  else { if (i >= 3 && i % 2 == 1) z q[i]; }\n}\n")
    assert [(i.name, i.qubits) for i in c] == [("h", (0,)), ("h", (1,)), ("x", (2,)), ("z", (3,))]


def test_else_after_a_one_bit_runtime_condition():
    c = loads(V3 + "qubit[2] q;\nbit b;\nb = measure q[0];\nif (b == 1) { x q[1]; } else { h q[1]; }\n")
    assert ops(c)[1:] == [("x", (1,), (), ((0,), 1)), ("h", (1,), (), ((0,), 0))]


def test_nested_runtime_conditions_combine():
    c = loads(V3 + "qubit[2] q;\nbit[2] c;\nc = measure q;\nif (c[0]) { if (c[1] == 0) { x q[0]; } }\n")
    assert c[-1].condition == ((0, 1), 1)


# -- subroutines ---------------------------------------------------------------------------
def test_def_with_qubit_and_classical_arguments_is_inlined():
    c = loads(V3 + "def rot(qubit q, float t, int reps) { for int i in [1:reps] { rz(t) q; } }\n"
              "qubit[2] q;\nrot(q[1], pi / 8, 2);\nrot(q[0], 0.5, 1);\n")
    assert [(i.name, i.qubits, i.params) for i in c] == [("rz", (1,), (math.pi / 8,)), ("rz", (1,), (math.pi / 8,)),
                                                          ("rz", (0,), (0.5,))]


def test_def_returns_values_and_measurements():
    c = loads(V3 + "def double(int k) -> int { return 2 * k; }\n"
              "def ymeasure(qubit q) -> bit { s q; h q; return measure q; }\n"
              "qubit[2] q;\nbit[2] c;\nint n = double(3);\nfor int i in [1:n] { x q[0]; }\n"
              "c[1] = ymeasure(q[1]);\n")
    assert c.count_ops() == {"x": 6, "s": 1, "h": 1, "measure": 1}
    assert ops(c)[-1] == ("measure", (1,), (1,), None)


def test_def_returning_its_local_bits_writes_the_target():
    # the specification's repetition-code syndrome (examples/qec.qasm)
    c = loads(V3 + "qubit[3] q;\nqubit[2] a;\nbit[3] c;\nbit[2] syn;\n"
              "def syndrome(qubit[3] d, qubit[2] a) -> bit[2] {\n  bit[2] b;\n  cx d[0], a[0];\n  cx d[1], a[0];\n"
              "  cx d[1], a[1];\n  cx d[2], a[1];\n  measure a -> b;\n  return b;\n}\n"
              "x q[0];\nsyn = syndrome(q, a);\nif (int[2](syn) == 1) x q[0];\nc = measure q;\n")
    assert c.cregs == [("c", 3), ("syn", 2)]
    measures = [i for i in c if i.name == "measure"]
    assert [(m.qubits, m.clbits) for m in measures[:2]] == [((3,), (3,)), ((4,), (4,))]
    assert [i for i in c if i.condition] == [c[7]] and c[7].condition == ((3, 4), 1)


def test_old_call_form_of_the_examples():
    c = loads(V3 + "def layer(int k, qubit[2] r) { for int i in [0:k] { h r[i]; } }\nqubit[2] q;\nlayer(1) q;\n")
    assert c.count_ops() == {"h": 2}


# -- loops ---------------------------------------------------------------------------------
def test_while_with_a_constant_bound_break_and_continue():
    c = loads(V3 + "qubit[4] q;\nint i = 0;\nwhile (i < 10) {\n  i += 1;\n  if (i == 2) continue;\n"
              "  if (i == 4) break;\n  x q[i - 1];\n}\nfor int j in [0:3] { if (j == 1) continue; h q[j]; "
              "if (j == 2) break; }\n")
    assert [(i.name, i.qubits) for i in c] == [("x", (0,)), ("x", (2,)), ("h", (0,)), ("h", (2,))]


def test_switch_on_constants_and_on_measured_bits():
    c = loads(V3 + "qubit[2] q;\nbit[2] c;\nconst int k = 3;\n"
              "switch (k) { case 1, 2 { x q[0]; } case 3 { y q[0]; } default { z q[0]; } }\n"
              "switch (5) { case 1 { x q[1]; } default { h q[1]; } }\n"
              "c = measure q;\nswitch (int[2](c)) { case 0 { x q[0]; } case 1, 3 { z q[1]; } }\n")
    assert [(i.name, i.condition) for i in c if i.name != "measure"] == [
        ("y", None), ("h", None), ("x", ((0, 1), 0)), ("z", ((0, 1), 1)), ("z", ((0, 1), 3))]


# -- aliases, physical qubits, arrays ------------------------------------------------------
def test_let_aliases_slices_sets_and_concatenation():
    c = loads(V3 + "qubit[3] a;\nqubit[2] b;\nlet both = a[1:2] ++ b;\nlet ends = a[{0, 2}];\n"
              "let last = both[3];\ncx both[0], both[2];\nh ends;\nx last;\nx a[-1];\n")
    assert [(i.name, i.qubits) for i in c] == [("cx", (1, 3)), ("h", (0,)), ("h", (2,)), ("x", (4,)),
                                              ("x", (2,))]


def test_let_inside_a_loop_is_scoped_to_the_iteration():
    c = loads(V3 + "qubit[4] q;\nfor int i in [0:1] { let pair = q[{2*i, 2*i + 1}]; bit[2] m; cx pair[0], pair[1];"
              " m = measure pair; }\n")
    assert [(i.name, i.qubits, i.clbits) for i in c] == [
        ("cx", (0, 1), ()), ("measure", (0,), (0,)), ("measure", (1,), (1,)),
        ("cx", (2, 3), ()), ("measure", (2,), (0,)), ("measure", (3,), (1,))]
    assert c.cregs == [("m", 2)]


def test_physical_qubits_set_the_width():
    c = loads(V3 + "bit[2] c;\nh $0;\ncx $0, $3;\nc[1] = measure $3;\n")
    assert c.n_qubits == 4
    assert [(i.name, i.qubits) for i in c] == [("h", (0,)), ("cx", (0, 3)), ("measure", (3,))]


def test_arrays_sizeof_and_dim_arguments():
    c = loads(V3 + "qubit[8] q;\narray[int[8], 2, 3] m = {{1, 2, 3}, {4, 5, 6}};\n"
              "const uint rows = sizeof(m);\nconst uint cols = sizeof(m, 1);\n"
              "def total(readonly array[int[8], #dim = 2] a) -> int {\n  int s = 0;\n"
              "  for int i in [0:sizeof(a) - 1] { for int j in [0:sizeof(a, 1) - 1] { s += a[i, j]; } }\n"
              "  return s;\n}\nm[1, 2] = 0;\nx q[rows];\nx q[cols];\nx q[total(m) - 8];\n")
    assert [i.qubits for i in c] == [(2,), (3,), (7,)]


def test_input_values_bound_while_reading():
    text = V3 + "input float[64] theta;\ninput array[float[64], 2] w;\ninput int reps;\nqubit q;\n" \
        "for int i in [1:reps] { rx(theta) q; }\nry(w[1]) q;\n"
    c = loads(text, params={"theta": 0.25, "w": [0.5, -1.5], "reps": 2})
    assert [(i.name, i.params) for i in c] == [("rx", (0.25,)), ("rx", (0.25,)), ("ry", (-1.5,))]
    with pytest.raises(QasmError, match="no input named 'phi'"):
        loads(text, params={"phi": 1.0, "reps": 1})
    with pytest.raises(QasmError, match="bind a list of 2"):
        loads(text, params={"w": [1.0], "reps": 1})


def test_a_compiled_program_has_the_unitary_of_its_unrolled_form():
    text = V3 + """
def entangle(qubit[3] r, int depth) {
  for int d in [1:depth] {
    for int i in [0:1] { cx r[i], r[i + 1]; }
    rz(pi / (2 ** d)) r[2];
  }
}
qubit[3] q;
let rev = q[2] ++ q[1] ++ q[0];
h q;
entangle(rev, 2);
"""
    c = loads(text)
    ref = Circuit(3).h(0).h(1).h(2).cx(2, 1).cx(1, 0).rz(math.pi / 2, 0).cx(2, 1).cx(1, 0).rz(math.pi / 4, 0)
    assert np.allclose(c.to_matrix().numpy(), ref.to_matrix().numpy(), atol=1e-12)
    assert loads(dumps(c, version=2)) == c
