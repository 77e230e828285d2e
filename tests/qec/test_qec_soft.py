"""Soft readout sampling (qtandem.qec.soft) against its analytic model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import stim
from scipy import stats
from scipy.integrate import quad

from qtandem.errors import ArgumentTypeError, DatasetError
from qtandem.qec import SoftReadout, SoftShots, detector_soft, sample, surface_code
from qtandem.qec.soft import (
    analog_cdf,
    measurement_map,
    readout_error_rates,
    readout_llr,
    with_readout_flips,
    without_measurement_flips,
)

# a noiseless circuit with known outcomes: qubits 0, 2 read 1, qubits 1, 3 read 0
KNOWN = stim.Circuit("X 0 2\nM 0 1 2 3\nDETECTOR rec[-4]\nDETECTOR rec[-3] rec[-4]\nOBSERVABLE_INCLUDE(0) rec[-2]")


def _f0(v: float, sep: float) -> float:
    return float(stats.norm.pdf(v, 0.0, 1.0 / sep))


def _f1(v: float, sep: float, t: float) -> float:
    direct = quad(lambda tau: stats.norm.pdf(v, tau, 1.0 / sep), 0.0, 1.0)[0]  # numerical, not the closed form
    return (1 - t) * float(stats.norm.pdf(v, 1.0, 1.0 / sep)) + t * direct


@pytest.mark.parametrize(("sep", "t"), [(4.0, 0.0), (6.0, 0.15), (2.5, 0.4)])
def test_llr_matches_direct_density_ratio(sep: float, t: float) -> None:
    for v in (-0.4, 0.0, 0.2, 0.5, 0.8, 1.0, 1.3):
        want = np.log(_f1(v, sep, t) / _f0(v, sep))
        assert float(readout_llr(v, sep, t)) == pytest.approx(want, rel=1e-7, abs=1e-7)


def test_llr_stable_in_the_tails() -> None:
    v = np.array([-3.0, 4.0])
    llr = readout_llr(v, 10.0, 0.2)
    # below 0 the decay tail falls like f0 (both Gaussian in v / sigma): a finite, moderate ratio
    assert np.isfinite(llr).all() and llr[0] < -5 and llr[1] > 100


@pytest.mark.parametrize(("sep", "t"), [(5.0, 0.0), (4.0, 0.3)])
def test_analog_values_follow_the_two_gaussian_decay_model(sep: float, t: float) -> None:
    """KS test of sampled analog values against the analytic CDF (fixed seed, alpha 0.001)."""
    readout = SoftReadout(separation=sep, t1_decay=t)
    shots = sample(KNOWN, 20_000, seed=11, readout=readout)
    assert shots.analog is not None
    for col, bit in ((0, 1), (1, 0), (2, 1), (3, 0)):
        res = stats.kstest(shots.analog[:, col].astype(np.float64), lambda v, b=bit: analog_cdf(v, b, sep, t))
        assert res.pvalue > 1e-3, (col, res)
    # a wrong decay rate is detected by the same test (the test can fail)
    res = stats.kstest(shots.analog[:, 0].astype(np.float64), lambda v: analog_cdf(v, 1, sep, t + 0.1))
    assert res.pvalue < 1e-6


def test_cdf_closed_form_matches_quadrature() -> None:
    for v in (0.3, 1.2):
        num = quad(lambda x: _f1(x, 4.0, 0.3), -np.inf, v)[0]
        assert float(analog_cdf(v, 1, 4.0, 0.3)) == pytest.approx(num, abs=1e-7)


def test_hard_bits_are_llr_thresholds_and_error_rates_match() -> None:
    readout = SoftReadout(separation=3.0, t1_decay=0.2)
    shots = sample(KNOWN, 40_000, seed=5, readout=readout)
    hard = shots.soft > 0
    p01, p10 = readout_error_rates(3.0, 0.2)
    assert p10 > p01  # decay makes |1> misread more often
    for col, bit, p in ((0, 1, p10), (1, 0, p01)):
        err = (hard[:, col] != bit).mean()
        assert abs(err - p) < 4 * np.sqrt(p * (1 - p) / 40_000) + 1e-4, (col, err, p)
    # detectors and observables are those of the hard record, relative to the noiseless reference (1, 0, 1, 0)
    np.testing.assert_array_equal(shots.dets[:, 0], ~hard[:, 0])
    np.testing.assert_array_equal(shots.dets[:, 1], ~(hard[:, 0] ^ hard[:, 1]))
    np.testing.assert_array_equal(shots.obs[:, 0], ~hard[:, 2])


def test_leakage_flags_rate_and_random_outcome() -> None:
    shots = sample(KNOWN, 20_000, seed=9, readout=SoftReadout(separation=8.0, leakage=0.1))
    rate = shots.leaked.mean()
    assert abs(rate - 0.1) < 0.005
    hard = shots.soft > 0
    assert abs(hard[shots.leaked[:, 1], 1].mean() - 0.5) < 0.03  # a leaked |0> reads 1 half the time
    assert hard[~shots.leaked[:, 1], 1].mean() < 0.001
    assert shots.flip_probability[shots.leaked].min() == 0.5


def test_plain_sample_unchanged_and_soft_reproducible() -> None:
    c = surface_code(3, 3, p=0.005)
    dets, obs = sample(c, 300, seed=4)
    ref = c.compile_detector_sampler(seed=4).sample(300, separate_observables=True)
    np.testing.assert_array_equal(dets, ref[0])
    np.testing.assert_array_equal(obs, ref[1])
    r = SoftReadout(separation=4.0, t1_decay=0.1, leakage=0.01)
    a, b = sample(c, 300, seed=4, readout=r), sample(c, 300, seed=4, readout=r)
    assert isinstance(a, SoftShots)
    for key in ("dets", "obs", "soft", "leaked"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.soft, sample(c, 300, seed=5, readout=r).soft)
    d2, o2 = a
    assert d2 is a.dets and o2 is a.obs
    packed = sample(c, 300, seed=4, readout=r, bit_packed=True)
    assert packed.dets.dtype == np.uint8 and packed.dets.shape == (300, 3)


def test_detector_soft_matches_a_direct_computation() -> None:
    c = without_measurement_flips(surface_code(3, 2, p=0.003))
    shots = sample(c, 50, seed=2, readout=SoftReadout(separation=3.0, leakage=0.05))
    ds = detector_soft(c, shots)
    assert ds.dtype == np.float32 and ds.shape == (50, c.num_detectors, 2)
    dmap, _ = measurement_map(c)
    q = 1 / (1 + np.exp(np.abs(shots.soft.astype(np.float64))))
    for d in range(c.num_detectors):
        reads = np.flatnonzero(dmap[:, d])
        np.testing.assert_allclose(ds[:, d, 0], q[:, reads].max(axis=1), rtol=1e-6)
        np.testing.assert_array_equal(ds[:, d, 1], shots.leaked[:, reads].any(axis=1))
    assert ((ds[..., 0] >= 0) & (ds[..., 0] <= 0.5)).all()


def test_measurement_flip_helpers_round_trip() -> None:
    c = surface_code(3, 3, p=0.004)
    bare = without_measurement_flips(c)
    def flips_before_measure(circ: stim.Circuit) -> int:
        lines = str(circ.flattened()).splitlines()
        return sum(a.startswith("X_ERROR") and b.startswith("M") for a, b in itertools.pairwise(lines))

    assert flips_before_measure(c) > 0 and flips_before_measure(bare) == 0
    assert "X_ERROR" in str(bare)  # the reset flips stay
    def total(circ: stim.Circuit) -> float:
        return sum(i.args_copy()[0] for i in circ.detector_error_model().flattened() if i.type == "error")

    assert total(bare) < total(c) - 0.1
    r = SoftReadout(separation=4.0)
    back = with_readout_flips(bare, r)
    p = sum(r.error_rates()) / 2
    assert f"X_ERROR({p:.6g})" in str(back)
    assert back.num_detectors == c.num_detectors


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"separation": 0.0}, "separation must lie in"),
    ({"separation": float("nan")}, "separation must lie in"),
    ({"t1_decay": 1.0}, "t1_decay must lie in"),
    ({"leakage": -0.1}, "leakage must lie in"),
    ({"leakage": [0.1]}, "one rate"),
    ({"separation": "big"}, "a number or a sequence"),
    ({"separation": []}, "empty"),
])
def test_bad_parameters_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        SoftReadout(**kwargs)


def test_per_qubit_values_and_their_errors() -> None:
    with pytest.raises(DatasetError, match="has 2 entries but the circuit measures qubit 3"):
        sample(KNOWN, 5, seed=1, readout=SoftReadout(separation=(4.0, 4.0)))
    shots = sample(KNOWN, 20_000, seed=3, readout=SoftReadout(separation=(2.0, 2.0, 10.0, 10.0)))
    hard = shots.soft > 0
    assert (hard[:, 0] != 1).mean() > 0.1 and (hard[:, 2] != 1).mean() < 0.001
    with pytest.raises(ArgumentTypeError, match="SoftReadout"):
        sample(KNOWN, 5, seed=1, readout=4.0)  # type: ignore[call-overload]
    feedback = stim.Circuit("M 0\nCX rec[-1] 1\nM 1\nDETECTOR rec[-1]")
    with pytest.raises(ArgumentTypeError, match="classically controlled"):
        sample(feedback, 5, seed=1, readout=SoftReadout())
