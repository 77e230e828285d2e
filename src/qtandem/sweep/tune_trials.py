"""What ``qtandem tune`` can tune: one trial kind per trainer, each a small adapter over the trainer's own API.

A trial kind turns the base configuration plus a trial's overrides (key paths such as ``"optim.lr"``)
into a validated configuration (:meth:`resolve`; an unknown key path is a
:class:`~qtandem.errors.ConfigError` naming it), says after which trainer steps it reports
(:meth:`report_steps`), runs a trial up to a report and resumes it from its checkpoint
(:meth:`run`), and writes the configuration back as TOML (:meth:`to_toml`: the best one is a file
the trainer reads).

* ``train``: the hybrid classifier of ``qtandem train``; one report per evaluation
  (``val_accuracy``, ``val_loss``, ``train_*``; never the test split); pauses and resumes
  through ``train.max_steps`` and the trainer's exact checkpoints.
* ``qec-train``: the neural decoder of ``qtandem qec train``; one report per evaluation
  (``val_ler``, ``ratio_to_matching``); same pausing.
* ``vqe``: :func:`qtandem.chem.vqe` on a molecule; one report (``error`` against FCI/CASCI).
* ``qaoa``: :func:`qtandem.opt.qaoa` on an ``qtandem opt`` problem file; one report
  (``approximation_ratio``, ``p_optimal``).

Examples:
    >>> kind = get_trial_kind("qaoa")
    >>> cfg = kind.resolve(Path("examples/tune/maxcut_ring6.toml"), {"qaoa.p": 1, "qaoa.max_evaluations": 20})
    >>> cfg["qaoa"]["p"], kind.report_steps(cfg)
    (1, [1])
    >>> kind.resolve(Path("examples/tune/maxcut_ring6.toml"), {"qaoa.depth": 1})
    Traceback (most recent call last):
    ...
    qtandem.errors.ConfigError: <tune>: qaoa.depth: not a key of the qaoa configuration (did you mean \
'qaoa.p'?)...
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qtandem.config import did_you_mean, flatten, read_config_text, to_toml, type_name
from qtandem.errors import ConfigError

__all__ = ["TrialKind", "apply_overrides", "get_trial_kind", "list_trial_kinds"]

Report = Callable[[dict[str, Any]], None]


def apply_overrides(tree: dict[str, Any], overrides: dict[str, Any], what: str, where: str = "<tune>",
                    labels: dict[str, str] | None = None) -> dict[str, Any]:
    """``tree`` (nested plain data) with ``overrides`` (key path -> value) set; every path must exist.

    Args:
        tree: the configuration.
        overrides: key path -> value.
        what: the configuration's name (for messages).
        where: the file the overrides come from (for messages).
        labels: key path -> the section that set it (``"space"``, ``"fixed"``), for messages.

    Raises:
        ConfigError: a path that is not a key of ``tree`` (naming it, the closest key and its section's keys).

    Examples:
        >>> apply_overrides({"optim": {"lr": 0.1}}, {"optim.lr": 0.2}, "train")
        {'optim': {'lr': 0.2}}
        >>> apply_overrides({"optim": {"lr": 0.1}}, {"optim.lrr": 0.2}, "train", "t.toml", {"optim.lrr": "space"})
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: t.toml: space.optim.lrr: not a key of the train configuration \
(did you mean 'optim.lr'?); optim keys: optim.lr
    """
    out = copy.deepcopy(tree)
    known = flatten(tree)
    for path, value in overrides.items():
        if path not in known:
            head = path.split(".")[0]
            near = sorted(k for k in known if k.split(".")[0] == head)
            hint = f"{head} keys: {', '.join(near)}" if near and "." in path else \
                f"sections and keys: {', '.join(sorted({k.split('.')[0] for k in known}))}"
            label = f"{(labels or {}).get(path)}." if (labels or {}).get(path) else ""
            raise ConfigError(f"{where}: {label}{path}: not a key of the {what} configuration"
                              f"{did_you_mean(path, known)}; {hint}")
        node = out
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return out


def _checked_types(tree: dict[str, Any], defaults: dict[str, Any], what: str) -> None:
    """Values whose type differs from the default's (ints allowed for floats)."""
    flat = flatten(defaults)
    for key, value in flatten(tree).items():
        ref = flat.get(key)
        ok = (type(value) is type(ref) or (isinstance(ref, float) and isinstance(value, int)
                                           and not isinstance(value, bool)))
        if not ok:
            raise ConfigError(f"{what}: {key}: expected {type_name(ref)}, got {type_name(value)} ({value!r})")


class TrialKind:
    """The interface of a trial kind (see the module docstring); subclasses fill it in.

    Examples:
        >>> sorted(k.name for k in map(get_trial_kind, list_trial_kinds()))
        ['qaoa', 'qec-train', 'train', 'vqe']
    """

    name = ""
    needs_base = True
    default_metric = ""
    default_mode = "max"
    metrics: tuple[str, ...] = ()
    steps_key = ""
    """The key path that caps a trial's steps (``[tune] max_steps``)."""

    def resolve(self, base: Path | None, overrides: dict[str, Any], where: str = "<tune>",
                labels: dict[str, str] | None = None) -> dict[str, Any]:
        """The validated configuration (plain nested data) of ``base`` with ``overrides``."""
        raise NotImplementedError

    def report_steps(self, config: dict[str, Any]) -> list[int]:
        """The trainer steps after which a full run reports (one entry per report)."""
        return [1]

    def run(self, config: dict[str, Any], out: Path, *, until: int | None, source: str,
            report: Report | None = None) -> tuple[list[dict[str, Any]], bool]:
        """Run (or resume) a trial in ``out`` up to report ``until`` (``None``: to the end).

        Returns:
            Every report so far (dicts with ``report``, ``step`` and the metrics) and whether the trial
            has ended (finished, or stopped by the trainer's own early stopping).
        """
        raise NotImplementedError

    def to_toml(self, config: dict[str, Any], header: str) -> str:
        """The configuration as a TOML file for the trainer."""
        return to_toml(config, header=header)


def _eval_reports(records: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    evals = [r for r in records if r.get("kind") == "eval"]
    return [{"report": i + 1, "step": r["step"], **{k: r[k] for k in keys if k in r}} for i, r in enumerate(evals)]


def _report_cb(report: Report | None, keys: tuple[str, ...]) -> Callable[[dict[str, Any]], None] | None:
    if report is None:
        return None
    count = [0]

    def cb(rec: dict[str, Any]) -> None:
        if rec.get("kind") == "eval":
            count[0] += 1
            report({"step": rec["step"], **{k: rec[k] for k in keys if k in rec}})
    return cb


class TrainerTrial(TrialKind):
    """A trial kind over a trainer's TOML configuration: ``_parser()`` gives the trainer's
    ``parse_config(text, source=)``, ``_check(cfg, src)`` what tuning needs of it beyond its own checks.

    Examples:
        >>> isinstance(get_trial_kind("qec-train"), TrainerTrial), isinstance(get_trial_kind("vqe"), TrainerTrial)
        (True, False)
    """

    def _parser(self) -> Callable[..., Any]:
        raise NotImplementedError

    def _check(self, cfg: Any, src: str) -> None:
        """Raise ConfigError when ``cfg`` cannot be tuned (e.g. no validation split)."""

    def resolve(self, base: Path | None, overrides: dict[str, Any], where: str = "<tune>",
                labels: dict[str, str] | None = None) -> dict[str, Any]:
        """``base`` (or the trainer's defaults) with ``overrides``, parsed and checked by the trainer's parser."""
        parse = self._parser()
        text = read_config_text(base) if base else ""
        src = str(base) if base else "<base>"
        tree = apply_overrides(parse(text, source=src).to_dict(), overrides, self.name, where, labels)
        cfg = parse(to_toml(tree), source=f"{where} (overrides on {src})")
        self._check(cfg, src)
        return dict(cfg.to_dict())

    def _cfg(self, config: dict[str, Any], source: str) -> Any:
        return self._parser()(to_toml(config), source=source)


class HybridTrial(TrainerTrial):
    """``train``: the hybrid classifier (:mod:`qtandem.hybrid.train`)."""

    name = "train"
    default_metric = "val_accuracy"
    metrics = ("val_accuracy", "val_loss", "train_accuracy", "train_loss")
    steps_key = "train.max_steps"

    def _parser(self) -> Callable[..., Any]:
        from qtandem.hybrid.train import parse_config

        return parse_config

    def _check(self, cfg: Any, src: str) -> None:
        if not cfg.data.validation:
            raise ConfigError(f"{src}: data.validation: tuning selects on a validation split (never the test "
                              "split); give a fraction, e.g. data.validation = 0.2")

    def report_steps(self, config: dict[str, Any]) -> list[int]:
        from qtandem.hybrid.train.data import load_data

        cfg = self._cfg(config, "<trial>")
        n = int(load_data(cfg).x_train.shape[0])
        per_epoch = math.ceil(n / (cfg.optim.batch_size or n))
        epochs, ev = cfg.optim.epochs, cfg.train.eval_every
        steps = [e * per_epoch for e in range(1, epochs + 1) if e % ev == 0 or e == epochs]
        return [s for s in steps if not cfg.train.max_steps or s <= cfg.train.max_steps]

    def run(self, config: dict[str, Any], out: Path, *, until: int | None, source: str,
            report: Report | None = None) -> tuple[list[dict[str, Any]], bool]:
        import dataclasses

        from qtandem.hybrid.train import train

        cfg = self._cfg(config, source)
        if until is not None:
            steps = self.report_steps(config)
            cap = steps[min(until, len(steps)) - 1]
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=cap))
        cfg = dataclasses.replace(cfg, threads=cfg.threads or 1)
        resume = (out / "checkpoint.safetensors").exists()
        res = train(cfg, resume=resume, progress=False, output=out, callback=_report_cb(report, self.metrics))
        reports = _eval_reports([r for r in _records(out) if r.get("kind") == "eval"], self.metrics)
        ended = res.stopped_early or res.epochs >= cfg.optim.epochs or (
            bool(config["train"]["max_steps"]) and res.steps >= config["train"]["max_steps"])
        return reports, ended

    def to_toml(self, config: dict[str, Any], header: str) -> str:
        from qtandem.hybrid.train import config_to_toml

        return config_to_toml(self._cfg(config, "<best>"), header=header)


