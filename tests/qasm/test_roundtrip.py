"""Circuits built from registry gates survive dumps -> loads unchanged, in both versions."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import random_circuit

from qtandem import Circuit, Parameter, QasmError
from qtandem.circuit.gates import GATES
from qtandem.qasm import dumps, loads
from qtandem.qasm.writer import needs_version_3

EVERY_GATE = sorted(g for g in GATES if g != "unitary")


def _one_gate(name: str, rng: np.random.Generator, n: int = 6) -> Circuit:
    spec = GATES[name]
    k = spec.num_qubits if spec.num_qubits is not None else 4
    qubits = rng.permutation(n)[:k].tolist()
    params = rng.uniform(-2 * math.pi, 2 * math.pi, size=spec.num_params).tolist()
    return Circuit(n).append(name, qubits, params)


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("name", EVERY_GATE)
def test_every_registry_gate_round_trips(name, version):
    c = _one_gate(name, np.random.default_rng(abs(hash(name)) % 1000))
    again = loads(dumps(c, version=version))
    assert again == c
    np.testing.assert_allclose(again.to_matrix().numpy(), c.to_matrix().numpy(), atol=1e-10)


@pytest.mark.parametrize("name", [g for g in EVERY_GATE if g != "mcx"])
def test_every_gate_with_modifiers_round_trips_in_version_3(name):
    spec = GATES[name]
    k = spec.num_qubits
    c = Circuit(k + 2)
    params = [0.1 * (i + 1) for i in range(spec.num_params)]
    c.append(name, list(range(2, k + 2)) + [0], params, ctrl=1)
    c.append(name, list(range(k + 2)), params, ctrl=2)
    c.append(name, list(range(1, k + 1)), params, inverted=True)
    again = loads(dumps(c, version=3))
    assert again == c
    np.testing.assert_allclose(again.to_matrix().numpy(), c.to_matrix().numpy(), atol=1e-10)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), version=st.sampled_from([2, 3]))
def test_random_circuits_round_trip(seed, version):
    gates = [g for g in EVERY_GATE if version == 3 or g != "mcx"]
    c = random_circuit(5, 25, seed=seed, gates=gates, modifiers=version == 3)
    full = Circuit(5, 3, qregs=[("a", 2), ("b", 3)], cregs=[("m", 2), ("f", 1)]).compose(c)
    full.measure([0, 3], [1, 0]).barrier().reset(2).append("x", [4], condition=((0, 1), 2))
    full.append("rz", [1], [0.5], condition=((2,), 1))
    text = dumps(full, version=version)
    assert loads(text) == full, text
    assert needs_version_3(full) == (version == 3 and any(i.ctrl or i.inverted for i in c))


def test_angles_are_written_exactly():
    angles = [math.pi / 7, 1e-17, 123456.789, -2.5, math.pi * 3 / 4, 0.1 + 0.2, -math.pi / 128, 5e300, 0.0,
              2 * math.pi, -0.0]
    c = Circuit(1)
    for a in angles:
        c.rz(a, 0)
    for version in (2, 3):
        text = dumps(c, version)
        assert [i.params[0] for i in loads(text)] == angles
    assert "rz(3*pi/4) q[0];" in dumps(c) and "rz(-pi/128) q[0];" in dumps(c)


def test_parameters_round_trip_in_version_3():
    a, w = Parameter("alpha"), [Parameter(f"w[{i}]") for i in range(3)]
    c = Circuit(2).rx(2 * a - 0.5, 0).ry(w[2] / 3 + math.pi, 1).crz(w[0], 0, 1).u(a, -a, math.pi / 2, 0)
    text = dumps(c, version=3)
    assert "input float[64] alpha;" in text and "input array[float[64], 3] w;" in text
    assert loads(text) == c
    with pytest.raises(QasmError):
        dumps(c, version=2)


def test_reading_writing_reading_is_stable():
    text = """OPENQASM 3.0;
    include "stdgates.inc";
    input float[64] t;
    gate g(a) x, y { ry(a) x; ctrl @ rz(a / 2) x, y; }
    qubit[3] q;
    bit[3] c;
    for int i in [0:1] { g(t * (i + 1)) q[i], q[i + 1]; }
    negctrl @ ctrl @ x q[0], q[1], q[2];
    inv @ pow(3) @ sx q[2];
    c = measure q;
    """
    first = loads(text)
    for version in (3,):
        second = loads(dumps(first, version))
        assert second == first
        assert dumps(second, version) == dumps(first, version)
