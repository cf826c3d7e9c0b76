"""Built-in datasets: exact logic-gate truth tables and the seeded 2-D toy problems."""

import numpy as np
import pytest

import descent
from descent.data.datasets import blobs, circles, moons, spirals, truth_table

INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]


@pytest.mark.parametrize("gate, targets", [
    ("and", [0, 0, 0, 1]),
    ("or", [0, 1, 1, 1]),
    ("nand", [1, 1, 1, 0]),
    ("nor", [1, 0, 0, 0]),
    ("xor", [0, 1, 1, 0]),
])
def test_two_input_gates(gate, targets):
    X, y = truth_table(gate)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.tolist() == INPUTS
    assert y.tolist() == [float(t) for t in targets]


def test_not_gate():
    X, y = truth_table("not")
    assert X.tolist() == [[0.0], [1.0]]
    assert y.tolist() == [1.0, 0.0]


def test_gate_names_are_case_insensitive():
    X, y = truth_table("XOR")
    assert y.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert truth_table("Not")[1].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("gate", ["xnor", "", "andd", 3])
def test_unknown_gate_lists_valid_names(gate):
    with pytest.raises(descent.DescentValueError) as info:
        truth_table(gate)
    message = str(info.value)
    assert repr(str(gate).lower()) in message
    for name in ["and", "nand", "nor", "not", "or", "xor"]:
        assert name in message


GENERATORS = {
    "circles": lambda n, seed: circles(n, seed=seed),
    "moons": lambda n, seed: moons(n, seed=seed),
    "spirals": lambda n, seed: spirals(n, seed=seed),
    "blobs": lambda n, seed: blobs(n, seed=seed),
}
CLASSES = {"circles": 2, "moons": 2, "spirals": 3, "blobs": 3}


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n", [60, 61])
def test_shapes_and_balanced_labels(name, n):
    X, y = GENERATORS[name](n, 0)
    assert X.shape == (n, 2) and y.shape == (n,)
    assert X.dtype == np.float64 and np.issubdtype(y.dtype, np.integer)
    assert np.all(np.isfinite(X))
    counts = np.bincount(y)
    assert len(counts) == CLASSES[name]
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == n


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_identical_different_seed_different(name):
    X1, y1 = GENERATORS[name](50, 123)
    X2, y2 = GENERATORS[name](50, 123)
    X3, _ = GENERATORS[name](50, 124)
    assert X1.tobytes() == X2.tobytes()
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("factor", [0.5, 0.3])
def test_circles_radii_without_noise(factor):
    X, y = circles(100, noise=0.0, factor=factor, seed=1)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 1], factor, rtol=1e-12)
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-12)


def test_circles_inner_radius_with_noise_is_close_to_factor():
    X, y = circles(400, noise=0.02, factor=0.4, seed=2)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert abs(radius[y == 1].mean() - 0.4) < 0.02
    assert abs(radius[y == 0].mean() - 1.0) < 0.02


def test_moons_without_noise_lie_on_half_circles():
    X, y = moons(80, noise=0.0, seed=3)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0.5)


@pytest.mark.parametrize("n_classes", [2, 4, 5])
def test_spirals_number_of_classes(n_classes):
    X, y = spirals(100, n_classes=n_classes, seed=4)
    assert X.shape == (100, 2)
    assert sorted(np.unique(y).tolist()) == list(range(n_classes))
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)


def test_blobs_with_given_centers_and_features():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    X, y = blobs(200, centers=centers, std=0.1, seed=5)
    assert X.shape == (200, 3)
    assert np.bincount(y).tolist() == [100, 100]
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centers[k], atol=0.05)


def test_blobs_count_of_centers_and_features():
    X, y = blobs(90, centers=5, n_features=4, seed=6)
    assert X.shape == (90, 4)
    assert np.bincount(y).tolist() == [18] * 5


@pytest.mark.parametrize("generator", [circles, moons])
@pytest.mark.parametrize("n", [0, 1, -5, 2.5, True, "10", None])
def test_bad_n_samples_two_class(generator, n):
    with pytest.raises(descent.DescentValueError, match="n_samples"):
        generator(n)


@pytest.mark.parametrize("n", [0, -1, 2.0, False, "5"])
def test_bad_n_samples_blobs(n):
    with pytest.raises(descent.DescentValueError, match="n_samples"):
        blobs(n)


@pytest.mark.parametrize("n", [0, 2, 3.0])
def test_bad_n_samples_spirals(n):
    with pytest.raises(descent.DescentValueError, match="n_samples"):
        spirals(n, n_classes=3)


def test_numpy_integer_n_samples_accepted():
    X, y = circles(np.int64(10), seed=0)
    assert X.shape == (10, 2)
