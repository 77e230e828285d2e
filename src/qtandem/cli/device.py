"""``qtandem device list`` and ``qtandem device show NAME [-o PNG] [--json]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag
from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``device`` command group to ``app``."""
    group = typer.Typer(help="Device presets and calibration files.", no_args_is_help=True)
    app.add_typer(group, name="device")

    @group.command("list")
    @friendly
    def list_(as_json: JsonFlag = False) -> None:
        """Names of the shipped device presets (with sizes under --json)."""
        from qtandem.cli.common import emit_json
        from qtandem.device import Device, list_presets

        if not as_json:
            for name in list_presets():
                typer.echo(name)
            return
        rows = []
        for name in list_presets():
            dev = Device.preset(name)
            rows.append({"name": name, "num_qubits": dev.num_qubits, "couplings": len(dev.edges),
                         "native_gates": list(dev.native_gates), "description": dev.description})
        emit_json(rows)

    @group.command("show")
    @friendly
    def show(
        name: Annotated[str, typer.Argument(metavar="NAME", help="Preset name or device JSON file.")],
        output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE",
                                                    help="Write the coupling-map picture here (PNG).")] = None,
        png: Annotated[Path | None, typer.Option("--png", hidden=True, help="Old name of --output.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Print a device's calibration table (or its JSON); draw its coupling map with -o FILE.png."""
        from qtandem.cli.common import OutputError, check_output_file, emit_json
        from qtandem.device import Device

        if output is not None and png is not None and output != png:
            raise OutputError(f"-o {output} and --png {png} disagree; give -o only")
        out = output or png
        if out is not None:
            check_output_file(out)
            if out.suffix.lower() != ".png":
                raise OutputError(f"-o {out}: the coupling-map picture is a PNG; name the file *.png")
        dev = Device.load(name)
        if out is not None:
            from qtandem.device.plot import draw_device

            draw_device(dev, out)
        if as_json:
            emit_json({**dev.to_dict(), **({"png": str(out)} if out is not None else {})})
            return
        from rich.console import Console
        from rich.table import Table

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
        if out is not None:
            typer.echo(f"wrote {out}")
