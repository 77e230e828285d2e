"""recurrent+matching (RecurrentSpec.matching_features = 2): features, matching-initialized start, streaming."""

from __future__ import annotations

import pickle
import tempfile

import numpy as np
import pytest

from qtandem.errors import CheckpointError, ConfigError, DecoderError
from qtandem.qec import SoftReadout, sample
from qtandem.qec.codes import surface_code
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.recurrent import RecurrentDecoder, RecurrentSpec, load_recurrent, recurrent_matching_features
from qtandem.qec.recurrent_train import parse_recurrent_config, train_recurrent
from qtandem.qec.soft import with_readout_flips, without_measurement_flips
from qtandem.qec.soft_matching import SoftMatchingDecoder

SPEC = {"hidden": 8, "heads": 2, "readout": 8, "matching_features": 2}
READOUT = SoftReadout(separation=4.0, t1_decay=0.02, leakage=0.005)


def test_features_are_the_matchers_outputs() -> None:
    """Column 0 is the complementary gap, column 1 the soft-matching (or correlated) decision, checked independently."""
    bare = without_measurement_flips(surface_code(3, 3, noise="si1000", p=0.003))
    circuit = with_readout_flips(bare, READOUT)
    shots = sample(bare, 3000, seed=7, readout=READOUT)
    f_soft = recurrent_matching_features(circuit, shots.dets, shots, READOUT)
    f_hard = recurrent_matching_features(circuit, shots.dets)
    plain = MatchingDecoder(circuit)
    np.testing.assert_allclose(f_soft[:, 0], np.clip(plain.log_likelihood_ratio(shots.dets)[:, 0], -30, 30), rtol=1e-6)
    soft_dec = SoftMatchingDecoder(bare, READOUT).decode_shots(shots)[:, 0]
    corr_dec = MatchingDecoder(circuit, correlated=True).decode(shots.dets)[:, 0]
    assert ((f_soft[:, 1] > 0) == soft_dec).all() and ((f_hard[:, 1] > 0) == corr_dec).all()
    assert (soft_dec != corr_dec).any()  # the two decisions do differ on some shots, so the check above can fail


def test_untrained_model_decides_as_its_reference_matcher() -> None:
    circuit = surface_code(3, 3, p=0.01)
    dec = RecurrentDecoder.untrained(circuit, RecurrentSpec(**SPEC, soft_inputs=False), seed=2)
    dets, _ = sample(circuit, 2000, seed=3)
    corr = MatchingDecoder(circuit, correlated=True).decode(dets)
    agree = float((dec.decode(dets) == corr).mean())
    assert agree > 0.99, agree


def test_stream_equals_batch_with_features_and_pickles() -> None:
    circuit = surface_code(3, 3, p=0.01)
    dec = RecurrentDecoder.untrained(circuit, RecurrentSpec(**SPEC, soft_inputs=False), seed=4)
    dets, _ = sample(circuit, 64, seed=5)
    feats = dec.matching_features(dets)
    s = dec.stream(shots=64)
    for idx in dec.round_detectors:
        s.push(dets[:, idx])
    with pytest.raises(DecoderError, match="features"):
        s.finish()
    s.finish(feats)
    np.testing.assert_allclose(s.logits, dec.logits(dets), atol=1e-6, rtol=0)
    back = pickle.loads(pickle.dumps(dec))
    np.testing.assert_allclose(back.logits(dets), dec.logits(dets), atol=1e-6)
    with pytest.raises(DecoderError, match="extra must have shape"):
        dec.logits(dets, extra=feats[:, :1])
    with pytest.raises(DecoderError, match="matching_features must be 0 or 2"):
        RecurrentSpec(matching_features=1)


def test_soft_model_trains_and_decodes_soft_shots() -> None:
    cfg = parse_recurrent_config('seed = 1\n[data]\ndistance = 3\nrounds = 2\nnoise = "si1000"\np = 0.003\n'
                                 'val_shots = 500\n[model]\nhidden = 8\nheads = 2\nreadout = 8\nmatching_features = 2\n'
                                 '[readout]\nsoft = true\nseparation = 4.0\nt1_decay = 0.02\nleakage = 0.005\n'
                                 '[optim]\nsteps = 3\nbatch_size = 64\nwarmup = 1\n[train]\neval_every = 3')
    out = tempfile.mkdtemp()
    res = train_recurrent(cfg, output=out, progress=False)
    assert res.decoder.info["kind"] == "recurrent+matching"
    dec = load_recurrent(f"{out}/model.safetensors")
    bare = cfg.sampling_circuit()
    shots = sample(bare, 400, seed=8, readout=cfg.readout.model())
    pred, prob = dec.decode_shots(shots)
    assert pred.shape == (400, 1) and ((prob > 0.5) == pred).all()
    with pytest.raises(ConfigError, match="matching_features"):
        parse_recurrent_config("[model]\nmatching_features = 1")


def test_checkpoint_from_before_a_model_field_resumes() -> None:
    """A checkpoint whose saved [model] lacks a field added later (here matching_features) resumes with its default."""
    import json

    from safetensors.torch import save

    from qtandem.io import atomic_write_bytes, read_safetensors

    text = '[data]\nval_shots = 0\n[model]\nhidden = 8\nheads = 2\nreadout = 8\n[optim]\nbatch_size = 16\nwarmup = 0\n'
    out = tempfile.mkdtemp()
    train_recurrent(parse_recurrent_config(text + "steps = 2\n[train]\nmax_steps = 1"), output=out, progress=False)
    tensors, meta = read_safetensors(f"{out}/checkpoint.safetensors")
    cfg = json.loads(meta["config"])
    del cfg["model"]["matching_features"]
    meta["config"] = json.dumps(cfg)
    atomic_write_bytes(f"{out}/checkpoint.safetensors", save(tensors, metadata=meta))
    res = train_recurrent(parse_recurrent_config(text + "steps = 2"), output=out, progress=False, resume=True)
    assert res.step == 2 and res.finished
    cfg["model"]["hidden"] = 16  # a real change is still refused
    meta["config"] = json.dumps(cfg)
    atomic_write_bytes(f"{out}/checkpoint.safetensors", save(tensors, metadata=meta))
    with pytest.raises(CheckpointError, match="hidden"):
        train_recurrent(parse_recurrent_config(text + "steps = 3"), output=out, progress=False, resume=True)
