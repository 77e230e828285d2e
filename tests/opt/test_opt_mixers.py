"""XY (subspace) and warm-start mixers, the Dicke start, best-of-N values and init='fixed' errors."""

from __future__ import annotations

import importlib
import itertools
import json
import math

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import torch

from qtandem.circuit import Circuit
from qtandem.errors import ConfigError
from qtandem.opt import QUBO, Problem, maxcut, portfolio, qaoa, qaoa_expectation, solve_classical, tsp
from qtandem.opt.qaoa import _cost, _dicke, _evolve, _mixer_setup, _relaxation, qaoa_circuit
from qtandem.opt.report import best_of_samples, compare
from qtandem.sim.reference import reference_statevector

qaoa_mod = importlib.import_module("qtandem.opt.qaoa")  # the package's `qaoa` is the function
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])


def _op(n: int, ops: dict[int, np.ndarray]) -> np.ndarray:
    out = np.ones((1, 1), dtype=complex)
    for q in reversed(range(n)):  # qubit 0 is the lowest bit of the basis index
        out = np.kron(out, ops.get(q, np.eye(2)))
    return out


def _toy(n: int = 6, groups=((0, 1, 2),), seed: int = 0) -> Problem:
    """A random QUBO with one-hot groups and free variables (the XY path's X-mixed qubits)."""
    rng = np.random.default_rng(seed)
    q = QUBO.from_matrix(np.triu(rng.normal(size=(n, n))))
    grp = [list(g) for g in groups]
    return Problem("toy", q, constraints=grp,
                   is_feasible=lambda x: all(int(np.sum(np.asarray(x)[g])) == 1 for g in grp))


def _portfolio(n: int = 6, budget: int = 3, seed: int = 3) -> Problem:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return portfolio(rng.uniform(0.0, 0.3, n), a @ a.T / n, budget=budget, risk=0.5)


def _weights(groups, n: int) -> list[np.ndarray]:
    idx = np.arange(2**n)
    return [sum((idx >> q) & 1 for q in g) for g in groups]


def test_xy_layer_equals_dense_ring_product_and_keeps_group_weights():
    """One XY layer on the subspace = the product of dense exp(-i b (XX+YY)/2) over the ring pairs (even, odd)
    times exp(-i b X) on free qubits; the dense operator commutes with every group's Hamming weight."""
    n, groups = 7, [[0, 1, 2, 3], [4, 5]]
    prob = _toy(n, groups)
    setup = _mixer_setup(prob, "xy", n, "dicke")
    beta = 0.37
    u = np.eye(2**n, dtype=complex)
    ring = [(0, 1), (2, 3), (1, 2), (3, 0), (4, 5)]  # even pairs, odd pairs, per group
    for i, j in ring:
        u = scipy.linalg.expm(-1j * beta * (_op(n, {i: X, j: X}) + _op(n, {i: Y, j: Y})) / 2) @ u
    u = scipy.linalg.expm(-1j * beta * _op(n, {6: X})) @ u
    for w in _weights(groups, n):
        assert np.allclose(u @ np.diag(w) - np.diag(w) @ u, 0, atol=1e-12)
    rng = np.random.default_rng(1)
    sub = rng.normal(size=setup.states.size) + 1j * rng.normal(size=setup.states.size)
    sub /= np.linalg.norm(sub)
    out = setup.mix(torch.from_numpy(sub), torch.tensor(beta, dtype=torch.float64), n).numpy()
    full = np.zeros(2**n, dtype=complex)
    full[setup.states] = sub
    ref = u @ full
    np.testing.assert_allclose(ref[setup.states], out, atol=1e-12)
    assert np.linalg.norm(np.delete(ref, setup.states)) < 1e-12  # nothing leaves the subspace
    assert setup.states.size == math.comb(4, 1) * math.comb(2, 1) * 2


