"""qtandem.mitigate core: observables, the unmitigated estimator, shot accounting, executors, execute()."""

from __future__ import annotations

import numpy as np
import pytest

from qtandem import Circuit, PauliSum, distribution, expval
from qtandem.device import Device
from qtandem.errors import ArgumentTypeError, ObservableError, SimulationError
from qtandem.mitigate import (
    Context,
    Estimate,
    Method,
    ShotCounter,
    base_estimator,
    execute,
    parse_observable,
    simulator_executor,
    split_shots,
)
from qtandem.noise import NoiseModel, depolarizing, readout_error


def noisy_model() -> NoiseModel:
    """Noise on x and cx only: the basis changes (rz, sx) stay ideal, so the exact noisy expectation
    value of the prepared state is the target of every basis."""
    return (NoiseModel().add(depolarizing(0.05, 1), gates=["x"])
            .add(depolarizing(0.08, 2), gates=["cx"]).set_ideal(["h", "rz", "sx"]))


def bell() -> Circuit:
    return Circuit(2).h(0).cx(0, 1).rz(0.3, 1).x(0)


# -- observables -------------------------------------------------------------------------------

def test_parse_pauli_groups_and_constant():
    obs = parse_observable("0.5*X0 X1 + Z0 Z1 - 0.25*Y0 + 3", 2)
    assert obs.kind == "pauli" and obs.constant == 3.0
    assert sorted(len(g) for g in obs.groups) == [1, 1, 1]
    assert obs.bound == pytest.approx(4.75)
    assert parse_observable(PauliSum.from_string("Z1"), 3).pauli == PauliSum.from_string("Z1")


