"""The loop's HTML report: per stage what it cost (shots, seconds) and what it bought (error vs stale).

Examples:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from qtandem.codesign.loop import LoopResult
    >>> from qtandem.codesign.stages import StageRecord, WorkloadResult
    >>> res = LoopResult([StageRecord("run", 0, 100, 0.5, {"error": 0.1})],
    ...                  {"loop": [WorkloadResult("w", 0.9, 0.1, 100, {})],
    ...                   "stale": [WorkloadResult("w", 0.7, 0.3, 100, {})]}, Path("."))
    >>> write_loop_report(res, tempfile.mkdtemp()).name
    'report.html'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qtandem.codesign.loop import LoopResult

__all__ = ["write_loop_report"]


def write_loop_report(result: LoopResult, folder: str | Path) -> Path:
    """Write ``report.html`` (and ``loop_error.png``) into ``folder``; return the report's path.

    Sections: the loop against the stale pipeline per iteration (error, value, gain), the cost
    and gain of every stage, and a plot of the error per iteration.

    Examples:
        >>> import tempfile
        >>> from qtandem.codesign.loop import LoopResult
        >>> res = LoopResult([], {"loop": [], "stale": []}, Path("."))
        >>> write_loop_report(res, tempfile.mkdtemp()).name
        'report.html'
    """
    from qtandem.report import Report

    rep = Report(f"Co-design loop: {result.meta.get('workload', '')} on {result.meta.get('device', '')}", folder)
    sec = rep.section("Loop vs stale calibration")
    rows = result.table()
    sec.text("error = distance to the ideal (lower is better); gain = stale error / loop error. The stale "
             "pipeline is the same pipeline (compile, run, mitigate) with the published calibration.")
    sec.table(["iteration", "loop value", "loop error", "loop error (no mitigation)", "stale value",
               "stale error", "gain"],
              [[r["iteration"], r["loop_value"], r["loop_error"], _num(r.get("loop_error_raw")),
                _num(r.get("stale_value")), _num(r.get("stale_error")), _num(r.get("gain"))] for r in rows])
    sec = rep.section("Stages: cost and gain")
    sec.table(["iteration", "stage", "shots", "seconds", "metrics", "notes"],
              [[r.iteration, r.stage, r.shots, r.seconds,
                ", ".join(f"{k}={v:.4g}" for k, v in r.metrics.items()), r.notes] for r in result.records])
    totals: dict[str, list[float]] = {}
    for r in result.records:
        t = totals.setdefault(r.stage, [0, 0.0])
        t[0] += r.shots
        t[1] += r.seconds
    sec.table(["stage", "shots in all", "seconds in all"], [[k, int(v[0]), v[1]] for k, v in totals.items()])
    if rows:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2))
        its = [r["iteration"] for r in rows]
        ax.plot(its, [r["loop_error"] for r in rows], "o-", label="loop (learned calibration)")
        if any("stale_error" in r for r in rows):
            ax.plot(its, [r.get("stale_error", float("nan")) for r in rows], "s--", label="stale calibration")
        ax.set_xlabel("iteration")
        ax.set_ylabel("error")
        ax.set_yscale("log")
        ax.legend()
        rep.section("Error per iteration").figure(fig, "loop_error", "the workload's error per iteration")
    cfg = result.meta.get("config")
    if cfg:
        import json

        rep.section("Configuration").code(json.dumps(cfg, indent=1))
    return rep.write()


def _num(value: Any) -> Any:
    return "" if value is None else value
