"""OpenQASM 3 timing beyond ``delay[100ns]``: durations, duration arithmetic, ``box``; ``stretch`` refused."""

from __future__ import annotations

import pytest

from qtandem import Circuit
from qtandem.errors import QasmError
from qtandem.qasm import dumps, loads

HEAD = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\n'


def _read(body: str) -> Circuit:
    c = loads(HEAD + body, filename="t.qasm")
    assert loads(dumps(c, version=3)) == c  # every program here round-trips: read -> write -> read
    return c


def _ops(c: Circuit) -> list[tuple[str, tuple[int, ...], tuple[float, ...]]]:
    return [(i.name, i.qubits, tuple(float(p) for p in i.params)) for i in c]


def _clock(c: Circuit) -> dict[int, float]:
    """When each qubit is free, scheduling delays as soon as possible (barriers align, gates take no time)."""
    t = dict.fromkeys(range(c.n_qubits), 0.0)
    for inst in c:
        start = max(t[q] for q in inst.qubits)
        for q in inst.qubits:
            t[q] = start + (float(inst.params[0]) if inst.name == "delay" else 0.0)
    return t


@pytest.mark.parametrize(("body", "ns"), [
    ("const duration d = 100ns;\ndelay[2 * d] q[0];", 200.0),
    ("const duration d = 100ns;\ndelay[d + 50ns] q[0];", 150.0),
    ("const duration d = 100ns;\ndelay[d * 2 - 0.05us] q[0];", 150.0),
    ("duration d = 1us;\nd = d / 4;\nd += 10ns;\nd *= 2;\ndelay[d] q[0];", 520.0),
    ("duration d;\ndelay[d] q[0];", 0.0),
    ("const duration a = 2\u00b5s;\nconst duration b = 500ns;\ndelay[(a - b) / 3] q[0];", 500.0),
    ("const int n = 3;\nconst duration d = 1ms;\ndelay[d / n * n] q[0];", 1e6),
    ("array[duration, 2] ds = {100ns, 1us};\ndelay[ds[1] - ds[0]] q[0];", 900.0),
    ("const float k = 1us / 250ns;\ndelay[k * 1ns] q[0];", 4.0),
    ("def wait(duration d, qubit a) { delay[d] a; }\nwait(30ns + 1ns, q[0]);", 31.0),
    ("const duration d = 1s;\ndelay[d - 999999999ns] q[0];", 1.0),
])
def test_duration_expressions_in_delay(body: str, ns: float) -> None:
    (inst,) = _read(body).instructions
    assert inst.name == "delay" and inst.qubits == (0,) and inst.params[0] == pytest.approx(ns, rel=1e-12)


def test_durations_compare_and_drive_loops() -> None:
    c = _read("const duration t = 40ns;\nfor int i in [1:3] { if (i * t > 50ns) delay[i * t] q[1]; }\n"
              "if (1us / 1ns == 1000) x q[0];")
    assert _ops(c) == [("delay", (1,), (80.0,)), ("delay", (1,), (120.0,)), ("x", (0,), ())]


def test_box_is_its_body_fenced_by_barriers_on_the_body_qubits() -> None:
    c = _read("h q[1];\nbox { x q[0]; cx q[0], q[2]; }\nh q[1];")
    assert _ops(c) == [("h", (1,), ()), ("barrier", (0, 2), ()), ("x", (0,), ()), ("cx", (0, 2), ()),
                       ("barrier", (0, 2), ()), ("h", (1,), ())]
    nested = _read("box { box { x q[2]; } cx q[1], q[2]; }")
    assert _ops(nested) == [("barrier", (1, 2), ()), ("barrier", (2,), ()), ("x", (2,), ()),
                            ("barrier", (2,), ()), ("cx", (1, 2), ()), ("barrier", (1, 2), ())]
    assert _read("box { }\nbox[1us] { }\nx q[0];").count_ops() == {"x": 1}  # an empty box has no qubits
    looped = _read("for int i in [0:1] { box { x q[i]; } }")
    assert _ops(looped) == [("barrier", (0,), ()), ("x", (0,), ()), ("barrier", (0,), ()),
                            ("barrier", (1,), ()), ("x", (1,), ()), ("barrier", (1,), ())]
    physical = loads('OPENQASM 3.0;\ninclude "stdgates.inc";\nbox { x $3; }')
    assert physical.n_qubits == 4 and _ops(physical)[0] == ("barrier", (3,), ())


