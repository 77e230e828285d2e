"""Noise: Kraus channels, readout errors and noise models (see :mod:`qtandem.noise.channels`)."""

from qtandem.noise.channels import (
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
    thermal_relaxation,
)
from qtandem.noise.model import NoiseModel
from qtandem.noise.readout import ReadoutError, readout_error

__all__ = [
    "KrausChannel",
    "NoiseModel",
    "ReadoutError",
    "amplitude_damping",
    "bit_flip",
    "coherent_rotation",
    "depolarizing",
    "depolarizing_qiskit",
    "generalized_amplitude_damping",
    "pauli_channel",
    "phase_damping",
    "phase_flip",
    "readout_error",
    "thermal_relaxation",
]
