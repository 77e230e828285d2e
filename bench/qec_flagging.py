"""Flagging shots for review with soft readout (issue 22 s.3): which confidence to rank by.

Target: at 5% of shots flagged, the kept shots' LER at least 2x lower than with matching's
complementary gap (plain PyMatching on the hard outcomes, ranked by its gap). Setting: the
d = 3 SI1000 p = 0.002 soft-readout shots of ``bench/qec_recurrent.py`` (readout ``READOUT``),
decoded by the recurrent+matching model ``hybrid`` (soft inputs + soft-aware matching's decision)
and its hard-input twin ``hybrid_hard`` (hard inputs + correlated matching's decision).

Candidates (a ranking of shots by doubt; the decisions scored are always ``hybrid``'s):

* ``hybrid_margin``: ``|logit|`` of ``hybrid`` (last session's 1.67x);
* ``ensemble_margin``: ``|logit_hybrid + logit_hybrid_hard|`` (the two-model ensemble's margin);
* ``disagree_then_margin``: shots where ``hybrid`` disagrees with ``hybrid_hard`` first, then by
  ``|logit|`` of ``hybrid``;
* ``mlp_combiner``: the same inputs through a 2-layer MLP (32 tanh units), fitted on part A;
* ``combiner``: a logistic regression predicting ``hybrid``'s error from ``|logit|`` of both
  models (and their logs and minimum), the plain gap ``|LLR|``, agreement bits of ``hybrid`` with
  ``hybrid_hard``, soft matching, correlated and plain matching, and the shot's readout doubt
  (measurements with misread probability > 0.1, the sum of those probabilities, heralded leaks,
  detection events), fitted on DEV part A.

``dev --shots N --seed S``: fits the combiner on the first half of the DEV shots and scores every
candidate on the second half; the candidate with the lowest kept LER at 5% is chosen
(``bench/results/qec_flagging_dev.json``). ``test --shots N --seed S``: fresh TEST shots, every
candidate reported, the DEV choice marked (``bench/results/qec_flagging_test.json``); the
combiner's weights come from the DEV file, nothing is refitted.

Models: ``src/qtandem/qec/models/recurrent/`` (the session-33 ``hybrid`` / ``hybrid_hard`` runs,
configs beside them). Count-based: one CPU lane.

Run: flock /tmp/qt_lane_a.lock env OMP_NUM_THREADS=1 python bench/qec_flagging.py dev --shots 200000 --seed 20261341
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.io import atomic_write_text
from qtandem.qec.data import sample
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.metrics import postselection_curve, wilson_interval
from qtandem.qec.recurrent import load_recurrent
from qtandem.qec.recurrent_train import load_recurrent_config
from qtandem.qec.soft_matching import SoftMatchingDecoder

RESULTS = Path(__file__).parent / "results"
MODELS = Path(__file__).resolve().parents[1] / "src/qtandem/qec/models/recurrent"
SOFT = "recurrent-d3-si1000-p0.002"
HARD = "recurrent-d3-si1000-p0.002-hard"
FRACTIONS = (0.01, 0.05, 0.1)


def features(shots_n: int, seed: int) -> dict[str, np.ndarray]:
    """Every per-shot quantity the candidates use, on fresh soft-readout shots."""
    soft = load_recurrent(MODELS / f"{SOFT}.safetensors")
    hard = load_recurrent(MODELS / f"{HARD}.safetensors")
    cfg = load_recurrent_config(MODELS / f"{SOFT}.toml")
    bare, circuit, readout = cfg.sampling_circuit(), cfg.decoder_circuit(), cfg.readout.model()
    shots = sample(bare, shots_n, seed=seed, readout=readout)
    plain = MatchingDecoder(circuit)
    corr = MatchingDecoder(plain.dem, correlated=True)
    ps, qs = soft.decode_shots(shots)
    ph, qh = hard.decode_shots(shots)
    eps = 1e-12
    return {
        "obs": shots.obs[:, 0],
        "pred": ps[:, 0], "logit": np.log(qs[:, 0] + eps) - np.log1p(-qs[:, 0] + eps),
        "pred_hard": ph[:, 0], "logit_hard": np.log(qh[:, 0] + eps) - np.log1p(-qh[:, 0] + eps),
        "plain": plain.decode(shots.dets)[:, 0], "plain_llr": plain.log_likelihood_ratio(shots.dets)[:, 0],
        "corr": corr.decode(shots.dets)[:, 0],
        "soft_matching": SoftMatchingDecoder(bare, readout).decode_shots(shots)[:, 0],
        "n_uncertain": (shots.flip_probability > 0.1).sum(axis=1), "sum_q": shots.flip_probability.sum(axis=1),
        "n_leaked": shots.leaked.sum(axis=1), "n_events": shots.dets.sum(axis=1),
    }


def combiner_inputs(f: dict[str, np.ndarray]) -> np.ndarray:
    """The combiner's inputs: margins (and their logs), agreement bits, readout doubt, float64 ``(shots, 14)``."""
    a, b = np.abs(f["logit"]), np.abs(f["logit_hard"])
    return np.stack([a, b, np.minimum(np.abs(f["plain_llr"]), 30.0), np.log1p(a), np.log1p(b),
                     np.minimum(a, b),
                     f["pred"] == f["pred_hard"], f["pred"] == f["soft_matching"], f["pred"] == f["corr"],
                     f["pred"] == f["plain"], f["n_uncertain"], f["sum_q"], f["n_leaked"], f["n_events"]],
                    axis=1).astype(np.float64)


