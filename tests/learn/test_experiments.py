"""Characterization experiments: native gates, x-value rules, and the signal each shows on a device with
known parameters (exact probabilities from the density-matrix simulator, the circuits cut to their qubits as
the simulator executor runs them)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import stim

from qtandem import Circuit, statevector
from qtandem.device import Device, EdgeProperties, QubitProperties
from qtandem.device.executors import restrict, touched_qubits
from qtandem.errors import DataError
from qtandem.learn import clifford
from qtandem.learn.experiments import (
    EXPERIMENTS,
    PAIR_EXPERIMENTS,
    TYPICAL,
    build_experiment,
    decay_information,
    default_xs,
)

NATIVE = {"rz", "sx", "x", "cx", "delay", "measure"}
INF = 1e12  # "infinite" T1 (ns): no relaxation


def device(qubits: list[QubitProperties], edges: dict[tuple[int, int], EdgeProperties] | None = None) -> Device:
    graph = nx.Graph()
    graph.add_nodes_from(range(len(qubits)))
    graph.add_edges_from(edges or {})
    return Device(name="test", num_qubits=len(qubits), coupling_map=graph,
                  native_gates=["cx", "id", "measure", "reset", "rz", "sx", "x"], qubits=qubits, edges=edges or {})


def ideal_qubit(**kw: float) -> QubitProperties:
    base = {"t1": INF, "t2": INF}
    base.update(kw)
    return QubitProperties(**base)


def bit_probs(dev: Device, circuit: Circuit) -> np.ndarray:
    """``(2**k,)`` exact outcome probabilities of the circuit's classical bits (bit 0 lowest)."""
    qubits = touched_qubits(circuit)
    model = dev.subset(qubits).noise_model()
    dist = model.record_distribution(restrict(circuit, qubits))
    out = np.zeros(2**circuit.n_clbits)
    for record, p in dist.items():
        out[int(record)] += float(p)
    return out


def p_one(dev: Device, circuit: Circuit, bit: int = 0) -> float:
    probs = bit_probs(dev, circuit)
    return float(sum(p for i, p in enumerate(probs) if i >> bit & 1))


# -- structure -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_is_native_full_width_and_measures_its_qubits(name: str) -> None:
    qubits = (1, 2) if name in PAIR_EXPERIMENTS else (2,)
    exp = build_experiment(name, qubits, width=4, n_seeds=1, xs=[1, 2] if name in ("rb", "irb") else None)
    assert exp.name == name and exp.qubits == qubits and len(exp.xs) == len(exp.circuits) > 0
    for circuit in exp.circuits:
        assert circuit.n_qubits == 4 and circuit.n_clbits == len(qubits)
        assert {inst.name for inst in circuit} <= NATIVE, {inst.name for inst in circuit}
        measures = [(i.qubits[0], i.clbits[0]) for i in circuit if i.name == "measure"]
        assert measures == list(zip(qubits, range(len(qubits)), strict=True))
        assert set(touched_qubits(circuit)) <= set(qubits)
        assert not Device.preset("line_5").validate(circuit)  # strict device check: native, coupled
    assert exp.to_dict()["xs"] == exp.xs


def test_bad_requests_are_refused() -> None:
    with pytest.raises(DataError, match="unknown experiment 'ramsy'"):
        build_experiment("ramsy", (0,), width=1)
    with pytest.raises(DataError, match="acts on a pair"):
        build_experiment("zz", (0,), width=2)
    with pytest.raises(DataError, match="acts on one qubit"):
        build_experiment("t1", (0, 1), width=2)
    with pytest.raises(DataError, match="outside the device"):
        build_experiment("t1", (3,), width=2)
    with pytest.raises(DataError, match="finite and >= 0"):
        build_experiment("t1", (0,), width=1, xs=[-5.0])


