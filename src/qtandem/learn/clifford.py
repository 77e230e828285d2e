"""One- and two-qubit Clifford groups in a device's native gates ``{rz, sx, x, cx}``, for randomized benchmarking.

Each Clifford is a short list of native operations ``(name, local qubits, params)`` and is
identified by its Stim tableau (global phase ignored, as RB needs). The one-qubit group is
a table of 24 words, each with the fewest ``sx``/``x`` pulses (found by a search over
words in ``sx``, ``x`` and ``rz`` by multiples of pi/2, checked against Stim). The
two-qubit group (11,520 elements) is built in the standard four classes
(single-qubit, CNOT-like, iSWAP-like and SWAP-like; Corcoles et al., PRA 87, 030301,
2013): element ``(c0 x c1) . M . (s0 x s1)`` with ``c0, c1`` one-qubit Cliffords, ``M``
the class's ``cx`` pattern and ``s0, s1`` from the three-element group that cycles
X -> Y -> Z. So a uniform index gives a uniform Clifford with at most three ``cx``.
:func:`clifford_2q_index` finds the index of any two-qubit tableau (for the inverse
that ends an RB sequence).

Examples:
    >>> len(CLIFFORD_1Q), len(clifford_2q_table())
    (24, 11520)
    >>> import stim
    >>> word = CLIFFORD_1Q[clifford_1q_index(stim.Tableau.from_named_gate("H"))]
    >>> [op[0] for op in word]
    ['rz', 'sx', 'rz']
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
import stim

__all__ = [
    "CLIFFORD_1Q",
    "NativeOp",
    "clifford_1q_index",
    "clifford_2q_index",
    "clifford_2q_ops",
    "clifford_2q_table",
    "ops_tableau",
]

NativeOp = tuple[str, tuple[int, ...], tuple[float, ...]]
"""One native operation: ``(gate name, local qubits, params)``, e.g. ``("rz", (0,), (pi/2,))``."""

_HALF_PI = math.pi / 2
_STIM_NAME = {"sx": "SQRT_X", "x": "X", "cx": "CX"}


@functools.cache
def _gate_tableau(name: str, angle_quarters: int) -> stim.Tableau | None:
    if name == "rz":
        gate = ("I", "S", "Z", "S_DAG")[angle_quarters % 4]
        return None if gate == "I" else stim.Tableau.from_named_gate(gate)
    if name in _STIM_NAME:
        return stim.Tableau.from_named_gate(_STIM_NAME[name])
    raise ValueError(f"{name!r} is not one of rz, sx, x, cx")


def ops_tableau(ops: Sequence[NativeOp], n: int) -> stim.Tableau:
    """The Stim tableau of native operations on ``n`` local qubits (applied in order).

    Examples:
        >>> import math
        >>> ops_tableau([("rz", (0,), (math.pi / 2,)), ("sx", (0,), ()), ("rz", (0,), (math.pi / 2,))], 1) == \\
        ...     stim.Tableau.from_named_gate("H")
        True
    """
    tab = stim.Tableau(n)
    for name, qubits, params in ops:
        k = 0
        if name == "rz":
            k = round(float(params[0]) / _HALF_PI)
            if not math.isclose(k * _HALF_PI, float(params[0]), abs_tol=1e-9):
                raise ValueError(f"rz({params[0]}) is not a Clifford")
        gate = _gate_tableau(name, k)
        if gate is not None:
            tab.append(gate, list(qubits))
    return tab


def _search_1q() -> list[list[NativeOp]]:
    """The 24 one-qubit Cliffords, each a word ``rz? (pulse rz?)*`` with the fewest pulses, then fewest ops."""
    rz: list[NativeOp | None] = [None, *[("rz", (0,), (k * _HALF_PI,)) for k in (1, 2, -1)]]
    pulses: list[NativeOp] = [("sx", (0,), ()), ("x", (0,), ())]
    words: list[list[NativeOp]] = []  # each word: rz? (pulse rz?)^n
    for n_pulses in range(3):
        for first in rz:
            for layer in itertools.product([(p, r) for p in pulses for r in rz], repeat=n_pulses):
                raw = [first] + [op for pair in layer for op in pair]
                words.append([op for op in raw if op is not None])
    found: dict[str, list[NativeOp]] = {}  # tableau text -> cheapest word
    for word in sorted(words, key=lambda w: (_pulses(w), len(w))):  # stable: first found is the cheapest
        found.setdefault(str(ops_tableau(word, 1)), word)
    if len(found) != 24:  # pragma: no cover - a broken search, caught by the tests
        raise AssertionError(f"found {len(found)} one-qubit Cliffords, expected 24")
    return sorted(found.values(), key=lambda w: (_pulses(w), len(w)))


def _pulses(word: Sequence[NativeOp]) -> int:
    return sum(op[0] != "rz" for op in word)


CLIFFORD_1Q: tuple[tuple[NativeOp, ...], ...] = tuple(tuple(w) for w in _search_1q())
"""The 24 one-qubit Cliffords as native words on local qubit 0 (index 0 is the identity).

