"""Readout mitigation: confusion matrices from calibration circuits or a known device, inverted.

A :class:`ReadoutModel` holds confusion matrices ``M[i, j] = P(read i | true j)`` on blocks
of qubits (one qubit: *tensored*; a pair or more: *correlated*), the first qubit of a block
the least significant bit of ``i`` and ``j`` (as :class:`qtandem.noise.ReadoutError`). It
comes from calibration circuits (:func:`calibrate`: ``|0..0>`` and ``|1..1>`` with per-qubit
marginals, or every preparation of each block run in parallel) or from what is known of
the device (:meth:`ReadoutModel.from_noise`: a NoiseModel, Device or
``qtandem.learn.Calibration``; no shots).

Where each inversion is used:

- **Expectation values and probabilities** (:func:`readout` in :func:`~qtandem.mitigate.execute`):
  a Pauli-Z string or an outcome's indicator is a product over blocks, so its mitigated
  mean is the mean over shots of ``prod_B (M_B^-T f_B)(b_B)``: the full inverse, applied
  shot by shot, exactly unbiased given the matrices (the quasi-probabilities' own
  estimate, negative parts included), with a standard error from the per-shot values'
  sample variance (calibration noise not included). Any number of qubits, no 2^n object.
- **Distributions** (:func:`m3_solve`): the M3 method (Nation et al., PRX Quantum 2, 040326):
  the confusion matrix restricted to the observed bitstrings (optionally their Hamming
  neighbours), columns renormalised, entries beyond Hamming distance ``distance`` dropped,
  solved matrix-free by preconditioned GMRES: a quasi-probability distribution, unbiased
  up to the truncation, fine at 30 qubits. :func:`nearest_probability` then gives the
  closest probability distribution (Smolin, Gambetta, Smith, PRL 108, 070502):
  positive, but no longer unbiased.

Examples:
    >>> model = ReadoutModel.tensored({0: [[0.9, 0.2], [0.1, 0.8]]})
    >>> quasi = m3_solve({"0": 550, "1": 450}, model)
    >>> {k: round(v, 6) for k, v in quasi.items()}
    {'0': 0.5, '1': 0.5}
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.errors import ArgumentTypeError, NoiseError
from qtandem.mitigate.core import Context, CountsEstimator, Estimator
from qtandem.mitigate.observable import counts_to_bits
from qtandem.random import Seed, as_generator

__all__ = ["ReadoutMitigation", "ReadoutModel", "calibrate", "default_blocks", "m3_solve", "nearest_probability",
           "readout"]


def _check_matrix(matrix: Any, k: int, where: str) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.shape != (2**k, 2**k):
        raise NoiseError(f"{where}: a confusion matrix on {k} qubit(s) is {2**k}x{2**k}, got shape {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(m < -1e-12) or not np.allclose(m.sum(axis=0), 1.0, atol=1e-9):
        raise NoiseError(f"{where}: a confusion matrix has entries in [0, 1] and columns summing to 1 "
                         f"(M[i, j] = P(read i | true j))")
    if abs(np.linalg.det(m)) < 1e-9:
        raise NoiseError(f"{where}: the confusion matrix is singular (readout as bad as a coin flip): it cannot "
                         f"be inverted")
    return m


def _marginal(matrix: np.ndarray, k: int, i: int) -> np.ndarray:
    """The 2x2 confusion of bit ``i`` of a ``k``-bit block, the other true bits uniformly mixed."""
    out = np.zeros((2, 2))
    for t in range(2**k):
        for r in range(2**k):
            out[(r >> i) & 1, (t >> i) & 1] += matrix[r, t]
    return out / 2 ** (k - 1)


@dataclass
class ReadoutModel:
    """Confusion matrices on blocks of qubits, and each qubit's own (marginal) matrix.

    Attributes:
        blocks: ``{qubits: (2**k, 2**k) matrix}`` for correlated blocks (``k >= 2``), disjoint.
        singles: ``{qubit: (2, 2) matrix}``; used for qubits outside a fully measured block.
        source: where the matrices came from (``"calibration"``, ``"noise"``), for the record.

    Examples:
        >>> model = ReadoutModel.tensored({0: [[0.98, 0.05], [0.02, 0.95]], 1: [[1, 0], [0, 1]]})
        >>> [qs for _, qs in model.for_measured([0, 1])], model.kind
        ([(0,), (1,)], 'tensored')
    """

    blocks: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict)
    singles: dict[int, np.ndarray] = field(default_factory=dict)
    source: str = "given"

    def __post_init__(self) -> None:
        seen: set[int] = set()
        blocks = {}
        for qs, m in self.blocks.items():
            qs = tuple(int(q) for q in qs)
            if seen & set(qs) or len(set(qs)) != len(qs):
                raise NoiseError(f"readout blocks must be disjoint, got qubit(s) {sorted(seen & set(qs))} twice")
            seen.update(qs)
            blocks[qs] = _check_matrix(m, len(qs), f"readout block {qs}")
            for i, q in enumerate(qs):
                self.singles.setdefault(q, _marginal(blocks[qs], len(qs), i))
        self.blocks = blocks
        self.singles = {int(q): _check_matrix(m, 1, f"readout of qubit {q}") for q, m in self.singles.items()}

    @classmethod
    def tensored(cls, singles: Mapping[int, Any], source: str = "given") -> ReadoutModel:
        """A model of independent qubits: ``{qubit: 2x2 matrix}``."""
        return cls({}, {int(q): np.asarray(m, dtype=float) for q, m in singles.items()}, source)

    @property
    def kind(self) -> str:
        """``"correlated"`` with multi-qubit blocks, else ``"tensored"``."""
        return "correlated" if any(len(qs) > 1 for qs in self.blocks) else "tensored"

    def for_measured(self, measured: Sequence[int]) -> list[tuple[np.ndarray, tuple[int, ...]]]:
        """Matrices for ``measured`` qubits: whole blocks first, then single qubits (as
        :meth:`qtandem.noise.NoiseModel.readout_errors`); qubits without a matrix are read as ideal.

        Examples:
            >>> model = ReadoutModel({(0, 1): np.eye(4)})
            >>> [qs for _, qs in model.for_measured([0, 1, 2])], [qs for _, qs in model.for_measured([1])]
            ([(0, 1)], [(1,)])
        """
        mset, covered = set(measured), set[int]()
        out = []
        for qs, m in self.blocks.items():
            if len(qs) > 1 and set(qs) <= mset:
                out.append((m, qs))
                covered.update(qs)
        out.extend((self.singles[q], (q,)) for q in measured if q not in covered and q in self.singles)
        return out

    @classmethod
    def from_noise(cls, noise: Any, n_qubits: int) -> ReadoutModel:
        """The readout errors a NoiseModel, Device or ``qtandem.learn.Calibration`` states for ``n_qubits``.

        Raises:
            ArgumentTypeError: ``noise`` is none of these.

        Examples:
            >>> from qtandem.noise import NoiseModel, readout_error
            >>> ReadoutModel.from_noise(NoiseModel().add_readout(readout_error(0.1, 0.2)), 2).singles[1].tolist()
            [[0.9, 0.2], [0.1, 0.8]]
        """
        from qtandem.noise.model import NoiseModel

        if callable(getattr(noise, "device", None)) and not isinstance(noise, NoiseModel):
            noise = noise.device()  # a Calibration: its fitted device
        if not isinstance(noise, NoiseModel) and callable(getattr(noise, "noise_model", None)):
            noise = noise.noise_model()
        if not isinstance(noise, NoiseModel):
            raise ArgumentTypeError(f"readout matrices come from a NoiseModel, a Device or a Calibration, got "
                                    f"{type(noise).__name__}")
        blocks: dict[tuple[int, ...], np.ndarray] = {}
        singles: dict[int, np.ndarray] = {}
        for err, qs in noise.readout_errors(list(range(n_qubits))):
            m = err.matrix.detach().cpu().numpy().astype(float)
            if len(qs) == 1:
                singles[qs[0]] = m
            else:
                blocks[tuple(qs)] = m
        for (q,), err in ((k, e) for k, e in noise.readout.items() if len(k) == 1 and k[0] < n_qubits):
            singles[q] = err.matrix.detach().cpu().numpy().astype(float)
        return cls(blocks, singles, "noise")

    def companions(self, qubits: set[int]) -> set[int]:
        """``qubits`` and the other qubits of every correlated block they touch (all are read, so the
        block's matrix applies exactly).

        Examples:
            >>> ReadoutModel({(0, 1): np.eye(4)}).companions({1, 3})
            {0, 1, 3}
        """
        out = set(qubits)
        for qs in self.blocks:
            if out & set(qs):
                out |= set(qs)
        return out

    def apply(self, measured: Sequence[int], phis: Mapping[int, np.ndarray], bits: np.ndarray) -> np.ndarray:
        """Per-shot values of ``prod_q phi_q(b_q)`` with the readout inverted (see the module docstring).

        Examples:
            >>> model = ReadoutModel.tensored({0: [[0.9, 0.1], [0.1, 0.9]]})
            >>> model.apply([0], {0: np.array([1.0, -1.0])}, np.array([[0], [1]])).tolist()
            [1.25, -1.25]
        """
        column = {q: j for j, q in enumerate(measured)}
        out = np.ones(bits.shape[0])
        found = self.for_measured(measured)
        for matrix, qs in found:
            if not any(q in phis for q in qs):
                continue  # M^-T 1 = 1: columns of M sum to one
            k = len(qs)
            idx = np.arange(2**k)
            f = np.ones(2**k)
            for i, q in enumerate(qs):
                if q in phis:
                    f = f * np.asarray(phis[q], dtype=float)[(idx >> i) & 1]
            g = np.linalg.solve(matrix.T, f)
            read = np.zeros(bits.shape[0], dtype=np.int64)
            for i, q in enumerate(qs):
                read |= bits[:, column[q]].astype(np.int64) << i
            out = out * g[read]
        known = {q for _, qs in found for q in qs}
        for q, phi in phis.items():  # qubits the model says nothing about: read as they are
            if q not in known:
                out = out * np.asarray(phi, dtype=float)[bits[:, column[q]]]
        return out


CALIBRATION_SHOTS = 2**15
"""Default shots per calibration circuit. On issue 17's 10-qubit device (GHZ parity, 20 calibration
seeds, bench/mitigation_readout.py) the readout-mitigated error (RMSE vs the exact pre-readout value)
is 0.0068 with 2^15 shots and x-error extrapolation, 0.0125 with 2^13; 0.0082 / 0.0116 without
extrapolation, which over-corrects by +0.006 on average."""


def calibrate(executor: Any, n_qubits: int, *, kind: str = "tensored", shots: int = CALIBRATION_SHOTS,
              seed: Seed = None,
              blocks: Sequence[Sequence[int]] | None = None, gate_error: str = "extrapolate") -> ReadoutModel:
    """Measure a :class:`ReadoutModel` with calibration circuits.

    ``"tensored"``: ``|0..0>`` and ``|1..1>`` (``x`` on every qubit), each qubit's 2x2 matrix
    from its marginal counts. ``"correlated"``: for blocks of ``k`` qubits (default: consecutive
    pairs ``(0, 1), (2, 3), ...``) the ``2**k`` preparations of every block run in parallel, each
    block's matrix from its joint counts (crosstalk between blocks is not modelled); single-qubit
    matrices are the blocks' marginals.

    The ``x`` that prepares a 1 has its own error, which a plain calibration books as readout
    error (and the mitigation then over-corrects). With ``gate_error="extrapolate"`` every
    preparation other than all-0 is also run with ``x x x`` (three times the gate error) and each
    preparation of a single 1 is also run with ``x x x``: the ratio gives each qubit's flip
    probability per ``x`` (exactly, under any Pauli error on ``x``: the flip's contrast decays as
    ``lambda**k``), and the matrix is solved free of those flips (columns clipped at 0 and
    renormalised). The statistical variance of the excited columns grows about 2.5x.
    ``"ignore"`` books the flips as readout error. Circuits: tensored 3 (2 with ``"ignore"``),
    correlated ``2**k + k`` (``2**k``).

    Args:
        executor: ``executor(circuits, shots[, seed=])`` (a :class:`~qtandem.mitigate.core.ShotCounter`
            counts the shots).
        n_qubits: qubits of the circuits to be mitigated.
        kind: ``"tensored"`` or ``"correlated"``.
        shots: shots per calibration circuit.
        seed: seed passed to the executor.
        blocks: correlated blocks (disjoint qubit lists).
        gate_error: ``"extrapolate"`` or ``"ignore"`` (see above).

    Raises:
        ArgumentTypeError: an unknown ``kind`` or ``gate_error``.

    Examples:
        >>> from qtandem.noise import NoiseModel, depolarizing, readout_error
        >>> from qtandem.mitigate import simulator_executor
        >>> noise = NoiseModel().add(depolarizing(0.1), gates=["x"]).add_readout(readout_error(0.1, 0.2))
        >>> run = simulator_executor(noise, seed=0)
        >>> np.round(calibrate(run, 2, shots=400000, seed=1).singles[1], 2).tolist()
        [[0.9, 0.2], [0.1, 0.8]]
        >>> np.round(calibrate(run, 2, shots=400000, seed=1, gate_error="ignore").singles[1], 2).tolist()
        [[0.9, 0.25], [0.1, 0.75]]
    """
    from qtandem.mitigate.core import ShotCounter

    if kind not in ("tensored", "correlated"):
        raise ArgumentTypeError(f"readout kind is 'tensored', 'correlated' or 'auto', got {kind!r}")
    if gate_error not in ("extrapolate", "ignore"):
        raise ArgumentTypeError(f"gate_error is 'extrapolate' or 'ignore', got {gate_error!r}")
    run = executor if isinstance(executor, ShotCounter) else ShotCounter(executor)
    rng = as_generator(seed)
    chosen: list[tuple[int, ...]]
    if kind == "tensored":
        chosen = [(q,) for q in range(n_qubits)]
    elif blocks is None:
        chosen = [tuple(range(q, min(q + 2, n_qubits))) for q in range(0, n_qubits, 2)]
    else:
        chosen = [tuple(int(q) for q in b) for b in blocks]
    width = max(len(b) for b in chosen)
    repeats = (1, 3) if gate_error == "extrapolate" else (1,)
    circuits: list[Circuit] = []
    index: dict[tuple[int, int], int] = {}
    for pattern in range(2**width):
        for r in repeats if pattern and pattern & (pattern - 1) == 0 else (1,):
            c = Circuit(n_qubits, n_qubits)
            for b in chosen:
                for i, q in enumerate(b):
                    if pattern < 2 ** len(b) and (pattern >> i) & 1:
                        for _ in range(r):
                            c.x(q)
            index[pattern, r] = len(circuits)
            circuits.append(c.measure(list(range(n_qubits)), list(range(n_qubits))))
    counts = run(circuits, shots, seed=int(rng.integers(2**62)))

    def column(b: tuple[int, ...], pattern: int, r: int) -> np.ndarray:
        bits, w = counts_to_bits(counts[index[pattern, r if pattern else 1]])
        read = np.zeros(bits.shape[0], dtype=np.int64)
        for i, q in enumerate(b):
            read |= bits[:, q] << i
        return np.bincount(read, weights=w, minlength=2 ** len(b)) / shots

    found: dict[tuple[int, ...], np.ndarray] = {}
    singles: dict[int, np.ndarray] = {}
    for b in chosen:
        k = len(b)
        measured = np.stack([column(b, pattern, 1) for pattern in range(2**k)], axis=1)
        if gate_error == "extrapolate":
            flips = [_flip_probability(measured, column(b, 1 << i, 3), i) for i in range(k)]
            m = _unflip(measured, flips)
        else:
            m = measured
        if k == 1:
            singles[b[0]] = m
        else:
            found[b] = m
    return ReadoutModel(found, singles, "calibration")


def _flip_probability(measured: np.ndarray, three_x: np.ndarray, i: int) -> float:
    """The probability that one ``x`` on bit ``i`` of a block leaves it flipped back to 0.

    Under any Pauli error on ``x`` the flip's contrast decays as ``lambda**k`` after ``k`` gates, so
    ``P(read i = 1 | k x's) - P(read i = 1 | none) = a (1 + lambda**k) / 2``; the ratio of ``k = 3`` to
    ``k = 1`` gives ``lambda`` and the flip probability ``(1 - lambda) / 2``. 0 when the data does not fit.
    """
    idx = np.arange(measured.shape[0])
    ones = (idx >> i) & 1 == 1
    base = float(measured[ones, 0].sum())
    y1, y3 = float(measured[ones, 1 << i].sum()) - base, float(three_x[ones].sum()) - base
    if y1 <= 0:
        return 0.0
    disc = 4 * y3 / y1 - 3
    if disc < 0:
        return 0.0
    lam = min(1.0, (1 + math.sqrt(disc)) / 2)
    return (1 - lam) / 2


def _unflip(measured: np.ndarray, flips: Sequence[float]) -> np.ndarray:
    """The confusion matrix without the preparation's flips: ``measured[:, p] = sum_t M[:, t] T(t | p)``,
    ``T`` the independent 1 -> 0 flips of the prepared bits (``t`` a subset of ``p``), solved pattern by
    pattern in order of set bits; columns clipped at 0 and renormalised."""
    size = measured.shape[0]
    m = np.zeros_like(measured)
    for p in sorted(range(size), key=lambda x: bin(x).count("1")):
        col = measured[:, p].copy()
        diag = 1.0
        for i, f in enumerate(flips):
            if (p >> i) & 1:
                diag *= 1 - f
        t = (p - 1) & p
        while True:  # every proper subset t of p
            if t != p:
                weight = 1.0
                for i, f in enumerate(flips):
                    if (p >> i) & 1:
                        weight *= (1 - f) if (t >> i) & 1 else f
                col -= weight * m[:, t]
            if t == 0:
                break
            t = (t - 1) & p
        col = np.clip(col / diag, 0.0, None)
        m[:, p] = col / col.sum()
    return m


def _index_arrays(bits: np.ndarray, model: ReadoutModel, qubits: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per block: its matrix and each row's index into it."""
    out = []
    column = {q: j for j, q in enumerate(qubits)}
    for matrix, qs in model.for_measured(list(qubits)):
        idx = np.zeros(bits.shape[0], dtype=np.int64)
        for i, q in enumerate(qs):
            idx |= bits[:, column[q]] << i
        out.append((matrix, idx))
    return out


def m3_solve(counts: Mapping[str, int], model: ReadoutModel, *, qubits: Sequence[int] | None = None,
             distance: int | None = None, neighbours: int = 0, tol: float = 1e-10,
             chunk: int = 256) -> dict[str, float]:
    """Readout-mitigated quasi-probabilities of ``counts`` (M3: reduced subspace, matrix-free GMRES).

    The confusion matrix is restricted to the observed bitstrings (plus, with ``neighbours=d``,
    every bitstring within Hamming distance ``d`` of one), entries between bitstrings more than
    ``distance`` apart are dropped, and each column is renormalised to sum to one over the
    subspace. ``A x = p`` is solved by GMRES with a Jacobi preconditioner, the matrix's entries
    computed on the fly (``chunk`` rows at a time), so memory grows with the subspace, not 2^n.
    With every bitstring in the subspace and ``distance=None`` the result is the exact
    ``M^-1 p``.

    Args:
        counts: ``{bitstring: count}`` (classical bit 0 rightmost).
        model: the confusion matrices.
        qubits: the qubit read by each classical bit (default: bit ``c`` is qubit ``c``).
        distance: Hamming truncation (``None``: none).
        neighbours: add bitstrings within this Hamming distance of observed ones to the subspace.
        tol: GMRES relative tolerance.
        chunk: rows of the matrix computed at a time.

    Returns:
        ``{bitstring: quasi-probability}`` over the subspace (sums to 1; entries may be negative).

    Examples:
        >>> model = ReadoutModel.tensored({0: [[0.9, 0.1], [0.1, 0.9]], 1: [[0.8, 0.0], [0.2, 1.0]]})
        >>> {k: round(v, 4) + 0.0 for k, v in m3_solve({"00": 720, "01": 80, "10": 180, "11": 20}, model).items()}
        {'00': 1.0, '01': 0.0, '10': 0.0, '11': 0.0}
    """
    from scipy.sparse.linalg import LinearOperator, gmres

    bits, w = counts_to_bits(counts)
    n = bits.shape[1]
    if n == 0 or not len(w):
        raise NoiseError("m3_solve needs counts of at least one classical bit")
    qubits = list(range(n)) if qubits is None else [int(q) for q in qubits]
    if len(qubits) != n:
        raise NoiseError(f"m3_solve: {len(qubits)} qubits for {n} classical bits")
    if neighbours:
        rows = {tuple(r) for r in bits.tolist()}
        frontier = list(rows)
        for _ in range(int(neighbours)):
            grown = []
            for r in frontier:
                for j in range(n):
                    s = list(r)
                    s[j] ^= 1
                    t = tuple(s)
                    if t not in rows:
                        rows.add(t)
                        grown.append(t)
            frontier = grown
        extra = sorted(rows - {tuple(r) for r in bits.tolist()})
        if extra:
            bits = np.vstack([bits, np.array(extra, dtype=np.int64)])
            w = np.concatenate([w, np.zeros(len(extra), dtype=w.dtype)])
    size = bits.shape[0]
    p = w / w.sum()
    blocks = _index_arrays(bits, model, qubits)
    packed = (bits << np.arange(n, dtype=np.int64)).sum(axis=1).astype(np.uint64) if n <= 63 else None

    def rows_of(start: int, stop: int) -> np.ndarray:
        a = np.ones((stop - start, size))
        for matrix, idx in blocks:
            a *= matrix[idx[start:stop, None], idx[None, :]]
        if distance is not None:
            if packed is not None:
                d = np.bitwise_count(packed[start:stop, None] ^ packed[None, :])
            else:
                d = (bits[start:stop, None, :] != bits[None, :, :]).sum(axis=2)
            a[d > distance] = 0.0
        return a

    colsum = np.zeros(size)
    diag = np.zeros(size)
    for start in range(0, size, chunk):
        a = rows_of(start, min(size, start + chunk))
        colsum += a.sum(axis=0)
        diag[start:start + a.shape[0]] = a[np.arange(a.shape[0]), np.arange(start, start + a.shape[0])]
    if np.any(colsum <= 0):
        raise NoiseError("m3_solve: a column of the reduced confusion matrix is zero")
    diag = diag / colsum

    def matvec(x: np.ndarray) -> np.ndarray:
        y = np.empty(size)
        xs = np.ravel(x) / colsum
        for start in range(0, size, chunk):
            stop = min(size, start + chunk)
            y[start:stop] = rows_of(start, stop) @ xs
        return y

    op = LinearOperator((size, size), matvec=matvec, dtype=float)
    pre = LinearOperator((size, size), matvec=lambda x: np.ravel(x) / diag, dtype=float)
    x, info = gmres(op, p, x0=p / diag, rtol=tol, atol=0.0, M=pre, restart=min(size, 50), maxiter=200)
    if info != 0:
        residual = float(np.linalg.norm(matvec(x) - p))
        if residual > 1e-6:
            raise NoiseError(f"m3_solve: GMRES did not converge (residual {residual:.2g})")
    keys = ["".join(str(int(b)) for b in row[::-1]) for row in bits]
    return {k: float(v) for k, v in zip(keys, x, strict=True)}


def nearest_probability(quasi: Mapping[str, float]) -> dict[str, float]:
    """The probability distribution nearest (Euclidean) to a quasi-distribution summing to 1.

    Smolin, Gambetta and Smith's algorithm: the most negative entries are zeroed one by one
    and their mass spread evenly over the rest until nothing is negative. Zero entries are
    left out.

    Examples:
        >>> nearest_probability({"00": 0.6, "01": 0.5, "11": -0.1})
        {'00': 0.55, '01': 0.45}
    """
    keys = list(quasi)
    values = np.array([quasi[k] for k in keys], dtype=float)
    total = values.sum()
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise NoiseError(f"nearest_probability needs quasi-probabilities summing to 1, got {total:.6g}")
    order = np.argsort(values)  # ascending
    out = values.copy()
    spill, left = 0.0, len(values)
    for i in order:
        if out[i] + spill / left >= 0:
            break
        spill += out[i]
        out[i] = 0.0
        left -= 1
    keep = out != 0.0
    out[keep] += spill / max(left, 1)
    return {k: round(float(v), 15) for k, v, z in zip(keys, out, keep, strict=True) if z}


def default_blocks(noise: Any, n_qubits: int, *, stated_only: bool = False) -> list[tuple[int, ...]] | None:
    """Blocks for correlated calibration circuits.

    The pairs whose correlated readout ``noise`` states (a NoiseModel's two-qubit readout errors, a
    Device's ``readout_correlations``), then, unless ``stated_only``, a greedy matching of the
    device's coupling map (connected pairs) or consecutive pairs; the remaining qubits alone.
    ``None`` when nothing but single qubits would result.

    Examples:
        >>> from qtandem.device import Device
        >>> default_blocks(Device.preset("line_5"), 5)
        [(0, 1), (2, 3), (4,)]
        >>> default_blocks(None, 3, stated_only=True) is None
        True
    """
    pairs: list[tuple[int, ...]] = []
    used: set[int] = set()
    if noise is not None:
        try:
            stated = list(ReadoutModel.from_noise(noise, n_qubits).blocks)
        except ArgumentTypeError:
            stated = []
        for qs in stated:
            if not used & set(qs):
                pairs.append(qs)
                used.update(qs)
    if not stated_only:
        device = noise.device() if callable(getattr(noise, "device", None)) else noise
        graph = getattr(device, "coupling_map", None)
        edges = sorted(tuple(sorted(e)) for e in graph.edges()) if graph is not None else \
            [(q, q + 1) for q in range(n_qubits - 1)]
        for a, b in edges:
            if a < n_qubits and b < n_qubits and a not in used and b not in used:
                pairs.append((a, b))
                used.update((a, b))
    if not any(len(p) > 1 for p in pairs):
        return None
    return pairs + [(q,) for q in range(n_qubits) if q not in used]


_SHARED: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], ReadoutModel]] = weakref.WeakKeyDictionary()


