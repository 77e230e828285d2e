"""Shipped neural decoders against PyMatching and correlated PyMatching on the same fresh shots.

For every shipped model (``qtandem.qec.list_pretrained()``) and every ``--model PATH.safetensors``
(e.g. a training run's ``model.safetensors``) one set of fresh shots is sampled from the model's own
circuit (Stim, seeded; never the training or validation seeds' streams: the seed here is
``--seed``) and decoded by the neural decoder, PyMatching and correlated PyMatching. Reported:
logical error rate per shot with 95% Wilson intervals, the ratios to both matchers on the
same shots, the paired counts (shots only the neural decoder gets right / only matching gets
right) and the paired z-score of the difference; the post-selection curve (LER among kept shots
when 1%, 5%, 10% of shots are flagged as doubtful) from the neural soft output beside
PyMatching's complementary gap; and throughput.

Throughput is what a user sees: the wall time of one ``decoder.decode(dets)`` call on fresh
shots (sampled with another seed for every repeat, not timed), everything inside ``decode``
included: input checks, the bool -> float32 conversion, batching, the network, the matching
features of ``neural+matching`` models, the result conversion. Each decoder is built and set up
(``decoder.prepare()``: network, matching graphs) before the clock starts, exactly as
``qtandem qec eval`` does (:func:`qtandem.qec.evaluate.evaluate`); the decoders run with their
default settings (the neural decoder picks its worker threads, one torch thread each, and its
batch size itself: ``NeuralDecoder.workers`` / ``batch_for``). The median of ``--speed-repeats``
calls on ``--speed-shots`` shots is reported, and the same shots/s as ``qec eval`` computes it
(``evaluate_circuit`` on the model's circuit) beside it as a cross-check. PyMatching is
single-threaded ``decode_batch``. The load average before and after is recorded: the machine is
shared, so run it under the lock and read it with the load.

Run: flock /tmp/qt_lane_a.lock flock /tmp/qt_lane_b.lock python bench/qec_neural.py [--shots N] [--model PATH ...]
[--only NAME] [--check-previous] [--speed-only]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pymatching
import stim
import torch

from qtandem.io import atomic_write_text
from qtandem.qec.decoder import Decoder
from qtandem.qec.evaluate import evaluate_circuit
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.metrics import postselection_curve, wilson_interval
from qtandem.qec.neural import NeuralDecoder, load_decoder
from qtandem.qec.zoo import list_pretrained, pretrained


def _rate(errors: int, shots: int) -> dict[str, Any]:
    lo, hi = wilson_interval(errors, shots)
    return {"errors": errors, "ler": errors / shots, "wilson95": [lo, hi]}


class PreviousNeural(NeuralDecoder):
    """The decode path before session 33: the training-form ``SyndromeNet.forward`` in batches of 2,048.

    Same weights, threads and matching features as the shipped decoder; only the network's form
    and the batch size differ. Used as the in-run A/B baseline and for the decision-agreement check.
    """

    @property
    def frozen(self) -> Any:  # type: ignore[override]
        """The training-form network itself: ``NeuralDecoder._chunk_logits`` then runs the eager forward."""
        return self.model


def previous(dec: NeuralDecoder) -> PreviousNeural:
    """``dec``'s weights behind the previous decode path (batch 2,048, eager forward)."""
    assert dec.circuit is not None
    return PreviousNeural(dec.circuit, dec.spec, dec.model.state_dict(), info=dec.info, batch_size=2048)


def throughput(decoders: dict[str, Decoder], circuit: stim.Circuit, shots: int, repeats: int,
               seed: int) -> dict[str, dict[str, Any]]:
    """Shots/s of each ``decoder.decode`` on fresh shots, set-up excluded.

    Every repeat samples new shots (a new seed) and times one ``decode`` call of every decoder on
    them, in an order rotated each repeat, so that a change in the machine's load hits all of them.
    """
    for dec in decoders.values():
        dec.prepare()
    names = list(decoders)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        dets = circuit.compile_detector_sampler(seed=seed + 1 + r).sample(shots)
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            decoders[name].decode(dets)
            rates[name].append(shots / (time.perf_counter() - t0))
    return {name: {"median": statistics.median(v), "runs": v, "shots": shots} for name, v in rates.items()}


def speed(dec: NeuralDecoder, seed: int, speed_shots: int, speed_repeats: int) -> dict[str, Any]:
    circuit = dec.circuit
    assert circuit is not None
    speed_seed = seed + 1000
    out: dict[str, Any] = {"threads": {"neural_workers": dec.workers, "neural_batch": dec.batch_for(speed_shots),
                                       "torch_threads_outside_decode": torch.get_num_threads(), "pymatching": 1},
                           "load_before": os.getloadavg()[0]}
    # A/B: the decode path before session 33 (eager training-form network, batches of 2,048, same threads)
    out["shots_per_s"] = throughput({"neural": dec, "neural_previous_path": previous(dec),
                                     "pymatching": MatchingDecoder(circuit),
                                     "pymatching-correlated": MatchingDecoder(circuit, correlated=True)},
                                    circuit, speed_shots, speed_repeats, speed_seed)
    if dec.name in list_pretrained():  # the number `qtandem qec eval -D pretrained:<name>` prints, same shots
        pts = evaluate_circuit(circuit, decoders=[f"pretrained:{dec.name}", "pymatching"], shots=speed_shots,
                               seed=speed_seed, flag_curves=False)
        out["qec_eval_shots_per_s"] = {"neural": pts[0].shots_per_second, "pymatching": pts[1].shots_per_second}
    out["load_after"] = os.getloadavg()[0]
    return out


