"""Seed 002: a perceptron learns AND, OR and NOT, and cannot learn XOR."""

import numpy as np
import pytest

import descent
from descent.data.datasets import truth_table


@pytest.mark.parametrize("gate", ["and", "or", "not", "nand", "nor"])
def test_perceptron_learns_linearly_separable_gates(gate):
    X, y = truth_table(gate)
    result = descent.train_perceptron(X, y)
    assert result.converged and result.errors[-1] == 0
    with descent.no_grad():
        np.testing.assert_array_equal(result.model(X).data[:, 0], y)


def test_perceptron_cannot_learn_xor_and_says_so():
    X, y = truth_table("xor")
    result = descent.train_perceptron(X, y, max_epochs=200)
    assert not result.converged and result.epochs == 200
    assert min(result.errors) >= 1
    assert "not linearly separable" in result.message and "hidden layer" in result.message
    # the count is the final weights' mistakes, not those made during the last epoch
    with descent.no_grad():
        wrong = int(np.sum(result.model(X).data[:, 0] != y))
    assert wrong == 2 and result.errors[-1] == 4
    assert "the final weights misclassify 2 of 4 examples" in result.message
    assert "the last epoch still made 4 mistakes" in result.message


def test_perceptron_rule_first_update_by_hand():
    # AND with w = 0, b = 0, lr = 1: (0,0) → o = step(0) = 0 = t; (0,1) → o = 0 = t;
    # (1,0) → 0 = t; (1,1) → o = 0, t = 1: w ← (1, 1), b ← 1.
    X, y = truth_table("and")
    result = descent.train_perceptron(X, y, max_epochs=1)
    np.testing.assert_array_equal(result.weights, [1.0, 1.0])
    assert result.bias == 1.0


def test_perceptron_step_has_no_gradient():
    X, y = truth_table("and")
    model = descent.train_perceptron(X, y).model
    descent.losses.mse(model(X), y.reshape(-1, 1)).backward()
    assert not model[0].weight.grad.any()


def test_perceptron_rejects_non_binary_targets():
    with pytest.raises(descent.DescentValueError, match="0 or 1"):
        descent.train_perceptron([[0.0], [1.0]], [0.5, 1.0])
