"""``qtandem device show NAME``: calibration table and coupling-map picture."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``device`` command group to ``app``."""
    group = typer.Typer(help="Device presets and calibration files.", no_args_is_help=True)
    app.add_typer(group, name="device")

    @group.command("list")
    @friendly
    def list_() -> None:
        """Names of the shipped device presets."""
        from qtandem.device import list_presets

        for name in list_presets():
            typer.echo(name)

    @group.command("show")
    @friendly
    def show(
        name: Annotated[str, typer.Argument(help="Preset name or device JSON file.")],
        png: Annotated[Path | None, typer.Option(help="Where to write the coupling-map PNG.")] = None,
    ) -> None:
        """Print a device's calibration table and draw its coupling map as a PNG."""
        from rich.console import Console
        from rich.table import Table

        from qtandem.device import Device
        from qtandem.device.plot import draw_device

        dev = Device.load(name)
        console = Console()
        console.print(f"[bold]{dev.name}[/bold]: {dev.num_qubits} qubits, {len(dev.edges)} couplings, "
                      f"native gates {', '.join(dev.native_gates)}; times in {dev.time_unit}")
        if dev.source:
            console.print(f"source: {dev.source}")
        table = Table("qubit", "T1", "T2", "1q error", "readout p01", "readout p10", "neighbours")
        for q, p in enumerate(dev.qubits):
            table.add_row(str(q), f"{p.t1:.0f}", f"{p.t2:.0f}", f"{p.gate_error_1q:.2e}", f"{p.readout_p01:.3f}",
                          f"{p.readout_p10:.3f}", ",".join(str(x) for x in sorted(dev.coupling_map[q])))
        console.print(table)
        etable = Table("coupling", "gate", "error", "duration")
        for (a, b), e in sorted(dev.edges.items()):
            etable.add_row(f"{a}-{b}", e.gate, f"{e.error:.2e}", f"{e.duration:.0f}")
        console.print(etable)
        out = png or Path(f"{dev.name}.png")
        draw_device(dev, out)
        typer.echo(f"wrote {out}")
