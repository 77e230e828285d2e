"""``qtandem mitigate``: raw and mitigated values with error bars; refused input exits 2 with a message."""

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
def ghz(tmp_path: Path) -> Path:
    path = tmp_path / "ghz.qasm"
    path.write_text(GHZ)
    return path


@pytest.fixture
def noise_file(tmp_path: Path) -> Path:
    from qtandem.noise import NoiseModel, depolarizing, readout_error

    model = (NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).set_ideal(["h", "x"])
             .add_readout(readout_error(0.05, 0.05)))
    path = tmp_path / "noise.json"
    path.write_text(json.dumps(model.to_dict()))
    return path


def test_readout_mitigation_with_a_noise_file(ghz, noise_file, tmp_path, capsys):
    out_file = tmp_path / "res.json"
    code, out, err = run_cli(["mitigate", ghz, "--observable", "Z0 Z2", "--noise", noise_file, "--method", "readout",
                              "--shots", "20000", "--seed", "3", "--json", "-o", out_file], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc == json.loads(out_file.read_text())
    assert doc["methods"] == ["readout"] and doc["shots_used"] == 20000 and doc["one_off_shots"] == 3 * 2**15
    # the exact pre-readout value (density matrix, gate noise only)
    from qtandem import Circuit
    from qtandem.mitigate import parse_observable
    from qtandem.noise import NoiseModel, depolarizing

    gates = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).set_ideal(["h"])
    exact = parse_observable("Z0 Z2", 3).exact(Circuit(3).h(0).cx(0, 1).cx(1, 2), noise=gates)
    assert abs(doc["raw"] - 0.9 ** 2 * exact) < 0.02  # readout shrinks Z0 Z2 by (1 - 2*0.05)^2
    assert abs(doc["value"] - exact) < 5 * doc["stderr"] + 0.02


def test_device_text_output_and_compiled_observable(ghz, capsys):
    code, out, err = run_cli(["mitigate", ghz, "--observable", "P(111)", "--device", "heavy_hex_27", "--method",
                              "none", "--shots", "2000"], capsys)
    assert code == 0, err
    assert "raw:" in out and "mitigated:" in out and "±" in out and "compiled for the device" in out
    assert "(2000 shots)" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--observable", "Z7", "--device", "line_5"], "acts on qubit 7"),
    (["--observable", "Z0", "--device", "no_such_device"], "no_such_device"),
    (["--observable", "Z0", "--device", "line_5", "--method", "magic"], "unknown method 'magic'"),
    (["--observable", "Z0"], "exactly one of --device"),
    (["--observable", "Q0 Z1", "--device", "line_5"], "cannot read the observable"),
    (["--observable", "Z0", "--device", "line_5", "--shots", "0"], "--shots must be a positive integer"),
])
def test_bad_input_exits_2_with_a_message(ghz, args, message, capsys):
    code, _, err = run_cli(["mitigate", ghz, *args], capsys)
    assert code == 2 and message in err and "Traceback" not in err and err.startswith("qtandem: error: ")


def test_noise_file_as_device_is_refused(ghz, noise_file, capsys):
    code, _, err = run_cli(["mitigate", ghz, "--observable", "Z0", "--device", noise_file], capsys)
    assert code == 2 and "pass it as --noise" in err
