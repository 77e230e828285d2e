"""The pipeline selector: every pipeline is exact, features are what they claim, training learns, loading checks."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from compile_helpers import same_unitary

from qtandem import Circuit
from qtandem.compile import optimize
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.select import (
    FEATURE_NAMES,
    PIPELINES,
    PipelineSelector,
    circuit_features,
    fit_selector,
    label_circuit,
    learned_candidates,
    pipeline_passes,
    pretrained_selector,
    run_pipeline,
)
from qtandem.compile.verify import verify_equivalent
from qtandem.errors import CheckpointError, CompileError

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _random(n: int, gates: int, seed: int, basis: str) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(gates):
        r = rng.random()
        if r < 0.35:
            a, b = (int(q) for q in rng.choice(n, size=2, replace=False))
            c.cx(a, b)
        elif r < 0.45 and n >= 3:
            c.ccx(*(int(q) for q in rng.choice(n, size=3, replace=False)))
        elif r < 0.6:
            c.rz(float(rng.choice([math.pi / 4, -math.pi / 4, math.pi / 2, 0.37])), int(rng.integers(n)))
        elif r < 0.8:
            c.rzz(float(rng.uniform(-3, 3)), *(int(q) for q in rng.choice(n, size=2, replace=False)))
        else:
            c.u(*(float(a) for a in rng.uniform(-3, 3, size=3)), int(rng.integers(n)))
    return optimize(c, level=0, basis=basis)[0]


@pytest.mark.parametrize("name", PIPELINES)
@pytest.mark.parametrize("basis", ["nam", "ibm"])
def test_every_pipeline_is_exact_on_random_circuits(name: str, basis: str) -> None:
    style = "zsx" if basis == "ibm" else "nam"
    allowed = {"h", "x", "cx", "rz"} if basis == "nam" else {"rz", "sx", "x", "cx"}
    for seed in range(6):
        c = _random(3 + seed % 2, 30, seed, basis)
        out = run_pipeline(c, name, style=style)
        assert set(out.count_ops()) <= allowed
        assert same_unitary(c, out), (name, basis, seed)
        verify_equivalent(c, out)


def test_kak_pipelines_consolidate_two_qubit_blocks() -> None:
    c = Circuit(2)
    for _ in range(3):
        c.cx(0, 1).rz(0.3, 1).cx(1, 0)
    assert run_pipeline(c, "light", style="nam").count_ops()["cx"] == 6
    out = run_pipeline(c, "kak_first", style="nam", props=PropertySet(objective="cx"))
    assert out.count_ops()["cx"] <= 3 and same_unitary(c, out)
    assert "kak_resynthesis" not in [p.name for p in pipeline_passes("kak_first", style="nam", kak=False)]


def test_unknown_pipeline_is_a_clear_error() -> None:
    with pytest.raises(CompileError, match="unknown pipeline 'nope'; choose one of fold"):
        pipeline_passes("nope", style="nam")


def test_features_hand_case() -> None:
    c = Circuit(4).h(0).cx(0, 1).cx(0, 1).t(2).rz(0.3, 3).rz(math.pi / 2, 3).x(1).cx(2, 3)
    f = dict(zip(FEATURE_NAMES, circuit_features(c, style="zsx").tolist(), strict=True))
    assert f["frac_cx"] == pytest.approx(3 / 8)
    assert f["frac_h"] == f["frac_x"] == f["frac_t"] == f["frac_s"] == f["frac_rz"] == pytest.approx(1 / 8)
    assert (f["rz_clifford"], f["rz_t"], f["rz_other"]) == pytest.approx((1 / 2, 0, 1 / 2))  # rz(pi/2), rz(0.3)
    assert f["pair_density"] == pytest.approx(2 / 6)          # pairs (0,1) and (2,3) of 6
    assert f["top_pair_share"] == pytest.approx(2 / 3)
    assert f["same_pair_next"] == pytest.approx(1 / 3)        # the second cx(0, 1) follows the first
    assert f["log_qubits"] == pytest.approx(math.log2(5))
    assert (f["style_nam"], f["style_zsx"]) == (0.0, 1.0)
    assert np.all(np.isfinite(circuit_features(Circuit(1), style="nam")))  # empty circuit


def test_label_rows_are_counts_of_each_pipeline() -> None:
    c = _random(3, 25, 1, "nam")
    y = label_circuit(c, style="nam")
    assert y.shape == (1 + len(PIPELINES), 2)
    assert y[0].tolist() == [c.num_gates(), c.count_ops().get("cx", 0)]
    for i, name in enumerate(PIPELINES):
        out = run_pipeline(c, name, style="nam")
        assert y[1 + i].tolist() == [out.num_gates(), out.count_ops().get("cx", 0)]


def test_fit_learns_which_pipeline_is_cheaper() -> None:
    """Synthetic labels: pipeline 0 wins when feature 0 is high, pipeline 1 otherwise; the fit must find it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURE_NAMES))).astype(np.float32)
    y = np.full((400, 1 + len(PIPELINES), 2), 100, dtype=np.int64)
    y[:, 1, :] = np.where(x[:, :1] > 0, 50, 90)
    y[:, 2, :] = np.where(x[:, :1] > 0, 90, 50)
    net = fit_selector(x[:300], y[:300], hidden=16, epochs=400, seed=0)
    with torch.no_grad():
        pred = net(torch.as_tensor(x[300:]))[:, 0, :].argmin(1).numpy()
    truth = np.where(x[300:, 0] > 0, 0, 1)
    clear = np.abs(x[300:, 0]) > 0.5  # away from the boundary a step the net cannot draw exactly
    assert np.mean(pred[clear] == truth[clear]) > 0.9
    # an untrained net is at chance on the same question
    with torch.no_grad():
        raw = PipelineSelector(16, seed=0)(torch.as_tensor(x[300:]))[:, 0, :2].argmin(1).numpy()
    assert np.mean(raw[clear] == truth[clear]) < 0.8


