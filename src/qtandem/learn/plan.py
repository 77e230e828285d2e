"""A characterization plan: the experiments to run on a set of qubits and pairs.

Examples:
    >>> plan = characterization([0, 1], pairs=[(0, 1)], experiments=["readout", "t1", "zz"])
    >>> [(e.name, e.qubits) for e in plan.experiments]
    [('readout', (0,)), ('readout', (1,)), ('readout', (0, 1)), ('t1', (0,)), ('t1', (1,)), ('zz', (0, 1))]
    >>> len(plan.circuits), plan.width
    (72, 2)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtandem.circuit.circuit import Circuit
from qtandem.errors import DataError
from qtandem.learn.experiments import EXPERIMENTS, PAIR_EXPERIMENTS, Experiment, build_experiment
from qtandem.random import derive_seed

if TYPE_CHECKING:
    from qtandem.learn.data import ShotData

__all__ = ["PLAN_SCHEMA", "CharacterizationPlan", "characterization"]

PLAN_SCHEMA = "qtandem.characterization_plan"
PLAN_VERSION = 1


@dataclass
class CharacterizationPlan:
    """Experiments to run, in order; :meth:`run` gives their :class:`~qtandem.learn.ShotData`.

    Attributes:
        experiments: the :class:`~qtandem.learn.experiments.Experiment` list.
        width: number of device qubits every circuit spans.
        seed: the seed the plan was drawn with (RB sequences).

    Examples:
        >>> plan = characterization([0], experiments=["t1"])
        >>> CharacterizationPlan.from_dict(plan.to_dict()).circuits == plan.circuits
        True
    """

    experiments: list[Experiment]
    width: int
    seed: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def circuits(self) -> list[Circuit]:
        """Every experiment's circuits, in order."""
        return [c for exp in self.experiments for c in exp.circuits]

    def slices(self) -> list[tuple[Experiment, slice]]:
        """Each experiment with the slice of :attr:`circuits` (and of the data's counts) it owns.

        Examples:
            >>> [(e.name, s.start, s.stop) for e, s in characterization([0], experiments=["readout", "t1"]).slices()]
            [('readout', 0, 2), ('t1', 2, 14)]
        """
        out, start = [], 0
        for exp in self.experiments:
            out.append((exp, slice(start, start + len(exp.circuits))))
            start += len(exp.circuits)
        return out

    def run(self, executor: Any, shots: int, *, seed: int = 0, device_name: str | None = None) -> ShotData:
        """Run every circuit with ``shots`` shots through ``executor``.

        Args:
            executor: ``executor(circuits, shots[, seed=])`` (:mod:`qtandem.device.executors`).
            shots: shots per circuit.
            seed: passed to the executor when it takes ``seed=``; recorded in the data.
            device_name: recorded in the data (what the shots came from).

        Raises:
            DataError: the executor returned the wrong number of results or counts that do not
                add up to ``shots``.

        Examples:
            >>> from qtandem.device import Device
            >>> from qtandem.device.executors import simulator_executor
            >>> data = characterization([0], experiments=["readout"]).run(
            ...     simulator_executor(Device.preset("line_5")), shots=100, seed=1)
            >>> data.shots, data.counts[1]["1"] > 90
            ([100, 100], True)
        """
        from qtandem.device.executors import accepts_seed
        from qtandem.learn.data import ShotData

        if isinstance(shots, bool) or not isinstance(shots, int) or shots <= 0:
            raise DataError(f"shots must be a positive integer, got {shots!r}")
        circuits = self.circuits
        results = executor(circuits, shots, seed=seed) if accepts_seed(executor) else executor(circuits, shots)
        results = list(results)
        if len(results) != len(circuits):
            raise DataError(f"the executor returned {len(results)} results for {len(circuits)} circuits")
        return ShotData(self, [dict(r) for r in results], shots, [{"plan": self.seed, "run": seed}],
                        device_name=device_name)

    def adapt(self, calibration: Any, **kwargs: Any) -> CharacterizationPlan:
        """The next round's plan, where it informs ``calibration`` most (see :mod:`qtandem.learn.adapt`)."""
        from qtandem.learn import adapt

        return adapt.adapt(self, calibration, **kwargs)  # type: ignore[attr-defined, no-any-return]

    # -- I/O -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (circuits as OpenQASM 3 text)."""
        return {"schema": PLAN_SCHEMA, "version": PLAN_VERSION, "width": self.width, "seed": self.seed,
                "meta": self.meta, "experiments": [e.to_dict() for e in self.experiments]}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> CharacterizationPlan:
        """Inverse of :meth:`to_dict`.

        Raises:
            DataError: a wrong schema or version, a missing key, an invalid experiment (``source`` named).

        Examples:
            >>> CharacterizationPlan.from_dict({"schema": "x"}, source="plan.json")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            qtandem.errors.DataError: plan.json: not a characterization plan (schema 'x', ...)
        """
        if not isinstance(data, dict) or data.get("schema") != PLAN_SCHEMA:
            got = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"{source}: not a characterization plan (schema {got!r}, expected {PLAN_SCHEMA!r})")
        if data.get("version") != PLAN_VERSION:
            raise DataError(f"{source}: plan version {data.get('version')!r} is not supported "
                            f"(this qtandem reads {PLAN_VERSION})")
        width, experiments = data.get("width"), data.get("experiments")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1 or not isinstance(experiments, list):
            raise DataError(f"{source}: a plan needs 'width' (a positive int) and 'experiments' (a list)")
        exps = [Experiment.from_dict(e, source=source) for e in experiments]
        plan = cls(exps, width, int(data.get("seed", 0)), dict(data.get("meta") or {}))
        plan.check(source=source)
        return plan

    def check(self, *, source: str = "<plan>") -> None:
        """Every circuit spans :attr:`width` qubits and measures its experiment's qubits into bits 0..k-1.

        Examples:
            >>> characterization([1], experiments=["t1"]).check()
        """
        for exp, sl in self.slices():
            for i, circuit in zip(range(sl.start, sl.stop), exp.circuits, strict=True):
                measured = [(inst.qubits[0], inst.clbits[0]) for inst in circuit if inst.name == "measure"]
                if circuit.n_qubits != self.width or circuit.n_clbits != len(exp.qubits):
                    raise DataError(f"{source}: circuit {i} ({exp.name} on {exp.qubits}) has {circuit.n_qubits} "
                                    f"qubits and {circuit.n_clbits} bits, expected {self.width} and "
                                    f"{len(exp.qubits)}")
                if sorted(measured) != sorted(zip(exp.qubits, range(len(exp.qubits)), strict=True)):
                    raise DataError(f"{source}: circuit {i} ({exp.name} on {exp.qubits}) measures {measured}, "
                                    f"expected qubit qubits[i] into bit i")

    def save(self, path: str | Path) -> None:
        """Write the plan as JSON (atomically)."""
        from qtandem.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> CharacterizationPlan:
        """Read a plan written by :meth:`save`.

        Raises:
            DataError: a missing or invalid file (named).
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such plan file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a JSON text file") from None
        return cls.from_dict(data, source=str(path))

    def __repr__(self) -> str:
        names = sorted({e.name for e in self.experiments}, key=EXPERIMENTS.index)
        return (f"CharacterizationPlan({len(self.experiments)} experiments ({', '.join(names)}), "
                f"{len(self.circuits)} circuits, width={self.width})")


def characterization(qubits: Sequence[int], *, pairs: Sequence[Sequence[int]] | None = None,
                     experiments: Sequence[str] | None = None, seed: int = 0, prior: Any = None,
                     width: int | None = None, n_seeds: int = 3) -> CharacterizationPlan:
    """The characterization plan of ``qubits`` (and ``pairs``): experiments with x-values from ``prior``.

    Args:
        qubits: device qubits to characterize.
        pairs: coupled pairs ``(a, b)`` for the pair experiments (``cx`` control ``a``, target
            ``b``); also get a joint readout calibration.
        experiments: names from :data:`~qtandem.learn.experiments.EXPERIMENTS` (default: all
            that apply: the pair experiments need ``pairs``).
        seed: seed of the random RB sequences.
        prior: a :class:`~qtandem.device.Device` whose numbers set delays and lengths (``None``:
            :data:`~qtandem.learn.experiments.TYPICAL`); see :mod:`qtandem.learn.experiments`.
        width: device size (default ``prior.num_qubits``, else the largest qubit + 1).
        n_seeds: random sequences per RB length.

    Returns:
        The :class:`CharacterizationPlan`, experiments in the order of ``EXPERIMENTS``.

    Raises:
        DataError: an unknown experiment name, a pair experiment without pairs, a qubit outside
            the device, a pair that is not on the prior's coupling map.

    Examples:
        >>> plan = characterization([0, 1, 2], pairs=[(0, 1), (1, 2)])
        >>> len(plan.experiments), len(plan.circuits)
        (29, 447)
        >>> characterization([0], experiments=["zz"])
        Traceback (most recent call last):
        ...
        qtandem.errors.DataError: experiment 'zz' needs pairs=[(a, b), ...]
    """
    qs = [int(q) for q in qubits]
    prs = [tuple(int(q) for q in p) for p in (pairs or [])]
    if any(len(p) != 2 or p[0] == p[1] for p in prs):
        raise DataError(f"pairs must be pairs of distinct qubits, got {[tuple(p) for p in pairs or []]}")
    if len(set(qs)) != len(qs) or (not qs and not prs):
        raise DataError(f"qubits must be distinct qubit indices (at least one), got {list(qubits)}")
    names = list(experiments) if experiments is not None else [n for n in EXPERIMENTS
                                                                if prs or n not in PAIR_EXPERIMENTS]
    for name in names:
        if name not in EXPERIMENTS:
            raise DataError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENTS)})")
        if name in PAIR_EXPERIMENTS and not prs:
            raise DataError(f"experiment {name!r} needs pairs=[(a, b), ...]")
    if width is None:
        width = prior.num_qubits if prior is not None else max([*qs, *[q for p in prs for q in p]]) + 1
    if prior is not None:
        for a, b in prs:
            if max(a, b) < prior.num_qubits and not prior.coupling_map.has_edge(a, b):
                raise DataError(f"pair {(a, b)} is not on the coupling map of {prior.name!r}")
    exps: list[Experiment] = []
    for name in sorted(set(names), key=EXPERIMENTS.index):
        targets: list[tuple[int, ...]] = [(q,) for q in qs] if name not in PAIR_EXPERIMENTS else []
        if name in PAIR_EXPERIMENTS or name == "readout":
            targets += prs  # type: ignore[arg-type]
        for j, target in enumerate(targets):
            exps.append(build_experiment(name, target, width=width, prior=prior, n_seeds=n_seeds,
                                         seed=derive_seed(seed, EXPERIMENTS.index(name), j)))
    return CharacterizationPlan(exps, width, seed)
