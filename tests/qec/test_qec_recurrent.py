"""The recurrent decoder (qtandem.qec.recurrent): streaming equals batch, soft inputs, training and resume."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import stim
import torch

from qtandem.errors import CheckpointError, ConfigError, DecoderError
from qtandem.qec import SoftReadout, check_decoder, detector_soft, sample
from qtandem.qec.codes import surface_code
from qtandem.qec.recurrent import RecurrentDecoder, RecurrentSpec, load_recurrent, save_recurrent
from qtandem.qec.recurrent_train import load_recurrent_config, parse_recurrent_config, train_recurrent
from qtandem.qec.soft import with_readout_flips, without_measurement_flips

SMALL = {"hidden": 8, "heads": 2, "readout": 8}


@pytest.fixture(scope="module")
def d3() -> stim.Circuit:
    return surface_code(3, 3, p=0.005)


@pytest.mark.parametrize("mixer", ["attention", "conv", "none"])
@pytest.mark.parametrize("gated", [True, False])
def test_stream_equals_batch(d3: stim.Circuit, mixer: str, gated: bool) -> None:
    spec = RecurrentSpec(**SMALL, mixer=mixer, gated=gated, layers=2, unit_inputs=gated)
    dec = RecurrentDecoder.untrained(d3, spec, seed=1)
    dets, _ = sample(d3, 64, seed=5)
    soft = np.random.default_rng(0).uniform(0, 0.5, (64, d3.num_detectors, 2)).astype(np.float32)
    soft[..., 1] = soft[..., 1] > 0.45
    batch = dec.logits(dets, soft)
    s = dec.stream(shots=64)
    for idx in dec.round_detectors:
        s.push(dets[:, idx], soft[:, idx])
    pred, prob = s.finish()
    assert s.logits is not None
    np.testing.assert_allclose(s.logits, batch, atol=1e-6, rtol=0)
    assert (pred == (batch > 0)).all()
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-batch)), atol=1e-9)


def test_rounds_cover_every_detector_once(d3: stim.Circuit) -> None:
    dec = RecurrentDecoder.untrained(d3, RecurrentSpec(**SMALL))
    allidx = np.concatenate(dec.round_detectors)
    assert sorted(allidx.tolist()) == list(range(d3.num_detectors))
    coords = d3.get_detector_coordinates()
    for t, idx in enumerate(dec.round_detectors):   # one time coordinate per round, increasing
        assert len({coords[int(i)][2] for i in idx}) == 1
        if t:
            assert coords[int(idx[0])][2] > coords[int(dec.round_detectors[t - 1][0])][2]


def test_stream_errors(d3: stim.Circuit) -> None:
    dec = RecurrentDecoder.untrained(d3, RecurrentSpec(**SMALL))
    s = dec.stream(shots=2)
    with pytest.raises(DecoderError, match="push the remaining"):
        s.finish()
    with pytest.raises(DecoderError, match="expected events"):
        s.push(np.zeros((3, len(dec.round_detectors[0]))))
    for idx in dec.round_detectors:
        s.push(np.zeros((2, len(idx)), dtype=bool))
    with pytest.raises(DecoderError, match="already"):
        s.push(np.zeros((2, 4), dtype=bool))
    one = dec.stream()  # one shot, 1-D rounds
    for idx in dec.round_detectors:
        one.push(np.zeros(len(idx), dtype=bool))
    assert one.finish()[0].shape == (1, 1)


def test_soft_channels_are_used_only_by_soft_models(d3: stim.Circuit) -> None:
    dets, _ = sample(d3, 32, seed=2)
    soft = np.random.default_rng(1).uniform(0, 0.5, (32, d3.num_detectors, 2)).astype(np.float32)
    on = RecurrentDecoder.untrained(d3, RecurrentSpec(**SMALL, soft_inputs=True), seed=0)
    off = RecurrentDecoder.untrained(d3, RecurrentSpec(**SMALL, soft_inputs=False), seed=0)
    assert np.abs(on.logits(dets, soft) - on.logits(dets)).max() > 1e-4
    np.testing.assert_array_equal(off.logits(dets, soft), off.logits(dets))
    with pytest.raises(DecoderError, match="soft must have shape"):
        on.logits(dets, soft[:, :5])


def test_decode_shots_matches_detector_soft() -> None:
    ro = SoftReadout(separation=4.0, t1_decay=0.05, leakage=0.02)
    bare = without_measurement_flips(surface_code(3, 2, p=0.003))
    dec = RecurrentDecoder.untrained(with_readout_flips(bare, ro), RecurrentSpec(**SMALL), seed=3)
    shots = sample(bare, 40, seed=4, readout=ro)
    pred, prob = dec.decode_shots(shots)
    ref = dec.logits(shots.dets, detector_soft(dec.circuit, shots))
    np.testing.assert_array_equal(pred, ref > 0)
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-ref)), atol=1e-12)


def test_decoder_contract_and_threads(d3: stim.Circuit, tmp_path) -> None:
    dec = RecurrentDecoder.untrained(d3, RecurrentSpec(**SMALL), seed=0, batch_size=16, threads=2)
    check_decoder(dec, shots=100)
    dets, _ = sample(d3, 100, seed=9)
    one = RecurrentDecoder.untrained(d3, RecurrentSpec(**SMALL), seed=0, threads=1)
    np.testing.assert_allclose(dec.logits(dets), one.logits(dets), atol=1e-5)
    back = pickle.loads(pickle.dumps(dec))
    np.testing.assert_allclose(back.logits(dets), dec.logits(dets), atol=1e-6)
    save_recurrent(tmp_path / "r.safetensors", dec)
    loaded = load_recurrent(tmp_path / "r.safetensors")
    assert loaded.circuit == d3 and loaded.spec == dec.spec
    np.testing.assert_allclose(loaded.logits(dets), dec.logits(dets), atol=1e-6)
    (tmp_path / "x.safetensors").write_bytes((tmp_path / "r.safetensors").read_bytes())
    from qtandem.qec.neural import load_decoder

    with pytest.raises(CheckpointError):
        load_decoder(tmp_path / "x.safetensors")


def test_bad_spec() -> None:
    with pytest.raises(DecoderError, match="mixer"):
        RecurrentSpec(mixer="lstm")
    with pytest.raises(DecoderError, match="multiple of heads"):
        RecurrentSpec(hidden=10, heads=4)
    with pytest.raises(ConfigError, match="pretrain.steps"):
        parse_recurrent_config("[pretrain]\nsteps = 5\n[optim]\nsteps = 5")
    with pytest.raises(ConfigError, match="data.code"):
        parse_recurrent_config('[data]\ncode = "repetition"')


CFG = ('seed = 4\n[data]\ndistance = 3\nrounds = 2\nnoise = "si1000"\np = 0.004\nval_shots = 100\n'
       '[pretrain]\nsteps = 2\nnoise = "uniform"\np = 0.004\n'
       '[model]\nhidden = 8\nheads = 2\nreadout = 8\n'
       '[readout]\nsoft = true\nseparation = 4.0\nleakage = 0.01\n'
       '[optim]\nsteps = 6\nbatch_size = 16\nwarmup = 1\n[train]\ncheckpoint_every = 2\neval_every = 3')


def test_resume_is_exact(tmp_path) -> None:
    cfg = parse_recurrent_config(CFG)
    whole = train_recurrent(cfg, output=tmp_path / "a", progress=False)
    part = parse_recurrent_config(CFG + "\nmax_steps = 4")
    first = train_recurrent(part, output=tmp_path / "b", progress=False)
    assert (first.step, first.finished) == (4, False)
    rest = train_recurrent(cfg, output=tmp_path / "b", progress=False, resume=True)
    assert (rest.step, rest.shots, rest.finished) == (6, 6 * 16, True)
    for k, v in whole.decoder.model.state_dict().items():
        torch.testing.assert_close(rest.decoder.model.state_dict()[k], v, atol=0, rtol=0)
    def evals(records: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in records if r["kind"] == "eval"]

    assert evals(rest.records) == evals(whole.records)
    info = rest.decoder.info["training"]
    assert info["pretrain_steps"] == 2 and info["core_hours"] >= 0
    assert rest.decoder.circuit == with_readout_flips(cfg.sampling_circuit(), cfg.readout.model())
    changed = parse_recurrent_config(CFG.replace("hidden = 8", "hidden = 16"))
    with pytest.raises(CheckpointError, match="model.hidden"):
        train_recurrent(changed, output=tmp_path / "b", progress=False, resume=True)
    again = load_recurrent_config(tmp_path / "b" / "config.toml")
    assert dataclasses.replace(again, output="") == cfg


@pytest.mark.slow
def test_training_learns_surface_code(tmp_path) -> None:
    """A short run (800 steps, 205k shots, ~65 s on one core) gets within 1.5x of PyMatching on fresh shots."""
    from qtandem.qec.matching import MatchingDecoder

    cfg = parse_recurrent_config('seed = 2\n[data]\ndistance = 3\np = 0.008\nval_shots = 0\n'
                                 '[model]\nsoft_inputs = false\n'
                                 '[optim]\nsteps = 800\nbatch_size = 256\nlr = 0.003\nwarmup = 50')
    res = train_recurrent(cfg, output=tmp_path, progress=False)
    c = cfg.decoder_circuit()
    dets, obs = sample(c, 20000, seed=99)
    mine = int((res.decoder.decode(dets) != obs).sum())
    pm = int((MatchingDecoder(c).decode(dets) != obs).sum())
    assert mine < 1.5 * pm, (mine, pm)
