"""Problem files: the shipped examples load, and bad files fail naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qtandem.errors import ConfigError
from qtandem.opt import load_problem, maxcut, solve_classical
from qtandem.opt.io import read_edge_list

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "opt"


@pytest.mark.parametrize(("name", "n"), [("maxcut", 16), ("tsp", 16), ("cvrp", 24), ("portfolio", 12), ("mis", 6)])
def test_shipped_examples_load(name: str, n: int) -> None:
    p = load_problem(EXAMPLES / f"{name}.toml")
    assert p.name == name and p.n_variables == n


def test_edge_list_file_builds_the_same_problem_as_networkx() -> None:
    import networkx as nx

    p = load_problem(EXAMPLES / "maxcut.toml")
    g = nx.Graph()
    for line in (EXAMPLES / "graph.edges").read_text().splitlines():
        if line and not line.startswith("#"):
            u, v, w = line.split()
            g.add_edge(int(u), int(v), weight=float(w))
    assert p.qubo == maxcut(g).qubo
    assert p.data["solve"] == {"method": "exact", "seed": 0}
    assert solve_classical(p, "exact").value == pytest.approx(solve_classical(maxcut(g), "mip").value)


def _write(tmp_path: Path, toml: str, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name.replace("_", ".")).write_text(text)
    f = tmp_path / "p.toml"
    f.write_text(toml)
    return f


@pytest.mark.parametrize(("toml", "files", "match"), [
    ('[problem]\nkind = "maxcut"\nedges = "g.edges"\n', {"g_edges": "0 1\n1 2 x\n"}, r"g\.edges:2: weight"),
    ('[problem]\nkind = "maxcut"\nedges = "g.edges"\n', {"g_edges": "0 1\n\n1\n"}, r"g\.edges:3: expected 'u v"),
    ('[problem]\nkind = "maxcut"\nedges = "nope.edges"\n', {}, r"problem\.edges: no such file"),
    ('[problem]\nkind = "maxcutt"\n', {}, r"problem\.kind: .*did you mean 'maxcut'"),
    ('[problem]\nkind = "tsp"\ndistance = "d.csv"\n', {}, r"problem\.distance: unknown key.*'distances'"),
    ('[problem]\nkind = "tsp"\ndistances = "d.csv"\n', {"d_csv": "0,1,2\n1,0,1\n2,zz,0\n"}, r"d\.csv:3: column 2"),
    ('[problem]\nkind = "tsp"\ndistances = "d.csv"\n', {"d_csv": "0,1\n1,0,1\n"}, r"d\.csv:2: expected 2 columns"),
    ('[problem]\nkind = "tsp"\ndistances = [[0, 1], [1, 0]]\n', {}, r"p\.toml: problem: tsp: needs at least 3"),
    ('[problem]\nkind = "portfolio"\nreturns = [[0.1, 0.2], [0.0, 0.1]]\n', {}, r"problem\.budget: missing"),
    ('[problem]\nkind = "cvrp"\ndistances = [[0, 1], [1, 0]]\ndemands = [0, 1]\ncapacity = 2\n', {},
     r"problem\.vehicles: missing"),
    ('[problem]\nkind = "mis"\nedges = [[0, 1]]\n[solve]\nmethod = "qaoa"\n', {}, r"solve\.method"),
    ('[problem\nkind = "mis"\n', {}, r"p\.toml: .*line 1"),
    ('[problme]\nkind = "mis"\n', {}, r"problme: unknown table \(did you mean 'problem'\?\)"),
    ('[problem]\nkind = "maxcut"\nedges = [[0, 1, "x"]]\n', {}, r"problem\.edges\[0\]: the weight must be a number"),
    ('[problem]\nkind = "maxcut"\nedges = [[0, [1]]]\n', {}, r"problem\.edges\[0\]: nodes are"),
])
def test_bad_files_name_file_line_and_key(tmp_path: Path, toml: str, files: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_problem(_write(tmp_path, toml, **files))


def test_portfolio_csv_header_gives_asset_names() -> None:
    p = load_problem(EXAMPLES / "portfolio.toml")
    r = solve_classical(p, "exact")
    assert len(p.decode(r.solution)) == 4 and all(s.startswith("A") for s in p.decode(r.solution))
    rows = np.loadtxt(EXAMPLES / "returns.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(p.data["mu"], rows.mean(0))


def test_read_edge_list_comments_and_commas(tmp_path: Path) -> None:
    f = tmp_path / "g.txt"
    f.write_text("# header\n a, b, 2\nb c\n")
    assert read_edge_list(f) == [("a", "b", 2.0), ("b", "c", 1.0)]
