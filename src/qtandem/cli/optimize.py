"""``qtandem optimize FILE -o OUT.qasm [--hardware NAME] [--corrections DEVICE.json] [--objective cx] [--expansions N]
[--seed N] [--permute-output] [--json]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag
from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``optimize`` command to ``app``."""

    @app.command("optimize")
    @friendly
    def optimize(
        file: Annotated[Path, typer.Argument(help="OpenQASM 2 or 3 file.")],
        output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE",
                                             help="Output file (same OpenQASM version); its folder must exist.")],
        hardware: Annotated[str | None, typer.Option(help="Device preset or file to lay out and route for.")] = None,
        device: Annotated[str | None, typer.Option("--device", hidden=True,
                                                   help="Old name of --hardware.")] = None,
        objective: Annotated[str, typer.Option(help="gates, cx, t, depth or fidelity.")] = "gates",
        expansions: Annotated[int | None, typer.Option(help="Level 3's search budget in expanded circuits "
                                                            "(default: scaled with the circuit; "
                                                            "machine-independent).")] = None,
        budget: Annotated[float | None, typer.Option(help="Upper bound in seconds for the whole run, verification "
                                                          "included (default: none; when it binds, results "
                                                          "depend on the machine and skipped work is "
                                                          "reported).")] = None,
        level: Annotated[int, typer.Option(help="0 (translate only) .. 3 (search to a fixpoint).")] = 3,
        basis: Annotated[str | None, typer.Option(help="nam, clifford_t, ibm, ibm_cz or u ({u, cx}) "
                                                        "(default: input's).")] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of the randomized search.")] = None,
        passes: Annotated[bool, typer.Option("--passes", help="Also print the per-pass table (--json always "
                                                              "carries it).")] = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress",
                                               help="Show level 3's search progress (expansions done of "
                                                    "the budget) on stderr (terminals only).")] = True,
        corrections: Annotated[str | None, typer.Option(
            "--corrections", metavar="DEVICE",
            help="Device JSON (e.g. from 'qtandem learn calibrate') or preset whose coherent errors "
                 "(over-rotations, detuning, ZZ) are cancelled last; routes for it when --hardware is "
                 "not given.")] = None,
        permute_output: Annotated[bool, typer.Option(
            "--permute-output",
            help="Let the output end in a permutation of the wires (swaps removed, blocks cheaper up to a swap "
                 "written so, as tket does): the state of input wire i ends on wire permutation[i], printed "
                 "and in --json; the result is proven with it. Gates only (no measurements), no "
                 "--hardware.")] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Optimize a circuit, verify it against the input and write it; prints a before/after table."""
        from rich.console import Console
        from rich.table import Table

        from qtandem.cli.common import check_output_file, emit_json
        from qtandem.compile.optimize import optimize_file
        from qtandem.errors import CompileError

        if hardware is not None and device is not None and hardware != device:
            raise CompileError(f"--hardware {hardware} and --device {device} disagree; give --hardware only")
        check_output_file(output)
        fix = None
        if corrections is not None:
            from qtandem.device import Device

            fix = Device.load(corrections)
        err = Console(stderr=True)
        with _Progress(enabled=progress and err.is_terminal and level == 3, console=err,
                       label=f"optimizing {file.name}") as bar:
            _, _, report = optimize_file(file, output, hardware=hardware or device, objective=objective,
                                         budget_expansions=expansions, budget_s=budget, level=level, basis=basis,
                                         seed=seed, progress=bar.update, corrections=fix,
                                         permute_output=permute_output)
        assert report.initial is not None and report.final is not None
        i, f = report.initial, report.final
        if as_json:
            data = report.to_dict()  # per-pass records, windows proven/dropped, skipped work, verification
            emit_json({"file": str(file), "output": str(output), "level": level, "objective": objective,
                       "seed": seed, **data})
            return
        console = Console()
        tab = Table(title=f"{file.name} -> {output.name}")
        for col in ("", "gates", "cx", "t", "depth"):
            tab.add_column(col, justify="right")
        tab.add_row("before", str(i.gates), str(i.cx), str(i.t), str(i.depth))
        tab.add_row("after", str(f.gates), str(f.cx), str(f.t), str(f.depth))
        console.print(tab)
        if permute_output:
            perm = report.permutation
            console.print("output permutation: none (every wire ends where it started)" if perm is None else
                          f"output permutation: input wire i ends on wire {perm}[i]")
        if passes:
            console.print(report.table())
        w = report.windows
        if w.get("windows"):
            console.print(f"windows: {w['proven']} rewritten and proven, {w['dropped']} rewrite(s) dropped "
                          f"(not provable), {w['unchanged']} unchanged, {w['skipped']} skipped (budget)")
        if report.corrections is not None:
            _print_corrections(console, report.corrections)
        for note in report.notes:
            console.print(f"[dim]{note}[/dim]")


def _print_corrections(console: Any, rep: Any) -> None:
    """The coherent-correction summary: what changed and the coherent infidelity before/after."""
    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3g}"

    console.print(f"corrections: {rep.runs} one-qubit run(s) resynthesized ({rep.pulses_before} -> "
                  f"{rep.pulses_after} pulses), {rep.pairs} two-qubit over-rotation pair(s) cancelled, "
                  f"{len(rep.uncorrected)} left, {rep.frames} frame update(s), {rep.echoes} ZZ echo(es); "
                  f"coherent infidelity {num(rep.coherent_infidelity_before)} -> {num(rep.coherent_infidelity_after)}"
                  f"; verified ({rep.verified})")


class _Progress:
    """A rich bar of level 3's search (expansions done of the budget, per unitary stretch) on stderr."""

    def __init__(self, *, enabled: bool, console: Any, label: str) -> None:
        self.enabled, self.console, self.label = enabled, console, label
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TextColumn("expansions"), TimeElapsedColumn(),
                                      console=self.console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None)
        return self

    def update(self, done: int, total: int) -> None:
        """The search's callback: ``done`` of ``total`` expansions."""
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
