"""Soft (analog) readout and heralded leakage for Stim circuits.

Model (normalised units: the |0> and |1> readout means are ``0`` and ``1``, ``sigma = 1 / separation``)
for one measurement whose outcome (Stim's sampled bit, circuit noise included) is ``b``:

* ``b = 0``: the analog value is ``v ~ N(0, sigma^2)``;
* ``b = 1``: with probability ``1 - t1_decay`` ``v ~ N(1, sigma^2)``; with probability ``t1_decay``
  the qubit decays at a uniform time ``tau`` in the integration window, so the signal's mean is
  the fraction of the window spent in |1>, ``v ~ N(tau, sigma^2)``, ``tau ~ U(0, 1)`` (the
  amplitude-damping tail of Bausch et al., Nature 2024, Methods; Pattison et al.,
  arXiv:2107.13589). The densities are ``f0(v) = phi(v / sigma) / sigma`` and
  ``f1(v) = (1 - t) phi((v - 1) / sigma) / sigma + t [Phi(v / sigma) - Phi((v - 1) / sigma)]``;
* ``soft = log f1(v) / f0(v)`` (the log-likelihood ratio, float32) and the reported (hard) bit
  is ``soft > 0``, the maximum-likelihood decision; readout errors therefore come *from* the
  analog model: ``P(1 | 0) = Phi(-v* / sigma)`` and ``P(0 | 1) = F1(v*)`` at the threshold ``v*``
  where ``soft = 0`` (:func:`readout_error_rates`);
* leakage (heralded): each measurement independently leaks with probability ``leakage``; a leaked
  measurement is flagged in ``leaked`` and its outcome is a fair coin (its analog value is drawn
  from the ``f0`` or ``f1`` of that random bit). Leakage does not persist between rounds.

Composition with the circuit's own noise: the analog model acts on the *recorded* bit after all
of Stim's noise, so a circuit that already has measurement flips (``M(p)``, or the ``X_ERROR``
that :func:`~qtandem.qec.codes.si1000` and the uniform model put before a measurement) gets both.
Recommended: strip those flips with :func:`without_measurement_flips` and let the analog model
supply readout errors. Decoders on hard outcomes then need a DEM that knows the model's average
flip rate: :func:`with_readout_flips` puts it back as ``X_ERROR`` before each measurement.

Detection events are computed from the hard record with Stim's measurements-to-detections
converter (``circuit.compile_m2d_converter``), so they are exactly those of the reported bits.
Classically controlled gates (``rec`` targets outside ``DETECTOR``/``OBSERVABLE_INCLUDE``) would
see Stim's bit, not the reported one, and are refused.

Examples:
    >>> from qtandem.qec.codes import surface_code
    >>> from qtandem.qec.data import sample
    >>> from qtandem.qec.soft import SoftReadout, detector_soft, without_measurement_flips
    >>> circuit = without_measurement_flips(surface_code(3, 3, p=0.002))
    >>> shots = sample(circuit, 100, seed=1, readout=SoftReadout(separation=5.0, t1_decay=0.05, leakage=0.01))
    >>> dets, obs = shots
    >>> dets.shape, shots.soft.shape, shots.soft.dtype
    ((100, 24), (100, 33), dtype('float32'))
    >>> detector_soft(circuit, shots).shape
    (100, 24, 2)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import stim
from scipy.special import log_ndtr, ndtr

from qtandem.errors import ArgumentTypeError, DatasetError

__all__ = ["SoftReadout", "SoftShots", "analog_cdf", "detector_soft", "measurement_map", "readout_error_rates",
           "readout_llr", "sample_soft", "with_readout_flips", "without_measurement_flips"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_FLIPS = {"X_ERROR", "Y_ERROR", "Z_ERROR"}


def _check_values(name: str, value: float | Sequence[float], low: float, high: float, *,
                  open_low: bool = False, open_high: bool = False) -> float | tuple[float, ...]:
    scalar = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not scalar and not (isinstance(value, Sequence | np.ndarray) and not isinstance(value, str)):
        raise DatasetError(f"SoftReadout.{name} must be a number or a sequence of numbers (one per qubit), "
                           f"got {type(value).__name__}")
    vals = [float(value)] if scalar else [float(v) for v in value]  # type: ignore[arg-type, union-attr]
    if not vals:
        raise DatasetError(f"SoftReadout.{name}: the per-qubit sequence is empty")
    for v in vals:
        bad = (not math.isfinite(v) or v < low or v > high or (open_low and v == low) or (open_high and v == high))
        if bad:
            lo, hi = ("(" if open_low else "[") + f"{low:g}", f"{high:g}" + (")" if open_high else "]")
            raise DatasetError(f"SoftReadout.{name} must lie in {lo}, {hi}, got {v!r}")
    return vals[0] if scalar else tuple(vals)


@dataclass(frozen=True)
class SoftReadout:
    """Parameters of the analog readout model (see the module docstring).

    Args:
        separation: signal-to-noise ratio ``|mu1 - mu0| / sigma``, one number or one per Stim qubit index.
        t1_decay: probability that a |1> decays during the readout window, one number or one per qubit.
        leakage: heralded leakage probability per measurement.

    Raises:
        DatasetError: a value out of range (``separation > 0``, ``0 <= t1_decay < 1``,
            ``0 <= leakage <= 1``) or not a number.

    Examples:
        >>> SoftReadout(separation=4.0).error_rates()
        (0.02275..., 0.02275...)
        >>> SoftReadout(separation=-1.0)
        Traceback (most recent call last):
        ...
        qtandem.errors.DatasetError: SoftReadout.separation must lie in (0, inf], got -1.0
    """

    separation: float | Sequence[float] = 6.0
    t1_decay: float | Sequence[float] = 0.0
    leakage: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "separation", _check_values("separation", self.separation, 0.0, math.inf,
                                                             open_low=True))
        object.__setattr__(self, "t1_decay", _check_values("t1_decay", self.t1_decay, 0.0, 1.0, open_high=True))
        leak = _check_values("leakage", self.leakage, 0.0, 1.0)
        if isinstance(leak, tuple):
            raise DatasetError("SoftReadout.leakage is one rate for every measurement, not a sequence")
        object.__setattr__(self, "leakage", leak)

    def per_qubit(self, qubits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(separation, t1_decay)`` arrays for the given Stim qubit indices.

        Raises:
            DatasetError: a per-qubit sequence is shorter than a qubit index needs.

        Examples:
            >>> import numpy as np
            >>> SoftReadout(separation=(4.0, 5.0)).per_qubit(np.array([1, 0, 1]))[0].tolist()
            [5.0, 4.0, 5.0]
        """
        out = []
        for name in ("separation", "t1_decay"):
            value = getattr(self, name)
            if isinstance(value, tuple):
                if qubits.size and int(qubits.max()) >= len(value):
                    raise DatasetError(f"SoftReadout.{name} has {len(value)} entries but the circuit measures "
                                       f"qubit {int(qubits.max())}; give one value per Stim qubit index")
                out.append(np.asarray(value, dtype=np.float64)[qubits])
            else:
                out.append(np.full(qubits.shape, float(value)))
        return out[0], out[1]

    def error_rates(self, qubit: int = 0) -> tuple[float, float]:
        """``(P(1 | 0), P(0 | 1))`` of the hard decision on ``qubit``, leakage included (a leaked bit is a coin).

        Examples:
            >>> p01, p10 = SoftReadout(separation=6.0, t1_decay=0.1).error_rates()
            >>> p01 < p10
            True
        """
        sep, decay = self.per_qubit(np.array([qubit]))
        p01, p10 = readout_error_rates(float(sep[0]), float(decay[0]))
        leak = float(self.leakage)  # type: ignore[arg-type]
        return (1 - leak) * p01 + leak / 2, (1 - leak) * p10 + leak / 2


