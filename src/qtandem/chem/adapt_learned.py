"""Learned operator selection for ADAPT-VQE: rank the pool from cheap features, measure only the top ``k``.

Plain ADAPT measures the energy gradient of every pool operator at every iteration (qubit-ADAPT on LiH
CAS(2,5): 920 pool gradients per iteration). On hardware each one is a separate estimation. Here an
:class:`OperatorRanker` scores every pool operator from features that need no new measurement, ADAPT
measures only the ``top_k`` best-scored gradients (:func:`qtandem.chem.adapt.adapt_vqe` with
``ranker=``), and falls back to the full pool when the measured top-``k`` gradients look too small:
their norm under ``fallback_tol`` or their largest under ``fallback_ratio`` times the previous
iteration's chosen gradient. The stopping test on the gradient norm is always made on the full pool,
so ADAPT never stops earlier than the plain algorithm would at the same state.

Features (:data:`FEATURES`; every one is classical: Hamiltonian matrix elements between determinants,
the ansatz so far, and gradients already measured):

- ``hf_gradient``: the exact gradient at the Hartree-Fock determinant (Slater-Condon level: one
  Hamiltonian row), relative to the pool's largest;
- ``mp2``: ``|<D|H|HF>| / (E_D - E_HF)`` for ``D`` the determinant the operator makes from HF, relative;
- ``second_order``: the same from each determinant the chosen operators populate, weighted by
  ``|sin theta|`` of that operator, the largest, relative;
- ``last_gradient``, ``fresh_gradient``, ``age``, ``unmeasured``: the operator's most recently measured
  gradient (relative to the largest measured at the latest iteration), that value if measured at the
  previous iteration, iterations since then, never measured;
- ``chosen``, ``sibling``, ``overlap_last``, ``width``: in the ansatz already; another operator on the
  same spin orbitals is; qubits shared with the last chosen operator; its support size.

The model is a linear score trained with a listwise softmax loss (ListNet) against the full pool
gradients of ADAPT traces on training molecules (:func:`collect_traces`, which follows the ranked
loop itself so the features have the distribution they have at use), in NumPy and SciPy.

Examples:
    >>> from types import SimpleNamespace
    >>> from qtandem.circuit.pauli import PauliSum
    >>> from qtandem.chem.adapt import adapt_vqe
    >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 + 0.2*X0*X2 + 0.2*Y0*Y2")
    >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0001, n_orbitals=2, references={})
    >>> r = adapt_vqe(prob, "qubit-adapt", ranker=OperatorRanker.default(), top_k=1, compile_level=None)
    >>> r.operators, r.extra["pool_gradients"] < 2 * r.extra["pool_size"]
    (['Y0X2'], True)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.circuit.pauli import PauliSum, word_masks
from qtandem.errors import ChemistryError

__all__ = ["FEATURES", "OperatorRanker", "PoolFeatures", "RandomRanker", "collect_traces", "subset_gradients"]

FEATURES = ("hf_gradient", "mp2", "second_order", "last_gradient", "fresh_gradient", "age", "unmeasured",
            "chosen", "sibling", "overlap_last", "width", "mp2_unmeasured")

_IPOW = np.array([1, 1j, -1, -1j], dtype=np.complex128)
_GAP_FLOOR = 0.05


def _masks(op: PauliSum) -> list[tuple[complex, int, int, int]]:
    out = []
    for coef, word in op.terms:
        if coef == 0:
            continue
        x, z, ny = word_masks(word)
        out.append((complex(coef), x, z, ny))
    return out


def subset_gradients(generators: Sequence[PauliSum], state: np.ndarray, hamiltonian_state: np.ndarray,
                     indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """``2 Im <H psi|G_k psi>`` (ADAPT's pool gradient of ``exp(-i theta G_k)`` at ``theta = 0``) for the
    given ``indices`` only, on full ``2**n`` state vectors.

    Args:
        generators: the pool's generators.
        state: ``psi``.
        hamiltonian_state: ``H psi``.
        indices: which generators.

    Examples:
        >>> psi = np.array([1, 0], dtype=complex)
        >>> hpsi = np.array([0, 1], dtype=complex)                 # H = X0
        >>> subset_gradients([PauliSum("0.5*X0"), PauliSum("0.5*Y0")], psi, hpsi, [1]).round(6).tolist()
        [1.0]
    """
    psi = np.asarray(state, dtype=np.complex128)
    lam = np.asarray(hamiltonian_state, dtype=np.complex128)
    idx = np.arange(psi.shape[0], dtype=np.int64)
    out = np.empty(len(indices))
    for i, k in enumerate(indices):
        total = 0j
        for coef, x, z, ny in _masks(generators[int(k)]):
            # (P psi)[j] = i**ny (-1)**popcount((j^x) & z) psi[j ^ x]
            src = idx ^ x
            sign = 1 - 2 * (np.bitwise_count(src & z) & 1).astype(np.float64)
            total += coef * _IPOW[ny % 4] * np.vdot(lam, sign * psi[src])
        out[i] = 2.0 * total.imag
    return out


class PoolFeatures:
    """The classical features of one problem's pool (see the module docstring), computed per iteration.

    Args:
        problem: a problem with ``hamiltonian``, ``n_qubits`` and ``hf_state``.
        operators: the pool's :class:`~qtandem.chem.ansatz.Operator` s.

    Examples:
        >>> from types import SimpleNamespace
        >>> from qtandem.chem.adapt import pool
        >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 + 0.2*X0*X2 + 0.2*Y0*Y2")
        >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0001, n_orbitals=2)
        >>> ops = pool(prob, "qubit-adapt")
        >>> f = PoolFeatures(prob, ops)
        >>> m = f.matrix([], np.zeros(0), np.zeros(len(ops)), np.full(len(ops), -1), 0)
        >>> m.shape, [op.label for op, v in zip(ops, m[:, 0]) if v > 0]   # hf_gradient: the two strings of 0->2
        ((12, 12), ['Y0X2', 'X0Y2'])
    """

    def __init__(self, problem: Any, operators: Sequence[Any]) -> None:
        self.n_qubits = int(problem.n_qubits)
        self.hf = int(problem.hf_state)
        self.operators = list(operators)
        terms = _masks(problem.hamiltonian)
        self._hx = np.array([t[1] for t in terms], dtype=np.int64)
        self._hz = np.array([t[2] for t in terms], dtype=np.int64)
        self._hc = np.array([t[0] * _IPOW[t[3] % 4] for t in terms], dtype=np.complex128)
        diag = self._hx == 0
        self._dz, self._dc = self._hz[diag], self._hc[diag]
        self._ux, inverse = np.unique(self._hx, return_inverse=True)
        self._uinv = inverse
        # per operator: its terms (coef, x, z, ny) and flip masks
        self._terms = [_masks(op.generator) for op in self.operators]
        self.mask = np.array([max((t[1] for t in ts), key=lambda m: (bin(m).count("1"), m)) if ts else 0
                              for ts in self._terms], dtype=np.int64)
        self.support = [frozenset(op.qubits) for op in self.operators]
        self.width = np.array([bin(int(m)).count("1") for m in self.mask], dtype=np.float64)
        self._col = np.searchsorted(self._ux, self.mask)
        self._has = (self._col < len(self._ux)) & (self._ux[np.minimum(self._col, len(self._ux) - 1)] == self.mask)
        self.hf_gradient = self._hf_gradients()
        self.mp2 = self._coupling(self.hf)

    def _diag(self, states: np.ndarray) -> np.ndarray:
        signs = 1 - 2 * (np.bitwise_count(states[:, None] & self._dz[None, :]) & 1).astype(np.float64)
        return (signs @ self._dc).real

    def _row(self, b: int) -> np.ndarray:
        """``<b ^ x|H|b>`` for every distinct flip mask ``x`` of the Hamiltonian."""
        sign = 1 - 2 * (np.bitwise_count(np.int64(b) & self._hz) & 1).astype(np.float64)
        out = np.zeros(len(self._ux), dtype=np.complex128)
        np.add.at(out, self._uinv, self._hc * sign)
        return out

    def _coupling(self, b: int) -> np.ndarray:
        """``|<b ^ S_k|H|b>| / max(E(b ^ S_k) - E(b), floor)`` per operator (its flip mask ``S_k``)."""
        row = self._row(b)
        elem = np.where(self._has, np.abs(row[np.minimum(self._col, len(row) - 1)]), 0.0)
        gap = self._diag(np.int64(b) ^ self.mask) - self._diag(np.array([b], dtype=np.int64))[0]
        return elem / np.maximum(np.abs(gap), _GAP_FLOOR)

    def _hf_gradients(self) -> np.ndarray:
        row = self._row(self.hf)
        lookup = dict(zip(self._ux.tolist(), row.tolist(), strict=True))
        out = np.zeros(len(self.operators))
        for k, ts in enumerate(self._terms):
            total = 0j
            for coef, x, z, ny in ts:
                # <HF^x|G|HF> = c i**ny (-1)**popcount(HF & z); gradient 2 Im conj(<HF^x|H|HF>) <HF^x|G|HF>
                g = coef * _IPOW[ny % 4] * (1 - 2 * (bin(self.hf & z).count("1") & 1))
                total += np.conj(lookup.get(x, 0j)) * g
            out[k] = abs(2.0 * total.imag)
        return out

    def matrix(self, chosen: Sequence[int], parameters: np.ndarray, last_gradient: np.ndarray,
               last_iteration: np.ndarray, iteration: int) -> np.ndarray:
        """The ``(pool size, len(FEATURES))`` feature matrix at an ADAPT iteration.

        Args:
            chosen: pool indices of the ansatz operators so far, in order.
            parameters: their parameters.
            last_gradient: each operator's most recently measured gradient (any value where never measured).
            last_iteration: the iteration it was measured at, ``-1`` for never.
            iteration: the current iteration (0 first).
        """
        n = len(self.operators)

        def rel(v: np.ndarray) -> np.ndarray:
            m = float(np.max(np.abs(v))) if v.size else 0.0
            return np.abs(v) / m if m > 0 else np.zeros_like(v, dtype=np.float64)

        second = np.zeros(n)
        seen: dict[int, float] = {}
        for pos, k in enumerate(chosen):
            b = self.hf ^ int(self.mask[k])
            w = abs(float(np.sin(parameters[pos]))) if pos < len(parameters) else 0.0
            seen[b] = max(seen.get(b, 0.0), w)
        for b, w in seen.items():
            if w > 0:
                second = np.maximum(second, w * self._coupling(b))
        measured = last_iteration >= 0
        latest = int(last_iteration.max()) if measured.any() else -1
        scale = float(np.max(np.abs(last_gradient[last_iteration == latest]))) if latest >= 0 else 0.0
        last = np.where(measured, np.abs(last_gradient), 0.0) / scale if scale > 0 else np.zeros(n)
        last = np.minimum(last, 2.0)
        age = np.where(measured, iteration - last_iteration, 10).astype(np.float64)
        fresh = np.where(age == 1, last, 0.0)
        chosen_set = {int(k) for k in chosen}
        chosen_support = {self.support[k] for k in chosen_set}
        sib = np.array([float(self.support[k] in chosen_support and k not in chosen_set) for k in range(n)])
        if chosen:
            last_q = self.support[int(chosen[-1])]
            overlap = np.array([len(self.support[k] & last_q) / max(1, len(self.support[k])) for k in range(n)])
        else:
            overlap = np.zeros(n)
        unmeasured = (~measured).astype(np.float64)
        mp2 = rel(self.mp2)
        return np.column_stack([
            rel(self.hf_gradient), mp2, rel(second), last, fresh, np.minimum(age, 10) / 10, unmeasured,
            np.array([float(k in chosen_set) for k in range(n)]), sib, overlap, self.width / 4.0,
            mp2 * unmeasured,
        ])


class OperatorRanker:
    """A linear scorer of pool operators, trained listwise on ADAPT traces (see the module docstring).

    Args:
        weights: one weight per entry of :data:`FEATURES` (default: the heuristic "last measured gradient,
            then the Hartree-Fock gradient").
        sharpness: exponent of the training target ``p_k ~ (|g_k| / max |g|) ** sharpness``.
        l2: ridge penalty on the weights.

    Examples:
        >>> r = OperatorRanker()
        >>> f = np.zeros((3, len(FEATURES))); f[1, FEATURES.index("last_gradient")] = 1.0
        >>> int(np.argmax(r.score(f)))
        1
    """

    def __init__(self, weights: Sequence[float] | None = None, *, sharpness: float = 8.0, l2: float = 1e-3) -> None:
        if weights is None:
            w = np.zeros(len(FEATURES))
            w[FEATURES.index("last_gradient")] = 4.0
            w[FEATURES.index("fresh_gradient")] = 2.0
            w[FEATURES.index("mp2_unmeasured")] = 3.0
            w[FEATURES.index("hf_gradient")] = 1.0
            w[FEATURES.index("chosen")] = -2.0
            weights = w.tolist()
        self.weights_ = np.asarray(weights, dtype=np.float64)
        if self.weights_.shape != (len(FEATURES),):
            raise ChemistryError(f"an OperatorRanker takes {len(FEATURES)} weights, got {self.weights_.shape}")
        self.sharpness = float(sharpness)
        self.l2 = float(l2)
        self.info_: dict[str, Any] = {}

    @classmethod
    def default(cls) -> OperatorRanker:
        """The shipped model (trained by ``bench/chem_adapt.py`` on the training molecules; see the README),
        or the heuristic weights when the file is missing.

        Examples:
            >>> OperatorRanker.default().weights_.shape
            (12,)
        """
        path = Path(__file__).with_name("data") / "adapt_ranker.safetensors"
        return cls.load(path) if path.exists() else cls()

    def score(self, features: np.ndarray) -> np.ndarray:
        """One score per operator (higher: measure first)."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != len(FEATURES):
            raise ChemistryError(f"features must have shape (n, {len(FEATURES)}), got {f.shape}")
        return f @ self.weights_

    def fit(self, traces: Sequence[tuple[np.ndarray, np.ndarray]]) -> OperatorRanker:
        """Fit the weights on ``(features, full pool gradients)`` pairs, one per ADAPT iteration.

        Examples:
            >>> rng = np.random.default_rng(0)
            >>> traces = []
            >>> for _ in range(20):
            ...     f = rng.random((30, len(FEATURES)))
            ...     traces.append((f, f[:, 1] ** 2))         # the gradient follows feature 'mp2'
            >>> r = OperatorRanker().fit(traces)
            >>> int(np.argmax(np.abs(r.weights_))) == FEATURES.index("mp2")
            True
        """
        from scipy.optimize import minimize

        data = []
        for f, g in traces:
            a = np.abs(np.asarray(g, dtype=np.float64))
            if a.max() <= 0:
                continue
            t = (a / a.max()) ** self.sharpness
            data.append((np.asarray(f, dtype=np.float64), t / t.sum()))
        if not data:
            raise ChemistryError("no trace with a nonzero gradient to fit on")

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            total, grad = 0.0, np.zeros_like(w)
            for f, t in data:
                s = f @ w
                s = s - s.max()
                p = np.exp(s)
                p /= p.sum()
                total -= float(t @ np.log(p + 1e-300))
                grad += f.T @ (p - t)
            n = len(data)
            return total / n + self.l2 * float(w @ w), grad / n + 2 * self.l2 * w

        res = minimize(loss, np.zeros(len(FEATURES)), jac=True, method="L-BFGS-B")
        self.weights_ = np.asarray(res.x, dtype=np.float64)
        self.info_ = {"loss": float(res.fun), "n_traces": len(data)}
        return self

    def recall(self, traces: Sequence[tuple[np.ndarray, np.ndarray]], k: int) -> float:
        """Share of iterations where the ``k`` best-scored operators include one with the largest gradient
        magnitude (ties count: the Pauli strings of one excitation often have equal gradients).

        Examples:
            >>> f = np.eye(len(FEATURES))[:4]; g = np.array([0.0, 0.0, 0.0, 1.0])  # operator 3: 'last_gradient'
            >>> OperatorRanker().recall([(f, g)], 1)
            1.0
        """
        hits = []
        for f, g in traces:
            a = np.abs(np.asarray(g))
            top = np.argsort(-self.score(f), kind="stable")[:k]
            hits.append(float(a[top].max() >= (1 - 1e-9) * a.max()))
        return float(np.mean(hits)) if hits else 0.0

    def save(self, path: str | Path) -> None:
        """Write the weights as safetensors (atomic), with the feature names in the metadata.

        Examples:
            >>> import tempfile
            >>> p = Path(tempfile.mkdtemp()) / "r.safetensors"
            >>> OperatorRanker().save(p)
            >>> bool(np.allclose(OperatorRanker.load(p).weights_, OperatorRanker().weights_))
            True
        """
        import torch

        from qtandem.io import write_safetensors

        write_safetensors(path, {"weights": torch.tensor(self.weights_)},
                          {"format": "qtandem.chem.OperatorRanker/1", "features": json.dumps(list(FEATURES)),
                           "info": json.dumps(self.info_)})

    @classmethod
    def load(cls, path: str | Path) -> OperatorRanker:
        """Read a model written by :meth:`save`.

        Raises:
            ChemistryError: written for other features.
        """
        from qtandem.io import read_safetensors

        tensors, meta = read_safetensors(path)
        if json.loads(meta.get("features", "[]")) != list(FEATURES):
            raise ChemistryError(f"{path}: the ranker was trained on other features than {FEATURES}")
        out = cls(tensors["weights"].double().numpy().tolist())
        out.info_ = json.loads(meta.get("info", "{}"))
        return out


class RandomRanker:
    """A baseline: random scores (seeded), i.e. ``top_k`` random operators per iteration.

    Examples:
        >>> RandomRanker(0).score(np.zeros((3, len(FEATURES)))).shape
        (3,)
    """

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Uniform random scores."""
        return np.asarray(self.rng.random(np.asarray(features).shape[0]), dtype=np.float64)


def collect_traces(problem: Any, kind: str = "qubit-adapt", *, ranker: Any = None, top_k: int = 20,
                   **options: Any) -> tuple[list[tuple[np.ndarray, np.ndarray]], Any]:
    """Run ranked ADAPT on a training problem and record, per iteration, the features and the FULL pool
    gradients (computed for the labels only; the run itself uses the ranked top-``k`` as at use).

    Args:
        problem: a training problem.
        kind: the pool.
        ranker: the ranker the run follows (default: the heuristic :class:`OperatorRanker`).
        top_k: as in :func:`qtandem.chem.adapt.adapt_vqe`.
        **options: passed to :func:`qtandem.chem.adapt.adapt_vqe`.

    Returns:
        ``(traces, result)``.

    Examples:
        >>> from types import SimpleNamespace
        >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 + 0.2*X0*X2 + 0.2*Y0*Y2")
        >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0001, n_orbitals=2, references={})
        >>> traces, r = collect_traces(prob, top_k=2, compile_level=None)
        >>> len(traces), traces[0][0].shape
        (2, (12, 12))
    """
    from qtandem.chem.adapt import adapt_vqe

    traces: list[tuple[np.ndarray, np.ndarray]] = []
    result = adapt_vqe(problem, kind, ranker=ranker if ranker is not None else OperatorRanker(), top_k=top_k,
                       trace=traces, **options)
    return traces, result
