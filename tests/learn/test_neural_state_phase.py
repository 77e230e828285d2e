"""NeuralStateModel phase variants ("full", "zero", "none") and reconstruct(phase="select") on held-out shots."""

import pytest
import torch
from tests.conftest import kron_nll

from qtandem import Circuit, statevector
from qtandem.errors import ParameterError
from qtandem.learn import NeuralStateModel, measure_randomized
from qtandem.learn.neural_state import reconstruct

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_phase_none_is_real_positive_and_zero_starts_positive() -> None:
    none = NeuralStateModel(3, kind="rnn", d_model=8, seed=3, phase="none")
    psi = none.statevector()
    assert torch.allclose(psi.imag, torch.zeros(8, dtype=torch.float64)) and bool((psi.real > 0).all())
    assert not any(p.requires_grad for p in none.phase_head.parameters())
    zero = NeuralStateModel(3, kind="rnn", d_model=8, seed=3, phase="zero")
    assert torch.allclose(zero.statevector(), psi)  # same backbone weights, phase head at zero
    assert all(p.requires_grad for p in zero.phase_head.parameters())
    full = NeuralStateModel(3, kind="rnn", d_model=8, seed=3)
    assert float(full.statevector().imag.abs().max()) > 1e-3  # random phase head


def test_phase_none_trains_and_round_trips(tmp_path) -> None:
    plus = Circuit(2).h(0).h(1)  # positive state
    model = NeuralStateModel(2, kind="rnn", d_model=8, seed=0, phase="none")
    model.fit(measure_randomized(plus, 1000, seed=1), steps=80, batch_size=128, seed=0)
    assert model.fidelity(statevector(plus)) > 0.97
    model.save(tmp_path)
    loaded = NeuralStateModel.load(tmp_path)
    assert loaded.phase == "none" and torch.allclose(loaded.statevector(), model.statevector())


def test_validation_nll_matches_dense_reference_for_light_and_heavy_shots() -> None:
    model = NeuralStateModel(3, kind="made", d_model=4, seed=2, phase="full")
    psi = model.statevector().numpy()
    record = measure_randomized(Circuit(3).h(0).cx(0, 1).s(2), 300, seed=4)
    want = kron_nll(psi, record.bases, record.outcomes).mean()
    assert model.validation_nll(record) == pytest.approx(want, rel=1e-9)
    assert model.validation_nll(record, max_rotated=1) == pytest.approx(want, rel=1e-9)  # heavy shots: full state


def test_select_refuses_the_positive_model_for_a_complex_state() -> None:
    circ = Circuit(2).h(0).s(0).h(1)  # (|0> + i|1>)|+>: no real positive state comes close (fidelity <= 0.5)
    record = measure_randomized(circ, 3000, seed=5)
    model, info = reconstruct(record, target=statevector(circ), kind="rnn", d_model=8, layers=1, steps=150,
                              batch_size=128, lr=0.03, phase="select")
    assert info["phase"] == "select:zero" and model.phase == "zero"
    assert info["validation_nll"]["zero"] < info["validation_nll"]["none"]
    assert info["fidelities"]["none"] < 0.6 < 0.95 < info["fidelity"]


def test_bad_phase_arguments() -> None:
    with pytest.raises(ParameterError, match="phase must be one of"):
        NeuralStateModel(2, phase="real")
    record = measure_randomized(Circuit(2).h(0), 100, seed=0)
    with pytest.raises(ParameterError, match="holdout"):
        reconstruct(record, phase="select", holdout=0.9, steps=1)
    with pytest.raises(ParameterError, match="candidates"):
        reconstruct(record, phase="select", candidates=("none", "complex"), steps=1)
