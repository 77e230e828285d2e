"""Dissociation curves: VQE along a bond length, from equilibrium outward, with warm starts and checkpoints.

:func:`curve` builds one problem per distance from a geometry template (``"Li 0 0 0; H 0 0 {d}"``), aligns each
problem's orbitals to its already solved neighbour nearer equilibrium (:func:`qtandem.chem.align`: signs and
order, so that amplitudes mean the same thing along the curve), and solves the points in that order with
:func:`qtandem.chem.vqe`, starting each one cold, from the neighbour's parameters (aligned transfer) or from
:class:`~qtandem.chem.warmstart.WarmStartModel`'s prediction. Every solved point is written to a JSON checkpoint
(atomically) and a rerun with the same checkpoint resumes.

Evaluations are the solver's (``VQEResult.n_evaluations``, see :func:`qtandem.chem.vqe` for how a gradient call
counts); evaluations to chemical accuracy are the 1-based index of the first entry of ``VQEResult.history``
within ``accuracy`` (1.6 mHa) of the reference (CASCI of the same active space by default), scaled the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.errors import ChemistryError

__all__ = ["CHEMICAL_ACCURACY", "INITS", "CurvePoint", "CurveResult", "build_problems", "curve",
           "evaluations_to_accuracy", "solve_order"]

CHEMICAL_ACCURACY = 1.6e-3
"""Chemical accuracy in hartree (1 kcal/mol)."""

INITS = ("cold", "transfer", "two-level", "learned")
"""The starts :func:`curve` accepts as ``init``."""

_ADAPT = ("adapt", "qubit-adapt", "ceo-adapt")


@dataclass
class CurvePoint:
    """One solved geometry of a curve.

    Attributes:
        distance: the bond length (angstrom) put in the template.
        energy: the VQE energy (hartree).
        references: classical total energies of the problem (hf, mp2, ccsd, ccsd_t, casci, fci; ``None`` where
            not computed).
        error: ``energy - references[reference]`` (hartree).
        n_evaluations: the solver's evaluations to convergence.
        evaluations_to_accuracy: evaluations until the energy first came within ``accuracy`` of the reference
            (``None``: never).
        initial_error: the error of the starting parameters (first history entry).
        cnot_count: CNOTs of the solved, compiled circuit.
        parameters: the optimised parameters (in the aligned orbitals).
        operators: for ADAPT ansatze, the chosen operator labels in order.
        init: the start used (``cold`` at the first point whatever was asked).
        order: position in the solving order (0 = the first point solved).
        time_s: wall time of the solve.

    Examples:
        >>> p = CurvePoint(distance=1.0, energy=-1.1, references={"casci": -1.1}, error=0.0, n_evaluations=5,
        ...                evaluations_to_accuracy=2, initial_error=0.02, cnot_count=2, parameters=[0.1])
        >>> p.distance, p.evaluations_to_accuracy
        (1.0, 2)
    """

    distance: float
    energy: float
    references: dict[str, float | None]
    error: float
    n_evaluations: int
    evaluations_to_accuracy: int | None
    initial_error: float
    cnot_count: int | None
    parameters: list[float]
    operators: list[str] | None = None
    init: str = "cold"
    order: int = 0
    time_s: float = 0.0


@dataclass
class CurveResult:
    """The points of a curve (sorted by distance) and the configuration that produced them.

    Examples:
        >>> r = CurveResult(points=[], config={"init": "cold"})
        >>> r.total_evaluations(), r.distances
        (0, [])
    """

    points: list[CurvePoint]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def distances(self) -> list[float]:
        """The distances of the points, ascending."""
        return [p.distance for p in self.points]

    def total_evaluations(self, *, beyond: float | None = None, to_accuracy: bool = False) -> int:
        """Evaluations summed over the points (those with ``distance >= beyond`` if given).

        ``to_accuracy=True`` sums evaluations to chemical accuracy; a point that never reached it counts its
        evaluations to convergence.

        Examples:
            >>> CurveResult(points=[]).total_evaluations(beyond=2.0)
            0
        """
        total = 0
        for p in self.points:
            if beyond is not None and p.distance < beyond:
                continue
            if to_accuracy and p.evaluations_to_accuracy is not None:
                total += p.evaluations_to_accuracy
            else:
                total += p.n_evaluations
        return total

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (``config`` and ``points``).

        Examples:
            >>> CurveResult(points=[], config={"a": 1}).to_json()
            {'config': {'a': 1}, 'points': []}
        """
        return {"config": dict(self.config), "points": [asdict(p) for p in self.points]}


