"""Small built-in datasets: the logic gates of the perceptron lecture and 2-D toy
problems (circles, moons, spirals, blobs). Every generator takes a ``seed``."""

import numpy as np

from descent.autograd.backend import as_rng
from descent.errors import DescentValueError, lookup

__all__ = ["blobs", "circles", "moons", "spirals", "truth_table"]

_GATES = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "nand": lambda a, b: 1 - (a & b),
    "nor": lambda a, b: 1 - (a | b),
    "xor": lambda a, b: a ^ b,
}


def truth_table(gate):
    """Inputs and targets of a logic gate: ``"and" "or" "nand" "nor" "xor"`` (two inputs)
    or ``"not"`` (one input).

    Examples
    --------
    >>> X, y = truth_table("xor")
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    name = str(gate).lower()
    if name == "not":
        return np.array([[0.0], [1.0]]), np.array([1.0, 0.0])
    rule = lookup({**_GATES, "not": None}, name, "gate")
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    return inputs.astype(float), rule(inputs[:, 0], inputs[:, 1]).astype(float)


def _check_size(n, minimum=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise DescentValueError(f"n_samples must be an integer >= {minimum}, got {n!r}")


def circles(n_samples=200, noise=0.05, factor=0.5, seed=None):
    """Two concentric circles (class 1 inside); ``factor`` is the inner radius."""
    _check_size(n_samples, 2)
    rng = as_rng(seed)
    outer = n_samples // 2
    angles = rng.uniform(0, 2 * np.pi, n_samples)
    radius = np.where(np.arange(n_samples) < outer, 1.0, factor)
    X = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
    X += rng.normal(0, noise, X.shape)
    return X, (np.arange(n_samples) >= outer).astype(np.intp)


def moons(n_samples=200, noise=0.1, seed=None):
    """Two interleaving half circles."""
    _check_size(n_samples, 2)
    rng = as_rng(seed)
    upper = n_samples // 2
    t = rng.uniform(0, np.pi, n_samples)
    is_lower = np.arange(n_samples) >= upper
    X = np.column_stack([np.where(is_lower, 1 - np.cos(t), np.cos(t)),
                         np.where(is_lower, 0.5 - np.sin(t), np.sin(t))])
    X += rng.normal(0, noise, X.shape)
    return X, is_lower.astype(np.intp)


def spirals(n_samples=300, n_classes=3, noise=0.2, turns=1.0, seed=None):
    """``n_classes`` interleaved spiral arms around the origin (the classic hard 2-D
    problem: not linearly separable)."""
    _check_size(n_samples, n_classes)
    rng = as_rng(seed)
    labels = np.arange(n_samples) % n_classes
    r = rng.uniform(0.05, 1.0, n_samples)
    theta = labels * 2 * np.pi / n_classes + r * turns * 2 * np.pi
    theta += rng.normal(0, noise, n_samples) * r
    return np.column_stack([r * np.sin(theta), r * np.cos(theta)]), labels.astype(np.intp)


def blobs(n_samples=200, centers=3, n_features=2, std=1.0, seed=None):
    """Gaussian blobs around ``centers`` (a count, drawn in [−10, 10], or an array)."""
    _check_size(n_samples)
    rng = as_rng(seed)
    centers = (rng.uniform(-10, 10, (centers, n_features)) if np.isscalar(centers)
               else np.asarray(centers, dtype=float))
    labels = np.arange(n_samples) % len(centers)
    X = centers[labels] + rng.normal(0, std, (n_samples, centers.shape[1]))
    return X, labels.astype(np.intp)
