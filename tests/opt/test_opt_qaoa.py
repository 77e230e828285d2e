"""qtandem.opt.qaoa: energies against explicit statevectors, circuits, mixers, objectives, options."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch

from qtandem.circuit import Circuit
from qtandem.errors import ConfigError
from qtandem.opt import QUBO, maxcut, portfolio, qaoa, qaoa_expectation, tsp
from qtandem.opt.qaoa import qaoa_circuit
from qtandem.sim.reference import reference_statevector


def _reg(n: int, seed: int):
    return maxcut(nx.random_regular_graph(3, n, seed=seed))


def _weighted(n: int, seed: int):
    g = nx.gnp_random_graph(n, 0.5, seed=seed)
    rng = np.random.default_rng(seed)
    for u, v in g.edges:
        g[u][v]["weight"] = float(rng.uniform(0.2, 2.0))
    return maxcut(g)


def _portfolio(n: int = 4, budget: int = 2):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(n, n))
    return portfolio(rng.uniform(0.0, 0.3, n), a @ a.T / n, budget=budget, risk=0.5)


def _same_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-10) -> bool:
    k = int(np.argmax(np.abs(b)))
    ph = a[k] / b[k]
    return abs(abs(ph) - 1) < atol and np.allclose(a, ph * b, atol=atol)


@pytest.mark.parametrize(("make", "mixer"), [(lambda: _weighted(6, 1), "x"), (lambda: _reg(6, 2), "x"),
                                             (_portfolio, "xy"), (lambda: _weighted(5, 3), "warm"),
                                             (lambda: tsp([[0, 2, 3], [2, 0, 4], [3, 4, 0]]), "xy")])
def test_circuit_statevector_equals_fast_path_and_energy(make, mixer):
    """The exported circuit, run by the independent NumPy reference simulator, gives the fast path's state."""
    prob = make()
    rng = np.random.default_rng(0)
    g, b = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    circ = qaoa_circuit(prob, g, b, mixer=mixer)
    ref = reference_statevector(circ)
    from qtandem.opt.qaoa import _cost, _evolve, _mixer_setup
    from qtandem.sim import diagonal as D

    cost = _cost(prob)
    setup = _mixer_setup(prob, mixer, cost.n)
    fast = D.evolve_torch(torch.from_numpy(cost.diagonal), torch.tensor(g), torch.tensor(b)).numpy()
    if mixer != "x":  # the torch path (XY: inside the groups' subspace), embedded into 2**n amplitudes
        sub = _evolve(cost, setup, torch.tensor(g), torch.tensor(b))[0].numpy()
        fast = np.zeros(2**cost.n, dtype=complex)
        fast[setup.states if setup.states is not None else slice(None)] = sub
    if mixer == "x":
        fast2 = D.qaoa_state(cost, g, b)
        np.testing.assert_allclose(fast, fast2, atol=1e-12)
    assert _same_up_to_phase(fast, ref)
    energy = float(np.dot(prob.qubo.diagonal(), np.abs(ref) ** 2))
    assert float(qaoa_expectation(prob, g, b, mixer=mixer)) == pytest.approx(energy, abs=1e-10)


def test_expectation_accepts_qubo_and_matches_qokit_convention():
    """QUBO input; MaxCut energy = minus expected cut; QOKit's exp(-i gamma_q C/2) is gamma = gamma_q / 2."""
    prob = _reg(8, 4)
    g, b = np.array([0.3, 0.5]), np.array([-0.6, -0.2])
    e_problem = float(qaoa_expectation(prob, g, b))
    e_qubo = float(qaoa_expectation(QUBO.from_matrix(prob.qubo.to_matrix(), prob.qubo.offset), g, b))
    assert e_problem == pytest.approx(e_qubo, abs=1e-12)
    # the QOKit form: phase exp(-i (2 gamma) C / 2) with C = -cut, the same mixer angle
    cut = -prob.qubo.diagonal()
    psi = np.full(cut.size, 2 ** -4, dtype=complex)
    for gq, bq in zip(2 * g, b, strict=True):
        psi = psi * np.exp(-1j * gq * (-cut) / 2)
        psi = _rx_all(psi, 8, bq)
    assert -float(np.dot(cut, np.abs(psi) ** 2)) == pytest.approx(e_problem, abs=1e-10)


def _rx_all(psi: np.ndarray, n: int, beta: float) -> np.ndarray:
    rx = np.array([[math.cos(beta), -1j * math.sin(beta)], [-1j * math.sin(beta), math.cos(beta)]])
    t = psi.reshape([2] * n)
    for ax in range(n):
        t = np.moveaxis(np.tensordot(rx, t, axes=([1], [ax])), 0, ax)
    return t.reshape(-1)


