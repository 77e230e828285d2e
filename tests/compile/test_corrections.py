"""Coherent-error corrections (issue 15 section 3): qtandem.compile.correct and the CoherentCorrections pass.

The oracle is independent of the code under test: the faulty gates are substituted here by hand
(``sx -> rx(pi/2 + e)``, ``x -> rx(pi + e)``, ``cx -> cx, exp(-i e/2 Z_c X_t)``) and compared with
``qtandem.sim.unitary``; the end-to-end checks run the device's own noise model in the
density-matrix simulator.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from compile_helpers import same_unitary
from hypothesis import given, settings
from hypothesis import strategies as st

from qtandem import Circuit
from qtandem.compile import correct_for_device, optimize
from qtandem.compile.correct import coherent_infidelity, faulty_circuit
from qtandem.compile.passes.corrections import CoherentCorrections
from qtandem.device import Device
from qtandem.errors import CompileError
from qtandem.sim import unitary


def _device(seed: int = 0, *, detuning: bool = False, zz: bool = False, incoherent: bool = False) -> Device:
    """line_5 with random coherent errors (signs random, 0.01..0.05 rad); other noise off unless asked."""
    rng = np.random.default_rng(seed)
    dev = Device.preset("line_5")

    def angle() -> float:
        return float(rng.choice([-1, 1]) * rng.uniform(0.01, 0.05))

    for q in dev.qubits:
        q.sx_angle_error, q.x_angle_error = angle(), angle()
        q.detuning = 2 * math.pi * float(rng.uniform(5e-6, 50e-6)) if detuning else 0.0
        if not incoherent:
            q.t1 = q.t2 = 1e15
            q.gate_error_1q = q.readout_p01 = q.readout_p10 = 0.0
    for e in dev.edges.values():
        e.angle_error = angle()
        e.zz = 2 * math.pi * float(rng.uniform(10e-6, 100e-6)) if zz else 0.0
        if not incoherent:
            e.error = 0.0
    return dev


def _by_hand(circuit: Circuit, dev: Device) -> Circuit:
    """The faulty-gate substitution, written independently of qtandem.compile.correct (no idle phases)."""
    out = Circuit(circuit.n_qubits)
    for inst in circuit:
        q = inst.qubits
        if inst.name == "sx":
            out.rx(math.pi / 2 + dev.qubits[q[0]].sx_angle_error, q[0])
        elif inst.name == "x":
            out.rx(math.pi + dev.qubits[q[0]].x_angle_error, q[0])
        elif inst.name == "cx":
            e = dev.edges[(min(q), max(q))].angle_error
            out.cx(*q).h(q[1]).rzz(e, *q).h(q[1])
        elif inst.is_gate:
            out.append(inst)
    return out


def _native_inverse(c: Circuit) -> Circuit:
    out = Circuit(c.n_qubits)
    for inst in reversed(list(c)):
        q = inst.qubits[0]
        if inst.name == "rz":
            out.rz(-float(inst.params[0]), q)
        elif inst.name == "sx":
            out.rz(math.pi, q).sx(q).rz(math.pi, q)
        else:
            out.append(inst)
    return out


@st.composite
def native_circuits(draw: st.DrawFn, *, n: int = 3, clifford: bool = False) -> Circuit:
    c = Circuit(n)
    for _ in range(draw(st.integers(1, 20))):
        kind = draw(st.integers(0, 3))
        q = draw(st.integers(0, n - 1))
        if kind == 0:
            c.rz(draw(st.integers(0, 3)) * math.pi / 2 if clifford else draw(st.floats(-3, 3)), q)
        elif kind == 1:
            c.sx(q)
        elif kind == 2:
            c.x(q)
        else:
            a = draw(st.integers(0, n - 2))
            c.cx(a, a + 1) if draw(st.booleans()) else c.cx(a + 1, a)
    return c


# -- exact expected output on hand-written cases ---------------------------------------------------------
def test_repeated_cx_pairs_cancel_with_frame_flips():
    dev = _device(1)
    out, report = correct_for_device(Circuit(2).cx(0, 1).cx(0, 1), dev)
    assert [(i.name, i.qubits, tuple(round(float(p), 12) for p in i.params)) for i in out] == [
        ("cx", (0, 1), ()), ("rz", (1,), (round(math.pi, 12),)), ("cx", (0, 1), ()),
        ("rz", (0,), (round(math.pi, 12),)), ("rz", (1,), (round(math.pi, 12),))]
    assert (report.pairs, report.flipped, report.uncorrected) == (1, 1, [])
    assert same_unitary(_by_hand(out, dev), Circuit(2).cx(0, 1).cx(0, 1))


def test_fifty_cx_cancel_exactly():
    dev = _device(2)
    c = Circuit(2)
    for _ in range(50):
        c.cx(1, 0)
    out, report = correct_for_device(c, dev)
    assert out.count_ops()["cx"] == 50 and report.pairs == 25
    assert coherent_infidelity(c, dev) > 0.01
    assert report.coherent_infidelity_after < 1e-12
    assert same_unitary(_by_hand(out, dev), c)


@pytest.mark.parametrize("gate", ["sx", "x"])
def test_single_pulse_runs_become_exact_faulty_sx_words(gate: str):
    dev = _device(3)
    c = Circuit(1)
    getattr(c, gate)(0)
    out, report = correct_for_device(c, dev)
    pulses = out.count_ops().get("sx", 0)
    assert pulses == (2 if gate == "sx" else 3) and "x" not in out.count_ops()  # x needs tilt pi > pi - 2|e|
    assert same_unitary(_by_hand(out, dev), c)
    assert report.runs == 1 and report.coherent_infidelity_after < 1e-12 < report.coherent_infidelity_before


def test_a_perfect_device_leaves_the_circuit_alone():
    dev = Device.preset("line_5")
    c = Circuit(3).sx(0).rz(0.3, 0).x(1).cx(0, 1).cx(1, 2).sx(2)
    out, report = correct_for_device(c, dev)
    assert list(out) == list(c)
    assert (report.runs, report.pairs, report.frames, report.echoes) == (0, 0, 0, 0)


def test_an_error_that_cannot_pass_a_gate_is_reported_and_kept():
    dev = _device(4)
    c = Circuit(2).cx(0, 1).rz(0.3, 1).sx(1).cx(0, 1)  # a non-Clifford turn of the target: Z_c X_t is stuck
    out, report = correct_for_device(c, dev, judge=False)
    assert [u["index"] for u in report.uncorrected] == [0, 3]
    e = dev.edges[(0, 1)].angle_error
    assert [abs(u["angle"]) for u in report.uncorrected] == [abs(e), abs(e)]
    # everything else is exact: the faulty output equals the input with only those two rzx errors, with the
    # signs the report gives (a leftover's gate may run frame-flipped to offset the other to first order)
    expected = Circuit(2)
    angles = iter(u["angle"] for u in report.uncorrected)
    for inst in c:
        expected.append(inst)
        if inst.name == "cx":
            expected.h(1).rzz(next(angles), 0, 1).h(1)
    assert same_unitary(_by_hand(out, dev), expected)
    assert report.coherent_infidelity_after < report.coherent_infidelity_before


def test_errors_pass_through_clifford_gates_to_their_partner():
    dev = _device(5)
    c = Circuit(3).cx(0, 1).sx(2).cx(1, 2).x(0).rz(math.pi / 2, 0).cx(1, 2).rz(-math.pi / 2, 0).x(0).cx(0, 1)
    out, report = correct_for_device(c, dev)
    assert report.pairs == 2 and report.uncorrected == []
    assert same_unitary(_by_hand(out, dev), c)


# -- equivalence on random circuits -----------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(native_circuits(clifford=True), st.integers(0, 5))
def test_random_clifford_circuits_corrected_exactly(c: Circuit, seed: int):
    dev = _device(seed)
    out, report = correct_for_device(c, dev, judge=False)
    assert report.verified == "exact"
    expected = Circuit(c.n_qubits)
    stuck = {u["index"]: u["angle"] for u in report.uncorrected}
    for i, inst in enumerate(c):
        expected.append(inst)
        if i in stuck:
            q = inst.qubits
            assert abs(stuck[i]) == abs(dev.edges[(min(q), max(q))].angle_error)
            expected.h(q[1]).rzz(stuck[i], *q).h(q[1])
    assert same_unitary(_by_hand(out, dev), expected, tol=1e-7)


@settings(max_examples=20, deadline=None)
@given(native_circuits(), st.integers(0, 5))
def test_random_circuits_never_get_worse(c: Circuit, seed: int):
    dev = _device(seed)
    _, report = correct_for_device(c, dev)
    assert report.coherent_infidelity_after <= report.coherent_infidelity_before + 1e-9


def test_clifford_mirror_circuit_coherent_error_falls_over_tenfold():
    dev = _device(6, detuning=True)
    rng = np.random.default_rng(6)
    c = Circuit(5)
    for layer in range(8):
        for q in range(5):
            for _ in range(int(rng.integers(0, 3))):
                c.rz(int(rng.integers(0, 4)) * math.pi / 2, q).sx(q)
        for a in range(layer % 2, 4, 2):
            c.cx(a, a + 1)
    mirror = c.compose(_native_inverse(c))
    _, report = correct_for_device(mirror, dev, echo=False)
    assert report.uncorrected == []
    assert report.coherent_infidelity_after < report.coherent_infidelity_before / 10


def test_pauli_tracking_does_not_pair_across_a_stuck_error():
    """cx(1, 2)'s error comes back to Z1 X2 at the last gate, but cx(0, 1)'s error, stuck at the rz between,
    does not commute with it on the way: pairing them would not cancel (found on a fitted QAOA circuit)."""
    from qtandem.compile.correct import CoherentModel
    from qtandem.compile.passes.corrections import pair_two_qubit_errors, pair_two_qubit_errors_dense

    dev = _device(4)
    dev.edges[(1, 2)].angle_error = dev.edges[(0, 1)].angle_error + 0.01
    c = Circuit(3).cx(1, 2).cx(0, 1).rz(2.78, 1).cx(0, 1).cx(1, 2)
    model = CoherentModel.of(dev)
    assert pair_two_qubit_errors(c, model)[2] == 0
    assert pair_two_qubit_errors_dense(c, model)[2] == 0
    _, report = correct_for_device(c, dev, judge=False)
    assert report.verified == "exact" and len(report.uncorrected) == 4


def test_su2_mirror_errors_cancel_through_non_clifford_gates():
    """Random one-qubit turns stop the Pauli tracking; the interaction picture pairs each cx with its mirror."""
    dev = _device(11)
    rng = np.random.default_rng(11)
    c = Circuit(4)
    for layer in range(6):
        for q in range(4):
            c.rz(float(rng.uniform(-3, 3)), q).sx(q).rz(float(rng.uniform(-3, 3)), q)
        for a in range(layer % 2, 3, 2):
            c.cx(a, a + 1)
    mirror = c.compose(_native_inverse(c))
    out, report = correct_for_device(mirror, dev, echo=False)
    assert report.uncorrected == [] and report.pairs == mirror.count_ops()["cx"] // 2
    assert coherent_infidelity(mirror, dev) > 1e-3
    assert report.coherent_infidelity_after < 1e-12
    assert out.count_ops()["cx"] == mirror.count_ops()["cx"]
    assert same_unitary(_by_hand(out, dev), mirror, tol=1e-7)


@settings(max_examples=15, deadline=None)
@given(native_circuits(), st.integers(0, 5))
def test_random_mirrors_corrected_exactly(c: Circuit, seed: int):
    mirror = c.compose(_native_inverse(c))
    dev = _device(seed)
    out, report = correct_for_device(mirror, dev, echo=False)
    assert report.uncorrected == []
    assert same_unitary(_by_hand(out, dev), mirror, tol=1e-7)


# -- detuning and ZZ, checked with the device's own noise model ---------------------------------------
def _probs(circuit: Circuit, dev: Device | None) -> torch.Tensor:
    """Outcome probabilities of every qubit: ideal (``dev=None``) or with the device's noise model."""
    if dev is None:
        from qtandem.sim import probabilities

        return probabilities(circuit)
    return dev.noise_model().outcome_probabilities(circuit)


