"""``qtandem optimize``: round trip, version kept, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from compile_helpers import same_unitary

from qtandem.cli.main import main
from qtandem.qasm import load

DATA = Path(__file__).resolve().parents[2] / "src" / "qtandem" / "data" / "qasm"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_optimize_round_trip_qasm2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[1];\nh q[0];\nh q[0];\n'
                   "cx q[0],q[1];\nt q[1];\ncx q[0],q[1];\ncx q[0],q[1];\nt q[1];\ncx q[0],q[1];\n"
                   "measure q[2] -> c[0];\nccx q[0],q[1],q[2];\n")
    dst = tmp_path / "out.qasm"
    code, out, err = run_cli(["optimize", str(src), "-o", str(dst), "--objective", "cx", "--budget", "5",
                              "--level", "3", "--seed", "1", "--passes"], capsys)
    assert code == 0, err
    assert "before" in out and "after" in out and "phase_folding" in out
    text = dst.read_text()
    assert text.startswith("OPENQASM 2.0;")
    c_in, c_out = load(src), load(dst)
    assert c_out.num_gates() < c_in.num_gates()
    assert [i.name for i in c_out if not i.is_gate] == ["measure"]


def test_optimize_keeps_qasm3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\nx q[1];\n'
                   "cx q[0], q[1];\nrz(0.25) q[0];\nrz(0.5) q[0];\n")
    dst = tmp_path / "out.qasm"
    code, _, err = run_cli(["optimize", str(src), "-o", str(dst)], capsys)
    assert code == 0, err
    assert dst.read_text().startswith("OPENQASM 3")
    assert same_unitary(load(src), load(dst)) and load(dst).num_gates() == 3  # cx x cx -> x; rz rz -> rz


def test_optimize_shipped_adder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "adder.qasm"
    code, _, err = run_cli(["optimize", str(DATA / "toffoli_adder.qasm"), "-o", str(dst), "--level", "2"], capsys)
    assert code == 0, err
    a, b = load(DATA / "toffoli_adder.qasm"), load(dst)
    assert b.num_gates() <= a.num_gates()


def test_optimize_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = DATA / "ghz_5.qasm"
    code, _, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "o.qasm"), "--objective", "speed"], capsys)
    assert code == 2 and "unknown objective 'speed'" in err
    code, _, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "o.qasm"), "--level", "9"], capsys)
    assert code == 2 and "level must be one of" in err
    code, _, err = run_cli(["optimize", str(tmp_path / "missing.qasm"), "-o", str(tmp_path / "o.qasm")], capsys)
    assert code == 2 and "file not found" in err


def test_optimize_hardware_option_and_hidden_device_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.qasm"
    src.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nh q[0];\ncx q[0],q[2];\ncx q[0],q[1];\n')
    for flag in ("--hardware", "--device"):
        dst = tmp_path / f"out{flag}.qasm"
        code, _, err = run_cli(["optimize", str(src), "-o", str(dst), flag, "line_5", "--level", "1",
                                "--seed", "0"], capsys)
        assert code == 0, err
        assert load(dst).n_qubits == 5
    code, _, err = run_cli(["optimize", str(src), "-o", str(tmp_path / "x.qasm"), "--hardware", "line_5",
                            "--device", "grid_4x4"], capsys)
    assert code == 2 and "disagree" in err
    with pytest.raises(SystemExit):
        main(["optimize", "--help"])
    assert "--hardware" in capsys.readouterr().out


def test_optimize_expansion_budget_is_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = []
    for k in range(2):
        dst = tmp_path / f"o{k}.qasm"
        code, _, err = run_cli(["optimize", str(DATA / "toffoli_adder.qasm"), "-o", str(dst), "--expansions", "300",
                                "--seed", "3"], capsys)
        assert code == 0, err
        texts.append(dst.read_text())
    assert texts[0] == texts[1]