@pytest.mark.parametrize("kind", ["t1", "echo"])
def test_decay_delays_beat_a_linear_grid_when_the_prior_is_off(kind: str) -> None:
    scale = TYPICAL["t1"] if kind == "t1" else TYPICAL["t2"]
    design = default_xs(kind, (0,))
    assert design[0] == 0 and len(design) == 12
    ratios = np.diff(np.log(design[1:]))
    assert np.allclose(ratios, ratios[0])  # geometric, not a fixed linear grid
    linear = np.linspace(0, 3 * scale, 12)
    truths = np.geomspace(scale / 3, 3 * scale, 9)
    ours = [decay_information(design, t, kind=kind) for t in truths]
    theirs = [decay_information(linear, t, kind=kind) for t in truths]
    assert min(ours) > 1.4 * min(theirs)
    assert np.mean(np.log(ours)) >= np.mean(np.log(theirs))


def test_delays_follow_the_prior() -> None:
    prior = device([QubitProperties(t1=30e3, t2=20e3)])
    assert default_xs("t1", (0,), prior) == pytest.approx(np.array(default_xs("t1", (0,))) * 0.3, rel=1e-6)
    assert default_xs("echo", (0,), prior) == pytest.approx(np.array(default_xs("echo", (0,))) * 0.2, rel=1e-6)
    ramsey = default_xs("ramsey", (0,), prior)
    assert ramsey[-1] == pytest.approx(30e3) and np.all(np.diff(ramsey) > 0)
    # the dense start samples the fastest fringe (virtual detuning + the largest detuning) 4x per period
    rate = build_experiment("ramsey", (0,), width=1, prior=prior).meta["virtual_detuning"]
    assert ramsey[1] * 2 * rate <= math.pi / 2 + 1e-9
    long = default_xs("ramsey", (0,))
    typical_rate = build_experiment("ramsey", (0,), width=1).meta["virtual_detuning"]
    assert long[1] * 2 * typical_rate == pytest.approx(math.pi / 2)
    assert long[-1] == pytest.approx(1.5 * TYPICAL["t2"]) and np.all(np.diff(long) > 0)
    # a worse gate shortens RB sequences; amplification stops where the accumulated error gets large
    noisy = device([QubitProperties(t1=100e3, t2=100e3, gate_error_1q=5e-3)])
    assert default_xs("rb", (0,), noisy)[-1] < default_xs("rb", (0,))[-1]
    assert default_xs("amplify_x", (0,), noisy)[-1] < default_xs("amplify_x", (0,))[-1]
    assert all(int(n) % 4 == 1 for n in default_xs("amplify_sx", (0,), amplify="equator"))
    assert [int(n) % 4 for n in default_xs("amplify_sx", (0,))] == [1, 2] * 4  # the default: equator and pole
    assert all(int(n) % 2 == 0 for n in default_xs("amplify_cx", (0, 1)))


# -- signals ---------------------------------------------------------------------------------
def test_t1_decays_as_exp_minus_t_over_t1_within_readout_error() -> None:
    t1 = 50e3
    exact = device([ideal_qubit(t1=t1, t2=2 * t1)])
    exp = build_experiment("t1", (0,), width=1, prior=exact)
    got = [p_one(exact, c) for c in exp.circuits]
    assert np.allclose(got, np.exp(-np.array(exp.xs) / t1), atol=1e-9)
    p01, p10 = 0.02, 0.05
    noisy = device([ideal_qubit(t1=t1, t2=2 * t1, readout_p01=p01, readout_p10=p10)])
    got = np.array([p_one(noisy, c) for c in exp.circuits])
    assert np.allclose(got, p01 + (1 - p01 - p10) * np.exp(-np.array(exp.xs) / t1), atol=1e-9)


def test_ramsey_fringe_has_the_virtual_plus_true_detuning_and_t2_decay() -> None:
    t2, detuning = 40e3, 2 * math.pi * 20e-6  # 20 kHz in rad/ns
    dev = device([ideal_qubit(t2=t2, detuning=detuning)])
    exp = build_experiment("ramsey", (0,), width=1, prior=device([ideal_qubit(t2=t2)]))
    t, phi = np.array(exp.xs), np.array(exp.meta["phase_offset"])
    assert list(phi[:4]) == [0, math.pi / 2, 0, math.pi / 2]
    w_v = exp.meta["virtual_detuning"]
    got = np.array([p_one(dev, c) for c in exp.circuits])
    assert np.allclose(got, (1 + np.exp(-t / t2) * np.cos((w_v + detuning) * t + phi)) / 2, atol=1e-9)
    # the opposite detuning gives a different fringe: the sign is visible
    flipped = np.array([p_one(device([ideal_qubit(t2=t2, detuning=-detuning)]), c) for c in exp.circuits])
    assert np.max(np.abs(flipped - got)) > 0.2
    # and so does the mirror -2 w_v - d, which one quadrature alone cannot tell from d
    mirror = np.array([p_one(device([ideal_qubit(t2=t2, detuning=-2 * w_v - detuning)]), c) for c in exp.circuits])
    assert np.max(np.abs(mirror - got)) > 0.2
    assert np.allclose(mirror[phi == 0], got[phi == 0], atol=1e-9)


