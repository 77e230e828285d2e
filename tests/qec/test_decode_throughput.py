"""Issue 13 section 7: the shots/s `qec eval` reports is decode's own time, with sensible threads and batches."""

from __future__ import annotations

import time

import numpy as np
import pytest
import stim
import torch

from qtandem.errors import DecoderError
from qtandem.qec.decoder import Decoder
from qtandem.qec.evaluate import _decode_all
from qtandem.qec.neural import FrozenSyndromeNet, ModelSpec, NeuralDecoder


class SlowSetup(Decoder):
    """Set-up takes 0.3 s (like building a big matching graph); decoding is instant."""

    def __init__(self, dem):
        super().__init__(dem)
        self.ready = False

    def prepare(self):
        time.sleep(0.3)
        self.ready = True
        return self

    def _decode_soft(self, dets):
        assert self.ready, "evaluate must prepare() the decoder before decoding"
        return np.zeros((len(dets), self.num_observables))


def test_evaluation_times_decode_only_not_setup():
    dem = stim.DetectorErrorModel("error(0.1) D0 L0\nerror(0.1) D0 D1")
    dec = SlowSetup(dem)
    dets = np.zeros((1000, 2), dtype=bool)
    obs = np.zeros((1000, 1), dtype=bool)
    [(ler, seconds, _)] = _decode_all(["slow"], [dec], [(dets, obs)], {"slow": 1000}, False, None, "t", 1000)
    assert ler.shots == 1000 and seconds < 0.25


@pytest.fixture(scope="module")
def tiny():
    c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
                               after_clifford_depolarization=0.01)
    dec = NeuralDecoder.untrained(c, ModelSpec(hidden=8, heads=2, readout=8), seed=0)
    dets = c.compile_detector_sampler(seed=4).sample(3000)
    return c, dec, dets


def test_neural_results_do_not_depend_on_threads_or_batches(tiny):
    c, dec, dets = tiny
    ref = NeuralDecoder(c, dec.spec, dec.model.state_dict(), threads=1, batch_size=3000).logits(dets)
    for threads, batch in ((None, None), (0, 2048), (2, 128), (3, 1000), (1, 7)):
        other = NeuralDecoder(c, dec.spec, dec.model.state_dict(), threads=threads, batch_size=batch)
        assert np.allclose(other.logits(dets), ref, atol=1e-5), (threads, batch)


def test_torch_threads_restored_and_auto_settings(tiny):
    c, dec, dets = tiny
    before = torch.get_num_threads()
    auto = NeuralDecoder(c, dec.spec, dec.model.state_dict())
    assert auto.threads is None and auto.batch_size is None and 1 <= auto.workers <= 8
    auto.prepare().decode(dets)
    assert torch.get_num_threads() == before
    auto.threads = 4
    assert [auto.batch_for(n) for n in (100, 600, 1000, 10**6)] == [128, 150, 250, 256]
    with pytest.raises(DecoderError, match="batch_size"):
        NeuralDecoder(c, dec.spec, dec.model.state_dict(), batch_size=0)
    with pytest.raises(DecoderError, match="threads"):
        NeuralDecoder(c, dec.spec, dec.model.state_dict(), threads=-1)


def test_neural_matching_prepare_builds_one_matcher_set_per_worker():
    c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
                               after_clifford_depolarization=0.01)
    spec = ModelSpec(hidden=8, heads=2, readout=8, matching_features=2)
    dec = NeuralDecoder.untrained(c, spec, seed=0)
    dec.threads = 2
    dec.prepare()
    assert len(dec._caches) == 2 and all("plain" in cache for cache in dec._caches)
    dets = c.compile_detector_sampler(seed=1).sample(600)
    dec.decode(dets)
    assert len(dec._caches) == 2  # decoding re-used them, built nothing new


@pytest.mark.parametrize("spec", [ModelSpec(hidden=8, heads=2, readout=8),
                                  ModelSpec(hidden=12, layers=2, heads=3, mlp_ratio=3, readout=6, matching_features=2)])
def test_frozen_net_equals_the_training_forward(spec):
    """The inference form (folded LayerNorms, written-out attention) is the same function as SyndromeNet.forward."""
    from qtandem.qec.neural import matching_features

    c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=4,
                               after_clifford_depolarization=0.02)
    dec = NeuralDecoder.untrained(c, spec, seed=3)
    net = dec.model
    with torch.no_grad():  # random LayerNorm affine maps and biases, so the folding is exercised
        gen = torch.Generator().manual_seed(1)
        for name, prm in net.named_parameters():
            if "norm" in name or name.endswith("bias") or name == "skip":
                prm.copy_(torch.randn(prm.shape, generator=gen))
    dets = c.compile_detector_sampler(seed=5).sample(500)
    extra = torch.from_numpy(matching_features(c, dets)) if spec.matching_features else None
    x = torch.from_numpy(dets.astype(np.float32))
    with torch.inference_mode():
        ref = net(x, extra)
        got = FrozenSyndromeNet(net)(x, extra)
    assert got.shape == ref.shape == (500, 1)
    assert float((got - ref).abs().max()) < 1e-4 * max(1.0, float(ref.abs().max()))
    assert float(ref.std()) > 1e-3  # not a constant function


def test_decoder_uses_the_frozen_net_and_rebuilds_it_after_pickling(tiny):
    import pickle

    _, dec, dets = tiny
    with torch.inference_mode():
        ref = dec.model(torch.from_numpy(dets.astype(np.float32))).double().numpy()
    assert np.allclose(dec.logits(dets), ref, atol=1e-5)
    assert dec._frozen is not None
    back = pickle.loads(pickle.dumps(dec))
    assert back._frozen is None and np.allclose(back.logits(dets), ref, atol=1e-5)
