"""``qtandem learn``: plan characterization experiments, run them, calibrate a device from the shots.

``qtandem learn plan --qubits 0-4 --pairs 0-1,1-2 -o plan.json``,
``qtandem learn run plan.json --device heavy_hex_27 --shots 2000 -o data/``,
``qtandem learn calibrate data/ -o device.json`` (a progress bar on the terminal, the HTML report in
``device_report/`` beside the device file). The library (:mod:`qtandem.learn`) holds the behaviour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OutputFile, OverwriteFlag
from qtandem.cli.main import friendly

EXPERIMENT_NAMES = "readout, t1, ramsey, echo, amplify_sx, amplify_x, amplify_cx, zz, rb, irb"
"""The experiments ``learn plan --experiments`` accepts (qtandem.learn.experiments.EXPERIMENTS; a test keeps them
equal), written out so that ``-h`` needs no import of the library."""
SeedOption = Annotated[int, typer.Option("--seed", help="Seed (RB sequences, shot sampling, fit restarts).")]


def parse_qubits(text: str, *, option: str = "--qubits") -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"0,2,5-6"`` -> ``[0, 2, 5, 6]``.

    Raises:
        ConfigError: anything else (the message shows the option and the accepted forms).

    Examples:
        >>> parse_qubits("0-2,5")
        [0, 1, 2, 5]
    """
    from qtandem.errors import ConfigError

    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ConfigError(f"{option} {text!r}: expected qubit indices such as 0-4 or 0,2,3")
        a, b = int(lo), int(hi) if sep else int(lo)
        if b < a:
            raise ConfigError(f"{option} {text!r}: range {part} runs backwards")
        out.extend(range(a, b + 1))
    if len(set(out)) != len(out):
        raise ConfigError(f"{option} {text!r}: a qubit is listed twice")
    return out


def parse_pairs(text: str) -> list[tuple[int, int]]:
    """``"0-1,1-2"`` -> ``[(0, 1), (1, 2)]`` (control first for the cx experiments).

    Raises:
        ConfigError: a token that is not ``A-B`` with two distinct qubit indices.

    Examples:
        >>> parse_pairs("0-1,2-1")
        [(0, 1), (2, 1)]
    """
    from qtandem.errors import ConfigError

    pairs = []
    for part in text.replace(" ", "").split(","):
        a, sep, b = part.partition("-")
        if not (sep and a.isdigit() and b.isdigit()) or a == b:
            raise ConfigError(f"--pairs {text!r}: expected coupled pairs such as 0-1,1-2")
        pairs.append((int(a), int(b)))
    return pairs


