"""``qtandem qec eval`` and ``qtandem qec flag`` on tiny runs."""

import json

import numpy as np
import pytest

from qtandem.cli.main import main
from qtandem.qec.codes import surface_code
from qtandem.qec.data import open_dataset, write_dataset


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_eval_writes_results(tmp_path, capsys):
    out = tmp_path / "ev"
    code, stdout, err = run_cli(["qec", "eval", "-d", "3", "-p", "0.01", "-p", "0.02", "--shots", "400",
                                 "-D", "pymatching,pymatching-correlated", "--output", str(out), "--json"], capsys)
    assert code == 0, err
    data = json.loads(stdout)
    assert len(data["points"]) == 4
    assert {pt["decoder"] for pt in data["points"]} == {"pymatching", "pymatching-correlated"}
    for pt in data["points"]:
        assert pt["shots"] == 400 and pt["low"] <= pt["rate"] <= pt["high"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["points"][0]["flag_curve"]["fraction_flagged"][0] == 0.0
    for name in ("report.html", "ler.png", "flagging.png"):
        assert (out / name).stat().st_size > 0


def test_eval_errors(tmp_path, capsys):
    code, _, err = run_cli(["qec", "eval", "-D", "nope", "--shots", "10", "--output", str(tmp_path)], capsys)
    assert code == 2 and "unknown decoder 'nope'" in err
    code, _, err = run_cli(["qec", "eval", "--noise", "fancy", "--shots", "10", "--output", str(tmp_path)], capsys)
    assert code == 2 and "unknown noise preset 'fancy'" in err
    code, _, err = run_cli(["qec", "eval", "-D", "pretrained:no-such-model", "--shots", "10",
                            "--output", str(tmp_path)], capsys)
    assert code == 2 and "no-such-model" in err


def test_flag_sampled_and_dataset(tmp_path, capsys):
    out = tmp_path / "fl"
    code, stdout, err = run_cli(["qec", "flag", "-o", str(out), "--shots", "2000", "-p", "0.01", "--threshold", "0.1",
                                 "--json"], capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    full = json.loads((out / "flagged.json").read_text())
    assert summary["flagged"] == len(full["indices"]) > 0
    assert all(d > 0.1 for d in full["doubt"])
    assert summary["ler_kept"] < summary["ler_all"] < summary["ler_flagged"]
    flagged = open_dataset(out / "flagged")
    assert flagged.shots == summary["flagged"] and flagged.manifest["source_indices"] == full["indices"]
    # flag a saved dataset: the flagged events are exactly those rows
    c = surface_code(3, 3, p=0.01)
    ds = write_dataset(tmp_path / "ds", c, 500, seed=9)
    out2 = tmp_path / "fl2"
    code, _, err = run_cli(["qec", "flag", "-o", str(out2), "--dataset", str(tmp_path / "ds"), "--threshold", "0.2"],
                           capsys)
    assert code == 0, err
    idx = json.loads((out2 / "flagged.json").read_text())["indices"]
    dets, _ = ds.load()
    assert np.array_equal(open_dataset(out2 / "flagged").load()[0], dets[idx])
    code, _, err = run_cli(["qec", "flag", "-o", str(tmp_path / "fl3"), "--dataset", str(tmp_path / "nope")], capsys)
    assert code == 2 and "no manifest.json" in err
    code, _, err = run_cli(["qec", "flag", "-o", str(out2), "-D", "bposd", "--shots", "10", "--overwrite"], capsys)
    assert code == 2 and ("no soft output" in err or "ldpc" in err)
