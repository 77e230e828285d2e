"""calibrate's optimizer runs to its tolerances, not to a fixed iteration count (issue 15).

With a cap of 300 L-BFGS iterations a 35-parameter whole-device fit stopped with its NLL 7-50 above the optimum,
a residual that does not shrink with the shots: the readout p10 error then fell slower than 1/sqrt(shots)."""

from __future__ import annotations

import copy
import importlib
from types import SimpleNamespace

import pytest
import torch

from qtandem.device import Device
from qtandem.learn import characterization, simulator_executor

cal_mod = importlib.import_module("qtandem.learn.calibrate")


class _Rosenbrock:
    """A 100-dimensional Rosenbrock valley (minimum 0 at all ones): L-BFGS needs several hundred iterations."""

    total = 1.0

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def test_minimize_is_not_stopped_by_a_small_iteration_cap() -> None:
    x0 = torch.full((100,), -1.2, dtype=torch.float64)
    x0[1::2] = 1.0
    u, val = cal_mod._minimize(_Rosenbrock(), SimpleNamespace(phys=lambda u: u), x0)
    assert val < 1e-3  # with the old cap of 300 iterations: 38.0
    assert float((u - 1).abs().max()) < 0.02


def _published(dev: Device) -> Device:
    pub = copy.deepcopy(dev)
    for q in pub.qubits:
        q.detuning = q.sx_angle_error = q.x_angle_error = 0.0
    for e in pub.edges.values():
        e.angle_error = e.zz = 0.0
    pub.readout_correlations = {}
    return pub


@pytest.mark.slow
def test_whole_device_fit_is_at_its_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole-device plan at 4.2e6 shots per experiment (35 parameters): a second optimisation started at the
    returned fit finds no lower NLL (before the fix it found 6.8 lower on such data)."""
    true = Device.random(5, "line", seed=0)
    pub = _published(true)
    plan = characterization(list(range(5)), experiments=["readout", "t1", "ramsey", "echo", "amplify_sx"], seed=0,
                            prior=pub, readout="parallel")
    data = plan.run(simulator_executor(true, seed=10_000), plan.allocate(21_000_000), seed=0)
    seen: dict[str, object] = {}
    minimize = cal_mod._minimize

    def spy(obj, tr, u0, **kw):  # type: ignore[no-untyped-def]
        u, val = minimize(obj, tr, u0, **kw)
        seen.update(obj=obj, tr=tr, u=u, val=val)
        return u, val

    monkeypatch.setattr(cal_mod, "_minimize", spy)
    cal = cal_mod.calibrate(data, prior=pub, seed=0, restarts=1)
    _, again = minimize(seen["obj"], seen["tr"], seen["u"])  # type: ignore[arg-type]
    assert float(seen["val"]) - again < 0.5  # type: ignore[arg-type]
    for i, q in enumerate(true.qubits):  # p10 within 4 standard errors plus the x pulse's own error (not fitted)
        bias = float(torch.sin(torch.tensor(q.x_angle_error / 2)) ** 2)
        assert abs(cal.values[f"q{i}.readout_p10"] - q.readout_p10 - bias) < 4 * cal.stderr[f"q{i}.readout_p10"]
