"""Sweep job kinds for the applications: a VQE curve point (``vqe``) and a QAOA instance (``qaoa``).

Each point is one chunk (one task): a VQE energy at one bond length, or one QAOA run on one problem
instance. The task returns its numbers under ``result`` (kept in the sweep's table) with its wall and
CPU time. The seed of a point's chunk comes from the point's hash (:data:`~qtandem.sweep.runner.SEED_POLICY`),
so a resumed sweep gives the same numbers.

``vqe`` parameters: ``geometry`` (with ``{d}`` for the bond length), ``d``, ``basis`` (sto-3g),
``active`` ([electrons, orbitals] or [] for all), ``mapping`` (jordan_wigner), ``ansatz`` (uccsd),
``optimizer`` (bfgs), ``max_evaluations`` (0: none), ``reference`` (fci or casci). Needs the ``chem`` extra.

``qaoa`` parameters: a problem, either ``problem`` (a ``qtandem opt`` problem file) or a random
``d``-regular MaxCut graph (``graph = "regular"``, ``nodes``, ``degree``, ``instance``: the graph's
seed), and ``p`` (2), ``init`` (interp), ``mixer`` (x), ``max_evaluations`` (0: none).

Examples:
    >>> from qtandem.sweep.jobs import get_job
    >>> job = get_job("qaoa")
    >>> prepared = job.prepare({"graph": "regular", "nodes": 6, "degree": 3, "instance": 1, "p": 1}, "points[0]")
    >>> out = job.task(job.payload(prepared, 0, 7))
    >>> 0.5 < out["result"]["approximation_ratio"] <= 1.0
    True
"""

from __future__ import annotations

import time
from typing import Any

from qtandem.config import did_you_mean, type_name
from qtandem.errors import ConfigError
from qtandem.sweep.jobs import OneChunkJob, PreparedPoint

__all__ = ["QaoaJob", "VqeJob", "qaoa_task", "vqe_task"]


def _fill(point: dict[str, Any], defaults: dict[str, Any], where: str, job: str) -> dict[str, Any]:
    for key in point:
        if key not in defaults:
            raise ConfigError(f"{where}.{key}: unknown parameter of job {job!r}{did_you_mean(key, defaults)} "
                              f"({', '.join(defaults)})")
    out = {**defaults, **point}
    for key, value in out.items():
        ref = defaults[key]
        if ref is None:
            continue
        ok = type(value) is type(ref) or (isinstance(ref, float) and isinstance(value, int)
                                          and not isinstance(value, bool))
        if not ok:
            raise ConfigError(f"{where}.{key}: expected {type_name(ref)}, got {type_name(value)} ({value!r})")
    return out


