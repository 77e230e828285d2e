"""Probabilistic error cancellation with sparse Pauli-Lindblad layer models.

The circuit is cut into layers (as soon as possible, one-qubit-gate layers and two-qubit-gate
layers alternating); the gate noise after each layer is a
:class:`~qtandem.mitigate.pauli_lindblad.SparsePauliLindblad` model, whose inverse is a
product of quasi-probability factors ``a_k id + b_k P_k . P_k`` (``b_k < 0`` for a positive
rate). Each sampled circuit inserts, after every layer, the product of the drawn ``P_k``
(merged into the next one-qubit gates when that keeps their gate names, so their noise
stays the modeled one; else written as ``x``/``rz(pi)`` gates, whose own small noise is not
cancelled) and carries the product of the signs. The estimate is
``gamma * mean(sign_j * value_j)`` with ``gamma`` the product of the layers' overheads;
``gamma**2`` is the factor by which the variance, hence the shots for a given error bar,
grows (reported as ``sampling_overhead``).

What is modeled: the noise each gate's channels add after it (Pauli-twirled), per layer.
Readout errors are not (compose with ``readout()``), nor idle or crosstalk errors
outside the layer's gates.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.noise import NoiseModel, depolarizing
    >>> from qtandem.device.executors import simulator_executor
    >>> from qtandem.mitigate.core import execute
    >>> noise = NoiseModel().add(depolarizing(0.05, 2), gates=["cx"]).set_ideal(["sx", "rz", "x"])
    >>> c = Circuit(2).x(0).cx(0, 1).cx(0, 1).cx(0, 1)
    >>> res = execute(c, "Z0 Z1", simulator_executor(noise, seed=0), methods=[pec()], shots=40000, seed=1,
    ...               noise=noise)
    >>> round(res.raw, 2), abs(res.value - 1) < 4 * res.stderr, round(res.details["pec"]["gamma"], 2)
    (0.85, True, 1.36)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import ArgumentTypeError, SimulationError
from qtandem.mitigate.core import Context, Estimate, Estimator, split_shots
from qtandem.mitigate.pauli_lindblad import (
    SparsePauliLindblad,
    combine,
    from_noise_model,
    learn_pauli_lindblad,
)
from qtandem.mitigate.twirl import emit_with_paulis
from qtandem.random import Seed, as_generator

__all__ = ["PEC", "pec", "split_layers"]

# a Clifford stand-in for each one-qubit gate name whose noise is learned (noise by name, not angle)
_STAND_IN = {"rz": ("rz", (math.pi / 2,)), "sx": ("sx", ()), "x": ("x", ()), "h": ("h", ()), "s": ("s", ()),
             "sdg": ("sdg", ()), "z": ("z", ()), "y": ("y", ()), "id": ("id", ())}


def split_layers(circuit: Circuit) -> tuple[list[list[Instruction]], list[Instruction]]:
    """``circuit`` as layers of one-qubit gates and of two-qubit gates (alternating, as soon as possible).

    Returns:
        The layers (each a list of gates on distinct qubits; one-qubit layers at even positions,
        two-qubit layers at odd ones, empty layers dropped) and the terminal measurements.

    Raises:
        SimulationError: a gate on more than two qubits, a mid-circuit measurement, reset, delay
            or classically controlled gate.

    Examples:
        >>> layers, tail = split_layers(Circuit(3, 3).sx(0).cx(0, 1).sx(2).rz(0.1, 1).measure_all())
        >>> [[(i.name, i.qubits) for i in layer] for layer in layers], len(tail)
        ([[('sx', (0,)), ('sx', (2,))], [('cx', (0, 1))], [('rz', (1,))]], 3)
    """
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"pec needs a qtandem Circuit, got {type(circuit).__name__}")
    terminal = set(terminal_measurements(circuit).indices)
    slots: dict[int, list[Instruction]] = {}
    level = [0] * circuit.n_qubits
    tail: list[Instruction] = []
    for i, inst in enumerate(circuit):
        if i in terminal:
            tail.append(inst)
            continue
        if inst.name == "barrier":
            continue
        if not inst.is_gate or inst.condition is not None or len(inst.qubits) > 2:
            raise SimulationError(f"pec: instruction {i} ({inst.label} on {inst.qubits}) is not a one- or two-qubit "
                                  f"gate; only unitary circuits with terminal measurements are supported")
        parity = 0 if len(inst.qubits) == 1 else 1
        k = max(level[q] for q in inst.qubits)
        if k % 2 != parity:
            k += 1
        slots.setdefault(k, []).append(inst)
        for q in inst.qubits:
            level[q] = k + 1
    return [slots[k] for k in sorted(slots)], tail


def _key(layer: Sequence[Instruction]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple(sorted((inst.label, inst.qubits) for inst in layer))


class PEC:
    """Probabilistic error cancellation (see :func:`pec`).

    Examples:
        >>> pec(samples=500).samples
        500
    """

    name = "pec"

    def __init__(self, model: Any = None, *, samples: int = 1000, learn_shots: int | None = None,
                 depths: Sequence[int] = (0, 2, 4, 8, 16), merge: str = "same") -> None:
        if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or samples < 2:
            raise ArgumentTypeError(f"pec(samples=...) takes an integer >= 2, got {samples!r}")
        if learn_shots is not None and (isinstance(learn_shots, bool) or not isinstance(learn_shots, int | np.integer)
                                        or learn_shots < 1):
            raise ArgumentTypeError(f"pec(learn_shots=...) takes a positive integer, got {learn_shots!r}")
        if not (model is None or model in ("exact", "learn") or isinstance(model, SparsePauliLindblad)
                or callable(model)):
            raise ArgumentTypeError(f"pec(model=...) is None, 'exact', 'learn', a SparsePauliLindblad or a callable "
                                    f"layer -> SparsePauliLindblad, got {type(model).__name__}")
        self.model = model
        self.samples = int(samples)
        self.learn_shots = None if learn_shots is None else int(learn_shots)
        self.depths = tuple(depths)
        self.merge = merge
        self._cache: dict[Any, SparsePauliLindblad] = {}

    def __repr__(self) -> str:
        return f"pec(samples={self.samples})"

    def _source(self, context: Context) -> str:
        if isinstance(self.model, str):
            if self.model == "exact" and context.noise is None:
                raise ArgumentTypeError("pec(model='exact') needs the noise model: execute(..., noise=NoiseModel)")
            return self.model
        if self.model is not None:
            return "given"
        return "exact" if context.noise is not None and self.learn_shots is None else "learn"

    def _learn(self, context: Context, layer: Circuit, key: Any, rng: np.random.Generator) -> SparsePauliLindblad:
        if key not in self._cache:
            with context.executor.charged_to("pec_learning"):
                self._cache[key] = learn_pauli_lindblad(context.executor, layer, depths=self.depths,
                                                        shots=self.learn_shots or 200_000, seed=rng)
        return self._cache[key]

    def layer_model(self, layer: Sequence[Instruction], circuit: Circuit, context: Context,
                    rng: np.random.Generator) -> SparsePauliLindblad:
        """The noise model of one layer of ``circuit``, by the method's source (cached per layer)."""
        n = circuit.n_qubits
        lc = Circuit(n)
        for inst in layer:
            lc.append(inst)
        source = self._source(context)
        if source == "given" and isinstance(self.model, SparsePauliLindblad):
            if len(layer[0].qubits) == 1:
                return SparsePauliLindblad((), ())  # one model: the two-qubit layers' noise
            return combine([self.model.restrict(inst.qubits) for inst in layer])
        if source == "given":
            out = self.model(lc)
            if not isinstance(out, SparsePauliLindblad):
                raise ArgumentTypeError(f"pec(model=callable) must return a SparsePauliLindblad, got "
                                        f"{type(out).__name__}")
            return out
        key = ("exact", _key(layer)) if source == "exact" else ("learn", _key(layer))
        if source == "exact":
            if key not in self._cache:
                self._cache[key] = from_noise_model(context.noise, lc)
            return self._cache[key]
        if len(layer[0].qubits) == 2:
            return self._learn(context, lc, key, rng)
        # one-qubit layers: one model per gate name, learned on a Clifford stand-in on every qubit using it
        parts = []
        for name in sorted({inst.name for inst in layer}):
            if name not in _STAND_IN:
                raise SimulationError(f"pec cannot learn the noise of {name!r} gates (no Clifford stand-in): pass "
                                      f"noise= or model=, or compile to {{rz, sx, x, cx}}")
            qubits = tuple(sorted({inst.qubits[0] for inst in circuit if inst.name == name and inst.is_gate}))
            stand, params = _STAND_IN[name]
            sc = Circuit(n)
            for q in qubits:
                sc.append(Instruction(stand, [q], params))
            model = self._learn(context, sc, ("learn-1q", name, qubits), rng)
            parts.append(model.restrict([inst.qubits[0] for inst in layer if inst.name == name]))
        return combine(parts)

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """The PEC estimator on top of ``estimator`` (see :func:`pec`)."""

        def estimate(circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed = None) -> list[Estimate]:
            circuits, shots = list(circuits), [int(s) for s in shots]
            if len(circuits) != len(shots):
                raise SimulationError(f"{len(circuits)} circuits but {len(shots)} shot values")
            rng = as_generator(seed)
            learn_rng = np.random.default_rng(int(rng.integers(2**62)))
            batch: list[Circuit] = []
            plan: list[tuple[int, np.ndarray, float, int, dict[str, Any]]] = []
            for circuit, total in zip(circuits, shots, strict=True):
                layers, tail = split_layers(circuit)
                models = [self.layer_model(layer, circuit, context, learn_rng) for layer in layers]
                m = max(2, min(self.samples, total))
                draws = [model.sample_inverse(rng, m) for model in models]
                signs = np.ones(m)
                for j in range(m):
                    items: list[Instruction | tuple[int, str]] = []
                    for layer, (paulis, sg) in zip(layers, draws, strict=True):
                        items.extend(layer)
                        items.extend(paulis[j].items())
                        signs[j] *= sg[j]
                    items.extend(tail)
                    batch.append(emit_with_paulis(circuit, items, merge=self.merge))
                gamma = float(np.prod([model.gamma for model in models])) if models else 1.0
                info = {"gamma": gamma, "sampling_overhead": gamma**2, "samples": m, "layers": len(layers),
                        "model": self._source(context), "stderr": "spread of the signed samples",
                        "sum_rates": float(sum(sum(model.rates) for model in models))}
                plan.append((m, signs, gamma, total, info))
            per = [s for m, _, _, total, _ in plan for s in split_shots(total, [1.0] * m)]
            inner = estimator(batch, per, rng)
            out: list[Estimate] = []
            pos = 0
            for m, signs, gamma, _, info in plan:
                ests = inner[pos:pos + m]
                pos += m
                y = signs * np.array([e.value for e in ests])
                value = gamma * float(y.mean())
                stderr = gamma * float(y.std(ddof=1)) / math.sqrt(m)
                out.append(Estimate(value, stderr, int(sum(e.shots for e in ests)),
                                    {"pec": info, "inner": ests[0].details}))
            return out

        return estimate


