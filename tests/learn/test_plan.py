"""Characterization plans: which experiments on which qubits, running through an executor, JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtandem.device import Device
from qtandem.errors import DataError
from qtandem.learn import EXPERIMENTS, CharacterizationPlan, characterization, simulator_executor
from qtandem.learn.experiments import PAIR_EXPERIMENTS


def test_default_plan_has_every_experiment_that_applies() -> None:
    singles = characterization([0, 2])
    assert {e.name for e in singles.experiments} == set(EXPERIMENTS) - set(PAIR_EXPERIMENTS)
    plan = characterization([0, 1], pairs=[(0, 1)])
    names = [e.name for e in plan.experiments]
    assert names == sorted(names, key=EXPERIMENTS.index) and set(names) == set(EXPERIMENTS)
    assert [e.qubits for e in plan.experiments if e.name == "readout"] == [(0,), (1,), (0, 1)]
    assert plan.width == 2 and len(plan.circuits) == sum(len(e.circuits) for e in plan.experiments)
    assert [(e.name, s.stop - s.start) for e, s in plan.slices()] == [(e.name, len(e.circuits))
                                                                      for e in plan.experiments]
    plan.check()


def test_width_and_prior() -> None:
    dev = Device.preset("line_5")
    plan = characterization([3], experiments=["t1"], prior=dev)
    assert plan.width == 5 and plan.circuits[0].n_qubits == 5
    assert plan.experiments[0].xs[-1] == pytest.approx(4 * dev.qubits[3].t1)
    assert characterization([1], experiments=["t1"]).width == 2


def test_seeded_rb_sequences() -> None:
    a = characterization([0], experiments=["rb"], seed=1)
    b = characterization([0], experiments=["rb"], seed=1)
    c = characterization([0], experiments=["rb"], seed=2)
    assert a.circuits == b.circuits and a.circuits != c.circuits


def test_bad_plans_are_refused() -> None:
    with pytest.raises(DataError, match="needs pairs"):
        characterization([0], experiments=["irb"])
    with pytest.raises(DataError, match="unknown experiment 'T1'"):
        characterization([0], experiments=["T1"])
    with pytest.raises(DataError, match="distinct"):
        characterization([0, 0])
    with pytest.raises(DataError, match="pairs of distinct"):
        characterization([0], pairs=[(1, 1)])
    with pytest.raises(DataError, match="not on the coupling map"):
        characterization([0], pairs=[(0, 2)], prior=Device.preset("line_5"))


def test_run_collects_counts_per_circuit() -> None:
    plan = characterization([0, 1], pairs=[(0, 1)], experiments=["readout", "t1", "zz"])
    data = plan.run(simulator_executor(Device.preset("line_5"), seed=2), shots=300, seed=4, device_name="line_5")
    assert len(data.counts) == len(plan.circuits) and data.shots == [300] * len(plan.circuits)
    assert data.seeds == [{"plan": 0, "run": 4}] and data.device_name == "line_5"
    # readout of qubit 0: |0> reads mostly 0, |1> mostly 1
    assert data.counts[0].get("0", 0) > 270 and data.counts[1].get("1", 0) > 270
    again = plan.run(simulator_executor(Device.preset("line_5"), seed=2), shots=300, seed=4)
    assert again.counts == data.counts


def test_run_checks_what_the_executor_returns() -> None:
    plan = characterization([0], experiments=["readout"])
    with pytest.raises(DataError, match="returned 1 results for 2 circuits"):
        plan.run(lambda circuits, shots: [{"0": shots}], 10)
    with pytest.raises(DataError, match="counts add up to 9"):
        plan.run(lambda circuits, shots: [{"0": 9}, {"1": 10}], 10)
    with pytest.raises(DataError, match="shots must be a positive integer"):
        plan.run(lambda circuits, shots: [], 0)


def test_plan_json_round_trip(tmp_path: Path) -> None:
    plan = characterization([0, 1], pairs=[(0, 1)], experiments=["ramsey", "amplify_cx", "irb"], seed=3)
    path = tmp_path / "plan.json"
    plan.save(path)
    back = CharacterizationPlan.load(path)
    assert back.width == plan.width and back.seed == 3
    for a, b in zip(plan.experiments, back.experiments, strict=True):
        assert (a.name, a.qubits, a.xs, a.meta) == (b.name, b.qubits, b.xs, b.meta)
        assert [c.to_qasm(3) for c in a.circuits] == [c.to_qasm(3) for c in b.circuits]
    assert "CharacterizationPlan(" in repr(back)


def test_plan_load_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such plan file"):
        CharacterizationPlan.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DataError, match=r"bad.json:1:2: invalid JSON"):
        CharacterizationPlan.load(bad)
    d = characterization([0], experiments=["t1"]).to_dict()
    d["version"] = 99
    bad.write_text(json.dumps(d))
    with pytest.raises(DataError, match="version 99 is not supported"):
        CharacterizationPlan.load(bad)
    d = characterization([0], experiments=["t1"]).to_dict()
    d["experiments"][0]["xs"] = d["experiments"][0]["xs"][:3]
    bad.write_text(json.dumps(d))
    with pytest.raises(DataError, match="12 circuits but xs has 3 entries"):
        CharacterizationPlan.load(bad)
    d = characterization([0], experiments=["t1"]).to_dict()
    d["width"] = 3
    bad.write_text(json.dumps(d))
    with pytest.raises(DataError, match="has 1 qubits and 1 bits, expected 3"):
        CharacterizationPlan.load(bad)


def test_full_plan_runs_on_a_random_device_with_a_strict_noise_model(tmp_path: Path) -> None:
    from qtandem.learn import ShotData

    dev = Device.random(3, seed=4)
    plan = characterization([0, 1], pairs=[(0, 1)], prior=dev, n_seeds=1, seed=2)
    assert plan.width == 3 and {e.name for e in plan.experiments} == set(EXPERIMENTS)
    for circuit in plan.circuits:
        assert dev.noise_model(strict=True).check(circuit) == [] and dev.validate(circuit) == []
    data = plan.run(simulator_executor(dev, seed=1), shots=50, seed=3, device_name=dev.name)
    data.save(tmp_path / "data")
    back = ShotData.load(tmp_path / "data")
    assert back.counts == data.counts and back.device_name == dev.name
    assert [e.name for e, _, _ in back.experiments()] == [e.name for e in plan.experiments]


def test_run_with_shots_per_circuit() -> None:
    plan = characterization([0], experiments=["readout", "t1"])
    calls: list[tuple[int, int]] = []

    def executor(circuits: list, shots: int) -> list[dict[str, int]]:
        calls.append((len(circuits), shots))
        return [{"0": shots} for _ in circuits]

    shots = plan.allocate(2400)
    data = plan.run(executor, shots)
    assert data.shots == shots == [600, 600] + [100] * 12
    assert sorted(calls) == [(2, 600), (12, 100)]
    assert [sum(c.values()) for c in data.counts] == shots
    assert plan.allocate(1400, by="circuit") == [100] * 14
    for bad in ([100] * 13, [0] * 14, 2.5, "100"):
        with pytest.raises(DataError, match="shots"):
            plan.run(executor, bad)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="by must be"):
        plan.allocate(100, by="qubit")
    with pytest.raises(DataError, match="total"):
        plan.allocate(0)


def test_parallel_readout_groups_uncoupled_qubits() -> None:
    line = Device.preset("line_5")
    plan = characterization(range(5), experiments=["readout"], prior=line, readout="parallel")
    groups = [e.qubits for e in plan.experiments]
    assert groups == [(0, 2, 4), (1, 3)]
    for g in groups:
        assert not any(line.coupling_map.has_edge(a, b) for a in g for b in g if a != b)
    assert len(plan.circuits) == 4  # against 10 for one calibration per qubit
    assert len(characterization(range(5), experiments=["readout"], prior=line).circuits) == 10
    # pairs still get their joint four-state calibration; the pairs' couplings also split the groups
    plan = characterization([0, 1, 2], pairs=[(0, 2)], experiments=["readout"], readout="parallel")
    assert [(e.qubits, e.xs) for e in plan.experiments] == [((0, 1), [0, 3]), ((2,), [0, 1]), ((0, 2), [0, 1, 2, 3])]
    with pytest.raises(DataError, match="readout must be"):
        characterization([0], readout="joint")
