"""NeuralStateModel: the Born-rule likelihood against exact rotations, tomography of known states, files, errors."""

import numpy as np
import pytest
import torch
from tests.conftest import rotated_probabilities

from qtandem import Circuit, statevector
from qtandem.errors import CheckpointError, DataError, ResourceError, SimulationError
from qtandem.learn import NeuralStateModel, ShotRecord, measure_randomized
from qtandem.learn.neural_state import local_pauli_bases

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("kind", ["transformer", "rnn"])
def test_born_nll_equals_the_exact_rotation(kind: str) -> None:
    n = 4
    model = NeuralStateModel(n, kind=kind, d_model=16, heads=2, seed=5)
    psi = model.statevector().numpy()
    rng = np.random.default_rng(1)
    bases = rng.integers(0, 3, (40, n))
    outcomes = rng.integers(0, 2, (40, n))
    nll = model.born_nll(bases, outcomes).detach().numpy()
    index = (outcomes << np.arange(n)).sum(1)
    ref = np.array([-np.log(rotated_probabilities(psi, b)[i]) for b, i in zip(bases, index, strict=True)])
    assert np.allclose(nll, ref, atol=1e-9)
    # the chunked backward gives the gradient of the plain one
    weights = rng.random(40)
    model.zero_grad()
    (model.born_nll(bases, outcomes) * torch.as_tensor(weights)).sum().backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.born_nll(bases, outcomes, chunk=7, backward_weights=weights)
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(plain, model.parameters(), strict=True))


def test_amplitudes_statevector_and_samples_agree() -> None:
    model = NeuralStateModel(3, kind="transformer", seed=2)
    psi = model.statevector()
    assert abs(float(psi.abs().pow(2).sum()) - 1) < 1e-6  # float32 network
    bits = np.array([[(i >> q) & 1 for q in range(3)] for i in range(8)])
    assert torch.allclose(model.amplitudes(bits), psi)
    assert torch.allclose(model.amplitudes(["110", "001"]), psi[[6, 1]])
    draws = 30000
    x = model.sample(draws, seed=3)
    freq = np.bincount((x.astype(int) << np.arange(3)).sum(1), minlength=8) / draws
    p = psi.abs().pow(2).numpy()
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / draws) + 1e-4)


def w_state(n: int) -> np.ndarray:
    psi = np.zeros(1 << n, dtype=complex)
    psi[[1 << q for q in range(n)]] = n ** -0.5
    return psi


def phased_circuit() -> Circuit:
    """A 3-qubit state with complex amplitudes of unequal sizes (not a stabilizer state)."""
    return Circuit(3).ry(0.7, 0).h(1).cx(0, 2).rz(1.1, 1).cx(1, 0).ry(0.4, 2).s(2).rz(-0.6, 0)


@pytest.mark.parametrize(("name", "kind"), [("w", "transformer"), ("phased", "rnn")])
def test_tomography_recovers_known_states(name: str, kind: str) -> None:
    psi = w_state(3) if name == "w" else statevector(phased_circuit()).numpy()
    record = measure_randomized(psi, 6000, seed=4)
    model = NeuralStateModel(3, kind=kind, d_model=16, heads=2, seed=0)
    before = model.fidelity(psi)
    model.fit(record, steps=300, batch_size=128, lr=0.02, seed=1)
    assert before < 0.8
    assert model.fidelity(psi) > 0.97
    assert model.history_[-1][0] == 300 and model.step_ == 300


def test_resumed_fit_repeats_the_uninterrupted_one() -> None:
    record = measure_randomized(Circuit(2).h(0).cx(0, 1), 500, seed=0)
    whole = NeuralStateModel(2, kind="rnn", d_model=8, seed=0).fit(record, steps=12, batch_size=16, seed=3)
    stopped = NeuralStateModel(2, kind="rnn", d_model=8, seed=0)

    class Stop(Exception):
        pass

    def stop_at_5(step: int, _: float) -> None:
        if step == 5:
            raise Stop

    with pytest.raises(Stop):
        stopped.fit(record, steps=12, batch_size=16, seed=3, callback=stop_at_5)
    stopped.fit(record, steps=12, batch_size=16, seed=3, resume=True)
    assert stopped.step_ == 12
    assert torch.allclose(stopped.statevector(), whole.statevector(), atol=1e-12)
    assert [round(v, 10) for _, v in stopped.history_] == [round(v, 10) for _, v in whole.history_]


