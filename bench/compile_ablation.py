"""Ablation of qtandem's level 3: each component removed in turn, geometric-mean gates and CX.

Configurations (``--configs``):

* ``full``: ``optimize(level=3)`` as shipped;
* ``no_kak``, ``no_rotation_merge``, ``no_graysynth``, ``no_block3``, ``no_swap_absorption``,
  ``no_pauli_gadgets`` (level 3's Pauli-gadget start, :mod:`qtandem.compile.passes.gadgets`): that pass
  class replaced by an identity pass wherever level 3 looks it up (every ``qtandem.compile`` module
  attribute bound to the class), so every preset, variant and learned pipeline runs without it; the
  result is still verified;
* ``no_search``: ``policy=None`` (no learned rewrite search);
* ``no_via``: level 3 only in the target basis (``qtandem.compile.via.VIA_BASES`` emptied: no
  optimizing in another basis and translating the result);
* ``no_learned``: the selector's pipelines are not added to level 3's candidates;
* ``fixed_pipelines``: the same number of extra candidates, but always the pipelines with the best
  training-set geometric mean (``bench/results/compile_selector.json``: ``fixed_pair``) instead of
  the selector's per-circuit choice (equal pass budget).

Suites (``--suites``): ``nam`` (the Nam suite's dev half in its own basis), ``generated``
(``qtandem.compile.generate``, every family at 4 and 8 qubits, seed 1, ibm basis: the dev set of
bench/compile_general.py), ``test`` (MQT Bench through ``bench/compile_general.py``'s loader, ibm
basis: the test set, run once at the end, never for tuning). Ratios are geometric means of
``(out + 1) / (in + 1)``. The search budget is a count of expansions (``--budget-expansions``), the
same for every configuration, so runs are machine independent (``budget_s`` is only a safety cap).

Run under the CPU lock:
``flock /tmp/qtandem-cpu.lock .venv/bin/python bench/compile_ablation.py``; raw JSON in
bench/results/compile_ablation.json (suites already there are kept unless rerun).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

COMPONENTS = {"no_kak": ("TwoQubitResynthesis",), "no_rotation_merge": ("RotationMerge",),
              "no_graysynth": ("GraySynth",), "no_block3": ("ThreeQubitResynthesis",),
              "no_swap_absorption": ("SwapAbsorption",), "no_pauli_gadgets": ("PauliGadgets",)}
CONFIGS = ("full", *COMPONENTS, "no_search", "no_via", "no_learned", "fixed_pipelines")


class _Skip:
    """An identity pass standing in for a removed component."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.name = "skipped"

    def run(self, circuit: Any, props: Any = None) -> Any:
        return circuit


@contextlib.contextmanager
def removed(class_names: tuple[str, ...]) -> Iterator[list[str]]:
    """Replace the named pass classes by :class:`_Skip` in every loaded ``qtandem.compile`` module."""
    import importlib
    import pkgutil

    import qtandem.compile
    import qtandem.compile.passes

    for pkg in (qtandem.compile, qtandem.compile.passes):
        for info in pkgutil.iter_modules(pkg.__path__):
            with contextlib.suppress(ImportError):
                importlib.import_module(f"{pkg.__name__}.{info.name}")
    patched: list[tuple[Any, str, Any]] = []
    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith("qtandem.compile") or mod is None:
            continue
        for cls in class_names:
            obj = getattr(mod, cls, None)
            if isinstance(obj, type):
                patched.append((mod, cls, obj))
                setattr(mod, cls, _Skip)
    try:
        yield sorted({f"{m.__name__}.{c}" for m, c, _ in patched})
    finally:
        for mod, cls, obj in patched:
            setattr(mod, cls, obj)


