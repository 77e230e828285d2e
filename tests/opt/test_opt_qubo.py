"""QUBO: conventions, conversions and the vectorised diagonal against plain loops."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from qtandem.errors import ConfigError
from qtandem.opt import QUBO, binary, maxcut
from qtandem.opt.qubo import bits_of


def _random_qubo(n: int, seed: int) -> QUBO:
    rng = np.random.default_rng(seed)
    lin = {i: float(rng.normal()) for i in range(n)}
    quad = {(i, j): float(rng.normal()) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.6}
    return QUBO(n, lin, quad, offset=float(rng.normal()))


def _loop_energy(q: QUBO, x: tuple[int, ...]) -> float:
    e = q.offset + sum(q.linear[i] * x[i] for i in range(q.n))
    return e + sum(w * x[i] * x[j] for (i, j), w in q.quadratic.items())


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_diagonal_matches_loop_energies_little_endian(n: int) -> None:
    q = _random_qubo(n, seed=n)
    diag = q.diagonal()
    for idx in range(2**n):
        x = tuple((idx >> i) & 1 for i in range(n))
        assert diag[idx] == pytest.approx(_loop_energy(q, x), abs=1e-12)
    np.testing.assert_allclose(q.energy(bits_of(range(2**n), n)), diag, atol=1e-12)


def test_pauli_sum_diagonal_and_ising_round_trip() -> None:
    q = _random_qubo(5, seed=11)
    m = q.to_pauli_sum().to_matrix().numpy()
    np.testing.assert_allclose(np.diag(m).real, q.diagonal(), atol=1e-12)
    assert np.count_nonzero(m - np.diag(np.diag(m))) == 0
    h, J, c = q.to_ising()
    for idx in range(32):
        z = 1 - 2 * bits_of([idx], 5)[0].astype(float)
        ising = c + h @ z + sum(v * z[i] * z[j] for (i, j), v in J.items())
        assert ising == pytest.approx(q.diagonal()[idx])
    back = QUBO.from_ising(h, J, c)
    np.testing.assert_allclose(back.diagonal(), q.diagonal(), atol=1e-12)


def test_matrix_dict_and_expression_constructors_agree() -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(size=(4, 4))
    q = QUBO.from_matrix(m, offset=0.25)
    for idx in range(16):
        x = bits_of([idx], 4)[0].astype(float)
        assert q.energy(x) == pytest.approx(x @ m @ x + 0.25)
    np.testing.assert_allclose(QUBO.from_matrix(q.to_matrix(), q.offset).diagonal(), q.diagonal())
    d = QUBO.from_dict({(0, 0): m[0, 0], (0, 1): m[0, 1] + m[1, 0], (1, 1): m[1, 1]})
    assert d.energy([1, 1]) == pytest.approx(m[:2, :2].sum())
    x = binary(3)
    e = QUBO.from_expression(3 * (x[0] + x[1] + x[2] - 1) ** 2 - 2 * x[1])
    for bits in itertools.product([0, 1], repeat=3):
        assert e.energy(bits) == pytest.approx(3 * (sum(bits) - 1) ** 2 - 2 * bits[1])
    with pytest.raises(ConfigError, match="degree"):
        _ = x[0] * x[1] * x[2]


def test_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="out of range"):
        QUBO(2, {5: 1.0})
    with pytest.raises(ConfigError, match="finite"):
        QUBO(2, {0: float("nan")})
    with pytest.raises(ConfigError, match="length 2"):
        QUBO(2).energy([1, 0, 1])
    with pytest.raises(ConfigError, match="at most 30"):
        QUBO(31).diagonal()


def test_maxcut_energy_is_minus_cut_on_weighted_graph() -> None:
    g = nx.gnp_random_graph(8, 0.5, seed=4)
    rng = np.random.default_rng(4)
    for u, v in g.edges:
        g[u][v]["weight"] = float(rng.uniform(0.1, 2.0))
    p = maxcut(g)
    diag = p.qubo.diagonal()
    for idx in range(0, 256, 7):
        x = bits_of([idx], 8)[0]
        cut = sum(d["weight"] for u, v, d in g.edges(data=True) if x[u] != x[v])
        assert p.value(x) == pytest.approx(cut)
        assert -diag[idx] == pytest.approx(cut)
    assert p.qubo.sense == "max" and p.qubo.objective(diag.min()) == pytest.approx(-diag.min())
