"""qtandem.sim.pauli_evolution against dense matrix exponentials and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

from qtandem.circuit.pauli import PauliSum
from qtandem.errors import SimulationError
from qtandem.sim.pauli_evolution import FixedStep, PauliEvolution, cx_step
from qtandem.sim.sparse import pauli_sum_sparse

N = 5


def _random_program(seed: int):
    rng = np.random.default_rng(seed)

    def word() -> str:
        return "".join(rng.choice(list("IXYZ")) for _ in range(N))

    gens = [PauliSum.from_label(word(), 0.3 + rng.random()) for _ in range(4)]
    gens.append(PauliSum("0.25*X0*Y1*Z2 - 0.25*Y0*X1*Z2"))                       # an excitation
    gens.append(PauliSum("0.5*Z1*Z3"))                                            # diagonal
    h = sum((PauliSum.from_label(word(), rng.normal()) for _ in range(12)), PauliSum.identity(0.1))
    steps = [*gens[:3], cx_step(0, 2, N), *gens[3:], cx_step(4, 1, N)]
    return steps, h, rng.normal(size=len(gens)) * 1.3


def _dense(steps, h, theta, initial):
    psi = np.zeros(2**N, complex)
    psi[initial] = 1
    k = 0
    for s in steps:
        if isinstance(s, FixedStep):
            new = np.zeros_like(psi)
            new[s.perm] = psi
            psi = new
        else:
            psi = sl.expm(-1j * theta[k] * s.to_matrix(N).numpy()) @ psi
            k += 1
    return psi, float(np.vdot(psi, h.to_matrix(N).numpy() @ psi).real)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("subspace", [True, False])
def test_state_energy_gradient_match_dense_and_finite_differences(seed, subspace):
    steps, h, theta = _random_program(seed)
    prog = PauliEvolution(N, steps, h, initial=3, subspace=subspace)
    psi, e = _dense(steps, h, theta, 3)
    np.testing.assert_allclose(prog.state(theta), psi, atol=1e-12)
    energy, grad = prog.energy_and_gradient(theta)
    assert energy == pytest.approx(e, abs=1e-12)
    eye = np.eye(len(theta))
    fd = np.array([(prog.energy(theta + 1e-6 * eye[i]) - prog.energy(theta - 1e-6 * eye[i])) / 2e-6
                   for i in range(len(theta))])
    np.testing.assert_allclose(grad, fd, atol=1e-7)
    np.testing.assert_allclose(prog.energies(np.stack([theta, 0 * theta])),
                               [e, _dense(steps, h, 0 * theta, 3)[1]], atol=1e-12)


def test_subspace_is_the_number_sector_for_excitations():
    g = PauliSum("0.25*X0*Y2 - 0.25*Y0*X2") + 0
    h = PauliSum("Z0 + Z1 + Z2 + Z3")
    prog = PauliEvolution(4, [g, PauliSum("0.25*X1*Y3 - 0.25*Y1*X3")], h, initial=0b0011)
    assert sorted(prog.basis.tolist()) == [0b0011, 0b0110, 0b1001, 0b1100]


def test_parameter_shift_and_pool_gradients_equal_adjoint():
    h = PauliSum("0.7*Z0*Z1 + 0.3*X0*X1*X2*X3 - 0.2*Y0*Y2 + 0.1*Z3")
    gens = [PauliSum("0.5*X0*Y1"), PauliSum("0.25*X0*Y2 - 0.25*Y0*X2"), PauliSum("Y1*X2*X3*X0")]
    prog = PauliEvolution(4, gens, h, initial=0b0101)
    theta = np.array([0.3, -0.8, 0.45])
    _, grad = prog.energy_and_gradient(theta)
    np.testing.assert_allclose(prog.parameter_shift_gradient(theta), grad, atol=1e-12)
    # pool gradients = derivative of appending each generator at angle 0
    pool = PauliEvolution(4, gens, h, initial=0b0101)
    psi = prog.state(theta)
    got = pool.generator_gradients(psi)
    for k, g in enumerate(gens):
        ext = PauliEvolution(4, [*gens, g], h, initial=0b0101)
        _, gx = ext.energy_and_gradient(np.append(theta, 0.0))
        assert got[k] == pytest.approx(gx[-1], abs=1e-12)


def test_csr_matches_dense_and_restriction():
    h = PauliSum("0.5*X0*Y1 - 0.2*Z0 + 0.1*Y0*Y1*Z2 + 3")
    np.testing.assert_allclose(pauli_sum_sparse(h, 3).toarray(), h.to_matrix(3).numpy(), atol=1e-15)
    basis = np.array([1, 2, 6])
    np.testing.assert_allclose(pauli_sum_sparse(h, 3, basis=basis).toarray(),
                               h.to_matrix(3).numpy()[np.ix_(basis, basis)])


def test_errors():
    h = PauliSum("Z0")
    with pytest.raises(SimulationError, match="Hermitian"):
        PauliEvolution(2, [PauliSum("1j*X0")], h)
    with pytest.raises(SimulationError, match="commute"):
        PauliEvolution(2, [PauliSum("X0 + Z0")], h)
    with pytest.raises(SimulationError, match="expected 1 parameters"):
        PauliEvolution(2, [PauliSum("X0")], h).energy([0.1, 0.2])
    with pytest.raises(SimulationError, match="outside"):
        PauliEvolution(2, [PauliSum("X0")], h, initial=0).generator_gradients(np.array([0, 0, 1, 0], complex))
