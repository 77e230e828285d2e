"""``delay`` through Qiskit and Cirq: durations in ns both ways, dt only with a known sample time."""

from __future__ import annotations

import pytest

from qtandem import Circuit
from qtandem.errors import ArgumentTypeError, CircuitError

DELAYED = (Circuit(3, 2).h(0).delay(1.5, [0, 2], unit="us").cx(0, 1).delay(7.25, 1).delay(0, 0)
           .measure([0, 1], [0, 1]))


def test_qiskit_round_trip_keeps_delays() -> None:
    pytest.importorskip("qiskit")
    from qtandem.interop import from_qiskit, to_qiskit

    qc = to_qiskit(DELAYED)
    delays = [(ci.operation.duration, ci.operation.unit, [qc.find_bit(q).index for q in ci.qubits])
              for ci in qc.data if ci.operation.name == "delay"]
    assert delays == [(1500.0, "ns", [0]), (1500.0, "ns", [2]), (7.25, "ns", [1]), (0.0, "ns", [0])]
    assert from_qiskit(qc) == DELAYED


@pytest.mark.parametrize(("duration", "unit", "ns"), [
    (2, "s", 2e9), (3, "ms", 3e6), (1.5, "us", 1500.0), (40, "ns", 40.0), (500, "ps", 0.5),
])
def test_from_qiskit_units(duration: float, unit: str, ns: float) -> None:
    pytest.importorskip("qiskit")
    from qiskit import QuantumCircuit

    from qtandem.interop import from_qiskit

    qc = QuantumCircuit(2)
    qc.delay(duration, [0, 1], unit=unit)
    qc.x(0)
    qc.delay(duration, 1, unit=unit)
    c = from_qiskit(qc)
    assert [(i.name, i.qubits) for i in c] == [("delay", (0, 1)), ("x", (0,)), ("delay", (1,))]
    assert c[0].params == pytest.approx((ns,)) and c[2].params == pytest.approx((ns,))


def test_from_qiskit_keeps_different_or_overlapping_delays_apart() -> None:
    pytest.importorskip("qiskit")
    from qiskit import QuantumCircuit

    from qtandem.interop import from_qiskit

    qc = QuantumCircuit(2)
    qc.delay(10, 0, unit="ns")
    qc.delay(20, 1, unit="ns")
    qc.delay(20, 1, unit="ns")
    assert [(i.qubits, i.params) for i in from_qiskit(qc)] == [((0,), (10.0,)), ((1,), (20.0,)), ((1,), (20.0,))]


def test_from_qiskit_dt_needs_the_sample_time() -> None:
    pytest.importorskip("qiskit")
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    from qtandem.interop import from_qiskit

    qc = QuantumCircuit(1)
    qc.delay(160, 0)  # Qiskit's default unit is dt
    with pytest.raises(CircuitError, match=r"instruction 0 \(delay\): delay of 160 dt.*dt=backend.dt"):
        from_qiskit(qc)
    assert from_qiskit(qc, dt=0.25e-9)[0].params == pytest.approx((40.0,))
    with pytest.raises(ArgumentTypeError, match="dt must be a positive number"):
        from_qiskit(qc, dt=-1.0)
    sym = QuantumCircuit(1)
    sym.delay(Parameter("t"), 0, unit="ns")
    with pytest.raises(CircuitError, match="symbolic duration"):
        from_qiskit(sym)


def test_qiskit_conditional_delay_is_refused() -> None:
    pytest.importorskip("qiskit")
    from qiskit import QuantumCircuit

    from qtandem.interop import from_qiskit

    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.delay(10, 0, unit="ns")
    with pytest.raises(CircuitError, match="delay inside a condition"):
        from_qiskit(qc)


def test_qiskit_delay_through_openqasm3() -> None:
    """The OpenQASM 3 qtandem writes is what Qiskit's own qasm3 reader understands."""
    pytest.importorskip("qiskit_qasm3_import")
    from qiskit import qasm3

    qc = qasm3.loads(DELAYED.to_qasm(3))
    delays = [(ci.operation.duration, ci.operation.unit) for ci in qc.data if ci.operation.name == "delay"]
    assert delays[:2] == [(1500.0, "ns"), (1500.0, "ns")]


def test_cirq_round_trip_keeps_delays() -> None:
    cirq = pytest.importorskip("cirq")
    from qtandem.interop import from_cirq, to_cirq

    cc = to_cirq(DELAYED)
    waits = [op for op in cc.all_operations() if isinstance(op.gate, cirq.WaitGate)]
    assert [(w.gate.duration.total_nanos(), len(w.qubits)) for w in waits] == [(1500.0, 2), (7.25, 1), (0.0, 1)]
    assert from_cirq(cc) == DELAYED


def test_qiskit_qasm3_export_of_delays_reads_in_qtandem() -> None:
    pytest.importorskip("qiskit")
    from qiskit import QuantumCircuit, qasm3

    from qtandem.qasm import loads

    qc = QuantumCircuit(2, 1)
    qc.x(0)
    qc.delay(1.5, [0, 1], unit="us")
    qc.delay(3, 0, unit="ms")
    qc.measure(0, 0)
    c = loads(qasm3.dumps(qc))
    assert [(i.qubits, i.params) for i in c if i.name == "delay"] == [((0,), (1500.0,)), ((1,), (1500.0,)),
                                                                       ((0,), (3e6,))]
