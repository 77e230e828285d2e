"""Clifford data regression (Czarnik et al., Quantum 5, 592 (2021)) and variable-noise CDR (Lowe et al.,
Phys. Rev. Research 3, 033098 (2021)) as a mitigation :class:`~qtandem.mitigate.core.Method`: :func:`cdr`.

Training circuits have the target's structure with most non-Clifford angles replaced by a
multiple of pi/2 (:func:`training_circuits`); their ideal values are computed exactly
(:func:`ideal_value`: Stim's tableau simulator when every gate is Clifford and the observable
a Pauli sum, qtandem's state vector otherwise; never a density matrix), their noisy values
measured with the inner estimator. CDR fits ``ideal = a * noisy + b`` over the training set
and applies it to the target's noisy value; vnCDR (``scale_factors=[1, 2, 3]``) measures
every circuit at several noise scales (global folding) and fits ``ideal = sum_j eta_j
noisy_j`` (no intercept, as Lowe et al.).

Shots: with ``reuse="per_circuit"`` the training circuits are part of each estimate's
budget (``target_share`` of it on the target, the rest evenly on the training circuits
and scales). With ``reuse="per_structure"`` the fit is made once per circuit structure
(gates and qubits, non-Clifford angles aside: e.g. Trotter steps with other field values)
and observable, cached on the method object, its shots charged as a one-off
(``context.one_off["cdr:..."]``); the target then gets every shot.

The standard error is a bootstrap over training circuits (the fit redone on resampled
sets, with the target's noisy values drawn from their own standard errors).

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.mitigate import execute, simulator_executor
    >>> from qtandem.noise import NoiseModel, depolarizing
    >>> noise = NoiseModel().add(depolarizing(0.02), gates=["rz", "sx", "x"]).add(depolarizing(0.05, 2), gates=["cx"])
    >>> c = Circuit(2).rz(0.3, 0).sx(0).rz(0.7, 0).sx(0).cx(0, 1).rz(0.4, 1).sx(1).rz(1.1, 1).sx(1).rz(0.2, 1)
    >>> res = execute(c, "Z1", simulator_executor(noise, seed=1), methods=[cdr(n_training=12)], shots=60000, seed=3)
    >>> round(ideal_value(c, "Z1"), 3), round(res.raw, 3), round(res.value, 3), res.shots_used
    (0.347, 0.257, 0.338, 60000)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import is_symbolic
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate.core import Context, Estimate, Estimator
from qtandem.mitigate.folding import fold_global
from qtandem.mitigate.observable import Observable, parse_observable
from qtandem.random import Seed, as_generator
from qtandem.sim.estimate import without_terminal_measurements

__all__ = ["CDR", "cdr", "ideal_value", "training_circuits"]

ROTATIONS = frozenset({"rz", "rx", "ry", "p", "u1"})
"""One-angle gates that are Clifford exactly at multiples of pi/2 (the angles CDR replaces)."""
_QUARTER = math.pi / 2
_STIM_1Q = {"sx": "SQRT_X", "sxdg": "SQRT_X_DAG", "x": "X", "y": "Y", "z": "Z", "h": "H", "s": "S", "sdg": "S_DAG",
            "id": "I"}
_STIM_2Q = {"cx": "CX", "cz": "CZ", "cy": "CY", "swap": "SWAP"}
_STIM_ROT = {"rz": ("I", "S", "Z", "S_DAG"), "p": ("I", "S", "Z", "S_DAG"), "u1": ("I", "S", "Z", "S_DAG"),
             "rx": ("I", "SQRT_X", "X", "SQRT_X_DAG"), "ry": ("I", "SQRT_Y", "Y", "SQRT_Y_DAG")}


def _quarters(angle: float) -> int | None:
    """``k`` if ``angle`` is ``k * pi/2`` (mod 2 pi, within 1e-9), else ``None``."""
    k = angle / _QUARTER
    r = round(k)
    return int(r) % 4 if abs(k - r) < 1e-9 else None


def _non_clifford(circuit: Circuit) -> list[int]:
    return [i for i, inst in enumerate(circuit) if inst.name in ROTATIONS and not is_symbolic(inst.params[0])
            and _quarters(float(inst.params[0])) is None]  # type: ignore[arg-type]


def training_circuits(circuit: Circuit, count: int, *, fraction_non_clifford: float = 0.1,
                      replace: str = "random", seed: Seed = None, min_variety: int = 2,
                      diversify: float = 0.0) -> list[Circuit]:
    """Near-Clifford circuits of ``circuit``'s structure.

    In each, ``round(fraction_non_clifford * K)`` of the ``K`` non-Clifford one-angle rotations
    (``rz``, ``rx``, ``ry``, ``p``, ``u1`` at angles other than multiples of pi/2) keep their
    angle, drawn at random; the others get a multiple of pi/2: the nearest (``replace="nearest"``)
    or one drawn with probability ``exp(-(d / 1.0)^2)`` for angular distance ``d`` (``"random"``,
    Czarnik et al.'s rule with a wider width, which varies the training set more). When fewer
    than ``min_variety`` rotations are non-Clifford (a Clifford circuit has nothing to vary), or
    ``diversify > 0``, a random ``max(diversify, 0.3)`` (resp. ``diversify``) of the Clifford
    rotations get a random multiple of pi/2 instead, so the training values still spread.

    Args:
        circuit: the target circuit.
        count: how many training circuits.
        fraction_non_clifford: the fraction of non-Clifford rotations kept.
        replace: ``"random"`` or ``"nearest"``.
        seed: seed of the choices.
        min_variety: see above.
        diversify: see above.

    Returns:
        ``count`` circuits (the same gates on the same qubits, other angles).

    Raises:
        ArgumentTypeError: a bad count, fraction or ``replace``.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(1).rz(0.3, 0).sx(0).rz(1.2, 0).sx(0).rz(2.0, 0)
        >>> [[round(i.params[0], 4) for i in t if i.name == "rz"] for t in training_circuits(c, 2, seed=1)]
        [[0.0, 1.5708, 1.5708], [1.5708, 1.5708, 1.5708]]
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ArgumentTypeError(f"training_circuits: count must be a positive integer, got {count!r}")
    if not 0 <= fraction_non_clifford <= 1:
        raise ArgumentTypeError(f"training_circuits: fraction_non_clifford must be in [0, 1], got "
                                f"{fraction_non_clifford!r}")
    if replace not in ("random", "nearest"):
        raise ArgumentTypeError(f"training_circuits: replace must be 'random' or 'nearest', got {replace!r}")
    rng = as_generator(seed)
    insts = list(circuit)
    targets = _non_clifford(circuit)
    keep = round(fraction_non_clifford * len(targets))
    clifford = [i for i, inst in enumerate(insts) if inst.name in ROTATIONS and i not in set(targets)
                and not is_symbolic(inst.params[0])]
    out = []
    for _ in range(count):
        new = list(insts)
        kept = set(rng.choice(len(targets), size=keep, replace=False).tolist()) if keep else set()
        for j, i in enumerate(targets):
            if j in kept:
                continue
            angle = float(insts[i].params[0])  # type: ignore[arg-type]
            if replace == "nearest":
                k = round(angle / _QUARTER)
            else:
                d = np.abs(np.angle(np.exp(1j * (angle - _QUARTER * np.arange(4)))))
                p = np.exp(-((d / 1.0) ** 2))
                k = int(rng.choice(4, p=p / p.sum()))
            new[i] = insts[i].replace(params=((k % 4) * _QUARTER,))
        share = max(diversify, 0.3) if len(targets) < min_variety else diversify
        if share > 0 and clifford:
            pick = rng.choice(len(clifford), size=max(1, round(share * len(clifford))), replace=False)
            for j in pick.tolist():
                i = clifford[j]
                new[i] = insts[i].replace(params=(int(rng.integers(4)) * _QUARTER,))
        t = Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name, qregs=circuit.qregs or None,
                    cregs=circuit.cregs or None)
        t._instructions = new  # the circuit's own instructions with other angles of the same gates: valid
        out.append(t)
    return out


