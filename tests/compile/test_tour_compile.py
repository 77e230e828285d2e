"""The compile tour section runs in quick mode and writes its figure."""

from __future__ import annotations

from pathlib import Path

from qtandem.tour import failed_sections, run_tour


def test_compile_tour_section_quick(tmp_path: Path) -> None:
    report = run_tour(tmp_path, quick=True, only=["Compilation"])
    assert failed_sections() == []
    html = report.read_text()
    assert "verified optimization" in html and "ladder_3" in html
    assert any(p.name.startswith("compile_counts") for p in tmp_path.iterdir())
