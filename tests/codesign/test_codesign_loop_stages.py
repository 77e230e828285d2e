"""The loop's stages on their own: fast calibration against a known device, the GHZ estimator against the
exact density matrix, the fast corrections against the full correction pass, drift detection."""

from __future__ import annotations

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.codesign.stages import WorkloadResult, calibrate, characterize, detect
from qtandem.codesign.workloads import GHZWorkload, compile_for_device, fast_corrections, ghz_circuit
from qtandem.device import Device
from qtandem.device.executors import simulator_executor


def _true_device() -> Device:
    dev = Device.preset("line_5")
    dev.qubits[0].sx_angle_error = 0.07
    dev.qubits[0].x_angle_error = -0.05
    dev.qubits[1].sx_angle_error = -0.04
    dev.qubits[0].readout_p01, dev.qubits[0].readout_p10 = 0.03, 0.09
    dev.edges[(0, 1)].angle_error = 0.06
    return dev


def test_calibrate_recovers_readout_and_over_rotations() -> None:
    true = _true_device()
    data = characterize(Device.preset("line_5"), simulator_executor(true, seed=3), [0, 1], [(0, 1)],
                        shots=2000, experiments=["readout", "amplify_sx", "amplify_x", "amplify_cx"], seed=1)
    learned = calibrate(data, Device.preset("line_5"))
    assert learned.qubits[0].readout_p01 == pytest.approx(0.03, abs=0.01)
    assert learned.qubits[0].readout_p10 == pytest.approx(0.09, abs=0.015)
    assert learned.qubits[0].sx_angle_error == pytest.approx(0.07, abs=0.012)
    assert learned.qubits[1].sx_angle_error == pytest.approx(-0.04, abs=0.012)
    assert learned.qubits[0].x_angle_error == pytest.approx(-0.05, abs=0.012)
    assert learned.edges[(0, 1)].angle_error == pytest.approx(0.06, abs=0.012)  # the sign convention too
    # numbers the data does not inform stay the prior's
    assert learned.qubits[2].sx_angle_error == Device.preset("line_5").qubits[2].sx_angle_error


def test_calibrate_refuses_unknown_method() -> None:
    from qtandem.errors import ConfigError

    dev = Device.preset("line_5")
    data = characterize(dev, simulator_executor(dev), [0], shots=10, experiments=["readout"])
    with pytest.raises(ConfigError, match="characterize.method"):
        calibrate(data, dev, method="magic")


def test_ghz_estimate_matches_exact_fidelity() -> None:
    """The workload's readout-mitigated fidelity, with the true device as belief, equals <psi|rho|psi> of the
    compiled circuit under the device's noise (exact density matrix, readout excluded)."""
    true = _true_device()
    n = 3
    w = GHZWorkload(n)
    res = w.run(true, simulator_executor(true, seed=5), shots=24000, seed=2)
    circuits, qubits = w.circuits(true, seed=2)
    body = Circuit(circuits[0].n_qubits)
    for inst in circuits[0]:
        if inst.name != "measure":
            body.append(inst)
    from qtandem.device.executors import restrict, touched_qubits

    active = touched_qubits(circuits[0])
    small = restrict(body, active)
    rho = true.subset(active).noise_model(readout=False).density_matrix(small).detach().numpy()
    psi = np.zeros(2**len(active), dtype=complex)
    idx0 = 0
    idx1 = sum(1 << active.index(q) for q in qubits)
    psi[idx0] = psi[idx1] = 2**-0.5
    exact = float(np.real(psi.conj() @ rho @ psi))
    assert res.value == pytest.approx(exact, abs=0.03)
    assert res.details["fidelity_raw"] < exact - 0.02  # readout errors (3%, 9% on qubit 0) cost fidelity raw


