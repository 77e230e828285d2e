"""``qtandem chem energy GEOMETRY`` (one VQE energy beside the classical references) and ``qtandem chem curve
CONFIG.toml`` (a dissociation curve: checkpointed, resumable, with an HTML report).

See :mod:`qtandem.chem` (problems and solvers) and :mod:`qtandem.chem.curve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OutputFile, OverwriteFlag
from qtandem.cli.main import friendly


def parse_active(text: str | None) -> tuple[int, int] | None:
    """``--active 2,5`` as ``(2, 5)`` (electrons, spatial orbitals); ``None`` for all orbitals.

    Raises:
        ConfigError: not two positive integers.

    Examples:
        >>> parse_active("2,5")
        (2, 5)
        >>> parse_active("2")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: --active: expected N_ELECTRONS,N_ORBITALS (e.g. 2,5), got '2'
    """
    from qtandem.errors import ConfigError

    if text is None or text.strip().lower() in ("", "all", "none"):
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or min(values) < 1:
        raise ConfigError(f"--active: expected N_ELECTRONS,N_ORBITALS (e.g. 2,5), got {text!r}")
    return values[0], values[1]


def register(app: typer.Typer) -> None:
    """Add the ``chem`` group (``energy``, ``curve``) to ``app``."""
    group = typer.Typer(help="Quantum chemistry: VQE energies and dissociation curves beside PySCF's references.",
                        no_args_is_help=True)
    app.add_typer(group, name="chem")

    @group.command("energy")
    @friendly
    def energy(
        geometry: Annotated[str, typer.Argument(metavar="GEOMETRY",
                                                help='Atoms in angstrom, e.g. "Li 0 0 0; H 0 0 1.595".')],
        active: Annotated[str | None, typer.Option("--active", metavar="NE,NO",
                                                   help="Active space: electrons,spatial orbitals (e.g. 2,5).")
                          ] = None,
        ansatz: Annotated[str, typer.Option("--ansatz", metavar="NAME",
                                            help="uccsd, kupccgsd, hea, adapt, qubit-adapt or ceo-adapt.")
                          ] = "uccsd",
        optimizer: Annotated[str, typer.Option("--optimizer", metavar="NAME",
                                               help="bfgs, lbfgs, cobyla, spsa or adam.")] = "bfgs",
        basis: Annotated[str, typer.Option("--basis", metavar="BASIS", help="Gaussian basis set.")] = "sto-3g",
        charge: Annotated[int, typer.Option("--charge", metavar="INT", help="Total charge.")] = 0,
        spin: Annotated[int, typer.Option("--spin", metavar="INT", help="2S = n_alpha - n_beta.")] = 0,
        mapping: Annotated[str, typer.Option("--mapping", metavar="NAME",
                                             help="jordan_wigner, bravyi_kitaev or parity.")] = "jordan_wigner",
        seed: Annotated[int, typer.Option("--seed", metavar="SEED", help="Seed of everything random.")] = 0,
        device: Annotated[str | None, typer.Option(
            "--device", metavar="NAME", help="Run every energy on this device preset or file (compiled for it, "
            "its noise model; COBYLA).")] = None,
        mitigation: Annotated[str, typer.Option(
            "--mitigation", metavar="NAME", help="With --device: none, readout, zne or readout+zne.")
        ] = "readout+zne",
        shots: Annotated[int, typer.Option("--shots", metavar="N", help="With --device: shots per measured basis "
                                           "per energy.")] = 10_000,
        max_evaluations: Annotated[int | None, typer.Option(
            "--max-evaluations", metavar="N", help="Energy-evaluation budget (default: the optimizer's; 60 with "
            "--device).")] = None,
        top_k: Annotated[int | None, typer.Option(
            "--top-k", metavar="K", help="ADAPT ansatze: learned operator selection, measuring only the K "
            "best-ranked pool gradients per iteration.")] = None,
        output: OutputFile = None,
        as_json: JsonFlag = False,
    ) -> None:
        """VQE ground-state energy of a molecule, with HF/MP2/CCSD/CCSD(T)/CASCI/FCI and the CNOT count."""
        if output is not None:
            from qtandem.cli.common import check_output_file

            check_output_file(output)
        report = _energy(geometry, parse_active(active), ansatz, optimizer, basis, charge, spin, mapping, seed,
                         device=device, mitigation=mitigation, shots=shots, top_k=top_k,
                         max_evaluations=max_evaluations)
        if output is not None:
            import json

            from qtandem.io import atomic_write_text, json_safe

            atomic_write_text(output, json.dumps(json_safe(report), indent=1) + "\n")
        if as_json:
            from qtandem.cli.common import emit_json

            emit_json(report)
            return
        _print_energy(report)

    @group.command("curve")
    @friendly
    def curve_cmd(
        config: Annotated[Path, typer.Argument(metavar="CONFIG",
                                               help="TOML: geometry with {d}, distances, active, [[solver]]s.")],
        output: OutputDir = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the checkpointed points in -o DIR."
                                             )] = False,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Dissociation curve: VQE at every bond length (equilibrium first, warm starts outward), checkpointed
        after each point, with an HTML report (energies, log errors with the chemical-accuracy band, CNOTs)."""
        from qtandem.chem.report import load_curve_config
        from qtandem.cli.common import prepare_output_dir

        cfg = load_curve_config(config)
        folder = output if output is not None else Path("runs") / f"chem-curve-{config.stem}"
        prepare_output_dir(folder, overwrite=overwrite, resume=resume)
        if overwrite and not resume:
            for old in folder.glob("points-*.json"):
                old.unlink()
        results, report_path = _run_curve(cfg, folder, quiet=as_json)
        summary = {label: {"total_evaluations": r.total_evaluations(),
                           "evaluations_to_accuracy": r.total_evaluations(to_accuracy=True),
                           "max_abs_error_mha": max(abs(p.error) * 1e3 for p in r.points),
                           "points": len(r.points)} for label, r in results.items()}
        if as_json:
            from qtandem.cli.common import emit_json

            emit_json({"report": str(report_path), "curve": str(folder / "curve.json"), "summary": summary})
            return
        for label, s in summary.items():
            typer.echo(f"{label}: {s['points']} points, {s['total_evaluations']} evaluations "
                       f"({s['evaluations_to_accuracy']} to chemical accuracy), max |error| "
                       f"{s['max_abs_error_mha']:.3f} mHa")
        typer.echo(f"report: {report_path}")


