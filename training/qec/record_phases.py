"""Write the schedule that the recorded runs followed into their checkpoints and shipped models.

The shipped models were trained by resumes that changed the schedule; their configurations in
``src/qtandem/qec/models/<name>.toml`` now list those phases (``[[optim.phases]]``, reconstructed from
the learning rate and shots logged in ``training/qec/<name>/metrics.jsonl``; a test checks every
logged step against them). This script copies that configuration into the ``config`` metadata of
``training/qec/<name>/checkpoint.safetensors`` (what ``--resume`` compares with), into
``training/qec/<name>/config.toml`` and into the ``info`` of the shipped ``<name>.safetensors``.
Nothing is retrained: every tensor is read back and checked to be bit-identical, and so is every
other metadata entry.

Run: python training/qec/record_phases.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from qtandem.io import read_safetensors, write_safetensors
from qtandem.qec.train_config import config_to_toml, load_config
from qtandem.qec.zoo import MODELS_DIR

HERE = Path(__file__).resolve().parent


def _rewrite(path: Path, key: str, update) -> None:
    tensors, meta = read_safetensors(path)
    new_meta = dict(meta)
    new_meta[key] = update(meta[key])
    if new_meta == meta:
        print(f"{path}: already up to date")
        return
    write_safetensors(path, tensors, new_meta)
    again, meta2 = read_safetensors(path)
    assert sorted(again) == sorted(tensors)
    for k, v in tensors.items():
        assert again[k].dtype == v.dtype and torch.equal(again[k], v), k
    assert {k: v for k, v in meta2.items() if k != key} == {k: v for k, v in meta.items() if k != key}
    print(f"{path}: {key} rewritten; {len(tensors)} tensors bit-identical")


def main() -> None:
    for folder in sorted(p for p in HERE.iterdir() if (p / "checkpoint.safetensors").exists()):
        cfg = load_config(MODELS_DIR / f"{folder.name}.toml")
        plain = cfg.to_dict()
        _rewrite(folder / "checkpoint.safetensors", "config", lambda _old, plain=plain: json.dumps(plain))
        (folder / "config.toml").write_text(config_to_toml(cfg))
        model = MODELS_DIR / f"{folder.name}.safetensors"
        if model.exists():
            def info(old: str, plain=plain) -> str:
                d = json.loads(old)
                d["config"] = plain
                return json.dumps(d)

            _rewrite(model, "info", info)


if __name__ == "__main__":
    main()
