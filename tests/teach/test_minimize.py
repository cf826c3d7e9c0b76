"""descent.minimize: gradient descent on a plain function of tensors."""

import pytest

import descent


def test_quadratic_converges_to_the_minimum_with_tol():
    # f(x) = 2 − 3x + 4x² has its minimum at x = 3/8
    result = descent.minimize(lambda x: 2 - 3 * x + 4 * x ** 2, 2.0, lr=0.05, tol=1e-8)
    assert result.converged and result.x[0] == pytest.approx(0.375, abs=1e-8)
    assert all(a["value"] >= b["value"] for a, b in zip(result.path, result.path[1:]))


def test_steps_and_path_shape():
    result = descent.minimize(lambda a, b, c: a + b * c, [1.0, -2.0, 3.0], lr=0.01, steps=3)
    assert len(result.path) == 4 and result.path[0]["step"] == 0
    assert result.path[0]["gradient"] == [1.0, 3.0, -2.0]


def test_tol_that_is_never_met_stops_at_max_steps():
    result = descent.minimize(lambda x: x * 1.0, 0.0, lr=0.1, tol=1e-3, max_steps=5)
    assert not result.converged and len(result.path) == 6


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0, steps=1), "lr must be > 0"),
    (dict(lr=0.1), "exactly one of steps= or tol="),
    (dict(lr=0.1, steps=1, tol=1e-3), "exactly one"),
    (dict(lr=0.1, steps=-1), "steps must be"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(descent.DescentValueError, match=message):
        descent.minimize(lambda x: x * x, 1.0, **kwargs)


def test_f_must_return_a_scalar_tensor():
    with pytest.raises(descent.DescentTypeError, match="one-element Tensor"):
        descent.minimize(lambda x: 3.0, 1.0, lr=0.1, steps=1)
