"""methods="auto" with the pilot's measured spread (qtandem.mitigate.auto, session 32)."""

from __future__ import annotations

import math

import pytest

from qtandem import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import execute
from qtandem.mitigate.auto import AutoExtrapolation, predicted_mse

LAM = 1.66  # mirror d20's decay per unit of noise scale: P(correct) ~ 0.19 at scale 1


def _decaying_probability(base_gates: int):
    """An executor whose P("0") is exactly e^{-LAM s}, s = gates / base_gates (expected counts, no sampling)."""

    def run(circuits, shots):
        out = []
        for c in circuits:
            gates = sum(1 for i in c.instructions if i.name not in ("measure", "barrier"))
            p = math.exp(-LAM * gates / base_gates)
            k = round(p * shots)
            out.append({"0" * 10: k, "1" * 10: shots - k})
        return out

    return run


def _circuit() -> Circuit:
    c = Circuit(10)  # ten qubits: the fit's asymptote for one bitstring's probability, 2^-10, is negligible
    for q in range(10):
        c.sx(q)
    return c


def test_predicted_mse_with_a_measured_spread_matches_the_closed_form():
    v, s, lam, r = 0.19, 0.004, LAM, 0.2
    mse = predicted_mse(v, s, lam, sigma_ratio=r)
    ideal = v * math.exp(lam)
    spread = [r ** ((x - 1) / 2) for x in (1.0, 1.5, 2.0)]
    weights = (11 / 6, 1 / 3, -7 / 6)
    amp = sum(abs(w) * math.exp(lam * x) * sp for x, w, sp in zip((1.0, 1.5, 2.0), weights, spread, strict=True))
    assert mse["exponential"] == pytest.approx((amp * s) ** 2)
    lin_amp = 1.5 + 0.5 * r
    lin = 1.5 * ideal * math.exp(-lam) - 0.5 * ideal * math.exp(-3 * lam)
    assert mse["linear"] == pytest.approx((ideal - lin) ** 2 + (lin_amp * s) ** 2)
    # the a priori spread e^{2 lam} is sigma_ratio = e^{2 lam}
    assert predicted_mse(v, s, lam) == pytest.approx(predicted_mse(v, s, lam, sigma_ratio=math.exp(2 * lam)))


def test_auto_extrapolates_a_shrinking_probability_with_the_measured_spread():
    c = _circuit()
    run = _decaying_probability(len(c.instructions))
    measured = execute(c, "P(0000000000)", run, methods=[AutoExtrapolation()], shots=10_000, seed=3)
    prior = execute(c, "P(0000000000)", run, methods=[AutoExtrapolation(spread="prior")], shots=10_000, seed=3)
    assert measured.details["chosen"] == "zne_exponential"
    assert measured.details["sigma_ratio"] < 0.5  # sqrt(p (1 - p)) shrinks with p
    assert abs(measured.value - 1.0) < 0.1
    assert prior.details["chosen"] != "zne_exponential"
    assert abs(prior.value - 1.0) > 0.3  # what auto returned on mirror d20 at 1e4 before the change
    assert measured.shots_used == prior.shots_used == 10_000


def test_auto_rejects_an_unknown_spread():
    with pytest.raises(ArgumentTypeError):
        AutoExtrapolation(spread="guess")
