"""Data preparation: standardising, one-hot and label encoding, splits, folds, batches."""

import numpy as np

from descent.autograd.backend import as_rng
from descent.errors import DescentTypeError, DescentValueError, ShapeError


def as_features(X, name="X"):
    """Check ``X`` is a finite 2-D numeric array and return it as float (no copy if able)."""
    array = np.asarray(X)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise DescentTypeError(
            f"{name} must hold numbers, got dtype {array.dtype}; encode text columns first "
            "(e.g. one_hot) or drop them"
        )
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ShapeError(f"{name} must be 2-D (n_samples, n_features), got shape {array.shape}")
    if array.shape[0] == 0:
        raise DescentValueError(f"{name} is empty: it has no rows")
    # The sum is NaN or infinite when any value is (or, rarely, when huge finite values
    # overflow it: then the exact scan below finds nothing). It needs no mask as large
    # as the data, so the check costs one fast pass and no memory.
    if array.dtype.kind == "f" and not np.isfinite(np.sum(array)):
        _report_non_finite(array, name)
    return array


def _report_non_finite(array, name, rows_per_chunk=4096):
    """Locate the first NaN or infinity (chunk by chunk) and raise an error naming it."""
    count, first = 0, None
    for start in range(0, len(array), rows_per_chunk):
        bad = ~np.isfinite(array[start:start + rows_per_chunk])
        if first is None and bad.any():
            row, column = np.argwhere(bad)[0]
            first = (start + row, column)
        count += int(bad.sum())
    if first is None:
        return  # the sum overflowed on huge but finite float64 values
    raise DescentValueError(
        f"{name} has {count} NaN or infinite values (first at row {first[0]}, column "
        f"{first[1]}); drop or fill them before training")


class Standardizer:
    """Shift and scale each column to mean 0 and standard deviation 1 (seed 001).

    Fit on the training data only, then apply the same statistics to validation and
    test data. A constant column has standard deviation 0; it is only centred (scale 1),
    so it stays finite.

    Examples
    --------
    >>> s = Standardizer().fit([[1.0, 5.0], [3.0, 5.0]])
    >>> s.transform([[2.0, 5.0], [3.0, 6.0]])
    array([[0., 0.],
           [1., 1.]])
    """

    def fit(self, X):
        """Learn each column's mean (``mean_``) and standard deviation (``scale_``) from
        ``X``; return the Standardizer."""
        X = as_features(X)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _check_fitted(self, X):
        if not hasattr(self, "mean_"):
            raise DescentValueError("this Standardizer is not fitted yet; call fit(X) first")
        X = as_features(X)
        if X.shape[1] != self.mean_.shape[0]:
            raise ShapeError(
                f"X has {X.shape[1]} columns; the Standardizer was fitted on "
                f"{self.mean_.shape[0]}"
            )
        return X

    def transform(self, X):
        """``(X - mean_) / scale_``, with the statistics ``fit`` learned."""
        X = self._check_fitted(X)
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X):
        """``fit(X)``, then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        """Undo ``transform``: ``X * scale_ + mean_``."""
        X = self._check_fitted(X)
        return X * self.scale_ + self.mean_


def encode_labels(y, classes=None):
    """Map labels (numbers or strings) to codes 0..k−1; return ``(codes, classes)``.

    ``classes`` (sorted unique labels) is learned from ``y`` unless given; a label not
    among given classes is an error that names it.

    Examples
    --------
    >>> codes, classes = encode_labels(["cat", "dog", "cat"])
    >>> codes.tolist(), classes.tolist()
    ([0, 1, 0], ['cat', 'dog'])
    """
    y = np.asarray(y)
    if y.ndim != 1:
        y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise ShapeError(f"labels must be 1-D (one per example), got shape {y.shape}")
    if classes is None:
        classes = np.unique(y)
    classes = np.asarray(classes)
    codes = np.searchsorted(classes, y)
    codes = np.clip(codes, 0, len(classes) - 1)
    unknown = classes[codes] != y
    if unknown.any():
        raise DescentValueError(
            f"label {y[unknown][0].item()!r} is not one of the known classes "
            f"{classes.tolist()}"
        )
    return codes.astype(np.intp), classes


def one_hot(labels, num_classes=None, dtype=np.float32):
    """Rows with a 1 in the column of each integer label.

    Examples
    --------
    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise DescentTypeError(f"one_hot needs integer labels, got dtype {labels.dtype}")
    if num_classes is None and not labels.size:
        raise DescentValueError("one_hot of no labels needs num_classes")
    k = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise DescentValueError(f"labels must lie in 0..{k - 1}")
    out = np.zeros((labels.size, k), dtype=dtype)
    out[np.arange(labels.size), labels.ravel()] = 1
    return out


