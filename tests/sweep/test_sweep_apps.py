"""Sweep job kinds ``qaoa`` (an instance set) and ``vqe`` (a curve point): numbers equal direct calls, resume exact."""

from __future__ import annotations

import networkx as nx
import pytest

from qtandem.engine import LocalEngine
from qtandem.errors import ConfigError
from qtandem.opt import maxcut, qaoa
from qtandem.sweep import parse_config, plan, run_sweep

QAOA = """
[sweep]
job = "qaoa"
seed = 4
[fixed]
graph = "regular"
nodes = 6
degree = 3
max_evaluations = 40
[grid]
p = [1, 2]
instance = [0, 1]
"""


def test_qaoa_points_equal_direct_calls_and_resume(tmp_path):
    cfg = parse_config(QAOA)
    points = plan(cfg)
    with LocalEngine(1) as engine:
        whole = run_sweep(cfg, engine, tmp_path / "whole")
        part = run_sweep(cfg, engine, tmp_path / "part", stop_after=2)
        again = run_sweep(cfg, engine, tmp_path / "part")
    assert whole.complete and not part.complete and again.complete
    assert [e["result"] for e in again.table] == [e["result"] for e in whole.table]  # bit-exact floats
    for point, entry in zip(points, whole.table, strict=True):
        prm = point.prepared.params
        direct = qaoa(maxcut(nx.random_regular_graph(3, 6, seed=prm["instance"])), prm["p"], init="interp",
                      seed=point.seed(0) % 2**31, max_evaluations=40)
        assert entry["result"]["approximation_ratio"] == direct.approximation_ratio
        assert entry["result"]["n_evaluations"] == direct.n_evaluations


def test_bad_points_are_refused():
    for text, pattern in [
        ('[sweep]\njob = "qaoa"\n[grid]\np = [1]\n', "give a problem file"),
        ('[sweep]\njob = "qaoa"\n[fixed]\ngraph = "regular"\nnodes = 5\n[grid]\np = [1]\n', "no 3-regular graph"),
        ('[sweep]\njob = "qaoa"\n[fixed]\ngraph = "regular"\n[grid]\ndepth = [1]\n', r"points\[0\].depth: unknown"),
        ('[sweep]\njob = "vqe"\n[fixed]\ngeometry = "H 0 0 0; H 0 0 0.7"\n[grid]\nbasis = ["sto-3g"]\n', r"\{d\}"),
        ('[sweep]\njob = "vqe"\n[grid]\nd = ["far"]\n', "points.0..d: expected float"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            plan(parse_config(text))


@pytest.mark.slow
def test_vqe_curve_example_is_exact_for_h2(tmp_path):
    pytest.importorskip("pyscf")
    from qtandem.sweep import load_config

    with LocalEngine(1) as engine:
        res = run_sweep(load_config("examples/sweep/vqe_h2_curve.toml"), engine, tmp_path)
    assert [e["point"]["d"] for e in res.table] == [0.5, 0.735, 1.0, 1.5, 2.0]
    assert all(e["result"]["error"] < 1e-8 for e in res.table)  # UCCSD is exact for two electrons
    energies = [e["result"]["energy"] for e in res.table]
    assert min(energies) == energies[1]  # the minimum near the equilibrium bond length
