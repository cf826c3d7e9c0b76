"""Modules and parameters: registration, names, state dicts, frozen parameters."""

import numpy as np
import pytest

import descent
from descent import nn


def test_module_accepts_ndarray_and_uses_the_parameters_dtype():
    layer = nn.Linear(2, 1)
    out = layer(np.ones((3, 2)))  # float64 input, float32 layer
    assert out.dtype == np.float32 and out.shape == (3, 1)


def test_parameters_names_and_children():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    assert len(list(net.parameters())) == 3
    assert len(list(net.children())) == 3 and len(net) == 3
    assert isinstance(net[1], nn.ReLU)
    assert "Linear(in_features=4, out_features=2, bias=False)" in repr(net)


def test_shared_parameter_is_listed_once():
    layer = nn.Linear(2, 2)
    net = nn.Sequential(layer, nn.Tanh(), layer)
    assert len(list(net.parameters())) == 2


def test_custom_module_registers_attributes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 3)
            self.scale = nn.Parameter([2.0])

        def forward(self, x):
            return self.hidden(x).tanh() * self.scale

    net = Net()
    assert sorted(n for n, _ in net.named_parameters()) == ["hidden.bias", "hidden.weight",
                                                            "scale"]
    net(np.ones((1, 2))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_module_without_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(descent.DescentTypeError, match="super"):
        Broken()


def test_state_dict_round_trip_and_checks():
    source = nn.MLP([3, 4, 2], rng=1)
    target = nn.MLP([3, 4, 2], rng=2)
    target.load_state_dict(source.state_dict())
    for a, b in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    state = source.state_dict()
    state["0.weight"][...] = 99  # a copy: the model is untouched
    assert not np.any(source[0].weight.data == 99)
    with pytest.raises(descent.ShapeError, match="missing.*0.bias"):
        target.load_state_dict({k: v for k, v in state.items() if k != "0.bias"})
    wrong = dict(state, **{"0.weight": np.zeros((4, 3))})
    with pytest.raises(descent.ShapeError, match="0.weight.*shape"):
        target.load_state_dict(wrong)


def test_frozen_parameter_gets_no_gradient_and_is_never_updated():
    net = nn.MLP([2, 3, 1], activation="tanh", rng=0)
    net[0].weight.requires_grad = False
    before = net[0].weight.data.copy()
    optimizer = descent.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        descent.losses.mse(net(np.ones((4, 2))), np.zeros((4, 1))).backward()
        optimizer.step()
    assert net[0].weight.grad is None
    np.testing.assert_array_equal(net[0].weight.data, before)
    assert nn.count_parameters(net, trainable_only=True) == nn.count_parameters(net) - 6
