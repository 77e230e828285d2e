"""Noise models: which channel follows which gate, readout and idle errors.

Examples:
    >>> from qtandem.noise import NoiseModel, depolarizing, readout_error
    >>> model = (NoiseModel()
    ...          .add(depolarizing(0.001), gates=["h", "rx", "rz"])
    ...          .add(depolarizing(0.01, 2), gates=["cx"])
    ...          .add_readout(readout_error(0.02, 0.03)))
    >>> NoiseModel.from_json(model.to_json()) == model
    True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from qtandem.circuit.instruction import Instruction
from qtandem.errors import NoiseError
from qtandem.noise import channels as ch
from qtandem.noise.readout import ReadoutError, readout_error

if TYPE_CHECKING:
    import numpy as np

    from qtandem.circuit.circuit import Circuit
    from qtandem.random import Seed

__all__ = ["SCHEMA", "SCHEMA_VERSION", "NoiseModel", "channel_from_dict", "channel_to_dict"]

SCHEMA = "qtandem.noise_model"
SCHEMA_VERSION = 1

_CONSTRUCTORS: dict[str, Callable[..., ch.KrausChannel]] = {
    "depolarizing": ch.depolarizing,
    "pauli_channel": ch.pauli_channel,
    "amplitude_damping": ch.amplitude_damping,
    "phase_damping": ch.phase_damping,
    "generalized_amplitude_damping": ch.generalized_amplitude_damping,
    "thermal_relaxation": ch.thermal_relaxation,
}


def channel_to_dict(channel: ch.KrausChannel) -> dict[str, Any]:
    """JSON-ready description: constructor name and parameters, or raw Kraus operators.

    Examples:
        >>> from qtandem.noise import amplitude_damping
        >>> channel_to_dict(amplitude_damping(0.1))
        {'type': 'amplitude_damping', 'gamma': 0.1}
    """
    if channel.name in _CONSTRUCTORS and channel.params:
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
        qtandem.errors.NoiseError: ...
    """
    if not isinstance(data, dict):
        raise NoiseError(f"{where}: expected an object, got {type(data).__name__}")
    kind = data.get("type")
    if kind == "kraus":
        _only(data, {"type", "kraus"}, where)
        try:
            ops = [torch.tensor([[complex(re, im) for re, im in row] for row in k], dtype=torch.complex128)
                   for k in data["kraus"]]
        except (TypeError, ValueError, KeyError) as err:
            raise NoiseError(f"{where}.kraus: expected a list of matrices of [re, im] pairs ({err})") from None
        return ch.KrausChannel(ops, name="kraus")
    if kind not in _CONSTRUCTORS:
        raise NoiseError(f"{where}.type: unknown channel type {kind!r} (known: {sorted(_CONSTRUCTORS) + ['kraus']})")
    params = {k: v for k, v in data.items() if k != "type"}
    try:
        return _CONSTRUCTORS[kind](**params)
    except TypeError as err:
        raise NoiseError(f"{where}: bad parameters for {kind!r}: {err}") from None
    except NoiseError as err:
        raise NoiseError(f"{where}: {err}") from None