def test_detuning_frames_cancel_the_idle_phase_in_the_density_simulator():
    dev = _device(7, detuning=True)
    for q in dev.qubits:
        q.sx_angle_error = q.x_angle_error = 0.0
    for e in dev.edges.values():
        e.angle_error = 0.0
    ramsey = Circuit(3).sx(0)
    for _ in range(6):
        ramsey.cx(1, 2)  # qubit 0 waits ~2.4 us
    ramsey.barrier().sx(0)  # the barrier makes qubit 0 wait for the cx (as-soon-as-possible clock)
    out, report = correct_for_device(ramsey, dev)
    assert report.frames == 1
    frame = next(i for i in out if i.name == "rz")
    durations = dev.noise_model().durations
    wait = 6 * durations["2q"] - durations["1q"]
    assert float(frame.params[0]) == pytest.approx(-dev.qubits[0].detuning * wait)
    ideal = _probs(ramsey, None)
    assert float((_probs(ramsey, dev) - ideal).abs().max()) > 1e-4
    assert float((_probs(out, dev) - ideal).abs().max()) < 1e-10


def test_all_coherent_errors_cancel_in_the_density_simulator():
    dev = _device(8, detuning=True)
    c = Circuit(3).sx(0).x(1).cx(0, 1).cx(1, 2).x(0).barrier().cx(1, 2).cx(0, 1).sx(2)
    out, report = correct_for_device(c, dev)
    assert report.uncorrected == [] and report.pairs == 2 and report.frames > 0
    ideal = _probs(c, None)
    assert float((_probs(c, dev) - ideal).abs().max()) > 1e-3
    assert float((_probs(out, dev) - ideal).abs().max()) < 1e-10


