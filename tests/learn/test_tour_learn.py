"""The tour's device-learning section runs in quick mode: the fit lands near the hidden truth and
the corrections raise the repeated-gate fidelity."""

from __future__ import annotations

import re
from pathlib import Path

from qtandem.tour import failed_sections, run_tour


def test_learn_tour_section_quick(tmp_path: Path) -> None:
    report = run_tour(tmp_path, quick=True, only=["hidden device"])
    assert failed_sections() == []
    html = report.read_text()
    assert "q0.sx_angle_error" in html and "model explains the data" in html
    assert {p.name for p in tmp_path.iterdir()} >= {"learn_amplify_sx.png", "learn_corrections.png"}
    rows = re.findall(r"<tr><td>40</td><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td>", html)
    (before, after, truth), = [tuple(float(v) for v in r) for r in rows]
    assert after > before + 0.05 and abs(after - truth) < 0.01, (before, after, truth)