def _only(data: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise NoiseError(f"{where}: unknown key {extra[0]!r} (allowed: {sorted(allowed)})")


@dataclass
class _Rule:
    channel: ch.KrausChannel
    gates: frozenset[str] | None
    qubits: frozenset[tuple[int, ...]] | None


@dataclass
class NoiseModel:
    """Errors attached to gates by name, readout errors and idle relaxation.

    Rules apply in the order they were added. A rule's channel acts on all of a
    gate's qubits when its size equals the gate's; a one-qubit channel on a
    multi-qubit gate acts on each of its qubits.

    Examples:
        >>> from qtandem.noise import depolarizing, readout_error
        >>> model = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).add_readout(readout_error(0.02, 0.03))
        >>> NoiseModel.from_json(model.to_json()) == model
        True
    """

    rules: list[_Rule] = field(default_factory=list)
    readout: dict[tuple[int, ...], ReadoutError] = field(default_factory=dict)
    default_readout: ReadoutError | None = None
    idle: dict[int, tuple[float, float]] = field(default_factory=dict)
    default_idle: tuple[float, float] | None = None
    durations: dict[str, float] = field(default_factory=dict)

    # -- building ----------------------------------------------------------------
    def add(self, channel: ch.KrausChannel, gates: Sequence[str] | str | None = None,
            qubits: Iterable[int | Sequence[int]] | None = None) -> NoiseModel:
        """Attach ``channel`` after every gate named in ``gates`` (all gates if ``None``).

        Args:
            channel: the error.
            gates: gate names (``"cx"``, ``["rx", "ry"]``); ``None`` for every gate.
            qubits: restrict to gate instances on these qubits: ints for one-qubit
                gates, tuples (in the gate's qubit order) for multi-qubit gates.
        """
        if not isinstance(channel, ch.KrausChannel):
            raise NoiseError(f"add() takes a KrausChannel, got {type(channel).__name__}")
        gset = frozenset([gates] if isinstance(gates, str) else gates) if gates is not None else None
        qset = None if qubits is None else frozenset(
            (int(q),) if isinstance(q, int) else tuple(int(x) for x in q) for q in qubits)
        self.rules.append(_Rule(channel, gset, qset))
        return self

    def add_readout(self, error: ReadoutError, qubits: Iterable[int | Sequence[int]] | None = None) -> NoiseModel:
        """Readout error on each listed qubit (or tuple of qubits, for correlated errors); all if ``None``."""
        if qubits is None:
            if error.num_qubits != 1:
                raise NoiseError("a correlated readout error needs explicit qubit tuples")
            self.default_readout = error
            return self
        for q in qubits:
            key = (int(q),) if isinstance(q, int) else tuple(int(x) for x in q)
            if len(key) != error.num_qubits:
                raise NoiseError(f"readout error on {error.num_qubits} bit(s) given for qubits {key}")
            self.readout[key] = error
        return self

    def add_idle(self, t1: float, t2: float, qubits: Iterable[int] | None = None) -> NoiseModel:
        """Thermal relaxation of idle qubits, for the time they wait (needs :meth:`set_durations`)."""
        ch.thermal_relaxation(t1, t2, 0.0)  # validates T2 <= 2 T1
        if qubits is None:
            self.default_idle = (float(t1), float(t2))
        else:
            for q in qubits:
                self.idle[int(q)] = (float(t1), float(t2))
        return self

    def set_durations(self, durations: dict[str, float]) -> NoiseModel:
        """Gate durations (same time unit as T1/T2) used to schedule idle errors."""
        for k, v in durations.items():
            if float(v) < 0:
                raise NoiseError(f"duration of {k!r} must be >= 0, got {v}")
        self.durations.update({k: float(v) for k, v in durations.items()})
        return self

    # -- queries ---------------------------------------------------------------
    def errors_after(self, inst: Instruction) -> list[tuple[ch.KrausChannel, tuple[int, ...]]]:
        """Channels that follow ``inst``, with the qubits each acts on, in order."""
        out: list[tuple[ch.KrausChannel, tuple[int, ...]]] = []
        for rule in self.rules:
            if rule.gates is not None and inst.label not in rule.gates:
                continue
            if rule.qubits is not None and inst.qubits not in rule.qubits:
                continue
            k = rule.channel.num_qubits
            if k == len(inst.qubits):
                out.append((rule.channel, inst.qubits))
            elif k == 1:
                out.extend((rule.channel, (q,)) for q in inst.qubits)
            else:
                raise NoiseError(f"a {k}-qubit channel cannot follow the {len(inst.qubits)}-qubit gate {inst.label!r}")
        return out

    def readout_errors(self, measured: Sequence[int]) -> list[tuple[ReadoutError, tuple[int, ...]]]:
        """Readout errors for a set of measured qubits."""
        out: list[tuple[ReadoutError, tuple[int, ...]]] = []
        covered: set[int] = set()
        mset = set(measured)
        for key, err in self.readout.items():
            if set(key) <= mset:
                out.append((err, key))
                covered.update(key)
        if self.default_readout is not None:
            out.extend((self.default_readout, (q,)) for q in measured if q not in covered)
        return out

    def idle_params(self, qubit: int) -> tuple[float, float] | None:
        """(T1, T2) for idle relaxation of ``qubit``, or ``None``."""
        return self.idle.get(qubit, self.default_idle)

    def duration(self, inst: Instruction) -> float:
        """Duration of an instruction: by name, then ``"1q"`` / ``"2q"`` defaults, else 0."""
        if inst.name in self.durations:
            return self.durations[inst.name]
        key = "1q" if len(inst.qubits) == 1 else "2q"
        return self.durations.get(key, 0.0)

    @property
    def has_idle(self) -> bool:
        """True when idle relaxation is configured."""
        return bool(self.idle or self.default_idle)

    # -- simulation: the protocol behind ``noise=`` (qtandem.sim.sampling.NoisySimulation) --
    def sample_bits(self, circuit: Circuit, shots: int, *, params: Any = None, seed: Seed = None,
                    dtype: torch.dtype = torch.complex128, device: Any = None, method: str = "auto") -> np.ndarray:
        """``(shots, n_clbits)`` uint8 noisy shots of ``circuit`` (what ``qtandem.sample(noise=self)`` runs).

        ``method`` is ``"density"``, ``"trajectories"`` or ``"auto"`` (see :func:`qtandem.sample`).
        """
        from qtandem.noise.simulate import sample_bits

        return sample_bits(self, circuit, shots, params=params, seed=seed, dtype=dtype, device=device, method=method)

    def outcome_probabilities(self, circuit: Circuit, params: Any = None, *, dtype: torch.dtype = torch.complex128,
                              device: Any = None) -> torch.Tensor:
        """Probabilities ``(2**n,)`` or ``(B, 2**n)`` of every qubit, readout errors included."""
        from qtandem.noise.density import noisy_probabilities

        return noisy_probabilities(circuit, params, noise=self, dtype=dtype, device=device)

    def density_matrix(self, circuit: Circuit, params: Any = None, *, initial_state: Any = None,
                       dtype: torch.dtype = torch.complex128, device: Any = None) -> torch.Tensor:
        """The exact noisy density matrix of ``circuit`` (see :func:`qtandem.noise.density.density_matrix`)."""
        from qtandem.noise.density import density_matrix

        return density_matrix(circuit, params, noise=self, initial_state=initial_state, dtype=dtype, device=device)

    # -- serialisation -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (versioned schema)."""
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "errors": [{"channel": channel_to_dict(r.channel),
                        "gates": None if r.gates is None else sorted(r.gates),
                        "qubits": None if r.qubits is None else sorted(list(q) for q in r.qubits)}
                       for r in self.rules],
            "readout": ([{"qubits": None, **self.default_readout.to_dict()}] if self.default_readout else [])
            + [{"qubits": list(k), **e.to_dict()} for k, e in self.readout.items()],
            "idle": ([{"qubits": None, "t1": self.default_idle[0], "t2": self.default_idle[1]}]
                     if self.default_idle else [])
            + [{"qubits": [q], "t1": t[0], "t2": t[1]} for q, t in self.idle.items()],
            "durations": dict(self.durations),
        }

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """Serialise; writes ``path`` atomically when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            from qtandem.io import atomic_write_text

            atomic_write_text(path, text + "\n")
        return text

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> NoiseModel:
        """Build from a dictionary; every error names the key path and ``source``."""
        def bad(msg: str) -> NoiseError:
            return NoiseError(f"{source}: {msg}")

        if not isinstance(data, dict):
            raise bad(f"expected a JSON object, got {type(data).__name__}")
        try:
            _only(data, {"schema", "version", "errors", "readout", "idle", "durations"}, "top level")
            if data.get("schema") != SCHEMA:
                raise NoiseError(f"schema: expected {SCHEMA!r}, got {data.get('schema')!r}")
            if data.get("version") != SCHEMA_VERSION:
                raise NoiseError(f"version: this qtandem reads version {SCHEMA_VERSION}, got {data.get('version')!r}")
            model = cls()
            for i, item in enumerate(data.get("errors", [])):
                where = f"errors[{i}]"
                if not isinstance(item, dict):
                    raise NoiseError(f"{where}: expected an object")
                _only(item, {"channel", "gates", "qubits"}, where)
                if "channel" not in item:
                    raise NoiseError(f"{where}: missing key 'channel'")
                channel = channel_from_dict(item["channel"], f"{where}.channel")
                model.add(channel, item.get("gates"), item.get("qubits"))
            for i, item in enumerate(data.get("readout", [])):
                where = f"readout[{i}]"
                if not isinstance(item, dict):
                    raise NoiseError(f"{where}: expected an object")
                _only(item, {"qubits", "p01", "p10", "matrix"}, where)
                try:
                    err = ReadoutError(item["matrix"]) if "matrix" in item else readout_error(item["p01"], item["p10"])
                except KeyError as e:
                    raise NoiseError(f"{where}: missing key {e.args[0]!r}") from None
                except NoiseError as e:
                    raise NoiseError(f"{where}: {e}") from None
                model.add_readout(err, item.get("qubits"))
            for i, item in enumerate(data.get("idle", [])):
                where = f"idle[{i}]"
                _only(item, {"qubits", "t1", "t2"}, where)
                try:
                    model.add_idle(item["t1"], item["t2"], item.get("qubits"))
                except KeyError as e:
                    raise NoiseError(f"{where}: missing key {e.args[0]!r}") from None
                except NoiseError as e:
                    raise NoiseError(f"{where}: {e}") from None
            durations = data.get("durations", {})
            if not isinstance(durations, dict):
                raise NoiseError("durations: expected an object of gate name -> duration")
            model.set_durations(durations)
        except NoiseError as err:
            raise bad(str(err)) from None
        return model

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> NoiseModel:
        """Parse JSON text, or read a ``.json`` file."""
        source = "<string>"
        text = str(text_or_path)
        if isinstance(text_or_path, Path) or (not text.lstrip().startswith("{") and text.endswith(".json")):
            source = str(text_or_path)
            text = Path(text_or_path).read_text()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise NoiseError(f"{source}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
        return cls.from_dict(data, source=source)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoiseModel):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"NoiseModel(rules={len(self.rules)}, readout={len(self.readout) + bool(self.default_readout)}, "
                f"idle={'yes' if self.has_idle else 'no'})")
