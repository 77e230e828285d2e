"""``qtandem tune`` configuration (TOML): what to tune, the search space, the metric and the budget.

.. code-block:: toml

    [tune]
    trainer = "train"            # train (hybrid), qec-train, vqe or qaoa (qtandem.sweep.tune_trials)
    base = "../train/moons.toml" # the trainer's own config (relative to this file); vqe: optional
    metric = "val_accuracy"      # a key of the trainer's evaluation records
    mode = "max"                 # max or min
    samples = 2                  # the space is drawn this many times (each grid combination per draw)
    max_steps = 0                # > 0: cap every trial's optimizer steps (VQE/QAOA: energy evaluations)
    seed = 0                     # seed of the random draws (trials' own seeds come from the base config)

    [tune.scheduler]
    kind = "asha"                # asha (early stopping) or fifo (every trial runs to the end)
    grace_period = 1             # evaluations before a trial can be stopped
    reduction_factor = 2         # keep the best 1/reduction_factor at every rung

    [fixed]                      # overrides of the base config for every trial (key paths)
    "optim.epochs" = 6

    [space]                      # one dimension per key path
    "optim.lr" = {loguniform = [0.005, 0.2]}
    "model.layers" = {grid = [2, 4]}
    "optim.batch_size" = {choice = [16, 32, 64]}
    "optim.momentum" = {uniform = [0.0, 0.9]}
    "model.n_qubits" = {randint = [2, 5]}     # low <= value < high, as numpy and Ray Tune

Examples:
    >>> cfg = parse_config('[tune]\\ntrainer = "vqe"\\nsamples = 2\\n[space]\\n'
    ...                    '"vqe.ansatz" = {grid = ["uccsd", "hea"]}\\n'
    ...                    '"vqe.seed" = {randint = [0, 100]}\\n')
    >>> [t["vqe.ansatz"] for t in cfg.trials()], cfg.metric, cfg.mode
    (['uccsd', 'hea', 'uccsd', 'hea'], 'error', 'min')
"""

from __future__ import annotations

import itertools
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtandem.config import did_you_mean, flatten, type_name
from qtandem.errors import ConfigError
from qtandem.random import as_generator

__all__ = ["DIMENSIONS", "Dimension", "Scheduler", "TuneConfig", "load_config", "parse_config"]

DIMENSIONS = ("grid", "choice", "uniform", "loguniform", "randint")
"""Kinds of search-space dimension."""

_TUNE_KEYS = ("trainer", "base", "metric", "mode", "samples", "max_steps", "seed", "name", "scheduler")
_SCHEDULER_KEYS = ("kind", "grace_period", "reduction_factor")


@dataclass(frozen=True)
class Dimension:
    """One dimension of the search space.

    Attributes:
        kind: one of :data:`DIMENSIONS`.
        values: the list (``grid``, ``choice``) or the bounds ``[low, high]`` (the others).

    Examples:
        >>> import numpy as np
        >>> d = Dimension("loguniform", [1e-3, 1e-1])
        >>> 1e-3 <= d.sample(np.random.default_rng(0)) <= 1e-1
        True
    """

    kind: str
    values: list[Any]

    def sample(self, rng: Any) -> Any:
        """A random value (``choice``, ``uniform``, ``loguniform``, ``randint``) from ``rng``."""
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        low, high = self.values
        if self.kind == "uniform":
            return float(rng.uniform(low, high))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        return int(rng.integers(low, high))


@dataclass(frozen=True)
class Scheduler:
    """The early-stopping rule: ``asha`` (successive halving) or ``fifo`` (none).

    Examples:
        >>> Scheduler().kind, Scheduler().reduction_factor
        ('asha', 2)
    """

    kind: str = "asha"
    grace_period: int = 1
    reduction_factor: int = 2

    def rungs(self, max_t: int) -> list[int]:
        """Milestones (evaluations) at which trials are compared, below ``max_t``.

        Examples:
            >>> Scheduler(grace_period=1, reduction_factor=2).rungs(6)
            [1, 2, 4]
            >>> Scheduler(kind="fifo").rungs(6)
            []
        """
        if self.kind == "fifo":
            return []
        out, t = [], self.grace_period
        while t < max_t:
            out.append(t)
            t *= self.reduction_factor
        return out


