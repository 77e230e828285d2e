"""``qtandem tune`` and ``--workers`` on the command line: runs, refuses bad input (exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtandem.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.mark.slow
def test_tune_qaoa_example_json(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run_cli(["tune", ROOT / "examples/tune/qaoa_maxcut.toml", "-o", out, "--samples", "1",
                                 "--json"], capsys)
    assert code == 0, err
    data = json.loads(stdout)
    assert data["trials"] == 6 and data["complete"] and data["engine"] == "local"
    assert data["best"]["approximation_ratio"] == max(
        json.loads(line)["approximation_ratio"] for line in (out / "trials.jsonl").read_text().splitlines())
    assert {"trials.csv", "trials.jsonl", "reports.jsonl", "best_config.toml", "report.html", "tune.toml"} <= {
        p.name for p in out.iterdir()}


def test_tune_refuses_a_used_folder_and_conflicting_flags(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("1")
    code, _, err = run_cli(["tune", ROOT / "examples/tune/qaoa_maxcut.toml", "-o", out], capsys)
    assert code == 2 and "not empty" in err
    code, _, err = run_cli(["tune", ROOT / "examples/tune/qaoa_maxcut.toml", "-o", out, "--resume", "--overwrite"],
                           capsys)
    assert code == 2 and "give one" in err
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]


def test_bad_tune_config_writes_nothing(tmp_path, capsys):
    (tmp_path / "p.toml").write_text('[problem]\nkind = "maxcut"\nedges = [[0, 1], [1, 2], [2, 0]]\n')
    bad = tmp_path / "t.toml"
    bad.write_text('[tune]\ntrainer = "qaoa"\nbase = "p.toml"\n[space]\n"qaoa.depth" = {grid = [1, 2]}\n')
    code, _, err = run_cli(["tune", bad, "-o", tmp_path / "run"], capsys)
    assert code == 2 and "t.toml: space.qaoa.depth: not a key of the qaoa configuration" in err
    assert not (tmp_path / "run").exists()
    code, _, err = run_cli(["tune", ROOT / "examples/tune/qaoa_maxcut.toml", "-o", tmp_path / "run", "--engine",
                            "dask"], capsys)
    assert code == 2 and "unknown 'dask'" in err
    assert not (tmp_path / "run").exists()


def test_train_workers_option_checks(tmp_path, capsys):
    code, _, err = run_cli(["train", ROOT / "examples/train/moons.toml", "-o", tmp_path / "m", "--workers", "0"],
                           capsys)
    assert code == 2 and "--workers" in err
    code, _, err = run_cli(["qec", "train", tmp_path / "none.toml", "--address", "auto"], capsys)
    assert code == 2
