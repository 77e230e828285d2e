"""The decoder interface, PyMatching (plain, correlated, complementary gap), BP-OSD and sinter."""

import functools
import pickle

import numpy as np
import pymatching
import pytest
import stim

from qtandem.errors import DecoderError
from qtandem.qec.codes import repetition_code, surface_code
from qtandem.qec.data import sample
from qtandem.qec.decoder import Decoder, SinterDecoder, pack_bits, unpack_bits
from qtandem.qec.matching import MatchingDecoder, forced_observable_dem
from qtandem.qec.registry import make_decoder


@pytest.fixture(scope="module")
def d3():
    c = surface_code(3, 3, p=0.01)
    dets, obs = sample(c, 3000, seed=11)
    return c, dets, obs


def test_matching_equals_raw_pymatching(d3):
    c, dets, _ = d3
    raw = pymatching.Matching.from_detector_error_model(c.detector_error_model(decompose_errors=True))
    assert np.array_equal(MatchingDecoder(c).decode(dets), raw.decode_batch(dets))
    packed = pack_bits(dets)
    assert np.array_equal(MatchingDecoder(c).decode_bit_packed(packed), pack_bits(raw.decode_batch(dets)))


def test_correlated_matching_equals_raw_and_runs(d3):
    c, dets, obs = d3
    dem = c.detector_error_model(decompose_errors=True)
    raw = pymatching.Matching.from_detector_error_model(dem, enable_correlations=True)
    pred = MatchingDecoder(c, correlated=True).decode(dets)
    assert np.array_equal(pred, raw.decode_batch(dets, enable_correlations=True))
    assert (pred != obs).mean() < 0.1


@pytest.mark.parametrize("correlated", [False, True])
def test_soft_output_in_range_and_consistent(d3, correlated):
    c, dets, obs = d3
    dec = MatchingDecoder(c, correlated=correlated)
    soft = dec.decode_soft(dets)
    hard = dec.decode(dets)
    assert soft.shape == hard.shape == obs.shape and soft.dtype == np.float64
    assert soft.min() >= 0 and soft.max() <= 1
    decided = np.abs(soft - 0.5) > 1e-9
    assert np.array_equal((soft > 0.5)[decided], hard[decided])
    assert decided.mean() > 0.95
    # confident shots are more often right than doubtful ones
    conf = np.abs(soft[:, 0] - 0.5)
    wrong = hard[:, 0] != obs[:, 0]
    assert wrong[conf > np.median(conf)].mean() < wrong[conf <= np.median(conf)].mean()


def test_complementary_gap_matches_explicit_forced_decodes(d3):
    c, dets, _ = d3
    dec = MatchingDecoder(c)
    llr = dec.log_likelihood_ratio(dets[:200])[:, 0]
    forced = pymatching.Matching.from_detector_error_model(forced_observable_dem(dec.dem, 0))
    w = []
    for b in (0, 1):
        ext = np.concatenate([dets[:200], np.full((200, 1), b, dtype=bool)], axis=1)
        pred, weight = forced.decode_batch(ext, return_weights=True)
        assert np.all(pred[:, 0] == b)  # the extra detector really forces the observable
        w.append(weight)
    assert np.allclose(llr, w[0] - w[1])
    # |gap| equals the weight difference between the best solution and the best one in the other class
    best = pymatching.Matching.from_detector_error_model(dec.dem).decode_batch(dets[:200], return_weights=True)[1]
    assert np.allclose(np.minimum(w[0], w[1]), best, atol=1e-6)


def test_forced_dem_rejects_bulk_observable_edges():
    with pytest.raises(DecoderError, match="boundary edges"):
        forced_observable_dem(stim.DetectorErrorModel("error(0.1) D0 D1 L0"), 0)