@contextlib.contextmanager
def pipeline_choice(mode: str) -> Iterator[None]:
    """``learned`` (as shipped), ``none`` (no selector candidates) or ``fixed`` (the training-set best pair)."""
    from qtandem.compile import select
    from qtandem.errors import CheckpointError

    pretrained = select.pretrained_selector
    if mode == "none":
        def _none() -> Any:
            raise CheckpointError("selector removed by the ablation")

        select.pretrained_selector = _none  # type: ignore[assignment]
    elif mode == "fixed":
        fixed = json.loads((HERE / "results" / "compile_selector.json").read_text())["gates"]["fixed_pair"]

        class _Fixed:
            def rank(self, *a: Any, **k: Any) -> list[str]:
                return list(fixed) + [p for p in select.PIPELINES if p not in fixed]

        select.pretrained_selector = _Fixed  # type: ignore[assignment]
    try:
        yield
    finally:
        select.pretrained_selector = pretrained  # type: ignore[assignment]


@contextlib.contextmanager
def via_bases(on: bool) -> Iterator[dict[str, Any]]:
    """Level 3's other bases (``VIA_BASES``) as shipped, or none."""
    import importlib

    module = importlib.import_module("qtandem.compile.via")
    shipped = module.VIA_BASES
    if not on:
        module.VIA_BASES = {}
    try:
        yield dict(module.VIA_BASES)
    finally:
        module.VIA_BASES = shipped


def switches(config: str) -> dict[str, Any]:
    """What a configuration changes, as recorded in the JSON."""
    return {"removed_passes": list(COMPONENTS.get(config, ())),
            "policy": None if config == "no_search" else "learned",
            "pipelines": {"no_learned": "none", "fixed_pipelines": "fixed"}.get(config, "learned"),
            "via_bases": config != "no_via"}


def circuits(suite: str, max_gates: int) -> Iterator[tuple[str, Any, Any]]:
    """``(name, circuit, basis argument)`` of a suite."""
    import compile_general as cg
    from qtandem.qasm import loads

    if suite == "nam":
        from qtandem.qasm import load

        nam = cg.nam_dir()
        dev = set(json.loads((HERE / "data" / "nam_split.json").read_text())["dev"])
        for f in sorted(nam.glob("*.qasm")) if nam else []:
            if f.stem in dev:
                c = load(f)
                if c.num_gates() <= max_gates:
                    yield f.stem, c, None
    elif suite == "generated":
        from qtandem.compile.generate import FAMILIES, generate

        for n in cg.DEV_SIZES:  # every family at the small size first, so a cut run covers them all
            for fam in FAMILIES:
                c = generate(fam, n, seed=1, basis="ibm")
                if c.num_gates() <= max_gates:
                    yield f"gen_{fam}_{n}", c, "ibm"
    elif suite == "test":
        skipped: list[dict[str, Any]] = []
        for name, _source, make in cg.test_circuits(False, skipped):
            c = loads(make("ibm"))
            if c.num_gates() <= max_gates:
                yield name, c, "ibm"
    else:
        raise SystemExit(f"unknown suite {suite!r}; choose nam, generated or test")