def _records(out: Path) -> list[dict[str, Any]]:
    from qtandem.io import read_jsonl

    return read_jsonl(out / "metrics.jsonl")


class QecTrial(TrainerTrial):
    """``qec-train``: the neural decoder trainer (:mod:`qtandem.qec.train`)."""

    name = "qec-train"
    default_metric = "val_ler"
    default_mode = "min"
    metrics = ("val_ler", "ratio_to_matching", "matching_ler")
    steps_key = "train.max_steps"

    def _parser(self) -> Callable[..., Any]:
        from qtandem.qec.train_config import parse_config

        return parse_config

    def _check(self, cfg: Any, src: str) -> None:
        if not cfg.data.val_shots:
            raise ConfigError(f"{src}: data.val_shots: tuning compares validation error rates; give val_shots > 0")

    def report_steps(self, config: dict[str, Any]) -> list[int]:
        cfg = self._cfg(config, "<trial>")
        total, ev = cfg.optim.steps, cfg.train.eval_every
        stop = min(total, cfg.train.max_steps) if cfg.train.max_steps else total
        return [s for s in range(1, stop + 1) if s % ev == 0 or s == total]

    def run(self, config: dict[str, Any], out: Path, *, until: int | None, source: str,
            report: Report | None = None) -> tuple[list[dict[str, Any]], bool]:
        import dataclasses

        from qtandem.qec.train import train

        cfg = self._cfg(config, source)
        steps = self.report_steps(config)
        if until is not None:
            cap = steps[min(until, len(steps)) - 1]
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=cap))
        cfg = dataclasses.replace(cfg, threads=cfg.threads or 1)
        resume = (out / "checkpoint.safetensors").exists()
        res = train(cfg, resume=resume, progress=False, output=out, callback=_report_cb(report, self.metrics))
        return _eval_reports(res.records, self.metrics), res.step >= steps[-1]

    def to_toml(self, config: dict[str, Any], header: str) -> str:
        from qtandem.qec.train_config import config_to_toml

        text = config_to_toml(self._cfg(config, "<best>"))
        return "".join(f"# {ln}\n" for ln in header.splitlines()) + text


