"""Regenerate the device presets in src/qtandem/device/presets/ (deterministic, seeded).

The calibration numbers are synthetic: each value is drawn (seed below) within
the ranges IBM Quantum publishes for its 27-qubit Falcon r5.11 processors
(median T1 ~ 100-300 us, T2 ~ 50-200 us, sx error ~ 2-5e-4, cx error ~ 0.6-1.5e-2,
readout error ~ 0.5-3e-2, sx 35.6 ns, cx 250-550 ns, readout ~ 750 ns). They are
realistic, not a snapshot of any one device. The heavy-hex coupling map is the
27-qubit Falcon lattice (Chamberland et al., "Topological and subsystem codes on
low-degree graphs with flag qubits", PRX 10, 011022 (2020)).

Run: python scripts/make_device_presets.py
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "qtandem" / "device" / "presets"
SOURCE = ("Synthetic calibration drawn (seeded, scripts/make_device_presets.py) within the ranges IBM Quantum "
          "publishes for 27-qubit Falcon r5.11 processors: T1 100-300 us, T2 50-200 us (T2 <= 2 T1), "
          "sx error 2-5e-4 at 35.6 ns, cx error 0.6-1.5e-2 at 250-550 ns, readout error 0.5-3e-2 at 750 ns.")
HEAVY_HEX_27 = [(0, 1), (1, 2), (1, 4), (2, 3), (3, 5), (4, 7), (5, 8), (6, 7), (7, 10), (8, 9), (8, 11),
                (10, 12), (11, 14), (12, 13), (12, 15), (13, 14), (14, 16), (15, 18), (16, 19), (17, 18),
                (18, 21), (19, 20), (19, 22), (21, 23), (22, 25), (23, 24), (24, 25), (25, 26)]


# drawing positions of the Falcon layout: two rows of ten/nine qubits, bridges and pendants between
HEAVY_HEX_27_POS = {
    0: (0, 0), 1: (1, 0), 4: (2, 0), 7: (3, 0), 10: (4, 0), 12: (5, 0), 15: (6, 0), 18: (7, 0), 21: (8, 0),
    23: (9, 0), 2: (1, -1), 13: (5, -1), 24: (9, -1), 3: (1, -2), 5: (2, -2), 8: (3, -2), 11: (4, -2), 14: (5, -2),
    16: (6, -2), 19: (7, -2), 22: (8, -2), 25: (9, -2), 26: (10, -2), 6: (3, 1), 17: (7, 1), 9: (3, -3), 20: (7, -3),
}


def heavy_hex_65() -> tuple[list[tuple[int, int]], dict[int, tuple[float, float]]]:
    """The 65-qubit Hummingbird r2 lattice (ibmq_manhattan, ibmq_brooklyn): five rows joined by bridge qubits."""
    rows = [(list(range(10)), 0), (list(range(13, 24)), 0), (list(range(27, 38)), 0), (list(range(41, 52)), 0),
            (list(range(55, 65)), 1)]
    pos: dict[int, tuple[float, float]] = {}
    edges: list[tuple[int, int]] = []
    for r, (qs, x0) in enumerate(rows):
        for k, q in enumerate(qs):
            pos[q] = (x0 + k, -2 * r)
        edges += list(itertools.pairwise(qs))
    bridges = [(0, 10, 13), (4, 11, 17), (8, 12, 21), (15, 24, 29), (19, 25, 33), (23, 26, 37),
               (27, 38, 41), (31, 39, 45), (35, 40, 49), (43, 52, 56), (47, 53, 60), (51, 54, 64)]
    for a, b, c in bridges:
        edges += [(a, b), (b, c)]
        pos[b] = (pos[a][0], pos[a][1] - 1)
    return sorted(edges), pos


def grid(rows: int, cols: int) -> list[tuple[int, int]]:
    edges = []
    for r in range(rows):
        for c in range(cols):
            q = r * cols + c
            if c + 1 < cols:
                edges.append((q, q + 1))
            if r + 1 < rows:
                edges.append((q, q + cols))
    return edges


def device(name: str, n: int, edges: list[tuple[int, int]], seed: int, description: str,
           positions: dict[int, tuple[float, float]]) -> dict:
    rng = np.random.default_rng(seed)
    qubits = []
    for _ in range(n):
        t1 = float(rng.uniform(100e3, 300e3))
        t2 = float(min(rng.uniform(50e3, 200e3), 2 * t1))
        qubits.append({
            "t1": round(t1, 1), "t2": round(t2, 1),
            "readout_p01": round(float(rng.uniform(0.003, 0.02)), 5),
            "readout_p10": round(float(rng.uniform(0.008, 0.03)), 5),
            "gate_error_1q": round(float(rng.uniform(2e-4, 5e-4)), 6),
            "gate_duration_1q": 35.6, "readout_duration": 750.0,
        })
    return {
        "schema": "qtandem.device", "version": 1, "name": name, "description": description, "source": SOURCE,
        "num_qubits": n, "time_unit": "ns", "native_gates": ["cx", "id", "measure", "reset", "rz", "sx", "x"],
        "coupling_map": [list(e) for e in edges], "qubits": qubits,
        "edges": [{"qubits": list(e), "gate": "cx", "error": round(float(rng.uniform(6e-3, 1.5e-2)), 5),
                   "duration": round(float(rng.uniform(250, 550)), 1)} for e in edges],
        "extra": {"positions": {str(q): list(map(float, xy)) for q, xy in sorted(positions.items())}},
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ring = {q: (math.cos(2 * math.pi * q / 8), math.sin(2 * math.pi * q / 8)) for q in range(8)}
    presets = [
        device("line_5", 5, [(i, i + 1) for i in range(4)], 101, "5 qubits on a line", {q: (q, 0) for q in range(5)}),
        device("ring_8", 8, [(i, (i + 1) % 8) for i in range(8)], 102, "8 qubits on a ring", ring),
        device("grid_4x4", 16, grid(4, 4), 103, "16 qubits on a 4x4 square grid",
               {q: (q % 4, -(q // 4)) for q in range(16)}),
        device("heavy_hex_27", 27, HEAVY_HEX_27, 104, "27-qubit heavy-hex lattice (IBM Falcon layout)",
               HEAVY_HEX_27_POS),
        device("heavy_hex_65", 65, *heavy_hex_65()[:1], 105,
               "65-qubit heavy-hex lattice (IBM Hummingbird r2 layout, as ibmq_manhattan/ibmq_brooklyn)",
               heavy_hex_65()[1]),
    ]
    for p in presets:
        (OUT / f"{p['name']}.json").write_text(json.dumps(p, indent=1) + "\n")
        print("wrote", OUT / f"{p['name']}.json")


if __name__ == "__main__":
    main()
