"""calibrate: fits recover known parameters within their stated uncertainties; Calibration I/O; errors."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.device import Device
from qtandem.errors import DataError
from qtandem.learn import characterization, layout_prior, simulator_executor
from qtandem.learn.calibrate import Calibration, calibrate, model_parameters, typical_device
from qtandem.learn.likelihood import parse_param


def _hidden(n: int, seed: int) -> Device:
    """A hidden random device without correlated readout (its 4x4 matrices are not fitted)."""
    dev = Device.random(n, seed=seed)
    dev.readout_correlations = {}
    return dev


def _truth(device: Device, name: str) -> float:
    kind, where, field = parse_param(name)
    obj = device.qubits[where] if kind == "q" else device.edges[where]  # type: ignore[index]
    return float(getattr(obj, field))


def _fit(n: int, seed: int, experiments: list[str], *, shots: int = 1000, pairs: bool = False,
         **kwargs) -> tuple[Device, Calibration]:
    true = _hidden(n, seed)
    plan = characterization(list(range(n)), pairs=[(0, 1)] if pairs else None, experiments=experiments,
                            seed=seed, width=n)
    data = plan.run(simulator_executor(true, seed=seed), shots=shots, seed=seed)
    return true, calibrate(data, prior=layout_prior(true), seed=seed, **kwargs)


def _z_scores(true: Device, cal: Calibration) -> dict[str, float]:
    return {n: (v - _truth(true, n)) / cal.stderr[n] for n, v in cal.values.items() if n not in cal.uninformed}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_qubit_fit_within_three_sigma(seed):
    # T1, T2, detuning, sx and x over-rotations (with amplitude damping present), readout: jointly
    true, cal = _fit(1, seed, ["readout", "t1", "ramsey", "echo", "amplify_sx", "amplify_x"], restarts=1)
    assert set(cal.values) == {"q0.readout_p01", "q0.readout_p10", "q0.t1", "q0.t2", "q0.detuning",
                               "q0.sx_angle_error", "q0.x_angle_error", "q0.gate_error_1q"}
    assert set(cal.uninformed) <= {"q0.gate_error_1q"}  # below the relaxation floor it changes nothing
    z = _z_scores(true, cal)
    assert all(abs(v) < 3 for v in z.values()), z
    assert abs(cal.values["q0.sx_angle_error"] - _truth(true, "q0.sx_angle_error")) < 2e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_pair_fit_recovers_zz_and_cx_over_rotation(seed):
    true, cal = _fit(2, seed, ["readout", "t1", "ramsey", "echo", "amplify_sx", "zz", "amplify_cx"],
                     pairs=True, restarts=1)
    assert {"e0-1.zz", "e0-1.angle_error"} <= set(cal.values)
    z = _z_scores(true, cal)
    assert all(abs(v) < 3.5 for v in z.values()), z  # 20 parameters: 3.5 sigma keeps the family-wise rate low


def test_over_rotation_with_amplitude_damping():
    """The case qiskit-experiments' FineSXAmplitude gets wrong: it has no damping in its model (its error floor at
    10,000 shots is ~9e-4 rad, issue 15). The angle is off the profile grid (multiples of 0.0075): with 0.03 this test
    passed while the fit stayed at its start (the T2-prior bug fixed with test_t1_fit_below_...)."""
    true = _hidden(1, 7)
    q = true.qubits[0]
    q.sx_angle_error, q.t1, q.t2, q.gate_error_1q = 0.0331, 20e3, 30e3, 2e-3  # strong damping per sx
    # echo fits T2: an unfitted T2 (prior 2 T1 = 40 us against the true 30 us) biases the angle by ~10 sigma
    plan = characterization([0], experiments=["readout", "t1", "echo", "amplify_sx"], width=1)
    data = plan.run(simulator_executor(true, seed=3), shots=10_000, seed=3)
    # restarts=3 (the default): with one start the fit can end in the other basin (angle 0.0307 and no gate error
    # above the relaxation floor, 10 NLL units worse)
    cal = calibrate(data, prior=layout_prior(true), restarts=3)
    err = cal.values["q0.sx_angle_error"] - 0.0331
    assert abs(err) < 3 * cal.stderr["q0.sx_angle_error"]
    assert abs(err) < 9e-4


def test_t1_fit_below_an_unfitted_prior_t2_over_two():
    """Regression: with no Ramsey/echo data T2 comes from the prior; when the fitted T1 fell below T2_prior / 2 the
    likelihood raised (T2 > 2 T1) and the optimizer silently stayed at its starting grid (the damping benchmark's
    sx angles were grid values, identical at 1e5 and 1e6 shots)."""
    true = _hidden(1, 7)
    q = true.qubits[0]
    q.sx_angle_error, q.t1, q.t2 = 0.0391, 17.8e3, 35.6e3  # T2 = 2 T1: relaxation is all the decoherence
    prior = layout_prior(true)
    prior.qubits[0].t1, prior.qubits[0].t2 = 25e3, 50e3  # the prior's T1 is above the truth
    plan = characterization([0], experiments=["readout", "t1", "amplify_sx"], width=1, prior=prior)
    data = plan.run(simulator_executor(true, seed=5), shots=20_000, seed=5)
    cal = calibrate(data, prior=prior, restarts=1)
    assert cal.values["q0.t1"] < 25e3 / 1.2  # moved well below the prior
    err = cal.values["q0.sx_angle_error"] - 0.0391
    assert abs(err) < 3 * cal.stderr["q0.sx_angle_error"] and abs(err) < 1e-3
    assert cal.device().qubits[0].t2 <= 2 * cal.device().qubits[0].t1


def test_one_experiment_model_restricts_the_parameters():
    true = _hidden(1, 2)
    plan = characterization([0], experiments=["readout", "t1", "echo"], width=1)
    data = plan.run(simulator_executor(true, seed=2), shots=500, seed=2)
    cal = calibrate(data, model="t1", prior=layout_prior(true), restarts=1)
    assert list(cal.values) == ["q0.readout_p01", "q0.readout_p10", "q0.t1"]
    assert cal.model == "t1"
    assert len(cal.data.counts) == len(data.counts)  # the Calibration keeps all the data
    with pytest.raises(DataError, match="model 'ramsey'"):
        calibrate(data, model="ramsey")


def _readout_data(counts: list[dict[str, int]], states: list[int]) -> SimpleNamespace:
    circuits = [Circuit(1, 1).x(0).measure(0, 0) if s else Circuit(1, 1).measure(0, 0) for s in states]
    exp = SimpleNamespace(name="readout", qubits=(0,), circuits=circuits, xs=states, meta={})
    return SimpleNamespace(plan=SimpleNamespace(experiments=[exp], circuits=circuits), counts=counts,
                           shots=[sum(c.values()) for c in counts], seeds=[0] * len(counts))


def test_uninformed_parameters_are_reported():
    data = _readout_data([{"0": 950, "1": 50}], [0])  # only |0> prepared: p10 is not informed
    cal = calibrate(data, restarts=1)
    assert cal.uninformed == ["q0.readout_p10"]
    assert math.isinf(cal.stderr["q0.readout_p10"])
    assert cal.values["q0.readout_p01"] == pytest.approx(0.05, abs=1e-3)
    assert cal.stderr["q0.readout_p01"] == pytest.approx(math.sqrt(0.05 * 0.95 / 1000), rel=0.02)


def test_bootstrap_agrees_with_the_hessian():
    data = _readout_data([{"0": 940, "1": 60}, {"0": 80, "1": 920}], [0, 1])
    cal = calibrate(data, restarts=2, bootstrap=30, seed=1)
    assert cal.bootstrap_stderr is not None
    for name in ("q0.readout_p01", "q0.readout_p10"):
        assert cal.bootstrap_stderr[name] == pytest.approx(cal.stderr[name], rel=0.35)
    again = calibrate(data, restarts=2, bootstrap=30, seed=1)
    assert again.bootstrap_stderr == cal.bootstrap_stderr  # seeded


def test_json_round_trip(tmp_path):
    _, cal = _fit(1, 4, ["readout", "t1"], shots=300, restarts=1)
    path = tmp_path / "device.json"
    cal.to_json(path)
    raw = json.loads(path.read_text())
    assert raw["schema"] == "qtandem.device" and raw["version"] == 2
    assert raw["qubits"][0]["t1"] == pytest.approx(cal.values["q0.t1"])
    info = raw["extra"]["calibration"]
    assert info["data"]["experiments"] == [{"name": "readout", "qubits": [0]}, {"name": "t1", "qubits": [0]}]
    back = Calibration.from_json(path)
    assert back.values == cal.values and back.stderr == cal.stderr and back.nll == pytest.approx(cal.nll)
    assert back.data is None
    assert back.device().qubits[0].t1 == pytest.approx(cal.values["q0.t1"])
    c = Circuit(1, 1).x(0).delay(5000.0, 0).measure(0, 0)
    np.testing.assert_allclose(back.predict([c])[0].numpy(), cal.predict([c])[0].numpy(), atol=1e-12)


def test_from_json_refuses_a_plain_device(tmp_path):
    path = tmp_path / "plain.json"
    Device.preset("line_5").to_json(path)
    with pytest.raises(DataError, match="extra.calibration"):
        Calibration.from_json(path)


def test_argument_errors():
    data = _readout_data([{"0": 950, "1": 50}], [0])
    with pytest.raises(DataError, match="restarts"):
        calibrate(data, restarts=0)
    with pytest.raises(DataError, match="no coupling"):
        model_parameters([("zz", (0, 2))], "full", Device.preset("line_5"))
    with pytest.raises(DataError, match="unknown experiment"):
        model_parameters([("t3", (0,))], "full", Device.preset("line_5"))


@pytest.mark.slow
def test_one_sigma_coverage_over_twenty_fits():
    """About 68% of the 1-sigma intervals contain the truth (20 fits x 7 parameters)."""
    inside, total = 0, 0
    for seed in range(20):
        true, cal = _fit(1, 100 + seed, ["readout", "t1", "ramsey", "echo", "amplify_sx", "amplify_x"],
                         shots=500, restarts=1)
        z = _z_scores(true, cal)
        inside += sum(abs(v) < 1 for v in z.values())
        total += len(z)
    assert 0.55 <= inside / total <= 0.80, inside / total


def test_parameters_without_a_common_circuit_share_hessian_columns():
    from qtandem.learn.calibrate import _colors, _hessian, _Objective, _sparsity, _Transform
    from qtandem.learn.likelihood import LikelihoodModel

    circuits = [Circuit(2, 1).measure(0, 0), Circuit(2, 1).x(0).measure(0, 0),
                Circuit(2, 1).measure(1, 0), Circuit(2, 1).x(1).measure(1, 0)]
    counts = [{"0": 950, "1": 50}, {"0": 30, "1": 970}, {"0": 900, "1": 100}, {"0": 60, "1": 940}]
    names = ["q0.readout_p01", "q0.readout_p10", "q1.readout_p01", "q1.readout_p10"]
    lik = LikelihoodModel(names, typical_device(2), [0, 1])
    obj, tr = _Objective(lik, circuits, counts), _Transform(lik)
    assert _colors(_sparsity(obj, tr)) == [[0, 2], [1, 3]]
    theta = lik.encode({"q0.readout_p01": 0.05, "q0.readout_p10": 0.03, "q1.readout_p01": 0.1,
                        "q1.readout_p10": 0.06})
    hess = _hessian(obj, tr, tr.unphys(theta))
    assert float(hess[0, 2]) == 0.0 and float(hess[1, 3]) == 0.0
    assert float(hess[0, 0]) == pytest.approx(1000 / (0.05 * 0.95), rel=1e-3)
    assert float(hess[2, 2]) == pytest.approx(1000 / (0.1 * 0.9), rel=1e-3)


def test_saved_and_loaded_data_fit_the_same(tmp_path):
    from qtandem.learn import ShotData

    true = _hidden(1, 6)
    plan = characterization([0], experiments=["readout", "ramsey"], width=1)
    data = plan.run(simulator_executor(true, seed=6), shots=400, seed=6)
    data.save(tmp_path / "data")
    loaded = ShotData.load(tmp_path / "data")
    a = calibrate(data, prior=layout_prior(true), restarts=1)
    b = calibrate(loaded, prior=layout_prior(true), restarts=1)
    for name, value in a.values.items():
        assert b.values[name] == pytest.approx(value, rel=1e-6, abs=1e-12)


def test_correlated_readout_is_measured_not_misfitted():
    """A joint confusion matrix (not a product of per-qubit errors) on the pair: the pair readout
    experiment measures it, and the other parameters stay within their errors."""
    true = _hidden(2, 3)
    true.readout_correlations = {(0, 1): [[0.95, 0.02, 0.03, 0.005], [0.02, 0.95, 0.0, 0.04],
                                          [0.03, 0.0, 0.93, 0.035], [0.0, 0.03, 0.04, 0.92]]}
    plan = characterization([0, 1], pairs=[(0, 1)], experiments=["readout", "t1", "ramsey", "zz", "amplify_cx"],
                            seed=3, width=2)
    data = plan.run(simulator_executor(true, seed=3), shots=2000, seed=3)
    cal = calibrate(data, prior=layout_prior(true), restarts=1)
    measured = np.array(cal.device().readout_correlations[(0, 1)])
    assert np.abs(measured - np.array(true.readout_correlations[(0, 1)])).max() < 0.02
    z = _z_scores(true, cal)
    assert all(abs(v) < 3.5 for v in z.values()), z


def test_parallel_readout_groups_are_fitted_per_qubit():
    # three uncoupled qubits read together from |000> and |111>: each qubit's two readout errors
    # (and T1) come out within 3 sigma, as from one calibration per qubit
    true = _hidden(3, 4)
    true.coupling_map.remove_edges_from(list(true.coupling_map.edges()))
    true.edges = {}
    prior = layout_prior(true)
    plan = characterization([0, 1, 2], experiments=["readout", "t1"], prior=prior, readout="parallel")
    assert [e.qubits for e in plan.experiments][:1] == [(0, 1, 2)]
    data = plan.run(simulator_executor(true, seed=3), plan.allocate(60_000), seed=3)
    cal = calibrate(data, prior=prior, seed=3, restarts=1)
    assert {n for n in cal.values if "readout" in n} == {f"q{q}.readout_p{s}" for q in range(3) for s in ("01", "10")}
    z = _z_scores(true, cal)
    assert all(abs(v) < 3 for v in z.values()), z