def test_echo_cancels_detuning_and_decays_with_t2() -> None:
    t2 = 40e3
    dev = device([ideal_qubit(t2=t2, detuning=2 * math.pi * 30e-6)])
    exp = build_experiment("echo", (0,), width=1, prior=dev)
    got = np.array([p_one(dev, c) for c in exp.circuits])
    assert np.allclose(got, (1 - np.exp(-np.array(exp.xs) / t2)) / 2, atol=1e-9)


def test_zz_shifts_the_ramsey_frequency_by_zeta_between_partner_states() -> None:
    zeta = 2 * math.pi * 60e-6
    dev = device([ideal_qubit(t2=60e3), ideal_qubit()], {(0, 1): EdgeProperties(error=0.0, duration=0.0, zz=zeta)})
    exp = build_experiment("zz", (0, 1), width=2, prior=device([ideal_qubit(t2=60e3), ideal_qubit()],
                                                                 {(0, 1): EdgeProperties(error=0.0, duration=0.0)}))
    w_v = exp.meta["virtual_detuning"]
    for circuit, t, b, phi in zip(exp.circuits, exp.xs, exp.meta["partner_state"], exp.meta["phase_offset"],
                                  strict=True):
        w = w_v + (zeta / 2 if b == 0 else -zeta / 2)
        expected = (1 + math.exp(-t / 60e3) * math.cos(w * t + phi)) / 2
        assert p_one(dev, circuit, 0) == pytest.approx(expected, abs=1e-6)
        assert p_one(dev, circuit, 1) == pytest.approx(b, abs=1e-6)


@pytest.mark.parametrize("error", [0.03, -0.03])
@pytest.mark.parametrize("amplify", ["equator", "poles"])
def test_amplify_sx_shows_over_and_under_rotation(error: float, amplify: str) -> None:
    dev = device([ideal_qubit(sx_angle_error=error)])
    exp = build_experiment("amplify_sx", (0,), width=1, amplify=amplify)
    got = np.array([p_one(dev, c) for c in exp.circuits])
    n = np.array(exp.xs)
    assert np.allclose(got, (1 - np.cos(n * (math.pi / 2 + error))) / 2, atol=1e-9)  # n sx: rotation n (pi/2 + e)
    equator = n % 4 == 1  # there (1 + sin(n e)) / 2: the sign shows; at n = 4k + 2 (1 + cos(n e)) / 2
    assert np.allclose(got[equator], (1 + np.sin(n[equator] * error)) / 2, atol=1e-9)
    assert np.allclose(got[~equator], (1 + np.cos(n[~equator] * error)) / 2, atol=1e-9)
    last = got[equator][-1] - 0.5
    assert np.sign(last) == np.sign(error) and abs(last) > 0.3


@pytest.mark.parametrize("error", [0.02, -0.02])
def test_amplify_x_shows_over_and_under_rotation(error: float) -> None:
    dev = device([ideal_qubit(x_angle_error=error)])
    exp = build_experiment("amplify_x", (0,), width=1)
    n = np.array(exp.xs)
    got = np.array([p_one(dev, c) for c in exp.circuits])
    assert np.allclose(got, (1 + (-1) ** n * np.sin(n * error)) / 2, atol=1e-9)


