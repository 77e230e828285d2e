"""Shipped neural decoders against PyMatching and correlated PyMatching on the same fresh shots.

For every shipped model (``qtandem.qec.list_pretrained()``) and every ``--model PATH.safetensors``
(e.g. a training run's ``model.safetensors``) one set of fresh shots is sampled from the model's own
circuit (Stim, seeded; never the training or validation seeds' streams: the seed here is
``--seed``) and decoded by the neural decoder, PyMatching and correlated PyMatching. Reported:
logical error rate per shot with 95% Wilson intervals, the ratios to both matchers on the
same shots, the paired counts (shots only the neural decoder gets right / only matching gets
right) and the paired z-score of the difference; the post-selection curve (LER among kept shots
when 1%, 5%, 10% of shots are flagged as doubtful) from the neural soft output beside
PyMatching's complementary gap; and throughput: shots per second of
``decode`` with 2 torch threads for the neural decoder (its matching features included for
``neural+matching`` models) and PyMatching's single-threaded ``decode_batch`` beside it.

Run: flock /tmp/qtandem-cpu.lock python bench/qec_neural.py [--shots N] [--model PATH ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pymatching
import stim
import torch

from qtandem.io import atomic_write_text
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.metrics import postselection_curve, wilson_interval
from qtandem.qec.neural import NeuralDecoder, load_decoder
from qtandem.qec.zoo import list_pretrained, pretrained


def _rate(errors: int, shots: int) -> dict[str, Any]:
    lo, hi = wilson_interval(errors, shots)
    return {"errors": errors, "ler": errors / shots, "wilson95": [lo, hi]}


def _throughput(fn: Any, dets: np.ndarray, repeat: int = 2) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(dets)
        best = min(best, time.perf_counter() - t0)
    return len(dets) / best


def evaluate(dec: NeuralDecoder, shots: int, seed: int, speed_shots: int) -> dict[str, Any]:
    circuit = dec.circuit
    assert circuit is not None
    dets, obs = circuit.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    obs = obs[:, 0]
    plain = MatchingDecoder(circuit)
    corr = MatchingDecoder(circuit, correlated=True)
    dec.threads = 2
    preds = {"neural": dec.decode(dets)[:, 0], "pymatching": plain.decode(dets)[:, 0],
             "pymatching-correlated": corr.decode(dets)[:, 0]}
    wrong = {k: v != obs for k, v in preds.items()}
    out: dict[str, Any] = {"name": dec.name, "kind": dec.info.get("kind"), "shots": shots, "seed": seed,
                           "num_detectors": dec.num_detectors, "training": dec.info.get("training"),
                           "decoders": {k: _rate(int(w.sum()), shots) for k, w in wrong.items()}}
    for ref in ("pymatching", "pymatching-correlated"):
        only_nn_right = int((~wrong["neural"] & wrong[ref]).sum())
        only_ref_right = int((wrong["neural"] & ~wrong[ref]).sum())
        z = (only_nn_right - only_ref_right) / math.sqrt(max(1, only_nn_right + only_ref_right))
        out[f"vs_{ref}"] = {"ratio": int(wrong["neural"].sum()) / max(1, int(wrong[ref].sum())),
                            "only_neural_right": only_nn_right, "only_matching_right": only_ref_right,
                            "paired_z": z}
    soft_nn = dec.decode_soft(dets)
    soft_pm = plain.decode_soft(dets)
    curves = {"neural": postselection_curve(soft_nn, obs[:, None]),
              "pymatching (complementary gap)": postselection_curve(soft_pm, obs[:, None])}
    out["flagging"] = {k: {str(f): c.at(f) for f in (0.0, 0.01, 0.05, 0.1)} for k, c in curves.items()}
    sp = dets[:speed_shots]
    out["shots_per_s"] = {"neural_2_threads": _throughput(dec.decode, sp),
                          "pymatching": _throughput(plain.decode, sp),
                          "pymatching-correlated": _throughput(corr.decode, sp)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=200_000)
    ap.add_argument("--speed-shots", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--model", action="append", default=[], help="also evaluate this .safetensors model")
    ap.add_argument("--no-shipped", action="store_true", help="evaluate only the --model files")
    ap.add_argument("--json", default="bench/results/qec_neural.json")
    args = ap.parse_args()
    shipped = [] if args.no_shipped else [pretrained(n) for n in list_pretrained()]
    models = shipped + [load_decoder(p) for p in args.model]
    results = []
    for dec in models:
        r = evaluate(dec, args.shots, args.seed, args.speed_shots)
        results.append(r)
        d = r["decoders"]
        print(f"{r['name']} ({r['kind']}), {r['shots']} shots: neural {d['neural']['ler']:.5f}, "
              f"PyMatching {d['pymatching']['ler']:.5f}, correlated {d['pymatching-correlated']['ler']:.5f}; "
              f"ratio {r['vs_pymatching']['ratio']:.3f}x PyMatching (z {r['vs_pymatching']['paired_z']:+.1f}), "
              f"{r['vs_pymatching-correlated']['ratio']:.3f}x correlated "
              f"(z {r['vs_pymatching-correlated']['paired_z']:+.1f}); shots/s neural(2 threads) "
              f"{r['shots_per_s']['neural_2_threads']:.0f}, PyMatching {r['shots_per_s']['pymatching']:.0f}, "
              f"correlated {r['shots_per_s']['pymatching-correlated']:.0f}", flush=True)
        for k, v in r["flagging"].items():
            print(f"    flagging {k}: " + ", ".join(f"{float(f):.0%} flagged -> LER {x:.2e}" for f, x in v.items()))
    env = {"python": platform.python_version(), "stim": stim.__version__, "pymatching": pymatching.__version__,
           "torch": torch.__version__, "cpus": os.cpu_count(), "machine": platform.machine()}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps({"environment": env, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
