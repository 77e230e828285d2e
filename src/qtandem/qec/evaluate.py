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
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import stim

from qtandem.errors import DecoderError
from qtandem.io import atomic_write_text, json_safe
from qtandem.qec.codes import memory_circuit
from qtandem.qec.data import iter_samples
from qtandem.qec.decoder import Decoder
from qtandem.qec.metrics import FlagCurve, LogicalErrorRate, doubt, logical_error_rate, postselection_curve
from qtandem.qec.plots import evaluation_figures
from qtandem.qec.registry import make_decoder
from qtandem.random import Seed, as_generator

__all__ = ["EvalPoint", "FlagResult", "evaluate", "evaluate_circuit", "flag", "write_evaluation"]




@dataclass(frozen=True)
class EvalPoint:
    """One decoder at one (code, distance, p) point, or on one given circuit.

    Attributes:
        code: code name (``"circuit"`` for a user's circuit); distance, rounds, basis, noise, p:
            the circuit's parameters (``None`` for a user's circuit).
        decoder: decoder name.
        ler: :class:`~qtandem.qec.metrics.LogicalErrorRate` over the decoded shots.
        seconds: wall time of ``decode`` on those shots (conversion included; sampling, file
            reading and the decoder's one-off ``prepare()`` excluded).
        flag_curve: post-selection curve from ``decode_soft``, or ``None``.
        seed: the Stim sampler seed of this point's shots (``None`` for recorded shots).
        source: where the circuit and shots came from (files), or ``None``.

    Examples:
        >>> point = evaluate(code="repetition", distances=[3], ps=[0.01], shots=200, seed=1)[0]
        >>> point.code, point.distance, point.decoder, point.ler.shots
        ('repetition', 3, 'pymatching', 200)
    """

    code: str
    distance: int | None
    rounds: int | None
    basis: str | None
    noise: str | None
    p: float | None
    decoder: str
    ler: LogicalErrorRate
    seconds: float
    flag_curve: FlagCurve | None
    seed: int | None
    source: str | None = None

    @property
    def shots_per_second(self) -> float:
        """Decoding throughput (``inf`` if the decode took no measurable time)."""
        return self.ler.shots / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite numbers become ``None``)."""
        per = self.ler.per_round(self.rounds) if self.rounds else None
        return json_safe({
            "code": self.code, "distance": self.distance, "rounds": self.rounds, "basis": self.basis,
            "noise": self.noise, "p": self.p, "decoder": self.decoder, "seed": self.seed, "source": self.source,
            **self.ler.to_dict(), "per_round": None if per is None else {"rate": per[0], "low": per[1], "high": per[2]},
            "seconds": self.seconds, "shots_per_second": self.shots_per_second,
            "flag_curve": None if self.flag_curve is None else self.flag_curve.to_dict()})


def _has_soft(decoder: Decoder) -> bool:
    return bool(getattr(decoder, "has_soft", True))


def _decode_all(names: Sequence[str], decs: Sequence[Decoder], chunks: Iterable[tuple[np.ndarray, np.ndarray]],
                wanted: dict[str, int], flag_curves: bool,
                progress: Callable[[str], None] | None, label: str, total: int
                ) -> list[tuple[LogicalErrorRate, float, FlagCurve | None]]:
    """Decode every chunk with every decoder; time ``decode`` only (after each decoder's ``prepare``)."""
    for dec in decs:
        dec.prepare()
    preds: dict[str, list[np.ndarray]] = {name: [] for name in names}
    obss: dict[str, list[np.ndarray]] = {name: [] for name in names}
    softs: dict[str, list[np.ndarray]] = {name: [] for name in names}
    seconds = dict.fromkeys(names, 0.0)
    start = 0
    for dets, obs in chunks:
        if progress:
            progress(f"{label}: shots {start}..{start + len(dets)} of {total}")
        for name, dec in zip(names, decs):
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
    out = []
    for name, dec in zip(names, decs):
        k = dec.num_observables
        pred = np.concatenate(preds[name]) if preds[name] else np.zeros((0, k), dtype=bool)
        obs_all = np.concatenate(obss[name]) if obss[name] else np.zeros((0, k), dtype=bool)
        curve = postselection_curve(np.concatenate(softs[name]), obs_all, pred) if softs[name] else None
        out.append((logical_error_rate(pred, obs_all), seconds[name], curve))
    return out


def evaluate(*, code: str = "surface", distances: Sequence[int] = (3,), ps: Sequence[float] = (0.005,),
             decoders: Sequence[str] = ("pymatching",), shots: int = 10_000, rounds: int | None = None,
             basis: str = "Z", noise: str = "uniform", seed: Seed = 0, flag_curves: bool = True,
             shot_limits: dict[str, int] | None = None, chunk: int = 100_000,
             progress: Callable[[str], None] | None = None) -> list[EvalPoint]:
    """Logical error rate of each decoder against distance and physical error rate, on shared shots.

    Throughput is the wall time of ``decoder.decode`` on the fresh shots, conversion included
    (what ``bench/qec_neural.py`` measures): sampling is not timed, and each decoder's one-off
    set-up (``decoder.prepare()``: building matching graphs, the network) happens first.

    Args:
        code: ``"surface"``, ``"repetition"`` or ``"color"``.
        distances: code distances.
        ps: physical error rates of the noise preset (``>= 0``).
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
    _check_sizes(shots, chunk, decoders)
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
            chunks = iter_samples(circuit, shots, seed=point_seed, chunk=chunk, bit_packed=False)
            results = _decode_all(decoders, decs, chunks, wanted, flag_curves, progress, f"d={d} p={p:g}", shots)
            for name, (ler, secs, curve) in zip(decoders, results):
                points.append(EvalPoint(code, d, r, basis, noise, float(p), name, ler, secs, curve, point_seed))
    return points


def _check_sizes(shots: int | None, chunk: int, decoders: Sequence[str]) -> None:
    if shots is not None and shots < 1:
        raise DecoderError(f"shots must be >= 1, got {shots}")
    if chunk < 1:
        raise DecoderError(f"chunk must be >= 1, got {chunk}")
    if not decoders:
        raise DecoderError("give at least one decoder")


def evaluate_circuit(circuit: stim.Circuit, *, decoders: Sequence[str] = ("pymatching",), shots: int | None = None,
                     seed: Seed = 0, dets: np.ndarray | None = None, obs: np.ndarray | None = None,
                     flag_curves: bool = True, shot_limits: dict[str, int] | None = None, chunk: int = 100_000,
                     source: str | None = None, progress: Callable[[str], None] | None = None) -> list[EvalPoint]:
    """Like :func:`evaluate` on the user's own circuit: fresh shots from it, or recorded ``dets``/``obs``.

    Decoders are built from the circuit's detector error model; a pretrained decoder is accepted
    only when it was trained for this circuit (up to noise strength), else the error names the
    mismatch.

    Args:
        circuit: a noisy ``stim.Circuit`` with detectors and observables.
        decoders: decoder names (:func:`qtandem.qec.registry.make_decoder`).
        shots: fresh shots to sample (default 10,000); with ``dets``, decode only the first ``shots``.
        seed: the sampler's seed is drawn from it (as :func:`evaluate` does for each point).
        dets: recorded detection events ``(shots, num_detectors)`` instead of sampling.
        obs: their observable flips ``(shots, num_observables)`` (required with ``dets``).
        flag_curves: as for :func:`evaluate`.
        shot_limits: as for :func:`evaluate`.
        chunk: as for :func:`evaluate`.
        source: a description of where circuit and shots came from (kept in the points).
        progress: as for :func:`evaluate`.

    Returns:
        One :class:`EvalPoint` per decoder, with ``code="circuit"``.

    Raises:
        DecoderError: unknown decoders, a pretrained decoder for another circuit, bad sizes, or
            ``dets`` without ``obs`` / of the wrong shape.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=3,
        ...                            before_round_data_depolarization=0.05)
        >>> pts = evaluate_circuit(c, decoders=["pymatching"], shots=300, seed=1)
        >>> pts[0].code, pts[0].ler.shots, pts[0].p
        ('circuit', 300, None)
        >>> d, o = c.compile_detector_sampler(seed=2).sample(50, separate_observables=True)
        >>> evaluate_circuit(c, dets=d, obs=o, flag_curves=False)[0].ler.shots
        50
    """
    _check_sizes(shots, chunk, decoders)
    decs = [make_decoder(name, circuit) for name in decoders]
    point_seed: int | None = None
    chunks: Iterable[tuple[np.ndarray, np.ndarray]]
    if dets is not None:
        if obs is None:
            raise DecoderError("recorded detection events need their observable flips (obs) to count logical errors")
        rec_d, rec_o = np.asarray(dets, dtype=bool), np.asarray(obs, dtype=bool)
        if rec_d.ndim != 2 or rec_d.shape[1] != circuit.num_detectors or rec_o.shape != (
                len(rec_d), circuit.num_observables):
            raise DecoderError(f"detection events must be (shots, {circuit.num_detectors}) and observable flips "
                               f"(shots, {circuit.num_observables}); got {rec_d.shape} and {rec_o.shape}")
        total = len(rec_d) if shots is None else min(shots, len(rec_d))
        if total == 0:
            raise DecoderError("the recorded data holds no shots")
        chunks = ((rec_d[i:min(i + chunk, total)], rec_o[i:min(i + chunk, total)]) for i in range(0, total, chunk))
    else:
        total = 10_000 if shots is None else shots
        point_seed = int(as_generator(seed).integers(2**62))
        chunks = iter_samples(circuit, total, seed=point_seed, chunk=chunk, bit_packed=False)
    limits = dict(shot_limits or {})
    wanted = {name: min(total, limits.get(name, total)) for name in decoders}
    results = _decode_all(decoders, decs, chunks, wanted, flag_curves, progress, source or "circuit", total)
    return [EvalPoint("circuit", None, None, None, None, None, name, ler, secs, curve, point_seed, source)
            for name, (ler, secs, curve) in zip(decoders, results)]


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
    atomic_write_text(out / "results.json", json.dumps(json_safe(payload), indent=1, allow_nan=False) + "\n")
    rep = Report(title, out)
    sec = rep.section("Logical error rate")
    if command:
        sec.code(command)
    recorded = any(pt.code == "circuit" and pt.seed is None for pt in points)
    sec.text(f"Every decoder decodes the same {'recorded' if recorded else 'freshly sampled'} shots at each point; "
             "intervals are 95% Wilson intervals; 'ratio' is the LER relative to pymatching on the same shots when it "
             "was run; shots/s is the wall time of the decoder's decode call (conversion included; sampling and "
             "set-up excluded), as bench/qec_neural.py measures it.")
    base = {(pt.distance, pt.p): pt.ler.rate for pt in points if pt.decoder == "pymatching"}
    rows = []
    for pt in points:
        ref = base.get((pt.distance, pt.p))
        ratio = pt.ler.rate / ref if ref else float("nan")
        per = pt.ler.per_round(pt.rounds)[0] if pt.rounds else "-"
        speed = round(pt.shots_per_second) if math.isfinite(pt.shots_per_second) else "-"
        rows.append([pt.decoder, "-" if pt.distance is None else pt.distance, "-" if pt.rounds is None else pt.rounds,
                     "-" if pt.p is None else pt.p, pt.ler.shots, pt.ler.errors, pt.ler.rate, pt.ler.low, pt.ler.high,
                     per, ratio, speed])
    sec.table(["decoder", "d", "rounds", "p", "shots", "errors", "LER", "low", "high", "LER/round", "ratio",
               "shots/s"], rows)
    fig, fig2 = evaluation_figures(points)
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
        """JSON-ready summary with the flagged indices and their doubts (an undefined LER is ``None``)."""
        return json_safe({
                "threshold": self.threshold, "shots": int(self.doubt.size), "flagged": int(self.indices.size),
                "fraction_flagged": float(self.indices.size / max(self.doubt.size, 1)),
                "ler_all": self.ler_all, "ler_kept": self.ler_kept, "ler_flagged": self.ler_flagged,
                "indices": self.indices.tolist(), "doubt": self.doubt[self.indices].tolist()})


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
