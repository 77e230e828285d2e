"""Hardware what-if (issue 20 section 2): parameter paths, workloads, autograd sensitivities against
central finite differences and closed forms, and the first-order check."""

from __future__ import annotations

import math

import pytest

from qtandem import Circuit
from qtandem.codesign import Workload, device_parameters, sensitivity, with_parameters
from qtandem.codesign.params import _set
from qtandem.codesign.sensitivity import DIFFERENTIABLE_FIELDS, SELECTED_POWERS, _error_floor, kendall_tau
from qtandem.device import Device
from qtandem.errors import ConfigError


def _one_qubit(t1: float = 20_000.0, t2: float = 15_000.0, p01: float = 0.02, p10: float = 0.05) -> Device:
    return Device.from_dict({"schema": "qtandem.device", "version": 2, "name": "q1", "num_qubits": 1,
                             "native_gates": ["x", "sx", "rz", "measure"],
                             "qubits": [{"t1": t1, "t2": t2, "readout_p01": p01, "readout_p10": p10,
                                         "gate_duration_1q": 500.0}]})


# -- parameter paths ----------------------------------------------------------------------------------
def test_paths_cover_every_number_and_round_trip():
    dev = Device.random(3, "line", seed=4)
    params = device_parameters(dev)
    doc = dev.to_dict()
    assert params["qubits.2.t1"] == doc["qubits"][2]["t1"]
    assert params["edges.1-2.zz"] == doc["edges"][1]["zz"]
    (pair, matrix), = [(c["qubits"], c["matrix"]) for c in doc["readout_correlations"]][:1]
    assert params[f"readout_correlations.{pair[0]}-{pair[1]}.3.0"] == matrix[3][0]
    # every number of the qubit and edge records is there
    assert sum(p.startswith("qubits.") for p in params) == 3 * len(doc["qubits"][0])
    assert sum(p.startswith("edges.") for p in params) == 2 * (len(doc["edges"][0]) - 2)  # minus qubits, gate
    new = with_parameters(dev, {"qubits.1.t2": 1000.0, "edges.0-1.error": 0.02})
    assert device_parameters(new) == {**params, "qubits.1.t2": 1000.0, "edges.0-1.error": 0.02}
    assert dev.qubits[1].t2 == params["qubits.1.t2"]  # the input is not changed


@pytest.mark.parametrize(("path", "message"), [
    ("qubits.7.t1", "qubit '7' is not in 0..2"),
    ("qubits.0.t3", "unknown qubit field 't3'"),
    ("edges.0-2.error", "no coupling '0-2'"),
    ("edges.01.error", "expected a coupling 'a-b'"),
    ("edges.0-1.gate", "unknown edge field 'gate'"),
    ("readout_correlations.0-1.4.0", None),
    ("t1", "is not one of 'qubits.<q>.<field>'"),
])
def test_bad_paths_are_refused_by_name(path, message):
    dev = Device.random(3, "line", seed=4)
    with pytest.raises(ConfigError, match=repr(path).replace(".", r"\.").replace("'", "'")) as err:
        with_parameters(dev, {path: 1.0})
    if message:
        assert message in str(err.value)


def test_bad_values_are_refused():
    dev = Device.random(2, "line", seed=0)
    with pytest.raises(ConfigError, match="T2 .* must be <= 2 T1"):
        with_parameters(dev, {"qubits.0.t2": 3 * dev.qubits[0].t1})
    with pytest.raises(ConfigError, match="'qubits.0.t1': expected a number"):
        with_parameters(dev, {"qubits.0.t1": "long"})


# -- workloads: closed forms --------------------------------------------------------------------------
def test_workload_metrics_match_closed_forms():
    t1, t2, p01, p10 = 20_000.0, 15_000.0, 0.02, 0.05
    dev = _one_qubit(t1, t2, p01, p10)
    excited = math.exp(-500.0 / t1)  # x then relaxation for the gate time
    success = Workload(Circuit(1, 1).x(0).measure(0, 0), "success").evaluate(dev)
    assert success == pytest.approx(excited * (1 - p10) + (1 - excited) * p01, rel=1e-12)
    assert Workload(Circuit(1).x(0), "fidelity").evaluate(dev) == pytest.approx(excited, rel=1e-12)
    err = Workload(Circuit(1).x(0), "expval", "Z0").evaluate(dev)   # <Z> = 1 - 2 P(1), ideal -1
    assert err == pytest.approx(abs((1 - 2 * excited) + 1), rel=1e-12)
    assert not Workload(Circuit(1).x(0), "expval", "Z0").higher_is_better


