"""Training the rewrite policy (qtandem.compile.train_policy, `qtandem compile train`)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from qtandem.cli.main import main
from qtandem.compile.policy import FEATURES, RewritePolicy, pretrained_policy
from qtandem.compile.train_policy import (
    _hit_rates,
    _pack,
    _unpack,
    generate_circuits,
    label_windows,
    parse_config,
    train,
    training_windows,
)
from qtandem.errors import CheckpointError, ConfigError

TINY = """name = "tiny"
seed = 2
[data]
circuits = 3
expansions = 4
chunk = 2
[model]
hidden = 8
layers = 1
[optim]
epochs = 3
batch_size = 8
"""


def test_generated_circuits_are_seeded_and_in_the_nam_gate_set():
    a = generate_circuits(4, seed=9)
    b = generate_circuits(4, seed=9)
    assert a == b
    assert all(set(c.count_ops()) <= {"h", "x", "cx", "rz"} for c in a)
    assert generate_circuits(4, seed=10) != a


def test_labels_mark_rewrites_that_lead_to_a_cheaper_window():
    window = [("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None)]
    records = label_windows([(window, 3)], expansions=3)
    state, acts, labels = records[0]
    assert state == window
    good = {a for a, lab in zip(acts, labels) if lab}
    assert (3, 0) in good  # cx_triangle at the first cx: 3 CX -> 2 at once
    assert len(labels) == len(acts)


def test_pack_unpack_keeps_every_state_with_actions():
    items = training_windows(generate_circuits(2, seed=1), 12)
    records = label_windows(items, expansions=2)
    states = _unpack(_pack(records))
    assert len(states) == sum(1 for r in records if r[1])
    graph, rule, anchor, label = states[0]
    assert graph[0].shape[1] == FEATURES and len(rule) == len(anchor) == len(label)


def test_train_writes_model_report_and_resumes_exactly(tmp_path):
    cfg = parse_config(TINY, source="tiny.toml")
    full = train(cfg, output=tmp_path / "full", progress=False)
    assert full.finished and full.epoch == 3
    for name in ("model.safetensors", "checkpoint.safetensors", "metrics.jsonl", "curves.png", "report.html",
                 "config.toml"):
        assert (tmp_path / "full" / name).exists(), name
    assert "curves.png" in (tmp_path / "full" / "report.html").read_text()
    net = RewritePolicy.load(tmp_path / "full" / "model.safetensors")
    assert json.loads(net.info["training"])["epochs"] == 3

    part = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_epochs=1))
    first = train(part, output=tmp_path / "split", progress=False)
    assert not first.finished and first.epoch == 1
    rest = train(cfg, output=tmp_path / "split", resume=True, progress=False)
    assert rest.finished
    assert [r["loss"] for r in rest.records] == [r["loss"] for r in full.records]
    again = RewritePolicy.load(tmp_path / "split" / "model.safetensors")
    for k, v in net.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k


def test_resume_errors(tmp_path):
    cfg = parse_config(TINY, source="tiny.toml")
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(cfg, output=tmp_path / "none", resume=True, progress=False)
    part = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_epochs=1))
    train(part, output=tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match="pass --resume"):
        train(cfg, output=tmp_path / "run", progress=False)
    changed = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, lr=0.1))
    with pytest.raises(CheckpointError, match=r"optim\.lr"):
        train(changed, output=tmp_path / "run", resume=True, progress=False)


def test_bad_configs_name_the_key():
    with pytest.raises(ConfigError, match=r"p\.toml: data\.circuit: unknown key \(did you mean 'circuits'\?\)"):
        parse_config("[data]\ncircuit = 3", source="p.toml")
    with pytest.raises(ConfigError, match="min_qubits"):
        parse_config("[data]\nmin_qubits = 6\nmax_qubits = 4", source="p.toml")
    with pytest.raises(ConfigError, match=r"optim\.lr: must be > 0"):
        parse_config("[optim]\nlr = -1.0", source="p.toml")


def test_cli_compile_train(tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    with pytest.raises(SystemExit) as exc:
        main(["compile", "train", str(cfg), "--output", str(tmp_path / "out"), "--no-progress", "--json",
              "--max-epochs", "1"])
    assert exc.value.code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epoch"] == 1 and not summary["finished"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nhiden = 3\n")
    with pytest.raises(SystemExit) as exc:
        main(["compile", "train", str(bad)])
    assert exc.value.code == 2
    assert "model.hiden: unknown key (did you mean 'hidden'?)" in capsys.readouterr().err


def test_shipped_policy_ranks_good_rewrites_above_random_on_fresh_circuits():
    """Fresh circuits (a seed the training never used), labelled by the exhaustive search."""
    items = training_windows(generate_circuits(16, seed=424242), 24)
    states = _unpack(_pack(label_windows(items, expansions=10)))
    rates = _hit_rates(pretrained_policy(), states, 6)
    assert rates["states_with_good_rewrite"] >= 10
    assert rates["top6_hit"] > rates["random_top6_hit"], rates


def test_labelled_windows_of_other_settings_are_not_reused(tmp_path):
    cfg = parse_config(TINY, source="tiny.toml")
    train(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_epochs=1)), output=tmp_path,
          progress=False)
    (tmp_path / "checkpoint.safetensors").unlink()
    other = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, expansions=5))
    with pytest.raises(CheckpointError, match="made for other settings"):
        train(other, output=tmp_path, progress=False)


def test_validation_is_split_by_circuit(tmp_path):
    """No circuit has search states on both sides; the split and the rule prior are written down."""
    from qtandem.compile.train_policy import _dataset, _split, split_circuits, window_circuits

    cfg = parse_config(TINY.replace("circuits = 3", "circuits = 5"), source="tiny.toml")
    states, _ = _dataset(cfg, tmp_path, False)
    train_c, val_c = split_circuits(5, cfg.data.val_fraction, cfg.seed)
    assert sorted(train_c + val_c) == list(range(5)) and len(val_c) == 1
    train_set, val_set = _split(states, cfg)
    held = {c for c, _ in states if c in val_c}
    assert held == set(val_c) and len(val_set) == sum(c in held for c, _ in states)
    assert len(train_set) + len(val_set) == len(states)
    owners = window_circuits(generate_circuits(5, seed=cfg.seed, max_qubits=6), cfg.data.window)
    assert sorted(set(owners)) == list(range(5))
    result = train(cfg, output=tmp_path / "run", progress=False)
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert split["val_circuits"] == val_c and split["train_circuits"] == train_c
    net = RewritePolicy.load(tmp_path / "run" / "model.safetensors")
    assert len(json.loads(net.info["rule_prior"])) == len(net.info["rules"].split(","))
    assert "prior_top6_hit" in result.records[-1]


def test_split_circuits_edge_cases():
    from qtandem.compile.train_policy import split_circuits

    assert split_circuits(1, 0.2, seed=0) == ([0], [])
    assert split_circuits(2, 0.9, seed=0)[1] != [] and len(split_circuits(2, 0.9, seed=0)[0]) == 1
    assert split_circuits(240, 0.2, seed=0) == split_circuits(240, 0.2, seed=0)
    assert len(split_circuits(240, 0.2, seed=0)[1]) == 48
