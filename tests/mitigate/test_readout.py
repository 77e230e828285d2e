"""Readout mitigation against explicit matrices: Kronecker inverses, dense reduced solves, simplex projection."""

from __future__ import annotations

import time

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.device import Device
from qtandem.errors import ArgumentTypeError, NoiseError
from qtandem.mitigate import (
    Context,
    ReadoutModel,
    base_estimator,
    execute,
    m3_solve,
    nearest_probability,
    parse_observable,
    readout,
    simulator_executor,
)
from qtandem.mitigate.readout import calibrate
from qtandem.noise import NoiseModel, ReadoutError, depolarizing, readout_error


def random_confusion(rng: np.random.Generator, k: int, scale: float = 0.1) -> np.ndarray:
    m = np.eye(2**k) + rng.uniform(0, scale, (2**k, 2**k))
    return m / m.sum(axis=0)


def key_bits(key: str) -> list[int]:
    return [int(ch) for ch in reversed(key)]


def kron_matrix(model_blocks: list[tuple[np.ndarray, tuple[int, ...]]], n: int) -> np.ndarray:
    """The full 2^n confusion matrix by brute force over index pairs (independent of np.kron orderings)."""
    full = np.ones((2**n, 2**n))
    idx = np.arange(2**n)
    for m, qs in model_blocks:
        r = sum(((idx >> q) & 1) << i for i, q in enumerate(qs))
        full *= m[r[:, None], r[None, :]]
    return full


def sample_counts(rng, p: np.ndarray, n: int, shots: int) -> dict[str, int]:
    drawn = rng.multinomial(shots, p)
    return {format(i, f"0{n}b"): int(c) for i, c in enumerate(drawn) if c}


# -- shot-by-shot inversion equals the explicit inverse ---------------------------------------------------

@pytest.mark.parametrize("correlated", [False, True])
def test_shot_inversion_equals_explicit_kronecker_inverse(correlated):
    rng = np.random.default_rng(1)
    n = 4
    if correlated:
        blocks = [(random_confusion(rng, 2), (0, 1)), (random_confusion(rng, 1), (2,)),
                  (random_confusion(rng, 1), (3,))]
        model = ReadoutModel({(0, 1): blocks[0][0]}, {2: blocks[1][0], 3: blocks[2][0]})
    else:
        blocks = [(random_confusion(rng, 1), (q,)) for q in range(n)]
        model = ReadoutModel.tensored({qs[0]: m for m, qs in blocks})
    full = kron_matrix(blocks, n)
    counts = sample_counts(rng, rng.dirichlet(np.ones(2**n)), n, 5000)
    p_hat = np.zeros(2**n)
    for k, c in counts.items():
        p_hat[int(k, 2)] = c / 5000
    quasi = np.linalg.solve(full, p_hat)
    for text in ["Z0", "Z1 Z3", "0.5*Z0 Z1 Z2 - Z2 + 0.25*Z0 Z3", "P(0110)"]:
        obs = parse_observable(text, n)
        if obs.pauli is not None:
            f = np.array([float(np.real(obs.pauli.to_matrix(n).diagonal()[i])) for i in range(2**n)])
        else:
            f = np.eye(2**n)[int("0110", 2)]
        expected = float(f @ quasi)

        def replay(circuits, shots, *, seed=None):
            """The fixed counts, marginalised onto the qubits each circuit measures."""
            assert shots == 5000
            out = []
            for c in circuits:
                pairs = [(inst.qubits[0], inst.clbits[0]) for inst in c if inst.name == "measure"]
                marg: dict[str, int] = {}
                for key, v in counts.items():
                    bits = ["0"] * c.n_clbits
                    for q, cb in pairs:
                        bits[cb] = key[-1 - q]
                    marg["".join(reversed(bits))] = marg.get("".join(reversed(bits)), 0) + v
                out.append(marg)
            return out

        ctx = Context.create(obs, n, replay)
        got = base_estimator(ctx).with_inverse(model, "test")([Circuit(n)], [5000], 0)[0]
        assert got.value == pytest.approx(expected, abs=1e-10), text


def test_from_noise_reads_devices_models_and_correlations():
    joint = random_confusion(np.random.default_rng(2), 2)
    noise = NoiseModel().add_readout(readout_error(0.02, 0.04)).add_readout(ReadoutError(joint), qubits=[(1, 2)])
    model = ReadoutModel.from_noise(noise, 3)
    assert model.kind == "correlated" and np.allclose(model.blocks[(1, 2)], joint)
    assert np.allclose(model.singles[0], [[0.98, 0.04], [0.02, 0.96]])
    device = Device.preset("line_5")
    dmodel = ReadoutModel.from_noise(device, 5)
    q = device.qubits[3]
    assert np.allclose(dmodel.singles[3], [[1 - q.readout_p01, q.readout_p10], [q.readout_p01, 1 - q.readout_p10]])
    with pytest.raises(ArgumentTypeError, match="NoiseModel, a Device or a Calibration"):
        ReadoutModel.from_noise("line_5", 5)
    with pytest.raises(NoiseError, match="singular"):
        ReadoutModel.tensored({0: [[0.5, 0.5], [0.5, 0.5]]})
    with pytest.raises(NoiseError, match="columns summing to 1"):
        ReadoutModel.tensored({0: [[0.9, 0.2], [0.2, 0.8]]})


