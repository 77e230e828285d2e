"""qtandem noise (:class:`~qtandem.noise.NoiseModel`, :class:`~qtandem.device.Device`) as Stim noise instructions.

Stim simulates Pauli noise only, so each qtandem channel becomes the Pauli channel of its
*Pauli twirl*: ``p_P = sum_i |tr(P^dagger K_i)|^2 / d^2`` over the Kraus operators ``K_i``.
For a Pauli channel (``pauli_channel``, ``depolarizing``, ``bit_flip``, ``phase_flip``) the
twirl is the channel itself, so the mapping is **exact**; for anything else (amplitude
damping, thermal relaxation, coherent rotations) it is the standard Pauli-twirling
**approximation** (same Pauli-diagonal of the transfer matrix; coherences dropped).
:func:`twirl` reports which case applies.

Mapping rules of :func:`noisy_circuit` (the input circuit must be noiseless):

* after each gate, the channels ``model.errors_after(Instruction(name, qubits))`` gives,
  with Stim gate names mapped to qtandem's (``H -> h``, ``CX -> cx``, ``CZ -> cz``...);
  a uniform channel is written ``DEPOLARIZE1/2``, others ``PAULI_CHANNEL_1/2``;
* readout error -> a flip before the measurement (``X_ERROR`` before ``M``/``MR``, ``Z_ERROR``
  before ``MX``/``MRX``) with probability ``(p01 + p10) / 2`` (exact when the confusion matrix is
  symmetric; Stim has no asymmetric flip); rules on ``"measure"`` / ``"reset"`` follow those;
* idle relaxation (``add_idle`` with durations): in each layer (span between ``TICK`` s),
  qubits no operation touches get the twirled ``thermal_relaxation(T1, T2, t)`` for the
  layer's duration ``t`` (the longest operation in it).

A :class:`~qtandem.device.Device` is first reduced to its **average** calibration (mean
T1, T2, gate errors and durations, readout errors) on every qubit and on every pair of
qubits a two-qubit gate of the circuit touches: Stim's generated layouts are not routed
onto the device's coupling map, so per-qubit numbers would be attached arbitrarily. Given a
``layout`` (Stim qubit -> device qubit, two-qubit gates on couplings), each qubit and pair
keeps its **own** calibration instead (:func:`layout_device_model`).

Examples:
    >>> import stim
    >>> from qtandem.noise import NoiseModel, pauli_channel, depolarizing, readout_error
    >>> from qtandem.qec.noise_map import noisy_circuit
    >>> model = (NoiseModel().add(pauli_channel(0.01, 0.0, 0.02), gates="h")
    ...          .add(depolarizing(0.03, 2), gates="cx").add_readout(readout_error(0.02, 0.02)))
    >>> print(noisy_circuit(stim.Circuit("H 0\\nCX 0 1\\nM 0 1"), model))
    H 0
    PAULI_CHANNEL_1(0.01, 0, 0.02) 0
    CX 0 1
    DEPOLARIZE2(0.03) 0 1
    X_ERROR(0.02) 0 1
    M 0 1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import stim

from qtandem.circuit.instruction import Instruction
from qtandem.device import Device
from qtandem.errors import NoiseError
from qtandem.noise import NoiseModel, thermal_relaxation
from qtandem.noise.channels import KrausChannel
from qtandem.qec.codes import _ANNOTATIONS, _MEASURE, _RESET, _has_noise, _qubits, rewrite_layers

__all__ = ["STIM_GATE_NAMES", "average_device_model", "layout_device_model", "noisy_circuit", "twirl"]

STIM_GATE_NAMES: dict[str, str] = {
    "H": "h", "S": "s", "S_DAG": "sdg", "X": "x", "Y": "y", "Z": "z", "SQRT_X": "sx", "SQRT_X_DAG": "sxdg",
    "I": "id", "CX": "cx", "CNOT": "cx", "ZCX": "cx", "CZ": "cz", "ZCZ": "cz", "CY": "cy", "ZCY": "cy",
    "SWAP": "swap",
}
"""Stim gate name -> qtandem gate name used to look up a NoiseModel's rules."""

_P = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
      "Z": np.diag([1.0, -1.0])}


