"""The page's networks, their output layers, and the copy explain traces."""

import numpy as np
import pytest

from descent.nn.activations import ELU, LeakyReLU
from descent.nn.inspect import predict
from descent.nn.layers import Dropout, Linear, Sequential
from descent.playground.network import Output, build, linear_names, output_for, without_dropout


@pytest.mark.parametrize("problem, loss, classes, output", [
    ("classification", "cross_entropy", 2, Output(2, "softmax", "multiclass")),
    ("classification", "cross_entropy", 5, Output(5, "softmax", "multiclass")),
    ("classification", "mse", 2, Output(1, "sigmoid", "binary")),
    ("classification", "sse", 3, Output(3, "softmax", "multiclass")),
    ("classification", "binary_cross_entropy", 2, Output(1, "sigmoid", "binary")),
    ("regression", "mae", None, Output(1, "identity", "regression")),
])
def test_the_output_layer_follows_the_problem_and_the_loss(problem, loss, classes, output):
    assert output_for(problem, loss, classes) == output


def test_build_lays_out_the_layers_and_is_reproducible():
    output = Output(3, "softmax", "multiclass")
    net = build(4, [5, 2], ["relu", "identity"], [0.2, 0.0], output, seed=7)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Identity", "Linear", "Softmax"]
    assert linear_names(net) == ["0", "3", "5"]
    again = build(4, [5, 2], ["relu", "identity"], [0.2, 0.0], output, seed=7)
    assert np.array_equal(net[0].weight.data, again[0].weight.data)
    assert net[0].weight.dtype == np.float32
    plain = build(2, [], [], [], Output(1, "identity", "regression"), seed=0)
    assert [type(m) for m in plain] == [Linear]


def test_the_copy_without_dropout_computes_as_the_network_in_evaluation_mode():
    net = Sequential(Linear(2, 3), LeakyReLU(0.2), Dropout(0.5), Linear(3, 2), ELU(0.5))
    copy = without_dropout(net)
    assert not any(isinstance(m, Dropout) for m in copy)
    assert copy[1].negative_slope == 0.2 and copy[3].alpha == 0.5
    X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    assert np.array_equal(predict(net, X), predict(copy, X))
    copy[0].weight.data[0, 0] += 1  # a copy: the page's network keeps its weights
    assert not np.array_equal(predict(net, X), predict(copy, X))
