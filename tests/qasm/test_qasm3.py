"""OpenQASM 3 reading: declarations, modifiers, constants, loops, measurement forms, inputs."""

import math

import numpy as np
import pytest

from qtandem import Circuit, Parameter
from qtandem.circuit.instruction import Instruction
from qtandem.qasm import dumps, loads

V3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def ops(text: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(i.label, i.qubits) for i in loads(V3 + text)]


@pytest.mark.parametrize("header", ["OPENQASM 3;", "OPENQASM 3.0;", ""])
def test_headers_and_declarations(header):
    c = loads(header + '\ninclude "stdgates.inc";\nqubit[2] q;\nqubit anc;\nqreg r[1];\nbit[2] c;\nbit b;\n'
                       "creg d[1];\nh q;\nx anc;\nb = measure anc;\n")
    assert c.n_qubits == 4 and c.n_clbits == 4
    assert c.qregs == [("q", 2), ("anc", 1), ("r", 1)] and c.cregs == [("c", 2), ("b", 1), ("d", 1)]
    assert [(i.name, i.qubits) for i in c] == [("h", (0,)), ("h", (1,)), ("x", (2,)), ("measure", (2,))]
    assert c[-1].clbits == (2,)


def test_stdgates_names():
    c = loads(V3 + "qubit[3] q;\nphase(0.1) q[0];\ncphase(0.2) q[0], q[1];\nCX q[1], q[2];\nid q[0];\n"
                   "u1(0.3) q[0];\nu2(0.4, 0.5) q[1];\nu3(0.6, 0.7, 0.8) q[2];\ncu(0.1, 0.2, 0.3, 0.4) q[0], q[2];\n"
                   "U(1, 2, 3) q[1];\nsx q[0];\ncswap q[0], q[1], q[2];\n")
    assert [i.name for i in c] == ["p", "cp", "cx", "id", "u1", "u2", "u3", "cu", "u", "sx", "cswap"]


@pytest.mark.parametrize(
    ("stmt", "expected"),
    [
        ("ctrl @ x q[0], q[1];", [("cx", (0, 1))]),
        ("ctrl @ cx q[0], q[1], q[2];", [("ccx", (0, 1, 2))]),
        ("ctrl @ ccx q[3], q[0], q[1], q[2];", [("mcx", (3, 0, 1, 2))]),
        ("ctrl(3) @ x q[0], q[1], q[2], q[3];", [("mcx", (0, 1, 2, 3))]),
        ("ctrl @ ctrl @ x q[0], q[1], q[2];", [("ccx", (0, 1, 2))]),
        ("ctrl @ z q[0], q[1];", [("cz", (0, 1))]),
        ("ctrl @ y q[0], q[1];", [("cy", (0, 1))]),
        ("ctrl @ h q[0], q[1];", [("ch", (0, 1))]),
        ("ctrl @ rx(0.5) q[0], q[1];", [("crx", (0, 1))]),
        ("ctrl @ ry(0.5) q[0], q[1];", [("cry", (0, 1))]),
        ("ctrl @ rz(0.5) q[0], q[1];", [("crz", (0, 1))]),
        ("ctrl @ p(0.5) q[0], q[1];", [("cp", (0, 1))]),
        ("ctrl @ sx q[0], q[1];", [("csx", (0, 1))]),
        ("ctrl @ swap q[0], q[1], q[2];", [("cswap", (0, 1, 2))]),
        ("ctrl(2) @ ry(0.5) q[0], q[1], q[2];", [("ctrl(2)@ry", (0, 1, 2))]),
        ("ctrl @ U(0.1, 0.2, 0.3) q[0], q[1];", [("ctrl@u", (0, 1))]),
        ("negctrl @ x q[0], q[1];", [("x", (0,)), ("cx", (0, 1)), ("x", (0,))]),
        ("negctrl(2) @ z q[0], q[1], q[2];", [("x", (0,)), ("x", (1,)), ("ccz", (0, 1, 2)), ("x", (0,)), ("x", (1,))]),
        ("inv @ s q[0];", [("sdg", (0,))]),
        ("inv @ t q[0];", [("tdg", (0,))]),
        ("inv @ sx q[0];", [("sxdg", (0,))]),
        ("inv @ rx(0.5) q[0];", [("rx", (0,))]),
        ("inv @ ctrl @ sx q[0], q[1];", [("inv@csx", (0, 1))]),
        ("ctrl @ inv @ sx q[0], q[1];", [("ctrl@sxdg", (0, 1))]),
        ("pow(2) @ t q[0];", [("t", (0,)), ("t", (0,))]),
        ("pow(-2) @ s q[0];", [("sdg", (0,)), ("sdg", (0,))]),
        ("pow(0) @ h q[0];", []),
        ("gphase(0.3);", []),
        ("ctrl @ gphase(0.3) q[0];", [("p", (0,))]),
        ("ctrl(2) @ gphase(0.3) q[0], q[1];", [("cp", (0, 1))]),
    ],
)
def test_modifiers_fold_into_registry_gates(stmt, expected):
    assert ops("qubit[4] q;\n" + stmt + "\n") == expected