def test_workload_refuses_bad_input():
    with pytest.raises(ConfigError, match="needs an observable"):
        Workload(Circuit(1).x(0), "expval")
    with pytest.raises(ConfigError, match="no mid-circuit measurement"):
        Workload(Circuit(1, 1).measure(0, 0).x(0), "success")
    with pytest.raises(ConfigError, match="acts on 3 qubits"):
        Workload(Circuit(2).h(0), "expval", "Z2")
    from qtandem import Parameter

    with pytest.raises(ConfigError, match="1 free: theta"):
        Workload(Circuit(1).rx(Parameter("theta"), 0))


def test_workload_compiles_for_the_device_and_keeps_the_program():
    dev = Device.random(4, "line", seed=1)
    work = Workload(Circuit(3).h(0).cx(0, 2), "expval", "Z0 Z2")   # h and a non-adjacent cx: compiled
    prog = work.program(dev)
    assert dev.validate(prog.circuit) == []
    better = with_parameters(dev, {p: 0.0 for p in device_parameters(dev) if p.endswith(".error")})
    assert work.program(better) is prog
    assert 0 < work.evaluate(better) < work.evaluate(dev)


# -- gradients against central finite differences ----------------------------------------------------
CASES = [
    ("fidelity", Circuit(3).h(0).cx(0, 1).cx(1, 2).sx(2), None, "line"),
    ("success", Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).x(0).measure([0, 1, 2], [0, 1, 2]), None, "ring"),
    ("expval", Circuit(2).h(0).cx(0, 1).sx(1), "Z0 Z1 + 0.5 X0", "line"),
]


def _check_against_differences(metric, circuit, observable, coupling, *, every: bool):
    dev = Device.random(circuit.n_qubits, coupling, seed=7)
    work = Workload(circuit, metric, observable)
    sens = sensitivity(work, dev)
    assert set(sens.gradients) == {p for p in device_parameters(dev)
                                   if p.rsplit(".", 1)[-1] in DIFFERENTIABLE_FIELDS or p.startswith("readout_corr")}
    assert sens.value == pytest.approx(work.evaluate(dev), abs=1e-14)
    # a joint readout matrix moves as a whole: the derivative along its group change (column sums kept)
    for pair in dev.readout_correlations:
        group = f"readout_correlations.{pair[0]}-{pair[1]}"
        step = 1e-4
        up, down = sens.change(group, step), sens.change(group, -step)
        fd = (work.evaluate(_set(dev, up)) - work.evaluate(_set(dev, down))) / 2
        analytic = (sens.predict(up) - sens.predict(down)) / 2
        assert analytic == pytest.approx(fd, rel=1e-5, abs=1e-13), group
    paths = [p for p in sens.values if not p.startswith("readout_corr")]
    if not every:  # one number of each field, on the middle qubit / first coupling (most of them are active)
        q = circuit.n_qubits // 2
        paths = [p for p in paths if p.startswith((f"qubits.{q}.", "edges.0-1."))]
    checked = 0
    for path in paths:
        value = sens.values[path]
        h = 1e-4 * abs(value) if value else 1e-7
        up = work.evaluate(_set(dev, {path: value + h}))
        down = work.evaluate(_set(dev, {path: value - h}))
        fd = (up - down) / (2 * h)
        g = sens.gradients[path]
        if abs(fd) > 1e-6 / max(abs(value), 1e-3):   # above finite-difference round-off
            assert g == pytest.approx(fd, rel=1e-5), path
            checked += 1
        else:
            assert abs(g - fd) < 1e-6 / max(abs(value), 1e-3), path
    return checked


@pytest.mark.parametrize(("metric", "circuit", "observable", "coupling"), CASES, ids=[c[0] for c in CASES])
def test_gradients_match_central_differences(metric, circuit, observable, coupling):
    assert _check_against_differences(metric, circuit, observable, coupling, every=False) >= 4


@pytest.mark.slow
@pytest.mark.parametrize(("metric", "circuit", "observable", "coupling"), CASES, ids=[c[0] for c in CASES])
def test_gradients_match_central_differences_every_parameter(metric, circuit, observable, coupling):
    assert _check_against_differences(metric, circuit, observable, coupling, every=True) >= 10