def accuracy(dec: NeuralDecoder, shots: int, seed: int, check_previous: bool = False) -> dict[str, Any]:
    circuit = dec.circuit
    assert circuit is not None
    dets, obs = circuit.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    obs = obs[:, 0]
    plain = MatchingDecoder(circuit)
    corr = MatchingDecoder(circuit, correlated=True)
    preds = {"neural": dec.decode(dets)[:, 0], "pymatching": plain.decode(dets)[:, 0],
             "pymatching-correlated": corr.decode(dets)[:, 0]}
    if check_previous:  # the faster path must not change decisions: same shots through the previous path
        old_logits = previous(dec).logits(dets)[:, 0]
        new_logits = dec.logits(dets)[:, 0]
        preds["neural_previous_path"] = old_logits > 0
        agreement = {"differing_decisions": int((preds["neural_previous_path"] != preds["neural"]).sum()),
                     "max_abs_logit_diff": float(np.abs(old_logits - new_logits).max())}
    wrong = {k: v != obs for k, v in preds.items()}
    out: dict[str, Any] = {"name": dec.name, "kind": dec.info.get("kind"), "shots": shots, "seed": seed,
                           "num_detectors": dec.num_detectors, "training": dec.info.get("training"),
                           "decoders": {k: _rate(int(w.sum()), shots) for k, w in wrong.items()}}
    if check_previous:
        out["previous_path_agreement"] = agreement
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
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=200_000)
    ap.add_argument("--speed-shots", type=int, default=100_000)
    ap.add_argument("--speed-repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--model", action="append", default=[], help="also evaluate this .safetensors model")
    ap.add_argument("--no-shipped", action="store_true", help="evaluate only the --model files")
    ap.add_argument("--speed-only", action="store_true", help="measure throughput only (no logical error rates)")
    ap.add_argument("--only", action="append", default=[], help="evaluate only these shipped models")
    ap.add_argument("--check-previous", action="store_true",
                    help="also decode the accuracy shots through the previous decode path; count differing decisions")
    ap.add_argument("--json", default="bench/results/qec_neural.json")
    args = ap.parse_args()
    shipped = [] if args.no_shipped else [pretrained(n) for n in list_pretrained() if not args.only or n in args.only]
    models = shipped + [load_decoder(p) for p in args.model]
    results = []
    for dec in models:
        r = {"name": dec.name, "kind": dec.info.get("kind")}
        if not args.speed_only:
            r.update(accuracy(dec, args.shots, args.seed, args.check_previous))
            d = r["decoders"]
            print(f"{r['name']} ({r['kind']}), {r['shots']} shots: neural {d['neural']['ler']:.5f}, "
                  f"PyMatching {d['pymatching']['ler']:.5f}, correlated {d['pymatching-correlated']['ler']:.5f}; "
                  f"ratio {r['vs_pymatching']['ratio']:.3f}x PyMatching (z {r['vs_pymatching']['paired_z']:+.1f}), "
                  f"{r['vs_pymatching-correlated']['ratio']:.3f}x correlated "
                  f"(z {r['vs_pymatching-correlated']['paired_z']:+.1f})", flush=True)
            if "previous_path_agreement" in r:
                print(f"    previous decode path on the same shots: {r['previous_path_agreement']}", flush=True)
            for k, v in r["flagging"].items():
                print(f"    flagging {k}: " + ", ".join(f"{float(f):.0%} flagged -> LER {x:.2e}"
                                                     for f, x in v.items()))
        r.update(speed(dec, args.seed, args.speed_shots, args.speed_repeats))
        results.append(r)
        print(f"{r['name']}: shots/s (median of {args.speed_repeats}, "
              f"{args.speed_shots} shots, neural with {r['threads']['neural_workers']} threads) neural "
              f"{r['shots_per_s']['neural']['median']:.0f}, PyMatching {r['shots_per_s']['pymatching']['median']:.0f}, "
              f"correlated {r['shots_per_s']['pymatching-correlated']['median']:.0f}; neural through the previous "
              f"path {r['shots_per_s']['neural_previous_path']['median']:.0f}; qec eval path "
              f"{r.get('qec_eval_shots_per_s', {}).get('neural', float('nan')):.0f}; load "
              f"{r['load_before']:.1f} -> {r['load_after']:.1f}", flush=True)
    env = {"python": platform.python_version(), "stim": stim.__version__, "pymatching": pymatching.__version__,
           "torch": torch.__version__, "cpus": os.cpu_count(), "machine": platform.machine()}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps({"environment": env, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
