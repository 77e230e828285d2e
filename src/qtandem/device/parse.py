"""Reading device JSON: every value checked, errors name the key path.

A noise-model file given where a device is expected is recognised and named as
such (``this is a noise model, not a device``), and the reverse is done by
:func:`qtandem.noise.schema.parse_model`.

Examples:
    >>> parse_device({"schema": "qtandem.noise_model", "version": 1, "durations": {}})
    Traceback (most recent call last):
    ...
    qtandem.errors.NoiseError: this is a noise model (schema 'qtandem.noise_model'), not a device: ...
"""

from __future__ import annotations

import difflib
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import networkx as nx

from qtandem.errors import NoiseError
from qtandem.noise.schema import SCHEMA as NOISE_SCHEMA
from qtandem.noise.schema import check_gate_name, number

if TYPE_CHECKING:
    from qtandem.device.device import Device

__all__ = ["DEVICE_KEYS", "parse_device"]

DEVICE_KEYS = ("schema", "version", "name", "description", "source", "num_qubits", "time_unit", "native_gates",
               "coupling_map", "qubits", "edges", "readout_correlations", "extra")
"""Keys of a device JSON document (top level)."""

_HARDWARE_NAMES = frozenset({"delay", "barrier", "ecr", "rzx", "for_loop", "if_else", "while_loop", "switch_case",
                             "break_loop", "continue_loop", "store", "box"})
"""Instruction names a converted backend may list that are not qtandem gates (kept, never simulated)."""

_SIGNED = ("detuning", "sx_angle_error", "x_angle_error")

_NOISE_KEYS = {"errors", "readout", "idle", "durations", "ideal", "strict"}


def _not_a_noise_model(data: dict[str, Any]) -> None:
    if data.get("schema") == NOISE_SCHEMA or (data.get("schema") is None and _NOISE_KEYS & set(data)):
        raise NoiseError(f"this is a noise model (schema {NOISE_SCHEMA!r}), not a device: use it with --noise "
                         "(qtandem simulate FILE --noise noise.json) or NoiseModel.from_json in Python; "
                         "a device file has schema 'qtandem.device'")


def _only(data: dict[str, Any], allowed: tuple[str, ...] | set[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise NoiseError(f"{where}: unknown key {key!r}{hint} (allowed: {', '.join(sorted(allowed))})")


def _pair(value: Any, where: str, n: int) -> tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < n for x in value)
            and value[0] != value[1]):
        raise NoiseError(f"{where}: expected two distinct qubit indices in 0..{n - 1}, got {value!r}")
    return min(value), max(value)


