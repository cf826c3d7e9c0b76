"""Model files in and out, and the architecture the page can show."""

import numpy as np
import pytest

import descent
from descent.errors import DescentValueError
from descent.nn.layers import Dropout, Linear, Sequential
from descent.playground.export import architecture_of, model_bytes, read_model, stop_code
from descent.playground.network import Output, build
from descent.playground.settings import validate


def test_a_model_goes_out_and_comes_back_as_it_was():
    net = build(3, [4, 2], ["elu", "tanh"], [0.3, 0.0], Output(2, "softmax", "multiclass"), 5)
    model = read_model(model_bytes(net, {"features": ["x1", "x2", "x1^2"]}))
    assert model.metadata["playground"]["features"] == ["x1", "x2", "x1^2"]
    X = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    assert np.array_equal(descent.nn.inspect.predict(model, X),
                          descent.nn.inspect.predict(net, X))
    assert architecture_of(model) == ([4, 2], ["elu", "tanh"], [0.3, 0.0], "softmax", 2, 3)


def test_what_the_page_cannot_show_is_refused():
    with pytest.raises(DescentValueError, match="layer 0 is a Dropout"):
        architecture_of(Sequential(Dropout(0.1), Linear(2, 1)))
    with pytest.raises(DescentValueError, match="ends in dropout"):
        architecture_of(Sequential(Linear(2, 1), Dropout(0.1)))
    with pytest.raises(DescentValueError, match="Sequential networks"):
        architecture_of(Linear(2, 1))
    with pytest.raises(DescentValueError, match="at most 1,048,576"):
        read_model(b"0" * (2 ** 20 + 1))


def test_the_stopping_criteria_as_code():
    assert stop_code(validate({})) == []
    code = stop_code(validate({"early_stopping": 3, "error_threshold": 0.1}))
    assert code == ["descent.stopping.ErrorRate(0.1)",
                    "descent.stopping.EarlyStopping('val_loss', 3)"]
