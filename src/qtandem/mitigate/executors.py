"""Executors for mitigation: qtandem's noisy simulator with a cache of exact distributions, and Qiskit.

Mitigation runs the same circuits many times (scale factors, calibration circuits, one
estimate per seed in a benchmark). :func:`simulator_executor` computes each distinct
circuit's exact outcome distribution once (a density matrix, readout errors included)
and draws every later batch of shots from it: repeated circuits cost one simulation,
and the shots stay seeded and statistically identical to fresh sampling.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.noise import NoiseModel, readout_error
    >>> run = simulator_executor(NoiseModel().add_readout(readout_error(0.1, 0.1)), seed=1)
    >>> c = Circuit(1, 1).x(0).measure(0, 0)
    >>> a = run([c], 1000)[0]
    >>> sum(a.values()), 850 < a["1"] < 950, run.simulations
    (1000, True, 1)
    >>> _ = run([c, c], 1000); run.simulations
    1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.device.device import Device
from qtandem.device.executors import qiskit_executor, restrict, touched_qubits
from qtandem.device.executors import simulator_executor as _device_executor
from qtandem.errors import ArgumentTypeError
from qtandem.noise.model import NoiseModel
from qtandem.random import as_generator

__all__ = ["CachedSimulator", "ExpectationExecutor", "expectation_executor", "qiskit_executor", "simulator_executor"]

EXACT_MAX_QUBITS = 12
"""Circuits on more qubits (after cutting a device to the touched ones) are sampled, not cached."""


def _key(circuit: Circuit) -> tuple[Any, ...]:
    return (circuit.n_qubits, circuit.n_clbits, tuple(circuit))


class CachedSimulator:
    """``executor(circuits, shots, *, seed=None)`` over qtandem's noisy simulator (see :func:`simulator_executor`).

    Attributes:
        simulations: exact distributions computed so far (cache misses).

    Examples:
        >>> from qtandem.noise import NoiseModel
        >>> run = CachedSimulator(NoiseModel(), seed=0)
        >>> run([Circuit(2).x(1)], 10), run.simulations
        ([{'10': 10}], 1)
    """

    def __init__(self, noise: Device | NoiseModel, *, seed: int = 0, cache: bool = True,
                 method: str = "auto", max_entries: int = 4096) -> None:
        if isinstance(noise, Device | NoiseModel):
            self.noise = noise
        elif callable(getattr(noise, "device", None)):  # a qtandem.learn.Calibration: its fitted device
            self.noise = noise.device()
        else:
            raise ArgumentTypeError(f"simulator_executor needs a Device, a NoiseModel or a Calibration, got "
                                    f"{type(noise).__name__}")
        self.cache = bool(cache)
        self.max_entries = int(max_entries)
        self.rng = as_generator(seed)
        self.sampler = _device_executor(self.noise, seed=int(self.rng.integers(2**62)), method=method)
        self.simulations = 0
        self._dists: dict[tuple[Any, ...], tuple[list[str], np.ndarray]] = {}
        self._models: dict[tuple[int, ...], NoiseModel] = {}

    def _model(self, qubits: tuple[int, ...]) -> NoiseModel:
        if qubits not in self._models:
            assert isinstance(self.noise, Device)
            self._models[qubits] = self.noise.subset(list(qubits)).noise_model()
        return self._models[qubits]

    def _distribution(self, circuit: Circuit) -> tuple[list[str], np.ndarray] | None:
        key = _key(circuit)
        if key in self._dists:
            return self._dists[key]
        from qtandem.sim.branching import distribution

        measured = any(inst.name == "measure" for inst in circuit)
        if isinstance(self.noise, Device) and measured:
            qubits = tuple(touched_qubits(circuit))
            small, model = restrict(circuit, qubits), self._model(qubits)
        else:
            small = circuit
            model = self.noise if isinstance(self.noise, NoiseModel) else self.noise.noise_model()
        if small.n_qubits > EXACT_MAX_QUBITS:
            return None
        dist = distribution(small, noise=model)
        keys = list(dist)
        p = np.array([dist[k] for k in keys], dtype=float)
        entry = (keys, p / p.sum())
        self.simulations += 1
        if len(self._dists) >= self.max_entries:
            self._dists.pop(next(iter(self._dists)))
        self._dists[key] = entry
        return entry

    def __call__(self, circuits: Sequence[Circuit], shots: int, *, seed: int | None = None) -> list[dict[str, int]]:
        gen = self.rng if seed is None else as_generator(seed)
        out: list[dict[str, int]] = []
        for circuit in circuits:
            if not isinstance(circuit, Circuit):
                raise ArgumentTypeError(f"executor: expected qtandem Circuits, got {type(circuit).__name__}")
            s = int(gen.integers(2**62))
            entry = self._distribution(circuit) if self.cache else None
            if entry is None:
                out.append(self.sampler([circuit], int(shots), seed=s)[0])
                continue
            keys, p = entry
            drawn = np.random.default_rng(s).multinomial(int(shots), p)
            out.append({k: int(n) for k, n in zip(keys, drawn, strict=True) if n})
        return out


def simulator_executor(noise: Any, *, seed: int = 0, cache: bool = True, method: str = "auto") -> CachedSimulator:
    """An executor sampling qtandem's noisy simulator, each distinct circuit simulated once.

    :func:`qtandem.device.executors.simulator_executor` plus a cache: with ``cache=True``
    each distinct circuit (up to 12 qubits after a device is cut to the touched qubits) gets
    its exact outcome distribution (:func:`qtandem.distribution`, readout errors included)
    computed once, and every call draws multinomial counts from it with the call's seed.
    Larger circuits, or ``cache=False``, are sampled by the device executor each time.

    Args:
        noise: a :class:`~qtandem.device.Device`, a :class:`~qtandem.noise.NoiseModel`, or a
            ``qtandem.learn.Calibration`` (its fitted device).
        seed: seed of the executor's own generator (calls without ``seed=`` draw from it).
        cache: keep exact distributions.
        method: simulation method for uncached circuits (``"auto"``, ``"density"``, ``"trajectories"``).

    Returns:
        ``executor(circuits, shots, *, seed=None) -> list[dict[str, int]]``.

    Raises:
        ArgumentTypeError: ``noise`` is none of these.

    Examples:
        >>> from qtandem.device import Device
        >>> run = simulator_executor(Device.preset("line_5"), seed=0)
        >>> a = run([Circuit(5, 1).x(3).measure(3, 0)], 500, seed=4)
        >>> a == run([Circuit(5, 1).x(3).measure(3, 0)], 500, seed=4), run.simulations
        (True, 1)
    """
    return CachedSimulator(noise, seed=seed, cache=cache, method=method)


class ExpectationExecutor:
    """An executor that returns expectation values, not counts (see :func:`expectation_executor`).

    Examples:
        >>> run = ExpectationExecutor(lambda circuits, shots: [1.0 for _ in circuits])
        >>> run.returns, run([Circuit(1)], 10)
        ('expectation', [1.0])
    """

    returns = "expectation"

    def __init__(self, fn: Any) -> None:
        if not callable(fn):
            raise ArgumentTypeError(f"expectation_executor needs a callable (circuits, shots) -> values, got "
                                    f"{type(fn).__name__}")
        from qtandem.device.executors import accepts_seed

        self.fn = fn
        self.seeded = accepts_seed(fn)

    def __call__(self, circuits: Sequence[Circuit], shots: int, *, seed: int | None = None) -> Any:
        if self.seeded and seed is not None:
            return self.fn(circuits, shots, seed=seed)
        return self.fn(circuits, shots)


def expectation_executor(fn: Any) -> ExpectationExecutor:
    """Declare ``fn(circuits, shots[, seed=]) -> [value or (value, stderr), ...]`` an expectation-value executor.

    Mitiq's executors return the observable's value per circuit; wrapped with this, they plug
    into :func:`~qtandem.mitigate.execute` (the observable passed there should be the one ``fn``
    computes: it sets the standard-error bound when ``fn`` gives none). Each circuit is handed
    over as given (no basis change: ``fn`` measures what it needs). Methods that read bitstrings
    (readout mitigation) refuse such executors.

    Examples:
        >>> import math
        >>> from qtandem import Circuit
        >>> from qtandem.mitigate import execute
        >>> run = expectation_executor(lambda circuits, shots: [(0.8, 0.8 / math.sqrt(shots)) for _ in circuits])
        >>> res = execute(Circuit(1), "Z0", run, methods=[], shots=100)
        >>> res.value, res.stderr, res.shots_used
        (0.8, 0.08, 100)
    """
    return ExpectationExecutor(fn)