def parse_device(data: Any) -> Device:
    """A :class:`~qtandem.device.Device` from a decoded device JSON document.

    Raises:
        NoiseError: the key path, what was expected and what was found; a noise-model document.

    Examples:
        >>> doc = {"schema": "qtandem.device", "version": 1, "name": "pair", "num_qubits": 2,
        ...        "qubits": [{"t1": 100.0, "t2": 80.0}, {"t1": 90.0, "t2": 70.0}], "coupling_map": [[0, 1]]}
        >>> parse_device(doc).coupling_map.has_edge(0, 1)
        True
        >>> parse_device({**doc, "edges": [{"qubits": [0, 1], "error": "high", "duration": 300}]})
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: edges[0].error: expected a number, got 'high' (a string)
    """
    from qtandem.device.device import SCHEMA, SCHEMA_VERSION, Device, EdgeProperties, QubitProperties

    if not isinstance(data, dict):
        raise NoiseError(f"expected a JSON object, got {type(data).__name__}")
    _not_a_noise_model(data)
    _only(data, DEVICE_KEYS, "top level")
    if data.get("schema") != SCHEMA:
        raise NoiseError(f"schema: expected {SCHEMA!r}, got {data.get('schema')!r}")
    if data.get("version") not in range(1, SCHEMA_VERSION + 1) or isinstance(data.get("version"), bool):
        raise NoiseError(f"version: this qtandem reads versions 1 to {SCHEMA_VERSION}, got {data.get('version')!r}")
    for key in ("name", "num_qubits", "qubits"):
        if key not in data:
            raise NoiseError(f"missing key {key!r}")
    n = data["num_qubits"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise NoiseError(f"num_qubits: expected a positive integer, got {n!r}")
    qfields = {f.name for f in fields(QubitProperties)}
    if not isinstance(data["qubits"], list) or len(data["qubits"]) != n:
        raise NoiseError(f"qubits: expected a list of {n} objects (one per qubit)")
    qubits = []
    for i, q in enumerate(data["qubits"]):
        where = f"qubits[{i}]"
        if not isinstance(q, dict):
            raise NoiseError(f"{where}: expected an object")
        _only(q, qfields, where)
        for key in ("t1", "t2"):
            if key not in q:
                raise NoiseError(f"{where}: missing key {key!r}")
        values = {}
        for key, v in q.items():
            if key in ("t1", "t2"):
                values[key] = number(v, f"{where}.{key}", positive=True)
            elif key in ("readout_p01", "readout_p10", "gate_error_1q"):
                values[key] = number(v, f"{where}.{key}", lo=0.0, hi=1.0)
            elif key in _SIGNED:  # coherent errors: any sign
                values[key] = number(v, f"{where}.{key}")
            else:  # durations
                values[key] = number(v, f"{where}.{key}", lo=0.0)
        props = QubitProperties(**values)
        if props.t2 > 2 * props.t1 * (1 + 1e-12):
            raise NoiseError(f"{where}.t2: T2 ({props.t2:g}) must be <= 2 T1 ({2 * props.t1:g}); "
                             "T2 > 2 T1 is unphysical")
        qubits.append(props)
    edges: dict[tuple[int, int], EdgeProperties] = {}
    efields = {f.name for f in fields(EdgeProperties)} | {"qubits"}
    if not isinstance(data.get("edges", []), list):
        raise NoiseError("edges: expected a list of objects")
    for i, e in enumerate(data.get("edges", [])):
        where = f"edges[{i}]"
        if not isinstance(e, dict):
            raise NoiseError(f"{where}: expected an object")
        _only(e, efields, where)
        pair = _pair(e.get("qubits"), f"{where}.qubits", n)
        gate = e.get("gate", "cx")
        if not isinstance(gate, str) or gate not in _HARDWARE_NAMES:
            check_gate_name(gate, f"{where}.gate")
        edges[pair] = EdgeProperties(error=number(e.get("error", 0.0), f"{where}.error", lo=0.0, hi=1.0),
                                     duration=number(e.get("duration", 0.0), f"{where}.duration", lo=0.0),
                                     gate=gate, angle_error=number(e.get("angle_error", 0.0), f"{where}.angle_error"),
                                     zz=number(e.get("zz", 0.0), f"{where}.zz"))
    if not isinstance(data.get("coupling_map", []), list):
        raise NoiseError("coupling_map: expected a list of qubit pairs")
    for i, pair in enumerate(data.get("coupling_map", [])):
        edges.setdefault(_pair(pair, f"coupling_map[{i}]", n), EdgeProperties(error=0.0, duration=0.0))
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    native = data.get("native_gates", ["rz", "sx", "x", "cx", "id", "measure", "reset"])
    if not isinstance(native, list):
        raise NoiseError(f"native_gates: expected a list of gate names, got {native!r}")
    for i, g in enumerate(native):
        if not isinstance(g, str) or g not in _HARDWARE_NAMES:
            check_gate_name(g, f"native_gates[{i}]")
    for key in ("name", "description", "source", "time_unit"):
        if key in data and not isinstance(data[key], str):
            raise NoiseError(f"{key}: expected a string, got {data[key]!r}")
    correlations = _correlations(data.get("readout_correlations", []), n)
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise NoiseError(f"extra: expected an object, got {extra!r}")
    return Device(name=data["name"], num_qubits=n, coupling_map=graph, native_gates=list(native),
                  qubits=qubits, edges=edges, time_unit=data.get("time_unit", "ns"),
                  source=data.get("source", ""), description=data.get("description", ""), extra=dict(extra),
                  readout_correlations=correlations)


def _correlations(value: Any, n: int) -> dict[tuple[int, int], list[list[float]]]:
    """``readout_correlations``: a list of ``{"qubits": [a, b], "matrix": 4x4}`` (column-stochastic)."""
    from qtandem.noise.readout import ReadoutError

    if not isinstance(value, list):
        raise NoiseError("readout_correlations: expected a list of {\"qubits\": [a, b], \"matrix\": 4x4} objects")
    out: dict[tuple[int, int], list[list[float]]] = {}
    for i, item in enumerate(value):
        where = f"readout_correlations[{i}]"
        if not isinstance(item, dict):
            raise NoiseError(f"{where}: expected an object")
        _only(item, {"qubits", "matrix"}, where)
        qs = item.get("qubits")
        _pair(qs, f"{where}.qubits", n)
        assert isinstance(qs, list)  # _pair checked it: two distinct indices, order kept (a = low bit)
        rows = item.get("matrix")
        if not (isinstance(rows, list) and len(rows) == 4 and all(isinstance(r, list) and len(r) == 4 for r in rows)):
            raise NoiseError(f"{where}.matrix: expected a 4x4 list of lists (P(read i | true j)), got {rows!r}")
        matrix = [[number(v, f"{where}.matrix[{r}][{c}]", lo=0.0, hi=1.0) for c, v in enumerate(row)]
                  for r, row in enumerate(rows)]
        try:
            ReadoutError(matrix)
        except NoiseError as err:
            raise NoiseError(f"{where}.matrix: {err}") from None
        key = (qs[0], qs[1])
        if key in out or key[::-1] in out:
            raise NoiseError(f"{where}.qubits: the pair {list(key)} appears twice")
        out[key] = matrix
    return out
