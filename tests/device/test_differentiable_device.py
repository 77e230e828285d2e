"""Device fields of schema v2 in the noise model, and gradients through them (issue 15, contract B).

Physics is checked against closed forms computed here with NumPy; gradients with
``torch.autograd.gradcheck`` (finite differences) on 1-2 qubit circuits, one field at a time.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch

from qtandem import Circuit
from qtandem.device import Device, EdgeProperties, QubitProperties

F64 = torch.float64


def pair_device(**edge: float) -> Device:
    """Two qubits, nearly ideal (long T1/T2, no gate errors, zero durations) unless told."""
    graph = nx.Graph([(0, 1)])
    qubits = [QubitProperties(t1=1e15, t2=1e15), QubitProperties(t1=1e15, t2=1e15)]
    return Device(name="pair", num_qubits=2, coupling_map=graph,
                  native_gates=["cx", "id", "measure", "reset", "rz", "sx", "x"], qubits=qubits,
                  edges={(0, 1): EdgeProperties(error=0.0, duration=0.0, **edge)})


def probs(device: Device, circuit: Circuit) -> torch.Tensor:
    return device.noise_model().outcome_probabilities(circuit)


# -- physics of the new fields -------------------------------------------------------------

def test_sx_over_rotation_repeats_exactly():
    dev = pair_device()
    eps = 0.031
    dev.qubits[0].sx_angle_error = eps
    for n in (1, 2, 7, 16):
        c = Circuit(2)
        for _ in range(n):
            c.sx(0)
        assert float(probs(dev, c)[1]) == pytest.approx(math.sin(n * (math.pi / 2 + eps) / 2) ** 2, abs=1e-10)


def test_x_over_rotation():
    dev = pair_device()
    dev.qubits[1].x_angle_error = -0.02
    c = Circuit(2).x(1).x(1).x(1)
    assert float(probs(dev, c)[2]) == pytest.approx(math.sin(3 * (math.pi - 0.02) / 2) ** 2, abs=1e-10)


@pytest.mark.parametrize(("control", "target"), [(0, 1), (1, 0)])
def test_cx_is_followed_by_rzx_on_control_target(control, target):
    eps = 0.043
    dev = pair_device(angle_error=eps)
    c = Circuit(2).sx(0).sx(1).rz(0.3, 1).cx(control, target)
    # reference: NumPy state vector, qubit 0 the low bit
    i2, x, z = np.eye(2), np.array([[0, 1], [1, 0]]), np.diag([1, -1])
    sx = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
    rz = np.diag([np.exp(-0.15j), np.exp(0.15j)])

    def on(q, m):
        return np.kron(m, i2) if q == 1 else np.kron(i2, m)

    def ctrl(c_, t_):
        p1 = on(c_, np.diag([0, 1]))
        return (np.eye(4) - p1) + p1 @ on(t_, x)

    zx = on(control, z) @ on(target, x)
    rzx = math.cos(eps / 2) * np.eye(4) - 1j * math.sin(eps / 2) * zx
    psi = rzx @ ctrl(control, target) @ on(1, rz) @ on(1, sx) @ on(0, sx) @ np.array([1, 0, 0, 0])
    assert np.allclose(probs(dev, c).numpy(), np.abs(psi) ** 2, atol=1e-10)


def test_two_qubit_relaxation_follows_the_gate_direction():
    dev = pair_device()
    dev.qubits[0] = QubitProperties(t1=1000.0, t2=1000.0)
    dev.qubits[1] = QubitProperties(t1=1e15, t2=1e15)
    dev.edges[(0, 1)].duration = 300.0
    # cx(1, 0) with q1 = |0>: nothing happens except relaxation; q0 prepared in |1> decays with its own T1
    c = Circuit(2).x(0).cx(1, 0)
    assert float(probs(dev, c)[1]) == pytest.approx(math.exp(-300.0 / 1000.0), abs=1e-10)


def test_correlated_readout_replaces_the_pair():
    dev = pair_device()
    dev.qubits[0].readout_p01 = 0.3   # would matter if applied; the joint matrix replaces it
    m = np.array([[0.90, 0.05, 0.02, 0.01], [0.04, 0.90, 0.01, 0.03], [0.05, 0.02, 0.95, 0.06],
                  [0.01, 0.03, 0.02, 0.90]])
    dev.readout_correlations = {(0, 1): m.tolist()}
    c = Circuit(2, 2).x(1).measure(0, 0).measure(1, 1)
    assert np.allclose(probs(dev, c).numpy(), m[:, 2], atol=1e-12)
    only0 = Circuit(2, 1).measure(0, 0)        # one of the pair measured: its own error
    assert float(probs(dev, only0)[1]) == pytest.approx(0.3, abs=1e-12)


def test_idle_detuning_and_zz_from_the_device():
    zeta, det = 2 * math.pi * 70e-6, 2 * math.pi * 20e-6
    dev = pair_device(zz=zeta)
    dev.qubits[0].detuning = det
    t = 1800.0
    for b in (0, 1):
        prep = Circuit(2).x(1) if b else Circuit(2).id(1)
        c = prep.sx(0).delay(t, 0).sx(0)
        phase = det * t + (zeta * t / 2 if b == 0 else -zeta * t / 2)
        p = probs(dev, c)
        assert float(p[1] + p[3]) == pytest.approx(0.5 + 0.5 * math.cos(phase), abs=1e-10)
    off = dev.noise_model(idle=False)
    assert not off.zz and not off.detuning


def test_coherent_errors_add_on_top_of_the_incoherent_gate_error():
    # the depolarizing part is sized from gate_error_1q alone: with an angle error too the fidelity is lower
    dev = pair_device()
    dev.qubits[0].gate_error_1q = 1e-3
    c = Circuit(2)
    for _ in range(4):
        c.sx(0)
    base = float(probs(dev, c)[0])
    dev.qubits[0].sx_angle_error = 0.02
    assert float(probs(dev, c)[0]) < base - 1e-4


# -- gradients ---------------------------------------------------------------------------

QUBIT_CASES = {
    # field: (value, scale, circuit): the tensor is value * scale, gradcheck varies value (O(1) derivatives)
    "t1": (60.0, 1e3, Circuit(2, 1).x(0).delay(30e3, 0).measure(0, 0)),
    "t2": (45.0, 1e3, Circuit(2, 1).sx(0).delay(20e3, 0).sx(0).measure(0, 0)),
    "detuning": (1.0, 2 * math.pi * 50e-6, Circuit(2, 1).sx(0).delay(4e3, 0).sx(0).measure(0, 0)),
    "sx_angle_error": (0.03, 1.0, Circuit(2, 1).sx(0).sx(0).sx(0).measure(0, 0)),
    "x_angle_error": (-0.02, 1.0, Circuit(2, 1).sx(0).x(0).measure(0, 0)),
    "gate_error_1q": (2.0, 1e-3, Circuit(2, 1).sx(0).sx(0).measure(0, 0)),
    "readout_p01": (2.0, 1e-2, Circuit(2, 1).sx(0).measure(0, 0)),
    "readout_p10": (3.0, 1e-2, Circuit(2, 1).sx(0).measure(0, 0)),
}


def realistic_pair() -> Device:
    dev = pair_device()
    dev.qubits = [QubitProperties(t1=60e3, t2=45e3, gate_error_1q=2e-3, gate_duration_1q=35.6,
                                  readout_p01=0.02, readout_p10=0.03, readout_duration=750.0),
                  QubitProperties(t1=80e3, t2=50e3, gate_error_1q=1e-3, gate_duration_1q=35.6)]
    dev.edges[(0, 1)] = EdgeProperties(error=1e-2, duration=300.0, angle_error=0.02, zz=2 * math.pi * 40e-6)
    return dev


@pytest.mark.parametrize("name", sorted(QUBIT_CASES))
def test_gradcheck_qubit_field(name):
    value, scale, circuit = QUBIT_CASES[name]

    def f(x: torch.Tensor) -> torch.Tensor:
        dev = realistic_pair()
        setattr(dev.qubits[0], name, x * scale)
        return dev.noise_model().outcome_probabilities(circuit)

    x = torch.tensor(value, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-7, rtol=1e-4)
    grad = torch.autograd.grad(f(x)[1], x)[0]
    assert abs(float(grad)) > 1e-4, name            # the number really moves the probability


EDGE_CASES = {
    "error": (1.0, 1e-2, Circuit(2, 2).sx(0).cx(0, 1).measure(0, 0).measure(1, 1)),
    "angle_error": (0.03, 1.0, Circuit(2, 2).x(0).cx(0, 1).measure(0, 0).measure(1, 1)),
    "zz": (1.0, 2 * math.pi * 50e-6,
           Circuit(2, 2).x(1).sx(0).delay(3e3, 0).rz(math.pi / 2, 0).sx(0).measure(0, 0).measure(1, 1)),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_gradcheck_edge_field(name):
    value, scale, circuit = EDGE_CASES[name]

    def f(x: torch.Tensor) -> torch.Tensor:
        dev = realistic_pair()
        setattr(dev.edges[(0, 1)], name, x * scale)
        return dev.noise_model().outcome_probabilities(circuit)

    x = torch.tensor(value, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-7, rtol=1e-4)
    out = f(x)
    watched = {"error": out[0], "angle_error": out[2] + out[3], "zz": out[1] + out[3]}[name]
    grad = torch.autograd.grad(watched, x)[0]
    assert abs(float(grad)) > 1e-4, name


def test_gradcheck_correlated_readout_matrix():
    circuit = Circuit(2, 2).sx(0).x(1).measure(0, 0).measure(1, 1)

    def f(off: torch.Tensor) -> torch.Tensor:   # off-diagonal entries; each column's diagonal makes it sum to 1
        dev = realistic_pair()
        m = off.reshape(3, 4) * 0.01
        rows: list[list[torch.Tensor]] = [[torch.zeros((), dtype=F64)] * 4 for _ in range(4)]
        for j in range(4):
            others = [i for i in range(4) if i != j]
            for k, i in enumerate(others):
                rows[i][j] = m[k, j]
            rows[j][j] = 1 - m[:, j].sum()
        dev.readout_correlations = {(0, 1): rows}
        return dev.noise_model().outcome_probabilities(circuit)

    off = torch.linspace(0.5, 3.0, 12, dtype=F64).requires_grad_(True)
    assert torch.autograd.gradcheck(f, (off,), eps=1e-6, atol=1e-7, rtol=1e-4)


def test_all_fields_as_tensors_at_once_give_a_full_gradient_and_serialise():
    dev = realistic_pair()
    leaves: list[torch.Tensor] = []

    def leaf(v: float) -> torch.Tensor:
        t = torch.tensor(float(v), dtype=F64, requires_grad=True)
        leaves.append(t)
        return t

    for q in dev.qubits:
        for name in ("t1", "t2", "detuning", "sx_angle_error", "x_angle_error", "gate_error_1q", "readout_p01",
                     "readout_p10"):
            setattr(q, name, leaf(getattr(q, name) or 0.01))
    e = dev.edges[(0, 1)]
    for name in ("error", "angle_error", "zz"):
        setattr(e, name, leaf(getattr(e, name)))
    circuits = [Circuit(2, 2).x(0).x(1).delay(5e3, [0, 1]).measure(0, 0).measure(1, 1),
                Circuit(2, 2).sx(0).sx(1).delay(3e3, 0).delay(3e3, 1).sx(0).sx(1).measure(0, 0).measure(1, 1),
                Circuit(2, 2).sx(0).cx(0, 1).cx(1, 0).rz(0.7, 0).sx(0).measure(0, 0).measure(1, 1),
                Circuit(2, 2).x(1).sx(0).delay(4e3, 0).rz(1.0, 0).sx(0).measure(0, 0).measure(1, 1),
                Circuit(2, 2).sx(0).sx(1).sx(0).sx(1).measure(0, 0).measure(1, 1)]
    model = dev.noise_model()
    weights = torch.linspace(0.3, 1.7, 4, dtype=F64)
    loss = sum((model.outcome_probabilities(c) * weights).sum() * (k + 1) for k, c in enumerate(circuits))
    assert isinstance(loss, torch.Tensor)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    assert all(g is not None for g in grads)
    doc = dev.to_dict()
    assert doc["version"] == 2 and isinstance(doc["qubits"][0]["t1"], float)
    again = Device.from_dict(doc)
    assert again.qubits[0].sx_angle_error == pytest.approx(float(dev.qubits[0].sx_angle_error.detach()))


def test_device_noise_model_matches_qiskit_aer_built_from_the_same_numbers():
    """Gate noise of a random device (coherent, then relaxation, then depolarizing) against Aer's composition."""
    qiskit = pytest.importorskip("qiskit")
    aer = pytest.importorskip("qiskit_aer")
    from qiskit.circuit.library import RXGate, RZXGate
    from qiskit_aer import noise as aer_noise

    from qtandem.device.device import _depolarizing_for, _relax_fidelity

    dev = Device.random(2, "line", seed=9)
    ours = dev.noise_model(idle=False, readout=False)
    theirs = aer_noise.NoiseModel(basis_gates=["sx", "x", "rz", "cx"])

    def lam(p: float, nq: int) -> float:   # qtandem's depolarizing p -> Qiskit's lambda
        return p * 4**nq / (4**nq - 1)

    for q, props in enumerate(dev.qubits):
        relax = aer_noise.thermal_relaxation_error(props.t1, props.t2, props.gate_duration_1q)
        dep = _depolarizing_for(props.gate_error_1q, _relax_fidelity(props.t1, props.t2, props.gate_duration_1q), 1)
        for gate, angle in (("sx", props.sx_angle_error), ("x", props.x_angle_error)):
            err = aer_noise.coherent_unitary_error(RXGate(angle).to_matrix()).compose(relax)
            if dep is not None:   # None: relaxation alone already exceeds the gate error
                err = err.compose(aer_noise.depolarizing_error(lam(dep.params["p"], 1), 1))
            theirs.add_quantum_error(err, gate, [q])
    e = dev.edges[(0, 1)]
    qa, qb = dev.qubits
    f_relax = _relax_fidelity(qa.t1, qa.t2, e.duration) * _relax_fidelity(qb.t1, qb.t2, e.duration)
    dep2_channel = _depolarizing_for(e.error, f_relax, 2)
    assert dep2_channel is not None and dep2_channel.params["p"] > 1e-3
    for c, t in ((0, 1), (1, 0)):
        pc, pt = dev.qubits[c], dev.qubits[t]
        relax2 = aer_noise.thermal_relaxation_error(pc.t1, pc.t2, e.duration).expand(
            aer_noise.thermal_relaxation_error(pt.t1, pt.t2, e.duration))      # first factor on the control
        err = aer_noise.coherent_unitary_error(RZXGate(e.angle_error).to_matrix()).compose(relax2).compose(
            aer_noise.depolarizing_error(lam(dep2_channel.params["p"], 2), 2))
        theirs.add_quantum_error(err, "cx", [c, t])

    mine = Circuit(2).sx(0).x(1).cx(0, 1).sx(1).rz(0.4, 1).cx(1, 0).x(0).sx(0).sx(1).cx(0, 1)
    qc = qiskit.QuantumCircuit(2)
    qc.sx(0), qc.x(1), qc.cx(0, 1), qc.sx(1), qc.rz(0.4, 1), qc.cx(1, 0), qc.x(0), qc.sx(0), qc.sx(1), qc.cx(0, 1)
    qc.save_density_matrix()
    sim = aer.AerSimulator(method="density_matrix", noise_model=theirs)
    rho = np.asarray(sim.run(qiskit.transpile(qc, sim, optimization_level=0)).result().data()["density_matrix"])
    got = ours.density_matrix(mine).numpy()
    assert np.allclose(got, rho, atol=1e-10)
    ideal = Device.random(2, "line", seed=9)          # sanity: the errors are big enough to matter
    ideal.qubits = [QubitProperties(t1=1e15, t2=1e15), QubitProperties(t1=1e15, t2=1e15)]
    ideal.edges = {(0, 1): EdgeProperties(error=0.0, duration=0.0)}
    assert not np.allclose(got, ideal.noise_model(idle=False, readout=False).density_matrix(mine).numpy(), atol=1e-3)
