"""Training pipeline: config errors name the key, checkpoints are safetensors, resume is exact."""

from __future__ import annotations

import json

import pytest

from qtandem.cli.main import main
from qtandem.errors import ConfigError
from qtandem.hybrid.train import load_config, parse_config, train

TINY = """
seed = 3
[data]
name = "moons"
n_samples = 80
[model]
pre = "none"
n_qubits = 2
layers = 2
[optim]
batch_size = 16
epochs = 3
[train]
checkpoint_every = 4
"""


def _cfg(tmp_path, name):
    cfg = parse_config(TINY)
    cfg["output"] = str(tmp_path / name)
    return cfg


def _losses(path):
    return [json.loads(ln) for ln in (path / "metrics.jsonl").read_text().splitlines()]


def test_resume_continues_exactly(tmp_path):
    full = train(_cfg(tmp_path, "full"), progress=False)
    cut = _cfg(tmp_path, "cut")
    train(cut, progress=False, stop_after=6)  # interrupted mid-epoch 2 (4 steps per epoch), checkpoint at 4
    resumed = train(cut, resume=True, progress=False)
    assert resumed["steps"] == full["steps"] == 12
    a, b = _losses(tmp_path / "full"), _losses(tmp_path / "cut")
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        for key in ("loss", "test_loss", "train_acc"):
            if key in ra:
                assert ra[key] == pytest.approx(rb[key], abs=1e-7)
    assert resumed["test_acc"] == pytest.approx(full["test_acc"])


def test_outputs_are_safetensors_and_a_report(tmp_path):
    cfg = _cfg(tmp_path, "run")
    train(cfg, progress=False)
    out = tmp_path / "run"
    from safetensors import safe_open

    with safe_open(str(out / "checkpoint.safetensors"), framework="pt") as f:
        assert "generator" in f.keys() and json.loads(f.metadata()["qtandem"])["step"] == 12  # noqa: SIM118
    assert (out / "model.safetensors").read_bytes()[:8]  # a safetensors header, no pickle
    assert (out / "training_curves.png").is_file() and "training_curves.png" in (out / "report.html").read_text()
    assert load_config(out / "config.toml")["data"]["name"] == "moons"  # the copied config round-trips


@pytest.mark.parametrize(("text", "match"), [
    ('[model]\nlayerz = 2\n[data]\nname="moons"', r"model\.layerz: unknown key \(did you mean 'layers'\?\)"),
    ('[data]\nname = "moons"\n[optim]\nlr = "fast"', r"optim\.lr: expected float"),
    ('[data]\nname = "moons"\n[model]\nhead = "svm"', r"model\.head: must be one of"),
    ('[optim]\nepochs = 2', r"data\.name: required"),
    ('[data\nname = 1', r"<config>:"),
])
def test_config_errors_name_the_key(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(text)


def test_early_stopping(tmp_path):
    cfg = _cfg(tmp_path, "es")
    cfg["optim"]["epochs"], cfg["optim"]["lr"], cfg["train"]["patience"] = 30, 2.0, 1
    summary = train(cfg, progress=False)
    assert summary["stopped_early"] and summary["epochs"] < 30


def test_cli_exit_codes(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nname = "moons"\n[optim]\nepochz = 1\n')
    with pytest.raises(SystemExit) as exc:
        main(["train", str(bad)])
    assert exc.value.code == 2 and "optim.epochz" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text(TINY)
    with pytest.raises(SystemExit) as exc:
        main(["train", str(good), "--output", str(tmp_path / "cli"), "--no-progress"])
    assert exc.value.code == 0 and "test accuracy" in capsys.readouterr().out
