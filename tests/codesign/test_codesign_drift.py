"""The hidden drifting device, the drift test and the QEC memory workload (K4, issue 20)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from qtandem.codesign.drift import DriftSpec, HiddenExecutor, drift_test, hidden_device
from qtandem.codesign.stages import WorkloadResult, make_workload
from qtandem.errors import ArgumentTypeError, ConfigError


def test_hidden_device_drifts_as_stated() -> None:
    hidden = hidden_device(10, seed=5)
    pub, act = hidden.published, hidden.actual(0)
    assert pub.num_qubits == act.num_qubits == 10
    assert sorted(pub.edges) == sorted(act.edges)
    assert len(hidden.drifted_qubits) == 3
    for q, (p, a) in enumerate(zip(pub.qubits, act.qubits, strict=True)):
        assert a.t1 == pytest.approx(0.7 * p.t1)
        assert a.t2 <= 2 * a.t1 + 1e-9
        assert a.readout_p01 == pytest.approx(min(2 * p.readout_p01, 0.25))
        assert a.readout_p10 == pytest.approx(min(2 * p.readout_p10, 0.25))
        shift = a.sx_angle_error - p.sx_angle_error
        if q in hidden.drifted_qubits:
            assert abs(shift) == pytest.approx(0.1)
            assert a.x_angle_error - p.x_angle_error == pytest.approx(2 * shift)
        else:
            assert shift == 0
    for e in pub.edges:
        moved = act.edges[e].angle_error - pub.edges[e].angle_error
        assert (abs(moved) == pytest.approx(0.05)) if e in hidden.drifted_edges else moved == 0
    # the same seed gives the same hidden device; the published calibration is untouched by actual()
    again = hidden_device(10, seed=5)
    assert again.actual(0).to_dict() == act.to_dict() and again.published.to_dict() == pub.to_dict()
    creeping = hidden_device(8, seed=1, spec=DriftSpec(creep=0.1))
    assert creeping.actual(3).qubits[0].t1 == pytest.approx(0.7 * 0.9**3 * creeping.published.qubits[0].t1)


def test_drift_spec_and_actual_refuse_bad_values() -> None:
    with pytest.raises(ConfigError, match=r"drift\.fraction"):
        DriftSpec(fraction=1.5)
    with pytest.raises(ArgumentTypeError, match="iteration"):
        hidden_device(8, seed=0).actual(-1)


def test_executor_shots_follow_the_actual_readout() -> None:
    from qtandem import Circuit

    hidden = hidden_device(8, seed=2)
    run = hidden.executor(0, seed=3)
    assert isinstance(run, HiddenExecutor)
    q = 4
    counts = run([Circuit(8, 1).measure(q, 0)], shots=20000)[0]
    p01 = hidden.actual().qubits[q].readout_p01
    # |0> read as 1 at the actual (doubled) rate, not the published one
    assert counts.get("1", 0) / 20000 == pytest.approx(p01, abs=5 * math.sqrt(p01 / 20000) + 1e-3)


def _two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    pool = (x1 + x2) / (n1 + n2)
    z = abs(x1 / n1 - x2 / n2) / math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    return 2 * (1 - NormalDist().cdf(z))


def test_binomial_and_holm_against_hand_computation() -> None:
    # common events: the two-proportion z-test; two columns -> Holm multiplies the smaller p by 2
    ref = WorkloadResult("w", 0, 0, 10000, {"e": np.array([0.2, -0.1])},
                         details={"observation_kinds": {"e": "expval"}})
    cur = WorkloadResult("w", 0, 0, 10000, {"e": np.array([0.16, -0.1])},
                         details={"observation_kinds": {"e": "expval"}})
    res = drift_test(ref, cur, alpha=0.05)
    p = _two_proportion_p(4000, 10000, 4200, 10000)     # ones = (1 - e) / 2 * shots
    assert res.tests == 2
    assert res.p_values["e[0]"] == pytest.approx(min(1.0, 2 * p), rel=1e-6)
    assert res.p_values["e[1]"] == pytest.approx(1.0)
    assert res.drifted == (2 * p < 0.05) and res.which == (["e[0]"] if res.drifted else [])


def test_rare_events_use_the_exact_conditional_test() -> None:
    from scipy import stats

    ref = {"d": np.zeros((1000, 1), dtype=bool)}
    cur = {"d": np.zeros((3000, 1), dtype=bool)}
    ref["d"][:2] = True
    cur["d"][:14] = True
    res = drift_test(ref, cur, total=False)
    exact = stats.binomtest(2, 16, 0.25).pvalue     # x1 | x1 + x2 ~ Binomial(16, 1000 / 4000)
    assert res.p_value == pytest.approx(exact, rel=0.05)


def test_no_false_alarms_above_alpha_on_correlated_columns() -> None:
    rng = np.random.default_rng(0)
    alarms, runs, alpha = 0, 300, 0.05
    for _ in range(runs):
        shared = rng.random((800, 1)) < 0.05            # a common cause fires many columns at once
        ref = (rng.random((800, 12)) < 0.03) | shared
        shared = rng.random((800, 1)) < 0.05
        cur = (rng.random((800, 12)) < 0.03) | shared
        alarms += drift_test({"d": ref}, {"d": cur}, alpha=alpha).drifted
    # family-wise rate <= alpha (Holm): 15 expected at most; 25 is 2.6 sigma above
    assert alarms <= 25


def test_qec_shots_no_false_alarm_and_drift_detected() -> None:
    hidden = hidden_device(10, seed=1)
    work = make_workload("qec_memory", distance=3, rounds=3)
    run = hidden.executor(0, seed=4)
    ref = work.run(hidden.actual(), run, shots=3000, seed=10)
    alarms = sum(drift_test(ref, work.run(hidden.actual(), run, shots=3000, seed=11 + k)).drifted for k in range(6))
    assert alarms <= 1          # alpha = 0.01: expected 0.06
    # the published device as the hardware (before the drift) vs the actual one: readout x2, T1 -30%
    before = work.run(hidden.published, HiddenExecutor(hidden.published, seed=4), shots=3000, seed=30)
    found = drift_test(before, ref)
    assert found.drifted and found.p_value < 1e-6
    assert found.which[0].startswith("det") or found.which[0] == "events[0]"


def test_qec_workload_matches_pymatching_on_the_same_shots() -> None:
    import pymatching
    import stim

    from qtandem.qec.noise_map import noisy_circuit

    hidden = hidden_device(10, seed=2)
    work = make_workload("qec_memory", distance=3, rounds=2)
    res = work.run(hidden.published, hidden.executor(0, seed=1), shots=3000, seed=9)
    # independent path: Stim sampler on the actual device's noise, PyMatching on the published DEM
    noisy = noisy_circuit(stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2),
                          hidden.actual())
    dets, obs = noisy.compile_detector_sampler(seed=9).sample(3000, separate_observables=True)
    believed = noisy_circuit(stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2),
                             hidden.published)
    matching = pymatching.Matching.from_detector_error_model(believed.detector_error_model(
        decompose_errors=True, approximate_disjoint_errors=True))
    errors = int(np.any(matching.decode_batch(dets) != obs, axis=1).sum())
    assert res.details["errors"] == errors and res.value == pytest.approx(errors / 3000)
    assert res.details["ler_low"] <= res.value <= res.details["ler_high"]
    assert res.observations["detectors"] == pytest.approx(dets.mean(axis=0))


def test_drift_test_refusals() -> None:
    with pytest.raises(ConfigError, match="alpha"):
        drift_test({"a": np.zeros(3)}, {"a": np.zeros(3)}, alpha=0)
    with pytest.raises(ConfigError, match="columns"):
        drift_test({"a": np.zeros((5, 2))}, {"a": np.zeros((5, 3))})
    with pytest.raises(ArgumentTypeError, match="no observation in both"):
        drift_test({"a": np.zeros(3)}, {"b": np.zeros(3)})
    with pytest.raises(ArgumentTypeError, match="numeric"):
        drift_test({"a": np.array(["x"])}, {"a": np.array(["y"])})
    with pytest.raises(ArgumentTypeError, match="sample_stim"):
        make_workload("qec_memory").run(hidden_device(8, seed=0).published, lambda c, s: [], shots=10, seed=0)
