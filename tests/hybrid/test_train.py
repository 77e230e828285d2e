"""Training pipeline: config errors name the key, checkpoints are safetensors without pickle, resume is exact,
the test split is read once, after training, and never selected on."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from pathlib import Path
from typing import ClassVar

import pytest
import torch

import qtandem.hybrid.train as tr
import qtandem.hybrid.train.loop as loop
from qtandem import training as core
from qtandem.errors import CheckpointError, ConfigError, QtandemError
from qtandem.hybrid.datasets import load_dataset
from qtandem.hybrid.train import (
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
    """TINY with ``sections`` changed, parsed again (so ``data.validation`` gets its default unless given)."""
    cfg = parse_config(TINY, source="tiny.toml")
    sections.setdefault("data", {}).setdefault("validation", None)
    for sec, changes in sections.items():
        cfg = dataclasses.replace(cfg, **{sec: dataclasses.replace(getattr(cfg, sec), **changes)})
    cfg = parse_config(config_to_toml(cfg), source="tiny.toml")
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
    cfg = load_config(EXAMPLES / "digits.toml")
    assert cfg.model.features == 8 and cfg.train.early_stopping_patience == 5
    assert parse_config(config_to_toml(cfg)) == cfg
    assert parse_config("") == dataclasses.replace(TrainConfig(), data=dataclasses.replace(TrainConfig().data,
                                                                                           validation=0.0))
    files = sorted(EXAMPLES.glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        ex = load_config(f)
        # an example that stops early or selects the best epoch watches a validation split, never the test split
        assert not ex.monitors_validation() or ex.data.validation > 0, f


# -- evaluation hygiene: the test split is read once, at the end, and never selected on -----------
@pytest.mark.parametrize("monitor", ["test_loss", "test_accuracy"])
def test_monitoring_the_test_split_is_refused(monitor):
    with pytest.raises(ConfigError) as info:
        parse_config(f'[train]\nearly_stopping_patience = 3\nmonitor = "{monitor}"', source="run.toml")
    assert str(info.value).startswith(f"run.toml: train.monitor: '{monitor}' is refused: would select on the test")


@pytest.mark.parametrize(("text", "validation"), [
    ("", 0.0),                                                    # nothing monitored: all training data trains
    ("[train]\nearly_stopping_patience = 4", tr.DEFAULT_VALIDATION),
    ('[train]\nselect = "best"', tr.DEFAULT_VALIDATION),
    ("[data]\nvalidation = 0.3\n[train]\nearly_stopping_patience = 4", 0.3),
    ("[data]\nvalidation = 0.1", 0.1),
])
def test_validation_is_carved_out_by_default_when_selecting(text, validation):
    cfg = parse_config('seed = 2\n[data]\nname = "iris"\n' + text.replace("[data]\n", ""))
    assert cfg.data.validation == validation
    data = tr.load_data(cfg)
    full = load_dataset("iris", seed=2)
    assert torch.equal(data.x_test, full.x_test)  # the test split is the dataset's own, untouched
    n_val = 0 if data.y_val is None else len(data.y_val)
    assert len(data.y_train) + n_val == len(full.y_train)
    assert (n_val > 0) == (validation > 0)


@pytest.mark.parametrize("text", ["[data]\nvalidation = 0.0\n[train]\nearly_stopping_patience = 2",
                                  '[data]\nvalidation = 0\n[train]\nselect = "best"'])
def test_selection_without_a_validation_split_is_refused(text, tmp_path):
    with pytest.raises(ConfigError, match=r"^run\.toml: data\.validation: .* monitors a validation split"):
        parse_config(text, source="run.toml")
    # a configuration built in code is checked too (train never falls back to the test split)
    cfg = parse_config("", source="run.toml")
    cfg = dataclasses.replace(cfg, output=str(tmp_path), train=dataclasses.replace(cfg.train, select="best"))
    with pytest.raises(ConfigError, match=r"data\.validation"):
        train(cfg, progress=False)


class _Spy(torch.Tensor):
    """A tensor that counts every torch operation that reads its values (indexing, matmul, comparisons...);
    its size (``len``, ``shape``), which the report states, is not counted."""

    reads = 0
    _SIZE: ClassVar = {torch.Tensor.__len__, torch.Tensor.size, torch.Tensor.dim, torch.Tensor.shape.__get__}

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func not in _Spy._SIZE:
            _Spy.reads += 1
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("select", ["last", "best"])
def test_test_split_is_read_only_by_the_final_evaluation(tmp_path, monkeypatch, select):
    real = tr.load_data

    def spied(cfg):
        d = real(cfg)
        return dataclasses.replace(d, x_test=d.x_test.as_subclass(_Spy), y_test=d.y_test.as_subclass(_Spy))

    monkeypatch.setattr(loop, "load_data", spied)
    _Spy.reads = 0
    seen: list[tuple[str, int]] = []
    cfg = tiny(tmp_path, "run", optim={"epochs": 4}, train={"early_stopping_patience": 3, "select": select})
    part = train(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=5)), progress=False,
                 callback=lambda r: seen.append((r["kind"], _Spy.reads)))
    assert _Spy.reads == 0 and not part.finished and "test_accuracy" not in part.final  # paused: test unread
    res = train(cfg, resume=True, progress=False, callback=lambda r: seen.append((r["kind"], _Spy.reads)))
    assert [k for k, _ in seen].count("eval") == 4 and seen[-1][0] == "final"
    assert all(n == 0 for k, n in seen if k != "final")  # every step and eval record: test split never touched
    assert _Spy.reads > 0
    recs = records(res.output)
    assert [r["kind"] for r in recs].count("final") == 1 and recs[-1]["kind"] == "final"
    assert not any(k.startswith("test_") for r in recs[:-1] for k in r)
    final = recs[-1]
    assert final["test_accuracy"] == res.test_accuracy and final["weights"] == select
    if select == "best":  # the best epoch by validation loss is what is tested and shipped
        assert final["weights_epoch"] == res.best_epoch
        best = load_model(res.output / "best.safetensors")
        for a, b in zip(best.parameters(), res.model.parameters(), strict=True):
            assert torch.equal(a, b)
        evals = [r for r in recs if r["kind"] == "eval"]
        assert final["val_loss"] == pytest.approx(min(r["val_loss"] for r in evals))
    # resuming a finished run evaluates once more and replaces the final record, not adds one
    again = train(cfg, resume=True, progress=False)
    assert [r["kind"] for r in records(again.output)].count("final") == 1
    assert again.test_accuracy == res.test_accuracy


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
    cfg = tiny(tmp_path, "run", data={"validation": 0.2})  # a validation split: best.safetensors is written
    res = train(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=5)),  # mid-epoch
                progress=False)
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
    assert json.loads(meta["state"])["step"] == 5 and json.loads(meta["config"])["data"]["name"] == "moons"

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
    monkeypatch.setattr(loop, "write_report", lambda *a, **k: None)
    real_write = core.write_safetensors
    monkeypatch.setattr(core, "write_safetensors",
                        lambda p, *a: (writes.append(Path(p).name), real_write(p, *a)))
    monkeypatch.setattr(loop, "_early_stopping", lambda *a, **k: None)  # no best.safetensors writes in between
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
    assert {"train_accuracy", "val_accuracy"} <= set(evals[-1]) and "test_accuracy" not in evals[-1]
    final = recs[-1]
    assert final["kind"] == "final" and final["weights"] == "last" and final["val_loss"] == evals[-1]["val_loss"]
    assert res.final["test_accuracy"] == final["test_accuracy"] == res.test_accuracy
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
