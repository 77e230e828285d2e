"""TEST evaluation, on this machine's CPU, of the d = 5 decoders trained on the device (issue 22 s.3).

Fresh shots of the rotated surface code d = 5, rounds 5, uniform p = 0.005 (the circuit each model
file carries), seed ``--seed`` (never used in training: ``bench/qec_gpu_train.py`` draws chunks
from ``derive_seed(2205, 1, k)`` and DEV shots from ``derive_seed(2205, 2)``), decoded by every
model given, by the shipped ``surface-d5-p0.005`` and by PyMatching plain and correlated; LER with
95% Wilson intervals, ratios to both matchers, and the paired discordant counts against
correlated matching. Count-based: one CPU lane.

Run: flock /tmp/qt_lane_b.lock env OMP_NUM_THREADS=1 python bench/qec_gpu_eval.py MODEL.safetensors ... \\
         --shots 300000 --seed 20261351 --out bench/results/qec_gpu_eval_s34.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from qtandem.io import atomic_write_text
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.metrics import wilson_interval
from qtandem.qec.neural import load_decoder
from qtandem.qec.zoo import MODELS_DIR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--shots", type=int, default=300_000)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t0 = time.perf_counter()
    paths = [str(MODELS_DIR / "surface-d5-p0.005.safetensors"), *a.models]
    decs = {("shipped:" if i == 0 else "") + Path(p).stem: load_decoder(p, threads=1) for i, p in enumerate(paths)}
    circuit = next(iter(decs.values())).circuit
    assert circuit is not None
    for name, d in decs.items():
        if d.circuit != circuit:
            raise SystemExit(f"{name}: trained for another circuit")
    dets, obs = circuit.compile_detector_sampler(seed=a.seed).sample(a.shots, separate_observables=True)
    y = obs[:, 0]
    plain = MatchingDecoder(circuit)
    corr = MatchingDecoder(plain.dem, correlated=True)
    preds = {"pymatching": plain.decode(dets)[:, 0], "pymatching_correlated": corr.decode(dets)[:, 0]}
    for name, d in decs.items():
        preds[name] = d.decode(dets)[:, 0]
    errs = {k: int((v != y).sum()) for k, v in preds.items()}
    cw = preds["pymatching_correlated"] != y
    rows: dict[str, Any] = {}
    for k, e in errs.items():
        lo, hi = wilson_interval(e, a.shots)
        rows[k] = {"errors": e, "ler": e / a.shots, "wilson95": [lo, hi], "ratio_to_pymatching": e / errs["pymatching"],
                   "ratio_to_correlated": e / errs["pymatching_correlated"]}
        if k in decs:
            w = preds[k] != y
            rows[k]["paired_vs_correlated"] = {"only_model_wrong": int((w & ~cw).sum()),
                                               "only_correlated_wrong": int((~w & cw).sum())}
            rows[k]["spec"] = decs[k].spec.__dict__
            rows[k]["training"] = decs[k].info.get("training", {})
    doc = {"what": "d = 5 uniform p = 0.005 TEST, device-trained decoders beside the shipped one (CPU decode)",
           "seed": a.seed, "shots": a.shots, "results": rows, "wall_s": round(time.perf_counter() - t0, 1)}
    atomic_write_text(a.out, json.dumps(doc, indent=1) + "\n")
    for k, r in rows.items():
        print(f"{k:32s} LER {r['ler']:.5f} [{r['wilson95'][0]:.5f}, {r['wilson95'][1]:.5f}]  "
              f"x{r['ratio_to_pymatching']:.3f} PM  x{r['ratio_to_correlated']:.3f} corr")


if __name__ == "__main__":
    main()
