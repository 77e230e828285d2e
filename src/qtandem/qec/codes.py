"""Memory-experiment circuits (repetition, rotated surface, colour code) with the field's noise presets.

Circuits come from ``stim.Circuit.generated``. Noise (``noise=``):

* ``"uniform"``: uniform circuit-level depolarizing noise, Stim's generator knobs all equal to
  ``p``: ``after_clifford_depolarization`` (``DEPOLARIZE1(p)`` / ``DEPOLARIZE2(p)`` after every
  Clifford), ``before_round_data_depolarization`` (``DEPOLARIZE1(p)`` on data qubits at the
  start of each round), ``before_measure_flip_probability`` (``X_ERROR(p)`` / ``Z_ERROR(p)``
  before measurements) and ``after_reset_flip_probability`` (``X_ERROR(p)`` / ``Z_ERROR(p)`` after
  resets). This is the setting of the issue's targets.
* ``"si1000"``: the superconducting-inspired model SI1000 of Gidney, Newman and McEwen,
  "A Fault-Tolerant Honeycomb Memory", Quantum 5, 605 (2021), arXiv:2108.10457, Table 2,
  written by :func:`si1000` into a noiseless generated circuit: ``DEPOLARIZE2(p)`` after every
  two-qubit Clifford, ``DEPOLARIZE1(p/10)`` after every one-qubit Clifford, ``X_ERROR(2p)``
  after ``R`` (``Z_ERROR(2p)`` after ``RX``), a ``5p`` flip before every measurement
  (``X_ERROR`` before ``M``/``MR``, ``Z_ERROR`` before ``MX``/``MRX``; the ``R`` part of
  ``MR`` also gets the ``2p`` reset error), ``DEPOLARIZE1(p/10)`` on every qubit idle in a
  gate layer and ``DEPOLARIZE1(2p)`` on every qubit idle in a layer that measures or resets
  ("resonator idle"). Layers are the spans between ``TICK`` s. The paper's circuits use CZ;
  Stim's generated ones use CX, which gets the same ``p`` (both are the two-qubit gate).
* ``"none"``: noiseless.
* a :class:`~qtandem.noise.NoiseModel` or :class:`~qtandem.device.Device`: mapped to Stim
  instructions by :func:`qtandem.qec.noise_map.noisy_circuit` (Pauli channels exactly, others
  by Pauli twirling).

Examples:
    >>> from qtandem.qec.codes import surface_code, repetition_code
    >>> c = surface_code(3, 3, p=0.001)
    >>> c.num_detectors, c.num_observables
    (24, 1)
    >>> repetition_code(5, 2, noise="si1000", p=0.001).num_detectors  # 4 per round + 4 from the data
    12
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import stim

from qtandem.errors import NoiseError

__all__ = [
    "CODES",
    "NOISE_PRESETS",
    "circuit_from_spec",
    "color_code",
    "memory_circuit",
    "repetition_code",
    "si1000",
    "surface_code",
    "uniform_noise_kwargs",
]

NOISE_PRESETS = ("uniform", "si1000", "none")
"""Names accepted by ``noise=`` (besides a NoiseModel or Device)."""

CODES = ("repetition", "surface", "color")
"""Codes accepted by :func:`memory_circuit` and :func:`circuit_from_spec`."""

_TWO_Q = {"CX", "CY", "CZ", "XCX", "XCY", "XCZ", "YCX", "YCY", "YCZ", "SWAP", "ISWAP", "ISWAP_DAG", "SQRT_XX",
          "SQRT_YY", "SQRT_ZZ", "SQRT_XX_DAG", "SQRT_YY_DAG", "SQRT_ZZ_DAG", "CNOT", "ZCX", "ZCY", "ZCZ"}
_ONE_Q = {"H", "H_XY", "H_YZ", "S", "S_DAG", "SQRT_X", "SQRT_X_DAG", "SQRT_Y", "SQRT_Y_DAG", "X", "Y", "Z", "I",
          "C_XYZ", "C_ZYX"}
_MEASURE = {"M": "X_ERROR", "MZ": "X_ERROR", "MR": "X_ERROR", "MRZ": "X_ERROR", "MX": "Z_ERROR", "MRX": "Z_ERROR",
            "MY": "X_ERROR", "MRY": "X_ERROR"}
_RESET = {"R": "X_ERROR", "RZ": "X_ERROR", "MR": "X_ERROR", "MRZ": "X_ERROR", "RX": "Z_ERROR", "MRX": "Z_ERROR",
          "RY": "X_ERROR", "MRY": "X_ERROR"}
_ANNOTATIONS = {"DETECTOR", "OBSERVABLE_INCLUDE", "QUBIT_COORDS", "SHIFT_COORDS", "TICK", "MPAD"}


def _check_p(p: float, what: str = "p") -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise NoiseError(f"{what} must be a probability in [0, 1], got {p}")
    return p


def uniform_noise_kwargs(p: float) -> dict[str, float]:
    """The four ``stim.Circuit.generated`` noise knobs, all equal to ``p``.

    Examples:
        >>> sorted(uniform_noise_kwargs(0.01).values())
        [0.01, 0.01, 0.01, 0.01]
    """
    p = _check_p(p)
    return {"after_clifford_depolarization": p, "before_round_data_depolarization": p,
            "before_measure_flip_probability": p, "after_reset_flip_probability": p}


def _qubits(circuit: stim.Circuit) -> list[int]:
    used: set[int] = set()
    for inst in circuit.flattened():
        if inst.name in _ANNOTATIONS:
            continue
        used.update(t.value for t in inst.targets_copy() if t.is_qubit_target)
    return sorted(used)


def rewrite_layers(circuit: stim.Circuit, layer: Callable[[list[stim.CircuitInstruction], list[int]], stim.Circuit],
                   ) -> stim.Circuit:
    """Rebuild ``circuit`` layer by layer (spans between ``TICK`` s; ``REPEAT`` bodies recursively).

    Args:
        circuit: the circuit.
        layer: ``layer(instructions, all_qubits) -> stim.Circuit`` returning the layer's
            replacement (without the closing ``TICK``).

    Returns:
        The rewritten circuit.
    """
    qubits = _qubits(circuit)

    def walk(block: stim.Circuit) -> stim.Circuit:
        out = stim.Circuit()
        pending: list[stim.CircuitInstruction] = []

        def flush() -> None:
            if pending:
                out.append(layer(list(pending), qubits))
                pending.clear()

        for inst in block:
            if isinstance(inst, stim.CircuitRepeatBlock):
                flush()
                out.append(stim.CircuitRepeatBlock(inst.repeat_count, walk(inst.body_copy())))
            elif inst.name == "TICK":
                flush()
                out.append(inst)
            else:
                pending.append(inst)
        flush()
        return out

    return walk(circuit)


def _has_noise(circuit: stim.Circuit) -> bool:
    return any(inst.name in {"DEPOLARIZE1", "DEPOLARIZE2", "X_ERROR", "Y_ERROR", "Z_ERROR", "PAULI_CHANNEL_1",
                             "PAULI_CHANNEL_2", "E", "ELSE_CORRELATED_ERROR", "HERALDED_ERASE"}
               or (inst.name in _MEASURE and inst.gate_args_copy())
               for inst in circuit.flattened())


def si1000(circuit: stim.Circuit, p: float) -> stim.Circuit:
    """Add SI1000 noise (Gidney, Newman, McEwen 2021, Table 2; see the module docstring) to a noiseless circuit.

    Args:
        circuit: a noiseless circuit with ``TICK`` s between layers.
        p: the SI1000 base error rate.

    Returns:
        The noisy circuit.

    Raises:
        NoiseError: ``p`` is not a probability (``5p`` must be too), the circuit already has
            noise, or uses a gate the model does not cover.

    Examples:
        >>> import stim
        >>> c = stim.Circuit("R 0 1\\nTICK\\nH 0\\nTICK\\nCX 0 1\\nTICK\\nM 0 1")
        >>> print(si1000(c, 0.01))
        R 0 1
        X_ERROR(0.02) 0 1
        TICK
        H 0
        DEPOLARIZE1(0.001) 0 1
        TICK
        CX 0 1
        DEPOLARIZE2(0.01) 0 1
        TICK
        X_ERROR(0.05) 0 1
        M 0 1
    """
    p = _check_p(p)
    _check_p(5 * p, "5p (SI1000 measurement flip)")
    if _has_noise(circuit):
        raise NoiseError("si1000() expects a noiseless circuit; this one already has noise instructions "
                         "(generate it with noise='none')")

    def layer(insts: list[stim.CircuitInstruction], qubits: list[int]) -> stim.Circuit:
        out = stim.Circuit()
        touched: set[int] = set()
        slow = False
        for inst in insts:
            name = inst.name
            if name in _ANNOTATIONS:
                out.append(inst)
                continue
            targets = [t.value for t in inst.targets_copy() if t.is_qubit_target]
            touched.update(targets)
            if name in _MEASURE:
                slow = True
                out.append(_MEASURE[name], targets, 5 * p)
            out.append(inst)
            if name in _RESET:
                slow = True
                out.append(_RESET[name], targets, 2 * p)
            elif name in _TWO_Q:
                out.append("DEPOLARIZE2", targets, p)
            elif name in _ONE_Q:
                out.append("DEPOLARIZE1", targets, p / 10)
            elif name not in _MEASURE:
                raise NoiseError(f"si1000(): gate {name} is not covered by the SI1000 model (one- and two-qubit "
                                 f"Cliffords, M/MX/MR/MRX, R/RX)")
        idle = [q for q in qubits if q not in touched]
        if idle and touched:
            out.append("DEPOLARIZE1", idle, 2 * p if slow else p / 10)
        return out

    return rewrite_layers(circuit, layer)


def _noisy(name: str, noise: Any, p: float, **kwargs: Any) -> stim.Circuit:
    if isinstance(noise, str):
        key = noise.lower()
        if key == "uniform":
            return stim.Circuit.generated(name, **kwargs, **uniform_noise_kwargs(p))
        if key == "si1000":
            return si1000(stim.Circuit.generated(name, **kwargs), p)
        if key == "none":
            return stim.Circuit.generated(name, **kwargs)
        raise NoiseError(f"unknown noise preset {noise!r}; use one of {', '.join(NOISE_PRESETS)}, "
                         f"a qtandem NoiseModel or a Device")
    from qtandem.qec.noise_map import noisy_circuit

    return noisy_circuit(stim.Circuit.generated(name, **kwargs), noise)


def _check_size(distance: int, rounds: int, minimum: int = 2) -> None:
    if int(distance) != distance or distance < minimum:
        raise NoiseError(f"distance must be an integer >= {minimum}, got {distance!r}")
    if int(rounds) != rounds or rounds < 1:
        raise NoiseError(f"rounds must be an integer >= 1, got {rounds!r}")


def surface_code(distance: int, rounds: int, *, basis: str = "Z", noise: Any = "uniform",
                 p: float = 0.001) -> stim.Circuit:
    """Rotated surface-code memory experiment.

    Args:
        distance: code distance (>= 2).
        rounds: stabilizer measurement rounds.
        basis: ``"Z"`` (memory of ``|0>``, detects X errors) or ``"X"``.
        noise: ``"uniform"``, ``"si1000"``, ``"none"``, a NoiseModel or a Device.
        p: physical error rate of the presets.

    Returns:
        The ``stim.Circuit``.

    Raises:
        NoiseError: bad distance, rounds, basis, preset name or probability.

    Examples:
        >>> surface_code(5, 5, basis="X", p=0.005).num_detectors
        120
    """
    _check_size(distance, rounds)
    b = str(basis).upper()
    if b not in ("X", "Z"):
        raise NoiseError(f"basis must be 'X' or 'Z', got {basis!r}")
    return _noisy(f"surface_code:rotated_memory_{b.lower()}", noise, p, distance=distance, rounds=rounds)


def repetition_code(distance: int, rounds: int, *, noise: Any = "uniform", p: float = 0.001) -> stim.Circuit:
    """Repetition-code memory experiment (bit flips; ``distance`` data qubits).

    Examples:
        >>> repetition_code(3, 3).num_observables
        1
    """
    _check_size(distance, rounds)
    return _noisy("repetition_code:memory", noise, p, distance=distance, rounds=rounds)


def color_code(distance: int, rounds: int, *, noise: Any = "uniform", p: float = 0.001) -> stim.Circuit:
    """Colour-code (6.6.6, ``memory_xyz``) experiment; odd ``distance`` >= 3. Not graphlike: use BP-OSD.

    Examples:
        >>> color_code(3, 2).num_observables
        1
    """
    _check_size(distance, rounds, minimum=3)
    if distance % 2 == 0:
        raise NoiseError(f"colour-code distance must be odd, got {distance}")
    return _noisy("color_code:memory_xyz", noise, p, distance=distance, rounds=rounds)


def memory_circuit(code: str, distance: int, rounds: int | None = None, *, basis: str = "Z", noise: Any = "uniform",
                   p: float = 0.001) -> stim.Circuit:
    """Any of :data:`CODES` by name; ``rounds`` defaults to ``distance``.

    Raises:
        NoiseError: unknown code (or any error of the builders).

    Examples:
        >>> memory_circuit("surface", 3).num_detectors
        24
    """
    rounds = distance if rounds is None else rounds
    if code == "surface":
        return surface_code(distance, rounds, basis=basis, noise=noise, p=p)
    if code == "repetition":
        return repetition_code(distance, rounds, noise=noise, p=p)
    if code == "color":
        return color_code(distance, rounds, noise=noise, p=p)
    raise NoiseError(f"unknown code {code!r}; use one of {', '.join(CODES)}")


def circuit_from_spec(spec: dict[str, Any]) -> stim.Circuit:
    """Build a circuit from a JSON-able spec (as stored in dataset manifests).

    Keys: ``code``, ``distance``, optional ``rounds`` (default distance), ``basis`` (``"Z"``),
    ``noise`` (a preset name, default ``"uniform"``) and ``p`` (``0.001``).

    Raises:
        NoiseError: unknown keys or values.

    Examples:
        >>> circuit_from_spec({"code": "surface", "distance": 3, "p": 0.005}) == surface_code(3, 3, p=0.005)
        True
    """
    allowed = {"code", "distance", "rounds", "basis", "noise", "p"}
    extra = set(spec) - allowed
    if extra or "code" not in spec or "distance" not in spec:
        raise NoiseError(f"circuit spec needs 'code' and 'distance' and allows only {sorted(allowed)}; "
                         f"got keys {sorted(spec)}")
    noise = spec.get("noise", "uniform")
    if not isinstance(noise, str):
        raise NoiseError(f"circuit spec 'noise' must be a preset name ({', '.join(NOISE_PRESETS)}), got {noise!r}")
    return memory_circuit(str(spec["code"]), int(spec["distance"]), spec.get("rounds"), basis=spec.get("basis", "Z"),
                          noise=noise, p=float(spec.get("p", 0.001)))
