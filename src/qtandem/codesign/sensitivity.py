"""Hardware what-if: which calibration upgrade pays most for a workload, by autograd through the noise model.

:func:`sensitivity` differentiates a :class:`~qtandem.codesign.Workload`'s figure of merit with
respect to every calibration number of a device (exact density-matrix simulation; every number
a leaf tensor), ranks the upgrades (T1/T2 up by a fraction, errors down by it) by their
first-order gain, and :meth:`Sensitivity.check` re-simulates the top ones to say how far the
first-order prediction can be trusted.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> from qtandem.codesign import Workload
    >>> dev = Device.random(3, "line", seed=0)
    >>> sens = sensitivity(Workload(Circuit(3).h(0).cx(0, 1).cx(1, 2)), dev)
    >>> best, gain = sens.ranking()[0]
    >>> best.startswith("edges."), gain > 0     # a better cx pays most on a GHZ state
    (True, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from qtandem.circuit.circuit import Circuit
from qtandem.codesign.params import _resolve, _set, device_parameters
from qtandem.codesign.workload import Workload
from qtandem.errors import ConfigError

if TYPE_CHECKING:
    from qtandem.device import Device

__all__ = ["COORDINATES", "DIFFERENTIABLE_FIELDS", "FIELD_CLASSES", "SECOND_ORDER", "SELECTED_POWERS", "Sensitivity",
           "SensitivityCheck", "kendall_tau", "sensitivity"]

DIFFERENTIABLE_FIELDS = ("t1", "t2", "readout_p01", "readout_p10", "gate_error_1q", "detuning", "sx_angle_error",
                         "x_angle_error", "error", "angle_error", "zz")
"""Qubit and edge fields :func:`sensitivity` differentiates by default, with every entry of the
joint readout matrices. Durations are left out: they also set the idle schedule, which the simulator
computes from plain numbers (a gradient would miss that part). A joint readout matrix changes as a
whole (one entry alone would break its column sums): the *group* path ``readout_correlations.<a>-<b>``
scales its off-diagonal entries (each column's diagonal takes the remainder)."""

_TIMES = ("t1", "t2")
_GATE_ERRORS = ("error", "gate_error_1q")
_COHERENT = ("detuning", "sx_angle_error", "x_angle_error", "angle_error", "zz")

COORDINATES = ("json", "rates", "physical", "selected", "second_order")
"""Named coordinates of a prediction (see :meth:`Sensitivity.predict`; a mapping of powers per field
is accepted too). ``"second_order"`` is the :data:`SELECTED_POWERS` expansion with the exact second
derivative added for every parameter whose curvature :func:`sensitivity` took (the coherent angles by
default), in the file's own coordinate for those (:data:`SECOND_ORDER`).

Examples:
    >>> COORDINATES[-1]
    'second_order'
"""

FIELD_CLASSES = {"times": _TIMES,
                 "errors": ("readout_p01", "readout_p10", "gate_error_1q", "error", "correlation"),
                 "coherent": _COHERENT}
"""Field classes a power mapping may name instead of single fields (see :meth:`Sensitivity.predict`)."""

SELECTED_POWERS: dict[str, float] = {"times": -1.0, "errors": 1.0, "coherent": 1.5}
"""The powers of the ``"selected"`` coordinates: T1/T2 as rates, gate and readout errors as in the
file, coherent angles (detuning, over-rotations, ZZ) to the power 1.5. Chosen once among 72
combinations (``bench/codesign_whatif.py --select``: times 1/0/-1, errors 1/0, coherent 1/1.5/2, ZZ
alone 0/1/1.5/2) on DEV pairs (heavy-hex device seeds 10-14 x the seven workloads; the most pairs with
all 20 predictions within 10% and tau >= 0.8: 22 of 35, rates alone 17), reported on TEST seeds 20-24
(``bench/results/codesign_whatif_test.json``, ``codesign_whatif_vqe_test.json``). A lone coherent
error costs quadratically (power 2), coherent errors that add up to a larger phase saturate (below 1),
and interfering ones have linear cross terms: 1.5 is the compromise DEV picked, not a law."""


SECOND_ORDER: dict[str, float] = {"times": -1.0, "errors": 1.0, "coherent": 1.0, "order": 2}
"""The ``"second_order"`` coordinates: T1/T2 as rates and errors as in the file (first order, as
:data:`SELECTED_POWERS`), the coherent angles (detuning, over-rotations, ZZ) to second order in their
own value, ``g d + h d**2 / 2`` with the exact second derivative ``h`` (autograd twice). A fidelity's
response to a coherent angle is quadratic near 0, so a first-order expansion in any power misses
whenever the angle's effect is not a pure power (cross terms with other angles); the second-order one is
exact for any quadratic response. Chosen on DEV pairs (device seeds 10-14) among the coherent powers
1 / 1.5 / 2 at order 2 (``bench/codesign_whatif.py --select-second``), reported on TEST seeds 20-24.

Examples:
    >>> SECOND_ORDER["order"], SECOND_ORDER["coherent"]
    (2, 1.0)
"""


def kendall_tau(a: Iterable[float], b: Iterable[float]) -> float:
    """Kendall's tau-b rank correlation of two equally long sequences (1: same order, -1: reversed).

    Examples:
        >>> kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]), kendall_tau([1, 2, 3], [3, 2, 1])
        (1.0, -1.0)
        >>> round(kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]), 4)
        0.6667
    """
    x, y = list(a), list(b)
    if len(x) != len(y):
        raise ValueError(f"kendall_tau: sequences of lengths {len(x)} and {len(y)}")
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom else float("nan")


def _field(path: str) -> str:
    return path.rsplit(".", 1)[-1] if path.startswith(("qubits.", "edges.")) else "correlation"


def _is_group(path: str) -> bool:
    """``readout_correlations.<a>-<b>``: a joint readout matrix as a whole."""
    return path.startswith("readout_correlations.") and path.count(".") == 1


def _group_entries(path: str) -> list[str]:
    return [f"{path}.{i}.{j}" for i in range(4) for j in range(4)]


def _qubit_of(path: str) -> int | None:
    parts = path.split(".")
    return int(parts[1]) if parts[0] == "qubits" else None


@dataclass
class SensitivityCheck:
    """First-order predictions against re-simulation, one row per change.

    Attributes:
        rows: dicts with ``path``, ``change`` (the relative change asked for, e.g. ``0.2``),
            ``updates`` (every number changed: a T2 is capped at ``2 T1``), ``predicted`` and
            ``actual`` (change of the figure of merit), ``rel_error`` (``|pred - actual| / |actual|``).
        kendall_tau: rank agreement between the predicted and the re-simulated gains of the
            upgrades (the improving change of each parameter).
        coordinates: of the predictions (see :meth:`Sensitivity.predict`).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> from qtandem.codesign import Workload
        >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), Device.random(2, "line", seed=0))
        >>> report = sens.check(top=3)
        >>> len(report.rows), report.within(0.5)
        (6, 1.0)
    """

    rows: list[dict[str, Any]]
    kendall_tau: float
    coordinates: str | dict[str, float] = "json"

    def within(self, tolerance: float = 0.1) -> float:
        """The fraction of changes whose prediction is within ``tolerance`` (relative) of re-simulation.

        Examples:
            >>> SensitivityCheck([{"rel_error": 0.05}, {"rel_error": 0.2}], 1.0).within(0.1)
            0.5
        """
        if not self.rows:
            return float("nan")
        return sum(r["rel_error"] <= tolerance for r in self.rows) / len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and rows.

        Examples:
            >>> SensitivityCheck([{"rel_error": 0.05}], 1.0).to_dict()["within_10pct"]
            1.0
        """
        return {"kendall_tau": self.kendall_tau, "within_10pct": self.within(0.1),
                "coordinates": self.coordinates,
                "rows": self.rows}


@dataclass
class Sensitivity:
    """Gradients of a workload's figure of merit with respect to device calibration numbers.

    Attributes:
        workload: the workload.
        device: the device the gradients were taken at.
        value: the figure of merit there.
        values: ``{path: value}`` of the differentiated numbers.
        gradients: ``{path: d merit / d value}`` in the device JSON's own units (a T1 in ns, an
            error as a probability, an angle in rad).
        higher_is_better: the workload's direction (``expval`` is an error: lower is better).
        top: the default size of :meth:`check` and :meth:`to_dict`'s ranking.
        curvatures: ``{path: d2 merit / d value2}``, the exact second derivatives along each
            parameter that :func:`sensitivity` was asked for (``curvature=``; by default the coherent
            angles), used by second-order coordinates (see :meth:`predict`).
        floor_gradients: ``{path: d merit / d error}`` just above the relaxation floor, for the gate
            errors that sit below their floor (their depolarizing part is clamped at 0, so their plain
            gradient is 0): what a change that lifts the error above the floor, or lowers the floor
            under the error, costs (see :meth:`predict`).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> from qtandem.codesign import Workload
        >>> dev = Device.random(2, "line", seed=0)
        >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev, parameters=["qubits.0.t1"])
        >>> sens.gradients["qubits.0.t1"] > 0                                 # a longer T1 helps
        True
        >>> step = 0.01 * dev.qubits[0].t1
        >>> abs(sens.predict({"qubits.0.t1": dev.qubits[0].t1 + step}) - sens.gradients["qubits.0.t1"] * step) < 1e-12
        True
    """

    workload: Workload
    device: Device
    value: float
    values: dict[str, float]
    gradients: dict[str, float]
    higher_is_better: bool = True
    top: int = 10
    curvatures: dict[str, float] = field(default_factory=dict)
    floor_gradients: dict[str, float] = field(default_factory=dict)
    _sign: float = field(init=False, repr=False, default=1.0)
    _resimulated: dict[tuple[tuple[str, float], ...], float] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._sign = 1.0 if self.higher_is_better else -1.0

    def resimulate(self, updates: Mapping[str, float]) -> float:
        """The re-simulated change of the figure of merit for ``updates`` (same compiled program; cached).

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign import Workload
            >>> dev = Device.random(2, "line", seed=0)
            >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev, parameters=["edges.0-1.error"])
            >>> sens.resimulate({"edges.0-1.error": 0.0}) > 0
            True
        """
        key = tuple(sorted((p, float(v)) for p, v in updates.items()))
        if key not in self._resimulated:
            self._resimulated[key] = self.workload.evaluate(_set(self.device, dict(key))) - self.value
        return self._resimulated[key]

    # -- changes ---------------------------------------------------------------
    def change(self, path: str, fraction: float) -> dict[str, float]:
        """The numbers changed when ``path`` moves by ``fraction`` (``0.2``: +20 %).

        A T2 is kept at most ``2 T1`` (a T2 raised past it, or a T1 lowered under ``T2 / 2``, brings
        the T2 along), as the device JSON requires. A group path ``readout_correlations.<a>-<b>``
        scales every off-diagonal entry of that joint readout matrix (see :data:`DIFFERENTIABLE_FIELDS`).

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign import Workload
            >>> dev = Device.random(2, "line", seed=0)
            >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev, parameters=["edges.0-1.error"])
            >>> sens.change("edges.0-1.error", -0.2) == {"edges.0-1.error": 0.8 * dev.edges[(0, 1)].error}
            True
        """
        values = {**device_parameters(self.device), **self.values}
        if _is_group(path):
            entries = _group_entries(path)
            if entries[0] not in values:
                raise ConfigError(f"parameter path {path!r}: the device has no such joint readout matrix")
            out = {}
            for j in range(4):  # column j: P(read i | true j); off-diagonals scaled, the diagonal the rest
                off = {f"{path}.{i}.{j}": values[f"{path}.{i}.{j}"] * (1 + fraction) for i in range(4) if i != j}
                out.update(off)
                out[f"{path}.{j}.{j}"] = 1.0 - sum(off.values())
            return out
        if path not in values:
            _resolve(self.device, path)
            raise ConfigError(f"parameter path {path!r} names no number of the device")
        out = {path: values[path] * (1 + fraction)}
        q = _qubit_of(path)
        if q is not None and _field(path) in _TIMES:
            t1_path, t2_path = f"qubits.{q}.t1", f"qubits.{q}.t2"
            t1 = out.get(t1_path, self.device.qubits[q].t1)
            t2 = out.get(t2_path, self.device.qubits[q].t2)
            if float(t2) > 2 * float(t1):
                out[t2_path] = 2 * float(t1)
        return out

    def upgrade(self, path: str, fraction: float = 0.2) -> dict[str, float]:
        """The improving change of ``path`` by ``fraction``: T1/T2 up, every error (or its size) down.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign import Workload
            >>> dev = Device.random(2, "line", seed=0)
            >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev, parameters=["qubits.1.t1"])
            >>> sens.upgrade("qubits.1.t1")["qubits.1.t1"] == 1.2 * dev.qubits[1].t1
            True
        """
        return self.change(path, fraction if _field(path) in _TIMES else -fraction)

    def predict(self, updates: Mapping[str, float], *, coordinates: str | Mapping[str, float] = "json") -> float:
        """First-order change of the figure of merit for ``updates`` (``{path: new value}``).

        ``coordinates`` says in which coordinates the expansion is first order (the gradient is the
        same, moved by the chain rule; only the prediction of a finite change differs):

        - ``"json"``: the device JSON's own numbers, ``sum_i g_i (new_i - old_i)``;
        - ``"rates"``: T1/T2 as rates ``1/T`` (``g_i (-T_i**2) (1/new_i - 1/old_i)``): relaxation is
          exponential in ``t/T``, so the rates are its nearly linear coordinates;
        - ``"physical"``: rates, and coherent errors (detuning, over-rotation angles, ZZ) by their
          square (``g_i / (2 a_i) (new_i**2 - a_i**2)``): a lone coherent error costs fidelity
          quadratically in its angle;
        - ``"selected"``: the powers of :data:`SELECTED_POWERS`, chosen on DEV pairs;
        - ``"second_order"``: :data:`SECOND_ORDER`: as ``"selected"`` for times and errors, and the
          coherent angles to second order with their exact curvature;
        - in every coordinate system, a gate error (``error``, ``gate_error_1q``) is the incoherent
          error of the gate *including* its relaxation during the gate, and the noise model adds
          depolarizing only for the part above that relaxation floor (its probability clamped at 0): a
          change to below the floor is predicted as the change to the floor (the kink is the model's,
          so the prediction follows it exactly; the gradient says nothing about it);
        - a mapping ``{field or class: power}`` (classes in :data:`FIELD_CLASSES`, a field overrides
          its class, unnamed fields keep power 1): the expansion is first order in ``a**p``,
          ``g a / p ((new / a)**p - 1)``, and in ``log a`` for ``p = 0`` (``-1`` is the rate of a
          time, ``2`` the square of an angle). A number at 0, or one whose sign changes, is expanded
          in the file's own coordinate. The key ``"order": 2`` adds the second-order term
          ``f_uu du**2 / 2`` (``u = a**p``; ``f_uu`` from the exact curvature and the chain rule) for
          every path in :attr:`curvatures` (the others stay first order).

        Raises:
            ConfigError: a path whose gradient was not taken, an unknown ``coordinates``.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign import Workload
            >>> dev = Device.random(2, "line", seed=0)
            >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev, parameters=["edges.0-1.error"])
            >>> sens.predict({"edges.0-1.error": 0.0}) > 0
            True
            >>> change = {"edges.0-1.error": 0.5 * dev.edges[(0, 1)].error}
            >>> in_log = sens.predict(change, coordinates={"error": 0.0})     # first order in log(error)
            >>> abs(in_log - sens.gradients["edges.0-1.error"] * dev.edges[(0, 1)].error * math.log(0.5)) < 1e-15
            True
            >>> zz = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev, parameters=["edges.0-1.zz"])
            >>> half = {"edges.0-1.zz": 0.5 * dev.edges[(0, 1)].zz}          # ZZ costs ~ zz**2: halving it
            >>> actual = zz.resimulate(half)
            >>> round(zz.predict(half) / actual, 2), round(zz.predict(half, coordinates="second_order") / actual, 4)
            (1.33, 1.0)
        """
        powers, order = _coordinates(coordinates)
        total = 0.0
        moved: Device | None = None
        for path in updates:
            if path not in self.gradients:
                raise ConfigError(f"parameter path {path!r}: no gradient was taken for it "
                                  f"(pass it in sensitivity(parameters=...))")
        if any(_field(p) in _TIMES for p in updates):  # a gate whose floor crosses its error (the clamp's kink)
            moved = _set(self.device, {p: v for p, v in updates.items() if _field(p) not in _GATE_ERRORS})
            for gate in _gates_of(self.device, {q for p in updates if _field(p) in _TIMES
                                                for q in [_qubit_of(p)] if q is not None}):
                if gate in updates or gate not in self.gradients:
                    continue
                err, before, after = self.values[gate], _error_floor(self.device, gate), _error_floor(moved, gate)
                if err >= before:  # unclamped: the gradient of a time counted a depolarizing change it cannot make
                    total += self.gradients[gate] * max(0.0, after - err)
                else:              # clamped: a depolarizing part appears once the floor drops below the error
                    total += self.floor_gradients.get(gate, 0.0) * max(0.0, err - after)
        for path, new in updates.items():
            old, g, target = self.values[path], self.gradients[path], float(new)
            if _field(path) in _GATE_ERRORS:
                if moved is None:  # the floor with the other numbers of the same change (a T1 moved along)
                    moved = _set(self.device, {p: v for p, v in updates.items() if _field(p) not in _GATE_ERRORS})
                floor = _error_floor(moved, path)
                if old < _error_floor(self.device, path):  # clamped now: only a rise above the floor counts
                    total += self.floor_gradients.get(path, 0.0) * max(0.0, target - floor)
                    continue
                target = max(target, floor)  # the model realises only the part above the relaxation floor
            power = powers.get(_field(path), 1.0)
            if order == 2 and path in self.curvatures:
                total += _second_order(g, self.curvatures[path], old, target, power)
            else:
                total += _first_order(g, old, target, power)
        return total

    def ranking(self, fraction: float = 0.2, *,
                coordinates: str | Mapping[str, float] = "json") -> list[tuple[str, float]]:
        """Upgrades by predicted gain (first order), best first: ``[(path, gain), ...]``.

        The gain is the predicted improvement of the figure of merit (an increase of fidelity or
        success; a decrease of an ``expval`` error) from :meth:`upgrade` of each path; numbers at 0
        (nothing to improve) are left out; a joint readout matrix is one entry, its group path
        ``readout_correlations.<a>-<b>`` (when all 16 of its entries were differentiated).

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign import Workload
            >>> dev = Device.random(2, "line", seed=0)
            >>> ranked = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), dev).ranking()
            >>> ranked[0][1] >= ranked[-1][1]
            True
        """
        keys = [p for p, v in self.values.items() if v != 0.0 and _field(p) != "correlation"]
        keys += list(dict.fromkeys(p.rsplit(".", 2)[0] for p in self.values if _field(p) == "correlation"))
        keys = [k for k in keys if not _is_group(k) or all(e in self.gradients for e in _group_entries(k))]
        gains = [(key, self._sign * self.predict(self.upgrade(key, fraction), coordinates=coordinates))
                 for key in keys]
        return sorted(gains, key=lambda item: -item[1])

    def check(self, fraction: float = 0.2, top: int | None = None, *,
              coordinates: str | Mapping[str, float] = "json") -> SensitivityCheck:
        """Re-simulate ``+fraction`` and ``-fraction`` changes of the ``top`` parameters of the ranking
        (by the size of their predicted gain) and compare with the first-order predictions.

        Args:
            fraction: the relative change (0.2: +-20 %).
            top: how many parameters (``2 * top`` re-simulations; default :attr:`top`).
            coordinates: of the first-order predictions (see :meth:`predict`).

        Returns:
            A :class:`SensitivityCheck`; its ``kendall_tau`` compares the order of the predicted
            and re-simulated gains of the ``top`` upgrades.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign import Workload
            >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), Device.random(2, "line", seed=0))
            >>> sens.check(top=4).kendall_tau > 0.5
            True
        """
        count = self.top if top is None else top
        ranked = sorted(self.ranking(fraction, coordinates=coordinates), key=lambda item: -abs(item[1]))[:count]
        rows: list[dict[str, Any]] = []
        predicted_gain, actual_gain = [], []
        for path, _ in ranked:
            for sign in (1.0, -1.0):
                updates = self.change(path, sign * fraction)
                predicted = self.predict(updates, coordinates=coordinates)
                actual = self.resimulate(updates)
                rel = abs(predicted - actual) / abs(actual) if actual != 0 else (0.0 if predicted == 0 else math.inf)
                rows.append({"path": path, "change": sign * fraction, "updates": updates, "predicted": predicted,
                             "actual": actual, "rel_error": rel})
                is_upgrade = (sign > 0) == (_field(path) in _TIMES)
                if is_upgrade:
                    predicted_gain.append(self._sign * predicted)
                    actual_gain.append(self._sign * actual)
        tau = kendall_tau(predicted_gain, actual_gain) if len(predicted_gain) > 1 else float("nan")
        return SensitivityCheck(rows, tau, coordinates if isinstance(coordinates, str) else dict(coordinates))

    def to_dict(self, fraction: float = 0.2) -> dict[str, Any]:
        """JSON-ready: value, gradients and the ranking.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign import Workload
            >>> sens = sensitivity(Workload(Circuit(2).h(0).cx(0, 1)), Device.random(2, "line", seed=0))
            >>> sorted(sens.to_dict())
            ['gradients', 'higher_is_better', 'metric', 'ranking', 'value', 'values', 'workload']
        """
        return {"workload": self.workload.name, "metric": self.workload.metric, "value": self.value,
                "higher_is_better": self.higher_is_better, "values": self.values, "gradients": self.gradients,
                "ranking": [[p, g] for p, g in self.ranking(fraction)[:self.top]]}


def _powers(coordinates: str | Mapping[str, float]) -> dict[str, float]:
    """``{field: power}`` of named or mapped coordinates (fields not named: power 1)."""
    return _coordinates(coordinates)[0]


def _coordinates(coordinates: str | Mapping[str, float]) -> tuple[dict[str, float], int]:
    """``({field: power}, order)`` of named or mapped coordinates (fields not named: power 1; order 1
    unless the mapping's ``"order"`` is 2)."""
    if isinstance(coordinates, str):
        if coordinates not in COORDINATES:
            raise ConfigError(f"coordinates {coordinates!r} is not one of {', '.join(COORDINATES)} "
                              "(or a mapping of powers per field)")
        named: Mapping[str, float] = {"json": {}, "rates": {"times": -1.0},
                                      "physical": {"times": -1.0, "coherent": 2.0},
                                      "selected": SELECTED_POWERS, "second_order": SECOND_ORDER}[coordinates]
    elif isinstance(coordinates, Mapping):
        named = coordinates
    else:
        raise ConfigError(f"coordinates must be a name or a mapping of powers, got {type(coordinates).__name__}")
    fields = {f for fs in FIELD_CLASSES.values() for f in fs}
    order = named.get("order", 1)
    if isinstance(order, bool) or order not in (1, 2):
        raise ConfigError(f"coordinates: 'order' must be 1 or 2, got {order!r}")
    out: dict[str, float] = {}
    for key in sorted((k for k in named if k != "order"), key=lambda k: k not in FIELD_CLASSES):
        if key not in FIELD_CLASSES and key not in fields:
            raise ConfigError(f"coordinates: {key!r} is neither a field ({', '.join(sorted(fields))}) nor a class "
                              f"({', '.join(FIELD_CLASSES)})")
        power = named[key]
        if not isinstance(power, (int, float)) or isinstance(power, bool) or not math.isfinite(power):
            raise ConfigError(f"coordinates: the power of {key!r} must be a finite number, got {power!r}")
        for f in FIELD_CLASSES.get(key, (key,)):
            out[f] = float(power)
    return out, int(order)


def _error_floor(device: Device, path: str) -> float:
    """The gate error of ``path`` that relaxation alone gives (``qtandem.device``'s noise model adds
    depolarizing only above it): ``(1 - F_relax) d / (d + 1)``, ``F_relax`` the process fidelity of the
    thermal relaxation of the gate's qubits during the gate."""
    def relax(t1: Any, t2: Any, t: Any) -> float:
        t1, t2, t = float(t1), float(t2), float(t)
        return (1 + math.exp(-t / t1) + 2 * math.exp(-t / t2)) / 4

    kind, key, _ = _resolve(device, path)
    if kind == "qubit":
        q = device.qubits[key]
        f_relax, d = relax(q.t1, q.t2, q.gate_duration_1q), 2
    else:
        e, (a, b) = device.edges[key], key
        qa, qb = device.qubits[a], device.qubits[b]
        f_relax, d = relax(qa.t1, qa.t2, e.duration) * relax(qb.t1, qb.t2, e.duration), 4
    return (1.0 - f_relax) * d / (d + 1)


def _gates_of(device: Device, qubits: set[int]) -> list[str]:
    """The gate-error paths whose relaxation floor the times of ``qubits`` set."""
    out = [f"qubits.{q}.gate_error_1q" for q in sorted(qubits)]
    return out + [f"edges.{a}-{b}.error" for (a, b) in device.edges if a in qubits or b in qubits]


def _first_order(g: float, old: float, new: float, power: float) -> float:
    """``g``'s first-order change of the merit from ``old`` to ``new``, expanded in ``old**power``."""
    if power == 1.0 or old == 0.0 or new / old <= 0.0:
        return g * (new - old)
    ratio = new / old
    if power == 0.0:
        return g * old * math.log(ratio)
    return g * old / power * (ratio ** power - 1.0)


def _second_order(g: float, h: float, old: float, new: float, power: float) -> float:
    """Second-order change from ``old`` to ``new`` in ``u = old**power`` (``log`` for 0), from the
    value's gradient ``g`` and curvature ``h``: ``f_u du + f_uu du**2 / 2`` with ``a = a(u)``'s chain rule."""
    if power == 1.0 or old == 0.0 or new / old <= 0.0:
        d = new - old
        return g * d + 0.5 * h * d * d
    if old < 0.0:  # a negative number: expand in its size (same sign on both sides)
        return _second_order(-g, h, -old, -new, power)
    if power == 0.0:  # a = e**u: da/du = a, d2a/du2 = a
        du, da, d2a = math.log(new / old), old, old
    else:  # a = u**(1/p): da/du = a**(1-p) / p, d2a/du2 = (1-p) / p**2 a**(1-2p)
        du = new ** power - old ** power
        da = old ** (1.0 - power) / power
        d2a = (1.0 - power) / power ** 2 * old ** (1.0 - 2.0 * power)
    return g * da * du + 0.5 * (h * da * da + g * d2a) * du * du


def _default_paths(device: Device) -> list[str]:
    return [p for p in device_parameters(device) if _field(p) in (*DIFFERENTIABLE_FIELDS, "correlation")]


def sensitivity(workload: Workload | Circuit, device: Device, *, parameters: Iterable[str] | None = None,
                top: int = 10, curvature: str = "coherent") -> Sensitivity:
    """Gradients of ``workload``'s figure of merit with respect to ``device``'s calibration numbers.

    One forward and one backward pass of the exact density-matrix simulation with every
    parameter a leaf tensor (autograd, not finite differences); the numbers are read in the
    device JSON's own units. The workload is compiled once for the device (see
    :class:`~qtandem.codesign.Workload`) and that program is kept for the what-if re-simulations.

    Args:
        workload: a :class:`Workload` (a bare circuit becomes a ``"fidelity"`` workload).
        device: the device.
        parameters: paths to differentiate (default: every number of the fields in
            :data:`DIFFERENTIABLE_FIELDS` and every joint readout entry); a group path
            ``readout_correlations.<a>-<b>`` stands for its 16 entries; durations are refused.
        top: the default number of parameters :meth:`Sensitivity.check` re-simulates and
            :meth:`Sensitivity.to_dict` lists (gradients are taken for every parameter).
        curvature: which exact second derivatives along a parameter to take (one more backward
            pass through the gradient's graph per parameter): ``"coherent"`` (detuning, over-rotations,
            ZZ: the fields whose response is quadratic near 0), ``"all"``, or ``"none"``.

    Returns:
        A :class:`Sensitivity` (``.gradients``, ``.ranking()``, ``.predict()``, ``.check()``).

    Raises:
        ConfigError: an unknown path, a duration, an unknown ``curvature``.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> sens = sensitivity(Circuit(2).h(0).cx(0, 1), Device.random(2, "line", seed=0))
        >>> sens.gradients["edges.0-1.error"] < 0, sens.gradients["qubits.0.t1"] > 0
        (True, True)
        >>> sensitivity(Circuit(2).h(0).cx(0, 1), Device.random(2, "line", seed=0), parameters=["edges.0-1.duration"])
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: parameter path 'edges.0-1.duration': durations also set the idle schedule, ...
    """
    if isinstance(workload, Circuit):
        workload = Workload(workload, "fidelity")
    if not isinstance(workload, Workload):
        raise ConfigError(f"sensitivity takes a Workload or a Circuit, got {type(workload).__name__}")
    if curvature not in ("coherent", "all", "none"):
        raise ConfigError(f"sensitivity: curvature must be 'coherent', 'all' or 'none', got {curvature!r}")
    paths = _default_paths(device) if parameters is None else list(parameters)
    paths = list(dict.fromkeys(e for p in paths for e in (_group_entries(p) if _is_group(p) else [p])))
    for path in paths:
        _resolve(device, path)
        if "duration" in path.rsplit(".", 1)[-1]:
            raise ConfigError(f"parameter path {path!r}: durations also set the idle schedule, which is not "
                              "differentiable; compare two devices with with_parameters instead")
    workload.program(device)  # compile with the plain numbers (routing reads them), reused below
    current = device_parameters(device)
    values = {p: current[p] for p in paths}
    leaves = {p: torch.tensor(values[p], dtype=torch.float64, requires_grad=True) for p in paths}
    merit = workload.evaluate_torch(_set(device, leaves))
    curved = [p for p in paths if curvature == "all" or (curvature == "coherent" and _field(p) in _COHERENT)]
    grads: tuple[torch.Tensor | None, ...] = (None,) * len(paths)
    if leaves and merit.requires_grad:  # a merit that no parameter touches has no graph
        grads = torch.autograd.grad(merit, list(leaves.values()), allow_unused=True, create_graph=bool(curved))
    gradients = {p: 0.0 if g is None else float(g.detach()) for p, g in zip(paths, grads, strict=True)}
    curvatures: dict[str, float] = {}
    for p, g in zip(paths, grads, strict=True):
        if p not in curved:
            continue
        h = None if g is None or not g.requires_grad else \
            torch.autograd.grad(g, leaves[p], retain_graph=True, allow_unused=True)[0]
        curvatures[p] = 0.0 if h is None else float(h)
    # gate errors below their relaxation floor (depolarizing clamped at 0): one-sided gradients just above it
    clamped = {p: _error_floor(device, p) for p in paths if _field(p) in _GATE_ERRORS}
    clamped = {p: f for p, f in clamped.items() if values[p] < f}
    floor_gradients: dict[str, float] = {}
    if clamped:
        lifted = {p: torch.tensor(f * (1 + 1e-9), dtype=torch.float64, requires_grad=True) for p, f in clamped.items()}
        above = workload.evaluate_torch(_set(device, lifted))
        lifted_grads = torch.autograd.grad(above, list(lifted.values()), allow_unused=True) \
            if above.requires_grad else (None,) * len(lifted)
        floor_gradients = {p: 0.0 if g is None else float(g) for p, g in zip(lifted, lifted_grads, strict=True)}
    return Sensitivity(workload, device, float(merit.detach()), values, gradients,
                       higher_is_better=workload.higher_is_better, top=top, curvatures=curvatures,
                       floor_gradients=floor_gradients)
