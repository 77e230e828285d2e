"""The one decision of which measurements are terminal (qtandem.circuit.terminal)."""

from __future__ import annotations

import numpy as np
import pytest

import qtandem
from qtandem import Circuit
from qtandem.circuit.terminal import terminal_measurements
from qtandem.sim.core import run


def _c() -> Circuit:
    return Circuit(3, 3)


@pytest.mark.parametrize(("circuit", "indices", "pairs", "all_terminal"), [
    (_c().h(0).cx(0, 1).measure([0, 1], [0, 1]), {2, 3}, ((0, 0), (1, 1)), True),
    (_c().h(0).measure(0, 0).x(0), set(), (), False),                         # a gate after it on its qubit
    (_c().h(0).measure(0, 0).barrier().x(1), {1}, ((0, 0),), True),          # barriers and other qubits don't count
    (_c().measure(0, 0).measure(0, 1), {1}, ((0, 1),), False),               # measured again
    (_c().measure(0, 0).reset(0), set(), (), False),                          # reset afterwards
    (_c().measure(0, 0).append("x", (1,), condition=((0,), 1)), set(), (), False),  # may read the bit
    (_c().append("x", (1,), condition=((0,), 1)).measure(0, 0), {1}, ((0, 0),), True),
    (_c().append("measure", (0,), (), (0,), condition=((1,), 1)), set(), (), False),  # conditioned itself
    (_c().measure(0, 0).measure(1, 0), {0, 1}, ((0, 0), (1, 0)), True),      # one bit written twice: order kept
    (_c().h(0), set(), (), True),                                              # nothing measured
])
def test_terminal_measurements_exact(circuit, indices, pairs, all_terminal):
    m = terminal_measurements(circuit)
    assert (set(m.indices), m.pairs, m.all_terminal) == (indices, pairs, all_terminal)
    assert m.any_measure == any(inst.name == "measure" for inst in circuit)


def _conditioned(after: bool) -> Circuit:
    text = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    body = ["h q[0];", "measure q[0] -> c[0];", "if (c == 1) x q[1];", "measure q[1] -> c[1];"]
    if not after:
        body = [body[2], body[0], body[1], body[3]]
    return Circuit.from_qasm(text + "\n".join(body))


def test_a_classically_controlled_gate_after_a_measurement_makes_it_non_terminal():
    assert terminal_measurements(_conditioned(after=True)).pairs == ((1, 1),)
    before = terminal_measurements(_conditioned(after=False))
    assert before.pairs == ((0, 0), (1, 1)) and before.all_terminal


def test_terminal_measurements_sample_like_per_shot_simulation():
    # a bit written twice and a barrier after a measurement: sampling the final state once must
    # give the distribution of simulating shot by shot
    c = Circuit(3, 2).h(0).measure(0, 0).barrier().ry(0.7, 1).cx(1, 2).measure(1, 0).measure(2, 1)
    assert terminal_measurements(c).all_terminal
    shots = 4000
    once = qtandem.sample(c, shots=shots, seed=11).to_ints()
    _, bits = run(c, batch=shots, seed=12)
    per_shot = (bits.astype(np.int64) * [1, 2]).sum(axis=1)
    for value in range(4):
        assert abs(np.mean(once == value) - np.mean(per_shot == value)) < 0.035


def test_routing_lifts_terminal_measurements_and_keeps_their_order():
    from qtandem.compile.routing import route_and_verify

    # clbit 0 is written twice: both measurements are terminal, so they are put back in order
    c = Circuit(3, 2).h(0).cx(0, 2).measure(0, 0).barrier().measure(2, 0).measure(1, 1)
    out, _ = route_and_verify(c, "line_5", seed=0)  # raises if the routed circuit is not equivalent
    measured = [(inst.clbits, i) for i, inst in enumerate(out) if inst.name == "measure"]
    assert [clbits for clbits, _ in measured] == [(0,), (0,), (1,)]
    assert all(i >= len(out) - 3 for _, i in measured)  # at the end


@pytest.mark.parametrize(("circuit", "single_run"), [
    (_c().h(0).cx(0, 1).measure([0, 1], [0, 1]), True),
    (_c().h(0), True),
    (_c().h(0).measure(0, 0).x(0), False),                                   # a measurement that is not terminal
    (_c().reset(2).h(0).measure(0, 0), False),                               # a reset anywhere
    (_c().append("x", (1,), condition=((0,), 1)).measure(0, 0), False),      # classical control anywhere
])
def test_single_run_means_one_simulation_serves_every_shot(circuit, single_run):
    assert terminal_measurements(circuit).single_run is single_run
