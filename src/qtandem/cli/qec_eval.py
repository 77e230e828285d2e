"""``qtandem qec eval``: logical error rate vs physical error rate and distance (see :mod:`qtandem.qec.evaluate`)."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.main import friendly


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def register(qec_app: typer.Typer) -> None:
    """Add ``eval`` to the ``qtandem qec`` sub-app."""

    @qec_app.command("eval")
    @friendly
    def eval_(
        decoder: Annotated[list[str], typer.Option("--decoder", "-D", help="Decoder name (repeat or comma-separate): "
                                                   "pymatching, pymatching-correlated, bposd, pretrained:<name>.")
                           ] = ["pymatching", "pymatching-correlated"],  # noqa: B006
        distance: Annotated[list[int], typer.Option("--distance", "-d", help="Code distance (repeatable).")
                            ] = [3, 5],  # noqa: B006
        p: Annotated[list[float], typer.Option("--p", "-p", help="Physical error rate (repeatable).")
                     ] = [0.001, 0.003, 0.005, 0.01],  # noqa: B006
        shots: Annotated[int, typer.Option(help="Fresh shots per point (shared by all decoders).")] = 10_000,
        code: Annotated[str, typer.Option(help="surface, repetition or color.")] = "surface",
        basis: Annotated[str, typer.Option(help="Memory basis, Z or X.")] = "Z",
        noise: Annotated[str, typer.Option(help="Noise preset: uniform or si1000.")] = "uniform",
        rounds: Annotated[int | None, typer.Option(help="Rounds (default: the distance).")] = None,
        seed: Annotated[int, typer.Option(help="Base seed.")] = 0,
        bposd_shots: Annotated[int | None, typer.Option(help="Decode only this many of the shots with bposd "
                                                             "(it is slow).")] = None,
        output: Annotated[Path | None, typer.Option(help="Output folder (default runs/qec-eval-<time>).")] = None,
        flag_curves: Annotated[bool, typer.Option("--flag-curves/--no-flag-curves",
                                                  help="Also compute post-selection curves.")] = True,
        as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    ) -> None:
        """Decode the same fresh shots with each decoder; write results.json, plots and report.html."""
        from qtandem.qec.evaluate import evaluate, write_evaluation

        out = output or Path("runs") / f"qec-eval-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        limits = {"bposd": bposd_shots} if bposd_shots else None
        points = evaluate(code=code, distances=distance, ps=p, decoders=_split(decoder), shots=shots, rounds=rounds,
                          basis=basis, noise=noise, seed=seed, flag_curves=flag_curves, shot_limits=limits)
        paths = write_evaluation(points, out, command="qtandem " + shlex.join(sys.argv[1:]))
        if as_json:
            typer.echo(json.dumps({"output": str(out), "points": [{k: v for k, v in pt.to_dict().items()
                                                                    if k != "flag_curve"} for pt in points]}))
            return
        for pt in points:
            typer.echo(f"{pt.decoder:>24} d={pt.distance} p={pt.p:<6g} LER {pt.ler.rate:.5f} "
                       f"[{pt.ler.low:.5f}, {pt.ler.high:.5f}] ({pt.ler.errors}/{pt.ler.shots}) "
                       f"{pt.shots_per_second:,.0f} shots/s")
        typer.echo(f"report: {paths['report']}")