def _shared_calibrations(executor: Any) -> dict[tuple[Any, ...], ReadoutModel] | None:
    """The calibrations measured through ``executor`` (one device), shared by every readout() instance."""
    try:
        return _SHARED.setdefault(executor, {})
    except TypeError:  # not weak-referenceable: no sharing
        return None


class ReadoutMitigation:
    """The readout-mitigation method (see :func:`readout`).

    Examples:
        >>> readout(kind="tensored").name
        'readout'
    """

    name = "readout"

    def __init__(self, kind: str = "auto", calibration: Any = None, shots: int = CALIBRATION_SHOTS,
                 blocks: Sequence[Sequence[int]] | None = None, gate_error: str = "extrapolate",
                 share: bool = True) -> None:
        if kind not in ("auto", "tensored", "correlated"):
            raise ArgumentTypeError(f"readout kind is 'tensored', 'correlated' or 'auto', got {kind!r}")
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise ArgumentTypeError(f"readout calibration shots must be a positive integer, got {shots!r}")
        self.kind = kind
        self.calibration = calibration
        self.shots = shots
        self.blocks = blocks
        if gate_error not in ("extrapolate", "ignore"):
            raise ArgumentTypeError(f"gate_error is 'extrapolate' or 'ignore', got {gate_error!r}")
        self.gate_error = gate_error
        self.share = bool(share)
        self.models_: dict[int, ReadoutModel] = {}

    def model(self, context: Context) -> ReadoutModel:
        """The confusion matrices for ``context`` (computed once per qubit count, then cached)."""
        n = context.n_qubits
        if n in self.models_:
            return self.models_[n]
        source = self.calibration
        if isinstance(source, str) and source == "noise":
            if context.noise is None:
                raise ArgumentTypeError("readout(calibration='noise') needs execute(..., noise=...)")
            source = context.noise
        if isinstance(source, ReadoutModel):
            model = source
        elif source is not None:
            model = ReadoutModel.from_noise(source, n)
        else:
            kind, blocks = self.kind, self.blocks
            if kind != "tensored" and blocks is None:
                blocks = default_blocks(context.noise, n, stated_only=kind == "auto")
            if kind == "auto":
                kind = "correlated" if blocks else "tensored"
            key = (n, kind, None if blocks is None else tuple(tuple(b) for b in blocks), self.shots, self.gate_error)
            shared = _shared_calibrations(context.executor.executor) if self.share else None
            if shared is not None and key in shared:
                model = shared[key]
            else:
                gen = as_generator(context.seed)
                with context.executor.charged_to(self.name):
                    model = calibrate(context.executor, n, kind=kind, shots=self.shots,
                                      seed=int(gen.integers(2**62)), blocks=blocks, gate_error=self.gate_error)
                if shared is not None:
                    shared[key] = model
        if self.kind == "tensored" and model.blocks:
            model = ReadoutModel.tensored(model.singles, model.source)
        self.models_[n] = model
        return model

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """``estimator`` with its counts' readout errors inverted (it must be the unmitigated one).

        Raises:
            ArgumentTypeError: ``estimator`` does not work on counts (readout() is not innermost).
        """
        if not isinstance(estimator, CountsEstimator):
            raise ArgumentTypeError("readout() works on counts: put it first (innermost) in methods, e.g. "
                                    "methods=[readout(), zne()]")
        model = self.model(context)
        return estimator.with_inverse(model, f"{model.kind} ({model.source})")


