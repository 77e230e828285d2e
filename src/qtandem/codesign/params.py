"""Device calibration numbers by their path in the device JSON, read and changed one at a time.

A *parameter path* names one number of :meth:`qtandem.device.Device.to_dict` with dots:

- ``qubits.<q>.<field>``: a qubit's calibration, ``<field>`` one of the JSON's qubit keys
  (``t1``, ``t2``, ``readout_p01``, ``readout_p10``, ``gate_error_1q``, ``gate_duration_1q``,
  ``readout_duration``, ``detuning``, ``sx_angle_error``, ``x_angle_error``);
- ``edges.<a>-<b>.<field>``: the two-qubit gate on coupling ``(a, b)``, ``a < b`` as the JSON
  lists it (``error``, ``duration``, ``angle_error``, ``zz``);
- ``readout_correlations.<a>-<b>.<i>.<j>``: entry ``M[i][j]`` of a pair's joint confusion matrix.

Examples:
    >>> from qtandem.device import Device
    >>> params = device_parameters(Device.preset("line_5"))
    >>> params["qubits.0.t1"] > 0, "edges.0-1.error" in params
    (True, True)
    >>> better = with_parameters(Device.preset("line_5"), {"edges.0-1.error": 0.001})
    >>> better.edges[(0, 1)].error
    0.001
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

import torch

from qtandem.device.device import EdgeProperties, QubitProperties
from qtandem.errors import ConfigError, NoiseError

if TYPE_CHECKING:
    from qtandem.device import Device

__all__ = ["device_parameters", "with_parameters"]

_QUBIT_FIELDS = tuple(f.name for f in fields(QubitProperties))
_EDGE_FIELDS = tuple(f.name for f in fields(EdgeProperties) if f.name != "gate")


def _value(x: Any) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def device_parameters(device: Device) -> dict[str, float]:
    """Every numeric calibration number of ``device``, keyed by its parameter path (see the module).

    Args:
        device: the device.

    Returns:
        ``{path: value}`` in the JSON's order: qubits, edges, readout correlations.

    Examples:
        >>> from qtandem.device import Device
        >>> params = device_parameters(Device.random(2, "line", seed=1))
        >>> [p for p in params if p.startswith("edges.")]
        ['edges.0-1.error', 'edges.0-1.duration', 'edges.0-1.angle_error', 'edges.0-1.zz']
        >>> sum(p.startswith("readout_correlations.0-1.") for p in params)
        16
    """
    out: dict[str, float] = {}
    for q, props in enumerate(device.qubits):
        for name in _QUBIT_FIELDS:
            out[f"qubits.{q}.{name}"] = _value(getattr(props, name))
    for (a, b), edge in sorted(device.edges.items()):
        for name in _EDGE_FIELDS:
            out[f"edges.{a}-{b}.{name}"] = _value(getattr(edge, name))
    for (a, b), matrix in sorted(device.readout_correlations.items()):
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                out[f"readout_correlations.{a}-{b}.{i}.{j}"] = _value(v)
    return out


def _pair(text: str, path: str) -> tuple[int, int]:
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"parameter path {path!r}: expected a coupling 'a-b' (e.g. 'edges.0-1.error'), got {text!r}")
    return int(parts[0]), int(parts[1])


def _resolve(device: Device, path: str) -> tuple[str, Any, Any]:
    """``(kind, key, field)`` of a path on ``device``; ConfigError naming the path when it is not one."""
    if not isinstance(path, str):
        raise ConfigError(f"a parameter path is a string like 'qubits.3.t1', got {path!r}")
    parts = path.split(".")
    head = parts[0]
    if head == "qubits" and len(parts) == 3:
        if not parts[1].isdigit() or int(parts[1]) >= device.num_qubits:
            raise ConfigError(f"parameter path {path!r}: qubit {parts[1]!r} is not in 0..{device.num_qubits - 1}")
        if parts[2] not in _QUBIT_FIELDS:
            raise ConfigError(f"parameter path {path!r}: unknown qubit field {parts[2]!r} "
                              f"(known: {', '.join(_QUBIT_FIELDS)})")
        return "qubit", int(parts[1]), parts[2]
    if head == "edges" and len(parts) == 3:
        pair = _pair(parts[1], path)
        if pair not in device.edges:
            raise ConfigError(f"parameter path {path!r}: the device has no coupling {parts[1]!r} "
                              "(couplings are written 'a-b' with a < b)")
        if parts[2] not in _EDGE_FIELDS:
            raise ConfigError(f"parameter path {path!r}: unknown edge field {parts[2]!r} "
                              f"(known: {', '.join(_EDGE_FIELDS)})")
        return "edge", pair, parts[2]
    if head == "readout_correlations" and len(parts) == 4:
        pair = _pair(parts[1], path)
        if pair not in device.readout_correlations:
            raise ConfigError(f"parameter path {path!r}: the device has no readout correlation on {parts[1]!r}")
        if not all(p.isdigit() and int(p) < 4 for p in parts[2:]):
            raise ConfigError(f"parameter path {path!r}: matrix indices must be 0..3, got {parts[2]}.{parts[3]}")
        return "correlation", pair, (int(parts[2]), int(parts[3]))
    raise ConfigError(f"parameter path {path!r} is not one of 'qubits.<q>.<field>', 'edges.<a>-<b>.<field>', "
                      "'readout_correlations.<a>-<b>.<i>.<j>'")


def _set(device: Device, updates: Mapping[str, Any]) -> Device:
    """A shallow-copied device with ``updates`` written (values may be tensors); paths checked."""
    resolved = [(_resolve(device, path), value) for path, value in updates.items()]
    new = copy.copy(device)
    new.qubits = list(device.qubits)
    new.edges = dict(device.edges)
    new.readout_correlations = {k: [list(r) for r in m] if not isinstance(m, torch.Tensor) else m.clone()
                                for k, m in device.readout_correlations.items()}
    for (kind, key, name), value in resolved:
        if kind == "qubit":
            new.qubits[key] = replace(new.qubits[key], **{name: value})
        elif kind == "edge":
            new.edges[key] = replace(new.edges[key], **{name: value})
        else:
            i, j = name
            new.readout_correlations[key][i][j] = value
    return new


def with_parameters(device: Device, updates: Mapping[str, float]) -> Device:
    """A new device with the numbers at ``updates``' paths replaced (``device`` is not changed).

    The result is checked like a device JSON file (probabilities in ``[0, 1]``, ``T2 <= 2 T1``, ...).

    Args:
        device: the device.
        updates: ``{path: new value}`` (paths as in :func:`device_parameters`).

    Returns:
        The changed device (its calibration numbers are plain floats).

    Raises:
        ConfigError: a path that names no number of ``device``, or a value the device JSON
            refuses (the path and the reason named).

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> with_parameters(dev, {"qubits.3.t1": 2 * dev.qubits[3].t1}).qubits[3].t1 == 2 * dev.qubits[3].t1
        True
        >>> with_parameters(dev, {"qubits.9.t1": 1.0})
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: parameter path 'qubits.9.t1': qubit '9' is not in 0..4
    """
    from qtandem.device import Device

    plain = {}
    for path, value in updates.items():
        try:
            plain[path] = _value(value)
        except (TypeError, ValueError):
            raise ConfigError(f"parameter path {path!r}: expected a number, got {value!r}") from None
    changed = _set(device, plain)
    try:
        return Device.from_dict(changed.to_dict(), source=f"with_parameters({', '.join(map(repr, updates))})")
    except NoiseError as err:
        raise ConfigError(str(err)) from None
