"""Run/resume one shipped model's training in the background: python training/qec/run.py NAME [--resume]."""
import sys
from pathlib import Path

from qtandem.qec.train import train_file

name = sys.argv[1]
cfg = Path(__file__).resolve().parents[2] / "src/qtandem/qec/models" / f"{name}.toml"
res = train_file(cfg, resume="--resume" in sys.argv, progress=False,
                 callback=lambda r: print(r, flush=True))
print("done", res.step, res.shots, res.wall_s, res.finished, flush=True)