Examples:
    >>> CLIFFORD_1Q[0], max(sum(op[0] != "rz" for op in w) for w in CLIFFORD_1Q)
    ((), 2)
"""

_KEY_1Q = {str(ops_tableau(w, 1)): i for i, w in enumerate(CLIFFORD_1Q)}


def clifford_1q_index(tableau: stim.Tableau) -> int:
    """Index in :data:`CLIFFORD_1Q` of a one-qubit tableau.

    Examples:
        >>> clifford_1q_index(stim.Tableau(1))
        0
    """
    return _KEY_1Q[str(tableau)]


def _on(word: Sequence[NativeOp], qubit: int) -> list[NativeOp]:
    return [(name, (qubit,), params) for name, _, params in word]


def _cycle_group() -> list[int]:
    """Indices of the three Cliffords I, R, R^2 with R: X -> Y -> Z -> X."""
    r = stim.Tableau.from_conjugated_generators(xs=[stim.PauliString("+Y")], zs=[stim.PauliString("+X")])
    return [clifford_1q_index(stim.Tableau(1)), clifford_1q_index(r), clifford_1q_index(r.then(r))]


_CLASS_CX: tuple[tuple[tuple[int, int], ...], ...] = ((), ((0, 1),), ((0, 1), (1, 0)), ((0, 1), (1, 0), (0, 1)))
_CLASS_SIZES = (576, 5184, 5184, 576)


def clifford_2q_ops(index: int) -> list[NativeOp]:
    """The native word of two-qubit Clifford ``index`` (0..11519) on local qubits 0 and 1.

    Examples:
        >>> clifford_2q_ops(0)
        []
        >>> sum(op[0] == "cx" for op in clifford_2q_ops(11519))
        3
    """
    if not 0 <= index < 11520:
        raise ValueError(f"two-qubit Clifford index must be in 0..11519, got {index}")
    cls = 0
    while index >= _CLASS_SIZES[cls]:
        index -= _CLASS_SIZES[cls]
        cls += 1
    c0, rest = divmod(index, _CLASS_SIZES[cls] // 24)
    c1, rest = divmod(rest, _CLASS_SIZES[cls] // 576)
    ops = _on(CLIFFORD_1Q[c0], 0) + _on(CLIFFORD_1Q[c1], 1)
    ops += [("cx", pair, ()) for pair in _CLASS_CX[cls]]
    if cls in (1, 2):
        s0, s1 = divmod(rest, 3)
        cyc = _cycle_group()
        ops += _on(CLIFFORD_1Q[cyc[s0]], 0) + _on(CLIFFORD_1Q[cyc[s1]], 1)
    return ops


@functools.cache
def clifford_2q_table() -> dict[str, int]:
    """``{str(tableau): index}`` of all 11,520 two-qubit Cliffords (built once, ~1 s).

    Examples:
        >>> clifford_2q_table()[str(stim.Tableau(2))]
        0
    """
    table: dict[str, int] = {}
    for i in range(11520):
        key = str(ops_tableau(clifford_2q_ops(i), 2))
        if key in table:  # pragma: no cover - a broken construction, caught by the tests
            raise AssertionError(f"two-qubit Cliffords {table[key]} and {i} coincide")
        table[key] = i
    return table


def clifford_2q_index(tableau: stim.Tableau) -> int:
    """Index of a two-qubit tableau (see :func:`clifford_2q_ops`).

    Examples:
        >>> clifford_2q_index(stim.Tableau.from_named_gate("SWAP")) >= 11520 - 576
        True
    """
    return clifford_2q_table()[str(tableau)]


def random_indices(count: int, group: int, rng: np.random.Generator) -> list[int]:
    """``count`` uniform Clifford indices of a group of size ``group`` (24 or 11520)."""
    return [int(i) for i in rng.integers(0, group, size=count)]
