"""Measurement statistics: :func:`sample`, :func:`probabilities`, :func:`expval`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.pauli import PauliSum
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import ArgumentTypeError, NoiseError, SimulationError
from qtandem.random import Seed, as_generator
from qtandem.sim.branching import _marginal, branch, measured_circuit, sample_records
from qtandem.sim.core import is_batched, resolve_params, run
from qtandem.sim.expectation import dm_expectation, pauli_expectation, pauli_expectation_many
from qtandem.sim.memory import available_bytes, state_bytes
from qtandem.training import progress_bar

__all__ = ["NoisySimulation", "SampleResult", "as_noisy_simulation", "draw_bits", "expval", "probabilities", "sample"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class SampleResult:
    """Shots from :func:`sample`.

    Attributes:
        bits: ``(shots, n_clbits)`` uint8 array; column ``c`` is classical bit ``c``.
        seed: the seed the shots were drawn with.

    Examples:
        >>> from qtandem import Circuit, sample
        >>> result = sample(Circuit(2, 2).x(0).measure([0, 1], [0, 1]), shots=4, seed=1)
        >>> result.shots, result.counts, result.bits.shape
        (4, {'01': 4}, (4, 2))
    """

    bits: np.ndarray
    seed: Seed = None
    _counts: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def shots(self) -> int:
        """Number of shots."""
        return int(self.bits.shape[0])

    @property
    def counts(self) -> dict[str, int]:
        """``{bitstring: count}``, bitstrings written with classical bit 0 rightmost, sorted."""
        if not self._counts and self.shots:
            width = self.bits.shape[1]
            if width == 0:
                self._counts[""] = self.shots
            else:
                packed = self.to_ints()
                for value, cnt in sorted(Counter(packed.tolist()).items()):
                    self._counts[format(value, f"0{width}b")] = cnt
        return dict(self._counts)

    def to_ints(self) -> np.ndarray:
        """``(shots,)`` integers, classical bit ``c`` as bit ``c`` (width <= 63)."""
        if self.bits.shape[1] > 63:
            raise SimulationError("to_ints() supports at most 63 classical bits; use .bits")
        weights = (1 << np.arange(self.bits.shape[1], dtype=np.int64))
        return (self.bits.astype(np.int64) * weights).sum(axis=1)

    def most_common(self, k: int = 5) -> list[tuple[str, int]]:
        """The ``k`` most frequent bitstrings with their counts."""
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

    def frequencies(self) -> dict[str, float]:
        """Counts divided by the number of shots."""
        return {k: v / self.shots for k, v in self.counts.items()}

    def __repr__(self) -> str:
        return f"SampleResult(shots={self.shots}, n_clbits={self.bits.shape[1]}, seed={self.seed!r})"


@runtime_checkable
class NoisySimulation(Protocol):
    """What the ``noise=`` argument of :func:`sample`, :func:`probabilities` and :func:`expval` takes.

    The simulator layer does not import :mod:`qtandem.noise`; it hands the circuit to
    the noise object, which simulates it with its errors.
    :class:`qtandem.noise.NoiseModel` implements this protocol.

    Examples:
        >>> from qtandem import Circuit, NoiseModel, sample
        >>> from qtandem.noise import bit_flip
        >>> model = NoiseModel().add(bit_flip(1.0), gates=["x"])       # a NoisySimulation
        >>> isinstance(model, NoisySimulation)
        True
        >>> sample(Circuit(1, 1).x(0).measure(0, 0), shots=5, seed=0, noise=model).counts   # x then a certain flip
        {'0': 5}
    """

    def sample_bits(self, circuit: Circuit, shots: int, *, params: Any, seed: Seed, dtype: torch.dtype,
                    device: Any, method: str) -> np.ndarray:
        """``(shots, n_clbits)`` uint8 shots; every qubit measured into its own bit when none is measured."""

    def outcome_probabilities(self, circuit: Circuit, params: Any, *, dtype: torch.dtype, device: Any) -> Tensor:
        """``(2**n,)`` or ``(B, 2**n)`` probabilities over all qubits."""

    def density_matrix(self, circuit: Circuit, params: Any, *, initial_state: Any, dtype: torch.dtype,
                       device: Any) -> Tensor:
        """``(2**n, 2**n)`` or ``(B, 2**n, 2**n)`` final density matrix (terminal measurements ignored)."""


def as_noisy_simulation(noise: Any) -> NoisySimulation:
    """``noise`` checked against :class:`NoisySimulation` (the simulator's way to run a noise model).

    A device (anything with a ``noise_model()`` method, such as :class:`qtandem.device.Device`)
    stands for its noise model.

    Raises:
        NoiseError: ``noise`` does not implement the protocol (for example a string).

    Examples:
        >>> as_noisy_simulation("depolarizing")
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: noise must be a NoiseModel (qtandem.noise.NoiseModel), got str
    """
    if not isinstance(noise, NoisySimulation) and callable(getattr(noise, "noise_model", None)):
        noise = noise.noise_model()  # a qtandem.device.Device: its calibration's noise model
    if not isinstance(noise, NoisySimulation):
        raise NoiseError(f"noise must be a NoiseModel (qtandem.noise.NoiseModel), got {type(noise).__name__}")
    return noise


def sample(
    circuit: Circuit,
    shots: int = 1024,
    *,
    params: Any = None,
    seed: Seed = None,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
    noise: Any = None,
    method: str = "auto",
    progress: bool = False,
) -> SampleResult:
    """Sample measurement outcomes.

    A circuit with no ``measure`` is measured on every qubit (classical bit ``i``
    = qubit ``i``). Circuits whose measurements all come last are simulated once
    and sampled from the final distribution; circuits with mid-circuit
    measurement, reset or classically controlled gates walk their branches
    (:mod:`qtandem.sim.branching`): each measurement splits a branch's shots
    binomially between its outcomes, so the cost grows with the number of
    distinct branches, not with the number of shots.

    Args:
        circuit: the circuit.
        shots: number of shots (> 0).
        params: parameter values (unbatched), as in :func:`statevector`.
        seed: seed; the same seed gives the same shots.
        dtype: simulation dtype.
        device: torch device.
        noise: a :class:`qtandem.noise.NoiseModel` (readout errors included).
        method: with noise, ``"density"`` (exact distribution, up to ~13 qubits; with
            mid-circuit measurement one density matrix per classical record, see
            :func:`qtandem.distribution`),
            ``"trajectories"`` (Monte Carlo wave functions, any size that fits a
            state vector) or ``"auto"`` (density up to 10 qubits without
            classically controlled gates, trajectories beyond).
        progress: show a progress bar on stderr (circuits with mid-circuit measurement).

    Returns:
        A :class:`SampleResult` with ``bits`` ``(shots, n_clbits)`` and ``counts``.

    Raises:
        ArgumentTypeError: ``circuit`` is not a qtandem :class:`Circuit` (a ``stim.Circuit``
            with detectors goes to :func:`qtandem.qec.sample`).
        SimulationError: bad ``shots`` or batched ``params``.

    See also: :func:`qtandem.qec.sample` (detection events of a ``stim.Circuit``, for QEC);
    :func:`expval` for exact expectation values (README, "Sampling and expectation values").

    Examples:
        >>> import qtandem
        >>> ghz = qtandem.Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
        >>> sorted(qtandem.sample(ghz, shots=1000, seed=1).counts)
        ['000', '111']
    """
    if not isinstance(circuit, Circuit):
        hint = (": it is a Stim circuit; qtandem.qec.sample(circuit, shots) samples its detection events"
                if type(circuit).__module__.startswith("stim") else "")
        raise ArgumentTypeError(f"sample() needs a qtandem Circuit, got {type(circuit).__name__}{hint}")
    if int(shots) != shots or shots <= 0:
        raise SimulationError(f"shots must be a positive integer, got {shots!r}")
    shots = int(shots)
    if is_batched(circuit, params):
        raise SimulationError("sample() takes unbatched params; loop over parameter sets")
    if noise is not None:
        bits = as_noisy_simulation(noise).sample_bits(circuit, shots, params=params, seed=seed, dtype=dtype,
                                                      device=device, method=method)
        return SampleResult(bits, seed)
    rng = as_generator(seed)
    circuit = measured_circuit(circuit)
    layout = terminal_measurements(circuit)
    if layout.single_run:
        state, _ = run(circuit, params, dtype=dtype, device=device, seed=rng, skip_measure=True)
        return SampleResult(draw_bits(state[0].detach().abs() ** 2, shots, layout.pairs, circuit.n_clbits, rng), seed)
    # mid-circuit measurement, reset, feed-forward: shots split between branches (sim.branching);
    # a chunk of shots never holds more branches than memory allows, nor more than CHUNK_BYTES: splitting
    # copies the branch set, so large states go a few shots at a time (21 qubits: 10 shots a chunk)
    per_branch = state_bytes(circuit.n_qubits, dtype) * 3
    chunk = int(max(1, min(shots, min(available_bytes(device) // 4, CHUNK_BYTES) // max(per_branch, 1))))
    chunks = -(-shots // chunk)
    steps = sum(1 for i, inst in enumerate(circuit)
                if inst.name not in ("barrier", "delay") and i not in layout.indices)
    out = []
    with progress_bar(progress, total=chunks * steps, label=f"sampling {shots} shots") as bar, \
            torch.no_grad():
        done = 0
        while done < shots:
            b = min(chunk, shots - done)
            br = branch(circuit, params, dtype=dtype, device=device, shots=b, seed=rng, step=bar.advance)
            out.append(sample_records(br, rng))
            done += b
    return SampleResult(np.concatenate(out, axis=0), seed)


CHUNK_BYTES = 1 << 30
"""At most this much memory of branch states per chunk of shots when sampling mid-circuit measurement."""


def draw_bits(probs: Tensor, shots: int, pairs: Sequence[tuple[int, int]], n_clbits: int,
              rng: np.random.Generator) -> np.ndarray:
    """Draw ``(shots, n_clbits)`` uint8 bits from probabilities over all qubits' basis states.

    Each shot draws one basis state ``i`` (``probs`` normalised first); qubit ``q``'s bit of ``i``
    goes to classical bit ``c`` for every ``(q, c)`` in ``pairs``, in order (a later pair wins).

    Examples:
        >>> import numpy as np, torch
        >>> probs = torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64)   # |10>: qubit 1 is 1
        >>> draw_bits(probs, 2, [(1, 0)], 1, np.random.default_rng(0)).tolist()
        [[1], [1]]
    """
    p = probs.detach().to(torch.float64).cpu().numpy()
    p = p / p.sum()
    idx = rng.choice(p.shape[0], size=shots, p=p)
    bits = np.zeros((shots, n_clbits), dtype=np.uint8)
    for q, c in pairs:
        bits[:, c] = (idx >> q) & 1
    return bits


def _final_state(circuit: Circuit, params: Any, dtype: torch.dtype, device: Any, initial_state: Any = None) -> Tensor:
    state, _ = run(circuit, params, initial_state, dtype=dtype, device=device, skip_measure=True)
    return state


def _branch_states(circuit: Circuit, params: Any, dtype: torch.dtype, device: Any,
                   initial_state: Any = None) -> list[Tensor]:
    """Per parameter row, the ``(branches, 2**n)`` unnormalised final states of a circuit that
    measures or resets mid-circuit (squared norms = branch probabilities)."""
    if initial_state is not None:
        raise SimulationError("initial_state is not supported for circuits that measure or reset mid-circuit")
    spec = resolve_params(circuit, params, dtype=dtype, device=device)
    rows = [params] if spec.batch is None else [spec.values[i] for i in range(spec.batch)]  # type: ignore[index]
    return [branch(circuit, row, dtype=dtype, device=device).states for row in rows]


def probabilities(
    circuit: Circuit,
    params: Any = None,
    *,
    qubits: Sequence[int] | None = None,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
    noise: Any = None,
) -> Tensor:
    """Born probabilities of the final state (terminal measurements are ignored).

    A circuit that measures or resets mid-circuit, or conditions gates on classical
    bits, ends in a mixture of branches (:mod:`qtandem.sim.branching`): its final qubit
    distribution is their probability-weighted sum. :func:`qtandem.sim.distribution`
    gives the classical register's distribution instead.

    Args:
        circuit: the circuit.
        params: parameter values, possibly batched.
        qubits: return the marginal on these qubits; ``qubits[0]`` is the least
            significant bit of the result's index.
        dtype: simulation dtype.
        device: torch device.
        noise: a noise model; probabilities then come from the density matrix,
            with readout errors on the measured qubits.

    Returns:
        ``(2**k,)`` or ``(batch, 2**k)`` real tensor (differentiable).

    Examples:
        >>> import qtandem
        >>> qtandem.probabilities(qtandem.Circuit(2).h(0).cx(0, 1)).tolist()
        [0.4999999999999999, 0.0, 0.0, 0.4999999999999999]
    """
    if noise is not None:
        probs = as_noisy_simulation(noise).outcome_probabilities(circuit, params, dtype=dtype, device=device)
        probs = probs if probs.dim() == 2 else probs.unsqueeze(0)
    elif not terminal_measurements(circuit).single_run:  # branches of mid-circuit measurement and reset
        probs = torch.stack([(s.real**2 + s.imag**2).sum(dim=0)
                             for s in _branch_states(circuit, params, dtype, device)])
    else:
        state = _final_state(circuit, params, dtype, device)
        probs = state.real**2 + state.imag**2
    n = circuit.n_qubits
    if qubits is not None:
        qubits = [int(q) for q in qubits]
        if len(set(qubits)) != len(qubits) or any(not 0 <= q < n for q in qubits):
            raise SimulationError(f"qubits {qubits} must be distinct and in 0..{n - 1}")
        probs = _marginal(probs, qubits, n)
    return probs if is_batched(circuit, params) else probs[0]


def expval(
    circuit: Circuit,
    observable: PauliSum | str | Sequence[PauliSum | str],
    params: Any = None,
    *,
    initial_state: Any = None,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
    noise: Any = None,
) -> Tensor:
    """Exact expectation value(s) of Pauli observable(s) on the circuit's final state.

    After mid-circuit measurement or reset the final state is a mixture of branches
    (:mod:`qtandem.sim.branching`); the value is then their probability-weighted mean.

    No dense ``2**n x 2**n`` matrix is built. Differentiable in ``params``.

    Args:
        circuit: the circuit (terminal measurements are ignored).
        observable: a :class:`PauliSum`, a string such as ``"Z0 Z1 + 0.5*X2"``, or
            a list of them.
        params: parameter values, possibly batched ``(B, P)``.
        initial_state: optional start state.
        dtype: simulation dtype.
        device: torch device.
        noise: a noise model: the value is then ``Tr(rho O)`` of the exact
            density matrix (differentiable in params and noise parameters). For
            circuits too large for a density matrix, use
            :func:`qtandem.noise.trajectories.run_trajectories`.

    Returns:
        Real tensor of shape ``()``/``(B,)`` for one observable, ``(m,)``/``(B, m)``
        for a list of ``m``.

    See also: :func:`qtandem.sim.expectation.pauli_expectation_many` on a state you already
    have, :func:`qtandem.noise.density.dm_expectation` on a density matrix,
    :func:`qtandem.noise.trajectories.run_trajectories` for estimates with standard errors
    (README, "Sampling and expectation values").

    Examples:
        >>> import qtandem
        >>> bell = qtandem.Circuit(2).h(0).cx(0, 1)
        >>> round(float(qtandem.expval(bell, "Z0 Z1 + 0.5*X0")), 6)
        1.0
    """
    single = isinstance(observable, (PauliSum, str))
    obs: list[PauliSum | str] = [observable] if isinstance(observable, (PauliSum, str)) else list(observable)
    parsed = [o if isinstance(o, PauliSum) else PauliSum.from_string(o) for o in obs]
    for o in parsed:
        if o.num_qubits > circuit.n_qubits:
            raise SimulationError(f"observable {o} acts on qubit {o.num_qubits - 1} but the circuit has "
                                  f"{circuit.n_qubits} qubits")
    batched = is_batched(circuit, params, initial_state)
    if noise is not None:
        rho = as_noisy_simulation(noise).density_matrix(circuit, params, initial_state=initial_state, dtype=dtype,
                                                        device=device)
        rho = rho if rho.dim() == 3 else rho.unsqueeze(0)
        vals = torch.stack([dm_expectation(rho, o) for o in parsed], dim=-1)
        vals = vals if batched else vals[0]
        return vals[..., 0] if single else vals
    if not terminal_measurements(circuit).single_run:  # the branches' (unnormalised) expectations add up
        vals = torch.stack([pauli_expectation_many(s, parsed).sum(dim=0)
                            for s in _branch_states(circuit, params, dtype, device, initial_state)])
        vals = vals if batched else vals[0]
        return vals[..., 0] if single else vals
    state = _final_state(circuit, params, dtype, device, initial_state)
    vals = pauli_expectation(state, parsed[0]).unsqueeze(-1) if single else pauli_expectation_many(state, parsed)
    vals = vals if batched else vals[0]
    return vals[..., 0] if single else vals