# -- calibration circuits -------------------------------------------------------------------------------------

def test_calibration_recovers_tensored_and_correlated_matrices():
    joint = random_confusion(np.random.default_rng(3), 2, 0.15)
    noise = (NoiseModel().add_readout(readout_error(0.03, 0.06)).add_readout(ReadoutError(joint), qubits=[(0, 1)])
             .set_ideal(["x"]))
    run = simulator_executor(noise, seed=0)
    shots = 200_000
    tol = 5 * np.sqrt(0.25 / shots)
    tens = calibrate(run, 3, kind="tensored", shots=shots, seed=1)
    assert np.allclose(tens.singles[2], [[0.97, 0.06], [0.03, 0.94]], atol=tol)
    corr = calibrate(run, 3, kind="correlated", shots=shots, seed=1)
    assert np.allclose(corr.blocks[(0, 1)], joint, atol=tol) and corr.kind == "correlated"
    assert np.allclose(corr.singles[2], [[0.97, 0.06], [0.03, 0.94]], atol=tol)
    with pytest.raises(ArgumentTypeError, match="readout kind"):
        calibrate(run, 2, kind="joint")


def test_readout_method_unbiased_over_seeds_and_calibration_cached():
    """GHZ parity under gate noise + readout: readout-mitigated mean over seeds within error bars of the
    exact pre-readout value (matrices from the noise: no calibration bias); calibration shots counted once."""
    def gates() -> NoiseModel:
        return NoiseModel().add(depolarizing(0.02, 2), gates=["cx"]).set_ideal(["h", "x"])

    noise = gates().add_readout(readout_error(0.04, 0.08))
    ghz = Circuit(3).h(0).cx(0, 1).cx(1, 2)
    obs = parse_observable("Z0 Z1 + Z1 Z2", 3)
    exact = obs.exact(ghz, noise=gates())
    run = simulator_executor(noise, seed=1)
    method = readout(calibration=noise)
    est = method.wrap(base_estimator(Context.create(obs, 3, run)), Context.create(obs, 3, run))
    results = est([ghz] * 200, [2000] * 200, 5)
    values = np.array([r.value for r in results])
    errs = np.array([r.stderr for r in results])
    assert abs(values.mean() - exact) < 4 * errs.mean() / np.sqrt(200)
    assert 0.8 < np.std((values - exact) / errs) < 1.2
    measured = readout(shots=4000)
    first = execute(ghz, obs, run, methods=[measured], shots=10_000, seed=1)
    second = execute(ghz, obs, run, methods=[measured], shots=10_000, seed=2)
    assert first.one_off_shots == 3 * 4000 and first.details["one_off"] == {"readout": 12000}  # 0, x, xxx
    assert second.one_off_shots == 0 and first.shots_used == second.shots_used == 10_000
    assert abs(first.value - exact) < 5 * first.stderr + 0.03  # calibration noise ~ 1/sqrt(4000)


def test_readout_must_be_innermost():
    run = simulator_executor(NoiseModel(), seed=0)

    class Outer:
        name = "outer"

        def wrap(self, estimator, context):
            def run(circuits, shots, seed):
                return estimator(circuits, shots, seed)
            return run

    with pytest.raises(ArgumentTypeError, match="innermost"):
        execute(Circuit(1), "Z0", run, methods=[Outer(), readout()], shots=100)
    with pytest.raises(ArgumentTypeError, match="needs execute"):
        execute(Circuit(1), "Z0", run, methods=[readout(calibration="noise")], shots=100)
    with pytest.raises(ArgumentTypeError, match="readout kind"):
        readout(kind="full")


# -- M3 ----------------------------------------------------------------------------------------------------------

def test_m3_full_subspace_is_the_exact_inverse():
    rng = np.random.default_rng(4)
    n = 6
    blocks = [(random_confusion(rng, 1), (q,)) for q in range(n)]
    model = ReadoutModel.tensored({qs[0]: m for m, qs in blocks})
    p = rng.dirichlet(np.ones(2**n))
    counts = sample_counts(rng, p, n, 400_000)
    assert len(counts) == 2**n
    quasi = m3_solve(counts, model)
    p_hat = np.array([counts[format(i, f"0{n}b")] for i in range(2**n)]) / 400_000
    exact = np.linalg.solve(kron_matrix(blocks, n), p_hat)
    assert np.allclose([quasi[format(i, f"0{n}b")] for i in range(2**n)], exact, atol=1e-8)