def evaluations_to_accuracy(history: Sequence[float], reference: float,
                            accuracy: float = CHEMICAL_ACCURACY) -> int | None:
    """1-based index of the first energy in ``history`` within ``accuracy`` of ``reference`` (``None``: never).

    Examples:
        >>> evaluations_to_accuracy([-1.0, -1.12, -1.137], -1.1373)
        3
        >>> evaluations_to_accuracy([-1.0], -1.1373) is None
        True
    """
    for i, e in enumerate(history):
        if abs(float(e) - reference) <= accuracy:
            return i + 1
    return None


def solve_order(distances: Sequence[float], start: int) -> list[tuple[int, int | None]]:
    """The order points are solved in: ``start`` first, then outward (longer bonds), then inward.

    Returns:
        ``(index, anchor)`` pairs: ``anchor`` is the neighbour nearer ``start`` whose orbitals and parameters
        the point starts from (``None`` for ``start``).

    Examples:
        >>> solve_order([0.5, 0.7, 1.0, 1.5], 1)
        [(1, None), (2, 1), (3, 2), (0, 1)]
    """
    n = len(distances)
    if not 0 <= start < n:
        raise ChemistryError(f"curve: start index {start} outside the {n} distances")
    order: list[tuple[int, int | None]] = [(start, None)]
    order += [(i, i - 1) for i in range(start + 1, n)]
    order += [(i, i + 1) for i in range(start - 1, -1, -1)]
    return order


def _config_key(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("checkpoint",)}


def _load_checkpoint(path: Path, config: dict[str, Any]) -> dict[float, CurvePoint]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ChemistryError(f"{path}: checkpoint is not valid JSON ({err.msg} at line {err.lineno}); delete it "
                             "to start over") from err
    saved = data.get("config", {})
    for key, value in _config_key(config).items():
        if saved.get(key) != value:
            raise ChemistryError(f"{path}: checkpoint was written with {key}={saved.get(key)!r}, this run has "
                                 f"{key}={value!r}; use another checkpoint or delete it")
    points = {}
    for row in data.get("points", []):
        point = CurvePoint(**row)
        points[round(point.distance, 10)] = point
    return points


def _save_checkpoint(path: Path, config: dict[str, Any], points: dict[float, CurvePoint]) -> None:
    from qtandem.io import atomic_write_text, json_safe

    rows = [asdict(points[k]) for k in sorted(points)]
    atomic_write_text(path, json.dumps(json_safe({"config": config, "points": rows}), indent=1) + "\n")


def _make_problem(template: str, d: float, *, basis: str, charge: int, spin: int, active: Any,
                  mapping: str, frozen_core: Any) -> Any:
    from qtandem.chem.molecule import Molecule

    try:
        geometry = template.format(d=d)
    except (KeyError, IndexError, ValueError) as err:
        raise ChemistryError(f"curve: the template must hold one {{d}} placeholder and nothing else in braces, "
                             f"got {template!r}") from err
    kwargs: dict[str, Any] = {"mapping": mapping}
    if frozen_core is not None:
        kwargs["frozen_core"] = frozen_core
    return Molecule(geometry, basis=basis, charge=charge, spin=spin).problem(active=active, **kwargs)


