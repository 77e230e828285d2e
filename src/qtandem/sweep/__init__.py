"""Resumable sweeps over qtandem jobs, run on a :mod:`qtandem.engine` engine (local pool or Ray).

A sweep is a TOML file (:mod:`~qtandem.sweep.config`): a job kind (:mod:`~qtandem.sweep.jobs`;
``qec`` is built in), fixed parameters and a grid. :func:`run_sweep` cuts every point into
chunks with seeds from the point's content hash and the chunk index, runs them on an engine and
appends one JSON row per chunk to ``results.jsonl`` (:mod:`~qtandem.sweep.store`); a rerun
submits only what is missing. :func:`summarise` gives one entry per point; :func:`sinter_csv`
and :func:`write_report` turn it into sinter's CSV and an HTML report.

Examples:
    >>> import tempfile
    >>> from qtandem.engine import LocalEngine
    >>> from qtandem.sweep import parse_config, run_sweep
    >>> cfg = parse_config('[sweep]\\njob = "qec"\\n[fixed]\\nmax_shots = 2000\\nchunk_shots = 1000\\n'
    ...                    '[grid]\\ndistance = [3]\\np = [0.01]\\n')
    >>> with LocalEngine(1) as engine:
    ...     result = run_sweep(cfg, engine, tempfile.mkdtemp())
    >>> result.table[0]["shots"], result.complete
    (2000, True)
"""

from __future__ import annotations

from qtandem.sweep.config import SweepConfig, load_config, parse_config
from qtandem.sweep.export import sinter_csv, write_sinter_csv
from qtandem.sweep.jobs import get_job, list_jobs, register_job
from qtandem.sweep.report import write_report
from qtandem.sweep.runner import SweepResult, plan, run_sweep, summarise
from qtandem.sweep.store import merge_rows, read_rows

__all__ = ["SweepConfig", "SweepResult", "get_job", "list_jobs", "load_config", "merge_rows", "parse_config", "plan",
           "read_rows", "register_job", "run_sweep", "sinter_csv", "summarise", "write_report", "write_sinter_csv"]