@dataclass
class SoftShots:
    """Shots with soft readout, returned by ``qtandem.qec.sample(circuit, shots, readout=SoftReadout(...))``.

    Attributes:
        dets: bool ``(shots, num_detectors)``, detection events of the hard (thresholded) record.
        obs: bool ``(shots, num_observables)``, observable flips of the hard record.
        soft: float32 ``(shots, num_measurements)``, ``log P(v | 1) / P(v | 0)`` per measurement;
            the hard record is ``soft > 0``.
        leaked: bool ``(shots, num_measurements)``, heralded leakage flags.
        analog: float32 ``(shots, num_measurements)``, the analog values ``v`` themselves.

    ``dets, obs = shots`` unpacks like the plain ``sample``.

    Examples:
        >>> import numpy as np
        >>> s = SoftShots(np.zeros((2, 3), bool), np.zeros((2, 1), bool), np.zeros((2, 4), np.float32),
        ...               np.zeros((2, 4), bool))
        >>> dets, obs = s
        >>> dets.shape, s.shots
        ((2, 3), 2)
    """

    dets: np.ndarray
    obs: np.ndarray
    soft: np.ndarray
    leaked: np.ndarray
    analog: np.ndarray | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.dets
        yield self.obs

    @property
    def shots(self) -> int:
        """Number of shots."""
        return int(self.dets.shape[0])

    @property
    def flip_probability(self) -> np.ndarray:
        """float64 ``(shots, num_measurements)``: P(reported bit wrong) ``= 1 / (1 + e^|soft|)``; 0.5 where leaked."""
        q = 1.0 / (1.0 + np.exp(np.abs(self.soft.astype(np.float64))))
        return np.where(self.leaked, 0.5, q)