def test_save_and_load_round_trip(tmp_path) -> None:
    model = NeuralStateModel(3, kind="transformer", d_model=16, heads=2, layers=1, seed=9)
    model.save(tmp_path / "m")
    again = NeuralStateModel.load(tmp_path / "m")
    assert again.config == model.config
    assert torch.allclose(again.statevector(), model.statevector())
    with pytest.raises(CheckpointError, match="already saved there"):
        model.save(tmp_path / "m")
    model.save(tmp_path / "m", overwrite=True)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.safetensors").write_bytes(b"not a file")
    with pytest.raises(CheckpointError):
        NeuralStateModel.load(tmp_path / "bad")


def test_shadow_fidelity_agrees_with_the_exact_one() -> None:
    psi = statevector(phased_circuit()).numpy()
    model = NeuralStateModel(3, kind="rnn", seed=1)
    exact = model.fidelity(psi)
    est = model.shadow_fidelity(measure_randomized(psi, 3000, basis="clifford", seed=2))
    assert abs(float(est.values) - exact) < 4 * float(est.stderr) + 0.01


def test_bad_input_is_refused() -> None:
    model = NeuralStateModel(3, kind="rnn", seed=0)
    with pytest.raises(DataError, match="record has 2 qubits, the model 3"):
        model.fit(measure_randomized(Circuit(2), 10, seed=0))
    with pytest.raises(DataError, match="Clifford-basis shots"):
        model.fit(measure_randomized(Circuit(3), 5, basis="clifford", seed=0))
    with pytest.raises(DataError, match=r"rotate 3 qubits .* 2\*\*3 model evaluations; max_rotated is 2"):
        model.fit(ShotRecord([[0, 1, 0]], [[0, 0, 1]]), max_rotated=2)
    with pytest.raises(DataError, match="the target must have 2\\*\\*3 = 8 amplitudes, got 4"):
        model.fidelity(np.ones(4) / 2)
    with pytest.raises(DataError, match="not normalised"):
        model.fidelity(np.ones(8))
    with pytest.raises(DataError, match="is not a 3-bit string"):
        model.amplitudes(["0102"])
    with pytest.raises(ResourceError, match=r"2\*\*21 amplitudes \(0.0312 GiB"):
        NeuralStateModel(21, kind="rnn", d_model=4).statevector()


def test_measure_in_given_bases() -> None:
    bases = local_pauli_bases(400, 3, rotated=0.3, seed=0)
    assert 0.25 < float((bases != 2).mean()) < 0.35
    record = measure_randomized(Circuit(3).x(1), 800, bases=bases, shots_per_basis=2, seed=1)
    assert np.array_equal(record.bases, np.repeat(bases, 2, axis=0))
    z = record.bases == 2
    assert np.all(record.outcomes[z[:, 1], 1] == 1) and np.all(record.outcomes[z[:, 0], 0] == 0)
    with pytest.raises(SimulationError, match="400 given bases x shots_per_basis 1 = 400 shots, but shots is 10"):
        measure_randomized(Circuit(3), 10, bases=bases, seed=0)
    with pytest.raises(SimulationError, match="given bases have 3 columns, the state has 2 qubits"):
        measure_randomized(Circuit(2), 400, bases=bases, seed=0)
    with pytest.raises(SimulationError, match="Pauli codes 0, 1, 2"):
        measure_randomized(Circuit(3), 1, bases=[[0, 3, 1]], seed=0)


def test_stabilizer_state_with_amplitudes_below_1e_3() -> None:
    """20 qubits in |+>: every amplitude is 2**-10 < 1e-3 (shadow fidelities of 20-qubit models need it)."""
    import stim

    from qtandem.learn.shots import stabilizer_state

    circuit = stim.Circuit()
    circuit.append("H", list(range(20)))
    state = stabilizer_state(circuit.to_tableau())
    assert np.allclose(state, 2.0 ** -10)
