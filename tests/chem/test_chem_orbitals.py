"""Active-space orbital rotations (qtandem.chem.orbitals) and ADAPT's per-CNOT score."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from qtandem.chem.adapt import adapt_vqe, pool
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ChemistryError

pytest.importorskip("pyscf")


@pytest.fixture(scope="module")
def lih_full():
    from qtandem.chem import Molecule

    return Molecule("Li 0 0 0; H 0 0 1.595").problem(references=["casci"])


@pytest.fixture(scope="module")
def lih_cas():
    from qtandem.chem import Molecule

    return Molecule("Li 0 0 0; H 0 0 1.595").problem(active=(2, 5), references=["hf", "casci"])


def _hf_energy(p):
    return float(p.hamiltonian.to_matrix()[p.hf_state, p.hf_state].real)


def test_mp2_density_matches_pyscf(lih_full):
    from pyscf import mp

    from qtandem.chem.orbitals import active_mp2_density

    d = active_mp2_density(lih_full)
    ref = mp.MP2(lih_full.molecule.scf()).run(verbose=0).make_rdm1()
    assert np.abs(d - ref).max() < 1e-8
    assert abs(np.trace(d) - lih_full.n_electrons) < 1e-10


def test_block_natural_orbitals_keep_casci_and_hf(lih_cas):
    from qtandem.chem.orbitals import active_mp2_density, block_natural_orbitals

    q = block_natural_orbitals(lih_cas)
    assert q.hf_state == lih_cas.hf_state
    assert abs(q.ground_state_energy() - lih_cas.references["casci"]) < 1e-9
    assert abs(_hf_energy(q) - lih_cas.references["hf"]) < 1e-9
    # in the new orbitals the density is diagonal inside each block, occupations decreasing
    d = active_mp2_density(q)
    no = q.n_alpha
    for block in (slice(0, no), slice(no, q.n_orbitals)):
        sub = d[block, block]
        assert np.abs(sub - np.diag(np.diag(sub))).max() < 1e-10
        assert np.all(np.diff(np.diag(sub)) <= 1e-12)
    # the orbitals are the SCF orbitals rotated: same span, orthonormal in the AO metric
    s = lih_cas.molecule.pyscf().intor("int1e_ovlp")
    c0, c1 = lih_cas.orbital_coefficients, q.orbital_coefficients
    assert np.allclose(c1.T @ s @ c1, np.eye(q.n_orbitals), atol=1e-9)
    u = c0.T @ s @ c1
    assert np.allclose(u.T @ u, np.eye(q.n_orbitals), atol=1e-9)


def test_rotate_orbitals_random_rotation_keeps_spectrum(lih_cas):
    from qtandem.chem.orbitals import rotate_orbitals

    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    q = rotate_orbitals(lih_cas, u)
    assert abs(q.ground_state_energy() - lih_cas.references["casci"]) < 1e-9
    assert abs(_hf_energy(q) - lih_cas.references["hf"]) > 1e-4      # mixes occupied and virtual: HF moves
    with pytest.raises(ChemistryError, match="must be 5 x 5"):
        rotate_orbitals(lih_cas, np.eye(4))
    with pytest.raises(ChemistryError, match="orthogonal"):
        rotate_orbitals(lih_cas, 2.0 * np.eye(5))


def test_block_natural_orbitals_rejects_open_shell():
    from qtandem.chem import Molecule
    from qtandem.chem.orbitals import block_natural_orbitals

    p = Molecule("Li 0 0 0", spin=1).problem(references="none")
    with pytest.raises(ChemistryError, match="closed-shell"):
        block_natural_orbitals(p)


def test_block_natural_orbitals_shorten_lih_adapt(lih_cas):
    # the bench's TEST row, kept as a regression: one operator (6 cx) instead of four (20)
    from qtandem.chem.orbitals import block_natural_orbitals

    q = block_natural_orbitals(lih_cas)
    canon = adapt_vqe(lih_cas, "qubit-adapt", target=1.6e-3, compile_level=None)
    rotated = adapt_vqe(q, "qubit-adapt", target=1.6e-3, compile_level=None, score="per_cnot")
    assert rotated.extra["stopped"] == "target" and len(rotated.operators) < len(canon.operators)
    assert abs(rotated.energy - lih_cas.references["casci"]) < 1.6e-3
    assert rotated.cnot_count == 6


def test_per_cnot_score_prefers_cheap_operator():
    # a double (6 cx) has gradient 0.8, a single (2 cx) 0.4: plain ADAPT takes the double, per-cnot the single
    h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 - 0.5*Z4 + 0.1*X0*X2 + 0.1*Y0*Y2 + 0.2*X0*X1*X2*X3 "
                             "- 0.2*Y0*Y1*X2*X3")
    prob = SimpleNamespace(hamiltonian=h, n_qubits=6, hf_state=0b000011, n_orbitals=3, references={})
    ops = pool(prob, "qubit-adapt")
    by_grad = adapt_vqe(prob, "qubit-adapt", compile_level=None, max_operators=1)
    by_cnot = adapt_vqe(prob, "qubit-adapt", compile_level=None, max_operators=1, score="per_cnot")
    chosen_cx = {op.label: op.cnots for op in ops}
    assert (chosen_cx[by_grad.operators[0]], chosen_cx[by_cnot.operators[0]]) == (6, 2)
    g = abs(by_grad.extra["iterations"][0]["gradient"])
    gc = abs(by_cnot.extra["iterations"][0]["gradient"])
    assert gc / chosen_cx[by_cnot.operators[0]] >= g / chosen_cx[by_grad.operators[0]] - 1e-12
    with pytest.raises(ChemistryError, match="unknown ADAPT score"):
        adapt_vqe(prob, "qubit-adapt", score="cheap")
