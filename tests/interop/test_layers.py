"""The layer list that leaves descent: nested networks opened, anything else refused."""

import pytest

from descent import nn
from descent.errors import DescentTypeError
from descent.interop.layers import flat_layers


def test_nested_networks_are_opened_with_dotted_positions():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Tanh(), nn.Dropout(0.1)),
                        nn.Linear(3, 1))
    assert [(p, type(m).__name__) for p, m in flat_layers(net, "x")] == [
        ("0", "Linear"), ("1.0", "Tanh"), ("1.1", "Dropout"), ("2", "Linear")]
    assert [p for p, _ in flat_layers(nn.Softmax(), "x")] == ["0"]


class Doubled(nn.ReLU):
    """A subclass may compute anything: it is not taken for the layer it extends."""

    def forward(self, x):
        return super().forward(x) * 2


@pytest.mark.parametrize("model, message", [
    (nn.Sequential(nn.Linear(2, 2), Doubled()), r"^layer 1 is a Doubled, which the test "
                                                r"does not take; it takes Sequential "),
    (nn.Sequential(), "empty Sequential"),
    ("model.descent", "expected a descent model .*, got str"),
])
def test_anything_else_is_refused_by_name(model, message):
    with pytest.raises(DescentTypeError, match=message):
        flat_layers(model, "the test")
