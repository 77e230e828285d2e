"""The two samplers refuse each other's circuits with a pointer to the right one."""

import pytest

import qtandem
from qtandem.errors import ArgumentTypeError
from qtandem.qec import sample as qec_sample
from qtandem.qec.codes import repetition_code


def test_qtandem_sample_points_stim_circuits_to_qec_sample():
    with pytest.raises(ArgumentTypeError, match=r"Stim circuit; qtandem\.qec\.sample"):
        qtandem.sample(repetition_code(3, 2, p=0.01), shots=10, seed=0)


def test_qec_sample_points_qtandem_circuits_to_qtandem_sample():
    with pytest.raises(ArgumentTypeError, match=r"got Circuit; .*qtandem\.sample\(circuit, shots\)"):
        qec_sample(qtandem.Circuit(2).h(0), 10, seed=0)


def test_both_samplers_are_seeded():
    c = repetition_code(3, 2, p=0.05)
    a, b = qec_sample(c, 200, seed=3), qec_sample(c, 200, seed=3)
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    bell = qtandem.Circuit(2).h(0).cx(0, 1)
    assert qtandem.sample(bell, 100, seed=3).counts == qtandem.sample(bell, 100, seed=3).counts
