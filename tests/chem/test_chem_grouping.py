"""Measurement grouping: diagonalising circuits against exact expectations, estimates within their errors."""

from __future__ import annotations

import numpy as np
import pytest

import qtandem
from qtandem.chem.grouping import estimate_energy, measurement_groups
from qtandem.circuit.pauli import PauliSum
from qtandem.sim.sparse import pauli_sum_sparse


def _random_hamiltonian(n: int, terms: int, seed: int) -> PauliSum:
    rng = np.random.default_rng(seed)
    return sum((PauliSum.from_label("".join(rng.choice(list("IXYZ")) for _ in range(n)), rng.normal())
                for _ in range(terms)), PauliSum.identity(0.3))


@pytest.mark.parametrize("kind", ["qubitwise", "general"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_groups_diagonalise_exactly(kind, seed):
    n = 5
    h = _random_hamiltonian(n, 25, seed)
    state = qtandem.Circuit(n)
    rng = np.random.default_rng(seed + 10)
    for q in range(n):
        state.ry(float(rng.normal()), q).rz(float(rng.normal()), q)
    for q in range(n - 1):
        state.cx(q, q + 1)
    psi = qtandem.statevector(state).numpy().ravel()
    exact = float(np.vdot(psi, pauli_sum_sparse(h, n) @ psi).real)
    groups = measurement_groups(h, kind, n)
    total = sum(c.real for c, w in h.terms if not w)
    for g in groups:
        if kind == "qubitwise":
            assert all(len(inst.qubits) == 1 for inst in g.circuit.instructions)
        probs = qtandem.probabilities(state.compose(g.circuit)).numpy().ravel()
        total += float(np.dot(probs, g.values(np.arange(2**n))))
    assert total == pytest.approx(exact, abs=1e-10)
    assert len(measurement_groups(h, "general", n)) <= len(measurement_groups(h, "qubitwise", n))


def test_estimate_within_error():
    n = 4
    h = _random_hamiltonian(n, 15, 5)
    state = qtandem.Circuit(n).h(0).cx(0, 1).ry(0.4, 2).cx(2, 3)
    psi = qtandem.statevector(state).numpy().ravel()
    exact = float(np.vdot(psi, pauli_sum_sparse(h, n) @ psi).real)
    est, err = estimate_energy(state, h, 20000, seed=3)
    assert err > 0 and abs(est - exact) < 5 * err
    assert estimate_energy(state, h, 2000, seed=3) == estimate_energy(state, h, 2000, seed=3)
