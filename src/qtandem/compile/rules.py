"""The verified rewrite rules the search applies (:mod:`qtandem.compile.search`).

A rule is anchored at one gate of a window (a small circuit in the gate set
{h, x, cx, rz}); where its pattern matches, the matched gates are replaced by
the rule's right-hand side. Every rule is an identity up to global phase, and
:func:`check_rules` proves each one against dense matrices at random angles
(the tests run it); on top of that, every circuit the search returns is
verified against its input by :func:`qtandem.compile.verify.verify_equivalent`.

Rules that add gates (``cx_flip``, ``cx_expand``, ``x_push``) are there to
reach cheaper circuits through more expensive ones, as in Quartz and QUESO;
after each rewrite the search runs the cheap cleanup (:func:`cleanup`:
cancellation with commutation, then one-qubit resynthesis).

A window is a list of ``(name, qubits, angle)`` tuples (``angle`` is ``None``
except for ``rz``).

Examples:
    >>> w = [("h", (0,), None), ("h", (1,), None), ("cx", (0, 1), None), ("h", (0,), None), ("h", (1,), None)]
    >>> [a for a in actions(w) if a[0] == RULES.index("cx_flip")]
    [(0, 2)]
    >>> cleanup(apply_action(w, (RULES.index("cx_flip"), 2)), 2)
    [('cx', (1, 0), None)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from qtandem.compile.dag import Op, Wires, commutes, normalize_angle
from qtandem.compile.passes.cancellation import cancel_ops
from qtandem.compile.passes.resynth_1q import STYLE_GATES as RUN_GATES
from qtandem.compile.passes.resynth_1q import map_runs
from qtandem.compile.synth1q import matrix_1q
from qtandem.sim.dense import dense_unitary, equal_up_to_phase

__all__ = ["GATES", "RULES", "STYLES", "STYLE_GATES", "Gate", "actions", "apply_action", "check_rules", "cleanup",
           "to_window_ops"]

Gate = tuple[str, tuple[int, ...], Any]
"""One window gate: ``(name, qubits, angle)``; ``angle`` is a float for ``rz``, the ``(theta, phi, lambda)``
tuple for ``u`` and ``None`` otherwise."""

GATES = frozenset({"h", "x", "cx", "rz"})
"""The gate set windows are written in (Nam et al.'s)."""

RULES = ("cx_flip", "h_s_h", "s_h_s", "cx_triangle", "cx_expand", "x_push", "commute", "x_rz", "gadget_flip",
         "run_push", "run_pull")
"""Rule names, in the order of the policy's outputs.

* ``cx_flip``: ``cx(a,b) = h(a) h(b) cx(b,a) h(a) h(b)``.
* ``h_s_h``: ``h rz(s) h = rz(-s) h rz(-s)`` for ``s = +-pi/2``.
* ``s_h_s``: ``rz(s) h rz(s) = h rz(-s) h`` for ``s = +-pi/2``.
* ``cx_triangle``: ``cx(a,b) cx(b,c) cx(a,b) = cx(a,c) cx(b,c)`` and
  ``cx(b,c) cx(a,b) cx(b,c) = cx(a,b) cx(a,c)`` (three CX to two).
* ``cx_expand``: ``cx(a,b) cx(b,c) = cx(b,c) cx(a,c) cx(a,b)`` (two CX to three).
* ``x_push``: ``x(a) cx(a,b) = cx(a,b) x(a) x(b)``.
* ``commute``: swap a gate with the next one on its first wire when they commute.
* ``x_rz``: ``rz(t) x = x rz(-t)`` and ``x rz(t) = rz(-t) x``.
* ``gadget_flip``: ``cx(a,b) rz(t,b) cx(a,b) = cx(b,a) rz(t,a) cx(b,a)`` (both are ``exp(-i t Z_a Z_b / 2)``).
* ``run_push``: a one-qubit run ``U`` ending just before a ``cx`` is written as ``P V`` (Euler angles, any
  angles) with ``P`` a rotation that commutes through that wire of the ``cx`` (``rz`` on the control,
  ``rx`` on the target): ``U cx = V cx P`` (offered only where a one-qubit gate follows the ``cx`` on
  that wire, so ``P`` merges into its run).
* ``run_pull``: the mirror image: a run ``U`` starting just after a ``cx`` is written as ``V P`` and
  ``cx U = P cx V``.
"""

STYLES = ("nam", "zsx", "u")
"""Window gate sets: ``nam`` {h, x, cx, rz}, ``zsx`` {rz, sx, x, cx} (IBM's), ``u`` {u, cx}. After each rewrite
the cleanup writes every one-qubit run back into the style's gates."""

STYLE_GATES = {"nam": GATES, "zsx": frozenset({"rz", "sx", "x", "cx"}), "u": frozenset({"u", "cx"})}
"""The gates a window of each style holds."""

_HALF = math.pi / 2
_TOL = 1e-9


def _is_half(angle: float | None) -> bool:
    return angle is not None and abs(abs(normalize_angle(angle)) - _HALF) < _TOL


def to_window_ops(window: Sequence[Gate]) -> list[Op]:
    """Pass-time ops of a window (fresh objects).

    Examples:
        >>> ops = to_window_ops([("h", (0,), None), ("rz", (1,), 0.5)])
        >>> [(op.name, op.qubits, op.angle) for op in ops]
        [('h', (0,), None), ('rz', (1,), 0.5)]
    """
    return [Op(g, q, None, a) if isinstance(a, tuple) else Op(g, q, a) for g, q, a in window]


def _convex_splice(window: Sequence[Gate], matched: Sequence[int], replacement: list[Gate]) -> list[Gate] | None:
    """Replace the gates at ``matched`` by ``replacement``; ``None`` when they are not a convex set.

    The gates between the first and last matched index are split into those that must stay before
    the matched set and those that depend on it; the replacement goes between the two groups.
    """
    m = set(matched)
    lo, hi = min(m), max(m)
    tainted_by_m: set[int] = set()
    tainted_after: set[int] = set()
    before: list[Gate] = []
    after: list[Gate] = []
    for i in range(lo, hi + 1):
        g = window[i]
        qs = set(g[1])
        if i in m:
            if qs & tainted_after:
                return None  # a matched gate depends on an unmatched gate that depends on the set
            tainted_by_m |= qs
        elif qs & (tainted_by_m | tainted_after):
            after.append(g)
            tainted_after |= qs
        else:
            before.append(g)
    return [*window[:lo], *before, *replacement, *after, *window[hi + 1:]]


def actions(window: Sequence[Gate], ops: list[Op] | None = None, wires: Wires | None = None) -> list[tuple[int, int]]:
    """Every applicable ``(rule index, anchor gate index)`` of a window.

    Examples:
        >>> window = [("h", (0,), None), ("h", (1,), None), ("cx", (0, 1), None), ("h", (0,), None), ("h", (1,), None)]
        >>> (RULES.index("cx_flip"), 2) in actions(window)
        True
    """
    ops = ops if ops is not None else to_window_ops(window)
    n = 1 + max((q for g in window for q in g[1]), default=-1)
    w = wires if wires is not None else Wires(ops, n)
    out: list[tuple[int, int]] = []
    for i, op in enumerate(ops):
        for r in _matches(op, w):
            out.append((r, i))
    return out


def _matches(op: Op, w: Wires) -> list[int]:
    name = op.name
    out: list[int] = []
    if name == "cx":
        out.append(0)
        a, b = op.qubits
        u = w.next(op, b)
        if u is not None and u.name == "cx" and u.qubits[0] == b and u.qubits[1] != a:
            out.append(4)
            v = w.next(u, b)
            if v is not None and v is w.next(op, a) and v.name == "cx" and v.qubits == op.qubits:
                out.append(3)
        u = w.next(op, b)
        if u is not None and u.name == "rz":
            v = w.next(u, b)
            if v is not None and v is w.next(op, a) and v.name == "cx" and v.qubits == op.qubits:
                out.append(8)
        u = w.next(op, a)
        if 3 not in out and u is not None and u.name == "cx" and u.qubits[1] == a and u.qubits[0] != b:
            v = w.next(u, a)
            if v is not None and v is w.next(op, b) and v.name == "cx" and v.qubits == op.qubits:
                out.append(3)
    elif name == "h":
        q = op.qubits[0]
        u = w.next(op, q)
        if u is not None and u.name == "rz" and _is_half(u.angle):
            v = w.next(u, q)
            if v is not None and v.name == "h":
                out.append(1)
    elif name == "rz":
        q = op.qubits[0]
        u = w.next(op, q)
        if u is not None and u.name == "h" and _is_half(op.angle):
            v = w.next(u, q)
            if v is not None and v.name == "rz" and _is_half(v.angle) and \
                    abs(normalize_angle(v.angle - op.angle)) < _TOL:  # type: ignore[operator]
                out.append(2)
        if u is not None and u.name == "x":
            out.append(7)
    elif name == "x":
        q = op.qubits[0]
        u = w.next(op, q)
        if u is not None and u.name == "cx" and u.qubits[0] == q:
            out.append(5)
        if u is not None and u.name == "rz":
            out.append(7)
    if len(op.qubits) == 1:
        q = op.qubits[0]
        for rule, pull in ((9, False), (10, True)):
            g = w.prev(op, q) if pull else w.next(op, q)
            if g is not None and g.name == "cx":
                other = w.prev(g, q) if pull else w.next(g, q)  # the rotation must land on a run to merge with
                if other is None or len(other.qubits) != 1:
                    continue
                run = _run(op, q, w, pull)
                axis = "Z" if g.qubits[0] == q else "X"
                if (len(run) > 1 or _AXIS.get(op.name) != axis) and _split(_run_key(run), axis, pull) is not None:
                    out.append(rule)
    nxt = w.next(op, op.qubits[0])
    if nxt is not None and commutes(op, nxt) and all(w.next(op, q) is nxt for q in op.qubits if q in nxt.qubits):
        out.append(6)
    return out


_AXIS = {"rz": "Z", "x": "X", "sx": "X"}
"""One-qubit gates that commute through a cx wire of that type on their own (the ``commute`` rule moves them)."""


def _run(op: Op, q: int, w: Wires, forward: bool) -> list[Op]:
    """The one-qubit run on ``q`` that ends at ``op`` (``forward=False``) or starts at it, in circuit order."""
    run = [op]
    step = w.next if forward else w.prev
    cur = step(op, q)
    while cur is not None and len(cur.qubits) == 1 and not cur.opaque:
        run.append(cur)
        cur = step(cur, q)
    return run if forward else run[::-1]


def _run_key(run: Sequence[Op]) -> tuple:
    return tuple((op.name, op.angle, op.params) for op in run)


@lru_cache(maxsize=1 << 16)
def _split(key: tuple, axis: str, pull: bool) -> tuple[float, np.ndarray] | None:
    """``(angle, V)`` with run ``U = R V`` (push) or ``U = V R`` (pull), ``R`` the ``axis`` rotation by ``angle``.

    ``None`` when ``R`` would be the identity (nothing to move).
    """
    from qtandem.compile.synth1q import zxz

    u = _run_matrix(key)
    h = matrix_1q("h")
    a, b, c = zxz(u if axis == "Z" else h @ u @ h)  # (H) u (H) = rz(a) rx(b) rz(c)
    if abs(normalize_angle(b)) < 1e-9:
        angle = a + c
    elif abs(abs(normalize_angle(b)) - math.pi) < 1e-9:
        angle = c - a if pull else a - c
    else:
        angle = c if pull else a
    angle = normalize_angle(angle)
    if abs(angle) < 1e-9:
        return None
    r_inv = matrix_1q("rz" if axis == "Z" else "rx", -angle)
    return angle, (u @ r_inv if pull else r_inv @ u)


def _word_1q(v: np.ndarray, q: int, style: str) -> list[Gate]:
    """``v`` as window gates on ``q`` in ``style`` (empty for the identity)."""
    from qtandem.compile.synth1q import _words, zxz

    if style == "u":
        params = _u_params(v)
        return [] if params is None else [("u", (q,), params)]
    return [(g, (q,), a) for g, a in _words(*zxz(v), style)]


def _u_params(v: np.ndarray) -> tuple[float, float, float] | None:
    """``(theta, phi, lambda)`` of ``u`` equal to ``v`` up to phase, ``None`` for the identity."""
    from qtandem.compile.synth1q import zxz

    a, b, c = zxz(v)  # rz(a) rx(b) rz(c) = rz(a - pi/2) ry(b) rz(c + pi/2)
    b = normalize_angle(b)
    if abs(b) < 1e-10 and abs(normalize_angle(a + c)) < 1e-10:
        return None
    return (b, normalize_angle(a - _HALF), normalize_angle(c + _HALF))


def _merge_u(ops: list[Op], n_qubits: int) -> list[Op]:
    """Every one-qubit run as one ``u`` (dropped when it is the identity); the ``u`` style's resynthesis."""

    def merged(run: list[Op]) -> list[Op]:
        if len(run) == 1 and run[0].name == "u":
            return run
        params = _u_params(_run_matrix(_run_key(run)))
        return [] if params is None else [Op("u", run[0].qubits, None, params)]

    return map_runs(ops, n_qubits, merged)


def apply_action(window: Sequence[Gate], action: tuple[int, int], ops: list[Op] | None = None,
                 wires: Wires | None = None, *, style: str = "nam") -> list[Gate] | None:
    """The window after one rewrite (``None`` if it cannot be placed).

    ``style`` (:data:`STYLES`) is the gate set the rewritten one-qubit words are written in (``run_push``,
    ``run_pull``).

    Examples:
        >>> window = [("h", (0,), None), ("h", (1,), None), ("cx", (0, 1), None), ("h", (0,), None), ("h", (1,), None)]
        >>> apply_action([("cx", (0, 1), None)], (RULES.index("cx_flip"), 0))   # cx = H⊗H cx(1, 0) H⊗H
        [('h', (0,), None), ('h', (1,), None), ('cx', (1, 0), None), ('h', (0,), None), ('h', (1,), None)]
    """
    rule, i = action
    ops = ops if ops is not None else to_window_ops(window)
    n = 1 + max((q for g in window for q in g[1]), default=-1)
    w = wires if wires is not None else Wires(ops, n)
    index = {id(op): k for k, op in enumerate(ops)}
    op = ops[i]
    name = RULES[rule]
    if name == "cx_flip":
        a, b = op.qubits
        rep: list[Gate] = [("h", (a,), None), ("h", (b,), None), ("cx", (b, a), None),
                           ("h", (a,), None), ("h", (b,), None)]
        return _convex_splice(window, [i], rep)
    if name in ("h_s_h", "s_h_s"):
        q = op.qubits[0]
        u = w.next(op, q)
        v = w.next(u, q)  # type: ignore[arg-type]
        assert u is not None and v is not None
        if name == "h_s_h":
            s = -float(u.angle)  # type: ignore[arg-type]
            rep = [("rz", (q,), s), ("h", (q,), None), ("rz", (q,), s)]
        else:
            rep = [("h", (q,), None), ("rz", (q,), -float(op.angle)), ("h", (q,), None)]  # type: ignore[arg-type]
        return _convex_splice(window, [i, index[id(u)], index[id(v)]], rep)
    if name == "cx_triangle":
        a, b = op.qubits
        u = w.next(op, b)
        if u is not None and u.name == "cx" and u.qubits[0] == b and u.qubits[1] != a:
            c = u.qubits[1]
            v = w.next(u, b)
            rep = [("cx", (a, c), None), ("cx", (b, c), None)]
        else:
            u = w.next(op, a)
            assert u is not None
            c = u.qubits[0]
            v = w.next(u, a)
            rep = [("cx", (c, a), None), ("cx", (c, b), None)]
        assert v is not None
        return _convex_splice(window, [i, index[id(u)], index[id(v)]], rep)
    if name == "cx_expand":
        a, b = op.qubits
        u = w.next(op, b)
        assert u is not None
        c = u.qubits[1]
        rep = [("cx", (b, c), None), ("cx", (a, c), None), ("cx", (a, b), None)]
        return _convex_splice(window, [i, index[id(u)]], rep)
    if name == "gadget_flip":
        a, b = op.qubits
        u = w.next(op, b)
        v = w.next(u, b)  # type: ignore[arg-type]
        assert u is not None and v is not None
        rep = [("cx", (b, a), None), ("rz", (a,), u.angle), ("cx", (b, a), None)]
        return _convex_splice(window, [i, index[id(u)], index[id(v)]], rep)
    if name == "x_push":
        q = op.qubits[0]
        u = w.next(op, q)
        assert u is not None
        a, b = u.qubits
        rep = [("cx", (a, b), None), ("x", (a,), None), ("x", (b,), None)]
        return _convex_splice(window, [i, index[id(u)]], rep)
    if name in ("run_push", "run_pull"):
        pull = name == "run_pull"
        q = op.qubits[0]
        g = w.prev(op, q) if pull else w.next(op, q)
        assert g is not None
        run = _run(op, q, w, pull)
        axis = "Z" if g.qubits[0] == q else "X"
        split = _split(_run_key(run), axis, pull)
        if split is None:
            return None
        angle, v_mat = split
        moved: Gate = ("rz" if axis == "Z" else "rx", (q,), angle)
        g_gate = window[index[id(g)]]
        v_word = _word_1q(v_mat, q, style)
        rep = [moved, g_gate, *v_word] if pull else [*v_word, g_gate, moved]
        return _convex_splice(window, [index[id(x)] for x in run] + [index[id(g)]], rep)
    if name == "commute":
        u = w.next(op, op.qubits[0])
        assert u is not None
        return _convex_splice(window, [i, index[id(u)]], [window[index[id(u)]], window[i]])
    # x_rz
    q = op.qubits[0]
    u = w.next(op, q)
    assert u is not None
    if op.name == "rz":
        rep = [("x", (q,), None), ("rz", (q,), -float(op.angle))]  # type: ignore[arg-type]
    else:
        rep = [("rz", (q,), -float(u.angle)), ("x", (q,), None)]  # type: ignore[arg-type]
    return _convex_splice(window, [i, index[id(u)]], rep)


def cleanup(window: Sequence[Gate], n_qubits: int, style: str = "nam") -> list[Gate]:
    """Cancellation with commutation, then one-qubit resynthesis into ``style`` (:data:`STYLES`), on a window.

    The same as :func:`~qtandem.compile.passes.cancellation.cancel_ops` followed by
    :func:`~qtandem.compile.passes.resynth_1q.resynth_ops` (``nam``, ``zsx``) or a merge of every run into one
    ``u`` (``u``), with the one-qubit matrices in NumPy and the results cached (a search meets the same
    windows and runs again).

    Examples:
        >>> cleanup([("h", (0,), None), ("h", (0,), None), ("cx", (0, 1), None),
        ...          ("rz", (1,), 0.5), ("rz", (1,), 0.25)], 2)
        [('cx', (0, 1), None), ('rz', (1,), 0.75)]
    """
    return list(_cleanup(tuple(window), n_qubits, style))


@lru_cache(maxsize=1 << 15)
def _cleanup(window: tuple[Gate, ...], n_qubits: int, style: str) -> tuple[Gate, ...]:
    ops = to_window_ops(window)
    for _ in range(3):
        if cancel_ops(ops, n_qubits, limit=32) == 0:
            break
        ops = [op for op in ops if op.alive]
    live = [op for op in ops if op.alive]
    ops = _merge_u(live, n_qubits) if style == "u" else _resynth(live, n_qubits, style)
    return tuple((op.name, op.qubits, op.params if op.name == "u" else op.angle) for op in ops)


def _resynth(ops: list[Op], n_qubits: int, style: str) -> list[Op]:
    """:func:`~qtandem.compile.passes.resynth_1q.resynth_ops` with the window's own word cache per run."""
    allowed = RUN_GATES[style]

    def replace(run: list[Op]) -> list[Op]:
        if len(run) == 1 and run[0].name in allowed:
            return run
        word = _run_word(_run_key(run), style)
        if word is None:
            return run
        q = run[0].qubits
        return [Op(g, q, a) for g, a in word]

    return map_runs(ops, n_qubits, replace)


@lru_cache(maxsize=1 << 16)
def _run_word(key: tuple, style: str) -> tuple[tuple[str, float | None], ...] | None:
    """The word replacing a run in ``style`` (``None``: keep it), as :mod:`qtandem.compile.passes.resynth_1q`."""
    from qtandem.compile.synth1q import _words, zxz

    word = _words(*zxz(_run_matrix(key)), style)
    if len(word) < len(key) or any(name not in RUN_GATES[style] for name, _, _ in key):
        return tuple(word)
    return None


def _run_matrix(key: tuple) -> np.ndarray:
    u = np.eye(2, dtype=np.complex128)
    for name, angle, params in key:
        u = matrix_1q(name, angle, params) @ u
    return u


_CX = np.eye(4, dtype=np.complex128)[[0, 3, 2, 1]]  # control = first listed qubit
WINDOW_ATOL = 1e-9
"""Tolerance of the window checks (entries and phase modulus), see :func:`qtandem.sim.dense.equal_up_to_phase`."""


def _window_unitary(window: Sequence[Gate], n: int) -> np.ndarray:
    """The dense unitary of a window on ``n`` qubits (:func:`qtandem.sim.dense.dense_unitary`)."""
    return dense_unitary([(qs, _CX if name == "cx" else matrix_1q(name, None, angle) if isinstance(angle, tuple)
                           else matrix_1q(name, angle)) for name, qs, angle in window], n)


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    """The window check: :func:`qtandem.sim.dense.equal_up_to_phase` at :data:`WINDOW_ATOL`."""
    return equal_up_to_phase(b, a, WINDOW_ATOL, phase_atol=WINDOW_ATOL)


def check_rules(*, seed: int = 0, trials: int = 200, n_qubits: int = 4, style: str = "nam") -> dict[str, int]:
    """Prove every rule on random windows: each applicable rewrite keeps the unitary (up to phase).

    The windows are drawn in ``style``'s gates with angles both at multiples of pi/4 and uniformly at random
    (``u`` gates get three random angles); every rewrite is checked, and so is the cleanup after it.

    Args:
        seed: seed of the random windows.
        trials: windows drawn.
        n_qubits: window width.
        style: the window gate set (:data:`STYLES`).

    Returns:
        How many rewrites of each rule were checked.

    Raises:
        AssertionError: a rewrite changed the unitary (names the rule and the window).
        ValueError: unknown style.

    Examples:
        >>> checked = check_rules(trials=30)
        >>> [rule for rule in RULES if checked[rule] == 0]     # every rule was exercised and held
        []
        >>> checked = check_rules(trials=30, style="zsx")
        >>> checked["run_push"] > 0 and checked["run_pull"] > 0
        True
    """
    if style not in STYLES:
        raise ValueError(f"unknown window style {style!r}; choose one of {', '.join(STYLES)}")
    rng = np.random.default_rng(seed)
    checked = dict.fromkeys(RULES, 0)
    angles = [math.pi / 2, -math.pi / 2, math.pi / 4, -math.pi / 4, math.pi, 0.37]
    half = math.pi / 2
    crafted: list[list[Gate]] = [  # every rule's pattern at least once, then random windows
        [("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None), ("h", (0,), None)],
        [("cx", (1, 2), None), ("cx", (0, 1), None), ("cx", (1, 2), None)],
        [("h", (0,), None), ("rz", (0,), half), ("h", (0,), None), ("rz", (0,), -half), ("h", (0,), None),
         ("rz", (0,), -half)],
        [("x", (0,), None), ("cx", (0, 1), None), ("rz", (1,), 0.3), ("x", (1,), None)],
        [("cx", (0, 1), None), ("rz", (1,), 0.7), ("cx", (0, 1), None), ("x", (2,), None), ("rz", (0,), 0.2),
         ("cx", (0, 2), None)],
        [("rz", (0,), 0.3), ("h", (0,), None), ("rz", (0,), 0.7), ("cx", (0, 1), None), ("rz", (1,), 0.2),
         ("h", (1,), None), ("rz", (1,), 1.1)],
    ] if style == "nam" else []
    one_q = sorted(STYLE_GATES[style] - {"cx"})
    for t in range(trials + len(crafted)):
        window: list[Gate] = list(crafted[t]) if t < len(crafted) else []
        for _ in range(0 if t < len(crafted) else int(rng.integers(4, 16))):
            if rng.random() < 1 / 3:
                a, b = (int(x) for x in rng.choice(n_qubits, 2, replace=False))
                window.append(("cx", (a, b), None))
                continue
            name = one_q[int(rng.integers(len(one_q)))]
            q = (int(rng.integers(n_qubits)),)
            if name == "u":
                window.append(("u", q, tuple(float(x) for x in rng.uniform(-math.pi, math.pi, 3))))
            elif name == "rz":
                angle = angles[int(rng.integers(len(angles)))] if rng.random() < 0.5 else rng.uniform(-4, 4)
                window.append(("rz", q, float(angle)))
            else:
                window.append((name, q, None))
        ref = _window_unitary(window, n_qubits)
        for act in actions(window):
            out = apply_action(window, act, style=style)
            if out is None:
                continue
            if not _equal_up_to_phase(ref, _window_unitary(out, n_qubits)):
                raise AssertionError(f"rule {RULES[act[0]]} at gate {act[1]} changed the unitary of {window}")
            clean = cleanup(out, n_qubits, style)
            if not _equal_up_to_phase(ref, _window_unitary(clean, n_qubits)):
                raise AssertionError(f"the {style} cleanup after rule {RULES[act[0]]} changed the unitary of {window}")
            if any(g not in STYLE_GATES[style] for g, _, _ in clean):
                raise AssertionError(f"the {style} cleanup left gates outside the style: {clean}")
            checked[RULES[act[0]]] += 1
    return checked