def readout(kind: str = "auto", calibration: Any = None, *, shots: int = CALIBRATION_SHOTS,
            blocks: Sequence[Sequence[int]] | None = None, gate_error: str = "extrapolate",
            share: bool = True) -> ReadoutMitigation:
    """Readout mitigation, for ``methods=[readout(), ...]`` (always innermost).

    Args:
        kind: ``"tensored"`` (per-qubit matrices), ``"correlated"`` (blocks) or ``"auto"``
            (correlated when the noise of ``execute(..., noise=)`` or the given calibration states
            correlated readout, on those pairs; else tensored).
        calibration: ``None``: measure with calibration circuits (one-off shots, once per
            executor, settings and qubit count, reported in ``one_off["readout"]``); ``"noise"``: the
            readout errors of ``execute(..., noise=)``; or a NoiseModel, Device,
            ``qtandem.learn.Calibration`` or :class:`ReadoutModel` (no shots).
        shots: shots per calibration circuit.
        blocks: correlated blocks for calibration circuits (default: :func:`default_blocks`:
            stated correlated pairs, then connected pairs of the device, or consecutive pairs).
        gate_error: ``"extrapolate"`` (calibration also runs ``x x x`` preparations and removes
            the ``x`` gates' own error, see :func:`calibrate`) or ``"ignore"``.
        share: reuse a calibration measured through the same executor (the same device) by any
            readout() instance with the same settings, e.g. across ``methods="auto"`` calls: the
            one-off shots are then charged once, to the first call.

    Returns:
        A :class:`ReadoutMitigation`. Expectation values use the unbiased shot-by-shot
        inversion (module docstring); :func:`m3_solve` and :func:`nearest_probability`
        give mitigated distributions.

    Examples:
        >>> from qtandem.noise import NoiseModel, readout_error
        >>> from qtandem.mitigate import execute, simulator_executor
        >>> noise = NoiseModel().add_readout(readout_error(0.05, 0.1))
        >>> res = execute(Circuit(3).x(1), "P(010)", simulator_executor(noise, seed=0),
        ...               methods=[readout(calibration=noise)], shots=20000, seed=0)
        >>> round(res.raw, 2), round(res.value, 2), res.one_off_shots
        (0.81, 1.0, 0)
    """
    return ReadoutMitigation(kind, calibration, shots, blocks, gate_error, share)