def _timed(fn: Any, payload: dict[str, Any]) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn(payload)
    return {"result": result, "seconds": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


_VQE = {"geometry": "H 0 0 0; H 0 0 {d}", "d": 0.735, "basis": "sto-3g", "active": [], "mapping": "jordan_wigner",
        "ansatz": "uccsd", "optimizer": "bfgs", "max_evaluations": 0, "reference": "fci"}


def vqe_task(payload: dict[str, Any]) -> dict[str, Any]:
    """One VQE energy at one bond length: ``{"result": {energy, reference, error, n_evaluations}, "seconds", "cpu_s"}``.

    Examples:
        >>> out = vqe_task({**_VQE, "seed": 0})  # doctest: +SKIP
        >>> out["result"]["error"] < 1e-6  # doctest: +SKIP
        True
        >>> sorted(_VQE)[:3]
        ['active', 'ansatz', 'basis']
    """
    def run(p: dict[str, Any]) -> dict[str, Any]:
        from qtandem.chem import Molecule, vqe

        active = tuple(p["active"]) if p["active"] else None
        problem = Molecule(p["geometry"].format(d=p["d"]), basis=p["basis"]).problem(
            active=active, mapping=p["mapping"])  # type: ignore[arg-type]
        res = vqe(problem, p["ansatz"], optimizer=p["optimizer"], seed=int(p["seed"]),
                  max_evaluations=p["max_evaluations"] or None)
        ref = problem.references.get(p["reference"])
        energy = float(res.energy)
        return {"energy": energy, "reference": None if ref is None else float(ref),
                "error": None if ref is None else abs(energy - float(ref)), "n_evaluations": int(res.n_evaluations),
                "n_qubits": int(problem.n_qubits)}
    return _timed(run, payload)


class VqeJob(OneChunkJob):
    """``vqe``: a point of a dissociation curve (one chunk).

    Examples:
        >>> VqeJob().prepare({"d": 0.9}, "points[0]").params["geometry"]
        'H 0 0 0; H 0 0 {d}'
        >>> VqeJob().prepare({"distance": 0.9}, "points[0]")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: points[0].distance: unknown parameter of job 'vqe' ...
    """

    name = "vqe"

    def prepare(self, point: dict[str, Any], where: str) -> PreparedPoint:
        """Check the parameters (defaults in the module docstring); ``{d}`` must be in the geometry."""
        p = _fill(point, _VQE, where, self.name)
        if "{d}" not in p["geometry"]:
            raise ConfigError(f"{where}.geometry: put {{d}} where the bond length goes, e.g. 'H 0 0 0; H 0 0 {{d}}'")
        if p["reference"] not in ("fci", "casci"):
            raise ConfigError(f"{where}.reference: expected 'fci' or 'casci', got {p['reference']!r}")
        return PreparedPoint(p, p, p["geometry"].format(d=p["d"]), 1)

    def payload(self, prepared: PreparedPoint, chunk: int, seed: int) -> dict[str, Any]:
        """The parameters and the chunk's seed."""
        return {**prepared.params, "seed": seed % 2**31}

    def task(self, payload: dict[str, Any]) -> dict[str, Any]:
        """:func:`vqe_task`."""
        return vqe_task(payload)


_QAOA = {"problem": "", "graph": "", "nodes": 8, "degree": 3, "instance": 0, "p": 2, "init": "interp", "mixer": "x",
         "max_evaluations": 0}


def _problem(p: dict[str, Any]) -> Any:
    if p["problem"]:
        from qtandem.opt import load_problem

        return load_problem(p["problem"])
    import networkx as nx

    from qtandem.opt import maxcut

    return maxcut(nx.random_regular_graph(p["degree"], p["nodes"], seed=p["instance"]))


def qaoa_task(payload: dict[str, Any]) -> dict[str, Any]:
    """One QAOA run on one instance: ``{"result": {approximation_ratio, p_optimal, ...}, "seconds", "cpu_s"}``.

    Examples:
        >>> out = qaoa_task({**_QAOA, "graph": "regular", "nodes": 6, "p": 1, "seed": 3})
        >>> out["result"]["n_variables"], out["result"]["approximation_ratio"] > 0.5
        (6, True)
    """
    def run(p: dict[str, Any]) -> dict[str, Any]:
        from qtandem.opt import qaoa

        problem = _problem(p)
        res = qaoa(problem, p["p"], init=p["init"], mixer=p["mixer"], seed=int(p["seed"]),
                   max_evaluations=p["max_evaluations"] or None)
        return {"approximation_ratio": float(res.approximation_ratio), "p_optimal": float(res.p_optimal),
                "energy": float(res.energy), "optimal_energy": float(res.optimal_energy),
                "n_evaluations": int(res.n_evaluations), "n_variables": int(problem.n_variables)}
    return _timed(run, payload)


class QaoaJob(OneChunkJob):
    """``qaoa``: one QAOA run on one problem instance (one chunk).

    Examples:
        >>> QaoaJob().prepare({"graph": "regular", "instance": 4}, "points[0]").params["nodes"]
        8
        >>> QaoaJob().prepare({"p": 2}, "points[0]")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: points[0]: give a problem file (problem = "FILE.toml") or graph = "regular"
    """

    name = "qaoa"

    def prepare(self, point: dict[str, Any], where: str) -> PreparedPoint:
        """Check the parameters; the problem file's text (or the graph's parameters) enters the hash."""
        p = _fill(point, _QAOA, where, self.name)
        if bool(p["problem"]) == (p["graph"] == "regular"):
            raise ConfigError(f"{where}: give a problem file (problem = \"FILE.toml\") or graph = \"regular\"")
        if p["graph"] not in ("", "regular"):
            raise ConfigError(f"{where}.graph: only \"regular\" (random d-regular MaxCut) is known, got {p['graph']!r}")
        text = ""
        if p["problem"]:
            from pathlib import Path

            f = Path(p["problem"])
            if not f.is_file():
                raise ConfigError(f"{where}.problem: no such file {f}")
            text = f.read_text(encoding="utf-8")
        elif (p["nodes"] * p["degree"]) % 2 or p["degree"] >= p["nodes"]:
            raise ConfigError(f"{where}.degree: no {p['degree']}-regular graph on {p['nodes']} nodes")
        return PreparedPoint(p, p, text, 1)

    def payload(self, prepared: PreparedPoint, chunk: int, seed: int) -> dict[str, Any]:
        """The parameters and the chunk's seed."""
        return {**prepared.params, "seed": seed % 2**31}

    def task(self, payload: dict[str, Any]) -> dict[str, Any]:
        """:func:`qaoa_task`."""
        return qaoa_task(payload)
