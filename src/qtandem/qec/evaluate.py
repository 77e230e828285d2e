"""Decoder evaluation (``qtandem qec eval``) and flagging of doubtful shots (``qtandem qec flag``).

:func:`evaluate` samples fresh shots for every (distance, physical error rate) point and decodes
the *same* shots with every decoder, recording the logical error rate with a Wilson interval,
the per-round rate, decoding throughput and (for decoders with soft output) the
post-selection curve. :func:`write_evaluation` writes ``results.json``, ``ler.png``,
``flagging.png`` and ``report.html``. :func:`flag` marks the shots whose doubt exceeds a
threshold.

Examples:
    >>> from qtandem.qec.evaluate import evaluate
    >>> pts = evaluate(distances=[3], ps=[0.01], decoders=["pymatching"], shots=500, seed=1)
    >>> pts[0].decoder, pts[0].ler.shots
    ('pymatching', 500)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import stim

from qtandem.errors import DecoderError
from qtandem.io import atomic_write_text
from qtandem.qec.codes import memory_circuit
from qtandem.qec.data import iter_samples
from qtandem.qec.decoder import Decoder
from qtandem.qec.metrics import FlagCurve, LogicalErrorRate, doubt, logical_error_rate, postselection_curve
from qtandem.qec.registry import make_decoder
from qtandem.random import Seed, as_generator

__all__ = ["EvalPoint", "FlagResult", "evaluate", "flag", "write_evaluation"]


@dataclass(frozen=True)
class EvalPoint:
    """One decoder at one (code, distance, p) point.

    Attributes:
        code: code name; distance, rounds, basis, noise, p: the circuit's parameters.
        decoder: decoder name.
        ler: :class:`~qtandem.qec.metrics.LogicalErrorRate` over the decoded shots.
        seconds: wall time of ``decode`` on those shots.
        flag_curve: post-selection curve from ``decode_soft``, or ``None``.
        seed: the Stim sampler seed of this point's shots.

    Examples:
        >>> point = evaluate(code="repetition", distances=[3], ps=[0.01], shots=200, seed=1)[0]
        >>> point.code, point.distance, point.decoder, point.ler.shots
        ('repetition', 3, 'pymatching', 200)
    """

    code: str
    distance: int
    rounds: int
    basis: str
    noise: str
    p: float
    decoder: str
    ler: LogicalErrorRate
    seconds: float
    flag_curve: FlagCurve | None
    seed: int

    @property
    def shots_per_second(self) -> float:
        """Decoding throughput."""
        return self.ler.shots / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        rate, lo, hi = self.ler.per_round(self.rounds)
        return {"code": self.code, "distance": self.distance, "rounds": self.rounds, "basis": self.basis,
                "noise": self.noise, "p": self.p, "decoder": self.decoder, "seed": self.seed, **self.ler.to_dict(),
                "per_round": {"rate": rate, "low": lo, "high": hi}, "seconds": self.seconds,
                "shots_per_second": self.shots_per_second,
                "flag_curve": None if self.flag_curve is None else self.flag_curve.to_dict()}


def _has_soft(decoder: Decoder) -> bool:
    return bool(getattr(decoder, "has_soft", True))


def evaluate(*, code: str = "surface", distances: Sequence[int] = (3,), ps: Sequence[float] = (0.005,),
             decoders: Sequence[str] = ("pymatching",), shots: int = 10_000, rounds: int | None = None,
             basis: str = "Z", noise: str = "uniform", seed: Seed = 0, flag_curves: bool = True,
             shot_limits: dict[str, int] | None = None, chunk: int = 100_000,
             progress: Callable[[str], None] | None = None) -> list[EvalPoint]:
    """Logical error rate of each decoder against distance and physical error rate, on shared shots.

    Args:
        code: ``"surface"``, ``"repetition"`` or ``"color"``.
        distances: code distances.
        ps: physical error rates of the noise preset.
        decoders: decoder names (:func:`qtandem.qec.registry.make_decoder`).
        shots: shots per point (the same shots for every decoder).
        rounds: rounds (default: the distance).
        basis: ``"Z"`` or ``"X"`` (surface code).
        noise: ``"uniform"`` or ``"si1000"``.
        seed: base seed; each point's Stim seed is drawn from it.
        flag_curves: also compute post-selection curves from soft outputs.
        shot_limits: decode only the first ``n`` shots with the named decoders (slow ones).
        chunk: shots sampled and decoded at a time, so detection events never take more than
            ``chunk`` rows of memory (per-shot predictions and soft outputs are kept). The
            shots drawn depend on ``seed`` and ``chunk``.
        progress: ``progress(message)`` callback.

    Returns:
        One :class:`EvalPoint` per (distance, p, decoder).

    Raises:
        DecoderError: unknown decoder names or bad sizes (before any sampling).
        NoiseError: bad code, basis, noise or p.

    Examples:
        >>> points = evaluate(code="repetition", distances=[3, 5], ps=[0.02], decoders=["pymatching"],
        ...                   shots=500, seed=1)
        >>> [(p.distance, p.ler.shots) for p in points]
        [(3, 500), (5, 500)]
    """
    if shots < 1:
        raise DecoderError(f"shots must be >= 1, got {shots}")
    if chunk < 1:
        raise DecoderError(f"chunk must be >= 1, got {chunk}")
    if not decoders:
        raise DecoderError("give at least one decoder")
    limits = dict(shot_limits or {})
    rng = as_generator(seed)
    points: list[EvalPoint] = []
    for d in distances:
        r = d if rounds is None else rounds
        for p in ps:
            circuit = memory_circuit(code, d, r, basis=basis, noise=noise, p=p)
            decs = [make_decoder(name, circuit) for name in decoders]  # fail on bad names before sampling
            point_seed = int(rng.integers(2**62))
            wanted = {name: min(shots, limits.get(name, shots)) for name in decoders}
            preds: dict[str, list[np.ndarray]] = {name: [] for name in decoders}
            obss: dict[str, list[np.ndarray]] = {name: [] for name in decoders}
            softs: dict[str, list[np.ndarray]] = {name: [] for name in decoders}
            seconds = dict.fromkeys(decoders, 0.0)
            start = 0
            for dets, obs in iter_samples(circuit, shots, seed=point_seed, chunk=chunk, bit_packed=False):
                if progress:
                    progress(f"d={d} p={p:g}: shots {start}..{start + len(dets)} of {shots}")
                for name, dec in zip(decoders, decs):
                    m = max(0, min(len(dets), wanted[name] - start))
                    if m == 0:
                        continue
                    t0 = time.perf_counter()
                    preds[name].append(dec.decode(dets[:m]))
                    seconds[name] += time.perf_counter() - t0
                    obss[name].append(obs[:m])
                    if flag_curves and _has_soft(dec):
                        softs[name].append(dec.decode_soft(dets[:m]))
                start += len(dets)
            for name in decoders:
                pred, obs_all = np.concatenate(preds[name]), np.concatenate(obss[name])
                curve = postselection_curve(np.concatenate(softs[name]), obs_all, pred) if softs[name] else None
                points.append(EvalPoint(code, d, r, basis, noise, float(p), name, logical_error_rate(pred, obs_all),
                                        seconds[name], curve, point_seed))
    return points


def _plots(points: list[EvalPoint]) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    keys = sorted({(pt.decoder, pt.distance) for pt in points})
    for dec, d in keys:
        sel = sorted((pt for pt in points if pt.decoder == dec and pt.distance == d), key=lambda pt: pt.p)
        x = np.array([pt.p for pt in sel])
        y = np.array([pt.ler.rate for pt in sel])
        err = np.array([[pt.ler.rate - pt.ler.low for pt in sel], [pt.ler.high - pt.ler.rate for pt in sel]])
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=f"{dec}, d={d}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("physical error rate p")
    ax.set_ylabel("logical error rate per shot")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig2, ax2 = plt.subplots(figsize=(6.4, 4.4))
    target = min({pt.p for pt in points}, key=lambda p: abs(np.log(p / 0.005)))
    for pt in points:
        if pt.flag_curve is not None and pt.p == target:
            c = pt.flag_curve
            ok = (c.errors_kept > 0) & (c.kept > 0)
            ax2.plot(c.fraction_flagged[ok], c.ler_kept[ok], label=f"{pt.decoder}, d={pt.distance}")
    ax2.set_yscale("log")
    ax2.set_xlabel("fraction of shots flagged for review")
    ax2.set_ylabel("logical error rate among kept shots")
    ax2.set_title(f"post-selection at p = {target:g}")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=8)
    return fig, fig2


def write_evaluation(points: list[EvalPoint], outdir: str | Path, *, title: str = "qtandem qec eval",
                     command: str = "") -> dict[str, Path]:
    """Write ``results.json``, ``ler.png``, ``flagging.png`` and ``report.html`` into ``outdir``.

    Returns:
        ``{"json": ..., "report": ..., "ler": ..., "flagging": ...}`` paths.

    Examples:
        >>> import tempfile
        >>> points = evaluate(code="repetition", distances=[3], ps=[0.02], shots=200, seed=1)
        >>> paths = write_evaluation(points, tempfile.mkdtemp())
        >>> sorted(paths), paths["json"].name
        (['flagging', 'json', 'ler', 'report'], 'results.json')
    """
    from qtandem.report import Report

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"schema": "qtandem.qec_eval", "version": 1, "command": command, "stim": stim.__version__,
               "points": [pt.to_dict() for pt in points]}
    atomic_write_text(out / "results.json", json.dumps(payload, indent=1) + "\n")
    rep = Report(title, out)
    sec = rep.section("Logical error rate")
    if command:
        sec.code(command)
    sec.text("Every decoder decodes the same freshly sampled shots at each point; intervals are 95% Wilson "
             "intervals; 'ratio' is the LER relative to pymatching on the same shots when it was run.")
    base = {(pt.distance, pt.p): pt.ler.rate for pt in points if pt.decoder == "pymatching"}
    rows = []
    for pt in points:
        ref = base.get((pt.distance, pt.p))
        ratio = pt.ler.rate / ref if ref else float("nan")
        rows.append([pt.decoder, pt.distance, pt.rounds, pt.p, pt.ler.shots, pt.ler.errors, pt.ler.rate, pt.ler.low,
                     pt.ler.high, pt.ler.per_round(pt.rounds)[0], ratio, round(pt.shots_per_second)])
    sec.table(["decoder", "d", "rounds", "p", "shots", "errors", "LER", "low", "high", "LER/round", "ratio",
               "shots/s"], rows)
    fig, fig2 = _plots(points)
    ler_png = sec.figure(fig, "ler", "Logical error rate per shot against p (95% Wilson intervals).")
    sec2 = rep.section("Flagging doubtful shots")
    sec2.text("Shots are flagged most-doubtful first by each decoder's soft output (matching: complementary gap); "
              "the curve shows the logical error rate among the shots kept.")
    flag_png = sec2.figure(fig2, "flagging", "Post-selection curve.")
    return {"json": out / "results.json", "report": rep.write(), "ler": ler_png, "flagging": flag_png}


@dataclass(frozen=True)
class FlagResult:
    """Shots flagged by :func:`flag`.

    Attributes:
        indices: indices of flagged shots (ascending).
        doubt: doubt of every shot (estimated probability the decision is wrong).
        threshold: the doubt threshold.
        ler_kept: LER among kept shots (``nan`` if none kept, or if no ``obs`` were given).
        ler_flagged: LER among flagged shots.
        ler_all: LER over all shots.

    Examples:
        >>> from qtandem.qec.codes import repetition_code
        >>> from qtandem.qec.matching import MatchingDecoder
        >>> from qtandem.qec.data import sample
        >>> circuit = repetition_code(3, 3, p=0.05)
        >>> dets, obs = sample(circuit, 500, seed=2)
        >>> result = flag(MatchingDecoder(circuit), dets, 0.2, obs)
        >>> result.doubt.shape, bool(np.all(result.doubt[result.indices] >= 0.2))
        ((500,), True)
    """

    indices: np.ndarray
    doubt: np.ndarray
    threshold: float
    ler_kept: float
    ler_flagged: float
    ler_all: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the flagged indices and their doubts."""
        return {"threshold": self.threshold, "shots": int(self.doubt.size), "flagged": int(self.indices.size),
                "fraction_flagged": float(self.indices.size / max(self.doubt.size, 1)),
                "ler_all": self.ler_all, "ler_kept": self.ler_kept, "ler_flagged": self.ler_flagged,
                "indices": self.indices.tolist(), "doubt": self.doubt[self.indices].tolist()}