def _check_fraction(name, value):
    if not 0 < value < 1:
        raise DescentValueError(f"{name} must be a fraction in (0, 1), got {value!r}")


def split_indices(n, fraction, labels=None, seed=None):
    """Shuffled (keep, held_out) index arrays; stratified by ``labels`` when given.

    With labels, each class contributes ``fraction`` of its examples (at least one when
    it has two or more) to the held-out part, so both parts keep the class balance.
    """
    _check_fraction("the held-out fraction", fraction)
    rng = as_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        count = max(1, int(round(n * fraction)))
        if count >= n:
            raise DescentValueError(f"cannot hold out {fraction:.0%} of {n} examples")
        return np.sort(order[count:]), np.sort(order[:count])
    labels = np.asarray(labels)
    held = []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        count = int(round(len(members) * fraction))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        held.append(members[:count])
    held = np.sort(np.concatenate(held))
    keep = np.setdiff1d(np.arange(n), held)
    if not held.size or not keep.size:
        raise DescentValueError(f"cannot hold out {fraction:.0%} of {n} examples")
    return keep, held


def train_test_split(X, y, test_size=0.25, stratify=False, seed=None):
    """Split into ``X_train, X_test, y_train, y_test`` (stratified by y if asked)."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ShapeError(f"X has {len(X)} rows but y has {len(y)}")
    keep, held = split_indices(len(X), test_size, y if stratify else None, seed)
    return X[keep], X[held], y[keep], y[held]


class KFold:
    """k-fold cross-validation splits: each example is validated on exactly once.

    ``stratified`` keeps class proportions in each fold (pass labels to ``split``).
    """

    def __init__(self, n_splits=5, shuffle=True, stratified=False, seed=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
            raise DescentValueError(f"n_splits must be an integer >= 2, got {n_splits!r}")
        self.n_splits, self.shuffle, self.stratified, self.seed = (n_splits, shuffle,
                                                                   stratified, seed)

    def split(self, X, y=None):
        """Yield ``(train_indices, validation_indices)`` pairs."""
        n = len(X)
        if n < self.n_splits:
            raise DescentValueError(f"cannot make {self.n_splits} folds from {n} examples")
        rng = as_rng(self.seed)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.stratified:
            if y is None:
                raise DescentValueError("stratified folds need the labels: split(X, y)")
            labels = np.asarray(y)[order]
            order = order[np.argsort(labels, kind="stable")]
        fold_of = np.empty(n, dtype=np.intp)
        fold_of[order] = np.arange(n) % self.n_splits
        for fold in range(self.n_splits):
            yield np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)


def batches(n, batch_size=None, shuffle=True, rng=None):
    """Index arrays covering ``range(n)`` once: one batch (batch gradient descent) when
    ``batch_size`` is None, single examples for 1 (stochastic), else mini-batches; the
    last mini-batch may be smaller."""
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise DescentValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if batch_size is None or batch_size >= n:
        yield np.arange(n)  # the mean gradient over all examples does not depend on order
        return
    order = as_rng(rng).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
