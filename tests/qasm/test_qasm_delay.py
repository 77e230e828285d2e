"""OpenQASM 3 ``delay``: reading, writing, round trips and located errors."""

from __future__ import annotations

import pytest

from qtandem import Circuit
from qtandem.errors import QasmError
from qtandem.qasm import dumps, loads

HEAD = "OPENQASM 3.0;\nqubit[2] q;\n"


@pytest.mark.parametrize(("stmt", "qubits", "ns"), [
    ("delay[100ns] q[0];", (0,), 100.0),
    ("delay[1.5us] q;", (0, 1), 1500.0),
    ("delay[100ns] q[0], q[1];", (0, 1), 100.0),
    ("delay[2\u00b5s] q[1];", (1,), 2000.0),
    ("delay[3ms];", (0, 1), 3e6),
    ("delay[1e-6s] q[1];", (1,), 1000.0),
    ("delay[0ns] q[0];", (0,), 0.0),
])
def test_read_delay(stmt: str, qubits: tuple[int, ...], ns: float) -> None:
    c = loads(HEAD + stmt)
    (inst,) = c.instructions
    assert inst.name == "delay" and inst.qubits == qubits and inst.params == pytest.approx((ns,))


def test_delay_on_physical_qubits() -> None:
    c = loads("OPENQASM 3.0;\ninclude \"stdgates.inc\";\nx $0;\ndelay[7ns] $1, $0;")
    assert c.n_qubits == 2 and c[1].qubits == (1, 0) and c[1].params == (7.0,)


def test_delay_in_loops_and_subroutines() -> None:
    c = loads(HEAD + "for int i in [0:1] { delay[10ns] q[i]; }\ndef idle(qubit a) { delay[5ns] a; }\nidle(q[1]);")
    assert [(i.qubits, i.params) for i in c] == [((0,), (10.0,)), ((1,), (10.0,)), ((1,), (5.0,))]


def test_write_delay_in_nanoseconds_and_read_back_equal() -> None:
    c = Circuit(3, 1).x(0).delay(1.5, 0, unit="us").delay(1 / 3, [0, 2]).delay(2, unit="s").measure(0, 0)
    text = dumps(c, version=3)
    assert "delay[1500.0ns] q[0];" in text
    assert "delay[2000000000.0ns] q[0], q[1], q[2];" in text
    assert f"delay[{1 / 3!r}ns] q[0], q[2];" in text
    assert loads(text) == c
    assert Circuit.from_qasm(c.to_qasm(3)) == c


def test_openqasm2_output_of_a_delay_is_refused() -> None:
    with pytest.raises(QasmError, match="delay needs OpenQASM 3"):
        dumps(Circuit(1).delay(10, 0), version=2)


@pytest.mark.parametrize(("stmt", "col", "match"), [
    ("delay[100dt] q[0];", 10, "'dt'.*sample time"),
    ("delay[-5ns] q[0];", 7, ">= 0"),
    ("delay[5] q[0];", 7, "needs a unit"),
    ("delay[5 ns] q[0];", 7, "needs a unit"),
    ("delay[5xs] q[0];", 8, "unknown delay unit 'xs'"),
    ("delay[t] q[0];", 7, "must be a duration known while reading.*got an input parameter"),
    ("delay[t * 1ns] q[0];", 9, "cannot depend on input parameters"),
    ("delay[5ns + 2] q[0];", 11, "between a duration and the number 2: give the number a unit"),
    ("delay[5ns - 6ns] q[0];", 7, ">= 0, got -1.0ns"),
    ("delay[1us / 5ns] q[0];", 7, "needs a unit: got the number 200.0"),
    ("delay[5ns * 5ns] q[0];", 11, "not defined on two durations"),
    ("delay[5ns / 0] q[0];", 11, "division by zero"),
    ("delay[{5ns}] q[0];", 7, "expected an expression"),
    ("delay q[0];", 7, "duration in brackets"),
    ("delay[1e400ns] q[0];", 7, "finite"),
    ("delay[5ns] q[0], q[0];", 1, "twice"),
    ("delay[5ns] q[2];", 14, "out of range"),
])
def test_bad_delays_are_located(stmt: str, col: int, match: str) -> None:
    with pytest.raises(QasmError, match=match) as info:
        loads(HEAD + "input float t;\n" + stmt, filename="x.qasm")
    assert info.value.filename == "x.qasm"
    assert (info.value.line, info.value.column) == (4, col)


def test_delay_inside_runtime_if_or_gate_body_or_qasm2_is_refused() -> None:
    with pytest.raises(QasmError, match="run-time 'if'"):
        loads(HEAD + "bit c;\nc = measure q[0];\nif (c) { delay[5ns] q[0]; }")
    with pytest.raises(QasmError, match="inside a gate definition"):
        loads(HEAD + "gate g a { delay[5ns] a; }\ng q[0];")
    with pytest.raises(QasmError, match="delay needs OpenQASM 3") as info:
        loads("OPENQASM 2.0;\nqreg q[1];\ndelay[5ns] q[0];")
    assert (info.value.line, info.value.column) == (3, 1)


def test_any_float_duration_round_trips_exactly() -> None:
    import random

    rng = random.Random(0)
    values = [1e-5, 1e20, 0.1 + 0.2, 5e-324, 1.7976931348623157e308] + [rng.uniform(0, 1e6) for _ in range(50)]
    c = Circuit(2)
    for k, v in enumerate(values):
        c.delay(v, k % 2)
    text = dumps(c, version=3)
    assert "delay[1e-05ns] q[0];" in text and "delay[1e+20ns] q[1];" in text
    assert loads(text) == c