def fit_combiner(x: np.ndarray, wrong: np.ndarray, *, iters: int = 300) -> dict[str, list[float]]:
    """Logistic regression (standardised inputs, Newton steps, L2 1e-3) for P(wrong)."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    y = wrong.astype(np.float64)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-z @ w))
        g = z.T @ (p - y) + 1e-3 * w
        h = (z * (p * (1 - p))[:, None]).T @ z + 1e-3 * np.eye(len(w))
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {"mean": mu.tolist(), "std": sd.tolist(), "weights": w.tolist()}


def fit_mlp(x: np.ndarray, wrong: np.ndarray, *, steps: int = 400, seed: int = 0) -> dict[str, Any]:
    """A 2-layer MLP (32 tanh units) for P(wrong): full-batch Adam on standardised inputs."""
    import torch

    torch.manual_seed(seed)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    xt = torch.tensor((x - mu) / sd, dtype=torch.float32)
    yt = torch.tensor(wrong, dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt)[:, 0], yt)
        loss.backward()
        opt.step()
    return {"mean": mu.tolist(), "std": sd.tolist(),
            "layers": [[p.detach().numpy().tolist() for p in layer.parameters()] for layer in (net[0], net[2])]}


def _mlp_logit(x: np.ndarray, mlp: dict[str, Any]) -> np.ndarray:
    z = (x - np.array(mlp["mean"])) / np.array(mlp["std"])
    (w1, b1), (w2, b2) = mlp["layers"]
    return (np.tanh(z @ np.array(w1).T + np.array(b1)) @ np.array(w2).T + np.array(b2))[:, 0]


def doubt_scores(f: dict[str, np.ndarray], comb: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per candidate: a score in [0, 1] for ``postselection_curve`` (0.5 = most doubtful first)."""
    def as_p(d: np.ndarray) -> np.ndarray:  # larger doubt -> closer to 0.5
        return 0.5 + 0.5 * (1 - d / (d.max() + 1e-9))

    margin = np.abs(f["logit"])
    z = (combiner_inputs(f) - np.array(comb["mean"])) / np.array(comb["std"])
    pw = 1 / (1 + np.exp(-(z @ np.array(comb["weights"][:-1]) + comb["weights"][-1])))
    return {
        "hybrid_margin": as_p(1 / (1 + margin)),
        "ensemble_margin": as_p(1 / (1 + np.abs(f["logit"] + f["logit_hard"]))),
        "disagree_then_margin": as_p((f["pred"] != f["pred_hard"]) + 0.5 / (1 + margin)),
        "combiner": as_p(pw),
        **({"mlp_combiner": as_p(1 / (1 + np.exp(-_mlp_logit(combiner_inputs(f), comb["mlp"]))))}
           if "mlp" in comb else {}),
    }