def _run_curve(cfg: dict[str, Any], folder: Path, *, quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qtandem.chem.report import run_curve_config

    total = len(cfg["distances"]) * len(cfg["solver"])
    bar = Progress(TextColumn("points"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                   TimeElapsedColumn(), console=Console(stderr=True, quiet=quiet), transient=True)
    task = bar.add_task("curve", total=total, last="")

    def step(message: str) -> None:
        bar.update(task, advance=1, last=message[:70])

    with bar:
        return run_curve_config(cfg, folder, progress=step)


def _energy(geometry: str, active: tuple[int, int] | None, ansatz: str, optimizer: str, basis: str, charge: int,
            spin: int, mapping: str, seed: int, *, device: str | None = None, mitigation: str = "readout+zne",
            shots: int = 10_000, top_k: int | None = None, max_evaluations: int | None = None) -> dict[str, Any]:
    import time

    from qtandem.chem.molecule import Molecule
    from qtandem.chem.vqe import ADAPTIVE, vqe
    from qtandem.errors import ConfigError

    t0 = time.perf_counter()
    options: dict[str, Any] = {}
    if top_k is not None:
        if ansatz not in ADAPTIVE:
            raise ConfigError(f"--top-k selects ADAPT operators; use it with --ansatz {'/'.join(ADAPTIVE)}")
        if top_k < 1:
            raise ConfigError(f"--top-k must be >= 1, got {top_k}")
        from qtandem.chem.adapt_learned import OperatorRanker

        options.update(ranker=OperatorRanker.default(), top_k=top_k)
    if device is not None:
        if shots < 1:
            raise ConfigError(f"--shots must be >= 1, got {shots}")
        options.update(device=device, mitigation=mitigation, shots=shots)
    if max_evaluations is not None:
        if max_evaluations < 1:
            raise ConfigError(f"--max-evaluations must be >= 1, got {max_evaluations}")
        options["max_evaluations"] = max_evaluations
    problem = Molecule(geometry, basis=basis, charge=charge, spin=spin).problem(active=active, mapping=mapping)
    result = vqe(problem, ansatz=ansatz, optimizer=optimizer, seed=seed, **options)
    refs = {k: (None if v is None else float(v)) for k, v in problem.references.items()}
    energy = float(result.energy)
    extra = result.extra
    return {
        "geometry": geometry, "basis": basis, "active": list(active) if active else None, "mapping": mapping,
        "n_qubits": int(problem.n_qubits), "ansatz": ansatz, "optimizer": result.optimizer or optimizer,
        "energy": energy, "device": device, "mitigation": extra.get("mitigation"),
        "raw_energy": extra.get("raw_energy"), "exact_energy": result.exact_energy,
        "pool_gradients": extra.get("pool_gradients"),
        "references": refs,
        "error_vs_casci": None if refs.get("casci") is None else energy - refs["casci"],  # type: ignore[operator]
        "error_vs_fci": None if refs.get("fci") is None else energy - refs["fci"],  # type: ignore[operator]
        "cnot_count": getattr(result, "cnot_count", None), "n_evaluations": int(result.n_evaluations),
        "operators": list(result.operators) if getattr(result, "operators", None) is not None else None,
        "time_s": round(time.perf_counter() - t0, 3),
    }


def _print_energy(r: dict[str, Any]) -> None:
    from qtandem.chem.report import REFERENCE_LABELS

    active = "all orbitals" if r["active"] is None else f"CAS({r['active'][0]},{r['active'][1]})"
    typer.echo(f"{r['geometry']}  {r['basis']}, {active}, {r['mapping']}: {r['n_qubits']} qubits")
    typer.echo(f"VQE {r['ansatz']} ({r['optimizer']}): {r['energy']:.8f} Ha, {r['n_evaluations']} evaluations, "
               f"{r['cnot_count']} CNOTs")
    if r.get("device"):
        typer.echo(f"on device {r['device']}: mitigation {r['mitigation']}, raw estimate {r['raw_energy']:.6f} Ha, "
                   f"noiseless energy of the parameters {r['exact_energy']:.6f} Ha")
    if r.get("pool_gradients") is not None:
        typer.echo(f"ADAPT pool gradients measured: {r['pool_gradients']}")
    for key, label in REFERENCE_LABELS.items():
        value = r["references"].get(key)
        if value is not None:
            typer.echo(f"  {label:<8} {value:.8f} Ha   VQE - {label}: {(r['energy'] - value) * 1e3:+.4f} mHa")
    for key in ("casci", "fci"):
        err = r[f"error_vs_{key}"]
        if err is not None:
            verdict = "within" if abs(err) <= 1.6e-3 else "outside"
            typer.echo(f"error vs {key.upper()}: {err * 1e3:+.4f} mHa ({verdict} chemical accuracy, 1.6 mHa)")
