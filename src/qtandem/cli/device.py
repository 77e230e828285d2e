"""``qtandem device list`` and ``qtandem device show NAME [-o PNG] [--json]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
        show_all: Annotated[bool, typer.Option("--all", help="Show the coherent-error columns (detuning, sx/x "
                                               "angle errors, cx angle error, ZZ) and the readout-correlation "
                                               "table even where the device has them all zero.")] = False,
    ) -> None:
        """Print a device's calibration table (or its JSON); draw its coupling map with -o FILE.png.

        The tables show the coherent errors of device schema v2 (detuning, ``sx``/``x`` over-rotations,
        two-qubit angle error and static ZZ) and the correlated-readout pairs only where the device has
        them non-zero, or with --all. --json prints the whole device file, every field included.
        """
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

        console = Console()
        console.print(f"[bold]{dev.name}[/bold]: {dev.num_qubits} qubits, {len(dev.edges)} couplings, "
                      f"native gates {', '.join(dev.native_gates)}; times in {dev.time_unit}")
        if dev.source:
            console.print(f"source: {dev.source}")
        for table in calibration_tables(dev, show_all=show_all):
            console.print(table)
        if out is not None:
            typer.echo(f"wrote {out}")


def _frequency(value: float, time_unit: str) -> tuple[str, float]:
    """A rate in rad per ``time_unit`` as ``(unit, number)``: kHz where the unit is a time, else as stored."""
    import math

    from qtandem.circuit.instruction import DELAY_UNITS

    scale = DELAY_UNITS.get(time_unit)
    if scale is None:
        return f"rad/{time_unit}", value
    return "kHz", value / (2 * math.pi) / (scale * 1e-9) / 1e3


def calibration_tables(dev: Any, *, show_all: bool = False) -> list[Any]:
    """The rich tables of ``device show``: qubits, their coherent errors, couplings, correlated readout pairs.

    The coherent-error table and columns appear where some qubit or coupling has a non-zero value, or
    with ``show_all``; detuning and ZZ are printed in kHz (``rate / 2 pi``) when the time unit is a time.
    """
    import numpy as np
    from rich.markup import escape
    from rich.table import Table

    qubits, edges = dev.qubits, sorted(dev.edges.items())
    unit, _ = _frequency(0.0, dev.time_unit)

    def rate(value: Any, sign: str = "+") -> str:
        number = _frequency(float(value), dev.time_unit)[1]
        return f"{number:{sign}.2f}" if unit == "kHz" else f"{number:{sign}.3e}"

    table = Table("qubit", "T1", "T2", "1q error", "readout p01", "readout p10", "neighbours")
    for q, p in enumerate(qubits):
        table.add_row(str(q), f"{p.t1:.0f}", f"{p.t2:.0f}", f"{p.gate_error_1q:.2e}", f"{p.readout_p01:.3f}",
                      f"{p.readout_p10:.3f}", ",".join(str(x) for x in sorted(dev.coupling_map[q])))
    tables = [table]
    if show_all or any(p.detuning or p.sx_angle_error or p.x_angle_error for p in qubits):
        ctable = Table("qubit", f"detuning ({unit})", "sx angle error (rad)", "x angle error (rad)",
                       title="coherent errors: sx = rx(pi/2 + e), x = rx(pi + e), idle rz(detuning t)")
        for q, p in enumerate(qubits):
            ctable.add_row(str(q), rate(p.detuning),
                           f"{float(p.sx_angle_error):+.4f}", f"{float(p.x_angle_error):+.4f}")
        tables.append(ctable)
    coherent_e = show_all or any(e.angle_error or e.zz for _, e in edges)
    etable = Table("coupling", "gate", "error", "duration",
                   *(("angle error (rad)", f"ZZ ({unit})") if coherent_e else ()))
    for (a, b), e in edges:
        coherent = (f"{float(e.angle_error):+.4f}", rate(e.zz, "")
                    ) if coherent_e else ()
        etable.add_row(f"{a}-{b}", e.gate, f"{e.error:.2e}", f"{e.duration:.0f}", *coherent)
    tables.append(etable)
    if dev.readout_correlations or show_all:
        rtable = Table("pair a-b", "P(00|00)", "P(01|01)", "P(10|10)", "P(11|11)", "beyond per-qubit",
                       title=escape("correlated readout: M[i][j] = P(read i | true j), a the low bit"),
                       caption=None if dev.readout_correlations else "none on this device")
        for (a, b), m in sorted(dev.readout_correlations.items()):
            matrix = np.array([[float(v) for v in row] for row in m])
            single = [np.array([[1 - float(p.readout_p01), float(p.readout_p10)],
                                [float(p.readout_p01), 1 - float(p.readout_p10)]]) for p in (qubits[a], qubits[b])]
            beyond = float(np.abs(matrix - np.kron(single[1], single[0])).max())  # vs. independent readout
            rtable.add_row(f"{a}-{b}", *(f"{matrix[j, j]:.4f}" for j in range(4)), f"{beyond:.4f}")
        tables.append(rtable)
    return tables