def register(app: typer.Typer) -> None:
    """Add the ``learn`` command group (plan, run, calibrate) to ``app``."""
    group = typer.Typer(help="Learn a device from its shots: plan experiments, run them, calibrate.",
                        no_args_is_help=True)
    app.add_typer(group, name="learn")

    @group.command("plan")
    @friendly
    def plan_cmd(
        qubits: Annotated[str, typer.Option("--qubits", metavar="LIST", help="Qubits to characterize: 0-4 or 0,2,3.")],
        pairs: Annotated[str | None, typer.Option("--pairs", metavar="LIST",
                                                  help="Coupled pairs for cx, ZZ and two-qubit RB: 0-1,1-2.")] = None,
        experiments: Annotated[str | None, typer.Option(
            "--experiments", metavar="LIST", help=f"Comma-separated experiment names, from {EXPERIMENT_NAMES} "
                                                  "(default: all that apply).",
        )] = None,
        device: Annotated[str | None, typer.Option("--device", metavar="NAME|FILE",
                                                   help="Prior device (preset name or JSON) that sets delays "
                                                        "and lengths, and checks the qubits and pairs.")] = None,
        seed: SeedOption = 0,
        output: OutputFile = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Write a characterization plan (JSON, circuits as OpenQASM 3); stdout without -o."""
        import json

        from qtandem.cli.common import check_output_file, emit_json
        from qtandem.device import Device
        from qtandem.errors import ConfigError
        from qtandem.learn.experiments import PAIR_EXPERIMENTS
        from qtandem.learn.plan import characterization

        if seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {seed}")
        if output is not None:
            check_output_file(output)
        names = None if experiments is None else [n.strip() for n in experiments.split(",") if n.strip()]
        if names is not None and not names:
            raise ConfigError(f"--experiments {experiments!r} names no experiment: give some of {EXPERIMENT_NAMES}, "
                              "or leave the option out for all that apply")
        needs_pairs = [n for n in names or () if n in PAIR_EXPERIMENTS]
        if needs_pairs and not pairs:
            raise ConfigError(f"experiment {needs_pairs[0]!r} needs pairs (it runs on coupled qubits): give them with "
                              "--pairs, such as --pairs 0-1")
        prior = Device.load(device) if device is not None else None
        plan = characterization(parse_qubits(qubits), pairs=parse_pairs(pairs) if pairs else None,
                                experiments=names, seed=seed, prior=prior)
        summary = {"plan": None if output is None else str(output), "width": plan.width,
                   "experiments": [{"name": e.name, "qubits": list(e.qubits), "circuits": len(e.circuits)}
                                   for e in plan.experiments], "circuits": len(plan.circuits)}
        if output is None:
            typer.echo(json.dumps(plan.to_dict(), indent=1))
            return
        plan.save(output)
        if as_json:
            emit_json(summary)
        else:
            typer.echo(f"wrote {output}: {len(plan.experiments)} experiments, {len(plan.circuits)} circuits")

    @group.command("run")
    @friendly
    def run_cmd(
        plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="Plan file from `qtandem learn plan`.")],
        device: Annotated[str, typer.Option("--device", metavar="NAME|FILE",
                                            help="Device to simulate: preset name or device JSON.")],
        shots: Annotated[int, typer.Option("--shots", metavar="N", help="Shots per circuit.")] = 1000,
        seed: SeedOption = 0,
        output: OutputDir = None,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Run a plan on qtandem's noisy simulator of a device; writes the shot-data folder."""
        from datetime import datetime

        from qtandem.cli.common import emit_json, prepare_output_dir
        from qtandem.device import Device
        from qtandem.device.executors import simulator_executor
        from qtandem.errors import ConfigError, DataError
        from qtandem.learn.plan import CharacterizationPlan

        if shots <= 0:
            raise ConfigError(f"--shots must be a positive integer, got {shots}")
        if seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {seed}")
        if plan_file.is_dir():
            raise DataError(f"PLAN {plan_file} is a folder; expected the plan file from `qtandem learn plan -o "
                            "plan.json` (a shot-data folder goes to `qtandem learn calibrate`)")
        plan = CharacterizationPlan.load(plan_file)
        dev = Device.load(device)
        if plan.width > dev.num_qubits:
            raise DataError(f"{plan_file}: the plan spans {plan.width} qubits but device {dev.name!r} has "
                            f"{dev.num_qubits}")
        for exp in plan.experiments:
            if len(exp.qubits) == 2 and exp.name != "readout" and not dev.coupling_map.has_edge(*exp.qubits):
                raise DataError(f"{plan_file}: experiment {exp.name} on {exp.qubits}: not a coupled pair of "
                                f"{dev.name!r}")
        folder = output or Path("runs") / f"learn-data-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        prepare_output_dir(folder, overwrite=overwrite)
        data = plan.run(simulator_executor(dev, seed=seed), shots, seed=seed, device_name=dev.name)
        data.save(folder)
        if as_json:
            emit_json({"data": str(folder), "device": dev.name, "circuits": len(plan.circuits), "shots": shots,
                       "seed": seed})
        else:
            typer.echo(f"wrote {folder}: {len(plan.circuits)} circuits x {shots} shots on {dev.name}")

    @group.command("calibrate")
    @friendly
    def calibrate_cmd(
        data_dir: Annotated[Path, typer.Argument(metavar="DATA", help="Shot-data folder (`qtandem learn run`).")],
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", metavar="FILE", help="Write the fitted device (JSON) here, and its HTML report "
                                                   "beside it (without -o: print the fitted values only).")] = None,
        report: Annotated[Path | None, typer.Option("--report", metavar="DIR",
                                                    help="Report folder (default: <output stem>_report beside "
                                                         "the device file).")] = None,
        no_report: Annotated[bool, typer.Option("--no-report", help="Write no HTML report.")] = False,
        model: Annotated[str, typer.Option("--model", metavar="NAME",
                                           help="'full' or one experiment's name (fit it alone).")] = "full",
        prior: Annotated[str | None, typer.Option("--prior", metavar="NAME|FILE",
                                                  help="Device with durations, couplings and unfitted numbers "
                                                       "(default: typical values).")] = None,
        restarts: Annotated[int, typer.Option("--restarts", metavar="N", help="Optimizer restarts.")] = 3,
        bootstrap: Annotated[int, typer.Option("--bootstrap", metavar="N",
                                               help="Bootstrap refits for uncertainties (0: Fisher only).")] = 0,
        heldout: Annotated[Path | None, typer.Option("--heldout", metavar="DATA",
                                                     help="Shot data not fitted, for the held-out check.")] = None,
        seed: SeedOption = 0,
        progress: Annotated[bool, typer.Option("--progress/--no-progress",
                                               help="Show a progress bar (on a terminal).")] = True,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Fit a device to shot data by maximum likelihood; write device.json (-o) and its HTML report."""
        from qtandem.cli.common import check_output_file, emit_json, prepare_output_dir
        from qtandem.device import Device
        from qtandem.errors import ConfigError
        from qtandem.learn.calibrate import calibrate
        from qtandem.learn.data import ShotData
        from qtandem.learn.report import write_report

        if restarts < 1 or bootstrap < 0 or seed < 0:
            raise ConfigError(f"--restarts must be >= 1, --bootstrap and --seed >= 0; got {restarts}, {bootstrap}, "
                              f"{seed}")
        if output is not None:
            check_output_file(output)
        if report is not None and no_report:
            raise ConfigError(f"--report {report} and --no-report contradict each other: give one")
        folder = None
        if not no_report:
            folder = report or (output.with_name(f"{output.stem}_report") if output is not None else None)
        if folder is not None:  # checked now, created after the fit: a refused run leaves no folder behind
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"report folder {folder} is a file: pass --report DIR to put the report "
                                  "elsewhere, or --no-report")
            if folder.is_dir() and any(folder.iterdir()) and not overwrite:
                beside = f" (beside {output})" if report is None else ""
                raise ConfigError(f"report folder {folder}{beside} exists and is not empty: pass --overwrite to "
                                  "replace it, --report DIR to put it elsewhere, or --no-report")
        data = ShotData.load(_data_folder(data_dir, "DATA"))
        held = None
        if heldout is not None:
            held = ShotData.load(_data_folder(heldout, "--heldout"))
            _check_heldout(data, held, heldout)
        base = Device.load(prior) if prior is not None else None
        cal = _fit(calibrate, data, model=model, prior=base, restarts=restarts, bootstrap=bootstrap, seed=seed,
                   show=progress and not as_json)
        check = cal.check(held)
        if output is not None:
            cal.to_json(output)
        if folder is not None:
            prepare_output_dir(folder, overwrite=True)  # refused above unless new, empty or --overwrite
        page = write_report(cal, folder, check=check) if folder is not None else None
        if as_json:
            emit_json({"device": None if output is None else str(output),
                       "report": None if page is None else str(page),
                       "values": cal.values, "stderr": cal.stderr, "nll": cal.nll,
                       "uninformed": list(cal.uninformed), "check": check.to_dict()})
            return
        _print_table(cal, check)
        if output is not None:
            typer.echo(f"wrote {output}")
            if prior is None:
                source = f" ({data.device_name!r} for this data)" if data.device_name else ""
                typer.echo(f"note: without --prior the fitted device has the data's {cal.device().num_qubits} qubit(s) "
                           "and typical values (couplings, durations, errors) for all the data does not inform; "
                           f"to keep the real device's, fit again with --prior DEVICE{source}")
        if page is not None:
            typer.echo(f"wrote {page}")

    _register_shadows(group)
    from qtandem.cli import learn_tomography

    learn_tomography.register(group)


def _register_shadows(group: typer.Typer) -> None:
    """``qtandem learn measure`` (randomized-measurement records) and ``qtandem learn shadows`` (estimates)."""

    @group.command("measure")
    @friendly
    def measure_cmd(
        circuit_file: Annotated[Path, typer.Argument(metavar="CIRCUIT", help="OpenQASM 2/3 file preparing the state.")],
        shots: Annotated[int, typer.Option("--shots", metavar="N", help="Number of shots.")] = 10000,
        basis: Annotated[str, typer.Option("--basis", metavar="KIND",
                                           help="'pauli' (random Pauli per qubit) or 'clifford' (random global "
                                                "Clifford).")] = "pauli",
        device: Annotated[str | None, typer.Option("--device", metavar="NAME|FILE",
                                                   help="Simulate with this device's noise (density matrix, up to "
                                                        "10 qubits).")] = None,
        seed: SeedOption = 0,
        output: OutputDir = None,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Measure the circuit's state in random bases; writes a shot-record folder (-o)."""
        from qtandem.circuit.circuit import Circuit
        from qtandem.cli.common import emit_json, prepare_output_dir
        from qtandem.errors import ConfigError
        from qtandem.learn.shots import measure_randomized

        if shots <= 0 or seed < 0:
            raise ConfigError(f"--shots must be positive and --seed >= 0, got {shots} and {seed}")
        if basis not in ("pauli", "clifford"):
            raise ConfigError(f"--basis must be 'pauli' or 'clifford', got {basis!r}")
        if output is None:
            raise ConfigError("give the output folder with -o DIR")
        circuit = Circuit.from_qasm(circuit_file.read_text(), filename=str(circuit_file))
        noise = None
        if device is not None:
            from qtandem.device import Device

            noise = Device.load(device).noise_model(strict=False)
        prepare_output_dir(output, overwrite=overwrite)
        record = measure_randomized(circuit, shots, basis=basis, noise=noise, seed=seed)
        record.metadata["circuit"] = str(circuit_file)
        record.save(output, overwrite=True)
        if as_json:
            emit_json({"data": str(output), "shots": shots, "basis": basis, "n_qubits": record.n_qubits,
                       "device": device, "seed": seed})
        else:
            typer.echo(f"wrote {output}: {shots} shots in random {basis} bases on {record.n_qubits} qubits")

    @group.command("shadows")
    @friendly
    def shadows_cmd(
        data: Annotated[Path, typer.Argument(metavar="DATA", help="Shot-record folder (`qtandem learn measure`).")],
        observables: Annotated[Path, typer.Option("--observables", metavar="FILE",
                                                  help="Pauli observables: one per line (ZZI, 0.5*X0 X1) or a JSON "
                                                       "list of strings.")],
        k: Annotated[int, typer.Option("--k", metavar="K", help="Groups of the median of means (1: the mean).")] = 1,
        as_json: JsonFlag = False,
    ) -> None:
        """Estimate Pauli observables from a shot record (classical shadows), with standard errors."""
        from qtandem.cli.common import emit_json
        from qtandem.errors import ConfigError
        from qtandem.learn.shadows import estimate, load_observables
        from qtandem.learn.shots import ShotRecord

        if k < 1:
            raise ConfigError(f"--k must be >= 1, got {k}")
        texts, obs = load_observables(observables)
        manifest = ShotRecord.info(data)
        est = estimate(data, obs, k=k)
        rows = [{"observable": t, "value": float(v), "stderr": float(e)}
                for t, v, e in zip(texts, est.values.tolist(), est.stderr.tolist(), strict=True)]
        if as_json:
            emit_json({"data": str(data), "kind": manifest["kind"], "shots": manifest["shots"], "k": k,
                       "estimates": rows})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("observable", "value", "std. error",
                      title=f"{manifest['shots']} {manifest['kind']} shots, k={k}")
        for text, value, err in zip(texts, est.values.tolist(), est.stderr.tolist(), strict=True):
            table.add_row(text, f"{value:.4f}", f"{err:.4f}")
        Console().print(table)


