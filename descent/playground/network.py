"""The playground's networks: built from the settings with descent's modules, and the
plain copy of one that ``descent.explain`` and spec files take.

The output layer follows from the problem and the loss, as the notes pair them:

=========================  =======  ==================  ===================
problem and loss           outputs  output activation   targets
=========================  =======  ==================  ===================
cross-entropy              k        softmax             class labels
squared error, 2 classes   1        sigmoid             0 and 1
squared error, k classes   k        softmax             one-hot rows
binary cross-entropy       1        sigmoid             0 and 1
regression                 1        none                the numbers
=========================  =======  ==================  ===================
"""

import copy
from dataclasses import dataclass

from descent.nn.activations import activation_module
from descent.nn.init import DEFAULT_FOR_ACTIVATION
from descent.nn.layers import Dropout, Linear, Sequential

DTYPE = "float32"


@dataclass(frozen=True)
class Output:
    """The output layer and how ``descent.train`` is to read the targets."""

    units: int
    activation: str  # "softmax", "sigmoid" or "identity"
    task: str  # for descent.train: "multiclass", "binary" or "regression"


def output_for(problem, loss, classes):
    """The output layer for a problem (``classes`` is None for regression)."""
    if problem == "regression":
        return Output(1, "identity", "regression")
    if loss == "binary_cross_entropy" or (loss in ("mse", "sse") and classes == 2):
        return Output(1, "sigmoid", "binary")
    return Output(classes, "softmax", "multiclass")


def build(inputs, hidden, activations, dropout, output, seed):
    """A ``Sequential``: per hidden layer ``Linear``, its activation and (when its rate
    is above 0) ``Dropout``, then the output layer; each weight matrix drawn by
    descent's default initialiser for the activation that follows it, biases 0."""
    sizes = [inputs, *hidden, output.units]
    following = [*activations, output.activation]
    modules = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(Linear(fan_in, fan_out, dtype=DTYPE,
                              init=DEFAULT_FOR_ACTIVATION[following[index]],
                              rng=seed + index))
        if following[index] != "identity" or index < len(hidden):
            modules.append(activation_module(following[index]))
        if index < len(hidden) and dropout[index] > 0:
            modules.append(Dropout(dropout[index], rng=seed + 1000 + index))
    return Sequential(*modules)


def layers_of(model):
    """The ``Linear`` layers of a network, first to last."""
    return [module for module in model if isinstance(module, Linear)]


def linear_names(model):
    """The parameter-name prefix (``"0"``, ``"3"``, ...) of each ``Linear`` layer, as
    ``descent.train`` records gradient norms (``"0.weight"``)."""
    return [name for name, module in model._modules.items() if isinstance(module, Linear)]


def without_dropout(model):
    """A copy of ``model`` with the same weights and no ``Dropout`` modules: the network
    as it computes in evaluation mode, which ``descent.explain`` can trace."""
    modules = []
    for module in model:
        if isinstance(module, Dropout):
            continue
        if isinstance(module, Linear):
            layer = Linear(module.in_features, module.out_features,
                           bias=module.bias is not None, dtype=module.weight.dtype.name,
                           init="zeros")
            layer.weight.data[...] = module.weight.data
            if module.bias is not None:
                layer.bias.data[...] = module.bias.data
            modules.append(layer)
        else:  # an activation: no parameters, only its setting (slope, alpha, axis)
            modules.append(copy.deepcopy(module))
    return Sequential(*modules)
