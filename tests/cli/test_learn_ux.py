"""``qtandem learn`` as a new user meets it (README and -h only): what was unclear or broken, kept fixed.

Found by running the documented commands on heavy_hex_27 and on a ``Device.random`` JSON with bad
inputs: a held-out folder from another plan crashed with an internal IndexError; a refused
``calibrate`` left an empty report folder behind; a file given where a folder is expected (and the
reverse) was reported as missing; ``calibrate -h`` promised the device on stdout without -o; the
experiment names were nowhere in ``-h``.
"""

from __future__ import annotations

import json
import re

import pytest

from qtandem.cli.main import main
from qtandem.device import Device


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A 3-qubit ``Device.random`` JSON; readout+T1 on qubit 0 (a 1-qubit plan) run on it, and on qubit 2."""
    root = tmp_path_factory.mktemp("learn_ux")
    dev = root / "hidden.json"
    Device.random(3, "line", seed=4).to_json(dev)
    paths = {"dev": dev}
    for name, qubit, prior in (("q0", "0", []), ("q2", "2", ["--device", dev])):
        plan, data = root / f"plan_{name}.json", root / f"data_{name}"
        for args in (["learn", "plan", "--qubits", qubit, "--experiments", "readout,t1", *prior, "-o", plan],
                     ["learn", "run", plan, "--device", dev, "--shots", "300", "--seed", "1", "-o", data]):
            with pytest.raises(SystemExit) as info:
                main([str(a) for a in args])
            assert info.value.code == 0
        paths[f"plan_{name}"], paths[f"data_{name}"] = plan, data
    return paths


def test_help_names_the_experiments_and_what_calibrate_writes(capsys):
    from qtandem.learn.experiments import EXPERIMENTS

    code, out, _ = run_cli(["learn", "plan", "-h"], capsys)
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and ", ".join(EXPERIMENTS) in text
    code, out, _ = run_cli(["learn", "calibrate", "-h"], capsys)
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "without -o: print the fitted values only" in text and "default: stdout" not in text


def test_run_refuses_a_folder_as_plan_and_creates_nothing(made, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(["learn", "run", made["data_q0"], "--device", made["dev"], "-o", out], capsys)
    assert code == 2 and "is a folder; expected the plan file" in err and "learn calibrate" in err
    assert not out.exists()


def test_run_refuses_a_plan_wider_than_a_random_device(made, tmp_path, capsys):
    plan = tmp_path / "wide.json"
    assert run_cli(["learn", "plan", "--qubits", "0-3", "--experiments", "readout", "-o", plan], capsys)[0] == 0
    code, _, err = run_cli(["learn", "run", plan, "--device", made["dev"], "-o", tmp_path / "d"], capsys)
    assert code == 2 and "spans 4 qubits" in err and "has 3" in err and not (tmp_path / "d").exists()
    code, _, err = run_cli(["learn", "plan", "--qubits", "0-3", "--device", made["dev"], "-o", plan], capsys)
    assert code == 2 and "outside the device" in err


def test_calibrate_refuses_a_file_as_data(made, tmp_path, capsys):
    out = tmp_path / "dev.json"
    code, _, err = run_cli(["learn", "calibrate", made["plan_q0"], "-o", out], capsys)
    assert code == 2 and "is a file; expected a shot-data folder" in err and "learn run" in err
    assert "no such" not in err and not list(tmp_path.iterdir())


def test_calibrate_refused_runs_leave_no_report_folder(made, tmp_path, capsys):
    out = tmp_path / "dev.json"
    code, _, err = run_cli(["learn", "calibrate", made["data_q0"], "-o", out, "--model", "nosuch"], capsys)
    assert code == 2 and "model 'nosuch'" in err
    code, _, err = run_cli(["learn", "calibrate", made["data_q0"], "-o", out, "--report", tmp_path / "r",
                            "--no-report"], capsys)
    assert code == 2 and "contradict" in err
    code, _, err = run_cli(["learn", "calibrate", tmp_path / "missing", "-o", out], capsys)
    assert code == 2 and "missing" in err
    assert not list(tmp_path.iterdir())  # before the fix, dev_report/ was created by each of these
    (tmp_path / "dev_report").write_text("a file")
    code, _, err = run_cli(["learn", "calibrate", made["data_q0"], "-o", out], capsys)
    assert code == 2 and "report folder" in err and "is a file" in err and not out.exists()


def test_heldout_from_other_qubits_is_refused_not_a_crash(made, tmp_path, capsys):
    out = tmp_path / "dev.json"
    code, stdout, err = run_cli(["learn", "calibrate", made["data_q0"], "-o", out, "--heldout", made["data_q2"],
                                 "--restarts", "1", "--no-progress"], capsys)
    assert code == 2, err
    assert re.search(r"--heldout .*data_q2: experiment readout on \(2,\) measures qubits or a pair that the fitted "
                     r"data does not \(it covers qubits \[0\]\)", err), err
    assert "internal error" not in err + stdout and not list(tmp_path.iterdir())


def test_calibrate_says_how_to_keep_the_device_size_and_then_corrections_run(made, tmp_path, capsys):
    small = tmp_path / "small.json"
    code, out, err = run_cli(["learn", "calibrate", made["data_q0"], "-o", small, "--restarts", "1", "--no-report",
                              "--no-progress"], capsys)
    assert code == 0, err
    assert "without --prior the fitted device has the data's 1 qubit(s) and typical values" in out
    assert "'random_line_3_seed4' for this data" in out and Device.load(small).num_qubits == 1
    full = tmp_path / "full.json"
    code, out, err = run_cli(["learn", "calibrate", made["data_q0"], "-o", full, "--prior", made["dev"],
                              "--restarts", "1", "--no-report", "--no-progress"], capsys)
    assert code == 0, err
    assert "without --prior" not in out and Device.load(full).num_qubits == 3
    circuit = tmp_path / "c.qasm"
    circuit.write_text('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\n')
    code, out, err = run_cli(["optimize", circuit, "-o", tmp_path / "c_fixed.qasm", "--corrections", small], capsys)
    assert code == 2 and "has only 1" in err  # what the note warns about
    code, out, err = run_cli(["optimize", circuit, "-o", tmp_path / "c_fixed.qasm", "--corrections", full,
                              "--json"], capsys)
    assert code == 0, err
    assert json.loads(out) and (tmp_path / "c_fixed.qasm").read_text().startswith("OPENQASM")


def test_heavy_hex_27_plan_and_run_and_an_uncoupled_pair(tmp_path, capsys):
    plan, data = tmp_path / "plan.json", tmp_path / "data"
    code, out, err = run_cli(["learn", "plan", "--qubits", "0-1", "--pairs", "0-1", "--experiments", "readout,zz",
                              "--device", "heavy_hex_27", "-o", plan, "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["width"] == 27  # a prior makes the plan as wide as the device
    code, out, err = run_cli(["learn", "run", plan, "--device", "heavy_hex_27", "--shots", "20", "-o", data,
                              "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["device"] == "heavy_hex_27" and (data / "manifest.json").is_file()
    code, _, err = run_cli(["learn", "run", plan, "--device", "heavy_hex_27", "--shots", "20", "-o", data], capsys)
    assert code == 2 and "exists and is not empty" in err and "--overwrite" in err
    code, _, err = run_cli(["learn", "plan", "--qubits", "0-2", "--pairs", "0-2", "--experiments", "zz",
                            "--device", "heavy_hex_27"], capsys)
    assert code == 2 and "pair (0, 2) is not on the coupling map of 'heavy_hex_27'" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--qubits", "0", "--seed", "-1", "--experiments", "readout"], "--seed must be >= 0, got -1"),  # was a crash
    (["--qubits", "0", "--experiments", ""], "names no experiment"),  # was an empty plan
    (["--qubits", "0", "--experiments", " , "], "names no experiment"),
    (["--qubits", "0-1", "--experiments", "readout,irb"],
     "'irb' needs pairs (it runs on coupled qubits): give them with --pairs"),
])
def test_plan_refuses_more_bad_options(args, message, tmp_path, capsys):
    code, _, err = run_cli(["learn", "plan", *args, "-o", tmp_path / "p.json"], capsys)
    assert code == 2 and message in err and "internal error" not in err
    assert not (tmp_path / "p.json").exists()
