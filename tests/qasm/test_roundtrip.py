import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import random_circuit

from qtandem import Circuit, Parameter
from qtandem.circuit.gates import GATES
from qtandem.qasm import dumps, loads
from qtandem.sim.reference import reference_unitary

QASM2_OK = sorted(g for g, s in GATES.items() if g not in ("unitary",))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), version=st.sampled_from([2, 3]))
def test_random_circuits_round_trip(seed, version):
    c = random_circuit(5, 25, seed=seed, gates=QASM2_OK, modifiers=version == 3)
    c = Circuit(5, 2).compose(c).measure([0, 3], [1, 0]).barrier().reset(2)
    text = dumps(c, version=version)
    assert loads(text) == c, text


def test_angles_are_exact():
    angles = [math.pi / 7, 1e-17, 123456.789, -2.5, math.pi * 3 / 4, 0.1 + 0.2]
    c = Circuit(1)
    for a in angles:
        c.rz(a, 0)
    for version in (2, 3):
        assert [i.params[0] for i in loads(dumps(c, version))] == angles


def test_parameters_round_trip_in_v3():
    a, w = Parameter("alpha"), [Parameter(f"w[{i}]") for i in range(3)]
    c = Circuit(2).rx(2 * a - 0.5, 0).ry(w[2] / 3 + math.pi, 1).crz(w[0], 0, 1)
    assert loads(dumps(c, version=3)) == c


def test_definitions_written_for_qasm2_keep_the_unitary():
    c = Circuit(3).iswap(0, 1).ryy(0.7, 1, 2).append("ccz", [0, 1, 2])
    again = loads(dumps(c, version=2))
    assert again.count_ops() == {"iswap": 1, "ryy": 1, "ccz": 1}
    np.testing.assert_allclose(reference_unitary(again), reference_unitary(c), atol=1e-10)
