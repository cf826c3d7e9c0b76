"""Optimisers (pure update functions and the classes that apply them) and learning-rate
schedules (``descent.optim.schedules``)."""

from descent.optim import schedules
from descent.optim.scipy_lbfgs import minimize_lbfgs_b
from descent.optim.optimizers import (
    LBFGS,
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    AdamW,
    Optimizer,
    RMSProp,
    adagrad_update,
    adam_update,
    get_optimizer,
    rmsprop_update,
    sgd_update,
)

__all__ = [
    "LBFGS", "OPTIMIZERS", "SGD", "AdaGrad", "Adam", "AdamW", "Optimizer", "RMSProp",
    "minimize_lbfgs_b",
    "adagrad_update", "adam_update", "get_optimizer", "rmsprop_update", "schedules",
    "sgd_update",
]