@dataclass(frozen=True)
class TuneConfig:
    """A parsed ``qtandem tune`` configuration (see the module docstring).

    Attributes:
        trainer: the trial kind (``train``, ``qec-train``, ``vqe``, ``qaoa``).
        base: the trainer's base configuration file, or ``None``.
        fixed: key path -> value, applied to the base for every trial.
        space: key path -> :class:`Dimension`.
        metric, mode: what to optimise (``mode`` ``max`` or ``min``).
        samples: draws of the space.
        max_steps: cap of every trial's steps (0: the base config's).
        seed: seed of the draws.
        scheduler: the :class:`Scheduler`.
        name, source, text: label, file name and TOML text.

    Examples:
        >>> TuneConfig("qaoa", None, {}, {"qaoa.p": Dimension("grid", [1, 2])}).trials()
        [{'qaoa.p': 1}, {'qaoa.p': 2}]
    """

    trainer: str
    base: Path | None
    fixed: dict[str, Any]
    space: dict[str, Dimension]
    metric: str = ""
    mode: str = "max"
    samples: int = 1
    max_steps: int = 0
    seed: int = 0
    scheduler: Scheduler = field(default_factory=Scheduler)
    name: str = "tune"
    source: str = "<string>"
    text: str = field(default="", repr=False)

    def trials(self) -> list[dict[str, Any]]:
        """Every trial's overrides (key path -> value), in order: draw by draw, grid combination by combination.

        The random dimensions are drawn from ``seed`` in this order, so the list depends only on the file.
        """
        rng = as_generator(self.seed)
        grid = [k for k, d in self.space.items() if d.kind == "grid"]
        rand = [k for k, d in self.space.items() if d.kind != "grid"]
        out = []
        for _ in range(self.samples):
            for combo in itertools.product(*(self.space[k].values for k in grid)):
                trial = dict(zip(grid, combo))
                trial.update({k: self.space[k].sample(rng) for k in rand})
                out.append({k: trial[k] for k in self.space})
        return out


def _int(value: Any, key: str, low: int, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{source}: {key}: expected an integer >= {low}, got {value!r}")
    return value


def _dimension(key: str, spec: Any, source: str) -> Dimension:
    where = f"{source}: space.{key}"
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(f"{where}: expected one of {{grid = [...]}}, {{choice = [...]}}, {{uniform = [low, high]}}, "
                          f"{{loguniform = [low, high]}}, {{randint = [low, high]}}; got {spec!r}")
    kind, values = next(iter(spec.items()))
    if kind not in DIMENSIONS:
        raise ConfigError(f"{where}.{kind}: unknown dimension{did_you_mean(kind, DIMENSIONS)}; "
                          f"use one of {', '.join(DIMENSIONS)}")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}.{kind}: expected a non-empty list, got {values!r}")
    if kind in ("grid", "choice"):
        return Dimension(kind, list(values))
    if len(values) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}.{kind}: expected [low, high] numbers, got {values!r}")
    low, high = values
    if not low < high:
        raise ConfigError(f"{where}.{kind}: expected low < high, got {values!r}")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}.{kind}: bounds must be > 0 for a log scale, got {values!r}")
    if kind == "randint" and not all(isinstance(v, int) for v in values):
        raise ConfigError(f"{where}.{kind}: expected integer bounds, got {values!r}")
    return Dimension(kind, [low, high])


