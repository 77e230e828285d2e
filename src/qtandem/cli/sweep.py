"""``qtandem sweep``: run or resume a sweep (``qtandem sweep CONFIG.toml --out DIR``), ``merge`` runs, ``export``.

``qtandem sweep CONFIG.toml`` is short for ``qtandem sweep run CONFIG.toml``. The run folder gets
``results.jsonl`` (one row per chunk, appended as chunks finish), ``sweep.toml`` (the config),
``table.json`` (one entry per point) and ``report.html``. See :mod:`qtandem.sweep`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from qtandem.cli.common import JsonFlag, OutputDir, OutputError, OutputFile, OverwriteFlag, emit_json
from qtandem.cli.main import friendly


class _RunByDefault(TyperGroup):
    """``qtandem sweep CONFIG.toml ...`` means ``qtandem sweep run CONFIG.toml ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _check_folder(path: Path, *, overwrite: bool, resume: bool) -> None:
    if path.exists() and not path.is_dir():
        raise OutputError(f"output {path} is a file, expected a folder")
    if path.is_dir() and any(path.iterdir()) and not (overwrite or resume):
        raise OutputError(f"output folder {path} exists and is not empty: pass --resume to continue the sweep in "
                          f"it, or --overwrite to start again")


def _progress_bar(total: int) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("points"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                   TextColumn("ETA {task.fields[eta]}"), TimeElapsedColumn(), console=Console(stderr=True),
                   transient=True)
    task = bar.add_task("sweep", total=total, rate="", eta="?")

    def update(p: Any) -> None:
        eta = "?" if p.eta_s is None else f"{p.eta_s:.0f}s"
        bar.update(task, completed=p.points_done, rate=f"{p.shots_per_s:,.0f} shots/s, {p.rows} chunks", eta=eta)

    return bar, update


