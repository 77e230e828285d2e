"""``qtandem learn measure | shadows``: records from a circuit, estimates with error bars, refused input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtandem.cli.main import main

GHZ = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\n'


def run_cli(args: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture
def record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    (tmp_path / "ghz.qasm").write_text(GHZ)
    code, out, _ = run_cli(["learn", "measure", tmp_path / "ghz.qasm", "--shots", "20000", "--seed", "1",
                            "-o", tmp_path / "rec", "--json"], capsys)
    assert code == 0 and json.loads(out)["n_qubits"] == 3
    return tmp_path / "rec"


def test_measure_then_shadows(record: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obs = tmp_path / "obs.txt"
    obs.write_text("# GHZ correlators\nZZI\nXXX\n\n0.5*Z0 + 0.5*Z2  # a sum\n")
    code, out, _ = run_cli(["learn", "shadows", record, "--observables", obs, "--json", "--k", "3"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["shots"] == 20000 and doc["k"] == 3 and doc["kind"] == "pauli"
    values = {row["observable"]: row for row in doc["estimates"]}
    for name, exact in (("ZZI", 1.0), ("XXX", 1.0), ("0.5*Z0 + 0.5*Z2", 0.0)):
        assert abs(values[name]["value"] - exact) < 5 * values[name]["stderr"], name
    (tmp_path / "obs.json").write_text('["ZZI", "IZZ"]')
    code, out, _ = run_cli(["learn", "shadows", record, "--observables", tmp_path / "obs.json"], capsys)
    assert code == 0 and "IZZ" in out and "std. error" in out


def test_clifford_record_with_device_noise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ghz.qasm").write_text(GHZ)
    code, _, _ = run_cli(["learn", "measure", tmp_path / "ghz.qasm", "--shots", "30", "--basis", "clifford",
                          "--device", "line_5", "-o", tmp_path / "rec"], capsys)
    assert code == 0
    assert json.loads((tmp_path / "rec" / "manifest.json").read_text())["kind"] == "clifford"


@pytest.mark.parametrize(("content", "message"), [
    ('["ZQ"]', "obs.txt:entry 1: column 2"),
    ("ZZI\nQQ\n", "obs.txt:line 2"),
    ("# nothing\n", "no observables"),
    ('["ZZI", ', "not valid JSON"),
    ('["ZZI", 3]', "a JSON list of strings"),
    ("ZZZZ\n", "acts on qubit 3 but the record has 3 qubits"),
])
def test_bad_observables_exit_2(record: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                message: str) -> None:
    (tmp_path / "obs.txt").write_text(content)
    code, _, err = run_cli(["learn", "shadows", record, "--observables", tmp_path / "obs.txt"], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_bad_records_and_options_exit_2(record: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "obs.txt").write_text("ZZI\n")
    code, _, err = run_cli(["learn", "shadows", tmp_path / "nowhere", "--observables", tmp_path / "obs.txt"], capsys)
    assert code == 2 and "manifest.json is missing" in err
    (record / "shots-00000.npz").write_bytes(b"garbage")
    code, _, err = run_cli(["learn", "shadows", record, "--observables", tmp_path / "obs.txt"], capsys)
    assert code == 2 and "checksum does not match" in err
    code, _, err = run_cli(["learn", "shadows", record, "--observables", tmp_path / "obs.txt", "--k", "0"], capsys)
    assert code == 2 and "--k must be >= 1" in err
    code, _, err = run_cli(["learn", "measure", tmp_path / "ghz.qasm", "--shots", "10", "-o", record], capsys)
    assert code == 2 and "--overwrite" in err
    code, _, err = run_cli(["learn", "measure", tmp_path / "ghz.qasm", "--basis", "bell", "-o", tmp_path / "x"],
                           capsys)
    assert code == 2 and "--basis must be" in err
    code, _, err = run_cli(["learn", "measure", tmp_path / "missing.qasm", "-o", tmp_path / "y"], capsys)
    assert code == 2 and "missing.qasm" in err
