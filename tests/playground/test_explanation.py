"""One update explained: the numbers sit where the page shows them, and equal the
engine's own."""

import numpy as np
import pytest

import descent
from descent.playground.explanation import explained, notes_for, spec_of, step_for
from descent.playground.network import Output, build
from descent.playground.settings import validate
from descent.teach.explain import network_from_spec


def test_each_number_is_keyed_by_its_place_on_the_page():
    net = build(2, [2], ["sigmoid"], [0.0], Output(1, "sigmoid", "binary"), seed=0)
    settings = validate({"loss": "sse", "hidden": [2], "activations": ["sigmoid"],
                         "dropout": [0.0], "learning_rate": 0.5})
    step = step_for(net, Output(1, "sigmoid", "binary"), settings,
                    np.array([[1.0, 0.0]], dtype=np.float32), np.array([1]))
    shown = explained(step, [], "test")
    units = {(u["layer"], u["index"]): u for u in shown["units"]}
    assert [units[(0, 0)]["unit"], units[(1, 1)]["unit"], units[(2, 0)]["unit"]] == [1, 4, 5]
    w45 = next(p for p in shown["parameters"] if p["kind"] == "weight" and p["layer"] == 2
               and p["from"] == 1)
    assert w45["name"] == "w45" and w45["value"] == pytest.approx(net[2].weight.data[1, 0])
    # ∂E/∂w45 = e5 · o4, and w45 ← w45 − η ∂E/∂w45
    assert w45["gradient"] == pytest.approx(units[(2, 0)]["e"] * units[(1, 1)]["o"], rel=1e-5)
    assert w45["new_value"] == pytest.approx(w45["value"] - 0.5 * w45["gradient"], rel=1e-5)
    bias = next(p for p in shown["parameters"] if p["kind"] == "bias" and p["layer"] == 1
                and p["to"] == 0)
    assert bias["name"] == "b3" and bias["gradient"] == pytest.approx(units[(1, 0)]["e"])
    assert "e5 = " in shown["text"]


def test_the_notes_name_the_features_and_each_difference():
    settings = validate({"dropout": [0.5, 0.0], "optimizer": "adam"})
    notes = notes_for(None, settings, ["x1", "sin(x2)"], examples=3)
    text = " ".join(notes)
    assert "unit 1 is X₁, unit 2 is sin(X₂)" in text
    assert "Dropout is left out" in text and "adam update starts from a fresh" in text
    assert "A batch of 3 examples" in text


def test_the_spec_rebuilds_the_same_network():
    net = build(2, [3], ["tanh"], [0.0], Output(3, "softmax", "multiclass"), seed=2)
    settings = validate({"hidden": [3], "activations": ["tanh"], "dropout": [0.0],
                         "optimizer": "adam", "dataset": "spiral", "classes": 3})
    step = step_for(net, Output(3, "softmax", "multiclass"), settings,
                    np.array([[0.5, -1.0]], dtype=np.float32), np.array([2]))
    setup = network_from_spec(spec_of(step))
    assert setup.optimizer == ("adam", {}) and setup.loss == "cross_entropy"
    x = np.array([[0.5, -1.0]])
    assert np.allclose(descent.nn.inspect.predict(setup.model, x),
                       descent.nn.inspect.predict(net, x.astype(np.float32)), atol=1e-6)