def twirl(channel: KrausChannel) -> tuple[list[float], bool]:
    """Pauli-twirl probabilities of a 1- or 2-qubit channel, in Stim's argument order.

    Args:
        channel: the qtandem channel.

    Returns:
        ``(probs, exact)``: ``probs`` for ``X, Y, Z`` (one qubit) or ``IX, IY, ..., ZZ`` (two qubits,
        first letter on the first qubit; Stim's ``PAULI_CHANNEL_2`` order), and whether the
        channel *is* that Pauli channel (its Pauli transfer matrix is diagonal).

    Raises:
        NoiseError: the channel acts on more than two qubits.

    Examples:
        >>> from qtandem.noise import amplitude_damping, pauli_channel
        >>> probs, exact = twirl(pauli_channel(0.1, 0.2, 0.05))
        >>> [round(x, 12) for x in probs], exact
        ([0.1, 0.2, 0.05], True)
        >>> probs, exact = twirl(amplitude_damping(0.2))
        >>> [round(x, 4) for x in probs], exact
        ([0.05, 0.05, 0.0028], False)
    """
    n = channel.num_qubits
    if n not in (1, 2):
        raise NoiseError(f"only 1- and 2-qubit channels map to Stim noise, got a {n}-qubit channel ({channel.name})")
    kraus = [k.detach().cpu().numpy() for k in channel.kraus]
    d = 2**n
    labels = ["I", "X", "Y", "Z"] if n == 1 else [a + b for a in "IXYZ" for b in "IXYZ"]
    # qtandem: the first qubit is the least significant factor, so kron(second, first)
    mats = [_P[lab[0]] if n == 1 else np.kron(_P[lab[1]], _P[lab[0]]) for lab in labels]
    # chi matrix in the Pauli basis: chi[a, b] = sum_i c_ia conj(c_ib), c_ia = tr(P_a^dagger K_i) / d
    coeffs = np.array([[np.trace(m.conj().T @ k) / d for m in mats] for k in kraus])
    chi = coeffs.T @ coeffs.conj()
    probs = [float(x) for x in np.real(np.diag(chi))[1:]]
    exact = bool(np.allclose(chi - np.diag(np.diag(chi)), 0.0, atol=1e-10))
    return [0.0 if abs(x) < 1e-15 else x for x in probs], exact


def _append_channel(out: stim.Circuit, channel: KrausChannel, qubits: tuple[int, ...],
                    cache: dict[int, list[float]] | None = None) -> None:
    if cache is None:
        probs = twirl(channel)[0]
    else:
        if id(channel) not in cache:
            cache[id(channel)] = twirl(channel)[0]
        probs = cache[id(channel)]
    if not any(probs):
        return
    if np.allclose(probs, probs[0], rtol=1e-12, atol=0):
        out.append("DEPOLARIZE1" if len(qubits) == 1 else "DEPOLARIZE2", list(qubits), sum(probs))
    else:
        out.append("PAULI_CHANNEL_1" if len(qubits) == 1 else "PAULI_CHANNEL_2", list(qubits), probs)


def _groups(inst: stim.CircuitInstruction) -> list[tuple[int, ...]]:
    qs = [t.value for t in inst.targets_copy() if t.is_qubit_target]
    k = 2 if stim.gate_data(inst.name).is_two_qubit_gate else 1
    return [tuple(qs[i:i + k]) for i in range(0, len(qs), k)]


def average_device_model(device: Device, circuit: stim.Circuit) -> NoiseModel:
    """The NoiseModel of ``device``'s average calibration, on every qubit and gate pair of ``circuit``.

    Raises:
        NoiseError: the device has no qubits.

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.qec.codes import surface_code
        >>> model = average_device_model(Device.preset("heavy_hex_27"), surface_code(3, 3, noise="none"))
        >>> type(model).__name__
        'NoiseModel'
    """
    if not device.qubits:
        raise NoiseError(f"device {device.name!r} has no qubit calibrations")
    from qtandem.device.device import EdgeProperties, QubitProperties

    def mean(xs: list[float]) -> float:
        return float(np.mean(xs)) if xs else 0.0

    fields = [f.name for f in dataclasses.fields(QubitProperties)]
    avg = QubitProperties(**{f: mean([getattr(q, f) for q in device.qubits]) for f in fields})
    n = max(_qubits(circuit), default=0) + 1
    edges: dict[tuple[int, int], Any] = {}
    e_err = mean([e.error for e in device.edges.values()])
    e_dur = mean([e.duration for e in device.edges.values()])
    for inst in circuit.flattened():
        if inst.name in STIM_GATE_NAMES and stim.gate_data(inst.name).is_two_qubit_gate:
            for a, b in _groups(inst):
                edges.setdefault((min(a, b), max(a, b)), EdgeProperties(e_err, e_dur, STIM_GATE_NAMES[inst.name]))
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    natives = sorted({*STIM_GATE_NAMES.values(), "measure", "reset"} - {"cx", "cz", "cy", "swap"})
    natives += sorted({e.gate for e in edges.values()})
    avg_dev = dataclasses.replace(device, name=f"{device.name} (average)", num_qubits=n, coupling_map=graph,
                                  native_gates=natives, qubits=[avg] * n, edges=edges)
    return avg_dev.noise_model()


