"""Data-parallel training (``qtandem.training.launch``): 2 gloo ranks vs 1 worker, same global batch.

Tolerances: the ranks' gradients are summed in float64 and rounded to float32, a single worker's come
from one float32 reduction over the batch, so they differ in the last bits. With SGD the weights stay
within 1e-6. Adam divides each gradient by its running RMS, so a parameter whose exact gradient is zero
(a rotation that commutes with the measurement, an attention key bias) moves by up to ``lr`` per step
on float noise, differently for each reduction order: for Adam the check is on the losses and on the
model's outputs, not on such parameters.
"""

from __future__ import annotations

import json

import pytest
import torch

from qtandem.errors import ConfigError
from qtandem.hybrid.train import parse_config, train
from qtandem.hybrid.train.data import load_data
from qtandem.training import DataParallel, launch

MOONS = """seed = 1
threads = 1
[data]
name = "moons"
n_samples = 120
validation = 0.2
[model]
pre = "none"
n_qubits = 2
layers = 2
encoder = "reupload"
[optim]
name = "{opt}"
lr = 0.05
batch_size = 25
epochs = 2
[train]
checkpoint_every = 0
"""


def _losses(out):
    return [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()
            if json.loads(line)["kind"] == "step"]


def test_shards_cover_the_batch_once():
    for n in (0, 1, 5, 17):
        for world in (1, 2, 3):
            parts = [DataParallel(r, world).shard(n) for r in range(world)]
            assert [i for p in parts for i in list(range(n))[p]] == list(range(n))
    with pytest.raises(ValueError):
        DataParallel(2, 2)


def test_two_workers_equal_one_sgd(tmp_path):
    cfg = parse_config(MOONS.format(opt="sgd"))
    one = launch(train, 1, cfg, output=tmp_path / "one", progress=False)
    two = launch(train, 2, cfg, output=tmp_path / "two", progress=False)
    a, b = one.model.state_dict(), two.model.state_dict()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6
    assert _losses(tmp_path / "one") == pytest.approx(_losses(tmp_path / "two"), abs=1e-6)
    assert len(_losses(tmp_path / "one")) == one.steps == two.steps == 6
    assert one.final["val_accuracy"] == two.final["val_accuracy"]
    assert one.final["test_accuracy"] == two.final["test_accuracy"]
    # only rank 0 wrote: the same files as a single-worker run
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())


@pytest.mark.slow
def test_two_workers_adam_outputs_and_resume(tmp_path):
    cfg = parse_config(MOONS.format(opt="adam"))
    one = launch(train, 1, cfg, output=tmp_path / "one", progress=False)
    two = launch(train, 2, cfg, output=tmp_path / "two", progress=False)
    assert _losses(tmp_path / "one") == pytest.approx(_losses(tmp_path / "two"), abs=1e-6)
    x = load_data(cfg).x_train
    with torch.no_grad():
        assert torch.allclose(one.model(x), two.model(x), atol=1e-5)
    # a paused 2-worker run resumed by 2 workers ends where the uninterrupted one did
    import dataclasses

    paused = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=3))
    launch(train, 2, paused, output=tmp_path / "r", progress=False)
    again = launch(train, 2, cfg, output=tmp_path / "r", progress=False, resume=True)
    a, b = two.model.state_dict(), again.model.state_dict()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) == 0.0
    assert _losses(tmp_path / "r") == _losses(tmp_path / "two")


@pytest.mark.slow
def test_qec_decoder_two_workers(tmp_path):
    from qtandem.qec.train import parse_config as parse_qec
    from qtandem.qec.train import train as train_qec

    cfg = parse_qec("threads = 1\n[data]\ndistance = 3\nval_shots = 200\n[model]\nhidden = 8\nheads = 2\n"
                    "readout = 8\n[optim]\nsteps = 6\nbatch_size = 101\nwarmup = 1\n[train]\nlog_every = 1\n")
    one = launch(train_qec, 1, cfg, output=tmp_path / "one", progress=False)
    two = launch(train_qec, 2, cfg, output=tmp_path / "two", progress=False)
    la = [r["loss"] for r in one.records if r["kind"] == "step"]
    lb = [r["loss"] for r in two.records if r["kind"] == "step"]
    assert la == pytest.approx(lb, abs=1e-6) and two.shots == one.shots == 606
    a, b = one.decoder.model.state_dict(), two.decoder.model.state_dict()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-3  # AdamW; see the module docstring
    assert [r for r in two.records if r["kind"] == "eval"][-1]["val_ler"] is not None


def test_sampling_models_refused():
    text = MOONS.format(opt="sgd").replace('encoder = "reupload"', 'encoder = "reupload"\nshots = 100\n'
                                           'diff_method = "parameter-shift"')
    with pytest.raises(ConfigError, match="data-parallel"):
        train(parse_config(text), output="/nonexistent/never", progress=False, dp=DataParallel(0, 2))
