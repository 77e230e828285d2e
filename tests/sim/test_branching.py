"""Exact distributions of circuits with mid-circuit measurement, reset and feed-forward (issue 13 section 3).

Three independent references: a brute-force enumeration of every outcome sequence on the
NumPy reference simulator (no merging, no terminal shortcut, no shared helper), Monte-Carlo
sampling, and Qiskit Aer (skipped when qiskit-aer is not installed). With noise= (density
matrices branched on the classical record): the state-vector branching (noiseless model), the
torch trajectory sampler and Aer with the same noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import qtandem
from qtandem import Circuit, NoiseModel, Parameter
from qtandem.circuit.instruction import Instruction
from qtandem.errors import ResourceError, SimulationError
from qtandem.noise import amplitude_damping, depolarizing_qiskit, readout_error
from qtandem.noise.density import record_distribution
from qtandem.sim.branching import branch, distribution
from qtandem.sim.reference import _apply, _inst_matrix


def oracle(circuit: Circuit) -> dict[str, float]:
    """Every measurement (terminal ones too) and reset branches; feed-forward reads the record."""
    n, m = circuit.n_qubits, circuit.n_clbits
    insts = [i for i in circuit if i.name != "barrier"]
    out: dict[str, float] = {}

    def go(k: int, psi: np.ndarray, rec: list[int]) -> None:
        weight = float(np.vdot(psi, psi).real)
        if weight < 1e-300:
            return
        if k == len(insts):
            key = "".join(str(b) for b in reversed(rec))
            out[key] = out.get(key, 0.0) + weight
            return
        inst = insts[k]
        if inst.condition is not None:
            bits, value = inst.condition
            if sum(rec[c] << j for j, c in enumerate(bits)) != value:
                go(k + 1, psi, rec)
                return
        if inst.is_gate:
            go(k + 1, _apply(psi, _inst_matrix(inst, {}), inst.qubits, n), rec)
            return
        (q,) = inst.qubits  # the tests measure and reset one qubit at a time
        idx = (np.arange(2**n) >> q) & 1
        for outcome in (0, 1):
            proj = np.where(idx == outcome, psi, 0)
            if inst.name == "measure":
                new = list(rec)
                new[inst.clbits[0]] = outcome
                go(k + 1, proj, new)
            else:  # reset: move the 1 part to |0>
                moved = proj if outcome == 0 else np.where(idx == 0, proj[np.arange(2**n) | (1 << q)], 0)
                go(k + 1, moved, rec)

    go(0, np.eye(2**n, dtype=complex)[0], [0] * m)
    return {k: v for k, v in sorted(out.items()) if v > 1e-14}


def random_dynamic_circuit(n: int, m: int, length: int, seed: int) -> Circuit:
    """Random gates, measurements, resets and classically controlled gates; every qubit measured at the end."""
    rng = np.random.default_rng(seed)
    c = Circuit(n, m)
    for _ in range(length):
        kind = rng.choice(["h", "ry", "rx", "cx", "cz", "measure", "reset", "if_bit", "if_register"],
                          p=[0.15, 0.15, 0.1, 0.15, 0.05, 0.15, 0.1, 0.1, 0.05])
        q = int(rng.integers(n))
        if kind in ("h",):
            c.h(q)
        elif kind in ("ry", "rx"):
            getattr(c, kind)(float(rng.uniform(0, math.pi)), q)
        elif kind in ("cx", "cz"):
            t = int((q + 1 + rng.integers(n - 1)) % n)
            getattr(c, kind)(q, t)
        elif kind == "measure":
            c.measure(q, int(rng.integers(m)))
        elif kind == "reset":
            c.reset(q)
        elif kind == "if_bit":
            c.append(Instruction(str(rng.choice(["x", "h"])), (q,), condition=((int(rng.integers(m)),), 1)))
        else:
            c.append(Instruction("ry", (q,), (float(rng.uniform(0, math.pi)),),
                                 condition=(tuple(range(m)), int(rng.integers(2**m)))))
    for q in range(n):
        c.measure(q, q % m)
    return c


def teleport(theta: float) -> Circuit:
    return (Circuit(3, 3).ry(theta, 0).h(1).cx(1, 2).cx(0, 1).h(0).measure([0, 1], [0, 1])
            .append("x", [2], condition=((1,), 1)).append("z", [2], condition=((0,), 1)).measure(2, 2))


def assert_close(a: dict[str, float], b: dict[str, float], tol: float = 1e-10) -> None:
    keys = set(a) | set(b)
    assert max(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in keys) < tol, (a, b)


def tv(p: dict[str, float], counts: dict[str, int]) -> float:
    shots = sum(counts.values())
    keys = set(p) | set(counts)
    return 0.5 * sum(abs(p.get(k, 0.0) - counts.get(k, 0) / shots) for k in keys)


def test_a_reset_at_the_start_is_exact() -> None:
    # issue 13: exact probabilities refused any reset, even `reset q;` at the start
    c = qtandem.Circuit.from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
                                  "reset q;\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n")
    assert_close(distribution(c), {"00": 0.5, "11": 0.5})
    assert qtandem.probabilities(c).tolist() == pytest.approx([0.5, 0, 0, 0.5], abs=1e-12)
    assert len(branch(c).records) == 1      # resetting |0> does not branch


def test_teleportation_moves_the_state() -> None:
    d = distribution(teleport(0.6))
    assert len(d) == 8
    assert sum(p for k, p in d.items() if k[0] == "1") == pytest.approx(math.sin(0.3) ** 2, abs=1e-12)
    assert_close(d, oracle(teleport(0.6)))


def test_classical_register_not_qubits() -> None:
    # an adder-like circuit: 4 qubits, the 2-bit register as the program defines it
    c = Circuit(4, 2).x(0).x(1).ccx(0, 1, 3).cx(0, 2).cx(1, 2).measure([2, 3], [0, 1])
    assert distribution(c) == {"10": pytest.approx(1.0)}
    assert distribution(c, qubits=True) == {"1011": pytest.approx(1.0)}
    assert distribution(Circuit(2).h(0)) == pytest.approx({"00": 0.5, "01": 0.5})   # nothing measured: qubits


@pytest.mark.parametrize("seed", range(25))
def test_random_dynamic_circuits_match_brute_force(seed: int) -> None:
    c = random_dynamic_circuit(3, 3, 14, seed)
    assert_close(distribution(c), oracle(c))


@pytest.mark.parametrize("seed", range(6))
def test_sampling_agrees_with_the_exact_distribution(seed: int) -> None:
    c = random_dynamic_circuit(3, 3, 14, 100 + seed)
    exact = distribution(c)
    counts = qtandem.sample(c, 20_000, seed=seed).counts
    assert set(counts) <= set(exact)                  # same keys, same bit order
    assert tv(exact, counts) < 0.025                  # ~5 sigma for <= 8 outcomes at 20k shots


def test_sampling_is_reproducible_and_shuffled() -> None:
    c = teleport(1.1)
    a, b = qtandem.sample(c, 500, seed=3), qtandem.sample(c, 500, seed=3)
    assert np.array_equal(a.bits, b.bits)
    assert len({tuple(row) for row in a.bits[:20]}) > 2  # rows are not grouped by branch


def test_probabilities_and_expval_average_the_branches() -> None:
    c = Circuit(2, 1).h(0).measure(0, 0).append("x", [1], condition=((0,), 1)).h(0)
    assert qtandem.probabilities(c).tolist() == pytest.approx([0.25, 0.25, 0.25, 0.25], abs=1e-12)
    assert qtandem.expval(c, ["Z1", "X0", "Z0 Z1"]).tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    c = Circuit(2, 1).h(0).measure(0, 0).append("x", [1], condition=((0,), 1)).reset(0).h(0).ry(0.4, 1)
    assert qtandem.expval(c, ["X0", "Z1"]).tolist() == pytest.approx([1.0, 0.5 * math.cos(0.4) - 0.5 * math.cos(0.4)],
                                                                      abs=1e-12)


def test_probabilities_are_differentiable_and_batched() -> None:
    t = Parameter("t")
    c = Circuit(1, 1).ry(t, 0).measure(0, 0).ry(t, 0)
    theta = torch.tensor([0.3, 1.0], dtype=torch.float64, requires_grad=True)
    p = qtandem.probabilities(c, {"t": theta})
    assert p[:, 1].tolist() == pytest.approx((torch.sin(theta) ** 2 / 2).tolist(), abs=1e-12)
    p[:, 1].sum().backward()
    assert theta.grad is not None
    assert theta.grad.tolist() == pytest.approx((torch.sin(2 * theta) / 2).tolist(), abs=1e-10)


def test_branches_merge_when_a_reset_forgets() -> None:
    c = Circuit(2, 1)
    for _ in range(20):   # measure-free resets of an entangled qubit: 2 branches at most, not 2^20
        c.h(0).cx(0, 1).reset(0).reset(1)
    c.h(0).measure(0, 0)
    b = branch(c)
    assert len(b.records) == 1
    assert_close(distribution(c), {"0": 0.5, "1": 0.5})


def test_branch_limit_names_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTANDEM_MEMORY_LIMIT", str(2**20))
    c = Circuit(10, 10).h(range(10))
    for q in range(10):
        c.measure(q, q)
    c.h(range(10))
    with pytest.raises(ResourceError, match=r"branches of 10 qubits .* need"):
        distribution(c)


def test_batched_params_are_refused() -> None:
    t = Parameter("t")
    with pytest.raises(SimulationError, match="unbatched"):
        distribution(Circuit(1, 1).ry(t, 0).measure(0, 0), {"t": torch.tensor([0.1, 0.2])})


def test_sample_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    res = qtandem.sample(teleport(0.4), 100, seed=1, progress=True)
    assert res.shots == 100


# ---------------------------------------------------------------------------
# Qiskit Aer


def to_qiskit(c: Circuit):  # type: ignore[no-untyped-def]
    qiskit = pytest.importorskip("qiskit")
    qc = qiskit.QuantumCircuit(qiskit.QuantumRegister(c.n_qubits, "q"), qiskit.ClassicalRegister(c.n_clbits, "c"))
    creg = qc.cregs[0]
    for inst in c:
        if inst.name == "measure":
            qc.measure(inst.qubits[0], inst.clbits[0])
            continue
        if inst.name == "reset":
            qc.reset(inst.qubits[0])
            continue
        target = qc
        cond = inst.condition
        if cond is not None:
            bits, value = cond
            ctx = qc.if_test((creg, value) if len(bits) == c.n_clbits else (creg[bits[0]], value))
            target_cm = ctx
        else:
            target_cm = None
        def emit(qc_: object, inst: Instruction = inst) -> None:
            getattr(qc_, inst.name)(*[float(p) for p in inst.params], *inst.qubits)
        if target_cm is None:
            emit(target)
        else:
            with target_cm:
                emit(qc)
    return qc


@pytest.mark.parametrize("seed", range(4))
def test_random_dynamic_circuits_match_aer(seed: int) -> None:
    aer = pytest.importorskip("qiskit_aer")
    c = random_dynamic_circuit(3, 3, 16, 200 + seed)
    counts = aer.AerSimulator().run(to_qiskit(c), shots=20_000, seed_simulator=seed).result().get_counts()
    assert tv(distribution(c), counts) < 0.025


def test_teleportation_matches_aer() -> None:
    aer = pytest.importorskip("qiskit_aer")
    counts = aer.AerSimulator().run(to_qiskit(teleport(2.0)), shots=20_000, seed_simulator=1).result().get_counts()
    assert tv(distribution(teleport(2.0)), counts) < 0.02


# ---------------------------------------------------------------------------
# noise=


ONE_QUBIT = ["h", "rx", "ry", "x"]


def model(lam: float = 0.03, readout: bool = True) -> NoiseModel:
    m = (NoiseModel().add(depolarizing_qiskit(lam, 1), gates=ONE_QUBIT)
         .add(depolarizing_qiskit(lam, 2), gates=["cx", "cz"]))
    return m.add_readout(readout_error(p01=0.02, p10=0.05)) if readout else m


@pytest.mark.parametrize("seed", range(10))
def test_noiseless_density_branching_equals_state_vector_branching(seed: int) -> None:
    c = random_dynamic_circuit(3, 3, 14, seed)
    assert_close(qtandem.distribution(c, noise=NoiseModel(strict=False)), qtandem.distribution(c), tol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_noisy_distribution_agrees_with_trajectories(seed: int) -> None:
    c = random_dynamic_circuit(3, 3, 14, 300 + seed)
    m = model(readout=False).add(amplitude_damping(0.05), gates=["h"])
    exact = qtandem.distribution(c, noise=m)
    assert sum(exact.values()) == pytest.approx(1.0, abs=1e-9)
    counts = qtandem.sample(c, 20_000, seed=seed, noise=m, method="trajectories").counts
    assert tv(exact, counts) < 0.025
    dens = qtandem.sample(c, 20_000, seed=seed, noise=m, method="density").counts   # drawn from the exact one
    assert tv(exact, dens) < 0.025


def test_mid_circuit_readout_error_feeds_forward() -> None:
    c = Circuit(2, 2).x(0).measure(0, 0).append("x", [1], condition=((0,), 1)).measure(1, 1)
    m = NoiseModel().add_readout(readout_error(p01=0.0, p10=0.1))
    assert_close(record_distribution(c, noise=m), {0: 0.1, 1: 0.09, 3: 0.81})


def test_density_matrix_of_a_feed_forward_circuit_is_the_records_sum() -> None:
    c = Circuit(2, 1).h(0).measure(0, 0).append("x", [1], condition=((0,), 1))
    rho = qtandem.density_matrix(c)
    assert rho.diagonal().real.tolist() == pytest.approx([0.5, 0, 0, 0.5], abs=1e-12)
    assert abs(float(rho[0, 3].abs())) < 1e-12     # the measurement removed the coherence
    probs = qtandem.probabilities(c, noise=model(0.0, readout=False))
    assert probs.tolist() == pytest.approx([0.5, 0, 0, 0.5], abs=1e-12)


def test_conditioned_measure_with_noise_is_refused_by_name() -> None:
    c = Circuit(1, 2).h(0).measure(0, 0).append("measure", [0], clbits=[1], condition=((0,), 1))
    with pytest.raises(SimulationError, match="classically controlled measure"):
        qtandem.distribution(c, noise=NoiseModel(strict=False))
    with pytest.raises(SimulationError, match="unbatched"):
        record_distribution(Circuit(1, 1).rx(qtandem.Parameter("a"), 0).measure(0, 0), {"a": torch.tensor([0.1, 0.2])})


def aer_noise(lam: float, readout: bool):  # type: ignore[no-untyped-def]
    noise = pytest.importorskip("qiskit_aer.noise")
    qm = noise.NoiseModel()
    qm.add_all_qubit_quantum_error(noise.depolarizing_error(lam, 1), ONE_QUBIT)
    qm.add_all_qubit_quantum_error(noise.depolarizing_error(lam, 2), ["cx", "cz"])
    if readout:
        qm.add_all_qubit_readout_error(noise.ReadoutError([[0.98, 0.02], [0.05, 0.95]]))
    return qm


@pytest.mark.parametrize("seed", range(3))
def test_noisy_random_dynamic_circuits_match_aer(seed: int) -> None:
    # a conditioned gate's error acts only where the gate runs (was: on every shot)
    aer = pytest.importorskip("qiskit_aer")
    c = random_dynamic_circuit(3, 3, 14, 400 + seed)
    sim = aer.AerSimulator(noise_model=aer_noise(0.03, readout=False))
    counts = sim.run(to_qiskit(c), shots=20_000, seed_simulator=seed).result().get_counts()
    assert tv(qtandem.distribution(c, noise=model(0.03, readout=False)), counts) < 0.025


def test_noisy_teleportation_with_mid_circuit_readout_errors_matches_aer() -> None:
    # every bit written once (Aer applies a readout error to a bit's latest value when it is written twice)
    aer = pytest.importorskip("qiskit_aer")
    c = teleport(1.2)
    sim = aer.AerSimulator(noise_model=aer_noise(0.05, readout=True))
    counts = sim.run(to_qiskit(c), shots=20_000, seed_simulator=1).result().get_counts()
    exact = qtandem.distribution(c, noise=model(0.05).add(depolarizing_qiskit(0.0, 1), gates=["z"]))
    assert tv(exact, counts) < 0.025


def test_a_device_stands_for_its_noise_model() -> None:
    from qtandem.device import Device

    dev = Device.preset("heavy_hex_27")
    c = Circuit(2, 2).sx(0).measure(0, 0).append("x", [1], condition=((0,), 1)).measure(1, 1)
    assert_close(qtandem.distribution(c, noise=dev), qtandem.distribution(c, noise=dev.noise_model()), tol=1e-12)
    assert sum(qtandem.sample(c, 200, seed=1, noise=dev).counts.values()) == 200


def test_openqasm2_feed_forward_is_exact() -> None:
    c = qtandem.Circuit.from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[1];\ncreg b[1];\n'
                                  "creg r[1];\nry(0.8) q[0];\nh q[1];\ncx q[1], q[2];\ncx q[0], q[1];\nh q[0];\n"
                                  "measure q[0] -> a[0];\nmeasure q[1] -> b[0];\nif(b==1) x q[2];\nif(a==1) z q[2];\n"
                                  "measure q[2] -> r[0];\n")
    d = distribution(c)
    assert sum(p for k, p in d.items() if k[0] == "1") == pytest.approx(math.sin(0.4) ** 2, abs=1e-12)
    assert_close(d, oracle(c))


def test_too_many_branches_fall_back_to_density_matrices_per_record(monkeypatch: pytest.MonkeyPatch) -> None:
    c = Circuit(3, 1)
    for k in range(12):   # 2,048 branches with different states but only 2 records
        c.ry(0.3 + 0.1 * k, 0).cx(0, 1).ry(0.2 * k + 0.1, 1).cx(1, 2).h(2).measure(2, 0)
    c.measure(0, 0)
    expected = distribution(c)
    assert len(branch(c).records) == 2048
    monkeypatch.setenv("QTANDEM_MEMORY_LIMIT", str(2**19))   # 2,048 x 128 B x 3 > 512 KiB > 2 x 1 KiB x 3
    with pytest.raises(ResourceError, match="2048 branches"):
        branch(c)
    assert_close(distribution(c), expected, tol=1e-10)


def test_trajectories_apply_a_mid_circuit_readout_error_before_feed_forward() -> None:
    c = Circuit(2, 2).x(0).measure(0, 0).append("x", [1], condition=((0,), 1)).measure(1, 1)
    m = NoiseModel().add_readout(readout_error(p01=0.0, p10=0.1)).add(depolarizing_qiskit(0.0, 1), gates=["x"])
    counts = qtandem.sample(c, 20_000, seed=5, noise=m, method="trajectories").counts
    assert tv({"00": 0.1, "01": 0.09, "11": 0.81}, counts) < 0.015    # was: '10' at 0.09, no '00'


def test_large_states_in_place_paths_match_the_exact_answer():
    """Wide circuits take the in-place paths (row-wise kernels, in-place collapse, vdot merge)."""
    from qtandem.sim.branching import _NATIVE_ROWS_FROM

    n = max(_NATIVE_ROWS_FROM, 16)
    c = Circuit(n, 3)
    c.h(0).h(1).cx(1, 2)
    c.measure(0, 0).measure(1, 1)
    c.append("x", [0], condition=((0,), 1))          # feed-forward: qubit 0 back to |0>
    c.append("x", [2], condition=((1,), 1))          # undo the copy on qubit 2
    c.append("x", [1], condition=((1,), 1))
    for q in range(2, n - 1):
        c.cx(q, q + 1)
    c.reset(1).h(n - 1).h(n - 1)
    c.measure(n - 1, 2)
    exact = qtandem.distribution(c)
    assert exact == pytest.approx({"000": 0.25, "001": 0.25, "010": 0.25, "011": 0.25})
    res = qtandem.sample(c, shots=400, seed=5)
    assert set(res.counts) <= set(exact) and sum(res.counts.values()) == 400
    probs = qtandem.probabilities(c)
    assert float(probs[0]) == pytest.approx(1.0)  # every branch ends in |0...0>
