"""Layout, SABRE routing and ESP: valid on the device, equivalent up to the permutation, seeded, clear errors."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from compile_helpers import circuits
from hypothesis import given, settings
from hypothesis import strategies as st

from qtandem import Circuit
from qtandem.compile.esp import expected_success_probability
from qtandem.compile.layout import best_region, resolve_device
from qtandem.compile.routing import route, route_and_verify
from qtandem.compile.verify import verify_equivalent
from qtandem.device import Device
from qtandem.errors import CompileError, VerificationError


def _random(n: int, m: int, seed: int) -> Circuit:
    import random

    r = random.Random(seed)
    c = Circuit(n)
    for _ in range(m):
        k = r.random()
        if k < 0.45:
            c.cx(*r.sample(range(n), 2))
        elif k < 0.55 and n >= 3:
            c.ccx(*r.sample(range(n), 3))
        else:
            c.append(r.choice(["h", "t", "s", "x"]), [r.randrange(n)])
    return c


@pytest.mark.parametrize(("dev", "n", "seed"), [("line_5", 5, 0), ("ring_8", 6, 1), ("grid_4x4", 8, 2),
                                               ("heavy_hex_27", 7, 3)])
def test_routed_is_valid_and_equivalent(dev: str, n: int, seed: int) -> None:
    c = _random(n, 40, seed)
    out, res = route_and_verify(c, dev, seed=seed, trials=3)
    assert res.device.validate(out) == []
    assert out.n_qubits == res.device.num_qubits
    # independent exact check on the active wires (<= 10 here) up to the recorded permutation
    verify_equivalent(res.embedded_input(c), out, permutation=res.permutation, method="exact")
    # a wrong permutation is rejected
    if res.permutation != list(range(len(res.permutation))):  # swaps may also net to no permutation
        with pytest.raises(VerificationError):
            verify_equivalent(res.embedded_input(c), out, method="exact")


def test_measurements_follow_the_final_layout() -> None:
    c = Circuit(4, 4).h(0).cx(0, 3).cx(1, 3).cx(2, 0).measure_all()
    out, res = route_and_verify(c, "line_5", seed=0)
    meas = {i.clbits[0]: i.qubits[0] for i in out if i.name == "measure"}
    assert meas == {q: res.final_layout[q] for q in range(4)}


def test_seeds_reproducible() -> None:
    c = _random(6, 50, 7)
    a = route(c, "heavy_hex_27", seed=5, trials=3)
    b = route(c, "heavy_hex_27", seed=5, trials=3)
    assert a.circuit == b.circuit and a.initial_layout == b.initial_layout


def test_esp_hand_computation() -> None:
    dev = Device.preset("line_5")
    c = Circuit(2, 1).sx(0).rz(0.3, 0).cx(0, 1).measure(1, 0)
    q0, q1, e = dev.qubits[0], dev.qubits[1], dev.edges[(0, 1)]
    p = (1 - q0.gate_error_1q) * (1 - e.error) * (1 - (q1.readout_p01 + q1.readout_p10) / 2)
    assert expected_success_probability(c, dev, idle=False) == pytest.approx(p, rel=1e-12)
    # idle: q1 starts with the cx (it rests in |0> during the sx), q0 waits during the readout of q1
    t_cx, t_ro = e.duration, q1.readout_duration
    idle = math.exp(-t_ro / q0.t1 - t_ro / q0.t2)
    c2 = Circuit(2, 1).sx(1).sx(0).sx(0).cx(0, 1).measure(1, 0)  # q1 now idles for one sx after its first sx
    t_sx = q0.gate_duration_1q
    p2 = ((1 - q0.gate_error_1q) ** 2 * (1 - q1.gate_error_1q) * (1 - e.error)
          * (1 - (q1.readout_p01 + q1.readout_p10) / 2))
    idle2 = math.exp(-t_sx / q1.t1 - t_sx / q1.t2) * math.exp(-t_ro / q0.t1 - t_ro / q0.t2)
    assert expected_success_probability(c2, dev) == pytest.approx(p2 * idle2, rel=1e-9)
    assert expected_success_probability(c, dev) == pytest.approx(p * idle, rel=1e-9)
    assert t_cx > 0
    with pytest.raises(CompileError, match="coupling map"):
        expected_success_probability(Circuit(3).cx(0, 2), dev)


def test_noise_aware_region_avoids_bad_qubits() -> None:
    dev = Device.preset("line_5")
    for (a, b), edge in dev.edges.items():
        edge.error = 0.2 if 0 in (a, b) or 1 in (a, b) else 0.01
    assert 0 not in best_region(dev, 3)


def test_bad_inputs() -> None:
    with pytest.raises(CompileError, match="only 5"):
        route(Circuit(6).cx(0, 5), "line_5")
    with pytest.raises(CompileError, match="unknown device preset"):
        route(Circuit(2).cx(0, 1), "no_such_device")
    dev = Device.preset("line_5")
    dev.coupling_map = nx.Graph([(0, 1), (2, 3)])
    dev.coupling_map.add_node(4)
    with pytest.raises(CompileError, match="disconnected"):
        resolve_device(dev)


def test_mid_circuit_measurement_reset_and_condition() -> None:
    c = Circuit(4, 3).h(0).cx(0, 3).measure(3, 0).reset(3).cx(1, 3).cx(0, 2)
    c.append("cx", [0, 3], condition=((0,), 1))
    c.h(2).measure(2, 1).cx(2, 1).measure(1, 2)
    out, res = route_and_verify(c, "line_5", seed=3, trials=3)
    assert res.device.validate(out) == []
    assert res.stretches is not None and len(res.stretches) >= 3
    names = [i.name for i in out if not i.is_gate or i.condition is not None]
    assert sorted(names) == ["cx", "measure", "measure", "measure", "reset"]
    cond = next(i for i in out if i.condition is not None)
    assert res.device.coupling_map.has_edge(*cond.qubits)
    # tampering with a fence position is caught
    from qtandem.compile.route_verify import _verify_stretches

    k = next(j for j, i in enumerate(out) if i.name == "reset")
    res.circuit = out.copy()
    q = res.circuit[k].qubits[0]
    res.circuit._instructions[k] = res.circuit[k].replace(qubits=((q + 1) % 5,))
    with pytest.raises(VerificationError):
        _verify_stretches(c, res)


def test_post_layout_moves_to_better_qubits() -> None:
    from qtandem.compile.postlayout import improve_placement

    dev = Device.preset("line_5")
    for (a, b), edge in dev.edges.items():
        edge.error = 0.2 if (a, b) == (0, 1) else 0.005
    c = Circuit(5).cx(0, 1).cx(0, 1).sx(0)
    out, moved = improve_placement(c, dev)
    assert dev.validate(out) == []
    assert sorted(moved) == list(range(5)) and (moved[0], moved[1]) != (0, 1)
    assert expected_success_probability(out, dev) > expected_success_probability(c, dev)
    # the moved circuit is the same circuit on relabelled wires
    verify_equivalent(Circuit(5).compose(c, qubits=moved), out)


def test_optimize_with_hardware_is_routed_and_verified() -> None:
    from qtandem.compile import optimize

    c = _random(6, 40, 11)
    out, _ = optimize(c, level=2, hardware="grid_4x4", seed=0)
    dev = Device.preset("grid_4x4")
    assert dev.validate(out) == []
    assert out.n_qubits == dev.num_qubits


@settings(max_examples=15, deadline=None)
@given(circuits(n=4, max_gates=20), st.integers(0, 1000))
def test_random_circuits_route_on_ring(c: Circuit, seed: int) -> None:
    out, res = route_and_verify(c, "ring_8", seed=seed, trials=2, iterations=1, swap_trials=1)
    assert res.device.validate(out) == []
    verify_equivalent(res.embedded_input(c), out, permutation=res.permutation, method="exact")
