"""The one dense-matrix helper (qtandem.sim.dense), checked against np.kron and the reference simulator."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import random_circuit, random_unitary

from qtandem.circuit.gates import controlled_matrix, gate_matrix
from qtandem.errors import SimulationError
from qtandem.sim.dense import apply_dense, dense_unitary, embed, equal_up_to_phase
from qtandem.sim.reference import reference_unitary

_I = np.eye(2)


def test_embed_is_kron_in_little_endian_order():
    rng = np.random.default_rng(0)
    g, h = random_unitary(2, rng), random_unitary(2, rng)
    np.testing.assert_allclose(embed(g, (0,), 2), np.kron(_I, g))
    np.testing.assert_allclose(embed(g, (1,), 2), np.kron(g, _I))
    np.testing.assert_allclose(embed(np.kron(h, g), (0, 2), 3), np.kron(h, np.kron(_I, g)))
    # listed order matters: qubits (2, 0) put the first factor's bit on qubit 2
    np.testing.assert_allclose(embed(np.kron(h, g), (2, 0), 3), np.kron(g, np.kron(_I, h)))


def _ops_of(circuit):
    ops = []
    for inst in circuit:
        if inst.name == "unitary":
            m = np.array(inst.matrix)
        else:
            k = len(inst.qubits) - inst.ctrl
            m = gate_matrix(inst.name, [float(p) for p in inst.params], num_qubits=k)
            if inst.inverted:
                m = m.conj().T
            if inst.ctrl:
                m = controlled_matrix(m, inst.ctrl)
            m = m.resolve_conj().numpy()
        ops.append((inst.qubits, m))
    return ops


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_dense_unitary_matches_the_reference_simulator(n):
    # n <= 3 multiplies embedded matrices, larger n evolves the columns: both paths are checked
    for seed in range(4):
        c = random_circuit(n, 12, seed, modifiers=True)
        np.testing.assert_allclose(dense_unitary(_ops_of(c), n), reference_unitary(c), atol=1e-10)


def test_global_phase_op_and_apply_dense():
    u = dense_unitary([((), np.array([[1j]])), ((0,), np.array([[0, 1], [1, 0]]))], 1)
    np.testing.assert_allclose(u, [[0, 1j], [1j, 0]])
    state = np.zeros(8, complex)
    state[0] = 1
    np.testing.assert_allclose(apply_dense(state, 3, (2,), np.array([[0, 1], [1, 0]])), np.eye(8)[4])


@pytest.mark.parametrize(("qubits", "matrix", "message"), [
    ((0, 0), np.eye(4), r"op qubits \(0, 0\) must be distinct"),
    ((3,), np.eye(2), r"must be distinct and in range\(0, 2\)"),
    ((0,), np.eye(4), "an op on 1 qubit.s. needs a 2x2 matrix, got .4, 4."),
])
def test_bad_ops_get_a_clear_error(qubits, matrix, message):
    with pytest.raises(SimulationError, match=message):
        dense_unitary([(qubits, matrix)], 2)
    with pytest.raises(SimulationError, match=message):
        embed(matrix, qubits, 2)


def test_equal_up_to_phase_and_its_tolerances():
    rng = np.random.default_rng(3)
    u = random_unitary(4, rng)
    assert equal_up_to_phase(np.exp(1.1j) * u, u)
    assert not equal_up_to_phase(u @ np.diag([1, 1, 1, -1]), u)
    assert not equal_up_to_phase(u, u[:2, :2])
    noisy = u + 3e-9
    assert equal_up_to_phase(noisy, u, atol=1e-8) and not equal_up_to_phase(noisy, u, atol=1e-10)
    # a scaled copy passes the entry check at a loose atol only if the phase modulus is ~1
    assert not equal_up_to_phase(1.001 * u, u, atol=1e-2)
    assert equal_up_to_phase(1.001 * u, u, atol=1e-2, phase_atol=1e-2)
    assert equal_up_to_phase(np.zeros((2, 2)), np.zeros((2, 2)))


@pytest.mark.parametrize("diagonal", [True, False])
def test_apply_dense_matches_the_embedded_matrix(diagonal):
    rng = np.random.default_rng(5)
    m = np.diag(np.exp(1j * rng.normal(size=4))) if diagonal else random_unitary(4, rng)
    states = rng.normal(size=(8, 3)) + 1j * rng.normal(size=(8, 3))
    np.testing.assert_allclose(apply_dense(states, 3, (2, 0), m), embed(m, (2, 0), 3) @ states, atol=1e-12)
    np.testing.assert_allclose(apply_dense(states[:, 0], 3, (2, 0), m), embed(m, (2, 0), 3) @ states[:, 0],
                               atol=1e-12)


def test_the_numpy_fallback_uses_the_helper(monkeypatch):
    from qtandem.sim import fast

    monkeypatch.setenv("QTANDEM_NATIVE", "0")
    rng = np.random.default_rng(9)
    ops = [((0, 2), np.diag(np.exp(1j * rng.normal(size=4)))), ((1,), random_unitary(2, rng)),
           ((2, 1), random_unitary(4, rng)), ((0,), np.diag([1, 1j]))]
    state = fast.simulate_numeric(3, ops).numpy()
    np.testing.assert_allclose(state, dense_unitary(ops, 3)[:, 0], atol=1e-12)
