"""Weight initialisers."""

import numpy as np
import pytest

import descent
from descent import nn


@pytest.mark.parametrize("name, mean, std", [
    ("xavier_normal", 0.0, np.sqrt(2 / (300 + 200))),
    ("xavier_uniform", 0.0, np.sqrt(6 / (300 + 200)) / np.sqrt(3)),
    ("he_normal", 0.0, np.sqrt(2 / 300)),
    ("he_uniform", 0.0, np.sqrt(6 / 300) / np.sqrt(3)),
    ("normal", 0.0, 1.0),
    ("uniform", 0.0, 2 / np.sqrt(12)),
])
def test_initialiser_statistics(name, mean, std):
    w = nn.init.get(name)((300, 200), np.random.default_rng(0))
    assert abs(w.mean() - mean) < 0.02 * max(std, 0.1)
    assert w.std() == pytest.approx(std, rel=0.02)


def test_constant_and_zero_initialisers_and_biases_start_at_zero():
    np.testing.assert_array_equal(nn.init.constant(0.5)((2, 2)), np.full((2, 2), 0.5))
    layer = nn.Linear(3, 2, init="zeros")
    assert not layer.weight.data.any() and not layer.bias.data.any()
    with pytest.raises(descent.DescentValueError, match="he_normal"):
        nn.Linear(3, 2, init="hee")


def test_same_seed_same_weights_bit_for_bit():
    descent.manual_seed(42)
    first = nn.MLP([5, 7, 3]).state_dict()
    descent.manual_seed(42)
    second = nn.MLP([5, 7, 3]).state_dict()
    third = nn.MLP([5, 7, 3], rng=np.random.default_rng(42)).state_dict()
    fourth = nn.MLP([5, 7, 3], rng=42).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
        np.testing.assert_array_equal(third[key], fourth[key])


def test_default_init_follows_the_activation():
    relu_net = nn.MLP([400, 300, 1], activation="relu", rng=0)
    tanh_net = nn.MLP([400, 300, 1], activation="tanh", rng=0)
    assert relu_net[0].weight.data.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert tanh_net[0].weight.data.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)
