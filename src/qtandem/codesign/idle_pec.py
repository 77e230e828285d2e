"""PEC that also cancels the idle relaxation of the believed device (the co-design loop's VQE mitigation).

:func:`qtandem.mitigate.pec.pec` with ``model="exact"`` inverts, after each layer, the Pauli-twirled
noise of the layer's *gates* (relaxation during the gate, amplitude damping included, and the
depolarizing rest). A qubit that waits for another one's gate relaxes too, and that part is not in
the layer models. :class:`IdlePEC` adds it: the circuit is scheduled as the simulator schedules it
(as soon as possible, per-qubit clocks, the believed noise model's gate durations); each wait of a
qubit before a gate is the Pauli-twirled thermal relaxation channel for that time (amplitude damping
and dephasing: Pauli fidelities ``exp(-t/T2)`` for X and Y, ``exp(-t/T1)`` for Z), and it is
cancelled after the layer that holds the qubit's previous gate (nothing acts on the qubit in
between, so the Pauli channel commutes to there). A wait before a qubit's first gate acts on
``|0>``, which relaxation leaves alone: it is skipped. Coherent idle errors (detuning, static ZZ)
are left to the compiler's corrections.

Everything else (sampling, signs, the estimator) is :class:`qtandem.mitigate.pec.PEC`'s own: only the
per-layer model changes.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.random(3, "line", seed=0)
    >>> models = idle_models(Circuit(3).cx(0, 1).cx(1, 2).cx(0, 1), dev)
    >>> [len(m.generators) for m in models]          # qubit 0 waits for the cx on 1-2 after layer 0
    [3, 0, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate.core import Context
from qtandem.mitigate.pauli_lindblad import SparsePauliLindblad
from qtandem.mitigate.pec import PEC, split_layers

__all__ = ["IdlePEC", "idle_models", "idle_pec", "relaxation_model"]


def relaxation_model(qubit: int, t1: float, t2: float, wait: float) -> SparsePauliLindblad:
    """The Pauli-twirled thermal relaxation of ``qubit`` idling ``wait`` as a Pauli-Lindblad model.

    Rates ``lambda_X = lambda_Y = wait / (4 T1)``, ``lambda_Z = wait / (2 T2) - wait / (4 T1)``, so
    the Pauli fidelities are ``exp(-wait/T2)`` (X, Y) and ``exp(-wait/T1)`` (Z).

    Examples:
        >>> import math
        >>> m = relaxation_model(0, 100.0, 80.0, 10.0)
        >>> [round(r, 5) for r in m.rates]
        [0.025, 0.025, 0.0375]
        >>> round(math.exp(-2 * (m.rates[1] + m.rates[2])), 6) == round(math.exp(-10 / 80), 6)   # X fidelity
        True
    """
    t1, t2, wait = float(t1), float(t2), float(wait)
    if not (t1 > 0 and t2 > 0 and wait >= 0):
        raise ArgumentTypeError(f"relaxation_model needs T1, T2 > 0 and a wait >= 0, got {t1}, {t2}, {wait}")
    rx = wait / (4 * t1)
    rz = wait / (2 * t2) - rx
    return SparsePauliLindblad((((qubit, "X"),), ((qubit, "Y"),), ((qubit, "Z"),)), (rx, rx, rz), None, 0,
                               {"source": "idle relaxation"})


def _noise_model(noise: Any) -> Any:
    from qtandem.device import Device
    from qtandem.noise.model import NoiseModel

    if isinstance(noise, Device):
        return noise.noise_model()
    if isinstance(noise, NoiseModel):
        return noise
    raise ArgumentTypeError(f"idle PEC needs the believed device or noise model (execute(..., noise=...)), "
                            f"got {type(noise).__name__}")


def idle_models(circuit: Circuit, noise: Any, layers: Sequence[Sequence[Instruction]] | None = None,
                ) -> list[SparsePauliLindblad]:
    """Per PEC layer of ``circuit`` (:func:`~qtandem.mitigate.pec.split_layers`), the idle relaxation
    to cancel after it, from the schedule the simulator uses with ``noise`` (a Device or NoiseModel).

    A model with no gate durations or no idle relaxation gives empty models.

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.random(2, "line", seed=0)
        >>> [len(m.generators) for m in idle_models(Circuit(2).sx(0).cx(0, 1), dev)]   # no waits
        [0, 0]
    """
    model = _noise_model(noise)
    if layers is None:
        layers, _ = split_layers(circuit)
    where = {id(inst): k for k, layer in enumerate(layers) for inst in layer}
    out = [SparsePauliLindblad((), ()) for _ in layers]
    if not (model.durations and (model.idle or model.default_idle)):
        return out
    clock = [0.0] * circuit.n_qubits
    last: list[int | None] = [None] * circuit.n_qubits
    for inst in circuit:
        k = where.get(id(inst))
        if k is None:  # terminal measurements, barriers: no wait the layers see
            continue
        start = max(clock[q] for q in inst.qubits)
        for q in inst.qubits:
            wait, prev = start - clock[q], last[q]
            params = model.idle_params(q)
            if wait > 0 and prev is not None and params is not None:
                out[prev] = out[prev] @ relaxation_model(q, float(params[0]), float(params[1]), wait)
        end = start + model.duration(inst)
        for q in inst.qubits:
            clock[q], last[q] = end, k
    return out


class IdlePEC(PEC):
    """:class:`~qtandem.mitigate.pec.PEC` whose layer models are the believed gate noise
    (``model="exact"``) times the believed idle relaxation after the layer (see :func:`idle_models`).

    Examples:
        >>> IdlePEC(samples=200).samples
        200
    """

    name = "pec"

    def __init__(self, *, samples: int = 1000, merge: str = "same") -> None:
        super().__init__("exact", samples=samples, merge=merge)
        self._idle: list[tuple[Circuit, list[list[Instruction]], list[SparsePauliLindblad]]] = []

    def __repr__(self) -> str:
        return f"idle_pec(samples={self.samples})"

    def layer_model(self, layer: Sequence[Instruction], circuit: Circuit, context: Context,
                    rng: np.random.Generator) -> SparsePauliLindblad:
        """The believed gate noise of ``layer`` times the idle relaxation to cancel after it."""
        gates = super().layer_model(layer, circuit, context, rng)
        found = [(ls, ms) for known, ls, ms in self._idle if known is circuit]
        if found:
            layers, models = found[0]
        else:
            layers, _ = split_layers(circuit)
            models = idle_models(circuit, context.noise, layers)
            self._idle.append((circuit, layers, models))
        for k, mine in enumerate(layers):
            if len(mine) == len(layer) and all(a is b for a, b in zip(mine, layer, strict=True)):
                return gates @ models[k] if models[k].generators else gates
        raise ArgumentTypeError("idle PEC: a layer that is not one of the circuit's layers")


def idle_pec(samples: int = 1000, *, merge: str = "same") -> IdlePEC:
    """Probabilistic error cancellation of the believed gate noise and idle relaxation (see :class:`IdlePEC`).

    Use it as :func:`qtandem.mitigate.pec.pec`, with the believed device as ``execute(..., noise=device)``.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> from qtandem.mitigate import execute
        >>> dev = Device.random(3, "line", seed=0)
        >>> c = Circuit(3).x(0).cx(0, 1).cx(1, 2).x(0).x(0)
        >>> from qtandem.device.executors import simulator_executor
        >>> run = simulator_executor(dev.noise_model(), seed=1)
        >>> res = execute(c, "Z0", run, methods=[idle_pec(200)], shots=20000, seed=2, noise=dev)
        >>> res.details["pec"]["gamma"] > 1.0
        True
    """
    return IdlePEC(samples=samples, merge=merge)