def test_bad_input_errors(d3):
    c, dets, _ = d3
    dec = MatchingDecoder(c)
    with pytest.raises(DecoderError, match=r"shape \(shots, 24\), got \(5, 23\)"):
        dec.decode(dets[:5, :23])
    with pytest.raises(DecoderError, match="0/1 or bool"):
        dec.decode(np.full((2, 24), 2))
    with pytest.raises(DecoderError, match="uint8 of shape"):
        dec.decode_bit_packed(np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(DecoderError, match="unknown decoder 'nope'"):
        make_decoder("nope", c)
    with pytest.raises(DecoderError, match="stim.DetectorErrorModel or stim.Circuit"):
        MatchingDecoder("not a dem")  # type: ignore[arg-type]
    assert dec.decode(dets[0].astype(int)).shape == (1, 1)  # one shot as a 1-D 0/1 array


def test_pack_roundtrip():
    rng = np.random.default_rng(0)
    bits = rng.random((7, 19)) < 0.5
    assert np.array_equal(unpack_bits(pack_bits(bits), 19), bits)
    # Stim's own bit-packed sampling uses the same layout
    c = repetition_code(5, 3, p=0.05)
    packed = c.compile_detector_sampler(seed=2).sample(10, bit_packed=True)
    plain = c.compile_detector_sampler(seed=2).sample(10)
    assert np.array_equal(unpack_bits(packed, c.num_detectors), plain)


def test_pickle_and_with_dem(d3):
    c, dets, _ = d3
    dec = MatchingDecoder(c, correlated=True)
    dec.decode(dets[:3])
    clone = pickle.loads(pickle.dumps(dec))
    assert np.array_equal(clone.decode(dets), dec.decode(dets))
    other = surface_code(3, 3, p=0.002).detector_error_model(decompose_errors=True)
    assert dec.with_dem(dec.dem) is dec
    assert dec.with_dem(other).dem == other


def test_base_decoder_refuses_another_dem():
    class Zero(Decoder):
        def _decode_soft(self, dets):
            return np.zeros((dets.shape[0], self.num_observables))

    z = Zero(stim.DetectorErrorModel("error(0.1) D0 L0"))
    assert z.decode(np.array([[1]])).tolist() == [[False]]
    with pytest.raises(DecoderError, match="different detector error model"):
        z.compile_decoder_for_dem(dem=stim.DetectorErrorModel("error(0.1) D0 D1 L0"))


def test_sinter_collect_with_custom_decoders():
    import sinter

    c = repetition_code(3, 3, p=0.03)
    task = sinter.Task(circuit=c, json_metadata={"d": 3})
    stats = sinter.collect(num_workers=1, tasks=[task], max_shots=2000, max_errors=10_000,
                           decoders=["qt-mwpm", "qt-corr", "pymatching"],
                           custom_decoders={"qt-mwpm": MatchingDecoder(c),
                                            "qt-corr": SinterDecoder(functools.partial(MatchingDecoder,
                                                                                       correlated=True))})
    by = {s.decoder: s for s in stats}
    assert set(by) == {"qt-mwpm", "qt-corr", "pymatching"}
    for s in stats:
        assert s.shots >= 2000 and 0 < s.errors < s.shots * 0.2
    # same decoder as sinter's built-in pymatching: rates agree within sampling noise
    a, b = by["qt-mwpm"], by["pymatching"]
    assert abs(a.errors / a.shots - b.errors / b.shots) < 0.03


def test_bposd_decoder():
    pytest.importorskip("ldpc")
    from qtandem.qec.bposd import BPOSDDecoder, dem_matrices

    c = surface_code(3, 3, p=0.005)
    dets, obs = sample(c, 400, seed=4)
    dec = BPOSDDecoder(c)
    pred = dec.decode(dets)
    assert (pred != obs).mean() < 0.06
    H, L, priors = dem_matrices(dec.dem)
    # each predicted error explains the syndrome: check on a few shots
    for shot in np.flatnonzero(dets.any(axis=1))[:5]:
        e = dec._decoder().decode(dets[shot].astype(np.uint8))
        assert np.array_equal((H @ e) % 2, dets[shot].astype(np.uint8))
    assert np.array_equal(dec.decode_soft(dets), pred.astype(float))
    assert H.shape[0] == c.num_detectors and L.shape[0] == 1 and np.all((priors > 0) & (priors < 0.5))
    assert pickle.loads(pickle.dumps(dec)).decode(dets[:50]).tolist() == pred[:50].tolist()


def test_matching_warns_on_non_graphlike_dem():
    with pytest.warns(UserWarning, match="1 error mechanism"):
        MatchingDecoder(stim.DetectorErrorModel("error(0.1) D0 D1 D2 L0\nerror(0.1) D0 D1 ^ D2 L0\nerror(0.1) D0"))


def test_conformance_suite_passes_for_baselines_and_catches_a_broken_decoder():
    from qtandem.qec.conformance import ConformanceError, check_decoder

    c = surface_code(3, 3, p=0.01)
    check_decoder(MatchingDecoder(c))
    check_decoder(MatchingDecoder(c, correlated=True))
    check_decoder(MatchingDecoder(c.detector_error_model(decompose_errors=True)))  # DEM only: samples the DEM
    import importlib.util

    if importlib.util.find_spec("ldpc") is not None:  # optional dependency
        from qtandem.qec.bposd import BPOSDDecoder

        check_decoder(BPOSDDecoder(c), shots=50)

    class Overconfident(Decoder):
        def _decode(self, dets):
            return np.zeros((dets.shape[0], self.num_observables), dtype=bool)

        def _decode_soft(self, dets):
            return np.ones((dets.shape[0], self.num_observables))  # says "flipped" but decides "not flipped"

    with pytest.raises(ConformanceError, match="must agree with decode"):
        check_decoder(Overconfident(c))
