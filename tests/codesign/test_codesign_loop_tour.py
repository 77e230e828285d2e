"""The tour's co-design section runs in quick mode and shows the loop beside the stale pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtandem.tour import failed_sections, run_tour


@pytest.mark.slow
def test_codesign_tour_section_quick(tmp_path: Path) -> None:
    report = run_tour(tmp_path, quick=True, only=["Co-design loop"])
    assert failed_sections() == []
    html = report.read_text()
    assert "GHZ fidelity (loop)" in html and "characterize" in html
    assert (tmp_path / "codesign_loop.png").exists() and (tmp_path / "codesign_loop" / "report.html").exists()