@pytest.mark.parametrize(("text", "message"), [
    ("Z3", "acts on qubit 3 but the circuit has 2 qubits"),
    ("Q0", "cannot read the observable"),
    ("1j*Z0", "not Hermitian"),
    ("P(012)", "cannot read"),
    ("P(0)", "has 1 bits but the circuit has 2 qubits"),
    ("P01", "a probability is written P(0101...)"),
])
def test_parse_rejects_bad_observables(text, message):
    with pytest.raises(ObservableError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_observable(text, 2)


def test_parse_rejects_other_types():
    with pytest.raises(ObservableError, match="got int"):
        parse_observable(3, 2)  # type: ignore[arg-type]


def test_probability_bit_order_qubit0_rightmost():
    circuit = Circuit(3).x(0)  # qubit 0 reads 1
    obs = parse_observable("P(001)", 3)
    assert obs.exact(circuit) == pytest.approx(1.0)
    run = simulator_executor(NoiseModel(), seed=0)
    est = base_estimator(Context.create(obs, 3, run))([circuit], [100], 1)[0]
    assert est.value == 1.0 and est.shots == 100


# -- the unmitigated estimator: unbiased, calibrated stderr ---------------------------------------

def test_base_estimator_unbiased_and_stderr_calibrated():
    """z = (estimate - exact) / stderr over 300 seeds: mean ~ 0, std ~ 1 (exact from the density matrix)."""
    noise = noisy_model()
    obs = "X0 X1 + Z0 Z1 + 0.3*Y0 - 0.2*Z1"
    exact = float(expval(bell(), PauliSum.from_string(obs), noise=noise).real)
    run = simulator_executor(noise, seed=0)
    ctx = Context.create(obs, 2, run)
    est = base_estimator(ctx)
    results = est([bell()] * 300, [3000] * 300, 7)
    values = np.array([r.value for r in results])
    errs = np.array([r.stderr for r in results])
    z = (values - exact) / errs
    assert abs(values.mean() - exact) < 4 * errs.mean() / np.sqrt(len(values))
    assert 0.85 < z.std() < 1.15
    assert all(r.shots == 3000 for r in results) and run.simulations == 3  # three bases, each simulated once
    assert ctx.executor.shots == 300 * 3000


def test_probability_estimate_matches_independent_numpy_sampling():
    """P(b) under a fake executor drawing from a known distribution: mean over seeds within error bars."""
    p = np.array([0.1, 0.2, 0.3, 0.4])  # outcomes 00, 01, 10, 11 (qubit 0 rightmost)
    keys = ["00", "01", "10", "11"]

    def fake(circuits, shots, *, seed=None):
        rng = np.random.default_rng(seed)
        return [dict(zip(keys, map(int, rng.multinomial(shots, p)), strict=True)) for _ in circuits]

    est = base_estimator(Context.create("P(10)", 2, fake))
    results = est([Circuit(2)] * 400, [500] * 400, 3)
    values = np.array([r.value for r in results])
    assert abs(values.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 500 / 400)
    assert np.mean([r.stderr for r in results]) == pytest.approx(np.sqrt(0.21 / 500), rel=0.05)


def test_shots_split_across_bases_and_batched():
    calls = []

    def fake(circuits, shots):
        calls.append((len(circuits), shots))
        return [{"0" * c.n_clbits: shots} for c in circuits]

    ctx = Context.create("3*Z0 + X0", 1, fake)
    out = base_estimator(ctx)([Circuit(1), Circuit(1)], [100, 100], 0)
    assert sorted(calls) == [(2, 25), (2, 75)]  # proportional to |coefficients| (3:1)
    assert [e.shots for e in out] == [100, 100] and ctx.executor.shots == 200
    assert split_shots(7, [1, 0, 0]) == [5, 1, 1]
    with pytest.raises(SimulationError, match="cannot be split"):
        base_estimator(ctx)([Circuit(1)], [1], 0)


def test_constant_observable_costs_nothing():
    ctx = Context.create("2.5", 1, lambda circuits, shots: pytest.fail("no run expected"))
    assert base_estimator(ctx)([Circuit(1)], [10], 0) == [Estimate(2.5, 0.0, 0, {"bases": 0})]


# -- bad executors and arguments -------------------------------------------------------------------

@pytest.mark.parametrize(("executor", "error", "message"), [
    (lambda circuits, shots: [], SimulationError, "returned 0 counts for 1 circuits"),
    (lambda circuits, shots: [0.5 for _ in circuits], ArgumentTypeError, "expectation values is not supported"),
    (lambda circuits, shots: {"0": shots}, ArgumentTypeError, "expected a list"),
    (lambda circuits, shots: [{"00": shots} for _ in circuits], SimulationError, "of width 2"),
    (lambda circuits, shots: [{"0": shots - 1} for _ in circuits], SimulationError, "sum to 99"),
    (lambda circuits, shots: [{"2": shots} for _ in circuits], SimulationError, "0/1"),
    (lambda circuits, shots: [{"0": -1, "1": shots + 1} for _ in circuits], SimulationError, "non-negative"),
    (lambda circuits, shots: [{"0": float(shots)} for _ in circuits], SimulationError, "non-negative integers"),
])
def test_bad_executors_refused_clearly(executor, error, message):
    with pytest.raises(error, match=message):
        execute(Circuit(1), "Z0", executor, methods=[], shots=100, seed=0)


def test_bad_shots_and_arguments():
    ok = ShotCounter(lambda circuits, shots: [{"0": shots} for _ in circuits])
    with pytest.raises(SimulationError, match="positive integer"):
        ok([Circuit(1, 1)], -5)
    with pytest.raises(SimulationError, match="non-negative integer"):
        base_estimator(Context.create("Z0", 1, ok))([Circuit(1)], [-3], 0)
    with pytest.raises(SimulationError, match="positive integer"):
        execute(Circuit(1), "Z0", ok, methods=[], shots=0)
    with pytest.raises(ArgumentTypeError, match="callable"):
        execute(Circuit(1), "Z0", "aer", methods=[])  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="qtandem Circuit"):
        execute("OPENQASM 2.0;", "Z0", ok, methods=[])  # type: ignore[arg-type]
    from qtandem.mitigate.readout import readout

    with pytest.raises(ArgumentTypeError, match=r"call the factory"):
        execute(Circuit(1), "Z0", ok, methods=[readout])
    with pytest.raises(ObservableError, match="qubit 4"):
        execute(Circuit(2), "Z4", ok, methods=[])


# -- execute() -----------------------------------------------------------------------------------------

