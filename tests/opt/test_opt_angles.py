"""Fixed-angle table and INTERP (qtandem.opt.angles): closed forms, the issue's anchors, errors."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch

from qtandem.errors import ConfigError
from qtandem.opt import maxcut
from qtandem.opt.angles import fixed_angles, interp_angles, tabulate_fixed_angles


def _energy():
    from qtandem.opt import qaoa_expectation

    return qaoa_expectation


def _energy_at(problem, g, b) -> float:
    with torch.no_grad():
        return float(_energy()(problem.qubo, torch.as_tensor(g, dtype=torch.float64),
                               torch.as_tensor(b, dtype=torch.float64)))


def test_p1_closed_form_on_petersen_graph():
    # triangle-free 3-regular: <cut per edge> = 1/2 - 1/2 sin(4 beta) sin(gamma) cos(gamma)^2 in qtandem's
    # convention (C = -cut; Wang et al. PRA 97, 022304 with gamma -> -gamma)
    prob = maxcut(nx.petersen_graph())
    for g, b in [(0.3, -0.2), (0.9, 0.5), (-1.3, 0.1)]:
        expected = -15 * (0.5 - 0.5 * math.sin(4 * b) * math.sin(g) * math.cos(g) ** 2)
        assert _energy_at(prob, [g], [b]) == pytest.approx(expected, abs=1e-10)
    # the tabulated p=1 angles are near the tree optimum gamma = atan(1/sqrt(2)), beta = -pi/8
    g, b = fixed_angles(1, 3)
    assert abs(g[0] - math.atan(1 / math.sqrt(2))) < 0.05 and abs(b[0] + math.pi / 8) < 0.05


def test_table_reaches_the_issue_anchors_on_3_regular_n10():
    ratios = {1: [], 2: [], 3: []}
    for s in range(10):
        prob = maxcut(nx.random_regular_graph(3, 10, seed=500 + s))
        best = prob.qubo.diagonal().min()
        for p in ratios:
            ratios[p].append(_energy_at(prob, *fixed_angles(p, 3)) / best)
    means = {p: float(np.mean(r)) for p, r in ratios.items()}
    # anchors 0.788 / 0.866 / 0.912 (issue 19); 10 graphs (std of one ratio ~0.015)
    assert means[1] == pytest.approx(0.788, abs=0.02)
    assert means[2] == pytest.approx(0.866, abs=0.02)
    assert means[3] == pytest.approx(0.912, abs=0.02)
    assert means[1] < means[2] < means[3]


def test_tabulate_is_a_stationary_point_and_scale_divides_gammas():
    table = tabulate_fixed_angles(3, 2, n=8, n_graphs=2, seed=3, energy=_energy(), max_iter=40,
                                  grid=6)
    assert set(table) == {"1", "2"} and table["2"]["energy_per_edge"] < table["1"]["energy_per_edge"] < -0.6
    graphs = [maxcut(nx.random_regular_graph(3, 8, seed=int(s)))
              for s in np.random.default_rng(3).integers(2**31, size=2)]
    x = torch.tensor(table["2"]["gammas"] + table["2"]["betas"], dtype=torch.float64, requires_grad=True)
    loss = sum(_energy()(pr.qubo, x[:2], x[2:]) / 12 for pr in graphs) / 2
    loss.backward()
    assert float(x.grad.abs().max()) < 1e-4
    g1, b1 = fixed_angles(3, 4)
    g2, b2 = fixed_angles(3, 4, scale=2.5)
    np.testing.assert_allclose(g2, g1 / 2.5)
    np.testing.assert_array_equal(b2, b1)


def test_interp_matches_zhou_formula():
    g, b = interp_angles([1.0, 2.0], [3.0, 1.0])
    # p=2 -> 3: x'_1 = x_1, x'_2 = (x_1 + x_2)/2, x'_3 = x_2
    np.testing.assert_allclose(g, [1.0, 1.5, 2.0])
    np.testing.assert_allclose(b, [3.0, 2.0, 1.0])


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match="p=6, degree=3"):
        fixed_angles(6, 3)
    with pytest.raises(ConfigError, match="degree=7"):
        fixed_angles(1, 7)
    with pytest.raises(ConfigError, match="scale"):
        fixed_angles(1, 3, scale=0.0)


def test_predict_angles_uses_the_table_only_where_it_applies():
    """Regular MaxCut with one positive weight: the table (scaled); otherwise the network."""
    from qtandem.opt.angles import predict_angles

    reg = nx.random_regular_graph(3, 10, seed=4)
    g, b = predict_angles(maxcut(reg), 2)
    g0, b0 = fixed_angles(2, 3)
    assert np.array_equal(g, g0) and np.array_equal(b, b0)
    heavy = reg.copy()
    nx.set_edge_attributes(heavy, 2.0, "weight")
    assert np.allclose(predict_angles(maxcut(heavy), 2)[0], g0 / 2)
    net_g, _ = predict_angles(maxcut(reg), 2, table=False)
    assert not np.allclose(net_g, g0)
    mixed = reg.copy()
    for i, (u, v) in enumerate(mixed.edges()):
        mixed[u][v]["weight"] = 1.0 + (i % 3)
    irregular = nx.path_graph(6)
    for prob in (maxcut(mixed), maxcut(irregular)):
        assert np.array_equal(predict_angles(prob, 2)[0], predict_angles(prob, 2, table=False)[0])
    six = maxcut(nx.random_regular_graph(6, 10, seed=0))  # degree not tabulated: the network, no error
    assert np.array_equal(predict_angles(six, 2)[0], predict_angles(six, 2, table=False)[0])


def test_network_gives_one_angle_set_per_degree_on_regular_graphs():
    """Why the table is used there: all nodes of a regular unweighted graph look alike to the network."""
    from qtandem.opt.angles import predict_angles

    a = predict_angles(maxcut(nx.random_regular_graph(3, 12, seed=1)), 3, table=False)
    b = predict_angles(maxcut(nx.random_regular_graph(3, 18, seed=2)), 3, table=False)
    c = predict_angles(maxcut(nx.random_regular_graph(4, 12, seed=1)), 3, table=False)
    assert np.allclose(a[0], b[0], atol=1e-12) and np.allclose(a[1], b[1], atol=1e-12)
    assert not np.allclose(a[0], c[0], atol=1e-3)