def _finish(rows: list[dict[str, Any]], folder: Path, table: list[dict[str, Any]], title: str,
            notes: list[str]) -> Path:
    import json

    from qtandem.io import atomic_write_text, json_safe
    from qtandem.sweep import write_report

    atomic_write_text(folder / "table.json", json.dumps(json_safe(table), indent=1) + "\n")
    return write_report(table, folder, title=title, notes=notes)


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` group (``run`` by default, ``merge``, ``export``) to ``app``."""
    sweep_app = typer.Typer(name="sweep", cls=_RunByDefault, no_args_is_help=True,
                            help="Resumable sweeps (QEC collection, ...) on a local process pool or Ray: "
                                 "qtandem sweep CONFIG.toml --out DIR.")

    @sweep_app.command("run")
    @friendly
    def run(
        config: Annotated[Path, typer.Argument(metavar="CONFIG", help="The sweep's TOML file (see examples/sweep/).")],
        output: OutputDir = None,
        out: Annotated[Path | None, typer.Option("--out", hidden=True, help="Same as -o/--output.")] = None,
        engine: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
        address: Annotated[str | None, typer.Option(help="Ray cluster: 'auto' or HOST:PORT (default: a private "
                                                         "local Ray).")] = None,
        workers: Annotated[int | None, typer.Option(help="Local processes, or CPUs of a private local Ray "
                                                         "(default: 1 local worker, run in-process; all CPUs "
                                                         "for Ray).")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the sweep in an existing run "
                                                             "folder (only missing chunks run).")] = False,
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Run or resume a sweep; rows go to DIR/results.jsonl as chunks finish."""
        from qtandem.engine import make_engine
        from qtandem.io import atomic_write_text
        from qtandem.sweep import load_config, plan, run_sweep
        from qtandem.sweep.store import RESULTS

        if (output is None) == (out is None):
            raise OutputError("give the run folder once: -o/--output DIR (or --out DIR)")
        output = output if output is not None else out
        assert output is not None
        cfg = load_config(config)
        points = plan(cfg)  # every point validated before anything starts or is written
        _check_folder(output, overwrite=overwrite, resume=resume)
        n_workers = 1 if workers is None and engine == "local" else workers
        with make_engine(engine, workers=n_workers, address=address) as eng:
            output.mkdir(parents=True, exist_ok=True)
            if overwrite and not resume:
                (output / RESULTS).unlink(missing_ok=True)
            atomic_write_text(output / "sweep.toml", cfg.text)
            bar, update = _progress_bar(len(points))
            with bar:
                result = run_sweep(cfg, eng, output, points=points, progress=update)
            n = eng.workers
        from qtandem.sweep.store import read_rows

        notes = [f"config {config}, engine {engine} ({n} workers), this run: {result.rows_written} chunks, "
                 f"{result.wall_s:.1f} s wall, {result.cpu_s:.1f} s task CPU (effective parallelism "
                 f"{result.effective_parallelism:.2f})."]
        report = _finish(read_rows(output), output, result.table, f"sweep {cfg.name}", notes)
        summary = {"out": str(output), "points": len(result.table), "complete": result.complete,
                   "chunks_run": result.rows_written, "wall_s": result.wall_s, "task_cpu_s": result.cpu_s,
                   "effective_parallelism": result.effective_parallelism, "engine": engine, "workers": n,
                   "report": str(report)}
        if as_json:
            emit_json({**summary, "table": result.table})
            return
        typer.echo(f"{len(result.table)} points ({sum(e['complete'] for e in result.table)} complete), "
                   f"{result.rows_written} chunks run in {result.wall_s:.1f} s on {n} {engine} worker(s), "
                   f"effective parallelism {result.effective_parallelism:.2f}")
        varying = [k for k in (result.table[0]["point"] if result.table else {})
                   if len({repr(e["point"].get(k)) for e in result.table}) > 1]
        for e in result.table:
            pt = ", ".join(f"{k}={e['point'][k]}" for k in varying) or e["key"]
            counts = f"{e['errors']}/{e['shots']}" if "errors" in e else f"{e['chunks']} chunks"
            if e["job"] == "mitigation" and e.get("result"):
                r = e["result"]
                counts = ", ".join(f"{name} {r[k]:.4f}" if r.get(k) is not None else f"{name} -" for name, k in
                                   (("raw", "raw"), ("mitigated", "value"), ("+-", "stderr"), ("exact", "exact")))
            typer.echo(f"  {pt}: {counts}")
        typer.echo(f"wrote {output / RESULTS} and {report}")

    @sweep_app.command("merge")
    @friendly
    def merge(
        runs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run folders or results.jsonl files.")],
        output: Annotated[Path, typer.Option("-o", "--output", metavar="DIR", help="Folder for the merged run.")],
        overwrite: OverwriteFlag = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Combine the rows of runs from several machines (each chunk once; duplicates must agree)."""
        import json

        from qtandem.io import atomic_write_text
        from qtandem.sweep import merge_rows, read_rows, summarise
        from qtandem.sweep.store import RESULTS, results_path

        for run_path in runs:
            if not results_path(run_path).exists():
                raise FileNotFoundError(2, "no results", str(results_path(run_path)))
        rows = merge_rows(*(read_rows(r) for r in runs), sources=tuple(str(r) for r in runs))
        _check_folder(output, overwrite=overwrite, resume=False)
        output.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output / RESULTS, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        table = summarise(rows)
        report = _finish(rows, output, table, "merged sweep", [f"merged {', '.join(map(str, runs))}"])
        if as_json:
            emit_json({"out": str(output), "rows": len(rows), "points": len(table), "report": str(report)})
            return
        typer.echo(f"{len(rows)} chunks, {len(table)} points -> {output / RESULTS}")

    @sweep_app.command("export")
    @friendly
    def export(
        run_path: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder or results.jsonl file.")],
        sinter_csv: Annotated[bool, typer.Option("--sinter-csv", help="sinter's CSV (for 'sinter plot'; qec "
                                                                      "points only).")] = False,
        output: OutputFile = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Write the per-point table: sinter's CSV with --sinter-csv, JSON with --json, else text."""
        import json

        from qtandem.cli.common import check_output_file
        from qtandem.io import atomic_write_text, json_safe
        from qtandem.sweep import read_rows, summarise
        from qtandem.sweep import sinter_csv as to_csv
        from qtandem.sweep.store import results_path

        if not results_path(run_path).exists():
            raise FileNotFoundError(2, "no results", str(results_path(run_path)))
        if output is not None:
            check_output_file(output)
        if sinter_csv and as_json:
            raise OutputError("choose one format: --sinter-csv or --json")
        table = summarise(read_rows(run_path))
        if sinter_csv:
            text = to_csv(table)
        elif as_json:
            text = json.dumps(json_safe(table), indent=1) + "\n"
        else:
            text = "".join(f"{e['key']}  {e['job']}  {e['chunks']} chunks  "
                           + (f"{e['errors']}/{e['shots']} errors  " if "errors" in e else "")
                           + ("complete" if e["complete"] else "incomplete") + "\n" for e in table)
        if output is None:
            typer.echo(text, nl=False)
        else:
            atomic_write_text(output, text)
            typer.echo(f"wrote {output} ({len(table)} points)", err=True)

    app.add_typer(sweep_app, name="sweep")
