"""``qtandem simulate --noise``: a device compiles the circuit first; a noise model must cover it (issue 13, 2)."""

import json
from pathlib import Path

import pytest

from qtandem.cli.main import main

DATA = Path(__file__).resolve().parents[2] / "src" / "qtandem" / "data" / "qasm"


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def simulate_json(args, capsys):
    code, out, err = run_cli(["simulate", *args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)



def test_device_noise_compiles_the_circuit_first(capsys):
    # regression: ghz_5 (h, cx on uncoupled pairs) on heavy_hex_27 got readout noise only, silently
    f = DATA / "ghz_5.qasm"
    data = simulate_json([f, "--noise", "heavy_hex_27", "--shots", 4000, "--seed", 1], capsys)
    (report,) = data["compile"]
    assert report["changed"] is True and report["verified"] is True and len(report["physical_qubits"]) == 5
    assert report["gates_before"]["h"] == 1 and "h" not in report["gates_after"]
    assert data["method"] == "density" and data["method_reason"].startswith("auto: 5 qubits <= 10")
    assert data["bits"]["label"] == "c[4..0], bit 0 rightmost"
    exact = simulate_json([f, "--noise", "heavy_hex_27", "--seed", 1], capsys)
    assert exact["compile"][0]["physical_qubits"] == report["physical_qubits"]  # same seed, same layout
    probs = exact["probabilities"]
    assert 0.8 < probs["00000"] + probs["11111"] < 0.97 and exact["total"] == 32  # gate noise, not readout alone
    tv = 0.5 * sum(abs(data["counts"].get(k, 0) / 4000 - probs.get(k, 0.0)) for k in set(probs) | set(data["counts"]))
    assert tv < 0.05, tv  # the sampled and exact noisy outcomes agree
    code, out, _ = run_cli(["simulate", f, "--noise", "heavy_hex_27", "--seed", 1, "--top", 2], capsys)
    assert code == 0 and "compile: circuit for heavy_hex_27: layout q0->" in out and "verified equivalent" in out
    assert "method: density (auto: " in out


def test_device_routing_inserts_swaps_and_reports_them(tmp_path, capsys):
    path = tmp_path / "triangle.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nx q[0];\ncx q[0], q[1];\n'
                    "cx q[1], q[2];\ncx q[0], q[2];\nmeasure q -> c;\n")
    data = simulate_json([path, "--noise", "heavy_hex_27", "--seed", 0], capsys)
    report = data["compile"][0]
    assert report["swaps"] >= 1 and report["two_qubit_after"] > report["two_qubit_before"] == 3
    best = max(data["probabilities"], key=data["probabilities"].get)
    assert best == "011"  # x q0; cx 0,1; cx 1,2; cx 0,2 -> q0=1, q1=1, q2=0


def test_expval_with_a_device_compiles_each_measured_basis(capsys):
    f = DATA / "ghz_5.qasm"
    data = simulate_json([f, "--noise", "line_5", "--expval", "Z0 Z1 + X0 X1 X2 X3 X4", "--seed", 3], capsys)
    assert len(data["compile"]) == 2 and all(r["changed"] for r in data["compile"])
    assert {r["circuit"] for r in data["compile"]} == {"basis Z0 Z1", "basis X0 X1 X2 X3 X4"}
    assert data["readout_included"] is True and 1.0 < data["expval"] < 2.0  # 2 without noise
    est = simulate_json([f, "--noise", "line_5", "--expval", "Z0 Z1 + X0 X1 X2 X3 X4", "--shots", 3000,
                         "--seed", 3], capsys)
    assert abs(est["expval"] - data["expval"]) < 5 * est["stderr"]


def test_noise_model_json_that_does_not_cover_the_circuit_is_refused(tmp_path, capsys):
    from qtandem.noise import NoiseModel, depolarizing

    path = tmp_path / "n.json"
    NoiseModel().add(depolarizing(0.3, 2), gates=["cx"]).to_json(path)
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--noise", path], capsys)
    assert code == 2 and "has no noise for part of this circuit" in err and "'h'" in err
    NoiseModel().add(depolarizing(0.3, 2), gates=["cx"]).add(depolarizing(0.01, 1), gates=["h"]).to_json(path)
    data = simulate_json([DATA / "ghz_5.qasm", "--noise", path], capsys)
    assert len(data["probabilities"]) > 2 and data["method"] == "density" and "compile" not in data


def test_trajectories_expval_and_exact_refusal(capsys):
    f = DATA / "ghz_5.qasm"
    data = simulate_json([f, "--noise", "line_5", "--expval", "Z0 Z1", "--method", "trajectories", "--shots", 300,
                          "--seed", 2], capsys)
    assert 0.5 < data["expval"] < 1.0 and 0 < data["stderr"] < 0.1 and data["method"] == "trajectories"
    code, _, err = run_cli(["simulate", f, "--noise", "line_5", "--method", "trajectories"], capsys)
    assert code == 2 and "--method trajectories samples: give --shots N" in err


def test_noisy_shots_of_a_circuit_with_reset_use_trajectories(tmp_path, capsys):
    from qtandem.noise import NoiseModel, bit_flip

    path = tmp_path / "reset.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\nmeasure q[0] -> c[0];\n'
                    "reset q[0];\ncx q[0], q[1];\nmeasure q[0] -> c[1];\n")
    model = tmp_path / "n.json"
    NoiseModel().add(bit_flip(0.1), gates=["x", "cx"]).to_json(model)
    data = simulate_json([path, "--noise", model, "--shots", 2000, "--seed", 4], capsys)
    assert data["method"] == "trajectories" and "mid-circuit measurement or reset" in data["method_reason"]
    # c0 = x then a 10% flip; c1 = the reset qubit, flipped by the cx's noise only (10%)
    c0 = sum(v for k, v in data["counts"].items() if k[-1] == "1") / 2000
    c1 = sum(v for k, v in data["counts"].items() if k[0] == "1") / 2000
    assert abs(c0 - 0.9) < 0.03 and abs(c1 - 0.1) < 0.03


def test_device_json_is_a_device_and_bad_files_are_named(tmp_path, capsys):
    from qtandem.device import Device

    path = tmp_path / "dev.json"
    Device.preset("line_5").to_json(path)
    data = simulate_json([DATA / "ghz_5.qasm", "--noise", path, "--shots", 300, "--seed", 0], capsys)
    assert data["noise_kind"] == "device JSON" and data["compile"][0]["device"] == "line_5"
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe\x00")
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--noise", bad], capsys)
    assert code == 2 and "not a JSON text file" in err
    bad.write_text("{\n  \"schema\": \n")
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--noise", bad], capsys)
    assert code == 2 and "bad.json:3:1: invalid JSON" in err


@pytest.mark.parametrize("creg", ["", "creg c[3];\n"])
def test_unmeasured_circuit_keeps_its_qubit_order_after_layout(tmp_path, capsys, creg):
    # nothing measured: qubit i is read into bit i, also after routing has moved the qubits
    path = tmp_path / "c.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\n' + creg + "x q[0];\ncx q[0], q[2];\n")
    data = simulate_json([path, "--noise", "heavy_hex_27", "--seed", 0], capsys)
    assert data["compile"][0]["changed"] is True
    assert max(data["probabilities"], key=data["probabilities"].get) == "101"
    sampled = simulate_json([path, "--noise", "heavy_hex_27", "--seed", 0, "--shots", 200], capsys)
    assert max(sampled["counts"], key=sampled["counts"].get) == "101"
