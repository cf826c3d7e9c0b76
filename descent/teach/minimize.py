"""Gradient descent on any differentiable Python function of tensors (seed 000's toy
functions): x ← x − η·∇f(x), step by step, keeping the whole path."""

from dataclasses import dataclass

import numpy as np

from descent.errors import DescentTypeError, DescentValueError
from descent.autograd.tensor import Tensor, tensor


@dataclass
class MinimizeResult:
    """``path`` has one entry per point visited: step, x (list), value f(x), gradient.
    ``converged`` is True when ``tol`` was given and every partial derivative got within
    it (always False for a fixed number of ``steps``)."""

    path: list
    converged: bool

    @property
    def x(self):
        return self.path[-1]["x"]

    @property
    def value(self):
        return self.path[-1]["value"]


def minimize(f, x0, lr, steps=None, tol=None, max_steps=10_000):
    """Minimise ``f`` by gradient descent from ``x0``.

    Parameters
    ----------
    f : callable
        ``f(*variables) -> Tensor`` with one element; each variable is a float64 tensor.
    x0 : float or sequence of float
        The starting point: one number per variable.
    lr : float
        The learning rate η.
    steps : int, optional
        Take exactly this many steps.
    tol : float, optional
        Or stop once every partial derivative is at most ``tol`` in size
        (at most ``max_steps`` steps).

    Returns
    -------
    MinimizeResult
        The path: every point with its value and gradient (the last point's gradient is
        the one that stopped the descent).

    Examples
    --------
    >>> result = minimize(lambda x: 2 - 3 * x + 4 * x ** 2, 2.0, lr=0.01, steps=1)
    >>> round(result.x[0], 2), result.path[0]["gradient"]
    (1.87, [13.0])
    """
    if not callable(f):
        raise DescentTypeError("f must be a function of tensors")
    if lr <= 0:
        raise DescentValueError(f"lr must be > 0, got {lr!r}")
    if (steps is None) == (tol is None):
        raise DescentValueError("give exactly one of steps= or tol=")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or steps < 0):
        raise DescentValueError(f"steps must be a non-negative integer, got {steps!r}")
    point = np.atleast_1d(np.asarray(x0, dtype=np.float64)).copy()
    if point.ndim != 1:
        raise DescentValueError("x0 must be a number or a flat sequence of numbers")
    limit = steps if steps is not None else max_steps
    path = []
    for step in range(limit + 1):
        variables = [tensor(v, requires_grad=True, dtype="float64") for v in point]
        value = f(*variables)
        if not isinstance(value, Tensor) or value.size != 1:
            raise DescentTypeError("f must return a one-element Tensor")
        value.backward()
        gradient = np.array([0.0 if v.grad is None else float(v.grad) for v in variables])
        path.append({"step": step, "x": point.tolist(), "value": value.item(),
                     "gradient": gradient.tolist()})
        if tol is not None and np.max(np.abs(gradient)) <= tol:
            return MinimizeResult(path, True)
        if step == limit:
            break
        point = point - lr * gradient
    return MinimizeResult(path, False)