def test_box_keeps_gates_from_moving_in_or_out_under_the_optimizer() -> None:
    from qtandem.compile import optimize

    plain = loads(HEAD + "h q[0];\nh q[0];\ncx q[0], q[1];\ncx q[0], q[1];")
    assert len(optimize(plain)[0]) == 0  # the same gates without a box cancel
    boxed = _read("h q[0];\nbox { h q[0]; cx q[0], q[1]; }\ncx q[0], q[1];")
    out, _ = optimize(boxed)
    assert [i.name for i in out] == ["h", "barrier", "h", "cx", "barrier", "cx"]


@pytest.mark.parametrize(("body", "target"), [
    ("box[1us] { delay[100ns] q[0]; }", 1000.0),
    ("box[1us] { delay[100ns] q[0]; delay[200ns] q[0], q[1]; barrier q[1], q[2]; delay[10ns] q[2]; }", 1000.0),
    ("const duration d = 250ns;\nbox[4 * d] { delay[d] q[0]; delay[2 * d] q[1]; delay[4 * d] q[2]; }", 1000.0),
    ("box[300ns] { barrier q[0], q[1]; }", 300.0),
    ("box[2us] { box[1us] { delay[300ns] q[0]; } delay[1.5us] q[1]; }", 2000.0),
])
def test_box_with_a_duration_pads_every_qubit_to_it(body: str, target: float) -> None:
    c = _read(body)
    fence = c.instructions[0]
    assert fence.name == "barrier" and c.instructions[-1] == fence
    clock = _clock(c)
    assert all(clock[q] == pytest.approx(target, rel=1e-12) for q in fence.qubits)
    assert all(clock[q] == 0.0 for q in range(c.n_qubits) if q not in fence.qubits)


def test_nop_makes_a_qubit_part_of_the_box() -> None:
    c = _read("box[100ns] { delay[30ns] q[0]; nop q[2]; }")
    assert _ops(c) == [("barrier", (0, 2), ()), ("delay", (0,), (30.0,)), ("delay", (0,), (70.0,)),
                       ("delay", (2,), (100.0,)), ("barrier", (0, 2), ())]
    assert _ops(_read("box { box { nop q[1]; } x q[0]; }")) == [
        ("barrier", (0, 1), ()), ("barrier", (1,), ()), ("barrier", (1,), ()), ("x", (0,), ()),
        ("barrier", (0, 1), ())]
    assert _ops(_read("nop q[1];\nx q[0];")) == [("x", (0,), ())]  # outside a box: nothing


def test_box_padding_groups_qubits_that_have_the_same_time_left() -> None:
    c = _read("box[500ns] { delay[150ns] q[0]; delay[100ns] q[1]; delay[100ns] q[2]; }")
    assert _ops(c)[-3:] == [("delay", (0,), (350.0,)), ("delay", (1, 2), (400.0,)), ("barrier", (0, 1, 2), ())]
    exact = _read("box[100ns] { delay[100ns] q[0]; }")
    assert [i.name for i in exact] == ["barrier", "delay", "barrier"]  # no zero-length padding


