"""``qtandem qec flag``: mark shots whose soft output is doubtful and write them out.

The logic is :func:`qtandem.qec.evaluate.flag`. Shots come from a sampled memory circuit, a
dataset folder, the user's own circuit (``--circuit FILE.stim``) or recorded detection events of
it (``--dets FILE``, optionally ``--obs FILE``; Stim's ``.b8`` or ``.01`` formats).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OverwriteFlag, emit_json
from qtandem.cli.main import friendly


def register(qec_app: typer.Typer) -> None:
    """Add ``flag`` to the ``qtandem qec`` sub-app."""

    @qec_app.command("flag")
    @friendly
    def flag_(
        old_output: Annotated[str | None, typer.Argument(hidden=True, metavar="",
                                                         help="(Old form: the output folder; now -o/--output.)")
                              ] = None,
        output: OutputDir = None,
        threshold: Annotated[float, typer.Option(help="Flag shots whose doubt (estimated probability that the "
                                                      "decision is wrong) exceeds this.")] = 0.1,
        decoder: Annotated[str, typer.Option("--decoder", "-D", help="Decoder with soft output: pymatching, "
                                                                     "pymatching-correlated, pretrained:<name>.")
                           ] = "pymatching",
        dataset: Annotated[Path | None, typer.Option(metavar="DIR", help="Dataset folder to flag (default: sample "
                                                                         "fresh shots).")] = None,
        circuit: Annotated[Path | None, typer.Option("--circuit", metavar="FILE.stim",
                                                     help="Your own noisy Stim circuit: sample it, or decode "
                                                          "--dets recorded from it.")] = None,
        dets: Annotated[Path | None, typer.Option("--dets", metavar="FILE", help="Recorded detection events of "
                                                  "--circuit (.b8 or .01, Stim's formats).")] = None,
        obs: Annotated[Path | None, typer.Option("--obs", metavar="FILE", help="Their observable flips (.b8 or "
                                                 ".01; optional: LERs among kept and flagged shots).")] = None,
        code: Annotated[str, typer.Option(help="surface, repetition or color (when sampling).")] = "surface",
        distance: Annotated[int, typer.Option("--distance", "-d", help="Distance (when sampling).")] = 3,
        p: Annotated[float, typer.Option("--p", "-p", help="Physical error rate (when sampling).")] = 0.005,
        basis: Annotated[str, typer.Option(help="Z or X (when sampling).")] = "Z",
        noise: Annotated[str, typer.Option(help="uniform or si1000 (when sampling).")] = "uniform",
        shots: Annotated[int, typer.Option(help="Shots to sample.")] = 10_000,
        seed: Annotated[int, typer.Option(help="Sampler seed.")] = 0,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Decode shots, flag the doubtful ones, write their indices and detection events."""
        from qtandem.cli.common import prepare_output_dir
        from qtandem.errors import ConfigError

        if old_output is not None:
            raise ConfigError(f"qtandem qec flag takes the output folder as -o/--output now: "
                              f"qtandem qec flag -o {old_output} ... (got it as a positional argument)")
        if circuit is None and (dets is not None or obs is not None):
            raise ConfigError("--dets/--obs need --circuit FILE.stim: the circuit gives the number of detectors "
                              "and observables per shot")
        if obs is not None and dets is None:
            raise ConfigError("--obs needs --dets (the detection events of the same shots)")
        if dataset is not None and circuit is not None:
            raise ConfigError("give either --dataset or --circuit, not both")
        out = output or Path("runs") / f"qec-flag-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        prepare_output_dir(out, overwrite=overwrite)

        import numpy as np

        from qtandem.io import atomic_write_text
        from qtandem.qec.codes import memory_circuit
        from qtandem.qec.data import open_dataset, sample, save_dataset
        from qtandem.qec.evaluate import flag
        from qtandem.qec.registry import make_decoder
        from qtandem.qec.shotfiles import read_circuit, read_shot_files

        source: dict[str, Any]
        obs_arr: np.ndarray | None
        if dataset is not None:
            ds = open_dataset(dataset)
            stim_circuit = ds.circuit
            dets_arr, obs_arr = ds.load()
            source = {"dataset": str(dataset)}
        elif circuit is not None:
            stim_circuit = read_circuit(circuit)
            if dets is not None:
                dets_arr, obs_arr = read_shot_files(stim_circuit, dets, obs)
                source = {"circuit": str(circuit), "dets": str(dets), "obs": None if obs is None else str(obs)}
            else:
                dets_arr, obs_arr = sample(stim_circuit, shots, seed=seed)
                source = {"circuit": str(circuit), "seed": seed}
        else:
            stim_circuit = memory_circuit(code, distance, basis=basis, noise=noise, p=p)
            dets_arr, obs_arr = sample(stim_circuit, shots, seed=seed)
            source = {"code": code, "distance": distance, "p": p, "basis": basis, "noise": noise, "seed": seed}
        res = flag(make_decoder(decoder, stim_circuit), dets_arr, threshold, obs_arr)
        summary = {"decoder": decoder, "source": source, **res.to_dict()}
        idx = res.indices
        flagged_obs = (obs_arr if obs_arr is not None
                       else np.zeros((len(dets_arr), stim_circuit.num_observables), dtype=bool))[idx]
        save_dataset(out / "flagged", stim_circuit, dets_arr[idx], flagged_obs, overwrite=True,
                     extra={"source": source, "decoder": decoder, "threshold": threshold,
                            "source_indices": idx.tolist(), "obs_recorded": obs_arr is not None})
        atomic_write_text(out / "flagged.json", json.dumps(summary, indent=1, allow_nan=False) + "\n")
        brief = {k: v for k, v in summary.items() if k not in ("indices", "doubt")}
        if as_json:
            emit_json({"output": str(out), **brief})
            return
        typer.echo(f"flagged {brief['flagged']} of {brief['shots']} shots ({brief['fraction_flagged']:.2%}) with "
                   f"{decoder}, doubt > {threshold:g}: LER all {res.ler_all:.5f}, kept {res.ler_kept:.5f}, "
                   f"flagged {res.ler_flagged:.5f}")
        typer.echo(f"written: {out / 'flagged.json'}, {out / 'flagged'}")