def _data_folder(path: Path, what: str) -> Path:
    """``path`` as a shot-data folder argument: a file gets an error that says what is expected."""
    from qtandem.errors import DataError

    if path.is_file():
        hint = " (a plan from `qtandem learn plan`: run it first with `qtandem learn run`)" \
            if path.suffix == ".json" else ""
        raise DataError(f"{what} {path} is a file; expected a shot-data folder from `qtandem learn run`{hint}")
    return path


def _check_heldout(data: Any, held: Any, path: Path) -> None:
    """Held-out shots must measure only qubits and pairs the fitted data measured (else nothing predicts them)."""
    from qtandem.errors import DataError

    fitted = {tuple(e.qubits) for e in data.plan.experiments}
    fitted_qubits = {q for qs in fitted for q in qs}
    for e in held.plan.experiments:
        qs = tuple(e.qubits)
        if not set(qs) <= fitted_qubits or (len(qs) == 2 and e.name != "readout" and qs not in fitted
                                            and qs[::-1] not in fitted):
            raise DataError(f"--heldout {path}: experiment {e.name} on {qs} measures qubits or a pair that the "
                            f"fitted data does not (it covers qubits {sorted(fitted_qubits)}); hold out shots of "
                            "the same plan, e.g. `qtandem learn run PLAN --seed 1`")


def _fit(calibrate: Any, data: Any, *, show: bool, **kwargs: Any) -> Any:
    """``calibrate(data, **kwargs)`` with a rich progress bar on stderr (one step per fit stage)."""
    import sys

    if not show or not sys.stderr.isatty():
        return calibrate(data, **kwargs)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    steps = kwargs["restarts"] + 1 + kwargs["bootstrap"]
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("fitting", total=steps)

        def step(message: str) -> None:
            bar.update(task, description=message,
                       advance=1 if message.startswith(("restart", "uncertainties", "bootstrap")) else 0)

        return calibrate(data, progress=step, **kwargs)


def _print_table(cal: Any, check: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from qtandem.learn.report import parameter_rows

    console = Console()
    table = Table("parameter", "value", "std. error", "bootstrap")
    for row in parameter_rows(cal.values, cal.stderr, getattr(cal, "bootstrap_stderr", None)):
        table.add_row(*row[:4])
    console.print(table)
    style = "bold red" if check.flagged else "green"
    console.print(f"[{style}]model check[/{style}]: {check.summary()}", highlight=False, markup=True)
