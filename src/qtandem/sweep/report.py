"""The HTML report of a sweep: for ``qec`` points, sinter-style logical error rate against ``p``.

One figure per (code, decoder, noise, basis): a line per distance, Wilson 95% intervals as
error bars, log-log axes; then the table of every point.

Examples:
    >>> import tempfile
    >>> write_report([], tempfile.mkdtemp()).name
    'report.html'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qtandem.report import Report

__all__ = ["ler_figure", "write_report"]


def _rate(entry: dict[str, Any]) -> tuple[float, float, float]:
    from qtandem.qec.metrics import wilson_interval

    shots, errors = int(entry.get("shots", 0)), int(entry.get("errors", 0))
    low, high = wilson_interval(errors, shots)
    return (errors / shots if shots else float("nan")), low, high


def ler_figure(entries: list[dict[str, Any]], title: str = "") -> Any:
    """Logical error rate vs physical error rate, one line per distance, Wilson 95% error bars.

    Args:
        entries: ``qec`` table entries (:func:`~qtandem.sweep.summarise`).
        title: the axes title.

    Returns:
        A matplotlib figure.

    Examples:
        >>> fig = ler_figure([{"point": {"distance": 3, "p": 0.01}, "shots": 100, "errors": 5}])
        >>> len(fig.axes)
        1
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for d in sorted({e["point"]["distance"] for e in entries}):
        pts = sorted((e for e in entries if e["point"]["distance"] == d), key=lambda e: e["point"]["p"])
        xs = [e["point"]["p"] for e in pts]
        stats = [_rate(e) for e in pts]
        ys = [s[0] for s in stats]
        err = [[max(0.0, s[0] - s[1]) for s in stats], [max(0.0, s[2] - s[0]) for s in stats]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=f"d = {d}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("physical error rate p")
    ax.set_ylabel("logical error rate (per shot)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def write_report(table: list[dict[str, Any]], outdir: str | os.PathLike[str], *, title: str = "qtandem sweep",
                 notes: list[str] | None = None) -> Path:
    """Write ``outdir/report.html`` (figures beside it) for a :func:`~qtandem.sweep.summarise` table.

    Returns:
        The report's path.

    Examples:
        >>> import tempfile
        >>> entry = {"key": "k", "job": "qec", "complete": True, "shots": 1000, "errors": 12, "point": {
        ...     "code": "surface", "decoder": "pymatching", "noise": "uniform", "basis": "Z", "distance": 3, "p": 0.01}}
        >>> out = tempfile.mkdtemp()
        >>> "Logical error rate" in write_report([entry], out).read_text()
        True
    """
    rep = Report(title, outdir)
    intro = rep.section("Run")
    for note in notes or []:
        intro.text(note)
    intro.text(f"{len(table)} points, {sum(bool(e['complete']) for e in table)} complete.")
    qec = [e for e in table if e.get("job") == "qec" and e.get("shots")]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for e in qec:
        pt = e["point"]
        groups.setdefault((pt["code"], pt["decoder"], pt["noise"], pt["basis"]), []).append(e)
    if groups:
        sec = rep.section("Logical error rate")
        for i, (group, entries) in enumerate(sorted(groups.items())):
            label = f"{group[0]} code, {group[1]}, {group[2]} noise, basis {group[3]}"
            sec.figure(ler_figure(entries, label), f"ler_{i}",
                       f"{label}: logical error rate per shot against p, per distance (Wilson 95% intervals)")
        rows = []
        for e in qec:
            rate, low, high = _rate(e)
            pt = e["point"]
            rows.append([pt["code"], pt["distance"], pt["p"], pt["decoder"], e["shots"], e["errors"],
                         f"{rate:.3e}", f"[{low:.2e}, {high:.2e}]", f"{e.get('cpu_s', 0.0):.1f}",
                         "yes" if e["complete"] else "no"])
        sec.table(["code", "d", "p", "decoder", "shots", "errors", "LER", "95% Wilson", "task CPU s", "complete"],
                  rows)
    mit = [e for e in table if e.get("job") == "mitigation" and e.get("result")]
    if mit:
        def num(v: Any) -> str:
            return "-" if v is None else f"{v:.4f}"

        rows = []
        for e in mit:
            pt, r = e["point"], e["result"]
            rows.append([pt["family"] or pt["circuit"], pt["observable"], pt["method"], pt["shots"], pt["repeat"],
                         num(r["exact"]), num(r["raw"]), f"{num(r['value'])} +- {num(r['stderr'])}",
                         num(r["raw_error"]), num(r["error"]), r["shots_used"]])
        rep.section("Error mitigation").table(
            ["circuit", "observable", "method", "shots", "repeat", "exact", "raw", "mitigated", "|raw - exact|",
             "|mitigated - exact|", "shots used"], rows)
    other = [e for e in table if e.get("job") not in ("qec", "mitigation")]
    if other:
        rep.section("Points").table(["key", "job", "point", "chunks", "complete"],
                                    [[e["key"], e["job"], e["point"], e["chunks"], e["complete"]] for e in other])
    return rep.write()
