"""What the page draws: the grid, the output heatmap, the unit maps, the confusion
matrix."""

import base64

import numpy as np

from descent.nn.inspect import class_probabilities, predict
from descent.playground.features import feature_matrix
from descent.playground.network import Output, build
from descent.playground.views import (OUTPUT_GRID, UNIT_GRID, confusion, grid, output_map,
                                      unit_maps, weights)


def _bytes(text):
    return np.frombuffer(base64.b64decode(text), np.uint8)


def test_the_grid_runs_left_to_right_and_top_down():
    points = grid((-1, 1, -2, 2), 3)
    assert points[:3].tolist() == [[-1, 2], [0, 2], [1, 2]]
    assert points[-1].tolist() == [1, -2]


def test_the_output_heatmap_is_the_networks_own_prediction():
    net = build(3, [4], ["tanh"], [0.0], Output(3, "softmax", "multiclass"), seed=1)
    features = ["x1", "x2", "x1*x2"]
    shown = output_map(net, features, (-6, 6, -6, 6), True, (-1, 1))
    inputs = feature_matrix(grid((-6, 6, -6, 6), OUTPUT_GRID), features)
    probabilities = class_probabilities(net, inputs)
    assert np.array_equal(_bytes(shown["classes"]), probabilities.argmax(axis=1))
    sure = (probabilities.max(axis=1) - 1 / 3) / (2 / 3)
    assert np.abs(_bytes(shown["confidence"]) - sure * 255).max() <= 0.5 + 1e-6


def test_a_regression_heatmap_spans_the_targets():
    net = build(2, [], [], [], Output(1, "identity", "regression"), seed=0)
    net[0].weight.data[...] = [[0.1], [0.0]]
    shown = output_map(net, ["x1", "x2"], (-6, 6, -6, 6), False, (-0.6, 0.6))
    values = _bytes(shown["values"]).reshape(OUTPUT_GRID, OUTPUT_GRID)
    assert values[0, 0] == 0 and values[0, -1] == 255 and values[50, 50] in (127, 128, 129)
    raw = predict(net, feature_matrix(grid((-6, 6, -6, 6), OUTPUT_GRID), ["x1", "x2"]))
    assert raw.shape == (OUTPUT_GRID ** 2, 1)


def test_every_unit_has_its_map():
    net = build(2, [3, 2], ["relu", "sigmoid"], [0.5, 0.0], Output(1, "sigmoid", "binary"), 0)
    maps = _bytes(unit_maps(net, ["x1", "x2"], (-6, 6, -6, 6))["maps"])
    assert maps.size == (2 + 3 + 2 + 1) * UNIT_GRID ** 2
    x1 = maps[:UNIT_GRID ** 2].reshape(UNIT_GRID, UNIT_GRID)
    assert x1[0, 0] == 0 and x1[0, -1] == 255  # x1 from -6 (left) to 6 (right)
    sigmoid_output = maps[-UNIT_GRID ** 2:]
    assert sigmoid_output.min() >= 128  # σ > 0: never orange


def test_weights_and_the_confusion_matrix():
    net = build(2, [2], ["tanh"], [0.0], Output(2, "softmax", "multiclass"), seed=0)
    matrices, biases = weights(net)
    assert np.shape(matrices[0]) == (2, 2) and biases[1] == [0.0, 0.0]
    X = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    counts = confusion(net, X, np.zeros(20, dtype=int), 2)
    assert np.sum(counts) == 20 and counts[1] == [0, 0]
    assert confusion(net, X[:0], np.zeros(0, dtype=int), 2) is None
