"""Seeded generators of rotation-heavy algorithm circuits, written as a user's framework emits them.

The development set of the general compiler benchmark (``bench/compile_general.py``) and a source of
training circuits: QAOA, a quantum neural network, Trotterized spin chains, hardware-efficient
ansatze, UCCSD-like Pauli-exponential ladders, an approximate QFT and random rotation circuits. Each
family is first built from textbook pieces (``rzz`` as ``cx rz cx``, a Pauli exponential as a basis
change, a CX ladder and one ``rz``, ``cp`` as two CX and three ``rz``), then every gate is translated
on its own into the target basis, with no merging or cancellation, the way a level-0 transpile does:

* ``"ibm"``: {rz, sx, x, cx} (a general one-qubit gate becomes ``rz sx rz sx rz``),
* ``"u"``: {u, cx} (one ``u`` per one-qubit gate),
* ``"nam"``: {h, rz, x, cx} (``rx`` becomes ``h rz h``).

The three bases give the same unitary up to a global phase. Every choice (graph, angles, Pauli
strings, gate positions) comes from ``seed``; the same arguments give the same circuit.

Examples:
    >>> from qtandem.compile.generate import FAMILIES, generate
    >>> len(FAMILIES) >= 8
    True
    >>> c = generate("qaoa", 6, seed=1, basis="nam")
    >>> sorted(c.count_ops())
    ['cx', 'h', 'rz']
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from qtandem.circuit import Circuit
from qtandem.errors import CompileError
from qtandem.random import as_generator

__all__ = ["BASES", "FAMILIES", "generate"]

PI = math.pi

BASES: dict[str, tuple[str, ...]] = {
    "ibm": ("cx", "rz", "sx", "x"),
    "u": ("cx", "u"),
    "nam": ("cx", "h", "rz", "x"),
}
"""The gate set of each target basis."""

Op = tuple[str, tuple[int, ...], tuple[float, ...]]
"""A logical gate: name in {h, x, sx, rx, ry, rz, cx, cz}, qubits, angles."""


class _Builder:
    """Collects logical gates; two-qubit rotations are written out as a framework does."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ops: list[Op] = []

    def g(self, name: str, *qubits: int, params: tuple[float, ...] = ()) -> None:
        self.ops.append((name, tuple(qubits), params))

    def rzz(self, theta: float, a: int, b: int) -> None:
        self.g("cx", a, b)
        self.g("rz", b, params=(theta,))
        self.g("cx", a, b)

    def cp(self, lam: float, c: int, t: int) -> None:
        self.g("rz", c, params=(lam / 2,))
        self.g("cx", c, t)
        self.g("rz", t, params=(-lam / 2,))
        self.g("cx", c, t)
        self.g("rz", t, params=(lam / 2,))

    def swap(self, a: int, b: int) -> None:
        self.g("cx", a, b)
        self.g("cx", b, a)
        self.g("cx", a, b)

    def pauli_exp(self, pauli: dict[int, str], theta: float) -> None:
        """``exp(-i theta P / 2)``: basis change, CX ladder, ``rz``, ladder back, basis change back."""
        qs = sorted(pauli)
        for q in qs:
            if pauli[q] == "X":
                self.g("h", q)
            elif pauli[q] == "Y":
                self.g("rx", q, params=(PI / 2,))
        for a, b in itertools.pairwise(qs):
            self.g("cx", a, b)
        self.g("rz", qs[-1], params=(theta,))
        for a, b in reversed(list(itertools.pairwise(qs))):
            self.g("cx", a, b)
        for q in qs:
            if pauli[q] == "X":
                self.g("h", q)
            elif pauli[q] == "Y":
                self.g("rx", q, params=(-PI / 2,))


def _angle(rng: np.random.Generator) -> float:
    return float(rng.uniform(-PI, PI))


