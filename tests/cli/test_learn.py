"""``qtandem learn plan | run | calibrate``: the happy path and every refused input (exit 2, file named)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtandem.cli.main import main


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A plan (readout + T1 on qubit 1) and its shot data on line_5, made once through the CLI."""
    root = tmp_path_factory.mktemp("learn")
    plan, data = root / "plan.json", root / "data"
    with pytest.raises(SystemExit) as info:
        main(["learn", "plan", "--qubits", "1", "--experiments", "readout,t1", "--device", "line_5",
              "-o", str(plan)])
    assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        main(["learn", "run", str(plan), "--device", "line_5", "--shots", "300", "--seed", "3", "-o", str(data)])
    assert info.value.code == 0
    return plan, data


def test_plan_run_calibrate_recovers_t1_and_writes_the_report(made, tmp_path, capsys):
    from qtandem.device import Device

    _, data = made
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["device_name"] == "line_5" and set(manifest["shots"]) == {300}
    out = tmp_path / "device.json"
    code, stdout, err = run_cli(["learn", "calibrate", data, "-o", out, "--restarts", "1", "--json"], capsys)
    assert code == 0, err
    result = json.loads(stdout)
    assert result["device"] == str(out) and Path(result["report"]).name == "report.html"
    true_t1 = Device.preset("line_5").qubits[1].t1
    fitted = Device.load(out).qubits[1].t1
    assert abs(fitted - true_t1) < 4 * result["stderr"]["q1.t1"], (fitted, true_t1, result["stderr"])
    assert result["check"]["flagged"] is False
    report = tmp_path / "device_report"
    assert sorted(p.name for p in report.iterdir()) == ["fit_readout_q1.png", "fit_t1_q1.png", "parameters.csv",
                                                        "report.html"]
    html = (report / "report.html").read_text()
    assert "q1.t1" in html and "Model check" in html
    # a second run needs --overwrite for the report folder beside the device file
    code, _, err = run_cli(["learn", "calibrate", data, "-o", out, "--restarts", "1"], capsys)
    assert code == 2 and "pass --overwrite" in err and "device_report" in err
    code, stdout, err = run_cli(["learn", "calibrate", data, "-o", out, "--restarts", "1", "--overwrite",
                                 "--no-progress"], capsys)
    assert code == 0 and "q1.t1" in stdout and "model check" in stdout, err


def test_plan_to_stdout_and_as_json(tmp_path, capsys):
    from qtandem.learn.plan import CharacterizationPlan

    code, out, err = run_cli(["learn", "plan", "--qubits", "0-1", "--pairs", "0-1", "--experiments", "readout,zz"],
                             capsys)
    assert code == 0, err
    plan = CharacterizationPlan.from_dict(json.loads(out))
    assert [(e.name, e.qubits) for e in plan.experiments] == [("readout", (0,)), ("readout", (1,)),
                                                               ("readout", (0, 1)), ("zz", (0, 1))]
    code, out, _ = run_cli(["learn", "plan", "--qubits", "2", "--experiments", "t1", "-o", tmp_path / "p.json",
                            "--json"], capsys)
    assert code == 0 and json.loads(out)["experiments"] == [{"name": "t1", "qubits": [2], "circuits": 12}]


@pytest.mark.parametrize(("args", "message"), [
    (["--qubits", "a-b"], "--qubits 'a-b': expected qubit indices"),
    (["--qubits", "3-1"], "runs backwards"),
    (["--qubits", "0,0"], "listed twice"),
    (["--qubits", "0", "--pairs", "0-0"], "--pairs '0-0': expected coupled pairs"),
    (["--qubits", "0", "--experiments", "t3"], "unknown experiment 't3'"),
    (["--qubits", "0", "--experiments", "zz"], "needs pairs"),
    (["--qubits", "0", "--device", "no_such_device"], "no_such_device"),
    (["--qubits", "0", "--pairs", "0-2", "--device", "line_5"], "not on the coupling map"),
])
def test_plan_refuses_bad_options(args, message, capsys):
    code, _, err = run_cli(["learn", "plan", *args], capsys)
    assert code == 2 and message in err, err
    assert "Traceback" not in err


