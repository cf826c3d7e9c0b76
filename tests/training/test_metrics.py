"""Metrics against scikit-learn on random labels and values, plus shape errors."""

import numpy as np
import pytest
import sklearn.metrics as skm

import descent
from descent.training import metrics as M

SEEDS = range(6)


def _labels(seed, n=60, k=4):
    rng = np.random.default_rng(seed)
    return rng.integers(0, k, n), rng.integers(0, k, n)


def _values(seed, shape=(50,)):
    rng = np.random.default_rng(100 + seed)
    y = rng.normal(size=shape)
    return y, y + rng.normal(scale=0.7, size=shape)


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracy_and_error_rate(seed):
    y_true, y_pred = _labels(seed)
    expected = skm.accuracy_score(y_true, y_pred)
    assert M.accuracy(y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    assert M.error_rate(y_true, y_pred) == pytest.approx(1 - expected, rel=1e-12)
    assert isinstance(M.accuracy(y_true, y_pred), float)


def test_accuracy_string_labels_and_extremes():
    y = np.array(["a", "b", "c", "a"])
    assert M.accuracy(y, y) == 1.0 and M.error_rate(y, y) == 0.0
    assert M.accuracy(y, np.array(["b", "b", "a", "c"])) == 0.25


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(50,), (40, 3)])
def test_regression_metrics(seed, shape):
    y_true, y_pred = _values(seed, shape)
    assert M.mean_squared_error(y_true, y_pred) == pytest.approx(
        skm.mean_squared_error(y_true, y_pred), rel=1e-12)
    assert M.mean_absolute_error(y_true, y_pred) == pytest.approx(
        skm.mean_absolute_error(y_true, y_pred), rel=1e-12)
    assert M.r2_score(y_true, y_pred) == pytest.approx(
        skm.r2_score(y_true, y_pred), rel=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_r2_multi_output_is_uniform_average(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=(30, 4)) * [1.0, 5.0, 0.1, 2.0]
    y_pred = y_true + rng.normal(scale=[0.5, 1.0, 0.2, 3.0], size=(30, 4))
    ours = M.r2_score(y_true, y_pred)
    assert ours == pytest.approx(
        skm.r2_score(y_true, y_pred, multioutput="uniform_average"), rel=1e-10)
    per_column = skm.r2_score(y_true, y_pred, multioutput="raw_values")
    assert ours == pytest.approx(per_column.mean(), rel=1e-10)


def test_r2_perfect_and_mean_predictions():
    y = np.array([1.0, 2.0, 4.0, 7.0])
    assert M.r2_score(y, y) == 1.0
    assert M.r2_score(y, np.full(4, y.mean())) == pytest.approx(0.0, abs=1e-12)


def test_r2_accepts_column_predictions_for_flat_targets():
    y_true, y_pred = _values(0, (25,))
    assert M.r2_score(y_true, y_pred[:, None]) == pytest.approx(
        skm.r2_score(y_true, y_pred), rel=1e-10)


@pytest.mark.parametrize("metric, theirs", [
    (M.mean_squared_error, skm.mean_squared_error),
    (M.mean_absolute_error, skm.mean_absolute_error),
])
def test_regression_metrics_with_column_predictions(metric, theirs):
    # a regression network's output has shape (n, 1) while targets are often (n,);
    # scikit-learn treats both as one output column (as descent's own r2_score does)
    y_true, y_pred = _values(1, (25,))
    assert metric(y_true, y_pred[:, None]) == pytest.approx(
        theirs(y_true, y_pred[:, None]), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_confusion_matrix(seed):
    y_true, y_pred = _labels(seed, k=5)
    ours = M.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(ours, skm.confusion_matrix(y_true, y_pred, labels=range(5)))
    assert ours.sum() == len(y_true)


def test_confusion_matrix_num_classes_pads_absent_classes():
    y_true, y_pred = np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0])
    ours = M.confusion_matrix(y_true, y_pred, num_classes=4)
    assert ours.shape == (4, 4)
    np.testing.assert_array_equal(ours, skm.confusion_matrix(y_true, y_pred, labels=range(4)))
    np.testing.assert_array_equal(ours[:2, :2], [[1, 1], [1, 1]])


@pytest.mark.parametrize("seed", SEEDS)
def test_precision_recall(seed):
    y_true, y_pred = _labels(seed, n=30, k=6)   # some classes may be missing
    precision, recall = M.precision_recall(y_true, y_pred, num_classes=6)
    labels = list(range(6))
    np.testing.assert_allclose(precision, skm.precision_score(
        y_true, y_pred, labels=labels, average=None, zero_division=0), rtol=1e-12)
    np.testing.assert_allclose(recall, skm.recall_score(
        y_true, y_pred, labels=labels, average=None, zero_division=0), rtol=1e-12)


def test_precision_recall_zero_where_class_never_predicted_or_present():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 2])
    precision, recall = M.precision_recall(y_true, y_pred)
    np.testing.assert_allclose(precision, [2 / 3, 0.0, 0.0])
    np.testing.assert_allclose(recall, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(precision, skm.precision_score(
        y_true, y_pred, average=None, zero_division=0))
    np.testing.assert_allclose(recall, skm.recall_score(
        y_true, y_pred, average=None, zero_division=0))


@pytest.mark.parametrize("metric", [
    M.accuracy, M.error_rate, M.mean_squared_error, M.mean_absolute_error, M.r2_score,
    M.confusion_matrix, M.precision_recall,
])
def test_length_mismatch_raises_shape_error(metric):
    with pytest.raises(descent.ShapeError, match="5 targets but 4 predictions"):
        metric(np.zeros(5, dtype=int), np.zeros(4, dtype=int))


def test_column_and_vector_predictions_are_the_same_data():
    assert descent.metrics.accuracy([0, 1, 1], [[0], [1], [1]]) == 1.0
    assert descent.metrics.mean_squared_error([1.0, 2.0, 3.0], [[1.0], [2.0], [3.0]]) == 0.0


def test_r2_of_a_constant_target_follows_scikit_learn():
    assert descent.metrics.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert descent.metrics.r2_score([2.0, 2.0], [1.0, 2.0]) == 0.0


def test_confusion_matrix_rejects_negative_labels():
    with pytest.raises(descent.DescentValueError, match=">= 0"):
        descent.metrics.confusion_matrix([0, -1], [0, 0])