def curves(f: dict[str, np.ndarray], comb: dict[str, Any]) -> dict[str, Any]:
    obs = f["obs"][:, None]
    out: dict[str, Any] = {}
    llr = f["plain_llr"]
    pm_soft = 1 / (1 + np.exp(-np.clip(llr, -30, 30)))
    base = postselection_curve(pm_soft[:, None], obs, f["plain"][:, None])
    out["pymatching (complementary gap)"] = {f"{x:g}": base.at(x) for x in (0.0, *FRACTIONS)}
    for name, score in doubt_scores(f, comb).items():
        c = postselection_curve(score[:, None], obs, f["pred"][:, None])
        out[name] = {f"{x:g}": c.at(x) for x in (0.0, *FRACTIONS)}
        out[name]["ratio_at_5%"] = out["pymatching (complementary gap)"]["0.05"] / max(c.at(0.05), 1e-12)
    return out


def _rates(f: dict[str, np.ndarray]) -> dict[str, Any]:
    n = len(f["obs"])
    res = {}
    for k in ("pred", "pred_hard", "plain", "corr", "soft_matching"):
        e = int((f[k] != f["obs"]).sum())
        res[k] = {"errors": e, "ler": e / n, "wilson95": list(wilson_interval(e, n))}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["dev", "test"])
    ap.add_argument("--shots", type=int, default=200_000)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    t0 = time.perf_counter()
    f = features(a.shots, a.seed)
    n = len(f["obs"])
    if a.mode == "dev":
        half = n // 2
        part_a = {k: v[:half] for k, v in f.items()}
        part_b = {k: v[half:] for k, v in f.items()}
        comb: dict[str, Any] = fit_combiner(combiner_inputs(part_a), part_a["pred"] != part_a["obs"])
        comb["mlp"] = fit_mlp(combiner_inputs(part_a), part_a["pred"] != part_a["obs"])
        cur = curves(part_b, comb)
        cands = [k for k in cur if not k.startswith("pymatching")]
        chosen = min(cands, key=lambda k: cur[k]["0.05"])
        doc: dict[str, Any] = {"what": "flagging candidates, DEV (combiner fitted on part A, scored on part B)",
                               "seed": a.seed, "shots": n, "part_b_shots": n - half, "combiner": comb,
                               "curves_part_b": cur, "chosen": chosen, "rates": _rates(f)}
    else:
        dev = json.loads((RESULTS / "qec_flagging_dev.json").read_text())
        cur = curves(f, dev["combiner"])
        doc = {"what": "flagging candidates, TEST (choice and combiner from DEV)", "seed": a.seed, "shots": n,
               "chosen_on_dev": dev["chosen"], "curves": cur, "rates": _rates(f)}
    doc["wall_s"] = round(time.perf_counter() - t0, 1)
    out = a.out or RESULTS / f"qec_flagging_{a.mode}.json"
    atomic_write_text(out, json.dumps(doc, indent=1) + "\n")
    for k, v in cur.items():
        print(f"{k:32s} " + " ".join(f"{x}:{v[x]:.5f}" for x in ("0", "0.01", "0.05", "0.1"))
              + (f"  x{v['ratio_at_5%']:.2f} at 5%" if "ratio_at_5%" in v else ""))
    print(json.dumps({k: v for k, v in doc.items() if k in ("chosen", "chosen_on_dev", "wall_s")}))


if __name__ == "__main__":
    main()