def test_inverse_angles_and_modifiers_on_custom_gates():
    c = loads(V3 + "gate rot(a) x, y { rx(a) x; cx x, y; s y; }\nqubit[3] q;\ninv @ rot(0.5) q[0], q[1];\n"
                   "ctrl @ rot(0.25) q[2], q[0], q[1];\npow(2) @ rot(0.1) q[0], q[1];\n")
    expect = (Circuit(3).sdg(1).cx(0, 1).rx(-0.5, 0)
              .crx(0.25, 2, 0).ccx(2, 0, 1).append("s", [2, 1], ctrl=1)
              .rx(0.1, 0).cx(0, 1).s(1).rx(0.1, 0).cx(0, 1).s(1))
    assert c == expect
    np.testing.assert_allclose(c.to_matrix().numpy(), expect.to_matrix().numpy(), atol=1e-12)


def test_inverse_of_a_custom_gate_is_its_adjoint():
    c = loads(V3 + "gate g(a) x, y { h x; cry(a) x, y; sx y; u3(0.1, 0.2, 0.3) x; }\nqubit[2] q;\n"
                   "g(0.7) q[0], q[1];\ninv @ g(0.7) q[0], q[1];\n")
    np.testing.assert_allclose(c.to_matrix().numpy(), np.eye(4), atol=1e-12)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("pi", math.pi), ("π/2", math.pi / 2), ("tau", 2 * math.pi), ("τ", 2 * math.pi), ("euler", math.e),
        ("ℇ", math.e), ("-2**2", -4.0), ("2**-1", 0.5), ("2*3**2", 18.0), ("2**3**2", 512.0), ("(1+2)*3", 9.0),
        ("-(-1)", 1.0), ("7 % 4", 3.0), ("1e-3", 1e-3), ("3/2", 1.5), ("arcsin(1)", math.pi / 2),
        ("arccos(1)", 0.0), ("arctan(1)", math.pi / 4), ("exp(1)", math.e), ("ln(euler)", 1.0), ("sqrt(2)", 2**0.5),
        ("pow(2, 3)", 8.0), ("mod(7, 4)", 3.0), ("sin(pi/2) + cos(0) + tan(0)", 2.0), (".5", 0.5), ("2.", 2.0),
    ],
)
def test_constant_expressions(expr, value):
    c = loads(V3 + f"qubit q;\nrz({expr}) q;\n")
    assert c[0].params[0] == pytest.approx(value, abs=1e-15)


def test_const_declarations_and_for_loops():
    c = loads(V3 + """const int n = 4;
    const float half = pi / 2;
    const uint m = n - 1;
    qubit[n] q;
    for int i in [0:m] { h q[i]; }
    for int i in [0:2:m] { rz(half * i) q[i]; }
    for uint k in {3, 1} { x q[k]; }
    for i in [m:-1:2] { for int j in [0:1] { cx q[j], q[i]; } }
    for int i in [0:1] { for int i in [2:3] { s q[i]; } t q[i]; }
    """)
    assert [(i.name, i.qubits) for i in c][:10] == [("h", (0,)), ("h", (1,)), ("h", (2,)), ("h", (3,)), ("rz", (0,)),
                                                     ("rz", (2,)), ("x", (3,)), ("x", (1,)), ("cx", (0, 3)),
                                                     ("cx", (1, 3))]
    assert c[5].params[0] == math.pi
    assert [(i.name, i.qubits) for i in c][10:12] == [("cx", (0, 2)), ("cx", (1, 2))]
    assert [(i.name, i.qubits) for i in c][12:] == [("s", (2,)), ("s", (3,)), ("t", (0,)), ("s", (2,)),
                                                    ("s", (3,)), ("t", (1,))]


def test_register_slices():
    assert ops("qubit[5] q;\nh q[1:3];\nx q[4:-2:0];\n") == [("h", (1,)), ("h", (2,)), ("h", (3,)), ("x", (4,)),
                                                               ("x", (2,)), ("x", (0,))]


