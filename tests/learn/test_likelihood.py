"""LikelihoodModel: the same probabilities as the simulator executor, gradients, Fisher, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qtandem import Circuit, Parameter
from qtandem.device import Device
from qtandem.device.executors import restrict, touched_qubits
from qtandem.errors import DataError
from qtandem.learn.experiments import build_experiment
from qtandem.learn.likelihood import (
    EDGE_FIELDS,
    QUBIT_FIELDS,
    LikelihoodModel,
    _compress,
    _fuse,
    _idle_superops,
    _power,
    parse_param,
)
from qtandem.noise import channels as ch


def _all_names(dev: Device) -> list[str]:
    return ([f"q{q}.{f}" for q in range(dev.num_qubits) for f in QUBIT_FIELDS]
            + [f"e{a}-{b}.{f}" for a, b in sorted(dev.edges) for f in EDGE_FIELDS])


def _random_circuits(dev: Device, count: int, seed: int) -> list[Circuit]:
    rng = np.random.default_rng(seed)
    out = []
    n = dev.num_qubits
    for _ in range(count):
        qs = sorted(rng.choice(n, size=int(rng.integers(1, min(n, 3) + 1)), replace=False).tolist())
        c = Circuit(n, len(qs))
        for _ in range(int(rng.integers(3, 25))):
            r, q = rng.random(), int(rng.choice(qs))
            if r < 0.25:
                c.sx(q)
            elif r < 0.4:
                c.x(q)
            elif r < 0.55:
                c.rz(float(rng.normal()), q)
            elif r < 0.7:
                where = rng.choice(qs, size=int(rng.integers(1, len(qs) + 1)), replace=False)
                c.delay(float(rng.uniform(0, 3000)), [int(x) for x in where])
            else:
                pairs = [(a, b) for a, b in dev.edges if a in qs and b in qs]
                if pairs:
                    a, b = pairs[int(rng.integers(len(pairs)))]
                    c.cx(*((a, b) if rng.random() < 0.5 else (b, a)))
        if rng.random() < 0.5:  # a long repeated run: one matrix power
            for _ in range(int(rng.integers(8, 40))):
                c.sx(qs[0])
        for i, q in enumerate(qs):
            c.measure(q, i)
        out.append(c)
    return out


def _executor_probabilities(dev: Device, circuit: Circuit) -> np.ndarray:
    """What simulator_executor samples from: the circuit on its touched qubits of the cut device."""
    qubits = touched_qubits(circuit)
    dist = dev.subset(qubits).noise_model().record_distribution(restrict(circuit, qubits))
    out = np.zeros(2**circuit.n_clbits)
    for k, v in dist.items():
        out[k] += v
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_probabilities_match_the_simulator_executor(seed):
    dev = Device.random(4, seed=seed)
    dev.readout_correlations = {}
    lik = LikelihoodModel(_all_names(dev), dev, range(4))
    circuits = _random_circuits(dev, 10, seed)
    probs = lik.probabilities(circuits, lik.theta0())
    for c, p in zip(circuits, probs, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), _executor_probabilities(dev, c), atol=1e-12)


def test_correlated_readout_matches_the_simulator():
    dev = Device.random(3, seed=5)
    dev.readout_correlations = {(0, 1): [[0.95, 0.03, 0.02, 0.0], [0.03, 0.94, 0.0, 0.04],
                                         [0.02, 0.0, 0.93, 0.05], [0.0, 0.03, 0.05, 0.91]]}
    lik = LikelihoodModel(["q0.t1"], dev, [0, 1])
    c = Circuit(3, 2).x(0).sx(1).cx(0, 1).measure([1, 0], [0, 1])
    p = lik.probabilities([c], lik.theta0())[0]
    np.testing.assert_allclose(p.detach().numpy(), _executor_probabilities(dev, c), atol=1e-12)


def test_idle_closed_form_is_thermal_relaxation_then_rz():
    t = torch.tensor([0.0, 150.0, 4000.0], dtype=torch.float64)
    got = _idle_superops(9e3, 1.2e4, 3e-4, t)
    for i, ti in enumerate(t.tolist()):
        relax = ch.thermal_relaxation(9e3, 1.2e4, ti).superop()
        rz = ch.coherent_rotation("z", 3e-4 * ti).superop()
        torch.testing.assert_close(got[i], rz @ relax)


def test_repeated_blocks_compress_to_powers():
    seq = ["a", "b", "a", "b", "a", "b", "c", "d", "d", "d", "d"]
    assert _compress(seq) == [("pow", ("a", "b"), 3), "c", ("pow", ("d",), 4)]
    assert _compress(["a", "b", "c"]) == ["a", "b", "c"]


def test_gradients_match_finite_differences():
    dev = Device.random(2, seed=4)
    dev.readout_correlations = {}
    names = ["q0.t1", "q0.t2", "q0.detuning", "q0.sx_angle_error", "q0.gate_error_1q", "e0-1.zz",
             "e0-1.angle_error", "q1.readout_p10"]
    lik = LikelihoodModel(names, dev, [0, 1])
    circuits = [Circuit(2, 2).x(1).sx(0).delay(2000.0, [0, 1]).sx(0).sx(0).cx(0, 1).measure([0, 1], [0, 1])]
    theta = lik.theta0()

    def f(th: torch.Tensor) -> torch.Tensor:
        p = lik.probabilities(circuits, th)[0]
        return (p * torch.arange(1.0, 5.0, dtype=torch.float64)).sum()

    grad = torch.autograd.functional.jacobian(f, theta)
    for i in range(len(names)):
        h = 1e-6 * max(abs(float(theta[i])), 1e-3)
        up, down = theta.clone(), theta.clone()
        up[i] += h
        down[i] -= h
        with torch.no_grad():
            num = (float(f(up)) - float(f(down))) / (2 * h)
        assert grad[i] == pytest.approx(num, rel=1e-4, abs=1e-9), names[i]


def test_fisher_of_a_readout_circuit():
    lik = LikelihoodModel(["q0.readout_p01", "q0.readout_p10"], Device.preset("line_5"), [0])
    theta = torch.tensor([0.1, 0.2], dtype=torch.float64)
    circuits = [Circuit(1, 1).measure(0, 0), Circuit(1, 1).x(0).measure(0, 0)]
    info = lik.fisher(circuits, [100, 400], theta)
    assert info[0, 0] == pytest.approx(100 / (0.1 * 0.9))
    assert info[1, 1] == pytest.approx(400 / (0.2 * 0.8), rel=5e-3)  # the x gate is not perfect
    assert abs(float(info[0, 1])) < 1e-3 * float(info[0, 0])  # only through the imperfect x


def test_nll_is_the_multinomial_log_likelihood():
    lik = LikelihoodModel(["q0.readout_p01"], Device.preset("line_5"), [0])
    circuits = [Circuit(1, 1).measure(0, 0)]
    nll = lik.nll((circuits, [{"0": 70, "1": 30}]), torch.tensor([0.3], dtype=torch.float64))
    assert float(nll) == pytest.approx(-(70 * math.log(0.7) + 30 * math.log(0.3)))


def test_encode_and_device_put_numbers_in_place():
    dev = Device.preset("line_5")
    lik = LikelihoodModel(["q2.t1", "e1-2.zz"], dev, [1, 2])
    theta = lik.encode({"q2.t1": 5e4, "e1-2.zz": 1e-4})
    moved = lik.device(theta)
    assert float(moved.qubits[2].t1) == 5e4 and float(moved.edges[(1, 2)].zz) == pytest.approx(1e-4)
    assert dev.qubits[2].t1 != 5e4  # the base device is untouched


@pytest.mark.parametrize("name", ["q0.t3", "x1.t1", "e1-0.zz", "e0-1.t1", "q0"])
def test_bad_parameter_names(name):
    with pytest.raises(DataError, match="parameter"):
        parse_param(name)


def test_parameters_outside_the_device():
    with pytest.raises(DataError, match="has 5 qubits"):
        LikelihoodModel(["q7.t1"], Device.preset("line_5"), [7])
    with pytest.raises(DataError, match="no coupling"):
        LikelihoodModel(["e0-2.zz"], Device.preset("line_5"), [0, 2])


@pytest.mark.parametrize(("circuit", "match"), [
    (Circuit(1, 2).measure(0, 0).x(0).measure(0, 1), "mid-circuit"),
    (Circuit(1, 1).reset(0).measure(0, 0), "reset"),
    (Circuit(1, 1).rz(Parameter("a"), 0).measure(0, 0), "symbolic"),
])
def test_unsupported_circuits(circuit, match):
    lik = LikelihoodModel(["q0.t1"], Device.preset("line_5"), [0])
    with pytest.raises(DataError, match=match):
        lik.probabilities([circuit], lik.theta0())


def _rb_circuits(dev: Device) -> list[Circuit]:
    """Single-qubit RB on qubits 0 and 2 and interleaved two-qubit RB on (0, 1): long random sequences."""
    n = dev.num_qubits
    out = []
    for q in (0, 2):
        out += build_experiment("rb", (q,), width=n, xs=[1, 7, 60, 301], n_seeds=2, seed=q).circuits
    out += build_experiment("irb", (0, 1), width=n, xs=[1, 4, 23], n_seeds=2, seed=5).circuits
    return out


@pytest.mark.parametrize("seed", [0, 3])
def test_rb_and_irb_match_the_gate_by_gate_simulation(seed):
    """The fused superoperator products (pairs of steps, powers, the chain) give the density-matrix
    simulator's numbers, gate by gate, to 1e-10 on sequences of up to 300 Cliffords."""
    dev = Device.random(3, seed=seed)
    dev.readout_correlations = {}
    lik = LikelihoodModel(_all_names(dev), dev, range(3))
    circuits = _rb_circuits(dev)
    probs = lik.probabilities(circuits, lik.theta0())
    for c, p in zip(circuits, probs, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), _executor_probabilities(dev, c), atol=1e-10)
    plan = lik._plan([lik._program(c) for c in circuits])
    fused = {g.k: g for g in plan.groups}
    assert fused[1].levels and fused[1].index.shape[1] == 1  # one-qubit sequences: one matrix per circuit
    assert fused[2].levels  # two-qubit sequences: at least one level of pairs


