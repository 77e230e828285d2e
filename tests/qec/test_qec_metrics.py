"""Wilson intervals, per-round rates, doubt and post-selection curves."""

import numpy as np
import pytest

from qtandem.errors import DecoderError
from qtandem.qec.metrics import (
    doubt,
    flag_shots,
    logical_error_rate,
    per_round,
    postselection_curve,
    wilson_interval,
)


def test_wilson_known_values():
    # scipy.stats.binomtest(10, 1000).proportion_ci(method="wilson") = (0.0054408, 0.0183095)
    lo, hi = wilson_interval(10, 1000)
    assert lo == pytest.approx(0.00544075444552925, rel=1e-9)
    assert hi == pytest.approx(0.018309468870314774, rel=1e-9)
    scipy = pytest.importorskip("scipy.stats")
    for k, n, conf in [(0, 50, 0.95), (17, 200, 0.9), (200, 200, 0.99)]:
        ci = scipy.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
        assert wilson_interval(k, n, confidence=conf) == pytest.approx((ci.low, ci.high), abs=1e-12)
    with pytest.raises(DecoderError):
        wilson_interval(5, 3)


def test_per_round_inverts_composition():
    eps = 0.01
    r = 7
    total = (1 - (1 - 2 * eps) ** r) / 2  # r independent rounds, each flipping with eps
    assert per_round(total, r) == pytest.approx(eps)
    res = logical_error_rate(np.array([[1], [0]]), np.array([[0], [0]]))
    assert res.rate == 0.5 and res.per_round(3)[0] == 0.5


def test_logical_error_rate_counts_any_observable():
    pred = np.array([[1, 0], [0, 0], [1, 1]], bool)
    obs = np.array([[1, 1], [0, 0], [1, 1]], bool)
    assert logical_error_rate(pred, obs).errors == 1
    with pytest.raises(DecoderError, match="same shape"):
        logical_error_rate(pred, obs[:, :1])


def test_postselection_curve_properties():
    rng = np.random.default_rng(1)
    n = 5000
    soft = rng.random((n, 1))
    obs = rng.random((n, 1)) < soft  # calibrated: P(flip) = soft
    c = postselection_curve(soft, obs)
    assert c.fraction_flagged[0] == 0 and c.fraction_flagged[-1] == 1
    assert np.all(np.diff(c.fraction_flagged) > 0)
    assert np.all(np.diff(c.errors_kept) <= 0)
    assert np.all(np.diff(c.kept) < 0)
    assert c.ler_kept[0] == pytest.approx(logical_error_rate(soft > 0.5, obs).rate)
    # doubt is uniform on [0, 0.5]: LER 0.25 overall, 0.125 after flagging the doubtful half
    assert c.ler_kept[0] == pytest.approx(0.25, abs=0.02)
    assert c.at(0.5) == pytest.approx(0.125, abs=0.02)
    # ties in doubt form one step
    c2 = postselection_curve(np.array([[0.3], [0.7], [0.3], [0.99]]), np.array([[0], [1], [1], [1]], bool))
    assert c2.fraction_flagged.tolist() == [0.0, 0.75, 1.0]
    assert c2.errors_kept.tolist() == [1, 0, 0]


def test_doubt_and_flag():
    soft = np.array([[0.9, 0.5], [0.01, 0.02]])
    assert doubt(soft) == pytest.approx([1 - 0.9 * 0.5, 1 - 0.99 * 0.98])
    assert flag_shots(soft, 0.1).tolist() == [True, False]
    with pytest.raises(DecoderError, match="probabilities"):
        doubt(np.array([[1.5]]))
    with pytest.raises(DecoderError, match="threshold"):
        flag_shots(soft, 2.0)