@pytest.mark.parametrize("start", ["dicke", "basis"])
def test_xy_with_free_qubits_matches_exported_circuit(start):
    prob = _toy(6, [[0, 1, 2], [3, 4]], seed=2)
    g, b = np.array([0.3, -0.7]), np.array([0.5, 0.2])
    ref = reference_statevector(qaoa_circuit(prob, g, b, mixer="xy", start=start))
    probs = qaoa_mod._probabilities(prob, g, b, "xy", start)
    np.testing.assert_allclose(np.abs(ref) ** 2, probs, atol=1e-12)
    e = float(qaoa_expectation(prob, g, b, mixer="xy", start=start))
    assert e == pytest.approx(float(prob.qubo.diagonal() @ np.abs(ref) ** 2), abs=1e-10)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (3, 1), (4, 2), (5, 3), (6, 1), (6, 4)])
def test_dicke_circuit_prepares_the_uniform_weight_k_state(n, k):
    c = Circuit(n + 1)
    qubits = list(range(1, n + 1))
    _dicke(c, qubits, k)
    ref = np.zeros(2 ** (n + 1))
    for comb in itertools.combinations(qubits, k):
        ref[sum(1 << q for q in comb)] = 1
    np.testing.assert_allclose(reference_statevector(c), ref / np.linalg.norm(ref), atol=1e-12)


def test_xy_is_feasible_and_p_feasible_on_the_subspace_matches_enumeration(monkeypatch):
    d = [[0, 3, 4, 2], [3, 0, 2, 4], [4, 2, 0, 3], [2, 4, 3, 0]]
    prob = tsp(d)
    r = qaoa(prob, 1, mixer="xy", init=(np.array([0.2]), np.array([0.4])), max_evaluations=0)
    probs = r.probabilities()
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    bits = (np.arange(2**9)[:, None] >> np.arange(9)) & 1
    one_hot_positions = np.array([all(x[g].sum() == 1 for g in prob.constraints) for x in bits])
    assert probs[~one_hot_positions].sum() < 1e-14  # only states with one city per position
    feas = np.array([prob.is_feasible(x) for x in bits])
    assert r.p_feasible == pytest.approx(float(probs[feas].sum()), abs=1e-12)
    monkeypatch.setattr(qaoa_mod, "_feasible_mask", lambda problem, n: None)  # force the subspace branch
    r2 = qaoa(prob, 1, mixer="xy", init=(np.array([0.2]), np.array([0.4])), max_evaluations=0)
    assert r2.p_feasible == pytest.approx(r.p_feasible, abs=1e-12)
    port = qaoa(_portfolio(), 2, mixer="xy", init="random", seed=0, max_evaluations=30)
    assert port.p_feasible == pytest.approx(1.0, abs=1e-12)


def test_warm_start_reproduces_the_relaxed_state_at_zero_angles():
    """p = 0 (zero angles): the product state with P(x_j = 1) = c_j, c the regularised relaxation: the
    portfolio QP (checked against scipy's SLSQP) and MaxCut's Goemans-Williamson cut."""
    prob = _portfolio(6, 3)
    c = _relaxation(prob, 6)
    import scipy.optimize

    mu, sig, risk = prob.data["mu"], prob.data["sigma"], prob.data["risk"]
    ref = scipy.optimize.minimize(lambda x: risk * x @ sig @ x - mu @ x, np.full(6, 0.5), method="SLSQP",
                                  bounds=[(0, 1)] * 6, constraints=[{"type": "eq", "fun": lambda x: x.sum() - 3}],
                                  options={"ftol": 1e-12})
    np.testing.assert_allclose(c, np.clip(ref.x, 0.25, 0.75), atol=2e-4)
    for problem, cvec in [(prob, c), (maxcut(nx.random_regular_graph(3, 8, seed=4)), None)]:
        n = problem.n_variables
        if cvec is None:
            cut = solve_classical(problem, "gw", seed=0, rounds=100).solution
            cvec = np.where(np.asarray(cut) > 0, 0.75, 0.25)
        r = qaoa(problem, 1, mixer="warm", init=(np.zeros(1), np.zeros(1)), max_evaluations=0)
        bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        expected = np.prod(np.where(bits == 1, cvec, 1 - cvec), axis=1)
        np.testing.assert_allclose(r.probabilities(), expected, atol=1e-12)


