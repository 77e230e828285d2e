"""Devices: qubits, coupling map, native gates and calibration, and the noise they imply.

Examples:
    >>> from qtandem.device import Device
    >>> dev = Device.preset("line_5")
    >>> dev.num_qubits, sorted(dev.coupling_map.edges())[:2]
    (5, [(0, 1), (1, 2)])
    >>> from qtandem import Circuit
    >>> for problem in dev.validate(Circuit(5).h(0).cx(0, 3)):
    ...     print(problem)
    instruction 0: gate 'h' is not native (native: cx, id, measure, reset, rz, sx, x)
    instruction 1: cx on (0, 3) is not on the coupling map
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import GATES
from qtandem.errors import NoiseError
from qtandem.noise import channels as ch
from qtandem.noise.model import NoiseModel
from qtandem.noise.readout import ReadoutError, readout_error

if TYPE_CHECKING:
    from qtandem.random import Seed

__all__ = ["SCHEMA", "Device", "EdgeProperties", "QubitProperties", "list_presets", "load_noise_model"]

SCHEMA = "qtandem.device"
SCHEMA_VERSION = 2
"""Version 2 added coherent errors (``detuning``, ``sx_angle_error``, ``x_angle_error``, edge ``angle_error``
and ``zz``) and ``readout_correlations``; version-1 files still load (those numbers are then 0)."""


@dataclass
class QubitProperties:
    """Calibration of one qubit (times in the device's ``time_unit``, errors as probabilities).

    ``gate_error_1q`` is the incoherent (depolarizing plus relaxation) average gate error;
    the coherent errors add on top: the native ``sx`` is ``rx(pi/2 + sx_angle_error)``, ``x``
    is ``rx(pi + x_angle_error)``, and an idle qubit turns by ``rz(detuning * t)`` (detuning
    in rad per time unit). Any number may be a 0-dim float64 tensor (see :meth:`Device.noise_model`).

    Examples:
        >>> qubit = QubitProperties(t1=100e3, t2=80e3, readout_p01=0.02, sx_angle_error=0.01)
        >>> qubit.t1, qubit.readout_p10, qubit.detuning
        (100000.0, 0.0, 0.0)
    """

    t1: float
    t2: float
    readout_p01: float = 0.0
    readout_p10: float = 0.0
    gate_error_1q: float = 0.0
    gate_duration_1q: float = 0.0
    readout_duration: float = 0.0
    detuning: float = 0.0
    sx_angle_error: float = 0.0
    x_angle_error: float = 0.0


@dataclass
class EdgeProperties:
    """Calibration of the two-qubit gate on one coupling.

    ``error`` is the incoherent average gate error; ``angle_error`` (rad) is a coherent
    over-rotation: the gate on ``(c, t)`` is followed by ``rzx(angle_error)`` on ``(c, t)``;
    ``zz`` (rad per time unit) is the static ZZ coupling felt while either qubit idles.

    Examples:
        >>> edge = EdgeProperties(error=0.01, duration=300.0)
        >>> edge.gate, edge.error, edge.zz
        ('cx', 0.01, 0.0)
    """

    error: float
    duration: float
    gate: str = "cx"
    angle_error: float = 0.0
    zz: float = 0.0


def _plain(value: Any) -> Any:
    """A JSON value: a tensor becomes a float (nested lists too)."""
    if isinstance(value, torch.Tensor):
        return value.detach().tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _fields_dict(obj: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def _active(value: Any) -> bool:
    """A number that changes the model: a tensor (it may carry a gradient, even at 0) or non-zero."""
    return isinstance(value, torch.Tensor) or float(value) != 0.0


def _relax_fidelity(t1: Any, t2: Any, time: Any) -> Any:
    """Process fidelity ``(1 + exp(-t/T1) + 2 exp(-t/T2)) / 4`` of thermal relaxation (differentiable)."""
    if not any(isinstance(x, torch.Tensor) for x in (t1, t2, time)):
        import math

        return (1 + math.exp(-time / t1) + 2 * math.exp(-time / t2)) / 4
    return (1 + torch.exp(-torch.as_tensor(time, dtype=torch.float64) / t1)
            + 2 * torch.exp(-torch.as_tensor(time, dtype=torch.float64) / t2)) / 4


def list_presets() -> list[str]:
    """Names of the devices shipped with qtandem.

    Examples:
        >>> "heavy_hex_27" in list_presets()
        True
    """
    folder = resources.files("qtandem.device") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


@dataclass
class Device:
    """A device description.

    Attributes:
        name: device name.
        num_qubits: number of qubits.
        coupling_map: ``networkx.Graph`` of qubit pairs that share a two-qubit gate.
        native_gates: gate names the device runs directly.
        qubits: per-qubit :class:`QubitProperties`.
        edges: ``{(a, b): EdgeProperties}`` with ``a < b``.
        time_unit: unit of every time (``"ns"``).
        source: where the numbers come from.
        readout_correlations: ``{(a, b): 4x4 confusion matrix}``, ``M[i][j] = P(read i | true j)`` with
            ``a`` the low bit; when both are measured it replaces their per-qubit readout errors.

    Examples:
        >>> dev = Device.preset("heavy_hex_27")
        >>> dev.num_qubits, dev.coupling_map.has_edge(0, 1)
        (27, True)
        >>> Device.from_dict(dev.to_dict()).num_qubits
        27
    """

    name: str
    num_qubits: int
    coupling_map: nx.Graph
    native_gates: list[str]
    qubits: list[QubitProperties]
    edges: dict[tuple[int, int], EdgeProperties]
    time_unit: str = "ns"
    source: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    readout_correlations: dict[tuple[int, int], Any] = field(default_factory=dict)

    # -- noise -----------------------------------------------------------------
    def noise_model(self, *, idle: bool = True, readout: bool = True, strict: bool = True) -> NoiseModel:
        """The noise this calibration implies.

        After each one-qubit gate: its coherent over-rotation (``sx``: ``rx(sx_angle_error)``,
        ``x``: ``rx(x_angle_error)``), then thermal relaxation for the gate duration, then
        depolarizing noise sized so that the incoherent average gate infidelity equals the
        calibrated ``gate_error_1q`` (as Qiskit Aer's device models do; the coherent error adds
        on top); ``id`` gets the relaxation only and ``rz`` (virtual, zero duration) is ideal.
        The same for two-qubit gates on each coupling: ``rzx(angle_error)`` on the gate's
        ``(control, target)``, relaxation of both qubits, depolarizing. Readout errors per
        qubit, with a pair's correlated confusion matrix replacing its two per-qubit ones when
        both are measured. Idle qubits (a ``delay``, or waiting for other gates): relaxation,
        ``rz(detuning * t)``, and the couplings' static ZZ (:meth:`NoiseModel.add_zz`).

        Differentiable: any calibration number may be a 0-dim float64 tensor that requires
        grad; probabilities simulated with the model (density matrix) carry gradients to it.

        The model covers exactly the device's native gates on its qubits and
        couplings; with ``strict=True`` (default) simulating a circuit with any other
        gate (or a two-qubit gate on an uncoupled pair) raises a NoiseError: compile
        it first (:func:`qtandem.compile.prepare_for_device`). ``strict=False`` runs
        such gates without noise.

        Examples:
            >>> from qtandem import Circuit
            >>> model = Device.preset("line_5").noise_model()
            >>> model.num_qubits, sorted(model.ideal), model.check(Circuit(2).sx(0).rz(0.1, 1).cx(0, 1))
            (5, ['rz'], [])
            >>> model.check(Circuit(3).h(0).cx(0, 2))[0]
            "gate 'h': no noise rule (1 instruction, at index 0)"
            >>> import torch
            >>> dev = Device.preset("line_5").subset([0])
            >>> dev.qubits[0].sx_angle_error = torch.tensor(0.02, dtype=torch.float64, requires_grad=True)
            >>> p = dev.noise_model().outcome_probabilities(Circuit(1).sx(0).sx(0))[1]
            >>> p.backward()
            >>> bool(dev.qubits[0].sx_angle_error.grad < 0)      # two sx overshoot pi: P(1) ~ cos(e)^2 falls
            True
        """
        model = NoiseModel(num_qubits=self.num_qubits, strict=strict)
        two_q = self._two_qubit_gates()
        one_q = [g for g in self.native_gates if g in GATES and g not in two_q and g not in ("id", "rz")
                 and GATES[g].num_qubits == 1]
        if "rz" in self.native_gates:
            model.set_ideal(["rz"])
        relax_gates = one_q + (["id"] if "id" in self.native_gates else [])
        correlated = {q for pair in self.readout_correlations for q in pair} if readout else set()
        for q, props in enumerate(self.qubits):
            for gate, angle in (("sx", props.sx_angle_error), ("x", props.x_angle_error)):
                if gate in one_q and _active(angle):
                    model.add(ch.coherent_rotation("x", angle), gates=[gate], qubits=[q])
            relax = ch.thermal_relaxation(props.t1, props.t2, props.gate_duration_1q)
            dep = _depolarizing_for(props.gate_error_1q, _relax_fidelity(props.t1, props.t2,
                                                                         props.gate_duration_1q), 1)
            if relax_gates:
                model.add(relax, gates=relax_gates, qubits=[q])
            if dep is not None and one_q:
                model.add(dep, gates=one_q, qubits=[q])
            if readout and (_active(props.readout_p01) or _active(props.readout_p10) or q in correlated):
                model.add_readout(readout_error(props.readout_p01, props.readout_p10), qubits=[q])
            if idle:
                model.add_idle(props.t1, props.t2, qubits=[q],
                               detuning=props.detuning if _active(props.detuning) else 0.0)
        if readout:
            for pair, matrix in self.readout_correlations.items():
                model.add_readout(_confusion(matrix), qubits=[pair])
        for (a, b), e in self.edges.items():
            if idle and _active(e.zz):
                model.add_zz(e.zz, [(a, b)])
            if e.gate not in GATES:
                continue  # a hardware gate qtandem does not simulate (e.g. ecr): no circuit can use it
            qa, qb = self.qubits[a], self.qubits[b]
            if _active(e.angle_error):
                model.add(ch.zx_rotation(e.angle_error), gates=[e.gate], qubits=[(a, b), (b, a)])
            ra = ch.thermal_relaxation(qa.t1, qa.t2, e.duration)
            rb = ch.thermal_relaxation(qb.t1, qb.t2, e.duration)
            f_relax = _relax_fidelity(qa.t1, qa.t2, e.duration) * _relax_fidelity(qb.t1, qb.t2, e.duration)
            dep = _depolarizing_for(e.error, f_relax, 2)
            model.add(ra.tensor(rb), gates=[e.gate], qubits=[(a, b)])  # first factor on the gate's first qubit
            model.add(rb.tensor(ra), gates=[e.gate], qubits=[(b, a)])
            if dep is not None:
                model.add(dep, gates=[e.gate], qubits=[(a, b), (b, a)])
        durations: dict[str, float] = {}
        if self.qubits:
            durations["1q"] = sum(_number(p.gate_duration_1q) for p in self.qubits) / len(self.qubits)
            durations["rz"] = 0.0
            durations["measure"] = sum(_number(p.readout_duration) for p in self.qubits) / len(self.qubits)
        if self.edges:
            durations["2q"] = sum(_number(e.duration) for e in self.edges.values()) / len(self.edges)
        model.set_durations(durations)
        return model

    @classmethod
    def random(cls, n_qubits: int, coupling: str | Sequence[Sequence[int]] = "line", *, seed: Seed = 0,
               native_gates: Sequence[str] = ("cx", "id", "measure", "reset", "rz", "sx", "x")) -> Device:
        """A seeded random "true" device with coherent and incoherent errors, for tests and benchmarks.

        Ranges (today's superconducting qubits; times in ns): T1 50-300 us, T2 0.3-2 T1; ``sx``
        error 1e-4..1e-3 (log-uniform) at 35.6 ns; ``sx`` and ``x`` over-rotations of 0.01-0.05
        rad (random sign); detuning ``2 pi`` x 0-50 kHz (random sign); readout 0.5-4 % with
        ``p10 > p01`` (decay during the 750 ns readout); ``cx`` error 3e-3..1.5e-2 (log-uniform)
        at 250-550 ns with a ``rzx`` over-rotation of 0.01-0.05 rad; static ZZ ``2 pi`` x
        10-100 kHz on every coupling; a joint readout confusion matrix (a correlated flip of
        both bits, 0.2-1 %) on about a quarter of the couplings (at least one). The same JSON
        format as the presets (:meth:`to_json`).

        Args:
            n_qubits: number of qubits (>= 1; >= 2 for a coupling, >= 3 for a ring).
            coupling: ``"line"``, ``"ring"``, ``"grid"`` (rows x columns as square as ``n``
                allows), ``"heavy_hex"`` (the first ``n`` qubits of a heavy-hex lattice, connected),
                or a list of ``(a, b)`` qubit pairs.
            seed: the seed; the same seed gives the same device.
            native_gates: the native gate names.

        Raises:
            NoiseError: a bad size, coupling name or edge list.

        Examples:
            >>> dev = Device.random(5, "line", seed=3)
            >>> dev.num_qubits, sorted(dev.edges), dev.to_dict()["version"]
            (5, [(0, 1), (1, 2), (2, 3), (3, 4)], 2)
            >>> 0.01 <= abs(dev.qubits[0].sx_angle_error) <= 0.05
            True
            >>> Device.from_dict(dev.to_dict()).to_dict() == dev.to_dict()      # the same JSON format as presets
            True
        """
        import math

        from qtandem.random import as_generator

        if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 1:
            raise NoiseError(f"Device.random: n_qubits must be a positive integer, got {n_qubits!r}")
        edge_list, positions, label = _random_coupling(n_qubits, coupling)
        natives = list(native_gates)
        if not natives or not all(isinstance(g, str) for g in natives):
            raise NoiseError(f"Device.random: native_gates must be gate names, got {native_gates!r}")
        from qtandem.noise.schema import check_gate_name

        for i, g in enumerate(natives):
            if g != "delay":
                check_gate_name(g, f"native_gates[{i}]")
        rng = as_generator(seed)

        def signed(lo: float, hi: float) -> float:
            return float(rng.uniform(lo, hi) * rng.choice([-1.0, 1.0]))

        def log_uniform(lo: float, hi: float) -> float:
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

        khz = 2 * math.pi * 1e-6  # 1 kHz in rad/ns
        readout_ns = 750.0
        qubits = []
        for _ in range(n_qubits):
            t1 = float(rng.uniform(50e3, 300e3))
            t2 = min(float(rng.uniform(0.3, 2.0)) * t1, 2 * t1)
            p01 = float(rng.uniform(0.005, 0.025))
            decay = 1 - math.exp(-readout_ns / (2 * t1))   # relaxation during (half) the readout
            p10 = min(p01 + decay + float(rng.uniform(0.001, 0.01)), 0.04)
            qubits.append(QubitProperties(
                t1=round(t1, 1), t2=round(t2, 1), readout_p01=round(p01, 6), readout_p10=round(p10, 6),
                gate_error_1q=round(log_uniform(1e-4, 1e-3), 7), gate_duration_1q=35.6, readout_duration=readout_ns,
                detuning=round(signed(0.0, 50.0) * khz, 12), sx_angle_error=round(signed(0.01, 0.05), 6),
                x_angle_error=round(signed(0.01, 0.05), 6)))
        edges: dict[tuple[int, int], EdgeProperties] = {}
        for a, b in edge_list:
            edges[(a, b)] = EdgeProperties(error=round(log_uniform(3e-3, 1.5e-2), 6),
                                           duration=round(float(rng.uniform(250.0, 550.0)), 1), gate="cx",
                                           angle_error=round(signed(0.01, 0.05), 6),
                                           zz=round(float(rng.uniform(10.0, 100.0)) * khz, 12))
        correlations: dict[tuple[int, int], Any] = {}
        if edge_list:
            count = max(1, len(edge_list) // 4)
            for k in sorted(rng.choice(len(edge_list), size=count, replace=False).tolist()):
                a, b = edge_list[k]
                correlations[(a, b)] = _joint_confusion(qubits[a], qubits[b], float(rng.uniform(0.002, 0.01)))
        graph = nx.Graph()
        graph.add_nodes_from(range(n_qubits))
        graph.add_edges_from(edge_list)
        seed_text = seed if isinstance(seed, int) else "a generator"
        return cls(name=f"random_{label}_{n_qubits}_seed{seed_text}", num_qubits=n_qubits, coupling_map=graph,
                   native_gates=natives, qubits=qubits, edges=edges, time_unit="ns",
                   source=f"Device.random({n_qubits}, {label!r}, seed={seed_text}): drawn, not measured",
                   description=f"random {label} device of {n_qubits} qubits with coherent and incoherent errors",
                   extra={"positions": positions}, readout_correlations=correlations)

    def subset(self, qubits: list[int]) -> Device:
        """The device restricted to ``qubits``, renumbered ``0..k-1`` in the order given
        (calibrations and the couplings among them kept): the device a compacted circuit runs on.

        Raises:
            NoiseError: an index out of range or repeated.

        Examples:
            >>> sub = Device.preset("line_5").subset([3, 2, 4])
            >>> sub.num_qubits, sorted(sub.coupling_map.edges()), sub.qubits[0] == Device.preset("line_5").qubits[3]
            (3, [(0, 1), (0, 2)], True)
        """
        qs = [int(q) for q in qubits]
        if len(set(qs)) != len(qs) or any(not 0 <= q < self.num_qubits for q in qs):
            raise NoiseError(f"subset: expected distinct qubits in 0..{self.num_qubits - 1}, got {qubits}")
        new = {p: i for i, p in enumerate(qs)}
        edges = {(min(new[a], new[b]), max(new[a], new[b])): e for (a, b), e in self.edges.items()
                 if a in new and b in new}
        graph = nx.Graph()
        graph.add_nodes_from(range(len(qs)))
        graph.add_edges_from(edges)
        extra = {k: v for k, v in self.extra.items() if k != "positions"}
        positions = self.extra.get("positions") if isinstance(self.extra, dict) else None
        if isinstance(positions, dict) and all(str(p) in positions for p in qs):
            extra["positions"] = {str(i): positions[str(p)] for i, p in enumerate(qs)}
        correlations = {(new[a], new[b]): m for (a, b), m in self.readout_correlations.items()
                        if a in new and b in new}
        return Device(name=f"{self.name}[{','.join(map(str, qs))}]", num_qubits=len(qs), coupling_map=graph,
                      native_gates=list(self.native_gates), qubits=[self.qubits[p] for p in qs], edges=edges,
                      time_unit=self.time_unit, source=self.source, description=self.description, extra=extra,
                      readout_correlations=correlations)

    def _two_qubit_gates(self) -> set[str]:
        return {e.gate for e in self.edges.values()} | {"cx", "cz", "ecr", "swap", "iswap", "rzz"}

    # -- checks ----------------------------------------------------------------
    def validate(self, circuit: Circuit) -> list[str]:
        """Problems that stop ``circuit`` from running as is: non-native gates, uncoupled pairs, size."""
        problems: list[str] = []
        if circuit.n_qubits > self.num_qubits:
            problems.append(f"circuit has {circuit.n_qubits} qubits, device {self.name!r} has {self.num_qubits}")
        native = set(self.native_gates) | {"barrier", "delay"}  # every device can idle
        for i, inst in enumerate(circuit):
            if inst.label not in native:
                problems.append(f"instruction {i}: gate {inst.label!r} is not native "
                                f"(native: {', '.join(sorted(self.native_gates))})")
            if inst.is_gate and len(inst.qubits) == 2 and not self.coupling_map.has_edge(*inst.qubits):
                problems.append(f"instruction {i}: {inst.name} on {inst.qubits} is not on the coupling map")
            elif inst.is_gate and len(inst.qubits) > 2:
                problems.append(f"instruction {i}: {inst.label} acts on {len(inst.qubits)} qubits; "
                                "the device has only two-qubit couplings")
        return problems

    # -- I/O -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (versioned schema)."""
        return {
            "schema": SCHEMA, "version": SCHEMA_VERSION, "name": self.name, "description": self.description,
            "source": self.source, "num_qubits": self.num_qubits, "time_unit": self.time_unit,
            "native_gates": list(self.native_gates),
            "coupling_map": [list(e) for e in sorted(self.edges)],
            "qubits": [_fields_dict(q) for q in self.qubits],
            "edges": [{"qubits": list(k), **_fields_dict(v)} for k, v in sorted(self.edges.items())],
            **({"readout_correlations": [{"qubits": list(k), "matrix": _plain(m)}
                                         for k, m in sorted(self.readout_correlations.items())]}
               if self.readout_correlations else {}),
            **({"extra": self.extra} if self.extra else {}),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise; writes ``path`` atomically when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            from qtandem.io import atomic_write_text

            atomic_write_text(path, text + "\n")
        return text

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Device:
        """Build from a dictionary; errors name the key path and ``source``."""
        from qtandem.device.parse import parse_device

        try:
            return parse_device(data)
        except NoiseError as err:
            raise NoiseError(f"{source}: {err}") from None

    @classmethod
    def from_json(cls, path: str | Path) -> Device:
        """Read a device JSON file."""
        path = Path(path)
        return cls.from_dict(_read_json(path, "a device JSON"), source=str(path))

    @classmethod
    def preset(cls, name: str) -> Device:
        """A shipped device (see :func:`list_presets`); ``-`` and ``_`` are interchangeable."""
        key = name.replace("-", "_").lower()
        if key not in list_presets():
            raise NoiseError(f"unknown device preset {name!r} (known: {', '.join(list_presets())})")
        text = (resources.files("qtandem.device") / "presets" / f"{key}.json").read_text()
        return cls.from_dict(json.loads(text), source=f"preset {key}")

    @classmethod
    def load(cls, name_or_path: str | Path) -> Device:
        """A preset name or a JSON file path."""
        p = Path(name_or_path)
        if p.suffix == ".json" or p.exists():
            return cls.from_json(p)
        return cls.preset(str(name_or_path))

    @classmethod
    def from_qiskit_backend(cls, backend: Any) -> Device:
        """Build from a Qiskit ``BackendV2`` (its ``target``); times converted to ns."""
        target = backend.target
        n = target.num_qubits
        qprops = []
        for q in range(n):
            p = target.qubit_properties[q] if target.qubit_properties else None
            t1 = (getattr(p, "t1", None) or 1e-4) * 1e9
            t2 = min((getattr(p, "t2", None) or 1e-4) * 1e9, 2 * t1)
            meas = target["measure"][(q,)] if "measure" in target and (q,) in target["measure"] else None
            one = next((target[g][(q,)] for g in ("sx", "x") if g in target and (q,) in target[g]), None)
            err = getattr(meas, "error", None) or 0.0
            qprops.append(QubitProperties(t1=t1, t2=t2, readout_p01=err, readout_p10=err,
                                          gate_error_1q=getattr(one, "error", None) or 0.0,
                                          gate_duration_1q=(getattr(one, "duration", None) or 0.0) * 1e9,
                                          readout_duration=(getattr(meas, "duration", None) or 0.0) * 1e9))
        edges: dict[tuple[int, int], EdgeProperties] = {}
        for gate in ("cx", "ecr", "cz"):
            if gate not in target:
                continue
            for qargs, props in target[gate].items():
                if qargs is None or len(qargs) != 2:
                    continue
                a, b = sorted(qargs)
                edges.setdefault((a, b), EdgeProperties(error=getattr(props, "error", None) or 0.0,
                                                        duration=(getattr(props, "duration", None) or 0.0) * 1e9,
                                                        gate=gate))
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(edges)
        return cls(name=str(getattr(backend, "name", "qiskit_backend")), num_qubits=n, coupling_map=graph,
                   native_gates=sorted(set(target.operation_names)), qubits=qprops, edges=edges,
                   source="converted from a Qiskit backend target")

    def __repr__(self) -> str:
        return f"Device({self.name!r}, qubits={self.num_qubits}, couplings={len(self.edges)})"


def _random_coupling(n: int, coupling: Any) -> tuple[list[tuple[int, int]], dict[str, list[float]], str]:
    """``(edges a < b, drawing positions, label)`` for :meth:`Device.random`."""
    import math

    if isinstance(coupling, str):
        if coupling == "line":
            return [(i, i + 1) for i in range(n - 1)], {str(i): [float(i), 0.0] for i in range(n)}, "line"
        if coupling == "ring":
            if n < 3:
                raise NoiseError(f"Device.random: a ring needs at least 3 qubits, got {n}")
            pos = {str(i): [math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n)}
            return [(i, i + 1) for i in range(n - 1)] + [(0, n - 1)], pos, "ring"
        if coupling == "grid":
            cols = math.ceil(math.sqrt(n))
            edges = [(q, q + 1) for q in range(n - 1) if (q + 1) % cols] + [(q, q + cols) for q in range(n - cols)]
            return sorted(edges), {str(q): [float(q % cols), -float(q // cols)] for q in range(n)}, "grid"
        if coupling == "heavy_hex":
            return (*_heavy_hex(n), "heavy_hex")
        raise NoiseError(f"Device.random: unknown coupling {coupling!r} (known: 'line', 'ring', 'grid', "
                         "'heavy_hex', or a list of qubit pairs)")
    try:
        pairs = [tuple(int(q) for q in pair) for pair in coupling]
    except (TypeError, ValueError):
        raise NoiseError(f"Device.random: coupling must be a name or a list of qubit pairs, got {coupling!r}") from None
    pair_set: set[tuple[int, int]] = set()
    for pair in pairs:
        if len(pair) != 2 or pair[0] == pair[1] or not all(0 <= q < n for q in pair):
            raise NoiseError(f"Device.random: coupling pair {pair} is not two distinct qubits in 0..{n - 1}")
        pair_set.add((min(pair), max(pair)))
    graph = nx.Graph(sorted(pair_set))
    graph.add_nodes_from(range(n))
    layout = nx.spring_layout(graph, seed=0) if n > 1 else {0: (0.0, 0.0)}
    return sorted(pair_set), {str(q): [float(layout[q][0]), float(layout[q][1])] for q in range(n)}, "custom"


def _heavy_hex(n: int) -> tuple[list[tuple[int, int]], dict[str, list[float]]]:
    """The first ``n`` qubits (breadth first from a corner, so connected) of a heavy-hex lattice: rows of 11
    qubits joined by bridge qubits every 4 columns, alternating offsets (the Falcon/Hummingbird pattern)."""
    width = 11
    rows = max(2, n // 12 + 2)
    g = nx.Graph()
    for r in range(rows):
        for c in range(width - 1):
            g.add_edge((2 * r, c), (2 * r, c + 1))
        if r + 1 < rows:
            for c in range(0 if r % 2 == 0 else 2, width, 4):
                g.add_edge((2 * r, c), (2 * r + 1, c))
                g.add_edge((2 * r + 1, c), (2 * r + 2, c))
    kept = sorted(list(nx.bfs_tree(g, (0, 0)))[:n])  # row-major numbering of the kept qubits
    index = {node: i for i, node in enumerate(kept)}
    edges = sorted((min(index[a], index[b]), max(index[a], index[b])) for a, b in g.subgraph(kept).edges())
    return edges, {str(i): [float(c), -float(r)] for (r, c), i in index.items()}


def _joint_confusion(qa: QubitProperties, qb: QubitProperties, flip: float) -> list[list[float]]:
    """Joint 4x4 readout matrix of two qubits (``a`` the low bit): independent errors, plus both bits flipping
    together with probability ``flip``; column-stochastic."""
    import numpy as np

    def single(p: QubitProperties) -> np.ndarray:
        return np.array([[1 - p.readout_p01, p.readout_p10], [p.readout_p01, 1 - p.readout_p10]])

    independent = np.kron(single(qb), single(qa))
    both = independent[[3, 2, 1, 0], :]   # read i xor 0b11
    joint = np.round((1 - flip) * independent + flip * both, 9)
    for j in range(4):  # rounding must not break the column sums: the diagonal takes the remainder
        joint[j, j] = round(1 - (joint[:, j].sum() - joint[j, j]), 9)
    return [[float(v) for v in row] for row in joint]


def _depolarizing_for(error: Any, f_relax: Any, nq: int) -> ch.KrausChannel | None:
    """Depolarizing channel that brings the average infidelity of a relaxation of process fidelity
    ``f_relax`` up to ``error``; differentiable in tensors (then always returned, its ``p`` clamped
    to ``[0, 1]``), else ``None`` when no depolarizing is needed."""
    d = 2**nq
    grad = any(isinstance(x, torch.Tensor) for x in (error, f_relax))
    if not grad and error <= 0:
        return None
    f_pro_target = 1 - error * (d + 1) / d
    denom = d * d * f_relax - 1
    if _number(denom) <= 0:
        return None
    f = (d * d * f_pro_target - 1) / denom
    p = (1 - f) * (d * d - 1) / (d * d)
    if grad:
        return ch.depolarizing(torch.as_tensor(p, dtype=torch.float64).clamp(0.0, 1.0), nq)
    if p <= 0:
        return None
    return ch.depolarizing(min(p, 1.0), nq)


def _number(value: Any) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def _confusion(matrix: Any) -> ReadoutError:
    """A :class:`ReadoutError` from a 4x4 list (of numbers or 0-dim tensors) or a tensor."""
    if isinstance(matrix, torch.Tensor):
        return ReadoutError(matrix)
    rows = [list(r) for r in matrix]
    if any(isinstance(v, torch.Tensor) for r in rows for v in r):
        return ReadoutError(torch.stack([torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in r])
                                         for r in rows]))
    return ReadoutError(rows)


def load_noise_source(spec: str | Path, *, strict: bool = True) -> tuple[str, NoiseModel, Device | None]:
    """What ``--noise`` names: a device preset, a device JSON file or a noise-model JSON file.

    The file's ``schema`` decides which. Returns ``(kind, model, device)``: ``kind`` is
    ``"device preset"``, ``"device JSON"`` or ``"noise-model JSON"``; ``device`` is ``None`` for a
    noise-model file (it has no coupling map).

    Args:
        spec: preset name (``"heavy_hex_27"``) or path.
        strict: for devices, :meth:`Device.noise_model`'s ``strict``; a noise-model file keeps its own
            ``"strict"`` unless this is ``False``.

    Raises:
        NoiseError: unknown preset, invalid file (key path and file named).
        FileNotFoundError: a ``.json`` path that does not exist.

    Examples:
        >>> kind, model, device = load_noise_source("line_5")
        >>> kind, model.num_qubits, device.name
        ('device preset', 5, 'line_5')
    """
    path = Path(spec)
    if path.suffix != ".json" and not path.exists():
        device = Device.preset(str(spec))
        return "device preset", device.noise_model(strict=strict), device
    data = _read_json(path, "a device or noise-model JSON")
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        device = Device.from_dict(data, source=str(path))
        return "device JSON", device.noise_model(strict=strict), device
    model = NoiseModel.from_dict(data, source=str(path))
    if not strict:
        model.strict = False
    return "noise-model JSON", model, None


def load_noise_model(spec: str | Path, *, strict: bool = True) -> NoiseModel:
    """A noise model from a device preset name, a device JSON file or a noise-model JSON file
    (what ``--noise`` takes; :func:`load_noise_source` also says which it was).

    Args:
        spec: preset name (``"heavy_hex_27"``) or path.
        strict: for devices, :meth:`Device.noise_model`'s ``strict``; a noise-model file keeps its own
            ``"strict"`` unless this is ``False``.

    Raises:
        NoiseError: unknown preset, invalid file (key path and file named).
        FileNotFoundError: a ``.json`` path that does not exist.

    Examples:
        >>> load_noise_model("line_5").num_qubits
        5
        >>> import json, pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "noise.json"
        >>> _ = path.write_text(json.dumps({"schema": "qtandem.noise_model", "version": 1}))
        >>> load_noise_model(path).strict
        True
    """
    return load_noise_source(spec, strict=strict)[1]


def _read_json(path: Path, expected: str) -> Any:
    """A JSON file's data; invalid JSON or a binary file is a NoiseError naming ``expected``."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise NoiseError(f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    except UnicodeDecodeError:
        raise NoiseError(f"{path}: not a JSON text file (expected {expected})") from None