class Doubler:
    """A toy method: twice the inner value, at twice the shots' cost split in two halves (for the contract)."""

    name = "doubler"

    def wrap(self, estimator, context):
        def run(circuits, shots, seed):
            inner = estimator(list(circuits) * 2, [s // 2 for s in shots] * 2, seed)
            n = len(circuits)
            return [Estimate(inner[i].value + inner[i + n].value, float(np.hypot(inner[i].stderr, inner[i + n].stderr)),
                             inner[i].shots + inner[i + n].shots, {"inner": [inner[i].details], "refused": None})
                    for i in range(n)]
        return run


def test_execute_composes_and_counts_shots():
    run = simulator_executor(NoiseModel().add_readout(readout_error(0.1, 0.1)), seed=0)
    assert isinstance(Doubler(), Method)
    res = execute(Circuit(1), "Z0", run, methods=[Doubler()], shots=10_000, seed=1)
    assert res.methods == ["doubler"] and res.shots_used == 10_000 and res.one_off_shots == 0
    assert res.value == pytest.approx(1.6, abs=0.05) and res.raw == pytest.approx(0.8, abs=0.03)
    assert res.refused is None and res.details["observable"] == "Z0"
    again = execute(Circuit(1), "Z0", run, methods=[Doubler()], shots=10_000, seed=1)
    assert again.value == res.value  # seeded


def test_execute_reports_refusal():
    class Refuser:
        name = "refuser"

        def wrap(self, estimator, context):
            def run(circuits, shots, seed):
                return [Estimate(e.value, e.stderr, e.shots, {"refused": "out of distribution"})
                        for e in estimator(circuits, shots, seed)]
            return run

    res = execute(Circuit(1), "Z0", simulator_executor(NoiseModel(), seed=0), methods=[Refuser()], shots=100, seed=0)
    assert res.refused == "out of distribution"


def test_execute_auto_falls_back_or_uses_auto():
    run = simulator_executor(NoiseModel().add_readout(readout_error(0.05, 0.05)), seed=0)
    res = execute(Circuit(2).x(0), "Z0", run, shots=20_000, seed=3)
    assert "readout" in res.methods and "auto" in res.details


# -- the cached simulator executor ------------------------------------------------------------------------

def test_cached_executor_matches_exact_distribution_and_is_seeded():
    noise = noisy_model().add_readout(readout_error(0.02, 0.05))
    circuit = Circuit(2, 2).compose(bell()).measure([0, 1], [0, 1])
    exact = distribution(circuit, noise=noise)
    run = simulator_executor(noise, seed=5)
    counts = run([circuit], 200_000, seed=9)[0]
    for key, p in exact.items():
        assert counts.get(key, 0) / 200_000 == pytest.approx(p, abs=5 * np.sqrt(p * (1 - p) / 200_000) + 1e-9)
    assert run([circuit], 100, seed=1) == run([circuit], 100, seed=1) != run([circuit], 100, seed=2)
    uncached = simulator_executor(noise, seed=5, cache=False)
    assert sum(uncached([circuit], 50)[0].values()) == 50 and uncached.simulations == 0


def test_cached_executor_on_device_cuts_to_touched_qubits():
    device = Device.preset("heavy_hex_27")
    run = simulator_executor(device, seed=0)
    counts = run([Circuit(27, 2).x(5).measure([5, 8], [0, 1])], 1000)[0]
    assert counts.get("01", 0) > 900 and run.simulations == 1
    with pytest.raises(ArgumentTypeError, match="Device, a NoiseModel or a Calibration"):
        simulator_executor("heavy_hex_27")


# -- expectation-value executors (Mitiq style) --------------------------------------------------------------

def test_expectation_executor_plugs_in_and_is_checked():
    from qtandem.mitigate import expectation_executor, readout

    seen = []

    def mitiq_style(circuits, shots):
        seen.extend(c.count_ops() for c in circuits)
        return [float(expval(c, PauliSum.from_string("Z0")).real) for c in circuits]

    run = expectation_executor(mitiq_style)
    res = execute(Circuit(1).rx(0.4, 0), "Z0", run, methods=[Doubler()], shots=1000, seed=0)
    assert res.value == pytest.approx(2 * np.cos(0.4)) and res.shots_used == 1000
    assert res.details["inner"][0]["stderr"] == "bound" and seen[0] == {"rx": 1}  # handed over as given
    with pytest.raises(ArgumentTypeError, match="readout mitigation needs counts|counts are needed"):
        execute(Circuit(1), "Z0", run, methods=[readout()], shots=100)
    for bad, error, message in [
        (lambda circuits, shots: [1.0, 2.0], SimulationError, "returned 2 values for 1 circuits"),
        (lambda circuits, shots: ["1.0"], ArgumentTypeError, "expected a number"),
        (lambda circuits, shots: [float("nan")], SimulationError, "finite"),
        (lambda circuits, shots: [(0.5, -1.0)], SimulationError, "stderr >= 0"),
        (lambda circuits, shots: 0.5, ArgumentTypeError, "expected a list of expectation values"),
    ]:
        with pytest.raises(error, match=message):
            execute(Circuit(1), "Z0", expectation_executor(bad), methods=[], shots=10)
