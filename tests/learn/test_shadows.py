"""Classical shadows: unbiased against exact values, error bars that cover at their rate, bad input refused."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from qtandem import Circuit, statevector
from qtandem.circuit.library import layered
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import DataError, ObservableError
from qtandem.learn import ShotRecord, measure_randomized
from qtandem.learn.shadows import (
    _clifford_values,
    _Terms,
    estimate,
    fidelity,
    parse_observables,
    purity,
    renyi2,
    required_shots,
)
from qtandem.learn.shots import clifford_circuit
from qtandem.noise import NoiseModel, depolarizing
from qtandem.sim.expectation import pauli_expectation_many


def _circuit(n: int, seed: int) -> Circuit:
    """A seeded layered circuit: three layers of random u and a brickwork of cx."""
    return layered(n, layers=3, seed=seed)


def _labels(n: int, max_weight: int) -> list[str]:
    out = []
    for w in range(1, max_weight + 1):
        for qs in itertools.combinations(range(n), w):
            for letters in itertools.product("XYZ", repeat=w):
                lab = ["I"] * n
                for q, p in zip(qs, letters, strict=True):
                    lab[n - 1 - q] = p
                out.append("".join(lab))
    return out


def _exact(circ: Circuit, obs: list) -> np.ndarray:
    return pauli_expectation_many(statevector(circ), parse_observables(obs)).real.numpy()


@pytest.mark.parametrize("k", [1, 6])
def test_pauli_shadows_are_unbiased(k: int) -> None:
    circ = _circuit(3, 1)
    labels = _labels(3, 3) + ["0.5*Z0 Z1 - 1.2*X2 + Y0 + 0.3", "X0 X1 X2 + Z0"]
    est = estimate(measure_randomized(circ, 60000, seed=2), labels, k=k)
    z = (est.values.numpy() - _exact(circ, labels)) / est.stderr.numpy()
    assert np.abs(z).max() < 4.5
    assert 0.6 < (z ** 2).mean() < 1.6  # 65 estimates: their z-scores have unit variance


def test_error_bars_cover_over_100_seeds() -> None:
    circ = _circuit(2, 3)
    labels = ["IZ", "XI", "YY", "ZX", "XX"]
    exact = _exact(circ, labels)
    inside = {1: 0, 5: 0}
    for seed in range(100):
        rec = measure_randomized(circ, 400, seed=seed)
        for k in inside:
            est = estimate(rec, labels, k=k)
            inside[k] += int((np.abs(est.values.numpy() - exact) <= 1.96 * est.stderr.numpy()).sum())
    assert 0.92 <= inside[1] / 500 <= 0.98  # nominal 0.95; binomial sd 0.01
    assert 0.92 <= inside[5] / 500 <= 1.0  # the median-of-means bar is conservative for small k


def test_pennylane_gives_the_same_numbers() -> None:
    qml = pytest.importorskip("pennylane")
    rec = measure_randomized(_circuit(4, 4), 3000, seed=5)
    shadow = qml.ClassicalShadow(rec.outcomes.astype(np.int64), rec.bases.astype(np.int64))
    ops = [qml.PauliX(0) @ qml.PauliZ(2), qml.PauliY(3), qml.PauliZ(1) @ qml.PauliY(2) @ qml.PauliX(3)]
    ours = estimate(rec, ["IZIX", "YIII", "XYZI"]).values.numpy()
    np.testing.assert_allclose(ours, np.asarray(shadow.expval(ops, k=1)), atol=1e-12)


def test_clifford_estimator_per_shot_is_exact() -> None:
    rec = measure_randomized(_circuit(3, 6), 12, basis="clifford", seed=7)
    obs = parse_observables(["XYZ", "IZI", "YIX", "ZZZ", "XII"])
    vals = _clifford_values(rec, _Terms(obs, 3))
    for t in range(len(rec)):
        u = clifford_circuit(rec.bases[t]).to_matrix()
        b = int(sum(int(bit) << q for q, bit in enumerate(rec.outcomes[t])))
        for m, o in enumerate(obs):
            dense = (u @ o.to_matrix(3) @ u.conj().T)[b, b].real
            assert vals[m, t] == pytest.approx(9 * float(dense), abs=1e-9)


def test_clifford_shadows_are_unbiased() -> None:
    circ = _circuit(2, 8)
    labels = _labels(2, 2)
    est = estimate(measure_randomized(circ, 1500, basis="clifford", seed=9), labels)
    z = (est.values.numpy() - _exact(circ, labels)) / est.stderr.numpy()
    assert np.abs(z).max() < 4.5


def test_fidelity_pure_and_noisy() -> None:
    circ = _circuit(3, 10)
    psi = statevector(circ)
    for basis, shots in (("pauli", 20000), ("clifford", 600)):
        f = fidelity(measure_randomized(circ, shots, basis=basis, seed=11), psi)
        assert abs(float(f.values) - 1) < 4.5 * float(f.stderr), basis
    model = NoiseModel(strict=False).add(depolarizing(0.2), gates=["cx"])
    from qtandem.noise.density import density_matrix

    exact = float((psi.conj() @ density_matrix(circ, noise=model) @ psi).real)
    f = fidelity(measure_randomized(circ, 20000, noise=model, seed=12), psi, k=3)
    assert exact < 0.9 and abs(float(f.values) - exact) < 4.5 * float(f.stderr)


def _exact_purity(psi: torch.Tensor, n: int, qubits: list[int]) -> float:
    x = psi.reshape((2,) * n)  # axis i is qubit n - 1 - i
    keep = [n - 1 - q for q in qubits]
    rest = [a for a in range(n) if a not in keep]
    m = x.permute(keep + rest).reshape(2 ** len(keep), -1)
    rho = m @ m.conj().T
    return float((rho @ rho).trace().real)


def test_purity_and_renyi2() -> None:
    circ = _circuit(3, 13)
    psi = statevector(circ)
    rec = measure_randomized(circ, 30000, seed=14)
    for qubits in ([0], [1, 2], [0, 2], [0, 1, 2]):
        exact = _exact_purity(psi, 3, qubits)
        est = purity(rec, qubits)
        assert abs(float(est.values) - exact) < 4.5 * float(est.stderr), qubits
    ent = renyi2(rec, [0])
    exact = -np.log2(_exact_purity(psi, 3, [0]))
    assert abs(float(ent.values) - exact) < 4.5 * float(ent.stderr)


def test_purity_error_bars_cover() -> None:
    circ = _circuit(2, 17)
    exact = _exact_purity(statevector(circ), 2, [0, 1])
    inside = 0
    for seed in range(100):
        est = purity(measure_randomized(circ, 300, seed=seed), [0, 1])
        inside += int(abs(float(est.values) - exact) <= 1.96 * float(est.stderr))
    assert 88 <= inside <= 100  # nominal 95


def test_streamed_and_in_memory_estimates_agree(tmp_path: Path) -> None:
    rec = measure_randomized(_circuit(3, 15), 5000, seed=16)
    rec.save(tmp_path / "r", chunk_shots=1234)
    a = estimate(rec, ["XYZ", "IZZ"], k=4)
    b = estimate(tmp_path / "r", ["XYZ", "IZZ"], k=4)
    c = estimate(rec.iter_batches(777), ["XYZ", "IZZ"], k=4)
    torch.testing.assert_close(a.values, b.values)
    torch.testing.assert_close(a.values, c.values)
    torch.testing.assert_close(a.stderr, c.stderr)


def test_required_shots() -> None:
    one = required_shots(["ZZ"], eps=0.1, delta=0.05)
    assert one.shadow_norm == 9 and one.k == 8 and one.shots == 8 * 30600
    assert required_shots(["XXX"], 0.1, 0.05).shadow_norm == 27
    assert required_shots([PauliSum.from_string("Z0 + Z1")], 0.1, 0.05).shadow_norm == pytest.approx(12)
    assert required_shots(["ZZ"], 0.1, 0.05, basis="clifford").shadow_norm == 12  # 3 Tr(P^2) = 3 * 4
    with pytest.raises(ObservableError, match="eps > 0"):
        required_shots(["ZZ"], 0, 0.1)


def test_bad_observables_and_records() -> None:
    rec = measure_randomized(Circuit(2), 10, seed=0)
    with pytest.raises(ObservableError, match="acts on qubit 4"):
        estimate(rec, ["Z4"])
    with pytest.raises(ObservableError, match="not Hermitian"):
        estimate(rec, [PauliSum.from_string("1j*Z0")])
    with pytest.raises(ObservableError, match="no observables"):
        estimate(rec, [])
    with pytest.raises(ObservableError, match="needs a qubit index"):
        estimate(rec, ["ZQ"])
    with pytest.raises(ObservableError, match="positive integer"):
        estimate(rec, ["ZZ"], k=0)
    with pytest.raises(DataError, match="no shots"):
        estimate(rec[:0], ["ZZ"])
    with pytest.raises(DataError, match="Pauli ShotRecord"):
        purity(measure_randomized(Circuit(2), 4, basis="clifford", seed=0))
    with pytest.raises(DataError, match="distinct qubits"):
        purity(rec, [0, 0])
    with pytest.raises(DataError, match="not normalised"):
        fidelity(rec, torch.ones(4))
    with pytest.raises(DataError, match="\\(4,\\) vector"):
        fidelity(rec, torch.ones(2))
    assert isinstance(ShotRecord.merge(rec, rec), ShotRecord)
