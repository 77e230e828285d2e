"""CLI start-up benchmark: wall time of ``qtandem --help``, every ``qtandem CMD --help`` and argument errors.

Each command line runs in a fresh interpreter (``python -m qtandem ...``), ``--repeats``
times; the median wall time is reported, with whether ``torch`` was imported (read from
``-X importtime`` in one extra run). The command tree is read from the Typer app, so
new subcommands are measured without editing this file.

Usage::

    python bench/cli_startup.py --repeats 7 --json bench/results/cli_startup.json

Timings on a shared machine are noisy: compare medians from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

HEAVY = ("torch", "numpy", "scipy", "stim", "sinter", "pymatching", "matplotlib", "sklearn", "networkx",
         "safetensors", "qiskit")


def command_paths() -> list[list[str]]:
    """Every command path of the ``qtandem`` app (``[]`` is the top level), groups before their commands."""
    import typer

    from qtandem.cli.main import _register, app

    _register()
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:  # typer may vendor click: duck-type groups
        paths.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def imported(args: list[str]) -> set[str]:
    """Top-level packages imported by one run of ``python -m qtandem args``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "qtandem", *args], capture_output=True,
                          text=True, check=False, env={**os.environ, "COLUMNS": "100"})
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def wall(args: list[str], repeats: int) -> tuple[float, float, int]:
    """Median wall and CPU (user + system) seconds of ``python -m qtandem args`` over ``repeats`` runs,
    and its exit status. CPU time moves less than wall time when the machine is shared."""
    times, cpu, rc = [], [], 0
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "qtandem", *args], capture_output=True, check=False,
                              env={**os.environ, "COLUMNS": "100"})
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        rc = proc.returncode
    return statistics.median(times), statistics.median(cpu), rc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default=None, help="write raw results here")
    opts = parser.parse_args()

    lines = [[*p, "--help"] for p in command_paths()]
    lines += [["simulate"], ["simulate", "--no-such-option"], ["qec", "eval", "--no-such-option"]]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    python_alone = time.perf_counter() - t0
    rows = []
    for args in lines:
        seconds, cpu, rc = wall(args, opts.repeats)
        heavy = sorted(imported(args) & set(HEAVY))
        rows.append({"args": args, "median_s": round(seconds, 4), "median_cpu_s": round(cpu, 4), "exit": rc,
                     "heavy_imports": heavy})
        print(f"{' '.join(['qtandem', *args]):45s} {seconds:6.3f} s wall {cpu:6.3f} s cpu  exit {rc}  "
              f"heavy: {', '.join(heavy) or '-'}", flush=True)
    medians = [r["median_s"] for r in rows]
    cpus = [r["median_cpu_s"] for r in rows]
    summary = {"commands": len(rows), "median_of_medians_s": round(statistics.median(medians), 4),
               "max_median_s": max(medians), "median_of_cpu_s": round(statistics.median(cpus), 4),
               "max_cpu_s": max(cpus), "python_startup_s": round(python_alone, 4)}
    print(json.dumps(summary))
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump({"repeats": opts.repeats, "python": sys.version.split()[0], "summary": summary,
                       "rows": rows}, fh, indent=2)
            fh.write("\n")


if __name__ == "__main__":
    main()
