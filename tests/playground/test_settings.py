"""Every setting is checked against its limits, and settings must fit together."""

import pytest

from descent.errors import DescentValueError
from descent.playground.settings import DEFAULTS, FIELDS, choices, classes_of, validate


def test_the_defaults_are_valid_and_complete():
    assert validate({}) == DEFAULTS
    assert set(DEFAULTS) == set(FIELDS)


def test_values_are_normalised():
    settings = validate({"features": ["sin(x2)", "x1"], "learning_rate": 1, "dropout": [0, 0]})
    assert settings["features"] == ["x1", "sin(x2)"]  # in the page's order
    assert settings["learning_rate"] == 1.0 and settings["dropout"] == [0.0, 0.0]


@pytest.mark.parametrize("changes", [
    {"points": True}, {"points": 2.0}, {"points": "500"}, {"noise": 51}, {"train_ratio": 95},
    {"hidden": [0]}, {"hidden": "4,2"}, {"dropout": [0.95, 0.0]}, {"classes": 9},
    {"features": ["x1", "x1"]}, {"features": ["x3"]}, {"batch_size": 1001},
    {"max_epochs": -1}, {"error_threshold": 0.9}, {"speed": 3}, {"data_seed": 2 ** 31},
    {"regularization": "l3"}, {"optimizer": "lbfgs"}, {"activations": ["softmax", "tanh"]},
    [], "settings",
])
def test_out_of_range_or_wrong_kinds_are_refused(changes):
    with pytest.raises(DescentValueError):
        validate(changes)


def test_settings_must_fit_together():
    with pytest.raises(DescentValueError, match="dropout lists 2 entries"):
        validate({"hidden": [4, 4, 4], "activations": ["tanh"] * 3})
    with pytest.raises(DescentValueError, match="binary_cross_entropy is for two classes"):
        validate({"dataset": "spiral", "classes": 3, "loss": "binary_cross_entropy"})
    with pytest.raises(DescentValueError, match="regression does not have"):
        validate({"problem": "regression", "dataset": "plane", "loss": "mse",
                  "error_threshold": 0.1})
    assert validate({"problem": "regression", "dataset": "custom", "loss": "mae"})["loss"] \
        == "mae"


def test_classes_follow_the_data_set():
    assert classes_of(validate({"dataset": "xor", "classes": 5})) == 2
    assert classes_of(validate({"dataset": "gauss", "classes": 5})) == 5
    assert classes_of(validate({"problem": "regression", "dataset": "plane",
                                "loss": "mse"})) is None


def test_the_page_gets_its_menus_from_here():
    menus = choices()
    assert menus["limits"]["hidden_layers"] == 8 and menus["limits"]["units"] == 16
    assert "softmax" not in menus["activations"] and "elu" in menus["activations"]
    assert list(menus["losses"]["regression"]) == ["mse", "sse", "mae"]
