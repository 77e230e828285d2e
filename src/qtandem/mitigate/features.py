"""Features of a circuit for learned error mitigation (ML-QEM, Liao et al., arXiv:2309.17368).

Three kinds, all computed without running anything:

* :func:`circuit_features`: gate counts per type (``rz``, ``sx``, ``x``, ``cx``, other one- and
  two-qubit gates), depth, two-qubit depth and qubit count;
* :func:`calibration_features`: what the device's calibration says about the circuit: the
  summed error of its one- and two-qubit gates (process infidelities of the channels the noise
  model attaches after each gate, so a gate on a worse qubit weighs more), their total, and the
  mean and worst readout flip of the measured qubits;
* :func:`circuit_graph`: the circuit's DAG for a graph network: one node per gate (one-hot type,
  ``cos``/``sin`` of its angle, its error from the calibration), an edge from each gate to the
  next gate on each of its wires.

:func:`near_clifford` makes the training circuits: the same gates with every ``rz`` angle
replaced by a multiple of pi/2 (most by the nearest one, a random fraction by a random one),
so their ideal values are exactly computable and spread out.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).rz(0.3, 0).sx(0).cx(0, 1)
    >>> dict(zip(CIRCUIT_FEATURES, circuit_features(c).tolist()))["cx"]
    1.0
    >>> [round(float(i.params[0]), 4) for i in near_clifford(c, 1, fraction=0.0)[0] if i.name == "rz"]
    [0.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.errors import ArgumentTypeError
from qtandem.noise.model import NoiseModel
from qtandem.random import Seed, as_generator

__all__ = ["CALIBRATION_FEATURES", "CIRCUIT_FEATURES", "NODE_TYPES", "calibration_features", "circuit_features",
           "circuit_graph", "gate_error", "near_clifford", "noise_model_of"]

CIRCUIT_FEATURES = ("rz", "sx", "x", "cx", "other_1q", "other_2q", "depth", "depth_2q", "qubits")
"""Names of :func:`circuit_features`' entries, in order."""

CALIBRATION_FEATURES = ("error_1q", "error_2q", "error_total", "readout_mean", "readout_max")
"""Names of :func:`calibration_features`' entries, in order."""

NODE_TYPES = ("rz", "sx", "x", "cx", "other_1q", "other_2q")
"""One-hot node types of :func:`circuit_graph`."""

_SKIP = ("barrier", "measure", "delay", "reset")


def _gates(circuit: Circuit) -> list[Any]:
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"expected a qtandem Circuit, got {type(circuit).__name__}")
    return [inst for inst in circuit if inst.name not in _SKIP]


def _kind(inst: Any) -> str:
    if inst.name in ("rz", "sx", "x", "cx"):
        return str(inst.name)
    return "other_1q" if len(inst.qubits) == 1 else "other_2q"


def circuit_features(circuit: Circuit) -> np.ndarray:
    """Gate counts per type, depth, two-qubit depth and qubit count (see :data:`CIRCUIT_FEATURES`).

    Examples:
        >>> from qtandem import Circuit
        >>> circuit_features(Circuit(3).h(0).cx(0, 1).cx(1, 2).rz(0.1, 2)).tolist()
        [1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 4.0, 2.0, 3.0]
    """
    gates = _gates(circuit)
    counts = dict.fromkeys(NODE_TYPES, 0.0)
    level = [0] * circuit.n_qubits
    level2 = [0] * circuit.n_qubits
    for inst in gates:
        counts[_kind(inst)] += 1
        d = max(level[q] for q in inst.qubits) + 1
        d2 = max(level2[q] for q in inst.qubits) + (1 if len(inst.qubits) > 1 else 0)
        for q in inst.qubits:
            level[q], level2[q] = d, d2
    return np.array([counts[k] for k in NODE_TYPES] + [max(level, default=0), max(level2, default=0),
                                                        circuit.n_qubits], dtype=float)


def noise_model_of(noise: Any, n_qubits: int | None = None) -> NoiseModel | None:
    """A noise model from what the user said about the device: a NoiseModel, a Device, a Calibration or ``None``.

    Examples:
        >>> noise_model_of(None) is None
        True
        >>> from qtandem.device import Device
        >>> isinstance(noise_model_of(Device.preset("line_5")), NoiseModel)
        True
    """
    if noise is None or isinstance(noise, NoiseModel):
        return noise
    if callable(getattr(noise, "noise_model", None)):  # a Device
        return noise.noise_model()  # type: ignore[no-any-return]
    if callable(getattr(noise, "device", None)):  # a qtandem.learn Calibration
        return noise_model_of(noise.device(), n_qubits)
    raise ArgumentTypeError(f"noise must be a NoiseModel, Device or Calibration, got {type(noise).__name__}")


_ERROR_CACHE: dict[tuple[int, str, tuple[int, ...]], float] = {}


