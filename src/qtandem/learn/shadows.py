"""Classical shadows: expectation values, fidelities and Rényi-2 entropies from randomized measurements.

Estimators of Huang, Kueng and Preskill (Nature Physics 16, 1050, 2020) on a
:class:`~qtandem.learn.ShotRecord`:

* **Pauli shadows** (random Pauli basis per qubit): a shot measured in bases ``B`` with
  outcomes ``b`` estimates a Pauli ``P`` of weight ``w`` by ``3**w (-1)**(b . supp P)`` when
  ``B`` agrees with ``P`` on its support, else 0. Shots are grouped by the support of the
  observables: one integer code per shot and support, then one ``bincount`` gives every
  Pauli on that support at once (never a loop over shots x observables).
* **Clifford shadows** (random global Clifford ``U``): ``(2**n + 1) <b|U P U^dagger|b>`` for a
  Pauli ``P`` (the conjugated Pauli is built with bit operations on the stored tableaus), and
  ``(2**n + 1) |<b|U|psi>|**2 - 1`` for the fidelity with a pure state.

Every estimate comes with a standard error from the per-shot variance (``k = 1``: the mean,
error ``sigma / sqrt(T)``). With ``k > 1`` the shots are split into ``k`` groups by index
(records keep shots in random order) and the value is the median of the group means, with
error bar ``sqrt(pi / 2) sigma / sqrt(T)`` (the large-``k`` normal approximation; larger than
the true spread for small ``k``). Error bars assume independent shots, except in :func:`fidelity`,
which takes the shots of each basis (consecutive shots measured in the same basis) as one unit.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.learn import measure_randomized
    >>> rec = measure_randomized(Circuit(2).h(0).cx(0, 1), 20000, seed=1)
    >>> est = estimate(rec, ["XX", "ZZ", "ZI", "YY"])
    >>> est.values.round(decimals=1).tolist()
    [1.0, 1.0, 0.0, -1.0]
    >>> bool((est.stderr < 0.03).all())
    True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from qtandem.circuit.pauli import PauliSum
from qtandem.errors import DataError, ObservableError
from qtandem.learn.shots import LETTERS, ShotRecord

__all__ = ["ShadowEstimate", "ShotBudget", "estimate", "fidelity", "load_observables", "parse_observables", "purity",
           "renyi2", "required_shots"]

BATCH = 1 << 16
_LABEL = re.compile(r"[+-]?[IXYZ]+")


class ShadowEstimate(NamedTuple):
    """Estimated values and their standard errors (float64 tensors of the same shape).

    Examples:
        >>> est = ShadowEstimate(torch.tensor([0.5], dtype=torch.float64), torch.tensor([0.01], dtype=torch.float64))
        >>> values, stderr = est
        >>> float(values[0]), float(stderr[0])
        (0.5, 0.01)
    """

    values: torch.Tensor
    stderr: torch.Tensor


class ShotBudget(NamedTuple):
    """Shots for an accuracy target: ``shots`` in all, split into ``k`` groups for the median of means.

    Examples:
        >>> required_shots(["ZZ"], eps=0.1, delta=0.05)
        ShotBudget(shots=244800, k=8, shadow_norm=9.0)
    """

    shots: int
    k: int
    shadow_norm: float


def parse_observables(observables: Any) -> list[PauliSum]:
    """A list of Pauli sums from a PauliSum, a string or a sequence of them.

    A string is a dense label with qubit 0 rightmost (``"XIZ"``, ``"-ZZ"``) or a sum in
    :meth:`PauliSum.from_string` syntax (``"0.5*Z0 Z1 + X2"``).

    Raises:
        ObservableError: an empty list, an unparsable string, a non-Hermitian observable.

    Examples:
        >>> parse_observables(["XIZ", "0.5*Z0 Z1"])
        [PauliSum('Z0*X2'), PauliSum('0.5*Z0*Z1')]
    """
    items = [observables] if isinstance(observables, (str, PauliSum)) else list(observables)
    if not items:
        raise ObservableError("no observables given")
    out = []
    for item in items:
        if isinstance(item, str):
            text = item.strip()
            obs = PauliSum.from_label(text) if _LABEL.fullmatch(text) else PauliSum.from_string(text)
        elif isinstance(item, PauliSum):
            obs = item
        else:
            raise ObservableError(f"an observable must be a PauliSum or a string, got {type(item).__name__}")
        if not obs.is_hermitian(1e-9):
            raise ObservableError(f"observable {obs} is not Hermitian (complex coefficients): its expectation "
                                  "value is not real")
        out.append(obs)
    return out


def load_observables(path: str | Path) -> tuple[list[str], list[PauliSum]]:
    """Observables from a file: a JSON list of strings, or text with one observable per line.

    Blank lines and ``#`` comments are skipped in text files. Each entry is parsed as in
    :func:`parse_observables`.

    Returns:
        ``(texts, observables)``: the entries as written and the parsed Pauli sums.

    Raises:
        ObservableError: an unreadable or empty file, JSON that is not a list of strings, an
            entry that does not parse (the message names the file and line).

    Examples:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "obs.txt"
        >>> _ = f.write_text("# two-point functions\\nZZI\\n0.5*X0 X1\\n")
        >>> load_observables(f)
        (['ZZI', '0.5*X0 X1'], [PauliSum('Z1*Z2'), PauliSum('0.5*X0*X1')])
    """
    import json

    file = Path(path)
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ObservableError(f"{file}: cannot read the observables file ({exc})") from None
    entries: list[tuple[int, str]]
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ObservableError(f"{file}: not valid JSON ({exc})") from None
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise ObservableError(f"{file}: expected a JSON list of strings such as [\"ZZI\", \"0.5*X0 X1\"]")
        entries = [(i + 1, x) for i, x in enumerate(items)]
        where = "entry"
    else:
        entries = [(i + 1, line.split("#", 1)[0].strip()) for i, line in enumerate(text.splitlines())]
        entries = [(i, x) for i, x in entries if x]
        where = "line"
    if not entries:
        raise ObservableError(f"{file}: no observables in the file")
    out = []
    for i, entry in entries:
        try:
            out.extend(parse_observables([entry]))
        except ObservableError as exc:
            raise ObservableError(f"{file}:{where} {i}: {exc}") from None
    return [x for _, x in entries], out


def _batches(record: ShotRecord | str | Path | Iterable[ShotRecord]) -> Iterator[ShotRecord]:
    if isinstance(record, ShotRecord):
        yield from record.iter_batches(BATCH)
    elif isinstance(record, (str, Path)):
        for part in ShotRecord.iter_load(record):
            yield from part.iter_batches(BATCH)
    else:
        for part in record:
            if not isinstance(part, ShotRecord):
                raise DataError(f"expected a ShotRecord, a saved record's folder or an iterable of ShotRecords, "
                                f"got {type(part).__name__}")
            yield from part.iter_batches(BATCH)


def _pack(bits: np.ndarray) -> np.ndarray:
    """Rows of bits -> uint64 (bit j of the integer is column j); at most 64 columns."""
    return (bits.astype(np.uint64) << np.arange(bits.shape[-1], dtype=np.uint64)).sum(axis=-1, dtype=np.uint64)


def _popcount_parity(x: np.ndarray) -> np.ndarray:
    return (np.bitwise_count(x) & 1).astype(np.int64)


class _Terms:
    """The Pauli terms of a list of observables, grouped by support."""

    def __init__(self, obs: list[PauliSum], n: int) -> None:
        self.supports: dict[tuple[int, ...], dict[int, int]] = {}  # support -> {letter key: column}
        self.terms: list[list[tuple[float, tuple[int, ...], tuple[int, ...], int]]] = []
        for m, o in enumerate(obs):
            rows: list[tuple[float, tuple[int, ...], tuple[int, ...], int]] = []
            for coef, word in o.terms:
                qubits = tuple(q for q, _ in word)
                if qubits and qubits[-1] >= n:
                    raise ObservableError(f"observable {m} ({o}) acts on qubit {qubits[-1]} but the record has "
                                          f"{n} qubits")
                letters = tuple(LETTERS.index(p) for _, p in word)
                key = sum(c * 3 ** i for i, c in enumerate(letters))
                cols = self.supports.setdefault(qubits, {})
                cols.setdefault(key, len(cols))
                rows.append((complex(coef).real, qubits, letters, int(key)))
            self.terms.append(rows)
        self.single = [len(rows) == 1 for rows in self.terms]
        self.by_support: dict[tuple[int, ...], list[tuple[int, float, int]]] = {q: [] for q in self.supports}
        for m, rows in enumerate(self.terms):
            for coef, qubits, _, key in rows:
                self.by_support[qubits].append((m, coef, key))


def _accumulate(record: Any, obs: list[PauliSum], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group g and observable m: shot count, sum of per-shot estimates, sum of their squares."""
    if int(k) != k or k < 1:
        raise ObservableError(f"k (groups of the median of means) must be a positive integer, got {k!r}")
    k = int(k)
    total, sums, squares = np.zeros(k), np.zeros((k, len(obs))), np.zeros((k, len(obs)))
    terms: _Terms | None = None
    offset, n, kind = 0, -1, ""
    for rec in _batches(record):
        if terms is None:
            n, kind = rec.n_qubits, rec.kind
            terms = _Terms(obs, n)
        elif (rec.n_qubits, rec.kind) != (n, kind):
            raise DataError(f"the record's batches disagree: {rec.kind} on {rec.n_qubits} qubits after {kind} on {n}")
        size = len(rec)
        group = (offset + np.arange(size)) % k
        offset += size
        total += np.bincount(group, minlength=k)
        if kind == "pauli":
            _pauli_batch(rec, terms, group, k, sums, squares)
        else:
            vals = _clifford_values(rec, terms)
            for m in range(len(obs)):
                sums[:, m] += np.bincount(group, weights=vals[m], minlength=k)
                squares[:, m] += np.bincount(group, weights=vals[m] ** 2, minlength=k)
    if terms is None or offset == 0:
        raise DataError("the record has no shots")
    return total, sums, squares


