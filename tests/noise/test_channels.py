import math

import numpy as np
import pytest
import torch

from qtandem.errors import NoiseError
from qtandem.noise import (
    KrausChannel,
    amplitude_damping,
    bit_flip,
    coherent_rotation,
    depolarizing,
    depolarizing_qiskit,
    generalized_amplitude_damping,
    pauli_channel,
    phase_damping,
    phase_flip,
    readout_error,
    thermal_relaxation,
)

ALL = [
    depolarizing(0.07), depolarizing(0.2, 2), pauli_channel(0.1, 0.05, 0.02), bit_flip(0.1), phase_flip(0.3),
    amplitude_damping(0.25), phase_damping(0.4), generalized_amplitude_damping(0.8, 0.3),
    thermal_relaxation(100.0, 80.0, 12.0), coherent_rotation("x", 0.2), coherent_rotation((1, 1, 0), 0.3),
]
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)


def _random_rho(d, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


@pytest.mark.parametrize("channel", ALL, ids=lambda c: c.name)
def test_cptp_and_representations_agree(channel):
    d = 2**channel.num_qubits
    total = sum(k.conj().T @ k for k in channel.kraus).numpy()
    np.testing.assert_allclose(total, np.eye(d), atol=1e-12)
    rho = _random_rho(d, 1)
    direct = sum(k.numpy() @ rho @ k.numpy().conj().T for k in channel.kraus)
    # superoperator on vec(rho)[j + d*i] = rho[i, j]
    vec = channel.superop().numpy() @ rho.reshape(-1)
    np.testing.assert_allclose(vec.reshape(d, d), direct, atol=1e-12)
    choi = channel.choi().numpy()
    assert abs(np.trace(choi) - d) < 1e-10
    assert np.linalg.eigvalsh(choi).min() > -1e-10  # completely positive
    ptm = channel.ptm().numpy()
    assert abs(ptm[0, 0] - 1) < 1e-12 and np.abs(ptm[0, 1:]).max() < 1e-12  # trace preserving


def test_depolarizing_conventions():
    p = 0.09
    rho = _random_rho(2, 3)
    expected = (1 - p) * rho + p / 3 * (X @ rho @ X + Y @ rho @ Y + Z @ rho @ Z)
    np.testing.assert_allclose(depolarizing(p).apply(torch.tensor(rho)).numpy(), expected, atol=1e-12)
    lam = 0.1  # Qiskit: (1 - lam) rho + lam I/2
    np.testing.assert_allclose(depolarizing_qiskit(lam).apply(torch.tensor(rho)).numpy(),
                               (1 - lam) * rho + lam * np.eye(2) / 2, atol=1e-12)
    for n in (1, 2):
        assert depolarizing_qiskit(0.2, n).allclose(depolarizing(0.2 * (4**n - 1) / 4**n, n))


def test_thermal_relaxation_rates_and_t2_check():
    t1, t2, t = 100.0, 60.0, 15.0
    ch = thermal_relaxation(t1, t2, t)
    excited = torch.tensor([[0, 0], [0, 1]], dtype=torch.complex128)
    plus = torch.full((2, 2), 0.5, dtype=torch.complex128)
    assert float(ch.apply(excited)[1, 1].real) == pytest.approx(math.exp(-t / t1), abs=1e-12)
    assert float(ch.apply(plus)[0, 1].real) == pytest.approx(0.5 * math.exp(-t / t2), abs=1e-12)
    with pytest.raises(NoiseError, match="T2 .* must be <= 2\\*T1"):
        thermal_relaxation(10.0, 25.0, 1.0)


def test_compose_and_tensor_order():
    a, b = amplitude_damping(0.3), bit_flip(0.2)
    rho = torch.tensor(_random_rho(2, 5))
    np.testing.assert_allclose(a.compose(b).apply(rho).numpy(), b.apply(a.apply(rho)).numpy(), atol=1e-12)
    both = a.tensor(b)  # a on qubit 0 (least significant), b on qubit 1
    r2 = torch.tensor(np.kron(np.diag([0, 1.0]), np.diag([0, 1.0])).astype(complex))  # |11><11|
    out = both.apply(r2).numpy()
    # qubit 0 decays with 0.3, qubit 1 flips with 0.2: P(|q1 q0> = |01>) = 0.2 * 0.7
    assert out[1, 1].real == pytest.approx(0.2 * 0.7)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: depolarizing(1.5), r"p must be in \[0, 1\]"),
        (lambda: pauli_channel(0.5, 0.5, 0.5), "sum to"),
        (lambda: KrausChannel([np.eye(2) * 0.5]), "not trace preserving"),
        (lambda: KrausChannel([np.eye(3)]), "square 2\\^n"),
        (lambda: coherent_rotation("w", 0.1), "axis"),
        (lambda: readout_error(0.2, 1.2), r"p10 must be in \[0, 1\]"),
    ],
)
def test_bad_channels_raise_clear_errors(build, message):
    with pytest.raises(NoiseError, match=message):
        build()


def test_against_qiskit_kraus():
    qi = pytest.importorskip("qiskit_aer.noise")
    from qiskit.quantum_info import SuperOp

    pairs = [
        (qi.thermal_relaxation_error(100.0, 70.0, 20.0), thermal_relaxation(100.0, 70.0, 20.0)),
        (qi.amplitude_damping_error(0.3), amplitude_damping(0.3)),
        (qi.phase_damping_error(0.2), phase_damping(0.2)),
        (qi.depolarizing_error(0.1, 2), depolarizing_qiskit(0.1, 2)),
    ]
    for theirs, ours in pairs:
        s_theirs = SuperOp(theirs.to_quantumchannel()).data  # column-stacking convention
        d = 2**ours.num_qubits
        rho = _random_rho(d, 11)
        out_theirs = (s_theirs @ rho.reshape(-1, order="F")).reshape(d, d, order="F")
        np.testing.assert_allclose(ours.apply(torch.tensor(rho)).numpy(), out_theirs, atol=1e-10)
