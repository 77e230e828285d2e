"""MkDocs hook: generate the pages that come from the code and from README.md.

Nothing here is written by hand twice: the tour and the benchmark tables are
README.md sections, the CLI reference walks the typer/click command tree, and
every API page is one ``::: module`` directive per public module, rendered by
mkdocstrings from the docstrings.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent

# (page, title, first README heading, README heading that ends the page)
README_PAGES = [
    ("index.md", None, None, "## A short tour of the API"),
    ("tour.md", "Tour", "## A short tour of the API", "## Benchmarks"),
    ("benchmarks.md", "Benchmarks", "## Benchmarks", "## Layout"),
    ("layout.md", "Layout", "## Layout", None),
]

# one API page per subpackage (plus the top-level modules, grouped)
API_PAGES = {
    "qtandem": ["qtandem"],
    "circuit": ["qtandem.circuit"],
    "qasm": ["qtandem.qasm"],
    "interop": ["qtandem.interop"],
    "sim": ["qtandem.sim"],
    "noise": ["qtandem.noise"],
    "device": ["qtandem.device"],
    "hybrid": ["qtandem.hybrid"],
    "qec": ["qtandem.qec"],
    "compile": ["qtandem.compile"],
    "learn": ["qtandem.learn"],
    "mitigate": ["qtandem.mitigate"],
    "chem": ["qtandem.chem"],
    "opt": ["qtandem.opt"],
    "engine": ["qtandem.engine"],
    "sweep": ["qtandem.sweep"],
    "codesign": ["qtandem.codesign"],
    "report": ["qtandem.report"],
    "tour": ["qtandem.tour"],
    "utilities": ["qtandem.config", "qtandem.io", "qtandem.random", "qtandem.errors", "qtandem.training",
                  "qtandem.hooks"],
}


def readme_section(text: str, start: str | None, end: str | None) -> str:
    """Lines of ``text`` from the heading ``start`` (or the top) up to the heading ``end``."""
    lines = text.splitlines()
    for heading in (start, end):
        if heading is not None and heading not in lines:
            raise ValueError(f"README.md has no line {heading!r}; update README_PAGES in docs/hooks.py")
    i = 0 if start is None else lines.index(start)
    j = len(lines) if end is None else lines.index(end)
    return "\n".join(lines[i:j]).strip() + "\n"


def public_modules(package: str) -> list[str]:
    """``package`` and its submodules that define ``__all__`` (private ``_x`` modules skipped)."""
    mod = importlib.import_module(package)
    names = [package]
    if hasattr(mod, "__path__"):
        for info in pkgutil.walk_packages(mod.__path__, package + "."):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            sub = importlib.import_module(info.name)
            if getattr(sub, "__all__", None):
                names.append(info.name)
    return names


def defined_names(module: Any) -> set[str]:
    """Names that ``module``'s own source assigns or defines at top level (not imports)."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def api_page(title: str, packages: list[str]) -> str:
    """Markdown of one API page: a ``:::`` directive per public module.

    Each object is documented once, in the module that defines it; a package's
    ``__init__`` lists its re-exports as links to those entries.
    """
    out = [f"# {title}\n"]
    for package in packages:
        modules = [package] if package == "qtandem" else public_modules(package)
        for name in modules:
            module = importlib.import_module(name)
            exported = [m for m in getattr(module, "__all__", []) if not m.startswith("_")]
            own = defined_names(module)
            members = [m for m in exported if m in own]
            out += [f"## `{name}`\n", f"::: {name}", "    options:", "      show_root_heading: false",
                    "      show_root_toc_entry: false"]
            out += ["      members:", *(f"        - {m}" for m in members)] if members else ["      members: false"]
            out.append("")
            reexported = [m for m in exported if m not in own]
            if reexported:
                links = []
                for m in reexported:
                    obj = getattr(module, m)
                    home = getattr(obj, "__module__", None)
                    qual = getattr(obj, "__qualname__", None)
                    if home and qual and home.startswith("qtandem") and not home.endswith("__main__"):
                        links.append(f"[`{m}`][{home}.{qual}]")
                    else:
                        links.append(f"`{m}`")
                out.append("Also exported here: " + ", ".join(links) + ".\n")
    return "\n".join(out)


def cli_page() -> str:
    """Markdown reference of every ``qtandem`` command, from the click command tree."""
    import typer
    from typer.cli import get_docs_for_click

    from qtandem.cli import main as cli_main

    if not cli_main.app.registered_commands and not cli_main.app.registered_groups:
        cli_main._register()
    command = typer.main.get_command(cli_main.app)
    ctx = typer.Context(command)
    text = get_docs_for_click(obj=command, ctx=ctx, name="qtandem", title="CLI reference")
    return re.sub(r"\n{3,}", "\n\n", text)


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages to the site."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page, title, start, end in README_PAGES:
        body = readme_section(readme, start, end)
        if title is not None:
            body = body.replace(start or "", f"# {title}", 1)
        files.append(File.generated(config, page, content=body))
    files.append(File.generated(config, "cli.md", content=cli_page()))
    for slug, packages in API_PAGES.items():
        title = slug if slug != "utilities" else "utilities: " + ", ".join(p.split(".")[1] for p in packages)
        files.append(File.generated(config, f"api/{slug}.md", content=api_page(title, packages)))
    return files