def _pauli_batch(rec: ShotRecord, terms: _Terms, group: np.ndarray, k: int, sums: np.ndarray,
                 squares: np.ndarray) -> None:
    size = len(rec)
    multi = [m for m, single in enumerate(terms.single) if not single]
    values = np.zeros((len(multi), size))
    for qubits, cols in terms.supports.items():
        w = len(qubits)
        if w:
            code = rec.bases[:, qubits].astype(np.int64) @ (3 ** np.arange(w, dtype=np.int64))
            sign = 1.0 - 2.0 * (np.bitwise_xor.reduce(rec.outcomes[:, qubits], axis=1))
        else:
            code, sign = np.zeros(size, dtype=np.int64), np.ones(size)
        keys = np.fromiter(cols, dtype=np.int64, count=len(cols))
        if 3 ** w <= 4 * size + 64:  # a lookup table over every letter code of the support
            table = np.full(3 ** w, -1, dtype=np.int64)
            table[keys] = np.arange(len(keys))
            column = table[code]
            hit = column >= 0
        else:
            order = np.argsort(keys)
            pos = np.minimum(np.searchsorted(keys[order], code), len(keys) - 1)
            hit = keys[order][pos] == code
            column = order[pos]
        idx = group[hit] * len(cols) + column[hit]
        s1 = np.bincount(idx, weights=sign[hit], minlength=k * len(cols)).reshape(k, len(cols))
        n1 = np.bincount(idx, minlength=k * len(cols)).reshape(k, len(cols))
        scale = 3.0 ** w
        for m, coef, key in terms.by_support[qubits]:
            if terms.single[m]:
                sums[:, m] += coef * scale * s1[:, cols[key]]
                squares[:, m] += coef ** 2 * scale ** 2 * n1[:, cols[key]]
            else:
                values[multi.index(m)] += np.where(hit & (column == cols[key]), coef * scale * sign, 0.0)
    for j, m in enumerate(multi):
        sums[:, m] += np.bincount(group, weights=values[j], minlength=k)
        squares[:, m] += np.bincount(group, weights=values[j] ** 2, minlength=k)