def test_best_of_samples_and_compare_report_like_with_like(capsys):
    prob = maxcut(nx.random_regular_graph(3, 8, seed=0))
    samples = np.array([[0] * 8, [1, 0] * 4, [1, 1, 0, 0] * 2])
    cuts = [sum(1 for u, v in prob.graph.edges if s[u] != s[v]) for s in samples]
    assert best_of_samples(prob, samples) == (float(max(cuts)), samples[int(np.argmax(cuts))].tolist())
    d = [[0, 3, 4, 2], [3, 0, 2, 4], [4, 2, 0, 3], [2, 4, 3, 0]]
    route = tsp(d)
    assert math.isnan(best_of_samples(route, np.ones((3, 9), dtype=int))[0])
    out = compare(route, p=1, init="interp", classical=("exact",), max_evaluations=70, shots=200, seed=4)
    q, ex = out["rows"][-1], out["rows"][0]
    res = qaoa(route, 1, init="interp", seed=4, max_evaluations=70)
    draws = res.samples(200, seed=4)
    values = [route.value(x) for x in draws if route.is_feasible(x)]
    assert q["value"] == pytest.approx(min(values)) and q["feasible"] and q["shots"] == 200
    assert q["value"] >= ex["value"] - 1e-9 and q["ratio"] == pytest.approx(q["value"] / ex["value"])
    assert q["expected"] == pytest.approx(res.energy) and q["expected"] > q["value"]  # penalties inflate <C>
    with pytest.raises(ConfigError, match="shots must be a positive int"):
        compare(route, p=1, classical=(), shots=0)
    from qtandem.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["opt", "solve", "examples/opt/portfolio.toml", "--mixer", "xy", "--shots", "50", "--compare",
              "classical", "--max-evaluations", "20", "--json"])
    text = capsys.readouterr()
    assert info.value.code == 0, text.err
    rows = json.loads(text.out)["rows"]
    assert rows[-1]["solver"].endswith("best of 50") and rows[-1]["p_feasible"] == pytest.approx(1.0)
    with pytest.raises(SystemExit) as info:
        main(["opt", "solve", "examples/opt/portfolio.toml", "--mixer", "yz"])
    assert info.value.code == 2 and "--mixer: unknown 'yz'" in capsys.readouterr().err


@pytest.mark.parametrize("make", [lambda: maxcut(nx.path_graph(5)), lambda: tsp([[0, 1, 2], [1, 0, 1], [2, 1, 0]]),
                                  _portfolio])
def test_fixed_init_is_refused_clearly_off_regular_maxcut(make):
    with pytest.raises(ConfigError, match="MaxCut on regular graphs only; use init='interp'"):
        qaoa(make(), 1, init="fixed")


def test_bad_start_and_cost_cache_reuse():
    prob = _portfolio(5, 2)
    with pytest.raises(ConfigError, match="start must be one of"):
        qaoa(prob, 1, mixer="xy", start="w")
    assert _mixer_setup(prob, "xy", 5) is _mixer_setup(prob, "xy", 5)  # built once per problem
    cost = _cost(prob)
    s = _mixer_setup(prob, "xy", 5)
    psi, d = _evolve(cost, s, torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    assert d.numel() == math.comb(5, 2) and float((psi.abs() ** 2).sum()) == pytest.approx(1.0)


def test_learned_start_on_portfolios_uses_the_portfolio_model():
    """predict_angles routes portfolios to the model trained with portfolio QUBOs; on a DEV-split portfolio its
    start is far better than the MaxCut-trained model's (r = (<C> - mean C) / (min C - mean C))."""
    from qtandem.opt.angles import predict_angles
    from qtandem.opt.gnn import load_model
    from qtandem.opt.train_angles import instance

    prob = instance("portfolio", 10, 7_000_000)
    assert load_model("portfolio") is load_model("portfolio") and load_model("portfolio") is not load_model()
    g, b = predict_angles(prob, 2)
    g2, b2 = predict_angles(prob, 2, model=load_model("portfolio"))
    assert np.array_equal(g, g2) and np.array_equal(b, b2)
    d = prob.qubo.diagonal()

    def r(gb):
        return (float(qaoa_expectation(prob, *gb)) - d.mean()) / (d.min() - d.mean())

    assert r((g, b)) > 0.75 and r((g, b)) > r(predict_angles(prob, 2, model=load_model())) + 0.15
