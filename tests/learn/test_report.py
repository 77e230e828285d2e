"""Calibration.report: one figure per experiment (rounds pooled), the parameter table, the verdict."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from qtandem import Circuit
from qtandem.errors import DataError
from qtandem.learn.check import ModelCheck
from qtandem.learn.report import experiment_series, parameter_rows, write_report


def _exp(name, qubits, xs, meta=None):
    k = len(qubits)
    return SimpleNamespace(name=name, qubits=tuple(qubits), xs=list(xs), meta=meta or {},
                           circuits=[Circuit(2, k).measure(list(qubits), list(range(k))) for _ in xs])


def test_series_pool_rounds_and_split_partner_states():
    zz = _exp("zz", (0, 1), [0.0, 100.0, 0.0, 100.0], {"partner_state": [0, 0, 1, 1]})
    again = _exp("zz", (0, 1), [100.0], {"partner_state": [1]})
    counts = [{"00": 100}, {"01": 50, "00": 50}, {"10": 100}, {"11": 100}, {"11": 60, "10": 40}]
    probs = [torch.tensor([1.0, 0, 0, 0]), torch.tensor([0.5, 0.5, 0, 0]), torch.tensor([0, 0, 1.0, 0]),
             torch.tensor([0, 0, 0, 1.0]), torch.tensor([0, 0, 0.5, 0.5])]
    series = experiment_series([zz, again], counts, probs)
    q0_b1 = series["P(q0 = 1), partner |1>"]
    assert q0_b1["x"] == [0.0, 100.0] and q0_b1["shots"] == [100.0, 200.0]
    assert q0_b1["p"] == [0.0, 0.8] and q0_b1["model"] == [0.0, 0.75]
    assert q0_b1["err"][1] == pytest.approx(math.sqrt(0.8 * 0.2 / 200))
    assert q0_b1["err"][0] == pytest.approx(0.01)  # p = 0: the floor 1/N, not a zero-width bar
    assert series["P(q1 = 1), partner |1>"]["p"] == [1.0, 1.0]


def test_rb_series_is_the_survival_probability():
    rb = _exp("irb", (0, 1), [1.0, 1.0], {"interleaved": [False, True]})
    series = experiment_series([rb], [{"00": 90, "01": 10}, {"00": 70, "11": 30}],
                               [torch.tensor([0.9, 0.1, 0, 0]), torch.tensor([0.7, 0, 0, 0.3])])
    assert series["P(all 0), reference"]["p"] == [0.9]
    assert series["P(all 0), interleaved cx"]["p"] == [0.7]


def test_parameter_rows_units_and_uninformed():
    rows = parameter_rows({"q0.t2": 5e4, "q0.sx_angle_error": -0.012, "e0-1.zz": 2 * math.pi * 40e-6},
                          {"q0.t2": math.inf, "q0.sx_angle_error": 0.001}, {"q0.sx_angle_error": 0.0012})
    assert rows[0][:3] == ["q0.t2", "50 us", "not informed"]
    assert rows[1][:4] == ["q0.sx_angle_error", "-12 mrad", "+- 1 mrad", "+- 1.2 mrad"]
    assert rows[2][1] == "40 kHz (2 pi)" and rows[2][2] == ""


def _fake_calibration(data):
    def predict(circuits):
        return [torch.tensor([0.6, 0.4], dtype=torch.float64) for _ in circuits]
    return SimpleNamespace(values={"q0.t1": 8e4, "q0.readout_p01": 0.02}, stderr={"q0.t1": 4e3},
                           bootstrap_stderr=None, uninformed=["q0.readout_p01"], nll=12.0, model="full",
                           data=data, predict=predict)


def test_write_report_files_table_and_verdict(tmp_path):
    t1 = _exp("t1", (0,), [0.0, 1e4, 5e4])
    readout = _exp("readout", (0,), [0, 1])
    data = SimpleNamespace(plan=SimpleNamespace(experiments=[readout, t1]), device_name="hidden",
                           counts=[{"0": 60, "1": 40}] * 5, shots=[100] * 5)
    bad = ModelCheck(deviance=80.0, dof=3, p_value=1e-16, alpha=0.01)
    page = write_report(_fake_calibration(data), tmp_path / "rep", check=bad)
    assert sorted(p.name for p in page.parent.iterdir()) == ["fit_readout_q0.png", "fit_t1_q0.png",
                                                             "parameters.csv", "report.html"]
    html = page.read_text()
    assert "Calibration of hidden" in html and "80 us" in html and "+- 4 us" in html
    assert 'class="bad"' in html and "DOES NOT EXPLAIN" in html
    assert "Not informed by the data" in html
    csv = (page.parent / "parameters.csv").read_text().splitlines()
    assert csv[0] == "parameter,value,stderr,bootstrap_stderr" and csv[1].startswith("q0.t1,80000.0,4000.0")


def test_report_of_a_calibration_without_data_is_refused(tmp_path):
    with pytest.raises(DataError, match="no shot data"):
        write_report(_fake_calibration(None), tmp_path)


def test_ramsey_quadratures_are_separate_series():
    ramsey = _exp("ramsey", (0,), [0.0, 50.0, 100.0, 150.0], {"phase_offset": [0.0, math.pi / 2, 0.0, math.pi / 2]})
    series = experiment_series([ramsey], [{"0": 10}] * 4, [torch.tensor([1.0, 0.0])] * 4)
    assert sorted(series) == ["P(q0 = 1), phase 0 pi", "P(q0 = 1), phase 0.5 pi"]
    assert series["P(q0 = 1), phase 0.5 pi"]["x"] == [50.0, 150.0]
