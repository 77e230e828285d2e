"""Regenerate the example problem files in this folder (seeded; run from anywhere).

    python examples/opt/make_examples.py
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(2026)
    g = nx.random_regular_graph(3, 16, seed=1)
    lines = ["# weighted 3-regular graph, 16 nodes (networkx seed 1, weights U(0.5, 1.5) rounded)",
             "# u v weight"]
    lines += [f"{u} {v} {rng.uniform(0.5, 1.5):.2f}" for u, v in sorted(g.edges)]
    (HERE / "graph.edges").write_text("\n".join(lines) + "\n")
    xy = np.round(rng.uniform(0, 10, size=(5, 2)), 2)
    (HERE / "cities.csv").write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in xy))
    assets = [f"A{i:02d}" for i in range(12)]
    factor = rng.normal(0.005, 0.03, size=(60, 1))
    r = factor * rng.uniform(0.5, 1.5, size=(1, 12)) + rng.normal(0.002, 0.02, size=(60, 12)) \
        + rng.uniform(-0.005, 0.01, size=(1, 12))
    (HERE / "returns.csv").write_text(",".join(assets) + "\n"
                                      + "".join(",".join(f"{v:.5f}" for v in row) + "\n" for row in r))


if __name__ == "__main__":
    main()