_VQE_DEFAULTS: dict[str, Any] = {
    "molecule": {"geometry": "H 0 0 0; H 0 0 0.735", "basis": "sto-3g", "charge": 0, "spin": 0, "active": [],
                 "mapping": "jordan_wigner"},
    "vqe": {"ansatz": "uccsd", "optimizer": "bfgs", "max_evaluations": 0, "shots": 0, "seed": 0, "tol": 1e-8,
            "reference": "fci"},
}


def _read_tables(base: Path | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    if base is None:
        return {}
    src = str(base)
    try:
        data = tomllib.loads(read_config_text(base))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{src}: not valid TOML: {err}") from None
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{src}: {key}: unknown table{did_you_mean(key, allowed)}; "
                              f"tables are {', '.join(allowed)}")
    return data


class VqeTrial(TrialKind):
    """``vqe``: one VQE energy (:func:`qtandem.chem.vqe`), its error against a classical reference.

    The configuration: ``[molecule]`` (geometry, basis, charge, spin, active = [electrons, orbitals]
    or [] for all, mapping) and ``[vqe]`` (ansatz, optimizer, max_evaluations (0: none), shots (0: exact),
    seed, tol, reference = fci or casci). Needs the ``chem`` extra (PySCF).
    """

    name = "vqe"
    needs_base = False
    default_metric = "error"
    default_mode = "min"
    metrics = ("error", "energy", "n_evaluations", "cnot_count")
    steps_key = "vqe.max_evaluations"

    def resolve(self, base: Path | None, overrides: dict[str, Any], where: str = "<tune>",
                labels: dict[str, str] | None = None) -> dict[str, Any]:
        data = _read_tables(base, ("molecule", "vqe"))
        src = str(base) if base else "<defaults>"
        tree = copy.deepcopy(_VQE_DEFAULTS)
        tree = apply_overrides(tree, {f"{t}.{k}": v for t, table in data.items() for k, v in table.items()},
                               self.name, where=src)
        tree = apply_overrides(tree, overrides, self.name, where, labels)
        _checked_types(tree, _VQE_DEFAULTS, f"{where} (overrides on {src})")
        if tree["vqe"]["reference"] not in ("fci", "casci"):
            raise ConfigError(f"{src}: vqe.reference: expected 'fci' or 'casci', got {tree['vqe']['reference']!r}")
        return tree

    def run(self, config: dict[str, Any], out: Path, *, until: int | None, source: str,
            report: Report | None = None) -> tuple[list[dict[str, Any]], bool]:
        from qtandem.chem import Molecule, vqe

        m, v = config["molecule"], config["vqe"]
        active = tuple(m["active"]) if m["active"] else None
        problem = Molecule(m["geometry"], basis=m["basis"], charge=m["charge"], spin=m["spin"]).problem(
            active=active, mapping=m["mapping"])  # type: ignore[arg-type]
        res = vqe(problem, v["ansatz"], optimizer=v["optimizer"], shots=v["shots"] or None, seed=v["seed"],
                  max_evaluations=v["max_evaluations"] or None, tol=v["tol"])
        ref = problem.references.get(v["reference"])
        rec = {"energy": float(res.energy), "error": abs(float(res.energy) - float(ref)) if ref is not None else None,
               "n_evaluations": int(res.n_evaluations), "cnot_count": int(res.cnot_count or 0)}
        if report is not None:
            report({"step": 1, **rec})
        return [{"report": 1, "step": 1, **rec}], True


