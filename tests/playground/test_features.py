"""The seven input features, and what a saved model takes."""

import numpy as np
import pytest

import descent
from descent.errors import DescentValueError
from descent.playground.features import FEATURES, feature_matrix, inputs_for


def test_each_feature_is_its_formula():
    points = np.array([[2.0, -3.0], [0.5, 1.0]])
    columns = feature_matrix(points, list(FEATURES), dtype=np.float64)
    x1, x2 = points.T
    assert np.array_equal(columns, np.column_stack([x1, x2, x1 * x1, x2 * x2, x1 * x2,
                                                    np.sin(x1), np.sin(x2)]))
    assert feature_matrix(points, ["x2"]).dtype == np.float32
    with pytest.raises(DescentValueError, match="unknown feature 'x3'"):
        feature_matrix(points, ["x3"])


def test_a_model_without_the_playgrounds_metadata_is_refused():
    with pytest.raises(DescentValueError, match="not saved by the playground"):
        inputs_for(descent.nn.MLP([2, 1]), [[0.0, 0.0]])
