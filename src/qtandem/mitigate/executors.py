"""Executors for mitigation: qtandem's noisy simulator with a cache of exact distributions, and Qiskit.

Mitigation runs the same circuits many times (scale factors, calibration circuits, one
estimate per seed in a benchmark). :func:`simulator_executor` computes each distinct
circuit's exact outcome distribution once (a density matrix, readout errors included)
and draws every later batch of shots from it: repeated circuits cost one simulation,
and the shots stay seeded and statistically identical to fresh sampling. A Clifford circuit
under Pauli noise (:func:`stim_circuit` says when that holds exactly) can instead be sampled
by Stim, which is exact too and much faster than a density matrix on 8 qubits or more.

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

__all__ = ["CachedSimulator", "ExpectationExecutor", "expectation_executor", "pauli_probabilities",
           "qiskit_executor", "simulator_executor", "stim_circuit"]

EXACT_MAX_QUBITS = 12
"""Circuits on more qubits (after cutting a device to the touched ones) are sampled, not cached."""
STIM_MIN_QUBITS = 8
"""With ``stim=None`` (auto), Stim samples exact-Pauli Clifford circuits from this many qubits on (a density
matrix below that is cheap and its distribution is cached)."""
PAULI_TOL = 1e-10
"""Largest off-diagonal Pauli-basis (chi) entry of a channel treated as a Pauli channel."""

_PAULI_1Q = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
             "Z": np.diag([1.0, -1.0])}


def pauli_probabilities(channel: Any) -> dict[str, float] | None:
    """The Pauli error probabilities of a one- or two-qubit channel, or ``None`` if it is not a Pauli channel.

    A channel is a Pauli channel when its chi matrix in the Pauli basis is diagonal (to
    :data:`PAULI_TOL`): ``rho -> sum_P p_P P rho P``. Labels name the channel's qubits in
    order (``"XZ"``: X on its first qubit, Z on its second; a Kraus matrix's index bit ``j``
    is qubit ``j``, as in :func:`qtandem.sim.apply.apply_matrix`). Coherent rotations,
    amplitude damping and thermal relaxation are not Pauli channels.

    Args:
        channel: a :class:`~qtandem.noise.channels.KrausChannel` on one or two qubits.

    Returns:
        ``{label: probability}`` over every Pauli label (``"I"`` included), or ``None``.

    Examples:
        >>> from qtandem.noise import amplitude_damping, depolarizing_qiskit, pauli_channel
        >>> {k: round(v, 4) for k, v in pauli_probabilities(pauli_channel(0.1, 0.0, 0.05)).items()}
        {'I': 0.85, 'X': 0.1, 'Y': 0.0, 'Z': 0.05}
        >>> round(pauli_probabilities(depolarizing_qiskit(0.01, 2))["XZ"], 6)    # lam / 16
        0.000625
        >>> pauli_probabilities(amplitude_damping(0.1)) is None
        True
    """
    n = int(channel.num_qubits)
    if n not in (1, 2):
        return None
    labels = list(_PAULI_1Q) if n == 1 else [a + b for a in _PAULI_1Q for b in _PAULI_1Q]
    # label "AB": A on the channel's first qubit (index bit 0, least significant), so the matrix is kron(B, A)
    mats = [_PAULI_1Q[lab] if n == 1 else np.kron(_PAULI_1Q[lab[1]], _PAULI_1Q[lab[0]]) for lab in labels]
    d = 2**n
    coeffs = np.array([[np.trace(m.conj().T @ k.detach().cpu().numpy()) / d for m in mats] for k in channel.kraus])
    chi = coeffs.T @ coeffs.conj()  # chi[P, Q] = sum_k c_kP conj(c_kQ)
    off = chi - np.diag(np.diag(chi))
    if float(np.abs(off).max(initial=0.0)) > PAULI_TOL:
        return None
    return {lab: float(max(chi[i, i].real, 0.0)) for i, lab in enumerate(labels)}


def stim_circuit(circuit: Circuit, noise: NoiseModel) -> tuple[Any, list[tuple[int, int]]] | None:
    """``circuit`` with ``noise``'s gate errors as a ``stim.Circuit``, when Stim samples it exactly; else ``None``.

    Stim is exact when every gate is Clifford (rotations by multiples of pi/2, ``sx``, ``x``,
    ``h``, ``s``, ``cx``, ``cz``, ...; no conditions, resets or controls), every channel the
    model attaches is a Pauli channel on one or two qubits (:func:`pauli_probabilities`), the
    model has no idle relaxation, detuning or ZZ, and every measurement is terminal (each
    qubit measured once, nothing after it). Readout errors are not in the Stim circuit: they
    are classical and act on the sampled bits (any :class:`~qtandem.noise.ReadoutError`,
    asymmetric or correlated, exactly). A circuit that measures nothing is read as
    :func:`qtandem.sample` reads it. A strict model that does not cover the circuit also gives
    ``None`` (the density-matrix path then raises its error).

    Args:
        circuit: the circuit.
        noise: the noise model.

    Returns:
        ``(stim_circuit, pairs)`` with ``pairs[i] = (qubit, clbit)`` of the ``i``-th measurement
        record, or ``None``.

    Examples:
        >>> from qtandem.noise import NoiseModel, amplitude_damping, depolarizing
        >>> model = NoiseModel().add(depolarizing(0.015, 2), gates="cx").set_ideal(["h"])
        >>> noisy, pairs = stim_circuit(Circuit(2).h(0).cx(0, 1), model)
        >>> [line.split("(")[0] for line in str(noisy).splitlines()], str(noisy).count("0.001,"), pairs
        (['H 0', 'CX 0 1', 'PAULI_CHANNEL_2', 'M 0 1'], 14, [(0, 0), (1, 1)])
        >>> stim_circuit(Circuit(1).h(0), NoiseModel().add(amplitude_damping(0.1), gates="h")) is None
        True
    """
    import stim

    from qtandem.circuit.parameter import is_symbolic
    from qtandem.circuit.terminal import terminal_measurements
    from qtandem.mitigate.cdr import _STIM_1Q, _STIM_2Q, _STIM_ROT, _quarters
    from qtandem.sim.branching import measured_circuit

    if noise.has_idle or (noise.strict and noise.check(circuit)):
        return None
    target = measured_circuit(circuit)
    term = terminal_measurements(target)
    n_measures = sum(len(inst.qubits) for inst in target if inst.name == "measure")
    pairs = list(term.pairs)
    if len(pairs) != n_measures or len({q for q, _ in pairs}) != len(pairs) or len({c for _, c in pairs}) != len(pairs):
        return None
    out = stim.Circuit()
    probs: dict[int, dict[str, float] | None] = {}
    for inst in target:
        if inst.name == "delay":  # no idle noise: a delay does nothing (the density path skips it too)
            continue
        if inst.condition is not None or inst.ctrl or inst.inverted or inst.name == "reset":
            return None
        q = list(inst.qubits)
        if inst.is_gate:
            if inst.name in _STIM_1Q:
                out.append(_STIM_1Q[inst.name], q)
            elif inst.name in _STIM_2Q:
                out.append(_STIM_2Q[inst.name], q)
            elif inst.name in _STIM_ROT and not is_symbolic(inst.params[0]):
                k = _quarters(float(inst.params[0]))  # type: ignore[arg-type]
                if k is None:
                    return None
                if _STIM_ROT[inst.name][k] != "I":
                    out.append(_STIM_ROT[inst.name][k], q)
            else:
                return None
        for channel, qubits in noise.errors_after(inst):
            if id(channel) not in probs:
                probs[id(channel)] = pauli_probabilities(channel)
            p = probs[id(channel)]
            if p is None:
                return None
            if channel.num_qubits == 1:
                out.append("PAULI_CHANNEL_1", list(qubits), [p["X"], p["Y"], p["Z"]])
            else:
                out.append("PAULI_CHANNEL_2", list(qubits), [v for lab, v in p.items() if lab != "II"])
    # every measurement is terminal: reading them all at the end is reading the final state, noise included
    out.append("M", [q for q, _ in pairs])
    return out, pairs


def _stim_counts(noisy: Any, pairs: list[tuple[int, int]], n_clbits: int, noise: NoiseModel, shots: int,
                 seed: int) -> dict[str, int]:
    """Counts (classical bit 0 rightmost) from Stim samples, with the model's readout errors on the bits."""
    bits = noisy.compile_sampler(seed=seed % 2**63).sample(shots).astype(np.uint8)
    column = {q: j for j, (q, _) in enumerate(pairs)}
    rng = np.random.default_rng(seed)
    for err, qs in noise.readout_errors(sorted(column)):
        bits = err.apply_to_bits(bits, [column[q] for q in qs], seed=rng)
    weights = np.array([1 << c for _, c in pairs], dtype=np.int64)
    keys, freq = np.unique(bits.astype(np.int64) @ weights, return_counts=True)
    return {format(int(k), f"0{n_clbits}b") if n_clbits else "": int(f) for k, f in zip(keys, freq, strict=True)}


