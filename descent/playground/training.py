"""What ``descent.train`` is given for the playground's settings: the optimiser, the loss
(with TensorFlow Playground's L1 or L2 penalty on the weights when one is chosen) and
the stopping criteria.
"""

from descent.errors import DescentValueError
from descent.losses.penalty import Penalized
from descent.optim.optimizers import get_optimizer
from descent.playground.network import layers_of
from descent.playground.settings import OPTIMIZERS
from descent.training.stopping import EarlyStopping, ErrorRate, LossPlateau, WeightChange

PLATEAU_TOLERANCE = 1e-4


def optimizer_for(settings, model):
    """A fresh optimiser of the kind and learning rate the settings name."""
    name, options = OPTIMIZERS[settings["optimizer"]]
    return get_optimizer(name, model.parameters(), lr=settings["learning_rate"], **options)


def loss_for(settings, model, output):
    """The loss ``descent.train`` minimises: the named data loss, or — with L1 or L2
    regularisation — that loss plus rate · Σ|w| or rate · ½Σw² over the weights (not
    the biases), as TensorFlow Playground penalises them."""
    name, kind, rate = settings["loss"], settings["regularization"], \
        settings["regularization_rate"]
    if kind == "none" or rate == 0:
        return name
    return Penalized(name, [layer.weight for layer in layers_of(model)], **{kind: rate})


def criteria_for(settings, has_test):
    """The stopping criteria the settings turn on (``descent.stopping``); the maximum
    number of epochs is ``train``'s own ``epochs``."""
    stop = []
    if settings["plateau_patience"]:
        stop.append(LossPlateau(PLATEAU_TOLERANCE, settings["plateau_patience"]))
    if settings["error_threshold"]:
        stop.append(ErrorRate(settings["error_threshold"]))
    if settings["early_stopping"]:
        if not has_test:
            raise DescentValueError("early stopping watches the test loss, and there are no "
                                    "test points: lower the ratio of training points")
        stop.append(EarlyStopping("val_loss", settings["early_stopping"]))
    if settings["weight_change"]:
        stop.append(WeightChange(settings["weight_change"]))
    return stop
