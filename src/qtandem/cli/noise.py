"""``qtandem noise template [-o FILE]`` and ``qtandem noise check FILE [--circuit C.qasm]``.

The schema is documented in ``docs/noise-model-schema.md``; the behaviour lives in
:mod:`qtandem.noise.schema` and :meth:`qtandem.noise.NoiseModel.check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag, OutputFile
from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``noise`` command group to ``app``."""
    group = typer.Typer(help="Noise-model files: a template, and validation against circuits.", no_args_is_help=True)
    app.add_typer(group, name="noise")

    @group.command("template")
    @friendly
    def template(output: OutputFile = None) -> None:
        """Print a complete noise-model JSON with a comment on every object (loads back as it is)."""
        import json

        from qtandem.cli.common import check_output_file
        from qtandem.io import atomic_write_text
        from qtandem.noise.schema import template as make

        text = json.dumps(make(), indent=2) + "\n"
        if output is None:
            typer.echo(text, nl=False)
            return
        atomic_write_text(check_output_file(output), text)
        typer.echo(f"wrote {output}", err=True)

    @group.command("check")
    @friendly
    def check(
        file: Annotated[str, typer.Argument(metavar="FILE", help="Noise-model JSON, device JSON or device preset.")],
        circuit: Annotated[Path | None, typer.Option("--circuit", metavar="FILE",
                                                     help="OpenQASM file whose gates the model must cover.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Validate a noise model (exit 0), and that it covers every gate of a circuit (else exit 2)."""
        from qtandem.cli.common import emit_json
        from qtandem.device import load_noise_model
        from qtandem.errors import NoiseError

        model = load_noise_model(file)
        summary = {"file": file, "valid": True, "rules": len(model.rules),
                   "readout": len(model.readout) + (model.default_readout is not None), "idle": model.has_idle,
                   "num_qubits": model.num_qubits, "strict": model.strict, "ideal": sorted(model.ideal)}
        problems: list[str] = []
        if circuit is not None:
            import qtandem

            problems = model.check(qtandem.load(circuit))
            summary.update(circuit=str(circuit), problems=problems)
        if as_json:
            emit_json(summary)
            if problems:
                raise typer.Exit(2)
            return
        width = "any number of" if model.num_qubits is None else str(model.num_qubits)
        typer.echo(f"{file}: valid; noise model: {summary['rules']} gate rules, {summary['readout']} readout "
                   f"errors, idle relaxation {'on' if model.has_idle else 'off'}, {width} qubits, "
                   f"{'strict' if model.strict else 'not strict'}")
        if circuit is None:
            return
        if not problems:
            typer.echo(f"{circuit}: every gate is covered")
            return
        lines = "".join(f"\n  - {p}" for p in problems)
        raise NoiseError(f"{circuit}: {len(problems)} problem(s) under {file}; these gates would run without "
                         f"noise:{lines}\ncompile for the device first (qtandem optimize {circuit} --hardware "
                         "DEVICE), or give the model rules for these gates")