def flag(decoder: Decoder, dets: np.ndarray, threshold: float, obs: np.ndarray | None = None) -> FlagResult:
    """Flag shots whose doubt (from ``decoder.decode_soft``) exceeds ``threshold``.

    Args:
        decoder: a decoder with soft output.
        dets: detection events ``(shots, num_detectors)``.
        threshold: doubt threshold in ``[0, 1]`` (``0.5`` flags nothing for one observable).
        obs: sampled flips, to report LERs among kept and flagged shots.

    Returns:
        The :class:`FlagResult`.

    Raises:
        DecoderError: bad threshold or shapes, or a decoder without soft output (BP-OSD).

    Examples:
        >>> from qtandem.qec.codes import surface_code
        >>> from qtandem.qec.matching import MatchingDecoder
        >>> from qtandem.qec.data import sample
        >>> c = surface_code(3, 3, p=0.01)
        >>> dets, obs = sample(c, 2000, seed=5)
        >>> res = flag(MatchingDecoder(c), dets, 0.1, obs)
        >>> bool(res.ler_kept < res.ler_all)
        True
    """
    if not 0 <= threshold <= 1:
        raise DecoderError(f"flag threshold must be in [0, 1], got {threshold}")
    if not _has_soft(decoder):
        raise DecoderError(f"{type(decoder).__name__} has no soft output to flag with; use pymatching or a "
                           f"neural decoder")
    soft = decoder.decode_soft(dets)
    dz = doubt(soft)
    mask = dz > threshold
    nan = float("nan")
    ler_all = ler_kept = ler_flagged = nan
    if obs is not None:
        wrong = np.any((soft > 0.5) != np.asarray(obs, dtype=bool).reshape(soft.shape), axis=1)
        ler_all = float(wrong.mean()) if wrong.size else nan
        ler_kept = float(wrong[~mask].mean()) if (~mask).any() else nan
        ler_flagged = float(wrong[mask].mean()) if mask.any() else nan
    return FlagResult(np.flatnonzero(mask), dz, float(threshold), ler_kept, ler_flagged, ler_all)