def build_problems(template: str, distances: Sequence[float], *, active: Any = None, basis: str = "sto-3g",
                   charge: int = 0, spin: int = 0, mapping: str = "jordan_wigner",
                   frozen_core: Any = None) -> dict[float, Any]:
    """The problems of a curve, ``{distance: problem}`` (PySCF runs once; pass them to several :func:`curve` s).

    Examples:
        >>> probs = build_problems("H 0 0 0; H 0 0 {d}", [0.74])
        >>> round(probs[0.74].references["fci"], 4)
        -1.1373
    """
    act = tuple(active) if active is not None else None
    return {float(d): _make_problem(template, float(d), basis=basis, charge=charge, spin=spin, active=act,
                                    mapping=mapping, frozen_core=frozen_core) for d in distances}


def _two_level(problem: Any, ansatz: str) -> np.ndarray:
    """:func:`~qtandem.chem.warmstart.two_level_parameters` of ``ansatz``'s operators on ``problem``."""
    from qtandem.chem.ansatz import ansatz as build_ansatz
    from qtandem.chem.warmstart import two_level_parameters

    a = build_ansatz(problem, ansatz)
    return two_level_parameters(problem.hamiltonian, [op.generator for op in a.operators], int(problem.hf_state))


class _Start:
    """A duck-typed previous result for ADAPT warm starts (operator sequence + parameters)."""

    def __init__(self, operators: list[str], parameters: np.ndarray) -> None:
        self.operators = operators
        self.parameters = parameters


