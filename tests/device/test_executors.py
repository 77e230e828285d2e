"""Executors: the simulator executor (circuits cut to their qubits, seeded) and the Qiskit one (through
OpenQASM 3, tested with Aer when it is installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.device import Device
from qtandem.device.executors import accepts_seed, qiskit_executor, restrict, simulator_executor, touched_qubits
from qtandem.errors import ArgumentTypeError, SimulationError
from qtandem.noise import NoiseModel, bit_flip


def test_touched_qubits_and_restrict() -> None:
    c = Circuit(6, 2).sx(4).barrier().delay(100, [1, 4]).cx(4, 5).measure([5, 1], [0, 1])
    assert touched_qubits(c) == [1, 4, 5]
    small = restrict(c, [1, 4, 5])
    assert small.n_qubits == 3 and small.n_clbits == 2
    assert [(i.name, i.qubits) for i in small] == [("sx", (1,)), ("barrier", (0, 1, 2)), ("delay", (0, 1)),
                                                   ("cx", (1, 2)), ("measure", (2,)), ("measure", (0,))]
    with pytest.raises(SimulationError, match="leaves the qubits"):
        restrict(c, [4, 5])


def test_simulator_executor_matches_the_full_width_simulation() -> None:
    dev = Device.preset("line_5")
    circuits = [Circuit(5, 1).x(3).delay(50e3, 3).measure(3, 0),
                Circuit(5, 2).sx(1).cx(1, 2).delay(2e3, [1, 2]).measure([1, 2], [0, 1])]
    run = simulator_executor(dev, seed=5)
    counts = run(circuits, 20000)
    full = dev.noise_model()
    for circuit, got in zip(circuits, counts, strict=True):
        exact = full.record_distribution(circuit)
        width = circuit.n_clbits
        assert sum(got.values()) == 20000 and all(len(k) == width for k in got)
        for record, p in exact.items():
            key = format(int(record), f"0{width}b")
            assert got.get(key, 0) / 20000 == pytest.approx(float(p), abs=4 * math.sqrt(0.25 / 20000) + 1e-3)


def test_simulator_executor_is_seeded_and_advances() -> None:
    dev = Device.preset("line_5")
    c = [Circuit(5, 1).sx(0).measure(0, 0)]
    a, b = simulator_executor(dev, seed=1), simulator_executor(dev, seed=1)
    first = a(c, 500)
    assert first == b(c, 500)
    assert a(c, 500) != first  # the next call draws new seeds
    assert a(c, 500, seed=9) == b(c, 500, seed=9)
    assert accepts_seed(a)


def test_simulator_executor_with_a_noise_model_runs_full_width() -> None:
    model = NoiseModel(num_qubits=3).add(bit_flip(0.5), gates=["x"])
    counts = simulator_executor(model, seed=0)([Circuit(3, 1).x(2).measure(2, 0)], 4000)[0]
    assert counts["1"] / 4000 == pytest.approx(0.5, abs=0.05)


def test_simulator_executor_errors() -> None:
    with pytest.raises(ArgumentTypeError, match="Device or a NoiseModel"):
        simulator_executor("line_5")  # type: ignore[arg-type]
    with pytest.raises(SimulationError, match="method"):
        simulator_executor(Device.preset("line_5"), method="exact")
    with pytest.raises(ArgumentTypeError, match="qtandem Circuits"):
        simulator_executor(Device.preset("line_5"))(["OPENQASM 3;"], 10)  # type: ignore[list-item]


def test_qiskit_executor_with_aer() -> None:
    pytest.importorskip("qiskit_qasm3_import")
    aer = pytest.importorskip("qiskit_aer")
    run = qiskit_executor(aer.AerSimulator())
    circuits = [Circuit(3, 2).x(2).delay(100, 2).measure([2, 0], [0, 1]),
                Circuit(2, 1).sx(0).rz(0.3, 0).sx(0).measure(0, 0)]
    counts = run(circuits, 2000, seed=3)
    assert counts[0] == {"01": 2000}
    p1 = counts[1].get("1", 0) / 2000
    assert p1 == pytest.approx((1 + np.cos(0.3)) / 2, abs=0.04)
    assert run(circuits, 2000, seed=3) == counts
