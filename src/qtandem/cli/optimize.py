"""``qtandem optimize IN.qasm -o OUT.qasm [--hardware NAME] [--objective cx] [--expansions N] [--seed N]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``optimize`` command to ``app``."""

    @app.command("optimize")
    @friendly
    def optimize(
        file: Annotated[Path, typer.Argument(help="OpenQASM 2 or 3 file.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Output file (same OpenQASM version).")],
        hardware: Annotated[str | None, typer.Option(help="Device preset or file to lay out and route for.")] = None,
        device: Annotated[str | None, typer.Option("--device", hidden=True,
                                                   help="Old name of --hardware.")] = None,
        objective: Annotated[str, typer.Option(help="gates, cx, t, depth or fidelity.")] = "gates",
        expansions: Annotated[int | None, typer.Option(help="Level 3's search budget in expanded circuits "
                                                            "(default: scaled with the circuit; "
                                                            "machine-independent).")] = None,
        budget: Annotated[float | None, typer.Option(help="Upper bound in seconds for level 3 (default: none; "
                                                          "when it binds, results depend on the machine).")] = None,
        level: Annotated[int, typer.Option(help="0 (translate only) .. 3 (search to a fixpoint).")] = 3,
        basis: Annotated[str | None, typer.Option(help="nam, clifford_t, ibm or ibm_cz (default: input's).")] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of the randomized search.")] = None,
        passes: Annotated[bool, typer.Option("--passes", help="Also print the per-pass table.")] = False,
    ) -> None:
        """Optimize a circuit, verify it against the input and write it; prints a before/after table."""
        from rich.console import Console
        from rich.table import Table

        from qtandem.compile.optimize import optimize_file
        from qtandem.errors import CompileError

        if hardware is not None and device is not None and hardware != device:
            raise CompileError(f"--hardware {hardware} and --device {device} disagree; give --hardware only")
        _, _, report = optimize_file(file, output, hardware=hardware or device, objective=objective,
                                     budget_expansions=expansions, budget_s=budget, level=level, basis=basis,
                                     seed=seed)
        console = Console()
        tab = Table(title=f"{file.name} -> {output.name}")
        for col in ("", "gates", "cx", "t", "depth"):
            tab.add_column(col, justify="right")
        assert report.initial is not None and report.final is not None
        i, f = report.initial, report.final
        tab.add_row("before", str(i.gates), str(i.cx), str(i.t), str(i.depth))
        tab.add_row("after", str(f.gates), str(f.cx), str(f.t), str(f.depth))
        console.print(tab)
        if passes:
            console.print(report.table())
        for note in report.notes:
            console.print(f"[dim]{note}[/dim]")