def curve(template: str, distances: Sequence[float], *, active: Any = None, ansatz: str = "uccsd",
          init: str = "cold", optimizer: str = "bfgs", basis: str = "sto-3g", charge: int = 0, spin: int = 0,
          mapping: str = "jordan_wigner", frozen_core: Any = None, reference: str = "casci",
          accuracy: float = CHEMICAL_ACCURACY, start: float | None = None, tol: float | None = None,
          max_evaluations: int | None = None, model: Any = None, checkpoint: str | Path | None = None,
          seed: int = 0, compile_level: int | None = 1, problems: dict[float, Any] | None = None,
          progress: Callable[[str], None] | None = None) -> CurveResult:
    """Solve VQE at every distance of a bond-length curve, equilibrium first, warm-starting outward.

    Args:
        template: geometry in angstrom with a ``{d}`` placeholder, e.g. ``"Li 0 0 0; H 0 0 {d}"``.
        distances: the bond lengths (sorted ascending here).
        active: active space ``(n_electrons, n_orbitals)`` or ``None`` (all orbitals).
        ansatz: any name :func:`qtandem.chem.vqe` accepts.
        init: ``"cold"`` (reference state), ``"transfer"`` (the aligned neighbour's parameters),
            ``"two-level"`` (:func:`~qtandem.chem.warmstart.two_level_parameters` alone, the ablation) or
            ``"learned"`` (two-level estimate plus :class:`~qtandem.chem.warmstart.WarmStartModel`'s correction
            fitted on every solved point; for ADAPT: :func:`~qtandem.chem.warmstart.predict_operators`'
            sequence with the model's parameters).
        optimizer: passed to :func:`qtandem.chem.vqe` (``"bfgs"``, ``"cobyla"``, ...).
        basis, charge, spin, mapping, frozen_core: passed to :class:`qtandem.chem.Molecule` and ``.problem``.
        reference: the reference energy key (``casci``, ``fci``) errors are measured against.
        accuracy: the accuracy threshold of ``evaluations_to_accuracy`` (hartree).
        start: the distance solved first (default: the one with the lowest reference energy).
        tol, max_evaluations: passed to the solver (``None``: its defaults).
        model: a fresh ``WarmStartModel``-like object (``fit(features, parameters)``, ``predict``) for
            ``init="learned"``; default ``WarmStartModel(max_points=3)`` (chosen on the dev curves of
            ``bench/chem_curves.py``).
        checkpoint: JSON file: solved points are written there after each point and reused by a rerun with
            the same configuration.
        seed: passed to the solver.
        compile_level: :func:`qtandem.compile.optimize` level of the CNOT counts (``None``: uncompiled, faster).
        problems: problems already built for these distances (``{distance: problem}``, e.g. from
            :func:`build_problems`), unaligned; missing ones are built.
        progress: ``progress(message)`` after each point.

    Returns:
        :class:`CurveResult` with the points sorted by distance.

    Raises:
        ChemistryError: an unknown ``init``, no distances, a bad template, or a checkpoint from another
            configuration.

    Examples:
        >>> r = curve("H 0 0 0; H 0 0 {d}", [0.74, 1.0], init="transfer")   # doctest: +SKIP
        >>> [round(p.error, 6) for p in r.points]                             # doctest: +SKIP
        [0.0, 0.0]
        >>> curve("H 0 0 0; H 0 0 {d}", [0.74], init="psychic")
        Traceback (most recent call last):
        ...
        qtandem.errors.ChemistryError: curve: init must be one of cold, transfer, two-level, learned, got 'psychic'
    """
    if init not in INITS:
        raise ChemistryError(f"curve: init must be one of {', '.join(INITS)}, got {init!r}")
    ds = sorted(float(d) for d in distances)
    if not ds:
        raise ChemistryError("curve: no distances given")
    if len({round(d, 10) for d in ds}) != len(ds):
        raise ChemistryError(f"curve: repeated distances in {ds}")
    config: dict[str, Any] = {
        "template": template, "distances": ds, "active": list(active) if active is not None else None,
        "ansatz": ansatz, "init": init, "optimizer": optimizer, "basis": basis, "charge": charge, "spin": spin,
        "mapping": mapping, "frozen_core": frozen_core, "reference": reference, "accuracy": accuracy,
        "start": start, "tol": tol, "max_evaluations": max_evaluations, "seed": seed, "compile_level": compile_level,
    }
    from qtandem.chem.align import align
    from qtandem.chem.vqe import vqe
    from qtandem.chem.warmstart import WarmStartModel, predict_operators

    path = Path(checkpoint) if checkpoint is not None else None
    done: dict[float, CurvePoint] = {}
    if path is not None and path.exists():
        done = _load_checkpoint(path, config)
    build = {"basis": basis, "charge": charge, "spin": spin, "active": tuple(active) if active is not None else None,
             "mapping": mapping, "frozen_core": frozen_core}
    given = {round(float(k), 10): v for k, v in (problems or {}).items()}
    raw = [given[round(d, 10)] if round(d, 10) in given else _make_problem(template, d, **build) for d in ds]
    if start is None:
        energies = [p.references.get(reference) for p in raw]
        if any(e is None for e in energies):
            energies = [p.references["hf"] for p in raw]
        first = int(np.argmin(np.asarray(energies, dtype=np.float64)))
    else:
        first = int(np.argmin(np.abs(np.asarray(ds) - start)))
    aligned: dict[int, Any] = {}
    solved: dict[int, CurvePoint] = {}
    solver_kw: dict[str, Any] = {"optimizer": optimizer, "seed": seed, "compile_level": compile_level}
    if tol is not None:
        solver_kw["tol"] = tol
    if max_evaluations is not None:
        solver_kw["max_evaluations"] = max_evaluations
    adaptive = ansatz in _ADAPT
    bases: dict[int, np.ndarray] = {}

    def base(j: int) -> np.ndarray:
        """The two-level estimate of point ``j`` (its aligned problem, this ansatz's generators)."""
        if j not in bases:
            bases[j] = _two_level(aligned[j], ansatz)
        return bases[j]

    for position, (i, anchor) in enumerate(solve_order(ds, first)):
        problem = raw[i] if anchor is None else align(raw[i], aligned[anchor])
        aligned[i] = problem
        key = round(ds[i], 10)
        if key in done:
            solved[i] = done[key]
            continue
        used = init if anchor is not None else "cold"
        initial: Any = None
        if used == "transfer":
            prev = solved[anchor] if anchor is not None else None
            assert prev is not None
            initial = (_Start(list(prev.operators or []), np.asarray(prev.parameters)) if adaptive
                       else np.asarray(prev.parameters, dtype=np.float64))
        elif used == "two-level" and not adaptive:
            initial = base(i)
        elif used == "learned" and not adaptive:
            idx = sorted(solved)
            resid = np.array([np.asarray(solved[j].parameters) - base(j) for j in idx])
            fitted = (model if model is not None else WarmStartModel(max_points=3)).fit([[ds[j]] for j in idx], resid)
            initial = base(i) + fitted.predict([[ds[i]]])[0]
        elif used in ("learned", "two-level"):
            initial = _learned_start(ds, solved, i, anchor, model if model is not None
                                     else WarmStartModel(max_points=3), predict_operators)
        t0 = time.perf_counter()
        result = vqe(problem, ansatz=ansatz, initial=initial, **solver_kw)
        elapsed = time.perf_counter() - t0
        ref = problem.references.get(reference)
        if ref is None:
            raise ChemistryError(f"curve: the problem at d={ds[i]} has no {reference!r} reference energy")
        history = [float(e) for e in result.history]
        point = CurvePoint(
            distance=ds[i], energy=float(result.energy), references=dict(problem.references),
            error=float(result.energy) - float(ref), n_evaluations=int(result.n_evaluations),
            evaluations_to_accuracy=_scaled_to_accuracy(history, float(ref), accuracy, int(result.n_evaluations)),
            initial_error=(history[0] - float(ref)) if history else float("nan"),
            cnot_count=getattr(result, "cnot_count", None), parameters=[float(v) for v in result.parameters],
            operators=list(result.operators) if getattr(result, "operators", None) is not None else None,
            init=used, order=position, time_s=round(elapsed, 4))
        solved[i] = point
        done[key] = point
        if path is not None:
            _save_checkpoint(path, config, done)
        if progress is not None:
            progress(f"d={ds[i]:.3f} A: E={point.energy:.6f} Ha, error {point.error * 1e3:+.3f} mHa, "
                     f"{point.n_evaluations} evaluations ({used})")
    return CurveResult(points=[solved[i] for i in range(len(ds))], config=config)


