"""``qtandem tune``: hyper-parameter search over qtandem's trainers, with early stopping, resumable.

Two engines run the same trials (:meth:`TuneConfig.trials`: the draws depend only on the file):

* ``ray``: `Ray Tune <https://docs.ray.io/en/latest/tune/>`_ with its ``ASHAScheduler``
  (``time_attr = "training_iteration"``: one iteration per trainer evaluation) or FIFO; every trial
  asks for one CPU; ``--resume`` is ``Tuner.restore`` (unfinished trials start again from their
  beginning, with the same seeds). Results arrive as Ray schedules them, so which trials ASHA stops
  can depend on timing.
* ``local``: no Ray needed. Successive halving in rounds (the synchronous form of ASHA's rule): every
  live trial runs to the next rung (``grace_period * reduction_factor**k`` evaluations), then the
  best ``ceil(n / reduction_factor)`` of them by the metric (ties: lower trial index) go on and the
  others stop. Trials pause and resume through the trainers' exact checkpoints, run as tasks of a
  :class:`~qtandem.engine.LocalEngine` (one process per trial at a time), and the decisions depend
  only on the metrics: the table is the same for any number of workers, and a resumed run's equals
  an uninterrupted one's.

The run folder: ``tune.toml`` (the configuration), ``trials/NNNN/`` (each trial's own trainer
output), ``reports.jsonl`` (one row per trial and evaluation, written by the driver only),
``trials.jsonl`` and ``trials.csv`` (one row per trial: overrides, status, last metrics),
``best_config.toml`` (the best trial's full configuration: ``qtandem train best_config.toml``),
``curves.png`` and ``report.html``.

Examples:
    >>> import tempfile
    >>> from qtandem.sweep.tune_config import parse_config
    >>> cfg = parse_config('[tune]\\ntrainer = "qaoa"\\nbase = "examples/tune/maxcut_ring6.toml"\\n'
    ...                    '[fixed]\\n"qaoa.max_evaluations" = 30\\n[space]\\n"qaoa.p" = {grid = [1, 2]}\\n')
    >>> res = run_tune(cfg, tempfile.mkdtemp(), engine="local")
    >>> [row["qaoa.p"] for row in res.table], res.best["trial"], res.best_config.name
    ([1, 2], 1, 'best_config.toml')
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qtandem.errors import ConfigError, EngineError
from qtandem.io import atomic_write_text, read_jsonl
from qtandem.sweep.tune_config import TuneConfig
from qtandem.sweep.tune_trials import get_trial_kind

__all__ = ["TuneResult", "prepare_trials", "run_tune", "trial_task"]

REPORTS = "reports.jsonl"


@dataclass
class TuneResult:
    """What :func:`run_tune` returns.

    Attributes:
        output: the run folder.
        table: one row per trial (``trial``, the tuned keys, ``status``, ``reports``, the last metrics).
        best: the best finished-or-stopped trial's row by the metric (``None`` if no trial reported).
        best_config: path of ``best_config.toml`` (``None`` without a best trial).
        report: path of ``report.html``.
        complete: every trial has ended (finished or stopped early).
        engine: ``local`` or ``ray``.
        seconds: wall time of this call.

    Examples:
        >>> TuneResult(Path("."), [], None, None, Path("report.html"), True, "local", 0.0).complete
        True
    """

    output: Path
    table: list[dict[str, Any]]
    best: dict[str, Any] | None
    best_config: Path | None
    report: Path
    complete: bool
    engine: str
    seconds: float


def prepare_trials(cfg: TuneConfig) -> list[dict[str, Any]]:
    """Every trial's validated configuration (before anything is written or run).

    Raises:
        ConfigError: a bad base file, an unknown key path, a value the trainer refuses, or a metric the
            trainer does not report.

    Examples:
        >>> from qtandem.sweep.tune_config import parse_config
        >>> cfg = parse_config('[tune]\\ntrainer = "vqe"\\nmetric = "eror"\\n[space]\\n"vqe.seed" = {grid = [0]}')
        >>> prepare_trials(cfg)
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: <string>: tune.metric: 'eror' is not reported by trainer 'vqe' \
(did you mean 'error'?); it reports error, energy, n_evaluations, cnot_count
    """
    from qtandem.config import did_you_mean

    kind = get_trial_kind(cfg.trainer)
    if cfg.metric not in kind.metrics:
        raise ConfigError(f"{cfg.source}: tune.metric: {cfg.metric!r} is not reported by trainer {kind.name!r}"
                          f"{did_you_mean(cfg.metric, kind.metrics)}; it reports {', '.join(kind.metrics)}")
    fixed = dict(cfg.fixed)
    if cfg.max_steps and kind.steps_key not in fixed and kind.steps_key not in cfg.space:
        fixed[kind.steps_key] = cfg.max_steps
    labels = {**dict.fromkeys(cfg.fixed, "fixed"), **dict.fromkeys(cfg.space, "space")}
    if cfg.max_steps and kind.steps_key in fixed and kind.steps_key not in cfg.fixed:
        labels[kind.steps_key] = "tune.max_steps ->"
    return [kind.resolve(cfg.base, {**fixed, **overrides}, cfg.source, labels) for overrides in cfg.trials()]


def trial_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Run trial ``payload["trial"]`` to report ``payload["until"]`` (``None``: the end); an engine task.

    Returns:
        ``{"trial", "reports", "ended", "seconds"}``.

    Examples:
        >>> import tempfile
        >>> from qtandem.sweep.tune_config import parse_config
        >>> cfg = parse_config('[tune]\\ntrainer = "qaoa"\\nbase = "examples/tune/maxcut_ring6.toml"\\n'
        ...                    '[space]\\n"qaoa.max_evaluations" = {grid = [10]}\\n')
        >>> out = trial_task({"kind": "qaoa", "trial": 0, "config": prepare_trials(cfg)[0], "until": None,
        ...                   "out": tempfile.mkdtemp(), "source": "t.toml"})
        >>> out["ended"], out["reports"][0]["n_evaluations"] <= 11
        (True, True)
    """
    kind = get_trial_kind(payload["kind"])
    t0 = time.perf_counter()
    reports, ended = kind.run(payload["config"], Path(payload["out"]), until=payload["until"],
                              source=payload["source"])
    return {"trial": payload["trial"], "reports": reports, "ended": ended, "seconds": time.perf_counter() - t0}


