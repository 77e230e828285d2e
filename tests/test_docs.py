"""Every public object (a class or function in some ``qtandem.*`` module's ``__all__``) has a
runnable ``>>>`` example in its OWN docstring; pytest's doctest collection runs them.

``python tests/test_docs.py`` lists the objects that still lack one.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

import qtandem


def module_names() -> list[str]:
    """``qtandem`` and every submodule, ``__main__`` modules excepted (importing one runs the CLI)."""
    names = ["qtandem"]
    for info in pkgutil.walk_packages(qtandem.__path__, "qtandem."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


def public_objects() -> dict[str, object]:
    """``"module:qualname" -> object`` for every class and function exported by some ``__all__``."""
    found: dict[str, object] = {}
    for name in module_names():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants and type aliases document themselves in their module
            home = getattr(obj, "__module__", "") or ""
            if not home.startswith("qtandem"):
                continue  # re-exported third-party/builtin objects
            found.setdefault(f"{home}:{obj.__qualname__}", obj)
    return found


def missing_examples() -> list[str]:
    """Keys of :func:`public_objects` whose own docstring has no ``>>>`` line."""
    return sorted(key for key, obj in public_objects().items() if ">>>" not in (obj.__doc__ or ""))


def test_every_module_imports() -> None:
    for name in module_names():
        importlib.import_module(name)


def test_public_objects_found() -> None:
    objects = public_objects()
    assert len(objects) > 300
    assert "qtandem.circuit.circuit:Circuit" in objects
    assert "qtandem.sim.sampling:sample" in objects


def test_every_public_object_has_an_example() -> None:
    missing = missing_examples()
    assert not missing, (f"{len(missing)} public objects have no '>>>' example in their own docstring "
                         f"(add an Examples: section; pytest runs it as a doctest): {missing}")


def _hooks():
    """``docs/hooks.py`` (the MkDocs hook that generates the site's pages), imported by path."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "hooks.py"
    spec = importlib.util.spec_from_file_location("qtandem_docs_hooks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_site_pages_generate() -> None:
    """The pages ``make docs`` generates: README sections found, every command and subpackage covered."""
    hooks = _hooks()
    readme = (hooks.ROOT / "README.md").read_text(encoding="utf-8")
    for _page, _title, start, end in hooks.README_PAGES:
        assert hooks.readme_section(readme, start, end).strip()
    cli = hooks.cli_page()
    for command in ("simulate", "convert", "info", "train", "tour", "optimize", "device", "qec", "compile"):
        assert f"## `qtandem {command}`" in cli
    page = hooks.api_page("circuit", ["qtandem.circuit"])
    assert "::: qtandem.circuit.circuit" in page and "        - Circuit" in page
    packages = {p for names in hooks.API_PAGES.values() for p in names}
    top = {n.split(".")[1] for n in module_names() if n.count(".") >= 1 and n.split(".")[1] not in ("cli", "data")}
    assert top <= {p.split(".")[1] for p in packages if "." in p}, "a subpackage has no API page in docs/hooks.py"


if __name__ == "__main__":
    left = missing_examples()
    print("\n".join(left))
    print(f"{len(left)} of {len(public_objects())} public objects have no example", file=sys.stderr)