def _stim_value(circuit: Circuit, pauli: PauliSum) -> float | None:
    """``<pauli>`` by Stim's tableau simulator, or ``None`` if some gate is not Clifford."""
    import stim

    sim = stim.TableauSimulator()
    sim.set_num_qubits(max(circuit.n_qubits, 1))
    for inst in circuit:
        if inst.name in ("barrier", "delay"):
            continue
        if inst.condition is not None or inst.ctrl or inst.inverted:
            return None
        q = inst.qubits
        if inst.name in _STIM_1Q:
            sim.do(stim.Circuit(f"{_STIM_1Q[inst.name]} {q[0]}"))
        elif inst.name in _STIM_2Q:
            sim.do(stim.Circuit(f"{_STIM_2Q[inst.name]} {q[0]} {q[1]}"))
        elif inst.name in _STIM_ROT and not is_symbolic(inst.params[0]):
            k = _quarters(float(inst.params[0]))  # type: ignore[arg-type]
            if k is None:
                return None
            gate = _STIM_ROT[inst.name][k]
            if gate != "I":
                sim.do(stim.Circuit(f"{gate} {q[0]}"))
        else:
            return None
    total = 0.0
    for coef, word in pauli.terms:
        text = ["_"] * max(circuit.n_qubits, 1)
        for qubit, p in word:
            text[qubit] = p
        total += float(np.real(coef)) * float(sim.peek_observable_expectation(stim.PauliString("".join(text))))
    return total


