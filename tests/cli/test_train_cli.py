"""``qtandem train``: exit codes, one-line errors naming the key, --max-steps then --resume."""

from __future__ import annotations

import json

import pytest

from qtandem.cli.main import main

TINY = """
seed = 1
[data]
name = "moons"
n_samples = 60
[model]
pre = "none"
layers = 1
[optim]
batch_size = 15
epochs = 2
"""  # 45 training samples: 3 steps per epoch


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.mark.parametrize(("text", "key"), [
    ('[data]\nname = "moons"\n[optim]\nepochz = 1\n', "optim.epochz: unknown key (did you mean 'epochs'?)"),
    ("[model]\nlayers = \"three\"\n", "model.layers: expected an integer, got string 'three'"),
    ("[model]\nansatz = \"hea\"\n", "model.ansatz: must be one of"),
    ("[model]\nfeatures = 9\n[data]\nname = \"iris\"\n", "model.features: 9 principal components of iris's 4"),
    ("[train]\nmonitor = \"test_accuracy\"\n", "train.monitor: 'test_accuracy' is refused: would select on the test"),
    ("[data]\nvalidation = 0.0\n[train]\nearly_stopping_patience = 3\n", "data.validation: train.early_stopping"),
])
def test_bad_config_exits_2_with_one_line_naming_the_key(tmp_path, capsys, text, key):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    code, out, err = run_cli(["train", str(bad), "--output", str(tmp_path / "o"), "--no-progress"], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"qtandem: error: {bad}: {key}")
    assert err.count("\n") == 1


def test_missing_file_and_nothing_to_resume(tmp_path, capsys):
    code, _, err = run_cli(["train", str(tmp_path / "nope.toml")], capsys)
    assert code == 2 and "file not found" in err
    good = tmp_path / "good.toml"
    good.write_text(TINY)
    code, _, err = run_cli(["train", str(good), "--resume", "--output", str(tmp_path / "o"), "--no-progress"], capsys)
    assert code == 2 and "nothing to resume" in err and err.count("\n") == 1


def test_train_max_steps_then_resume(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(TINY)
    out_dir = tmp_path / "run"
    base = ["train", str(good), "--output", str(out_dir), "--no-progress"]
    code, out, _ = run_cli([*base, "--max-steps", "4", "--json"], capsys)
    assert code == 0
    part = json.loads(out)
    assert part["steps"] == 4 and not part["finished"]
    code, out, _ = run_cli([*base, "--resume"], capsys)
    assert code == 0
    assert "moons: done after 2 epochs (6 steps" in out and "test accuracy" in out and "(last weights)" in out
    assert out.splitlines()[-1] == f"report: {out_dir / 'report.html'}"
    steps = [json.loads(ln)["step"] for ln in (out_dir / "metrics.jsonl").read_text().splitlines()
             if json.loads(ln)["kind"] == "step"]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_used_output_folder_needs_overwrite(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(TINY)
    used = tmp_path / "run"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    base = ["train", str(good), "-o", str(used), "--no-progress", "--max-steps", "1", "--json"]
    code, out, err = run_cli(base, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"output folder {used} exists and is not empty: pass --overwrite" in err
    assert sorted(p.name for p in used.iterdir()) == ["notes.txt"]
    code, out, _ = run_cli([*base, "--overwrite"], capsys)
    assert code == 0 and json.loads(out)["steps"] == 1 and (used / "checkpoint.safetensors").exists()