def pec(model: Any = None, *, samples: int = 1000, learn_shots: int | None = None,
        depths: Sequence[int] = (0, 2, 4, 8, 16), merge: str = "same") -> PEC:
    """Probabilistic error cancellation with sparse Pauli-Lindblad layer models.

    Args:
        model: where each layer's noise model comes from: ``None`` (exact from
            ``execute(..., noise=)`` when given and ``learn_shots`` is not, else learned),
            ``"exact"``, ``"learn"`` (cycle benchmarking of each distinct two-qubit layer and of
            a Clifford stand-in per one-qubit gate name, ``rz`` by ``rz(pi/2)``: one-qubit
            noise is assumed to depend on the gate's name, not its angle), a
            :class:`~qtandem.mitigate.pauli_lindblad.SparsePauliLindblad` (the noise of every
            two-qubit layer, restricted to its pairs; one-qubit layers then count as noiseless),
            or a callable ``layer circuit -> SparsePauliLindblad`` (every layer).
        samples: sampled circuits per estimate (fewer if there are fewer shots); the shots are
            split evenly among them.
        learn_shots: shots of each learning experiment (one-off, reported as ``"pec_learning"``
            and cached in this method object; default 200,000 when learning).
        depths: cycle-benchmarking depths when learning.
        merge: how the inserted Paulis merge into the next one-qubit gates (``"same"``: only when
            the gate names stay the same, ``"shorter"``, ``"none"``).

    Returns:
        The method. Its estimate's ``details["pec"]`` holds ``gamma``, ``sampling_overhead``
        (``gamma**2``), ``samples``, ``layers`` and the model source; the standard error is the
        spread of the signed samples times ``gamma``.

    Raises:
        ArgumentTypeError: bad arguments.

    Examples:
        >>> pec().name, pec(samples=200).samples
        ('pec', 200)
    """
    return PEC(model, samples=samples, learn_shots=learn_shots, depths=depths, merge=merge)
