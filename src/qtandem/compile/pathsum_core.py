"""The path-sum data structure behind :mod:`qtandem.compile.pathsum`: :class:`PathSum` and its gate rules.

Variables are bits of Python integers (bit 0 the constant 1, bit ``i + 1`` input
``x_i``, higher bits path variables); the phase is a dictionary from parity masks
to coefficients in half-turns. See :mod:`qtandem.compile.pathsum` for the
reduction rules and the equivalence check built on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from qtandem.circuit import Circuit, Instruction
from qtandem.circuit.parameter import ParameterExpression

__all__ = ["SUPPORTED", "PathSum", "PathSumResult", "supports"]

_SNAP = 2.0**-20
_TOL = 1e-9

# gate -> expansion in primitive ops: ("h"|"x"|"ph"|"cx"|"ccz"|"cp", qubit positions, angle in half-turns)
SUPPORTED = frozenset({"id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz", "p", "u1",
                       "u2", "u3", "u", "cx", "cy", "cz", "swap", "ccx", "ccz", "cswap", "cp", "crz", "crx", "cry",
                       "rzz", "mcx"})
"""Gate names the path-sum checker understands (others fall back to the exact check)."""

_MAX_MCX_CONTROLS = 6


def supports(circuit: Circuit) -> bool:
    """Whether every instruction of ``circuit`` is a numeric gate in :data:`SUPPORTED` (no modifiers).

    Examples:
        >>> from qtandem import Circuit
        >>> supports(Circuit(2).h(0).cx(0, 1).t(1)), supports(Circuit(1, 1).measure(0, 0))
        (True, False)
    """
    for inst in circuit:
        if inst.name in ("barrier", "delay"):
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

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.pathsum import check_identity
        >>> check_identity(Circuit(1).h(0).h(0), Circuit(1)).verdict
        'equal'
        >>> result = check_identity(Circuit(1).x(0), Circuit(1))
        >>> result.verdict, result.witness
        ('different', 0)
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

    Examples:
        >>> from qtandem.circuit.instruction import Instruction
        >>> ps = PathSum(1)
        >>> ps.apply(Instruction("h", [0]), [0])
        >>> ps.apply(Instruction("h", [0]), [0])
        >>> ps.wires == [1 << 1]          # the wire is the input x0 again: h h reduced to the identity
        True
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
        if name in ("id", "barrier", "delay"):
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
