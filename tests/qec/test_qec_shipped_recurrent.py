"""The shipped d = 3 SI1000 recurrent+matching models (qec/models/recurrent/) load, fit their configs, and
meet issue 22's d = 3 targets on fresh soft-readout shots (seeds unrelated to training, which draws from
``derive_seed(11, 1, step)`` / ``derive_seed(12, ...)`` streams).

Paired comparisons on the same shots: ``a`` = shots only the model gets right, ``b`` = shots only the
reference gets right; under "equally good" ``a - b`` has standard deviation ``sqrt(a + b)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem.qec.data import sample
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.recurrent import load_recurrent
from qtandem.qec.recurrent_train import load_recurrent_config
from qtandem.qec.zoo import MODELS_DIR

ROOT = MODELS_DIR / "recurrent"
SOFT, HARD = "recurrent-d3-si1000-p0.002", "recurrent-d3-si1000-p0.002-hard"


def _load(name: str):  # type: ignore[no-untyped-def]
    return load_recurrent(ROOT / f"{name}.safetensors"), load_recurrent_config(ROOT / f"{name}.toml")


def test_shipped_recurrent_fit_their_configs() -> None:
    for name, soft in ((SOFT, True), (HARD, False)):
        dec, cfg = _load(name)
        assert dec.circuit is not None and dec.circuit.approx_equals(cfg.decoder_circuit(), atol=1e-6)
        assert dec.spec == cfg.model.spec() and dec.spec.soft_inputs is soft and dec.spec.matching_features == 2
        shots = sample(cfg.sampling_circuit(), 64, seed=5, readout=cfg.readout.model())
        pred, prob = dec.decode_shots(shots)
        assert pred.shape == (64, 1) and bool(((prob > 0.5) == pred).all())


def _errors(shots_n: int, seed: int) -> dict[str, np.ndarray]:
    soft, cfg = _load(SOFT)
    hard, _ = _load(HARD)
    shots = sample(cfg.sampling_circuit(), shots_n, seed=seed, readout=cfg.readout.model())
    plain = MatchingDecoder(cfg.decoder_circuit())
    corr = MatchingDecoder(plain.dem, correlated=True)
    obs = shots.obs[:, 0]
    return {"soft": soft.decode_shots(shots)[0][:, 0] != obs, "hard": hard.decode_shots(shots)[0][:, 0] != obs,
            "corr": corr.decode(shots.dets)[:, 0] != obs}


def _paired(x: np.ndarray, ref: np.ndarray) -> tuple[int, int]:
    return int((~x & ref).sum()), int((x & ~ref).sum())


def test_shipped_recurrent_beats_correlated_fast() -> None:
    e = _errors(20_000, seed=777_001)
    a, b = _paired(e["soft"], e["corr"])
    assert a - b > 0, (int(e["soft"].sum()), int(e["corr"].sum()), a, b)


@pytest.mark.slow
def test_shipped_recurrent_targets_slow() -> None:
    e = _errors(200_000, seed=9_100_001)
    soft, hard, corr = (int(e[k].sum()) for k in ("soft", "hard", "corr"))
    a, b = _paired(e["soft"], e["corr"])
    assert a - b > 3 * math.sqrt(a + b), (soft, corr, a, b)  # below correlated matching, significantly
    a, b = _paired(e["soft"], e["hard"])
    assert soft <= 0.85 * hard and a - b > 3 * math.sqrt(a + b), (soft, hard, a, b)  # >= 15% below hard outcomes