@pytest.mark.parametrize(("distance", "neighbours"), [(None, 0), (2, 0), (3, 1)])
def test_m3_reduced_subspace_matches_a_dense_reduced_solve(distance, neighbours):
    """n = 10, a sparse distribution: M3 against a dense restricted matrix built from the Kronecker product."""
    rng = np.random.default_rng(5)
    n = 10
    blocks = [(random_confusion(rng, 2, 0.05), (0, 1))] + [(random_confusion(rng, 1, 0.05), (q,)) for q in range(2, n)]
    model = ReadoutModel({(0, 1): blocks[0][0]}, {qs[0]: m for m, qs in blocks[1:]})
    true = rng.choice(2**n, size=4, replace=False)
    p = np.zeros(2**n)
    p[true] = rng.dirichlet(np.ones(4))
    full = kron_matrix(blocks, n)
    counts = sample_counts(rng, full @ p, n, 3000)
    quasi = m3_solve(counts, model, distance=distance, neighbours=neighbours)
    subset = sorted({int(k, 2) for k in quasi})
    if neighbours == 0:
        assert subset == sorted(int(k, 2) for k in counts)
    a = full[np.ix_(subset, subset)].copy()
    if distance is not None:
        ham = np.array([[bin(i ^ j).count("1") for j in subset] for i in subset])
        a[ham > distance] = 0
    a /= a.sum(axis=0)
    p_hat = np.array([counts.get(format(i, f"0{n}b"), 0) for i in subset]) / 3000
    expected = np.linalg.solve(a, p_hat)
    assert np.allclose([quasi[format(i, f"0{n}b")] for i in subset], expected, atol=1e-8)
    assert sum(quasi.values()) == pytest.approx(1.0, abs=1e-8)


def test_m3_thirty_qubits_quickly():
    """30-qubit GHZ with 2% flips: 2000 shots, ~900 distinct bitstrings; M3 puts the mass back on 0..0 and 1..1."""
    rng = np.random.default_rng(6)
    n, shots, flip = 30, 2000, 0.02
    ideal = np.repeat(rng.integers(0, 2, shots)[:, None], n, axis=1)
    read = ideal ^ (rng.random((shots, n)) < flip)
    keys = ["".join(map(str, row[::-1])) for row in read]
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    model = ReadoutModel.tensored({q: [[1 - flip, flip], [flip, 1 - flip]] for q in range(n)})
    start = time.perf_counter()
    quasi = m3_solve(counts, model, distance=3)
    elapsed = time.perf_counter() - start
    zeros, ones = quasi.get("0" * n, 0.0), quasi.get("1" * n, 0.0)
    raw = (counts.get("0" * n, 0) + counts.get("1" * n, 0)) / shots
    assert raw < 0.65 and zeros + ones > 0.9 and abs(zeros - ones) < 0.1
    assert elapsed < 20.0
    positive = nearest_probability(quasi)
    assert min(positive.values()) > 0 and sum(positive.values()) == pytest.approx(1.0)


# -- positivity --------------------------------------------------------------------------------------------------

