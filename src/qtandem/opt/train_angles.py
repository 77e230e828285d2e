"""Training the angle network end-to-end through the exact QAOA energy (``qtandem opt train-angles``).

Loss: for each instance and depth, ``1 - r`` with ``r = (<C> - mean C) / (min C - mean C)`` (1 at the
optimum, 0 for the uniform state), ``<C>`` from the exact, differentiable QAOA energy with the
predicted angles, averaged over a batch; Adam with the learning rate decayed by a cosine to
``lr/20``. The instances are generated from seeds (train and dev
seeds are disjoint); the dev loss picks the saved model. Every ``checkpoint_every`` steps the run folder
gets ``checkpoint.safetensors`` (model + optimiser + step), so an interrupted run resumes where it was.

Instance families (:func:`instance`): ``regular3``, ``regular4``, ``regular5`` (unweighted random
regular MaxCut), ``er`` (unweighted G(n, 0.5) MaxCut), ``weighted_er`` (G(n, 0.5), weights uniform in
[0.1, 1]), ``weighted_regular`` (3-regular, weights uniform in [0.1, 1]), ``field`` (Ising spin glass on
G(n, 0.5): couplings and fields normal), ``mis`` (max independent set on G(n, 0.3) with penalty),
``tsp`` (``sqrt(n) + 1`` random cities in the unit square, position encoding with city 0 pinned: ``n`` must
be a square), ``portfolio`` (``n`` assets, budget ``n // 2``, from 60 periods of random factor returns) and
``cvrp`` (``n / 4 - 1`` customers at random points of the unit square with demands in 1..3, 2 vehicles, the
capacity the two largest demands, so each vehicle carries at most 2 customers and the QUBO has exactly
``n = 2 * 2 * (customers + 1)`` bits: ``n`` a multiple of 4, at least 12).

Examples:
    >>> cfg = TrainConfig(families=("regular3",), n_min=6, n_max=6, train_per_family=2, dev_per_family=1,
    ...                   steps=2, batch=2, depths=(1,), hidden=8)
    >>> [round(float(q.qubo.n)) for q in make_split(cfg, "dev")]
    [6]
"""

from __future__ import annotations

import json
import math
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.errors import ConfigError

__all__ = ["FAMILIES", "TrainConfig", "instance", "load_config", "make_split", "train"]

FAMILIES = ("regular3", "regular4", "regular5", "er", "weighted_er", "weighted_regular", "field", "mis", "tsp",
            "portfolio", "cvrp")
"""Instance families :func:`instance` generates."""


