"""What descent.train is given: the penalised loss, the criteria, the optimiser."""

import numpy as np
import pytest

import descent
from descent.errors import DescentValueError
from descent.playground.network import Output, build
from descent.playground.settings import validate
from descent.playground.training import criteria_for, loss_for, optimizer_for
from descent.training.stopping import EarlyStopping, ErrorRate, LossPlateau, WeightChange


def _network():
    return build(2, [3], ["tanh"], [0.0], Output(3, "softmax", "multiclass"), seed=0)


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_the_penalty_is_added_on_the_weights_only(kind):
    net = _network()
    settings = validate({"regularization": kind, "regularization_rate": 0.1, "loss": "mse",
                         "hidden": [3], "activations": ["tanh"], "dropout": [0.0],
                         "dataset": "gauss", "classes": 3})
    loss = loss_for(settings, net, Output(3, "softmax", "multiclass"))
    output = net(np.ones((4, 2), dtype=np.float32))
    rows = np.eye(3, dtype=np.float32)[[0, 1, 2, 1]]  # (train gives the loss one-hot rows)
    data = descent.losses.mse(output, rows).item()
    weights = [net[0].weight.data, net[2].weight.data]
    penalty = sum(np.abs(w).sum() for w in weights) if kind == "l1" else \
        sum((w * w).sum() for w in weights) / 2
    assert loss(output, rows).item() == pytest.approx(data + 0.1 * penalty, rel=1e-5)


def test_without_a_penalty_the_loss_is_descents_own_by_name():
    assert loss_for(validate({}), _network(), Output(2, "softmax", "multiclass")) \
        == "cross_entropy"


def test_the_criteria_and_the_optimiser():
    settings = validate({"plateau_patience": 5, "error_threshold": 0.02, "early_stopping": 7,
                         "weight_change": 1e-4, "optimizer": "nesterov",
                         "learning_rate": 0.3})
    kinds = [type(c) for c in criteria_for(settings, has_test=True)]
    assert kinds == [LossPlateau, ErrorRate, EarlyStopping, WeightChange]
    with pytest.raises(DescentValueError, match="no test points"):
        criteria_for(settings, has_test=False)
    optimizer = optimizer_for(settings, _network())
    assert optimizer.hyper["nesterov"] and optimizer.lr == 0.3