def test_rb_gradients_pass_gradcheck():
    dev = Device.random(2, seed=2)
    dev.readout_correlations = {}
    names = ["q0.t1", "q0.t2", "q0.sx_angle_error", "q0.gate_error_1q", "q1.x_angle_error", "e0-1.error",
             "e0-1.angle_error", "e0-1.zz", "q1.readout_p01"]
    lik = LikelihoodModel(names, dev, [0, 1])
    circuits = (build_experiment("rb", (0,), width=2, xs=[3, 40], n_seeds=1, seed=1).circuits
                + build_experiment("irb", (0, 1), width=2, xs=[2, 9], n_seeds=1, seed=2).circuits)
    base = lik.theta0()

    def f(x: torch.Tensor) -> torch.Tensor:  # relative changes: every input moves its parameter alike
        return torch.cat(lik.probabilities(circuits, base * (1 + x)))

    x = torch.zeros(len(names), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-8, rtol=1e-4)


def test_nll_counts_is_the_sum_over_circuits():
    dev = Device.random(2, seed=1)
    dev.readout_correlations = {}
    lik = LikelihoodModel(_all_names(dev), dev, [0, 1])
    circuits = _random_circuits(dev, 12, seed=9)
    rng = np.random.default_rng(0)
    counts = [torch.as_tensor(rng.integers(0, 50, size=2**c.n_clbits), dtype=torch.float64) for c in circuits]
    counts[0][0] = 0.0
    theta = lik.theta0().requires_grad_(True)
    probs = lik.probabilities(circuits, theta)
    loop = -sum((n[n > 0] * torch.log(p[n > 0])).sum() for p, n in zip(probs, counts, strict=True))
    fast = lik.nll_counts(circuits, counts, theta)
    assert float(fast.detach()) == pytest.approx(float(loop.detach()), rel=1e-12)
    (g_loop,) = torch.autograd.grad(loop, theta)
    (g_fast,) = torch.autograd.grad(lik.nll_counts(circuits, counts, theta), theta)
    torch.testing.assert_close(g_fast, g_loop, rtol=1e-9, atol=1e-9)
    with pytest.raises(DataError, match="count vector"):
        lik.nll_counts(circuits[:1], [torch.ones(3, dtype=torch.float64)], theta)
    with pytest.raises(DataError, match="12 circuits but 1"):
        lik.nll_counts(circuits, counts[:1], theta)


