"""The mitigation contract: estimates, estimators, methods, and :func:`execute`.

An :data:`Estimator` estimates the observable on a batch of circuits, spending
``shots[i]`` on circuit ``i``; :func:`base_estimator` is the unmitigated one (counts of the
measured bases -> value and standard error). A :class:`Method` wraps an estimator into a
better one; ``methods=[readout(), zne()]`` compose innermost first, as
``zne.wrap(readout.wrap(base))``. :func:`execute` builds the :class:`Context` (observable
parsed once, the executor wrapped so every shot is counted), runs the stack, and reruns
the unmitigated estimator at the same shots for comparison.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.noise import NoiseModel, readout_error
    >>> from qtandem.mitigate import simulator_executor
    >>> noise = NoiseModel().add_readout(readout_error(0.05, 0.05))
    >>> ghz = Circuit(3).h(0).cx(0, 1).cx(1, 2)
    >>> res = execute(ghz, "Z0 Z2", simulator_executor(noise, seed=1), methods=[], shots=4000, seed=2)
    >>> round(res.value, 1), res.shots_used, res.methods
    (0.8, 4000, [])
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.pauli import PauliSum
from qtandem.device.executors import accepts_seed
from qtandem.errors import ArgumentTypeError, SimulationError
from qtandem.mitigate.observable import (
    Observable,
    ProductInverse,
    counts_to_bits,
    parse_observable,
    weighted_mean_var,
)
from qtandem.random import Seed, as_generator

__all__ = [
    "Context",
    "CountsEstimator",
    "Estimate",
    "Estimator",
    "Method",
    "MitigationResult",
    "ShotCounter",
    "base_estimator",
    "execute",
    "split_shots",
]


@dataclass(frozen=True)
class Estimate:
    """One estimated value.

    Attributes:
        value: the estimate.
        stderr: its standard error (each method says how it propagates the inner ones).
        shots: shots spent for this estimate, everything included except one-off costs.
        details: method-specific, JSON-able (``"refused"``: why a method declined).

    Examples:
        >>> Estimate(0.5, 0.01, 1000).details
        {}
    """

    value: float
    stderr: float
    shots: int
    details: dict[str, Any] = field(default_factory=dict)


Estimator = Callable[[Sequence[Circuit], Sequence[int], Seed], list[Estimate]]
"""``estimator(circuits, shots, seed) -> list[Estimate]``: estimate the observable on each
circuit, spending ``shots[i]`` in total on circuit ``i``."""


def split_shots(total: int, weights: Sequence[float], *, minimum: int = 1) -> list[int]:
    """Split ``total`` shots in proportion to ``weights`` (largest remainders), each part at least ``minimum``.

    Raises:
        SimulationError: ``total`` is not an integer or is below ``minimum * len(weights)``.

    Examples:
        >>> split_shots(10, [1, 1, 1]), split_shots(100, [3, 1])
        ([4, 3, 3], [75, 25])
    """
    if isinstance(total, bool) or int(total) != total:
        raise SimulationError(f"shots must be an integer, got {total!r}")
    total, k = int(total), len(weights)
    if total < minimum * k:
        raise SimulationError(f"{total} shots cannot be split into {k} part(s) of at least {minimum} "
                              f"(ask for at least {minimum * k})")
    w = np.asarray(weights, dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise SimulationError(f"shot weights must be non-negative and not all zero, got {list(weights)}")
    spare = total - minimum * k
    ideal = spare * w / w.sum()
    parts = np.floor(ideal).astype(np.int64)
    for i in np.argsort(-(ideal - parts), kind="stable")[: spare - int(parts.sum())]:
        parts[i] += 1
    return [int(p) + minimum for p in parts]


class ShotCounter:
    """An executor wrapped to check what it returns and count every shot it is asked for.

    Shots run inside :meth:`one_off` are charged to ``one_off[name]``; the others to ``shots``.

    Raises (when called):
        SimulationError: non-positive or non-integer shots, a wrong number of counts, counts that
            do not sum to ``shots``, bitstrings of the wrong width or with other digits than 0/1.
        ArgumentTypeError: the executor returned something else than a list of dicts.

    Examples:
        >>> run = ShotCounter(lambda circuits, shots: [{"0": shots} for _ in circuits])
        >>> run([Circuit(1, 1).measure(0, 0)] * 2, 50), run.shots
        ([{'0': 50}, {'0': 50}], 100)
    """

    def __init__(self, executor: Callable[..., Any]) -> None:
        if isinstance(executor, ShotCounter):
            executor = executor.executor
        if not callable(executor) or isinstance(executor, type):
            raise ArgumentTypeError(f"an executor is a callable (circuits, shots) -> list of counts, got "
                                    f"{type(executor).__name__}")
        self.executor: Callable[..., Any] = executor
        self.seeded = accepts_seed(executor)
        self.expectations = getattr(executor, "returns", "counts") == "expectation"
        self.shots = 0
        self.one_off: dict[str, int] = {}
        self._charge: str | None = None

    @contextlib.contextmanager
    def charged_to(self, name: str) -> Iterator[None]:
        """Charge the shots run inside the block to ``one_off[name]`` (a one-off calibration or training)."""
        before, self._charge = self._charge, name
        try:
            yield
        finally:
            self._charge = before

    def _run(self, circuits: list[Circuit], shots: Any, seed: int | None) -> Any:
        if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
            raise SimulationError(f"shots must be a positive integer, got {shots!r}")
        out = self.executor(circuits, int(shots), seed=seed) if self.seeded and seed is not None \
            else self.executor(circuits, int(shots))
        return out

    def _charge_shots(self, n: int) -> None:
        if self._charge is None:
            self.shots += n
        else:
            self.one_off[self._charge] = self.one_off.get(self._charge, 0) + n

    def __call__(self, circuits: Sequence[Circuit], shots: int, *, seed: int | None = None) -> list[dict[str, int]]:
        circuits = list(circuits)
        if self.expectations:
            raise ArgumentTypeError("this executor returns expectation values (expectation_executor), but counts "
                                    "are needed here (readout mitigation and calibration circuits read bitstrings)")
        out = self._run(circuits, shots, seed)
        if not circuits:
            return []
        counts = check_counts(out, circuits, int(shots))
        self._charge_shots(int(shots) * len(circuits))
        return counts

    def values(self, circuits: Sequence[Circuit], shots: int, *, seed: int | None = None,
               ) -> list[tuple[float, float | None]]:
        """Run an expectation-value executor: ``(value, stderr or None)`` per circuit, shots counted.

        Raises:
            ArgumentTypeError: the executor returns counts, or something other than numbers or pairs.
            SimulationError: a wrong number of values, or a non-finite one.

        Examples:
            >>> from qtandem.mitigate.executors import expectation_executor
            >>> run = ShotCounter(expectation_executor(lambda circuits, shots: [0.5 for _ in circuits]))
            >>> run.values([Circuit(1)], 100), run.shots
            ([(0.5, None)], 100)
        """
        circuits = list(circuits)
        if not self.expectations:
            raise ArgumentTypeError("this executor returns counts; wrap an expectation-value executor with "
                                    "qtandem.mitigate.expectation_executor")
        out = self._run(circuits, shots, seed)
        if isinstance(out, Mapping | str) or not isinstance(out, Sequence | np.ndarray):
            raise ArgumentTypeError(f"executor: expected a list of expectation values (one per circuit), got "
                                    f"{type(out).__name__}")
        if len(out) != len(circuits):
            raise SimulationError(f"executor: returned {len(out)} values for {len(circuits)} circuits")
        clean: list[tuple[float, float | None]] = []
        for i, v in enumerate(out):
            pair = tuple(v) if isinstance(v, tuple | list) else (v, None)
            if len(pair) != 2 or not all(isinstance(x, int | float | np.number) or x is None for x in pair) \
                    or pair[0] is None:
                raise ArgumentTypeError(f"executor: value {i} is {v!r}; expected a number or (value, stderr)")
            value, err = float(pair[0]), None if pair[1] is None else float(pair[1])
            if not math.isfinite(value) or (err is not None and not (math.isfinite(err) and err >= 0)):
                raise SimulationError(f"executor: value {i} is {v!r}; expected finite numbers, stderr >= 0")
            clean.append((value, err))
        self._charge_shots(int(shots) * len(circuits))
        return clean


def check_counts(out: Any, circuits: Sequence[Circuit], shots: int) -> list[dict[str, int]]:
    """What an executor returned, checked and cleaned (spaces between registers removed).

    Examples:
        >>> check_counts([{"0 1": 3}], [Circuit(1, 2)], 3)
        [{'01': 3}]
        >>> check_counts([{"0": 3}], [Circuit(1, 2)], 3)
        Traceback (most recent call last):
        ...
        qtandem.errors.SimulationError: executor: counts of circuit 0 have bitstring '0' of width 1, ...
    """
    if isinstance(out, Mapping) or not isinstance(out, Sequence) or isinstance(out, str):
        raise ArgumentTypeError(f"executor: expected a list of {{bitstring: count}} dicts (one per circuit), got "
                                f"{type(out).__name__}")
    if len(out) != len(circuits):
        raise SimulationError(f"executor: returned {len(out)} counts for {len(circuits)} circuits")
    clean = []
    for i, (counts, circuit) in enumerate(zip(out, circuits, strict=True)):
        if not isinstance(counts, Mapping):
            hint = (" (an executor returning expectation values is not supported: return counts)"
                    if isinstance(counts, int | float | np.floating) else "")
            raise ArgumentTypeError(f"executor: counts of circuit {i} are a {type(counts).__name__}, expected a "
                                    f"dict bitstring -> count{hint}")
        fixed: dict[str, int] = {}
        total = 0
        for key, value in counts.items():
            bits = key.replace(" ", "") if isinstance(key, str) else None
            if bits is None or (bits and set(bits) - {"0", "1"}):
                raise SimulationError(f"executor: counts of circuit {i} have key {key!r}; expected bitstrings of "
                                      f"0/1, classical bit 0 rightmost")
            if len(bits) != circuit.n_clbits:
                raise SimulationError(f"executor: counts of circuit {i} have bitstring {key!r} of width {len(bits)}, "
                                      f"the circuit has {circuit.n_clbits} classical bits")
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise SimulationError(f"executor: counts of circuit {i} give {key!r} the count {value!r}; counts are "
                                      f"non-negative integers")
            if value:
                fixed[bits] = fixed.get(bits, 0) + int(value)
            total += int(value)
        if total != shots:
            raise SimulationError(f"executor: counts of circuit {i} sum to {total}, {shots} shots were asked for")
        clean.append(fixed)
    return clean


@dataclass
class Context:
    """What every method of one :func:`execute` call shares.

    Attributes:
        observable: the parsed target (:class:`~qtandem.mitigate.observable.Observable`).
        n_qubits: the circuit's qubit count.
        executor: the shot-counting executor (:class:`ShotCounter`); call it, never the raw one.
        noise: what the user told us about the device (NoiseModel, Device, Calibration or ``None``),
            for methods that use it.
        seed: the run's seed, for methods' own randomness (calibration, random folding, training).
        one_off: shots of one-off calibrations or trainings, by name (the executor's ``one_off``).

    Examples:
        >>> ctx = Context.create("Z0", 1, lambda circuits, shots: [{"0": shots} for _ in circuits], seed=0)
        >>> ctx.observable.kind, ctx.one_off
        ('pauli', {})
    """

    observable: Observable
    n_qubits: int
    executor: ShotCounter
    noise: Any = None
    seed: Seed = None
    one_off: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, observable: PauliSum | str | Observable, n_qubits: int, executor: Callable[..., Any], *,
               noise: Any = None, seed: Seed = None) -> Context:
        """A context with the observable parsed and the executor wrapped in a :class:`ShotCounter`."""
        counter = executor if isinstance(executor, ShotCounter) else ShotCounter(executor)
        return cls(parse_observable(observable, n_qubits), int(n_qubits), counter, noise, seed, counter.one_off)


@runtime_checkable
class Method(Protocol):
    """A mitigation method: ``name`` and ``wrap(estimator, context) -> estimator``.

    Examples:
        >>> class Nothing:
        ...     name = "nothing"
        ...     def wrap(self, estimator, context):
        ...         return estimator
        >>> isinstance(Nothing(), Method)
        True
    """

    name: str

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """The mitigated estimator built on ``estimator``."""


class CountsEstimator:
    """The unmitigated estimator (see :func:`base_estimator`); ``inverse`` undoes readout errors shot by shot.

    Examples:
        >>> ctx = Context.create("Z0", 1, lambda circuits, shots: [{"0": shots} for _ in circuits])
        >>> base_estimator(ctx)([Circuit(1)], [100], 0)[0]
        Estimate(value=1.0, stderr=0.0, shots=100, details={'bases': 1})
    """

    def __init__(self, context: Context, inverse: ProductInverse | None = None,
                 label: str | None = None) -> None:
        self.context = context
        self.inverse = inverse
        self.label = label

    def with_inverse(self, inverse: ProductInverse, label: str) -> CountsEstimator:
        """The same estimator with readout inversion ``inverse`` (named ``label`` in the details)."""
        return CountsEstimator(self.context, inverse, label)

    def __call__(self, circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed = None) -> list[Estimate]:
        obs, run = self.context.observable, self.context.executor
        circuits = list(circuits)
        if isinstance(shots, int | np.integer):
            raise ArgumentTypeError("an estimator takes one shots value per circuit (a list)")
        shots = list(shots)
        if len(shots) != len(circuits):
            raise SimulationError(f"{len(circuits)} circuits but {len(shots)} shot values")
        for i, c in enumerate(circuits):
            if not isinstance(c, Circuit):
                raise ArgumentTypeError(f"estimator: circuit {i} is a {type(c).__name__}, expected a qtandem Circuit")
        if not obs.groups and obs.pauli is not None:  # a constant: nothing to measure
            return [Estimate(obs.constant, 0.0, 0, {"bases": 0}) for _ in circuits]
        rng = as_generator(seed)
        if run.expectations:
            return self._from_values(circuits, shots, rng)
        weights = obs.weights()
        jobs: dict[int, list[tuple[int, int, Circuit, list[int]]]] = {}  # shots -> (circuit, basis, ...)
        for i, (circuit, total) in enumerate(zip(circuits, shots, strict=True)):
            if isinstance(total, bool) or not isinstance(total, int | np.integer) or total < 0:
                raise SimulationError(f"shots for circuit {i} must be a non-negative integer, got {total!r}")
            parts = split_shots(int(total), weights)
            extra = getattr(self.inverse, "companions", None)
            for k, ((basis, measured), n) in enumerate(zip(obs.basis_circuits(circuit, extra), parts, strict=True)):
                jobs.setdefault(n, []).append((i, k, basis, measured))
        means = np.full((len(circuits), len(weights)), np.nan)
        variances = np.zeros_like(means)
        for n in sorted(jobs):
            batch = jobs[n]
            s = int(rng.integers(2**62))
            counts = run([b for _, _, b, _ in batch], n, seed=s)
            for (i, k, basis, measured), cnt in zip(batch, counts, strict=True):
                bits, w = counts_to_bits(cnt)
                offset = basis.n_clbits - len(measured)
                values = obs.shot_values(k, measured, bits[:, offset:], self.inverse)
                bound = obs.bound if self.inverse is None else float(np.max(np.abs(values)))
                means[i, k], variances[i, k] = weighted_mean_var(values, w, bound)
        out = []
        for i, total in enumerate(shots):
            details: dict[str, Any] = {"bases": len(weights)}
            if self.label:
                details["readout"] = self.label
            out.append(Estimate(float(obs.constant + means[i].sum()), math.sqrt(float(variances[i].sum())),
                                int(total), details))
        return out


    def _from_values(self, circuits: list[Circuit], shots: list[Any], rng: np.random.Generator) -> list[Estimate]:
        """An expectation-value executor: each circuit runs as given, with all its shots."""
        if self.inverse is not None:
            raise ArgumentTypeError("readout mitigation needs counts; this executor returns expectation values")
        bound = self.context.observable.bound
        jobs: dict[int, list[int]] = {}
        for i, total in enumerate(shots):
            if isinstance(total, bool) or not isinstance(total, int | np.integer) or total < 1:
                raise SimulationError(f"shots for circuit {i} must be a positive integer, got {total!r}")
            jobs.setdefault(int(total), []).append(i)
        out: list[Estimate | None] = [None] * len(circuits)
        for n in sorted(jobs):
            values = self.context.executor.values([circuits[i] for i in jobs[n]], n, seed=int(rng.integers(2**62)))
            for i, (value, err) in zip(jobs[n], values, strict=True):
                stderr, how = (err, "executor") if err is not None else (bound / math.sqrt(n), "bound")
                out[i] = Estimate(value, stderr, n, {"bases": 1, "stderr": how})
        return [e for e in out if e is not None]


def base_estimator(context: Context) -> CountsEstimator:
    """The unmitigated estimator of ``context.observable``.

    Each circuit's shots are split among the measured bases (one per qubit-wise commuting
    group, in proportion to the group's sum of ``|coefficients|``, at least one each); circuits
    given the same shots per basis go to the executor in one batch. The value is the sum of
    the bases' means (plus the constant term), the standard error the square root of the sum
    of their variances of the mean (sample variances). ``"P(b)"``: the frequency of ``b``.

    With an expectation-value executor (:func:`~qtandem.mitigate.expectation_executor`) each
    circuit runs as given with all its shots and the executor's value is the estimate; its
    standard error is the executor's, or the bound ``sum|coef| / sqrt(shots)`` when it gives none
    (``details["stderr"]`` says which).

    Examples:
        >>> ctx = Context.create("Z0 + X0", 1, lambda circuits, shots: [{"0": shots} for _ in circuits])
        >>> [e.value for e in base_estimator(ctx)([Circuit(1), Circuit(1)], [10, 20], 0)]
        [2.0, 2.0]
    """
    return CountsEstimator(context)


@dataclass(frozen=True)
class MitigationResult:
    """What :func:`execute` returns.

    Attributes:
        value: the mitigated estimate.
        stderr: its standard error.
        raw: the unmitigated estimate at the same shots (run separately).
        raw_stderr: its standard error.
        shots_used: shots the mitigated estimate spent (one-off costs excluded).
        one_off_shots: shots of one-off calibrations or trainings done in this call (by name in
            ``details["one_off"]``; a cached calibration costs nothing the second time).
        methods: the names of the methods applied, innermost first.
        details: the mitigated estimate's details, plus ``"one_off"`` and ``"observable"``.
        refused: why a method declined (its value is then the best classical estimate), else ``None``.

    Examples:
        >>> MitigationResult(1.0, 0.1, 0.8, 0.1, 1000, 0, ["readout"], {}).refused is None
        True
    """

    value: float
    stderr: float
    raw: float
    raw_stderr: float
    shots_used: int
    one_off_shots: int
    methods: list[str]
    details: dict[str, Any]
    refused: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field.

        Examples:
            >>> sorted(MitigationResult(1.0, 0.1, 0.8, 0.1, 1000, 0, [], {}).to_dict())[:3]
            ['details', 'methods', 'one_off_shots']
        """
        return {"value": self.value, "stderr": self.stderr, "raw": self.raw, "raw_stderr": self.raw_stderr,
                "shots_used": self.shots_used, "one_off_shots": self.one_off_shots, "methods": list(self.methods),
                "details": self.details, "refused": self.refused}


def _find_refusal(details: Any) -> str | None:
    if isinstance(details, Mapping):
        if details.get("refused"):
            return str(details["refused"])
        for v in details.values():
            found = _find_refusal(v)
            if found:
                return found
    elif isinstance(details, list | tuple):
        for v in details:
            found = _find_refusal(v)
            if found:
                return found
    return None


def resolve_methods(methods: Any, circuit: Circuit, context: Context, shots: int) -> tuple[list[Method], str | None]:
    """The method list of :func:`execute` (``"auto"`` asks :func:`qtandem.mitigate.auto.choose`).

    Returns:
        The methods and, for ``"auto"``, a note on how they were chosen.

    Examples:
        >>> ctx = Context.create("Z0", 1, lambda circuits, shots: [{"0": shots} for _ in circuits])
        >>> resolve_methods(None, Circuit(1), ctx, 100)
        ([], None)
    """
    note = None
    if isinstance(methods, str):
        if methods != "auto":
            raise ArgumentTypeError(f"methods is a list of methods (e.g. [readout(), zne()]) or 'auto', got "
                                    f"{methods!r}")
        try:
            auto: Any = importlib.import_module("qtandem.mitigate.auto")
        except ImportError:
            auto = None
        if auto is not None and hasattr(auto, "choose"):
            chosen = list(auto.choose(circuit, context, shots))
            note = "qtandem.mitigate.auto.choose"
        else:
            from qtandem.mitigate.readout import readout

            chosen = [readout()]
            try:
                chosen.append(importlib.import_module("qtandem.mitigate.zne").zne())
            except (ImportError, AttributeError):
                pass
            note = "fallback (no qtandem.mitigate.auto.choose): " + ", ".join(m.name for m in chosen)
        methods = chosen
    elif methods is None:
        methods = []
    elif isinstance(methods, Method):
        methods = [methods]
    methods = list(methods)
    for m in methods:
        if not isinstance(m, Method):
            raise ArgumentTypeError(f"a mitigation method has a name and wrap(estimator, context), got "
                                    f"{type(m).__name__} (call the factory: readout(), not readout)")
    return methods, note


def execute(circuit: Circuit, observable: PauliSum | str | Observable, executor: Callable[..., Any], *,
            methods: Any = "auto", shots: int = 100_000, seed: Seed = None, noise: Any = None,
            raw: bool = True) -> MitigationResult:
    """Estimate ``observable`` on ``circuit`` with mitigation, counting every shot.

    Args:
        circuit: the circuit (its terminal measurements are replaced by the observable's).
        observable: a :class:`~qtandem.circuit.pauli.PauliSum`, its text (``"Z0 Z1"``,
            ``"0.5*X0 + Z1"``) or ``"P(0101)"`` (qubit 0 rightmost; see :func:`parse_observable`).
        executor: ``executor(circuits, shots[, seed=])`` -> one ``{bitstring: count}`` per circuit.
        methods: methods applied innermost first (``[readout(), zne()]`` is ``zne(readout(base))``),
            one method, ``[]``/``None`` for none, or ``"auto"`` (:func:`qtandem.mitigate.auto.choose`).
        shots: total shots of the mitigated estimate (one-off calibrations excluded).
        seed: seed of every random choice (integer streams derived from it).
        noise: what is known about the device (NoiseModel, Device, Calibration), for methods using it.
        raw: also run the unmitigated estimate at the same shots (``raw``/``raw_stderr`` are NaN otherwise).

    Returns:
        A :class:`MitigationResult`.

    Raises:
        ObservableError: a bad observable.
        ArgumentTypeError: a bad executor, circuit or method.
        SimulationError: bad shots, or an executor returning malformed counts.

    Examples:
        >>> from qtandem.noise import NoiseModel, readout_error
        >>> from qtandem.mitigate import readout, simulator_executor
        >>> run = simulator_executor(NoiseModel().add_readout(readout_error(0.1, 0.1)), seed=0)
        >>> res = execute(Circuit(2).x(0), "Z0 Z1", run, methods=[readout()], shots=20000, seed=1)
        >>> round(res.raw, 1), round(res.value, 1), res.shots_used, res.one_off_shots > 0
        (-0.6, -1.0, 20000, True)
    """
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"execute() needs a qtandem Circuit, got {type(circuit).__name__}")
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise SimulationError(f"shots must be a positive integer, got {shots!r}")
    gen = as_generator(seed)  # checks the seed
    base_seed = int(seed) if isinstance(seed, int | np.integer) else int(gen.integers(2**62))
    context = Context.create(observable, circuit.n_qubits, executor, noise=noise,
                             seed=np.random.default_rng([base_seed, 0]))
    counter = context.executor
    chosen, note = resolve_methods(methods, circuit, context, int(shots))
    estimator: Estimator = base_estimator(context)
    for m in chosen:
        estimator = m.wrap(estimator, context)
    start = counter.shots
    est = estimator([circuit], [int(shots)], np.random.default_rng([base_seed, 1]))[0]
    used = counter.shots - start
    raw_value, raw_stderr = math.nan, math.nan
    if raw:
        r = base_estimator(context)([circuit], [int(shots)], np.random.default_rng([base_seed, 2]))[0]
        raw_value, raw_stderr = r.value, r.stderr
    details = dict(est.details)
    details["observable"] = context.observable.text
    details["one_off"] = dict(context.one_off)
    if note:
        details["auto"] = note
    return MitigationResult(value=float(est.value), stderr=float(est.stderr), raw=float(raw_value),
                            raw_stderr=float(raw_stderr), shots_used=int(used),
                            one_off_shots=int(sum(context.one_off.values())), methods=[m.name for m in chosen],
                            details=details, refused=_find_refusal(est.details))
