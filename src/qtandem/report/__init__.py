"""Self-contained HTML reports with matplotlib figures saved beside them.

Examples:
    >>> import tempfile
    >>> from qtandem.report import Report
    >>> rep = Report("demo", tempfile.mkdtemp())
    >>> sec = rep.section("Numbers")
    >>> sec.table(["n", "n^2"], [[2, 4], [3, 9]])
    >>> rep.write().name
    'report.html'
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtandem.io import atomic_write_text

__all__ = ["Report", "Section"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1d1d1f;line-height:1.45}
h1{border-bottom:2px solid #444;padding-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.8em 0} th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:90%} figure{margin:1em 0}
figcaption{color:#555;font-size:90%} img{max-width:100%;border:1px solid #ddd}
.ok{color:#137333;font-weight:bold} .bad{color:#b00020;font-weight:bold} nav a{margin-right:1em}
"""


@dataclass
class Section:
    """One section of a :class:`Report`; methods append blocks in order.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     section = Report("Run", tmp).section("Notes")
        ...     section.text("hello")
        ...     section.title, len(section.blocks)
        ('Notes', 1)
    """

    title: str
    report: Report
    blocks: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")

    def text(self, text: str) -> None:
        """A paragraph of plain text (escaped)."""
        self.blocks.append(f"<p>{html.escape(text)}</p>")

    def html(self, raw: str) -> None:
        """Raw HTML (caller escapes)."""
        self.blocks.append(raw)

    def code(self, text: str) -> None:
        """Preformatted text."""
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, headers: list[str], rows: list[list[Any]]) -> None:
        """A table; floats are shown with 4 significant digits."""
        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.4g}"
            return html.escape(str(v))

        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
        self.blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def figure(self, fig: Any, name: str, caption: str = "") -> Path:
        """Save a matplotlib figure as ``<name>.png`` beside the report and link it."""
        path = self.report.outdir / f"{name}.png"
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
        import matplotlib.pyplot as plt

        plt.close(fig)
        self.blocks.append(
            f'<figure><a href="{html.escape(path.name)}"><img src="{html.escape(path.name)}" '
            f'alt="{html.escape(caption or name)}"></a><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
        return path


class Report:
    """An HTML report written to ``outdir/report.html``.

    Args:
        title: page title.
        outdir: folder for the page and its figures (created).

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     report = Report("Run", tmp)
        ...     report.section("Summary").table(["metric", "value"], [["accuracy", 0.9]])
        ...     path = report.write()
        ...     path.name, "accuracy" in path.read_text()
        ('report.html', True)
    """

    def __init__(self, title: str, outdir: str | os.PathLike[str]) -> None:
        self.title = title
        self.outdir = Path(outdir)
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.sections: list[Section] = []
        self.preamble: list[str] = []

    def section(self, title: str) -> Section:
        """Start a new section."""
        sec = Section(title, self)
        self.sections.append(sec)
        return sec

    def render(self) -> str:
        """The page as a string."""
        nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in self.sections)
        body = "".join(
            f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{"".join(s.blocks)}</section>'
            for s in self.sections
        )
        pre = "".join(self.preamble)
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>{pre}<nav>{nav}</nav>"
                f"{body}</body></html>")

    def write(self) -> Path:
        """Write ``report.html`` atomically and return its path."""
        path = self.outdir / "report.html"
        atomic_write_text(path, self.render())
        return path
