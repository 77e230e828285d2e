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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from qtandem.circuit import Circuit, Instruction
from qtandem.circuit.circuit import inverse_instruction
from qtandem.circuit.gates import gate_matrix
from qtandem.circuit.parameter import ParameterExpression

__all__ = ["SUPPORTED", "PathSum", "PathSumResult", "canonical_1q_runs", "check_identity", "permutation_swaps",
           "supports"]

_SNAP = 2.0**-20
_TOL = 1e-9

# gate -> expansion in primitive ops: ("h"|"x"|"ph"|"cx"|"ccz"|"cp", qubit positions, angle in half-turns)
SUPPORTED = frozenset({"id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz", "p", "u1",
                       "u2", "u3", "u", "cx", "cy", "cz", "swap", "ccx", "ccz", "cswap", "cp", "crz", "crx", "cry",
                       "rzz", "mcx"})
"""Gate names the path-sum checker understands (others fall back to the exact check)."""

_MAX_MCX_CONTROLS = 6


def supports(circuit: Circuit) -> bool:
    """Whether every instruction of ``circuit`` is a numeric gate in :data:`SUPPORTED` (no modifiers)."""
    for inst in circuit:
        if inst.name == "barrier":
            continue
        if inst.name not in SUPPORTED or inst.ctrl or inst.inverted or inst.condition is not None:
            return False
        if inst.name == "mcx" and len(inst.qubits) - 1 > _MAX_MCX_CONTROLS:
            return False
        if any(isinstance(p, ParameterExpression) for p in inst.params):
            return False
    return True


def _half_turns(theta: float) -> float:
    v = float(theta) / math.pi
    r = round(v / _SNAP) * _SNAP
    return r if abs(v - r) < 1e-12 else v


def _mod2(v: float) -> float:
    v = math.fmod(v, 2.0)
    if v < 0:
        v += 2.0
    if v > 2.0 - _TOL:
        v = 0.0
    return v


def _bits(m: int) -> Iterator[int]:
    while m:
        low = m & -m
        yield low.bit_length() - 1
        m ^= low


@dataclass
class PathSumResult:
    """Outcome of :func:`check_identity`.

    Attributes:
        verdict: ``"equal"`` (proved), ``"different"`` (proved, with ``witness``)
            or ``"inconclusive"``.
        global_phase: the proved global phase in radians (``verdict == "equal"``).
        detail: a sentence for error messages.
        witness: a basis input (integer) on which the circuits differ, if known.
        path_variables: path variables left unreduced.
    """

    verdict: str
    global_phase: float = 0.0
    detail: str = ""
    witness: int | None = None
    path_variables: int = 0


