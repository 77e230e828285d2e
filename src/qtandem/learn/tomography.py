"""State tomography baselines: linear inversion and maximum likelihood from Pauli-basis shots.

Both work on a table of counts, never on one operator per basis. A shot measured in Pauli bases
``c`` (one letter per qubit) with outcome bits ``s`` is an outcome of the product measurement
whose per-qubit effects are the six projectors ``|s><s|_c`` (``c`` in X, Y, Z; ``s`` in 0, 1). The
counts of all ``3**n`` bases then fit in one ``6**n`` table (:class:`PauliCounts`), and

* the Born probabilities of a density matrix in every basis (``6**n`` numbers),
* the operator ``sum_e w_e E_e`` of weights on those outcomes (``2**n x 2**n``),
* the Pauli expectation estimates (``4**n`` numbers)

are each ``n`` small per-qubit linear maps applied to the table (``O(n 6**n)`` work and memory).
At 8 qubits a table is ``6**8 = 1.7 M`` numbers: maximum likelihood needs about 150 MiB, where
an explicit ``3**n x 2**n x 2**n x 2**n`` stack of projectors would need 5.6 TiB. Up to
:data:`MAX_QUBITS` qubits (what fits is checked against free memory).

* :func:`linear_inversion`: every Pauli expectation is the mean parity over the shots whose
  basis agrees with the Pauli on its support; ``rho = 2**-n sum_P <P> P``. With equal shots in
  all ``3**n`` bases this is the standard linear-inversion estimate (qiskit-experiments'
  ``linear_inversion`` fitter); it need not be positive semidefinite.
* :func:`mle_tomography`: the density matrix that maximises the likelihood of the counts,
  by the diluted ``R rho R`` iteration (Hradil 1997; Řeháček et al. 2007) or by accelerated
  projected gradient with projection of the eigenvalues onto the simplex (Bolduc et al., npj
  Quantum Information 3, 44, 2017).

Examples:
    >>> from qtandem import Circuit
    >>> counts = measure_pauli_bases(Circuit(2).h(0).cx(0, 1), 2000, seed=1)
    >>> bell = torch.tensor([1, 0, 0, 1], dtype=torch.complex128) / 2 ** 0.5
    >>> rho = mle_tomography(counts)
    >>> bool(state_fidelity(rho, bell) > 0.99), bool(state_fidelity(linear_inversion(counts), bell) > 0.99)
    (True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from qtandem.errors import ArgumentTypeError, DataError, SimulationError
from qtandem.learn.shots import LETTERS, ShotRecord, _prepare
from qtandem.random import Seed, as_generator

__all__ = ["MAX_QUBITS", "PauliCounts", "linear_inversion", "measure_pauli_bases", "mle_tomography", "pauli_counts",
           "state_fidelity", "trace_distance"]

MAX_QUBITS = 10  # 6**10 outcomes: ~1 GiB per complex table
_I2 = np.eye(2, dtype=complex)
_SIGMA = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)
# effect e = 2 c + s: |s><s| in basis c = (I + (-1)**s sigma_c) / 2
PAULI_EFFECTS = np.stack([(_I2 + (1 - 2 * s) * _SIGMA[c]) / 2 for c in range(3) for s in range(2)])


class PauliCounts(NamedTuple):
    """Counts of Pauli-basis shots as one table: ``table[e]``, ``e = sum_q (2 c_q + s_q) 6**q``.

    ``c_q`` is the basis of qubit ``q`` (0, 1, 2 = X, Y, Z) and ``s_q`` its outcome bit. The table
    of a record with ``T`` shots sums to ``T``.

    Shape:
        ``table``: ``(6**n_qubits,)`` float64.

    Examples:
        >>> c = pauli_counts(ShotRecord([[2], [2], [0]], [[0], [1], [0]]))
        >>> c.n_qubits, c.table.tolist()
        (1, [1.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    """

    table: torch.Tensor
    n_qubits: int

    @property
    def shots(self) -> int:
        """Total number of shots.

        Examples:
            >>> pauli_counts(ShotRecord([[0, 1]] * 3, [[0, 1]] * 3)).shots
            3
        """
        return round(float(self.table.sum()))

    def to_record(self, *, seed: Seed = 0) -> ShotRecord:
        """The shots as a :class:`~qtandem.learn.ShotRecord` (random order; ``shots * n`` bytes twice).

        Examples:
            >>> c = pauli_counts(ShotRecord([[2, 0], [1, 1]], [[0, 1], [1, 1]]))
            >>> sorted(c.to_record().basis_labels())
            ['XZ', 'YY']
        """
        n = self.n_qubits
        reps = np.rint(self.table.numpy()).astype(np.int64)
        idx = np.repeat(np.arange(len(reps)), reps)
        digits = (idx[:, None] // 6 ** np.arange(n)) % 6
        order = as_generator(seed).permutation(len(idx))
        return ShotRecord((digits // 2)[order].astype(np.uint8), (digits % 2)[order].astype(np.uint8), kind="pauli",
                          metadata={"source": "PauliCounts.to_record"})


def _check_n(n: int, where: str) -> None:
    from qtandem.sim.memory import check_memory

    if n > MAX_QUBITS:
        raise SimulationError(f"{where}: {n} qubits is beyond tomography's {MAX_QUBITS}: the count table alone has "
                              f"6**{n} = {6 ** n:.3g} entries (use classical shadows or a neural model)")
    check_memory(4 * 16 * 6**n + 8 * 16 * 4**n, f"{where} on {n} qubits (tables of 6**{n} outcomes)")


def pauli_counts(record: ShotRecord | PauliCounts) -> PauliCounts:
    """The :class:`PauliCounts` table of a Pauli record (one ``bincount``).

    Raises:
        DataError: a Clifford record or an empty one.
        SimulationError: more than :data:`MAX_QUBITS` qubits.

    Examples:
        >>> pauli_counts(ShotRecord([[0, 2]], [[1, 0]])).table.nonzero().flatten().tolist()   # (X,1) (Z,0)
        [25]
    """
    if isinstance(record, PauliCounts):
        return record
    if not isinstance(record, ShotRecord):
        raise ArgumentTypeError(f"expected a ShotRecord or PauliCounts, got {type(record).__name__}")
    if record.kind != "pauli":
        raise DataError("tomography needs a Pauli-basis record; this one is a Clifford record")
    if not len(record):
        raise DataError("tomography needs at least one shot; the record is empty")
    n = record.n_qubits
    _check_n(n, "pauli_counts()")
    codes = (2 * record.bases.astype(np.int64) + record.outcomes) @ (6 ** np.arange(n, dtype=np.int64))
    return PauliCounts(torch.as_tensor(np.bincount(codes, minlength=6**n).astype(np.float64)), n)


def _modes(x: torch.Tensor, matrix: torch.Tensor, n: int) -> torch.Tensor:
    """Apply ``matrix`` ``(out, in)`` to each axis of flat ``x`` (``in**n`` entries; axis ``k``: qubit ``n-1-k``)."""
    out, inn = matrix.shape
    done = 1
    for k in range(n):
        x = torch.einsum("oi,aib->aob", matrix, x.reshape(done, inn, inn ** (n - 1 - k)))
        done *= out
    return x.reshape(-1)


_PAULIS = torch.as_tensor(np.concatenate([_I2[None], _SIGMA]), dtype=torch.complex128)  # I, X, Y, Z


def _pauli_coords(rho: torch.Tensor, n: int) -> torch.Tensor:
    """``tr(rho P)`` for the ``4**n`` Paulis (flat, letter of qubit ``q`` is digit ``q`` in base 4)."""
    perm = [a for k in range(n) for a in (k, n + k)]  # axis pair k: (row bit, column bit) of qubit n-1-k
    flat = rho.to(torch.complex128).reshape((2,) * (2 * n)).permute(perm).reshape(-1)
    return _modes(flat, _PAULIS.transpose(1, 2).reshape(4, 4), n).real  # [P, 2r + c] = P[c, r]


def _from_pauli_coords(x: torch.Tensor, n: int) -> torch.Tensor:
    """``2**-n sum_P x_P P`` as a ``2**n x 2**n`` matrix."""
    flat = _modes(x.to(torch.complex128), (_PAULIS.reshape(4, 4) / 2).T.contiguous(), n)  # [2r + c, P] = P[r, c] / 2
    perm = [2 * k for k in range(n)] + [2 * k + 1 for k in range(n)]
    return flat.reshape((2,) * (2 * n)).permute(perm).reshape(1 << n, 1 << n)


def _effect_pauli(effects: Any) -> torch.Tensor:
    """``C[e, P] = tr(E_e P)`` (real for Hermitian effects)."""
    eff = torch.as_tensor(effects, dtype=torch.complex128)
    return torch.einsum("eij,pji->ep", eff, _PAULIS).real.contiguous()


def born_table(rho: torch.Tensor, effects: Any, n: int) -> torch.Tensor:
    """``tr(rho E_e)`` for every product effect ``E_e = kron_q effects[e_q]`` (flat, ``m**n``, float64).

    Examples:
        >>> born_table(torch.eye(2, dtype=torch.complex128) / 2, PAULI_EFFECTS, 1).tolist()
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    """
    return _modes(_pauli_coords(rho, n), _effect_pauli(effects) / 2, n)


def effect_sum(weights: torch.Tensor, effects: Any, n: int) -> torch.Tensor:
    """``sum_e weights[e] kron_q effects[e_q]`` as a ``2**n x 2**n`` matrix (``weights`` flat, ``m**n``).

    Examples:
        >>> effect_sum(torch.ones(6, dtype=torch.float64), PAULI_EFFECTS, 1).real.tolist()   # 3 bases
        [[3.0, 0.0], [0.0, 3.0]]
    """
    return _from_pauli_coords(_modes(weights.to(torch.float64), _effect_pauli(effects).T.contiguous(), n), n)


def linear_inversion(record: ShotRecord | PauliCounts, *, psd: bool = True) -> torch.Tensor:
    """Linear-inversion density matrix of Pauli-basis shots.

    ``<P>`` is the mean of ``(-1)**(bits on supp P)`` over the shots whose basis agrees with ``P``
    on its support (0 when no shot does), and ``rho = 2**-n sum_P <P> P`` over all ``4**n``
    Paulis; computed as per-qubit maps on the ``6**n`` count table. That estimate is Hermitian
    with trace 1 but may have negative eigenvalues; ``psd=True`` (the default, as
    qiskit-experiments' ``rescale_positive``) returns the nearest density matrix instead
    (eigenvalues projected onto the simplex, Smolin, Gambetta and Smith, PRL 108, 070502, 2012).

    Args:
        record: a Pauli :class:`~qtandem.learn.ShotRecord` or its :class:`PauliCounts`.
        psd: project onto density matrices.

    Returns:
        ``(2**n, 2**n)`` complex128 tensor.

    Raises:
        DataError: a Clifford or empty record.
        SimulationError: more than :data:`MAX_QUBITS` qubits.

    Examples:
        >>> from qtandem import Circuit
        >>> rho = linear_inversion(measure_pauli_bases(Circuit(1).x(0), 100, seed=0))
        >>> rho.real.round(decimals=1).tolist()
        [[0.0, 0.0], [0.0, 1.0]]
    """
    counts = pauli_counts(record)
    n = counts.n_qubits
    parity = torch.tensor([[1.0] * 6, [1, -1, 0, 0, 0, 0], [0, 0, 1, -1, 0, 0], [0, 0, 0, 0, 1, -1]],
                          dtype=torch.float64)
    sums = _modes(counts.table, parity, n)
    seen = _modes(counts.table, parity.abs(), n)
    expect = torch.where(seen > 0.5, sums / seen.clamp_min(1.0), torch.zeros_like(sums))
    rho = _from_pauli_coords(expect, n)
    return project_density(rho) if psd else rho


def _project_simplex(w: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of a real vector onto ``{x >= 0, sum x = 1}``."""
    u, _ = torch.sort(w, descending=True)
    css = torch.cumsum(u, 0) - 1
    k = torch.arange(1, len(w) + 1, dtype=w.dtype)
    rho = int(torch.nonzero(u - css / k > 0).max())
    return (w - css[rho] / (rho + 1)).clamp_min(0)


def project_density(op: torch.Tensor) -> torch.Tensor:
    """Nearest density matrix (Frobenius norm) to a Hermitian ``op``: eigenvalues onto the simplex."""
    h = (op + op.conj().T) / 2
    w, v = torch.linalg.eigh(h)
    return (v * _project_simplex(w)) @ v.conj().T


class _Likelihood:
    """``f(rho) = -(1 / N) sum_e n_e log tr(rho E_e)`` and its gradient ``-R(rho)``."""

    def __init__(self, table: torch.Tensor, effects: Any, n: int) -> None:
        self.n, self.effects = n, effects
        self.total = float(table.sum())
        self.mask = table > 0
        self.counts = table[self.mask]

    def value(self, rho: torch.Tensor) -> tuple[float, torch.Tensor]:
        p = born_table(rho, self.effects, self.n)[self.mask]
        if bool((p <= 0).any()):
            return math.inf, p
        return float(-(self.counts * torch.log(p)).sum() / self.total), p

    def r_operator(self, p: torch.Tensor) -> torch.Tensor:
        w = torch.zeros(self.mask.shape, dtype=torch.float64)
        w[self.mask] = self.counts / p / self.total
        return effect_sum(w, self.effects, self.n)


def _mle(table: torch.Tensor, effects: Any, n: int, start: torch.Tensor, method: str, max_iter: int, tol: float,
         history: list[float] | None) -> torch.Tensor:
    lik = _Likelihood(table, effects, n)
    dim = 1 << n
    eye = torch.eye(dim, dtype=torch.complex128)
    x = 0.999 * project_density(start) + 0.001 * eye / dim
    fx, px = lik.value(x)
    if history is not None:
        history.append(fx)
    if method == "rrr":
        eps = 1.0
        for _ in range(max_iter):
            r = lik.r_operator(px)
            while True:  # diluted R rho R: shrink the step until the likelihood rises
                a = (eye + eps * r) / (1 + eps)
                z = a @ x @ a.conj().T
                z = (z + z.conj().T) / 2
                z = z / torch.trace(z).real
                fz, pz = lik.value(z)
                if fz <= fx or eps < 1e-8:
                    break
                eps /= 2
            done = fx - fz < tol * max(1.0, abs(fx))
            x, fx, px, eps = z, fz, pz, min(eps * 2, 1e6)
            if history is not None:
                history.append(fx)
            if done:
                break
        return x
    y, fy, py, theta, step = x, fx, px, 1.0, 1.0
    for _ in range(max_iter):  # accelerated projected gradient with backtracking and restarts
        g = -lik.r_operator(py)
        while True:
            z = project_density(y - step * g)
            fz, pz = lik.value(z)
            d = z - y
            bound = fy + float(torch.sum(g.conj() * d).real) + float(d.abs().pow(2).sum()) / (2 * step)
            if fz <= bound or step < 1e-12:
                break
            step /= 2
        if fz > fx:  # momentum overshot: restart from x
            y, fy, py, theta = x, fx, px, 1.0
            continue
        theta_next = (1 + math.sqrt(1 + 4 * theta * theta)) / 2
        y = z + ((theta - 1) / theta_next) * (z - x)
        done = fx - fz < tol * max(1.0, abs(fx))
        x, fx, px, theta, step = z, fz, pz, theta_next, step * 1.5
        fy, py = lik.value(y)
        if history is not None:
            history.append(fx)
        if done:
            break
    return x


def mle_tomography(record: ShotRecord | PauliCounts, *, method: str = "pgd", max_iter: int = 2000, tol: float = 1e-10,
                   history: list[float] | None = None) -> torch.Tensor:
    """Maximum-likelihood density matrix of Pauli-basis shots (positive semidefinite, trace 1).

    Maximises ``sum_e n_e log tr(rho E_e)`` over density matrices, from the linear-inversion
    estimate projected onto them.

    Args:
        record: a Pauli :class:`~qtandem.learn.ShotRecord` or its :class:`PauliCounts`.
        method: ``"pgd"`` (accelerated projected gradient, eigenvalue projection) or ``"rrr"``
            (diluted ``R rho R``). Both reach the same maximum; on 8-qubit GHZ data (10 shots
            in each of the 6561 bases) ``"pgd"`` took 17 iterations (about 8 s on one thread)
            and ``"rrr"`` 262 (about 60 s).
        max_iter: iteration cap.
        tol: stop when an iteration lowers the mean negative log-likelihood by less than
            ``tol`` (relative, for values above 1).
        history: if a list, the mean negative log-likelihood after each iteration is appended.

    Returns:
        ``(2**n, 2**n)`` complex128 tensor.

    Raises:
        DataError: a Clifford or empty record; an unknown ``method``.
        SimulationError: more than :data:`MAX_QUBITS` qubits.

    Examples:
        >>> from qtandem import Circuit
        >>> counts = measure_pauli_bases(Circuit(1).h(0), 30, seed=2)
        >>> rho = mle_tomography(counts, method="rrr")
        >>> bool(torch.linalg.eigvalsh(rho).min() > -1e-12), round(float(torch.trace(rho).real), 6)
        (True, 1.0)
    """
    if method not in ("pgd", "rrr"):
        raise DataError(f"mle_tomography(): method must be 'pgd' or 'rrr', got {method!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise DataError(f"mle_tomography(): max_iter must be a positive integer, got {max_iter!r}")
    counts = pauli_counts(record)
    start = linear_inversion(counts, psd=False)
    return _mle(counts.table, PAULI_EFFECTS, counts.n_qubits, start, method, int(max_iter), float(tol), history)


def _as_state(x: Any, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).to(torch.complex128)
    if t.ndim not in (1, 2) or (t.ndim == 2 and t.shape[0] != t.shape[1]) or t.shape[0] < 1:
        raise DataError(f"{name} must be a state vector (d,) or a density matrix (d, d), got {tuple(t.shape)}")
    return t


def state_fidelity(a: Any, b: Any) -> float:
    """Uhlmann fidelity ``(tr sqrt(sqrt(a) b sqrt(a)))**2`` of two states (vectors or density matrices).

    With a state vector on either side this is ``<psi|rho|psi>`` (``|<a|b>|**2`` for two vectors).

    Raises:
        DataError: shapes that are not states or that differ in dimension.

    Examples:
        >>> plus = torch.tensor([1, 1], dtype=torch.complex128) / 2 ** 0.5
        >>> round(state_fidelity(torch.eye(2) / 2, plus), 6)
        0.5
        >>> round(state_fidelity(torch.eye(2) / 2, torch.diag(torch.tensor([0.9, 0.1]))), 4)
        0.8
    """
    x, y = _as_state(a, "state_fidelity(a)"), _as_state(b, "state_fidelity(b)")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"state_fidelity(): dimensions differ ({x.shape[0]} and {y.shape[0]})")
    if x.ndim == 1 and y.ndim == 1:
        return float(torch.vdot(x, y).abs() ** 2)
    if x.ndim == 1 or y.ndim == 1:
        psi, rho = (x, y) if x.ndim == 1 else (y, x)
        return float(torch.vdot(psi, rho @ psi).real)
    w, v = torch.linalg.eigh((x + x.conj().T) / 2)
    s = (v * w.clamp_min(0).sqrt()) @ v.conj().T
    m = s @ y @ s
    ev = torch.linalg.eigvalsh((m + m.conj().T) / 2).clamp_min(0)
    return float(ev.sqrt().sum() ** 2)


def trace_distance(a: Any, b: Any) -> float:
    """``||a - b||_1 / 2`` of two states (vectors become ``|psi><psi|``).

    Raises:
        DataError: shapes that are not states or that differ in dimension.

    Examples:
        >>> zero = torch.tensor([1, 0], dtype=torch.complex128)
        >>> round(trace_distance(zero, torch.eye(2) / 2), 6)
        0.5
    """
    x, y = _as_state(a, "trace_distance(a)"), _as_state(b, "trace_distance(b)")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"trace_distance(): dimensions differ ({x.shape[0]} and {y.shape[0]})")
    x = torch.outer(x, x.conj()) if x.ndim == 1 else x
    y = torch.outer(y, y.conj()) if y.ndim == 1 else y
    d = x - y
    return float(torch.linalg.eigvalsh((d + d.conj().T) / 2).abs().sum() / 2)


def measure_pauli_bases(circuit_or_state: Any, shots_per_basis: int, *, bases: Sequence[str] | None = None,
                        noise: Any = None, seed: Seed = None) -> PauliCounts:
    """Measure a state ``shots_per_basis`` times in each Pauli basis (all ``3**n`` by default).

    The standard tomography design (as qiskit-experiments' ``StateTomography``): the Born
    probabilities of every basis come from :func:`born_table` of the density matrix, and
    each basis's outcomes are one multinomial draw.

    Args:
        circuit_or_state: a :class:`~qtandem.Circuit` (terminal measurements dropped), a state
            vector or a density matrix.
        shots_per_basis: shots in each basis.
        bases: labels like ``"XZ"`` (qubit 0 rightmost) to measure instead of all ``3**n``.
        noise: a :class:`~qtandem.NoiseModel` for a circuit (density matrix; readout errors
            are not applied here).
        seed: seed of the draws.

    Returns:
        :class:`PauliCounts` (``.to_record()`` gives the shots).

    Raises:
        SimulationError: a bad state or ``shots_per_basis``; more than :data:`MAX_QUBITS` qubits.
        DataError: a bad basis label.

    Examples:
        >>> from qtandem import Circuit
        >>> c = measure_pauli_bases(Circuit(2).h(0), 10, bases=["ZX", "ZZ"], seed=0)
        >>> c.shots, sorted(set(c.to_record().basis_labels()))
        (20, ['ZX', 'ZZ'])
    """
    if isinstance(shots_per_basis, bool) or int(shots_per_basis) != shots_per_basis or shots_per_basis < 1:
        raise SimulationError(f"measure_pauli_bases(): shots_per_basis must be a positive integer, "
                              f"got {shots_per_basis!r}")
    n, state, density = _prepare(circuit_or_state, noise)
    _check_n(n, "measure_pauli_bases()")
    rho = state if density else torch.outer(state, state.conj())
    probs = born_table(rho, PAULI_EFFECTS, n).clamp_min(0).numpy()
    # flat index sum_q (2 c_q + s_q) 6**q -> (basis index sum_q c_q 3**q, outcome index sum_q s_q 2**q)
    per = probs.reshape((3, 2) * n).transpose([2 * k for k in range(n)] + [2 * k + 1 for k in range(n)])
    per = per.reshape(3**n, 2**n)
    if bases is None:
        rows = np.arange(3**n)
    else:
        rows = np.zeros(len(bases), dtype=np.int64)
        for i, label in enumerate(bases):
            if not isinstance(label, str) or len(label) != n or set(label) - set(LETTERS):
                raise DataError(f"measure_pauli_bases(): basis {label!r} is not {n} letters of X, Y, Z")
            # C-order axes put qubit n-1 first: the label (qubit 0 rightmost) reads off as base-3 digits
            rows[i] = sum(LETTERS.index(ch) * 3 ** (n - 1 - j) for j, ch in enumerate(label))
    p = per[rows]
    p = p / p.sum(axis=1, keepdims=True)
    drawn = as_generator(seed).multinomial(int(shots_per_basis), p)
    out = np.zeros((3**n, 2**n))
    np.add.at(out, rows, drawn)
    table = out.reshape((3,) * n + (2,) * n).transpose([k for j in range(n) for k in (j, n + j)]).reshape(-1)
    return PauliCounts(torch.as_tensor(np.ascontiguousarray(table), dtype=torch.float64), n)
