"""Adaptive design (plan.adapt): the greedy D-optimal allocation and its gain over a fixed plan.

The gain is measured on a one-parameter toy (P(1) after a delay x is exp(-x / T1), the Fisher
information in closed form, the fit by maximum likelihood on a grid) where everything is cheap
enough for 40 seeds; test_adapt_calibrate runs the real pipeline.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from qtandem.errors import DataError
from qtandem.learn.adapt import adapt, candidate_xs, d_optimal_allocation


class Exp(SimpleNamespace):
    """A stand-in Experiment whose circuits are their delays."""

    def with_xs(self, xs):
        return Exp(name=self.name, qubits=self.qubits, xs=list(xs), circuits=list(xs), meta={})


def _plan(xs):
    return SimpleNamespace(experiments=[Exp(name="t1", qubits=[0], xs=list(xs), circuits=list(xs), meta={})])


def _fisher_at(t1):
    def fisher(circuits, shots):
        out = torch.zeros(1, 1, dtype=torch.float64)
        for x in circuits:
            p = min(max(math.exp(-x / t1), 1e-12), 1 - 1e-12)
            out += shots * (p * x / t1**2) ** 2 / (p * (1 - p))
        return out
    return fisher


def _run(xs, shots, t1, rng):
    return [int(k) for k in rng.binomial(shots, np.exp(-np.asarray(xs) / t1))]


def _fit(xs, ones, shots):
    grid = np.geomspace(1e3, 1e7, 4001)
    p = np.exp(-np.asarray(xs)[None, :] / grid[:, None]).clip(1e-12, 1 - 1e-12)
    k = np.asarray(ones)
    ll = (k * np.log(p) + (shots - k) * np.log(1 - p)).sum(1)
    return float(grid[int(np.argmax(ll))])


def test_candidate_grids():
    assert candidate_xs([]) == []
    assert candidate_xs([0.0, 0.0]) == [0.0]
    delays = candidate_xs([100.0, 1000.0], points=5)
    assert delays[0] == 100.0 and delays[-1] == pytest.approx(3000.0) and len(delays) == 5
    lengths = candidate_xs([0, 2, 8], points=6)
    assert lengths[0] == 0 and lengths[-1] == 16 and all(isinstance(n, int) for n in lengths)
    assert candidate_xs(["1", "0", "1"]) == ["1", "0"]


def test_one_parameter_goes_to_the_most_informative_candidate():
    t1 = 100.0
    xs = candidate_xs([5.0, 50.0, 300.0], points=30)
    per_shot = torch.stack([_fisher_at(t1)([x], 1) for x in xs])
    counts = d_optimal_allocation(torch.eye(1), per_shot, slots=7, shots=50)
    assert sum(counts) == 7
    best = xs[int(torch.argmax(per_shot.reshape(-1)))]
    assert counts[xs.index(best)] == 7
    assert 1.3 < best / t1 < 1.9  # the known optimum of exponential decay: x = 1.59 T1


def test_d_optimal_favours_the_parameter_known_least():
    cands = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    counts = d_optimal_allocation(torch.diag(torch.tensor([1000.0, 10.0])), cands, slots=3, shots=10)
    assert counts == [0, 3]  # info 1000 vs 10: three slots (30) still leave the second parameter behind


def test_bad_budgets_and_shapes_are_clear_errors():
    plan = _plan([10.0])
    cal = SimpleNamespace(values={"q0.t1": 100.0}, data=SimpleNamespace(shots=100, plan=plan))
    with pytest.raises(DataError, match="buys no circuit"):
        adapt(plan, cal, budget_shots=50, fisher=_fisher_at(100.0))
    with pytest.raises(DataError, match="shape"):
        d_optimal_allocation(torch.eye(2), torch.ones(3, 1, 1), slots=1, shots=1)
    bogus = SimpleNamespace(width=1, experiments=[SimpleNamespace(name="bogus", qubits=[0], xs=[1.0], circuits=[])])
    with pytest.raises(DataError, match="unknown experiment 'bogus'"):
        adapt(bogus, cal, budget_shots=500, fisher=_fisher_at(100.0))
    with pytest.raises(DataError, match="costs"):
        d_optimal_allocation(torch.eye(1), torch.ones(2, 1, 1), slots=1, shots=1, costs=[1, 0])


def test_two_adaptive_rounds_beat_the_same_shots_on_the_initial_plan():
    """Initial plan: delays far below T1 (a poor prior). 40 seeds, 1,200 shots per method.

    Measured (this test's numbers): median relative T1 error 0.041 adaptive vs 0.082 repeated
    initial plan (2.0x lower).
    """
    t1, shots = 80e3, 100
    xs0 = [1e3, 2e3, 4e3, 8e3]
    errs_adapt, errs_fixed = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        # fixed: the initial plan three times over
        ones = _run(xs0 * 3, shots, t1, rng)
        errs_fixed.append(abs(_fit(xs0 * 3, ones, shots) - t1) / t1)
        # adaptive: the initial plan, then two rounds of the same budget chosen by adapt
        xs, ones = list(xs0), _run(xs0, shots, t1, rng)
        plan = _plan(xs0)
        for _ in range(2):
            fit = _fit(xs, ones, shots)
            cal = SimpleNamespace(values={"q0.t1": fit}, data=SimpleNamespace(shots=shots, plan=_plan(xs)))
            plan = adapt(plan, cal, budget_shots=len(xs0) * shots, fisher=_fisher_at(fit))
            new = plan.experiments[0].xs
            xs, ones = xs + new, ones + _run(new, shots, t1, rng)
        assert len(xs) == 12
        errs_adapt.append(abs(_fit(xs, ones, shots) - t1) / t1)
    med_a, med_f = float(np.median(errs_adapt)), float(np.median(errs_fixed))
    assert med_a < 0.7 * med_f, (med_a, med_f)


CASES = [("line_5", q) for q in range(5)] + [("heavy_hex_27", q) for q in (0, 5, 10)]


def _relative_errors(cal, dev, q):
    truth = {f"q{q}.t1": dev.qubits[q].t1, f"q{q}.readout_p01": dev.qubits[q].readout_p01,
             f"q{q}.readout_p10": dev.qubits[q].readout_p10}
    return [abs(cal.values[k] - v) / v for k, v in truth.items()]


def _adaptive_vs_fixed(cases, shots=200):
    """Median relative error (T1, readout p01, p10) of two adaptive rounds and of the initial plan
    run three times, each with the same total shots, on preset devices fitted with the typical prior."""
    from qtandem.device import Device
    from qtandem.device.executors import simulator_executor
    from qtandem.learn.calibrate import calibrate
    from qtandem.learn.plan import characterization

    errs_adapt, errs_fixed = [], []
    for k, (name, q) in enumerate(cases):
        dev = Device.preset(name)
        plan = characterization([q], experiments=["readout", "t1"], seed=k)
        budget = shots * len(plan.circuits)
        run = simulator_executor(dev, seed=k)
        fixed = plan.run(run, shots, seed=1)
        for r in (2, 3):
            fixed = fixed.merge(plan.run(run, shots, seed=r))
        errs_fixed += _relative_errors(calibrate(fixed, restarts=1, seed=k), dev, q)
        data = plan.run(run, shots, seed=4)
        current = plan
        for r in (5, 6):
            cal = calibrate(data, restarts=1, seed=k)
            current = current.adapt(cal, budget_shots=budget, seed=r)
            data = data.merge(current.run(run, shots, seed=r))
        assert sum(data.shots) == 3 * budget == sum(fixed.shots)
        errs_adapt += _relative_errors(calibrate(data, restarts=1, seed=k), dev, q)
    return float(np.median(errs_adapt)), float(np.median(errs_fixed))


@pytest.mark.slow
def test_two_adaptive_rounds_beat_the_initial_plan_on_real_fits():
    """8 qubits of two presets, 2 x 14 x 200 adaptive shots after a 2,800-shot start.

    Measured (14:30 UTC, 137 s, candidate grids over every x used so far): median relative error of
    T1, readout p01 and p10 over the 8 qubits 0.045 after two adaptive rounds against 0.234 for the
    initial plan run three times (5.2x lower; 0.053 vs 0.165 at 14:00 with round-2 grids around round 1).
    """
    med_a, med_f = _adaptive_vs_fixed(CASES)
    assert med_a < 0.85 * med_f, (med_a, med_f)


def test_adapt_on_a_real_calibration_returns_a_runnable_plan():
    from qtandem.device import Device
    from qtandem.device.executors import simulator_executor
    from qtandem.learn.calibrate import calibrate
    from qtandem.learn.plan import CharacterizationPlan, characterization

    dev = Device.preset("line_5")
    plan = characterization([2], experiments=["readout", "t1"], seed=0)
    run = simulator_executor(dev, seed=0)
    data = plan.run(run, 200, seed=1)
    cal = calibrate(data, restarts=1)
    new = plan.adapt(cal, budget_shots=200 * 10 + 150, seed=2)
    assert isinstance(new, CharacterizationPlan) and new.width == plan.width
    assert len(new.circuits) == 10  # 2,150 shots buy 10 circuits of 200
    by_name = {e.name: e for e in new.experiments}
    assert set(by_name["readout"].xs) <= {0, 1}
    t1 = cal.values["q2.t1"]
    assert all(0.5 * t1 < x < 3 * t1 for x in by_name["t1"].xs), (t1, by_name["t1"].xs)  # optimum near 1.6 T1
    merged = data.merge(new.run(run, 200, seed=3))
    assert len(merged.counts) == len(plan.circuits) + 10
