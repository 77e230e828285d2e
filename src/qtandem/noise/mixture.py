"""Channels as probabilistic mixtures of unitaries and resets (for fast trajectories).

Many noise channels are *mixtures*: with probability ``p_t`` apply the
operation sequence ``t``, where every operation is a unitary or a reset of one
qubit to ``|0>`` or ``|1>``. Depolarizing and Pauli channels are unitary
mixtures; phase damping is a phase-flip mixture; thermal relaxation with
``T2 <= T1`` is ``I, Z, reset-to-0, reset-to-1`` (the decomposition Qiskit Aer
also uses). In a trajectory the term can then be drawn *before* the state is
known, so that the simulator only reads the state when a reset was drawn --
instead of at every channel.

:func:`mixture_terms` finds such a decomposition when one exists:

* a channel whose Kraus operators are all scaled unitaries;
* a one-qubit channel whose Pauli transfer matrix is a non-negative
  combination of those of ``I, X, Y, Z`` and the two resets (solved exactly,
  checked to ``1e-10``);
* a ``compose`` or ``tensor`` of decomposable channels (terms multiply).

Amplitude damping (``T2 > T1`` relaxation) and other channels that are not
mixtures return ``None``; trajectories then read the state at every one.

Examples:
    >>> from qtandem.noise import thermal_relaxation, amplitude_damping
    >>> terms = mixture_terms(thermal_relaxation(100.0, 80.0, 1.0))
    >>> [(round(p, 6), [op.kind for op in ops]) for p, ops in terms]  # identity, Z, reset to |0>
    [(0.988814, []), (0.001236, ['unitary']), (0.00995, ['reset'])]
    >>> mixture_terms(amplitude_damping(0.1)) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qtandem.noise.channels import KrausChannel
from qtandem.sim.dense import embed

__all__ = ["MixtureOp", "Term", "mixture_terms"]

MAX_TERMS = 256
_TOL = 1e-10


@dataclass(frozen=True)
class MixtureOp:
    """One operation of a mixture term, on the channel's *local* qubits.

    ``kind`` is ``"unitary"`` (``matrix`` on ``qubits``, index bit ``j`` = ``qubits[j]``)
    or ``"reset"`` (one qubit to ``|value>``).

    Examples:
        >>> from qtandem.noise import bit_flip
        >>> (p0, ops0), (p1, ops1) = mixture_terms(bit_flip(0.25))
        >>> round(p1, 6), [(op.kind, op.qubits) for op in ops1]
        (0.25, [('unitary', (0,))])
    """

    kind: str
    qubits: tuple[int, ...]
    matrix: np.ndarray | None = None
    value: int = 0

    def shifted(self, offset: int) -> MixtureOp:
        return MixtureOp(self.kind, tuple(q + offset for q in self.qubits), self.matrix, self.value)


Term = tuple[float, tuple[MixtureOp, ...]]

_P = {
    "I": np.eye(2, dtype=np.complex128),
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}


def _ptm_np(kraus: list[np.ndarray]) -> np.ndarray:
    """One-qubit Pauli transfer matrix ``R_ij = Tr(P_i E(P_j)) / 2``."""
    ps = list(_P.values())
    out = np.empty((4, 4))
    for j, pj in enumerate(ps):
        img = sum(k @ pj @ k.conj().T for k in kraus)
        for i, pi in enumerate(ps):
            out[i, j] = np.trace(pi @ img).real / 2
    return out


def _basis_ptms() -> tuple[np.ndarray, list[tuple[MixtureOp, ...]]]:
    mats: list[np.ndarray] = []
    ops: list[tuple[MixtureOp, ...]] = []
    for lab, p in _P.items():
        mats.append(_ptm_np([p]))
        ops.append(() if lab == "I" else (MixtureOp("unitary", (0,), p),))
    for v in (0, 1):
        # reset to |v>: every input goes to |v><v| -> R = [[1,0,0,0],0,0,[+-1,0,0,0]]
        r = np.zeros((4, 4))
        r[0, 0] = 1
        r[3, 0] = 1 if v == 0 else -1
        mats.append(r)
        ops.append((MixtureOp("reset", (0,), None, v),))
    return np.stack([m.ravel() for m in mats], axis=1), ops


_BASIS, _BASIS_OPS = _basis_ptms()
_NULL = np.linalg.svd(_BASIS)[2][-1]
_NULL = _NULL * (-1 if _NULL[4] > 0 else 1)  # resets decrease along +_NULL


def _unitary_mixture(kraus: list[np.ndarray]) -> list[Term] | None:
    d = kraus[0].shape[0]
    n = int(np.log2(d))
    terms: list[Term] = []
    for k in kraus:
        gram = k.conj().T @ k
        p = float(np.trace(gram).real) / d
        if p <= 1e-15:
            continue
        if np.abs(gram - p * np.eye(d)).max() > 1e-12:
            return None
        u = k / np.sqrt(p)
        if np.abs(u - u[0, 0] * np.eye(d)).max() < 1e-12:  # a phase times identity: no operation
            terms.append((p, ()))
        else:
            terms.append((p, (MixtureOp("unitary", tuple(range(n)), u),)))
    return _normalise(terms)


def _pauli_reset_mixture(kraus: list[np.ndarray]) -> list[Term] | None:
    target = _ptm_np(kraus).ravel()
    coef, *_ = np.linalg.lstsq(_BASIS, target, rcond=None)
    if np.abs(_BASIS @ coef - target).max() > _TOL:
        return None
    # The six PTMs span five dimensions: reset to |0> plus reset to |1> equals the fully
    # depolarizing mixture of I, X, Y, Z. Along that null direction pick the solution
    # with the fewest resets (resets are the terms that read the state) that is >= 0.
    v = _NULL
    lo = max((-coef[i] / v[i] for i in range(6) if v[i] > 0), default=-np.inf)
    hi = min((-coef[i] / v[i] for i in range(6) if v[i] < 0), default=np.inf)
    if lo > hi + _TOL:
        return None
    coef = coef + hi * v
    if coef.min() < -_TOL:
        return None
    return _normalise([(float(c), ops) for c, ops in zip(coef, _BASIS_OPS, strict=True) if c > 1e-15])


def _normalise(terms: list[Term]) -> list[Term]:
    total = sum(p for p, _ in terms)
    merged: dict[tuple[int, ...], Term] = {}
    out: list[Term] = []
    for p, ops in terms:
        if not ops:  # merge all no-op terms into one
            key = ()
            prev = merged.get(key)
            merged[key] = (p + (prev[0] if prev else 0.0), ())
        else:
            out.append((p, ops))
    if () in merged:
        out.insert(0, merged[()])
    return [(p / total, ops) for p, ops in out]


def _combine(a: list[Term], b: list[Term], shift: int) -> list[Term] | None:
    if len(a) * len(b) > MAX_TERMS:
        return None
    return _normalise([(pa * pb, oa + tuple(op.shifted(shift) for op in ob)) for pa, oa in a for pb, ob in b])


def mixture_terms(channel: KrausChannel) -> list[Term] | None:
    """The channel as ``[(probability, ops), ...]``, or ``None`` when it is not such a mixture.

    The no-operation term, if any, comes first; probabilities sum to 1. The
    result is cached on the channel (channels are treated as immutable once
    used); channels whose Kraus operators require grad are decomposed afresh.

    Examples:
        >>> from qtandem.noise import amplitude_damping, depolarizing
        >>> [round(p, 6) for p, _ in mixture_terms(depolarizing(0.3))]
        [0.7, 0.1, 0.1, 0.1]
        >>> mixture_terms(amplitude_damping(0.1)) is None
        True
    """
    if hasattr(channel, "_mixture"):
        return channel._mixture  # type: ignore[no-any-return]
    result: list[Term] | None
    parts = getattr(channel, "_parts", None)
    kraus = [k.detach().cpu().numpy().astype(np.complex128) for k in channel.kraus]
    result = _unitary_mixture(kraus)
    if result is None and parts is not None:
        how, first, second = parts
        ta, tb = mixture_terms(first), mixture_terms(second)
        if ta is not None and tb is not None:
            result = _combine(ta, tb, first.num_qubits if how == "tensor" else 0)
    if result is None and channel.num_qubits == 1:
        result = _pauli_reset_mixture(kraus)
    if not any(k.requires_grad for k in channel.kraus):
        channel._mixture = result  # type: ignore[attr-defined]
    return result


def _term_superop(ops: tuple[MixtureOp, ...], n: int) -> torch.Tensor:
    """Superoperator of one term (for tests), in the layout of :meth:`KrausChannel.superop`."""
    s = torch.eye(4**n, dtype=torch.complex128)
    for op in ops:
        if op.kind == "unitary":
            assert op.matrix is not None
            kraus = [embed(op.matrix, op.qubits, n)]
        else:  # reset to |value>: |value><0| and |value><1|
            kraus = [embed(_to(op.value, src), op.qubits, n) for src in (0, 1)]
        s = KrausChannel(kraus, check=False).superop() @ s
    return s


def _to(value: int, src: int) -> np.ndarray:
    m = np.zeros((2, 2), dtype=np.complex128)
    m[value, src] = 1
    return m
