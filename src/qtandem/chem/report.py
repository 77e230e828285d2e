"""Figures and an HTML report for dissociation curves (matplotlib PNGs linked from ``report.html``).

Three figures, each from one or more :class:`~qtandem.chem.curve.CurveResult` (keyed by a label such as the
ansatz name): energy curves with the classical references (HF, CCSD, CCSD(T), CASCI, FCI) beside VQE, the VQE
error on a log scale with the chemical-accuracy band, and CNOT counts per ansatz along the curve.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qtandem.chem.curve import CHEMICAL_ACCURACY, CurveResult

__all__ = ["REFERENCE_LABELS", "curve_rows", "load_curve_config", "plot_cnots", "plot_energies", "plot_errors",
           "run_curve_config", "write_curve_report"]

REFERENCE_LABELS = {"hf": "HF", "mp2": "MP2", "ccsd": "CCSD", "ccsd_t": "CCSD(T)", "casci": "CASCI", "fci": "FCI"}
"""Display names of the reference keys."""


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _first(results: Mapping[str, CurveResult]) -> CurveResult:
    for r in results.values():
        return r
    raise ValueError("no curves to plot")


def plot_energies(results: Mapping[str, CurveResult]) -> Any:
    """Total energies along the curve: references (from the first result) and every VQE curve.

    Examples:
        >>> from qtandem.chem.curve import CurvePoint
        >>> p = CurvePoint(1.0, -1.1, {"hf": -1.0, "fci": -1.1}, 0.0, 3, 1, 0.1, 2, [0.1])
        >>> fig = plot_energies({"uccsd": CurveResult([p])})
        >>> len(fig.axes)
        1
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    first = _first(results)
    ds = first.distances
    styles = {"hf": ":", "mp2": "-.", "ccsd": "--", "ccsd_t": "--", "casci": "-", "fci": "-"}
    for key, label in REFERENCE_LABELS.items():
        values = [p.references.get(key) for p in first.points]
        if all(v is not None for v in values) and values:
            ax.plot(ds, values, styles[key], lw=1.2 if key != "fci" else 2.0, label=label,
                    color="k" if key == "fci" else None, alpha=0.8)
    for name, res in results.items():
        ax.plot(res.distances, [p.energy for p in res.points], "o", ms=4, label=f"VQE {name}")
    ax.set_xlabel("bond length (Å)")
    ax.set_ylabel("energy (Ha)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_errors(results: Mapping[str, CurveResult], *, reference: str = "fci") -> Any:
    """|E - E_reference| on a log scale, with the chemical-accuracy band shaded.

    The classical methods of the first result are drawn beside VQE (their own error against the same
    reference).

    Examples:
        >>> from qtandem.chem.curve import CurvePoint
        >>> p = CurvePoint(1.0, -1.1, {"hf": -1.0, "fci": -1.1}, 0.0, 3, 1, 0.1, 2, [0.1])
        >>> fig = plot_errors({"uccsd": CurveResult([p])})
        >>> fig.axes[0].get_yscale()
        'log'
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    first = _first(results)
    floor = 1e-9
    for key in ("hf", "ccsd", "ccsd_t", "casci"):
        if key == reference:
            continue
        pairs = [(p.distance, p.references.get(key), p.references.get(reference)) for p in first.points]
        if pairs and all(v is not None and r is not None for _, v, r in pairs):
            ax.plot([d for d, _, _ in pairs], [max(abs(v - r), floor) for _, v, r in pairs],  # type: ignore[operator]
                    "--", lw=1.2, label=REFERENCE_LABELS[key])
    for name, res in results.items():
        xs, ys = [], []
        for p in res.points:
            ref = p.references.get(reference)
            if ref is not None:
                xs.append(p.distance)
                ys.append(max(abs(p.energy - ref), floor))
        ax.plot(xs, ys, "o-", ms=4, label=f"VQE {name}")
    ax.axhspan(floor, CHEMICAL_ACCURACY, color="tab:green", alpha=0.12, label="chemical accuracy (1.6 mHa)")
    ax.set_yscale("log")
    ax.set_xlabel("bond length (Å)")
    ax.set_ylabel(f"|E - E_{REFERENCE_LABELS.get(reference, reference)}| (Ha)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def plot_cnots(results: Mapping[str, CurveResult]) -> Any:
    """CNOT counts of the solved circuits along the curve, one line per result.

    Examples:
        >>> from qtandem.chem.curve import CurvePoint
        >>> p = CurvePoint(1.0, -1.1, {"fci": -1.1}, 0.0, 3, 1, 0.1, 2, [0.1])
        >>> plot_cnots({"uccsd": CurveResult([p])}).axes[0].get_ylabel()
        'CNOTs'
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, res in results.items():
        pts = [(p.distance, p.cnot_count) for p in res.points if p.cnot_count is not None]
        ax.plot([d for d, _ in pts], [c for _, c in pts], "s-", ms=4, label=name)
    ax.set_xlabel("bond length (Å)")
    ax.set_ylabel("CNOTs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def curve_rows(result: CurveResult, *, reference: str = "casci") -> list[list[Any]]:
    """Table rows: distance, VQE energy, error vs ``reference`` and FCI (mHa), evaluations, to accuracy, CNOTs.

    Examples:
        >>> from qtandem.chem.curve import CurvePoint
        >>> p = CurvePoint(1.0, -1.1, {"casci": -1.1, "fci": -1.1}, 0.0, 3, 1, 0.1, 2, [0.1])
        >>> curve_rows(CurveResult([p]))
        [['1.000', '-1.100000', '0.000', '0.000', 3, 1, 2, 'cold']]
    """
    rows: list[list[Any]] = []
    for p in result.points:
        ref = p.references.get(reference)
        fci = p.references.get("fci")
        rows.append([f"{p.distance:.3f}", f"{p.energy:.6f}", "-" if ref is None else f"{(p.energy - ref) * 1e3:.3f}",
                     "-" if fci is None else f"{(p.energy - fci) * 1e3:.3f}", p.n_evaluations,
                     "-" if p.evaluations_to_accuracy is None else p.evaluations_to_accuracy,
                     "-" if p.cnot_count is None else p.cnot_count, p.init])
    return rows


def write_curve_report(results: Mapping[str, CurveResult], outdir: str | Path, *, title: str = "Dissociation curve",
                       reference: str = "casci") -> Path:
    """Write ``outdir/report.html`` with the three figures and one table per curve.

    Returns:
        The report's path.

    Examples:
        >>> import tempfile
        >>> from qtandem.chem.curve import CurvePoint
        >>> p = CurvePoint(1.0, -1.1, {"casci": -1.1, "fci": -1.1}, 0.0, 3, 1, 0.1, 2, [0.1])
        >>> write_curve_report({"uccsd": CurveResult([p])}, tempfile.mkdtemp()).name
        'report.html'
    """
    from qtandem.report import Report

    report = Report(title, outdir)
    sec = report.section("Energies")
    first = _first(results)
    cfg = first.config
    if cfg:
        sec.text(f"Geometry {cfg.get('template')!r}, basis {cfg.get('basis')}, active space {cfg.get('active')}, "
                 f"mapping {cfg.get('mapping')}, optimizer {cfg.get('optimizer')}, start {cfg.get('init')}.")
    sec.figure(plot_energies(results), "chem_energies", "Total energies: classical references and VQE.")
    sec = report.section("Errors")
    sec.figure(plot_errors(results), "chem_errors", "Errors against FCI on a log scale; the shaded band is "
               "chemical accuracy (1.6 mHa). CASCI's gap to FCI is the active space's own error.")
    sec = report.section("CNOT counts")
    sec.figure(plot_cnots(results), "chem_cnots", "CNOTs of the solved, compiled circuit at each bond length.")
    for name, res in results.items():
        sec = report.section(f"Points: {name}")
        sec.table(["d (Å)", "E VQE (Ha)", f"vs {reference} (mHa)", "vs FCI (mHa)", "evaluations",
                   "to 1.6 mHa", "CNOTs", "start"], curve_rows(res, reference=reference))
    return report.write()


_TOP_KEYS = {"geometry": str, "basis": str, "charge": int, "spin": int, "active": list, "mapping": str,
             "frozen_core": bool, "distances": list, "reference": str, "title": str, "seed": int, "solver": list,
             "compile": bool}
_SOLVER_KEYS = {"ansatz": str, "optimizer": str, "init": str, "label": str, "max_evaluations": int, "tol": float}


def _check(value: Any, kind: type, where: str) -> Any:
    from qtandem.config import type_name
    from qtandem.errors import ConfigError

    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {type_name(value)}")
    return value


def load_curve_config(path: str | Path) -> dict[str, Any]:
    """Read a ``qtandem chem curve`` TOML file and check every key (errors name the file and the key path).

    Top-level keys: ``geometry`` (with ``{d}``), ``distances`` (list of angstrom), ``active`` ([n_electrons,
    n_orbitals]), ``basis``, ``charge``, ``spin``, ``mapping``, ``frozen_core``, ``reference``, ``title``,
    ``seed``, ``compile`` (``false``: count CNOTs before compilation, faster); one or more ``[[solver]]``
    tables with ``ansatz``, ``optimizer``, ``init``, ``label``, ``max_evaluations``, ``tol``.

    Raises:
        ConfigError: invalid TOML, an unknown key, a wrong type, a missing ``geometry``/``distances``.

    Examples:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.toml"
        >>> head = 'geometry = "H 0 0 0; H 0 0 {d}"\\ndistances = [0.7, 1.0]\\n'
        >>> _ = p.write_text(head + '[[solver]]\\nansatz = "uccsd"\\n')
        >>> load_curve_config(p)["solver"][0]["label"]
        'uccsd-bfgs-transfer'
        >>> _ = p.write_text('geometry = "H 0 0 0; H 0 0 {d}"\\ndistances = [0.7]\\n[[solver]]\\nansatz_ = "x"\\n')
        >>> load_curve_config(p)
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: ...c.toml: solver[0].ansatz_: unknown key (did you mean 'ansatz'?)
    """
    import tomllib

    from qtandem.chem.curve import INITS
    from qtandem.config import did_you_mean, read_config_text
    from qtandem.errors import ConfigError

    source = str(path)
    try:
        raw = tomllib.loads(read_config_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    cfg: dict[str, Any] = {"basis": "sto-3g", "charge": 0, "spin": 0, "active": None, "mapping": "jordan_wigner",
                           "frozen_core": None, "reference": "casci", "title": "Dissociation curve", "seed": 0,
                           "compile": True}
    for key, value in raw.items():
        if key not in _TOP_KEYS:
            raise ConfigError(f"{source}: {key}: unknown key{did_you_mean(key, _TOP_KEYS)}")
        cfg[key] = _check(value, _TOP_KEYS[key], f"{source}: {key}")
    for key in ("geometry", "distances"):
        if key not in cfg:
            raise ConfigError(f"{source}: {key}: missing (required)")
    if "{d}" not in cfg["geometry"]:
        raise ConfigError(f"{source}: geometry: needs a {{d}} placeholder for the bond length, got "
                          f"{cfg['geometry']!r}")
    ds = cfg["distances"]
    if not ds or any(isinstance(d, bool) or not isinstance(d, int | float) or d <= 0 for d in ds):
        raise ConfigError(f"{source}: distances: expected a non-empty list of positive numbers, got {ds!r}")
    cfg["distances"] = [float(d) for d in ds]
    if cfg["active"] is not None:
        act = cfg["active"]
        if len(act) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in act):
            raise ConfigError(f"{source}: active: expected [n_electrons, n_orbitals], got {act!r}")
    solvers = []
    for i, table in enumerate(cfg.get("solver") or [{}]):
        where = f"{source}: solver[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a [[solver]] table")
        s: dict[str, Any] = {"ansatz": "uccsd", "optimizer": "bfgs", "init": "transfer", "max_evaluations": None,
                             "tol": None}
        for key, value in table.items():
            if key not in _SOLVER_KEYS:
                raise ConfigError(f"{where}.{key}: unknown key{did_you_mean(key, _SOLVER_KEYS)}")
            s[key] = _check(value, _SOLVER_KEYS[key], f"{where}.{key}")
        if s["init"] not in INITS:
            raise ConfigError(f"{where}.init: must be one of {', '.join(INITS)}; got {s['init']!r}"
                              f"{did_you_mean(s['init'], INITS)}")
        s.setdefault("label", f"{s['ansatz']}-{s['optimizer']}-{s['init']}")
        solvers.append(s)
    labels = [s["label"] for s in solvers]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{source}: solver: two solvers share a label ({labels}); give each a distinct label")
    cfg["solver"] = solvers
    return cfg


def _prefixed(progress: Any, label: str) -> Any:
    def call(message: str) -> None:
        progress(f"{label}: {message}")

    return call


def run_curve_config(cfg: dict[str, Any], outdir: str | Path, *,
                     progress: Any = None) -> tuple[dict[str, CurveResult], Path]:
    """Run every ``[[solver]]`` of a config from :func:`load_curve_config` with checkpoints in ``outdir``.

    Each solver's points go to ``outdir/points-<label>.json`` after every point (a rerun resumes from them);
    the results go to ``outdir/curve.json`` and the figures and ``report.html`` beside them.

    Returns:
        (results keyed by label, path of ``report.html``).

    Examples:
        >>> cfg = {"geometry": "H 0 0 0; H 0 0 {d}", "distances": [0.74], "solver": []}
        >>> import tempfile
        >>> run_curve_config(cfg, tempfile.mkdtemp())
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: no [[solver]] to run
    """
    import json

    from qtandem.chem.curve import curve
    from qtandem.errors import ConfigError
    from qtandem.io import atomic_write_text, json_safe

    if not cfg.get("solver"):
        raise ConfigError("no [[solver]] to run")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, CurveResult] = {}
    for s in cfg["solver"]:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s["label"])
        results[s["label"]] = curve(
            cfg["geometry"], cfg["distances"], active=cfg.get("active"), ansatz=s["ansatz"], init=s["init"],
            optimizer=s["optimizer"], basis=cfg.get("basis", "sto-3g"), charge=cfg.get("charge", 0),
            spin=cfg.get("spin", 0), mapping=cfg.get("mapping", "jordan_wigner"), frozen_core=cfg.get("frozen_core"),
            reference=cfg.get("reference", "casci"), max_evaluations=s.get("max_evaluations"), tol=s.get("tol"),
            seed=cfg.get("seed", 0), checkpoint=out / f"points-{safe}.json",
            compile_level=1 if cfg.get("compile", True) else None,
            progress=None if progress is None else _prefixed(progress, s["label"]))
    atomic_write_text(out / "curve.json", json.dumps(json_safe({k: r.to_json() for k, r in results.items()}),
                                                     indent=1) + "\n")
    path = write_curve_report(results, out, title=cfg.get("title", "Dissociation curve"),
                              reference=cfg.get("reference", "casci"))
    return results, path