@pytest.mark.parametrize(("body", "line", "col", "match"), [
    ("stretch s;", 4, 1, r"not supported: 'stretch' \(a stretch is a duration that a scheduler solves for.*no "
                         "scheduler.*const duration d = 100ns"),
    ("const stretch s = 10ns;", 4, 7, "not supported: 'stretch'"),
    ("def f(stretch s, qubit a) { }", 4, 7, "not supported: 'stretch'"),
    ("delay[2 * durationof({x q[0];})] q[0];", 4, 11, r"durationof\(\).*gate durations of the device"),
    ("x q[0];\nbox[100ns] {\n  delay[10ns] q[0];\n  x q[1];\n}", 7, 3,
     r"'x' inside box\[100.0ns\].*belong to a device"),
    ("box[1us] { c[0] = measure q[0]; }", 4, 19, "'measure' inside box"),
    ("box[100ns] { delay[60ns] q[0]; delay[60ns] q[0]; }", 4, 1, "box body lasts 120.0ns, longer than the box's "
                                                                 "100.0ns"),
    ("box[100ns] { delay[60ns] q[0], q[1]; delay[60ns] q[1]; }", 4, 1, "lasts 120.0ns"),
    ("box[-1ns] { }", 4, 5, "box duration must be >= 0"),
    ("box[10] { }", 4, 5, "box duration needs a unit"),
    ("box b { x q[0]; }", 4, 5, "box label"),
    ("box x q[0];", 4, 5, "expected '{' to open the box body"),
    ("box { x q[0];", 4, 5, "unclosed '{'"),
    ("c[0] = measure q[0];\nif (c[0]) { box[10ns] { barrier q[1]; } }", 5, 13, "box with a duration inside a "
                                                                              "run-time 'if'"),
    ("gate g a { box { x a; } }", 4, 12, "box inside a gate definition"),
    ("duration d = 5;", 4, 14, "'d' is a duration: give it a value with a unit"),
    ("duration[32] d = 5ns;", 4, 9, "a duration has no width"),
    ("float f = 1.0;\nf = 100ns;", 5, 3, "'f' is declared float; it cannot hold the duration 100.0ns"),
    ("duration d = 5ns;\nd += 3;", 5, 3, "between a duration and the number 3"),
    ("duration d = 5ns;\nd = d * d;", 5, 7, "not defined on two durations"),
    ("rz(100ns) q[0];", 4, 1, "gate angle must be a number, got the duration 100.0ns"),
    ("rz(float(100ns)) q[0];", 4, 4, r"cannot cast the duration 100.0ns to float.*d / 1ns"),
    ("if (100ns) x q[0];", 4, 5, "not a condition"),
    ("delay[sin(1ns)] q[0];", 4, 7, "sin\\(\\) needs a number, got the duration 1.0ns"),
    ("delay[1e290s * 1e30] q[0];", 4, 14, "duration overflow"),
    ("delay[1e308s] q[0];", 4, 7, "1e308s is too long: it must be finite in ns"),
    ("delay[10dt] q[0];", 4, 9, "'dt'"),
    ("delay[1ns / 0ns] q[0];", 4, 11, "division by a zero duration"),
    ("input duration t;", 4, 7, "inputs of type 'duration' are not supported"),
])
def test_timing_errors_are_located(body: str, line: int, col: int, match: str) -> None:
    with pytest.raises(QasmError, match=match) as info:
        loads(HEAD + "bit[1] c;\n" + body, filename="t.qasm")
    assert info.value.filename == "t.qasm"
    assert (info.value.line, info.value.column) == (line + 1, col), str(info.value)  # + 1: the 'bit' line


def test_written_text_names_only_delay_and_barrier() -> None:
    c = _read("const duration d = 1us;\nbox[2 * d] { delay[d / 4] q[0]; }")
    text = dumps(c, version=3)
    assert "box" not in text and "duration" not in text
    assert "delay[250.0ns] q[0];" in text and "delay[1750.0ns] q[0];" in text and text.count("barrier q[0];") == 2


