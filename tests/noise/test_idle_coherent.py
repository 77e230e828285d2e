"""Delays and idle waits in noisy simulation: relaxation, detuning and static ZZ (issue 15, contract B).

Each physical check is against a closed form derived independently of the simulator:
``sx = rx(pi/2)`` maps |0> to the Bloch vector (0, -1, 0); a detuning ``d`` turns it about
Z by ``d t`` (``rz(d t)``) while T2 shrinks it by ``exp(-t/T2)``; the second ``sx`` maps
its y component to z, so ``P(1) = 1/2 + 1/2 exp(-t/T2) cos(d t)`` (T1 only moves z, which
the second ``sx`` sends to y and does not read).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qtandem import Circuit
from qtandem.errors import NoiseError
from qtandem.noise import NoiseModel, depolarizing
from qtandem.noise.trajectories import run_trajectories

T1, T2 = 60e3, 40e3
DET = 2 * math.pi * 80e-6  # 80 kHz in rad/ns


def p1(model: NoiseModel, circuit: Circuit, qubit: int = 0) -> float:
    probs = model.outcome_probabilities(circuit)
    idx = torch.arange(probs.shape[0])
    return float(probs[(idx >> qubit) & 1 == 1].sum())


@pytest.mark.parametrize("t", [0.0, 800.0, 3100.0, 12000.0, 40000.0])
def test_ramsey_matches_closed_form(t):
    model = NoiseModel().add_idle(T1, T2, detuning=DET)
    got = p1(model, Circuit(1).sx(0).delay(t, 0).sx(0))
    assert got == pytest.approx(0.5 + 0.5 * math.exp(-t / T2) * math.cos(DET * t), abs=1e-12)


@pytest.mark.parametrize("t", [0.0, 1000.0, 30000.0, 90000.0])
def test_t1_decay_after_x_and_delay(t):
    model = NoiseModel().add_idle(T1, T2, detuning=DET)   # detuning does not touch populations
    assert p1(model, Circuit(1).x(0).delay(t, 0)) == pytest.approx(math.exp(-t / T1), abs=1e-12)


def test_delay_units_and_gate_durations_do_not_matter_for_a_delay():
    model = NoiseModel().add_idle(T1, T2)
    a = p1(model, Circuit(1).x(0).delay(2.5, 0, unit="us"))
    timed = NoiseModel().add_idle(T1, T2).set_durations({"x": 0.0})
    assert a == pytest.approx(math.exp(-2500 / T1), abs=1e-12)
    assert p1(timed, Circuit(1).x(0).delay(2500, 0)) == pytest.approx(a, abs=1e-12)


@pytest.mark.parametrize("zeta_khz", [30.0, 250.0])
def test_zz_shifts_the_ramsey_frequency_by_zeta(zeta_khz):
    zeta = 2 * math.pi * zeta_khz * 1e-6
    model = NoiseModel().add_zz(zeta, [(0, 1)])
    for t in (100.0, 700.0, 2300.0):
        # phase of q0: +zeta t / 2 with q1 in |0>, -zeta t / 2 with q1 in |1> (a difference of zeta t)
        for b, phase in ((0, zeta * t / 2), (1, -zeta * t / 2)):
            prep = Circuit(2).x(1) if b else Circuit(2).id(1)   # q1 used (an untouched partner is absent)
            got = p1(model, prep.sx(0).delay(t, 0).sx(0))
            assert got == pytest.approx(0.5 + 0.5 * math.cos(phase), abs=1e-12)
        # a relative phase is invisible in a plain Ramsey; a quarter-turn frame shows the sign
        got0 = p1(model, Circuit(2).id(1).sx(0).delay(t, 0).rz(math.pi / 2, 0).sx(0))
        got1 = p1(model, Circuit(2).x(1).sx(0).delay(t, 0).rz(math.pi / 2, 0).sx(0))
        assert got0 == pytest.approx(0.5 + 0.5 * math.cos(zeta * t / 2 + math.pi / 2), abs=1e-12)
        assert got1 == pytest.approx(0.5 + 0.5 * math.cos(-zeta * t / 2 + math.pi / 2), abs=1e-12)


def test_one_delay_over_both_qubits_applies_the_pair_phase_once():
    zeta, t = 2 * math.pi * 200e-6, 900.0
    model = NoiseModel().add_zz(zeta, [(0, 1)])
    both = model.density_matrix(Circuit(2).h(0).h(1).delay(t, [0, 1]))
    once = model.density_matrix(Circuit(2).h(0).h(1).delay(t, 0))
    twice = model.density_matrix(Circuit(2).h(0).h(1).delay(t, 0).delay(t, 1))
    assert torch.allclose(both, once, atol=1e-12)
    assert not torch.allclose(both, twice, atol=1e-6)


def test_zz_partner_outside_the_circuit_is_ignored():
    model = NoiseModel().add_zz(2 * math.pi * 1e-3, [(0, 5)])
    assert p1(model, Circuit(1).sx(0).delay(250, 0).sx(0)) == pytest.approx(1.0, abs=1e-12)


def test_implicit_waits_get_relaxation_detuning_and_zz():
    zeta = 2 * math.pi * 100e-6
    model = NoiseModel().add_idle(T1, T2, detuning=DET).add_zz(zeta, [(0, 1)]).set_durations({"x": 1500.0,
                                                                                              "sx": 0.0})
    # q0 waits 1500 (q1's x) between its two sx: the same as an explicit delay with q1 already in |1>
    implicit = model.density_matrix(Circuit(2).sx(0).x(1).barrier(0, 1).sx(0))
    explicit = NoiseModel().add_idle(T1, T2, detuning=DET).add_zz(zeta, [(0, 1)])
    reference = explicit.density_matrix(Circuit(2).x(1).sx(0).delay(1500, 0).sx(0))
    # q1 did not wait (it ran its x), so no relaxation of q1 in either; same ZZ phase once
    assert torch.allclose(implicit, reference, atol=1e-12)


def test_over_rotation_of_repeated_sx_is_rx_of_the_sum():
    from qtandem.noise import channels as ch

    eps = 0.037
    model = NoiseModel().add(ch.coherent_rotation("x", eps), gates=["sx"])
    for n in (1, 4, 9, 20):
        c = Circuit(1)
        for _ in range(n):
            c.sx(0)
        expected = math.sin(n * (math.pi / 2 + eps) / 2) ** 2
        assert p1(model, c) == pytest.approx(expected, abs=1e-12)


def test_trajectories_agree_with_the_density_matrix():
    zeta = 2 * math.pi * 150e-6
    model = NoiseModel().add_idle(T1, T2, detuning=DET).add_zz(zeta, [(0, 1)])
    c = Circuit(2, 1).x(1).sx(0).delay(3000, [0, 1]).rz(0.4, 0).sx(0).measure(0, 0)
    exact = p1(model, c)
    shots = 20000
    counts = run_trajectories(c, noise=model, shots=shots, seed=3).counts()
    est = counts.get("1", 0) / shots
    assert abs(est - exact) < 4 * math.sqrt(exact * (1 - exact) / shots)


def test_statevector_ignores_delays():
    import qtandem

    c = Circuit(1, 1).sx(0).delay(5000, 0).sx(0).measure(0, 0)
    assert qtandem.sample(c, shots=50, seed=1).counts == {"1": 50}


def test_json_round_trip_keeps_detuning_and_zz(tmp_path):
    model = (NoiseModel().add(depolarizing(0.01), gates=["sx"]).add_idle(T1, T2, detuning=DET)
             .add_idle(50e3, 30e3, qubits=[2], detuning=-0.001).add_zz(0.0004, [(0, 1), (2, 1)]))
    again = NoiseModel.from_json(model.to_json(tmp_path / "m.json"))
    assert again == model
    assert again.zz == {(0, 1): 0.0004, (1, 2): 0.0004} and again.detuning == {2: -0.001}
    c = Circuit(3).sx(0).sx(2).delay(777, [0, 2]).sx(0).sx(2)
    assert torch.allclose(again.density_matrix(c), model.density_matrix(c), atol=1e-14)


@pytest.mark.parametrize(("doc", "match"), [
    ({"zz": [{"qubits": [0, 1], "zeta": 0.1}]}, r"zz\[0\]\.qubits: expected a list of qubit pairs"),
    ({"zz": [{"qubits": [[0, 1]]}]}, r"zz\[0\]: missing key 'zeta'"),
    ({"zz": [{"qubits": [[0, 1]], "zeta": "big"}]}, r"zz\[0\]\.zeta: expected a number"),
    ({"zz": [{"qubits": [[0, 1]], "zeta": 0.1, "zata": 1}]}, r"unknown key 'zata'"),
    ({"idle": [{"qubits": None, "t1": 1.0, "t2": 1.0, "detuning": float("nan")}]}, r"idle\[0\]\.detuning"),
])
def test_bad_zz_and_detuning_entries_are_refused(doc, match):
    with pytest.raises(NoiseError, match=match):
        NoiseModel.from_dict({"schema": "qtandem.noise_model", "version": 1, **doc})


def test_add_zz_validates_pairs():
    with pytest.raises(NoiseError, match="two distinct qubits"):
        NoiseModel().add_zz(0.1, [(1, 1)])
    with pytest.raises(NoiseError, match="beyond the model's 2 qubits"):
        NoiseModel(num_qubits=2).add_zz(0.1, [(0, 2)])


def test_qiskit_aer_thermal_relaxation_on_a_delay_agrees():
    qiskit = pytest.importorskip("qiskit")
    aer = pytest.importorskip("qiskit_aer")
    from qiskit_aer.noise import NoiseModel as AerNoise
    from qiskit_aer.noise import thermal_relaxation_error

    t, t1, t2 = 4000.0, 30e3, 20e3
    noise = AerNoise()
    noise.add_quantum_error(thermal_relaxation_error(t1, t2, t), "delay", [0])
    ours = NoiseModel().add_idle(t1, t2)
    for prep in ("x", "ramsey"):
        qc = qiskit.QuantumCircuit(1)
        mine = Circuit(1)
        if prep == "x":
            qc.x(0)
            mine.x(0)
        else:
            qc.sx(0)
            mine.sx(0)
        qc.delay(t, 0, unit="ns")
        mine.delay(t, 0)
        if prep == "ramsey":
            qc.sx(0)
            mine.sx(0)
        qc.save_density_matrix()
        sim = aer.AerSimulator(method="density_matrix", noise_model=noise)
        rho = np.asarray(sim.run(qiskit.transpile(qc, sim, optimization_level=0)).result().data()["density_matrix"])
        assert np.allclose(ours.density_matrix(mine).numpy(), rho, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_small_numpy_density_path_equals_the_fused_torch_path(n):
    from qtandem.device import Device
    from qtandem.noise.density import _small_density, density_ops
    from qtandem.sim.core import apply_ops, resolve_params

    dev = Device.random(n, "line", seed=n)
    model = dev.noise_model()
    rng = np.random.default_rng(n)
    c = Circuit(n)
    for _ in range(25):
        q = int(rng.integers(n))
        kind = int(rng.integers(5))
        if kind == 0:
            c.sx(q)
        elif kind == 1:
            c.x(q)
        elif kind == 2:
            c.rz(float(rng.uniform(-3, 3)), q)
        elif kind == 3:
            c.delay(float(rng.uniform(0, 2000)), q)
        elif n > 1:
            c.cx(q, (q + 1) % n) if q + 1 < n else c.cx(q, q - 1)
    ops = density_ops(c, resolve_params(c, None), model, dtype=torch.complex128, device=None)
    rho0 = torch.zeros(4**n, dtype=torch.complex128)
    rho0[0] = 1
    small = _small_density(ops, n, rho0)
    fused = apply_ops(rho0.unsqueeze(0), ops, 2 * n, 4).reshape(2**n, 2**n)
    assert torch.allclose(small, fused, atol=1e-13)
    assert torch.allclose(model.density_matrix(c), fused, atol=1e-13)


def test_zz_partner_the_circuit_does_not_touch_counts_as_absent():
    # the executors and learn's likelihood simulate only the used qubits: a full-width circuit agrees with them
    model = NoiseModel().add_zz(2 * math.pi * 1e-3, [(0, 1)])
    wide = Circuit(2).sx(0).delay(250, 0).sx(0)          # q1 untouched
    narrow = Circuit(1).sx(0).delay(250, 0).sx(0)
    assert p1(model, wide) == pytest.approx(p1(model, narrow), abs=1e-12) == pytest.approx(1.0, abs=1e-12)
    used = Circuit(2).sx(0).delay(250, [0, 1]).sx(0)     # q1 idles in |0>: q0 turns by zeta t / 2
    assert p1(model, used) == pytest.approx(0.5 + 0.5 * math.cos(2 * math.pi * 1e-3 * 250 / 2), abs=1e-12)


def test_native_trajectory_engine_runs_delays():
    # T2 <= T1: relaxation is an I/Z/reset mixture, so the compiled native engine takes it (with the rz/rzz phases)
    zeta = 2 * math.pi * 120e-6
    model = NoiseModel().add_idle(30e3, 25e3, detuning=DET).add_zz(zeta, [(0, 1), (1, 2)])
    c = Circuit(3, 3).x(1).sx(0).sx(2).delay(4000, [0, 1, 2]).rz(0.3, 0).sx(0).sx(2)
    c.measure(0, 0).measure(1, 1).measure(2, 2)
    exact = model.outcome_probabilities(c).numpy()
    shots = 20000
    counts = run_trajectories(c, noise=model, shots=shots, seed=5, engine="native").counts()
    for key, k in counts.items():
        p = exact[int(key, 2)]
        assert abs(k / shots - p) < 5 * math.sqrt(p * (1 - p) / shots) + 1e-3
