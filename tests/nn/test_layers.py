"""Linear, MLP and Dropout layers."""

import numpy as np
import pytest
import torch

import descent
from descent import nn


def test_linear_matches_torch_linear():
    layer = nn.Linear(4, 3, dtype="float64", rng=0)
    reference = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.data.T))
        reference.bias.copy_(torch.tensor(np.array([0.1, -0.2, 0.3])))
    layer.bias.data[...] = [0.1, -0.2, 0.3]
    x = np.random.default_rng(1).normal(size=(5, 4))
    ours = layer(x)
    theirs = reference(torch.tensor(x))
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=1e-12)


def test_mlp_builder_layers_and_per_layer_activations():
    net = nn.MLP([4, 8, 6, 3], activation=["relu", "tanh"], output="softmax", dropout=0.2)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Tanh", "Dropout", "Linear",
                     "Softmax"]
    with pytest.raises(descent.DescentValueError, match="2 hidden layers"):
        nn.MLP([4, 8, 6, 3], activation=["relu"])
    with pytest.raises(descent.DescentValueError, match="unknown activation 'sigmod'.*sigmoid"):
        nn.MLP([2, 2, 1], activation="sigmod")
    with pytest.raises(descent.DescentValueError, match="at least"):
        nn.MLP([3])
    with pytest.raises(descent.DescentValueError, match="positive integer"):
        nn.Linear(0, 3)


def test_dropout_is_inverted_and_off_in_eval_mode():
    drop = nn.Dropout(0.3, rng=0)
    x = np.ones((200, 500))
    out = drop(x).data
    zero_fraction = np.mean(out == 0)
    assert abs(zero_fraction - 0.3) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / 0.7, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.01  # expectation preserved
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
    assert not net[1].training
    with pytest.raises(descent.DescentValueError, match="p must be in"):
        nn.Dropout(1.0)


def test_dropout_gradient_follows_the_mask():
    x = descent.tensor(np.ones((4, 5)), requires_grad=True)
    out = nn.Dropout(0.5, rng=3)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # 2 where kept, 0 where dropped


def test_float64_network():
    net = nn.MLP([2, 3, 1], dtype="float64")
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net(np.ones((1, 2))).dtype == np.float64


def test_dropout_with_an_int_seed_draws_fresh_masks_and_repeats_from_the_seed():
    first, second = nn.Dropout(0.5, rng=0), nn.Dropout(0.5, rng=0)
    a, b = first(np.ones(64)).data, first(np.ones(64)).data
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(second(np.ones(64)).data, a)
