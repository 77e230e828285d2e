"""shadows.fidelity(control_variate=True): unbiased, error bars that cover, far smaller spread near fidelity 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtandem import Circuit, statevector
from qtandem.errors import DataError
from qtandem.learn import measure_randomized
from qtandem.learn.shadows import fidelity
from qtandem.learn.shots import clifford_apply, random_clifford_tableaus


def _random_state(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return psi / np.linalg.norm(psi)


def _mix(psi: np.ndarray, eps: float, seed: int) -> np.ndarray:
    phi = psi + eps * _random_state(int(np.log2(len(psi))), seed)
    return phi / np.linalg.norm(phi)


def test_control_variate_has_mean_one_over_random_cliffords() -> None:
    # E_U[(2^n + 1) sum_b |<b|U phi>|^4 - 1] = 1 for a pure phi (Cliffords are a 2-design)
    n = 3
    phi = _random_state(n, 0)
    values = np.array([(2 ** n + 1) * np.sum(np.abs(clifford_apply(t, phi)) ** 4) - 1
                       for t in random_clifford_tableaus(4000, n, seed=1)])
    assert abs(values.mean() - 1) < 4 * values.std(ddof=1) / np.sqrt(len(values))
    assert values.std() > 0.05  # not trivially constant: the mean is what cancels


def test_control_variate_is_unbiased_and_covers() -> None:
    n = 3
    psi = _random_state(n, 1)
    phi = _mix(psi, 0.6, 2)
    truth = abs(np.vdot(phi, psi)) ** 2
    assert 0.5 < truth < 0.95
    hits, estimates = 0, []
    for seed in range(60):
        rec = measure_randomized(psi, 120, basis="clifford", shots_per_basis=4, seed=seed)
        est = fidelity(rec, torch.as_tensor(phi), control_variate=True)
        estimates.append(float(est.values))
        hits += abs(float(est.values) - truth) < 2 * float(est.stderr)
    assert hits >= 50  # nominal 2-sigma coverage 0.95 of 60
    spread = np.std(estimates, ddof=1) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - truth) < 4 * spread


def test_control_variate_shrinks_the_ghz_error_bar() -> None:
    n = 11
    circ = Circuit(n).h(0)
    for q in range(1, n):
        circ.cx(0, q)
    psi = statevector(circ).numpy()
    model = torch.as_tensor(_mix(psi, 0.05, 3))  # fidelity ~0.9975
    rec = measure_randomized(circ, 60 * 20, basis="clifford", shots_per_basis=20, seed=4)
    plain = fidelity(rec, model)
    cv = fidelity(rec, model, control_variate=True)
    truth = abs(np.vdot(model.numpy(), psi)) ** 2
    assert float(cv.stderr) < float(plain.stderr) / 20
    assert abs(float(cv.values) - truth) < 4 * float(cv.stderr) + 1e-9


def test_control_variate_needs_a_clifford_record() -> None:
    rec = measure_randomized(Circuit(2).h(0), 10, seed=0)
    with pytest.raises(DataError, match="Clifford record"):
        fidelity(rec, statevector(Circuit(2).h(0)), control_variate=True)
