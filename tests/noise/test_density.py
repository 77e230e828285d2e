import numpy as np
import pytest
import torch
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit, NoiseModel, Parameter
from qtandem.errors import NoiseError, ResourceError, SimulationError
from qtandem.noise import amplitude_damping, depolarizing, phase_damping, readout_error, thermal_relaxation
from qtandem.noise.density import density_matrix, noisy_probabilities
from qtandem.sim.reference import _embed_ref, _inst_matrix, reference_statevector

TWO_Q = ["cx", "cy", "cz", "ch", "swap", "iswap", "crx", "cry", "crz", "cp", "rxx", "ryy", "rzz"]


def explicit_rho(circuit, model, values=None):
    n = circuit.n_qubits
    rho = np.zeros((2**n, 2**n), complex)
    rho[0, 0] = 1
    for inst in circuit:
        if not inst.is_gate:
            continue
        u = _embed_ref(_inst_matrix(inst, values or {}), inst.qubits, n)
        rho = u @ rho @ u.conj().T
        for ch, qs in model.errors_after(inst):
            ks = [_embed_ref(k.detach().numpy(), qs, n) for k in ch.kraus]
            rho = sum(k @ rho @ k.conj().T for k in ks)
    return rho


def model_a():
    return (NoiseModel().add(thermal_relaxation(80.0, 50.0, 3.0)).add(depolarizing(0.02, 2), gates=TWO_Q)
            .add(phase_damping(0.05), gates=["h"], qubits=[1]))


@pytest.mark.parametrize("n", [1, 2, 4])
def test_density_matrix_matches_explicit_kraus_sums(n):
    for seed in range(2):
        c = random_circuit(n, 6 * n + 4, seed=seed)
        model = model_a()
        rho = density_matrix(c, noise=model).numpy()
        np.testing.assert_allclose(rho, explicit_rho(c, model), atol=1e-10)


def test_noiseless_density_is_pure_state():
    c = random_circuit(4, 30, seed=4)
    psi = reference_statevector(c)
    np.testing.assert_allclose(density_matrix(c).numpy(), np.outer(psi, psi.conj()), atol=1e-10)


def test_batched_params_and_parameter_gradients():
    a = Parameter("a")
    c = Circuit(2).ry(a, 0).cx(0, 1).rx(a * 0.5, 1)
    model = NoiseModel().add(amplitude_damping(0.1)).add(depolarizing(0.03, 2), gates=["cx"])
    vals = torch.linspace(-1, 1, 3, dtype=torch.float64).reshape(3, 1)
    rhos = density_matrix(c, vals, noise=model)
    for i in range(3):
        np.testing.assert_allclose(rhos[i].numpy(), explicit_rho(c, model, {"a": float(vals[i, 0])}), atol=1e-12)
    theta = torch.tensor([0.4], dtype=torch.float64, requires_grad=True)
    val = qtandem.expval(c, "Z0 Z1 + 0.3*X1", theta, noise=model)
    (g,) = torch.autograd.grad(val, theta)
    eps = 1e-6
    with torch.no_grad():
        fd = (qtandem.expval(c, "Z0 Z1 + 0.3*X1", theta + eps, noise=model)
              - qtandem.expval(c, "Z0 Z1 + 0.3*X1", theta - eps, noise=model)) / (2 * eps)
    assert abs(float(g) - float(fd)) < 1e-8


def test_gradients_wrt_noise_parameters():
    c = Circuit(2).h(0).cx(0, 1).rx(0.3, 1)

    def value(p, g):
        model = NoiseModel().add(depolarizing(p, 2), gates=["cx"]).add(amplitude_damping(g), gates=["rx", "h"])
        return qtandem.expval(c, "Z0 Z1 + X0 X1 + 0.5*Z1", noise=model)

    p = torch.tensor(0.05, dtype=torch.float64, requires_grad=True)
    g = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    gp, gg = torch.autograd.grad(value(p, g), (p, g))
    eps = 1e-6
    with torch.no_grad():
        fp = (value(p + eps, g) - value(p - eps, g)) / (2 * eps)
        fg = (value(p, g + eps) - value(p, g - eps)) / (2 * eps)
    assert abs(float(gp) - float(fp)) < 1e-8
    assert abs(float(gg) - float(fg)) < 1e-8


