"""Clifford data regression and vnCDR (qtandem.mitigate.cdr)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import execute, simulator_executor
from qtandem.mitigate.cdr import _non_clifford, cdr, ideal_value, training_circuits
from qtandem.mitigate.observable import parse_observable
from qtandem.noise import NoiseModel, depolarizing


def noise() -> NoiseModel:
    return NoiseModel().add(depolarizing(0.01), gates=["rz", "sx", "x"]).add(depolarizing(0.04, 2), gates=["cx"])


def target(theta: float = 0.0) -> Circuit:
    c = Circuit(3)
    for q in range(3):
        c.rz(0.3 + 0.2 * q + theta, q).sx(q).rz(0.25, q).sx(q)
    c.cx(0, 1).cx(1, 2)
    for q in range(3):
        c.rz(0.2, q).sx(q).rz(-0.35 + theta, q).sx(q).rz(0.1, q)
    return c


def random_clifford(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(gates):
        kind = rng.integers(4)
        q = int(rng.integers(n))
        if kind == 0:
            c.rz(int(rng.integers(4)) * math.pi / 2, q)
        elif kind == 1:
            c.sx(q)
        elif kind == 2:
            c.x(q)
        else:
            a, b = rng.choice(n, size=2, replace=False)
            c.cx(int(a), int(b))
    return c


def test_training_circuits_keep_the_structure() -> None:
    c = target()
    k = len(_non_clifford(c))
    assert k == 15
    for t in training_circuits(c, 6, fraction_non_clifford=0.2, seed=1):
        assert [(i.name, i.qubits) for i in t] == [(i.name, i.qubits) for i in c]
        assert len(_non_clifford(t)) == round(0.2 * k)
        assert all(t[i].params == c[i].params for i in _non_clifford(t))  # kept angles unchanged
    nearest = training_circuits(c, 1, fraction_non_clifford=0.0, replace="nearest", seed=2)[0]
    for i in _non_clifford(c):
        want = round(c[i].params[0] / (math.pi / 2)) % 4 * math.pi / 2
        assert nearest[i].params[0] == pytest.approx(want)
    assert training_circuits(c, 3, seed=5) == training_circuits(c, 3, seed=5)


def test_clifford_circuits_still_get_varied_training_sets() -> None:
    c = random_clifford(3, 30, seed=3)
    sets = training_circuits(c, 8, seed=4)
    assert len({tuple(t) for t in sets}) > 1 and not any(_non_clifford(t) for t in sets)


@pytest.mark.parametrize("seed", range(4))
def test_stim_ideal_values_equal_the_state_vector(seed: int) -> None:
    c = random_clifford(4, 40, seed=seed)
    for text in ("Z0", "X1 Y2", "0.5*Z0 Z3 + X2 - 0.25*Y1 Z2"):
        obs = parse_observable(text, 4)
        assert ideal_value(c, obs) == pytest.approx(obs.exact(c), abs=1e-10)
    non_clifford = c.copy().rz(0.3, 0).sx(0)
    assert ideal_value(non_clifford, "Z0") == pytest.approx(parse_observable("Z0", 4).exact(non_clifford), abs=1e-10)


@pytest.mark.parametrize("variable_noise", [False, True])
def test_cdr_mitigates_and_counts_its_shots(variable_noise: bool) -> None:
    model = noise()
    method = cdr(n_training=16, scale_factors=[1, 2, 3] if variable_noise else None)
    errors_raw, errors_cdr = [], []
    for theta in (0.0, 0.4):
        c = target(theta)
        ideal = ideal_value(c, "Z0 Z1")
        res = execute(c, "Z0 Z1", simulator_executor(model, seed=1), methods=[method], shots=50_000, seed=2)
        assert res.shots_used == 50_000 and res.one_off_shots == 0 and res.refused is None
        assert res.details["n_training"] == 16 and math.isfinite(res.stderr) and res.stderr > 0
        errors_raw.append(abs(res.raw - ideal))
        errors_cdr.append(abs(res.value - ideal))
    assert np.mean(errors_cdr) < 0.5 * np.mean(errors_raw), (errors_cdr, errors_raw)


def test_per_structure_training_is_a_cached_one_off() -> None:
    model = noise()
    method = cdr(n_training=12, reuse="per_structure", training_shots=24_000)
    first = execute(target(0.0), "Z0 Z1", simulator_executor(model, seed=1), methods=[method], shots=10_000, seed=3)
    assert first.one_off_shots == 24_000 and first.shots_used == 10_000
    again = execute(target(0.3), "Z0 Z1", simulator_executor(model, seed=1), methods=[method], shots=10_000, seed=4)
    assert again.one_off_shots == 0 and again.shots_used == 10_000  # same structure, other angles: reused
    assert again.details["structure"] == first.details["structure"]
    assert abs(again.value - ideal_value(target(0.3), "Z0 Z1")) < abs(again.raw - ideal_value(target(0.3), "Z0 Z1"))


def test_a_training_set_that_cannot_vary_is_refused() -> None:
    c = Circuit(2).x(0).cx(0, 1)  # no rotation to change
    res = execute(c, "Z1", simulator_executor(noise(), seed=1), methods=[cdr(n_training=5)], shots=2000, seed=1)
    assert res.refused is not None and "does not vary" in res.refused
    assert res.value == res.details["noisy"][0]


def test_bad_arguments() -> None:
    with pytest.raises(ArgumentTypeError, match="n_training"):
        cdr(n_training=2)
    with pytest.raises(ArgumentTypeError, match="fraction_non_clifford"):
        cdr(fraction_non_clifford=1.5)
    with pytest.raises(ArgumentTypeError, match="at least two distinct"):
        cdr(scale_factors=[1])
    with pytest.raises(ArgumentTypeError, match="reuse"):
        cdr(reuse="always")
    with pytest.raises(ArgumentTypeError, match="replace"):
        training_circuits(target(), 2, replace="farthest")