def gate_error(noise: NoiseModel | None, inst: Any) -> float:
    """Summed process infidelity ``1 - sum_i |tr K_i|^2 / d^2`` of the channels ``noise`` puts after ``inst``.

    Examples:
        >>> from qtandem.circuit.instruction import Instruction
        >>> from qtandem.noise import depolarizing
        >>> model = NoiseModel().add(depolarizing(0.01), gates=["sx"])
        >>> round(gate_error(model, Instruction("sx", (0,))), 6), gate_error(model, Instruction("x", (0,)))
        (0.01, 0.0)
    """
    if noise is None:
        return 0.0
    key = (id(noise), str(inst.name), tuple(inst.qubits))
    if key not in _ERROR_CACHE:
        total = 0.0
        for channel, _qubits in noise.errors_after(inst):
            kraus = [np.asarray(k.detach().cpu().numpy() if hasattr(k, "detach") else k) for k in channel.kraus]
            d = kraus[0].shape[0]
            total += 1.0 - float(sum(abs(np.trace(k)) ** 2 for k in kraus)) / d**2
        _ERROR_CACHE[key] = max(total, 0.0)
    return _ERROR_CACHE[key]


def _readout_flips(noise: NoiseModel | None, qubits: Sequence[int]) -> list[float]:
    if noise is None or not qubits:
        return [0.0]
    flips = []
    for error, _qs in noise.readout_errors(list(qubits)):
        m = error.matrix.detach().cpu().numpy()
        flips.append(float(1.0 - np.trace(m) / m.shape[0]))
    return flips or [0.0]


def calibration_features(circuit: Circuit, noise: Any) -> np.ndarray:
    """Summed one-/two-qubit gate errors, their total, mean and worst readout flip (:data:`CALIBRATION_FEATURES`).

    Zeros when nothing is known about the device (``noise=None``).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.noise import depolarizing, readout_error
        >>> model = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).add_readout(readout_error(0.02, 0.04))
        >>> [round(float(v), 4) for v in calibration_features(Circuit(2).cx(0, 1).cx(0, 1), model)]
        [0.0, 0.02, 0.02, 0.03, 0.03]
    """
    model = noise_model_of(noise, circuit.n_qubits)
    e1 = e2 = 0.0
    if model is not None:
        for inst in _gates(circuit):
            e = gate_error(model, inst)
            if len(inst.qubits) == 1:
                e1 += e
            else:
                e2 += e
    measured = sorted({q for inst in circuit if inst.name == "measure" for q in inst.qubits}) or \
        list(range(circuit.n_qubits))
    flips = _readout_flips(model, measured)
    return np.array([e1, e2, e1 + e2, float(np.mean(flips)), float(np.max(flips))])


def circuit_graph(circuit: Circuit, noise: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The circuit's DAG: node features ``(gates, len(NODE_TYPES) + 3)`` and edges ``(2, E)`` (from, to).

    Node features: one-hot type, ``cos`` and ``sin`` of the first angle (1, 0 without one), the
    gate's error from the calibration (:func:`gate_error`). An edge links each gate to the next
    gate on each of its wires (a two-qubit gate followed by another on the same pair gives one).

    Examples:
        >>> from qtandem import Circuit
        >>> nodes, edges = circuit_graph(Circuit(2).sx(0).cx(0, 1).rz(0.5, 1))
        >>> nodes.shape, edges.tolist()
        ((3, 9), [[0, 1], [1, 2]])
    """
    model = noise_model_of(noise, circuit.n_qubits)
    gates = _gates(circuit)
    nodes = np.zeros((len(gates), len(NODE_TYPES) + 3))
    last: dict[int, int] = {}
    edges: set[tuple[int, int]] = set()
    for i, inst in enumerate(gates):
        nodes[i, NODE_TYPES.index(_kind(inst))] = 1.0
        angle = float(inst.params[0]) if inst.params else 0.0
        nodes[i, -3], nodes[i, -2] = math.cos(angle), math.sin(angle)
        nodes[i, -1] = gate_error(model, inst) if model is not None else 0.0
        for q in inst.qubits:
            if q in last:
                edges.add((last[q], i))
            last[q] = i
    e = np.array(sorted(edges), dtype=np.int64).reshape(-1, 2).T
    return nodes, e


def near_clifford(circuit: Circuit, count: int, *, fraction: float | Sequence[float] = (0.0, 0.5),
                  seed: Seed = 0) -> list[Circuit]:
    """``count`` circuits with ``circuit``'s gates and every ``rz`` angle a multiple of pi/2.

    Each ``rz`` takes the nearest multiple of pi/2, except a random ``fraction`` of them (a
    number, or a range drawn uniformly per circuit) which take a random one. Gates other
    than ``rz`` are kept as they are (the circuit should be in ``{rz, sx, x, cx}``, as
    compiled for the device, so the results are Clifford).

    Examples:
        >>> from qtandem import Circuit
        >>> out = near_clifford(Circuit(1).rz(0.7, 0).sx(0).rz(2.0, 0), 3, fraction=0.0)
        >>> [[round(float(i.params[0]) / (math.pi / 2)) for i in c if i.name == "rz"] for c in out]
        [[0, 1], [0, 1], [0, 1]]
    """
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"near_clifford takes a qtandem Circuit, got {type(circuit).__name__}")
    rng = as_generator(seed)
    lo, hi = (float(fraction), float(fraction)) if isinstance(fraction, int | float) else \
        (float(fraction[0]), float(fraction[1]))
    half = math.pi / 2
    out = []
    for _ in range(int(count)):
        f = rng.uniform(lo, hi) if hi > lo else lo
        c = Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name)
        for inst in circuit:
            if inst.name == "rz" and inst.params:
                k = int(rng.integers(4)) if rng.random() < f else round(float(inst.params[0]) / half)
                c.append(inst.replace(params=(half * (k % 4),)))
            else:
                c.append(inst)
        out.append(c)
    return out
