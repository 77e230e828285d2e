"""``qtandem opt``: train-angles (runs, resumes, refuses bad configs), solve (errors, QAOA beside classical), tour."""

from __future__ import annotations

import json

import pytest

from qtandem.cli.main import main

TINY = """
families = ["regular3"]
n_min = 6
n_max = 6
train_per_family = 2
dev_per_family = 1
depths = [1]
steps = 3
batch = 2
hidden = 4
layers = 1
checkpoint_every = 3
"""


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_train_angles_runs_refuses_to_overwrite_and_resumes(tmp_path, capsys):
    cfg = tmp_path / "a.toml"
    cfg.write_text(TINY)
    out = tmp_path / "run"
    code, stdout, err = run_cli(["opt", "train-angles", str(cfg), "-o", str(out), "--json", "--no-progress"], capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["steps"] == 3 and (out / "model.safetensors").exists() and (out / "report.html").exists()
    code, _, err = run_cli(["opt", "train-angles", str(cfg), "-o", str(out)], capsys)
    assert code == 2 and "pass --overwrite" in err
    code, stdout, err = run_cli(["opt", "train-angles", str(cfg), "-o", str(out), "--resume", "--json"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(("text", "message"), [
    ("stepz = 3\n", "unknown key 'stepz'"),
    ('families = ["hexagonal"]\n', "families: unknown 'hexagonal'"),
    ("lr = -1.0\n", "lr must be > 0"),
    ("steps = [\n", "invalid TOML"),
])
def test_bad_train_config_exits_2_naming_the_key(tmp_path, capsys, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    code, _, err = run_cli(["opt", "train-angles", str(cfg), "-o", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_solve_rejects_bad_options_and_files(tmp_path, capsys):
    code, _, err = run_cli(["opt", "solve", "examples/opt/maxcut.toml", "--method", "magic"], capsys)
    assert code == 2 and "--method: unknown 'magic'" in err
    code, _, err = run_cli(["opt", "solve", "examples/opt/maxcut.toml", "--compare", "quantum"], capsys)
    assert code == 2 and "--compare" in err
    bad = tmp_path / "p.toml"
    bad.write_text('[problem]\nkind = "maxkut"\n')
    code, _, err = run_cli(["opt", "solve", str(bad), "--method", "exact"], capsys)
    assert code == 2 and str(bad) in err and "Traceback" not in err
    bad.write_text('[problem]\nkind = "maxcut"\nedges = [[0, 1, "x"]]\n')
    code, _, err = run_cli(["opt", "solve", str(bad), "--method", "qaoa"], capsys)
    assert code == 2 and "problem.edges[0]" in err and "Traceback" not in err
    code, _, err = run_cli(["opt", "solve", str(tmp_path / "none.toml")], capsys)
    assert code == 2 and "none.toml" in err


def test_solve_classical_method_prints_the_optimum(capsys):
    code, stdout, err = run_cli(["opt", "solve", "examples/opt/maxcut.toml", "--method", "exact", "--json"], capsys)
    assert code == 0, err
    out = json.loads(stdout)
    assert out["rows"][0]["optimal"] is True and out["optimum"] == out["rows"][0]["value"]


def test_solve_qaoa_beside_classical(capsys):
    code, stdout, err = run_cli(["opt", "solve", "examples/opt/maxcut.toml", "--p", "2", "--compare", "classical",
                                 "--max-evaluations", "40", "--json"], capsys)
    assert code == 0, err
    out = json.loads(stdout)
    qrow = out["rows"][-1]
    assert qrow["solver"].startswith("qaoa p=2") and 0 < qrow["ratio"] <= 1 + 1e-9
    assert 0 <= qrow["p_opt"] <= 1 and qrow["evaluations"] <= 40 + 5
    if qrow["p_opt"] > 0:
        import math

        assert qrow["shots_99"] == math.ceil(math.log(0.01) / math.log(1 - qrow["p_opt"]))


@pytest.mark.slow  # ~6 s: two QAOA runs at 16 and 8 qubits plus figures
def test_tour_opt_section_quick(tmp_path):
    from qtandem.tour import failed_sections, run_tour

    report = run_tour(tmp_path, quick=True, only=["Optimisation: routing"])
    assert failed_sections() == []
    text = report.read_text()
    assert "OR-Tools routing" in text and (tmp_path / "opt_cvrp.png").exists()
    assert (tmp_path / "opt_frontier.png").exists()
