"""``qtandem compile train CONFIG.toml``: train the rewrite policy of the circuit search.

The behaviour lives in :mod:`qtandem.compile.train_policy`; this module only parses options.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from qtandem.cli.common import JsonFlag, OverwriteFlag
from qtandem.cli.main import friendly


def register(app: typer.Typer) -> None:
    """Add the ``compile`` sub-app (``train``) to ``app``."""
    compile_app = typer.Typer(name="compile", help="Circuit compilation: train the learned rewrite policy.",
                              no_args_is_help=True)

    @compile_app.command("train")
    @friendly
    def train(
        config: Annotated[Path, typer.Argument(help="TOML configuration (schema: python -m pydoc "
                                                    "qtandem.compile.train_policy).")],
        resume: Annotated[bool, typer.Option("--resume", help="Continue exactly from the output folder's "
                                                              "checkpoint.")] = False,
        output: Annotated[Path | None, typer.Option("-o", "--output", metavar="DIR",
                                                    help="Output folder (overrides the config's output).")] = None,
        overwrite: OverwriteFlag = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
        max_epochs: Annotated[int | None, typer.Option(help="Stop after this epoch in all, with a checkpoint "
                                                            "(continue with --resume).")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Label generated circuits by exhaustive search and train the policy; writes model.safetensors."""
        from qtandem.cli.common import emit_json, prepare_output_dir
        from qtandem.compile.train_policy import load_config
        from qtandem.compile.train_policy import train as run
        from qtandem.errors import ConfigError

        cfg = load_config(config)
        if max_epochs is not None:
            if max_epochs < 0:
                raise ConfigError(f"--max-epochs must be >= 0, got {max_epochs}")
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_epochs=max_epochs))
        out = prepare_output_dir(Path(output or cfg.output or f"runs/{cfg.name}"), overwrite=overwrite,
                                 resume=resume)
        if overwrite and not resume:
            (out / "checkpoint.safetensors").unlink(missing_ok=True)  # replaced: the run starts afresh
        res = run(cfg, resume=resume, progress=progress, output=out)
        last = res.records[-1] if res.records else {}
        k = cfg.train.k
        summary = {"output": str(res.output), "model": str(res.output / "model.safetensors"), "epoch": res.epoch,
                   "states": res.states, "finished": res.finished, "wall_s": round(res.wall_s, 1),
                   **{key: last[key] for key in ("val_loss", f"top{k}_hit", f"random_top{k}_hit", f"prior_top{k}_hit")
                      if key in last}}
        if as_json:
            emit_json(summary)
            return
        state = "done" if res.finished else "paused (continue with --resume)"
        prior = last.get(f"prior_top{k}_hit", float("nan"))
        hit = (f"; held-out circuits' top-{k} hit {last[f'top{k}_hit']:.3f} (random order "
               f"{last[f'random_top{k}_hit']:.3f}, rule-frequency prior {prior:.3f})" if f"top{k}_hit" in last else "")
        typer.echo(f"{cfg.name}: {state} at epoch {res.epoch} ({res.states} search states){hit}")
        typer.echo(f"model: {summary['model']}")

    app.add_typer(compile_app, name="compile")
