"""Neural decoder: interface (shapes, sinter, pickle), safetensors round trip, training config and exact resume."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import stim
import torch

from qtandem.errors import CheckpointError, ConfigError, DecoderError
from qtandem.qec.decoder import Decoder
from qtandem.qec.neural import ModelSpec, NeuralDecoder, StabilizerLayout, load_decoder, save_decoder
from qtandem.qec.train import parse_config, read_metrics, train

TINY = """
name = "tiny"
seed = 7
[data]
distance = 3
val_shots = 300
[model]
hidden = 8
heads = 2
readout = 8
[optim]
steps = 8
batch_size = 64
warmup = 2
[train]
checkpoint_every = 2
eval_every = 4
log_every = 1
"""


def _circuit(d: int = 3) -> stim.Circuit:
    return stim.Circuit.generated("surface_code:rotated_memory_z", distance=d, rounds=d,
                                  after_clifford_depolarization=0.005, before_round_data_depolarization=0.005,
                                  before_measure_flip_probability=0.005, after_reset_flip_probability=0.005)


@pytest.fixture(scope="module")
def dec() -> NeuralDecoder:
    return NeuralDecoder.untrained(_circuit(), ModelSpec(hidden=8, heads=2, readout=8), seed=1)


def test_layout_places_every_detector_once() -> None:
    lay = StabilizerLayout(_circuit(5))
    assert (lay.num_rounds, lay.num_stabilizers) == (6, 24)
    assert len(np.unique(lay.cell)) == 120 and int(lay.valid.sum()) == 120
    assert lay.valid[0].sum() == 12 and lay.valid[3].sum() == 24  # Z stabilizers only at the ends


def test_shapes_and_consistency(dec: NeuralDecoder) -> None:
    dets = _circuit().compile_detector_sampler(seed=2).sample(37)
    soft, hard = dec.decode_soft(dets), dec.decode(dets)
    assert soft.shape == hard.shape == (37, 1) and soft.dtype == np.float64 and hard.dtype == np.bool_
    assert ((soft > 0.5) == hard).all() and ((soft >= 0) & (soft <= 1)).all()
    assert dec.decode(dets[0]).shape == (1, 1)
    assert isinstance(dec, Decoder) and dec.circuit == _circuit()
    with pytest.raises(DecoderError, match=r"shape \(shots, 24\)"):
        dec.decode(np.zeros((2, 23), dtype=bool))


def test_batched_equals_single_batch(dec: NeuralDecoder) -> None:
    dets = _circuit().compile_detector_sampler(seed=3).sample(50)
    small = NeuralDecoder(dec.circuit, dec.spec, dec.model.state_dict(), batch_size=7)
    np.testing.assert_allclose(small.decode_soft(dets), dec.decode_soft(dets), rtol=1e-5, atol=1e-6)


def test_pickle_and_sinter(dec: NeuralDecoder) -> None:
    sinter = pytest.importorskip("sinter")
    back = pickle.loads(pickle.dumps(dec))
    dets = _circuit().compile_detector_sampler(seed=4).sample(20)
    np.testing.assert_array_equal(back.decode_soft(dets), dec.decode_soft(dets))
    stats = sinter.collect(num_workers=1, tasks=[sinter.Task(circuit=_circuit(), json_metadata={"d": 3})],
                           decoders=["neural"], custom_decoders={"neural": dec}, max_shots=200)
    assert stats[0].shots == 200 and 0 <= stats[0].errors <= 200


def test_wrong_dem_rejected(dec: NeuralDecoder) -> None:
    with pytest.raises(DecoderError, match="different detector error model"):
        dec.with_dem(_circuit(5).detector_error_model(decompose_errors=True))


def test_safetensors_round_trip_runs_no_code(dec: NeuralDecoder, tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    save_decoder(path, dec)
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    assert header["__metadata__"]["format"] == "qtandem.qec.neural/1"  # plain JSON + raw tensors, no pickle
    back = load_decoder(path)
    dets = _circuit().compile_detector_sampler(seed=5).sample(10)
    np.testing.assert_allclose(back.decode_soft(dets), dec.decode_soft(dets))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_decoder(bad)


@pytest.mark.parametrize(("text", "match"), [
    ("[optim]\nbatchsize = 4", r"optim.batchsize: unknown key \(did you mean 'batch_size'\?\)"),
    ("[model]\nbatch_size = 4", r"model.batch_size: unknown key \(it belongs in \[optim\]\)"),
    ("[optim]\nlr = -1", r"optim.lr: must be > 0.0"),
    ("[data]\nnoise = 'si100'", r"data.noise: must be one of .*did you mean 'si1000'"),
    ("[model]\nhidden = 10\nheads = 4", r"model.heads: must divide model.hidden"),
    ("[pretrain]\nsteps = 5\n[optim]\nsteps = 5", r"pretrain.steps: must be < optim.steps"),
    ("[data]\ndistance = 'three'", r"data.distance: expected an integer, got string 'three'"),
])
def test_bad_config_names_the_key(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(text, source="bad.toml")


def test_resume_is_exact(tmp_path) -> None:
    cfg = parse_config(TINY)
    full = train(cfg, output=tmp_path / "full", progress=False)
    part_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=3))
    part = train(part_cfg, output=tmp_path / "part", progress=False)
    assert part.step == 3 and not part.finished
    resumed = train(cfg, output=tmp_path / "part", progress=False, resume=True)
    assert resumed.finished and resumed.step == full.step == 8 and resumed.shots == full.shots == 512
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in read_metrics(tmp_path / "full/metrics.jsonl")]
    again = [{k: v for k, v in r.items() if k != "wall_s"} for r in read_metrics(tmp_path / "part/metrics.jsonl")]
    assert strip == again  # same loss curve and validation records
    a, b = full.decoder.model.state_dict(), resumed.decoder.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "full/curves.png").stat().st_size > 0
    info = load_decoder(tmp_path / "full/model.safetensors").info["training"]
    assert info["steps"] == 8 and info["shots"] == 512 and info["wall_s"] >= 0


def test_resume_rejects_changed_config(tmp_path) -> None:
    cfg = parse_config(TINY.replace("steps = 8", "steps = 2"))
    train(cfg, output=tmp_path, progress=False)
    changed = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, lr=0.1))
    with pytest.raises(CheckpointError, match=r"optim.lr"):
        train(changed, output=tmp_path, progress=False, resume=True)
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(cfg, output=tmp_path / "empty", progress=False, resume=True)


def test_two_stage_and_matching_features(tmp_path) -> None:
    text = TINY.replace("steps = 8", "steps = 4").replace("[optim]", "[pretrain]\nsteps = 2\nnoise = 'uniform'\n"
                                                          "p = 0.01\n[optim]")
    text = text.replace("[data]", "[data]\nnoise = 'si1000'")
    text = text.replace("readout = 8", "readout = 8\nmatching_features = 2")
    res = train(parse_config(text), output=tmp_path, progress=False)
    assert res.decoder.info["kind"] == "neural+matching" and res.decoder.info["training"]["pretrain_steps"] == 2
    assert res.decoder.circuit == parse_config(text).data.circuit()  # fine-tuned circuit (SI1000)
    dets = res.decoder.circuit.compile_detector_sampler(seed=1).sample(30)
    assert res.decoder.decode_soft(dets).shape == (30, 1)


def test_cli_train_pause_and_resume(tmp_path, capsys) -> None:
    from qtandem.cli.main import main

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.replace("steps = 8", "steps = 4"))
    for extra in (["--max-steps", "2"], ["--resume"]):
        with pytest.raises(SystemExit) as info:
            main(["qec", "train", str(cfg), "--output", str(tmp_path / "run"), "--no-progress", "--json", *extra])
        assert info.value.code in (0, None)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 4 and summary["finished"] and summary["shots"] == 256
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim]\nlr = 'a'\n")
    with pytest.raises(SystemExit) as info:
        main(["qec", "train", str(bad)])
    assert info.value.code == 2 and "optim.lr: expected a finite number" in capsys.readouterr().err


@pytest.mark.parametrize("mf", [0, 2])
def test_conformance(mf: int) -> None:
    conformance = pytest.importorskip("qtandem.qec.conformance")
    dec = NeuralDecoder.untrained(_circuit(), ModelSpec(hidden=8, heads=2, readout=8, matching_features=mf), seed=2)
    conformance.check_decoder(dec, shots=100)
    dec.threads, dec.batch_size = 2, 16  # threaded batches give the same answers
    conformance.check_decoder(dec, shots=100)
