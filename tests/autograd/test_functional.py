"""Activations: values and gradients against PyTorch, and numerical soundness at extremes."""

import numpy as np
import pytest
import torch

import descent
from descent.autograd import functional as F
from tests.helpers import assert_matches_torch

X = np.array([[-3.0, -0.5, 0.7, 2.5], [1.2, -1.7, 0.3, -0.1]])


@pytest.mark.parametrize("ours, theirs", [
    (F.sigmoid, torch.sigmoid),
    (F.tanh, torch.tanh),
    (F.relu, torch.relu),
    (lambda z: F.leaky_relu(z, 0.1), lambda z: torch.nn.functional.leaky_relu(z, 0.1)),
    (lambda z: F.elu(z, 1.5), lambda z: torch.nn.functional.elu(z, 1.5)),
    (F.softmax, lambda z: torch.softmax(z, -1)),
    (F.log_softmax, lambda z: torch.log_softmax(z, -1)),
    (F.identity, lambda z: z),
])
def test_activation_matches_torch(ours, theirs):
    assert_matches_torch(ours, theirs, [X])


@pytest.mark.parametrize("fn", [F.leaky_relu, F.elu])
def test_composite_activations_pass_gradcheck(fn):
    assert descent.gradcheck(fn, X).ok


def test_elu_gradient_at_zero_is_alpha_like_torch():
    assert_matches_torch(lambda z: F.elu(z, 2.0), lambda z: torch.nn.functional.elu(z, 2.0),
                         [np.array([0.0, -0.0, 1e-3])])


def _value_and_grad(fn, values, dtype="float32"):
    x = descent.tensor(values, requires_grad=True, dtype=dtype)
    y = fn(x)
    y.backward(np.ones(y.shape))
    return y.data, x.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_at_extremes_is_exact_and_finite(dtype):
    value, grad = _value_and_grad(F.sigmoid, [-1000.0, 1000.0, -50.0], dtype)
    assert value[0] == 0.0 and value[1] == 1.0
    assert value[2] > 0  # keeps relative precision in the tail
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_and_log_softmax_of_huge_logits(dtype):
    logits = [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]
    value, grad = _value_and_grad(F.softmax, logits, dtype)
    np.testing.assert_allclose(value[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(value[1], [1 / 3] * 3, rtol=1e-6)
    assert np.all(np.isfinite(grad))
    value, grad = _value_and_grad(F.log_softmax, logits, dtype)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    assert value[0, 1] == pytest.approx(-2e4)


def test_tanh_and_elu_of_large_values():
    value, grad = _value_and_grad(F.tanh, [-1e4, 1e4])
    np.testing.assert_array_equal(value, [-1.0, 1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0])
    value, grad = _value_and_grad(F.elu, [-1e4, 1e4])
    np.testing.assert_array_equal(value, [-1.0, 1e4])
    assert np.all(np.isfinite(grad))


def test_step_is_a_threshold_with_zero_gradient():
    value, grad = _value_and_grad(F.step, [-2.0, 0.0, 0.5])
    np.testing.assert_array_equal(value, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0])


def test_sigmoid_derivative_is_at_most_a_quarter():
    _, grad = _value_and_grad(F.sigmoid, np.linspace(-5, 5, 101), "float64")
    assert grad.max() == pytest.approx(0.25)


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(descent.DescentValueError, match="relu.*sigmoid"):
        F.get_activation("rleu")
    assert F.get_activation("tanh") is F.tanh
