"""measure_randomized(basis="clifford") of a noiseless Clifford circuit from 11 qubits on: Stim's sampler."""

from __future__ import annotations

import numpy as np

from qtandem import Circuit, statevector
from qtandem.learn import measure_randomized, shadows
from qtandem.learn.shots import clifford_circuit


def _clifford_state(n: int) -> Circuit:
    circ = Circuit(n).h(0)
    for q in range(1, n):
        circ.cx(0, q)
    return circ.s(3).h(5).cz(2, 7).sx(4).sdg(1).swap(6, 9).y(8)


def test_stabilizer_path_matches_state_vector_path() -> None:
    n = 11
    circ = _clifford_state(n)
    psi = statevector(circ)
    fast = measure_randomized(circ, 600, basis="clifford", shots_per_basis=20, seed=5)
    dense = measure_randomized(psi, 600, basis="clifford", shots_per_basis=20, seed=5)
    assert fast.metadata["simulation"] == "stabilizer" and dense.metadata["simulation"] == "state vector"
    np.testing.assert_array_equal(fast.bases, dense.bases)  # the same Cliffords are drawn first
    index = (fast.outcomes.astype(np.int64) << np.arange(n)).sum(1)
    for start in range(0, len(fast), 20):  # every outcome lies in the support of the exact distribution
        probs = statevector(clifford_circuit(fast.bases[start]), initial_state=psi).abs().pow(2).numpy()
        assert (probs[index[start:start + 20]] > 1e-9).all()
    # a stabilizer state's per-shot estimate is constant within a Clifford: both paths agree exactly
    a, b = shadows.fidelity(fast, psi), shadows.fidelity(dense, psi)
    assert abs(float(a.values) - float(b.values)) < 1e-9
    assert abs(float(a.values) - 1) < 4 * float(a.stderr)


def test_stabilizer_path_marginals_match_exact_probabilities() -> None:
    n = 11
    circ = _clifford_state(n)
    psi = statevector(circ)
    shots = 4000
    rec = measure_randomized(circ, shots, basis="clifford", shots_per_basis=shots, seed=9)  # one Clifford
    probs = statevector(clifford_circuit(rec.bases[0]), initial_state=psi).abs().pow(2).numpy()
    ones = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    exact = probs @ ones  # P(bit q = 1)
    got = rec.outcomes.mean(0)
    sigma = np.sqrt(np.maximum(exact * (1 - exact), 1 / shots) / shots)
    assert (np.abs(got - exact) < 5 * sigma + 1e-12).all()
    parity = (rec.outcomes[:, 0] ^ rec.outcomes[:, 1]).mean()
    exact_parity = probs @ (ones[:, 0] ^ ones[:, 1])
    assert abs(parity - exact_parity) < 5 * np.sqrt(max(exact_parity * (1 - exact_parity), 1 / shots) / shots) + 1e-12


def test_non_clifford_or_small_circuits_keep_the_state_vector_path() -> None:
    rotated = _clifford_state(11).rz(0.3, 2)
    assert measure_randomized(rotated, 4, basis="clifford", seed=1).metadata["simulation"] == "state vector"
    small = Circuit(3).h(0).cx(0, 1)
    assert measure_randomized(small, 4, basis="clifford", seed=1).metadata["simulation"] == "state vector"
