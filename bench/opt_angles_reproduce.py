"""Do the shipped AngleGNN weights reproduce from their shipped configs through the CLI?

    flock /tmp/qt_lane_a.lock env OMP_NUM_THREADS=1 python bench/opt_angles_reproduce.py

Runs ``qtandem opt train-angles CONFIG -o TMP`` for each shipped model (the MaxCut model from
``examples/opt/train_angles.toml``, the portfolio model from ``examples/opt/train_angles_portfolio.toml``, the
routing model from ``examples/opt/train_angles_routing.toml``) and
compares the retrained ``model.safetensors`` with the shipped file tensor by tensor (max absolute difference),
plus the two runs' dev losses. Writes ``bench/results/opt_angles_reproduce.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "maxcut": ("examples/opt/train_angles.toml", "src/qtandem/opt/data/angle_gnn"),
    "portfolio": ("examples/opt/train_angles_portfolio.toml", "src/qtandem/opt/data/angle_gnn_portfolio"),
    "routing": ("examples/opt/train_angles_routing.toml", "src/qtandem/opt/data/angle_gnn_routing"),
}


def main() -> int:
    import numpy as np

    from qtandem.io import read_safetensors

    rows = []
    for name, (config, shipped) in MODELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            env = dict(os.environ, OMP_NUM_THREADS="1")
            subprocess.run([sys.executable, "-m", "qtandem", "opt", "train-angles", config, "-o", tmp], cwd=ROOT,
                           check=True, env=env, stdout=subprocess.DEVNULL)
            secs = time.perf_counter() - t0
            new, meta_new = read_safetensors(Path(tmp) / "model.safetensors")
        old, meta_old = read_safetensors(ROOT / f"{shipped}.safetensors")
        diffs = {k: float(np.max(np.abs(new[k].double().numpy() - old[k].double().numpy())))
                 for k in old}
        row = {"model": name, "config": config, "shipped": f"{shipped}.safetensors", "train_s": secs,
               "same_tensor_names": sorted(new) == sorted(old), "max_abs_weight_diff": max(diffs.values()),
               "worst_tensor": max(diffs, key=lambda k: diffs[k]), "tensors": len(old),
               "dev_loss_shipped": meta_old.get("dev_loss"), "dev_loss_retrained": meta_new.get("dev_loss"),
               "step_shipped": meta_old.get("step"), "step_retrained": meta_new.get("step")}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = ROOT / "bench/results/opt_angles_reproduce.json"
    out.write_text(json.dumps({"producer": "bench/opt_angles_reproduce.py", "torch_threads": 1, "rows": rows},
                              indent=1) + "\n")
    print("wrote", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