def test_ghz_circuits_cancel_believed_over_rotations() -> None:
    """Every setting's circuit, run with the device's faulty sx/x (coherent errors only), does what the
    uncorrected circuit does with ideal gates; without corrections it does not."""
    from qtandem.compile.correct import coherent_infidelity

    true = Device.preset("line_5")
    for q in true.qubits:
        q.sx_angle_error = 0.1
    fixed, qubits = GHZWorkload(3).circuits(true)
    plain, qubits2 = GHZWorkload(3, corrections=False).circuits(true)
    assert qubits == qubits2
    for f, p in zip(fixed, plain, strict=True):
        assert coherent_infidelity(f, true, reference=p) < 1e-9
        assert coherent_infidelity(p, true) > 1e-3
    out, rep = compile_for_device(ghz_circuit(2), true)
    assert out.n_qubits == true.num_qubits and rep["final_layout"][0] in rep["physical_qubits"]


def test_fast_corrections_agree_with_the_full_pass() -> None:
    """On a small circuit the cheap steps give the coherent error the full (proven) pass reaches."""
    from qtandem.compile import correct_for_device
    from qtandem.compile.correct import coherent_infidelity

    true = _true_device()
    c = Circuit(2).sx(0).rz(0.3, 0).sx(0).sx(1).cx(0, 1).sx(1).rz(1.1, 1).sx(1)
    fast = fast_corrections(c, true)
    full, _ = correct_for_device(c, true, echo=False)
    before = coherent_infidelity(c, true)
    after_fast, after_full = coherent_infidelity(fast, true, reference=c), coherent_infidelity(full, true, reference=c)
    assert after_fast < 0.2 * before  # the lone cx over-rotation (no partner) stays in both
    assert after_fast == pytest.approx(after_full, abs=1e-6)


def test_detect_flags_the_drifted_qubit_only() -> None:
    rng = np.random.default_rng(7)
    details = {"qubits": [2, 5], "labels": {"z_bits": ["q2", "q5"]}}
    ref = WorkloadResult("w", 0, 0, 5000, {"z_bits": rng.random((5000, 2)) < 0.2}, details)
    same = WorkloadResult("w", 0, 0, 5000, {"z_bits": rng.random((5000, 2)) < 0.2}, details)
    moved = WorkloadResult("w", 0, 0, 5000, {"z_bits": rng.random((5000, 2)) < [0.2, 0.3]}, details)
    assert detect(ref, same)["drifted"] is False
    out = detect(ref, moved)
    assert out["drifted"] is True and out["qubits"] == [5]


@pytest.mark.slow
def test_vqe_lih_energy_against_exact_diagonalization() -> None:
    """LiH (2e, 2o): the noiseless VQE state reaches the exact energy; on a noiseless executor with a
    noiseless belief the sampled, grouped estimate matches it within shot noise; with noise it is worse."""
    pytest.importorskip("pyscf")
    from qtandem.codesign.workloads import VQEWorkload
    from qtandem.noise import NoiseModel

    w = VQEWorkload()
    prep = w.prepare()
    assert prep["vqe_energy"] == pytest.approx(prep["exact_energy"], abs=1e-6)
    ideal = Device.preset("line_5")
    for q in ideal.qubits:
        q.readout_p01 = q.readout_p10 = q.sx_angle_error = q.x_angle_error = q.detuning = 0.0
    for e in ideal.edges.values():
        e.angle_error = e.zz = 0.0
    res = w.run(ideal, simulator_executor(NoiseModel(), seed=1), shots=36000, seed=0)
    assert res.error < 0.02
    noisy = w.run(Device.preset("line_5"), simulator_executor(Device.preset("line_5"), seed=1), shots=9000, seed=0)
    assert noisy.details["error_raw"] > res.error
    zne = VQEWorkload(zne=True)
    zne._prepared = prep
    folded = zne.run(Device.preset("line_5"), simulator_executor(Device.preset("line_5"), seed=1), shots=18000, seed=0)
    assert folded.details["circuits"] == 2 * folded.details["groups"]
    assert folded.error < 0.7 * folded.details["error_readout_mitigated"]  # extrapolation removes part of the cx noise
