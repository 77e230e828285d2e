"""Noisy VQE on a device: the routed, remapped Hamiltonian gives the unrouted energy noiselessly, and
readout+ZNE lowers the error on LiH CAS(2,2) (seeded)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyscf")

from qtandem.chem import Molecule, vqe
from qtandem.chem.ansatz import ansatz
from qtandem.chem.noisy import device_energy, mitigation_methods, noisy_vqe, routed_observable
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ChemistryError
from qtandem.sim import statevector
from qtandem.sim.estimate import without_terminal_measurements


@pytest.fixture(scope="module")
def lih() -> object:
    return Molecule("Li 0 0 0; H 0 0 3.0").problem(active=(2, 2))


def _relabel(h: PauliSum, layout: list[int]) -> PauliSum:
    return PauliSum({tuple(sorted((layout[q], letter) for q, letter in word)): c for c, word in h.terms})


def test_remapped_observable_gives_the_unrouted_energy_noiselessly(lih: object) -> None:
    a = ansatz(lih, "uccsd")
    x = np.array([0.4, -0.1, 0.15])
    logical = a.energy(x)
    compiled, _, target, report = routed_observable(lih, a.circuit(x), "line_5", seed=3)
    assert report["changed"] and report["swaps"] > 0
    layout = [int(v) for v in report["final_layout"]]
    assert layout != list(range(lih.n_qubits))                      # a non-trivial permutation
    psi = np.asarray(statevector(without_terminal_measurements(compiled)))
    h_dense = _relabel(lih.hamiltonian, layout).to_matrix(compiled.n_qubits).numpy()
    routed = float(np.vdot(psi, h_dense @ psi).real)
    assert routed == pytest.approx(logical, abs=1e-9)
    h_plain = lih.hamiltonian.to_matrix(compiled.n_qubits).numpy()   # without the remap: wrong
    assert abs(float(np.vdot(psi, h_plain @ psi).real) - logical) > 1e-3
    assert target.num_qubits == compiled.n_qubits


def test_readout_and_zne_lower_the_error(lih: object) -> None:
    exact = vqe(lih, "uccsd", compile_level=None)
    circuit = ansatz(lih, "uccsd").circuit(exact.parameters)
    e = device_energy(lih, circuit, "line_5", mitigation="readout+zne", shots=20_000, seed=0)
    err_raw, err_mit = abs(e.raw - exact.energy), abs(e.value - exact.energy)
    assert err_raw > 0.05                                           # the device's noise is large here
    assert err_mit < 0.5 * err_raw
    assert e.methods == ["readout", "zne"] and e.report["final_layout"] is not None


def test_noisy_errors(lih: object) -> None:
    with pytest.raises(ChemistryError):
        mitigation_methods("pec")
    with pytest.raises(ChemistryError):
        mitigation_methods("zne+readout")
    with pytest.raises(ChemistryError):
        noisy_vqe(lih, "uccsd", device="line_5", optimizer="bfgs")
    with pytest.raises(ChemistryError):
        vqe(lih, "qubit-adapt", device="line_5")
    with pytest.raises(ChemistryError):
        vqe(lih, "uccsd", mitigation="readout")