def instance(family: str, n: int, seed: int) -> Any:
    """A random instance of ``family`` with ``n`` variables (a :class:`~qtandem.opt.Problem`).

    Raises:
        ConfigError: unknown family, or ``n`` too small for it.

    Examples:
        >>> instance("regular3", 8, 0).n_variables
        8
        >>> instance("bogus", 8, 0)
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: unknown instance family 'bogus' (known: regular3, ..., cvrp)
    """
    import networkx as nx

    from qtandem.opt import QUBO, maxcut, mis

    if family not in FAMILIES:
        raise ConfigError(f"unknown instance family {family!r} (known: {', '.join(FAMILIES)})")
    rng = np.random.default_rng([seed, FAMILIES.index(family), n])
    s = int(rng.integers(2**31))
    if family == "tsp":
        from qtandem.opt import tsp

        k = math.isqrt(n)
        if k * k != n or k < 2:
            raise ConfigError(f"family tsp: n must be a square (n = (cities - 1)**2), got {n}")
        xy = rng.uniform(size=(k + 1, 2))
        return tsp(np.linalg.norm(xy[:, None] - xy[None], axis=-1))
    if family == "cvrp":
        from qtandem.opt import cvrp

        if n % 4 or n < 12:
            raise ConfigError(f"family cvrp: n must be 2 * 2 * (customers + 1), a multiple of 4 >= 12, got {n}")
        c = n // 4 - 1
        xy = rng.uniform(size=(c + 1, 2))
        while True:
            dem = np.sort(rng.integers(1, 4, size=c))
            cap = int(dem[-1] + dem[-2])
            if c < 3 or int(dem[:3].sum()) > cap:  # exactly 2 customers per vehicle at most: no slack bits
                break
        return cvrp(np.linalg.norm(xy[:, None] - xy[None], axis=-1), [0, *rng.permutation(dem).tolist()],
                    capacity=cap, n_vehicles=2)
    if family == "portfolio":
        from qtandem.opt import portfolio_from_returns

        factor = rng.normal(0.0, 0.02, size=(60, 1))
        returns = 0.005 + factor * rng.uniform(0.5, 1.5, size=n) + rng.normal(0.0, 0.02, size=(60, n))
        return portfolio_from_returns(returns, max(1, n // 2))
    if family.startswith("regular") or family == "weighted_regular":
        d = 3 if family == "weighted_regular" else int(family[-1])
        if n <= d or (n * d) % 2:
            raise ConfigError(f"family {family}: no {d}-regular graph on {n} nodes")
        g = nx.random_regular_graph(d, n, seed=s)
    else:
        g = nx.gnp_random_graph(n, 0.3 if family == "mis" else 0.5, seed=s)
        while g.number_of_edges() == 0 or (family != "mis" and not nx.is_connected(g)):
            s += 1
            g = nx.gnp_random_graph(n, 0.3 if family == "mis" else 0.5, seed=s)
    if family.startswith("weighted"):
        for u, v in g.edges:
            g[u][v]["weight"] = float(rng.uniform(0.1, 1.0))
    if family == "mis":
        return mis(g)
    if family == "field":
        h = rng.normal(size=n)
        J = {(min(u, v), max(u, v)): float(rng.normal()) for u, v in g.edges}
        from qtandem.opt.problems import Problem

        return Problem("field", QUBO.from_ising(h, J))
    return maxcut(g)


@dataclass(frozen=True)
class TrainConfig:
    """What ``qtandem opt train-angles`` reads from its TOML file (flat keys, all optional).

    Examples:
        >>> TrainConfig().depths
        (1, 2, 3, 4, 5)
    """

    families: tuple[str, ...] = ("regular3", "regular4", "er", "weighted_er", "field")
    n_min: int = 8
    n_max: int = 12
    train_per_family: int = 16
    dev_per_family: int = 4
    data_seed: int = 0
    depths: tuple[int, ...] = (1, 2, 3, 4, 5)
    steps: int = 400
    batch: int = 8
    lr: float = 3e-3
    seed: int = 0
    hidden: int = 32
    layers: int = 3
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        for fam in self.families:
            if fam not in FAMILIES:
                raise ConfigError(f"train-angles config: families: unknown {fam!r} (known: {', '.join(FAMILIES)})")
        if not 2 <= self.n_min <= self.n_max <= 14:
            raise ConfigError(f"train-angles config: need 2 <= n_min <= n_max <= 14, got {self.n_min}, {self.n_max}")
        if not self.depths or min(self.depths) < 1:
            raise ConfigError(f"train-angles config: depths must be positive ints, got {list(self.depths)}")
        for key in ("steps", "batch", "train_per_family", "checkpoint_every", "hidden", "layers"):
            if getattr(self, key) < 1:
                raise ConfigError(f"train-angles config: {key} must be >= 1, got {getattr(self, key)}")
        if not self.lr > 0:
            raise ConfigError(f"train-angles config: lr must be > 0, got {self.lr}")


def load_config(path: str | Path) -> TrainConfig:
    """A :class:`TrainConfig` from a TOML file; unknown keys and bad values are errors naming the key.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "c.toml"
        >>> _ = p.write_text("steps = 5\\nstepz = 1\\n")
        >>> load_config(p)
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: .../c.toml: unknown key 'stepz' (known: families, n_min, ...)
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{p}: invalid TOML: {err}") from None
    known = [f.name for f in fields(TrainConfig)]
    kw: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{p}: unknown key {key!r} (known: {', '.join(known[:2])}, ...)")
        default = getattr(TrainConfig(), key)
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise ConfigError(f"{p}: key {key!r} must be a list, got {value!r}")
            value = tuple(value)
        elif isinstance(default, float):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ConfigError(f"{p}: key {key!r} must be a number, got {value!r}")
            value = float(value)
        elif isinstance(default, int) and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"{p}: key {key!r} must be an integer, got {value!r}")
        kw[key] = value
    try:
        return TrainConfig(**kw)
    except ConfigError as err:
        raise ConfigError(f"{p}: {err}") from None


def _size_ok(family: str, n: int) -> bool:
    if family.startswith("regular"):
        return (n * int(family[-1])) % 2 == 0
    if family == "tsp":
        return n >= 4 and math.isqrt(n) ** 2 == n
    if family == "cvrp":
        return n >= 12 and n % 4 == 0
    return True


def make_split(cfg: TrainConfig, split: str) -> list[Any]:
    """The instances of ``split`` ("train" or "dev"): disjoint seeds, sizes cycling over n_min..n_max.

    Examples:
        >>> len(make_split(TrainConfig(families=("er",), train_per_family=3), "train"))
        3
    """
    count, base = (cfg.train_per_family, 0) if split == "train" else (cfg.dev_per_family, 100_000)
    out = []
    for fam in cfg.families:
        sizes = [n for n in range(cfg.n_min, cfg.n_max + 1) if _size_ok(fam, n)]
        if not sizes:
            raise ConfigError(f"train-angles config: family {fam} has no instance size in n_min..n_max "
                              f"({cfg.n_min}..{cfg.n_max}; tsp needs a square >= 4, cvrp a multiple of 4 >= 12)")
        for k in range(count):
            out.append(instance(fam, sizes[k % len(sizes)], cfg.data_seed * 1_000_003 + base + k))
    return out


def _losses(model: Any, items: list[tuple[Any, float, float]], depths: list[int], energy: Callable[..., Any]) -> Any:
    import torch

    from qtandem.opt.gnn import features

    total = torch.zeros((), dtype=torch.float64)
    for (prob, mean, low), p in zip(items, depths, strict=True):
        g, b = model(features(prob), p)
        e = energy(prob.qubo, g, b)
        total = total + 1.0 - (e - mean) / (low - mean)
    return total / len(items)


def train(cfg: TrainConfig, outdir: str | Path, *, resume: bool = False,
          progress: Callable[[int, int, float], None] | None = None,
          energy: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Train an :class:`~qtandem.opt.gnn.AngleGNN`; write the run folder; return a summary.

    Files: ``config.json``, ``metrics.jsonl`` (step, train loss, dev loss), ``checkpoint.safetensors``,
    ``model.safetensors`` (the best dev loss), ``training.png`` and ``report.html``.

    Args:
        cfg: the configuration.
        outdir: run folder (exists).
        resume: continue from ``outdir/checkpoint.safetensors``.
        progress: ``progress(step, steps, loss)`` after each step.
        energy: ``energy(qubo, gammas, betas)``; default :func:`qtandem.opt.qaoa_expectation`.

    Examples:
        >>> import tempfile
        >>> from qtandem.opt.train_angles import train, TrainConfig
        >>> callable(train)
        True
    """
    import torch

    from qtandem.io import (
        atomic_write_text,
        load_optimizer_state,
        optimizer_state,
        read_jsonl,
        read_safetensors,
        write_safetensors,
    )
    from qtandem.opt.angles import _default_energy
    from qtandem.opt.gnn import AngleGNN, save_model

    fn = energy or _default_energy()
    out = Path(outdir)
    ckpt = out / "checkpoint.safetensors"
    model = AngleGNN(cfg.hidden, cfg.layers, max(cfg.depths), seed=cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start, best = 0, math.inf
    if resume:
        if not ckpt.exists():
            raise ConfigError(f"--resume: no checkpoint in {out}")
        tensors, meta = read_safetensors(ckpt)
        if json.loads(meta["config"]) != json.loads(json.dumps(asdict(cfg))):
            raise ConfigError(f"--resume: {ckpt} was written with another configuration")
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        load_optimizer_state(opt, {k: v for k, v in tensors.items() if k.startswith("optim.")}, meta)
        start, best = int(meta["step"]), float(meta["best"])
    atomic_write_text(out / "config.json", json.dumps(asdict(cfg), indent=1))

    def prep(problems: list[Any]) -> list[tuple[Any, float, float]]:
        res = []
        for prob in problems:
            d = prob.qubo.diagonal()
            res.append((prob, float(d.mean()), float(d.min())))
        return res

    train_set, dev_set = prep(make_split(cfg, "train")), prep(make_split(cfg, "dev"))
    dev_depths = [cfg.depths[k % len(cfg.depths)] for k in range(len(dev_set))]
    metrics = [m for m in read_jsonl(out / "metrics.jsonl") if m["step"] <= start] if resume else []
    t0 = time.perf_counter()
    for step in range(start + 1, cfg.steps + 1):
        rng = np.random.default_rng([cfg.seed, step])
        idx = rng.choice(len(train_set), size=min(cfg.batch, len(train_set)), replace=False)
        depths = [int(d) for d in rng.choice(cfg.depths, size=len(idx))]
        for group in opt.param_groups:  # cosine decay to lr/20, a function of the step (resumes exactly)
            group["lr"] = cfg.lr * (0.05 + 0.475 * (1 + math.cos(math.pi * (step - 1) / cfg.steps)))
        opt.zero_grad()
        loss = _losses(model, [train_set[i] for i in idx], depths, fn)
        loss.backward()
        opt.step()
        row: dict[str, Any] = {"step": step, "loss": float(loss.detach())}
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            with torch.no_grad():
                dev = float(_losses(model, dev_set, dev_depths, fn)) if dev_set else float(loss)
            row["dev_loss"] = dev
            if dev < best:
                best = dev
                save_model(model, out / "model.safetensors", {"step": str(step), "dev_loss": f"{dev:.6f}",
                                                               "config": json.dumps(asdict(cfg))})
            tensors, meta = optimizer_state(opt)
            tensors.update({f"model.{k}": v for k, v in model.state_dict().items()})
            meta.update({"step": str(step), "best": repr(best), "config": json.dumps(asdict(cfg))})
            metrics.append(row)
            atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(m) + "\n" for m in metrics))
            write_safetensors(ckpt, tensors, meta)
        else:
            metrics.append(row)
        if progress is not None:
            progress(step, cfg.steps, row["loss"])
    summary = {"steps": cfg.steps, "best_dev_loss": best, "train_instances": len(train_set),
               "dev_instances": len(dev_set), "seconds": time.perf_counter() - t0}
    _report(out, cfg, metrics, summary)
    return summary


def _report(out: Path, cfg: TrainConfig, metrics: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.report import Report

    rep = Report("QAOA angle network training", out)
    sec = rep.section("Training curve")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([m["step"] for m in metrics], [m["loss"] for m in metrics], lw=0.8, label="train (batch)")
    dev = [m for m in metrics if "dev_loss" in m]
    ax.plot([m["step"] for m in dev], [m["dev_loss"] for m in dev], "o-", label="dev")
    ax.set_xlabel("step")
    ax.set_ylabel("1 - normalised energy ratio")
    ax.legend()
    sec.figure(fig, "training", "Loss 1 - (<C> - mean C)/(min C - mean C), lower is better.")
    sec.table(["key", "value"], [[k, v] for k, v in {**asdict(cfg), **summary}.items()])
    rep.write()