def test_readout_errors_in_probabilities_and_sampling():
    c = Circuit(1, 1).x(0).measure(0, 0)
    model = NoiseModel().add_readout(readout_error(0.1, 0.2))
    probs = noisy_probabilities(c, noise=model)
    np.testing.assert_allclose(probs.numpy(), [0.2, 0.8], atol=1e-12)
    res = qtandem.sample(c, shots=20000, seed=3, noise=model)
    assert abs(res.counts["0"] / 20000 - 0.2) < 0.015


def test_idle_relaxation_uses_durations():
    # qubit 0 is excited at t=0..50, then waits 100 for qubit 1's three x gates before the cx
    c = Circuit(2).x(0).x(1).x(1).x(1).cx(0, 1)
    model = NoiseModel().add_idle(100.0, 100.0).set_durations({"x": 50.0, "cx": 300.0})
    p = noisy_probabilities(c, noise=model).numpy()
    # no decay: cx flips qubit 1 back to 0 -> |q1 q0> = |01>; decay of qubit 0: no flip -> |10>
    assert p[0b01] == pytest.approx(np.exp(-100.0 / 100.0), abs=1e-12)
    assert p[0b10] == pytest.approx(1 - np.exp(-1.0), abs=1e-12)
    # without durations there is no schedule, so no idle noise
    p0 = noisy_probabilities(c, noise=NoiseModel().add_idle(100.0, 100.0)).numpy()
    assert p0[0b01] == pytest.approx(1.0)


def test_memory_guard_mentions_density_matrix(monkeypatch):
    monkeypatch.setenv("QTANDEM_MEMORY_LIMIT", str(2**30))
    with pytest.raises(ResourceError, match=r"density matrix of 16 qubits \(4\^16 entries"):
        density_matrix(Circuit(16))


def test_conditions_branch_on_the_record_and_bad_noise_type():
    c = Circuit(2, 1).x(0).measure(0, 0)   # feed-forward: was refused, now the records' sum (issue 13)
    c.append("x", [1], condition=((0,), 1))
    assert density_matrix(c).diagonal().real.tolist() == pytest.approx([0, 0, 0, 1], abs=1e-12)
    with pytest.raises(SimulationError, match="batched params or an initial_state"):
        density_matrix(c, initial_state=[1, 0, 0, 0])
    with pytest.raises(NoiseError, match="must be a NoiseModel"):
        density_matrix(Circuit(1), noise="depolarizing")


def test_against_aer_density_matrix():
    aer = pytest.importorskip("qiskit_aer")
    import qiskit
    from qiskit_aer import noise as an

    c = random_circuit(4, 25, seed=21, gates=["h", "x", "sx", "rx", "ry", "rz", "cx", "cz", "swap"], modifiers=False)
    ours_model = (NoiseModel().add(depolarizing(0.01 * 3 / 4 * 4 / 3), gates=["h", "x", "sx", "rx", "ry", "rz"])
                  .add(thermal_relaxation(90.0, 60.0, 4.0), gates=["h", "x", "sx", "rx", "ry", "rz"])
                  .add(depolarizing(0.05 * 15 / 16, 2), gates=["cx", "cz", "swap"]))
    nm = an.NoiseModel()
    nm.add_all_qubit_quantum_error(an.depolarizing_error(0.01 * 4 / 3, 1).compose(
        an.thermal_relaxation_error(90.0, 60.0, 4.0)), ["h", "x", "sx", "rx", "ry", "rz"])
    nm.add_all_qubit_quantum_error(an.depolarizing_error(0.05, 2), ["cx", "cz", "swap"])
    qc = qiskit.QuantumCircuit(4)
    for inst in c:
        getattr(qc, inst.name)(*inst.params, *inst.qubits)
    qc.save_density_matrix()
    sim = aer.AerSimulator(method="density_matrix", noise_model=nm)
    theirs = sim.run(qiskit.transpile(qc, sim, optimization_level=0)).result().data()["density_matrix"].data
    np.testing.assert_allclose(density_matrix(c, noise=ours_model).numpy(), theirs, atol=1e-8)