# -- ranking and the first-order check ---------------------------------------------------------------
def test_ranking_and_check_against_resimulation():
    dev = Device.random(3, "line", seed=2)
    sens = sensitivity(Workload(Circuit(3).h(0).cx(0, 1).cx(1, 2)), dev)
    ranked = sens.ranking()
    assert [g for _, g in ranked] == sorted((g for _, g in ranked), reverse=True)
    report = sens.check(top=5)
    assert len(report.rows) == 10 and not math.isnan(report.kendall_tau)
    for row in report.rows:
        actual = sens.workload.evaluate(_set(dev, row["updates"])) - sens.value
        assert row["actual"] == pytest.approx(actual, abs=1e-15)
        # the depolarizing parts are affine in the gate errors: their first-order prediction is exact
        # for a larger error (a smaller one may cross the floor where relaxation alone exceeds the
        # calibrated error and the depolarizing probability is clamped at 0)
        if row["path"].rsplit(".", 1)[-1] in ("error", "gate_error_1q") and row["change"] > 0:
            assert row["rel_error"] < 1e-8
    # T1/T2 predicted in rates 1/T are at least as good as in T for the same re-simulated changes
    times = [p for p in sens.values if p.endswith((".t1", ".t2"))]
    for path in times[:3]:
        for frac in (0.2, -0.2):
            change = sens.change(path, frac)
            actual = sens.resimulate(change)
            in_t = abs(sens.predict(change) - actual)
            in_rates = abs(sens.predict(change, coordinates="rates") - actual)
            assert in_rates <= in_t + 1e-15


def test_change_keeps_t2_at_most_twice_t1():
    dev = with_parameters(Device.random(2, "line", seed=0), {"qubits.0.t2": 190_000.0, "qubits.0.t1": 100_000.0})
    sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev)
    assert sens.change("qubits.0.t2", 0.2) == {"qubits.0.t2": 200_000.0}
    assert sens.change("qubits.0.t1", -0.2) == {"qubits.0.t1": 80_000.0, "qubits.0.t2": 160_000.0}
    assert sens.resimulate(sens.change("qubits.0.t1", -0.2)) < 0


def test_sensitivity_refusals_and_kendall():
    dev = Device.random(2, "line", seed=0)
    with pytest.raises(ConfigError, match="durations also set the idle schedule"):
        sensitivity(Circuit(2).h(0).cx(0, 1), dev, parameters=["qubits.0.gate_duration_1q"])
    sens = sensitivity(Circuit(2).h(0).cx(0, 1), dev, parameters=["qubits.0.t1"])
    with pytest.raises(ConfigError, match="no gradient was taken"):
        sens.predict({"qubits.1.t1": 1.0})
    with pytest.raises(ConfigError, match="coordinates 'log'"):
        sens.predict({"qubits.0.t1": 1.0}, coordinates="log")
    assert kendall_tau([1, 2, 3, 4, 5], [2, 1, 3, 4, 5]) == pytest.approx(0.8)


# -- coordinates of the first-order prediction ----------------------------------------------------------
def test_power_coordinates_match_their_closed_forms():
    dev = Device.random(2, "line", seed=0)
    sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev,
                       parameters=["qubits.0.t1", "edges.0-1.zz", "edges.0-1.angle_error"])
    t1, g = sens.values["qubits.0.t1"], sens.gradients["qubits.0.t1"]
    up = {"qubits.0.t1": 1.3 * t1}
    # a power of -1 on the times is the rate 1/T; 0 is log T; a field overrides its class
    in_rates = sens.predict(up, coordinates="rates")
    assert sens.predict(up, coordinates={"times": -1}) == pytest.approx(in_rates, rel=1e-12)
    assert sens.predict(up, coordinates={"times": -1}) == pytest.approx(g * t1 * t1 * (1 / t1 - 1 / (1.3 * t1)))
    assert sens.predict(up, coordinates={"times": 0}) == pytest.approx(g * t1 * math.log(1.3))
    assert sens.predict(up, coordinates={"times": -1, "t1": 1}) == pytest.approx(g * 0.3 * t1)
    zz, gz = sens.values["edges.0-1.zz"], sens.gradients["edges.0-1.zz"]
    assert sens.predict({"edges.0-1.zz": 0.8 * zz}, coordinates={"coherent": 1.5}) == pytest.approx(
        gz * zz / 1.5 * (0.8 ** 1.5 - 1))
    assert sens.predict({"edges.0-1.zz": 0.8 * zz}, coordinates="physical") == pytest.approx(
        gz / (2 * zz) * ((0.8 * zz) ** 2 - zz * zz))
    # a sign change falls back to the file's own coordinate (a power of a negative ratio is not real)
    assert sens.predict({"edges.0-1.zz": -zz}, coordinates={"zz": 1.5}) == pytest.approx(gz * (-2 * zz))
    selected = sens.predict(up, coordinates="selected")
    assert selected == pytest.approx(sens.predict(up, coordinates=SELECTED_POWERS))
    with pytest.raises(ConfigError, match="'t3' is neither a field"):
        sens.predict(up, coordinates={"t3": 1.0})
    with pytest.raises(ConfigError, match="power of 'times' must be a finite number"):
        sens.predict(up, coordinates={"times": float("nan")})
    report = sens.check(top=2, coordinates={"times": -1})
    assert report.coordinates == {"times": -1} and len(report.rows) == 4


