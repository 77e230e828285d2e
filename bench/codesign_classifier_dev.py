"""DEV exploration of the loop's classifier workload: does any classifier configuration lose accuracy to the drift?

For each DEV seed (hidden devices ``hidden_device(10, seed, coupling="heavy_hex")``, seeds 10-14, never
used for the reported TEST numbers) and each configuration (``ClassifierWorkload`` options as JSON),
the workload runs on the same hardware under the stale, learned (``codesign_loop.loop_learn``) and
oracle beliefs. ``oracle - stale`` is the most any re-learning can buy. Prints one line per seed and
configuration (the committed ``bench/results/codesign_classifier_dev.json`` was assembled from them).

Usage: ``flock /tmp/qt_lane_b.lock env OMP_NUM_THREADS=1 .venv/bin/python bench/codesign_classifier_dev.py
10,11,12,13,14 '[{"layers": 6}, {"dataset": "circles"}]' [SHOTS]``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from codesign_loop import loop_learn
    from qtandem.codesign.classifier_workload import ClassifierWorkload
    from qtandem.codesign.drift import hidden_device

    seeds = [int(s) for s in sys.argv[1].split(",")]
    cfgs = json.loads(sys.argv[2])
    shots = int(sys.argv[3]) if len(sys.argv) > 3 else 16000
    for seed in seeds:
        hidden = hidden_device(10, seed=seed, coupling="heavy_hex")
        learned, _ = loop_learn(hidden.published, hidden.executor(0, seed=1000 + seed), shots=200, seed=seed)
        beliefs = {"stale": hidden.published, "learned": learned, "oracle": hidden.actual(0)}
        for cfg in cfgs:
            work = ClassifierWorkload(**cfg)
            out = {}
            for belief, device in beliefs.items():
                t0 = time.perf_counter()
                res = work.run(device, hidden.executor(0, seed=100 + seed), shots=shots, seed=seed)
                out[belief] = (round(res.value, 4), res.details["chain"], round(res.details["believed_accuracy"], 3),
                               round(time.perf_counter() - t0, 1))
            print(seed, cfg, out, flush=True)


if __name__ == "__main__":
    main()
