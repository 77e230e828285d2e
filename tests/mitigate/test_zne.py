"""Zero-noise extrapolation as a method (qtandem.mitigate.zne): unbiasedness, allocation, scaling, accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import Context, base_estimator, execute, simulator_executor
from qtandem.mitigate.extrapolate import linear, richardson
from qtandem.mitigate.folding import fold_global, scale_noise
from qtandem.mitigate.zne import gate_errors, zne
from qtandem.noise import NoiseModel, depolarizing, readout_error


def noise() -> NoiseModel:
    return (NoiseModel().add(depolarizing(0.01), gates=["rz", "sx", "x"]).add(depolarizing(0.04, 2), gates=["cx"])
            .add_readout(readout_error(0.0, 0.0)))


def circuit() -> Circuit:
    c = Circuit(3)
    for q in range(3):
        c.rz(0.3 + 0.2 * q, q).sx(q).rz(0.25, q).sx(q)
    c.cx(0, 1).cx(1, 2)
    for q in range(3):
        c.rz(0.2, q).sx(q).rz(-0.35, q).sx(q).rz(0.1, q)
    return c  # ideal <Z0 Z1> = -0.87, <Z2> = 0.77; noisy -0.66, 0.55


def copies(method, observable: str, k: int, shots: int, seed: int, model: NoiseModel | None = None):
    """``k`` independent estimates of one circuit in one batch (each copy samples its own shots)."""
    model = model or noise()
    ctx = Context.create(observable, 3, simulator_executor(model, seed=seed), noise=model, seed=seed)
    est = method.wrap(base_estimator(ctx), ctx)
    return est([circuit()] * k, [shots] * k, seed), ctx


@pytest.mark.parametrize("extrapolation", ["richardson", "linear"])
def test_linear_zne_is_unbiased_for_its_target(extrapolation: str) -> None:
    """The mean over repetitions equals the extrapolation of the exact noisy values (within 4 stderr).

    Z terms only: an X term's basis change (rz sx rz) is noisy too, which ``exact`` does not see.
    """
    model = noise()
    out, ctx = copies(zne([1, 3, 5], extrapolation, allocation="uniform"), "Z0 Z1 + 0.5*Z2", 300, 3000, seed=1)
    exact = [ctx.observable.exact(fold_global(circuit(), s), model) for s in (1, 3, 5)]
    realized = out[0].details["realized_scales"]  # error-weighted gate counts: an unmerged rz(pi) here and there
    assert realized[0] == 1 and 2.9 < realized[1] < 3.3 and 4.8 < realized[2] < 5.5
    target = (richardson if extrapolation == "richardson" else linear)(realized, exact).value
    values = np.array([e.value for e in out])
    sem = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - target) < 4 * sem
    # the reported stderr is the spread over repetitions
    assert np.mean([e.stderr for e in out]) == pytest.approx(values.std(ddof=1), rel=0.15)
    ideal = ctx.observable.exact(circuit())
    kept = 0.2 if extrapolation == "richardson" else 0.6  # a line through curved decay keeps half the bias
    assert abs(target - ideal) < kept * abs(exact[0] - ideal)


def test_optimal_allocation_lowers_the_measured_variance() -> None:
    scales = [1, 2, 3, 4, 5]
    k, shots = 400, 4000
    uniform, _ = copies(zne(scales, "linear", allocation="uniform"), "Z0 Z1", k, shots, seed=2)
    optimal, _ = copies(zne(scales, "linear", allocation="optimal"), "Z0 Z1", k, shots, seed=3)
    var_u = np.var([e.value for e in uniform], ddof=1)
    var_o = np.var([e.value for e in optimal], ddof=1)
    # predicted for equal per-shot sigma: (sum |w|)^2 / (m sum w^2) = 4 / 5.5 (the pilot's 10% is spent uniformly)
    assert var_o < 0.88 * var_u
    assert all(e.shots == shots for e in optimal + uniform)
    assert optimal[0].details["shots"][0] > optimal[0].details["shots"][2]  # the middle scale weighs least


def test_parameter_scaling_extrapolates_scaled_models() -> None:
    model = noise()
    out, ctx = copies(zne([1, 2, 3], "richardson", scaling="parameter", allocation="uniform"), "Z0 Z1", 200, 3000,
                      seed=4)
    exact = [ctx.observable.exact(circuit(), scale_noise(model, s)) for s in (1, 2, 3)]
    values = np.array([e.value for e in out])
    assert abs(values.mean() - richardson([1, 2, 3], exact).value) < 4 * values.std(ddof=1) / math.sqrt(len(values))
    assert out[0].details["realized_scales"] == [1.0, 2.0, 3.0]


def test_exponential_decay_is_extrapolated_exactly() -> None:
    """x^k on one qubit under depolarizing: <Z> = (1 - 4p/3)^k, an exact exponential in the scale."""
    model = NoiseModel().add(depolarizing(0.03), gates=["x"])
    c = Circuit(1)
    for _ in range(6):
        c.x(0)
    for extrapolation in ("exponential", "adaptive_exponential"):
        res = execute(c, "Z0", simulator_executor(model, seed=5), methods=[zne([1, 3, 5], extrapolation)],
                      shots=200_000, seed=6, noise=model)
        assert abs(res.value - 1) < 4 * res.stderr, (extrapolation, res.value, res.stderr)
        assert res.raw < 0.9 and res.shots_used == 200_000
    assert len(res.details["chosen_scales"]) == 3


def test_local_folding_and_accounting() -> None:
    model = noise()
    res = execute(circuit(), "Z0 Z1", simulator_executor(model, seed=7), methods=[zne(scaling="fold_random")],
                  shots=20_000, seed=8, noise=model)
    assert res.shots_used == 20_000 and sum(res.details["shots"]) == 20_000
    assert res.methods == ["zne"] and res.details["allocation"] == "optimal"
    ideal = Context.create("Z0 Z1", 3, simulator_executor(model)).observable.exact(circuit())
    assert abs(res.value - ideal) < abs(res.raw - ideal)


def test_gate_errors_are_process_infidelities() -> None:
    errors = gate_errors(noise())
    assert errors["sx"] == pytest.approx(0.01) and errors["cx"] == pytest.approx(0.04)


def test_bad_arguments() -> None:
    with pytest.raises(ArgumentTypeError, match="unknown extrapolation 'cubic'"):
        zne(extrapolation="cubic")
    with pytest.raises(ArgumentTypeError, match="unknown scaling"):
        zne(scaling="stretch")
    with pytest.raises(ArgumentTypeError, match="at least two distinct"):
        zne([1, 1])
    with pytest.raises(ArgumentTypeError, match="at least two distinct"):
        zne([0.5, 2])
    with pytest.raises(ArgumentTypeError, match="allocation"):
        zne(allocation="greedy")
    with pytest.raises(ArgumentTypeError, match="pass noise="):
        execute(circuit(), "Z0", simulator_executor(noise(), seed=1), methods=[zne(scaling="parameter")], shots=100)


def test_exponential_falls_back_to_linear_near_the_asymptote() -> None:
    # <Z0> = -0.021: at 20k shots (stderr ~0.01 per scale) the values are not away from the asymptote 0,
    # so the log fit would be noise; a clearly nonzero value keeps the exponential fit
    model = noise()
    near = Circuit(1).sx(0).rz(1.55, 0).sx(0).x(0).x(0)   # <Z0> = -0.021
    res = execute(near, "Z0", simulator_executor(model, seed=3), methods=[zne()], shots=20_000, seed=4, noise=model)
    assert "asymptote" in res.details["fallback"] and abs(res.value) < 0.1
    far = Circuit(1).x(0).x(0).x(0)
    res = execute(far, "Z0", simulator_executor(model, seed=3), methods=[zne()], shots=20_000, seed=4, noise=model)
    assert "fallback" not in res.details and res.details["extrapolation"] == "exponential"
