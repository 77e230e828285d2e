"""Dependencies point one way: every import of qtandem, wherever it stands, goes to its own layer or a lower one.

The layers, lowest first (the same order as the import-linter contract in pyproject.toml,
which ``make test`` runs as ``lint-imports``; docs/design.md explains it):

    errors, random, io, config, hooks, training, engine   (no qtandem imports but each other)
    circuit                                        (the IR; Circuit.to_matrix/from_qasm go through hooks)
    sim                                            (the simulator; noise= goes through a protocol)
    qasm                                           (reader/writer; its gate recogniser uses sim.dense)
    interop                                        (Qiskit / Cirq conversions; the frameworks imported inside functions)
    noise
    device
    report
    hybrid, qec, compile
    learn                                          (device learning: may use compile)
    mitigate                                       (error mitigation: may use learn's calibrations)
    chem, opt                                      (applications: chemistry, optimisation / QAOA)
    codesign                                       (the co-design loop over every capability)
    sweep                                          (sweeps and tuning over any job, on qtandem.engine)
    tour, data
    cli, __main__

Imports inside functions, under ``if TYPE_CHECKING:``, relative imports and
``importlib.import_module("qtandem....")`` calls all count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "qtandem"
# lower index = lower layer; a module may import only from its own layer or lower ones.
LAYERS = [
    {"errors", "random", "io", "config", "hooks", "training", "engine"},
    {"circuit"},
    {"sim"},
    {"qasm"},
    {"interop"},
    {"noise"},
    {"device"},
    {"report"},
    {"hybrid", "qec", "compile"},
    {"learn"},
    {"mitigate"},
    {"chem", "opt"},
    {"codesign"},
    {"sweep"},
    {"tour", "data"},
    {"cli", "__main__"},
]
TOP_LEVEL_OK = min(i for i, names in enumerate(LAYERS) if "tour" in names)
"""From this layer up a module may import the top-level package ``qtandem`` itself."""


def _layer(module: str) -> int:
    top = module.split(".", maxsplit=1)[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"module qtandem.{module} is not assigned to a layer in tests/test_layers.py")


def _is_submodule(name: str) -> bool:
    return (SRC / f"{name}.py").exists() or (SRC / name / "__init__.py").exists()


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, target)`` for every qtandem import in ``source`` (anywhere in the file).

    ``module`` is the importing module's dotted name without ``qtandem.``; a target is
    ``"qtandem"`` for the top-level package, else ``"qtandem.<...>"``.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "qtandem")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                parts = ["qtandem", *base, *([node.module] if node.module else [])]
                target = ".".join(parts)
            elif node.module and node.module.split(".")[0] == "qtandem":
                target = node.module
            else:
                continue
            if target == "qtandem":  # `from qtandem import sim` imports a submodule, not the facade
                subs = [a.name for a in node.names if _is_submodule(a.name)]
                out.extend((node.lineno, f"qtandem.{s}") for s in subs)
                if len(subs) < len(node.names):
                    out.append((node.lineno, "qtandem"))
            else:
                out.append((node.lineno, target))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and node.args[0].value.split(".")[0] == "qtandem":
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__"):
                out.append((node.lineno, node.args[0].value))
    return sorted(out)


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Imports in ``source`` (of ``qtandem.<module>``) that point to a higher layer."""
    mine = _layer(module)
    bad = []
    for line, target in imports_of(source, module, is_package=is_package):
        if target == "qtandem":
            if mine < TOP_LEVEL_OK:
                bad.append(f"{module}:{line}: imports the top-level package qtandem")
        elif _layer(target[len("qtandem."):]) > mine:
            bad.append(f"{module}:{line}: imports {target}")
    return bad


