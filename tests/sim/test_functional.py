"""run_batched, the simulator's batched functional entry point: against the NumPy reference simulator,
finite differences for every diff_method (shared and batched parameters), noise, shots, samples, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtandem import Circuit, Parameter, PauliSum
from qtandem.errors import ParameterError, QtandemError, SimulationError
from qtandem.noise import NoiseModel, depolarizing
from qtandem.noise.density import density_matrix, dm_expectation
from qtandem.sim import run_batched
from qtandem.sim.gradients import shift_expval, shift_rule
from qtandem.sim.reference import reference_statevector

F64 = torch.float64
OBS = [PauliSum.from_string("Z0 Z1 + 0.5*X2"), PauliSum.from_string("Y1")]


def _circuit() -> Circuit:
    x0, x1, a, b, c = (Parameter(nm) for nm in ("x0", "x1", "a", "b", "c"))
    circ = Circuit(3).ry(x0, 0).rx(x1 * 2 - 0.3, 1).h(2).rz(a + x0, 0).cx(0, 1).ry(b, 2)
    return circ.crz(c, 2, 0).rzz(0.5 * a - b, 1, 2).cry(x1, 0, 2).rx(c, 1)


def _values(seed: int = 0, batch: int = 3):
    gen = torch.Generator().manual_seed(seed)
    xs = torch.rand(batch, 2, dtype=F64, generator=gen) * 3
    ws = torch.rand(3, dtype=F64, generator=gen) * 3
    return xs, ws


def _params(xs: torch.Tensor, ws: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"x0": xs[:, 0], "x1": xs[:, 1], "a": ws[0], "b": ws[1], "c": ws[2]}


def _reference(circ: Circuit, xs: torch.Tensor, ws: torch.Tensor) -> np.ndarray:
    out = []
    for row in range(xs.shape[0]):
        values = {"x0": float(xs[row, 0]), "x1": float(xs[row, 1]), "a": float(ws[0]), "b": float(ws[1]),
                  "c": float(ws[2])}
        psi = reference_statevector(circ, values)
        out.append([float(np.real(np.vdot(psi, o.to_matrix(3).numpy() @ psi))) for o in OBS])
    return np.array(out)


def test_expectations_states_and_probs_match_the_reference_simulator():
    circ = _circuit()
    xs, ws = _values()
    ref = _reference(circ, xs, ws)
    for method in ("backprop", "adjoint", "parameter-shift", "spsa"):
        got = run_batched(circ, _params(xs, ws), observables=OBS, diff_method=method).detach().numpy()
        assert np.allclose(got, ref, atol=1e-10), method
    # the same values given as one (B, P) tensor in the order of circuit.parameters
    order = [p.name for p in circ.parameters]
    table = torch.stack([_params(xs, ws)[nm].expand(3) for nm in order], dim=1)
    assert np.allclose(run_batched(circ, table, observables=OBS).numpy(), ref, atol=1e-10)
    state = run_batched(circ, _params(xs, ws))
    values = {"x0": float(xs[1, 0]), "x1": float(xs[1, 1]), "a": float(ws[0]), "b": float(ws[1]), "c": float(ws[2])}
    assert state.shape == (3, 8) and np.allclose(state[1].numpy(), reference_statevector(circ, values), atol=1e-12)
    probs = run_batched(circ, _params(xs, ws), output="probs")
    assert torch.allclose(probs, state.abs() ** 2, atol=1e-12)
    # nothing batched: a batch of one
    assert run_batched(circ, {k: v[0] if v.dim() else v for k, v in _params(xs, ws).items()}).shape == (1, 8)


def _finite_difference(fn, xs, ws, eps=1e-6):
    gx = np.zeros(xs.shape)
    for idx in np.ndindex(*xs.shape):
        d = torch.zeros_like(xs)
        d[idx] = eps
        gx[idx] = (fn(xs + d, ws) - fn(xs - d, ws)) / (2 * eps)
    gw = np.array([(fn(xs, ws + eps * e) - fn(xs, ws - eps * e)) / (2 * eps) for e in torch.eye(3, dtype=F64)])
    return gx, gw


@pytest.mark.parametrize("method", ["backprop", "adjoint", "parameter-shift"])
def test_gradients_of_shared_and_batched_parameters_match_finite_differences(method):
    circ = _circuit()
    xs, ws = _values(1)
    g = torch.randn(3, 2, dtype=F64, generator=torch.Generator().manual_seed(2))

    def loss(x, w):
        with torch.no_grad():
            return float((run_batched(circ, _params(x, w), observables=OBS) * g).sum())

    ref_x, ref_w = _finite_difference(loss, xs, ws)
    x = xs.clone().requires_grad_(True)
    w = ws.clone().requires_grad_(True)
    (run_batched(circ, _params(x, w), observables=OBS, diff_method=method) * g).sum().backward()
    assert np.allclose(x.grad.numpy(), ref_x, atol=1e-6)
    assert np.allclose(w.grad.numpy(), ref_w, atol=1e-6)


def test_spsa_estimate_points_along_the_gradient_and_is_seeded():
    circ = _circuit()
    xs, ws = _values(3)
    w = ws.clone().requires_grad_(True)
    run_batched(circ, _params(xs, w), observables=OBS).sum().backward()
    exact = w.grad.numpy().copy()
    rng = np.random.default_rng(0)
    est = []
    for _ in range(300):
        w.grad = None
        out = run_batched(circ, _params(xs, w), observables=OBS, diff_method="spsa", seed=rng, spsa_step=1e-3)
        out.sum().backward()
        est.append(w.grad.numpy().copy())
    mean = np.mean(est, axis=0)
    assert mean @ exact / np.linalg.norm(mean) / np.linalg.norm(exact) > 0.95
    runs = []
    for _ in range(2):
        w.grad = None
        run_batched(circ, _params(xs, w), observables=OBS, diff_method="spsa", seed=7).sum().backward()
        runs.append(w.grad.numpy().copy())
    assert np.array_equal(runs[0], runs[1])


def test_noise_backprop_and_parameter_shift_agree_with_density_matrices():
    circ = _circuit()
    noise = (NoiseModel().add(depolarizing(0.03), gates=["ry", "rx"]).add(depolarizing(0.05, 2), gates=["cx", "crz"])
             .set_ideal(["h", "rz", "rzz", "cry"]))  # declared noiseless: a strict model refuses uncovered gates
    xs, ws = _values(4, batch=2)
    got = run_batched(circ, _params(xs, ws), observables=OBS, noise=noise)
    for row in range(2):
        values = {"x0": float(xs[row, 0]), "x1": float(xs[row, 1]), "a": float(ws[0]), "b": float(ws[1]),
                  "c": float(ws[2])}
        rho = density_matrix(circ.bind(values), noise=noise)
        assert np.allclose(got[row].numpy(), [float(dm_expectation(rho, o).real) for o in OBS], atol=1e-10)
    grads = []
    for method in ("backprop", "parameter-shift"):
        w = ws.clone().requires_grad_(True)
        run_batched(circ, _params(xs, w), observables=OBS, noise=noise, diff_method=method).sum().backward()
        grads.append(w.grad.numpy())
    assert np.allclose(grads[0], grads[1], atol=1e-9)
    probs = run_batched(circ, _params(xs, ws), output="probs", noise=noise)
    assert probs.shape == (2, 8) and torch.allclose(probs.sum(1), torch.ones(2, dtype=F64))


def test_shots_and_samples_are_seeded_and_within_statistics():
    circ = _circuit()
    xs, ws = _values(5, batch=4)
    exact = run_batched(circ, _params(xs, ws), observables=["Z0", "X2"]).numpy()
    est = run_batched(circ, _params(xs, ws), observables=["Z0", "X2"], shots=4000, seed=1,
                      diff_method="parameter-shift").numpy()
    assert np.all(np.abs(est - exact) < 5 * np.sqrt((1 - exact**2) / 4000) + 1e-9)
    again = run_batched(circ, _params(xs, ws), observables=["Z0", "X2"], shots=4000, seed=1,
                        diff_method="parameter-shift").numpy()
    assert np.array_equal(est, again)
    bits = run_batched(circ, _params(xs, ws), output="samples", shots=20000, seed=2)
    assert bits.shape == (4, 20000, 3) and bits.dtype == torch.uint8
    z0 = 1 - 2 * bits[..., 0].double().mean(dim=1).numpy()  # <Z0> from the samples of qubit 0
    assert np.all(np.abs(z0 - exact[:, 0]) < 5 * np.sqrt((1 - exact[:, 0] ** 2) / 20000) + 1e-9)


def test_initial_state_and_float32():
    c = Circuit(2).ry(Parameter("t"), 0).cx(0, 1)
    init = torch.tensor([[0, 1, 0, 0], [0, 0, 1, 0]], dtype=torch.complex128)  # |01>, |10>
    out = run_batched(c, {"t": torch.tensor(0.0, dtype=F64)}, observables=["Z0", "Z1"], initial_state=init)
    assert out.tolist() == [[-1.0, -1.0], [1.0, -1.0]]
    t32 = torch.tensor([0.1, 0.7])
    assert run_batched(c, {"t": t32}, observables=["Z0"]).dtype == torch.float32
    assert run_batched(c, {"t": t32}).dtype == torch.complex64


def test_shift_expval_on_a_plain_function():
    a = torch.tensor([[0.3, -1.2]], dtype=F64, requires_grad=True)
    shift_expval(lambda t, _: torch.sin(t).sum(1, keepdim=True), a, gates=[("rx", 0), ("crz", 0)]).sum().backward()
    assert np.allclose(a.grad.numpy(), np.cos([[0.3, -1.2]]), atol=1e-12)
    assert shift_rule("u") is None and len(shift_rule("ry", 1)) == 4


def test_clear_errors():
    c = _circuit()
    xs, ws = _values()
    good = _params(xs, ws)
    with pytest.raises(ParameterError, match=r"no value for parameter\(s\) \['c'\]"):
        run_batched(c, {k: v for k, v in good.items() if k != "c"}, observables=OBS)
    with pytest.raises(ParameterError, match="unknown parameter"):
        run_batched(c, {**good, "zz": 1.0}, observables=OBS)
    with pytest.raises(ParameterError, match="different sizes"):
        run_batched(c, {**good, "a": torch.zeros(5, dtype=F64)}, observables=OBS)
    with pytest.raises(ParameterError, match=r"expected \(5,\) or \(batch, 5\)"):
        run_batched(c, torch.zeros(3, 4), observables=OBS)
    with pytest.raises(ParameterError, match="diff_method"):
        run_batched(c, good, observables=OBS, diff_method="magic")
    with pytest.raises(ParameterError, match="parameter-shift"):
        run_batched(c, good, observables=OBS, shots=100)
    with pytest.raises(QtandemError, match="adjoint"):
        run_batched(c, good, observables=OBS, noise=NoiseModel(), diff_method="adjoint")
    with pytest.raises(ParameterError, match="no parameter-shift rule for gate 'u'"):
        run_batched(Circuit(1).u(Parameter("a"), 0, 0, 0), {"a": 0.1}, observables=["Z0"],
                    diff_method="parameter-shift")
    with pytest.raises(ParameterError, match="needs observables"):
        run_batched(c, good, output="expval")
    with pytest.raises(SimulationError, match="instruction 1 is measure"):
        run_batched(Circuit(1, 1).h(0).measure(0, 0))
    with pytest.raises(SimulationError, match="initial_state"):
        run_batched(c, good, initial_state=torch.ones(3, 4))
    with pytest.raises(SimulationError, match="expected a qtandem Circuit"):
        run_batched("h q[0];")
