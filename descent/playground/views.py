"""What the page draws, computed on the server from the network as it is: the output
heatmap on a fixed grid, a small map per unit, the confusion matrix, the weights.

Maps travel as base64 strings of uint8 arrays (row 0 at the top of the picture), a few
kilobytes a frame, so that the page only paints them.
"""

import base64

import numpy as np

from descent.nn.activations import Activation
from descent.nn.inspect import class_probabilities, layer_outputs, predict
from descent.nn.layers import Linear
from descent.playground.features import feature_matrix
from descent.training.metrics import confusion_matrix

OUTPUT_GRID = 100  # the output heatmap: 100 × 100 cells, as TensorFlow Playground's
UNIT_GRID = 20     # each unit's own map


def encoded(values):
    """A uint8 array as base64 text."""
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()) \
        .decode("ascii")


def grid(domain, size):
    """The centres of a size × size grid over ``domain`` (x1 from, to, x2 from, to),
    row by row from the top (largest x2) down."""
    x1 = np.linspace(domain[0], domain[1], size)
    x2 = np.linspace(domain[3], domain[2], size)
    return np.column_stack([np.tile(x1, size), np.repeat(x2, size)])


def output_map(model, features, domain, classification, target_range):
    """The network's output over the grid: for classification the class it picks and
    how sure it is (0 at an even split, 255 when certain); for regression its value
    scaled so that ``target_range`` spans 0 to 255."""
    inputs = feature_matrix(grid(domain, OUTPUT_GRID), features)
    if classification:
        probabilities = class_probabilities(model, inputs)
        k = probabilities.shape[1]
        sure = (probabilities.max(axis=1) - 1 / k) / (1 - 1 / k)
        return {"size": OUTPUT_GRID,
                "classes": encoded(probabilities.argmax(axis=1)),
                "confidence": encoded(np.round(np.clip(sure, 0, 1) * 255))}
    low, high = target_range
    values = predict(model, inputs)[:, 0].astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.nan_to_num(np.clip((values - low) / (high - low), 0, 1))
    return {"size": OUTPUT_GRID, "values": encoded(np.round(scaled * 255)),
            "low": low, "high": high}


def unit_positions(model):
    """For each ``Linear`` layer, the position in the ``Sequential`` of the module whose
    output is the layer's units' activations o_j (its activation, or itself)."""
    modules = list(model)
    positions = []
    for index, module in enumerate(modules):
        if isinstance(module, Linear):
            following = modules[index + 1] if index + 1 < len(modules) else None
            positions.append(index + 1 if isinstance(following, Activation) else index)
    return positions


def unit_maps(model, features, domain):
    """Every unit's activation over a small grid, inputs first: 0 is −1 or less, 128 is
    0, 255 is 1 or more (one scale for all units, as TensorFlow Playground draws them);
    each input feature over its own range on the grid (x1 runs from −6 to 6)."""
    inputs = feature_matrix(grid(domain, UNIT_GRID), features)
    largest = np.abs(inputs).max(axis=0)
    wanted = set(unit_positions(model))
    columns = [inputs / np.where(largest > 0, largest, 1.0)]
    for position, (_, _, out) in enumerate(layer_outputs(model, inputs)):
        if position in wanted:
            columns.append(out)
    values = np.concatenate(columns, axis=1).astype(np.float64)  # (cells, units)
    scaled = np.clip(np.nan_to_num(values), -1.0, 1.0)
    return {"size": UNIT_GRID,
            "maps": encoded(np.round((scaled.T + 1) * 127.5))}  # unit by unit


def weights(model):
    """Each dense layer's weights (W[i][j]: from unit i to unit j) and biases, rounded
    for the page."""
    layers = [m for m in model if isinstance(m, Linear)]
    return ([np.round(layer.weight.data.astype(np.float64), 5).tolist() for layer in layers],
            [np.round(layer.bias.data.astype(np.float64), 5).tolist()
             if layer.bias is not None else [0.0] * layer.out_features for layer in layers])


def confusion(model, inputs, labels, classes):
    """Counts C[i][j] of the points of class i the network puts in class j."""
    if not len(inputs):
        return None
    predicted = class_probabilities(model, inputs).argmax(axis=1)
    return confusion_matrix(labels, predicted, classes).tolist()
