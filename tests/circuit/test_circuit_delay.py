"""The ``delay`` instruction in the IR: construction, units, validation, counting and ideal simulation."""

from __future__ import annotations

import numpy as np
import pytest

import qtandem as qt
from qtandem import Circuit, Parameter
from qtandem.circuit.instruction import NON_UNITARY, Instruction, delay_ns
from qtandem.errors import CircuitError


def test_delay_is_not_a_gate() -> None:
    assert "delay" in NON_UNITARY
    assert not Instruction("delay", [0], [10.0]).is_gate


@pytest.mark.parametrize(("duration", "unit", "ns"), [
    (100, "ns", 100.0), (1.5, "us", 1500.0), (1.5, "\u00b5s", 1500.0), (1.5, "\u03bcs", 1500.0),
    (2, "ms", 2e6), (3e-6, "s", 3000.0), (0, "ns", 0.0),
])
def test_units_convert_to_nanoseconds(duration: float, unit: str, ns: float) -> None:
    c = Circuit(1).delay(duration, 0, unit=unit)
    assert c[0].name == "delay" and c[0].params == pytest.approx((ns,))


def test_qubits_default_to_all_and_accept_int_or_sequence() -> None:
    c = Circuit(3).delay(10).delay(10, 2).delay(10, [0, 2])
    assert [inst.qubits for inst in c] == [(0, 1, 2), (2,), (0, 2)]


@pytest.mark.parametrize(("duration", "unit", "match"), [
    (-1.0, "ns", ">= 0"),
    (float("nan"), "ns", "finite"),
    (float("inf"), "us", "finite"),
    (10, "dt", "dt.*sample time.*ns, us"),
    (10, "sec", "unknown delay unit 'sec'.*ns, us"),
    (Parameter("t"), "ns", "symbolic"),
    ("ten", "ns", "must be a number"),
    (True, "ns", "must be a number"),
])
def test_bad_durations_and_units_are_refused(duration: object, unit: str, match: str) -> None:
    with pytest.raises(CircuitError, match=match):
        Circuit(1).delay(duration, 0, unit=unit)  # type: ignore[arg-type]


def test_append_validates_raw_delay_instructions() -> None:
    with pytest.raises(CircuitError, match="one duration"):
        Circuit(1).append("delay", [0])
    with pytest.raises(CircuitError, match=">= 0"):
        Circuit(1).append("delay", [0], [-5.0])
    with pytest.raises(CircuitError, match="symbolic"):
        Circuit(1).append("delay", [0], [Parameter("t")])
    with pytest.raises(CircuitError, match="out of range"):
        Circuit(1).delay(5, 3)
    with pytest.raises(CircuitError, match="repeated qubit"):
        Circuit(2).delay(5, [1, 1])
    with pytest.raises(CircuitError, match="conditional"):
        Circuit(1, 1).append("delay", [0], [5.0], condition=((0,), 1))
    with pytest.raises(CircuitError, match="needs at least one qubit"):
        Circuit(0).delay(5)


def test_bound_expression_duration_is_accepted() -> None:
    t = Parameter("t")
    assert delay_ns((2 * t).bind({"t": 3.0})) == 6.0


def test_counting_depth_and_inverse() -> None:
    c = Circuit(2).h(0).delay(100, [0, 1]).cx(0, 1).delay(50, 1)
    assert c.count_ops() == {"h": 1, "delay": 2, "cx": 1}
    assert c.num_gates() == 2
    # a delay adds no layer, but like a barrier it lines up the qubits it covers
    assert c.depth() == 2
    assert Circuit(2).h(0).h(0).delay(10, [0, 1]).h(1).depth() == 3
    inv = c.inverse()
    assert [i.name for i in inv] == ["delay", "cx", "delay", "h"]
    assert inv[0] == c[3]


def test_delay_is_identity_in_ideal_simulation() -> None:
    c = Circuit(2).h(0).delay(1.0, unit="ms").cx(0, 1).delay(20, 0)
    bare = Circuit(2).h(0).cx(0, 1)
    np.testing.assert_allclose(qt.statevector(c).numpy(), qt.statevector(bare).numpy(), atol=1e-12)
    np.testing.assert_allclose(c.to_matrix().numpy(), bare.to_matrix().numpy(), atol=1e-12)
    assert qt.sample(c, shots=200, seed=3).counts == qt.sample(bare, shots=200, seed=3).counts


def test_delay_between_measurements_samples_like_without() -> None:
    c = Circuit(2, 2).h(0).measure(0, 0).delay(100, 0).cx(0, 1).measure(1, 1)
    bare = Circuit(2, 2).h(0).measure(0, 0).cx(0, 1).measure(1, 1)
    assert qt.sample(c, shots=300, seed=5).counts == qt.sample(bare, shots=300, seed=5).counts


def test_reference_simulator_and_batched_paths_skip_delay() -> None:
    from qtandem.sim.reference import reference_statevector

    c = Circuit(1).delay(5, 0).rx(0.3, 0)
    np.testing.assert_allclose(reference_statevector(c), qt.statevector(Circuit(1).rx(0.3, 0)).numpy(), atol=1e-12)


def test_drawing_shows_the_duration() -> None:
    text = Circuit(2).x(0).delay(1.5, 0, unit="us").delay(20, [0, 1]).draw()
    assert "delay(1.5us)" in text
    assert "delay(20ns)" in text


def test_a_delay_after_a_measure_keeps_it_mid_circuit() -> None:
    """Noise acts during a delay, so the measurement before it must not be moved to the end."""
    from qtandem.circuit.terminal import terminal_measurements

    c = Circuit(2, 2).h(0).measure(0, 0).delay(100, 0).measure(1, 1)
    assert terminal_measurements(c).pairs == ((1, 1),)
    assert not terminal_measurements(c).all_terminal
    assert terminal_measurements(Circuit(2, 1).measure(0, 0).delay(100, 1)).all_terminal