def _scaled_to_accuracy(history: list[float], reference: float, accuracy: float, n_evaluations: int) -> int | None:
    """Evaluations to accuracy in the solver's units (history entries scaled to ``n_evaluations``)."""
    hit = evaluations_to_accuracy(history, reference, accuracy)
    if hit is None or not history:
        return hit
    if len(history) == n_evaluations:
        return hit
    return int(np.ceil(hit * n_evaluations / len(history)))


def _learned_start(ds: list[float], solved: dict[int, CurvePoint], i: int, anchor: int | None, model: Any,
                   predict_operators: Callable[..., list[str]]) -> Any:
    """The learned ADAPT start of point ``i``: operator sequence and parameters from every solved point."""
    idx = sorted(solved)
    feats = np.array([[ds[j]] for j in idx])
    query = [ds[i]]
    sequences = [list(solved[j].operators or []) for j in idx]
    ops = predict_operators(feats, sequences, query)
    assert anchor is not None
    prefix = list(solved[anchor].operators or [])
    # parameters per operator label: fit on the points that chose it, zero where none did
    values = []
    for label in ops:
        have = [j for j in idx if label in (solved[j].operators or [])]
        ys = np.array([[solved[j].parameters[(solved[j].operators or []).index(label)]] for j in have])
        values.append(float(model.fit(np.array([[ds[j]] for j in have]), ys).predict([query])[0, 0]))
    ops_kept = prefix + [op for op in ops if op not in prefix]
    lookup = dict(zip(ops, values, strict=True))
    return _Start(ops_kept, np.array([lookup[op] for op in ops_kept], dtype=np.float64))
