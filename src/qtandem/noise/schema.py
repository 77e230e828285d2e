"""The noise-model JSON schema: reading with key-path errors, and a commented template.

Every value read from a file is checked before it reaches a constructor, so a
bad file gives a :class:`~qtandem.errors.NoiseError` naming the file, the key
path, what was expected and what was found (``noise.json: errors[0].channel.p:
expected a number, got 'high' (a string)``), never a raw ``ValueError``. Gate
names are checked against the gate registry, with a suggestion for near misses.
The schema is documented key by key in ``docs/noise-model-schema.md``.

Examples:
    >>> data = template()
    >>> from qtandem.noise import NoiseModel
    >>> NoiseModel.from_dict(data).strict
    True
    >>> bad = {**data, "errors": [{"channel": {"type": "depolarizing", "p": "high"}, "gates": ["h"]}]}
    >>> NoiseModel.from_dict(bad, source="noise.json")
    Traceback (most recent call last):
    ...
    qtandem.errors.NoiseError: noise.json: errors[0].channel.p: expected a number, got 'high' (a string)
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from qtandem.circuit.gates import GATES
from qtandem.errors import NoiseError
from qtandem.noise import channels as ch
from qtandem.noise.readout import ReadoutError, readout_error

if TYPE_CHECKING:
    from qtandem.noise.model import NoiseModel

__all__ = ["SCHEMA", "SCHEMA_VERSION", "channel_from_dict", "channel_to_dict", "check_gate_name", "parse_model",
           "template"]

SCHEMA = "qtandem.noise_model"
SCHEMA_VERSION = 1
DEVICE_SCHEMA = "qtandem.device"

CONSTRUCTORS: dict[str, Callable[..., ch.KrausChannel]] = {
    "depolarizing": ch.depolarizing,
    "pauli_channel": ch.pauli_channel,
    "amplitude_damping": ch.amplitude_damping,
    "phase_damping": ch.phase_damping,
    "generalized_amplitude_damping": ch.generalized_amplitude_damping,
    "thermal_relaxation": ch.thermal_relaxation,
}
"""Channel ``type`` -> constructor; their parameters are the JSON keys (``"kraus"`` is the raw form)."""

TOP_KEYS = ("schema", "version", "comment", "num_qubits", "strict", "ideal", "errors", "readout", "idle", "zz",
            "durations")
ERROR_KEYS = ("channel", "gates", "qubits", "comment")
READOUT_KEYS = ("qubits", "p01", "p10", "matrix", "comment")
IDLE_KEYS = ("qubits", "t1", "t2", "detuning", "comment")
ZZ_KEYS = ("qubits", "zeta", "comment")
MAX_CHANNEL_QUBITS = 4
"""Largest ``num_qubits`` a file may give a depolarizing channel (its Kraus count is ``4**n``)."""

# names people write for registry gates; difflib finds typos, this finds synonyms
_ALIASES = {"hadamard": "h", "cnot": "cx", "not": "x", "toffoli": "ccx", "fredkin": "cswap", "phase": "p",
            "cphase": "cp", "sqrtx": "sx", "sqrt_x": "sx", "identity": "id", "i": "id", "measurement": "measure",
}
_NON_GATES = ("measure", "reset")
_LABEL = re.compile(r"^(?:ctrl(?:\((\d+)\))?@)?(?:inv@)?([a-z0-9_]+)$")


def _kind(value: Any) -> str:
    return {str: "a string", bool: "a boolean", list: "a list", dict: "an object", type(None): "null"}.get(
        type(value), type(value).__name__)


def _got(value: Any) -> str:
    text = repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({_kind(value)})"


def number(value: Any, where: str, *, lo: float | None = None, hi: float | None = None,
           positive: bool = False) -> float:
    """``value`` as a finite float in ``[lo, hi]`` (``> 0`` if ``positive``), else a NoiseError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NoiseError(f"{where}: expected a number, got {_got(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise NoiseError(f"{where}: expected a finite number, got {value!r}")
    if positive and v <= 0:
        raise NoiseError(f"{where}: must be > 0, got {value!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        span = f"[{lo:g}, {hi:g}]" if lo is not None and hi is not None else f">= {lo:g}" if lo is not None \
            else f"<= {hi:g}"
        raise NoiseError(f"{where}: must be {'in ' if lo is not None and hi is not None else ''}{span}, got {value!r}")
    return v


def _index(value: Any, where: str, width: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NoiseError(f"{where}: expected a qubit index (an integer >= 0), got {_got(value)}")
    if value < 0 or (width is not None and value >= width):
        top = f"0..{width - 1}" if width is not None else ">= 0"
        raise NoiseError(f"{where}: qubit {value} is out of range (expected {top})")
    return value


def _qubits(value: Any, where: str, width: int | None) -> list[int | tuple[int, ...]] | None:
    """``null`` or a list of qubit indices / lists of distinct indices."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise NoiseError(f"{where}: expected null (every qubit) or a list of qubits or qubit lists, got {_got(value)}")
    out: list[int | tuple[int, ...]] = []
    for i, item in enumerate(value):
        if isinstance(item, list):
            qs = tuple(_index(q, f"{where}[{i}][{j}]", width) for j, q in enumerate(item))
            if not qs or len(set(qs)) != len(qs):
                raise NoiseError(f"{where}[{i}]: expected distinct qubit indices, got {item!r}")
            out.append(qs)
        else:
            out.append(_index(item, f"{where}[{i}]", width))
    return out


def check_gate_name(name: Any, where: str = "gates") -> str:
    """``name`` if it names a gate (registry name, ``measure``/``reset``, or a label such as ``ctrl@ry``).

    Raises:
        NoiseError: not a string, or no such gate (with the closest names).

    Examples:
        >>> check_gate_name("cx")
        'cx'
        >>> check_gate_name("hadamard", "errors[0].gates[0]")
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: errors[0].gates[0]: unknown gate 'hadamard'; did you mean 'h'?
    """
    if not isinstance(name, str):
        raise NoiseError(f"{where}: expected a gate name (a string), got {_got(name)}")
    m = _LABEL.match(name)
    if name in _NON_GATES or (m is not None and m.group(2) in GATES):
        return name
    known = sorted(GATES) + list(_NON_GATES)
    close = ([_ALIASES[name.lower()]] if name.lower() in _ALIASES else []) + [
        c for c in difflib.get_close_matches(name.lower(), known, n=3) if c != _ALIASES.get(name.lower())]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f" (known: {', '.join(known)})"
    raise NoiseError(f"{where}: unknown gate {name!r}{hint}")


def _gates(value: Any, where: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise NoiseError(f"{where}: expected null (every gate) or a non-empty list of gate names, got {_got(value)}")
    return [check_gate_name(g, f"{where}[{i}]") for i, g in enumerate(value)]


def only(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """Refuse keys of ``data`` not in ``allowed`` (with a suggestion)."""
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise NoiseError(f"{where}: unknown key {key!r}{hint} (allowed: {', '.join(allowed)})")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NoiseError(f"{where}: expected an object, got {_got(value)}")
    if "comment" in value and not isinstance(value["comment"], str):
        raise NoiseError(f"{where}.comment: expected a string, got {_got(value['comment'])}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise NoiseError(f"{where}: expected a list, got {_got(value)}")
    return value


def _matrix(value: Any, where: str) -> list[list[complex]]:
    """A square matrix written as rows of ``[re, im]`` pairs."""
    rows = _list(value, where)
    out = []
    for i, row in enumerate(rows):
        entries = []
        for j, pair in enumerate(_list(row, f"{where}[{i}]")):
            if not isinstance(pair, list) or len(pair) != 2:
                raise NoiseError(f"{where}[{i}][{j}]: expected an [re, im] pair, got {_got(pair)}")
            entries.append(complex(number(pair[0], f"{where}[{i}][{j}][0]"), number(pair[1], f"{where}[{i}][{j}][1]")))
        if len(entries) != len(rows):
            raise NoiseError(f"{where}: expected a square matrix, row {i} has {len(entries)} entries for "
                             f"{len(rows)} rows")
        out.append(entries)
    if not out:
        raise NoiseError(f"{where}: expected a non-empty square matrix")
    return out


def channel_to_dict(channel: ch.KrausChannel) -> dict[str, Any]:
    """JSON-ready description: constructor name and parameters, or raw Kraus operators.

    Examples:
        >>> from qtandem.noise import amplitude_damping
        >>> channel_to_dict(amplitude_damping(0.1))
        {'type': 'amplitude_damping', 'gamma': 0.1}
    """
    if channel.name in CONSTRUCTORS and channel.params:
        return {"type": channel.name, **channel.params}
    return {"type": "kraus", "kraus": [[[[z.real, z.imag] for z in row] for row in k.detach().tolist()]
                                       for k in channel.kraus]}


def channel_from_dict(data: Any, where: str) -> ch.KrausChannel:
    """Inverse of :func:`channel_to_dict`; errors name ``where`` (e.g. ``errors[2].channel``).

    Examples:
        >>> from qtandem.noise import amplitude_damping
        >>> channel = channel_from_dict({"type": "amplitude_damping", "gamma": 0.1}, "errors[0].channel")
        >>> channel.allclose(amplitude_damping(0.1))
        True
        >>> channel_from_dict({"type": "bit_flop"}, "errors[0].channel")
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: errors[0].channel.type: unknown channel type 'bit_flop' ...
    """
    data = _object(data, where)
    kind = data.get("type")
    if kind == "kraus":
        only(data, ("type", "kraus", "comment"), where)
        ops = [torch.tensor(_matrix(k, f"{where}.kraus[{i}]"), dtype=torch.complex128)
               for i, k in enumerate(_list(data.get("kraus"), f"{where}.kraus"))]
        try:
            return ch.KrausChannel(ops, name="kraus")
        except NoiseError as err:
            raise NoiseError(f"{where}.kraus: {err}") from None
    if not isinstance(kind, str) or kind not in CONSTRUCTORS:
        close = difflib.get_close_matches(str(kind), [*CONSTRUCTORS, "kraus"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NoiseError(f"{where}.type: unknown channel type {kind!r}{hint} "
                         f"(known: {', '.join([*CONSTRUCTORS, 'kraus'])})")
    sig = inspect.signature(CONSTRUCTORS[kind])
    only(data, ("type", *sig.parameters, "comment"), where)
    params: dict[str, Any] = {}
    for name, par in sig.parameters.items():
        if name not in data:
            if par.default is inspect.Parameter.empty:
                raise NoiseError(f"{where}: missing key {name!r} ({kind} takes {', '.join(sig.parameters)})")
            continue
        value = data[name]
        if name == "num_qubits":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHANNEL_QUBITS:
                raise NoiseError(f"{where}.num_qubits: expected an integer in 1..{MAX_CHANNEL_QUBITS}, "
                                 f"got {_got(value)}")
            params[name] = value
        elif name in ("t1", "t2"):
            params[name] = number(value, f"{where}.{name}", positive=True)
        elif name == "time":
            params[name] = number(value, f"{where}.{name}", lo=0.0)
        else:  # probabilities
            params[name] = number(value, f"{where}.{name}", lo=0.0, hi=1.0)
    try:
        return CONSTRUCTORS[kind](**params)
    except NoiseError as err:
        raise NoiseError(f"{where}: {err}") from None


def _readout(item: dict[str, Any], where: str) -> ReadoutError:
    if "matrix" in item:
        if "p01" in item or "p10" in item:
            raise NoiseError(f"{where}: give either 'matrix' or 'p01' and 'p10', not both")
        rows = _list(item["matrix"], f"{where}.matrix")
        values = [[number(v, f"{where}.matrix[{i}][{j}]", lo=0.0, hi=1.0)
                   for j, v in enumerate(_list(row, f"{where}.matrix[{i}]"))] for i, row in enumerate(rows)]
        try:
            return ReadoutError(values)
        except (NoiseError, ValueError) as err:
            raise NoiseError(f"{where}.matrix: {err}") from None
    for key in ("p01", "p10"):
        if key not in item:
            raise NoiseError(f"{where}: missing key {key!r} (or give a confusion 'matrix')")
    return readout_error(number(item["p01"], f"{where}.p01", lo=0.0, hi=1.0),
                         number(item["p10"], f"{where}.p10", lo=0.0, hi=1.0))


def _not_a_device(data: dict[str, Any]) -> None:
    device_keys = {"native_gates", "coupling_map", "qubits", "edges", "time_unit"}
    if data.get("schema") == DEVICE_SCHEMA or (data.get("schema") is None and device_keys & set(data)):
        raise NoiseError("this is a device description (schema 'qtandem.device'), not a noise model: in Python "
                         "use Device.load(path).noise_model(); the CLI's --noise takes a device file as it is")


def parse_model(data: Any, cls: type[NoiseModel]) -> NoiseModel:
    """A ``cls`` (:class:`~qtandem.noise.NoiseModel`) from a decoded JSON document; errors name the key path.

    Examples:
        >>> from qtandem.noise import NoiseModel
        >>> parse_model({"schema": "qtandem.noise_model", "version": 1, "ideal": ["rz"]}, NoiseModel).ideal
        {'rz'}
        >>> parse_model({"schema": "qtandem.noise_model", "version": 1, "durations": {"cx": -5}}, NoiseModel)
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: durations.cx: must be >= 0, got -5
    """
    data = _object(data, "top level")
    _not_a_device(data)
    only(data, TOP_KEYS, "top level")
    if data.get("schema") != SCHEMA:
        raise NoiseError(f"schema: expected {SCHEMA!r}, got {data.get('schema')!r}")
    if data.get("version") != SCHEMA_VERSION:
        raise NoiseError(f"version: this qtandem reads version {SCHEMA_VERSION}, got {data.get('version')!r}")
    width = data.get("num_qubits")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise NoiseError(f"num_qubits: expected null or a positive integer, got {_got(width)}")
    strict = data.get("strict", True)
    if not isinstance(strict, bool):
        raise NoiseError(f"strict: expected true or false, got {_got(strict)}")
    model = cls(num_qubits=width, strict=strict)
    ideal = _list(data.get("ideal", []), "ideal")
    model.set_ideal([check_gate_name(g, f"ideal[{i}]") for i, g in enumerate(ideal)])
    for i, item in enumerate(_list(data.get("errors", []), "errors")):
        where = f"errors[{i}]"
        item = _object(item, where)
        only(item, ERROR_KEYS, where)
        if "channel" not in item:
            raise NoiseError(f"{where}: missing key 'channel'")
        channel = channel_from_dict(item["channel"], f"{where}.channel")
        gates = _gates(item.get("gates"), f"{where}.gates")
        qubits = _qubits(item.get("qubits"), f"{where}.qubits", width)
        try:
            model.add(channel, gates, qubits)
        except NoiseError as err:
            raise NoiseError(f"{where}: {err}") from None
    for i, item in enumerate(_list(data.get("readout", []), "readout")):
        where = f"readout[{i}]"
        item = _object(item, where)
        only(item, READOUT_KEYS, where)
        confusion = _readout(item, where)
        try:
            model.add_readout(confusion, _qubits(item.get("qubits"), f"{where}.qubits", width))
        except NoiseError as e:
            raise NoiseError(f"{where}: {e}") from None
    for i, item in enumerate(_list(data.get("idle", []), "idle")):
        where = f"idle[{i}]"
        item = _object(item, where)
        only(item, IDLE_KEYS, where)
        for key in ("t1", "t2"):
            if key not in item:
                raise NoiseError(f"{where}: missing key {key!r}")
        t1 = number(item["t1"], f"{where}.t1", positive=True)
        t2 = number(item["t2"], f"{where}.t2", positive=True)
        if t2 > 2 * t1 * (1 + 1e-12):
            raise NoiseError(f"{where}.t2: T2 ({t2:g}) must be <= 2 T1 ({2 * t1:g}); T2 > 2 T1 is unphysical")
        qubits = _qubits(item.get("qubits"), f"{where}.qubits", width)
        if qubits is not None and any(isinstance(q, tuple) for q in qubits):
            raise NoiseError(f"{where}.qubits: idle relaxation is per qubit: expected a list of qubit indices")
        detuning = number(item.get("detuning", 0.0), f"{where}.detuning")
        model.add_idle(t1, t2, None if qubits is None else [int(q) for q in qubits if isinstance(q, int)],
                       detuning=detuning)
    for i, item in enumerate(_list(data.get("zz", []), "zz")):
        where = f"zz[{i}]"
        item = _object(item, where)
        only(item, ZZ_KEYS, where)
        for key in ("qubits", "zeta"):
            if key not in item:
                raise NoiseError(f"{where}: missing key {key!r}")
        pairs = _qubits(item["qubits"], f"{where}.qubits", width)
        if not pairs or any(not isinstance(p, tuple) or len(p) != 2 or p[0] == p[1] for p in pairs):
            raise NoiseError(f"{where}.qubits: expected a list of qubit pairs [[a, b], ...] (two distinct qubits)")
        model.add_zz(number(item["zeta"], f"{where}.zeta"), [p for p in pairs if isinstance(p, tuple)])
    durations = data.get("durations", {})
    if not isinstance(durations, dict):
        raise NoiseError(f"durations: expected an object of gate name -> duration, got {_got(durations)}")
    for key, value in durations.items():
        if key not in ("1q", "2q"):
            check_gate_name(key, f"durations.{key}")
        number(value, f"durations.{key}", lo=0.0)
    model.set_durations(durations)
    return model


def template() -> dict[str, Any]:
    """A complete, valid noise-model document with a ``comment`` on every object (what
    ``qtandem noise template`` prints); every key of the schema appears once.

    Examples:
        >>> data = template()
        >>> data["schema"], data["version"], [e["channel"]["type"] for e in data["errors"]][:2]
        ('qtandem.noise_model', 1, ['depolarizing', 'thermal_relaxation'])
    """
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "comment": "qtandem noise model (docs/noise-model-schema.md). Times in one unit of your choice (ns here), "
                   "probabilities in [0, 1]. 'comment' keys are ignored.",
        "num_qubits": 5,
        "strict": True,
        "ideal": ["rz", "id"],
        "errors": [
            {"comment": "after every one-qubit gate listed: depolarizing with probability p",
             "channel": {"type": "depolarizing", "p": 0.001, "num_qubits": 1},
             "gates": ["sx", "x", "h", "rx", "ry"], "qubits": None},
            {"comment": "relaxation during a 35 ns gate on qubits 0 and 1 only",
             "channel": {"type": "thermal_relaxation", "t1": 100000.0, "t2": 80000.0, "time": 35.0},
             "gates": ["sx", "x"], "qubits": [0, 1]},
            {"comment": "two-qubit depolarizing after cx, on every pair (qubits: null) or listed pairs",
             "channel": {"type": "depolarizing", "p": 0.01, "num_qubits": 2},
             "gates": ["cx"], "qubits": None},
            {"comment": "other channel types: pauli_channel (px, py, pz), amplitude_damping (gamma), "
                        "phase_damping (lam), generalized_amplitude_damping (p, gamma), or raw Kraus operators",
             "channel": {"type": "pauli_channel", "px": 0.0005, "py": 0.0, "pz": 0.001},
             "gates": ["cz", "swap"], "qubits": None},
            {"comment": "raw Kraus operators: a list of matrices of [re, im] pairs (here amplitude damping 0.01)",
             "channel": {"type": "kraus", "kraus": [[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.99498743710662, 0.0]]],
                                                    [[[0.0, 0.0], [0.1, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]]},
             "gates": ["ccx"], "qubits": None},
        ],
        "readout": [
            {"comment": "every measured qubit: p01 = P(read 1 | 0), p10 = P(read 0 | 1)",
             "qubits": None, "p01": 0.02, "p10": 0.03},
            {"comment": "a correlated error on qubits (3, 4): a 4x4 column-stochastic confusion matrix",
             "qubits": [[3, 4]],
             "matrix": [[0.97, 0.02, 0.02, 0.0], [0.01, 0.96, 0.0, 0.02], [0.01, 0.0, 0.96, 0.02],
                        [0.01, 0.02, 0.02, 0.96]]},
        ],
        "idle": [
            {"comment": "waiting qubits (a delay, or waits scheduled by durations): relaxation and a Z phase "
                        "detuning * t (rad per time unit); qubits: null for all",
             "qubits": None, "t1": 100000.0, "t2": 80000.0, "detuning": 0.0003},
        ],
        "zz": [
            {"comment": "static ZZ (rad per time unit): while a qubit waits t, rzz(zeta t / 2) with each partner",
             "qubits": [[0, 1], [1, 2]], "zeta": 0.0002},
        ],
        "durations": {"1q": 35.0, "2q": 300.0, "measure": 700.0, "rz": 0.0},
    }
