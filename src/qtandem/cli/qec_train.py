"""``qtandem qec train CONFIG.toml``: train a neural decoder (schema and outputs in :mod:`qtandem.qec.train`).

``--workers N``: data-parallel training, as for ``qtandem train`` (:mod:`qtandem.cli.train`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OverwriteFlag, emit_json
from qtandem.cli.main import friendly
from qtandem.cli.train import Address, TrainEngine, Workers, check_workers, launch_workers


def summary(res: Any) -> dict[str, Any]:
    """A :class:`~qtandem.qec.train.TrainResult` as the plain data the command prints (``--json``)."""
    evals: list[dict[str, Any]] = [r for r in res.records if r["kind"] == "eval"]
    last: dict[str, Any] = evals[-1] if evals else {}
    return {"output": str(res.output), "model": str(res.output / "model.safetensors"), "steps": res.step,
            "shots": res.shots, "wall_s": round(res.wall_s, 1), "finished": res.finished,
            **{k: last[k] for k in ("val_ler", "matching_ler", "ratio_to_matching") if k in last}}


def register(qec_app: typer.Typer) -> None:
    """Add ``train`` to the ``qtandem qec`` sub-app."""

    @qec_app.command("train")
    @friendly
    def train(
        config: Annotated[Path, typer.Argument(help="TOML configuration (schema: python -m pydoc "
                                                    "qtandem.qec.train_config).")],
        resume: Annotated[bool, typer.Option("--resume", help="Continue exactly from the output folder's "
                                                              "checkpoint.")] = False,
        output: OutputDir = None,
        overwrite: OverwriteFlag = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
        max_steps: Annotated[int | None, typer.Option(help="Stop at this step in all, with a checkpoint "
                                                           "(continue with --resume).")] = None,
        workers: Workers = 1,
        engine: TrainEngine = "local",
        address: Address = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Train a neural decoder on fresh Stim shots; writes checkpoints, metrics.jsonl, curves.png, model.

        The output folder is -o/--output, else the config's output, else runs/<config name>. An existing,
        non-empty folder is refused unless --resume (continue it) or --overwrite (start afresh) is given.
        """
        import dataclasses

        from qtandem.cli.common import prepare_output_dir
        from qtandem.errors import ConfigError
        from qtandem.qec.train import load_config
        from qtandem.qec.train import train as run

        cfg = load_config(config)
        if max_steps is not None:
            if max_steps < 0:
                raise ConfigError(f"--max-steps must be >= 0, got {max_steps}")
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=max_steps))
        if resume and overwrite:
            raise ConfigError("--resume continues the output folder and --overwrite starts it afresh: give one")
        if output is not None:
            cfg = dataclasses.replace(cfg, output=str(output))
        check_workers(workers, engine, address)
        out = prepare_output_dir(cfg.output_dir(), overwrite=overwrite, resume=resume)
        s = launch_workers(run, cfg, out, summary, workers=workers, engine=engine, address=address, resume=resume,
                           progress=progress)
        if as_json:
            emit_json(s)
            return
        state = "done" if s["finished"] else "paused (continue with --resume)"
        val = (f"; validation LER {s['val_ler']:.5f} vs PyMatching {s['matching_ler']:.5f} "
               f"({s['ratio_to_matching']:.3f}x)" if "val_ler" in s else "")
        par = f" on {workers} data-parallel workers ({engine})" if workers > 1 or engine == "ray" else ""
        typer.echo(f"{cfg.name}: {state} at step {s['steps']} ({s['shots']} shots, {s['wall_s']:.0f} s{par}){val}")
        typer.echo(f"model: {s['model']}")