def test_run_refuses_bad_inputs(made, tmp_path, capsys):
    plan, _ = made
    code, _, err = run_cli(["learn", "run", tmp_path / "none.json", "--device", "line_5", "-o", tmp_path / "d"],
                           capsys)
    assert code == 2 and "none.json" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run_cli(["learn", "run", bad, "--device", "line_5", "-o", tmp_path / "d"], capsys)
    assert code == 2 and "bad.json:1:2: invalid JSON" in err
    code, _, err = run_cli(["learn", "run", plan, "--device", "nowhere.json", "-o", tmp_path / "d"], capsys)
    assert code == 2 and "nowhere" in err
    code, _, err = run_cli(["learn", "run", plan, "--device", "line_5", "--shots", "0", "-o", tmp_path / "d"],
                           capsys)
    assert code == 2 and "--shots must be a positive integer" in err
    wide = tmp_path / "wide.json"
    assert run_cli(["learn", "plan", "--qubits", "7", "--experiments", "t1", "-o", wide], capsys)[0] == 0
    code, _, err = run_cli(["learn", "run", wide, "--device", "line_5", "-o", tmp_path / "d"], capsys)
    assert code == 2 and "spans 8 qubits but device 'line_5' has 5" in err
    far = tmp_path / "far.json"
    assert run_cli(["learn", "plan", "--qubits", "0", "--pairs", "0-2", "--experiments", "zz", "-o", far],
                   capsys)[0] == 0
    code, _, err = run_cli(["learn", "run", far, "--device", "line_5", "-o", tmp_path / "d"], capsys)
    assert code == 2 and "zz on (0, 2): not a coupled pair of 'line_5'" in err
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    code, _, err = run_cli(["learn", "run", plan, "--device", "line_5", "--shots", "10", "-o", used], capsys)
    assert code == 2 and "pass --overwrite" in err
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    assert not (tmp_path / "d").exists()


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_calibrate_refuses_missing_or_malformed_data(made, tmp_path, capsys):
    _, data = made
    out = tmp_path / "dev.json"
    code, _, err = run_cli(["learn", "calibrate", tmp_path / "nodata", "-o", out, "--no-report"], capsys)
    assert code == 2 and "nodata: no such shot-data folder" in err
    broken = _copy(data, tmp_path / "no_counts")
    (broken / "counts.json").unlink()
    code, _, err = run_cli(["learn", "calibrate", broken, "-o", out, "--no-report"], capsys)
    assert code == 2 and "counts.json" in err
    broken = _copy(data, tmp_path / "bad_manifest")
    (broken / "manifest.json").write_text("[1, 2")
    code, _, err = run_cli(["learn", "calibrate", broken, "-o", out, "--no-report"], capsys)
    assert code == 2 and "manifest.json" in err
    broken = _copy(data, tmp_path / "negative")
    counts = json.loads((broken / "counts.json").read_text())
    counts[0] = {"0": -1, "1": 301}
    (broken / "counts.json").write_text(json.dumps(counts))
    code, _, err = run_cli(["learn", "calibrate", broken, "-o", out, "--no-report"], capsys)
    assert code == 2 and "counts.json" in err
    broken = _copy(data, tmp_path / "no_circuit")
    (broken / "circuits" / "3.qasm").unlink()
    code, _, err = run_cli(["learn", "calibrate", broken, "-o", out, "--no-report"], capsys)
    assert code == 2 and "3.qasm" in err
    code, _, err = run_cli(["learn", "calibrate", data, "-o", tmp_path / "no" / "dev.json"], capsys)
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "no").exists()
    code, _, err = run_cli(["learn", "calibrate", data, "-o", out, "--restarts", "0"], capsys)
    assert code == 2 and "--restarts must be >= 1" in err
    code, _, err = run_cli(["learn", "calibrate", data, "--model", "nonsense", "--no-report"], capsys)
    assert code == 2 and "nonsense" in err
    assert not out.exists()
    assert "Traceback" not in err


def test_calibrate_with_heldout_data_and_a_one_experiment_model(made, tmp_path, capsys):
    plan, data = made
    other = tmp_path / "other"
    assert run_cli(["learn", "run", plan, "--device", "line_5", "--shots", "300", "--seed", "9", "-o", other],
                   capsys)[0] == 0
    code, out, err = run_cli(["learn", "calibrate", data, "--model", "t1", "--heldout", other, "--restarts", "1",
                              "--no-report", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["device"] is None and result["report"] is None
    assert result["check"]["heldout"]["dof"] > 0 and result["check"]["flagged"] is False
    assert "q1.t1" in result["values"]


def test_progress_bar_follows_the_fit_stages(monkeypatch):
    import sys

    from qtandem.cli.learn import _fit

    seen = []

    def fake_calibrate(data, *, progress=None, restarts, bootstrap, **kwargs):
        for message in ["profile start", "restart 1/2: nll 1.0", "restart 2/2: nll 0.9", "uncertainties",
                        "bootstrap 1/1"]:
            progress(message)
            seen.append(message)
        return "fitted"

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert _fit(fake_calibrate, None, show=True, restarts=2, bootstrap=1) == "fitted"
    assert len(seen) == 5
    assert _fit(lambda data, **kw: ("quiet", sorted(kw)), None, show=False, restarts=1, bootstrap=0) == (
        "quiet", ["bootstrap", "restarts"])
