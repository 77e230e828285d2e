"""Levels, objectives and the pass list of each level (:func:`preset_passes`)."""

from __future__ import annotations

from collections.abc import Callable

from qtandem.compile.passes.cancellation import GateCancellation
from qtandem.compile.passes.hadamard import HadamardReduction
from qtandem.compile.passes.kak import TwoQubitResynthesis
from qtandem.compile.passes.phase_folding import PhaseFolding
from qtandem.compile.passes.resynth_1q import STYLE_GATES, Resynthesis1Q
from qtandem.compile.passmanager import Counts, Pass
from qtandem.errors import CompileError

__all__ = ["LEVELS", "OBJECTIVES", "objective_cost", "preset_passes"]

OBJECTIVES = ("gates", "cx", "t", "depth", "fidelity")
"""What :func:`optimize` minimizes first (ties broken by total gates)."""

LEVELS = (0, 1, 2, 3)
"""0: translate only; 1: cancellation; 2: Hadamard reduction, phase folding, cancellation, 1q resynthesis
to a fixpoint; 3: level 2 from several variants, best kept, then the learned rewrite search
(:mod:`qtandem.compile.search`)."""


def objective_cost(objective: str) -> Callable[[Counts], tuple]:
    """``cost(counts)`` for an objective (lower is better).

    Raises:
        CompileError: unknown objective.

    Examples:
        >>> objective_cost("cx")(Counts(gates=10, cx=3, t=1, depth=5))
        (3, 10, 5)
    """
    keys = {"gates": ("gates", "cx", "depth"), "cx": ("cx", "gates", "depth"), "t": ("t", "gates", "cx"),
            "depth": ("depth", "gates", "cx"), "fidelity": ("cx", "gates", "depth")}
    if objective not in keys:
        raise CompileError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    fields = keys[objective]
    return lambda c: tuple(getattr(c, f) for f in fields)


def _style(gates: frozenset[str]) -> str | None:
    one_q = {g for g in gates if g not in ("cx", "cz")}
    for style, allowed in STYLE_GATES.items():
        if one_q <= allowed:
            return style
    return None


def preset_passes(level: int, *, style: str | None, placement: str = "smart", kak: bool = False,
                  swaps: bool = True) -> list[Pass]:
    """The pass list of a level.

    Args:
        level: 0..3.
        style: one-qubit resynthesis style (``"nam"``, ``"zsx"``), ``None`` to skip it.
        placement: phase-folding placement.
        kak: add two-qubit KAK resynthesis at level 3 (needs ``cx`` in the basis).
        swaps: with ``kak``, add swap absorption too
            (:class:`~qtandem.compile.passes.swap_absorb.SwapAbsorption`).

    Raises:
        CompileError: level not in 0..3.

    Examples:
        >>> [p.name for p in preset_passes(2, style="nam")]
        ['hadamard_reduction', 'cancellation', 'phase_folding', 'cancellation', 'rotation_merge', 'resynthesis_1q']
        >>> preset_passes(0, style=None)
        []
        >>> preset_passes(4, style=None)
        Traceback (most recent call last):
        ...
        qtandem.errors.CompileError: level must be one of ...
    """
    if level not in LEVELS:
        raise CompileError(f"level must be one of {LEVELS}, got {level!r}")
    if level == 0:
        return []
    if level == 1:
        return [GateCancellation()]
    from qtandem.compile.passes.graysynth import GraySynth
    from qtandem.compile.passes.rotation_merge import RotationMerge

    passes: list[Pass] = [HadamardReduction(), GateCancellation(), PhaseFolding(placement=placement),
                          *([GraySynth()] if level >= 3 else []), GateCancellation(), RotationMerge()]
    if style is not None:
        passes.append(Resynthesis1Q(style))
        if level >= 3 and kak:
            from qtandem.compile.passes.block3 import ThreeQubitResynthesis
            from qtandem.compile.passes.swap_absorb import SwapAbsorption

            passes += [TwoQubitResynthesis(style), ThreeQubitResynthesis(style)]
            if swaps:
                passes.append(SwapAbsorption(style))
    return passes

