"""Counting parameters and printing a layer-by-layer summary of a network."""

import numpy as np

from descent.nn.layers import Linear, Sequential
from descent.autograd.tensor import no_grad


def count_parameters(model, trainable_only=False):
    """The number of learnable numbers in ``model`` (frozen ones too, unless told).

    Examples
    --------
    >>> import descent
    >>> count_parameters(descent.nn.Linear(2, 1024))   # 2·1024 weights + 1024 biases
    3072
    """
    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)


def _first_in_features(model):
    for module in model.modules():
        if isinstance(module, Linear):
            return module.in_features
    return None


def summary(model, in_features=None):
    """A table of layers, output shapes and parameter counts, ending with the totals.

    Examples
    --------
    >>> import descent
    >>> print(summary(descent.nn.MLP([3, 2, 1], "sigmoid", "sigmoid")))  # doctest: +NORMALIZE_WHITESPACE
    layer              output shape   parameters
    0: Linear(3 → 2)   (n, 2)         8
    1: Sigmoid         (n, 2)         0
    2: Linear(2 → 1)   (n, 1)         3
    3: Sigmoid         (n, 1)         0
    total parameters: 11 (trainable: 11)
    """
    in_features = in_features or _first_in_features(model)
    layers = list(model) if isinstance(model, Sequential) else [model]
    x = np.zeros((1, in_features)) if in_features else None
    rows = [("layer", "output shape", "parameters")]
    was_training = model.training
    model.eval()
    with no_grad():
        for index, layer in enumerate(layers):
            name = type(layer).__name__
            if isinstance(layer, Linear):
                name = f"Linear({layer.in_features} → {layer.out_features})"
            shape = "?"
            if x is not None:
                x = layer(x)
                shape = "(n, " + ", ".join(str(s) for s in x.shape[1:]) + ")"
            rows.append((f"{index}: {name}", shape, str(count_parameters(layer))))
    model.train(was_training)
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in rows]
    lines.append(f"total parameters: {count_parameters(model)} "
                 f"(trainable: {count_parameters(model, trainable_only=True)})")
    return "\n".join(lines)
