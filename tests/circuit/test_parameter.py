import math

import pytest

from qtandem import Parameter, ParameterExpression
from qtandem.circuit.parameter import format_angle
from qtandem.errors import ParameterError


def test_linear_arithmetic_and_binding():
    t, p = Parameter("t"), Parameter("p")
    e = 3 * t - (p / 2) + 1 - t
    assert isinstance(e, ParameterExpression)
    assert e.terms == {t: 2.0, p: -0.5}
    assert e.const == 1.0
    assert e.bind({"t": 1.0, "p": 4.0}) == 1.0
    assert (t - t) == 0.0
    assert float(t.bind({"t": 2.5})) == 2.5


def test_names_identify_parameters():
    assert Parameter("w[3]") == Parameter("w[3]")
    assert len({Parameter("a"), Parameter("a")}) == 1
    with pytest.raises(ParameterError, match="invalid parameter name"):
        Parameter("3x")


def test_unbound_float_conversion_fails_clearly():
    with pytest.raises(ParameterError, match="unbound"):
        float(Parameter("x") + 1)
    with pytest.raises(ParameterError, match="unbound parameter"):
        (Parameter("x") + 1).bind({}, strict=True)


def test_division_by_zero_and_nonlinear():
    with pytest.raises(ParameterError, match="by zero"):
        Parameter("x") / 0
    with pytest.raises(ParameterError, match="only linear"):
        Parameter("x") / Parameter("y")


@pytest.mark.parametrize("value", [math.pi, -math.pi / 2, 3 * math.pi / 4, 0.1, 1e-17, 2.0, -7.25])
def test_format_angle_round_trips_exactly(value):
    text = format_angle(value)
    assert eval(text, {"pi": math.pi}) == value