def test_faulty_circuit_matches_the_noise_model_with_zz():
    dev = _device(9, detuning=True, zz=True)
    c = Circuit(3).sx(0).sx(1).cx(1, 2).cx(1, 2).cx(1, 2).delay(300.0, 0).sx(0).cx(0, 1).x(2)
    rho = dev.noise_model().density_matrix(c)
    psi = unitary(faulty_circuit(c, dev, zz=True)).numpy()[:, 0]
    assert np.allclose(rho.numpy(), np.outer(psi, psi.conj()), atol=1e-10)


def test_zz_echo_is_kept_only_when_it_helps():
    dev = _device(10, zz=True)
    c = Circuit(3).sx(0).sx(2)
    for _ in range(8):
        c.cx(1, 2)  # qubit 0 idles ~3 us next to qubit 1
    c.barrier().sx(0).sx(1)
    with_echo, rep = correct_for_device(c, dev)
    _, rep0 = correct_for_device(c, dev, echo=False)
    assert rep.echoes_tried >= 1
    assert rep.fidelity_after >= rep0.fidelity_after - 1e-12  # judged on the full noise model
    if rep.echoes:
        assert rep.fidelity_after > rep0.fidelity_after
        assert with_echo.count_ops().get("delay", 0) == 2 * rep.echoes
    assert rep.coherent_infidelity_after < 1e-12  # the echo is exact with the faulty x pulses
    assert rep.verified == "exact"
    # the report's fidelity is the device's own density matrix, computed here independently
    psi = unitary(Circuit(3).sx(0).sx(2).sx(0).sx(1)).numpy()[:, 0]  # eight cx(1, 2) are the identity
    rho = dev.noise_model().density_matrix(with_echo).numpy()
    assert float(np.real(psi.conj() @ rho @ psi)) == pytest.approx(rep.fidelity_after, abs=1e-9)


