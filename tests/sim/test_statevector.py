import math

import numpy as np
import pytest
import torch
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit, Parameter
from qtandem.errors import ParameterError, ResourceError, SimulationError
from qtandem.sim.core import run
from qtandem.sim.reference import reference_statevector, reference_unitary


def _fidelity_gap(a: np.ndarray, b: np.ndarray) -> float:
    return abs(1 - abs(np.vdot(a, b)) ** 2)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 10])
def test_random_circuits_match_reference_to_1e10(n):
    for seed in range(3):
        c = random_circuit(n, 12 * n, seed=100 * n + seed)
        ref = reference_statevector(c)
        torch_path, _ = run(c, native=False)
        np.testing.assert_allclose(torch_path[0].numpy(), ref, atol=1e-10)
        default = qtandem.statevector(c).numpy()
        np.testing.assert_allclose(default, ref, atol=1e-10)


@pytest.mark.parametrize("n", [2, 4, 6])
def test_unitary_matches_reference(n):
    c = random_circuit(n, 25, seed=n)
    np.testing.assert_allclose(qtandem.unitary(c).numpy(), reference_unitary(c), atol=1e-10)
    np.testing.assert_allclose(c.to_matrix().numpy(), reference_unitary(c), atol=1e-10)


def test_complex64_is_close():
    c = random_circuit(6, 60, seed=3)
    s64 = qtandem.statevector(c, dtype=torch.complex64)
    assert s64.dtype == torch.complex64
    np.testing.assert_allclose(s64.numpy(), reference_statevector(c), atol=2e-5)


def test_parameters_by_mapping_sequence_and_batch():
    a, b = Parameter("a"), Parameter("b")
    c = Circuit(3).ry(a, 0).cx(0, 1).rx(2 * b - a, 2).crz(b, 1, 2).u(a, b, 0.3, 1)
    vals = {"a": 0.7, "b": -1.3}
    ref = reference_statevector(c, vals)
    np.testing.assert_allclose(qtandem.statevector(c, vals).numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(qtandem.statevector(c, [-1.3, 0.7][::-1] if c.parameters[0].name == "a"
                                                    else [-1.3, 0.7]).numpy(), ref, atol=1e-12)
    batch = torch.tensor(np.random.default_rng(0).uniform(-3, 3, size=(5, 2)))
    out = qtandem.statevector(c, batch)
    assert out.shape == (5, 8)
    for i in range(5):
        vi = {p.name: float(batch[i, j]) for j, p in enumerate(c.parameters)}
        np.testing.assert_allclose(out[i].numpy(), reference_statevector(c, vi), atol=1e-12)
    mapped = qtandem.statevector(c, {"a": batch[:, 0], "b": batch[:, 1]})
    assert mapped.shape == (5, 8)


def test_parameter_errors():
    c = Circuit(1).rx(Parameter("t"), 0)
    with pytest.raises(ParameterError, match="free parameters"):
        qtandem.statevector(c)
    with pytest.raises(ParameterError, match="unknown parameter"):
        qtandem.statevector(c, {"t": 1.0, "u": 2.0})
    with pytest.raises(ParameterError, match="expected \\(1,\\) or \\(batch, 1\\)"):
        qtandem.statevector(c, [1.0, 2.0])


def test_initial_state_and_batch_of_states():
    c = Circuit(2).h(0).cx(0, 1)
    init = np.array([0, 1, 0, 0], dtype=complex)
    np.testing.assert_allclose(qtandem.statevector(c, initial_state=init).numpy(),
                               reference_statevector(c, initial_state=init), atol=1e-12)
    with pytest.raises(SimulationError, match="not normalised"):
        qtandem.statevector(c, initial_state=np.ones(4))
    with pytest.raises(SimulationError, match="expected \\(4,\\)"):
        qtandem.statevector(c, initial_state=np.ones(3))


def _loss(c: Circuit, theta: torch.Tensor) -> torch.Tensor:
    psi = qtandem.statevector(c, theta)
    n = c.n_qubits
    z0 = torch.tensor([1.0 if (i & 1) == 0 else -1.0 for i in range(2**n)], dtype=torch.float64)
    return (psi.abs() ** 2 * z0).sum() + psi[1].real


def test_gradients_match_finite_differences_and_parameter_shift():
    ps = [Parameter(f"t{i}") for i in range(6)]
    c = Circuit(3)
    c.ry(ps[0], 0).rx(ps[1], 1).cx(0, 1).rz(ps[2] * 2 + 0.1, 1).crx(ps[3], 1, 2).ry(ps[4], 2).rzz(ps[5], 0, 2)
    theta = torch.tensor(np.random.default_rng(7).uniform(-2, 2, 6), requires_grad=True)
    loss = _loss(c, theta)
    (grad,) = torch.autograd.grad(loss, theta)
    eps = 1e-6
    fd = []
    for i in range(6):
        e = torch.zeros(6, dtype=torch.float64)
        e[i] = eps
        with torch.no_grad():
            fd.append((_loss(c, theta + e) - _loss(c, theta - e)) / (2 * eps))
    np.testing.assert_allclose(grad.numpy(), torch.stack(fd).numpy(), atol=1e-8)
    # parameter shift on a gate that uses its parameter once with coefficient 1 (ry t0, rx t1, ry t4)
    obs = qtandem.PauliSum.from_string("Z0 + 0.5*X1 Z2") if hasattr(qtandem.PauliSum, "from_string") else None
    if obs is not None:
        theta2 = theta.detach().clone().requires_grad_(True)
        val = qtandem.expval(c, obs, theta2)
        (g,) = torch.autograd.grad(val, theta2)
        for i in (0, 1, 4):
            e = torch.zeros(6, dtype=torch.float64)
            e[i] = math.pi / 2
            with torch.no_grad():
                shift = (qtandem.expval(c, obs, theta2 + e) - qtandem.expval(c, obs, theta2 - e)) / 2
            assert abs(float(shift) - float(g[i])) < 1e-8


def test_batched_gradients():
    p = Parameter("p")
    c = Circuit(2).ry(p, 0).cx(0, 1)
    theta = torch.linspace(-1, 1, 4, dtype=torch.float64).reshape(4, 1).requires_grad_(True)
    probs = qtandem.statevector(c, theta).abs() ** 2
    probs[:, 3].sum().backward()
    np.testing.assert_allclose(theta.grad[:, 0].numpy(), (np.sin(theta.detach()[:, 0].numpy()) / 2), atol=1e-12)


def test_native_and_torch_paths_agree():
    from qtandem.sim import fast

    if not fast.available():
        pytest.skip("native kernels not built")
    for seed in range(4):
        c = random_circuit(9, 120, seed=seed)
        a, _ = run(c, native=True)
        b, _ = run(c, native=False)
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-11)
        a64, _ = run(c, native=True, dtype=torch.complex64)
        np.testing.assert_allclose(a64.numpy(), b.numpy(), atol=5e-5)
    # gates too wide for a dense matrix take the controlled-slice route inside a native run
    wide = random_circuit(8, 20, seed=9, modifiers=False).mcx([0, 1, 2, 3, 4, 5], 7)
    wide.append("ry", [0, 1, 2, 3, 4, 5, 6], [0.4], ctrl=6).h(3)
    a, _ = run(wide, native=True)
    np.testing.assert_allclose(a[0].numpy(), reference_statevector(wide), atol=1e-11)