def test_qasm_round_trip_and_compile_for_device():
    prob = _reg(6, 5)
    r = qaoa(prob, 2, init="fixed", max_evaluations=10)
    circ = r.circuit()
    back = Circuit.from_qasm(circ.to_qasm())
    assert _same_up_to_phase(reference_statevector(back), reference_statevector(circ))
    from qtandem.compile import prepare_for_device

    small = qaoa(maxcut(nx.cycle_graph(4)), 1, init="random", seed=0, max_evaluations=5).circuit()
    compiled, report = prepare_for_device(small, "line_5", seed=0)  # verified equivalent by qtandem.compile
    assert compiled.n_qubits >= 4 and report["physical_qubits"]


def test_fixed_and_interp_and_random_inits():
    prob = _reg(10, 0)
    fixed0 = qaoa(prob, 2, init="fixed", max_evaluations=0)
    assert fixed0.n_evaluations == 0 and fixed0.approximation_ratio > 0.82  # tabulated angles, no optimisation
    fixed = qaoa(prob, 2, init="fixed")
    assert fixed.approximation_ratio >= fixed0.approximation_ratio - 1e-9
    interp = qaoa(prob, 2, init="interp")
    assert interp.approximation_ratio == pytest.approx(fixed.approximation_ratio, abs=0.02)
    assert interp.n_evaluations >= 64  # the p=1 grid is counted
    rnd = qaoa(prob, 1, init="random", seed=3)
    assert rnd.history and rnd.n_gradient_evaluations == rnd.n_evaluations
    assert rnd.energy == pytest.approx(min(rnd.history), abs=1e-6)
    with pytest.raises(ConfigError, match="MaxCut on regular graphs"):
        qaoa(_weighted(6, 1).qubo, 1, init="fixed")


def test_objectives_cvar_and_p_opt():
    prob = _weighted(7, 2)
    e = qaoa(prob, 1, init="random", seed=1)
    cv = qaoa(prob, 1, init="random", seed=1, objective="cvar", alpha=0.2)
    po = qaoa(prob, 1, init="random", seed=1, objective="p_opt")
    probs = cv.probabilities()
    d = prob.qubo.diagonal()
    order = np.argsort(d)
    tail, mass = 0.0, 0.0
    for i in order:  # CVaR by definition: the lowest 20% of the probability mass
        take = min(probs[i], 0.2 - mass)
        if take <= 0:
            break
        tail += take * d[i]
        mass += take
    assert cv.objective == pytest.approx(tail / 0.2, abs=1e-9)
    assert cv.objective <= cv.energy + 1e-12
    assert po.p_optimal >= e.p_optimal - 1e-9
    assert po.objective == pytest.approx(-po.p_optimal, abs=1e-9)


def test_shots_are_seeded_and_noise_degrades():
    prob = maxcut(nx.cycle_graph(4))
    a = qaoa(prob, 1, init="random", seed=5, shots=200, max_evaluations=30)
    b = qaoa(prob, 1, init="random", seed=5, shots=200, max_evaluations=30)
    assert a.history == b.history and np.array_equal(a.gammas, b.gammas)
    assert np.array_equal(a.samples(20, seed=2), b.samples(20, seed=2))
    from qtandem.noise import NoiseModel, depolarizing

    model = NoiseModel(strict=False).add(depolarizing(0.05, 1), gates=["rx"]).add(depolarizing(0.05, 2), gates=["rzz"])
    g, bb = np.array([0.4]), np.array([-0.35])
    noisy = qaoa(prob, 1, init=(g, bb), noise=model, max_evaluations=0)
    clean = qaoa(prob, 1, init=(g, bb), max_evaluations=0)
    assert noisy.energy == pytest.approx(clean.energy, abs=1e-12)  # the exact energy stays noiseless
    assert noisy.objective > clean.objective + 0.05  # depolarised: closer to the uniform mean -2


def test_xy_keeps_budget_and_warm_start_helps():
    prob = _portfolio(6, 3)
    xy = qaoa(prob, 2, mixer="xy", init="random", seed=0, max_evaluations=60)
    assert xy.p_feasible == pytest.approx(1.0, abs=1e-12)
    x = qaoa(prob, 2, mixer="x", init="random", seed=0, max_evaluations=60)
    assert x.p_feasible < 0.999
    warm0 = qaoa(prob, 1, mixer="warm", init=(np.zeros(1), np.zeros(1)), max_evaluations=0)
    uniform = 1 / 2**6
    assert warm0.p_optimal > uniform  # the warm-start state alone beats |+>^n


def test_bad_options():
    prob = maxcut(nx.cycle_graph(4))
    with pytest.raises(ConfigError, match="mixer must be one of"):
        qaoa(prob, 1, mixer="z")
    with pytest.raises(ConfigError, match="objective must be one of"):
        qaoa(prob, 1, objective="max")
    with pytest.raises(ConfigError, match="p must be a positive int"):
        qaoa(prob, 0)
    with pytest.raises(ConfigError, match="needs problem.constraints"):
        qaoa(prob, 1, mixer="xy")
    with pytest.raises(ConfigError, match="lbfgs' needs the exact energy"):
        qaoa(prob, 1, shots=10, optimizer="lbfgs")
    with pytest.raises(ConfigError, match="need 1 gammas and 1 betas"):
        qaoa(prob, 1, init=(np.zeros(2), np.zeros(2)))
