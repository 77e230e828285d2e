"""Expected success probability (ESP) of a circuit on a calibrated device.

ESP is the product of the success probabilities of every operation and of the
idle decay of every used qubit:

* each one-qubit gate on qubit ``q``: ``1 - gate_error_1q[q]`` (``rz``, ``p``,
  ``u1``, ``z``, ``s``, ``t``... and their adjoints are virtual frame changes on
  IBM-style hardware and cost nothing; ``id`` and barriers cost nothing);
* a ``delay`` costs no gate error but keeps its qubits busy idling for its duration
  (so its time enters the idle decay below);
* each two-qubit gate on coupling ``(a, b)``: ``1 - error[a, b]`` (``swap``
  counts as three CX);
* each measurement of ``q``: ``1 - (readout_p01 + readout_p10) / 2``;
* idle decay: the circuit is scheduled as soon as possible with the calibrated
  durations, and a used qubit idle for ``t`` between its first physical operation
  (before it, it rests in ``|0>``, which neither relaxes nor dephases) and the end
  of the circuit, or its final measurement, contributes ``exp(-t/T1) * exp(-t/T2)``.

This follows the ESP of Nishio et al., "Extracting success from IBM's 20-qubit
machines using error-aware compilation" (ACM JETC 2020), extended with the idle
term.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.preset("line_5")
    >>> e = dev.edges[(0, 1)].error
    >>> p = expected_success_probability(Circuit(2).cx(0, 1), dev, idle=False)
    >>> abs(p - (1 - e)) < 1e-12
    True
"""

from __future__ import annotations

import math
from typing import Any

from qtandem.circuit import Circuit
from qtandem.circuit.instruction import DELAY_UNITS
from qtandem.errors import CompileError

__all__ = ["VIRTUAL_GATES", "circuit_duration", "expected_success_probability"]

VIRTUAL_GATES = frozenset({"rz", "p", "u1", "z", "s", "sdg", "t", "tdg", "id"})
"""One-qubit gates implemented as frame changes (no error, no duration)."""


def _durations(inst: Any, device: Any) -> float:
    q = inst.qubits
    if inst.name == "delay":  # stored in ns; device times are in device.time_unit
        scale = DELAY_UNITS.get(device.time_unit)
        if scale is None:
            raise CompileError(f"ESP: device {device.name!r} has time unit {device.time_unit!r}; a delay needs "
                               f"one of {', '.join(DELAY_UNITS)}")
        return float(inst.params[0]) / scale
    if inst.name in ("barrier",) or inst.name in VIRTUAL_GATES:
        return 0.0
    if inst.name == "measure":
        return max(device.qubits[x].readout_duration for x in q)
    if inst.name == "reset":
        return max(device.qubits[x].readout_duration for x in q)
    if len(q) == 1:
        return device.qubits[q[0]].gate_duration_1q
    edge = device.edges.get((min(q), max(q)))
    if edge is None:
        return 0.0
    return edge.duration * (3 if inst.name == "swap" else 1)


def circuit_duration(circuit: Circuit, device: Any) -> float:
    """Makespan of the as-soon-as-possible schedule, in the device's time unit.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> circuit_duration(Circuit(2).rz(0.1, 0), dev)
        0.0
    """
    end = [0.0] * circuit.n_qubits
    for inst in circuit:
        qs = inst.qubits if inst.qubits else tuple(range(circuit.n_qubits))
        start = max((end[q] for q in qs), default=0.0)
        d = _durations(inst, device)
        for q in qs:
            end[q] = start + d
    return max(end, default=0.0)


def expected_success_probability(circuit: Circuit, device: Any, *, idle: bool = True) -> float:
    """ESP of ``circuit`` (on physical qubits) under ``device``'s calibration.

    Args:
        circuit: a circuit on the device's qubits (two-qubit gates on couplings).
        device: a :class:`~qtandem.device.Device`.
        idle: include the idle decay term.

    Returns:
        A probability in ``[0, 1]``.

    Raises:
        CompileError: the circuit is wider than the device, uses a two-qubit gate
            off the coupling map, or a gate on three or more qubits.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> expected_success_probability(Circuit(1).rz(0.3, 0), dev)
        1.0
    """
    if circuit.n_qubits > device.num_qubits:
        raise CompileError(f"ESP: circuit has {circuit.n_qubits} qubits, device {device.name!r} has "
                           f"{device.num_qubits}; route it first (qtandem.compile.routing.route)")
    log_p = 0.0
    used: set[int] = set()
    busy = [0.0] * circuit.n_qubits
    end = [0.0] * circuit.n_qubits
    last_measure = [False] * circuit.n_qubits
    first = [-1.0] * circuit.n_qubits
    for k, inst in enumerate(circuit):
        qs = inst.qubits
        if inst.name == "barrier":
            continue
        used.update(qs)
        d = _durations(inst, device)
        start = max(end[q] for q in qs)
        if inst.name == "delay":  # idle time, not a physical operation: no error, decays only after one
            for q in qs:
                end[q] = start + d
                last_measure[q] = False
            continue
        for q in qs:
            if first[q] < 0 and d > 0:
                first[q] = start
            end[q] = start + d
            busy[q] += d
            last_measure[q] = inst.name == "measure"
        if inst.name == "measure":
            for q in qs:
                p = device.qubits[q]
                log_p += math.log1p(-(p.readout_p01 + p.readout_p10) / 2)
        elif inst.name == "reset" or inst.name in VIRTUAL_GATES:
            continue
        elif len(qs) == 1:
            log_p += math.log1p(-device.qubits[qs[0]].gate_error_1q)
        elif len(qs) == 2:
            edge = device.edges.get((min(qs), max(qs)))
            if edge is None:
                raise CompileError(f"ESP: instruction {k} ({inst.label} on {qs}) is not on the coupling map of "
                                   f"{device.name!r}; route the circuit first")
            log_p += (3 if inst.name == "swap" else 1) * math.log1p(-min(edge.error, 1 - 1e-15))
        else:
            raise CompileError(f"ESP: instruction {k} ({inst.label}) acts on {len(qs)} qubits; decompose it into "
                               "one- and two-qubit gates first")
    if idle and used:
        makespan = max(end)
        for q in used:
            if first[q] < 0:  # only frame changes: the qubit never leaves its initial state
                continue
            window = (end[q] if last_measure[q] else makespan) - first[q]
            t = max(window - busy[q], 0.0)
            p = device.qubits[q]
            log_p -= t / p.t1 + t / p.t2
    return math.exp(log_p)