def test_save_load_round_trip_and_bad_files(tmp_path: Path) -> None:
    c = _random(3, 20, 2, "ibm")
    net = PipelineSelector(8, seed=3)
    net.mean.fill_(0.5)  # type: ignore[operator]
    net.save(tmp_path / "s.safetensors")
    back = PipelineSelector.load(tmp_path / "s.safetensors")
    assert back.rank(c, style="zsx") == net.rank(c, style="zsx")
    assert torch.equal(back.mean, net.mean)  # type: ignore[arg-type]
    from qtandem.io import write_safetensors

    write_safetensors(tmp_path / "p.safetensors", {"w": torch.ones(1)}, {"format": "qtandem-policy/1"})
    with pytest.raises(CheckpointError, match="not a pipeline selector"):
        PipelineSelector.load(tmp_path / "p.safetensors")
    meta = {"format": "qtandem-selector/1", "hidden": "8", "pipelines": "fold,teleport",
            "features": ",".join(FEATURE_NAMES)}
    write_safetensors(tmp_path / "u.safetensors", dict(net.state_dict()), meta)
    with pytest.raises(CheckpointError, match=r"unknown pipelines \['teleport'\]"):
        PipelineSelector.load(tmp_path / "u.safetensors")


def test_rank_follows_the_objective() -> None:
    net = PipelineSelector(8, seed=0)
    with torch.no_grad():
        last = net.net[-1]
        last.weight.zero_()
        p = len(PIPELINES)
        last.bias.copy_(torch.tensor([float(i) for i in range(p)] + [float(-i) for i in range(p)]))
    c = Circuit(2).cx(0, 1)
    assert net.rank(c, style="nam", objective="gates")[0] == PIPELINES[0]
    assert net.rank(c, style="nam", objective="cx")[0] == PIPELINES[-1]


def test_shipped_selector_and_candidates_are_verified_by_level3() -> None:
    sel = pretrained_selector()
    assert sel.pipelines == PIPELINES
    c = _random(4, 40, 5, "ibm")
    cands = learned_candidates(c, PropertySet(objective="gates", kak=True), style="zsx", k=2)
    assert [name for name, _, _ in cands] == sel.rank(c, style="zsx")[:2]
    for _, out, _ in cands:
        assert same_unitary(c, out)
    assert learned_candidates(c, PropertySet(), style=None) == []


def test_train_script_smoke(tmp_path: Path) -> None:
    cfg = (BENCH.parent / "src" / "qtandem" / "compile" / "models" / "selector.toml").read_text()
    cfg = cfg.replace("nam_dev = true", "nam_dev = false").replace("epochs = 400", "epochs = 20")
    (tmp_path / "s.toml").write_text(cfg)
    sys.path.insert(0, str(BENCH))
    try:
        import train_selector
    finally:
        sys.path.remove(str(BENCH))
    assert train_selector.main(["--config", str(tmp_path / "s.toml"), "--circuits", "6", "--no-save",
                                "-o", str(tmp_path / "r.json")]) == 0
    import json

    res = json.loads((tmp_path / "r.json").read_text())
    assert res["heldout_circuits"] == 2 and res["gates"]["oracle_vs_oracle"] == 1.0
    assert res["gates"]["learned_top1_vs_oracle"] >= 1.0 and res["gates"]["random1_vs_oracle"] >= 1.0


def test_level3_runs_the_learned_candidates_and_verifies_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from qtandem.compile import select as sel

    calls: list[int] = []
    real = sel.learned_candidates

    def spy(circuit, props, **kwargs):  # type: ignore[no-untyped-def]
        out = real(circuit, props, **kwargs)
        calls.append(len(out))
        return out

    monkeypatch.setattr(sel, "learned_candidates", spy)
    c = _random(4, 40, 7, "ibm")
    out, _ = optimize(c, level=3, basis="ibm", budget_expansions=20, seed=0)
    assert calls and max(calls) == 2
    assert same_unitary(c, out) and out.num_gates() <= c.num_gates()
    calls.clear()
    optimize(c, level=2, basis="ibm")
    assert calls == []
