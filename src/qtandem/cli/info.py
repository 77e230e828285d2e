"""``qtandem info FILE``: qubits, depth and gate counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``info`` command to ``app``."""

    @app.command("info")
    @friendly
    def info(
        file: Annotated[Path, typer.Argument(help="OpenQASM 2 or 3 file.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    ) -> None:
        """Show a circuit's size, depth, gate counts and parameters."""
        import qtandem

        c = qtandem.load(file)
        idle = [0.0] * c.n_qubits  # delays: total idle time per qubit (depth does not count them)
        for inst in c:
            if inst.name == "delay":
                for q in inst.qubits:
                    idle[q] += float(inst.params[0])  # type: ignore[arg-type]
        data = {
            "file": str(file), "qubits": c.n_qubits, "clbits": c.n_clbits, "instructions": len(c),
            "gates": c.num_gates(), "depth": c.depth(), "parameters": [p.name for p in c.parameters],
            "count_ops": c.count_ops(), "delay_ns": max(idle, default=0.0),
        }
        if as_json:
            typer.echo(json.dumps(data))
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.print(f"[bold]{file}[/bold]: {c.n_qubits} qubits, {c.n_clbits} classical bits, "
                      f"{c.num_gates()} gates, depth {c.depth()}")
        if c.parameters:
            console.print(f"parameters: {', '.join(p.name for p in c.parameters)}")
        if "delay" in c.count_ops():
            console.print(f"delays: {c.count_ops()['delay']}, up to {data['delay_ns']:g} ns on one qubit "
                          "(a delay adds no depth)")
        table = Table("operation", "count")
        for name, count in c.count_ops().items():
            table.add_row(name, str(count))
        console.print(table)
