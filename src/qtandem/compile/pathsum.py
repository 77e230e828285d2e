"""Sum-over-paths (path-sum) equivalence checking, after Amy (QPL 2018) and his Feynman verifier.

A circuit built from ``h`` and gates that map basis states to basis states up to
a phase (``x``, ``cx``, ``ccx``, ``swap``, ``rz``, ``t``, ``cz``...) acts as

    U|x> = 2^(-h/2) sum_y exp(i pi P(x, y)) |f(x, y)>

where every output wire ``f_j`` is an affine Boolean function of the inputs
``x`` and the path variables ``y`` (one per Hadamard) and the phase ``P`` is a
sum of parity terms ``theta_S * (XOR of the variables in S)``. To check
``a == b`` we build the path sum of ``b^dagger a`` gate by gate and, whenever a
Hadamard takes a path variable off every wire, sum it out with the rules of Amy's
calculus in parity form (all coefficients of the terms that contain ``y`` must be
multiples of pi/2; with ``K`` their sum in units of pi/2 and ``Q`` the XOR of the
terms with odd coefficients, ``sum_y exp(i pi P) = exp(i pi P|y=0) (1 + i^K (-1)^Q)``):

* **Elim** (``K = 0 mod 4``, ``Q = 0``): the variable is free, factor 2;
* **HH** (``K`` even, ``Q`` not constant): a delta ``[Q = K/2 mod 2]``: one
  path variable ``z`` in ``Q`` is substituted everywhere, factor 2;
* **omega** (``K`` odd): ``1 +- i (-1)^Q = sqrt(2) e^(+-i pi/4) e^(-+i pi/2 Q)``.

The composite is the identity (up to a global phase) iff it reduces to no path
variable, every wire equal to its input variable, and a constant phase. This is
sound: every rule is an exact identity of sums. It is not complete; a stuck
reduction is reported as inconclusive, never as equivalent.

Angles are kept in half-turns (units of pi) and snapped to multiples of 2^-20
when they are within 1e-12 of one, so Clifford+T phases add exactly.

Examples:
    >>> from qtandem import Circuit
    >>> a = Circuit(2).cx(0, 1).t(1).cx(0, 1).h(0).h(0)
    >>> b = Circuit(2).cx(1, 0).t(0).cx(1, 0).swap(0, 1).swap(1, 0)
    >>> check_identity(a, b).verdict
    'equal'
    >>> check_identity(a, Circuit(2).t(1)).verdict
    'different'
"""


from __future__ import annotations

import math
import random
from collections.abc import Sequence

from qtandem.circuit import Circuit
from qtandem.circuit.circuit import inverse_instruction
from qtandem.compile.canon1q import canonical_1q_runs
from qtandem.compile.pathsum_core import SUPPORTED, PathSum, PathSumResult, _bits, _mod2, supports

__all__ = ["SUPPORTED", "PathSum", "PathSumResult", "canonical_1q_runs", "check_identity", "permutation_swaps",
           "supports"]


def _dyadic_constant(terms: list[tuple[int, float]], max_monomials: int = 500_000) -> bool | None:
    """Constancy of ``sum theta_S * parity_S`` mod 2 (half-turns) through its canonical multilinear form.

    ``parity_S = sum over nonempty T in S of (-2)^(|T|-1) prod_T x``; with ``theta = k / 2^m`` every
    monomial of degree above ``m + 1`` has a coefficient in ``2Z`` and vanishes mod 2, so only degrees
    ``<= m + 1`` are expanded. The phase is constant iff every nonconstant monomial's coefficient is
    0 mod 2 (a multilinear polynomial with integer coefficients vanishes on {0,1}^n iff they all do).
    ``None`` when a coefficient is not a dyadic rational with ``m <= 3`` or the expansion is too large.
    """
    from itertools import combinations

    coeff: dict[int, float] = {}
    count = 0
    for mask, theta in terms:
        m = next((k for k in range(4) if abs(theta * 2**k - round(theta * 2**k)) < 1e-9), None)
        if m is None:
            return None
        bits = [1 << b for b in _bits(mask)]
        for deg in range(1, min(m + 1, len(bits)) + 1):
            c = theta * (-2) ** (deg - 1)
            for combo in combinations(bits, deg):
                count += 1
                if count > max_monomials:
                    return None
                key = sum(combo)
                coeff[key] = _mod2(coeff.get(key, 0.0) + c)
    return all(v < 1e-7 or v > 2 - 1e-7 for v in coeff.values())


def _residual_constant(ps: PathSum) -> bool | None:
    """Whether the (path-free) phase is constant mod 2: exactly for dyadic coefficients, else by evaluating
    every point of a small support; ``None`` when neither applies."""
    terms = list(ps.terms.items())
    if not terms:
        return True
    dyadic = _dyadic_constant(terms)
    if dyadic is not None:
        return dyadic
    support = 0
    for m, _ in terms:
        support |= m
    vars_ = list(_bits(support))
    if len(vars_) > 16 or len(terms) * 2 ** len(vars_) > 4_000_000:
        return None
    # evaluate on all 2^k points of the support and test constancy exactly (in floating tolerance)
    base = None
    for bits in range(2 ** len(vars_)):
        v = 0
        for j, b in enumerate(vars_):
            if bits >> j & 1:
                v |= 1 << b
        total = sum(th for m, th in terms if bin(m & v).count("1") % 2)
        r = _mod2(total)
        if base is None:
            base = r
        elif min(abs(r - base), 2 - abs(r - base)) > 1e-7:
            return False
    return True


