"""Looking inside a ``Sequential`` network: each layer's output, and dead ReLU units."""

from contextlib import closing

import numpy as np

from descent.autograd.functional import sigmoid, softmax
from descent.errors import DescentTypeError
from descent.nn.activations import Activation, ReLU
from descent.nn.layers import Sequential
from descent.autograd.tensor import no_grad


def predict(model, X):
    """``model(X)`` as an array, in evaluation mode (no dropout) and without a graph;
    the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return model(X).data
    finally:
        model.train(was_training)


def output_activation(model):
    """The name of the activation a ``Sequential`` ends in (``"softmax"``, ``"sigmoid"``,
    ...), or None when it ends in a plain layer (its outputs are scores)."""
    if isinstance(model, Sequential) and len(model) and isinstance(model[-1], Activation):
        return model[-1].name
    return None


def class_probabilities(model, X):
    """Class probabilities, shape (n, k), whatever the network ends in: its own softmax
    or sigmoid outputs as they are, or scores (a softmax over k > 1 outputs; for a single
    output, the sigmoid is the probability of class 1, beside 1 − p for class 0)."""
    output = predict(model, X).astype(np.float64)  # rows that sum to 1 in float64
    final = output_activation(model)
    if output.shape[-1] == 1:
        positive = output[:, 0] if final == "sigmoid" else sigmoid(output[:, 0]).data
        return np.column_stack([1 - positive, positive])
    if final == "softmax":
        return output / output.sum(axis=-1, keepdims=True)
    return output if final == "sigmoid" else softmax(output).data


_BLOCK_ELEMENTS = 262_144  # 1 MiB of float32 per layer output in the dead-unit check


def _require_sequential(model):
    if not isinstance(model, Sequential):
        raise DescentTypeError("layer-by-layer inspection needs a Sequential (or MLP) model")


def layer_outputs(model, X):
    """Yield ``(name, module, output ndarray)`` for every layer of a ``Sequential`` on
    ``X``, one layer at a time (only the current layer's output is held in memory)."""
    _require_sequential(model)
    was_training = model.training
    model.eval()  # no dropout, and no random numbers drawn from the run's generators
    try:
        with no_grad():
            x = X
            for name, module in model._modules.items():
                x = module(x)
                yield name, module, x.data
    finally:
        model.train(was_training)


def dead_unit_fractions(model, X, rows_at_a_time=None):
    """For each ReLU layer, the fraction of its units that output 0 for every row of X.

    Such a unit gets no gradient from these examples (ReLU's derivative is 0 for z ≤ 0):
    the "dying ReLU" problem. Returns ``{layer name: fraction}`` (empty without ReLUs).
    The rows go through the network ``rows_at_a_time`` at a time (by default as many as
    keep each layer's output near ``_BLOCK_ELEMENTS`` numbers), so the check needs little
    memory whatever the size of X.
    """
    _require_sequential(model)
    relus = [name for name, module in model._modules.items() if isinstance(module, ReLU)]
    if rows_at_a_time is None:
        widest = max([np.shape(X)[-1]] + [p.shape[-1] for p in model.parameters() if p.ndim])
        rows_at_a_time = max(1, _BLOCK_ELEMENTS // widest)
    if np.ndim(X) < 2:  # one example given as a vector: one row
        X = np.reshape(X, (1, -1))
    alive = {}
    for start in range(0, max(len(X), 1) if relus else 0, rows_at_a_time):
        with closing(layer_outputs(model, X[start:start + rows_at_a_time])) as outputs:
            for name, _, out in outputs:  # up to the last ReLU, no further
                if name in relus:
                    seen = np.any(out > 0, axis=0)
                    alive[name] = seen if name not in alive else alive[name] | seen
                    if name == relus[-1]:
                        break
    return {name: float(np.mean(~seen)) for name, seen in alive.items()}
