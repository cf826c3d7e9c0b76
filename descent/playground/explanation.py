"""One update, explained: ``descent.explain`` on a copy of the page's network, written out
by ``descent.trace_report`` in the notes' notation, and every number keyed by where it
sits on the page (layer, unit, link) so that clicking a unit or a link can show it.
"""

from dataclasses import dataclass

import numpy as np

from descent.playground.features import LABELS
from descent.playground.network import without_dropout
from descent.playground.settings import OPTIMIZERS
from descent.teach.explain import explain, network_layers, spec_from_network, trace_report

MAX_EXAMPLES = 32  # a batch explained is written out example by example


@dataclass
class Step:
    """What explain is given: the network (without dropout), the inputs (feature
    columns) and targets of the examples, and the update's settings."""

    model: object
    x: np.ndarray
    target: object
    loss: str
    lr: float
    optimizer: str
    options: dict


def step_for(model, output, settings, inputs, labels):
    """The ``Step`` for rows ``inputs`` (feature columns) with labels or targets
    ``labels``: class labels for cross-entropy, 0/1 for one sigmoid output, one-hot rows
    for squared error on a softmax, numbers for regression."""
    labels = np.asarray(labels)
    if output.task == "multiclass" and settings["loss"] == "cross_entropy":
        target = labels.astype(np.float64)
    elif output.task == "multiclass":
        target = np.eye(output.units)[labels.astype(np.intp)]
    else:
        target = labels.astype(np.float64).reshape(-1, 1)
    name, options = OPTIMIZERS[settings["optimizer"]]
    return Step(without_dropout(model), np.asarray(inputs, dtype=np.float64), target,
                settings["loss"], settings["learning_rate"], name, dict(options))


def notes_for(model, settings, features, examples):
    """What the page says beside the derivation: which units are which features, and
    where the explained step differs from the one training will take."""
    names = ", ".join(f"unit {i} is {LABELS[f]}" for i, f in enumerate(features, start=1))
    notes = [f"The inputs are the chosen features: {names}."]
    if any(rate > 0 for rate in settings["dropout"]):
        notes.append("Dropout is left out: this is the network as it computes in evaluation "
                     "mode (explain traces dense layers and activations only).")
    if settings["optimizer"] != "sgd":
        notes.append(f"The {settings['optimizer']} update starts from a fresh optimiser "
                     "state (no momentum or moments yet), as on the first step.")
    if settings["regularization"] != "none" and settings["regularization_rate"] > 0:
        notes.append(f"The {settings['regularization'].upper()} penalty is left out: "
                     "∂E/∂w here is the data loss's gradient alone.")
    if examples > 1:
        notes.append(f"A batch of {examples} examples: each example's gradient, then their "
                     "mean, which the update uses.")
    notes.append("This runs on a copy: the network on the page has not changed.")
    return notes


def explained(step, notes, title):
    """The explanation as the page shows it: the report as text, and per unit and per
    parameter the numbers (z, o, e; value, gradient, new value)."""
    x = step.x if len(step.x) > 1 else step.x[0]
    target = step.target if len(step.x) > 1 else step.target[0]
    traces = explain(step.model, x, target, loss=step.loss, lr=step.lr,
                     optimizer=step.optimizer, optimizer_options=step.options)
    trace = traces[0]
    layers = network_layers(step.model)
    where = {unit: (0, index) for index, unit in enumerate(layers[0].inputs)}
    for depth, layer in enumerate(layers, start=1):
        where.update({unit: (depth, index) for index, unit in enumerate(layer.units)})
    units = [{"layer": where[u["unit"]][0], "index": where[u["unit"]][1], "unit": u["unit"],
              "z": u["net_input"], "o": u["activation"], "e": u["error"]}
             for u in trace.units]
    # explain lists each layer's weights (input by input, unit by unit), then its biases
    rows = iter(trace.weights)
    parameters = []
    for depth, layer in enumerate(layers, start=1):
        for i in range(len(layer.inputs)):
            for j in range(len(layer.units)):
                parameters.append({"kind": "weight", "layer": depth, "from": i, "to": j,
                                   **_numbers(next(rows))})
        if layer.linear.bias is not None:
            for j in range(len(layer.units)):
                parameters.append({"kind": "bias", "layer": depth, "to": j,
                                   **_numbers(next(rows))})
    report = trace_report(traces, title=title, notes=notes)
    return {"text": report.render("text"), "units": units, "parameters": parameters,
            "loss_before": trace.loss_before, "loss_after": trace.loss_after,
            "examples": len(trace.examples)}


def _numbers(row):
    return {"name": row["name"], "value": row["value"], "gradient": row["gradient"],
            "new_value": row["new_value"]}


def spec_of(step):
    """The ``descent explain --spec`` JSON of the step (its first example, or the batch)."""
    x = step.x if len(step.x) > 1 else step.x[0]
    target = step.target if len(step.x) > 1 else step.target[0]
    if step.loss == "cross_entropy":
        target = np.asarray(target).tolist()
    spec = spec_from_network(step.model, x, target, loss=step.loss, lr=step.lr)
    if step.optimizer != "sgd" or step.options:
        spec["optimizer"] = {"name": step.optimizer, **step.options}
    return spec
