"""The tour's GHZ-reconstruction section runs in quick mode, and its numbers are sane: the shadow fidelity is
within its error bars of 1, maximum likelihood recovers the small GHZ state,
the neural model's exact fidelity is reported for both registers."""

from __future__ import annotations

import re
from pathlib import Path

from qtandem.tour import failed_sections, run_tour


def test_ghz_tour_section_quick(tmp_path: Path) -> None:
    report = run_tour(tmp_path, quick=True, only=["GHZ state from shots"])
    assert failed_sections() == []
    html = report.read_text()
    assert (tmp_path / "learn_ghz.png").exists()
    shadow = re.findall(r"<tr><td>(\d+)</td><td>classical shadows \(Pauli\)</td><td>([\d.]+)</td><td>([\d.]+)</td>",
                        html)
    assert [int(w) for w, _, _ in shadow] == [6, 4]
    for _, f, err in shadow:
        assert abs(float(f) - 1) < 4 * float(err) + 1e-9, (f, err)
    (mle,) = re.findall(r"<tr><td>4</td><td>maximum likelihood[^<]*</td><td>([\d.]+)</td>", html)
    assert float(mle) > 0.9
    neural = re.findall(r"<tr><td>(\d+)</td><td>neural state model[^<]*</td><td>([\d.]+)</td>", html)
    assert [int(w) for w, _ in neural] == [6, 4]
    assert all(0.0 <= float(f) <= 1.0 + 1e-9 for _, f in neural)
