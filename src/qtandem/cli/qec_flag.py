"""``qtandem qec flag``: mark shots whose soft output is doubtful and write them out.

The logic is :func:`qtandem.qec.evaluate.flag`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.main import friendly


def register(qec_app: typer.Typer) -> None:
    """Add ``flag`` to the ``qtandem qec`` sub-app."""

    @qec_app.command("flag")
    @friendly
    def flag_(
        output: Annotated[Path, typer.Argument(help="Output folder: flagged.json and a dataset of the flagged shots.")],
        threshold: Annotated[float, typer.Option(help="Flag shots whose doubt (estimated probability that the "
                                                      "decision is wrong) exceeds this.")] = 0.1,
        decoder: Annotated[str, typer.Option("--decoder", "-D", help="Decoder with soft output: pymatching, "
                                                                     "pymatching-correlated, pretrained:<name>.")
                           ] = "pymatching",
        dataset: Annotated[Path | None, typer.Option(help="Dataset folder to flag (default: sample fresh shots).")
                           ] = None,
        code: Annotated[str, typer.Option(help="surface, repetition or color (when sampling).")] = "surface",
        distance: Annotated[int, typer.Option("--distance", "-d", help="Distance (when sampling).")] = 3,
        p: Annotated[float, typer.Option("--p", "-p", help="Physical error rate (when sampling).")] = 0.005,
        basis: Annotated[str, typer.Option(help="Z or X (when sampling).")] = "Z",
        noise: Annotated[str, typer.Option(help="uniform or si1000 (when sampling).")] = "uniform",
        shots: Annotated[int, typer.Option(help="Shots to sample.")] = 10_000,
        seed: Annotated[int, typer.Option(help="Sampler seed.")] = 0,
        overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Decode shots, flag the doubtful ones, write their indices and detection events."""
        from qtandem.io import atomic_write_text
        from qtandem.qec.codes import memory_circuit
        from qtandem.qec.data import open_dataset, sample, save_dataset
        from qtandem.qec.evaluate import flag
        from qtandem.qec.registry import make_decoder

        source: dict[str, Any]
        if dataset is not None:
            ds = open_dataset(dataset)
            circuit = ds.circuit
            dets, obs = ds.load()
            source = {"dataset": str(dataset)}
        else:
            circuit = memory_circuit(code, distance, basis=basis, noise=noise, p=p)
            dets, obs = sample(circuit, shots, seed=seed)
            source = {"code": code, "distance": distance, "p": p, "basis": basis, "noise": noise, "seed": seed}
        res = flag(make_decoder(decoder, circuit), dets, threshold, obs)
        summary = {"decoder": decoder, "source": source, **res.to_dict()}
        idx = res.indices
        save_dataset(output / "flagged", circuit, dets[idx], obs[idx], overwrite=overwrite,
                     extra={"source": source, "decoder": decoder, "threshold": threshold,
                            "source_indices": idx.tolist()})
        atomic_write_text(output / "flagged.json", json.dumps(summary, indent=1) + "\n")
        brief = {k: v for k, v in summary.items() if k not in ("indices", "doubt")}
        if as_json:
            typer.echo(json.dumps({"output": str(output), **brief}))
            return
        typer.echo(f"flagged {brief['flagged']} of {brief['shots']} shots ({brief['fraction_flagged']:.2%}) with "
                   f"{decoder}, doubt > {threshold:g}: LER all {res.ler_all:.5f}, kept {res.ler_kept:.5f}, "
                   f"flagged {res.ler_flagged:.5f}")
        typer.echo(f"written: {output / 'flagged.json'}, {output / 'flagged'}")