def _log_diff_ndtr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(a) - Phi(b))`` for ``a > b``, stable in both tails."""
    flip = b > 0  # use Phi(a) - Phi(b) = Phi(-b) - Phi(-a) in the upper tail
    hi, lo = np.where(flip, -b, a), np.where(flip, -a, b)
    lhi, llo = log_ndtr(hi), log_ndtr(lo)
    return lhi + np.log1p(-np.exp(np.minimum(llo - lhi, -1e-300)))


def readout_llr(v: np.ndarray | float, separation: np.ndarray | float,
                t1_decay: np.ndarray | float = 0.0) -> np.ndarray:
    """Log-likelihood ratio ``log f1(v) / f0(v)`` of analog values (module docstring's densities).

    Examples:
        >>> float(readout_llr(0.5, 4.0))  # the midpoint of two equal Gaussians
        0.0
        >>> float(readout_llr(0.5, 4.0, 0.2)) > 0  # decay adds |1> weight between the means
        True
    """
    v = np.asarray(v, dtype=np.float64)
    s = 1.0 / np.asarray(separation, dtype=np.float64)
    t = np.asarray(t1_decay, dtype=np.float64)
    log_f0 = -0.5 * (v / s) ** 2
    gauss1 = -0.5 * ((v - 1.0) / s) ** 2
    with np.errstate(divide="ignore"):
        log_f1 = np.logaddexp(np.log1p(-t) + gauss1,
                              np.log(t) + np.log(s) + _LOG_SQRT_2PI + _log_diff_ndtr(v / s, (v - 1.0) / s))
    return np.asarray(log_f1 - log_f0)


def _g(x: np.ndarray | float) -> np.ndarray:
    """An antiderivative of Phi: ``x Phi(x) + phi(x)``."""
    x = np.asarray(x, dtype=np.float64)
    return np.asarray(x * ndtr(x) + np.exp(-0.5 * x * x - _LOG_SQRT_2PI))


def analog_cdf(v: np.ndarray | float, bit: int, separation: float, t1_decay: float = 0.0) -> np.ndarray:
    """Analytic CDF ``P(V <= v | b)`` of the analog value of a measurement with outcome ``bit`` (no leakage).

    Examples:
        >>> float(analog_cdf(0.0, 0, 5.0)), float(analog_cdf(1.0, 1, 5.0))
        (0.5, 0.5)
    """
    v = np.asarray(v, dtype=np.float64)
    s = 1.0 / separation
    if bit == 0:
        return np.asarray(ndtr(v / s))
    decayed = s * (_g(v / s) - _g((v - 1.0) / s))  # integral over tau in [0, 1] of Phi((v - tau) / s)
    return np.asarray((1 - t1_decay) * ndtr((v - 1.0) / s) + t1_decay * decayed)


def readout_error_rates(separation: float, t1_decay: float = 0.0) -> tuple[float, float]:
    """``(P(1 | 0), P(0 | 1))`` of the maximum-likelihood threshold ``soft > 0`` (no leakage).

    Examples:
        >>> p01, p10 = readout_error_rates(4.0)
        >>> round(p01, 5), round(p10, 5)
        (0.02275, 0.02275)
    """
    return _error_rates(float(separation), float(t1_decay))


@functools.lru_cache(maxsize=256)
def _error_rates(separation: float, t1_decay: float) -> tuple[float, float]:
    s = 1.0 / separation
    lo, hi = -1.0 - 40 * s, 1.0 + 40 * s
    if readout_llr(lo, separation, t1_decay) > 0 or readout_llr(hi, separation, t1_decay) < 0:
        raise DatasetError(f"soft readout with separation={separation}, t1_decay={t1_decay} has no threshold")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if readout_llr(mid, separation, t1_decay) > 0:
            hi = mid
        else:
            lo = mid
    v_star = 0.5 * (lo + hi)
    return float(1.0 - analog_cdf(v_star, 0, separation)), float(analog_cdf(v_star, 1, separation, t1_decay))


def _measured_qubits(circuit: stim.Circuit) -> np.ndarray:
    """Stim qubit index of each measurement in record order (the first qubit of a product measurement)."""
    qubits: list[int] = []
    for k, inst in enumerate(circuit.flattened()):
        if inst.name in ("DETECTOR", "OBSERVABLE_INCLUDE"):
            continue
        targets = inst.targets_copy()
        if any(t.is_measurement_record_target for t in targets):
            raise ArgumentTypeError(f"soft readout: instruction {k} ({inst.name}) is classically controlled by a "
                                    f"measurement record; the analog readout changes reported bits after Stim "
                                    f"sampled, so feedback would see the wrong bit. Use a circuit without feedback")
        if not stim.gate_data(inst.name).produces_measurements:
            continue
        for group in inst.target_groups():
            qs = [t.qubit_value for t in group if t.qubit_value is not None]
            qubits.append(qs[0] if qs else 0)
    return np.asarray(qubits, dtype=np.int64)


_MAP_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def measurement_map(circuit: stim.Circuit) -> tuple[np.ndarray, np.ndarray]:
    """Which detectors and observables each measurement's reported bit enters.

    Returns:
        ``(det_map, obs_map)``: bool ``(num_measurements, num_detectors)`` and
        ``(num_measurements, num_observables)``; flipping reported bit ``m`` flips exactly the
        detectors and observables of row ``m`` (computed with Stim's m2d converter).

    Examples:
        >>> import stim
        >>> c = stim.Circuit("M 0 1\\nDETECTOR rec[-1] rec[-2]\\nOBSERVABLE_INCLUDE(0) rec[-1]")
        >>> dmap, omap = measurement_map(c)
        >>> dmap.astype(int).tolist(), omap.astype(int).tolist()
        ([[1], [1]], [[0], [1]])
    """
    key = str(circuit)
    if key not in _MAP_CACHE:
        n = circuit.num_measurements
        rows = np.zeros((n + 1, n), dtype=bool)
        rows[1:] = np.eye(n, dtype=bool)
        dets, obs = circuit.compile_m2d_converter().convert(measurements=rows, separate_observables=True)
        if len(_MAP_CACHE) > 64:
            _MAP_CACHE.clear()
        _MAP_CACHE[key] = (dets[1:] ^ dets[0], obs[1:] ^ obs[0])
    return _MAP_CACHE[key]


def sample_soft(circuit: stim.Circuit, shots: int, readout: SoftReadout, *, stim_seed: int | None,
                bit_packed: bool = False) -> SoftShots:
    """Sample ``shots`` shots with soft readout (what ``qtandem.qec.sample(..., readout=)`` calls).

    Args:
        circuit: noisy circuit with detectors (see the module docstring about measurement flips).
        shots: number of shots.
        readout: the analog model.
        stim_seed: Stim's seed; the analog values use a NumPy generator seeded from it.
        bit_packed: pack ``dets`` and ``obs`` in Stim's layout.

    Returns:
        :class:`SoftShots`.

    Examples:
        >>> import stim
        >>> s = sample_soft(stim.Circuit("X 0\\nM 0 1"), 1000, SoftReadout(separation=4.0), stim_seed=3)
        >>> (s.soft > 0).mean(axis=0).round(2).tolist()
        [0.98, 0.02]
    """
    if not isinstance(readout, SoftReadout):
        raise ArgumentTypeError(f"readout must be a qtandem.qec.SoftReadout, got {type(readout).__name__}")
    qubits = _measured_qubits(circuit)
    sep, decay = readout.per_qubit(qubits)
    bits = circuit.compile_sampler(seed=stim_seed).sample(int(shots))
    rng = np.random.default_rng(None if stim_seed is None else [int(stim_seed), 0x50F7])
    leaked = rng.random(bits.shape) < float(readout.leakage)  # type: ignore[arg-type]
    bits = np.where(leaked, rng.random(bits.shape) < 0.5, bits)
    sigma = 1.0 / sep
    decays = bits & (rng.random(bits.shape) < decay)
    mean = np.where(decays, rng.random(bits.shape), bits.astype(np.float64))
    analog = mean + sigma * rng.standard_normal(bits.shape)
    soft = readout_llr(analog, sep, decay).astype(np.float32)
    hard = soft > 0
    dets, obs = circuit.compile_m2d_converter().convert(measurements=hard, separate_observables=True,
                                                        bit_packed=bit_packed)
    return SoftShots(dets, obs, soft, leaked, analog.astype(np.float32))


def detector_soft(circuit: stim.Circuit, shots: SoftShots) -> np.ndarray:
    """Per detector: the doubt of its least confident measurement and a leakage flag.

    Returns:
        float32 ``(shots, num_detectors, 2)``: ``[..., 0]`` is ``1 / (1 + e^min|soft|)`` over the
        measurements the detector reads (the posterior probability that one of them was misread,
        in ``[0, 0.5]``; 0 for a detector that reads none), ``[..., 1]`` is 1 if any of them leaked.

    Raises:
        DatasetError: ``shots`` does not match the circuit's measurement count.

    Examples:
        >>> import stim
        >>> c = stim.Circuit("M 0 1\\nDETECTOR rec[-1] rec[-2]")
        >>> s = sample_soft(c, 4, SoftReadout(separation=5.0), stim_seed=1)
        >>> ds = detector_soft(c, s)
        >>> ds.shape, bool((ds[..., 0] <= 0.5).all())
        ((4, 1, 2), True)
    """
    n = circuit.num_measurements
    if shots.soft.ndim != 2 or shots.soft.shape[1] != n or shots.leaked.shape != shots.soft.shape:
        raise DatasetError(f"shots.soft and shots.leaked must be (shots, {n}) for this circuit, got "
                           f"{shots.soft.shape} and {shots.leaked.shape}")
    dmap, _ = measurement_map(circuit)
    reads = [np.flatnonzero(col) for col in dmap.T]
    width = max((len(r) for r in reads), default=0)
    index = np.full((len(reads), max(width, 1)), n, dtype=np.int64)  # column n: a zero / not-leaked pad
    for d, r in enumerate(reads):
        index[d, :len(r)] = r
    q = 1.0 / (1.0 + np.exp(np.abs(shots.soft.astype(np.float64))))
    qpad = np.concatenate([q, np.zeros((q.shape[0], 1))], axis=1)
    lpad = np.concatenate([shots.leaked, np.zeros((q.shape[0], 1), dtype=bool)], axis=1)
    out = np.empty((q.shape[0], len(reads), 2), dtype=np.float32)
    out[..., 0] = qpad[:, index].max(axis=2)
    out[..., 1] = lpad[:, index].any(axis=2)
    return out


def without_measurement_flips(circuit: stim.Circuit) -> stim.Circuit:
    """``circuit`` without its classical readout flips, so that the analog model supplies them.

    Drops the probability argument of measurement gates (``M(p)`` -> ``M``) and every
    ``X_ERROR``/``Y_ERROR``/``Z_ERROR`` that is immediately followed by a measurement on exactly
    the same qubits (how Stim's generated circuits and :func:`~qtandem.qec.codes.si1000` write
    their measurement flips). Other noise is kept.

    Examples:
        >>> import stim
        >>> print(without_measurement_flips(stim.Circuit("X_ERROR(0.1) 0 1\\nM(0.01) 0 1\\nX_ERROR(0.2) 0")))
        M 0 1
        X_ERROR(0.2) 0
    """
    out = stim.Circuit()
    items = list(circuit)
    for k, item in enumerate(items):
        if isinstance(item, stim.CircuitRepeatBlock):
            out.append(stim.CircuitRepeatBlock(item.repeat_count, without_measurement_flips(item.body_copy())))
            continue
        nxt = items[k + 1] if k + 1 < len(items) else None
        if (item.name in _FLIPS and isinstance(nxt, stim.CircuitInstruction)
                and stim.gate_data(nxt.name).produces_measurements
                and [t.value for t in item.targets_copy()] == [t.value for t in nxt.targets_copy()]):
            continue
        if stim.gate_data(item.name).produces_measurements and item.gate_args_copy():
            out.append(stim.CircuitInstruction(item.name, item.targets_copy()))
            continue
        out.append(item)
    return out


def with_readout_flips(circuit: stim.Circuit, readout: SoftReadout) -> stim.Circuit:
    """``circuit`` with each measurement's average hard-decision error of ``readout`` as a flip before it.

    The flip probability of qubit ``q`` is ``(P(1 | 0) + P(0 | 1)) / 2`` of
    :meth:`SoftReadout.error_rates` (Stim has no asymmetric flip). This is the circuit whose DEM a
    decoder on hard outcomes should use; apply it to the circuit given to ``sample``.

    Examples:
        >>> import stim
        >>> print(with_readout_flips(stim.Circuit("H 0\\nM 0"), SoftReadout(separation=4.0)))
        H 0
        X_ERROR(0.0227501) 0
        M 0
    """
    cache: dict[int, float] = {}

    def rate(q: int) -> float:
        if q not in cache:
            cache[q] = sum(readout.error_rates(q)) / 2
        return cache[q]

    out = stim.Circuit()
    for item in circuit:
        if isinstance(item, stim.CircuitRepeatBlock):
            out.append(stim.CircuitRepeatBlock(item.repeat_count, with_readout_flips(item.body_copy(), readout)))
            continue
        if item.name in _FLIP_OF:
            groups: dict[float, list[int]] = {}
            for t in item.targets_copy():
                if t.is_qubit_target:
                    groups.setdefault(rate(t.value), []).append(t.value)
            for p, qs in groups.items():
                out.append(_FLIP_OF[item.name], qs, p)
        out.append(item)
    return out


_FLIP_OF = {"M": "X_ERROR", "MZ": "X_ERROR", "MR": "X_ERROR", "MRZ": "X_ERROR", "MX": "Z_ERROR", "MRX": "Z_ERROR",
            "MY": "X_ERROR", "MRY": "X_ERROR"}
