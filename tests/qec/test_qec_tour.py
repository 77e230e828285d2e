"""The QEC tour section runs in quick mode and writes its figures."""

from pathlib import Path

from qtandem.tour import failed_sections, run_tour


def test_qec_tour_section_quick(tmp_path: Path) -> None:
    report = run_tour(tmp_path, quick=True, only=["Error correction"])
    assert failed_sections() == []
    html = report.read_text()
    assert "Error correction" in html and "pymatching-correlated" in html
    for name in ("qec_ler.png", "qec_flagging.png"):
        assert (tmp_path / name).stat().st_size > 0
