"""``qtandem learn tomography DATA -o model/``: train a NeuralStateModel on a Pauli shot record.

The output folder holds ``checkpoint.safetensors`` (weights, Adam state, step; written
atomically every ``--checkpoint-every`` steps), ``metrics.jsonl`` (loss per step, fidelity at
checkpoints when ``--state`` is given), the final model (``model.safetensors`` +
``config.json``, loadable with ``NeuralStateModel.load``) and ``report.html`` with the training
curve. ``--resume`` continues from the checkpoint with the same settings: the batches and the
result are those of an uninterrupted run. ``--steps`` may grow on resume; the cosine
learning-rate schedule then follows the new total.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OverwriteFlag
from qtandem.cli.main import friendly

FORMAT = "qtandem.learn.tomography/1"


def register(group: typer.Typer) -> None:
    """Add ``tomography`` to the ``qtandem learn`` group."""

    @group.command("tomography")
    @friendly
    def tomography_cmd(
        data: Annotated[Path, typer.Argument(metavar="DATA", help="Pauli shot-record folder (`qtandem learn "
                                                                   "measure`).")],
        output: OutputDir = None,
        kind: Annotated[str, typer.Option("--kind", help="Backbone: 'transformer', 'rnn' (GRU) or 'made' (masked "
                                                          "MLP; fast full states up to 20 qubits).")] = "transformer",
        steps: Annotated[int, typer.Option("--steps", metavar="N", help="Training steps in all.")] = 2000,
        batch_size: Annotated[int, typer.Option("--batch-size", metavar="B", help="Shots per step.")] = 256,
        lr: Annotated[float, typer.Option("--lr", help="Peak learning rate (cosine decay).")] = 0.01,
        d_model: Annotated[int, typer.Option("--d-model", help="Width of the backbone.")] = 32,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the initial weights and the batches.")] = 0,
        layers: Annotated[int, typer.Option("--layers", help="Transformer blocks, GRU layers or MADE hidden "
                                                              "layers.")] = 2,
        hidden: Annotated[int | None, typer.Option("--hidden", help="MADE hidden units per layer (default 4 x "
                                                                    "--d-model).")] = None,
        phase: Annotated[str, typer.Option("--phase", help="'full' (learned phase), 'zero' (learned, starting at "
                                                            "zero) or 'none' (real positive amplitudes).")] = "full",
        max_rotated: Annotated[int, typer.Option("--max-rotated", metavar="K",
                                                 help="Shots rotating more X/Y qubits are trained through the full "
                                                      "state (with --dense-every) or refused.")] = 14,
        dense_every: Annotated[int, typer.Option("--dense-every", metavar="N",
                                                 help="Every N-th step also trains on the shots rotating more than "
                                                      "--max-rotated qubits, through the full state (n <= 20; 0: "
                                                      "refuse them).")] = 0,
        dense_batch: Annotated[int, typer.Option("--dense-batch", metavar="B",
                                                 help="Such shots per dense step.")] = 64,
        state: Annotated[Path | None, typer.Option("--state", metavar="TRUE.npy",
                                                   help="The true state vector (.npy, 2**n complex) for exact "
                                                        "fidelities.")] = None,
        checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", metavar="N",
                                                      help="Steps between checkpoints.")] = 100,
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the output folder's checkpoint.")] = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Reconstruct a pure state from Pauli shots with an autoregressive neural wave function."""
        import json

        import numpy as np
        import torch

        from qtandem.cli.common import emit_json, prepare_output_dir
        from qtandem.errors import ConfigError, DataError
        from qtandem.learn.neural_state import NeuralStateModel
        from qtandem.learn.shots import ShotRecord
        from qtandem.training import (
            MetricsLog,
            check_resumable,
            load_checkpoint,
            progress_bar,
            restore_optimizer,
            save_checkpoint,
        )

        if output is None:
            raise ConfigError("give the output folder with -o DIR")
        if kind not in ("transformer", "rnn", "made"):
            raise ConfigError(f"--kind must be 'transformer', 'rnn' or 'made', got {kind!r}")
        if phase not in ("full", "zero", "none"):
            raise ConfigError(f"--phase must be 'full', 'zero' or 'none', got {phase!r}")
        if dense_every < 0 or max_rotated < 0:
            raise ConfigError(f"--dense-every and --max-rotated must be >= 0, got {dense_every} and {max_rotated}")
        for name, value in (("--steps", steps), ("--batch-size", batch_size), ("--checkpoint-every", checkpoint_every),
                            ("--d-model", d_model), ("--layers", layers), ("--hidden", hidden or 1),
                            ("--dense-batch", dense_batch)):
            if value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value}")
        if not lr > 0 or seed < 0:
            raise ConfigError(f"--lr must be positive and --seed >= 0, got {lr} and {seed}")
        record = ShotRecord.load(data)
        target = None
        if state is not None:
            try:
                target = np.load(state, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise DataError(f"{state}: not a .npy state vector ({exc})") from None
            if target.shape != (1 << record.n_qubits,):
                raise DataError(f"{state}: a state of shape {target.shape}, expected ({1 << record.n_qubits},) for "
                                f"the record's {record.n_qubits} qubits")
        prepare_output_dir(output, overwrite=overwrite, resume=resume)
        config = {"data": str(data), "shots": len(record), "n_qubits": record.n_qubits, "kind": kind,
                  "d_model": d_model, "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed,
                  "layers": layers, "hidden": hidden, "phase": phase, "max_rotated": max_rotated,
                  "dense_every": dense_every, "dense_batch": dense_batch}
        ckpt = output / "checkpoint.safetensors"
        model = NeuralStateModel(record.n_qubits, kind=kind, d_model=d_model, heads=4 if d_model % 4 == 0 else 1,
                                 seed=seed, layers=layers, hidden=hidden, phase=phase)
        start = 0
        if resume:
            tensors, meta = load_checkpoint(ckpt, FORMAT, what="qtandem learn tomography")
            check_resumable(json.loads(meta["config"]), config, resumable={"steps"}, path=ckpt, source="the options")
            model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            model.optimizer_ = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
            restore_optimizer(model.optimizer_, tensors, meta)
            start = model.step_ = int(json.loads(meta["state"])["step"])
        fidelities: list[tuple[int, float]] = []

        def save(step: int) -> None:
            save_checkpoint(ckpt, FORMAT, {f"model.{k}": v for k, v in model.state_dict().items()}, config=config,
                            state={"step": step}, optimizer=model.optimizer_)

        with MetricsLog(output / "metrics.jsonl", resume_from=start if resume else None) as log, \
                progress_bar(progress and not as_json, steps, done=start, label="tomography",
                             fields={"loss": "loss"}) as bar:
            fidelities = [(int(r["step"]), float(r["fidelity"])) for r in log.records if "fidelity" in r]

            def callback(step: int, loss: float) -> None:
                record_ = {"step": step, "loss": loss}
                if step % checkpoint_every == 0 or step == steps:
                    if target is not None:
                        record_["fidelity"] = model.fidelity(target)
                        fidelities.append((step, record_["fidelity"]))
                    save(step)
                log.emit(record_)
                bar.update(advance=1, loss=f"{loss:.4f}")

            model.fit(record, steps=steps, batch_size=batch_size, lr=lr, seed=seed, resume=resume, callback=callback,
                      max_rotated=max_rotated, dense_every=dense_every, dense_batch=dense_batch)
            losses = [(int(r["step"]), float(r["loss"])) for r in log.records]
        if start >= steps:
            save(model.step_)
        model.save(output, overwrite=True)
        fidelity = model.fidelity(target) if target is not None else None
        page = _report(output, config, losses, fidelities, fidelity, batch_size)
        result: dict[str, Any] = {"model": str(output), "steps": model.step_, "shots": len(record),
                                  "final_loss": losses[-1][1] if losses else None, "fidelity": fidelity,
                                  "report": str(page)}
        if as_json:
            emit_json(result)
        else:
            extra = f", fidelity {fidelity:.4f}" if fidelity is not None else ""
            typer.echo(f"wrote {output}: {record.n_qubits}-qubit {kind} model after {model.step_} steps{extra}")
            typer.echo(f"wrote {page}")


def _report(output: Path, config: dict[str, Any], losses: list[tuple[int, float]],
            fidelities: list[tuple[int, float]], fidelity: float | None, batch_size: int) -> Path:
    """``report.html``: the settings, the training curve and (with a reference) fidelity against shots drawn."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.report import Report

    rep = Report("Neural-network state tomography", output)
    sec = rep.section("Settings")
    sec.table(["setting", "value"], [[k, v] for k, v in config.items()])
    if fidelity is not None:
        sec.text(f"Exact fidelity with the given state: {fidelity:.5f}")
    if losses:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        steps = np.asarray([s for s, _ in losses])
        ax.plot(steps, [v for _, v in losses], lw=0.6, color="0.6", label="batch")
        window = max(1, len(losses) // 50)
        smooth = np.convolve([v for _, v in losses], np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color="C0", label=f"mean of {window}")
        ax.set_xlabel("step")
        ax.set_ylabel("Born-rule NLL per shot")
        ax.legend()
        rep.section("Training curve").figure(fig, "loss", "Negative log-likelihood of the batches")
        plt.close(fig)
    if fidelities:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([s * batch_size for s, _ in fidelities], [1 - f for _, f in fidelities], "o-")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("shots drawn by training (steps x batch size; with replacement)")
        ax.set_ylabel("infidelity 1 - F")
        rep.section("Fidelity against shots").figure(fig, "fidelity",
                                                     f"Exact infidelity at the checkpoints; the record holds "
                                                     f"{config['shots']} shots")
        plt.close(fig)
    return rep.write()