def test_fused_pairs_multiply_in_order():
    rng = np.random.default_rng(3)
    mats = torch.as_tensor(rng.normal(size=(6, 4, 4)) + 1j * rng.normal(size=(6, 4, 4)))
    mats[0] = torch.eye(4)
    idx = np.array([[1, 2, 3, 4, 5], [2, 3, 1, 0, 0], [5, 0, 0, 0, 0]])
    levels, fused = _fuse(idx, 6, 1)  # dim 1: every level is worth taking
    stack = mats
    for a, b in levels:
        stack = torch.cat([stack, stack[b] @ stack[a]])
    assert fused.shape == (3, 1)
    for row, seq in enumerate(idx):
        want = torch.eye(4, dtype=mats.dtype)
        for s in seq:
            want = mats[s] @ want
        torch.testing.assert_close(stack[fused[row, 0]], want)


def test_batched_power_is_matrix_power():
    rng = np.random.default_rng(4)
    mats = torch.as_tensor(rng.normal(size=(4, 3, 3)) / 2)
    reps = torch.tensor([1, 2, 13, 100])
    got = _power(mats, reps)
    for m, r, g in zip(mats, reps.tolist(), got, strict=True):
        torch.testing.assert_close(g, torch.linalg.matrix_power(m, r))


def test_circuits_without_steps_have_gradients():
    lik = LikelihoodModel(["q0.readout_p01", "q0.readout_p10"], Device.preset("line_5"), [0, 1])
    circuits = [Circuit(2, 1).measure(0, 0), Circuit(2, 2).measure([0, 1], [0, 1])]
    counts = [torch.tensor([70.0, 30.0], dtype=torch.float64), torch.tensor([80.0, 5.0, 10.0, 5.0],
                                                                           dtype=torch.float64)]
    theta = torch.tensor([0.1, 0.05], dtype=torch.float64, requires_grad=True)
    lik.nll_counts(circuits, counts, theta).backward()
    assert theta.grad is not None and bool(torch.isfinite(theta.grad).all()) and bool(theta.grad.abs().sum() > 0)


def test_circuit_beyond_the_device_is_refused_clearly() -> None:
    lik = LikelihoodModel(["q0.t1"], Device.random(2, "line", seed=0), [0])
    c = Circuit(4, 1).x(3).measure(3, 0)
    with pytest.raises(DataError, match="qubit 3.*only 2 qubit"):
        lik.probabilities([c], torch.tensor([5e4], dtype=torch.float64))