# -- Qiskit's OpenQASM 3 reader (qiskit-qasm3-import) as a cross-check, where it reads the same text ---------------
_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def _qiskit_ops(qc, qubits=None):
    """Qiskit's circuit as ``(name, qubits, params)``; a box becomes ``("box", qubits, (ns,) or ())`` + its body."""
    out = []
    for item in qc.data:
        qs = tuple(qc.find_bit(q).index if qubits is None else qubits[qc.find_bit(q).index] for q in item.qubits)
        op = item.operation
        if op.name == "box":
            ns = (float(op.duration) * _UNIT_NS[op.unit],) if op.duration is not None else ()
            out.append(("box", tuple(sorted(qs)), ns))
            out.extend(_qiskit_ops(op.params[0], qs))
            out.append(("end", tuple(sorted(qs)), ()))
        elif op.name == "delay":
            out.append(("delay", qs, (float(op.duration) * _UNIT_NS[op.unit],)))
        else:
            out.append((op.name, qs, tuple(float(p) for p in op.params)))
    return out


def _split_delays(ops):
    """Qiskit reads a multi-qubit delay as one delay per qubit (the specification makes it a synchronisation point
    of those qubits, as qtandem's box padding does); compare in Qiskit's form."""
    return [
        item for n, qs, p in ops for item in ([(n, (q,), p) for q in qs] if n == "delay" else [(n, qs, p)])]


@pytest.mark.parametrize("body", [
    "box { x q[0]; cx q[0], q[2]; }",
    "h q[1];\nbox { rz(0.5) q[1]; }\nbox { cx q[2], q[0]; h q[2]; }\nh q[1];",
    "box { box { x q[2]; } cx q[1], q[2]; }",
    "box { delay[100ns] q[0]; x q[1]; }",
])
def test_box_agrees_with_qiskit(body: str) -> None:
    qasm3 = pytest.importorskip("qiskit.qasm3")
    theirs = _qiskit_ops(qasm3.loads(HEAD + body))
    ours = _ops(_read(body))
    assert [("barrier" if n in ("box", "end") else n, q, p if n not in ("box", "end") else ())
            for n, q, p in theirs] == ours


@pytest.mark.parametrize("body", [
    "box[1us] { delay[100ns] q[0]; }",
    "box[1us] { delay[100ns] q[0]; delay[200ns] q[1]; delay[10ns] q[2]; delay[10ns] q[2]; }",
    "box[0.5us] { delay[250ns] q[2]; delay[125ns] q[2]; delay[500ns] q[0]; }",
])
def test_box_duration_agrees_with_qiskit(body: str) -> None:
    """Qiskit keeps the box and its duration; qtandem's padded box lasts exactly that long on each box qubit."""
    qasm3 = pytest.importorskip("qiskit.qasm3")
    theirs = _qiskit_ops(qasm3.loads(HEAD + body))
    (box,) = [t for t in theirs if t[0] == "box"]
    ours = _read(body)
    fence = ours.instructions[0]
    assert fence.qubits == box[1]
    body_theirs = [t for t in theirs if t[0] == "delay"]
    assert _ops(ours)[1:1 + len(body_theirs)] == body_theirs
    clock = _clock(ours)
    assert all(clock[q] == pytest.approx(box[2][0], rel=1e-12) for q in fence.qubits)


@pytest.mark.parametrize("body", [
    "const duration d = 100ns;\ndelay[2 * d] q[0];\ndelay[d + 50ns] q[1], q[2];",
    "duration d = 1.5us;\nd -= 500ns;\ndelay[d / 3] q;",
    "const duration d = 250ns;\nbox[4 * d] { delay[d] q[0]; delay[2 * d] q[1]; }",
])
def test_qiskit_reads_the_written_durations_the_same(body: str) -> None:
    """Qiskit does not evaluate duration expressions, so it reads qtandem's output (literal ns) instead."""
    qasm3 = pytest.importorskip("qiskit.qasm3")
    ours = _read(body)
    theirs = _qiskit_ops(qasm3.loads(dumps(ours, version=3)))
    assert [(n, q, pytest.approx(p, rel=1e-12)) for n, q, p in _split_delays(_ops(ours))] == theirs
