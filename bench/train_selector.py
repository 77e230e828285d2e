"""Train and evaluate the pipeline selector (qtandem.compile.select) from models/selector.toml.

Data: seeded generated circuits (``generator = "qtandem"``: every family of ``qtandem.compile.generate``,
plus ``local_families`` of this script, e.g. Toffoli arithmetic) in the ibm or nam basis, plus the
Nam suite's dev half.
Never MQT Bench. Every pipeline runs on every circuit with the same round cap (``repeat``): the
labels. The generated circuits are split (by index, seeded) into training and held-out sets; the
held-out set compares, at equal pass budgets (one pipeline run, or two):

* learned: the selector's top-1 pipeline (and min of its top 2),
* oracle: the best pipeline per circuit,
* fixed: the pipeline (and pair) with the best geometric mean on the training set,
* random: the expected cost of a uniformly random pipeline (pair).

Writes src/qtandem/compile/models/selector.safetensors (unless --no-save) and
bench/results/compile_selector.json. Run under the CPU lock:
``flock /tmp/qtandem-cpu.lock .venv/bin/python bench/train_selector.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIG = ROOT / "src" / "qtandem" / "compile" / "models" / "selector.toml"
FAMILIES = ("qaoa", "trotter", "ansatz", "arith", "qft", "random")


def local_circuit(family: str, n: int, rng: np.random.Generator) -> Any:
    """One seeded circuit of a family (before basis translation)."""
    from qtandem import Circuit

    c = Circuit(n)
    ang = lambda: float(rng.uniform(-math.pi, math.pi))  # noqa: E731
    if family == "qaoa":
        edges = [(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.5] or [(0, 1)]
        for q in range(n):
            c.h(q)
        for _ in range(int(rng.integers(1, 4))):
            g, b = ang(), ang()
            for a, bq in edges:
                c.rzz(g, a, bq)
            for q in range(n):
                c.rx(b, q)
    elif family == "trotter":
        for _ in range(int(rng.integers(1, 5))):
            for q in range(n - 1):
                c.rxx(ang(), q, q + 1).ryy(ang(), q, q + 1).rzz(ang(), q, q + 1)
            for q in range(n):
                c.rz(ang(), q)
    elif family == "ansatz":
        for _ in range(int(rng.integers(1, 5))):
            for q in range(n):
                c.ry(ang(), q).rz(ang(), q)
            pairs = [(q, q + 1) for q in range(n - 1)] if rng.random() < 0.5 else \
                [(a, b) for a in range(n) for b in range(a + 1, n)]
            for a, b in pairs:
                c.cx(a, b)
        for q in range(n):
            c.ry(ang(), q)
    elif family == "arith":
        for _ in range(int(rng.integers(n, 4 * n))):
            r = rng.random()
            qs = [int(q) for q in rng.choice(n, size=3, replace=False)]
            if r < 0.4:
                c.ccx(*qs)
            elif r < 0.85:
                c.cx(qs[0], qs[1])
            else:
                c.x(qs[0])
    elif family == "qft":
        for q in reversed(range(n)):
            c.h(q)
            for k in range(q):
                c.cp(math.pi / 2 ** (q - k), k, q)
        if rng.random() < 0.5:
            for q in range(n // 2):
                c.swap(q, n - 1 - q)
    else:  # random
        for _ in range(int(rng.integers(4 * n, 12 * n))):
            if rng.random() < 0.4:
                a, b = (int(q) for q in rng.choice(n, size=2, replace=False))
                c.cx(a, b)
            else:
                c.u(ang(), ang(), ang(), int(rng.integers(n)))
    return c


def generated(cfg: dict[str, Any], seed: int) -> list[tuple[str, str, Any, str]]:
    """``(name, family, circuit, style)`` for every generated circuit, in the configured basis mix."""
    from qtandem.compile import optimize
    from qtandem.compile.generate import FAMILIES as GEN_FAMILIES
    from qtandem.compile.generate import generate

    data = cfg["data"]
    rng = np.random.default_rng(seed)
    families = ([f"qtandem:{f}" for f in GEN_FAMILIES] if data["generator"] == "qtandem" else []) + [
        f"local:{f}" for f in data["local_families"]]
    out = []
    for i in range(data["circuits"]):
        source, family = families[i % len(families)].split(":")
        n = int(rng.integers(data["min_qubits"], data["max_qubits"] + 1))
        basis = "ibm" if rng.random() < 0.5 else "nam"
        sub = int(rng.integers(2**31))
        if source == "qtandem":
            n = max(n, 4 if family == "uccsd" else 3)
            c = generate(family, n, seed=sub, basis=basis)
        else:
            c, _ = optimize(local_circuit(family, n, np.random.default_rng(sub)), level=0, basis=basis)
        out.append((f"{family}_{n}_{i}", family, c, "zsx" if basis == "ibm" else "nam"))
    return out


def nam_dev(cfg: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    from qtandem.qasm import load

    folder = ROOT.parent / "shared" / "data" / "nam"
    if not cfg["data"]["nam_dev"] or not folder.is_dir():
        return []
    names = json.loads((HERE / "data" / "nam_split.json").read_text())["dev"]
    out = []
    for name in names:
        c = load(folder / f"{name}.qasm")
        if c.num_gates() <= cfg["data"]["max_nam_gates"]:
            out.append((name, "nam", c, "nam"))
    return out


def geomean(xs: Any) -> float:
    xs = np.asarray(xs, dtype=float)
    return float(np.exp(np.mean(np.log(np.maximum(xs, 1e-9)))))


def evaluate(labels: np.ndarray, ranks: list[list[int]], train: np.ndarray, pipelines: tuple[str, ...],
             metric: int) -> dict[str, Any]:
    """Costs on held-out circuits (``labels[i] = [[in], [p0], ...]``), as ratios to the input and the oracle."""
    cost = labels[:, 1:, metric].astype(float) + 1
    inp = labels[:, 0, metric].astype(float) + 1
    oracle = cost.min(1)
    tr = train[:, 1:, metric].astype(float) + 1
    fixed = int(np.argmin([geomean(tr[:, p] / (train[:, 0, metric] + 1)) for p in range(len(pipelines))]))
    pairs = list(itertools.combinations(range(len(pipelines)), 2))
    fixed_pair = min(pairs, key=lambda pq: geomean(np.minimum(tr[:, pq[0]], tr[:, pq[1]])))
    rows = np.arange(len(cost))
    top1 = cost[rows, [r[0] for r in ranks]]
    top2 = np.minimum(top1, cost[rows, [r[1] for r in ranks]])
    rand1 = np.exp(np.log(cost).mean(1))  # geometric expectation over a uniform choice
    rand2 = np.exp(np.mean([np.log(np.minimum(cost[:, a], cost[:, b])) for a, b in pairs], axis=0))
    res: dict[str, Any] = {"fixed": pipelines[fixed], "fixed_pair": [pipelines[i] for i in fixed_pair]}
    for key, val in (("oracle", oracle), ("learned_top1", top1), ("learned_top2", top2),
                     ("fixed", cost[:, fixed]), ("fixed_pair", np.minimum(cost[:, fixed_pair[0]],
                                                                          cost[:, fixed_pair[1]])),
                     ("random1", rand1), ("random2", rand2)):
        res[f"{key}_vs_input"] = round(geomean(val / inp), 4)
        res[f"{key}_vs_oracle"] = round(geomean(val / oracle), 4)
    res["per_pipeline_vs_oracle"] = {p: round(geomean(cost[:, i] / oracle), 4) for i, p in enumerate(pipelines)}
    res["top1_is_oracle"] = round(float(np.mean(top1 <= oracle)), 4)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--circuits", type=int, help="override data.circuits (smoke runs)")
    ap.add_argument("--no-save", action="store_true", help="do not overwrite the shipped weights")
    ap.add_argument("--output", "-o", type=Path, default=HERE / "results" / "compile_selector.json")
    args = ap.parse_args(argv)

    import torch

    from qtandem.compile.select import PIPELINES, circuit_features, fit_selector, label_circuit

    torch.set_num_threads(1)
    cfg = tomllib.loads(args.config.read_text())
    if args.circuits:
        cfg["data"]["circuits"] = args.circuits
    seed = int(cfg.get("seed", 0))
    t0 = time.perf_counter()
    gen = generated(cfg, seed)
    nam = nam_dev(cfg)
    feats, labels, names = [], [], []
    for name, _family, c, style in gen + nam:
        t1 = time.perf_counter()
        feats.append(circuit_features(c, style=style))
        labels.append(label_circuit(c, style=style, repeat=cfg["data"]["repeat"]))
        names.append(name)
        print(f"{name:24s} {c.num_gates():6d} gates  {time.perf_counter() - t1:6.2f} s", file=sys.stderr)
    x, y = np.stack(feats), np.stack(labels)
    n_gen = len(gen)
    order = np.random.default_rng(seed + 1).permutation(n_gen)
    n_held = round(cfg["data"]["heldout_fraction"] * n_gen)
    held = np.sort(order[:n_held])
    train = np.concatenate([np.sort(order[n_held:]), np.arange(n_gen, len(names))])
    opt = cfg["optim"]
    net = fit_selector(x[train], y[train], hidden=cfg["model"]["hidden"], epochs=opt["epochs"], lr=opt["lr"],
                       weight_decay=opt["weight_decay"], seed=seed)
    with torch.no_grad():
        pred = net(torch.as_tensor(x[held]))
    result: dict[str, Any] = {
        "config": cfg, "pipelines": list(PIPELINES), "train_circuits": len(train), "heldout_circuits": len(held),
        "nam_dev_circuits": len(nam), "seconds": round(time.perf_counter() - t0, 1),
        "note": "held-out generated circuits; ratios are geometric means of (count+1) ratios; every pipeline "
                "runs with the same round cap (repeat), top-2 rows run two pipelines",
    }
    for metric, mname in ((0, "gates"), (1, "cx")):
        ranks = [sorted(range(len(PIPELINES)), key=lambda i, r=r: (float(r[metric, i]), i)) for r in pred]
        result[mname] = evaluate(y[held], ranks, y[train[train < n_gen]], PIPELINES, metric)
    result["per_family_wins"] = {}
    for i in held:
        fam = names[i].rsplit("_", 2)[0]
        best = PIPELINES[int(np.argmin(y[i, 1:, 0]))]
        result["per_family_wins"].setdefault(fam, {}).setdefault(best, 0)
        result["per_family_wins"][fam][best] += 1
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("gates", "cx", "per_family_wins")}, indent=1))
    if not args.no_save:
        dst = CONFIG.with_suffix(".safetensors")
        final = fit_selector(x, y, hidden=cfg["model"]["hidden"], epochs=opt["epochs"], lr=opt["lr"],
                             weight_decay=opt["weight_decay"], seed=seed)
        final.save(dst, {"config": args.config.name, "circuits": str(len(names))})
        print(f"wrote {dst} (trained on all {len(names)} circuits)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