def test_mid_circuit_measurement_and_reset_are_seeded():
    c = Circuit(2, 2).h(0).measure(0, 0).cx(0, 1).reset(0)
    s1 = qtandem.statevector(c, seed=5)
    s2 = qtandem.statevector(c, seed=5)
    assert torch.equal(s1, s2)
    probs = (s1.abs() ** 2).numpy()
    # qubit 0 reset to 0; qubit 1 holds the measured bit
    assert probs[1] < 1e-12 and probs[3] < 1e-12
    assert math.isclose(probs[0] + probs[2], 1.0)


def test_classical_condition():
    c = Circuit(2, 1).x(0).measure(0, 0)
    c.append("x", [1], condition=((0,), 1))
    assert abs(qtandem.statevector(c, seed=0)[3]) == pytest.approx(1.0)
    c0 = Circuit(2, 1).measure(0, 0)
    c0.append("x", [1], condition=((0,), 1))
    assert abs(qtandem.statevector(c0, seed=0)[0]) == pytest.approx(1.0)


def test_memory_guard_names_bytes(monkeypatch):
    monkeypatch.setenv("QTANDEM_MEMORY_LIMIT", str(2**30))
    expected = r"statevector of 40 qubits \(complex128\) needs 16\.0 TiB, 1\.0 GiB available"
    with pytest.raises(ResourceError, match=expected):
        qtandem.statevector(Circuit(40).h(0))
    with pytest.raises(MemoryError):
        qtandem.statevector(Circuit(30).h(0))


def test_bad_dtype_and_type():
    with pytest.raises(SimulationError, match=r"complex64 or torch\.complex128"):
        qtandem.statevector(Circuit(1), dtype=torch.float64)
    with pytest.raises(SimulationError, match="expected a qtandem Circuit"):
        qtandem.statevector("not a circuit")


def test_against_qiskit_statevector():
    qiskit = pytest.importorskip("qiskit")
    from qiskit.quantum_info import Statevector

    for seed in range(3):
        c = random_circuit(6, 50, seed=seed, gates=["h", "x", "y", "z", "s", "t", "sx", "rx", "ry", "rz", "p", "u",
                                                    "cx", "cy", "cz", "ch", "swap", "crx", "cry", "crz", "cp",
                                                    "rxx", "ryy", "rzz", "ccx", "cswap", "iswap"], modifiers=False)
        qc = qiskit.QuantumCircuit(6)
        for inst in c:
            getattr(qc, inst.name)(*inst.params, *inst.qubits)
        ref = Statevector(qc).data
        ours = qtandem.statevector(c).numpy()
        assert _fidelity_gap(ours, ref) < 1e-12
        np.testing.assert_allclose(ours, ref, atol=1e-10)  # same global phase convention too