def _key(circuit: Circuit) -> tuple[Any, ...]:
    return (circuit.n_qubits, circuit.n_clbits, tuple(circuit))


class CachedSimulator:
    """``executor(circuits, shots, *, seed=None)`` over qtandem's noisy simulator (see :func:`simulator_executor`).

    Attributes:
        simulations: exact distributions computed so far (cache misses).
        stim_runs: circuits sampled by Stim so far.

    Examples:
        >>> from qtandem.noise import NoiseModel
        >>> run = CachedSimulator(NoiseModel(), seed=0)
        >>> run([Circuit(2).x(1)], 10), run.simulations
        ([{'10': 10}], 1)
    """

    def __init__(self, noise: Device | NoiseModel, *, seed: int = 0, cache: bool = True,
                 method: str = "auto", max_entries: int = 4096, stim: bool | None = None) -> None:
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
        self.stim = stim
        self.simulations = 0
        self.stim_runs = 0
        self._stims: dict[tuple[Any, ...], tuple[Any, list[tuple[int, int]], int, NoiseModel] | None] = {}
        self._dists: dict[tuple[Any, ...], tuple[list[str], np.ndarray]] = {}
        self._models: dict[tuple[int, ...], NoiseModel] = {}

    def _model(self, qubits: tuple[int, ...]) -> NoiseModel:
        if qubits not in self._models:
            assert isinstance(self.noise, Device)
            self._models[qubits] = self.noise.subset(list(qubits)).noise_model()
        return self._models[qubits]

    def _target(self, circuit: Circuit) -> tuple[Circuit, NoiseModel]:
        """The circuit to simulate (a device cut to the touched qubits when it measures) and its noise model."""
        measured = any(inst.name == "measure" for inst in circuit)
        if isinstance(self.noise, Device) and measured:
            qubits = tuple(touched_qubits(circuit))
            return restrict(circuit, qubits), self._model(qubits)
        if isinstance(self.noise, NoiseModel):
            return circuit, self.noise
        if () not in self._models:
            self._models[()] = self.noise.noise_model()
        return circuit, self._models[()]

    def _stim(self, circuit: Circuit) -> tuple[Any, list[tuple[int, int]], int, NoiseModel] | None:
        """The Stim path of ``circuit`` when it is exact and chosen (``stim``), else ``None``."""
        if self.stim is False:
            return None
        key = _key(circuit)
        if key not in self._stims:
            small, model = self._target(circuit)
            chosen = (self.stim is True or small.n_qubits >= STIM_MIN_QUBITS or not self.cache
                      or small.n_qubits > EXACT_MAX_QUBITS)
            built = stim_circuit(small, model) if chosen else None
            entry = None
            if built is not None:
                from qtandem.sim.branching import measured_circuit

                entry = (built[0], built[1], measured_circuit(small).n_clbits, model)
            if len(self._stims) >= self.max_entries:
                self._stims.pop(next(iter(self._stims)))
            self._stims[key] = entry
        return self._stims[key]

    def _distribution(self, circuit: Circuit) -> tuple[list[str], np.ndarray] | None:
        key = _key(circuit)
        if key in self._dists:
            return self._dists[key]
        from qtandem.sim.branching import distribution

        small, model = self._target(circuit)
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
            stim_entry = self._stim(circuit)
            if stim_entry is not None:
                noisy, pairs, n_clbits, model = stim_entry
                out.append(_stim_counts(noisy, pairs, n_clbits, model, int(shots), s))
                self.stim_runs += 1
                continue
            entry = self._distribution(circuit) if self.cache else None
            if entry is None:
                out.append(self.sampler([circuit], int(shots), seed=s)[0])
                continue
            keys, p = entry
            drawn = np.random.default_rng(s).multinomial(int(shots), p)
            out.append({k: int(n) for k, n in zip(keys, drawn, strict=True) if n})
        return out


