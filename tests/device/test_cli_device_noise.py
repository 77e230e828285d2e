"""``qtandem device list/show`` (--json, -o) and ``qtandem noise template/check``: exit 0 or 2, never a traceback."""

import json

import pytest

from qtandem.cli.main import main
from qtandem.device import Device
from qtandem.noise import NoiseModel


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_device_list_and_show_json(tmp_path, capsys):
    code, out, _ = run_cli(["device", "list", "--json"], capsys)
    rows = json.loads(out)
    assert code == 0 and {r["name"] for r in rows} >= {"heavy_hex_27", "line_5"}
    assert next(r for r in rows if r["name"] == "heavy_hex_27")["num_qubits"] == 27
    code, out, _ = run_cli(["device", "show", "line_5", "--json"], capsys)
    assert code == 0 and Device.from_dict(json.loads(out)).num_qubits == 5
    assert not list(tmp_path.iterdir())


def test_device_show_writes_the_png_only_with_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["device", "show", "line_5"], capsys)
    assert code == 0 and "line_5" in out and not list(tmp_path.iterdir())  # no file unless asked
    png = tmp_path / "l5.png"
    code, out, _ = run_cli(["device", "show", "line_5", "-o", png, "--json"], capsys)
    assert code == 0 and json.loads(out)["png"] == str(png) and png.read_bytes()[:4] == b"\x89PNG"
    code, _, err = run_cli(["device", "show", "line_5", "-o", tmp_path / "no" / "x.png"], capsys)
    assert code == 2 and "folder" in err and "does not exist" in err and not (tmp_path / "no").exists()
    code, _, err = run_cli(["device", "show", "line_5", "-o", tmp_path / "x.svg"], capsys)
    assert code == 2 and "PNG" in err


def test_issue_13_device_show_on_a_noise_model_says_what_it_is(tmp_path, capsys):
    path = tmp_path / "noise.json"
    NoiseModel().to_json(path)
    code, out, err = run_cli(["device", "show", path], capsys)
    assert code == 2 and "this is a noise model" in err and "not a device" in err and "--noise" in err
    assert "unknown key" not in err and "Traceback" not in err + out


def test_noise_template_loads_back(tmp_path, capsys):
    code, out, _ = run_cli(["noise", "template"], capsys)
    assert code == 0
    model = NoiseModel.from_json(out)
    assert model.rules and model.strict
    target = tmp_path / "n.json"
    code, _, _ = run_cli(["noise", "template", "-o", target], capsys)
    assert code == 0 and NoiseModel.from_json(target) == model
    code, _, err = run_cli(["noise", "template", "-o", tmp_path / "missing" / "n.json"], capsys)
    assert code == 2 and "does not exist" in err


def test_noise_check(tmp_path, capsys):
    good = tmp_path / "n.json"
    run_cli(["noise", "template", "-o", good], capsys)
    code, out, _ = run_cli(["noise", "check", good], capsys)
    assert code == 0 and "valid" in out
    circuit = tmp_path / "c.qasm"
    circuit.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\n'
                       'h q[0];\ncx q[0], q[2];\nccx q[0], q[1], q[2];\n')
    code, out, err = run_cli(["noise", "check", "heavy_hex_27", "--circuit", circuit], capsys)
    assert code == 2 and "gate 'h': no noise rule" in err and "(0, 2)" in err
    code, out, _ = run_cli(["noise", "check", "heavy_hex_27", "--circuit", circuit, "--json"], capsys)
    data = json.loads(out)
    assert code == 2 and len(data["problems"]) == 3 and data["num_qubits"] == 27
    native = tmp_path / "native.qasm"
    native.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nsx q[0];\ncx q[0], q[1];\n')
    code, out, _ = run_cli(["noise", "check", "line_5", "--circuit", native], capsys)
    assert code == 0 and "every gate is covered" in out
    dev = tmp_path / "dev.json"
    Device.preset("line_5").to_json(dev)
    code, out, _ = run_cli(["noise", "check", dev, "--circuit", native, "--json"], capsys)
    assert code == 0 and json.loads(out)["problems"] == []


@pytest.mark.parametrize("content", ['{"schema": "qtandem.noise_model", "version": 1, "errors": [{"channel": '
                                     '{"type": "depolarizing", "p": "high"}, "gates": ["h"]}]}',
                                     '{"schema": "qtandem.noise_model", "version": 1, "errors": [{"channel": '
                                     '{"type": "depolarizing", "p": 0.1}, "gates": ["hadamard"]}]}',
                                     "{oops", "[1, 2]", ""])
def test_issue_13_bad_noise_files_exit_2_with_the_key_path(tmp_path, capsys, content):
    path = tmp_path / "noise.json"
    path.write_text(content)
    code, out, err = run_cli(["noise", "check", path], capsys)
    assert code == 2 and str(path) in err and "Traceback" not in out + err
    if "high" in content:
        assert "errors[0].channel.p: expected a number, got 'high' (a string)" in err
    if "hadamard" in content:
        assert "did you mean 'h'?" in err
