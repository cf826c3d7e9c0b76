"""Seeds 003/004: vanishing gradients in deep sigmoid networks; seed 001: dying ReLUs."""

import numpy as np
import pytest

import descent
from descent import nn


def _deep(activation):
    return nn.MLP([10] + [32] * 10 + [1], activation=activation, rng=0)


def test_vanishing_gradient_in_deep_sigmoid_network_not_relu():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 10)), rng.normal(size=(64, 1))
    sigmoid = descent.diagnostics.gradient_flow(_deep("sigmoid"), X, y)
    relu = descent.diagnostics.gradient_flow(_deep("relu"), X, y)
    assert len(sigmoid.norms) == 11
    # σ' ≤ ¼ per layer: the first layer's gradient is orders of magnitude below the last's
    assert sigmoid.ratio < 1e-4
    assert relu.ratio > 1e-2
    assert relu.ratio / sigmoid.ratio > 1e3
    assert "first / last" in str(sigmoid)


def test_dead_relu_units_are_reported():
    model = nn.MLP([3, 4, 2], activation="relu", rng=0)
    model[0].bias.data[:2] = -100.0   # two units can never fire on these inputs
    model[0].bias.data[2:] = 100.0
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, 3))
    dead = descent.diagnostics.dead_units(model, X)
    assert dead == {1: 0.5} and list(dead) == [1]


def test_dead_units_are_keyed_by_hidden_layer_number():
    # Sequential: 0 Linear, 1 ReLU, 2 Linear, 3 ReLU, 4 Linear; hidden layers 1 and 2
    model = nn.MLP([3, 4, 8, 2], activation="relu", rng=0)
    model[0].bias.data[:] = 2.0      # every unit of hidden layer 1 fires
    model[2].bias.data[:6] = -100.0  # 6 of the 8 units of hidden layer 2 never do
    model[2].bias.data[6:] = 100.0
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, 3))
    dead = descent.diagnostics.dead_units(model, X)
    assert dead == {1: 0.0, 2: 0.75} and list(dead) == [1, 2]
    assert str(dead).splitlines() == ["hidden layer  dead ReLU units",
                                      "1             0.0%", "2             75.0%"]
    assert dead._repr_markdown_().splitlines() == [
        "| hidden layer | dead ReLU units |", "|---|---|", "| 1 | 0.0% |", "| 2 | 75.0% |"]
    assert "<td>2</td><td>75.0%</td>" in dead._repr_html_()
    assert descent.diagnostics.dead_units(nn.MLP([3, 4, 2], activation="tanh"), X) == {}


def test_gradient_flow_shows_itself_as_a_table():
    flow = descent.diagnostics.GradientFlow(["0.weight", "2.weight"], [0.001, 0.5])
    assert flow.ratio == pytest.approx(0.002)
    assert str(flow).splitlines() == ["layer  parameter        gradient norm",
                                      "1      0.weight         1.000e-03",
                                      "2      2.weight         5.000e-01",
                                      "first / last = 2.000e-03"]
    markdown = flow._repr_markdown_()
    assert "| 1 | 0.weight | 1.000e-03 |" in markdown and "first / last = 2.000e-03" in markdown
    page = flow._repr_html_()
    assert page.index("<td>0.weight</td>") < page.index("<td>2.weight</td>")
    assert "first / last = 2.000e-03" in page


def test_dead_fraction_is_recorded_during_training():
    X = np.random.default_rng(0).normal(size=(40, 3))
    model = nn.MLP([3, 8, 1], activation="relu", rng=0)
    model[0].bias.data[:] = -50.0
    history = descent.train(model, X, X.sum(axis=1), loss="mse", epochs=2)
    assert history["dead_fraction"] == [1.0, 1.0]


def test_dead_units_found_block_by_block_match_one_pass():
    # a unit counts as alive if any row of any block makes it fire
    model = nn.MLP([3, 16, 16, 2], activation="relu", rng=1)
    model[0].bias.data[:5] = -3.0
    X = np.random.default_rng(1).normal(size=(300, 3))
    whole = descent.nn.inspect.dead_unit_fractions(model, X, rows_at_a_time=300)
    assert 0 < whole["1"] < 1
    for rows in (1, 7, 256):
        assert descent.nn.inspect.dead_unit_fractions(model, X, rows_at_a_time=rows) == whole


def test_dead_units_of_one_example_given_as_a_vector():
    model = nn.MLP([600, 8, 2], activation="relu", rng=0)
    x = np.random.default_rng(0).normal(size=600)
    assert descent.diagnostics.dead_units(model, x) == descent.diagnostics.dead_units(
        model, x.reshape(1, -1))