def test_measurement_forms():
    c = loads(V3 + "qubit[2] q;\nbit[2] c;\nbit[2] d = measure q;\nc = measure q;\nc[0] = measure q[1];\n"
                   "measure q -> c;\nmeasure q[0] -> c[1];\n")
    got = [(i.qubits, i.clbits) for i in c]
    assert got == [((0,), (2,)), ((1,), (3,)), ((0,), (0,)), ((1,), (1,)), ((1,), (0,)), ((0,), (0,)), ((1,), (1,)),
                   ((0,), (1,))]


def test_reset_barrier_and_if():
    c = loads(V3 + "qubit[2] q;\nbit[2] c;\nreset q;\nbarrier q[0], q[1];\nbarrier;\nc[0] = measure q[0];\n"
                   "if (c == 1) x q[1];\nif (c[0]) { z q[1]; reset q[0]; }\nif (c[1] == 0) c[1] = measure q[1];\n")
    assert [i.name for i in c] == ["reset", "reset", "barrier", "barrier", "measure", "x", "z", "reset", "measure"]
    assert c[5].condition == ((0, 1), 1)
    assert c[6].condition == ((0,), 1) and c[7].condition == ((0,), 1)
    assert c[8].condition == ((1,), 0)
    assert loads(dumps(c, version=3)) == c


def test_inputs_become_linear_parameters():
    c = loads(V3 + """input float[64] theta;
    input angle phi;
    input angle[32] psi;
    input array[float[64], 3] w;
    qubit[2] q;
    rx(2*theta + pi/2) q[0];
    ry(phi / 4 - theta) q[1];
    rz(-psi) q[0];
    crx(w[0] - 2 * w[2]) q[0], q[1];
    for int i in [0:1] { ry(w[i + 1] * 3) q[i]; }
    """)
    theta, phi, psi = Parameter("theta"), Parameter("phi"), Parameter("psi")
    assert c[0].params[0] == 2 * theta + math.pi / 2
    assert c[1].params[0] == phi / 4 - theta
    assert c[2].params[0] == -psi
    assert c[3].params[0] == Parameter("w[0]") - 2 * Parameter("w[2]")
    assert c[5].params[0] == 3 * Parameter("w[2]")
    assert [p.name for p in c.parameters] == ["theta", "phi", "psi", "w[0]", "w[2]", "w[1]"]
    assert loads(dumps(c, version=3)) == c


def test_parameters_flow_through_gate_definitions_and_modifiers():
    c = loads(V3 + "input float[64] t;\ngate layer(a) x, y { ry(a / 2) x; crz(-a) x, y; }\nqubit[3] q;\n"
                   "layer(t + 1) q[0], q[1];\ninv @ layer(3 * t) q[1], q[2];\nctrl @ layer(t) q[2], q[0], q[1];\n")
    t = Parameter("t")
    assert c[0].params[0] == (t + 1) / 2 and c[1].params[0] == -(t + 1)
    assert c[2].params[0] == 3 * t and c[3].params[0] == -(3 * t) / 2
    assert c[4].label == "cry" and c[5].label == "ctrl@crz"
    bound = c.bind({"t": 0.3})
    ref = loads(V3 + "gate layer(a) x, y { ry(a / 2) x; crz(-a) x, y; }\nqubit[3] q;\nlayer(0.3 + 1) q[0], q[1];\n"
                     "inv @ layer(3 * 0.3) q[1], q[2];\nctrl @ layer(0.3) q[2], q[0], q[1];\n")
    np.testing.assert_allclose(bound.to_matrix().numpy(), ref.to_matrix().numpy(), atol=1e-12)


def test_gate_body_sees_global_constants():
    c = loads(V3 + "const float k = 0.5;\ngate g x { rx(k) x; }\nqubit q;\ng q;\n")
    assert c.instructions == [Instruction("rx", (0,), (0.5,))]


def test_round_trip_of_modifiers_and_wide_gates():
    c = (Circuit(6).mcx([0, 1, 2, 3, 4], 5).append("ry", [0, 1, 2], [0.3], ctrl=2)
         .append("csx", [1, 2], inverted=True).append("rccx", [0, 1, 2]).append("rc3x", [0, 1, 2, 3])
         .append("c3sqrtx", [0, 1, 2, 3]).iswap(4, 5).ryy(0.1, 0, 1).rxx(0.2, 1, 2).rzz(0.3, 2, 3)
         .append("ccz", [0, 1, 2]).append("cu3", [0, 1], [0.1, 0.2, 0.3]).sxdg(0))
    text = dumps(c, version=3)
    assert "ctrl(5) @ x" in text and "ctrl(2) @ ry(0.3)" in text and "inv @ ctrl @ sx" in text
    again = loads(text)
    assert again == c
    np.testing.assert_allclose(again.to_matrix().numpy(), c.to_matrix().numpy(), atol=1e-10)
