"""Figures of ``qtandem qec eval``: logical error rate against p, and post-selection curves.

Both figures stay meaningful at the edges a run can reach: a point with no logical errors
is drawn as its 95% upper bound (a downward triangle) on the log axis instead of a rate of 0,
error bars are clipped at 0 (a Wilson lower bound can sit a rounding error above the rate),
``p = 0`` switches the x axis to symlog, a single point or a user circuit (no ``p``: one
point per decoder) is drawn on its own, and a flagging figure with nothing to show (no errors
among kept shots, every shot flagged) says so in words.

Examples:
    >>> from qtandem.qec.evaluate import evaluate
    >>> from qtandem.qec.plots import evaluation_figures
    >>> pts = evaluate(code="repetition", distances=[3], ps=[1e-6], shots=100, seed=1)
    >>> pts[0].ler.errors                            # no errors: the figure shows the upper bound
    0
    >>> ler_fig, flag_fig = evaluation_figures(pts)
    >>> len(ler_fig.axes), len(flag_fig.axes)
    (1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from qtandem.qec.evaluate import EvalPoint

__all__ = ["error_bars", "evaluation_figures"]


def error_bars(rates: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> np.ndarray:
    """``yerr`` for ``errorbar``: ``[[rate - low], [high - rate]]``, clipped at 0.

    Examples:
        >>> error_bars([0.0, 0.1], [1e-19, 0.05], [0.04, 0.2]).tolist()
        [[0.0, 0.05], [0.04, 0.1]]
    """
    r, lo, hi = (np.asarray(v, dtype=np.float64) for v in (rates, lows, highs))
    return np.clip(np.array([r - lo, hi - r]), 0.0, None)


def _ler_axes(ax: Any, points: list[EvalPoint]) -> None:
    swept = [pt for pt in points if pt.p is not None]
    other = [pt for pt in points if pt.p is None]
    bound_label = "no errors: 95% upper bound"
    bound_shown = False
    colors = iter(f"C{k}" for k in range(10_000))
    for dec, d in sorted({(pt.decoder, pt.distance or 0) for pt in swept}):
        sel = sorted((pt for pt in swept if pt.decoder == dec and (pt.distance or 0) == d),
                     key=lambda pt: float(pt.p or 0.0))
        color = next(colors)
        label = f"{dec}, d={d}" if d else dec
        hit = [pt for pt in sel if pt.ler.errors > 0]
        if hit:
            ax.errorbar([pt.p for pt in hit], [pt.ler.rate for pt in hit],
                        yerr=error_bars([pt.ler.rate for pt in hit], [pt.ler.low for pt in hit],
                                        [pt.ler.high for pt in hit]),
                        marker="o", capsize=3, color=color, label=label)
        zero = [pt for pt in sel if pt.ler.errors == 0]
        if zero:
            ax.plot([pt.p for pt in zero], [pt.ler.high for pt in zero], linestyle="none", marker="v",
                    markerfacecolor="none", color=color, label=None if bound_shown else bound_label)
            bound_shown = True
            if not hit:
                ax.plot([], [], color=color, label=label)
    for k, pt in enumerate(other):
        color = next(colors)
        if pt.ler.errors:
            ax.errorbar([k], [pt.ler.rate], yerr=error_bars([pt.ler.rate], [pt.ler.low], [pt.ler.high]),
                        marker="o", capsize=3, color=color, linestyle="none", label=pt.decoder)
        else:
            ax.plot([k], [pt.ler.high], marker="v", markerfacecolor="none", color=color, linestyle="none",
                    label=f"{pt.decoder} ({bound_label})")
    if other and not swept:
        ax.set_xticks(range(len(other)), [pt.decoder for pt in other], rotation=20, fontsize=8)
        ax.set_xlim(-0.5, len(other) - 0.5)
        ax.set_xlabel("decoder")
        title = other[0].source or "given circuit"
        ax.set_title(title if len(title) <= 80 else "..." + title[-77:], fontsize=8)
    else:
        ps = [float(pt.p) for pt in swept if pt.p is not None]
        positive = [p for p in ps if p > 0]
        if positive and len(positive) == len(ps):
            ax.set_xscale("log")
        elif positive:
            ax.set_xscale("symlog", linthresh=min(positive))
        ax.set_xlabel("physical error rate p")
    ax.set_yscale("log")
    ax.set_ylabel("logical error rate per shot")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _flag_target(points: list[EvalPoint]) -> float | None:
    ps = sorted({float(pt.p) for pt in points if pt.p is not None})
    positive = [p for p in ps if p > 0]
    if positive:
        return min(positive, key=lambda p: abs(np.log(p / 0.005)))
    return ps[0] if ps else None


def _flag_axes(ax: Any, points: list[EvalPoint]) -> None:
    target = _flag_target(points)
    drawn = 0
    for pt in points:
        if pt.flag_curve is None or (target is not None and pt.p != target):
            continue
        c = pt.flag_curve
        ok = (c.errors_kept > 0) & (c.kept > 0)
        if ok.any():
            label = f"{pt.decoder}, d={pt.distance}" if pt.distance else pt.decoder
            ax.plot(c.fraction_flagged[ok], c.ler_kept[ok], label=label)
            drawn += 1
    ax.set_xlabel("fraction of shots flagged for review")
    ax.set_ylabel("logical error rate among kept shots")
    ax.set_title("post-selection" + (f" at p = {target:g}" if target is not None else ""))
    if drawn:
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    else:
        ax.set_xlim(0, 1)
        ax.text(0.5, 0.5, "nothing to show: no logical errors among kept shots\n(or no decoder with soft output)",
                ha="center", va="center", transform=ax.transAxes, fontsize=9)


def evaluation_figures(points: list[EvalPoint]) -> tuple[Any, Any]:
    """``(ler_figure, flagging_figure)`` for :func:`qtandem.qec.evaluate.write_evaluation`.

    Examples:
        >>> from qtandem.qec.evaluate import evaluate
        >>> pts = evaluate(code="repetition", distances=[3], ps=[0.02, 0.05], shots=300, seed=2)
        >>> fig, _ = evaluation_figures(pts)
        >>> fig.axes[0].get_xscale(), fig.axes[0].get_yscale()
        ('log', 'log')
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    _ler_axes(ax, points)
    fig2, ax2 = plt.subplots(figsize=(6.4, 4.4))
    _flag_axes(ax2, points)
    return fig, fig2