def test_an_echo_whose_pulses_cost_more_than_the_zz_is_dropped():
    """With lossy x pulses the echo still lowers the coherent ZZ error but not the total fidelity."""
    dev = _device(10, zz=True, incoherent=True)
    for q in dev.qubits:
        q.gate_error_1q, q.sx_angle_error = 0.02, 0.0  # exact sx: no run is rebuilt with more pulses
    for e in dev.edges.values():
        e.zz = 3e-5  # rad/ns: about 0.05 rad of ZZ over the 3 us wait
    c = Circuit(3).sx(0).sx(2)
    for _ in range(8):
        c.cx(1, 2)
    c.barrier().sx(0).sx(1)
    _, coherent_only = correct_for_device(c, dev, judge=False, zz_frames=False)
    _, judged = correct_for_device(c, dev, zz_frames=False)
    assert coherent_only.echoes >= 1 and judged.echoes_tried >= 1 and judged.echoes == 0
    assert judged.fidelity_after > judged.fidelity_before


def test_zz_frames_cancel_zz_next_to_a_qubit_in_a_basis_state():
    """Qubit 0 idles in |1>: its ZZ with qubit 1 is a Z turn of qubit 1, cancelled by a virtual rz."""
    dev = _device(12, zz=True)
    c = Circuit(3).x(0).sx(1).sx(2)
    for _ in range(6):
        c.cx(1, 2)
    c.barrier().sx(1)
    out, report = correct_for_device(c, dev, echo=False)
    plain, report0 = correct_for_device(c, dev, echo=False, zz_frames=False)
    assert report.zz_frame_mode == "basis" and report.zz_frames >= 1
    assert out.count_ops().get("sx", 0) == plain.count_ops().get("sx", 0)  # no pulse added
    assert report.state_infidelity_zz_before > 1e-4
    assert report.state_infidelity_zz_after < 1e-12
    psi = unitary(c).numpy()[:, 0]
    for run, fid in ((out, 1.0), (plain, report0.fidelity_after)):
        rho = dev.noise_model().density_matrix(run).numpy()
        assert float(np.real(psi.conj() @ rho @ psi)) == pytest.approx(fid, abs=1e-10)
    assert report0.fidelity_after < 1 - 1e-4