def layout_device_model(device: Device, circuit: stim.Circuit, layout: Mapping[int, int]) -> NoiseModel:
    """The NoiseModel of ``device``'s own calibration, Stim qubit ``q`` on device qubit ``layout[q]``.

    Each Stim qubit gets its device qubit's T1, T2, gate error and duration, and readout errors
    (a correlated readout pair becomes the correlation of its two Stim qubits); each two-qubit
    gate pair of ``circuit`` gets the error, duration, coherent angle error and ZZ of its device
    coupling. The one-qubit native gates are those of :func:`average_device_model`.

    Raises:
        NoiseError: a measured or gated qubit has no layout entry, two Stim qubits share a device
            qubit, a device index is out of range, or a two-qubit gate's pair is not a coupling.

    Examples:
        >>> import stim
        >>> from qtandem.device import Device
        >>> dev = Device.random(3, "line", seed=1)
        >>> model = layout_device_model(dev, stim.Circuit("CX 0 1\\nM 0 1"), {0: 2, 1: 1})
        >>> model.num_qubits
        2
    """
    from qtandem.device.device import EdgeProperties

    n = max(_qubits(circuit), default=0) + 1
    missing = [q for q in _qubits(circuit) if q not in layout]
    if missing:
        raise NoiseError(f"layout has no device qubit for Stim qubit(s) {missing}")
    phys = {q: int(layout[q]) for q in range(n) if q in layout}
    bad = [q for q, d in phys.items() if not 0 <= d < device.num_qubits]
    if bad:
        raise NoiseError(f"layout maps Stim qubit {bad[0]} to device qubit {phys[bad[0]]}, but {device.name!r} has "
                         f"{device.num_qubits} qubits")
    if len(set(phys.values())) != len(phys):
        raise NoiseError("layout maps two Stim qubits to the same device qubit")
    edges: dict[tuple[int, int], Any] = {}
    for inst in circuit.flattened():
        if inst.name in STIM_GATE_NAMES and stim.gate_data(inst.name).is_two_qubit_gate:
            for a, b in _groups(inst):
                pa, pb = phys[a], phys[b]
                props = device.edges.get((min(pa, pb), max(pa, pb)))
                if props is None:
                    raise NoiseError(f"{inst.name} {a} {b}: device qubits {pa} and {pb} of {device.name!r} are not "
                                     f"coupled; choose a layout along the coupling map")
                edges.setdefault((min(a, b), max(a, b)), EdgeProperties(props.error, props.duration,
                                                                        STIM_GATE_NAMES[inst.name],
                                                                        props.angle_error, props.zz))
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    back = {d: q for q, d in phys.items()}
    correlations = {(min(back[a], back[b]), max(back[a], back[b])): (m if back[a] < back[b] else _swap_pair(m))
                    for (a, b), m in device.readout_correlations.items() if a in back and b in back}
    qubits = [device.qubits[phys[q]] if q in phys else device.qubits[0] for q in range(n)]
    natives = sorted({*STIM_GATE_NAMES.values(), "measure", "reset"} - {"cx", "cz", "cy", "swap"})
    natives += sorted({e.gate for e in edges.values()})
    mapped = dataclasses.replace(device, name=f"{device.name} (layout)", num_qubits=n, coupling_map=graph,
                                 native_gates=natives, qubits=qubits, edges=edges, readout_correlations=correlations)
    return mapped.noise_model()