def simplex_projection(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto the probability simplex (Duchi et al. 2008), the independent reference."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u)
    rho = np.nonzero(u * np.arange(1, len(v) + 1) > css - 1)[0][-1]
    theta = (css[rho] - 1) / (rho + 1.0)
    return np.maximum(v - theta, 0)


def test_nearest_probability_is_the_simplex_projection():
    rng = np.random.default_rng(7)
    for _ in range(50):
        v = rng.normal(0.1, 0.3, 8)
        v = v - (v.sum() - 1) / 8
        quasi = {format(i, "03b"): float(x) for i, x in enumerate(v)}
        got = nearest_probability(quasi)
        ref = simplex_projection(v)
        assert np.allclose([got.get(format(i, "03b"), 0.0) for i in range(8)], ref, atol=1e-12)
    with pytest.raises(NoiseError, match="summing to 1"):
        nearest_probability({"0": 0.5})


def test_execute_readout_on_25_qubits_with_a_classical_executor():
    """25 qubits, no 2^n object anywhere: a classical executor flips bits of |1010...>; Z0 Z24 and P(...) recovered."""
    n, flip = 25, 0.05
    target = np.array([(q + 1) % 2 for q in range(n)])  # qubit q holds 1 when q is even

    def flipper(circuits, shots, *, seed=None):
        rng = np.random.default_rng(seed)
        out = []
        for c in circuits:
            bits = np.broadcast_to(target, (shots, n)) ^ (rng.random((shots, n)) < flip)
            full = np.zeros((shots, c.n_clbits), dtype=np.int64)
            for inst in c:
                if inst.name == "measure":
                    full[:, inst.clbits[0]] = bits[:, inst.qubits[0]]
            keys, cnt = np.unique(full[:, ::-1], axis=0, return_counts=True)
            out.append({"".join(map(str, k)): int(v) for k, v in zip(keys, cnt, strict=True)})
        return out

    model = ReadoutModel.tensored({q: [[1 - flip, flip], [flip, 1 - flip]] for q in range(n)})
    circuit = Circuit(n)
    bitstring = "".join(str(b) for b in target[::-1])
    res = execute(circuit, "Z0 Z24", flipper, methods=[readout(calibration=model)], shots=20_000, seed=0)
    assert res.raw == pytest.approx(0.81, abs=0.03) and res.value == pytest.approx(1.0, abs=4 * res.stderr + 1e-9)
    prob = execute(circuit, f"P({bitstring})", flipper, methods=[readout(calibration=model)], shots=50_000, seed=1)
    assert prob.raw == pytest.approx(0.95**n, abs=0.02) and abs(prob.value - 1.0) < 4 * prob.stderr


def test_auto_uses_correlated_blocks_where_the_noise_states_them():
    """|11> read through a joint error (both 1 -> 00 with prob 0.2): only the correlated inversion is unbiased."""
    joint = np.array([[1.0, 0.0, 0.0, 0.2], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.8]])
    noise = NoiseModel().add_readout(ReadoutError(joint), qubits=[(0, 1)]).set_ideal(["x"])
    circuit = Circuit(3).x(0).x(1)
    run = simulator_executor(noise, seed=0)
    shots = 40_000
    tensored = execute(circuit, "Z0 + Z1", run, methods=[readout("tensored", calibration=noise)], shots=shots,
                       seed=1)
    exact = execute(circuit, "Z0 + Z1", run, methods=[readout(calibration=noise)], shots=shots, seed=1)
    measured = execute(circuit, "Z0 + Z1", run, methods=[readout(shots=40_000)], shots=shots, seed=1, noise=noise)
    assert exact.details["readout"] == "correlated (noise)" and abs(exact.value + 2) < 4 * exact.stderr
    assert abs(tensored.value + 2) > 0.1  # the marginals mix the correlated flip into every state
    assert measured.details["readout"] == "correlated (calibration)" and measured.one_off_shots == 6 * 40_000
    assert abs(measured.value + 2) < 4 * measured.stderr + 0.02


def test_calibration_removes_the_x_gates_own_error():
    """x with a 6% flip error: a plain calibration books it as readout error, the x / xxx extrapolation does not."""
    noise = NoiseModel().add(depolarizing(0.09, 1), gates=["x"]).add_readout(readout_error(0.02, 0.05))
    run = simulator_executor(noise, seed=0)
    shots = 400_000
    tol = 5 * np.sqrt(2.5 * 0.25 / shots)
    fixed = calibrate(run, 2, shots=shots, seed=1)
    plain = calibrate(run, 2, shots=shots, seed=1, gate_error="ignore")
    for q in (0, 1):
        assert np.allclose(fixed.singles[q], [[0.98, 0.05], [0.02, 0.95]], atol=tol)
        assert plain.singles[q][0, 1] > 0.05 + 0.04  # flip 2/3 * 0.09 = 0.06, read through the readout
    joint = calibrate(run, 2, kind="correlated", shots=shots, seed=2)  # a block: the same flips solved out
    assert np.allclose(joint.blocks[(0, 1)], np.kron([[0.98, 0.05], [0.02, 0.95]], [[0.98, 0.05], [0.02, 0.95]]),
                       atol=tol)
    with pytest.raises(ArgumentTypeError, match="gate_error"):
        readout(gate_error="zero")


def test_calibration_shared_per_executor():
    noise = NoiseModel().add_readout(readout_error(0.05, 0.05))
    run = simulator_executor(noise, seed=0)
    first = execute(Circuit(2).x(0), "Z0", run, methods=[readout(shots=1000)], shots=1000, seed=0)
    second = execute(Circuit(2).x(0), "Z0", run, methods=[readout(shots=1000)], shots=1000, seed=1)
    other = execute(Circuit(2).x(0), "Z0", run, methods=[readout(shots=1000, share=False)], shots=1000, seed=2)
    fresh = execute(Circuit(2).x(0), "Z0", simulator_executor(noise, seed=0), methods=[readout(shots=1000)],
                    shots=1000, seed=3)
    assert (first.one_off_shots, second.one_off_shots, other.one_off_shots, fresh.one_off_shots) == (3000, 0, 3000,
                                                                                                     3000)
