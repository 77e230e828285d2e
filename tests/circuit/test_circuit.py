import math

import numpy as np
import pytest

from qtandem import Circuit, Parameter
from qtandem.circuit.gates import GATES, gate_matrix, inverse_of
from qtandem.errors import CircuitError, ParameterError, QtandemError
from qtandem.sim.reference import reference_matrix, reference_unitary


def _close_up_to_phase(a: np.ndarray, b: np.ndarray, tol: float = 1e-10) -> bool:
    idx = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    phase = a[idx] / b[idx]
    return abs(abs(phase) - 1) < tol and np.allclose(a, phase * b, atol=tol)


@pytest.mark.parametrize("name", sorted(set(GATES) - {"unitary"}))
def test_registry_matrix_matches_textbook_reference(name):
    spec = GATES[name]
    k = spec.num_qubits or 4
    params = [0.37, -1.21, 2.5, 0.9][: spec.num_params]
    ours = gate_matrix(name, params, num_qubits=k).numpy()
    ref = reference_matrix(name, tuple(params), k)
    assert ours.shape == (2**k, 2**k)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(ours @ ours.conj().T, np.eye(2**k), atol=1e-12)


@pytest.mark.parametrize("name", sorted(set(GATES) - {"unitary"}))
def test_registry_inverse_is_exact_inverse(name):
    spec = GATES[name]
    k = spec.num_qubits or 3
    params = (0.37, -1.21, 2.5, 0.9)[: spec.num_params]
    inv = inverse_of(name, params)
    if inv is None:
        pytest.skip("no named inverse; Circuit.inverse uses the inverted flag")
    prod = gate_matrix(inv[0], inv[1], num_qubits=k) @ gate_matrix(name, params, num_qubits=k)
    assert _close_up_to_phase(prod.numpy(), np.eye(2**k))


def test_builder_chains_and_counts():
    c = Circuit(3, 2).h(0).cx(0, 1).rz(0.3, [0, 1, 2]).ccx(0, 1, 2).measure([0, 1], [0, 1])
    assert len(c) == 8
    assert c.count_ops() == {"h": 1, "cx": 1, "rz": 3, "ccx": 1, "measure": 2}
    assert c.num_gates() == 6
    assert [i.name for i in c][:2] == ["h", "cx"]
    assert c[1].qubits == (0, 1)


def test_depth_counts_layers_and_ignores_barriers():
    c = Circuit(3).h(0).h(1).h(2).barrier().cx(0, 1).x(2)
    assert c.depth() == 2
    assert Circuit(2).depth() == 0


def test_mcx_picks_names_by_control_count():
    c = Circuit(5).mcx([0], 4).mcx([0, 1], 4).mcx([0, 1, 2, 3], 4)
    assert [i.name for i in c] == ["cx", "ccx", "mcx"]
    u = reference_unitary(Circuit(5).mcx([0, 1, 2, 3], 4))
    expected = np.eye(32)
    expected[[15, 31]] = expected[[31, 15]]
    np.testing.assert_allclose(u, expected, atol=1e-12)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Circuit(2).h(5), "qubit 5 is out of range for a circuit of 2 qubits"),
        (lambda: Circuit(2).cx(1, 1), "repeated qubit"),
        (lambda: Circuit(2).append("foo", [0]), "unknown gate 'foo'"),
        (lambda: Circuit(2).append("rxx", [0], [0.1]), "acts on 2 qubit(s), got 1"),
        (lambda: Circuit(2).append("rx", [0], []), "takes 1 angle(s), got 0"),
        (lambda: Circuit(1).measure(0, 0), "classical bit 0 is out of range"),
        (lambda: Circuit(2).unitary(np.ones((4, 4)), [0, 1]), "not unitary"),
        (lambda: Circuit(2).unitary(np.eye(2), [0, 1]), "needs a 4x4 matrix"),
        (lambda: Circuit(-1), "non-negative integer"),
    ],
)
def test_bad_input_gives_clear_errors(build, message):
    with pytest.raises(CircuitError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        build()
    assert isinstance(info.value, QtandemError) and isinstance(info.value, ValueError)


def test_unknown_gate_suggests_close_names():
    with pytest.raises(CircuitError, match="did you mean 'cx'"):
        Circuit(2).append("cxx", [0, 1])


def test_parameters_order_bind_and_errors():
    a, b = Parameter("a"), Parameter("b")
    c = Circuit(2).rx(b, 0).ry(2 * a + 1, 1).rz(a - b, 0)
    assert c.parameters == [b, a]
    bound = c.bind({"a": 0.5, b: 0.25})
    assert bound.parameters == []
    assert [i.params[0] for i in bound] == [0.25, 2.0, 0.25]
    assert c.bind([0.25, 0.5]) == bound
    partial = c.bind({"a": 1.0})
    assert partial.parameters == [b]
    with pytest.raises(ParameterError, match="no parameter 'zz'"):
        c.bind({"zz": 1.0})
    with pytest.raises(ParameterError, match="got 1 values for 2 parameters"):
        c.bind([1.0])
    with pytest.raises(ParameterError, match="only linear"):
        _ = a * b


def test_compose_repeat_copy_equality():
    a = Circuit(3).h(0)
    b = Circuit(2).cx(0, 1)
    c = a.compose(b, qubits=[2, 0])
    assert [i.qubits for i in c] == [(0,), (2, 0)]
    assert a.compose(b, qubits=[2, 0], front=True)[0].name == "cx"
    assert len(c.repeat(3)) == 6
    d = c.copy()
    assert d == c and d is not c
    d.x(1)
    assert d != c
    with pytest.raises(CircuitError):
        a.compose(Circuit(4))


def test_inverse_gives_identity_on_random_circuits():
    from tests.conftest import random_circuit

    for seed in range(5):
        c = random_circuit(4, 30, seed)
        u = reference_unitary(c.compose(c.inverse()))
        assert _close_up_to_phase(u, np.eye(16), tol=1e-9)


def test_inverse_refuses_measurement():
    with pytest.raises(CircuitError, match="not unitary"):
        Circuit(1, 1).measure(0, 0).inverse()


def test_draw_shows_every_qubit_and_gate():
    c = Circuit(3, 1).h(0).cx(0, 2).rz(math.pi / 4, 1).measure(2, 0)
    text = c.draw()
    lines = text.splitlines()
    assert lines[0].startswith("q0:") and "H" in lines[0]
    assert any(line.startswith("q2:") and "X" in line for line in lines)
    assert "rz(pi/4)" in text
    assert str(c) == text


def test_measure_all_adds_bits():
    c = Circuit(3).h(0).measure_all()
    assert c.n_clbits == 3
    assert c.count_ops()["measure"] == 3


def test_bad_qubit_and_angle_types_get_clear_errors():
    with pytest.raises(CircuitError, match=r"barrier: qubit indices must be integers, got \[0, 1, 2\]"):
        Circuit(3).barrier([0, 1, 2])  # type: ignore[arg-type]
    with pytest.raises(CircuitError, match="cx: qubit indices must be integers, got 0.5"):
        Circuit(2).cx(0.5, 1)  # type: ignore[arg-type]
    with pytest.raises(CircuitError, match="rz: angles must be numbers or Parameters"):
        Circuit(1).rz("a", 0)  # type: ignore[arg-type]
