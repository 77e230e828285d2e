"""Smoke tests of bench/learn.py and bench/learn_backend.py (skipped without qiskit-experiments)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

pytest.importorskip("qiskit_experiments")

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from qiskit import QuantumCircuit, transpile  # noqa: E402

import learn  # noqa: E402
from learn_backend import DistributionExecutor, QtandemBackend, noise_executor, to_qtandem  # noqa: E402
from qtandem import Circuit  # noqa: E402
from qtandem.device import Device, QubitProperties  # noqa: E402
from qtandem.noise import NoiseModel, coherent_rotation  # noqa: E402


def one_qubit_device(**props: float) -> Device:
    graph = nx.Graph()
    graph.add_node(0)
    qubit = QubitProperties(t1=1e12, t2=1e12, gate_duration_1q=35.6)
    for name, value in props.items():
        setattr(qubit, name, value)
    return Device("one", 1, graph, ["sx", "x", "rz", "measure"], [qubit], {})


def test_target_publishes_native_gates_times_and_dt() -> None:
    dev = Device.preset("line_5")
    backend = QtandemBackend(dev, executor=noise_executor(dev.noise_model(), seed=0))
    target = backend.target
    assert {"sx", "x", "rz", "cx", "measure", "delay"} <= set(target.operation_names)
    assert target.dt == pytest.approx(2 / 9 * 1e-9)
    assert target.qubit_properties[2].t1 == pytest.approx(dev.qubits[2].t1 * 1e-9)
    assert target.qubit_properties[2].t2 == pytest.approx(dev.qubits[2].t2 * 1e-9)
    assert target["cx"][(1, 0)].error == pytest.approx(dev.edges[(0, 1)].error)


def test_to_qtandem_converts_delays_to_ns_and_refuses_foreign_gates() -> None:
    qc = QuantumCircuit(2, 1)
    qc.sx(0)
    qc.delay(450, 1, unit="dt")
    qc.delay(1.5, 0, unit="us")
    qc.rz(0.25, 1)
    qc.cx(0, 1)
    qc.measure(1, 0)
    c = to_qtandem(qc, dt=2e-9)
    assert [(i.name, i.qubits, i.params) for i in c if i.name == "delay"] == [
        ("delay", (1,), (pytest.approx(900.0),)), ("delay", (0,), (pytest.approx(1500.0),))]
    assert c.count_ops() == {"sx": 1, "delay": 2, "rz": 1, "cx": 1, "measure": 1}
    bad = QuantumCircuit(1)
    bad.h(0)
    with pytest.raises(ValueError, match="not native"):
        to_qtandem(bad)


def test_backend_runs_transpiled_circuits_and_counts_shots() -> None:
    dev = Device.preset("line_5")
    backend = QtandemBackend(dev, executor=DistributionExecutor(dev, seed=3))
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    counts = backend.run(transpile(qc, backend, seed_transpiler=0), shots=500).result().get_counts()
    assert sum(counts.values()) == 500
    assert counts.get("00", 0) + counts.get("11", 0) > 450
    assert backend.shots_used == 500 and backend.circuits_run == 1


def test_distribution_executor_is_seeded_and_caches() -> None:
    dev = Device.preset("line_5")
    c = Circuit(5, 2).sx(3).cx(3, 4).measure([3, 4], [0, 1])
    a, b = DistributionExecutor(dev, seed=1), DistributionExecutor(dev, seed=1)
    first = a([c], 1000)
    assert first == b([c], 1000)
    assert sum(first[0].values()) == 1000
    second = a([c, c], 1000)
    assert a.simulated == 1  # one distribution, three draws
    assert second[0] != first[0] or second[1] != first[0]


def test_gate_infidelity_of_a_pure_over_rotation_and_of_depolarizing() -> None:
    if not hasattr(QubitProperties(t1=1.0, t2=1.0), "sx_angle_error"):
        pytest.skip("needs the Device angle errors of issue 15 (contract B)")
    e = 0.04
    rotated = one_qubit_device(sx_angle_error=e)
    assert learn.gate_infidelity(rotated, "sx", (0,)) == pytest.approx(2 * math.sin(e / 2) ** 2 / 3, rel=1e-6)
    depol = one_qubit_device(gate_error_1q=1e-3)
    assert learn.gate_infidelity(depol, "sx", (0,)) == pytest.approx(1e-3, rel=1e-6)


def test_shots_ratio_interpolates_log_log() -> None:
    budgets = [100, 1000, 10000, 100000]
    peer = [1 / math.sqrt(b) for b in budgets]
    ours = [p / 2 for p in peer]  # half the error: 4x fewer shots at 1/sqrt(N)
    ratios = learn.shots_ratio(budgets, peer, ours)
    assert [float(r) for r in ratios[:3]] == pytest.approx([4.0, 4.0, 4.0], rel=1e-6)
    assert ratios[3] == ">1"  # below qiskit-experiments' lowest measured error: only a bound
    flat = learn.shots_ratio(budgets, [0.1, 0.05, 0.05, 0.05], [0.05, 0.01, 0.01, 0.01])
    assert flat[0] == "10" and flat[1:] == [">100", ">10", ">1"]


def test_fine_sx_amplitude_recovers_an_over_rotation_on_the_backend() -> None:
    from qiskit_experiments.library import FineSXAmplitude

    dev = one_qubit_device()
    model = NoiseModel().add(coherent_rotation("x", 0.03), gates=["sx"]).set_ideal(["rz"])
    backend = QtandemBackend(dev, executor=noise_executor(model, seed=0))
    exp = FineSXAmplitude((0,), backend=backend)
    exp.set_run_options(shots=2000)
    data = exp.run(backend_run=True).block_for_results()
    assert learn._value(data, "d_theta") == pytest.approx(0.03, abs=0.003)
    assert backend.circuits_run == 14


def test_quick_anchor_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "learn.json"
    assert learn.main(["--quick", "--parts", "anchor", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["anchor"]
    assert [(r["gamma"], r["shots_per_circuit"]) for r in rows][:2] == [(0.0, 100), (0.0, 1000)]
    assert all(np.isfinite(r["mae"]) and r["mae"] < 0.01 for r in rows)


def test_summarize_merges_chunks_into_ratios_and_a_plot(tmp_path: Path) -> None:
    def run(seed: int, budget: int) -> dict:
        peer = {g: [1 / math.sqrt(budget)] for g in learn.GROUPS}
        ours = {g: [0.5 / math.sqrt(budget)] for g in learn.GROUPS}
        return {"seed": seed, "budget_per_parameter_set": budget,
                "qiskit": {"rel_errors": peer, "shots": 30 * budget, "seconds": 1.0},
                "qtandem": {"rel_errors": ours, "shots": 30 * budget, "seconds": 1.0}}

    files = []
    for seed in (0, 1):
        path = tmp_path / f"chunk{seed}.json"
        path.write_text(json.dumps({"runs": [run(seed, b) for b in (1000, 10000, 100000)],
                                    "loop": {"runs": [{"seed": seed, "floor_tvd": [0.02], "model_tvd": [0.025],
                                                       "ratio": [1.25]}]}}))
        files.append(str(path))
    out, png = tmp_path / "summary.json", tmp_path / "plot.png"
    assert learn.main(["--summarize", *files, "--json", str(out), "--plot", str(png)]) == 0
    summary = json.loads(out.read_text())
    t1 = summary["summary"]["groups"]["t1"]
    assert t1["error_ratio"] == pytest.approx([2.0, 2.0, 2.0])
    assert [float(r) for r in t1["shots_ratio"][:2]] == pytest.approx([4.0, 4.0], rel=1e-6)
    assert t1["shots_ratio"][2] == ">1"  # qtandem's error at 1e5 is below qiskit-experiments' range
    assert summary["loop"]["median_ratio"] == pytest.approx(1.25) and summary["loop"]["share_within_1.5"] == 1.0
    assert png.stat().st_size > 0


def test_published_device_hides_coherent_errors_only() -> None:
    dev = Device.random(5, "line", seed=3)
    pub = learn.published(dev)
    assert all(q.sx_angle_error == 0.0 and q.x_angle_error == 0.0 and q.detuning == 0.0 for q in pub.qubits)
    assert all(e.angle_error == 0.0 and e.zz == 0.0 for e in pub.edges.values()) and not pub.readout_correlations
    assert [q.t1 for q in pub.qubits] == [q.t1 for q in dev.qubits]
    assert [e.error for e in pub.edges.values()] == [e.error for e in dev.edges.values()]
    assert any(q.sx_angle_error != 0.0 for q in dev.qubits)  # the hidden device itself is untouched
