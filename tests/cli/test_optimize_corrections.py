"""``qtandem optimize IN -o OUT --corrections DEVICE``: coherent corrections from the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qtandem.cli.main import main
from qtandem.device import Device
from qtandem.qasm import load

QASM3 = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nsx q[0];\nx q[1];\ncx q[0], q[1];\n'
         "rz(0.3) q[1];\nsx q[1];\ncx q[1], q[2];\nsx q[2];\nx q[0];\ncx q[0], q[1];\nc = measure q;\n")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def _device_file(folder: Path, *, zz: bool = False, cx: float = 0.04, clean: bool = False) -> Path:
    dev = Device.preset("line_5")
    for i, q in enumerate(dev.qubits):
        q.sx_angle_error, q.x_angle_error = 0.03 * (-1) ** i, -0.02
        q.detuning = 2 * math.pi * 20e-6
        if clean:  # coherent errors only: the corrected circuit always wins on fidelity (no input kept)
            q.t1 = q.t2 = 1e15
            q.gate_error_1q = 0.0
    for e in dev.edges.values():
        e.angle_error = cx
        e.zz = 2 * math.pi * 80e-6 if zz else 0.0
    path = folder / "device.json"
    dev.to_json(path)
    return path


def test_corrections_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text(QASM3)
    dst = tmp_path / "out.qasm"
    code, out, err = run_cli(["optimize", str(src), "-o", str(dst), "--level", "0", "--corrections",
                              str(_device_file(tmp_path, cx=0.0, clean=True)), "--json"], capsys)
    assert code == 0, err
    fix = json.loads(out)["corrections"]
    assert fix["verified"] == "exact" and fix["uncorrected"] == [] and fix["runs"] > 0
    assert fix["coherent_infidelity_after"] < 1e-12 < fix["coherent_infidelity_before"]
    assert not fix["kept_input"] and fix["fidelity_after"] > fix["fidelity_before"]
    assert load(dst).count_ops()["cx"] == 3


def test_corrections_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text(QASM3)
    code, out, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "out.qasm"), "--level", "1",
                              "--corrections", str(_device_file(tmp_path))], capsys)
    assert code == 0, err
    assert "corrections:" in out and "coherent infidelity" in out and "verified (exact)" in out


def test_qasm2_input_with_echo_delays_is_written_as_qasm3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nsx q[0];\nsx q[2];\n'
                   + "cx q[1],q[2];\nrz(0.3) q[2];\n" * 8 + "barrier q;\nsx q[0];\nsx q[1];\n")
    dst = tmp_path / "out.qasm"
    code, out, err = run_cli(["optimize", str(src), "-o", str(dst), "--level", "0", "--corrections",
                              str(_device_file(tmp_path, zz=True)), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["corrections"]["echoes"] >= 1
    assert dst.read_text().startswith("OPENQASM 3")
    assert any("OpenQASM 3" in n for n in json.loads(out)["notes"])
    assert load(dst).count_ops()["delay"] >= 2


def test_missing_or_bad_device_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text(QASM3)
    code, _, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "o.qasm"), "--corrections",
                            str(tmp_path / "nothere.json")], capsys)
    assert code == 2 and "nothere.json" in err and "Traceback" not in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "qtandem.device", "version": 2, "qubits": 3}')
    code, _, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "o.qasm"), "--corrections", str(bad)],
                           capsys)
    assert code == 2 and "bad.json" in err and "Traceback" not in err
    assert not (tmp_path / "o.qasm").exists()


def test_corrections_summary_printed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text(QASM3)
    code, out, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "out.qasm"), "--level", "1",
                              "--corrections", str(_device_file(tmp_path))], capsys)
    assert code == 0, err
    assert out.count("pair(s) cancelled") == 1
    assert "has no coherent errors" not in out


def test_corrections_with_a_device_without_coherent_errors_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text(QASM3)
    code, out, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "out.qasm"), "--level", "1",
                              "--corrections", "line_5"], capsys)
    assert code == 0, err
    assert "'line_5' has no coherent errors" in " ".join(out.split())