@pytest.mark.parametrize("error", [0.03, -0.03])
def test_amplify_cx_shows_the_cross_resonance_over_rotation(error: float) -> None:
    dev = device([ideal_qubit(), ideal_qubit()], {(0, 1): EdgeProperties(error=0.0, duration=0.0, angle_error=error)})
    exp = build_experiment("amplify_cx", (0, 1), width=2)
    for circuit, n, c in zip(exp.circuits, exp.xs, exp.meta["control_state"], strict=True):
        sign = 1 if c == 0 else -1
        assert p_one(dev, circuit, 1) == pytest.approx((1 + sign * math.sin(n * error)) / 2, abs=1e-9)
        assert p_one(dev, circuit, 0) == pytest.approx(c, abs=1e-9)
    ideal = device([ideal_qubit(), ideal_qubit()], {(0, 1): EdgeProperties(error=0.0, duration=0.0)})
    assert all(p_one(ideal, circuit, 1) == pytest.approx(0.5) for circuit in exp.circuits)


def test_readout_prepares_every_basis_state() -> None:
    dev = device([ideal_qubit(readout_p01=0.03, readout_p10=0.07), ideal_qubit()])
    single = build_experiment("readout", (0,), width=2)
    assert [p_one(dev, c) for c in single.circuits] == pytest.approx([0.03, 0.93], abs=1e-9)
    pair = build_experiment("readout", (1, 0), width=2)
    ideal = device([ideal_qubit(), ideal_qubit()])
    for circuit, state in zip(pair.circuits, pair.xs, strict=True):
        assert bit_probs(ideal, circuit)[int(state)] == pytest.approx(1.0)


def test_rb_sequences_return_to_zero_and_decay_with_gate_error() -> None:
    exp = build_experiment("rb", (0,), width=1, xs=[1, 10, 60], n_seeds=2, seed=4)
    assert len(exp.circuits) == 6 and exp.xs == [1.0, 1.0, 10.0, 10.0, 60.0, 60.0]
    assert len(set(exp.meta["sequence_seed"])) == 6
    for circuit in exp.circuits:
        state = statevector(circuit.copy())
        assert abs(complex(state[0])) ** 2 == pytest.approx(1.0, abs=1e-12)
    dev = device([ideal_qubit(t1=100e3, t2=100e3, gate_error_1q=2e-3, gate_duration_1q=35.6)])
    survival = [1 - p_one(dev, c) for c in exp.circuits]
    assert survival[0] > survival[2] > survival[4] > 0.6
    again = build_experiment("rb", (0,), width=1, xs=[1, 10, 60], n_seeds=2, seed=4)
    assert [c.to_qasm(3) for c in again.circuits] == [c.to_qasm(3) for c in exp.circuits]


def test_irb_sequences_are_identities_with_interleaved_cx() -> None:
    exp = build_experiment("irb", (0, 2), width=3, xs=[1, 5], n_seeds=2)
    assert exp.meta["interleaved"] == [False] * 4 + [True] * 4 and exp.meta["interleaved_gate"] == "cx"
    for circuit, flag, m in zip(exp.circuits, exp.meta["interleaved"], exp.xs, strict=True):
        assert abs(complex(statevector(circuit.copy())[0])) ** 2 == pytest.approx(1.0, abs=1e-10)
        if flag:
            assert circuit.count_ops()["cx"] >= m
    dev = device([ideal_qubit(t1=100e3, t2=100e3), ideal_qubit(), ideal_qubit(t1=100e3, t2=100e3)],
                 {(0, 2): EdgeProperties(error=0.02, duration=300.0)})
    assert bit_probs(dev, exp.circuits[2])[0] < bit_probs(dev, exp.circuits[0])[0] < 1


# -- Clifford groups -------------------------------------------------------------------------
def _unitary(ops: list[clifford.NativeOp], n: int) -> np.ndarray:
    circuit = Circuit(n)
    for name, qubits, params in ops:
        circuit.append(name, list(qubits), params)
    return circuit.to_matrix().numpy()


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    return np.allclose(a * (b[k] / a[k]), b, atol=1e-9)


