"""qtandem.interop.from_qiskit / to_qiskit: unitaries checked against qiskit.quantum_info.Operator."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Gate, ParameterVector
from qiskit.circuit import Parameter as QParameter
from qiskit.circuit.classical import expr
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit, Parameter
from qtandem.circuit.gates import GATES
from qtandem.errors import ArgumentTypeError, CircuitError, ParameterError
from qtandem.interop import from_qiskit, to_qiskit
from qtandem.interop.qiskit import FROM_QISKIT

ATOL = 1e-10


def unitary(c: Circuit) -> np.ndarray:
    return qtandem.unitary(c).numpy()


def op(qc: QuantumCircuit) -> np.ndarray:
    return Operator(qc).data


def phase_free(a: np.ndarray, b: np.ndarray) -> bool:
    """a = e^{i phi} b for some phi."""
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    return np.allclose(a * (b[k] / a[k]), b, atol=1e-8) and abs(abs(b[k] / a[k]) - 1) < 1e-8


def standard_gate(name: str, rng: np.random.Generator) -> Gate:
    template = get_standard_gate_name_mapping()[name]
    if not template.params:
        return template
    return template.base_class(*rng.uniform(-2 * math.pi, 2 * math.pi, len(template.params)))


# -- gate by gate --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(n for n in get_standard_gate_name_mapping()
                                        if n not in ("measure", "reset", "delay", "global_phase")))
def test_every_qiskit_standard_gate_converts_with_its_exact_matrix(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    gate = standard_gate(name, rng)
    qc = QuantumCircuit(gate.num_qubits)
    qc.append(gate, list(range(gate.num_qubits))[::-1])  # reversed qubits: the order must be kept
    c = from_qiskit(qc, keep_global_phase=True)
    assert np.allclose(unitary(c), op(qc), atol=ATOL)
    if name in FROM_QISKIT:  # direct mapping: one instruction, no phase to keep
        assert len(c) == 1 and c[0].name == FROM_QISKIT[name]
        assert np.allclose(unitary(from_qiskit(qc)), op(qc), atol=ATOL)


@pytest.mark.parametrize("name", sorted(n for n in GATES if n != "unitary"))
def test_every_qtandem_gate_converts_with_its_exact_matrix(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    spec = GATES[name]
    k = spec.num_qubits or 4
    c = Circuit(k).append(name, list(range(k))[::-1], rng.uniform(-2 * math.pi, 2 * math.pi, spec.num_params))
    qc = to_qiskit(c)
    assert np.allclose(op(qc), unitary(c), atol=ATOL)  # global phase included
    assert from_qiskit(qc) == c


def test_unitary_and_mcx_and_modifiers():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    u, _ = np.linalg.qr(z)
    c = (Circuit(5).unitary(u, [3, 1]).mcx([0, 1, 2, 4], 3)
         .append("ry", [0, 2, 4], [0.7], ctrl=2).append("csx", [1, 3], inverted=True)
         .append("iswap", [0, 2, 4], ctrl=1, inverted=True))
    qc = to_qiskit(c)
    assert np.allclose(op(qc), unitary(c), atol=ATOL)
    back = from_qiskit(qc)
    assert np.allclose(unitary(back), unitary(c), atol=ATOL)
    assert back[0] == c[0] and back[1] == c[1] and back[2] == c[2]  # unitary, mcx, ctrl(2)@ry kept as one
    assert back[2].label == "ctrl(2)@ry"


# -- random circuits ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_random_qtandem_circuits_round_trip(seed):
    c = random_circuit(4, 30, seed)
    qc = to_qiskit(c)
    assert np.allclose(op(qc), unitary(c), atol=1e-9)  # exact, global phase included
    back = from_qiskit(qc, keep_global_phase=True)
    assert np.allclose(unitary(back), unitary(c), atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_random_circuits_without_modifiers_round_trip_instruction_for_instruction(seed):
    c = random_circuit(4, 40, seed + 100, modifiers=False)
    assert from_qiskit(to_qiskit(c)) == c


@pytest.mark.parametrize("seed", range(6))
def test_qiskit_random_circuits(seed):
    from qiskit.circuit.random import random_circuit as qiskit_random

    qc = qiskit_random(4, 12, max_operands=4, seed=seed)
    assert qc.num_clbits == 0
    c = from_qiskit(qc)
    assert phase_free(unitary(c), op(qc))
    assert np.allclose(unitary(from_qiskit(qc, keep_global_phase=True)), op(qc), atol=1e-9)


def test_qiskit_library_circuits():
    from qiskit.circuit.library import QFTGate, efficient_su2
    from qiskit.synthesis import synth_qft_full

    qft_gate = QuantumCircuit(3)
    qft_gate.append(QFTGate(3), [2, 0, 1])
    for qc in (synth_qft_full(4), synth_qft_full(3, do_swaps=False, inverse=True), qft_gate):
        assert np.allclose(unitary(from_qiskit(qc, keep_global_phase=True)), op(qc), atol=1e-9)
    ansatz = efficient_su2(3, reps=1)
    c = from_qiskit(ansatz)
    assert [p.name for p in c.parameters][:2] == ["theta[0]", "theta[1]"]  # θ[i] -> theta[i]
    values = np.random.default_rng(0).uniform(-3, 3, ansatz.num_parameters)
    bound_q = ansatz.assign_parameters(values)  # Qiskit's order: θ[0], θ[1], ... (vector order)
    bound_c = c.bind({f"theta[{i}]": v for i, v in enumerate(values)})
    assert np.allclose(unitary(bound_c), op(bound_q), atol=1e-9)


def test_transpiled_circuit_with_global_phase():
    from qiskit import transpile
    from qiskit.synthesis import synth_qft_full

    qc = transpile(synth_qft_full(3), basis_gates=["rz", "sx", "x", "cx"], optimization_level=1, seed_transpiler=1)
    assert qc.global_phase != 0
    assert phase_free(unitary(from_qiskit(qc)), op(qc))
    assert np.allclose(unitary(from_qiskit(qc, keep_global_phase=True)), op(qc), atol=1e-9)
    assert not np.allclose(unitary(from_qiskit(qc)), op(qc), atol=1e-6)  # the phase is dropped by default


def test_open_controls_and_generic_controlled_gates():
    from qiskit.circuit.library import CXGate, HGate, RYGate

    qc = QuantumCircuit(4)
    qc.append(CXGate(ctrl_state=0), [0, 1])
    qc.append(RYGate(0.4).control(2), [3, 0, 2])
    qc.append(HGate().control(2, ctrl_state="01"), [1, 2, 3])
    c = from_qiskit(qc, keep_global_phase=True)
    assert np.allclose(unitary(c), op(qc), atol=ATOL)
    assert "ctrl(2)@ry" in c.count_ops()


# -- parameters ---------------------------------------------------------------------------------
def test_parameters_stay_symbolic_and_bind_after_conversion():
    a, w = QParameter("a"), ParameterVector("w", 3)
    qc = QuantumCircuit(2)
    qc.rx(2 * a - 0.5, 0)
    qc.crz(w[2] / 4 + w[0], 0, 1)
    qc.u(a, w[1], 0.3, 1)
    qc.global_phase = a / 2
    c = from_qiskit(qc, keep_global_phase=True)
    assert {p.name for p in c.parameters} == {"a", "w[0]", "w[1]", "w[2]"}
    assert c[0].params[0] == 2 * Parameter("a") - 0.5
    values = {"a": 0.3, "w[0]": -1.1, "w[1]": 0.7, "w[2]": 2.5}
    bound = qc.assign_parameters({a: 0.3, w[0]: -1.1, w[1]: 0.7, w[2]: 2.5})
    assert np.allclose(unitary(c.bind(values)), op(bound), atol=ATOL)
    # and back: qtandem w[i] becomes a ParameterVector, bound by name in Qiskit
    qc2 = to_qiskit(c)
    assert {p.name for p in qc2.parameters} == set(values)
    vec = next(p for p in qc2.parameters if p.name == "w[0]").vector
    assert (vec.name, len(vec)) == ("w", 3)
    assert np.allclose(op(qc2.assign_parameters(values)), unitary(c.bind(values)), atol=ATOL)


def test_nonlinear_parameter_expressions_are_refused():
    a, b = QParameter("a"), QParameter("b")
    for angle in (a * b, a.sin(), 1 / a):
        qc = QuantumCircuit(1)
        qc.rz(angle, 0)
        with pytest.raises(ParameterError, match=r"instruction 0 \(rz\): the angle .* is not linear"):
            from_qiskit(qc)


def test_parameter_names_that_collide_after_renaming():
    qc = QuantumCircuit(1)
    qc.rz(QParameter("θ"), 0)
    qc.rx(QParameter("theta"), 0)
    qc.ry(QParameter("x-y"), 0)
    names = [p.name for p in from_qiskit(qc).parameters]
    assert sorted(names) == ["theta", "theta_2", "x_y"]


# -- registers, measurement, conditions ---------------------------------------------------------
def test_registers_measure_reset_barrier():
    qa, qb, cr = QuantumRegister(2, "data"), QuantumRegister(1, "anc"), ClassicalRegister(3, "out")
    qc = QuantumCircuit(qa, qb, cr, name="demo")
    qc.h(qa[0])
    qc.barrier()
    qc.reset(qb[0])
    qc.measure([0, 1, 2], [2, 1, 0])
    c = from_qiskit(qc)
    assert c.qregs == [("data", 2), ("anc", 1)] and c.cregs == [("out", 3)] and c.name == "demo"
    assert c.count_ops() == {"h": 1, "barrier": 1, "reset": 1, "measure": 3}
    assert c[4].qubits == (1,) and c[4].clbits == (1,)
    back = to_qiskit(c)
    assert [(r.name, r.size) for r in back.qregs] == [("data", 2), ("anc", 1)]
    assert [(r.name, r.size) for r in back.cregs] == [("out", 3)] and back.name == "demo"
    assert from_qiskit(back) == c


def test_conditions_round_trip():
    c = Circuit(3, 4, cregs=[("a", 2), ("b", 2)])
    c.h(0).measure([0, 1], [0, 1])
    c.append("x", [2], condition=((0, 1), 2))  # register a == 2
    c.append("z", [2], condition=((0, 1), 2))
    c.append("y", [1], condition=((3,), 1))  # one bit
    c.append("rz", [0], [0.5], condition=((1, 3), 1))  # bits from two registers: an expression in Qiskit
    c.measure(2, 2)
    qc = to_qiskit(c)
    assert [i.operation.name for i in qc.data].count("if_else") == 3  # x and z share one block
    assert from_qiskit(qc) == c


def test_qiskit_if_else_and_expressions():
    q, cr = QuantumRegister(2, "q"), ClassicalRegister(2, "c")
    qc = QuantumCircuit(q, cr)
    qc.measure(0, 0)
    with qc.if_test((cr[0], True)) as otherwise:
        qc.x(1)
    with otherwise:
        qc.h(1)
    with qc.if_test(expr.logic_and(expr.lift(cr[0]), expr.logic_not(cr[1]))):  # noqa: SIM117
        with qc.if_test((cr, 1)):  # nested: both must hold
            qc.z(0)
    with qc.if_test(expr.equal(cr, 3)):
        qc.s(0)
    c = from_qiskit(qc)
    conds = [(i.name, i.condition) for i in c if i.condition is not None]
    assert conds == [("x", ((0,), 1)), ("h", ((0,), 0)), ("z", ((0, 1), 1)), ("s", ((0, 1), 3))]


def test_for_loops_unroll_and_switch_becomes_conditions():
    cr = ClassicalRegister(2, "c")
    qc = QuantumCircuit(QuantumRegister(2, "q"), cr)
    i = QParameter("i")
    with qc.for_loop(range(3), loop_parameter=i):
        qc.rx(i * 0.5, 0)
    with qc.switch(cr) as case:
        with case(0, 2):
            qc.x(1)
        with case(1):
            qc.y(1)
    c = from_qiskit(qc)
    assert [inst.params for inst in c][:3] == [(0.0,), (0.5,), (1.0,)]
    assert [(inst.name, inst.condition) for inst in c][3:] == [("x", ((0, 1), 0)), ("x", ((0, 1), 2)),
                                                             ("y", ((0, 1), 1))]


def test_conditions_qtandem_cannot_express_are_refused():
    cr = ClassicalRegister(2, "c")
    qc = QuantumCircuit(QuantumRegister(1, "q"), cr)
    with qc.if_test((cr, 1)) as otherwise:
        qc.x(0)
    with otherwise:
        qc.y(0)
    with pytest.raises(CircuitError, match=r"instruction 0 \(if_else\): an else branch on a multi-bit condition"):
        from_qiskit(qc)
    qc = QuantumCircuit(QuantumRegister(1, "q"), cr)
    with qc.if_test(expr.logic_or(cr[0], cr[1])):
        qc.x(0)
    with pytest.raises(CircuitError, match="cannot be expressed in qtandem"):
        from_qiskit(qc)
    qc = QuantumCircuit(QuantumRegister(1, "q"), cr)
    with qc.while_loop((cr[0], True)):
        qc.measure(0, 0)
    with pytest.raises(CircuitError, match=r"instruction 0 \(while_loop\): while_loop is not supported"):
        from_qiskit(qc)
    qc = QuantumCircuit(QuantumRegister(1, "q"), cr)
    with qc.if_test((cr[0], True)):
        qc.measure(0, 0)
    with pytest.raises(CircuitError, match="measures into the bits of its own condition"):
        from_qiskit(qc)


def test_opaque_gates_and_bad_input():
    qc = QuantumCircuit(2)
    qc.append(Gate("mystery", 2, [0.1]), [0, 1])
    with pytest.raises(CircuitError, match=r"instruction 0 \(mystery\): gate 'mystery' \(Gate on 2 qubit\(s\)\) "
                                           r"has no qtandem equivalent and no definition"):
        from_qiskit(qc)
    with pytest.raises(ArgumentTypeError, match="expects a qiskit.QuantumCircuit, got Circuit"):
        from_qiskit(Circuit(1))
    with pytest.raises(ArgumentTypeError, match="expects a qtandem Circuit, got QuantumCircuit"):
        to_qiskit(QuantumCircuit(1))


def test_definitions_are_expanded_with_custom_gates_and_instructions():
    sub = QuantumCircuit(2, name="bell")
    sub.h(0)
    sub.cx(0, 1)
    qc = QuantumCircuit(3, 1)
    qc.append(sub.to_gate(), [2, 0])
    qc.initialize([0, 1], [1])  # reset + state preparation
    qc.measure(1, 0)
    c = from_qiskit(qc)
    assert c.count_ops()["reset"] == 1 and c[0].name == "h" and c[0].qubits == (2,)
    probs = qtandem.sample(c, 200, seed=1).counts
    assert probs == {"1": 200}


def test_global_phase_gate_and_delay():
    from qiskit.circuit.library import GlobalPhaseGate

    qc = QuantumCircuit(1)
    qc.append(GlobalPhaseGate(0.4), [])
    qc.delay(100, 0, unit="ns")
    qc.x(0)
    assert from_qiskit(qc).count_ops() == {"delay": 1, "x": 1}
    assert np.allclose(unitary(from_qiskit(qc, keep_global_phase=True)), op(qc), atol=ATOL)


def test_annotated_operations_and_powers():
    from qiskit.circuit.library import HGate, RXGate, XGate

    qc = QuantumCircuit(3)
    qc.append(RXGate(0.3).inverse(annotated=True), [0])
    qc.append(HGate().control(1, annotated=True), [1, 2])
    qc.append(XGate().power(0.5), [1])
    qc.append(XGate().power(1.5, annotated=True), [2])
    c = from_qiskit(qc)
    assert c.count_ops() == {"rx": 1, "ch": 1, "unitary": 2}
    assert c[0].params == (-0.3,)
    assert np.allclose(unitary(c), op(qc), atol=ATOL)


def test_pauli_evolution_follows_its_definition():
    from qiskit.circuit import Parameter as P
    from qiskit.circuit.library import PauliEvolutionGate
    from qiskit.quantum_info import SparsePauliOp

    qc = QuantumCircuit(3)
    qc.append(PauliEvolutionGate(SparsePauliOp(["XXI", "ZIZ"], [0.5, 0.25]), time=0.7), [0, 1, 2])
    c = from_qiskit(qc, keep_global_phase=True)
    assert c.count_ops() == {"rxx": 1, "rzz": 1}
    assert np.allclose(unitary(c), op(qc.decompose(reps=3)), atol=ATOL)  # the circuit Qiskit runs
    qc = QuantumCircuit(1)
    qc.append(PauliEvolutionGate(SparsePauliOp(["Z"]), time=P("t")), [0])
    assert from_qiskit(qc)[0].params == (2 * Parameter("t"),)


def test_feed_forward_behaves_the_same_after_conversion():
    """H, measure, X on the other qubit if the bit is 1, measure: the two bits always agree, on both sides."""
    AerSimulator = pytest.importorskip("qiskit_aer").AerSimulator

    cr = ClassicalRegister(2, "c")
    qc = QuantumCircuit(QuantumRegister(2, "q"), cr)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((cr[0], True)):
        qc.x(1)
    qc.measure(1, 1)
    c = from_qiskit(qc)
    ours = qtandem.sample(c, 400, seed=3).counts
    assert set(ours) == {"00", "11"} and min(ours.values()) > 150
    aer = AerSimulator(seed_simulator=3).run(to_qiskit(c), shots=400).result().get_counts()
    assert set(aer) == {"00", "11"}
