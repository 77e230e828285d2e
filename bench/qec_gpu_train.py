"""Train several neural+matching surface-code decoders at once on one accelerator (issue 22).

The shipped trainer (``qtandem qec train``) draws one batch per step on the training process;
at d = 5 that is data-starved on two cores, and the device machine lent here shows ONE CPU core
beside its GPU. So a pool of worker processes samples Stim shots and computes the matching
features (PyMatching's complementary-gap LLR and correlated decision,
:func:`qtandem.qec.neural.matching_features`) in chunks that accumulate in a replay buffer on the
device, while the main process trains every model on batches drawn uniformly from all the shots
received so far (the same batch for every model at each step). Budgets are counted in steps x
batch (shot visits) and in unique shots (both recorded); ``--calibrate N --time-budget S`` fixes
the step count once, after N steps, so that the run fits S seconds (the log and the saved
``info`` record the count), and ``--max-seconds`` is only a guard that stops early.

Chunk ``k`` comes from ``compile_detector_sampler(seed=derive_seed(seed, 1, k))``; the DEV
(validation) shots from ``derive_seed(seed, 2)``. Nothing here touches the TEST seeds of
``bench/qec_gpu_eval.py``. Not bit-reproducible: GPU kernels are not deterministic (atomics in
the backward passes) and which chunks have arrived at a step depends on timing.

Written to ``--out``: ``<model>.safetensors`` (a :func:`qtandem.qec.neural.save_decoder` file,
rewritten every ``--save-every`` steps and at the end, with the recipe in ``info``) and
``<tag>_log.json`` (step records, DEV evaluations beside PyMatching and correlated matching).

Usage (device machine; ``--device cpu`` with tiny budgets runs the same code path here)::

    python bench/qec_gpu_train.py --distance 5 --steps 12000 --batch 16384 --workers 9 \\
        --model h16:16:1:2:32:src/qtandem/qec/models/surface-d5-p0.005.safetensors \\
        --model h64:64:2:4:128 --out OUT --device cuda
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from qtandem.qec.codes import surface_code
from qtandem.qec.neural import (
    ModelSpec,
    NeuralDecoder,
    StabilizerLayout,
    SyndromeNet,
    load_decoder,
    matching_features,
    save_decoder,
)
from qtandem.random import derive_seed

_CACHE: dict[str, Any] = {}


def _circuit(d: int, p: float) -> Any:
    key = f"c{d}-{p}"
    if key not in _CACHE:
        _CACHE[key] = surface_code(d, d, p=p)
    return _CACHE[key]


def _chunk(args: tuple[int, float, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d, p, seed, k, n = args
    circuit = _circuit(d, p)
    sampler = circuit.compile_detector_sampler(seed=derive_seed(seed, 1, k))
    dets, obs = sampler.sample(n, separate_observables=True)
    feats = matching_features(circuit, dets, _CACHE.setdefault(f"m{d}-{p}", {}))
    return np.packbits(dets, axis=1), obs[:, 0].copy(), feats


def _unpack(packed: np.ndarray, n_det: int, dev: torch.device) -> torch.Tensor:
    t = torch.from_numpy(packed).to(dev, non_blocking=True)
    bits = (t.unsqueeze(-1) >> torch.arange(7, -1, -1, device=dev, dtype=torch.uint8)) & 1
    return bits.reshape(t.shape[0], -1)[:, :n_det].float()


def _parse_model(text: str) -> tuple[str, ModelSpec, str | None]:
    parts = text.split(":")
    name, h, layers, heads, readout = parts[:5]
    init = ":".join(parts[5:]) or None
    return name, ModelSpec(hidden=int(h), layers=int(layers), heads=int(heads), readout=int(readout),
                           matching_features=2), init


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distance", type=int, default=5)
    ap.add_argument("--p", type=float, default=0.005)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, default=16384)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--finetune-lr", type=float, default=3e-4, help="lr of models started from --model ...:INIT")
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=2205)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--val-shots", type=int, default=200_000)
    ap.add_argument("--eval-every", type=int, default=2000)
    ap.add_argument("--save-every", type=int, default=1000)
    ap.add_argument("--log-every", type=int, default=200)
    ap.add_argument("--max-seconds", type=float, default=0.0, help="stop early after this wall time (0: never)")
    ap.add_argument("--model", action="append", required=True,
                    help="NAME:HIDDEN:LAYERS:HEADS:READOUT[:INIT.safetensors] (neural+matching)")
    ap.add_argument("--chunk", type=int, default=16384, help="shots per worker task")
    ap.add_argument("--buffer", type=int, default=0, help="replay buffer capacity in shots (0: steps x batch)")
    ap.add_argument("--min-fill", type=int, default=131072, help="shots in the buffer before step 0")
    ap.add_argument("--calibrate", type=int, default=0, help="after this many steps, fix the step count to fit")
    ap.add_argument("--time-budget", type=float, default=0.0, help="seconds the calibrated step count aims at")
    ap.add_argument("--tag", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = a.tag or f"d{a.distance}"
    circuit = _circuit(a.distance, a.p)
    layout = StabilizerLayout(circuit)
    n_det = circuit.num_detectors
    pool = mp.get_context("fork").Pool(a.workers)  # before CUDA is initialised
    models: list[dict[str, Any]] = []
    for text in a.model:
        name, spec, init = _parse_model(text)
        net = SyndromeNet(layout, spec, 1)
        if init:
            net.load_state_dict(load_decoder(init).model.state_dict())
        net = net.to(dev).train()
        lr = a.finetune_lr if init else a.lr
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=a.weight_decay,
                                **({"fused": True} if dev.type == "cuda" else {}))
        models.append({"name": name, "spec": spec, "init": init, "net": net, "opt": opt, "lr": lr,
                       "params": sum(p.numel() for p in net.parameters())})
    recipe = {k: v for k, v in vars(a).items() if k not in ("out", "device", "max_seconds")}
    recipe["device"] = str(dev) + (f" ({torch.cuda.get_device_name(0)})" if dev.type == "cuda" else "")
    recipe["torch"] = torch.__version__
    log: dict[str, Any] = {"recipe": recipe, "models": [{"name": m["name"], "params": m["params"],
                                                          "init": m["init"]} for m in models],
                           "steps": [], "evals": []}

    try:
        # DEV shots (never trained on): seed derive_seed(seed, 2)
        vs = circuit.compile_detector_sampler(seed=derive_seed(a.seed, 2))
        vd, vo = vs.sample(a.val_shots, separate_observables=True)
        parts = np.array_split(np.arange(a.val_shots), a.workers)
        feats = pool.map(_feat_part, [(a.distance, a.p, vd[i]) for i in parts])
        vf = np.concatenate(feats)
        vx = torch.from_numpy(vd.astype(np.float32))
        vfe = torch.from_numpy(vf)
        vy = vo[:, 0]
        pm_err = int(((vf[:, 0] > 0) != vy).sum())
        corr_err = int(((vf[:, 1] > 0) != vy).sum())
        log["dev"] = {"shots": a.val_shots, "pymatching_errors": pm_err, "correlated_errors": corr_err}
        print(f"[{tag}] DEV {a.val_shots} shots: PM {pm_err / a.val_shots:.5f} corr {corr_err / a.val_shots:.5f}"
              f" ({time.perf_counter() - t0:.1f}s)", flush=True)

        def evaluate(step: int) -> None:
            rec: dict[str, Any] = {"step": step, "shots": step * a.batch, "wall_s": time.perf_counter() - t0}
            for m in models:
                net = m["net"].eval()
                errs = 0
                with torch.no_grad():
                    for i in range(0, a.val_shots, 65536):
                        lo = net(vx[i:i + 65536].to(dev), vfe[i:i + 65536].to(dev))[:, 0].float().cpu().numpy()
                        errs += int(((lo > 0) != vy[i:i + 65536]).sum())
                net.train()
                rec[m["name"]] = {"errors": errs, "ler": errs / a.val_shots, "vs_corr": errs / max(1, corr_err),
                                  "vs_pm": errs / max(1, pm_err)}
            log["evals"].append(rec)
            print(f"[{tag}] eval step {step}: " + " ".join(
                f"{m['name']} {rec[m['name']]['ler']:.5f} ({rec[m['name']]['vs_corr']:.3f}x corr)" for m in models),
                flush=True)

        def save(step: int, finished: bool) -> None:
            for m in models:
                state = {k: v.detach().float().cpu() for k, v in m["net"].state_dict().items()}
                info = {"name": m["name"], "kind": "neural+matching",
                        "recipe": {**recipe, "model": dataclass_dict(m["spec"]), "init": m["init"], "lr": m["lr"]},
                        "training": {"steps": step, "shots": step * a.batch,
                                     "unique_shots": log.get("unique_shots", 0), "finished": finished,
                                     "wall_s": round(time.perf_counter() - t0, 1), "workers": a.workers}}
                save_decoder(out / f"{m['name']}.safetensors", NeuralDecoder(circuit, m["spec"], state, info=info))
            (out / f"{tag}_log.json").write_text(json.dumps(log, indent=1))

        # Replay buffer: the workers' chunks (fresh shots + matching features) accumulate on the device;
        # every step trains each model on a batch drawn uniformly from all shots received so far.
        chunk = a.chunk
        cap = a.steps * a.batch if a.buffer == 0 else a.buffer
        nb = (n_det + 7) // 8
        buf_x = torch.empty(cap, nb, dtype=torch.uint8, device=dev)
        buf_y = torch.empty(cap, dtype=torch.float32, device=dev)
        buf_e = torch.empty(cap, 2, dtype=torch.float32, device=dev)
        filled = 0
        n_chunks = 0
        it = pool.imap(_chunk, ((a.distance, a.p, a.seed, k, chunk) for k in range(10**9)), chunksize=1)

        def take(block: bool) -> None:
            nonlocal filled, n_chunks
            while filled + chunk <= cap:
                try:
                    packed, obs, feat = it.next(timeout=None if block else 0.0)
                except mp.TimeoutError:
                    return
                buf_x[filled:filled + chunk] = torch.from_numpy(packed).to(dev)
                buf_y[filled:filled + chunk] = torch.from_numpy(obs.astype(np.float32)).to(dev)
                buf_e[filled:filled + chunk] = torch.from_numpy(feat).to(dev)
                filled += chunk
                n_chunks += 1
                block = False

        while filled < a.min_fill:
            take(True)
        gen = torch.Generator(device=dev)
        gen.manual_seed(a.seed)
        bits = torch.arange(7, -1, -1, device=dev, dtype=torch.uint8)
        step = 0
        planned = a.steps
        t_cal = time.perf_counter()
        while step < planned:
            take(False)
            idx = torch.randint(0, filled, (a.batch,), device=dev, generator=gen)
            x = ((buf_x[idx].unsqueeze(-1) >> bits) & 1).reshape(a.batch, -1)[:, :n_det].float()
            y, e = buf_y[idx], buf_e[idx]
            losses = []
            for m in models:
                lr = _lr(step, planned, a.warmup, m["lr"], a.min_lr)
                for g in m["opt"].param_groups:
                    g["lr"] = lr
                logit = m["net"](x, e)[:, 0]
                loss = F.binary_cross_entropy_with_logits(logit, y)
                m["opt"].zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(m["net"].parameters(), a.grad_clip)
                m["opt"].step()
                losses.append(loss.detach())
            step += 1
            if dev.type == "cuda":  # yield the CPU to the data workers while the GPU works
                ev = torch.cuda.Event()
                ev.record()
                while not ev.query():
                    time.sleep(0.001)
            if step == a.calibrate and a.time_budget:
                per = (time.perf_counter() - t_cal) / max(1, step - 1)
                left = a.time_budget - (time.perf_counter() - t0)
                planned = max(step + 1, min(a.steps, int(step + 0.92 * left / per)))
                log["planned_steps"] = planned
                print(f"[{tag}] calibrated: {per * 1000:.1f} ms/step -> {planned} steps", flush=True)
            if step == 1:
                t_cal = time.perf_counter()
            if step % a.log_every == 0 or step == planned:
                vals = [float(v) for v in losses]
                el = time.perf_counter() - t0
                log["steps"].append({"step": step, "loss": vals, "wall_s": round(el, 2), "unique_shots": filled})
                print(f"[{tag}] step {step}/{planned} loss " + " ".join(f"{v:.5f}" for v in vals)
                      + f" {el:.0f}s unique shots {filled}", flush=True)
            if step % a.eval_every == 0 and step < planned:
                evaluate(step)
            if step % a.save_every == 0:
                log["unique_shots"] = filled
                save(step, False)
            if a.max_seconds and time.perf_counter() - t0 > a.max_seconds:
                print(f"[{tag}] stopped by --max-seconds at step {step}", flush=True)
                break
    finally:
        pool.terminate()
    evaluate(step)
    log["finished"] = step == planned
    log["unique_shots"] = filled
    log["final_step"] = step
    save(step, step == planned)
    print(f"[{tag}] done: step {step}, {step * a.batch} shots/model, {time.perf_counter() - t0:.0f}s", flush=True)
    return 0


def dataclass_dict(spec: ModelSpec) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(spec)


def _feat_part(args: tuple[int, float, np.ndarray]) -> np.ndarray:
    d, p, dets = args
    return matching_features(_circuit(d, p), dets, _CACHE.setdefault(f"m{d}-{p}", {}))


def _lr(step: int, steps: int, warmup: int, lr: float, min_lr: float) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    frac = (step - warmup) / max(1, steps - warmup)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(1.0, frac)))


if __name__ == "__main__":
    raise SystemExit(main())
