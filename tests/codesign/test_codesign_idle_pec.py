"""Idle-aware PEC (issue 20, the loop's VQE mitigation): the schedule of waits against the
simulator's, the relaxation model's Pauli fidelities, and an end-to-end estimate that only the idle
model makes unbiased."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.codesign.idle_pec import IdlePEC, idle_models, idle_pec, relaxation_model
from qtandem.device.executors import simulator_executor
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import execute
from qtandem.mitigate.pec import pec, split_layers
from qtandem.noise import NoiseModel


def _idle_only(t1: float, t2: float) -> NoiseModel:
    """Ideal gates; qubits relax while they wait (1q gates 50, 2q gates 300 time units)."""
    return (NoiseModel().set_ideal(["x", "sx", "rz", "h", "cx"]).add_idle(t1, t2)
            .set_durations({"1q": 50.0, "2q": 300.0}))


def test_relaxation_model_has_the_channel_pauli_fidelities():
    t1, t2, wait = 1000.0, 700.0, 250.0
    m = relaxation_model(3, t1, t2, wait)
    rates = dict(zip(m.generators, m.rates, strict=True))
    lam = {p: rates[((3, p),)] for p in "XYZ"}
    fid = {p: math.exp(-2 * sum(v for q, v in lam.items() if q != p)) for p in "XYZ"}  # P anticommutes with the others
    assert fid["X"] == pytest.approx(math.exp(-wait / t2)) and fid["Y"] == pytest.approx(math.exp(-wait / t2))
    assert fid["Z"] == pytest.approx(math.exp(-wait / t1))
    with pytest.raises(ArgumentTypeError, match="T1, T2 > 0"):
        relaxation_model(0, 0.0, 1.0, 1.0)


def test_idle_models_follow_the_simulators_waits():
    noise = _idle_only(1000.0, 800.0)
    # q1 runs 7 one-qubit gates (350) while q0, after its h (50), waits 300 for the cx; then q2 waits 650
    # (its first gate: a wait on |0>, skipped); after the first cx, q0 waits 300 for the cx on 1-2
    c = Circuit(3).h(0)
    for _ in range(7):
        c.x(1)
    c.cx(0, 1).cx(1, 2).cx(0, 1)
    layers, _ = split_layers(c)
    models = idle_models(c, noise, layers)
    waits: dict[tuple[int, int], float] = {}
    for k, m in enumerate(models):
        for g, r in zip(m.generators, m.rates, strict=True):
            if g[0][1] == "X":  # lambda_X = wait / (4 T1)
                waits[(k, g[0][0])] = waits.get((k, g[0][0]), 0.0) + 4 * 1000.0 * r
    k_h = next(k for k, layer in enumerate(layers) if any(i.name == "h" for i in layer))
    k_cx = next(k for k, layer in enumerate(layers) if [(i.name, i.qubits) for i in layer] == [("cx", (0, 1))])
    assert waits == {(k_h, 0): pytest.approx(300.0), (k_cx, 0): pytest.approx(300.0)}
    # no durations: no schedule, no idle
    assert all(not m.generators for m in idle_models(c, NoiseModel().add_idle(1000.0, 800.0)))


def test_idle_pec_cancels_idle_relaxation_that_plain_pec_misses():
    t1 = t2 = 1500.0
    noise = _idle_only(t1, t2)
    c = Circuit(2).h(0)
    for _ in range(12):  # q1 busy 600: q0 waits 550 before the cx
        c.x(1)
    c.cx(0, 1)
    exact = 1.0  # <X0 X1> of the Bell state (12 x gates on q1: identity)
    decay = math.exp(-550.0 / t2)
    kw = {"shots": 60_000, "seed": 3, "noise": noise}
    plain = execute(c, "X0 X1", simulator_executor(noise, seed=1), methods=[pec(model="exact", samples=300)], **kw)
    mine = execute(c, "X0 X1", simulator_executor(noise, seed=1), methods=[idle_pec(1000)], **kw)
    assert plain.value == pytest.approx(decay, abs=4 * plain.stderr + 1e-3)   # idle left in
    assert abs(mine.value - exact) < 4 * mine.stderr < 0.5 * (1 - decay)       # cancelled
    assert mine.details["pec"]["gamma"] > plain.details["pec"]["gamma"] == 1.0
    assert isinstance(idle_pec(10), IdlePEC) and repr(idle_pec(10)) == "idle_pec(samples=10)"


def test_idle_pec_needs_the_believed_noise():
    c = Circuit(2).h(0).cx(0, 1)
    noise = _idle_only(1000.0, 1000.0)
    with pytest.raises(ArgumentTypeError):
        execute(c, "Z0 Z1", simulator_executor(noise, seed=0), methods=[idle_pec(10)], shots=100, seed=0)
    assert np.isfinite(execute(c, "Z0 Z1", simulator_executor(noise, seed=0), methods=[idle_pec(10)], shots=100,
                               seed=0, noise=noise).value)
