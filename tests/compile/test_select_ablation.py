"""bench/compile_ablation.py's switches really remove what they name, and put it back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qtandem import Circuit
from qtandem.compile import select
from qtandem.compile.passes.kak import TwoQubitResynthesis
from qtandem.compile.passmanager import PropertySet

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def ablation():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))
    try:
        import compile_ablation
    finally:
        sys.path.remove(str(BENCH))
    return compile_ablation


def test_removed_component_is_an_identity_pass_then_restored(ablation) -> None:  # type: ignore[no-untyped-def]
    c = Circuit(2)
    for _ in range(3):
        c.cx(0, 1).rz(0.3, 1).cx(1, 0)
    props = PropertySet(objective="cx")
    with ablation.removed(("TwoQubitResynthesis",)) as patched:
        assert "qtandem.compile.select.TwoQubitResynthesis" in patched
        names = [p.name for p in select.pipeline_passes("kak_first", style="nam")]
        assert "kak_resynthesis" not in names and "skipped" in names
        assert select.run_pipeline(c, "kak_first", style="nam", props=props).count_ops()["cx"] == 6
    assert select.TwoQubitResynthesis is TwoQubitResynthesis
    assert select.run_pipeline(c, "kak_first", style="nam", props=props).count_ops()["cx"] <= 3
    with ablation.removed(("NoSuchPass",)) as patched:
        assert patched == []


def test_pipeline_choice_none_drops_the_learned_candidates(ablation) -> None:  # type: ignore[no-untyped-def]
    c = Circuit(2).h(0).h(0).cx(0, 1)
    props = PropertySet(objective="gates", kak=True)
    assert len(select.learned_candidates(c, props, style="nam")) == 2
    with ablation.pipeline_choice("none"):
        assert select.learned_candidates(c, props, style="nam") == []
    assert len(select.learned_candidates(c, props, style="nam")) == 2


def test_run_config_counts_a_verified_level3_result(ablation) -> None:  # type: ignore[no-untyped-def]
    c = Circuit(3).h(0).cx(0, 1).rz(0.4, 1).cx(0, 1).h(0).cx(1, 2)
    for config in ("full", "no_search", "no_kak"):
        row = ablation.run_config(config, c, "ibm", 20, 60.0)
        assert set(row) >= {"gates", "cx", "seconds"} and row["cx"] <= 3, (config, row)
