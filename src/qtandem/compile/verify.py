"""Equivalence checking: :func:`verify_equivalent` and :func:`equivalent`.

Two methods, both sound (equivalence is reported only when proved):

* ``"exact"``: the dense unitary of ``b^dagger P a`` (one simulator pass of both
  circuits over all basis columns, :func:`qtandem.sim.unitary`) compared with a
  phase times the identity, to ``atol`` (default 1e-8). Up to 12 active qubits.
* ``"pathsum"``: Amy's sum-over-paths reduction (:mod:`qtandem.compile.pathsum`)
  for circuits of ``h``, Pauli, phase, ``rz``/``rx``/``ry``/``u``, ``cx``, ``cz``,
  ``ccx``, ``swap``... gates at any width; a reduction that gets stuck is
  *inconclusive* and raises unless the exact check can settle it.

``method="auto"`` tries the path sum first (fast, any width) when every gate is
supported, and the exact check when the path sum is inconclusive or does not
apply and the circuits have at most 12 active qubits (qubits idle in both and
fixed by the permutation are dropped first).

Circuits with measurements, resets or classically controlled gates must have the
same non-unitary skeleton: the same fences (:func:`~qtandem.compile.passmanager.split_stretches`)
in the same order; the unitary stretches between them are then checked pairwise
(sufficient, not necessary). Barriers are ignored.

``permutation`` accounts for routing: ``b`` is checked against ``a`` followed by
moving the state of wire ``i`` to wire ``permutation[i]``.

Examples:
    >>> from qtandem import Circuit
    >>> a = Circuit(2).cx(0, 1).t(1).cx(0, 1)
    >>> b = Circuit(2).cx(1, 0).t(0).cx(1, 0).cx(0, 1).cx(1, 0).cx(0, 1)  # same, then a swap
    >>> equivalent(a, b)
    False
    >>> verify_equivalent(a, b, permutation=[1, 0])
    >>> verify_equivalent(Circuit(1).x(0), Circuit(1).z(0), method="exact")
    Traceback (most recent call last):
    ...
    qtandem.errors.VerificationError: exact: not equivalent; column 0 (input |0>) differs (max deviation 1.00e+00)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qtandem.circuit import Circuit
from qtandem.compile.pathsum import canonical_1q_runs, check_identity, permutation_swaps, supports
from qtandem.errors import VerificationError

__all__ = ["EXACT_MAX_QUBITS", "METHODS", "equivalent", "verify_equivalent"]

METHODS = ("auto", "exact", "pathsum")
"""Accepted ``method`` values."""

EXACT_MAX_QUBITS = 12
"""Largest number of active qubits the exact (dense unitary) check accepts."""


def _is_fence(inst: object) -> bool:
    return getattr(inst, "name", "") in ("measure", "reset") or getattr(inst, "condition", None) is not None


def _strip_barriers(c: Circuit) -> Circuit:
    """``c`` without barriers and delays (both are the identity on the state)."""
    if not any(i.name in ("barrier", "delay") for i in c):
        return c
    out = Circuit(c.n_qubits, c.n_clbits)
    for inst in c:
        if inst.name not in ("barrier", "delay"):
            out.append(inst)
    return out


def verify_equivalent(a: Circuit, b: Circuit, *, up_to_global_phase: bool = True, method: str = "auto",
                      permutation: Sequence[int] | None = None, atol: float = 1e-8,
                      max_exact_qubits: int = EXACT_MAX_QUBITS) -> None:
    """Prove that ``b`` implements ``a`` (optionally followed by a wire permutation), or raise.

    Args:
        a: the reference circuit.
        b: the candidate, same number of qubits (and classical bits).
        up_to_global_phase: accept ``b = e^{i phi} a``.
        method: ``"auto"``, ``"exact"`` or ``"pathsum"`` (see the module docs).
        permutation: ``permutation[i]`` is the wire of ``b`` where the state of
            wire ``i`` of ``a`` ends (routing's final layout); identity if ``None``.
        atol: tolerance of the exact check (max entry deviation).
        max_exact_qubits: widest circuit (active qubits) the exact check accepts, at most
            :data:`EXACT_MAX_QUBITS`; a smaller value keeps a check fast.

    Returns:
        ``None`` when equivalence is proved.

    Raises:
        VerificationError: not equivalent (with the method and e.g. the first
            differing column or output wire), or not provable (``inconclusive``),
            or different non-unitary skeletons.
        CompileError: never; bad arguments raise ``VerificationError`` too, with
            the reason.

    Examples:
        >>> from qtandem import Circuit
        >>> verify_equivalent(Circuit(1).h(0).z(0).h(0), Circuit(1).x(0))
        >>> verify_equivalent(Circuit(1).rz(0.5, 0), Circuit(1).p(0.5, 0), up_to_global_phase=False)
        Traceback (most recent call last):
        ...
        qtandem.errors.VerificationError: auto: equal only up to a global phase, b = exp(i 0.25) a ...
    """
    if method not in METHODS:
        raise VerificationError(f"unknown verification method {method!r}; choose one of {', '.join(METHODS)}")
    if a.n_qubits != b.n_qubits:
        raise VerificationError(f"circuits have different widths: {a.n_qubits} and {b.n_qubits} qubits")
    n = a.n_qubits
    perm = _check_permutation(permutation, n)
    a, b = _strip_barriers(a), _strip_barriers(b)
    if any(_is_fence(i) for i in a) or any(_is_fence(i) for i in b):
        _verify_skeleton(a, b, up_to_global_phase=up_to_global_phase, method=method, perm=perm, atol=atol,
                         max_exact=max_exact_qubits)
        return
    phase = _verify_unitary(a, b, method=method, perm=perm, atol=atol,
                            max_exact=min(int(max_exact_qubits), EXACT_MAX_QUBITS))
    if not up_to_global_phase and phase is None:
        raise VerificationError(f"{method}: equal up to a global phase, but the phase itself was not determined "
                                "(one-qubit runs were canonicalized on more than 10 qubits) (inconclusive)")
    if not up_to_global_phase and phase is not None:
        d = (-phase + math.pi) % (2 * math.pi) - math.pi  # b = e^{i d} a
        if abs(d) > 1e-7:
            raise VerificationError(f"{method}: equal only up to a global phase, b = exp(i {d:.3g}) a "
                                    "(up_to_global_phase=False)")


def equivalent(a: Circuit, b: Circuit, *, up_to_global_phase: bool = True, method: str = "auto",
               permutation: Sequence[int] | None = None) -> bool:
    """``True`` iff :func:`verify_equivalent` proves ``a`` and ``b`` equivalent.

    An inconclusive check returns ``False``.

    Examples:
        >>> from qtandem import Circuit
        >>> equivalent(Circuit(2).cz(0, 1), Circuit(2).h(1).cx(0, 1).h(1)), equivalent(Circuit(1).s(0), Circuit(1).t(0))
        (True, False)
    """
    try:
        verify_equivalent(a, b, up_to_global_phase=up_to_global_phase, method=method, permutation=permutation)
    except VerificationError:
        return False
    return True


def _check_permutation(permutation: Sequence[int] | None, n: int) -> list[int] | None:
    if permutation is None:
        return None
    perm = [int(p) for p in permutation]
    if sorted(perm) != list(range(n)):
        raise VerificationError(f"permutation must list each of the {n} wires once, got {list(permutation)}")
    return None if perm == list(range(n)) else perm


def _verify_skeleton(a: Circuit, b: Circuit, *, up_to_global_phase: bool, method: str,
                     perm: list[int] | None, atol: float, max_exact: int) -> None:
    from qtandem.compile.passmanager import split_stretches

    if perm is not None:
        raise VerificationError("a wire permutation is supported only for circuits without measurements, resets "
                                "or classically controlled gates; verify the unitary part and map the measurements")
    if a.n_clbits != b.n_clbits:
        raise VerificationError(f"circuits have different classical widths: {a.n_clbits} and {b.n_clbits} bits")
    pa, fa = split_stretches(a)
    pb, fb = split_stretches(b)
    if len(fa) != len(fb) or any(x != y for x, y in zip(fa, fb, strict=True)):
        k = next((i for i, (x, y) in enumerate(zip(fa, fb, strict=False)) if x != y), min(len(fa), len(fb)))
        raise VerificationError(f"skeleton: the circuits' measurements/resets/conditioned gates differ (fence "
                                f"layer {k}); only circuits with the same non-unitary skeleton can be compared")
    for k, (x, y) in enumerate(zip(pa, pb, strict=True)):
        try:
            verify_equivalent(x, y, up_to_global_phase=up_to_global_phase, method=method, atol=atol,
                              max_exact_qubits=max_exact)
        except VerificationError as err:
            raise VerificationError(f"unitary stretch {k} (between fence layers): {err}") from None


def _active(a: Circuit, b: Circuit, perm: list[int] | None) -> list[int]:
    used: set[int] = set()
    for c in (a, b):
        for inst in c:
            used.update(inst.qubits)
    if perm is not None:
        used.update(i for i, p in enumerate(perm) if p != i)
    return sorted(used)


def _compact(c: Circuit, wires: list[int]) -> Circuit:
    pos = {w: i for i, w in enumerate(wires)}
    out = Circuit(len(wires))
    for inst in c:
        out.append(inst.replace(qubits=tuple(pos[q] for q in inst.qubits)))
    return out


def _verify_unitary(a: Circuit, b: Circuit, *, method: str, perm: list[int] | None, atol: float,
                    max_exact: int = EXACT_MAX_QUBITS) -> float | None:
    """Prove equivalence of two unitary circuits; the global phase (radians) when known."""
    wires = _active(a, b, perm)
    if len(wires) < a.n_qubits:
        pos = {w: i for i, w in enumerate(wires)}
        a, b = _compact(a, wires), _compact(b, wires)
        perm = None if perm is None else [pos[perm[w]] for w in wires]
    n = a.n_qubits
    if n == 0:
        return 0.0
    can_path = supports(a) and supports(b)
    if method == "pathsum" and not can_path:
        bad = sorted({i.label for c in (a, b) for i in c if not supports(_single(i, c.n_qubits))})
        raise VerificationError(f"pathsum: unsupported gate(s) {', '.join(bad)}; use method='exact' (<= "
                                f"{EXACT_MAX_QUBITS} qubits) or translate to h/cx/rz first")
    note = ""
    if method in ("auto", "pathsum") and can_path:
        res = check_identity(a, b, permutation=perm)
        if res.verdict == "inconclusive":  # retry with both circuits' one-qubit runs in one canonical spelling
            ca, cb = canonical_1q_runs(a), canonical_1q_runs(b)
            if ca is not None and cb is not None:
                res2 = check_identity(ca, cb, permutation=perm)
                if res2.verdict != "inconclusive":
                    res = res2
                    if res.verdict == "equal":  # canonical runs drop global phases: recover it when cheap
                        return _phase_of(a, b, perm)
        if res.verdict == "equal":
            return res.global_phase
        if res.verdict == "different":
            wit = "" if res.witness is None else f"; witness input |{res.witness:0{n}b}> (qubit 0 rightmost)"
            raise VerificationError(f"pathsum: not equivalent: {res.detail}{wit}")
        note = f"pathsum inconclusive ({res.detail})"
        if method == "pathsum":
            raise VerificationError(f"pathsum: could not prove equivalence ({res.detail}) (inconclusive)")
    if n > max_exact:
        why = note or "the path-sum method does not support every gate"
        raise VerificationError(f"auto: could not prove equivalence of {n}-qubit circuits: {why}, and the exact "
                                f"check is limited to {max_exact} active qubits (inconclusive)")
    return _exact(a, b, perm, atol, prefix=f"{note}; " if note else "")


def _phase_of(a: Circuit, b: Circuit, perm: list[int] | None) -> float | None:
    """Global phase after a proof on canonicalized runs: unknown (``None``) unless cheap to compute exactly."""
    if a.n_qubits <= 10:
        try:
            return _exact(a, b, perm, 1e-6)
        except VerificationError:  # pragma: no cover - the path sum proved equality
            return None
    return None


def _single(inst: object, n: int) -> Circuit:
    c = Circuit(n)
    c.append(inst)  # type: ignore[arg-type]
    return c


def _dense(c: Circuit) -> np.ndarray:
    """The dense unitary through :mod:`qtandem.sim.dense` (NumPy, batched gate matrices): about 10x
    faster than the torch path on a few hundred gates at 6-10 qubits."""
    from qtandem.sim.core import numeric_ops, resolve_params
    from qtandem.sim.dense import dense_unitary

    if c.n_qubits > EXACT_MAX_QUBITS:
        raise VerificationError(f"{c.n_qubits} qubits is past the exact check's {EXACT_MAX_QUBITS}")
    return dense_unitary(numeric_ops(list(c), resolve_params(c, None)), c.n_qubits)


def _exact(a: Circuit, b: Circuit, perm: list[int] | None, atol: float, *, prefix: str = "") -> float:
    from qtandem.sim import unitary

    n = a.n_qubits
    try:
        binv = b.inverse()
    except Exception as err:  # re-raised as a verification failure with the reason
        raise VerificationError(f"exact: cannot invert the second circuit: {err}") from None
    c = a.copy()
    for x, y in permutation_swaps(perm if perm is not None else range(n)):
        c.swap(x, y)
    c = c.compose(binv)
    try:
        u = _dense(c)
    except Exception:  # the torch path below gives the reason, or succeeds
        try:
            u = unitary(c, max_qubits=EXACT_MAX_QUBITS).numpy()
        except Exception as err:  # symbolic parameters, unsupported instructions
            raise VerificationError(f"exact: cannot compute the unitary: {err}") from None
    d = u.shape[0]
    diag = np.diagonal(u)
    k = int(np.argmax(np.abs(diag)))
    ph = diag[k] / abs(diag[k]) if abs(diag[k]) > 1e-12 else 1.0
    dev = np.abs(u - ph * np.eye(d)).max(axis=0)
    bad = np.nonzero(dev > atol)[0]
    if bad.size:
        j = int(bad[0])
        raise VerificationError(f"{prefix}exact: not equivalent; column {j} (input |{j:0{n}b}>) differs "
                                f"(max deviation {dev[j]:.2e})")
    return float(np.angle(ph))
