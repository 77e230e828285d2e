"""The tour's mitigation section in quick mode: raw GHZ parity decays, readout mitigation restores the
pre-readout value (exact density matrix) within error bars."""

from __future__ import annotations

import re
from pathlib import Path

from qtandem.mitigate import parse_observable
from qtandem.noise import NoiseModel, depolarizing_qiskit
from qtandem.tour import failed_sections, run_tour
from qtandem.tour.mitigate import native_ghz


def test_mitigate_tour_section_quick(tmp_path: Path) -> None:
    report = run_tour(tmp_path, quick=True, only=["GHZ parity"])
    assert failed_sections() == []
    html = report.read_text()
    assert (tmp_path / "mitigate_ghz_parity.png").exists()
    rows = re.findall(r"<tr><td>(\d+)</td><td>([\d.]+) ± ([\d.]+)</td><td>([\d.]+) ± ([\d.]+)</td>", html)
    assert [int(r[0]) for r in rows] == [2, 4, 6]
    gates = (NoiseModel().add(depolarizing_qiskit(0.002, 1), gates=["rz", "sx", "x", "sxdg"])
             .add(depolarizing_qiskit(0.01, 2), gates=["cx"]))
    for n, raw, _, value, err in rows:
        n = int(n)
        exact = parse_observable(" ".join(f"Z{q}" for q in range(n)), n).exact(native_ghz(n), noise=gates)
        assert abs(float(raw) - 0.94**n * exact) < 0.02  # readout flips shrink the parity by (1 - 2*0.03)^n
        assert abs(float(value) - exact) < 4 * float(err) + 0.01, (n, value, exact)