def _tableau_ints(rec: ShotRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per shot and tableau row: x bits, z bits (uint64) and the phase ``r`` of ``i**r X**x Z**z``."""
    n = rec.n_qubits
    if n > 64:
        raise DataError(f"Clifford records are estimated on up to 64 qubits, the record has {n}")
    x, z = _pack(rec.bases[:, :, :n]), _pack(rec.bases[:, :, n:2 * n])
    r = (2 * rec.bases[:, :, 2 * n].astype(np.int64) + np.bitwise_count(x & z)) % 4  # Y = i X Z
    return x, z, r


def _clifford_values(rec: ShotRecord, terms: _Terms) -> np.ndarray:
    """Per observable and shot: ``(2**n + 1) <b|U P U^dagger|b>`` summed over the terms (identity: exact)."""
    n, size = rec.n_qubits, len(rec)
    tx, tz, tr = _tableau_ints(rec)
    b = _pack(rec.outcomes)
    out = np.zeros((len(terms.terms), size))
    for m, rows in enumerate(terms.terms):
        for coef, qubits, letters, _ in rows:
            if not qubits:
                out[m] += coef
                continue
            x = np.zeros(size, dtype=np.uint64)
            z = np.zeros(size, dtype=np.uint64)
            r = np.full(size, sum(1 for c in letters if c == 1), dtype=np.int64)  # P = i^{#Y} X^px Z^pz
            factors = [q for q, c in zip(qubits, letters, strict=True) if c in (0, 1)]
            factors += [n + q for q, c in zip(qubits, letters, strict=True) if c in (1, 2)]
            for row in factors:  # (i^r X^x Z^z)(i^r' X^x' Z^z') = i^(r+r') (-1)^(z.x') X^(x+x') Z^(z+z')
                r += tr[:, row] + 2 * _popcount_parity(z & tx[:, row])
                x ^= tx[:, row]
                z ^= tz[:, row]
            diag = x == 0
            sign = 1 - 2 * (((r // 2) + _popcount_parity(b & z)) & 1)
            out[m] += np.where(diag, coef * (2.0 ** n + 1) * sign, 0.0)
    return out


def _finish(total: np.ndarray, sums: np.ndarray, squares: np.ndarray, k: int) -> ShadowEstimate:
    t = total.sum()
    mean = sums.sum(axis=0) / t
    var = np.maximum(squares.sum(axis=0) / t - mean ** 2, 0.0) * t / max(t - 1, 1)
    stderr = np.sqrt(var / t)
    if k > 1:
        ok = total > 0
        mean = np.median(sums[ok] / total[ok, None], axis=0)
        stderr = stderr * math.sqrt(math.pi / 2)
    return ShadowEstimate(torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(stderr, dtype=torch.float64))


def estimate(record: ShotRecord | str | Path | Iterable[ShotRecord], observables: Any, k: int = 1) -> ShadowEstimate:
    """Expectation values of many Pauli observables (Pauli strings or Pauli sums) from one record.

    Args:
        record: a :class:`~qtandem.learn.ShotRecord`, the folder of a saved one (streamed chunk by
            chunk in bounded memory) or an iterable of records (batches of one record).
        observables: a PauliSum, a string, or a sequence of them (see :func:`parse_observables`).
        k: groups of the median of means (1: the plain mean).

    Returns:
        :class:`ShadowEstimate` with ``values`` and ``stderr`` of shape ``(M,)``.

    Raises:
        ObservableError: a bad observable, one on a qubit the record lacks, a bad ``k``.
        DataError: an empty or inconsistent record.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.learn import measure_randomized
        >>> rec = measure_randomized(Circuit(3).ry(1.0, 0).cx(0, 2), 30000, seed=2)
        >>> est = estimate(rec, ["IIZ", "ZIZ", "0.5*Z0 + 0.5*X0 X2"], k=5)
        >>> est.values.round(decimals=1).tolist()     # cos(1) = 0.54, 1, (0.54 + 0.84) / 2
        [0.5, 1.0, 0.7]
        >>> est.stderr.shape
        torch.Size([3])
    """
    obs = parse_observables(observables)
    return _finish(*_accumulate(record, obs, k), int(k))


def _normalized_state(state: Any, n: int) -> torch.Tensor:
    psi = torch.as_tensor(np.asarray(state) if isinstance(state, np.ndarray) else state).to(torch.complex128)
    if psi.shape != (1 << n,):
        raise DataError(f"fidelity(): the state must be a ({1 << n},) vector for a {n}-qubit record, "
                        f"got {tuple(psi.shape)}")
    norm = float(psi.abs().pow(2).sum())
    if abs(norm - 1) > 1e-6:
        raise DataError(f"fidelity(): the state is not normalised (norm {norm:.6g})")
    return psi


def _fidelity_pauli(rec: ShotRecord, psi: torch.Tensor) -> np.ndarray:
    """Per shot ``<psi| prod_q (3 u_q^dagger |b_q><b_q| u_q - I) |psi>``, qubit by qubit on batches of states."""
    from qtandem.learn.shots import _ROT

    n = rec.n_qubits
    ops = []
    for c in range(3):
        u = np.asarray(_ROT[c], dtype=complex)
        ops.append([3 * np.outer(u[s].conj(), u[s]) - np.eye(2) for s in range(2)])
    mats = torch.as_tensor(np.array(ops), dtype=torch.complex128).reshape(6, 2, 2)
    option = rec.bases.astype(np.int64) * 2 + rec.outcomes
    out = np.zeros(len(rec))
    chunk = max(1, (1 << 22) >> n)
    for start in range(0, len(rec), chunk):
        opt = option[start:start + chunk]
        x = psi.reshape(1, -1).expand(len(opt), -1).clone()
        for q in range(n):
            y = x.reshape(len(opt), 1 << (n - 1 - q), 2, 1 << q)
            new = torch.empty_like(y)
            for c in range(6):
                sel = torch.as_tensor(np.flatnonzero(opt[:, q] == c))
                if len(sel):
                    new[sel] = torch.matmul(mats[c], y[sel])
            x = new.reshape(len(opt), -1)
        out[start:start + len(opt)] = (x @ psi.conj()).real.cpu().numpy()
    return out


def _fidelity_clifford(rec: ShotRecord, psi: torch.Tensor, runs: np.ndarray, control: bool = False) -> np.ndarray:
    """Per shot ``(2**n + 1) |<b|U|psi>|**2 - 1``: ``U psi`` once per run of shots sharing a Clifford.

    ``control``: minus ``(2**n + 1) sum_b |<b|U|psi>|**4 - 2``, the same estimator for ``psi``'s own
    shots, whose mean over Cliffords is exactly 0 (a control variate; see :func:`fidelity`).

    Up to 10 qubits ``U psi`` comes from the tableau (:func:`~qtandem.learn.shots.clifford_apply`),
    beyond from the Clifford's circuit on ``psi`` (qtandem's simulator, on ``psi``'s torch device:
    a 20-qubit Clifford of ~650 gates takes ~0.3 s on one CPU core).
    """
    from qtandem.learn.shots import clifford_apply, clifford_circuit
    from qtandem.sim.core import statevector

    n = rec.n_qubits
    out = np.zeros(len(rec))
    index = (rec.outcomes.astype(np.int64) << np.arange(n, dtype=np.int64)).sum(1)
    edges = np.flatnonzero(np.diff(runs)) + 1
    host = psi.cpu().numpy() if n <= 10 else None
    for a, b in zip(np.r_[0, edges], np.r_[edges, len(rec)], strict=True):
        if host is not None:
            amp = torch.as_tensor(clifford_apply(rec.bases[a], host))
        else:
            amp = statevector(clifford_circuit(rec.bases[a]), initial_state=psi).cpu()
        probs = amp.abs().pow(2).numpy()
        out[a:b] = (2.0 ** n + 1) * probs[index[a:b]] - 1
        if control:
            out[a:b] -= (2.0 ** n + 1) * float(probs @ probs) - 2
    return out


def _runs(bases: np.ndarray, previous: np.ndarray | None, first: int) -> tuple[np.ndarray, int]:
    """Labels of runs of consecutive shots with equal bases, numbered from ``first``, and the next free label.

    A run that continues ``previous`` (the last basis of the batch before) keeps that run's label ``first - 1``.
    """
    flat = bases.reshape(len(bases), -1)
    if not len(flat):
        return np.zeros(0, dtype=np.int64), first
    new = np.ones(len(flat), dtype=bool)
    new[1:] = (flat[1:] != flat[:-1]).any(1)
    if previous is not None and np.array_equal(flat[0], previous.reshape(-1)):
        new[0] = False
    labels = (first - 1 + np.cumsum(new)).astype(np.int64)
    return labels, int(labels[-1]) + 1


def fidelity(record: ShotRecord | str | Path | Iterable[ShotRecord], state: Any, k: int = 1, *,
             control_variate: bool = False) -> ShadowEstimate:
    """Fidelity ``<psi|rho|psi>`` of the measured state ``rho`` with a known pure state ``psi``.

    Pauli records apply each shot's product snapshot to ``psi`` (``n 2**n`` work per shot; the
    variance grows like ``2**n`` for entangled ``psi``); Clifford records need ``U psi`` once per
    drawn Clifford (shots measured in the same Clifford share it) and have variance below 3 for
    any ``psi``.

    Shots measured in the same basis (consecutive shots with equal bases, as
    ``measure_randomized(..., shots_per_basis=m)`` writes them) are not independent: the error
    bar treats each such run as one unit (the cluster-robust standard error of the mean over
    shots; with one shot per basis it is the plain ``sigma / sqrt(T)``), and the ``k`` groups
    of the median of means are made of whole runs. With few shots per basis the error bar is
    close to the per-shot one; with many it is set by the number of bases.

    ``control_variate=True`` (Clifford records) subtracts from each Clifford's value the same
    estimator evaluated on ``psi``'s own outcome distribution, ``(2**n + 1) sum_b |<b|U|psi>|**4 - 1``,
    and adds back its mean over Cliffords, exactly 1 (the shadow of a pure state predicts its own
    purity; random Cliffords are a 2-design). The estimate stays unbiased and needs no extra work
    (``U psi`` is computed anyway), and the Clifford-to-Clifford spread cancels as far as the measured
    state resembles ``psi``: for a stabilizer-like state (GHZ), whose plain estimate varies by
    ``O(1)`` from one Clifford to the next, the error bar shrinks by orders of magnitude when the
    fidelity is near 1.

    Args:
        record: as in :func:`estimate`.
        state: ``(2**n,)`` state vector (tensor or array), normalised; a CUDA tensor runs the
            Clifford circuits of a large record on the GPU.
        k: groups of the median of means.
        control_variate: subtract the zero-mean control variate above (Clifford records only).

    Returns:
        :class:`ShadowEstimate` of scalar tensors.

    Raises:
        DataError: a state of the wrong size or not normalised; an empty record; ``control_variate``
            with a Pauli record.

    Examples:
        >>> from qtandem import Circuit, statevector
        >>> from qtandem.learn import measure_randomized
        >>> bell = Circuit(2).h(0).cx(0, 1)
        >>> rec = measure_randomized(bell, 400, basis="clifford", seed=3)
        >>> f = fidelity(rec, statevector(bell))
        >>> bool(abs(f.values - 1) < 4 * f.stderr + 1e-9)
        True
        >>> many = measure_randomized(bell, 4000, basis="clifford", seed=3, shots_per_basis=100)   # 40 Cliffords
        >>> g = fidelity(many, statevector(bell))
        >>> bool(g.stderr > 2 * fidelity(many[::100], statevector(bell)).stderr / 10)   # not 1/sqrt(4000)
        True
        >>> cv = fidelity(many, statevector(bell), control_variate=True)   # exact model: no spread left
        >>> round(float(cv.values), 6), bool(cv.stderr < 1e-6)
        (1.0, True)
    """
    if int(k) != k or k < 1:
        raise ObservableError(f"k must be a positive integer, got {k!r}")
    k = int(k)
    sums: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    offset, next_label = 0, 0
    previous: np.ndarray | None = None
    psi: torch.Tensor | None = None
    for rec in _batches(record):
        psi = _normalized_state(state, rec.n_qubits) if psi is None else psi
        labels, next_label = _runs(rec.bases, previous, next_label)
        if control_variate and rec.kind != "clifford":
            raise DataError("fidelity(control_variate=True) needs a Clifford record (its control variate is "
                            "exact in expectation only for random global Cliffords)")
        vals = (_fidelity_pauli(rec, psi.cpu()) if rec.kind == "pauli"
                else _fidelity_clifford(rec, psi, labels, control_variate))
        if len(rec):
            previous = rec.bases[-1].copy()
        offset += len(rec)
        sums.append(np.bincount(labels, weights=vals, minlength=next_label))
        counts.append(np.bincount(labels, minlength=next_label).astype(float))
    if offset == 0:
        raise DataError("the record has no shots")
    unit_sum = np.zeros(next_label)
    unit_count = np.zeros(next_label)
    for s_, c_ in zip(sums, counts, strict=True):
        unit_sum[:len(s_)] += s_
        unit_count[:len(c_)] += c_
    mean = unit_sum.sum() / unit_count.sum()
    units = len(unit_sum)
    resid = unit_sum - unit_count * mean
    stderr = math.sqrt((resid ** 2).sum() * units / max(units - 1, 1)) / unit_count.sum()
    if k > 1:
        group = np.arange(units) % k
        tot = np.bincount(group, weights=unit_count, minlength=k)
        ok = tot > 0
        mean = float(np.median(np.bincount(group, weights=unit_sum, minlength=k)[ok] / tot[ok]))
        stderr *= math.sqrt(math.pi / 2)
    return ShadowEstimate(torch.tensor(mean, dtype=torch.float64), torch.tensor(stderr, dtype=torch.float64))


def purity(record: ShotRecord, subsystem: Sequence[int] | None = None) -> ShadowEstimate:
    """Purity ``Tr(rho_A**2)`` of a subsystem from all pairs of distinct Pauli snapshots (a U-statistic).

    Two single-qubit snapshots give ``Tr(s s') = 5`` (same basis, same bit), ``-4`` (same basis,
    other bit) or ``1/2`` (other basis); a pair's kernel is the product over ``A``. The sum over
    all pairs comes from a histogram of the shots' ``6**|A|`` local outcomes (``|A| <= 10``), and
    the standard error from the U-statistic's variance (Hoeffding's formula, plug-in).

    Args:
        record: a Pauli :class:`~qtandem.learn.ShotRecord` with at least 2 shots.
        subsystem: qubits of ``A`` (default: all).

    Raises:
        DataError: a Clifford record, fewer than 2 shots, a qubit outside the record, ``|A| > 10``.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.learn import measure_randomized
        >>> rec = measure_randomized(Circuit(2).h(0).cx(0, 1), 20000, seed=4)
        >>> round(float(purity(rec, [0]).values), 1), round(float(purity(rec).values), 1)
        (0.5, 1.0)
    """
    if not isinstance(record, ShotRecord) or record.kind != "pauli":
        raise DataError("purity() and renyi2() take a Pauli ShotRecord (random Pauli bases)")
    qubits = list(range(record.n_qubits)) if subsystem is None else [int(q) for q in subsystem]
    if not qubits or len(set(qubits)) != len(qubits) or min(qubits) < 0 or max(qubits) >= record.n_qubits:
        raise DataError(f"subsystem {qubits}: expected distinct qubits among 0..{record.n_qubits - 1}")
    a, t = len(qubits), len(record)
    if a > 10:
        raise DataError(f"subsystem of {a} qubits: the pair sum is done for up to 10 qubits")
    if t < 2:
        raise DataError("purity() needs at least 2 shots")
    local = (record.bases[:, qubits].astype(np.int64) * 2 + record.outcomes[:, qubits]) @ (6 ** np.arange(a))
    hist = np.bincount(local, minlength=6 ** a).astype(float)
    single = np.full((6, 6), 0.5)
    for c in range(3):
        single[2 * c:2 * c + 2, 2 * c:2 * c + 2] = [[5, -4], [-4, 5]]

    def kron_apply(f: np.ndarray, v: np.ndarray) -> np.ndarray:
        x = v.reshape((6,) * a)
        for axis in range(a):
            x = np.moveaxis(np.tensordot(f, x, axes=([1], [axis])), 0, axis)
        return x.reshape(-1)

    row = kron_apply(single, hist)  # per local outcome: sum over all shots of the kernel
    g = (row[local] - 5.0 ** a) / (t - 1)  # per shot: mean kernel with the other shots
    value = float(g.mean())
    pairs_sq = (hist @ kron_apply(single ** 2, hist) - t * 25.0 ** a) / (t * (t - 1))
    zeta1 = float(g.var(ddof=1)) if t > 2 else 0.0
    zeta2 = max(pairs_sq - value ** 2, 0.0)
    var = 2.0 / (t * (t - 1)) * (2 * (t - 2) * zeta1 + zeta2)
    return ShadowEstimate(torch.tensor(value, dtype=torch.float64), torch.tensor(math.sqrt(var), dtype=torch.float64))


def renyi2(record: ShotRecord, subsystem: Sequence[int] | None = None) -> ShadowEstimate:
    """Rényi-2 entropy ``-log2 Tr(rho_A**2)`` in bits (error bar by the delta method from :func:`purity`).

    Raises:
        DataError: as :func:`purity`, or an estimated purity that is not positive (too few shots).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.learn import measure_randomized
        >>> rec = measure_randomized(Circuit(2).h(0).cx(0, 1), 20000, seed=4)
        >>> round(float(renyi2(rec, [1]).values), 1)     # one Bell qubit: 1 bit
        1.0
    """
    p = purity(record, subsystem)
    if float(p.values) <= 0:
        raise DataError(f"the estimated purity is {float(p.values):.3g} (not positive): take more shots")
    return ShadowEstimate(-torch.log2(p.values), p.stderr / (p.values * math.log(2)))


def _shadow_norm(obs: PauliSum, basis: str, n: int) -> float:
    """Bound on the squared shadow norm of the traceless part of ``obs``."""
    terms = [(abs(complex(c)), len(w)) for c, w in obs.terms if w]
    if basis == "pauli":  # 3**w for one Pauli; the triangle inequality for sums
        return float(sum(c * 3.0 ** (w / 2) for c, w in terms) ** 2)
    return float(3 * 2.0 ** n * sum(c ** 2 for c, _ in terms))  # <= 3 Tr(O_0**2) for global Cliffords


def required_shots(observables: Any, eps: float, delta: float, *, basis: str = "pauli",
                   n_qubits: int | None = None) -> ShotBudget:
    """Shots for every estimate to be within ``eps`` with probability ``1 - delta`` (median of means).

    The bound of Huang, Kueng and Preskill (Theorem 1): ``k = 2 ln(2M / delta)`` groups of
    ``34 / eps**2 * max ||O_i||**2_shadow`` shots, with the squared shadow norm ``3**w`` for a
    weight-``w`` Pauli in Pauli shadows (a triangle-inequality bound for sums) and
    ``3 Tr(O**2)`` for global Clifford shadows. The constant 34 is loose; the error bars of
    :func:`estimate` are the sharper guide once data is in.

    Args:
        observables: as in :func:`estimate` (``M`` of them).
        eps: accuracy, > 0.
        delta: failure probability, in (0, 1).
        basis: ``"pauli"`` or ``"clifford"``.
        n_qubits: qubits of the state (Clifford bound; default: the highest qubit used + 1).

    Raises:
        ObservableError: bad observables, ``eps``, ``delta`` or ``basis``.

    Examples:
        >>> required_shots(["XIZ", "ZZZ"], eps=0.05, delta=0.01)
        ShotBudget(shots=4406400, k=12, shadow_norm=27.0)
    """
    obs = parse_observables(observables)
    if not eps > 0 or not 0 < delta < 1 or basis not in ("pauli", "clifford"):
        raise ObservableError(f"required_shots(): need eps > 0, 0 < delta < 1 and basis 'pauli' or 'clifford'; "
                              f"got {eps!r}, {delta!r}, {basis!r}")
    n = n_qubits if n_qubits is not None else max(o.num_qubits for o in obs)
    norm = max(_shadow_norm(o, basis, n) for o in obs)
    k = math.ceil(2 * math.log(2 * len(obs) / delta))
    per_group = math.ceil(34 * norm / eps ** 2)
    return ShotBudget(per_group * k, k, norm)
