"""shadows.fidelity with several shots per basis: U psi once per Clifford, error bars per basis (cluster-robust)."""

from __future__ import annotations

import numpy as np
import stim
import torch

from qtandem.learn import ShotRecord, measure_randomized
from qtandem.learn.shadows import _fidelity_clifford, _runs, fidelity
from qtandem.learn.shots import stabilizer_state, tableau_to_stim


def _random_state(n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return torch.as_tensor(psi / np.linalg.norm(psi))


def _per_shot_reference(rec: ShotRecord, psi: torch.Tensor) -> np.ndarray:
    """The per-shot estimator from Stim's stabilizer state ``U^dagger |b>`` (shot by shot, independent of the runs)."""
    n = rec.n_qubits
    out = []
    for t in range(len(rec)):
        flips = stim.PauliString("".join("X" if bit else "_" for bit in rec.outcomes[t])).to_tableau()
        phi = stabilizer_state(tableau_to_stim(rec.bases[t]).inverse() * flips)
        out.append((2.0 ** n + 1) * abs(np.vdot(phi, psi.numpy())) ** 2 - 1)
    return np.array(out)


def test_clifford_values_match_stabilizer_states_on_both_paths() -> None:
    for n in (4, 11):  # clifford_apply (n <= 10) and the circuit on the state vector (n > 10)
        psi = _random_state(n, n)
        rec = measure_randomized(psi, 12, basis="clifford", shots_per_basis=4, seed=n)
        labels, _ = _runs(rec.bases, None, 0)
        assert labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
        got = _fidelity_clifford(rec, psi, labels)
        np.testing.assert_allclose(got, _per_shot_reference(rec, psi), rtol=1e-9, atol=1e-9)


def test_error_bar_is_per_basis_and_reduces_to_the_per_shot_one() -> None:
    psi = _random_state(3, 0)
    rec = measure_randomized(psi, 600, basis="clifford", shots_per_basis=20, seed=1)
    vals = _per_shot_reference(rec, psi)
    est = fidelity(rec, psi)
    units = vals.reshape(30, 20)  # 30 Cliffords, 20 shots each: the mean of the basis means is the mean
    assert abs(float(est.values) - vals.mean()) < 1e-9
    ref = units.mean(1).std(ddof=1) / np.sqrt(30)
    assert abs(float(est.stderr) - ref) < 1e-9
    single = measure_randomized(psi, 600, basis="clifford", seed=2)  # one shot per Clifford: sigma / sqrt(T)
    v1 = _per_shot_reference(single, psi)
    assert abs(float(fidelity(single, psi).stderr) - v1.std(ddof=1) / np.sqrt(600)) < 1e-9


def test_runs_continue_across_batches() -> None:
    psi = _random_state(3, 5)
    rec = measure_randomized(psi, 90, basis="clifford", shots_per_basis=30, seed=3)
    whole = fidelity(rec, psi, k=2)
    parts = fidelity([rec[:45], rec[45:]], psi, k=2)  # the second Clifford's run is cut in two
    assert torch.allclose(whole.values, parts.values) and torch.allclose(whole.stderr, parts.stderr)
    labels, nxt = _runs(rec.bases[45:], rec.bases[44], 2)
    assert labels.tolist() == [1] * 15 + [2] * 30 and nxt == 3


def test_error_bar_covers_with_many_shots_per_basis() -> None:
    """z-scores of 60 seeded records (20 Cliffords x 25 shots) against the exact fidelity 1: the per-basis error bar
    covers 56/60 within 2 sigma (z spread 1.04); the per-shot sigma / sqrt(T) would cover 26/60 (z spread 3.0)."""
    psi = _random_state(2, 7)
    z = []
    for seed in range(60):
        rec = measure_randomized(psi, 500, basis="clifford", shots_per_basis=25, seed=100 + seed)
        est = fidelity(rec, psi)
        z.append((float(est.values) - 1) / float(est.stderr))
    inside = np.mean(np.abs(z) < 2)
    assert 0.85 <= inside <= 1.0, inside
