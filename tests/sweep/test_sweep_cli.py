"""``qtandem sweep``: run, resume, refuse, merge, export; bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtandem.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[sweep]
job = "qec"
[fixed]
max_shots = 2000
chunk_shots = 1000
[grid]
distance = [3]
p = [0.005, 0.01]
"""


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_run_resume_merge_export(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "run"
    code, stdout, err = run_cli(["sweep", cfg, "--out", out, "--json"], capsys)
    assert code == 0, err
    data = json.loads(stdout)
    assert data["complete"] and data["chunks_run"] == 4 and [e["shots"] for e in data["table"]] == [2000, 2000]
    assert {"results.jsonl", "sweep.toml", "table.json", "report.html"} <= {p.name for p in out.iterdir()}
    code, _, err = run_cli(["sweep", cfg, "--out", out], capsys)
    assert code == 2 and "--resume" in err
    code, stdout, _ = run_cli(["sweep", "run", cfg, "--out", out, "--resume", "--json"], capsys)
    assert code == 0 and json.loads(stdout)["chunks_run"] == 0
    code, stdout, _ = run_cli(["sweep", "merge", out, out / "results.jsonl", "-o", tmp_path / "m", "--json"], capsys)
    assert code == 0 and json.loads(stdout)["rows"] == 4
    csv = tmp_path / "stats.csv"
    code, _, _ = run_cli(["sweep", "export", tmp_path / "m", "--sinter-csv", "-o", csv], capsys)
    assert code == 0 and csv.read_text().count("\n") == 3 and "pymatching" in csv.read_text()
    code, stdout, _ = run_cli(["sweep", "export", out, "--json"], capsys)
    assert code == 0 and sorted(e["errors"] for e in json.loads(stdout)) == sorted(e["errors"] for e in data["table"])


@pytest.mark.parametrize(("config", "extra", "message"), [
    ('[sweep]\njob = "qecc"\n[grid]\ndistance = [3]\n', [], "unknown job 'qecc'"),
    ('[sweep]\njob = "qec"\n[grid]\ndistance = []\np = [0.1]\n', [], "grid.distance: empty list"),
    (CONFIG, ["--engine", "ray", "--address", "127.0.0.1:1"], "cannot reach a Ray cluster at 127.0.0.1:1"),
    (CONFIG, ["--engine", "spark"], "unknown engine 'spark'"),
    ('[sweep]\njob = "mitigation"\n[fixed]\nfamily = "ghz"\n[grid]\nmethod = ["zne,magic"]\n', [],
     "unknown method 'magic'"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, config, extra, message):
    cfg = tmp_path / "s.toml"
    cfg.write_text(config)
    code, _, err = run_cli(["sweep", cfg, "--out", tmp_path / "run", *extra], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_shipped_example_is_valid():
    from qtandem.sweep import load_config, plan

    points = plan(load_config(ROOT / "examples" / "sweep" / "qec_small.toml"))
    assert sorted({(p.prepared.params["distance"], p.prepared.params["decoder"]) for p in points}) == [
        (3, "pymatching"), (5, "pymatching")]
    assert len(points) == 8