def test_one_qubit_cliffords_are_24_distinct_native_words_matching_stim() -> None:
    assert len(clifford.CLIFFORD_1Q) == 24
    assert len({str(clifford.ops_tableau(w, 1)) for w in clifford.CLIFFORD_1Q}) == 24
    for word in clifford.CLIFFORD_1Q:
        assert {op[0] for op in word} <= {"rz", "sx", "x"} and sum(op[0] != "rz" for op in word) <= 1
        tab = clifford.ops_tableau(word, 1)
        assert _equal_up_to_phase(_unitary(list(word), 1), tab.to_unitary_matrix(endian="little"))


def test_two_qubit_cliffords_are_the_whole_group_and_match_stim() -> None:
    table = clifford.clifford_2q_table()
    assert len(table) == 11520 and sorted(table.values()) == list(range(11520))
    rng = np.random.default_rng(0)
    for index in [0, 575, 576, 5759, 5760, 10943, 10944, 11519, *rng.integers(0, 11520, 40)]:
        ops = clifford.clifford_2q_ops(int(index))
        tab = clifford.ops_tableau(ops, 2)
        assert clifford.clifford_2q_index(tab) == index
        assert sum(op[0] == "cx" for op in ops) <= 3
        assert _equal_up_to_phase(_unitary(ops, 2), tab.to_unitary_matrix(endian="little"))
    assert clifford.clifford_2q_index(stim.Tableau.from_named_gate("CZ")) < 11520
    with pytest.raises(ValueError, match="0..11519"):
        clifford.clifford_2q_ops(11520)


@pytest.mark.parametrize(("name", "qubits", "doubling"), [("amplify_sx", (0,), [1, 5, 9, 13, 17, 25]),
                                                          ("amplify_x", (0,), [0, 1, 2, 3, 4, 6, 8, 12, 16, 24]),
                                                          ("amplify_cx", (0, 1), [0, 2, 4, 6, 8, 12, 16, 24])])
def test_amplification_counts_stay_unimodal_and_beat_a_doubling_series(name: str, qubits: tuple[int, ...],
                                                                      doubling: list[int]) -> None:
    counts = np.array(default_xs(name, qubits, amplify="equator"))  # amplify_sx's default "poles" goes 2x deeper
    assert counts.max() * TYPICAL["angle_range"] <= math.pi / 2  # P(1) monotone over the prior range
    assert np.mean(counts**2) > 1.4 * np.mean(np.array(doubling) ** 2)  # information per shot ~ n^2
    assert counts.min() <= 1  # a short sequence keeps the fit robust


TARGETS = {"t1": "q0.t1", "ramsey": "q0.detuning", "echo": "q0.t2", "amplify_sx": "q0.sx_angle_error",
           "amplify_x": "q0.x_angle_error", "amplify_cx": "e0-1.angle_error", "zz": "e0-1.zz", "rb": "q0.gate_error_1q",
           "irb": "e0-1.error"}


def test_each_experiment_informs_its_parameter_most() -> None:
    """Expected Fisher information (the calibration's own likelihood, learn.likelihood) of each experiment on
    a random device, relative to each parameter's size: the experiment's target parameter comes first."""
    from qtandem.learn import characterization
    from qtandem.learn.likelihood import LikelihoodModel

    dev = Device.random(2, seed=1)
    names = ["q0.t1", "q0.t2", "q0.detuning", "q0.sx_angle_error", "q0.x_angle_error", "q0.gate_error_1q",
             "q0.readout_p01", "q0.readout_p10", "e0-1.angle_error", "e0-1.zz", "e0-1.error"]
    lik = LikelihoodModel(names, dev, [0, 1])
    theta = lik.theta0()
    scale = theta.abs().clamp_min(1e-9) ** 2
    plan = characterization([0], pairs=[(0, 1)], prior=dev, n_seeds=1)
    for exp in plan.experiments:
        info = (lik.fisher(exp.circuits, 1000, theta).diagonal() * scale).tolist()
        ranked = [n for _, n in sorted(zip(info, names, strict=True), reverse=True)]
        if exp.name == "readout" and exp.qubits == (0,):
            assert set(ranked[:2]) == {"q0.readout_p01", "q0.readout_p10"}
        elif exp.name in TARGETS:
            assert ranked[0] == TARGETS[exp.name], (exp.name, ranked[:3])
            if exp.name == "ramsey":
                assert "q0.t2" in ranked[:2]