def run_config(config: str, c: Any, basis: Any, budget_expansions: int, cap_s: float,
               objective: str = "gates") -> dict[str, Any]:
    from qtandem.compile import counts, optimize

    policy = None if config == "no_search" else "learned"
    mode = {"no_learned": "none", "fixed_pipelines": "fixed"}.get(config, "learned")
    with removed(COMPONENTS.get(config, ())) as patched, pipeline_choice(mode), via_bases(config != "no_via"):
        if config in COMPONENTS and not patched:
            return {"absent": True}
        t0 = time.perf_counter()
        out, report = optimize(c, level=3, basis=basis, budget_expansions=budget_expansions, budget_s=cap_s,
                               seed=0, policy=policy, objective=objective)
        secs = time.perf_counter() - t0
    k = counts(out)
    return {"gates": k.gates, "cx": k.cx, "seconds": round(secs, 2),
            "time_bound": any("(budget)" in n or "stopped: time" in n for n in report.notes)}


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", default="nam,generated", help="comma-separated: nam, generated, test")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--budget-expansions", type=int, default=400)
    ap.add_argument("--cap-s", type=float, default=120.0, help="safety cap per circuit (seconds)")
    ap.add_argument("--max-gates", type=int, default=1500)
    ap.add_argument("--objective", default="gates", help="optimize()'s objective in every configuration")
    ap.add_argument("--limit", type=int, help="at most this many circuits per suite (smoke runs)")
    ap.add_argument("--output", "-o", type=Path, default=HERE / "results" / "compile_ablation.json")
    ap.add_argument("--shard", default="1/1", help="K/N: every N-th circuit of each suite, from the K-th")
    ap.add_argument("--merge", type=Path, nargs="+", help="join shard outputs (same configs) into --output and exit")
    args = ap.parse_args(argv)
    if args.merge:
        merged = merge([json.loads(f.read_text()) for f in args.merge])
        args.output.write_text(json.dumps(merged, indent=1) + "\n")
        for suite, block in merged["suites"].items():
            print(suite, json.dumps(block["summary"], indent=1))
        return 0
    shard_k, shard_n = (int(x) for x in args.shard.split("/"))
    import torch

    from qtandem.compile import counts

    torch.set_num_threads(1)
    configs = args.configs.split(",")
    result: dict[str, Any] = json.loads(args.output.read_text()) if args.output.exists() else {}
    result.setdefault("suites", {})
    result["settings"] = {"budget_expansions": args.budget_expansions, "cap_s": args.cap_s,
                          "max_gates": args.max_gates, "seed": 0, "ratio": "geomean of (out+1)/(in+1)",
                          "objective": args.objective}
    result["configs"] = {config: switches(config) for config in configs}
    for suite in args.suites.split(","):
        rows = []
        for i, (name, c, basis) in enumerate(circuits(suite, args.max_gates)):
            if args.limit is not None and i >= args.limit:
                break
            if i % shard_n != shard_k - 1:
                continue
            k = counts(c)
            row: dict[str, Any] = {"name": name, "in": {"gates": k.gates, "cx": k.cx}}
            for config in configs:
                row[config] = run_config(config, c, basis, args.budget_expansions, args.cap_s, args.objective)
            rows.append(row)
            print(name, {cfg: (r.get("gates"), r.get("cx")) for cfg, r in row.items() if cfg in configs},
                  file=sys.stderr, flush=True)
            result["suites"][suite] = {"summary": summarize(rows, configs), "rows": rows,
                                       "settings": result["settings"], "configs": result["configs"],
                                       "shard": args.shard}
            args.output.parent.mkdir(exist_ok=True)
            args.output.write_text(json.dumps(result, indent=1) + "\n")  # after each circuit: a cut run keeps it
        print(suite, json.dumps(result["suites"].get(suite, {}).get("summary"), indent=1))
    return 0


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Shard outputs joined per suite: rows concatenated, the summary recomputed (settings and configs must agree)."""
    out: dict[str, Any] = {"suites": {}}
    for part in parts:
        for suite, block in part["suites"].items():
            have = out["suites"].get(suite)
            if have is None:
                out["suites"][suite] = {**block, "rows": list(block["rows"]), "shard": [block.get("shard")]}
                continue
            if have["settings"] != block["settings"] or have["configs"] != block["configs"]:
                raise SystemExit(f"cannot merge suite {suite!r}: settings or configurations differ")
            have["rows"] += block["rows"]
            have["shard"].append(block.get("shard"))
    for block in out["suites"].values():
        block["summary"] = summarize(block["rows"], list(block["configs"]))
    out["settings"], out["configs"] = parts[0]["settings"], parts[0]["configs"]
    return out


def summarize(rows: list[dict[str, Any]], configs: list[str]) -> dict[str, Any]:
    """Per configuration: geometric-mean ratios over the circuits every configuration finished."""
    summary: dict[str, Any] = {}
    for config in configs:
        ok = [r for r in rows if "gates" in r[config]]
        if not ok:
            summary[config] = {"absent": True}
            continue
        summary[config] = {m: round(geomean([(r[config][m] + 1) / (r["in"][m] + 1) for r in ok]), 4)
                           for m in ("gates", "cx")}
        summary[config]["seconds"] = round(sum(r[config]["seconds"] for r in ok), 1)
        summary[config]["circuits"] = len(ok)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
