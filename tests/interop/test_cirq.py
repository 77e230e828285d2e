"""qtandem.interop.from_cirq / to_cirq: unitaries checked against cirq.unitary (skipped without Cirq)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("cirq")

import cirq
import sympy
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit, Parameter
from qtandem.circuit.gates import GATES
from qtandem.errors import ArgumentTypeError, CircuitError, ParameterError
from qtandem.interop import from_cirq, to_cirq

ATOL = 1e-10


def unitary(c: Circuit) -> np.ndarray:
    return qtandem.unitary(c).numpy()


def cirq_unitary(cc, n: int) -> np.ndarray:
    """Cirq's unitary in qtandem's order (qubit 0 least significant)."""
    return cc.unitary(qubit_order=cirq.LineQubit.range(n)[::-1])


def phase_free(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    return np.allclose(a * (b[k] / a[k]), b, atol=1e-8)


@pytest.mark.parametrize("name", sorted(n for n in GATES if n != "unitary"))
def test_every_qtandem_gate_converts_with_its_exact_matrix(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    spec = GATES[name]
    k = spec.num_qubits or 4
    c = Circuit(k).append(name, list(range(k))[::-1], rng.uniform(-2 * math.pi, 2 * math.pi, spec.num_params))
    cc = to_cirq(c)
    assert np.allclose(cirq_unitary(cc, k), unitary(c), atol=ATOL)  # global phase included
    back = from_cirq(cc, keep_global_phase=True)
    assert np.allclose(unitary(back), unitary(c), atol=ATOL)


@pytest.mark.parametrize("seed", range(6))
def test_random_circuits_round_trip(seed):
    c = random_circuit(4, 30, seed + 50)
    cc = to_cirq(c)
    assert np.allclose(cirq_unitary(cc, 4), unitary(c), atol=1e-9)
    assert np.allclose(unitary(from_cirq(cc, keep_global_phase=True)), unitary(c), atol=1e-9)
    assert phase_free(unitary(from_cirq(cc)), unitary(c))


def test_cirq_gates_with_global_shifts_and_powers():
    q = cirq.LineQubit.range(3)
    ops = [cirq.X(q[0]) ** 0.3, cirq.YPowGate(exponent=0.7, global_shift=0.2)(q[1]), cirq.rz(0.4)(q[2]),
           cirq.ZPowGate(exponent=-0.6, global_shift=0.1)(q[0]), cirq.CZ(q[0], q[1]) ** 0.45,
           cirq.CNOT(q[2], q[0]) ** 0.35, cirq.H(q[1]) ** 0.5, cirq.SWAP(q[0], q[2]) ** 0.3,
           cirq.ISWAP(q[1], q[2]) ** -0.5, cirq.XX(q[0], q[1]) ** 0.2, cirq.ZZ(q[1], q[2]) ** 0.6,
           cirq.CCZ(q[0], q[1], q[2]) ** 0.5, cirq.FSimGate(0.3, 0.2)(q[0], q[2]),
           cirq.PhasedXPowGate(phase_exponent=0.25, exponent=0.5)(q[1]), cirq.S(q[0]), cirq.T(q[1]) ** -1,
           cirq.global_phase_operation(1j)]
    cc = cirq.Circuit(ops)
    c = from_cirq(cc, keep_global_phase=True)
    assert np.allclose(unitary(c), cirq_unitary(cc, 3), atol=1e-9)
    assert phase_free(unitary(from_cirq(cc)), cirq_unitary(cc, 3))
    assert {"rx", "ry", "rz", "p", "cp", "rxx", "rzz", "s", "tdg"} <= set(c.count_ops())


def test_symbols_become_parameters_and_bind_after_conversion():
    a, b = sympy.Symbol("a"), sympy.Symbol("θ")
    q = cirq.LineQubit.range(2)
    cc = cirq.Circuit(cirq.rx(2 * a + 0.5)(q[0]), cirq.CZ(q[0], q[1]) ** (b / 2), cirq.Z(q[1]) ** (a - b))
    c = from_cirq(cc, keep_global_phase=True)
    assert sorted(p.name for p in c.parameters) == ["a", "theta"]
    assert c[0].params[0] == 2 * Parameter("a") + 0.5
    resolved = cirq.resolve_parameters(cc, {"a": 0.3, "θ": -1.2})
    assert np.allclose(unitary(c.bind({"a": 0.3, "theta": -1.2})), cirq_unitary(resolved, 2), atol=ATOL)
    # and back: qtandem parameters become sympy symbols
    back = to_cirq(Circuit(2).rx(2 * Parameter("w[1]"), 0).rzz(Parameter("g") - 0.2, 0, 1))
    assert sorted(str(s) for s in cirq.parameter_names(back)) == ["g", "w[1]"]
    bound = cirq.resolve_parameters(back, {"w[1]": 0.4, "g": 0.9})
    assert np.allclose(cirq_unitary(bound, 2), unitary(Circuit(2).rx(0.8, 0).rzz(0.7, 0, 1)), atol=ATOL)
    with pytest.raises(ParameterError, match="is not linear in its symbols"):
        from_cirq(cirq.Circuit(cirq.rx(a * b)(q[0])))
    with pytest.raises(CircuitError, match="with symbolic angles .* has no parametrised Cirq gate"):
        to_cirq(Circuit(1).u(Parameter("x"), 0.1, 0.2, 0))


def test_measurement_keys_registers_resets_and_conditions():
    c = Circuit(3, 3, cregs=[("a", 2), ("b", 1)])
    c.h(0).measure([0, 1], [0, 1]).reset(1)
    c.append("x", [2], condition=((2,), 1))
    c.append("z", [2], condition=((0, 1), 2))
    c.measure(2, 2)
    cc = to_cirq(c)
    assert sorted(cirq.measurement_key_names(cc)) == ["a[0]", "a[1]", "b[0]"]
    back = from_cirq(cc)
    assert back.cregs == [("a", 2), ("b", 1)]
    assert back == c


def test_cirq_measurement_with_invert_mask_and_multi_qubit_key():
    q = cirq.LineQubit.range(2)
    cc = cirq.Circuit(cirq.X(q[0]), cirq.measure(*q, key="m", invert_mask=(True, False)))
    c = from_cirq(cc)
    assert c.cregs == [("m", 2)]
    assert qtandem.sample(c, 50, seed=1).counts == {"00": 50}  # X then inverted: 0 recorded


def test_unsupported_input_is_refused_clearly():
    q = cirq.LineQubit.range(2)
    cc = cirq.Circuit(cirq.measure(q[0], key="m"),
                      cirq.X(q[1]).with_classical_controls(sympy.Symbol("m") > 0))
    with pytest.raises(CircuitError, match="operation 1 .* cannot be expressed in qtandem"):
        from_cirq(cc)
    cc = cirq.Circuit(cirq.depolarize(0.1)(q[0]))
    with pytest.raises(CircuitError, match=r"operation 0 \(depolarize.*has no qtandem equivalent"):
        from_cirq(cc)
    with pytest.raises(ArgumentTypeError, match="expects a cirq.Circuit, got Circuit"):
        from_cirq(Circuit(1))
    with pytest.raises(ArgumentTypeError, match="expects a qtandem Circuit"):
        to_cirq(cirq.Circuit())
