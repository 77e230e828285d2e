"""FermionOperator algebra: normal ordering against explicit matrices, adjoint, equality."""

from __future__ import annotations

import numpy as np
import pytest

from qtandem.chem.fermion import FermionOperator, anti_hermitian, double_excitation, single_excitation
from qtandem.errors import ChemistryError


def ladder(j: int, n: int, dagger: bool) -> np.ndarray:
    """Independent oracle: a_j (or a_j^dag) on 2^n occupation states, index bit k = mode k."""
    dim = 2**n
    m = np.zeros((dim, dim))
    for s in range(dim):
        if (s >> j & 1) == (0 if dagger else 1):
            sign = (-1) ** bin(s & ((1 << j) - 1)).count("1")
            m[s ^ (1 << j), s] = sign
    return m


def dense(op: FermionOperator, n: int) -> np.ndarray:
    out = np.zeros((2**n, 2**n), dtype=complex)
    for term, c in op.terms.items():
        m = np.eye(2**n, dtype=complex)
        for mode, action in term:
            m = m @ ladder(mode, n, bool(action))
        out += c * m
    return out


def random_op(rng: np.random.Generator, n: int, n_terms: int) -> FermionOperator:
    op = FermionOperator()
    for _ in range(n_terms):
        k = int(rng.integers(0, 5))
        term = tuple((int(rng.integers(n)), int(rng.integers(2))) for _ in range(k))
        op = op + FermionOperator.term(complex(rng.normal(), rng.normal()), term)
    return op


@pytest.mark.parametrize("seed", range(5))
def test_normal_order_preserves_the_operator(seed):
    rng = np.random.default_rng(seed)
    op = random_op(rng, 4, 6)
    no = op.normal_ordered()
    np.testing.assert_allclose(dense(no, 4), dense(op, 4), atol=1e-12)
    for term in no.terms:  # creators first, each block by descending mode
        actions = [a for _, a in term]
        assert actions == sorted(actions, reverse=True)
        for a in (0, 1):
            modes = [m for m, b in term if b == a]
            assert modes == sorted(modes, reverse=True) and len(set(modes)) == len(modes)


def test_anticommutation_and_products():
    for p in range(3):
        for q in range(3):
            ap, aq_dag = FermionOperator.term(1, ((p, 0),)), FermionOperator.term(1, ((q, 1),))
            assert ap * aq_dag + aq_dag * ap == (1.0 if p == q else 0.0)
            assert (ap * FermionOperator.term(1, ((q, 0),)) + FermionOperator.term(1, ((q, 0),)) * ap) == 0
    assert double_excitation(1, 1, 0, 2).normal_ordered().terms == {}


def test_adjoint_hermitian_and_generators():
    rng = np.random.default_rng(7)
    op = random_op(rng, 3, 5)
    np.testing.assert_allclose(dense(op.adjoint(), 3), dense(op, 3).conj().T, atol=1e-12)
    assert (op + op.adjoint()).is_hermitian()
    g = anti_hermitian(double_excitation(3, 2, 1, 0))
    assert not g.is_hermitian() and g.adjoint() == -g
    assert single_excitation(2, 0) == FermionOperator.from_terms({((2, 1), (0, 0)): 1.0})
    assert single_excitation(2, 0) != single_excitation(0, 2)
    assert FermionOperator.term(1, ((0, 1), (1, 1))) == -FermionOperator.term(1, ((1, 1), (0, 1)))
    assert (2 * single_excitation(1, 0) / 2 - single_excitation(1, 0)).simplify().terms == {}


def test_bad_terms_raise():
    with pytest.raises(ChemistryError, match="action 1"):
        FermionOperator.term(1.0, ((0, 2),))
    with pytest.raises(ChemistryError, match="pair"):
        FermionOperator.term(1.0, ((0, 1, 2),))
    with pytest.raises(ChemistryError, match="finite"):
        FermionOperator.term(float("nan"), ((0, 1),))