def check_identity(a: Circuit, b: Circuit, *, permutation: Sequence[int] | None = None,
                   seed: int = 0) -> PathSumResult:
    """Decide by path sums whether ``b == P a`` up to a global phase.

    ``P`` moves the state of wire ``i`` to wire ``permutation[i]`` (identity if
    ``None``). Builds the path sum of ``b^dagger P a`` and reduces it.

    Args:
        a: first circuit (supported gates only, see :func:`supports`).
        b: second circuit, same width.
        permutation: final wire permutation of ``b`` relative to ``a``.
        seed: seed of the random probes used to find a witness input.

    Returns:
        A :class:`PathSumResult`.

    Examples:
        >>> from qtandem import Circuit
        >>> check_identity(Circuit(2).cx(0, 1).cx(1, 0).cx(0, 1), Circuit(2), permutation=[1, 0]).verdict
        'equal'
    """
    n = a.n_qubits
    ps = PathSum(n)
    ps.reducing = False  # reduce only while b^dagger undoes a: early rewrites of a break the mirror image
    for inst in a:
        if inst.is_gate:
            ps.apply(inst, inst.qubits)
    ps.reducing = True
    for x, y in permutation_swaps(permutation if permutation is not None else range(n)):
        ps.wires[x], ps.wires[y] = ps.wires[y], ps.wires[x]
    for inst in reversed(b.instructions):
        if inst.is_gate:
            ps.apply(inverse_instruction(inst), inst.qubits)
    if ps.zero:
        return PathSumResult("inconclusive", detail="a variable summed to zero amplitude (internal inconsistency)")
    if ps.live:
        # a last sweep: every live variable that is on no wire
        ps._reduce(sorted(ps.live))
    floor = 1 << (n + 1)
    if ps.live:
        return PathSumResult("inconclusive", path_variables=len(ps.live),
                             detail=f"{len(ps.live)} path variable(s) could not be summed out")
    rng = random.Random(seed)
    # no path variables: U|x> = e^{i pi P(x)} |f(x)>, an exact description
    for j, f in enumerate(ps.wires):
        if f != 1 << (j + 1):
            witness = _wire_witness(ps, j, rng)
            return PathSumResult("different", witness=witness,
                                 detail=f"output wire {j} is {_affine_str(f, n)} instead of x{j}")
    if any(m >= floor for m in ps.terms):  # pragma: no cover - live is empty
        return PathSumResult("inconclusive", detail="phase depends on a removed variable")
    const = _residual_constant(ps)
    probe = _probe_phase(ps, rng) if const is not True else None
    if const is False or probe is not None:
        wx = probe if probe is not None else _probe_phase(ps, rng)
        return PathSumResult("different", witness=wx, detail="the relative phase is not constant over the inputs"
                             + (f" (differs on input {wx})" if wx is not None else ""))
    if const is None:
        return PathSumResult("inconclusive", detail="could not prove the residual phase constant")
    if ps.sqrt2 != 0:
        return PathSumResult("inconclusive", detail=f"normalization 2^({ps.sqrt2}/2) != 1 (internal inconsistency)")
    phase = _mod2(ps.global_phase + ps.phase_at(0))
    return PathSumResult("equal", global_phase=phase * math.pi, detail="path sum reduced to the identity")


def permutation_swaps(permutation: Sequence[int]) -> list[tuple[int, int]]:
    """Swaps that move the state of wire ``i`` to wire ``permutation[i]`` (applied in order).

    Examples:
        >>> permutation_swaps([1, 2, 0])
        [(0, 2), (1, 2)]
    """
    perm = list(permutation)
    content = list(range(len(perm)))  # content[pos] = original wire now at pos
    where = list(range(len(perm)))
    inv = [0] * len(perm)
    for i, j in enumerate(perm):
        inv[j] = i
    out = []
    for pos in range(len(perm)):
        want = inv[pos]
        loc = where[want]
        if loc != pos:
            out.append((pos, loc))
            other = content[pos]
            content[pos], content[loc] = want, other
            where[want], where[other] = pos, loc
    return out


def _affine_str(f: int, n: int) -> str:
    parts = ["1"] if f & 1 else []
    parts += [f"x{b - 1}" if b <= n else f"y{b - n - 1}" for b in _bits(f & ~1)]
    return " ^ ".join(parts) or "0"


def _wire_witness(ps: PathSum, j: int, rng: random.Random) -> int | None:
    f = ps.wires[j]
    for trial in range(64):
        x = 0 if trial == 0 else rng.getrandbits(ps.n)
        v = x << 1 | 1
        if bin(f & v).count("1") % 2 != (x >> j) & 1:
            return x
    return None


def _probe_phase(ps: PathSum, rng: random.Random) -> int | None:
    p0 = _mod2(ps.phase_at(0))
    for _ in range(256):
        x = rng.getrandbits(ps.n)
        r = _mod2(ps.phase_at(x))
        if min(abs(r - p0), 2 - abs(r - p0)) > 1e-7:
            return x
    return None