def _paths(table: Any, section: str, source: str) -> dict[str, Any]:
    """A table's leaves as key paths; ``{grid = [...]}``-style tables of [space] are leaves too."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {section}: expected a table, got {type_name(table)}")
    if section != "space":
        return flatten(table)
    out: dict[str, Any] = {}
    for k, v in table.items():
        spec = isinstance(v, dict) and len(v) == 1 and isinstance(next(iter(v.values())), list)
        if isinstance(v, dict) and not spec:
            out.update({f"{k}.{kk}": vv for kk, vv in _paths(v, section, source).items()})
        else:
            out[k] = v
    return out


def parse_config(text: str, source: str = "<string>") -> TuneConfig:
    """Parse a tune TOML text; the base file is resolved against ``source``'s folder (not read here).

    Raises:
        ConfigError: TOML syntax, an unknown section, key or dimension, a bad value, an empty space,
            a key both fixed and searched; the message names ``source`` and the key path.

    Examples:
        >>> parse_config('[tune]\\ntrainer = "vqe"\\n[space]\\n"vqe.seed" = {gird = [1, 2]}', "t.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: t.toml: space.vqe.seed.gird: unknown dimension (did you mean 'grid'?); \
use one of grid, choice, uniform, loguniform, randint
    """
    from qtandem.sweep.tune_trials import get_trial_kind

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from None
    for section in data:
        if section not in ("tune", "fixed", "space"):
            raise ConfigError(f"{source}: {section}: unknown section{did_you_mean(section, ['tune', 'fixed', 'space'])}"
                              "; sections are tune, fixed, space")
    head = data.get("tune")
    if not isinstance(head, dict) or "trainer" not in head:
        raise ConfigError(f"{source}: tune.trainer: missing; say what to tune, e.g. [tune] trainer = \"train\"")
    for key in head:
        if key not in _TUNE_KEYS:
            raise ConfigError(f"{source}: tune.{key}: unknown key{did_you_mean(key, _TUNE_KEYS)}; "
                              f"[tune] takes {', '.join(_TUNE_KEYS)}")
    kind = get_trial_kind(head["trainer"], where=f"{source}: tune.trainer")
    base = head.get("base")
    base_path: Path | None = None
    if base is not None:
        if not isinstance(base, str) or not base:
            raise ConfigError(f"{source}: tune.base: expected a file path, got {base!r}")
        folder = Path(source).parent if not source.startswith("<") else Path(".")
        base_path = folder / base
        if not base_path.is_file():
            raise ConfigError(f"{source}: tune.base: no such file {base_path}")
    elif kind.needs_base:
        raise ConfigError(f"{source}: tune.base: missing; trainer {kind.name!r} needs its config file "
                          f"(e.g. base = \"../train/moons.toml\")")
    metric = head.get("metric", kind.default_metric)
    mode = head.get("mode", kind.default_mode if "metric" not in head else "max")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"{source}: tune.metric: expected a name, got {metric!r}")
    if mode not in ("max", "min"):
        raise ConfigError(f"{source}: tune.mode: expected 'max' or 'min', got {mode!r}")
    samples = _int(head.get("samples", 1), "tune.samples", 1, source)
    max_steps = _int(head.get("max_steps", 0), "tune.max_steps", 0, source)
    seed = _int(head.get("seed", 0), "tune.seed", 0, source)
    sched = head.get("scheduler", {})
    if not isinstance(sched, dict):
        raise ConfigError(f"{source}: tune.scheduler: expected a table")
    for key in sched:
        if key not in _SCHEDULER_KEYS:
            raise ConfigError(f"{source}: tune.scheduler.{key}: unknown key{did_you_mean(key, _SCHEDULER_KEYS)}")
    skind = sched.get("kind", "asha")
    if skind not in ("asha", "fifo"):
        raise ConfigError(f"{source}: tune.scheduler.kind: expected 'asha' or 'fifo', got {skind!r}")
    scheduler = Scheduler(skind, _int(sched.get("grace_period", 1), "tune.scheduler.grace_period", 1, source),
                          _int(sched.get("reduction_factor", 2), "tune.scheduler.reduction_factor", 2, source))
    fixed = _paths(data.get("fixed", {}), "fixed", source)
    space = {k: _dimension(k, v, source) for k, v in _paths(data.get("space", {}), "space", source).items()}
    if not space:
        raise ConfigError(f"{source}: space: empty; give at least one dimension, e.g. \"optim.lr\" = "
                          "{loguniform = [0.001, 0.1]}")
    both = sorted(set(space) & set(fixed))
    if both:
        raise ConfigError(f"{source}: space.{both[0]}: also in [fixed]; keep one")
    name = head.get("name", Path(source).stem if not source.startswith("<") else "tune")
    return TuneConfig(kind.name, base_path, fixed, space, metric, mode, samples, max_steps, seed, scheduler,
                      str(name), source, text)


def load_config(path: str | os.PathLike[str]) -> TuneConfig:
    """Read and parse a tune TOML file (see :func:`parse_config`).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: see :func:`parse_config`.

    Examples:
        >>> load_config("examples/tune/qaoa_maxcut.toml").trainer
        'qaoa'
    """
    from qtandem.config import read_config_text

    p = Path(path)
    return parse_config(read_config_text(p), str(p))
