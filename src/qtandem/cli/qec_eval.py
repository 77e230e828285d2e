"""``qtandem qec eval``: logical error rate vs physical error rate and distance (see :mod:`qtandem.qec.evaluate`).

Either a sweep over generated memory circuits (``-d``, ``-p``, ``--code`` ...), or the user's own
circuit (``--circuit FILE.stim``: fresh shots from it, or recorded ones with ``--dets`` and ``--obs``).
"""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OverwriteFlag, emit_json
from qtandem.cli.main import friendly

DEFAULT_DECODERS = ["pymatching", "pymatching-correlated"]
DEFAULT_DISTANCES = [3, 5]
DEFAULT_PS = [0.001, 0.003, 0.005, 0.01]


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _sweep_options(given: dict[str, Any]) -> list[str]:
    return [flag for flag, value in given.items() if value is not None]


def register(qec_app: typer.Typer) -> None:
    """Add ``eval`` to the ``qtandem qec`` sub-app."""

    @qec_app.command("eval")
    @friendly
    def eval_(
        decoder: Annotated[list[str] | None, typer.Option("--decoder", "-D", help="Decoder name (repeat or "
                                                          "comma-separate): pymatching, pymatching-correlated, bposd, "
                                                          "pretrained:<name>. Default: pymatching, "
                                                          "pymatching-correlated.")] = None,
        distance: Annotated[list[int] | None, typer.Option("--distance", "-d", help="Code distance (repeatable; "
                                                           "default 3 and 5).")] = None,
        p: Annotated[list[float] | None, typer.Option("--p", "-p", help="Physical error rate (repeatable; default "
                                                      "0.001, 0.003, 0.005, 0.01).")] = None,
        shots: Annotated[int | None, typer.Option(help="Fresh shots per point, shared by all decoders (default "
                                                       "10000); with --dets: decode only the first N.")] = None,
        code: Annotated[str | None, typer.Option(help="surface (default), repetition or color.")] = None,
        basis: Annotated[str | None, typer.Option(help="Memory basis, Z (default) or X.")] = None,
        noise: Annotated[str | None, typer.Option(help="Noise preset: uniform (default) or si1000.")] = None,
        rounds: Annotated[int | None, typer.Option(help="Rounds (default: the distance).")] = None,
        circuit: Annotated[Path | None, typer.Option("--circuit", metavar="FILE.stim",
                                                     help="Your own noisy Stim circuit (with detectors and "
                                                          "observables) instead of -d/-p/--code.")] = None,
        dets: Annotated[Path | None, typer.Option("--dets", metavar="FILE", help="Recorded detection events of "
                                                  "--circuit (.b8 or .01, Stim's formats) instead of fresh "
                                                  "shots.")] = None,
        obs: Annotated[Path | None, typer.Option("--obs", metavar="FILE", help="Their observable flips (.b8 or "
                                                 ".01); required with --dets.")] = None,
        seed: Annotated[int, typer.Option(help="Base seed.")] = 0,
        bposd_shots: Annotated[int | None, typer.Option(help="Decode only this many of the shots with bposd "
                                                             "(it is slow).")] = None,
        output: OutputDir = None,
        overwrite: OverwriteFlag = False,
        flag_curves: Annotated[bool, typer.Option("--flag-curves/--no-flag-curves",
                                                  help="Also compute post-selection curves.")] = True,
        as_json: JsonFlag = False,
    ) -> None:
        """Decode the same shots with each decoder; write results.json, plots and report.html.

        Throughput (shots/s) is the wall time of each decoder's decode on the shots, conversion
        included and sampling excluded (as bench/qec_neural.py measures it).
        """
        from qtandem.cli.common import prepare_output_dir
        from qtandem.errors import ConfigError
        from qtandem.qec.evaluate import evaluate, evaluate_circuit, write_evaluation
        from qtandem.qec.shotfiles import read_circuit, read_shot_files

        names = _split(decoder) if decoder else DEFAULT_DECODERS
        limits = {"bposd": bposd_shots} if bposd_shots else None
        if circuit is None and (dets is not None or obs is not None):
            raise ConfigError("--dets/--obs need --circuit FILE.stim: the circuit gives the number of detectors "
                              "and observables per shot")
        if dets is not None and obs is None:
            raise ConfigError("--dets needs --obs (the observable flips of the same shots) to count logical errors")
        if obs is not None and dets is None:
            raise ConfigError("--obs needs --dets (the detection events of the same shots)")
        if circuit is not None:
            clash = _sweep_options({"-d/--distance": distance, "-p/--p": p, "--code": code, "--basis": basis,
                                    "--noise": noise, "--rounds": rounds})
            if clash:
                raise ConfigError(f"--circuit gives the circuit: drop {', '.join(clash)} (they describe a generated "
                                  f"memory circuit)")
        out = output or Path("runs") / f"qec-eval-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        prepare_output_dir(out, overwrite=overwrite)  # before any work: a refused folder costs nothing
        if circuit is not None:
            stim_circuit = read_circuit(circuit)
            d_arr, o_arr = read_shot_files(stim_circuit, dets, obs) if dets is not None else (None, None)
            source = circuit.name + (f", recorded shots {dets.name} / {obs.name}" if dets is not None and obs else "")
            points = evaluate_circuit(stim_circuit, decoders=names, shots=shots, seed=seed, dets=d_arr, obs=o_arr,
                                      flag_curves=flag_curves, shot_limits=limits, source=source)
        else:
            points = evaluate(code=code or "surface", distances=distance or DEFAULT_DISTANCES,
                              ps=p or DEFAULT_PS, decoders=names, shots=10_000 if shots is None else shots,
                              rounds=rounds, basis=basis or "Z", noise=noise or "uniform", seed=seed,
                              flag_curves=flag_curves, shot_limits=limits)
        paths = write_evaluation(points, out, command="qtandem " + shlex.join(sys.argv[1:]))
        if as_json:
            emit_json({"output": str(out), "report": str(paths["report"]),
                       "points": [{k: v for k, v in pt.to_dict().items() if k != "flag_curve"} for pt in points]})
            return
        for pt in points:
            where = f"d={pt.distance} p={pt.p:<6g}" if pt.p is not None else "circuit"
            typer.echo(f"{pt.decoder:>24} {where} LER {pt.ler.rate:.5f} "
                       f"[{pt.ler.low:.5f}, {pt.ler.high:.5f}] ({pt.ler.errors}/{pt.ler.shots}) "
                       f"{pt.shots_per_second:,.0f} shots/s")
        typer.echo(f"report: {paths['report']}")