def test_the_input_comes_back_when_correcting_would_lower_the_fidelity():
    """From |0>, this circuit's sx error happens to offset the cx error that has no partner; the corrected
    circuit would be worse, so the input is returned."""
    dev = _device(0)
    c = Circuit(3).sx(1).rz(math.pi, 1).cx(2, 1)
    out, report = correct_for_device(c, dev)
    rejected, _ = correct_for_device(c, dev, judge=False)
    assert report.kept_input and list(out) == list(c)
    psi = unitary(c).numpy()[:, 0]
    fids = [float(np.real(psi.conj() @ dev.noise_model().density_matrix(r).numpy() @ psi)) for r in (c, rejected)]
    assert fids[0] > fids[1] and report.fidelity_after == pytest.approx(fids[0], abs=1e-10)


# -- the pass, optimize(corrections=), bad input ------------------------------------------------------
def test_pass_and_optimize_keyword():
    dev = _device(11)
    c = Circuit(3, 3).h(0).cx(0, 2).t(2).cx(0, 2).measure(0, 0).measure(1, 1).measure(2, 2)
    out, report = optimize(c, level=1, corrections=dev)
    assert report.corrections is not None and report.corrections.verified == "exact"
    assert "corrections" in report.to_dict()
    assert not dev.validate(out)
    fix = CoherentCorrections(dev)
    again = fix.run(out)
    assert fix.report_.pulses_after == _pulses(again)


def _pulses(c: Circuit) -> int:
    return sum(i.name in ("sx", "x") for i in c)


def test_bad_input_is_refused_clearly():
    dev = _device(12)
    with pytest.raises(CompileError, match="'h' is not a native gate.*optimize"):
        correct_for_device(Circuit(2).h(0), dev)
    with pytest.raises(CompileError, match="not on the coupling map"):
        correct_for_device(Circuit(3).cx(0, 2), dev)
    with pytest.raises(CompileError, match="6 qubits"):
        correct_for_device(Circuit(6).sx(5), dev)
    from qtandem import Parameter

    with pytest.raises(CompileError, match="bind the parameters"):
        correct_for_device(Circuit(1).rz(Parameter("a"), 0), dev)


def test_suggest_corrections_takes_a_calibration_a_device_or_a_file(tmp_path):
    from qtandem.learn import suggest_corrections
    from qtandem.learn.calibrate import Calibration

    true = _device(13)
    prior = Device.preset("line_5")
    cal = Calibration(values={"q0.sx_angle_error": true.qubits[0].sx_angle_error,
                              "e0-1.angle_error": true.edges[(0, 1)].angle_error}, stderr={}, nll=0.0, data=None,
                      base=prior)
    fix = suggest_corrections(cal)
    c = Circuit(2).sx(0).cx(0, 1).cx(0, 1)
    out = fix.run(c)
    assert fix.report_.pairs == 1 and fix.report_.runs == 1
    fixed_device = Device.preset("line_5")
    fixed_device.qubits[0].sx_angle_error = true.qubits[0].sx_angle_error
    fixed_device.edges[(0, 1)].angle_error = true.edges[(0, 1)].angle_error
    assert same_unitary(_by_hand(out, fixed_device), c)
    path = tmp_path / "dev.json"
    true.to_json(path)
    assert suggest_corrections(path).device.qubits[1].sx_angle_error == pytest.approx(true.qubits[1].sx_angle_error)
    with pytest.raises(CompileError, match="Calibration, a Device"):
        suggest_corrections(42)


def test_optimize_takes_a_calibration():
    from qtandem.learn.calibrate import Calibration

    cal = Calibration(values={"e0-1.angle_error": 0.03, "e1-2.angle_error": 0.03, "e2-3.angle_error": 0.03,
                              "e3-4.angle_error": 0.03}, stderr={}, nll=0.0, data=None, base=Device.preset("line_5"))
    c = Circuit(2).h(0).cx(0, 1).rz(0.2, 1).cx(0, 1)
    _, report = optimize(c, level=1, corrections=cal)
    assert report.corrections.verified == "exact"
    assert [abs(u["angle"]) for u in report.corrections.uncorrected] == [0.03, 0.03]  # the calibration's numbers
