"""Executors: run a batch of circuits for a number of shots and return their counts.

An executor is any callable ``executor(circuits, shots) -> list[dict[str, int]]`` (one
``{bitstring: count}`` per circuit, classical bit 0 rightmost, as :func:`qtandem.sample`
writes them). If it accepts a ``seed=`` keyword, callers pass one. qtandem ships two:
its own noisy simulator (:func:`simulator_executor`) and any Qiskit backend or Aer
simulator through OpenQASM 3 (:func:`qiskit_executor`).

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> run = simulator_executor(Device.preset("line_5"), seed=1)
    >>> counts = run([Circuit(5, 1).x(3).measure(3, 0)], shots=100)
    >>> sum(counts[0].values()), counts[0]["1"] > 90
    (100, True)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from qtandem.circuit.circuit import Circuit
from qtandem.device.device import Device
from qtandem.errors import ArgumentTypeError, SimulationError
from qtandem.noise.model import NoiseModel
from qtandem.random import as_generator

__all__ = ["Executor", "accepts_seed", "qiskit_executor", "restrict", "simulator_executor", "touched_qubits"]

Executor = Callable[..., list[dict[str, int]]]
"""``executor(circuits, shots[, seed=...]) -> list of counts``."""


def accepts_seed(executor: Callable[..., Any]) -> bool:
    """Whether ``executor`` takes a ``seed=`` keyword (then callers pass one).

    Examples:
        >>> accepts_seed(lambda circuits, shots, seed=None: []), accepts_seed(lambda circuits, shots: [])
        (True, False)
    """
    try:
        params = inspect.signature(executor).parameters
    except (TypeError, ValueError):
        return False
    return "seed" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def touched_qubits(circuit: Circuit) -> list[int]:
    """Sorted qubits that some instruction other than a barrier acts on.

    Examples:
        >>> touched_qubits(Circuit(5, 1).sx(3).barrier().delay(10, [1, 3]).measure(3, 0))
        [1, 3]
    """
    return sorted({q for inst in circuit if inst.name != "barrier" for q in inst.qubits})


def restrict(circuit: Circuit, qubits: Sequence[int]) -> Circuit:
    """``circuit`` on ``qubits`` only, renumbered ``0..k-1`` in the order given (barriers cut to them).

    Raises:
        SimulationError: an instruction other than a barrier acts on a qubit not listed.

    Examples:
        >>> c = restrict(Circuit(5, 1).sx(3).cx(3, 4).barrier().measure(4, 0), [3, 4])
        >>> [(i.name, i.qubits) for i in c]
        [('sx', (0,)), ('cx', (0, 1)), ('barrier', (0, 1)), ('measure', (1,))]
    """
    index = {q: i for i, q in enumerate(qubits)}
    out = Circuit(len(index), circuit.n_clbits, name=circuit.name)
    for inst in circuit:
        if inst.name == "barrier":
            kept = tuple(index[q] for q in inst.qubits if q in index)
            if kept:
                out.append(inst.replace(qubits=kept))
            continue
        if any(q not in index for q in inst.qubits):
            raise SimulationError(f"restrict: {inst.label} on {inst.qubits} leaves the qubits {list(qubits)}")
        out.append(inst.replace(qubits=tuple(index[q] for q in inst.qubits)))
    return out


def simulator_executor(device_or_noise: Device | NoiseModel, *, seed: int = 0, method: str = "auto") -> Executor:
    """An executor that samples qtandem's noisy simulator.

    With a :class:`Device` each circuit runs on the qubits it touches only (its
    instructions other than barriers): the device is cut to them
    (:meth:`Device.subset`, couplings and calibrations among them kept) and the circuit
    renumbered, so a one-qubit experiment on a 27-qubit device costs a one-qubit
    simulation. The qubits it does not touch sit in ``|0>`` and are left out, so their
    static ZZ on touched neighbours (a constant frequency shift on real hardware) is
    not simulated. Circuits without a measurement run at full width (every qubit is
    measured). With a :class:`NoiseModel` circuits run at full width.

    Args:
        device_or_noise: the device (its :meth:`Device.noise_model`) or a noise model.
        seed: seed of the executor's own generator; each call draws the next seeds from it,
            unless the call passes ``seed=``.
        method: ``"auto"`` (density matrix up to 10 qubits, else trajectories),
            ``"density"`` or ``"trajectories"``.

    Returns:
        ``executor(circuits, shots, *, seed=None) -> list[dict[str, int]]``.

    Raises:
        ArgumentTypeError: neither a Device nor a NoiseModel.

    Examples:
        >>> from qtandem.device import Device
        >>> run = simulator_executor(Device.preset("line_5"), seed=3)
        >>> bell = Circuit(5, 2).sx(0).cx(0, 1).measure([0, 1], [0, 1])
        >>> sorted(run([bell], shots=200, seed=7)[0]) == sorted(run([bell], shots=200, seed=7)[0])
        True
    """
    if not isinstance(device_or_noise, Device | NoiseModel):
        raise ArgumentTypeError(f"simulator_executor needs a Device or a NoiseModel, got "
                                f"{type(device_or_noise).__name__}")
    from qtandem.noise.simulate import pick_method

    pick_method(Circuit(1), method)  # an unknown method fails now, not at the first call
    rng = as_generator(seed)
    models: dict[tuple[int, ...], NoiseModel] = {}

    def model_for(qubits: tuple[int, ...]) -> NoiseModel:
        if qubits not in models:
            assert isinstance(device_or_noise, Device)
            models[qubits] = device_or_noise.subset(list(qubits)).noise_model()
        return models[qubits]

    def execute(circuits: Sequence[Circuit], shots: int, *, seed: int | None = None) -> list[dict[str, int]]:
        from qtandem.sim.sampling import sample

        gen = rng if seed is None else as_generator(seed)
        out: list[dict[str, int]] = []
        for circuit in circuits:
            if not isinstance(circuit, Circuit):
                raise ArgumentTypeError(f"executor: expected qtandem Circuits, got {type(circuit).__name__}")
            s = int(gen.integers(2**62))
            measured = any(inst.name == "measure" for inst in circuit)
            if isinstance(device_or_noise, Device) and measured:
                qubits = tuple(touched_qubits(circuit))
                small = restrict(circuit, qubits)
                out.append(sample(small, shots, noise=model_for(qubits), seed=s, method=method).counts)
            else:
                out.append(sample(circuit, shots, noise=device_or_noise if isinstance(device_or_noise, NoiseModel)
                                  else device_or_noise.noise_model(), seed=s, method=method).counts)
        return out

    return execute


def qiskit_executor(backend: Any, *, optimization_level: int = 0) -> Executor:
    """An executor for a Qiskit backend (e.g. ``qiskit_aer.AerSimulator``), through OpenQASM 3.

    Each circuit is written as OpenQASM 3 (delays included), read by
    ``qiskit.qasm3.loads`` (the ``qiskit-qasm3-import`` package), transpiled for the
    backend with its qubits kept in place (``initial_layout`` the identity,
    ``optimization_level`` 0 by default so no gate or delay is merged away) and run.

    Args:
        backend: a Qiskit ``BackendV2``.
        optimization_level: passed to ``qiskit.transpile``.

    Returns:
        ``executor(circuits, shots, *, seed=None)``; ``seed`` goes to the simulator
        (``seed_simulator``), ignored by backends that do not take one.

    Raises:
        SimulationError: Qiskit or its OpenQASM 3 importer is missing (``pip install qtandem[qiskit]``).

    Examples:
        >>> from qtandem import Circuit
        >>> from qiskit_aer import AerSimulator  # doctest: +SKIP
        >>> run = qiskit_executor(AerSimulator())  # doctest: +SKIP
        >>> run([Circuit(1, 1).x(0).measure(0, 0)], shots=10, seed=1)  # doctest: +SKIP
        [{'1': 10}]
        >>> callable(qiskit_executor(object()))
        True
    """

    def execute(circuits: Sequence[Circuit], shots: int, *, seed: int | None = None) -> list[dict[str, int]]:
        try:
            import qiskit
            import qiskit.qasm3
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise SimulationError(f"qiskit_executor needs Qiskit ({err}); pip install qtandem[qiskit]") from None
        converted = []
        for circuit in circuits:
            try:
                qc = qiskit.qasm3.loads(circuit.to_qasm(3))
            except Exception as err:  # the importer's own error types vary by version
                raise SimulationError(f"qiskit_executor: Qiskit could not read the OpenQASM 3 of "
                                      f"{circuit.name or 'a circuit'}: {err}") from None
            converted.append(qc)
        if getattr(backend, "target", None) is not None:
            converted = [qiskit.transpile(qc, backend, optimization_level=optimization_level,
                                          initial_layout=list(range(qc.num_qubits)), seed_transpiler=0)
                         for qc in converted]
        options = {} if seed is None else {"seed_simulator": int(seed)}
        try:
            job = backend.run(converted, shots=int(shots), **options)
        except TypeError:
            job = backend.run(converted, shots=int(shots))
        result = job.result()
        return [{key.replace(" ", ""): int(v) for key, v in result.get_counts(i).items()}
                for i in range(len(converted))]

    return execute
