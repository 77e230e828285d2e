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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from qtandem.circuit.gates import GATES
from qtandem.circuit.instruction import Instruction
from qtandem.errors import NoiseError
from qtandem.noise import channels as ch
from qtandem.noise.coverage import coverage_error, coverage_problems
from qtandem.noise.readout import ReadoutError
from qtandem.noise.schema import SCHEMA, SCHEMA_VERSION, channel_from_dict, channel_to_dict, check_gate_name

if TYPE_CHECKING:
    import numpy as np

    from qtandem.circuit.circuit import Circuit
    from qtandem.random import Seed

__all__ = ["SCHEMA", "SCHEMA_VERSION", "NoiseModel", "channel_from_dict", "channel_to_dict"]


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

    A model is *strict* by default: simulating a circuit with a gate that no rule
    covers (a gate the model does not name, a two-qubit gate on a pair it has no
    rule for, a qubit beyond ``num_qubits``) raises a :class:`~qtandem.errors.NoiseError`
    listing the problems (:meth:`check`), instead of running those gates without
    noise. Gates that are exactly noiseless (a virtual ``rz``) are declared with
    :meth:`set_ideal`; a rule with ``gates=None`` covers every gate. A model with no
    gate rules at all (readout or idle errors only) describes ideal gates and has
    nothing to check. ``strict=False`` keeps only the covered gates noisy, silently.

    Attributes:
        num_qubits: the number of qubits the model describes (``None``: any).
        strict: refuse circuits with uncovered gates (default ``True``).
        ideal: gate names declared noiseless.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.noise import depolarizing, readout_error
        >>> model = NoiseModel().add(depolarizing(0.01, 2), gates=["cx"]).add_readout(readout_error(0.02, 0.03))
        >>> NoiseModel.from_json(model.to_json()) == model
        True
        >>> model.check(Circuit(2).h(0).cx(0, 1))
        ["gate 'h': no noise rule (1 instruction, at index 0)"]
    """

    rules: list[_Rule] = field(default_factory=list)
    readout: dict[tuple[int, ...], ReadoutError] = field(default_factory=dict)
    default_readout: ReadoutError | None = None
    idle: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    default_idle: tuple[Any, Any] | None = None
    detuning: dict[int, Any] = field(default_factory=dict)
    default_detuning: Any = 0.0
    zz: dict[tuple[int, int], Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    num_qubits: int | None = None
    strict: bool = True
    ideal: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.num_qubits is not None and (isinstance(self.num_qubits, bool) or not isinstance(self.num_qubits, int)
                                            or self.num_qubits < 1):
            raise NoiseError(f"num_qubits must be None or a positive int, got {self.num_qubits!r}")
        if not isinstance(self.strict, bool):
            raise NoiseError(f"strict must be True or False, got {self.strict!r}")

    # -- building ----------------------------------------------------------------
    def add(self, channel: ch.KrausChannel, gates: Sequence[str] | str | None = None,
            qubits: Iterable[int | Sequence[int]] | None = None) -> NoiseModel:
        """Attach ``channel`` after every gate named in ``gates`` (all gates if ``None``).

        Args:
            channel: the error.
            gates: gate names (``"cx"``, ``["rx", "ry"]``, labels such as ``"ctrl@ry"``); ``None`` for every gate.
            qubits: restrict to gate instances on these qubits: ints for one-qubit
                gates, tuples (in the gate's qubit order) for multi-qubit gates.

        Raises:
            NoiseError: not a channel, an unknown gate name (with a suggestion), a channel
                whose size fits neither the gates nor the qubit tuples, a qubit beyond ``num_qubits``.
        """
        if not isinstance(channel, ch.KrausChannel):
            raise NoiseError(f"add() takes a KrausChannel, got {type(channel).__name__}")
        names = [gates] if isinstance(gates, str) else None if gates is None else list(gates)
        if names is not None:
            for i, name in enumerate(names):
                check_gate_name(name, f"gates[{i}]")
        gset = None if names is None else frozenset(names)
        qset = None if qubits is None else frozenset(
            (int(q),) if isinstance(q, int) else tuple(int(x) for x in q) for q in qubits)
        k = channel.num_qubits
        if k > 1:
            for name in names or ():
                arity = _arity(name)
                if arity is not None and arity != k:
                    raise NoiseError(f"a {k}-qubit channel cannot follow the {arity}-qubit gate {name!r}")
            for qs in qset or ():
                if len(qs) != k:
                    raise NoiseError(f"a {k}-qubit channel needs {k}-qubit tuples in qubits=, got {qs}")
        for qs in qset or ():
            if self.num_qubits is not None and max(qs) >= self.num_qubits:
                raise NoiseError(f"qubits {qs} are beyond the model's {self.num_qubits} qubits")
        self.rules.append(_Rule(channel, gset, qset))
        return self

    def set_ideal(self, gates: Iterable[str]) -> NoiseModel:
        """Declare gates exactly noiseless (e.g. a virtual ``rz``): :meth:`check` does not report them.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.noise import depolarizing
            >>> model = NoiseModel().add(depolarizing(0.01), gates=["sx"]).set_ideal(["rz"])
            >>> model.check(Circuit(1).rz(0.3, 0).sx(0))
            []
        """
        names = [gates] if isinstance(gates, str) else list(gates)
        for i, name in enumerate(names):
            check_gate_name(name, f"ideal[{i}]")
        self.ideal.update(names)
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
            if self.num_qubits is not None and max(key) >= self.num_qubits:
                raise NoiseError(f"readout qubits {key} are beyond the model's {self.num_qubits} qubits")
            self.readout[key] = error
        return self

    def add_idle(self, t1: float | torch.Tensor, t2: float | torch.Tensor, qubits: Iterable[int] | None = None, *,
                 detuning: float | torch.Tensor = 0.0) -> NoiseModel:
        """Relaxation and a coherent Z phase of idle qubits, for the time they wait.

        During an idle interval of length ``t`` (a ``delay`` instruction, or with
        :meth:`set_durations` the implicit wait for other qubits' gates) a qubit gets
        thermal relaxation ``(T1, T2, t)`` and ``rz(detuning * t)``. Numbers may be 0-dim
        float64 tensors that require grad (simulated probabilities are then differentiable
        in them). Times in the unit of the durations; a ``delay`` is in ns.

        Args:
            t1: T1.
            t2: T2 (``<= 2 T1``).
            qubits: the qubits (``None``: every qubit without its own entry).
            detuning: qubit frequency minus frame frequency, in rad per time unit
                (1 MHz = ``2 * pi * 1e-3`` rad/ns).

        Raises:
            NoiseError: T2 > 2 T1, non-positive times, a non-finite detuning.

        Examples:
            >>> import math
            >>> from qtandem import Circuit
            >>> model = NoiseModel().add_idle(1e9, 1e9, detuning=2 * math.pi * 1e-3)    # 1 MHz, no decay
            >>> ramsey = Circuit(1).sx(0).delay(250, 0).sx(0)                          # a quarter turn
            >>> round(float(model.outcome_probabilities(ramsey)[1]), 6)
            0.5
        """
        ch.thermal_relaxation(t1, t2, 0.0)  # validates T2 <= 2 T1
        det = ch._real(detuning, "detuning")
        pair = (_keep(t1), _keep(t2))
        if qubits is None:
            self.default_idle = pair
            self.default_detuning = _keep(detuning) if isinstance(detuning, torch.Tensor) else float(det)
        else:
            for q in qubits:
                self.idle[int(q)] = pair
                if isinstance(detuning, torch.Tensor) or float(det) != 0.0:
                    self.detuning[int(q)] = _keep(detuning)
                else:
                    self.detuning.pop(int(q), None)
        return self

    def add_zz(self, zeta: float | torch.Tensor, pairs: Iterable[Sequence[int]]) -> NoiseModel:
        """Static ZZ coupling ``zeta`` (rad per time unit) on each pair.

        During an idle interval ``t`` of qubit ``a`` (a ``delay`` or an implicit wait) each
        coupled partner ``b`` that the circuit uses (any instruction but a barrier) gets the
        conditional phase ``rzz(zeta * t / 2)`` on ``(a, b)``: the Ramsey frequency of ``a``
        shifts by ``zeta`` between ``b = |0>`` and ``b = |1>``. A partner the circuit never
        touches counts as absent (as if only the used qubits were simulated). One delay
        covering both ``a`` and ``b`` applies the pair's phase once. Gates absorb ZZ during
        their own duration (an approximation).

        Raises:
            NoiseError: a pair that is not two distinct qubits, a qubit beyond ``num_qubits``.

        Examples:
            >>> import math
            >>> from qtandem import Circuit
            >>> model = NoiseModel().add_zz(2 * math.pi * 1e-3, [(0, 1)])            # 1 MHz
            >>> def ramsey(b):  # q0's phase turns by +pi/2 with q1 in |0>, by -pi/2 with q1 in |1>
            ...     return (Circuit(2).x(1) if b else Circuit(2).id(1)).sx(0).delay(500, 0).rz(math.pi / 2, 0).sx(0)
            >>> [round(float(model.outcome_probabilities(ramsey(b))[3 * b]), 6) for b in (0, 1)]  # 00, then 11
            [1.0, 1.0]
        """
        z = ch._real(zeta, "zeta")
        for pair in pairs:
            qs = tuple(int(q) for q in pair)
            if len(qs) != 2 or qs[0] == qs[1] or min(qs) < 0:
                raise NoiseError(f"add_zz: expected pairs of two distinct qubits, got {tuple(pair)!r}")
            if self.num_qubits is not None and max(qs) >= self.num_qubits:
                raise NoiseError(f"ZZ pair {qs} is beyond the model's {self.num_qubits} qubits")
            key = (min(qs), max(qs))
            if isinstance(zeta, torch.Tensor) or float(z) != 0.0:
                self.zz[key] = _keep(zeta)
            else:
                self.zz.pop(key, None)
        return self

    def set_durations(self, durations: dict[str, float]) -> NoiseModel:
        """Gate durations (same time unit as T1/T2) used to schedule idle errors."""
        from qtandem.noise.schema import number

        checked = {str(k): number(v, f"duration of {k!r}", lo=0.0) for k, v in durations.items()}
        self.durations.update(checked)
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
        """Readout errors for a set of measured qubits.

        A correlated (multi-qubit) error whose qubits are all measured replaces the
        per-qubit errors of those qubits; otherwise each qubit gets its own (or the default).

        Examples:
            >>> from qtandem.noise import ReadoutError, readout_error
            >>> joint = ReadoutError([[0.9, 0, 0, 0], [0.1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
            >>> model = NoiseModel().add_readout(readout_error(0.01, 0.02), qubits=[0, 1, 2])
            >>> model = model.add_readout(joint, qubits=[(0, 1)])
            >>> [qs for _, qs in model.readout_errors([0, 1, 2])], [qs for _, qs in model.readout_errors([0, 2])]
            ([(0, 1), (2,)], [(0,), (2,)])
        """
        out: list[tuple[ReadoutError, tuple[int, ...]]] = []
        covered: set[int] = set()
        mset = set(measured)
        for key, err in sorted(self.readout.items(), key=lambda item: -len(item[0])):
            if set(key) <= mset and not covered & set(key):
                out.append((err, key))
                covered.update(key)
        if self.default_readout is not None:
            out.extend((self.default_readout, (q,)) for q in measured if q not in covered)
        return out

    def idle_params(self, qubit: int) -> tuple[Any, Any] | None:
        """(T1, T2) for idle relaxation of ``qubit``, or ``None``."""
        return self.idle.get(qubit, self.default_idle)

    def idle_detuning(self, qubit: int) -> Any:
        """Detuning (rad per time unit) of ``qubit`` while it idles (0.0 when none)."""
        if qubit in self.detuning:
            return self.detuning[qubit]
        return self.default_detuning if qubit not in self.idle else 0.0

    def zz_partners(self, qubit: int) -> list[tuple[int, Any]]:
        """``[(partner, zeta)]`` of ``qubit``'s static ZZ couplings (see :meth:`add_zz`)."""
        return [(b if a == qubit else a, z) for (a, b), z in self.zz.items() if qubit in (a, b)]

    def duration(self, inst: Instruction) -> float:
        """Duration of an instruction: a ``delay``'s own (ns), by name, then ``"1q"`` / ``"2q"`` defaults, else 0."""
        if inst.name == "delay":
            return float(inst.params[0])  # type: ignore[arg-type]
        if inst.name in self.durations:
            return self.durations[inst.name]
        key = "1q" if len(inst.qubits) == 1 else "2q"
        return self.durations.get(key, 0.0)

    @property
    def has_idle(self) -> bool:
        """True when idle relaxation, detuning or ZZ is configured."""
        return bool(self.idle or self.default_idle or self.detuning or self.zz)

    # -- coverage: noise never silently disappears -------------------------------
    def check(self, circuit: Circuit) -> list[str]:
        """Where ``circuit`` would lose noise under this model: one line per problem.

        Reported: a gate no rule covers (no rule names it and there is no ``gates=None``
        rule), a gate on qubits that its rules do not list (a two-qubit gate on an
        uncoupled pair of a device model), a channel too large for the gate it follows,
        and a circuit wider than ``num_qubits``. Gates in :attr:`ideal` are fine; a model
        without gate rules reports only the width.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.noise import depolarizing
            >>> model = NoiseModel(num_qubits=3).add(depolarizing(0.01, 2), gates=["cx"], qubits=[(0, 1)])
            >>> for problem in model.check(Circuit(4).h(0).h(1).cx(0, 1).cx(0, 2)):
            ...     print(problem)
            the circuit has 4 qubits, the noise model describes 3: qubit 3 would get no noise
            gate 'h': no noise rule (2 instructions, first at index 0)
            gate 'cx' on qubits (0, 2): no noise rule for these qubits (not coupled?) (1 instruction, at index 3)
        """
        return coverage_problems(self, circuit)

    def require_coverage(self, circuit: Circuit) -> None:
        """Raise when a strict model would lose noise on ``circuit`` (see :meth:`check`); every noisy
        simulation calls this first.

        Raises:
            NoiseError: the problems, and what to do about them.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.noise import depolarizing
            >>> NoiseModel().add(depolarizing(0.01), gates=["x"]).require_coverage(Circuit(1).h(0))
            Traceback (most recent call last):
            ...
            qtandem.errors.NoiseError: the noise model has no rule for some of the circuit's gates, ...
            >>> NoiseModel(strict=False).add(depolarizing(0.01), gates=["x"]).require_coverage(Circuit(1).h(0))
        """
        if not self.strict:
            return
        problems = self.check(circuit)
        if problems:
            raise coverage_error(problems)

    # -- simulation: the protocol behind ``noise=`` (qtandem.sim.sampling.NoisySimulation) --
    def sample_bits(self, circuit: Circuit, shots: int, *, params: Any = None, seed: Seed = None,
                    dtype: torch.dtype = torch.complex128, device: Any = None, method: str = "auto") -> np.ndarray:
        """``(shots, n_clbits)`` uint8 noisy shots of ``circuit`` (what ``qtandem.sample(noise=self)`` runs).

        ``method`` is ``"density"``, ``"trajectories"`` or ``"auto"`` (see :func:`qtandem.sample`).
        """
        from qtandem.noise.simulate import sample_bits

        self.require_coverage(circuit)
        return sample_bits(self, circuit, shots, params=params, seed=seed, dtype=dtype, device=device, method=method)

    def outcome_probabilities(self, circuit: Circuit, params: Any = None, *, dtype: torch.dtype = torch.complex128,
                              device: Any = None) -> torch.Tensor:
        """Probabilities ``(2**n,)`` or ``(B, 2**n)`` of every qubit, readout errors included."""
        from qtandem.noise.density import noisy_probabilities

        self.require_coverage(circuit)
        return noisy_probabilities(circuit, params, noise=self, dtype=dtype, device=device)

    def record_distribution(self, circuit: Circuit, params: Any = None, *, qubits: bool = False,
                            dtype: torch.dtype = torch.complex128, device: Any = None) -> dict[int, float]:
        """Exact ``{record: probability}`` (what ``qtandem.distribution(noise=self)`` runs; see
        :func:`qtandem.noise.density.record_distribution`)."""
        from qtandem.noise.density import record_distribution

        self.require_coverage(circuit)
        return record_distribution(circuit, params, noise=self, qubits=qubits, dtype=dtype, device=device)

    def density_matrix(self, circuit: Circuit, params: Any = None, *, initial_state: Any = None,
                       dtype: torch.dtype = torch.complex128, device: Any = None) -> torch.Tensor:
        """The exact noisy density matrix of ``circuit`` (see :func:`qtandem.noise.density.density_matrix`)."""
        from qtandem.noise.density import density_matrix

        self.require_coverage(circuit)
        return density_matrix(circuit, params, noise=self, initial_state=initial_state, dtype=dtype, device=device)

    # -- serialisation -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (versioned schema, see :mod:`qtandem.noise.schema`)."""
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "num_qubits": self.num_qubits,
            "strict": self.strict,
            "ideal": sorted(self.ideal),
            "errors": [{"channel": channel_to_dict(r.channel),
                        "gates": None if r.gates is None else sorted(r.gates),
                        "qubits": None if r.qubits is None else sorted(list(q) for q in r.qubits)}
                       for r in self.rules],
            "readout": ([{"qubits": None, **self.default_readout.to_dict()}] if self.default_readout else [])
            + [{"qubits": [k[0] if len(k) == 1 else list(k)], **e.to_dict()} for k, e in self.readout.items()],
            "idle": ([{"qubits": None, "t1": _num(self.default_idle[0]), "t2": _num(self.default_idle[1]),
                       **_detuning_entry(self.default_detuning)}] if self.default_idle else [])
            + [{"qubits": [q], "t1": _num(t[0]), "t2": _num(t[1]), **_detuning_entry(self.detuning.get(q, 0.0))}
               for q, t in self.idle.items()],
            **({"zz": [{"qubits": [list(k)], "zeta": _num(z)} for k, z in sorted(self.zz.items())]} if self.zz else {}),
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
        """Build from a dictionary; every error names ``source`` and the key path (schema:
        ``docs/noise-model-schema.md``, :func:`qtandem.noise.schema.parse_model`)."""
        from qtandem.noise.schema import parse_model

        try:
            return parse_model(data, cls)
        except NoiseError as err:
            raise NoiseError(f"{source}: {err}") from None

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> NoiseModel:
        """Parse JSON text, or read a ``.json`` file."""
        source = "<string>"
        text = str(text_or_path)
        looks_like_json = text.lstrip().startswith(("{", "["))
        if isinstance(text_or_path, Path) or (not looks_like_json and (text.endswith(".json") or Path(text).is_file())):
            source = str(text_or_path)
            try:
                text = Path(text_or_path).read_text()
            except UnicodeDecodeError:
                raise NoiseError(f"{source}: not a JSON text file (expected a noise-model JSON)") from None
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
                f"idle={'yes' if self.has_idle else 'no'}{'' if self.strict else ', strict=False'})")


def _keep(x: Any) -> Any:
    """A number kept as given: a tensor stays a (float64) tensor, so gradients reach it; else a float."""
    return x.to(torch.float64) if isinstance(x, torch.Tensor) else float(x)


def _num(x: Any) -> float:
    """A JSON number from a float or a 0-dim tensor."""
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def _detuning_entry(value: Any) -> dict[str, float]:
    v = _num(value)
    return {"detuning": v} if v != 0.0 else {}


def _arity(label: str) -> int | None:
    """Qubits a gate label acts on (``None``: variable, or not a registry gate)."""
    base = label.rsplit("@", maxsplit=1)[-1]
    spec = GATES.get(base)
    if spec is None or spec.num_qubits is None:
        return None
    ctrl = label.split("@", maxsplit=1)[0] if label.startswith("ctrl") else ""
    extra = int(ctrl[5:-1]) if ctrl.startswith("ctrl(") else (1 if ctrl else 0)
    return spec.num_qubits + extra