_QAOA_DEFAULTS: dict[str, Any] = {
    "problem": "",
    "qaoa": {"p": 2, "mixer": "x", "init": "interp", "objective": "energy", "alpha": 0.1, "optimizer": "",
             "shots": 0, "max_evaluations": 0, "seed": 0},
}


class QaoaTrial(TrialKind):
    """``qaoa``: :func:`qtandem.opt.qaoa` on the problem file ``base`` (``qtandem opt`` format).

    Tuned keys live under ``qaoa.`` (p, mixer, init, objective, alpha, optimizer ("" = automatic),
    shots (0: exact), max_evaluations (0: none), seed).
    """

    name = "qaoa"
    default_metric = "approximation_ratio"
    metrics = ("approximation_ratio", "p_optimal", "p_feasible", "energy", "n_evaluations")
    steps_key = "qaoa.max_evaluations"

    def resolve(self, base: Path | None, overrides: dict[str, Any], where: str = "<tune>",
                labels: dict[str, str] | None = None) -> dict[str, Any]:
        from qtandem.opt import load_problem

        if base is None:
            raise ConfigError("tune.base: trainer 'qaoa' needs a problem file (qtandem opt format)")
        load_problem(base)  # validates the problem file
        tree = copy.deepcopy(_QAOA_DEFAULTS)
        tree["problem"] = str(base.resolve())
        tree = apply_overrides(tree, overrides, self.name, where, labels)
        _checked_types(tree, _QAOA_DEFAULTS, f"{where} (overrides on {base})")
        return tree

    def run(self, config: dict[str, Any], out: Path, *, until: int | None, source: str,
            report: Report | None = None) -> tuple[list[dict[str, Any]], bool]:
        from qtandem.opt import load_problem, qaoa

        q = config["qaoa"]
        res = qaoa(load_problem(config["problem"]), q["p"], mixer=q["mixer"], init=q["init"],
                   objective=q["objective"], alpha=q["alpha"], optimizer=q["optimizer"] or None,
                   shots=q["shots"] or None, seed=q["seed"], max_evaluations=q["max_evaluations"] or None)
        rec = {"approximation_ratio": float(res.approximation_ratio), "p_optimal": float(res.p_optimal),
               "p_feasible": float(res.p_feasible), "energy": float(res.energy),
               "n_evaluations": int(res.n_evaluations)}
        if report is not None:
            report({"step": 1, **rec})
        return [{"report": 1, "step": 1, **rec}], True


_KINDS: dict[str, TrialKind] = {k.name: k for k in (HybridTrial(), QecTrial(), VqeTrial(), QaoaTrial())}


def get_trial_kind(name: Any, *, where: str = "tune.trainer") -> TrialKind:
    """The trial kind called ``name``.

    Raises:
        ConfigError: unknown name (listing the known ones).

    Examples:
        >>> get_trial_kind("qec_train")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: tune.trainer: unknown trainer 'qec_train' (did you mean 'qec-train'?); \
known: qaoa, qec-train, train, vqe
    """
    if name not in _KINDS:
        raise ConfigError(f"{where}: unknown trainer {name!r}{did_you_mean(str(name), _KINDS)}; "
                          f"known: {', '.join(list_trial_kinds())}")
    return _KINDS[name]


def list_trial_kinds() -> list[str]:
    """Names of the trial kinds.

    Examples:
        >>> list_trial_kinds()
        ['qaoa', 'qec-train', 'train', 'vqe']
    """
    return sorted(_KINDS)
