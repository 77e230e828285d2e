"""Mixture decompositions reproduce their channel exactly (superoperators to 1e-10)."""

from __future__ import annotations

import pytest
import torch

from qtandem.noise import channels as ch
from qtandem.noise.mixture import _term_superop, mixture_terms


def _rebuilt(channel):
    terms = mixture_terms(channel)
    assert terms is not None
    assert abs(sum(p for p, _ in terms) - 1) < 1e-12 and min(p for p, _ in terms) > 0
    return sum(p * _term_superop(ops, channel.num_qubits) for p, ops in terms)


DECOMPOSABLE = [
    ch.depolarizing(0.07),
    ch.depolarizing(0.2, 2),
    ch.depolarizing_qiskit(1.0),
    ch.pauli_channel(0.1, 0.02, 0.3),
    ch.bit_flip(0.4),
    ch.phase_damping(0.3),
    ch.coherent_rotation("y", 0.3),
    ch.thermal_relaxation(100.0, 80.0, 7.0),
    ch.thermal_relaxation(50.0, 50.0, 200.0),
    ch.thermal_relaxation(100.0, 80.0, 35.6, excited_population=0.1),
    ch.thermal_relaxation(100.0, 80.0, 300.0).tensor(ch.thermal_relaxation(90.0, 30.0, 300.0)),
    ch.depolarizing(0.05).compose(ch.thermal_relaxation(10.0, 5.0, 1.0)),
    ch.depolarizing(0.1, 2).compose(ch.bit_flip(0.2).tensor(ch.phase_flip(0.1))),
]


@pytest.mark.parametrize("channel", DECOMPOSABLE, ids=lambda c: c.name)
def test_decomposition_reproduces_superoperator(channel):
    assert torch.allclose(_rebuilt(channel), channel.superop(), atol=1e-10)


def test_thermal_relaxation_matches_the_closed_form():
    import math

    t1, t2, t = 100.0, 80.0, 300.0
    terms = mixture_terms(ch.thermal_relaxation(t1, t2, t))
    p_reset = 1 - math.exp(-t / t1)
    p_z = (1 - p_reset) * (1 - math.exp(-t / t2 + t / t1)) / 2
    probs = {tuple((op.kind, op.value) for op in ops): p for p, ops in terms}
    assert probs[(("reset", 0),)] == pytest.approx(p_reset, abs=1e-12)
    assert probs[(("unitary", 0),)] == pytest.approx(p_z, abs=1e-12)
    assert probs[()] == pytest.approx(1 - p_reset - p_z, abs=1e-12)


@pytest.mark.parametrize("channel", [
    ch.amplitude_damping(0.1),
    ch.thermal_relaxation(100.0, 180.0, 10.0),  # T2 > T1: not a Pauli/reset mixture
    ch.generalized_amplitude_damping(0.7, 0.2),
    ch.amplitude_damping(0.1).tensor(ch.bit_flip(0.1)),
], ids=lambda c: c.name)
def test_non_mixtures_are_reported_as_none(channel):
    assert mixture_terms(channel) is None