def test_gate_error_prediction_follows_the_relaxation_floor():
    # an edge whose calibrated error is only 10% above what relaxation during the gate gives: a -20%
    # change reaches below that floor, where the noise model clamps its depolarizing at 0
    base = Device.random(2, "line", seed=0)
    floor = _error_floor(base, "edges.0-1.error")
    dev = with_parameters(base, {"edges.0-1.error": 1.1 * floor})
    sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1).cx(0, 1).cx(0, 1)), dev, parameters=["edges.0-1.error"])
    g, err = sens.gradients["edges.0-1.error"], sens.values["edges.0-1.error"]
    assert g < 0
    down = sens.change("edges.0-1.error", -0.2)
    actual = sens.resimulate(down)
    assert abs(g * (-0.2 * err) - actual) > abs(actual)            # the plain gradient overshoots by > 2x
    assert sens.predict(down) == pytest.approx(g * (floor - err), rel=1e-12)
    assert sens.predict(down) == pytest.approx(actual, rel=0.02)   # the floor-aware one agrees
    up = sens.change("edges.0-1.error", 0.2)
    assert sens.predict(up) == pytest.approx(sens.resimulate(up), rel=0.02)
    # the floor is the error relaxation alone gives: at it the depolarizing part vanishes
    at_floor = with_parameters(base, {"edges.0-1.error": floor})
    below = with_parameters(base, {"edges.0-1.error": 0.5 * floor})
    w = Workload(Circuit(2).h(0).cx(0, 1))
    assert w.evaluate(at_floor) == pytest.approx(w.evaluate(below), abs=1e-12)
    assert w.evaluate(with_parameters(base, {"edges.0-1.error": 1.5 * floor})) < w.evaluate(at_floor) - 1e-6


# -- second order and the floor crossing (session 34) -------------------------------------------------
def test_curvatures_match_central_differences_of_the_gradient():
    dev = Device.random(3, "line", seed=2)
    work = Workload(Circuit(3).h(0).cx(0, 1).cx(1, 2).h(2))
    paths = ["edges.0-1.zz", "edges.1-2.angle_error", "qubits.0.detuning", "qubits.1.x_angle_error"]
    sens = sensitivity(work, dev, parameters=paths)
    assert set(sens.curvatures) == set(paths)  # the coherent angles by default
    assert set(sensitivity(work, dev, parameters=["qubits.0.t1"], curvature="all").curvatures) == {"qubits.0.t1"}
    assert sensitivity(work, dev, parameters=paths, curvature="none").curvatures == {}
    checked = 0
    for path in paths:
        h = 1e-4 * max(abs(sens.values[path]), 1e-3)
        g_up = sensitivity(work, with_parameters(dev, {path: sens.values[path] + h}), parameters=[path])
        g_dn = sensitivity(work, with_parameters(dev, {path: sens.values[path] - h}), parameters=[path])
        fd = (g_up.gradients[path] - g_dn.gradients[path]) / (2 * h)
        assert sens.curvatures[path] == pytest.approx(fd, rel=1e-4, abs=1e-9)
        checked += abs(sens.curvatures[path]) > 1e-3
    assert checked >= 2  # not all zero
    with pytest.raises(ConfigError, match="curvature must be"):
        sensitivity(work, dev, curvature="diagonal")