def _swap_pair(matrix: Any) -> Any:
    """A 4x4 two-qubit confusion matrix with its two qubits exchanged (basis order 00, 01, 10, 11)."""
    perm = [0, 2, 1, 3]
    m = np.asarray(matrix, dtype=np.float64)
    return m[np.ix_(perm, perm)].tolist()


def noisy_circuit(circuit: stim.Circuit, noise: NoiseModel | Device, *,
                  layout: Mapping[int, int] | None = None) -> stim.Circuit:
    """Add a qtandem NoiseModel's (or Device's) noise to a noiseless Stim circuit (rules in the module docstring).

    Args:
        circuit: noiseless circuit (e.g. ``surface_code(..., noise="none")``).
        noise: a :class:`~qtandem.noise.NoiseModel` or :class:`~qtandem.device.Device`.
        layout: with a Device, ``{stim_qubit: device_qubit}``: every qubit gets its own
            calibration (:func:`layout_device_model`); without, the device's average
            (:func:`average_device_model`).

    Returns:
        The noisy ``stim.Circuit``.

    Raises:
        NoiseError: ``circuit`` already has noise, uses a gate with no qtandem name while the
            model has gate rules, a channel has more than two qubits, or ``noise`` has the wrong type.

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.qec.codes import surface_code
        >>> clean = surface_code(3, 3, noise="none")
        >>> noisy = noisy_circuit(clean, Device.preset("heavy_hex_27"))
        >>> dem = noisy.detector_error_model(approximate_disjoint_errors=True)
        >>> noisy.num_detectors == clean.num_detectors, dem.num_errors > 0
        (True, True)
    """
    if isinstance(noise, Device):
        model = average_device_model(noise, circuit) if layout is None else layout_device_model(noise, circuit, layout)
    elif isinstance(noise, NoiseModel):
        model = noise
    else:
        raise NoiseError(f"noise must be a qtandem NoiseModel or Device, got {type(noise).__name__}")
    if _has_noise(circuit):
        raise NoiseError("noisy_circuit() expects a noiseless circuit; this one already has noise instructions")

    twirls: dict[int, list[float]] = {}
    relax: dict[tuple[float, float, float], KrausChannel] = {}

    def flips(qs: list[int]) -> dict[float, list[int]]:
        by_p: dict[float, list[int]] = {}
        for q in qs:
            for err, _ in model.readout_errors([q]):
                m = err.matrix.detach().cpu().numpy()
                p = float((m[1, 0] + m[0, 1]) / 2)
                if p > 0:
                    by_p.setdefault(p, []).append(q)
        return by_p

    def layer(insts: list[stim.CircuitInstruction], qubits: list[int]) -> stim.Circuit:
        out = stim.Circuit()
        touched: set[int] = set()
        duration = 0.0
        for inst in insts:
            name = inst.name
            if name in _ANNOTATIONS:
                out.append(inst)
                continue
            groups = _groups(inst)
            qs = [q for g in groups for q in g]
            touched.update(qs)
            if name in _MEASURE:
                for p, fq in flips(qs).items():
                    out.append(_MEASURE[name], fq, p)
            out.append(inst)
            after: list[Instruction] = []
            if name in _MEASURE:
                after += [Instruction("measure", g, clbits=(0,)) for g in groups]
            if name in _RESET:
                after += [Instruction("reset", g) for g in groups]
            if name not in _MEASURE and name not in _RESET:
                if name not in STIM_GATE_NAMES:
                    if model.rules:
                        raise NoiseError(f"Stim gate {name} has no qtandem name; known: {sorted(STIM_GATE_NAMES)}")
                    continue
                after += [Instruction(STIM_GATE_NAMES[name], g) for g in groups]
            for qi in after:
                duration = max(duration, model.duration(qi))
                for channel, on in model.errors_after(qi):
                    _append_channel(out, channel, on, twirls)
        if model.has_idle and duration > 0 and touched:
            for q in qubits:
                params = model.idle_params(q)
                if q not in touched and params is not None:
                    key = (params[0], params[1], duration)
                    if key not in relax:
                        relax[key] = thermal_relaxation(*key)
                    _append_channel(out, relax[key], (q,), twirls)
        return out

    return rewrite_layers(circuit, layer)
