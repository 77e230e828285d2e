"""What ``noise=`` of :func:`qtandem.sample`, :func:`qtandem.probabilities` and :func:`qtandem.expval` runs.

The simulator does not import :mod:`qtandem.noise` (layers point one way): it hands
the circuit to the ``noise`` object through the small protocol
:class:`qtandem.sim.sampling.NoisySimulation`, which :class:`~qtandem.noise.NoiseModel`
implements with the functions here (exact density matrices, or trajectories).

Examples:
    >>> import qtandem
    >>> from qtandem.noise import NoiseModel, bit_flip
    >>> model = NoiseModel().add(bit_flip(0.5), gates=["x"])
    >>> qtandem.probabilities(qtandem.Circuit(1).x(0), noise=model).round(decimals=6).tolist()
    [0.5, 0.5]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import SimulationError
from qtandem.noise.density import noisy_probabilities
from qtandem.noise.model import NoiseModel
from qtandem.noise.trajectories import run_trajectories
from qtandem.random import Seed, as_generator
from qtandem.sim.branching import measured_circuit
from qtandem.sim.sampling import draw_bits

__all__ = ["pick_method", "sample_bits"]


def pick_method(circuit: Circuit, method: str) -> str:
    """``"density"`` or ``"trajectories"`` for ``method`` (``"auto"``: density up to 10 qubits without
    classically controlled gates).

    Raises:
        SimulationError: an unknown method.

    Examples:
        >>> from qtandem import Circuit
        >>> pick_method(Circuit(3), "auto"), pick_method(Circuit(12), "auto"), pick_method(Circuit(3), "trajectories")
        ('density', 'trajectories', 'trajectories')
        >>> pick_method(Circuit(3), "exact")
        Traceback (most recent call last):
        ...
        qtandem.errors.SimulationError: ...
    """
    if method not in ("auto", "density", "trajectories"):
        raise SimulationError(f"method must be 'auto', 'density' or 'trajectories', got {method!r}")
    if method != "auto":
        return method
    conditioned = any(inst.condition is not None for inst in circuit)
    return "density" if circuit.n_qubits <= 10 and not conditioned else "trajectories"


def sample_bits(noise: NoiseModel, circuit: Circuit, shots: int, *, params: Any, seed: Seed, dtype: torch.dtype,
                device: Any, method: str) -> np.ndarray:
    """``(shots, n_clbits)`` noisy shots (every qubit measured into its own bit when none is measured).

    Examples:
        >>> from qtandem import Circuit, NoiseModel
        >>> from qtandem.noise import bit_flip
        >>> model = NoiseModel().add(bit_flip(0.25), gates=["x"])
        >>> bits = sample_bits(model, Circuit(1, 1).x(0).measure(0, 0), 1000, params=None, seed=1,
        ...                    dtype=torch.complex128, device=None, method="density")
        >>> bits.shape, bits.dtype, bool(0.7 < bits.mean() < 0.8)
        ((1000, 1), dtype('uint8'), True)
    """
    if pick_method(circuit, method) == "trajectories":
        return run_trajectories(circuit, noise=noise, shots=shots, seed=seed, params=params, dtype=dtype,
                                device=device).bits
    layout = terminal_measurements(circuit)
    if not layout.single_run:  # mid-circuit measurement, reset, feed-forward: draw from the exact distribution
        from qtandem.noise.density import record_distribution

        dist = record_distribution(circuit, params, noise=noise, dtype=dtype, device=device)
        width = measured_circuit(circuit).n_clbits
        keys = list(dist)
        p = np.array([dist[k] for k in keys])
        drawn = as_generator(seed).choice(len(keys), size=shots, p=p / p.sum())
        table = np.array([[(k >> c) & 1 for c in range(width)] for k in keys], dtype=np.uint8).reshape(-1, width)
        return table[drawn]
    n_clbits = circuit.n_clbits
    pairs = list(layout.pairs)
    if not layout.any_measure:
        pairs = [(q, q) for q in range(circuit.n_qubits)]
        n_clbits = max(n_clbits, circuit.n_qubits)
    probs = noisy_probabilities(circuit, params, noise=noise, dtype=dtype, device=device)
    return draw_bits(probs, shots, pairs, n_clbits, as_generator(seed))
