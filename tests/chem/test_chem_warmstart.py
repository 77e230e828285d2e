"""WarmStartModel, transfer and operator prediction against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from qtandem.chem.warmstart import WarmStartModel, predict_operators, transfer_parameters
from qtandem.errors import ChemistryError


def test_linear_trend_is_extrapolated_exactly() -> None:
    d = np.linspace(0.8, 1.6, 5)[:, None]
    theta = np.hstack([0.3 * d - 0.1, -2.0 * d + 1.0])
    pred = WarmStartModel().fit(d, theta).predict([[2.0], [2.4]])
    np.testing.assert_allclose(pred, [[0.5, -3.0], [0.62, -3.8]], atol=1e-9)


def test_interpolates_training_points_and_beats_transfer_on_a_smooth_curve() -> None:
    # amplitudes shaped like a stretched bond's: a sigmoid in the bond length
    def amp(d: np.ndarray) -> np.ndarray:
        return np.hstack([0.785 / (1 + np.exp(-3 * (d - 2.0))), 0.1 * np.exp(-d)])

    train = np.linspace(0.8, 2.0, 7)[:, None]
    model = WarmStartModel(max_points=4).fit(train, amp(train))
    np.testing.assert_allclose(model.predict(train), amp(train), atol=1e-4)
    query = np.array([[2.2]])
    learned = np.abs(model.predict(query) - amp(query)).sum()
    transfer = np.abs(transfer_parameters(train, list(amp(train)), [2.2]) - amp(query)).sum()
    assert learned < 0.5 * transfer


def test_constant_mean_with_two_points_and_single_point() -> None:
    one = WarmStartModel().fit([[1.0]], [[0.25, -0.5]])
    np.testing.assert_allclose(one.predict([[3.0]]), [[0.25, -0.5]])
    two = WarmStartModel().fit([[1.0], [1.2]], [[0.1], [0.2]])
    np.testing.assert_allclose(two.predict([[1.0], [1.2]]), [[0.1], [0.2]], atol=1e-6)


def test_errors() -> None:
    with pytest.raises(ChemistryError, match="call fit"):
        WarmStartModel().predict([[1.0]])
    with pytest.raises(ChemistryError, match="same positive number"):
        WarmStartModel().fit([[1.0], [2.0]], [[0.1]])
    with pytest.raises(ChemistryError, match="one parameter vector"):
        transfer_parameters([[1.0]], [], [1.0])


def test_operator_sequence_from_nearest_first() -> None:
    feats = [[1.0], [1.5], [2.0]]
    seqs = [["x1"], ["x1", "x2"], ["x3", "x1"]]
    assert predict_operators(feats, seqs, [1.9]) == ["x3", "x1", "x2"]
    assert predict_operators(feats, seqs, [1.1]) == ["x1", "x2", "x3"]
