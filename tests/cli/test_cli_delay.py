"""The CLI on circuits with ``delay``: info counts idle time apart from depth; bad delays exit 2 with line:col."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cli

PROGRAM = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ndelay[1.5us] q;\n'
           'delay[20ns] q[1];\ncx q[0], q[1];\nc = measure q;\n')


def test_info_reports_delays_apart_from_depth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "d.qasm"
    path.write_text(PROGRAM)
    code, out, _ = run_cli(["info", str(path), "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert data["count_ops"] == {"h": 1, "delay": 2, "cx": 1, "measure": 2}
    assert data["gates"] == 2 and data["depth"] == 3 and data["delay_ns"] == 1520.0
    code, out, _ = run_cli(["info", str(path)], capsys)
    assert code == 0 and "delays: 2, up to 1520 ns on one qubit" in out


def test_bad_delay_and_qasm2_output_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.qasm"
    bad.write_text("OPENQASM 3.0;\nqubit q;\ndelay[5dt] q;\n")
    code, out, err = run_cli(["info", str(bad)], capsys)
    assert code == 2 and "bad.qasm:3:8" in out + err and "'dt'" in out + err
    good = tmp_path / "d.qasm"
    good.write_text(PROGRAM)
    code, out, err = run_cli(["convert", str(good), "--to", "qasm2"], capsys)
    assert code == 2 and "delay needs OpenQASM 3" in out + err
    code, out, _ = run_cli(["convert", str(good), "--to", "qasm3"], capsys)
    assert code == 0 and "delay[1500.0ns] q[0], q[1];" in out