def simulator_executor(noise: Any, *, seed: int = 0, cache: bool = True, method: str = "auto",
                       stim: bool | None = None) -> CachedSimulator:
    """An executor sampling qtandem's noisy simulator, each distinct circuit simulated once.

    :func:`qtandem.device.executors.simulator_executor` plus a cache: with ``cache=True``
    each distinct circuit (up to 12 qubits after a device is cut to the touched qubits) gets
    its exact outcome distribution (:func:`qtandem.distribution`, readout errors included)
    computed once, and every call draws multinomial counts from it with the call's seed.
    Larger circuits, or ``cache=False``, are sampled by the device executor each time.

    A Clifford circuit under Pauli gate noise (exactly when :func:`stim_circuit` builds it:
    Pauli channels only, no idle relaxation, terminal measurements; any readout error) is
    instead sampled by Stim, shot by shot, with the same distribution: with ``stim=None``
    (default) when the simulated circuit has 8 or more qubits (:data:`STIM_MIN_QUBITS`; a
    10-qubit mirror circuit of depth 20 takes seconds as a density matrix, milliseconds in
    Stim) or cannot be cached; with ``stim=True`` whenever exact; never with ``stim=False``.
    Stim's samples are seeded but reproducible only on the same Stim version and platform.

    Args:
        noise: a :class:`~qtandem.device.Device`, a :class:`~qtandem.noise.NoiseModel`, or a
            ``qtandem.learn.Calibration`` (its fitted device).
        seed: seed of the executor's own generator (calls without ``seed=`` draw from it).
        cache: keep exact distributions.
        method: simulation method for uncached circuits (``"auto"``, ``"density"``, ``"trajectories"``).
        stim: sample exact-Pauli Clifford circuits with Stim: ``None`` (from 8 qubits), ``True``, ``False``.

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
    return CachedSimulator(noise, seed=seed, cache=cache, method=method, stim=stim)


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
