"""qtandem.mitigate's Stim path: exact for Clifford circuits under Pauli noise, checked against the density matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit, distribution
from qtandem.mitigate import simulator_executor
from qtandem.mitigate.executors import pauli_probabilities, stim_circuit
from qtandem.noise import (
    NoiseModel,
    ReadoutError,
    amplitude_damping,
    coherent_rotation,
    depolarizing,
    depolarizing_qiskit,
    pauli_channel,
    readout_error,
)

pytest.importorskip("stim")


def pauli_model() -> NoiseModel:
    """Asymmetric Pauli noise everywhere: a biased one-qubit channel, a two-qubit channel that is not symmetric
    in its qubits (X on the control, Z on the target), asymmetric and correlated readout."""
    two = pauli_channel(0.03, 0.0, 0.01).tensor(pauli_channel(0.0, 0.02, 0.06))
    joint = ReadoutError([[0.9, 0.0, 0.05, 0.0], [0.1, 0.97, 0.0, 0.0], [0.0, 0.03, 0.95, 0.1], [0.0, 0.0, 0.0, 0.9]])
    return (NoiseModel()
            .add(pauli_channel(0.02, 0.005, 0.01), gates=["sx", "x", "h", "s"])
            .add(two, gates=["cx"])
            .add(depolarizing_qiskit(0.01, 1), gates=["rz"])
            .add_readout(readout_error(0.02, 0.08))
            .add_readout(joint, qubits=[(0, 1)]))


def clifford(n: int = 3) -> Circuit:
    c = Circuit(n).h(0).sx(1).rz(math.pi / 2, 2)
    for a in range(n - 1):
        c.cx(a, a + 1)
    return c.x(1).cx(2, 0).rz(-math.pi / 2, 0).sx(2).cx(1, 2).h(1)


def stim_vs_exact(circuit: Circuit, model: NoiseModel, shots: int = 200_000) -> float:
    """Largest deviation of Stim's frequencies from the exact probabilities, in standard errors."""
    exact = distribution(circuit, noise=model)
    run = simulator_executor(model, seed=3, stim=True)
    counts = run([circuit], shots, seed=11)[0]
    assert run.stim_runs == 1 and run.simulations == 0
    assert set(counts) <= set(exact)
    worst = 0.0
    for key, p in exact.items():
        f = counts.get(key, 0) / shots
        worst = max(worst, abs(f - p) / math.sqrt(max(p * (1 - p), 1e-6) / shots))
    return worst


def test_pauli_probabilities_closed_forms():
    p = pauli_probabilities(depolarizing_qiskit(0.02, 1))
    assert p is not None and p["X"] == pytest.approx(0.005) and p["I"] == pytest.approx(0.985)
    two = pauli_probabilities(pauli_channel(0.1, 0.0, 0.0).tensor(pauli_channel(0.0, 0.0, 0.2)))
    assert two is not None
    # tensor(): self on the first qubit; labels name the first qubit first
    assert two["XZ"] == pytest.approx(0.02) and two["XI"] == pytest.approx(0.08) and two["IZ"] == pytest.approx(0.18)
    assert sum(two.values()) == pytest.approx(1.0)
    assert pauli_probabilities(amplitude_damping(0.05)) is None
    assert pauli_probabilities(coherent_rotation("x", 0.1)) is None


def test_stim_matches_density_matrix_measured_subset():
    c = clifford(4)
    c = Circuit(4, 3).compose(c)
    c.measure(3, 0).measure(0, 2).measure(1, 1)   # permuted clbits, qubit 2 unmeasured, (0, 1) correlated readout
    assert stim_vs_exact(c, pauli_model()) < 5.0


def test_stim_matches_density_matrix_unmeasured():
    assert stim_vs_exact(clifford(3), pauli_model()) < 5.0


def test_stim_not_exact_falls_back():
    base = NoiseModel().add(depolarizing(0.01), gates=["h", "sx", "x", "rz"]).add(depolarizing(0.02, 2), gates="cx")
    assert stim_circuit(clifford(3), base) is not None
    damped = NoiseModel().add(amplitude_damping(0.01), gates=["h", "sx", "x", "rz"]).add(depolarizing(0.02, 2),
                                                                                       gates="cx")
    assert stim_circuit(clifford(3), damped) is None                          # not a Pauli channel
    idle = NoiseModel().add(depolarizing(0.01), gates=["h", "sx", "x", "rz"]).add(depolarizing(0.02, 2), gates="cx")
    idle.add_idle(50_000.0, 70_000.0).set_durations({"1q": 35.0, "2q": 300.0})
    assert stim_circuit(clifford(3), idle) is None                            # idle relaxation
    assert stim_circuit(clifford(3).rz(0.3, 0), base) is None                 # not Clifford
    mid = Circuit(2, 2).h(0).measure(0, 0).cx(0, 1).measure(1, 1)
    assert stim_circuit(mid, base) is None                                    # mid-circuit measurement
    assert stim_circuit(Circuit(2).h(0).cz(0, 1), base) is None               # strict model, cz uncovered
    run = simulator_executor(damped, seed=0, stim=True)
    counts = run([clifford(3)], 1000)[0]
    assert sum(counts.values()) == 1000 and run.stim_runs == 0 and run.simulations == 1


def test_auto_uses_stim_from_eight_qubits():
    model = NoiseModel().add(depolarizing_qiskit(0.002), gates=["h", "sx", "x", "rz"]).add(
        depolarizing_qiskit(0.01, 2), gates="cx").add_readout(readout_error(0.03, 0.03))
    run = simulator_executor(model, seed=0)
    small, wide = clifford(3), clifford(8)
    run([small, wide], 500)
    assert (run.stim_runs, run.simulations) == (1, 1)
    off = simulator_executor(model, seed=0, stim=False)
    off([small], 10)
    assert (off.stim_runs, off.simulations) == (0, 1)
    # GHZ parity on 8 qubits: Stim's mean agrees with the exact value
    ghz = Circuit(8).h(0)
    for a in range(7):
        ghz.cx(a, a + 1)
    exact = distribution(ghz, noise=model)
    parity = sum(p * (-1) ** k.count("1") for k, p in exact.items())
    counts = run([ghz], 100_000, seed=5)[0]
    est = sum(k_n * (-1) ** k.count("1") for k, k_n in counts.items()) / 100_000
    assert run.stim_runs == 2
    assert abs(est - parity) < 5 * math.sqrt((1 - parity**2) / 100_000)
    assert np.isclose(sum(counts.values()), 100_000)