@pytest.mark.parametrize("power", [1.0, 2.0, 1.5, -1.0, 0.0])
def test_second_order_expansion_is_exact_for_a_quadratic_in_its_coordinate(power):
    # f = alpha u + beta u**2 with u = a**p (log a for p = 0): the second-order expansion in u is exact
    from qtandem.codesign.sensitivity import _second_order

    alpha, beta, old = 0.7, -3.0, 0.4
    def u(a):
        return math.log(a) if power == 0.0 else a ** power
    def du(a):
        return 1 / a if power == 0.0 else power * a ** (power - 1)
    def d2u(a):
        return -1 / a**2 if power == 0.0 else power * (power - 1) * a ** (power - 2)
    g = (alpha + 2 * beta * u(old)) * du(old)
    h = 2 * beta * du(old) ** 2 + (alpha + 2 * beta * u(old)) * d2u(old)
    for new in (0.32, 0.48, 0.8):
        exact = alpha * (u(new) - u(old)) + beta * (u(new) ** 2 - u(old) ** 2)
        assert _second_order(g, h, old, new, power) == pytest.approx(exact, rel=1e-12)
        # a negative number is expanded in its size
        assert _second_order(-g, h, -old, -new, power) == pytest.approx(exact, rel=1e-12)


def test_second_order_predicts_coherent_changes_the_first_order_misses():
    dev = Device.random(2, "line", seed=0)
    sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev, parameters=["edges.0-1.zz", "qubits.0.t1"])
    for frac in (-0.5, -0.2, 0.2, 0.5):
        change = sens.change("edges.0-1.zz", frac)
        actual = sens.resimulate(change)
        first = sens.predict(change, coordinates="selected")
        second = sens.predict(change, coordinates="second_order")
        assert abs(second - actual) < 0.02 * abs(actual) < abs(first - actual)
    # an order-2 mapping with power 1 is the plain Taylor expansion; T1 has no curvature: first order
    up = sens.change("edges.0-1.zz", 0.2)
    zz, g, h = sens.values["edges.0-1.zz"], sens.gradients["edges.0-1.zz"], sens.curvatures["edges.0-1.zz"]
    assert sens.predict(up, coordinates={"order": 2}) == pytest.approx(g * 0.2 * zz + 0.5 * h * (0.2 * zz) ** 2)
    t1 = sens.change("qubits.0.t1", 0.2)
    assert sens.predict(t1, coordinates="second_order") == pytest.approx(sens.predict(t1, coordinates="rates"))
    with pytest.raises(ConfigError, match="'order' must be 1 or 2"):
        sens.predict(up, coordinates={"order": 3})


@pytest.mark.parametrize("factor", [1.02, 0.98])
def test_time_changes_follow_a_gate_floor_that_crosses_the_error(factor):
    # an edge error 2% above (or below) what relaxation during the gate gives: a +-20% change of a
    # qubit's T1/T2 moves that floor across the error, where the depolarizing part clamps at 0
    base = Device.random(2, "line", seed=0)
    floor = _error_floor(base, "edges.0-1.error")
    dev = with_parameters(base, {"edges.0-1.error": factor * floor})
    sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1).cx(0, 1).cx(0, 1)), dev,
                       parameters=["qubits.0.t1", "qubits.0.t2", "edges.0-1.error"])
    assert (sens.gradients["edges.0-1.error"] == 0.0) == (factor < 1)       # clamped: no plain gradient
    assert ("edges.0-1.error" in sens.floor_gradients) == (factor < 1)
    crossings = 0
    for path in ("qubits.0.t1", "qubits.0.t2"):
        for frac in (-0.2, 0.2):
            change = sens.change(path, frac)
            actual = sens.resimulate(change)
            predicted = sens.predict(change, coordinates="rates")
            assert predicted == pytest.approx(actual, rel=0.01)
            plain = sum(sens.gradients[p] * (-sens.values[p] ** 2) * (1 / v - 1 / sens.values[p])
                        for p, v in change.items())
            crosses = (_error_floor(with_parameters(dev, change), "edges.0-1.error") > dev.edges[(0, 1)].error) \
                != (factor < 1)
            crossings += crosses
            if crosses:  # the gradient alone misses the kink
                assert abs(plain - actual) > 0.2 * abs(actual)
    assert crossings >= 1
    # a clamped error raised above its floor costs by the one-sided gradient
    if factor < 1:
        up = {"edges.0-1.error": 1.1 * floor}
        assert sens.predict(up) == pytest.approx(sens.resimulate(up), rel=0.02)
