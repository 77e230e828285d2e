"""Issue 16, W-20 diagnosis (session 33): one measured record, several NeuralStateModel fits, per-fit diagnostics.

The record is the 20-qubit design of ``bench/neural_state.py`` (``--bases`` local bases x ``--spb``
shots, ``rotated = 0.25``, plus ``--gb`` global bases x ``--gspb`` shots, the same seeds). A fixed
10% of the shots (permutation seed 99) is held out; every configuration in ``--configs`` (JSON
list of dicts: NeuralStateModel / fit keywords over the defaults MADE 256 units, d_model 4,
1 layer, ``phase="none"``, 400 steps, batch 256, lr 0.03, max_rotated 12, dense_every 20; plus
``use_global``: false drops the global-basis shots and the full-state steps) is fitted on the
rest and reported with its exact fidelity, the fidelity its populations allow, its held-out
Born NLL and, for W, the model's probability on the one-hot strings (1/20 each in W).

Run (DEV seed 0, the rows of ``bench/results/learn_tomo20_dev_w20_seed0.json``; the two commands
ran from a copy of this file in /tmp, unchanged but for the path line):
``flock /tmp/qt_lane_a.lock env OMP_NUM_THREADS=1 .venv/bin/python bench/learn_tomo20_diag.py
--configs '[{"phase":"none"},{"phase":"none","use_global":false}]' --out A.json`` and
``--configs '[{"phase":"zero"}]' --out B.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from neural_state import global_bases, make_state
from qtandem.learn import ShotRecord, measure_randomized
from qtandem.learn.neural_state import NeuralStateModel, local_pauli_bases

MODEL_KEYS = ("kind", "d_model", "layers", "hidden", "phase")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", default="w20")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bases", type=int, default=2000)
    ap.add_argument("--spb", type=int, default=400)
    ap.add_argument("--gb", type=int, default=50)
    ap.add_argument("--gspb", type=int, default=2000)
    ap.add_argument("--configs", required=True, help="JSON list of dicts (see the module docstring)")
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()
    torch.set_num_threads(1)
    psi = make_state(a.state)
    n = int(np.log2(len(psi)))
    t0 = time.perf_counter()
    rec = measure_randomized(psi, a.bases * a.spb, bases=local_pauli_bases(a.bases, n, rotated=0.25, seed=a.seed),
                             shots_per_basis=a.spb, seed=a.seed + 1)
    full = rec
    if a.gb:
        full = ShotRecord.merge(rec, measure_randomized(psi, a.gb * a.gspb, bases=global_bases(a.gb, n, a.seed),
                                                        shots_per_basis=a.gspb, seed=a.seed + 3))
    print("data", time.perf_counter() - t0, flush=True)
    order = np.random.default_rng(99).permutation(len(full))
    cut = len(full) // 10
    val, train = full[np.sort(order[:cut])], full[np.sort(order[cut:])]
    onehot = np.array([1 << q for q in range(n)])
    rows = []
    for raw in json.loads(a.configs):
        cfg = dict(raw)
        use_global = cfg.pop("use_global", True)
        tr = train if use_global else train[np.flatnonzero((train.bases != 2).sum(1) <= 12)]
        kw = {"kind": "made", "d_model": 4, "layers": 1, "hidden": 256, "seed": a.seed, "phase": "none"}
        fitkw = {"steps": 400, "batch_size": 256, "lr": 0.03, "seed": a.seed, "max_rotated": 12,
                 "dense_every": 20 if use_global else 0, "dense_batch": 64}
        kw.update({k: cfg.pop(k) for k in list(cfg) if k in MODEL_KEYS})
        fitkw.update(cfg)
        model = NeuralStateModel(n, **kw)
        t = time.perf_counter()
        model.fit(tr, **fitkw)
        secs = time.perf_counter() - t
        sv = model.statevector().numpy()
        q = np.abs(sv) ** 2
        row = {"cfg": {**kw, **fitkw, "use_global": use_global}, "seconds": secs,
               "fidelity": float(abs(np.vdot(psi, sv)) ** 2),
               "pop_fid": float(np.sqrt(q * np.abs(psi) ** 2).sum() ** 2),
               "val_nll": model.validation_nll(val, max_rotated=12),
               "final_loss": float(np.mean([loss for _, loss in model.history_[-50:]]))}
        if a.state.startswith("w"):
            row.update(onehot_mass=float(q[onehot].sum()), onehot_min=float(q[onehot].min()),
                       onehot_max=float(q[onehot].max()), zero_mass=float(q[0]))
        rows.append(row)
        print(json.dumps(row), flush=True)
        a.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
