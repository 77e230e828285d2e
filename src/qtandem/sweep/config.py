"""Sweep configuration (TOML): a job kind, fixed parameters, a grid and/or a list of points.

.. code-block:: toml

    [sweep]
    job = "qec"          # a registered job kind (qtandem.sweep.jobs)
    seed = 0             # with each point's content hash and chunk index, the seed of every chunk
    [fixed]              # parameters shared by every point
    code = "surface"
    decoder = "pymatching"
    max_shots = 200_000
    max_errors = 200
    chunk_shots = 10_000
    [grid]               # the cartesian product of these lists
    distance = [3, 5]
    p = [0.002, 0.004]
    [[points]]           # optional extra points (merged over [fixed])
    distance = 7
    p = 0.002

Examples:
    >>> cfg = parse_config('[sweep]\\njob = "qec"\\n[fixed]\\ndecoder = "pymatching"\\n'
    ...                    '[grid]\\ndistance = [3, 5]\\np = [0.001]\\n')
    >>> cfg.job, len(cfg.points), cfg.points[1]["distance"]
    ('qec', 2, 5)
"""

from __future__ import annotations

import itertools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtandem.errors import ConfigError

__all__ = ["SweepConfig", "load_config", "parse_config"]

_SECTIONS = ("sweep", "fixed", "grid", "points")


@dataclass(frozen=True)
class SweepConfig:
    """A parsed sweep: job kind, seed and the expanded (not yet validated) points.

    Attributes:
        job: the job kind's registered name.
        seed: the sweep's seed (>= 0).
        points: one dict of parameters per point, in grid order then list order.
        name: a label for reports.
        source: where the config came from (file name, for messages).
        text: the TOML text (copied into the run folder).

    Examples:
        >>> SweepConfig("qec", 0, [{"distance": 3}]).points
        [{'distance': 3}]
    """

    job: str
    seed: int
    points: list[dict[str, Any]]
    name: str = "sweep"
    source: str = "<string>"
    text: str = field(default="", repr=False)


def parse_config(text: str, source: str = "<string>") -> SweepConfig:
    """Parse a sweep TOML text (see the module docstring for the layout).

    Raises:
        ConfigError: TOML syntax, an unknown section or key, a missing job, a grid value that is
            not a non-empty list, or no points at all; the message names ``source`` and the key.

    Examples:
        >>> parse_config('[sweep]\\njob = "qec"\\n[grid]\\ndistance = []\\n', "s.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: s.toml: grid.distance: empty list: the grid would have no points
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from None
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{source}: unknown section {unknown[0]!r}; sections are {', '.join(_SECTIONS)}")
    head = data.get("sweep")
    if not isinstance(head, dict) or "job" not in head:
        raise ConfigError(f"{source}: sweep.job: missing; say which job to repeat, e.g. [sweep] job = \"qec\"")
    extra = sorted(set(head) - {"job", "seed", "name"})
    if extra:
        raise ConfigError(f"{source}: sweep.{extra[0]}: unknown key; [sweep] takes job, seed, name")
    job, seed, name = head["job"], head.get("seed", 0), head.get("name", Path(source).stem or "sweep")
    if not isinstance(job, str):
        raise ConfigError(f"{source}: sweep.job: expected a string, got {job!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"{source}: sweep.seed: expected an integer >= 0, got {seed!r}")
    fixed = data.get("fixed", {})
    if not isinstance(fixed, dict):
        raise ConfigError(f"{source}: fixed: expected a table of parameters")
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError(f"{source}: grid: expected a table of lists")
    for key, values in grid.items():
        if not isinstance(values, list):
            raise ConfigError(f"{source}: grid.{key}: expected a list of values, got {values!r}")
        if not values:
            raise ConfigError(f"{source}: grid.{key}: empty list: the grid would have no points")
        if key in fixed:
            raise ConfigError(f"{source}: grid.{key}: also set in [fixed]; keep one")
    listed = data.get("points", [])
    if not isinstance(listed, list) or not all(isinstance(p, dict) for p in listed):
        raise ConfigError(f"{source}: points: expected [[points]] tables")
    points: list[dict[str, Any]] = []
    if grid:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            points.append({**fixed, **dict(zip(keys, combo))})
    points.extend({**fixed, **p} for p in listed)
    if not points:
        raise ConfigError(f"{source}: no points: give a [grid] of lists or [[points]] tables")
    return SweepConfig(job, int(seed), points, str(name), source, text)


def load_config(path: str | os.PathLike[str]) -> SweepConfig:
    """Read and parse a sweep TOML file.

    Raises:
        FileNotFoundError: no such file.
        ConfigError: see :func:`parse_config`.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
        >>> _ = path.write_text('[sweep]\\njob = "qec"\\n[grid]\\ndistance = [3]\\np = [0.001]\\n')
        >>> load_config(path).job, load_config(path).name
        ('qec', 's')
    """
    p = Path(path)
    return parse_config(p.read_text(encoding="utf-8"), str(p))