class PathSum:
    """A path sum over ``n`` wires, built gate by gate and reduced eagerly.

    Variables are bits of Python integers: bit 0 is the constant 1, bit ``i + 1``
    input ``x_i``, bits above ``n`` the path variables.

    Args:
        n: number of wires.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.wires = [1 << (i + 1) for i in range(n)]
        self.terms: dict[int, float] = {}
        self.global_phase = 0.0  # half-turns
        self.sqrt2 = 0  # exponent of sqrt(2) in the normalization
        self.next_var = n + 1
        self.live: set[int] = set()
        self.var_terms: dict[int, set[int]] = {}
        self.stuck: set[int] = set()
        self._path_floor = 1 << (n + 1)
        self.zero = False
        self.reducing = True

    # -- phase terms -----------------------------------------------------------
    def add(self, f: int, theta: float) -> None:
        """Add ``theta`` (half-turns) times the affine function ``f`` to the phase."""
        if f & 1:
            self.global_phase += theta
            theta = -theta
            f ^= 1
        if f == 0 or theta == 0.0:
            return
        old = self.terms.get(f)
        new = _mod2((old or 0.0) + theta)
        if new == 0.0 or abs(new) < _TOL:
            if old is not None:
                del self.terms[f]
                self._unindex(f)
            return
        self.terms[f] = new
        if old is None:
            self._index(f)

    def _index(self, f: int) -> None:
        for b in _bits(f >> (self.n + 1)):
            self.var_terms.setdefault(b + self.n + 1, set()).add(f)

    def _unindex(self, f: int) -> None:
        for b in _bits(f >> (self.n + 1)):
            s = self.var_terms.get(b + self.n + 1)
            if s is not None:
                s.discard(f)

    def add_product(self, f: int, g: int, theta: float) -> None:
        """Add ``theta * f * g`` for affine Boolean ``f, g`` (``fg = (f + g - f^g) / 2``)."""
        self.add(f, theta / 2)
        self.add(g, theta / 2)
        self.add(f ^ g, -theta / 2)

    def add_triple(self, f: int, g: int, h: int, theta: float) -> None:
        """Add ``theta * f * g * h`` (the T-gate identity for CCZ, scaled)."""
        q = theta / 4
        for m, s in ((f, q), (g, q), (h, q), (f ^ g, -q), (f ^ h, -q), (g ^ h, -q), (f ^ g ^ h, q)):
            self.add(m, s)

    def add_monomial(self, fs: Sequence[int], theta: float) -> None:
        """Add ``theta * prod(fs)`` via inclusion-exclusion over parities (``len(fs) <= 7``)."""
        k = len(fs)
        scale = theta / 2 ** (k - 1)
        for sub in range(1, 2**k):
            m = 0
            for j in range(k):
                if sub >> j & 1:
                    m ^= fs[j]
            sign = 1 if bin(sub).count("1") % 2 else -1
            self.add(m, sign * scale)

    # -- gates -----------------------------------------------------------------
    def h(self, w: int) -> None:
        """Hadamard on wire ``w``: a fresh path variable, then eager reduction."""
        old = self.wires[w]
        y = self.next_var
        self.next_var += 1
        self.live.add(y)
        ybit = 1 << y
        self.wires[w] = ybit
        self.sqrt2 -= 1
        self.add_product(old, ybit, 1.0)
        cands = list(_bits(old >> (self.n + 1)))
        if cands and self.reducing:
            self._reduce([v + self.n + 1 for v in cands])

    def _reduce(self, queue: list[int]) -> None:
        union = 0
        for f in self.wires:
            union |= f
        while queue:
            y = queue.pop()
            if y not in self.live or union >> y & 1:
                continue
            touched = self._eliminate(y)
            if touched is None:
                self.stuck.add(y)
                continue
            self.stuck.discard(y)
            union = 0
            for f in self.wires:
                union |= f
            queue.extend(v for v in touched if v in self.live)
            queue.extend(v for v in list(self.stuck) if v in self.live)
            self.stuck.clear()

    def _eliminate(self, y: int) -> list[int] | None:
        """Sum out path variable ``y`` (on no wire); the variables touched, or ``None`` if stuck."""
        ybit = 1 << y
        masks = list(self.var_terms.get(y, ()))
        k_sum = 0
        q = 0
        for m in masks:
            k = self.terms[m] * 2
            kr = round(k)
            if abs(k - kr) > 1e-9:
                return None
            k_sum += kr
            if kr % 2:
                q ^= m ^ ybit
        k4 = k_sum % 4
        sub: int | None = None
        if k4 % 2 == 0 and q:
            path = q >> (self.n + 1)
            if not path:
                return None
            best = min((b + self.n + 1 for b in _bits(path)), key=lambda v: len(self.var_terms.get(v, ())))
            sub = best
        elif k4 == 2 and not q:
            self.zero = True
            return None
        # commit: the y = 0 part of the phase stays
        for m in masks:
            th = self.terms.pop(m)
            self._unindex(m)
            self.add(m ^ ybit, th)
        self.var_terms.pop(y, None)
        self.live.discard(y)
        touched = [b + self.n + 1 for b in _bits(q >> (self.n + 1))]
        if k4 % 2 == 1:
            self.sqrt2 += 1
            sign = 1 if k4 == 1 else -1
            self.global_phase += sign * 0.25
            self.add(q, -sign * 0.5)
            return touched
        self.sqrt2 += 2
        if sub is None:
            return touched
        # HH: z := (Q xor z) xor c
        zbit = 1 << sub
        repl = q ^ zbit ^ (k4 // 2)
        for j, f in enumerate(self.wires):
            if f & zbit:
                self.wires[j] = f ^ zbit ^ repl
        for m in list(self.var_terms.get(sub, ())):
            th = self.terms.pop(m)
            self._unindex(m)
            self.add(m ^ zbit ^ repl, th)
        self.var_terms.pop(sub, None)
        self.live.discard(sub)
        return touched

    def apply(self, inst: Instruction, wires: Sequence[int]) -> None:
        """Apply one supported instruction on ``wires`` (positions in this path sum)."""
        name = inst.name
        w = self.wires
        p = [_half_turns(float(x)) for x in inst.params]  # type: ignore[arg-type]
        if name in ("id", "barrier"):
            return
        a = wires[0]
        if name == "x":
            w[a] ^= 1
        elif name == "z":
            self.add(w[a], 1.0)
        elif name == "y":  # Y = i X Z
            self.global_phase += 0.5
            self.add(w[a], 1.0)
            w[a] ^= 1
        elif name == "h":
            self.h(a)
        elif name in ("s", "sdg", "t", "tdg"):
            self.add(w[a], {"s": 0.5, "sdg": -0.5, "t": 0.25, "tdg": -0.25}[name])
        elif name in ("p", "u1"):
            self.add(w[a], p[0])
        elif name == "rz":
            self.global_phase -= p[0] / 2
            self.add(w[a], p[0])
        elif name in ("sx", "sxdg"):  # sx = H S H
            self.h(a)
            self.add(w[a], 0.5 if name == "sx" else -0.5)
            self.h(a)
        elif name == "rx":
            self.h(a)
            self.global_phase -= p[0] / 2
            self.add(w[a], p[0])
            self.h(a)
        elif name == "ry":
            self._ry(a, p[0])
        elif name in ("u", "u3", "u2"):
            theta, phi, lam = (0.5, p[0], p[1]) if name == "u2" else (p[0], p[1], p[2])
            # u = e^{i(phi+lam)/2} rz(phi) ry(theta) rz(lam)
            self.global_phase += (phi + lam) / 2
            self.global_phase -= lam / 2
            self.add(w[a], lam)
            self._ry(a, theta)
            self.global_phase -= phi / 2
            self.add(w[a], phi)
        else:
            self._multi(name, wires, p)

    def _ry(self, a: int, theta: float) -> None:
        # ry = S rx S^dagger (apply S^dagger first)
        self.add(self.wires[a], -0.5)
        self.h(a)
        self.global_phase -= theta / 2
        self.add(self.wires[a], theta)
        self.h(a)
        self.add(self.wires[a], 0.5)

    def _multi(self, name: str, wires: Sequence[int], p: list[float]) -> None:
        w = self.wires
        a, b = wires[0], wires[1]
        if name == "cx":
            w[b] ^= w[a]
        elif name == "cz":
            self.add_product(w[a], w[b], 1.0)
        elif name == "cy":  # cy = S_t cx S_t^dagger
            self.add(w[b], -0.5)
            w[b] ^= w[a]
            self.add(w[b], 0.5)
        elif name == "swap":
            w[a], w[b] = w[b], w[a]
        elif name == "cp":
            self.add_product(w[a], w[b], p[0])
        elif name == "crz":
            self.add(w[a], -p[0] / 2)
            self.add_product(w[a], w[b], p[0])
        elif name == "crx":
            self.h(b)
            self.add(w[a], -p[0] / 2)
            self.add_product(w[a], w[b], p[0])
            self.h(b)
        elif name == "cry":
            self.add(w[b], -0.5)
            self.h(b)
            self.add(w[a], -p[0] / 2)
            self.add_product(w[a], w[b], p[0])
            self.h(b)
            self.add(w[b], 0.5)
        elif name == "rzz":
            self.global_phase -= p[0] / 2
            self.add(w[a] ^ w[b], p[0])
        elif name == "ccz":
            self.add_triple(w[a], w[b], w[wires[2]], 1.0)
        elif name == "ccx":
            t = wires[2]
            self.h(t)
            self.add_triple(w[a], w[b], w[t], 1.0)
            self.h(t)
        elif name == "cswap":
            c, x, y = wires
            w[x] ^= w[y]
            self._multi("ccx", (c, x, y), p)
            w[x] ^= w[y]
        elif name == "mcx":
            t = wires[-1]
            self.h(t)
            self.add_monomial([w[q] for q in wires], 1.0)
            self.h(t)
        else:  # pragma: no cover - guarded by supports()
            raise ValueError(f"path sums do not support {name!r}")

    # -- final check -----------------------------------------------------------
    def phase_at(self, x: int) -> float:
        """The phase (half-turns, without the global part) on basis input ``x`` (no path variables left)."""
        v = x << 1 | 1
        total = 0.0
        for m, th in self.terms.items():
            if bin(m & v).count("1") % 2:
                total += th
        return total


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


def canonical_1q_runs(circuit: Circuit) -> Circuit | None:
    """``circuit`` with every maximal run of one-qubit gates rewritten as ``rz`` or ``rz h rz h rz`` (ZXZ).

    The rewrite makes path sums insensitive to how each circuit spells its
    one-qubit runs; each new run is checked against the old run's 2x2 matrix
    (up to a global phase, tolerance 1e-9). Returns ``None`` if a run has a gate
    without a numeric matrix or a check fails.

    Examples:
        >>> from qtandem import Circuit
        >>> [i.name for i in canonical_1q_runs(Circuit(1).sx(0).t(0))]
        ['rz', 'h', 'rz', 'h', 'rz']
    """
    n = circuit.n_qubits
    runs: list[Any] = [None] * n
    out = Circuit(n)

    def flush(q: int) -> None:
        u = runs[q]
        runs[q] = None
        if u is None:
            return
        det = np.linalg.det(u)
        su = u / np.sqrt(det)
        a, b = su[0, 0], su[0, 1]
        if abs(b) < 1e-12:
            lam = -2 * float(np.angle(a))
            seq = [("rz", lam)] if abs(math.remainder(lam, 4 * math.pi)) > 1e-12 else []
        else:
            beta = 2 * math.atan2(abs(b), abs(a))
            s_ = -2 * float(np.angle(a)) if abs(a) > 1e-12 else 0.0
            d_ = -2 * (float(np.angle(b)) + math.pi / 2)
            alpha, gamma = (s_ + d_) / 2, (s_ - d_) / 2
            seq = [("rz", gamma), ("h", 0.0), ("rz", beta), ("h", 0.0), ("rz", alpha)]
        m = np.eye(2, dtype=complex)
        for g, th in seq:
            m = (_H2 if g == "h" else np.diag([np.exp(-0.5j * th), np.exp(0.5j * th)])) @ m
        k = int(np.argmax(np.abs(u)))
        ph = m.flat[k] / u.flat[k]
        if abs(abs(ph) - 1) > 1e-9 or np.abs(m - ph * u).max() > 1e-9:
            raise ArithmeticError
        for g, th in seq:
            if g == "h":
                out.h(q)
            else:
                out.rz(float(th), q)

    try:
        for inst in circuit:
            if not inst.is_gate or inst.ctrl or inst.condition is not None:
                return None
            if len(inst.qubits) == 1:
                if inst.name == "id":
                    continue
                if any(isinstance(p, ParameterExpression) for p in inst.params):
                    return None
                mat = _matrix_1q(inst.name, tuple(float(p) for p in inst.params))  # type: ignore[arg-type]
                q = inst.qubits[0]
                runs[q] = mat if runs[q] is None else mat @ runs[q]
            else:
                for q in inst.qubits:
                    flush(q)
                out.append(inst)
        for q in range(n):
            flush(q)
    except ArithmeticError:
        return None
    return out


_H2 = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)


@lru_cache(maxsize=4096)
def _matrix_1q(name: str, params: tuple[float, ...]) -> np.ndarray:
    return gate_matrix(name, params).numpy()
