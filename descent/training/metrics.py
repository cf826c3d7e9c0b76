"""Metrics on plain arrays: how good predictions are (not differentiable; for reports)."""

import numpy as np

from descent.errors import DescentValueError, ShapeError

__all__ = [
    "accuracy", "confusion_matrix", "error_rate", "mean_absolute_error", "mean_squared_error",
    "precision_recall", "r2_score",
]


def _flat_pair(y_true, y_pred):
    """Both as arrays of one shape: a column (n, 1) and a vector (n,) are the same data."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred):
        raise ShapeError(f"{len(y_true)} targets but {len(y_pred)} predictions")
    if y_true.shape != y_pred.shape:
        if y_true.size != y_pred.size:
            raise ShapeError(f"targets have shape {y_true.shape}, predictions {y_pred.shape}")
        y_pred = y_pred.reshape(y_true.shape)
    return y_true, y_pred


def accuracy(y_true, y_pred):
    """Fraction of labels predicted correctly."""
    y_true, y_pred = _flat_pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else float("nan")


def error_rate(y_true, y_pred):
    """Fraction of examples misclassified (1 − accuracy), the notes' stopping measure."""
    return 1.0 - accuracy(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    """Mean of the squared differences (y − ŷ)² over every element."""
    y_true, y_pred = _flat_pair(y_true, y_pred)
    return float(np.mean((y_true.astype(float) - y_pred) ** 2))


def mean_absolute_error(y_true, y_pred):
    """Mean of the absolute differences ``|y − ŷ|`` over every element."""
    y_true, y_pred = _flat_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true.astype(float) - y_pred)))


def r2_score(y_true, y_pred):
    """Coefficient of determination 1 − SS_res / SS_tot (averaged over output columns)."""
    y_true, y_pred = _flat_pair(y_true, y_pred)
    y_true = y_true.reshape(len(y_true), -1).astype(float)
    y_pred = y_pred.reshape(len(y_pred), -1)
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    # A constant target has no variance to explain: 1 for a perfect fit, else 0
    # (scikit-learn's convention).
    constant = np.where(ss_res == 0, 1.0, 0.0)
    scores = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), constant)
    return float(scores.mean())


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Counts C[i, j] of examples of class i predicted as class j (integer labels)."""
    y_true, y_pred = _flat_pair(y_true, y_pred)
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise DescentValueError("class labels must be integers >= 0")
    k = num_classes or int(max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (y_true.astype(np.intp), y_pred.astype(np.intp)), 1)
    return matrix


def precision_recall(y_true, y_pred, num_classes=None):
    """Per-class precision and recall arrays (0 where a class is never predicted/present)."""
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    hits = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    return precision, recall
