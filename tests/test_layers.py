"""Dependencies point one way: circuit -> sim -> ... -> cli (module-level imports only)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "qtandem"
# lower index = lower layer; a module may import only from its own layer or lower ones.
LAYERS = [
    {"errors", "random", "io", "config", "training"},
    {"circuit"},
    {"qasm"},
    {"sim"},
    {"noise"},
    {"device"},
    {"report"},
    {"hybrid", "qec", "compile"},
    {"tour", "data"},
    {"cli", "__main__"},
]


def _layer(module: str) -> int:
    top = module.split(".", maxsplit=1)[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"module qtandem.{module} is not assigned to a layer in tests/test_layers.py")


def test_imports_point_down():
    bad = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts == ["__init__"]:
            continue
        mine = _layer(".".join(parts))
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: lazy imports inside functions are allowed
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            for t in targets:
                if t.startswith("qtandem.") and _layer(t[len("qtandem."):]) > mine:
                    bad.append(f"{rel}: imports {t}")
                if t == "qtandem" and mine < _layer("tour"):
                    bad.append(f"{rel}: imports the top-level package")
    assert not bad, "\n".join(bad)
