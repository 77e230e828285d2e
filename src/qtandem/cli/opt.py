"""``qtandem opt``: QAOA beside the classical solvers, and training of the angle network.

    qtandem opt solve PROBLEM.toml --method qaoa --p 4 --compare classical
    qtandem opt train-angles CONFIG.toml -o runs/angles
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputDir, OverwriteFlag, emit_json
from qtandem.cli.main import friendly

_METHODS = ("qaoa", "exact", "mip", "routing", "gw", "anneal", "auto")


def _fmt(v: Any, spec: str) -> str:
    width = int("".join(c for c in spec.split(".", maxsplit=1)[0] if c.isdigit()) or 0)
    return "-".rjust(width) if v is None else format(v, spec)


def register(app: typer.Typer) -> None:
    """Add the ``opt`` group to ``app``."""
    opt_app = typer.Typer(help="Optimisation: QAOA (fixed, learned or optimised angles) beside classical solvers.",
                          no_args_is_help=True)
    app.add_typer(opt_app, name="opt")

    @opt_app.command("solve")
    @friendly
    def solve(
        problem: Annotated[Path, typer.Argument(help="Problem file (TOML: maxcut, tsp, cvrp, portfolio, mis).")],
        method: Annotated[str, typer.Option(help="qaoa, or a classical method: auto, exact, mip, routing, gw, "
                                                 "anneal.")] = "qaoa",
        p: Annotated[int, typer.Option("--p", help="QAOA depth.")] = 2,
        init: Annotated[str, typer.Option(help="QAOA start: interp (any problem), fixed (tabulated angles, "
                                                "regular MaxCut only), learned, random.")] = "interp",
        mixer: Annotated[str, typer.Option(help="QAOA mixer: x, xy (one-hot / budget groups: tsp, cvrp, "
                                                "portfolio), warm (warm start: portfolio, maxcut).")] = "x",
        shots: Annotated[int, typer.Option(help="Samples drawn from the optimised QAOA state; QAOA's value is "
                                                "the best feasible one (seeded by --seed).")] = 1000,
        compare: Annotated[str | None, typer.Option(help="'classical': the classical solver beside QAOA.")] = None,
        max_evaluations: Annotated[int | None, typer.Option(help="QAOA energy evaluations (0: the start angles "
                                                                 "as they are).")] = None,
        seed: Annotated[int, typer.Option(help="Seed.")] = 0,
        as_json: JsonFlag = False,
    ) -> None:
        """Solve a problem; with --compare classical, a table: each solver's value (QAOA's: the best feasible
        of --shots samples) and ratio to the optimum, QAOA's expected (penalised) objective, P(opt),
        P(feasible), shots to 99% confidence, evaluations, time."""
        from qtandem.errors import ConfigError

        if method not in _METHODS:
            raise ConfigError(f"--method: unknown {method!r} (choose from {', '.join(_METHODS)})")
        if compare not in (None, "classical"):
            raise ConfigError(f"--compare: only 'classical' is known, got {compare!r}")
        if p < 1:
            raise ConfigError(f"--p must be >= 1, got {p}")
        if init not in ("fixed", "interp", "learned", "random"):
            raise ConfigError(f"--init: unknown {init!r} (choose from fixed, interp, learned, random)")
        if mixer not in ("x", "xy", "warm"):
            raise ConfigError(f"--mixer: unknown {mixer!r} (choose from x, xy, warm)")
        if shots < 1:
            raise ConfigError(f"--shots must be >= 1, got {shots}")
        from qtandem.opt import load_problem

        prob = load_problem(problem)
        if method == "qaoa":
            from qtandem.opt.report import compare as run_compare

            out = run_compare(prob, p=p, init=init, seed=seed, max_evaluations=max_evaluations,
                              classical=("auto",) if compare else (), shots=shots, mixer=mixer)
        else:
            if compare:
                raise ConfigError("--compare classical goes with --method qaoa")
            from qtandem.opt import solve_classical

            res = solve_classical(prob, method=method, seed=seed)
            out = {"problem": prob.name, "n_variables": prob.n_variables, "optimum": float(res.value),
                   "optimum_proved": res.optimal,
                   "rows": [{"solver": res.method, "value": float(res.value), "ratio": 1.0,
                             "feasible": bool(prob.is_feasible(res.solution)), "expected": None,
                             "approximation_ratio": None, "p_opt": None, "p_feasible": None, "shots_99": None,
                             "shots": None, "evaluations": None, "time_s": float(res.time_s),
                             "optimal": res.optimal, "solution": [int(v) for v in res.solution]}]}
        if as_json:
            emit_json(out)
            return
        typer.echo(f"{out['problem']}: {out['n_variables']} variables; optimum "
                   f"{_fmt(out['optimum'], '.6g')}{' (proved)' if out['optimum_proved'] else ''}")
        width = max(22, *(len(r["solver"]) for r in out["rows"]))
        typer.echo(f"{'solver':<{width}} {'value':>10} {'ratio':>7} {'feas':>5} {'expected':>10} {'P(opt)':>8} "
                   f"{'P(feas)':>8} {'shots99':>8} {'evals':>6} {'time_s':>8}")
        for r in out["rows"]:
            typer.echo(f"{r['solver']:<{width}} {_fmt(r['value'], '10.5g')} {_fmt(r.get('ratio'), '7.4f')} "
                       f"{'yes' if r['feasible'] else 'no':>5} {_fmt(r['expected'], '10.5g')} "
                       f"{_fmt(r['p_opt'], '8.4f')} {_fmt(r['p_feasible'], '8.4f')} {_fmt(r['shots_99'], '8d')} "
                       f"{_fmt(r['evaluations'], '6d')} {r['time_s']:8.3f}")
        if method == "qaoa":
            typer.echo(f"QAOA value: the best feasible of {out['shots']} samples (seed {out['seed']}); expected: "
                       "the state's mean objective, penalties included.")

    @opt_app.command("train-angles")
    @friendly
    def train_angles(
        config: Annotated[Path, typer.Argument(help="TOML configuration (keys: python -m pydoc "
                                                    "qtandem.opt.train_angles.TrainConfig).")],
        output: OutputDir = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the output folder's "
                                                              "checkpoint.")] = False,
        overwrite: OverwriteFlag = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
        as_json: JsonFlag = False,
    ) -> None:
        """Train the QAOA angle network end-to-end through exact QAOA energies; writes checkpoint.safetensors,
        metrics.jsonl, model.safetensors (best dev loss), training.png and report.html."""
        from qtandem.cli.common import prepare_output_dir
        from qtandem.errors import ConfigError
        from qtandem.opt.train_angles import load_config, train

        if resume and overwrite:
            raise ConfigError("--resume continues the output folder and --overwrite starts it afresh: give one")
        cfg = load_config(config)
        out = prepare_output_dir(output or Path("runs") / f"angles-{config.stem}", overwrite=overwrite,
                                 resume=resume)
        if progress and not as_json:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("training", total=cfg.steps)

                def tick(step: int, steps: int, loss: float) -> None:
                    bar.update(task, completed=step, description=f"loss {loss:.4f}")

                summary = train(cfg, out, resume=resume, progress=tick)
        else:
            summary = train(cfg, out, resume=resume)
        summary = {"output": str(out), "model": str(out / "model.safetensors"), **summary}
        if as_json:
            emit_json(summary)
            return
        typer.echo(f"trained {summary['steps']} steps on {summary['train_instances']} instances "
                   f"({summary['seconds']:.0f} s); best dev loss {summary['best_dev_loss']:.4f}")
        typer.echo(f"model: {summary['model']}  report: {out / 'report.html'}")
