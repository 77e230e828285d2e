"""The recurrent decoder (qtandem.qec.recurrent, issue 22 s.2): ablation at d = 3, throughput and streaming at d = 5.

Three subcommands, each writing raw JSON under bench/results/:

* ``train VARIANT [--steps N] [--output DIR]``: train one ablation variant (configuration built
  from ``BASE`` and the variant's changes, written to the run folder's ``config.toml``; resumable
  with ``--resume``). Target noise: rotated surface code d = 3, rounds = 3, SI1000 p = 0.002,
  every measurement read out through the analog model ``READOUT`` (its flips replace SI1000's
  classical ones); pretraining (first third of the steps) on the uniform model at the same p
  (Stim detector sampling of the uniform circuit, i.e. its DEM). Variants: ``base`` (attention
  mixer, gated update, soft + leakage inputs, pretraining), ``hard`` (no soft/leakage inputs:
  same shots, thresholded), ``nopretrain``, ``conv`` (lattice convolution instead of attention),
  ``ungated`` (SyndromeNet's residual update), ``nomix`` (no spatial mixing), ``base_unit`` /
  ``hard_unit`` (soft vs hard with equal input-embedding inits, ``RecurrentSpec.unit_inputs``), ``long``
  (``base`` resumed with a new phase to 3,000 steps: copy ``base``'s run folder, then ``--resume``).
* ``eval RUN_DIR ... --shots N --seed S --out FILE``: fresh soft-readout shots (seed ``S``, never
  a training seed: training draws with ``derive_seed(config seed, 1, step)`` and validation
  ``derive_seed(config seed, 2)``) decoded by every model, by PyMatching and correlated PyMatching
  on the DEM with the readout flips (hard outcomes), and by Q1's soft-reweighted matching
  (``qtandem.qec.soft_matching``) when present; LER with 95% Wilson intervals and ratios on the
  same shots.
* ``speed [--shots N]``: shots/s through ``decode`` at d = 5 (rounds 5) of a recurrent decoder
  with the base architecture (random weights: throughput does not depend on them) beside the
  shipped SyndromeNet ``surface-d5-p0.005`` (hidden 16, neural+matching: its PyMatching features
  are part of its decode), all with 2 worker threads; the base architecture at hidden 32 (the
  ablation's) and at the shipped model's sizes (hidden 16, 2 heads, readout 32); streaming latency per
  round (``stream(shots=1)`` and ``stream(shots=1024)``, median over rounds and repeats). Run it
  under both CPU locks.

Run: flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 python bench/qec_recurrent.py train base
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.io import atomic_write_text
from qtandem.qec.data import sample
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.metrics import postselection_curve, wilson_interval
from qtandem.qec.recurrent import RecurrentDecoder, load_recurrent
from qtandem.qec.recurrent_train import load_recurrent_config, parse_recurrent_config, train_recurrent

RESULTS = Path(__file__).parent / "results"

READOUT = {"soft": True, "separation": 4.65, "t1_decay": 0.02, "leakage": 0.002}
"""Analog readout: about 1.1% P(1|0) and 1.9% P(0|1) misreads (SI1000's 5p = 1% at p = 0.002), 0.2% leakage."""

BASE: dict[str, Any] = {
    "seed": 11,
    "threads": 1,
    "data": {"code": "surface", "distance": 3, "rounds": 3, "noise": "si1000", "p": 0.002, "val_shots": 20000},
    "pretrain": {"steps": 400, "noise": "uniform", "p": 0.002},
    "model": {"hidden": 32, "layers": 1, "heads": 4, "mixer": "attention", "gated": True, "soft_inputs": True,
              "readout": 64},
    "readout": READOUT,
    "optim": {"steps": 1200, "batch_size": 256, "lr": 0.003, "warmup": 50, "min_lr": 0.0001},
    "train": {"checkpoint_every": 100, "eval_every": 400, "log_every": 50},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "base": {},
    "hard": {"model": {"soft_inputs": False}},
    "nopretrain": {"pretrain": {"steps": 0}},
    "conv": {"model": {"mixer": "conv"}},
    "ungated": {"model": {"gated": False}},
    "nomix": {"model": {"mixer": "none"}},
    # the input-embedding init fixed (RecurrentSpec.unit_inputs): soft vs hard again
    "base_unit": {"model": {"unit_inputs": True}},
    "hard_unit": {"model": {"unit_inputs": True, "soft_inputs": False}},
    # `base` continued (resume of a copy of the base run folder): steps 0-1200 are base's schedule, kept as a
    # phase; 1200-3000 a new cosine phase
    "long": {"optim": {"steps": 3000, "lr": 0.0015, "phases": [{"until": 1200, "steps": 1200, "lr": 0.003}]}},
    # session 33 (DEV): is the base recipe only data-starved? 4x the batch, 5x the steps (24x the shots of `long`),
    # equal input inits; run in chunks with --max-steps (resumable)
    "big": {"model": {"unit_inputs": True}, "pretrain": {"steps": 1000},
            "data": {"val_shots": 50000},
            "optim": {"steps": 6000, "batch_size": 1024, "lr": 0.002, "warmup": 200, "min_lr": 0.00005},
            "train": {"eval_every": 500, "checkpoint_every": 250}},
    "big_hard": {"model": {"unit_inputs": True, "soft_inputs": False}, "pretrain": {"steps": 1000},
                 "data": {"val_shots": 50000},
                 "optim": {"steps": 6000, "batch_size": 1024, "lr": 0.002, "warmup": 200, "min_lr": 0.00005},
                 "train": {"eval_every": 500, "checkpoint_every": 250}},
    # session 33 (DEV): matching-initialized (recurrent+matching): the readout also reads plain matching's
    # complementary gap and a reference decision (soft-aware matching / correlated matching for the hard
    # ablation), logit starting at 2 * decision; no pretraining (the features are the prior)
    "hybrid": {"model": {"unit_inputs": True, "matching_features": 2}, "pretrain": {"steps": 0},
               "data": {"val_shots": 50000},
               "optim": {"steps": 3000, "batch_size": 512, "lr": 0.001, "warmup": 100, "min_lr": 0.00002},
               "train": {"eval_every": 500, "checkpoint_every": 250}},
    "hybrid_hard": {"model": {"unit_inputs": True, "matching_features": 2, "soft_inputs": False},
                    "pretrain": {"steps": 0}, "data": {"val_shots": 50000},
                    "optim": {"steps": 3000, "batch_size": 512, "lr": 0.001, "warmup": 100, "min_lr": 0.00002},
                    "train": {"eval_every": 500, "checkpoint_every": 250}},
}


def variant_config(name: str, steps: int | None = None, max_steps: int = 0) -> str:
    """The TOML configuration of an ablation variant (``max_steps``: stop this session there, resumable)."""
    from qtandem.config import to_toml

    cfg: dict[str, Any] = json.loads(json.dumps(BASE))
    for section, changes in VARIANTS[name].items():
        cfg[section].update(changes)
    if steps is not None:
        cfg["pretrain"]["steps"] = min(cfg["pretrain"]["steps"], steps // 3)
        cfg["optim"]["steps"] = steps
    cfg["train"]["max_steps"] = max_steps
    cfg["name"] = f"recurrent-d3-si1000-{'base' if name == 'long' else name}"  # long resumes base's run
    return to_toml(cfg)


def _rate(errors: int, shots: int) -> dict[str, Any]:
    lo, hi = wilson_interval(errors, shots)
    return {"errors": errors, "ler": errors / shots, "wilson95": [lo, hi]}


def cmd_train(args: argparse.Namespace) -> None:
    out = Path(args.output or f"runs/qec_recurrent/{args.variant}")
    cfg = parse_recurrent_config(variant_config(args.variant, args.steps, args.max_steps),
                                 source=f"{args.variant}.toml")
    res = train_recurrent(cfg, output=out, resume=args.resume, progress=False)
    ev = [r for r in res.records if r["kind"] == "eval"]
    print(json.dumps({"variant": args.variant, "step": res.step, "shots": res.shots, "wall_s": round(res.wall_s, 1),
                      "last_eval": ev[-1] if ev else None}))


def cmd_eval(args: argparse.Namespace) -> None:
    models = {Path(d).name: load_recurrent(Path(d) / "model.safetensors") for d in args.runs}
    cfgs = {Path(d).name: load_recurrent_config(Path(d) / "config.toml") for d in args.runs}
    first = next(iter(cfgs.values()))
    for name, c in cfgs.items():
        if (dataclasses.replace(c.data, val_shots=0), c.readout) != (dataclasses.replace(first.data, val_shots=0),
                                                                     first.readout):
            sys.exit(f"{name}: its [data]/[readout] differ from the first model's; evaluate them separately")
    bare, circuit, readout = first.sampling_circuit(), first.decoder_circuit(), first.readout.model()
    t0 = time.perf_counter()
    shots = sample(bare, args.shots, seed=args.seed, readout=readout)
    obs = shots.obs[:, :1]
    rows: dict[str, Any] = {}
    plain = MatchingDecoder(circuit)
    corr = MatchingDecoder(plain.dem, correlated=True)
    preds = {"pymatching": plain.decode(shots.dets), "pymatching_correlated": corr.decode(shots.dets)}
    try:
        from qtandem.qec.soft_matching import SoftMatchingDecoder

        preds["pymatching_soft"] = SoftMatchingDecoder(bare, readout).decode_shots(shots)
    except ImportError:
        pass
    probs = {"pymatching": plain.decode_soft(shots.dets)}
    for name, dec in models.items():
        preds[f"recurrent:{name}"], probs[f"recurrent:{name}"] = dec.decode_shots(shots)
    errs = {k: int((v[:, :1] != obs).sum()) for k, v in preds.items()}
    for k, e in errs.items():
        rows[k] = _rate(e, args.shots)
        rows[k]["ratio_to_pymatching"] = e / max(1, errs["pymatching"])
        rows[k]["ratio_to_correlated"] = e / max(1, errs["pymatching_correlated"])
        if k.startswith("recurrent:"):
            tr = models[k.split(":", 1)[1]].info.get("training", {})
            rows[k]["training"] = tr
            rows[k]["spec"] = models[k.split(":", 1)[1]].spec.__dict__
    corr_wrong = preds["pymatching_correlated"][:, :1] != obs
    for k in rows:
        if k.startswith("recurrent:"):
            wrong = preds[k][:, :1] != obs
            rows[k]["paired_vs_correlated"] = {"only_recurrent_wrong": int((wrong & ~corr_wrong).sum()),
                                               "only_correlated_wrong": int((~wrong & corr_wrong).sum())}
    flagging = {}
    for k, pr in probs.items():
        curve = postselection_curve(pr[:, :1], obs, preds[k][:, :1])
        flagging[k + (" (complementary gap)" if k == "pymatching" else "")] = {
            str(f): curve.at(f) for f in (0.0, 0.01, 0.05, 0.1)}
    doc = {"what": "recurrent decoder ablation, fresh test shots", "seed": args.seed, "shots": args.shots,
           "flagging": flagging, "data": first.to_dict()["data"], "readout": first.to_dict()["readout"],
           "results": rows,
           "wall_s": round(time.perf_counter() - t0, 1), "host": platform.node(), "load": os.getloadavg()}
    atomic_write_text(args.out, json.dumps(doc, indent=1) + "\n")
    for k, r in rows.items():
        print(f"{k:40s} LER {r['ler']:.5f} [{r['wilson95'][0]:.5f}, {r['wilson95'][1]:.5f}]  "
              f"x{r['ratio_to_pymatching']:.3f} PM  x{r['ratio_to_correlated']:.3f} corr")


def cmd_speed(args: argparse.Namespace) -> None:
    import torch

    from qtandem.qec.zoo import pretrained

    def rate(dec: Any, circuit: Any) -> dict[str, Any]:
        dec.prepare()
        times = []
        for r in range(args.repeats):
            dets, _ = sample(circuit, args.shots, seed=1000 + r)
            t0 = time.perf_counter()
            dec.decode(dets)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        return {"shots": args.shots, "repeats": args.repeats, "median_s": med, "shots_per_s": args.shots / med}

    load0 = os.getloadavg()
    syn = pretrained("surface-d5-p0.005")
    syn.threads = 2
    assert syn.circuit is not None
    circuit = syn.circuit
    base = parse_recurrent_config(variant_config("base")).model.spec()
    small = dataclasses.replace(base, hidden=16, heads=2, readout=32)  # the shipped d = 5 SyndromeNet's sizes
    out: dict[str, Any] = {"syndromenet_d5": rate(syn, circuit)}
    rec = RecurrentDecoder.untrained(circuit, base, seed=0, threads=2)
    for label, spec in (("recurrent_d5_h32", base), ("recurrent_d5_h16", small)):
        dec = RecurrentDecoder.untrained(circuit, spec, seed=0, threads=2)
        out[label] = rate(dec, circuit)
        out[label]["spec"] = dataclasses.asdict(spec)
        out[label]["ratio_to_syndromenet"] = out[label]["shots_per_s"] / out["syndromenet_d5"]["shots_per_s"]
    plain = MatchingDecoder(circuit)
    out["pymatching_d5"] = rate(plain, circuit)
    out["pymatching_correlated_d5"] = rate(MatchingDecoder(plain.dem, correlated=True), circuit)
    lat: dict[str, Any] = {}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for n in (1, 1024):
            dets, _ = sample(circuit, n, seed=7)
            per_round: list[float] = []
            for _ in range(args.latency_repeats):
                s = rec.stream(shots=n)
                for idx in rec.round_detectors:
                    t0 = time.perf_counter()
                    s.push(dets[:, idx])
                    per_round.append(time.perf_counter() - t0)
                s.finish()
            lat[f"shots_{n}"] = {"median_ms_per_round": 1e3 * statistics.median(per_round),
                                 "p90_ms_per_round": 1e3 * float(np.quantile(per_round, 0.9)),
                                 "rounds": len(rec.round_detectors), "torch_threads": 1}
    finally:
        torch.set_num_threads(before)
    out["streaming_latency"] = lat
    doc = {"what": "d = 5 (rounds 5) decode throughput and streaming latency (h32 spec)",
           "results": out, "load_before": load0, "load_after": os.getloadavg(), "host": platform.node(),
           "cpus": len(os.sched_getaffinity(0))}
    atomic_write_text(args.out, json.dumps(doc, indent=1) + "\n")
    print(json.dumps(out, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("variant", choices=sorted(VARIANTS))
    t.add_argument("--steps", type=int, default=None)
    t.add_argument("--output", default=None)
    t.add_argument("--resume", action="store_true")
    t.add_argument("--max-steps", type=int, default=0, help="stop at this step (resume later with --resume)")
    e = sub.add_parser("eval")
    e.add_argument("runs", nargs="+")
    e.add_argument("--shots", type=int, default=200_000)
    e.add_argument("--seed", type=int, default=20261204)
    e.add_argument("--out", default=str(RESULTS / "qec_recurrent_ablation.json"))
    s = sub.add_parser("speed")
    s.add_argument("--shots", type=int, default=20_000)
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--latency-repeats", type=int, default=20)
    s.add_argument("--out", default=str(RESULTS / "qec_recurrent_speed.json"))
    args = ap.parse_args()
    {"train": cmd_train, "eval": cmd_eval, "speed": cmd_speed}[args.cmd](args)


if __name__ == "__main__":
    main()
