"""QEC decoders side by side: logical error rate and throughput on the same shots.

Rotated surface-code memory Z, rounds = d, uniform circuit-level depolarizing noise p
(``qtandem.qec.surface_code(d, d, p=p)``), for p in {0.001, 0.003, 0.005, 0.01} and d in {3, 5}.
At each point one set of fresh shots is sampled (Stim, seeded) and decoded by

* PyMatching 2 (``MatchingDecoder``), the reference of every ratio;
* correlated PyMatching (``enable_correlations=True``);
* BP-OSD (``ldpc.BpOsdDecoder``, product-sum BP 30 iterations, OSD-CS order 7) on the first
  ``--bposd-shots`` shots only (it is slow); its ratio is against PyMatching on those shots;
* every shipped neural decoder (``qtandem.qec.list_pretrained()``) whose circuit has the
  same structure (first ``--neural-shots`` shots), skipped when none are shipped.

Throughput is shots decoded per second of ``decode`` (one process, single-threaded
decoders; sampling not included). Every decoder is also compared with PyMatching shot by shot
(McNemar: shots only one of the two gets wrong, ``paired_z`` > 0 when it beats PyMatching).
Results go to JSON; the table printed is the README's. Why correlated matching loses at d = 3,
p = 0.001: ``bench/qec_correlated.py``.

Run: python bench/qec.py [--quick] [--json bench/results/qec.json]; ``--distances 3 --merge`` reruns only
the d = 3 points (their seeds are the same as in a full run) and keeps the others in the file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np
import pymatching
import stim

from qtandem.qec.codes import surface_code
from qtandem.qec.data import sample
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.metrics import logical_error_rate
from qtandem.qec.registry import list_pretrained_or_empty, make_decoder


def _shots_for(p: float, args: argparse.Namespace) -> int:
    if args.quick:
        return 2000
    return args.shots_low_p if p <= 0.001 else args.shots


def _measure(dec: Any, dets: np.ndarray, obs: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    t0 = time.perf_counter()
    pred = dec.decode(dets)
    dt = time.perf_counter() - t0
    ler = logical_error_rate(pred, obs)
    return {"shots": ler.shots, "errors": ler.errors, "ler": ler.rate, "low": ler.low, "high": ler.high,
            "seconds": dt, "shots_per_s": ler.shots / dt if dt > 0 else None}, pred


def paired(ref_wrong: np.ndarray, wrong: np.ndarray) -> dict[str, Any]:
    """Paired comparison with PyMatching on the same shots (McNemar's z).

    ``only_pymatching_wrong`` counts shots that only PyMatching gets wrong, ``only_this_wrong`` shots that
    only this decoder gets wrong; ``paired_z = (only_pymatching_wrong - only_this_wrong) / sqrt(sum)`` is
    positive when this decoder is better (|z| > 3: significant at about 0.3%).

    Examples:
        >>> import numpy as np
        >>> paired(np.array([1, 1, 1, 0, 0], bool), np.array([1, 0, 0, 0, 0], bool))["paired_z"]
        1.414
    """
    a = int(np.sum(ref_wrong & ~wrong))
    b = int(np.sum(wrong & ~ref_wrong))
    z = (a - b) / float(np.sqrt(a + b)) if a + b else 0.0
    return {"only_pymatching_wrong": a, "only_this_wrong": b, "paired_z": round(z, 3)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    neural = [] if args.no_neural else list_pretrained_or_empty()
    rng = np.random.default_rng(args.seed)
    for d in args.distances:
        for p in args.ps:
            circuit = surface_code(d, d, p=p)
            shots = _shots_for(p, args)
            seed = int(rng.integers(2**62))
            dets, obs = sample(circuit, shots, seed=seed)
            base = MatchingDecoder(circuit)
            base.decode(dets[:10])  # build the graph outside the timed region
            ref, ref_pred = _measure(base, dets, obs)
            ref_wrong = np.any(ref_pred != obs, axis=1)
            point = {"d": d, "rounds": d, "p": p, "seed": seed, "decoders": {"pymatching": ref}}
            todo: list[tuple[str, int]] = [("pymatching-correlated", shots)]
            if not args.no_bposd:
                todo.append(("bposd", min(shots, 200 if args.quick else args.bposd_shots)))
            todo += [(f"pretrained:{name}", min(shots, 2000 if args.quick else args.neural_shots)) for name in neural]
            for name, n in todo:
                try:
                    dec = make_decoder(name, circuit)
                except Exception as err:  # missing ldpc, or a model for another circuit
                    if "trained for a different circuit" not in str(err):  # a d=3 model at d=5 is not a row
                        point["decoders"][name] = {"skipped": str(err)}
                    continue
                dec.decode(dets[:10])  # warm-up (graph construction, torch init)
                res, pred = _measure(dec, dets[:n], obs[:n])
                ref_sub = float(ref_wrong[:n].mean())
                res["pymatching_ler_same_shots"] = ref_sub
                res["ratio_vs_pymatching"] = res["ler"] / ref_sub if ref_sub > 0 else None
                res.update(paired(ref_wrong[:n], np.any(pred != obs[:n], axis=1)))
                point["decoders"][name] = res
                print(f"  d={d} p={p:g} {name}: {n} shots done", file=sys.stderr, flush=True)
            rows.append(point)
            print(f"d={d} p={p:g}: {shots} shots", file=sys.stderr, flush=True)
    try:
        import ldpc

        ldpc_version = getattr(ldpc, "__version__", "installed")
    except ImportError:
        ldpc_version = None
    return {"benchmark": "qec", "command": "python " + " ".join(sys.argv), "quick": args.quick,
            "stim": stim.__version__, "pymatching": pymatching.__version__, "ldpc": ldpc_version,
            "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "neural_models": neural, "points": rows}


def table(result: dict[str, Any]) -> str:
    lines = ["| d | p | decoder | shots | LER [95% Wilson] | ratio vs PyMatching (paired z) | shots/s |",
             "|---|---|---|---|---|---|---|"]
    for pt in result["points"]:
        for name, r in pt["decoders"].items():
            if "skipped" in r:
                lines.append(f"| {pt['d']} | {pt['p']:g} | {name} | - | skipped: {r['skipped'][:60]} | - | - |")
                continue
            ratio = r.get("ratio_vs_pymatching", 1.0 if name == "pymatching" else None)
            rtxt = "1" if name == "pymatching" else ("-" if ratio is None else f"{ratio:.3f}")
            if "paired_z" in r:
                rtxt += f" ({r['paired_z']:+.1f})"
            lines.append(f"| {pt['d']} | {pt['p']:g} | {name} | {r['shots']:,} | {r['ler']:.5f} "
                         f"[{r['low']:.5f}, {r['high']:.5f}] | {rtxt} | {r['shots_per_s']:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--distances", type=lambda s: [int(x) for x in s.split(",")], default=[3, 5])
    ap.add_argument("--ps", type=lambda s: [float(x) for x in s.split(",")], default=[0.001, 0.003, 0.005, 0.01])
    ap.add_argument("--shots", type=int, default=100_000, help="shots per point (p > 0.001)")
    ap.add_argument("--shots-low-p", type=int, default=1_000_000, help="shots per point at p <= 0.001")
    ap.add_argument("--bposd-shots", type=int, default=10_000, help="BP-OSD decodes only the first N shots")
    ap.add_argument("--neural-shots", type=int, default=100_000, help="neural decoders: the first N shots")
    ap.add_argument("--no-bposd", action="store_true")
    ap.add_argument("--no-neural", action="store_true")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--quick", action="store_true", help="2000 shots per point (smoke test)")
    ap.add_argument("--json", default=None, help="write results here")
    ap.add_argument("--merge", action="store_true",
                    help="replace only the (d, p) points run now in an existing --json file, keep the others")
    args = ap.parse_args()
    result = run(args)
    for pt in result["points"]:
        pt["command"] = result["command"]
    if args.merge and args.json and os.path.exists(args.json):
        with open(args.json) as fh:
            old = json.load(fh)
        new = {(pt["d"], pt["p"]): pt for pt in result["points"]}
        kept = [pt for pt in old["points"] if (pt["d"], pt["p"]) not in new]
        result["points"] = sorted(kept + list(new.values()), key=lambda pt: (pt["d"], pt["p"]))
        result["merged_into"] = old.get("command")
    print(table(result))
    if args.json:
        from qtandem.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