def _modules() -> list[tuple[str, Path, bool]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts == ["__init__"]:
            continue  # the top-level facade sits above every layer
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out.append((".".join(parts), path, is_package))
    return out


def test_imports_point_down():
    bad = []
    for module, path, is_package in _modules():
        bad.extend(violations(path.read_text(), module, is_package=is_package))
    assert not bad, "\n".join(bad)


def test_no_cycles_between_packages():
    graph: dict[str, set[str]] = {}
    for module, path, is_package in _modules():
        top = module.split(".")[0]
        for _, target in imports_of(path.read_text(), module, is_package=is_package):
            dep = target.split(".")[1] if "." in target else None
            if dep and dep != top:
                graph.setdefault(top, set()).add(dep)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_check_sees_every_kind_of_import():
    source = '''
import qtandem.sim
from qtandem.qasm import loads
from qtandem import noise, hooks
from .. import sim as _sim
from ..compile.dag import Op
import qtandem

def lazy():
    from qtandem.sim.core import statevector
    import importlib
    return importlib.import_module("qtandem.device")

if TYPE_CHECKING:
    from qtandem.hybrid import QuantumLayer
'''
    bad = violations(source, "circuit.circuit")
    assert bad == [
        "circuit.circuit:2: imports qtandem.sim",
        "circuit.circuit:3: imports qtandem.qasm",
        "circuit.circuit:4: imports qtandem.noise",
        "circuit.circuit:5: imports qtandem.sim",
        "circuit.circuit:6: imports qtandem.compile.dag",
        "circuit.circuit:7: imports the top-level package qtandem",
        "circuit.circuit:10: imports qtandem.sim.core",
        "circuit.circuit:12: imports qtandem.device",
        "circuit.circuit:15: imports qtandem.hybrid",
    ], bad
    assert violations("from . import gates\nfrom .gates import GATES\n", "circuit.circuit") == []
    assert violations("from .core import run\n", "sim", is_package=True) == []
    assert violations("from ..noise import model\n", "sim", is_package=True) == ["sim:1: imports qtandem.noise"]


def test_import_linter_contract_matches_these_layers():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert config["root_package"] == "qtandem"
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    declared = [{name.strip() for name in layer.replace(":", "|").split("|")} for layer in contract["layers"]]
    assert declared == LAYERS[::-1]
    assert not contract.get("ignore_imports"), "no exceptions: fix the import instead"


def test_every_module_has_a_layer():
    for module, _, _ in _modules():
        _layer(module)


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_circuit_conversions_work_without_the_circuit_layer_importing_sim_or_qasm():
    code = """
import sys
from qtandem.circuit import Circuit
loaded = sorted(m for m in ("qtandem.sim", "qtandem.qasm", "qtandem.noise") if m in sys.modules)
c = Circuit.from_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0], q[1];')
print(loaded, c.count_ops(), tuple(c.to_matrix().shape), c.to_qasm().splitlines()[-1])
"""
    assert _fresh(code) == "[] {'h': 1, 'cx': 1} (4, 4) cx q[0], q[1];"


def test_the_simulator_runs_noise_through_a_protocol_without_importing_noise():
    code = """
import sys
import qtandem.sim as sim
from qtandem.circuit import Circuit
sim.sample(Circuit(1).h(0), 10, seed=0)
print("qtandem.noise" in sys.modules)
"""
    assert _fresh(code) == "False"


def test_noise_dispatches_through_the_protocol():
    import torch

    import qtandem
    from qtandem.circuit import Circuit
    from qtandem.errors import NoiseError
    from qtandem.sim.sampling import NoisySimulation

    class Fixed:  # any object with the protocol's methods is a noise model to the simulator
        def sample_bits(self, circuit, shots, **_):
            return np.ones((shots, circuit.n_clbits), dtype=np.uint8)

        def outcome_probabilities(self, circuit, params, **_):
            return torch.tensor([0.25, 0.75], dtype=torch.float64)

        def density_matrix(self, circuit, params, **_):
            return torch.tensor([[0.25, 0], [0, 0.75]], dtype=torch.complex128)

    c = Circuit(1, 1).measure(0, 0)
    assert isinstance(Fixed(), NoisySimulation) and isinstance(qtandem.NoiseModel(), NoisySimulation)
    assert qtandem.sample(c, 3, noise=Fixed()).counts == {"1": 3}
    assert qtandem.probabilities(c, noise=Fixed()).tolist() == [0.25, 0.75]
    assert float(qtandem.expval(c, "Z0", noise=Fixed())) == -0.5
    with pytest.raises(NoiseError, match="noise must be a NoiseModel .* got str"):
        qtandem.sample(c, 3, noise="depolarizing")


def test_the_reference_simulator_stays_independent():
    # the test oracle must not share code with what it checks: no simulator module, no shared helper
    path = SRC / "sim" / "reference.py"
    targets = [t for _, t in imports_of(path.read_text(), "sim.reference")]
    assert targets and not [t for t in targets if not t.startswith(("qtandem.circuit", "qtandem.errors"))], targets