def _metric_key(value: Any, mode: str) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.inf
    return -float(value) if mode == "max" else float(value)


class _Store:
    """``reports.jsonl``: rows ``{"trial", "report", "step", metrics..., "ended"?}``, driver-only, flushed."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.reports: dict[int, list[dict[str, Any]]] = {}
        self.ended: set[int] = set()
        if resume:
            for row in read_jsonl(path):
                if row.get("type") == "ended":
                    self.ended.add(row["trial"])
                else:
                    self._add(row)
        text = "".join(json.dumps(r) + "\n" for t in sorted(self.reports) for r in self.reports[t])
        text += "".join(json.dumps({"type": "ended", "trial": t}) + "\n" for t in sorted(self.ended))
        atomic_write_text(path, text)
        self._fh = path.open("a", encoding="utf-8")

    def _add(self, row: dict[str, Any]) -> bool:
        have = self.reports.setdefault(row["trial"], [])
        if row["report"] <= len(have):
            return False
        have.append(row)
        return True

    def add(self, trial: int, reports: list[dict[str, Any]], ended: bool) -> None:
        for r in reports:
            row = {"type": "report", "trial": trial, **r}
            if self._add(row):
                self._fh.write(json.dumps(row) + "\n")
        if ended and trial not in self.ended:
            self.ended.add(trial)
            self._fh.write(json.dumps({"type": "ended", "trial": trial}) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def count(self, trial: int) -> int:
        return len(self.reports.get(trial, []))

    def close(self) -> None:
        self._fh.close()


def _payload(cfg: TuneConfig, configs: list[dict[str, Any]], out: Path, trial: int,
             until: int | None) -> dict[str, Any]:
    return {"kind": cfg.trainer, "trial": trial, "config": configs[trial], "until": until,
            "out": str(out / "trials" / f"{trial:04d}"), "source": str(cfg.base or cfg.source)}


def _run_local(cfg: TuneConfig, configs: list[dict[str, Any]], out: Path, store: _Store, workers: int | None,
               max_tasks: int | None, tick: Callable[[], None]) -> tuple[dict[int, str], bool]:
    from qtandem.engine import LocalEngine

    kind = get_trial_kind(cfg.trainer)
    totals = [len(kind.report_steps(c)) for c in configs]
    rungs = cfg.scheduler.rungs(max(totals))
    status = dict.fromkeys(range(len(configs)), "running")
    alive = list(range(len(configs)))
    done_tasks = 0
    with LocalEngine(workers or 1) as engine:
        for milestone in [*rungs, None]:
            todo = []
            for i in alive:
                target = totals[i] if milestone is None else min(milestone, totals[i])
                if i not in store.ended and store.count(i) < target:
                    todo.append(_payload(cfg, configs, out, i, None if target == totals[i] else target))
            for res in engine.map_unordered(trial_task, todo):
                store.add(res["trial"], res["reports"], res["ended"])
                tick()
                done_tasks += 1
                if max_tasks is not None and done_tasks >= max_tasks:
                    return status, False
            for i in alive:
                if i in store.ended or store.count(i) >= totals[i]:
                    status[i] = "finished"
            if milestone is None:
                break
            live = [i for i in alive if status[i] == "running"]
            ranked = sorted(live, key=lambda i: (_metric_key(store.reports[i][milestone - 1].get(cfg.metric),
                                                             cfg.mode), i))
            keep = ranked[:math.ceil(len(ranked) / cfg.scheduler.reduction_factor)]
            for i in live:
                if i not in keep:
                    status[i] = f"stopped at {milestone}"
            alive = keep
    return status, True


def _ray_trainable(params: dict[str, Any], *, payloads: list[dict[str, Any]]) -> None:
    import shutil

    from ray import tune

    p = payloads[params["trial"]]
    kind = get_trial_kind(p["kind"])
    shutil.rmtree(p["out"], ignore_errors=True)  # a restored trial starts again: Ray counts its reports afresh

    def report(rec: dict[str, Any]) -> None:
        tune.report({k: v for k, v in rec.items() if v is not None})

    kind.run(p["config"], Path(p["out"]), until=None, source=p["source"], report=report)


def _run_ray(cfg: TuneConfig, configs: list[dict[str, Any]], out: Path, store: _Store, workers: int | None,
             address: str | None, resume: bool) -> tuple[dict[int, str], bool]:
    import functools

    from qtandem.engine import RayEngine

    kind = get_trial_kind(cfg.trainer)
    totals = [len(kind.report_steps(c)) for c in configs]
    payloads = [_payload(cfg, configs, out.resolve(), i, None) for i in range(len(configs))]
    with RayEngine(address, num_cpus=workers):
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

        s = cfg.scheduler
        scheduler: Any = (ASHAScheduler(time_attr="training_iteration", max_t=max(totals), grace_period=s.grace_period,
                                        reduction_factor=s.reduction_factor) if s.kind == "asha" else FIFOScheduler())
        trainable = tune.with_resources(functools.partial(_ray_trainable, payloads=payloads), {"cpu": 1})
        path = out.resolve() / "ray"
        if resume and tune.Tuner.can_restore(str(path)):
            tuner = tune.Tuner.restore(str(path), trainable=trainable, resume_unfinished=True, resume_errored=True,
                                       param_space={"trial": tune.grid_search(list(range(len(configs))))})
        else:
            tuner = tune.Tuner(
                trainable, param_space={"trial": tune.grid_search(list(range(len(configs))))},
                tune_config=tune.TuneConfig(metric=cfg.metric, mode=cfg.mode, scheduler=scheduler,
                                            max_concurrent_trials=workers),
                run_config=tune.RunConfig(name="ray", storage_path=str(out.resolve()), verbose=0))
        with contextlib.redirect_stdout(sys.stderr):  # Ray Tune's tables go to stderr: stdout stays the command's
            grid = tuner.fit()
        status: dict[int, str] = {}
        for j in range(len(grid)):
            result = grid[j]
            i = int((result.config or {})["trial"])
            frame = result.metrics_dataframe
            rows = [] if frame is None else frame.to_dict("records")
            reports = [{"report": int(r["training_iteration"]), "step": int(r.get("step", 0)),
                        **{k: _plain(r.get(k)) for k in kind.metrics if k in r}} for r in rows]
            reports.sort(key=lambda r: r["report"])
            n = len(reports)
            ended = result.error is None and n > 0
            store.add(i, reports, ended)
            if result.error is not None:
                status[i] = f"error: {str(result.error).splitlines()[0][:200]}"
            elif n >= totals[i]:
                status[i] = "finished"
            else:
                status[i] = f"stopped at {n}"
    complete = all(not v.startswith("error") for v in status.values()) and len(status) == len(configs)
    return status, complete


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _table(cfg: TuneConfig, store: _Store, status: dict[int, str], n: int) -> list[dict[str, Any]]:
    kind = get_trial_kind(cfg.trainer)
    rows = []
    for i, overrides in enumerate(cfg.trials()[:n]):
        reps = store.reports.get(i, [])
        last = reps[-1] if reps else {}
        row: dict[str, Any] = {"trial": i, **overrides, "status": status.get(i, "not run"), "reports": len(reps),
                               "step": last.get("step")}
        row.update({k: last.get(k) for k in kind.metrics})
        rows.append(row)
    return rows


def _write_table(out: Path, table: list[dict[str, Any]]) -> None:
    atomic_write_text(out / "trials.jsonl", "".join(json.dumps(r) + "\n" for r in table))
    buf = io.StringIO()
    if table:
        w = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    atomic_write_text(out / "trials.csv", buf.getvalue())


def _best(cfg: TuneConfig, table: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [r for r in table if r["reports"] and r.get(cfg.metric) is not None]
    if not scored:
        return None
    return min(scored, key=lambda r: (_metric_key(r[cfg.metric], cfg.mode), r["trial"]))


def _figure(cfg: TuneConfig, store: _Store, best: int | None) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i in sorted(store.reports):
        reps = store.reports[i]
        xs = [r["report"] for r in reps]
        ys = [math.nan if r.get(cfg.metric) is None else float(r[cfg.metric]) for r in reps]
        if i == best:
            ax.plot(xs, ys, marker="o", lw=2.2, color="C3", label=f"best: trial {i}", zorder=3)
        else:
            ax.plot(xs, ys, marker=".", lw=0.9, alpha=0.6, color="C0")
    ax.set_xlabel("evaluation (training iteration)")
    ax.set_ylabel(cfg.metric)
    ax.grid(alpha=0.3)
    if best is not None:
        ax.legend()
    ax.set_title(f"{cfg.name}: {cfg.metric} per trial ({cfg.scheduler.kind})")
    return fig


def _write_report(cfg: TuneConfig, out: Path, table: list[dict[str, Any]], best: dict[str, Any] | None,
                  store: _Store, engine: str, seconds: float) -> Path:
    from qtandem.report import Report

    rep = Report(f"qtandem tune: {cfg.name}", out)
    sec = rep.section("Summary")
    stopped = sum(1 for r in table if str(r["status"]).startswith("stopped"))
    sec.text(f"{len(table)} trials of trainer {cfg.trainer!r} on the {engine} engine, scheduler {cfg.scheduler.kind} "
             f"(grace period {cfg.scheduler.grace_period}, reduction factor {cfg.scheduler.reduction_factor}); "
             f"{stopped} stopped early; metric {cfg.metric} ({cfg.mode}); {seconds:.1f} s in this session.")
    if best is not None:
        sec.text(f"Best: trial {best['trial']} with {cfg.metric} = {best[cfg.metric]}; "
                 "its configuration is best_config.toml.")
    if table:
        keys = list(table[0])
        sec.table(keys, [[r[k] for k in keys] for r in table])
    rep.section("Curves").figure(_figure(cfg, store, best["trial"] if best else None), "curves",
                                 f"{cfg.metric} after every evaluation, per trial.")
    rep.section("Configuration").code(cfg.text or "")
    return rep.write()


def run_tune(cfg: TuneConfig, output: str | os.PathLike[str], *, engine: str = "local", workers: int | None = None,
             address: str | None = None, resume: bool = False, progress: bool = False,
             max_tasks: int | None = None) -> TuneResult:
    """Run (or, with ``resume``, continue) the search ``cfg`` into the folder ``output``.

    Args:
        cfg: the configuration (:func:`~qtandem.sweep.tune_config.load_config`).
        output: the run folder.
        engine: ``local`` (successive halving by rounds, no Ray needed) or ``ray`` (Ray Tune, ASHA).
        workers: trials at once (local processes, or CPUs of a private local Ray).
        address: Ray only: a cluster to join (``"auto"``, ``"HOST:PORT"``).
        resume: continue the run in ``output`` (local: only missing evaluations run; Ray: ``Tuner.restore``).
        progress: a rich progress bar (local engine).
        max_tasks: local engine: stop after this many trial tasks (to test resuming); the result is incomplete.

    Returns:
        A :class:`TuneResult`.

    Raises:
        ConfigError: see :func:`prepare_trials`; ``resume`` of a run with another configuration.
        EngineError: unknown engine, or Ray missing / unreachable.

    Examples:
        >>> from qtandem.sweep.tune_config import parse_config
        >>> cfg = parse_config('[tune]\\ntrainer = "qaoa"\\nbase = "examples/tune/maxcut_ring6.toml"\\n'
        ...                    '[space]\\n"qaoa.p" = {grid = [1]}\\n')
        >>> run_tune(cfg, "unused", engine="dask")
        Traceback (most recent call last):
        ...
        qtandem.errors.EngineError: unknown engine 'dask'; use local or ray
    """
    from qtandem.training import progress_bar

    t0 = time.perf_counter()
    if engine not in ("local", "ray"):
        raise EngineError(f"unknown engine {engine!r}; use local or ray")
    if engine == "local" and address is not None:
        raise EngineError("--address is for the Ray engine (--engine ray)")
    configs = prepare_trials(cfg)
    out = Path(output)
    saved = out / "tune.toml"
    if resume and saved.exists() and saved.read_text(encoding="utf-8") != cfg.text:
        raise ConfigError(f"{cfg.source}: differs from the run's tune.toml ({saved}); --resume needs the same "
                          "configuration (or start afresh in another folder)")
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        import shutil

        for stale in ("trials", "ray"):
            shutil.rmtree(out / stale, ignore_errors=True)
    atomic_write_text(saved, cfg.text)
    store = _Store(out / REPORTS, resume)
    try:
        if engine == "local":
            with progress_bar(progress, len(configs), label=f"tune {cfg.name}") as bar:
                status, complete = _run_local(cfg, configs, out, store, workers, max_tasks, bar.advance)
        else:
            status, complete = _run_ray(cfg, configs, out, store, workers, address, resume)
    finally:
        store.close()
    table = _table(cfg, store, status, len(configs))
    _write_table(out, table)
    best = _best(cfg, table)
    best_path = None
    if best is not None:
        kind = get_trial_kind(cfg.trainer)
        tuned = ", ".join(f"{k} = {best[k]!r}" for k in cfg.space)
        header = (f"qtandem tune {cfg.source}: best of {len(table)} trials ({engine} engine), trial {best['trial']}: "
                  f"{cfg.metric} = {best[cfg.metric]} ({cfg.mode})\ntuned: {tuned}")
        best_path = out / "best_config.toml"
        atomic_write_text(best_path, kind.to_toml(configs[best["trial"]], header))
    seconds = time.perf_counter() - t0
    report = _write_report(cfg, out, table, best, store, engine, seconds)
    return TuneResult(out, table, best, best_path, report, complete, engine, seconds)