def _regular_graph(n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A random ``d``-regular graph (``d = 3``, or ``2`` when ``3 n`` is odd) by seeded pairing with retries."""
    d = 3 if (3 * n) % 2 == 0 and n >= 4 else 2
    for _ in range(1000):
        stubs = rng.permutation(np.repeat(np.arange(n), d))
        edges = {(int(min(a, b)), int(max(a, b))) for a, b in stubs.reshape(-1, 2)}
        if len(edges) == n * d // 2 and all(a != b for a, b in edges):
            return sorted(edges)
    return [(i, (i + 1) % n) for i in range(n)]  # pragma: no cover - pairing always succeeds at these sizes


def _qaoa(b: _Builder, rng: np.random.Generator, depth: int) -> None:
    edges = _regular_graph(b.n, rng)
    for q in range(b.n):
        b.g("h", q)
    for _ in range(depth):
        gamma, beta = _angle(rng), _angle(rng)
        for u, v in edges:
            b.rzz(2 * gamma, u, v)
        for q in range(b.n):
            b.g("rx", q, params=(2 * beta,))


def _qnn(b: _Builder, rng: np.random.Generator, depth: int) -> None:
    """ZZ feature map (full entanglement, 2 reps) and a RealAmplitudes-like ansatz (reverse-linear CX)."""
    x = rng.uniform(0, PI, b.n)
    for _ in range(2):
        for q in range(b.n):
            b.g("h", q)
            b.g("rz", q, params=(2 * float(x[q]),))
        for i in range(b.n):
            for j in range(i + 1, b.n):
                b.rzz(2 * float((PI - x[i]) * (PI - x[j])), i, j)
    for layer in range(depth + 1):
        for q in range(b.n):
            b.g("ry", q, params=(_angle(rng),))
        if layer < depth:
            for q in reversed(range(b.n - 1)):
                b.g("cx", q, q + 1)


def _trotter(kind: str) -> Callable[[_Builder, np.random.Generator, int], None]:
    def build(b: _Builder, rng: np.random.Generator, depth: int) -> None:
        dt = 0.1
        bonds = [(i, i + 1) for i in range(b.n - 1)]
        coupling = {bond: float(rng.uniform(0.5, 1.5)) for bond in bonds}
        field = rng.uniform(-1.0, 1.0, b.n)
        terms = {"ising": ("ZZ",), "xy": ("XX", "YY"), "heisenberg": ("XX", "YY", "ZZ")}[kind]
        for _ in range(depth):
            for a, c in bonds:
                for t in terms:
                    b.pauli_exp({a: t[0], c: t[1]}, 2 * coupling[(a, c)] * dt)
            for q in range(b.n):
                b.g("rx" if kind == "ising" else "rz", q, params=(2 * float(field[q]) * dt,))
    return build


def _hea(entangler: str) -> Callable[[_Builder, np.random.Generator, int], None]:
    def build(b: _Builder, rng: np.random.Generator, depth: int) -> None:
        for layer in range(depth + 1):
            for q in range(b.n):
                b.g("ry", q, params=(_angle(rng),))
                b.g("rz", q, params=(_angle(rng),))
            if layer < depth:
                for q in range(b.n - 1):
                    b.g(entangler, q, q + 1)
    return build


def _uccsd(b: _Builder, rng: np.random.Generator, depth: int) -> None:
    """Jordan-Wigner singles and doubles (occupied = lower half), each as its Pauli exponentials."""
    occ, virt = list(range(b.n // 2)), list(range(b.n // 2, b.n))
    for q in occ:
        b.g("x", q)
    singles = [(i, a) for i in occ for a in virt]
    doubles = [(i, j, a, c) for i in occ for j in occ if i < j for a in virt for c in virt if a < c]
    chosen_d = [doubles[k] for k in sorted(rng.permutation(len(doubles))[: depth * b.n])] if doubles else []
    for i, a in singles:
        theta = float(rng.uniform(-0.5, 0.5))
        z = dict.fromkeys(range(i + 1, a), "Z")
        b.pauli_exp({**z, i: "X", a: "Y"}, theta)
        b.pauli_exp({**z, i: "Y", a: "X"}, -theta)
    for i, j, a, c in chosen_d:
        theta = float(rng.uniform(-0.5, 0.5))
        z = dict.fromkeys([*range(i + 1, j), *range(a + 1, c)], "Z")
        for k, word in enumerate(("XXXY", "XXYX", "XYYY", "YXYY", "XYXX", "YXXX", "YYXY", "YYYX")):
            sign = 1.0 if k < 4 else -1.0
            b.pauli_exp({**z, i: word[0], j: word[1], a: word[2], c: word[3]}, sign * theta / 4)


def _aqft(b: _Builder, rng: np.random.Generator, depth: int) -> None:
    """A seeded product-state preparation, then the QFT keeping controlled phases down to ``pi / 2**depth``."""
    for q in range(b.n):
        b.g("ry", q, params=(_angle(rng),))
    for j in reversed(range(b.n)):
        b.g("h", j)
        for k in reversed(range(j)):
            if j - k <= depth:
                b.cp(PI / 2 ** (j - k), k, j)
    for q in range(b.n // 2):
        b.swap(q, b.n - 1 - q)


def _random_rot(b: _Builder, rng: np.random.Generator, depth: int) -> None:
    for _ in range(depth):
        for q in range(b.n):
            b.g(("rx", "ry", "rz")[int(rng.integers(3))], q, params=(_angle(rng),))
        pairs = rng.permutation(b.n)
        for k in range(0, b.n - 1, 2):
            b.g("cx", int(pairs[k]), int(pairs[k + 1]))


_FAMILY: dict[str, tuple[Callable[[_Builder, np.random.Generator, int], None], int, int]] = {
    # name: (builder, default depth (layers, steps, reps), fewest qubits)
    "qaoa": (_qaoa, 3, 3),
    "qnn": (_qnn, 3, 2),
    "trotter_ising": (_trotter("ising"), 6, 2),
    "trotter_xy": (_trotter("xy"), 6, 2),
    "trotter_heisenberg": (_trotter("heisenberg"), 6, 2),
    "hea_cx": (_hea("cx"), 4, 2),
    "hea_cz": (_hea("cz"), 4, 2),
    "uccsd": (_uccsd, 1, 4),
    "aqft": (_aqft, 3, 2),
    "random_rot": (_random_rot, 8, 2),
}

FAMILIES: tuple[str, ...] = tuple(_FAMILY)
"""Names accepted by :func:`generate`."""


def _wrap(a: float) -> float:
    """``a`` in ``(-pi, pi]``."""
    w = math.remainder(a, 2 * PI)
    return PI if math.isclose(w, -PI) else w


def _u_angles(name: str, p: tuple[float, ...]) -> tuple[float, float, float]:
    """``(theta, phi, lam)`` of ``u`` equal to the logical one-qubit gate up to global phase."""
    return {
        "h": lambda: (PI / 2, 0.0, PI),
        "x": lambda: (PI, 0.0, PI),
        "sx": lambda: (PI / 2, -PI / 2, PI / 2),
        "rx": lambda: (p[0], -PI / 2, PI / 2),
        "ry": lambda: (p[0], 0.0, 0.0),
        "rz": lambda: (0.0, 0.0, p[0]),
    }[name]()


def _emit_ibm(c: Circuit, name: str, q: int, p: tuple[float, ...]) -> None:
    if name in ("x", "sx"):
        c.append(name, [q])
    elif name == "rz":
        c.rz(_wrap(p[0]), q)
    elif name == "h":
        c.rz(PI / 2, q).sx(q).rz(PI / 2, q)
    else:  # u(theta, phi, lam) = rz(lam) sx rz(theta + pi) sx rz(phi + pi) in circuit order
        theta, phi, lam = _u_angles(name, p)
        c.rz(_wrap(lam), q).sx(q).rz(_wrap(theta + PI), q).sx(q).rz(_wrap(phi + PI), q)


def _emit_nam(c: Circuit, name: str, q: int, p: tuple[float, ...]) -> None:
    if name in ("x", "h"):
        c.append(name, [q])
    elif name == "rz":
        c.rz(_wrap(p[0]), q)
    elif name in ("rx", "sx"):
        c.h(q).rz(_wrap(p[0] if name == "rx" else PI / 2), q).h(q)
    else:  # ry = S rx S^dagger
        c.rz(-PI / 2, q).h(q).rz(_wrap(p[0]), q).h(q).rz(PI / 2, q)


def _translate(ops: list[Op], n: int, basis: str, name: str) -> Circuit:
    c = Circuit(n, name=name)
    for g, qs, p in ops:
        if g == "cx":
            c.cx(*qs)
        elif g == "cz":  # h on the target, cx, h on the target, each h translated
            _translate_1q(c, "h", qs[1], (), basis)
            c.cx(*qs)
            _translate_1q(c, "h", qs[1], (), basis)
        else:
            _translate_1q(c, g, qs[0], p, basis)
    return c


def _translate_1q(c: Circuit, name: str, q: int, p: tuple[float, ...], basis: str) -> None:
    if basis == "u":
        theta, phi, lam = _u_angles(name, p)
        c.u(_wrap(theta), _wrap(phi), _wrap(lam), q)
    elif basis == "ibm":
        _emit_ibm(c, name, q, p)
    else:
        _emit_nam(c, name, q, p)


def _logical(family: str, n_qubits: int, seed: int, depth: int | None) -> tuple[list[Op], str]:
    """The family's logical gates (before translation) and the circuit's name; arguments checked."""
    if family not in _FAMILY:
        raise CompileError(f"unknown circuit family {family!r}; choose one of {', '.join(FAMILIES)}")
    build, default_depth, fewest = _FAMILY[family]
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, (int, np.integer)) or n_qubits < fewest:
        raise CompileError(f"family {family!r} needs an integer n_qubits >= {fewest}, got {n_qubits!r}")
    d = default_depth if depth is None else depth
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise CompileError(f"depth must be a positive integer (layers, steps or repetitions), got {depth!r}")
    b = _Builder(int(n_qubits))
    build(b, as_generator(seed), int(d))
    return b.ops, f"{family}_{n_qubits}_s{seed}"


def generate(family: str, n_qubits: int, *, seed: int, basis: str = "ibm", depth: int | None = None) -> Circuit:
    """A seeded circuit of one algorithm family, naively translated into ``basis``.

    Args:
        family: one of :data:`FAMILIES`: ``"qaoa"`` (MaxCut on a random 3-regular graph, or
            2-regular when ``3 n`` is odd; ``depth`` layers), ``"qnn"`` (ZZ feature map with full
            entanglement, 2 reps, then ``depth`` reps of ``ry`` layers and reverse-linear CX),
            ``"trotter_ising"``, ``"trotter_xy"``, ``"trotter_heisenberg"`` (open chain with random
            couplings and fields, ``depth`` first-order steps), ``"hea_cx"``, ``"hea_cz"``
            (``ry rz`` layers with a linear entangler, ``depth`` entangling layers), ``"uccsd"``
            (Hartree-Fock state, every single and ``depth * n`` seeded doubles as Pauli
            exponentials), ``"aqft"`` (a seeded ``ry`` product state, then the QFT keeping controlled
            phases between qubits at most ``depth`` apart, with the final swaps), ``"random_rot"``
            (``depth`` layers of random ``rx``/``ry``/``rz`` and CX on a random pairing).
        n_qubits: width (at least 2; 3 for ``qaoa``, 4 for ``uccsd``).
        seed: seeds every random choice (graph, angles, terms, pairings).
        basis: ``"ibm"`` {rz, sx, x, cx}, ``"u"`` {u, cx} or ``"nam"`` {h, rz, x, cx}.
        depth: layers, steps or repetitions; ``None`` for the family's default.

    Returns:
        The circuit, named ``"<family>_<n>_s<seed>"``, using only the gates of ``BASES[basis]``.

    Raises:
        CompileError: unknown family or basis, too few qubits, or a depth that is not a positive integer.

    Examples:
        >>> from qtandem.compile.generate import generate
        >>> c = generate("hea_cx", 4, seed=0, basis="u", depth=2)
        >>> c.count_ops()["cx"], c.count_ops()["u"]
        (6, 24)
        >>> generate("qnn", 3, seed=5) == generate("qnn", 3, seed=5)
        True
        >>> generate("qaoa", 6, seed=0, basis="ibm").count_ops()["cx"]
        54
    """
    if basis not in BASES:
        raise CompileError(f"unknown basis {basis!r}; choose one of {', '.join(BASES)}")
    ops, name = _logical(family, n_qubits, seed, depth)
    return _translate(ops, int(n_qubits), basis, name)
