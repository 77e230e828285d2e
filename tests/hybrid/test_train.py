"""Training pipeline: config errors name the key, checkpoints are safetensors without pickle, resume is exact."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import textwrap
from pathlib import Path

import pytest
import torch

import qtandem.hybrid.train as tr
from qtandem.errors import CheckpointError, ConfigError, QtandemError
from qtandem.hybrid.datasets import load_dataset
from qtandem.hybrid.train import (
    EXAMPLE_CONFIG,
    TrainConfig,
    build_model,
    config_to_toml,
    load_config,
    load_model,
    parse_config,
    read_safetensors,
    train,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "train"

TINY = """
seed = 3
[data]
name = "moons"
n_samples = 80
[model]
pre = "none"
layers = 2
[optim]
batch_size = 16
epochs = 3
[train]
checkpoint_every = 4
"""  # 60 training samples: 4 steps per epoch, 12 in all


def tiny(tmp_path: Path, name: str, **sections: dict) -> TrainConfig:
    cfg = parse_config(TINY, source="tiny.toml")
    for sec, changes in sections.items():
        cfg = dataclasses.replace(cfg, **{sec: dataclasses.replace(getattr(cfg, sec), **changes)})
    return dataclasses.replace(cfg, output=str(tmp_path / name))


def records(out: Path) -> list[dict]:
    recs = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    for r in recs:
        r.pop("wall")
    return recs


# -- configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("[model]\nlayerz = 2", "cfg.toml: model.layerz: unknown key (did you mean 'layers'?)"),
    ("[optim]\nlr = \"fast\"", "cfg.toml: optim.lr: expected a finite number, got string 'fast'"),
    ("[model]\nlayers = 2.5", "cfg.toml: model.layers: expected an integer, got float 2.5"),
    ("[model]\nentangle = 1", "cfg.toml: model.entangle: expected true or false, got integer 1"),
    ("[model]\nencoder = \"angel\"", "cfg.toml: model.encoder: must be one of 'angle', 'amplitude', 'iqp', "
                                     "'reupload'; got 'angel' (did you mean 'angle'?)"),
    ("[model]\nhead = \"svm\"", "cfg.toml: model.head: must be one of 'linear', 'mlp'; got 'svm'"),
    ("[data]\nname = \"mnist\"", "cfg.toml: data.name: must be one of"),
    ("[optim]\nepochs = 0", "cfg.toml: optim.epochs: must be >= 1, got 0"),
    ("[data]\ntest_size = 1.5", "cfg.toml: data.test_size: must be < 1.0, got 1.5"),
    ("[model]\nhidden = [8, \"x\"]", "cfg.toml: model.hidden: expected a list of integers"),
    ("layers = 3", "cfg.toml: layers: unknown key (it belongs in [model])"),
    ("[modle]\nlayers = 3", "cfg.toml: modle: unknown key (did you mean 'model'?)"),
    ("model = 3", "cfg.toml: model: expected a table [model], got integer 3"),
    ("[train]\nearly_stopping_patience = -1", "cfg.toml: train.early_stopping_patience: must be >= 0"),
    ("[model]\nshots = 100", "cfg.toml: model.shots: finite shots are not differentiable by diff_method 'backprop'"),
    ("[optim]\nmomentum = 0.9", "cfg.toml: optim.momentum: momentum applies to name = 'sgd' only"),
    ("[data\nname = 1", "cfg.toml: invalid TOML"),
])
def test_config_errors_name_the_key(text, message):
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="cfg.toml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, QtandemError) and isinstance(info.value, ValueError)


def test_load_config_names_the_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[optim]\nbatch_size = 16\nepochz = 3\n")
    with pytest.raises(ConfigError, match=r"run\.toml: optim\.epochz: unknown key \(did you mean 'epochs'\?\)"):
        load_config(path)


def test_defaults_round_trip_and_examples_parse():
    cfg = parse_config(EXAMPLE_CONFIG)
    assert cfg.model.features == 8 and cfg.train.early_stopping_patience == 5
    assert parse_config(config_to_toml(cfg)) == cfg
    assert parse_config("") == TrainConfig()
    # the module docs show exactly EXAMPLE_CONFIG
    assert textwrap.indent(EXAMPLE_CONFIG, "    ").replace("    \n", "\n") in tr.__doc__
    files = sorted(EXAMPLES.glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        load_config(f)


def test_model_that_does_not_fit_the_data_names_the_key():
    iris = load_dataset("iris")
    with pytest.raises(ConfigError, match=r"model\.features: 6 principal components of iris's 4 features"):
        build_model(parse_config("[model]\nfeatures = 6"), iris)
    with pytest.raises(ConfigError, match=r"x\.toml: model: angle encoding puts one feature per qubit"):
        build_model(parse_config("[model]\nfeatures = 4\nn_qubits = 2", source="x.toml"), iris)


# -- resume ----------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["adam", "adam-pca-digits", "sgd-spsa-shots-validation"])
def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path, variant):
    changes: dict = {}
    if variant == "adam-pca-digits":  # fitted PCA buffers, restored from the checkpoint, give the same bits
        changes = {"data": {"name": "digits"}, "model": {"pre": "pca", "features": 4}}
    elif variant != "adam":  # every random stream: shuffling, SPSA perturbations, shot noise, validation split
        changes = {"optim": {"name": "sgd", "momentum": 0.9, "lr": 0.1},
                   "model": {"diff_method": "spsa", "shots": 200},
                   "data": {"validation": 0.25}}
    full = train(tiny(tmp_path, "full", **changes), progress=False)
    assert full.finished and full.steps == (9 if "spsa" in variant else 12)

    # stopped by max_steps mid-epoch, then resumed
    cut = tiny(tmp_path, "cut", **changes)
    part = train(dataclasses.replace(cut, train=dataclasses.replace(cut.train, max_steps=6)), progress=False)
    assert not part.finished and part.steps == 6
    resumed = train(cut, resume=True, progress=False)
    assert resumed.finished and resumed.steps == full.steps
    assert records(tmp_path / "cut") == records(tmp_path / "full")  # bit-identical losses and accuracies

    # killed after step 7 (checkpoint at step 4): the records after the checkpoint are dropped and redone
    crash = tiny(tmp_path, "crash", **changes)

    def boom(rec):
        if rec["step"] == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(crash, progress=False, callback=boom)
    _, meta = read_safetensors(tmp_path / "crash" / "checkpoint.safetensors")
    assert json.loads(meta["state"])["step"] == 4
    train(crash, resume=True, progress=False)
    assert records(tmp_path / "crash") == records(tmp_path / "full")
    for a, b in zip(resumed.model.parameters(), full.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_resume_checks_the_checkpoint_and_the_config(tmp_path):
    cfg = tiny(tmp_path, "run")
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(cfg, resume=True, progress=False)
    train(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=2)), progress=False)
    changed = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, layers=3))
    with pytest.raises(CheckpointError, match=r"tiny\.toml: model\.layers: 3 differs from the checkpoint's 2"):
        train(changed, resume=True, progress=False)
    (tmp_path / "run" / "checkpoint.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        train(cfg, resume=True, progress=False)


# -- files -----------------------------------------------------------------------------------
def test_checkpoints_are_safetensors_and_load_without_pickle(tmp_path, monkeypatch):
    cfg = tiny(tmp_path, "run")
    res = train(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=6)), progress=False)
    out = res.output
    for name in ("checkpoint.safetensors", "model.safetensors", "best.safetensors"):
        raw = (out / name).read_bytes()
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])  # the safetensors layout: u64 length, JSON header, raw tensor bytes
        assert header["__metadata__"]["format"].startswith("qtandem.")
        assert b"\x80\x04" not in raw[:2] and not raw.startswith(b"PK")  # neither a pickle nor a torch zip
    tensors, meta = read_safetensors(out / "checkpoint.safetensors")
    assert {"rng.shuffle", "rng.torch", "data.perm"} <= set(tensors)
    assert any(k.startswith("optim.state.") for k in tensors) and any(k.startswith("model.") for k in tensors)
    assert json.loads(meta["state"])["step"] == 6 and json.loads(meta["config"])["data"]["name"] == "moons"

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(torch, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    resumed = train(cfg, resume=True, progress=False)
    model = load_model(out)
    x = load_dataset("moons", seed=3, n_samples=80).x_test
    with torch.no_grad():
        assert torch.equal(model(x), resumed.model(x))


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    import qtandem.io

    cfg = tiny(tmp_path, "run")
    real_fsync, writes = os.fsync, []

    def failing_fsync(fd):
        if len(writes) == 2:  # the second checkpoint (step 8) dies before its rename
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(qtandem.io.os, "fsync", failing_fsync)
    monkeypatch.setattr(tr, "_write_report", lambda *a, **k: None)
    real_write = tr.write_safetensors
    monkeypatch.setattr(tr, "write_safetensors", lambda p, *a: (writes.append(p.name), real_write(p, *a)))
    monkeypatch.setattr(tr, "_early_stopping", lambda *a, **k: None)  # no best.safetensors writes in between
    with pytest.raises(OSError, match="disk full"):
        train(cfg, progress=False)
    assert writes == ["checkpoint.safetensors", "checkpoint.safetensors"]
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "config.toml", "metrics.jsonl"]
    _, meta = read_safetensors(out / "checkpoint.safetensors")
    assert json.loads(meta["state"])["step"] == 4  # the previous checkpoint, intact


def test_outputs_report_and_curves(tmp_path):
    res = train(tiny(tmp_path, "run", data={"validation": 0.2}), progress=False)
    out = res.output
    for name in ("metrics.jsonl", "config.toml", "model.safetensors", "checkpoint.safetensors", "loss.png",
                 "accuracy.png", "report.html"):
        assert (out / name).is_file(), name
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    page = (out / "report.html").read_text()
    assert 'src="loss.png"' in page and 'src="accuracy.png"' in page and "test accuracy" in page
    assert "parameters (quantum)" in page
    recs = records(out)
    steps = [r for r in recs if r["kind"] == "step"]
    evals = [r for r in recs if r["kind"] == "eval"]
    assert [r["step"] for r in steps] == list(range(1, res.steps + 1))
    assert [r["epoch"] for r in evals] == [1, 2, 3]
    assert {"train_accuracy", "val_accuracy", "test_accuracy", "test_loss"} <= set(evals[-1])
    assert res.final["test_accuracy"] == evals[-1]["test_accuracy"] == res.test_accuracy
    res_cfg = load_config(out / "config.toml")  # the resolved configuration, ready to run again
    assert res_cfg.data.validation == 0.2 and res_cfg.output == str(out)


def test_early_stopping(tmp_path):
    cfg = tiny(tmp_path, "es", optim={"epochs": 30, "lr": 1e-6},
               train={"early_stopping_patience": 2, "min_delta": 0.01, "checkpoint_every": 0})
    res = train(cfg, progress=False)
    assert res.stopped_early and res.finished
    assert res.epochs == 3 and res.best_epoch == 1
    assert [r["epoch"] for r in records(res.output) if r["kind"] == "eval"] == [1, 2, 3]
    # more patience or no early stopping: runs on
    res = train(dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, epochs=4),
                                    train=dataclasses.replace(cfg.train, early_stopping_patience=0)), progress=False)
    assert not res.stopped_early and res.epochs == 4


@pytest.mark.parametrize(("model", "qubits"), [
    ('pre = "autoencoder"\nfeatures = 3\npretrain_epochs = 2\nhead = "mlp"\nhidden = [5]', 3),
    ('pre = "denoising_autoencoder"\nfeatures = 4\npretrain_epochs = 1\nencoder = "iqp"\nansatz = "ttn"', 4),
    ('pre = "pca"\nfeatures = 4\nencoder = "amplitude"\nansatz = "qcnn"\nlayers = 1', 2),
    ('pre = "none"\nencoder = "reupload"\nlayers = 2\ndiff_method = "adjoint"\ndtype = "float64"', 4),
    ('pre = "none"\nlayers = 1\ndiff_method = "parameter-shift"\nshots = 50\nentangle = false', 4),
])
def test_model_variants_build_and_train_a_step(model, qubits):
    cfg = parse_config(f"[data]\nname = \"iris\"\n[model]\n{model}")
    iris = load_dataset("iris")
    net = build_model(cfg, iris)
    assert net.quantum.n_qubits == qubits
    out = net(iris.x_train[:8])
    assert out.shape == (8, 3) and out.dtype == torch.float32
    torch.nn.functional.cross_entropy(out, iris.y_train[:8]).backward()
    assert net.quantum.weights.grad is not None and torch.isfinite(net.quantum.weights.grad).all()
