"""``delay`` in the compiler: a timing barrier the optimizer keeps in place, verification ignores, routing maps."""

from __future__ import annotations

import numpy as np
import pytest
from compile_helpers import circuits, same_unitary
from hypothesis import given, settings
from hypothesis import strategies as st

from qtandem import Circuit
from qtandem.compile import optimize
from qtandem.compile.esp import circuit_duration, expected_success_probability
from qtandem.compile.routing import route_and_verify
from qtandem.compile.verify import verify_equivalent
from qtandem.device import Device


def _delays(c: Circuit) -> list[tuple[tuple[int, ...], tuple[float, ...]]]:
    return [(i.qubits, i.params) for i in c if i.name == "delay"]


def _marked(c: Circuit) -> Circuit:
    """``c`` with each delay replaced by seeded random one-qubit unitaries on its qubits.

    The optimizer never looks inside a delay, so a gate it moved across one on the same qubit would
    (generically) change the marked unitary: equal marked unitaries mean every delay kept its place.
    """
    seen = [0] * c.n_qubits
    out = Circuit(c.n_qubits)
    for inst in c:
        if inst.name == "delay":
            for q in inst.qubits:  # the j-th delay on qubit q gets the same marker in both circuits
                rng = np.random.default_rng((q, seen[q]))
                seen[q] += 1
                z = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
                out.unitary(np.linalg.qr(z)[0], q)
        elif inst.is_gate:
            out.append(inst)
    return out


def _same_skeleton(a: Circuit, b: Circuit) -> None:
    """Same delays in the same order on each qubit, and no gate moved across one."""
    for q in range(a.n_qubits):  # delays on different qubits commute: only the order per qubit is fixed
        assert [d for d in _delays(a) if q in d[0]] == [d for d in _delays(b) if q in d[0]]
    assert same_unitary(_marked(a), _marked(b))


def test_the_marker_check_catches_a_gate_moved_across_a_delay() -> None:
    with pytest.raises(AssertionError):
        _same_skeleton(Circuit(1).h(0).delay(5, 0).t(0), Circuit(1).delay(5, 0).h(0).t(0))
    _same_skeleton(Circuit(2).h(0).delay(5, 1).t(1), Circuit(2).delay(5, 1).h(0).t(1))  # other qubit: fine


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@pytest.mark.parametrize(("circuit", "gates_kept"), [
    (Circuit(1).h(0).delay(100, 0).h(0), {"h": 2}),                         # h h would cancel without the delay
    (Circuit(1).t(0).delay(40, 0).t(0), {"t": 2}),                          # t t would merge into s
    (Circuit(2).cx(0, 1).delay(10, [0, 1]).cx(0, 1), {"cx": 2}),
    (Circuit(2).cx(0, 1).delay(10, 0).cx(0, 1), {"cx": 2}),                  # a delay on the control alone blocks
])
def test_optimizer_never_moves_gates_across_a_delay(level: int, circuit: Circuit, gates_kept: dict) -> None:
    out, _ = optimize(circuit, level=level, seed=0)
    assert _delays(out) == _delays(circuit)
    assert {k: v for k, v in out.count_ops().items() if k != "delay"} == gates_kept
    _same_skeleton(circuit, out)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_gates_off_the_delayed_qubits_still_optimize(level: int) -> None:
    c = Circuit(2, 2).h(1).delay(500, 0).h(1).x(0).delay(0, 0).measure([0, 1], [0, 1])
    out, _ = optimize(c, level=level, seed=0)
    assert _delays(out) == [((0,), (500.0,)), ((0,), (0.0,))]
    if level > 0:
        assert out.count_ops().get("h", 0) == 0
    _same_skeleton(c, out)


@settings(max_examples=30, deadline=None)
@given(c=circuits(n=3, max_gates=16), spots=st.lists(st.tuples(st.integers(0, 16), st.integers(0, 2)), max_size=4),
       level=st.sampled_from([1, 2, 3]))
def test_random_circuits_with_delays_keep_them_in_order(c: Circuit, spots: list, level: int) -> None:
    insts = c.instructions
    with_delay = Circuit(3)
    for k, inst in enumerate(insts + [None]):
        for pos, q in spots:
            if min(pos, len(insts)) == k:
                with_delay.delay(10.0 * (pos + 1), q)
        if inst is not None:
            with_delay.append(inst)
    out, _ = optimize(with_delay, level=level, seed=0, budget_expansions=50)
    assert len(_delays(out)) == len(spots)
    _same_skeleton(with_delay, out)


def test_basis_translation_keeps_delays() -> None:
    c = Circuit(2).h(0).delay(1.5, [0, 1], unit="us").cx(0, 1)
    out, _ = optimize(c, level=2, basis="ibm")
    assert _delays(out) == [((0, 1), (1500.0,))]
    assert set(out.count_ops()) <= {"rz", "sx", "x", "cx", "delay"}


def test_verification_treats_delay_as_identity() -> None:
    verify_equivalent(Circuit(2).h(0).delay(100, [0, 1]).cx(0, 1), Circuit(2).h(0).cx(0, 1))
    verify_equivalent(Circuit(2, 1).h(0).delay(100, 1).measure(0, 0), Circuit(2, 1).h(0).measure(0, 0))
    verify_equivalent(Circuit(2).h(0).delay(100, 1).cx(0, 1), Circuit(2).h(0).cx(0, 1), method="pathsum")


def test_routing_on_line_5_maps_delay_qubits() -> None:
    c = Circuit(3, 3).delay(30, [0, 2]).h(0).cx(0, 2).cx(1, 2).delay(70, [0, 1, 2]).measure([0, 1, 2], [0, 1, 2])
    out, res = route_and_verify(c, "line_5", seed=0)
    assert res.device.validate(out) == []
    first, last = _delays(out)
    assert sorted(first[0]) == sorted(res.initial_layout[v] for v in (0, 2)) and first[1] == (30.0,)
    assert sorted(last[0]) == sorted(res.final_layout[v] for v in (0, 1, 2)) and last[1] == (70.0,)


@pytest.mark.parametrize("level", [0, 3])
def test_optimize_for_hardware_keeps_delays(level: int) -> None:
    c = Circuit(3, 3).h(0).cx(0, 1).delay(100, [0, 1]).cx(0, 1).t(2).delay(50, 2).tdg(2).cx(1, 2)
    c.measure([0, 1, 2], [0, 1, 2])
    out, _ = optimize(c, level=level, hardware="line_5", seed=0)
    assert sorted(p for _, p in _delays(out)) == [(50.0,), (100.0,)]
    assert Device.preset("line_5").validate(out) == []


def test_esp_counts_delay_as_idle_time_without_gate_error() -> None:
    dev = Device.preset("line_5")
    bare = Circuit(2, 1).sx(0).measure(0, 0)
    waited = Circuit(2, 1).sx(0).delay(2000, [0, 1]).measure(0, 0)
    assert circuit_duration(waited, dev) == pytest.approx(circuit_duration(bare, dev) + 2000)
    assert expected_success_probability(waited, dev) < expected_success_probability(bare, dev)
    assert expected_success_probability(waited, dev, idle=False) == expected_success_probability(bare, dev, idle=False)
    # a qubit that only waits stays in |0> and does not decay
    assert expected_success_probability(Circuit(1).delay(1e5, 0), dev) == 1.0
