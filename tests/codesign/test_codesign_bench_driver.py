"""bench/codesign.py: the tables come out of the committed JSON, and the --quick runs work end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import codesign  # noqa: E402


def test_tables_reproduce_the_committed_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    found = codesign.print_tables()
    out = capsys.readouterr().out
    loop = {(e["workload"], e["compare"]): e for e in found["loop"]}
    ghz = loop[("ghz", "stale vs learned")]
    # the ratio printed is the geometric mean of the per-seed errors in the rows
    per_stale, per_learned = ghz["per_seed_stale"], ghz["per_seed_learned"]
    gm = (codesign.math.prod(per_stale) / codesign.math.prod(per_learned)) ** (1 / len(per_stale))
    assert abs(gm - ghz["ratio_gmean"]) < 1e-9
    assert f"{ghz['ratio_gmean']:.2f}x" in out
    counts = found["whatif"]["json"]
    assert counts["pairs"] == 35 and counts["both"] <= counts["tau_ge_0.8"]
    test = found["whatif_test"]   # TEST seeds 20-24: the DEV-selected coordinates next to the named ones
    assert test["selected"]["pairs"] == 35 and test["selected"]["both"] >= test["rates"]["both"]
    assert "selected: within 10%" in out
    s34 = found["whatif_test_s34"]  # session 34: the second-order column, recounted from the rows
    rows = [r for f in codesign.WHATIF_TEST_S34_FILES.values() for r in codesign.json.loads(f.read_text())["rows"]]
    assert s34["second_order"]["both"] == sum(r["second_order"]["within_10pct"] == 1.0
                                              and r["second_order"]["kendall_tau"] >= 0.8 for r in rows)
    assert s34["second_order"]["pairs"] == 35 and "second_order: within 10%" in out
    # per-circuit tailored maps vs the references, from the bound file and the family run's held-out means
    bound = codesign.json.loads((codesign.RESULTS / "codesign_coupling_bound_qaoa.json").read_text())
    family = codesign.json.loads((codesign.RESULTS / "codesign_coupling_qaoa_p1.json").read_text())
    hh = family["summary"]["heldout"]["heavy_hex"]["geomean_cx"]
    gain = found["coupling_bound"]["qaoa"]["gain"]["heavy_hex"]
    assert gain == 1 - bound["geomean_cx"]["best"] / hh and 0 < gain < 0.2
    assert "Coupling-map search" in out and len(found["coupling"]) == len(codesign.COUPLING_FILES)


def test_pair_counts_and_coupling_row_by_hand() -> None:
    rows = [{c: {"kendall_tau": t, "within_10pct": w} for c in ("json", "rates", "physical")}
            for t, w in ((0.9, 1.0), (0.7, 1.0), (0.85, 0.95))]
    assert codesign.whatif_pair_counts(rows)["rates"] == {"pairs": 3, "tau_ge_0.8": 2, "all_within_10pct": 2,
                                                          "both": 1}
    result = {"summary": {"heldout": {"searched": {"geomean_cx": 80.0, "gain_of_searched": 0.0},
                                      "heavy_hex": {"geomean_cx": 100.0, "gain_of_searched": 0.2},
                                      "grid": {"geomean_cx": 64.0, "gain_of_searched": -0.25},
                                      "ring": {"geomean_cx": 160.0, "gain_of_searched": 0.5}}},
              "searched": {"evaluations": 10, "edges": 16, "reranked": [1, 2]}}
    row = codesign.coupling_row("toy", result)
    assert "20.0% / -25.0% / 50.0%" in row and row.endswith("| no |")


def test_whatif_and_coupling_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codesign.main(["whatif", "--quick", "--out", str(tmp_path / "w.json")])
    data = json.loads((tmp_path / "w.json").read_text())
    assert data["quick"] and data["pair_counts"]["json"]["pairs"] == 1
    assert set(data["rows"][0]["json"]) >= {"within_10pct", "kendall_tau"}
    codesign.main(["coupling", "--quick", "--out", str(tmp_path / "c.json")])
    res = json.loads((tmp_path / "c.json").read_text())
    assert res["searched"]["edges"] <= 16 and set(res["summary"]["heldout"]) == {"searched", "heavy_hex", "grid",
                                                                                  "ring"}
    assert "gain vs heavy-hex" in capsys.readouterr().out


def test_loop_quick(tmp_path: Path) -> None:
    codesign.main(["loop", "--quick", "--out", str(tmp_path / "l.json")])
    data = json.loads((tmp_path / "l.json").read_text())
    beliefs = {(r["workload"], r["belief"]) for r in data["rows"]}
    assert beliefs == {(w, b) for w in ("ghz", "qec_memory") for b in ("stale", "learned", "oracle")}
    ghz = next(e for e in data["table"] if e["workload"] == "ghz" and e["compare"] == "stale vs learned")
    assert ghz["ratio_gmean"] > 1.0     # the learned readout beats the stale one on this drifted device


@pytest.mark.slow
def test_vqe_pec_quick(tmp_path: Path) -> None:
    pytest.importorskip("pyscf")
    codesign.main(["vqe_pec", "--quick", "--out", str(tmp_path / "v.json")])
    data = json.loads((tmp_path / "v.json").read_text())
    assert {r["belief"] for r in data["rows"]} == {"stale", "learned", "oracle"}
    assert all(r["readout+pec"]["stderr"] > 0 and r["gamma"] > 1 for r in data["rows"])
    assert set(data["table"]) == {"raw", "readout", "readout+pec"}


def test_coupling_bound_summary_by_hand() -> None:
    import codesign_coupling_bound as ccb

    out = ccb.summarize({"family": "qaoa", "p": 1, "max_edges": 16, "max_degree": 4, "rows": [
        {"tailored": 60, "family": 70, "grid": 50}, {"tailored": 90, "family": 80, "grid": 50}]})
    assert [r["best"] for r in out["rows"]] == [60, 80]
    assert out["geomean_cx"]["best"] == pytest.approx((60 * 80) ** 0.5)
    assert out["target_threshold_vs_grid"] == pytest.approx(40.0) and not out["tailored_meets_threshold"]
    assert out["counting_bound_cx"] == 48 + 2   # 8 of 24 interactions off the 16 couplings, 6 new pairs per swap
