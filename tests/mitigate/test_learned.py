"""ML-QEM (qtandem.mitigate.learned) and its features (qtandem.mitigate.features)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import execute, readout, simulator_executor
from qtandem.mitigate.features import calibration_features, circuit_features, circuit_graph, gate_error, near_clifford
from qtandem.mitigate.learned import MLQEMRegressor, mlqem, mlqem_features
from qtandem.noise import NoiseModel, depolarizing, depolarizing_qiskit, readout_error


def _noise() -> NoiseModel:
    return (NoiseModel().add(depolarizing(0.01), gates=["rz", "sx", "x"]).add(depolarizing(0.04, 2), gates=["cx"])
            .add_readout(readout_error(0.03, 0.03)))


def _circuit(seed: int, n: int = 3, layers: int = 2) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.rz(float(rng.uniform(0, 2 * math.pi)), q).sx(q).rz(float(rng.uniform(0, 2 * math.pi)), q)
        for a in range(layer % 2, n - 1, 2):
            c.cx(a, a + 1)
    return c


# -- regressor ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["linear", "forest", "mlp", "gnn"])
def test_regressor_learns_a_known_linear_noise_map(model):
    # noisy = 0.6 * ideal + 0.05 (+ shot noise): every model must invert it on held-out points
    rng = np.random.default_rng(0)
    ideal = rng.uniform(-1, 1, 120)
    noisy = 0.6 * ideal + 0.05 + rng.normal(0, 0.003, 120)
    X = np.column_stack([noisy, np.full(120, 7.0)])  # a constant structure feature, as within one family
    graphs = [(np.ones((3, 4)), np.array([[0, 1], [1, 2]]))] * 120 if model == "gnn" else None
    reg = MLQEMRegressor(model, seed=1, epochs=200).fit(X[:100], ideal[:100], graphs[:100] if graphs else None)
    pred = reg.predict(X[100:], graphs[100:] if graphs else None)
    assert np.max(np.abs(pred - ideal[100:])) < 0.05
    assert np.sqrt(np.mean((pred - ideal[100:]) ** 2)) < 0.02
    # unmitigated error for scale: |0.6 y + 0.05 - y| is up to 0.45
    assert np.all(reg.ood_score(X[100:]) < 1)


def test_regressor_ood_score_flags_far_points_and_new_structure():
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.uniform(0, 1, 50), np.full(50, 10.0)])
    reg = MLQEMRegressor("linear").fit(X, X[:, 0])
    assert reg.ood_score(np.array([[0.5, 10.0]]))[0] < 1
    assert reg.ood_score(np.array([[4.0, 10.0]]))[0] > 1  # a value far outside the training range
    assert reg.ood_score(np.array([[0.5, 11.0]]))[0] > 1  # a structure feature never seen varying


def test_regressor_rejects_bad_input():
    with pytest.raises(ArgumentTypeError):
        MLQEMRegressor("svm")
    with pytest.raises(ArgumentTypeError):
        MLQEMRegressor("forest").fit(np.ones((5, 2)), np.ones(4))
    with pytest.raises(ArgumentTypeError):
        MLQEMRegressor("gnn").fit(np.random.default_rng(0).normal(size=(6, 2)), np.arange(6.0))


# -- features -----------------------------------------------------------------------------------------------------
def test_calibration_features_match_closed_forms():
    lam = 0.004
    noise = (NoiseModel().add(depolarizing_qiskit(lam), gates=["rz", "sx"]).add(depolarizing_qiskit(0.02, 2),
                                                                              gates=["cx"])
             .add_readout(readout_error(0.01, 0.05)))
    # Qiskit's lam: Pauli error 3/4 lam (1q), 15/16 lam (2q); process infidelity = Pauli error probability
    assert gate_error(noise, Instruction("sx", (0,))) == pytest.approx(0.75 * lam)
    c = Circuit(2).rz(0.1, 0).sx(0).cx(0, 1).sx(1)
    f = calibration_features(c, noise)
    assert f == pytest.approx([3 * 0.75 * lam, 15 / 16 * 0.02, 3 * 0.75 * lam + 15 / 16 * 0.02, 0.03, 0.03])
    assert calibration_features(c, None).tolist() == [0.0] * 5
    assert circuit_features(c).tolist() == [1, 2, 0, 1, 0, 0, 4, 1, 2]


def test_circuit_graph_links_gates_along_wires():
    nodes, edges = circuit_graph(Circuit(3).sx(0).cx(0, 1).cx(1, 2).rz(0.3, 0), _noise())
    assert nodes.shape == (4, 9)
    assert sorted(map(tuple, edges.T.tolist())) == [(0, 1), (1, 2), (1, 3)]
    assert nodes[3, -3] == pytest.approx(math.cos(0.3)) and nodes[3, -1] == pytest.approx(0.01)


def test_near_clifford_keeps_the_structure_and_is_clifford():
    stim = pytest.importorskip("stim")
    c = _circuit(3)
    out = near_clifford(c, 5, fraction=(0.2, 0.6), seed=1)
    for t in out:
        assert [(i.name, i.qubits) for i in t] == [(i.name, i.qubits) for i in c]
        for inst in t:
            if inst.name == "rz":
                k = float(inst.params[0]) / (math.pi / 2)
                assert abs(k - round(k)) < 1e-12
    # Clifford: Stim reproduces qtandem's exact probabilities
    from qtandem import probabilities

    t = out[0]
    sc = stim.Circuit()
    names = {1: "S", 2: "Z", 3: "S_DAG"}
    for inst in t:
        if inst.name == "rz":
            k = round(float(inst.params[0]) / (math.pi / 2)) % 4
            if k:
                sc.append(names[k], list(inst.qubits))
        else:
            sc.append({"sx": "SQRT_X", "cx": "CX"}[inst.name], list(inst.qubits))
    sv = stim.TableauSimulator()
    sv.do_circuit(sc)
    p0 = float(probabilities(t)[0])  # P(all qubits read 0)
    psi = sv.state_vector(endian="little")
    assert p0 == pytest.approx(abs(psi[0]) ** 2, abs=1e-9)


# -- the method ----------------------------------------------------------------------------------------------------
def test_mlqem_beats_raw_on_same_structure_circuits():
    noise = _noise()
    train = [_circuit(100 + k) for k in range(4)]
    method = mlqem("forest", training=train, n_train=32, train_shots=4000, seed=0)
    errs_raw, errs_mit = [], []
    for k in range(4):
        c = _circuit(200 + k)
        res = execute(c, "Z0 Z1", simulator_executor(noise, seed=k), methods=[readout(), method], shots=20000,
                      seed=k, noise=noise)
        exact = float(np.real(__import__("qtandem").expval(c, "Z0 Z1")))
        errs_raw.append(abs(res.raw - exact))
        errs_mit.append(abs(res.value - exact))
        assert res.refused is None
        assert res.shots_used == 20000
        assert res.stderr > 0
    assert np.mean(errs_mit) < 0.5 * np.mean(errs_raw)
    # trained once: the one-off cost was paid by the first call only
    assert len(method.fitted) == 1


def test_mlqem_refuses_a_circuit_unlike_the_training_set():
    noise = _noise()
    method = mlqem("linear", training=[_circuit(5), _circuit(8)], n_train=32, train_shots=2000, seed=0)
    run = simulator_executor(noise, seed=1)
    first = execute(_circuit(6), "Z0", run, methods=[method], shots=6000, seed=1, noise=noise)
    assert first.one_off_shots == 32 * 2000 * 2
    assert first.refused is None, first.details
    deep = _circuit(7, layers=6)  # three times the gates: far outside the training structure
    res = execute(deep, "Z0", run, methods=[method], shots=6000, seed=2, noise=noise)
    assert res.refused is not None and "out of the training distribution" in res.refused
    assert res.one_off_shots == 0  # the model was reused, not retrained
    assert res.shots_used == 6000  # every shot went to the best classical estimate
    assert abs(res.value - res.raw) < 5 * math.hypot(res.stderr, res.raw_stderr)


def test_mlqem_rejects_bad_arguments():
    with pytest.raises(ArgumentTypeError):
        mlqem("svm")
    with pytest.raises(ArgumentTypeError):
        mlqem(training=Circuit(2))
    with pytest.raises(ArgumentTypeError):
        mlqem(scales=(0.5, 1.0))
    noise = _noise()
    method = mlqem("linear", training=[Circuit(2).sx(0)], n_train=4)
    with pytest.raises(ArgumentTypeError):
        execute(Circuit(3).sx(0), "Z0", simulator_executor(noise), methods=[method], shots=100, noise=noise)


def test_mlqem_features_layout():
    f = mlqem_features([0.5, 0.25], Circuit(1).sx(0), _noise())
    assert f[:2].tolist() == [0.5, 0.25]
    assert f[2:4] == pytest.approx([0.5 * 0.01, 0.25 * 0.01])


@pytest.mark.parametrize("model", ["mlp", "gnn"])
def test_mlqem_networks_run_end_to_end(model):
    noise = _noise()
    method = mlqem(model, training=[_circuit(100 + k) for k in range(4)], n_train=32, train_shots=4000, seed=0,
                   epochs=150)
    c = _circuit(201)
    res = execute(c, "Z0 Z1", simulator_executor(noise, seed=1), methods=[readout(), method], shots=20000, seed=1,
                  noise=noise)
    exact = float(np.real(__import__("qtandem").expval(c, "Z0 Z1")))
    assert res.details["model"] == model and res.details["n_train"] == 32
    assert math.isfinite(res.details["model_rmse"])
    assert res.refused is None
    assert abs(res.value - exact) < abs(res.raw - exact) + 0.05
    assert res.stderr > 0
