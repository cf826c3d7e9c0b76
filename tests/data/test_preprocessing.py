"""Data preparation: Standardizer against scikit-learn, feature checks, label encoding,
one-hot, splits, folds and batches."""

import math

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

import descent
from descent.data.preprocessing import (
    KFold,
    Standardizer,
    as_features,
    batches,
    encode_labels,
    one_hot,
    split_indices,
    train_test_split,
)

RNG = np.random.default_rng(2024)
TRAIN = RNG.normal(loc=[3.0, -2.0, 10.0], scale=[0.5, 4.0, 2.0], size=(40, 3))
TEST = RNG.normal(loc=[3.0, -2.0, 10.0], scale=[0.5, 4.0, 2.0], size=(15, 3))


# --------------------------------------------------------------------------- Standardizer

def test_standardizer_matches_sklearn_statistics_and_values():
    ours = Standardizer().fit(TRAIN)
    theirs = StandardScaler().fit(TRAIN)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.transform(TRAIN), theirs.transform(TRAIN),
                               rtol=1e-10, atol=1e-12)


def test_fit_transform_is_fit_then_transform():
    np.testing.assert_allclose(Standardizer().fit_transform(TRAIN),
                               StandardScaler().fit_transform(TRAIN), rtol=1e-10, atol=1e-12)
    transformed = Standardizer().fit_transform(TRAIN)
    np.testing.assert_allclose(transformed.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(transformed.std(axis=0), 1.0, rtol=1e-12)


def test_test_data_uses_training_statistics():
    ours = Standardizer().fit(TRAIN)
    theirs = StandardScaler().fit(TRAIN)
    out = ours.transform(TEST)
    np.testing.assert_allclose(out, theirs.transform(TEST), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, (TEST - TRAIN.mean(axis=0)) / TRAIN.std(axis=0),
                               rtol=1e-10, atol=1e-12)
    # the statistics were not refitted on the test data
    np.testing.assert_allclose(ours.mean_, TRAIN.mean(axis=0), rtol=1e-12)
    assert not np.allclose(out.mean(axis=0), 0.0, atol=1e-6)


def test_constant_column_is_centred_with_scale_one():
    X = np.column_stack([np.full(6, 7.5), np.arange(6.0)])
    s = Standardizer().fit(X)
    assert s.scale_[0] == 1.0
    out = s.transform(X)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_allclose(s.transform([[8.5, 0.0]])[0, 0], 1.0)
    np.testing.assert_allclose(s.scale_, StandardScaler().fit(X).scale_)


def test_inverse_transform_round_trips():
    s = Standardizer().fit(TRAIN)
    np.testing.assert_allclose(s.inverse_transform(s.transform(TEST)), TEST,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.transform(s.inverse_transform(TEST)), TEST,
                               rtol=1e-10, atol=1e-10)


def test_docstring_example():
    s = Standardizer().fit([[1.0, 5.0], [3.0, 5.0]])
    np.testing.assert_array_equal(s.transform([[2.0, 5.0], [3.0, 6.0]]), [[0, 0], [1, 1]])


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_unfitted_standardizer_raises(method):
    with pytest.raises(descent.DescentValueError, match="not fitted"):
        getattr(Standardizer(), method)(TRAIN)


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_wrong_column_count_raises_shape_error(method):
    s = Standardizer().fit(TRAIN)
    with pytest.raises(descent.ShapeError, match="2 columns.*fitted on 3"):
        getattr(s, method)(TRAIN[:, :2])


# --------------------------------------------------------------------------- as_features

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_as_features_non_finite_message_names_row_and_column(bad):
    X = np.arange(12.0).reshape(4, 3)
    X[2, 1] = bad
    with pytest.raises(descent.DescentValueError, match=r"row 2, column 1"):
        as_features(X)


def test_as_features_counts_non_finite_and_uses_name():
    X = np.ones((3, 2))
    X[1, 0] = np.nan
    X[2, 1] = np.inf
    with pytest.raises(descent.DescentValueError) as info:
        as_features(X, name="inputs")
    message = str(info.value)
    assert message.startswith("inputs")
    assert "2 NaN" in message and "row 1, column 0" in message


@pytest.mark.parametrize("X", [[["a", "b"], ["c", "d"]], np.array([[1, None]], dtype=object),
                               ["1.0", "2.0"]])
def test_as_features_rejects_non_numbers(X):
    with pytest.raises(descent.DescentTypeError, match="numbers"):
        as_features(X)


@pytest.mark.parametrize("X", [[], np.empty((0, 3))])
def test_as_features_rejects_empty(X):
    with pytest.raises(descent.DescentValueError, match="empty"):
        as_features(X)


def test_as_features_one_dimensional_becomes_column():
    out = as_features([1.0, 2.0, 3.0])
    assert out.shape == (3, 1)
    np.testing.assert_array_equal(out[:, 0], [1.0, 2.0, 3.0])


def test_as_features_rejects_three_dimensional():
    with pytest.raises(descent.ShapeError, match="2-D"):
        as_features(np.zeros((2, 2, 2)))


def test_as_features_accepts_integers_and_keeps_2d_float_without_copy():
    assert as_features([[1, 2], [3, 4]]).shape == (2, 2)
    X = np.ones((3, 2))
    assert as_features(X) is X


# --------------------------------------------------------------------------- encode_labels

def test_encode_labels_strings():
    codes, classes = encode_labels(["dog", "cat", "emu", "cat"])
    assert codes.tolist() == [1, 0, 2, 0]
    assert classes.tolist() == ["cat", "dog", "emu"]
    assert codes.dtype == np.intp


def test_encode_labels_ints():
    codes, classes = encode_labels([10, -3, 10, 7])
    assert codes.tolist() == [2, 0, 2, 1]
    assert classes.tolist() == [-3, 7, 10]
    np.testing.assert_array_equal(classes[codes], [10, -3, 10, 7])


def test_encode_labels_with_given_classes_and_column_input():
    codes, classes = encode_labels(np.array([["b"], ["a"]]), classes=["a", "b", "c"])
    assert codes.tolist() == [1, 0]
    assert classes.tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("y, classes, name", [
    (["cat", "bird"], ["cat", "dog"], "bird"),
    (["cat", "zebra"], ["cat", "dog"], "zebra"),   # beyond the last class
    ([1, 7], [1, 2], "7"),
])
def test_encode_labels_unknown_label_is_named(y, classes, name):
    with pytest.raises(descent.DescentValueError, match=name) as info:
        encode_labels(y, classes=classes)
    assert "known classes" in str(info.value)


def test_encode_labels_rejects_two_dimensional():
    with pytest.raises(descent.ShapeError):
        encode_labels(np.zeros((3, 2)))


# --------------------------------------------------------------------------- one_hot

def test_one_hot_values():
    out = one_hot([0, 2, 1, 2], 4)
    expected = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32


def test_one_hot_infers_classes_and_dtype():
    out = one_hot(np.array([1, 0, 3]), dtype=np.float64)
    assert out.shape == (3, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(axis=1), [1, 0, 3])
    np.testing.assert_array_equal(out.sum(axis=1), 1)


def test_one_hot_rejects_float_labels():
    with pytest.raises(descent.DescentTypeError, match="integer"):
        one_hot([0.0, 1.0])


@pytest.mark.parametrize("labels, k", [([0, 3], 3), ([-1, 0], 2), ([-1, 0], None)])
def test_one_hot_out_of_range(labels, k):
    with pytest.raises(descent.DescentValueError, match="lie in"):
        one_hot(labels, k)


# --------------------------------------------------------------------------- splits

@pytest.mark.parametrize("n, fraction", [(10, 0.3), (101, 0.2), (7, 0.5), (3, 0.1)])
def test_split_indices_sizes_disjoint_covering(n, fraction):
    keep, held = split_indices(n, fraction, seed=0)
    assert len(held) == max(1, round(n * fraction))
    assert len(keep) + len(held) == n
    assert not np.intersect1d(keep, held).size
    np.testing.assert_array_equal(np.sort(np.concatenate([keep, held])), np.arange(n))


def test_split_indices_seed_reproducible():
    a = split_indices(50, 0.3, seed=11)
    b = split_indices(50, 0.3, seed=11)
    c = split_indices(50, 0.3, seed=12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def _check_stratified(labels, keep, held, fraction):
    n = len(labels)
    np.testing.assert_array_equal(np.sort(np.concatenate([keep, held])), np.arange(n))
    assert not np.intersect1d(keep, held).size
    for cls in np.unique(labels):
        members = int(np.sum(labels == cls))
        in_held = int(np.sum(labels[held] == cls))
        assert abs(in_held - members * fraction) <= 1, (cls, members, in_held)
        if members >= 2:
            assert 1 <= in_held <= members - 1


@pytest.mark.parametrize("seed", range(5))
def test_split_indices_stratified_keeps_proportions(seed):
    labels = np.repeat([0, 1, 2], [50, 30, 7])
    np.random.default_rng(seed).shuffle(labels)
    keep, held = split_indices(len(labels), 0.25, labels=labels, seed=seed)
    _check_stratified(labels, keep, held, 0.25)


def test_split_indices_stratified_string_labels_seeded():
    labels = np.array(["a"] * 9 + ["b"] * 21)
    first = split_indices(30, 0.3, labels=labels, seed=3)
    second = split_indices(30, 0.3, labels=labels, seed=3)
    _check_stratified(labels, *first, 0.3)
    np.testing.assert_array_equal(first[1], second[1])


def test_train_test_split_rows_follow_indices():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20) % 2
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=4)
    assert X_train.shape == (15, 2) and X_test.shape == (5, 2)
    assert y_train.shape == (15,) and y_test.shape == (5,)
    # rows stay paired with their labels
    np.testing.assert_array_equal((X_train[:, 0] // 2) % 2, y_train)
    np.testing.assert_array_equal((X_test[:, 0] // 2) % 2, y_test)
    rows = np.sort(np.concatenate([X_train[:, 0], X_test[:, 0]]))
    np.testing.assert_array_equal(rows, X[:, 0])


def test_train_test_split_stratified_and_seeded():
    y = np.array([0] * 40 + [1] * 10)
    X = np.arange(50.0)[:, None]
    a = train_test_split(X, y, test_size=0.2, stratify=True, seed=9)
    b = train_test_split(X, y, test_size=0.2, stratify=True, seed=9)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    y_test = a[3]
    assert np.sum(y_test == 0) == 8 and np.sum(y_test == 1) == 2


def test_train_test_split_length_mismatch():
    with pytest.raises(descent.ShapeError, match="10 rows but y has 9"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.2, math.nan])
def test_bad_fraction_raises(fraction):
    with pytest.raises(descent.DescentValueError, match="fraction"):
        split_indices(10, fraction)
    with pytest.raises(descent.DescentValueError, match="fraction"):
        train_test_split(np.zeros((10, 1)), np.zeros(10), test_size=fraction)


def test_cannot_hold_out_everything():
    with pytest.raises(descent.DescentValueError, match="cannot hold out"):
        split_indices(2, 0.9)


# --------------------------------------------------------------------------- KFold

@pytest.mark.parametrize("n, k, shuffle", [(10, 5, True), (23, 4, True), (7, 7, False),
                                           (12, 3, False)])
def test_kfold_validates_each_index_exactly_once(n, k, shuffle):
    folds = list(KFold(n_splits=k, shuffle=shuffle, seed=1).split(np.zeros((n, 2))))
    assert len(folds) == k
    counts = np.zeros(n, dtype=int)
    for train, val in folds:
        assert not np.intersect1d(train, val).size
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
        assert len(val) in (n // k, -(-n // k))
        counts[val] += 1
    np.testing.assert_array_equal(counts, 1)


def test_kfold_seeded_reproducible():
    X = np.zeros(20)
    a = [v for _, v in KFold(4, seed=5).split(X)]
    b = [v for _, v in KFold(4, seed=5).split(X)]
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize("seed", range(3))
def test_kfold_stratified_keeps_proportions(seed):
    y = np.repeat([0, 1, 2], [30, 12, 6])
    np.random.default_rng(seed).shuffle(y)
    k = 3
    counts = np.zeros(len(y), dtype=int)
    for train, val in KFold(n_splits=k, stratified=True, seed=seed).split(np.zeros(len(y)), y):
        assert not np.intersect1d(train, val).size
        counts[val] += 1
        for cls in np.unique(y):
            share = np.sum(y == cls) / k
            assert abs(np.sum(y[val] == cls) - share) <= 1
    np.testing.assert_array_equal(counts, 1)


def test_kfold_stratified_needs_labels():
    with pytest.raises(descent.DescentValueError, match="labels"):
        list(KFold(2, stratified=True).split(np.zeros(4)))


@pytest.mark.parametrize("n_splits", [1, 0, -2, 2.0, True, "3"])
def test_kfold_bad_n_splits(n_splits):
    with pytest.raises(descent.DescentValueError, match="n_splits"):
        KFold(n_splits=n_splits)


def test_kfold_too_few_examples():
    with pytest.raises(descent.DescentValueError, match="5 folds from 4 examples"):
        list(KFold(n_splits=5).split(np.zeros(4)))


# --------------------------------------------------------------------------- batches

def test_batches_none_is_one_ordered_batch():
    out = list(batches(7, None, rng=3))
    assert len(out) == 1
    np.testing.assert_array_equal(out[0], np.arange(7))


def test_batches_larger_than_n_is_one_batch():
    out = list(batches(5, 10, rng=3))
    assert len(out) == 1
    np.testing.assert_array_equal(np.sort(out[0]), np.arange(5))


def test_batches_of_one_are_singletons():
    out = list(batches(9, 1, rng=0))
    assert len(out) == 9
    assert all(len(b) == 1 for b in out)
    np.testing.assert_array_equal(np.sort(np.concatenate(out)), np.arange(9))


@pytest.mark.parametrize("n, k", [(10, 3), (12, 4), (100, 7), (5, 4)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_minibatches_cover_each_index_once(n, k, shuffle):
    out = list(batches(n, k, shuffle=shuffle, rng=2))
    assert len(out) == math.ceil(n / k)
    assert all(len(b) == k for b in out[:-1])
    assert 1 <= len(out[-1]) <= k
    everything = np.concatenate(out)
    np.testing.assert_array_equal(np.sort(everything), np.arange(n))
    if not shuffle:
        np.testing.assert_array_equal(everything, np.arange(n))


def test_batches_shuffle_seeded():
    def order(seed):
        return np.concatenate(list(batches(50, 8, shuffle=True, rng=seed)))
    np.testing.assert_array_equal(order(4), order(4))
    assert not np.array_equal(order(4), order(5))
    assert not np.array_equal(order(4), np.arange(50))


def test_batches_accept_generator():
    a = np.concatenate(list(batches(20, 6, rng=np.random.default_rng(8))))
    b = np.concatenate(list(batches(20, 6, rng=np.random.default_rng(8))))
    np.testing.assert_array_equal(a, b)


def test_batches_and_one_hot_edge_errors():
    with pytest.raises(descent.DescentValueError, match="batch_size"):
        list(descent.data.batches(5, 0))
    with pytest.raises(descent.DescentValueError, match="num_classes"):
        descent.data.one_hot(np.array([], dtype=int))
    assert descent.data.one_hot(np.array([], dtype=int), 3).shape == (0, 3)
