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

    def run(self, executor: Any, shots: int | Sequence[int], *, seed: int = 0,
            device_name: str | None = None) -> ShotData:
        """Run every circuit through ``executor``: ``shots`` shots each, or ``shots[i]`` for circuit ``i``.

        Args:
            executor: ``executor(circuits, shots[, seed=])`` (:mod:`qtandem.device.executors`).
            shots: shots per circuit: one number for all, or one per circuit (as
                :meth:`allocate` gives); circuits with the same count go to the executor together.
            seed: passed to the executor when it takes ``seed=``; recorded in the data.
            device_name: recorded in the data (what the shots came from).

        Raises:
            DataError: shots that are not positive integers (or not one per circuit), the
                executor returned the wrong number of results or counts that do not add up.

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

        circuits = self.circuits
        if isinstance(shots, bool) or not isinstance(shots, int | Sequence) or isinstance(shots, str):
            raise DataError(f"shots must be a positive integer or one per circuit, got {shots!r}")
        per = [shots] * len(circuits) if isinstance(shots, int) else list(shots)
        if len(per) != len(circuits) or any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in per):
            raise DataError(f"shots must be a positive integer or one positive integer per circuit "
                            f"({len(circuits)}), got {shots!r}")
        results: list[Any] = [None] * len(circuits)
        for k, n in enumerate(sorted(set(per))):
            idx = [i for i, m in enumerate(per) if m == n]
            run_seed = seed if k == 0 else derive_seed(seed, k)
            batch = [circuits[i] for i in idx]
            out = list(executor(batch, n, seed=run_seed) if accepts_seed(executor) else executor(batch, n))
            if len(out) != len(batch):
                raise DataError(f"the executor returned {len(out)} results for {len(batch)} circuits")
            for i, r in zip(idx, out, strict=True):
                results[i] = dict(r)
        return ShotData(self, results, per if not isinstance(shots, int) else shots,
                        [{"plan": self.seed, "run": seed}], device_name=device_name)

    def allocate(self, total: int, *, by: str = "experiment") -> list[int]:
        """Shots per circuit that spend about ``total`` shots in all.

        ``by="experiment"``: every experiment gets the same share of ``total``, spread evenly over
        its circuits (what a user does who gives every experiment the same budget; an experiment
        with few circuits, such as a readout calibration, gets more shots per circuit).
        ``by="circuit"``: the same shots for every circuit. Each circuit gets at least one shot.

        Raises:
            DataError: ``total`` not a positive integer or an unknown ``by``.

        Examples:
            >>> plan = characterization([0], experiments=["readout", "t1"])
            >>> shots = plan.allocate(2400)
            >>> shots[:3], sum(shots)
            ([600, 600, 100], 2400)
            >>> plan.allocate(1400, by="circuit")[:3]
            [100, 100, 100]
        """
        if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
            raise DataError(f"total must be a positive integer, got {total!r}")
        if by == "circuit":
            return [max(1, total // len(self.circuits))] * len(self.circuits)
        if by != "experiment":
            raise DataError(f"by must be 'experiment' or 'circuit', got {by!r}")
        share = total / len(self.experiments)
        return [max(1, int(share // len(exp.circuits))) for exp in self.experiments for _ in exp.circuits]

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
                     width: int | None = None, n_seeds: int = 3, readout: str = "single",
                     amplify: str = "poles", spectators: bool = False) -> CharacterizationPlan:
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
        readout: ``"single"``: one readout calibration per qubit (``|0>``, ``|1>``);
            ``"parallel"``: the qubits in groups that share no coupling (of ``prior``'s
            coupling map and ``pairs``; a greedy colouring in qubit order), each group read
            together from all ``|0...0>`` and all ``|1...1>``: every shot informs every qubit
            of its group, so a calibration of ``n`` qubits costs the circuits of two or three.
            Coupled qubits are never in one group: a device's correlated readout
            (``Device.readout_correlations``) is between coupled pairs. Pairs in ``pairs`` get
            their joint calibration either way.
        amplify: ``amplify_sx`` counts: ``"poles"`` (default; ``4k + 1`` and ``4k + 2`` up to
            twice the unimodal limit) or ``"equator"`` (``4k + 1`` up to that limit, the default
            before session 34); see :func:`~qtandem.learn.experiments.default_xs`.
        spectators: every one-qubit experiment (not ``readout``) on ``q`` also measures the other
            qubits of ``qubits`` that share no coupling with ``q`` nor with each other (greedy, the
            qubits read least often so far first; couplings of ``prior`` and ``pairs``): idle in
            ``|0>``, each of their shots is one more draw of their ``readout_p01`` at no extra
            circuit. The fit pools them
            (:func:`~qtandem.learn.data.fold_spectators`).

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
        >>> from qtandem.device import Device
        >>> plan = characterization(range(5), experiments=["readout"], prior=Device.preset("line_5"),
        ...                         readout="parallel")
        >>> [(e.qubits, e.xs) for e in plan.experiments]
        [((0, 2, 4), [0, 7]), ((1, 3), [0, 3])]
        >>> plan = characterization(range(5), experiments=["t1"], prior=Device.preset("line_5"), spectators=True)
        >>> [e.meta["spectators"] for e in plan.experiments]
        [[2, 4], [3], [0, 4], [1], [0, 2]]
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
    if readout not in ("single", "parallel"):
        raise DataError(f"readout must be 'single' or 'parallel', got {readout!r}")
    if width is None:
        width = prior.num_qubits if prior is not None else max([*qs, *[q for p in prs for q in p]]) + 1
    if prior is not None:
        for a, b in prs:
            if max(a, b) < prior.num_qubits and not prior.coupling_map.has_edge(a, b):
                raise DataError(f"pair {(a, b)} is not on the coupling map of {prior.name!r}")
    coupled = _coupled(prs, prior)
    used: dict[int, int] = {}  # how often each qubit is a spectator so far
    exps: list[Experiment] = []
    for name in sorted(set(names), key=EXPERIMENTS.index):
        targets: list[tuple[int, ...]] = [(q,) for q in qs] if name not in PAIR_EXPERIMENTS else []
        if name == "readout" and readout == "parallel":
            targets = _readout_groups(qs, prs, prior)
        if name in PAIR_EXPERIMENTS or name == "readout":
            targets += prs  # type: ignore[arg-type]
        for j, target in enumerate(targets):
            group = name == "readout" and readout == "parallel" and j < len(targets) - len(prs)
            xs = [0.0, 2.0 ** len(target) - 1] if group else None
            spect = (_spectators(target[0], qs, coupled, used) if spectators and len(target) == 1
                     and name not in ("readout", *PAIR_EXPERIMENTS) else [])
            exps.append(build_experiment(name, target, width=width, prior=prior, n_seeds=n_seeds, xs=xs,
                                         seed=derive_seed(seed, EXPERIMENTS.index(name), j), amplify=amplify,
                                         spectators=spect))
    return CharacterizationPlan(exps, width, seed)


def _coupled(pairs: Sequence[tuple[int, ...]], prior: Any) -> set[frozenset[int]]:
    out: set[frozenset[int]] = {frozenset(p) for p in pairs}
    if prior is not None:
        out |= {frozenset((int(a), int(b))) for a, b in prior.coupling_map.edges()}
    return out


def _spectators(q: int, qubits: Sequence[int], coupled: set[frozenset[int]], used: dict[int, int]) -> list[int]:
    """Qubits of ``qubits`` coupled neither to ``q`` nor to each other: greedy, the qubits read least
    often so far first (then in qubit order), so that every qubit that can be a spectator is one."""
    chosen: list[int] = []
    for s in sorted(qubits, key=lambda x: (used.get(x, 0), x)):
        if s != q and all(frozenset((s, o)) not in coupled for o in (q, *chosen)):
            chosen.append(s)
    for s in chosen:
        used[s] = used.get(s, 0) + 1
    return sorted(chosen)


def _readout_groups(qubits: Sequence[int], pairs: Sequence[tuple[int, ...]], prior: Any) -> list[tuple[int, ...]]:
    """``qubits`` in groups without a coupling inside (greedy colouring in qubit order)."""
    coupled = _coupled(pairs, prior)
    groups: list[list[int]] = []
    for q in qubits:
        for g in groups:
            if all(frozenset((q, o)) not in coupled for o in g):
                g.append(q)
                break
        else:
            groups.append([q])
    return [tuple(g) for g in groups]