def ideal_value(circuit: Circuit, observable: str | PauliSum | Observable) -> float:
    """The noiseless value of ``observable`` on ``circuit``, computed exactly.

    Stim's tableau simulator for a Clifford circuit (rotations at multiples of pi/2, ``sx``,
    ``x``, ``h``, ``s``, ``cx``, ``cz``, ...) and a Pauli-sum observable; qtandem's state
    vector otherwise (``"P(b)"``, or a non-Clifford gate). Terminal measurements are ignored.

    Examples:
        >>> from qtandem import Circuit
        >>> ghz = Circuit(3).rz(math.pi / 2, 0).sx(0).rz(math.pi / 2, 0).cx(0, 1).cx(1, 2)
        >>> ideal_value(ghz, "Z0 Z2"), round(ideal_value(ghz, "P(111)"), 12)
        (1.0, 0.5)
    """
    obs = observable if isinstance(observable, Observable) else parse_observable(observable, circuit.n_qubits)
    bare = without_terminal_measurements(circuit)
    if obs.pauli is not None:
        got = _stim_value(bare, obs.pauli)
        if got is not None:
            return got
    return float(obs.exact(bare))


def _structure(circuit: Circuit) -> str:
    """A hash of the gates and qubits, with the angles of non-Clifford rotations left out."""
    nc = set(_non_clifford(circuit))
    text = ";".join(f"{inst.name}{inst.qubits}{'' if i in nc else inst.params}" for i, inst in enumerate(circuit))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class CDR:
    """Clifford data regression (see :func:`cdr`, which checks the arguments).

    Examples:
        >>> cdr(scale_factors=[1, 2, 3]).name
        'vncdr'
    """

    def __init__(self, n_training: int, fraction_non_clifford: float, scale_factors: Sequence[float] | None,
                 reuse: str, target_share: float, replace: str, bootstrap: int, training_shots: int | None) -> None:
        self.n_training = n_training
        self.fraction_non_clifford = fraction_non_clifford
        self.scale_factors = [1.0] if scale_factors is None else [float(s) for s in scale_factors]
        self.variable_noise = scale_factors is not None
        self.reuse = reuse
        self.target_share = target_share
        self.replace = replace
        self.bootstrap = bootstrap
        self.training_shots = training_shots
        self.name = "vncdr" if self.variable_noise else "cdr"
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # structure -> (noisy X, ideal y)

    def __repr__(self) -> str:
        return (f"cdr(n_training={self.n_training}, fraction_non_clifford={self.fraction_non_clifford}, "
                f"scale_factors={self.scale_factors if self.variable_noise else None}, reuse={self.reuse!r})")

    def _scaled(self, circuit: Circuit) -> list[Circuit]:
        return [circuit if s == 1 else fold_global(circuit, s) for s in self.scale_factors]

    def _features(self, estimates: list[Estimate]) -> np.ndarray:
        return np.array([e.value for e in estimates])

    def _fit(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Coefficients: CDR ``[a, b]`` of ``a x + b``; vnCDR ``eta`` of ``sum eta_j x_j``."""
        design = x if self.variable_noise else np.column_stack([x[:, 0], np.ones(len(x))])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        return np.asarray(coef)

    def _predict(self, coef: np.ndarray, x: np.ndarray) -> float:
        return float(x @ coef) if self.variable_noise else float(coef[0] * x[0] + coef[1])

    def _train(self, estimator: Estimator, context: Context, circuits: list[Circuit], shots: list[int],
               rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
        """Noisy features and ideal values of each circuit's training set, all in one estimator call."""
        m = len(self.scale_factors)
        sets, ideal = [], []
        for c in circuits:
            seed = int(rng.integers(2**62))
            for diversify in (0.0, 0.3, 0.6):  # widen the set until the ideal values spread
                ts = training_circuits(c, self.n_training, fraction_non_clifford=self.fraction_non_clifford,
                                       replace=self.replace, seed=seed, diversify=diversify)
                ys = np.array([ideal_value(t, context.observable) for t in ts])
                if np.ptp(ys) >= 0.1 * context.observable.bound:
                    break
            sets.append(ts)
            ideal.append(ys)
        batch = [f for ts in sets for t in ts for f in self._scaled(t)]
        counts = [n for total in shots for n in _even(total, self.n_training * m)]
        keep = [j for j, n in enumerate(counts) if n > 0]
        got = estimator([batch[j] for j in keep], [counts[j] for j in keep], int(rng.integers(2**62)))
        values = np.full(len(batch), np.nan)
        for j, e in zip(keep, got, strict=True):
            values[j] = e.value
        x = values.reshape(len(circuits), self.n_training, m)
        return [(x[i], ideal[i]) for i in range(len(circuits))]

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """The CDR estimator on top of ``estimator`` (see the module docs)."""

        def estimate(circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed) -> list[Estimate]:
            rng = as_generator(seed)
            circuits, shots = list(circuits), [int(s) for s in shots]
            m = len(self.scale_factors)
            training: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(circuits)
            target_shots = list(shots)
            one_off: list[str | None] = [None] * len(circuits)
            if self.reuse == "per_circuit":
                target_shots = [max(m, round(self.target_share * n)) for n in shots]
                for i, t in enumerate(self._train(estimator, context, circuits,
                                                  [n - t for n, t in zip(shots, target_shots, strict=True)], rng)):
                    training[i] = t
            else:
                for i, c in enumerate(circuits):
                    key = f"{self.name}:{_structure(c)}:{context.observable.text}"
                    one_off[i] = key
                    if key not in self._cache:
                        budget = self.training_shots or shots[i]
                        with context.executor.charged_to(key):
                            self._cache[key] = self._train(estimator, context, [c], [budget], rng)[0]
                    training[i] = self._cache[key]
            per_scale = [_even(n, m) for n in target_shots]
            batch = [f for c in circuits for f in self._scaled(c)]
            got = estimator(batch, [n for row in per_scale for n in row], int(rng.integers(2**62)))
            out = []
            for i in range(len(circuits)):
                target = got[i * m:(i + 1) * m]
                x_t = self._features(target)
                s_t = np.array([e.stderr for e in target])
                train = training[i]
                assert train is not None
                out.append(self._estimate(train, x_t, s_t, target, shots[i] if self.reuse == "per_circuit"
                                          else sum(e.shots for e in target), one_off[i], rng))
            return out

        return estimate

    def _estimate(self, train: tuple[np.ndarray, np.ndarray], x_t: np.ndarray, s_t: np.ndarray,
                  target: list[Estimate], shots: int, key: str | None, rng: np.random.Generator) -> Estimate:
        x, y = train
        ok = np.all(np.isfinite(x), axis=1)
        x, y = x[ok], y[ok]
        details: dict[str, Any] = {"method": self.name, "n_training": len(y), "reuse": self.reuse,
                                   "noisy": x_t.tolist(), "noisy_stderr": s_t.tolist(),
                                   "scale_factors": list(self.scale_factors)}
        if key is not None:
            details["structure"] = key
        spread = float(np.ptp(x[:, 0])) if len(x) else 0.0
        if len(y) < 3 or spread <= 1e-12 or np.ptp(y) <= 1e-9:
            details["refused"] = (f"{self.name}: the training set does not vary ({len(y)} circuits, noisy spread "
                                  f"{spread:.2g}, ideal spread {np.ptp(y) if len(y) else 0:.2g}); returning the "
                                  f"unmitigated value")
            return Estimate(float(x_t[0]), float(s_t[0]), shots, details)
        coef = self._fit(x, y)
        value = self._predict(coef, x_t)
        boots = []
        for _ in range(self.bootstrap):
            idx = rng.integers(len(y), size=len(y))
            if np.ptp(x[idx, 0]) <= 1e-12:
                continue
            boots.append(self._predict(self._fit(x[idx], y[idx]), x_t + rng.normal(size=x_t.shape) * s_t))
        stderr = float(np.std(boots, ddof=1)) if len(boots) > 1 else math.inf
        details["coefficients"] = coef.tolist()
        details["training_ideal_mean"] = float(np.mean(y))
        return Estimate(value, stderr, shots, details)


def _even(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def cdr(n_training: int = 20, fraction_non_clifford: float = 0.1, scale_factors: Sequence[float] | None = None, *,
        reuse: str = "per_circuit", target_share: float = 0.3, replace: str = "random", bootstrap: int = 200,
        training_shots: int | None = None) -> CDR:
    """Clifford data regression (module docs): a method for :func:`qtandem.mitigate.execute`.

    Args:
        n_training: training circuits per fit.
        fraction_non_clifford: the fraction of non-Clifford rotations a training circuit keeps.
        scale_factors: ``None`` for CDR; noise scales (global folding) for vnCDR, e.g. ``[1, 2, 3]``.
        reuse: ``"per_circuit"`` (training shots inside each estimate's budget) or
            ``"per_structure"`` (one fit per structure and observable, cached; its shots one-off).
        target_share: with ``"per_circuit"``, the share of the budget the target gets.
        replace: how replaced angles are chosen: ``"random"`` or ``"nearest"`` (:func:`training_circuits`).
        bootstrap: bootstrap resamples of the standard error.
        training_shots: with ``"per_structure"``, the one-off training budget (default: the first
            estimate's shots).

    Returns:
        A :class:`CDR` method (named ``"cdr"`` or ``"vncdr"``).

    Raises:
        ArgumentTypeError: any argument out of range.

    Examples:
        >>> cdr()
        cdr(n_training=20, fraction_non_clifford=0.1, scale_factors=None, reuse='per_circuit')
    """
    if isinstance(n_training, bool) or not isinstance(n_training, int) or n_training < 3:
        raise ArgumentTypeError(f"cdr: n_training must be an integer >= 3, got {n_training!r}")
    if not 0 <= fraction_non_clifford <= 1:
        raise ArgumentTypeError(f"cdr: fraction_non_clifford must be in [0, 1], got {fraction_non_clifford!r}")
    if scale_factors is not None:
        scales = [float(s) for s in scale_factors]
        if len(scales) < 2 or len(set(scales)) != len(scales) or min(scales) < 1:
            raise ArgumentTypeError(f"cdr: scale_factors (vnCDR) must be at least two distinct numbers >= 1, got "
                                    f"{list(scale_factors)}")
    if reuse not in ("per_circuit", "per_structure"):
        raise ArgumentTypeError(f"cdr: reuse must be 'per_circuit' or 'per_structure', got {reuse!r}")
    if not 0 < target_share < 1:
        raise ArgumentTypeError(f"cdr: target_share must be in (0, 1), got {target_share!r}")
    if replace not in ("random", "nearest"):
        raise ArgumentTypeError(f"cdr: replace must be 'random' or 'nearest', got {replace!r}")
    if training_shots is not None and (isinstance(training_shots, bool) or int(training_shots) < 1):
        raise ArgumentTypeError(f"cdr: training_shots must be a positive integer, got {training_shots!r}")
    return CDR(n_training, float(fraction_non_clifford), scale_factors, reuse, float(target_share), replace,
               int(bootstrap), None if training_shots is None else int(training_shots))
