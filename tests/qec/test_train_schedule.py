"""QEC training schedule: phases, --resume refusing a changed schedule unless it is a new phase, and shipped
configurations that reproduce the schedule their models were trained with."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from qtandem.errors import CheckpointError, ConfigError
from qtandem.io import read_safetensors
from qtandem.qec.train import RESUMABLE, _lr, load_config, parse_config, read_metrics, train
from qtandem.qec.zoo import MODELS_DIR

ROOT = Path(__file__).resolve().parents[2]

TINY = """
name = "tiny"
seed = 7
[data]
distance = 3
val_shots = 200
[model]
hidden = 8
heads = 2
readout = 8
[optim]
steps = 8
batch_size = 64
warmup = 2
[train]
checkpoint_every = 3
eval_every = 4
log_every = 1
"""

# TINY, resumed at step 3 with a longer schedule and larger batches, written down as two phases
PHASED = TINY.replace("steps = 8\nbatch_size = 64", "steps = 10\nbatch_size = 96") + """
[[optim.phases]]
until = 3
steps = 8
batch_size = 64
"""


def strip(path: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_metrics(path / "metrics.jsonl")]


def test_phases_set_the_schedule_of_each_step():
    cfg = parse_config(PHASED)
    assert [cfg.optim.at(s).batch_size for s in (0, 2, 3, 9)] == [64, 64, 96, 96]
    assert _lr(cfg, 2) == _lr(parse_config(TINY), 2) and _lr(cfg, 3) != _lr(parse_config(TINY), 3)
    assert parse_config(PHASED.replace("until = 3", "until = 3\nlr = 0.01")).optim.at(0).lr == 0.01
    from qtandem.qec.train_config import config_to_toml

    assert parse_config(config_to_toml(cfg)) == cfg


@pytest.mark.parametrize(("extra", "match"), [
    ("[[optim.phases]]\nuntil = 3\n[[optim.phases]]\nuntil = 2\n", r"optim\.phases\[1\]\.until: .*increasing"),
    ("[[optim.phases]]\nuntil = 8\n", r"optim\.phases\[0\]\.until: an earlier phase must end before optim\.steps"),
    ("[[optim.phases]]\nsteps = 4\n", r"optim\.phases\[0\]\.until: .*given"),
    ("[[optim.phases]]\nuntil = 3\nbatchsize = 4\n", r"optim\.phases\[0\]\.batchsize: unknown key"),
    ("[optim]\nphases = 3\n", r"optim\.phases: expected an array of tables"),
])
def test_bad_phases_name_the_key(extra, match):
    text = TINY + extra if "[optim]" not in extra else TINY.replace("[optim]\n", "[optim]\nphases = 3\n")
    with pytest.raises(ConfigError, match=match):
        parse_config(text, source="p.toml")


def test_resume_refuses_a_changed_schedule_unless_it_is_a_new_phase(tmp_path):
    base = parse_config(TINY, source="tiny.toml")
    part = train(dataclasses.replace(base, train=dataclasses.replace(base.train, max_steps=3)),
                 output=tmp_path / "run", progress=False)
    assert part.step == 3 and not part.finished
    assert not any(k.startswith("optim") for k in RESUMABLE)
    # the schedule changed in place: refused, naming the key and the phase to declare
    for text, key in ((TINY.replace("steps = 8", "steps = 10"), "steps"),
                      (TINY.replace("batch_size = 64", "batch_size = 96"), "batch_size"),
                      (TINY.replace("warmup = 2", "warmup = 2\nlr = 0.01"), "lr")):
        with pytest.raises(CheckpointError, match=rf"tiny\.toml: optim\.{key}: .* differs from the checkpoint's .*"
                                                  r"new phase: add \[\[optim\.phases\]\] with until = 3"):
            train(parse_config(text, source="tiny.toml"), output=tmp_path / "run", progress=False, resume=True)
    # a phase that rewrites steps already run: refused
    rewrites = PHASED.replace("until = 3\nsteps = 8", "until = 3\nsteps = 9")
    with pytest.raises(CheckpointError, match=r"optim\.steps: 9 from step 0 differs from the 8 that the "
                                              r"checkpoint's run followed"):
        train(parse_config(rewrites, source="tiny.toml"), output=tmp_path / "run", progress=False, resume=True)
    # a new phase from the checkpoint's step: accepted
    resumed = train(parse_config(PHASED, source="tiny.toml"), output=tmp_path / "run", progress=False, resume=True)
    assert resumed.finished and resumed.step == 10 and resumed.shots == 3 * 64 + 7 * 96
    # the phased config, trained afresh, is the same run: same shots, losses, validation, weights
    fresh = train(parse_config(PHASED), output=tmp_path / "fresh", progress=False)
    assert strip(tmp_path / "fresh") == strip(tmp_path / "run")
    a, b = fresh.decoder.model.state_dict(), resumed.decoder.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def _shipped() -> list[str]:
    return sorted(p.stem for p in MODELS_DIR.glob("*.toml") if (ROOT / "training/qec" / p.stem).is_dir())


@pytest.mark.parametrize("name", _shipped())
def test_shipped_config_reproduces_the_recorded_schedule(name):
    """Every learning rate and shot count that the recorded run logged follows from the shipped config."""
    cfg = load_config(MODELS_DIR / f"{name}.toml")
    folder = ROOT / "training/qec" / name
    steps = [r for r in read_metrics(folder / "metrics.jsonl") if r["kind"] == "step"]
    assert len(steps) > 10
    shots, done = 0, 0
    for r in steps:
        shots += sum(cfg.optim.at(s).batch_size for s in range(done, r["step"]))
        done = r["step"]
        assert r["lr"] == pytest.approx(_lr(cfg, r["step"] - 1), rel=1e-12, abs=0), r
        assert r["shots"] == shots, r
    # the checkpoint (and the resolved config.toml) record the same configuration
    _, meta = read_safetensors(folder / "checkpoint.safetensors")
    assert json.loads(meta["config"]) == cfg.to_dict()
    assert load_config(folder / "config.toml") == cfg
    model = MODELS_DIR / f"{name}.safetensors"
    if model.exists():
        _, meta = read_safetensors(model)
        info = json.loads(meta["info"])
        assert info["config"] == cfg.to_dict()
        assert info["training"]["steps"] == cfg.optim.steps and info["training"]["shots"] == steps[-1]["shots"]


def test_shipped_checkpoint_resumes_with_its_config_only(tmp_path):
    import shutil

    name = "surface-d3-p0.005"
    for f in ("checkpoint.safetensors", "metrics.jsonl"):
        shutil.copy(ROOT / "training/qec" / name / f, tmp_path / f)
    cfg = load_config(MODELS_DIR / f"{name}.toml")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, val_shots=50))  # may change on resume
    # the config as it stood before the phases were written down (one 13000-step schedule): refused
    flat = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, phases=[]))
    with pytest.raises(CheckpointError, match=r"optim\.steps: 13000 differs from the checkpoint's 16000"):
        train(flat, output=tmp_path, progress=False, resume=True)
    res = train(cfg, output=tmp_path, progress=False, resume=True)
    assert res.finished and res.step == 13000 and res.shots == 16_384_000
