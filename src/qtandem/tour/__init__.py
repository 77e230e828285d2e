"""``qtandem tour``: one run that shows every capability, as an HTML report.

Capabilities contribute sections through a small registry: a module listed in
:data:`SECTION_MODULES` decorates a function with :func:`register`; the tour
imports those modules, runs the sections in ``order`` and writes
``runs/tour-<timestamp>/report.html`` with the figures beside it.

Examples:
    >>> from qtandem.tour import register, sections
    >>> @register("Example section", order=999)
    ... def _example(section, ctx):
    ...     section.text("hello")
    >>> "Example section" in [s.title for s in sections()]
    True
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from qtandem.errors import ConfigError, SeedError
from qtandem.report import Report, Section

__all__ = ["SECTION_MODULES", "TourContext", "TourSection", "failed_sections", "register", "run_tour", "sections",
           "select_sections"]

SECTION_MODULES: tuple[str, ...] = ("qtandem.tour.core", "qtandem.tour.noise", "qtandem.tour.hybrid",
                                    "qtandem.tour.compile", "qtandem.tour.qec", "qtandem.tour.learn",
                                    "qtandem.tour.mitigate", "qtandem.tour.opt", "qtandem.tour.chem",
                                    "qtandem.tour.codesign")
"""Modules that register tour sections (later capabilities append theirs)."""


@dataclass(frozen=True)
class TourContext:
    """What a section gets besides its :class:`Section`.

    Attributes:
        outdir: the run's output folder (figures go here through ``section.figure``).
        seed: base seed; sections derive their own from it.
        quick: smaller sizes (used by tests).
        progress: ``progress(message)`` callback for long steps.

    Examples:
        >>> import tempfile
        >>> @register("Docs: context demo", order=998)
        ... def _demo(section, ctx):
        ...     section.text(f"seed {ctx.seed}, quick {ctx.quick}")
        >>> path = run_tour(tempfile.mkdtemp(), seed=5, quick=True, only=["Docs: context demo"])
        >>> "seed 5, quick True" in path.read_text()
        True
        >>> _ = _REGISTRY.pop("Docs: context demo")      # keep the real tour as it was
    """

    outdir: Path
    seed: int
    quick: bool
    progress: Callable[[str], None]


@dataclass(frozen=True)
class TourSection:
    """A registered section.

    Examples:
        >>> @register("Docs: section demo", order=997)
        ... def _demo(section, ctx):
        ...     section.text("hello")
        >>> entry = next(s for s in sections() if s.title == "Docs: section demo")
        >>> entry.order, entry.run is _demo
        (997, True)
        >>> _ = _REGISTRY.pop("Docs: section demo")
    """

    title: str
    order: int
    run: Callable[[Section, TourContext], None]


_REGISTRY: dict[str, TourSection] = {}


def register(title: str, *, order: int = 100) -> Callable[[Callable[[Section, TourContext], None]],
                                                           Callable[[Section, TourContext], None]]:
    """Decorator registering ``fn(section, ctx)`` as a tour section.

    Examples:
        >>> @register("Docs: register demo", order=995)
        ... def _demo(section, ctx):
        ...     section.text("hello")
        >>> "Docs: register demo" in [s.title for s in sections()]
        True
        >>> _ = _REGISTRY.pop("Docs: register demo")
    """
    def deco(fn: Callable[[Section, TourContext], None]) -> Callable[[Section, TourContext], None]:
        _REGISTRY[title] = TourSection(title, order, fn)
        return fn

    return deco


def sections() -> list[TourSection]:
    """Every registered section, in order (imports :data:`SECTION_MODULES`).

    Examples:
        >>> titles = [s.title for s in sections()]
        >>> len(titles) >= len(SECTION_MODULES), [s.order for s in sections()] == sorted(s.order for s in sections())
        (True, True)
    """
    for mod in SECTION_MODULES:
        importlib.import_module(mod)
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.title))


def select_sections(only: list[str] | None = None) -> list[TourSection]:
    """The sections to run: every one, or those whose title contains one of ``only`` (case-insensitive).

    Raises:
        ConfigError: an entry of ``only`` matches no section (the message lists the titles).

    Examples:
        >>> [s.title for s in select_sections(["core"])]
        ['Core: circuits, OpenQASM and the simulator']
        >>> select_sections(["zzz"])
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: tour --only 'zzz' matches no section; the sections are: 'Core: circuits, ...
    """
    every = sections()
    if not only:
        return every
    unknown = [o for o in only if not o.strip() or not any(o.lower() in s.title.lower() for s in every)]
    if unknown:
        titles = ", ".join(repr(s.title) for s in every)
        raise ConfigError(f"tour --only {', '.join(repr(o) for o in unknown)} matches no section; the sections "
                          f"are: {titles} (any part of a title selects it)")
    return [s for s in every if any(o.lower() in s.title.lower() for o in only)]


def run_tour(outdir: str | Path | None = None, *, seed: int = 2026, quick: bool = False,
             only: list[str] | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """Run every section and write the report; returns the path of ``report.html``.

    A section that fails is reported as failed on the page (with its traceback)
    and the others still run; the caller sees the failure in the report and in
    the return of :func:`failed_sections`.

    Raises:
        ConfigError: an entry of ``only`` matches no section (checked before anything is written).
        SeedError: a negative ``seed``.

    Examples:
        >>> import tempfile
        >>> @register("Docs: run demo", order=994)
        ... def _demo(section, ctx):
        ...     section.table(["qubits"], [[3]])
        >>> path = run_tour(tempfile.mkdtemp(), quick=True, only=["Docs: run demo"])
        >>> path.name, failed_sections()
        ('report.html', [])
        >>> _ = _REGISTRY.pop("Docs: run demo")
    """
    chosen = select_sections(only)
    if seed < 0:
        raise SeedError(f"seed must be a non-negative integer, got {seed}")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(outdir) if outdir is not None else Path("runs") / f"tour-{stamp}"
    report = Report("qtandem tour", out)
    report.preamble.append(f"<p>Generated {datetime.now().isoformat(timespec='seconds')} with seed {seed}"
                           f"{' (quick mode)' if quick else ''}.</p>")
    say = progress or (lambda msg: None)
    ctx = TourContext(out, seed, quick, say)
    failures: list[str] = []
    for sec in chosen:
        say(f"section: {sec.title}")
        section = report.section(sec.title)
        t0 = time.perf_counter()
        try:
            sec.run(section, ctx)
        except Exception:  # a broken section must not hide the others
            failures.append(sec.title)
            section.html("<p class='bad'>This section failed:</p>")
            section.code(traceback.format_exc())
        section.html(f"<p><small>section time {time.perf_counter() - t0:.1f} s</small></p>")
    path = report.write()
    _LAST_FAILURES[:] = failures
    return path


_LAST_FAILURES: list[str] = []


def failed_sections() -> list[str]:
    """Titles of the sections that failed in the last :func:`run_tour`.

    Examples:
        >>> import tempfile
        >>> @register("Docs: broken demo", order=996)
        ... def _broken(section, ctx):
        ...     raise RuntimeError("boom")
        >>> path = run_tour(tempfile.mkdtemp(), quick=True, only=["Docs: broken demo"])
        >>> failed_sections(), "boom" in path.read_text()
        (['Docs: broken demo'], True)
        >>> _ = _REGISTRY.pop("Docs: broken demo")
    """
    return list(_LAST_FAILURES)
