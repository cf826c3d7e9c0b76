"""One step of backpropagation, the way the lecture notes write it out.

Units are numbered as in the notes: the inputs 1..n, then the first hidden layer's
units, and so on to the outputs. For every unit j: its net input z_j (the notes' i_j),
its activation o_j and its error term e_j = ∂E/∂z_j; for every weight w_ij (from unit i
to unit j) and bias b_j: the gradient ∂E/∂w_ij = e_j·o_i and the new value w − η·∂E/∂w.
The numbers come from descent's own engine (forward pass, ``backward()``, update), not
from separate formulas.
"""

import inspect
import json
import math
import sys
from dataclasses import dataclass, field
from typing import NamedTuple
from pathlib import Path

import numpy as np

from descent import losses as losses_module
from descent.errors import DescentTypeError, DescentValueError
from descent.nn.activations import Activation, activation_module
from descent.nn.layers import Linear, Sequential
from descent.optim.optimizers import OPTIMIZERS, get_optimizer
from descent.teach.derive import derivation, supported
from descent.teach.mathtext import EQ, GETS, MINUS, TIMES, Math, Partial, Sym, Text, written
from descent.teach.report import Report, Table
from descent.autograd.tensor import no_grad, tensor
from descent.training.loop import infer_task


def _weight_name(i, j):
    return f"w{i}{j}" if i < 10 and j < 10 else f"w{i},{j}"


@dataclass
class Layer:
    """A dense layer of the traced network and the unit numbers it connects."""

    linear: Linear
    activation: object
    inputs: list
    units: list


@dataclass
class StepTrace:
    """Everything one training step computed (see the module docstring).

    ``units`` are the first example's units; ``examples`` holds every example's input,
    target, units, loss and output; ``weights`` one row per weight and bias with its
    value, the mean gradient, each example's gradient, the optimiser's state for it before
    and after the step, and the new value. ``network``, ``loss``, ``optimizer`` and ``lr``
    say what was computed, so that the step can be written out again (descent.teach.derive).
    """

    step: int
    units: list = field(default_factory=list)
    weights: list = field(default_factory=list)
    loss_before: float = None
    loss_after: float = None
    output: list = None
    examples: list = field(default_factory=list)
    network: list = field(default_factory=list)
    loss: str = None
    optimizer: dict = field(default_factory=dict)
    lr: float = None


def network_layers(model):
    """Split a ``Sequential`` into dense layers, each with its activation (or None)."""
    if not isinstance(model, Sequential):
        raise DescentTypeError("explain needs a Sequential network (e.g. descent.nn.MLP)")
    modules = list(model)
    layers, next_unit, index = [], 1, 0
    while index < len(modules):
        module = modules[index]
        if not isinstance(module, Linear):
            raise DescentTypeError(
                f"explain traces dense networks: expected a Linear layer at position {index}, "
                f"found {type(module).__name__}"
            )
        activation = None
        if index + 1 < len(modules) and isinstance(modules[index + 1], Activation):
            activation = modules[index + 1]
        if not layers:
            inputs = list(range(next_unit, next_unit + module.in_features))
            next_unit += module.in_features
        else:
            inputs = layers[-1].units
            if len(inputs) != module.in_features:
                raise DescentValueError(
                    f"layer at position {index} takes {module.in_features} inputs but the "
                    f"previous layer has {len(inputs)} units"
                )
        units = list(range(next_unit, next_unit + module.out_features))
        next_unit += module.out_features
        layers.append(Layer(module, activation, inputs, units))
        index += 2 if activation is not None else 1
    return layers


def _forward(layers, x):
    """Net inputs and activations per layer, as graph tensors that keep their gradients."""
    values = []
    signal = x
    for layer in layers:
        net = layer.linear(signal)
        if net.requires_grad:
            net.retain_grad()
        signal = layer.activation(net) if layer.activation is not None else net
        values.append((net, signal))
    return values


def _describe(layer):
    """A layer as data: its unit numbers, activation (and its setting) and bias."""
    activation = layer.activation
    setting = getattr(activation, "negative_slope", getattr(activation, "alpha", None))
    return {"inputs": list(layer.inputs), "units": list(layer.units),
            "activation": activation.name if activation is not None else "identity",
            "setting": setting, "bias": layer.linear.bias is not None}


# Optimisers whose step explain writes out, element by element.
EXPLAINED_OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
MAX_EXPLAINED_EXAMPLES = 256


def _examples(layers, x, target, loss_fn, dtype):
    """Inputs as rows (one example, or a batch of them) and a target row per example."""
    x = np.asarray(x, dtype=dtype)
    batch = x.ndim == 2
    if x.ndim > 2 or x.size == 0:
        raise DescentValueError(f"the input must be one example (a list of numbers) or a "
                                f"batch (a list of examples), got shape {x.shape}")
    x = x if batch else x.reshape(1, -1)
    width = len(layers[0].inputs)
    if x.shape[1] != width:
        what = f"each example has {x.shape[1]} values" if batch else \
            f"the input has {x.shape[1]} values"
        raise DescentValueError(f"{what}, the network takes {width}")
    if len(x) > MAX_EXPLAINED_EXAMPLES:
        raise DescentValueError(f"the batch has {len(x):,} examples; explain writes out each "
                                f"one and takes at most {MAX_EXPLAINED_EXAMPLES}")
    outputs = len(layers[-1].units)
    labels = infer_task(loss_fn) == "multiclass" and outputs > 1
    target = np.asarray(target, dtype=dtype)
    if labels and target.size == len(x):
        # one class label per example for a multi-class loss: labels, not probability rows
        return x, target.reshape(-1, 1).astype(np.intp)
    if target.size != len(x) * outputs:
        raise DescentValueError(f"the target has {target.size} values; {len(x)} example(s) "
                                f"of a network with {outputs} output(s) need "
                                f"{len(x) * outputs}" + (" (or one class label each)"
                                                         if labels else ""))
    return x, target.reshape(len(x), outputs)


def _optimizer(name, parameters, lr, options):
    if not isinstance(name, str) or name.lower() not in EXPLAINED_OPTIMIZERS:
        raise DescentValueError(f"explain writes out the steps of {', '.join(EXPLAINED_OPTIMIZERS)}"
                                f" (optimisers that update each weight on its own); got "
                                f"optimizer {name!r}")
    cls = OPTIMIZERS[name.lower()]
    allowed = [p for p in inspect.signature(cls.__init__).parameters
               if p not in ("self", "params", "lr")]
    options = dict(options or {})
    if "lr" in options:
        raise DescentValueError("give the learning rate as learning_rate (or lr=), not as an "
                                "optimizer setting")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DescentValueError(f"optimizer {name.lower()!r} has no setting {unknown[0]!r}; its "
                                f"settings are {', '.join(allowed)}")
    return get_optimizer(name.lower(), parameters, lr=lr, **options)


def explain(model, x, target, loss="sse", lr=0.1, steps=1, frozen=(), optimizer="sgd",
            optimizer_options=None):
    """Run ``steps`` steps of gradient descent on one example or a batch and record every
    number.

    Parameters
    ----------
    model : Sequential
        Dense layers, each optionally followed by an activation module. It is trained
        in place (its weights change, as in the notes).
    x, target : sequence of float, or sequence of sequences
        One input example and its target, or a batch: one row per example (and one
        target row, or class label, per example). A batch step uses the mean of the
        examples' gradients, as batch and mini-batch gradient descent do.
    loss : str or callable
        ``"sse"`` (the notes' E = ½Σ(t − o)²) by default.
    lr : float
        The learning rate η.
    steps : int
        How many steps to take (each on the same examples).
    frozen : iterable of str
        Weight or bias names (``"w24"``, ``"b5"``) that keep their values.
    optimizer : str
        ``"sgd"`` (w ← w − η·∂E/∂w) or ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``.
    optimizer_options : dict, optional
        Their settings, e.g. ``{"momentum": 0.9, "nesterov": True}`` or
        ``{"betas": (0.9, 0.999)}``.

    Returns
    -------
    list of StepTrace

    Examples
    --------
    >>> import descent
    >>> net = descent.nn.MLP([2, 1], output="sigmoid", init="zeros")
    >>> trace = explain(net, [1.0, 0.0], [1.0], lr=0.5)
    >>> [round(u["activation"], 3) for u in trace[0].units]
    [1.0, 0.0, 0.5]
    """
    layers = network_layers(model)
    loss_fn = losses_module.get_loss(loss)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise DescentValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not 1 <= steps <= MAX_EXPLAINED_STEPS:
        raise DescentValueError(f"steps must be from 1 to {MAX_EXPLAINED_STEPS:,} (each is "
                                f"written out), got {steps}")
    dtype = layers[0].linear.weight.dtype
    x, targets = _examples(layers, x, target, loss_fn, dtype)
    known = {name for layer in layers for name in _parameter_names(layer)}
    unknown = sorted(set(frozen) - known)
    if unknown:
        raise DescentValueError(f"frozen names {unknown} are not weights or biases of this "
                                f"network; names look like {sorted(known)[:4]}")
    entries = [entry for layer in layers for entry in _entries(layer)]
    parameters = list(dict.fromkeys(id(p) for _, p, _ in entries))
    by_id = {id(p): p for _, p, _ in entries}
    opt = _optimizer(optimizer, [by_id[i] for i in parameters], lr, optimizer_options)
    settings = {"name": optimizer.lower(), **opt.hyper}
    network = [_describe(layer) for layer in layers]
    traces = []
    for step in range(1, steps + 1):
        trace = StepTrace(step, network=network, optimizer=settings, lr=float(lr),
                          loss=loss if isinstance(loss, str) else None)
        gradients = {i: [] for i in parameters}
        for row, row_target in zip(x, targets):
            model.zero_grad()
            values = _forward(layers, tensor(row.reshape(1, -1)))
            output = values[-1][1]
            loss_value = loss_fn(output, row_target.reshape(1, -1) if row_target.dtype.kind
                                 == "f" else row_target)
            loss_value.backward()
            trace.examples.append({"input": row.tolist(), "target": row_target.tolist(),
                                   "units": _units(row, layers, values),
                                   "loss": loss_value.item(),
                                   "output": output.data[0].tolist()})
            for i in parameters:
                grad = by_id[i].grad
                gradients[i].append(np.zeros_like(by_id[i].data) if grad is None
                                    else grad.copy())
        first = trace.examples[0]
        trace.units, trace.output = first["units"], first["output"]
        trace.loss_before = float(np.mean([e["loss"] for e in trace.examples]))
        trace.weights = _step(opt, entries, gradients, set(frozen))
        with no_grad():
            trace.loss_after = float(np.mean([
                loss_fn(_forward(layers, tensor(row.reshape(1, -1)))[-1][1],
                        row_target.reshape(1, -1) if row_target.dtype.kind == "f"
                        else row_target).item()
                for row, row_target in zip(x, targets)]))
        traces.append(trace)
    return traces


def _units(row, layers, values):
    units = [{"unit": i + 1, "layer": 0, "net_input": None, "activation": float(v),
              "error": None} for i, v in enumerate(row)]
    for depth, (layer, (net, out)) in enumerate(zip(layers, values), start=1):
        for k, unit in enumerate(layer.units):
            units.append({"unit": unit, "layer": depth, "net_input": float(net.data[0, k]),
                          "activation": float(out.data[0, k]),
                          "error": None if net.grad is None else float(net.grad[0, k])})
    return units


def _parameter_names(layer):
    return [name for name, _, _ in _entries(layer)]


def _entries(layer):
    """``(name, parameter, index)`` for every weight and bias of ``layer``."""
    weight, bias = layer.linear.weight, layer.linear.bias
    entries = [(_weight_name(i, j), weight, (a, b)) for a, i in enumerate(layer.inputs)
               for b, j in enumerate(layer.units)]
    if bias is not None:
        entries += [(f"b{j}", bias, (b,)) for b, j in enumerate(layer.units)]
    return entries


def _state_at(state, index):
    """The optimiser's state for one element: arrays read at ``index``, counts as they are."""
    return {key: float(value[index]) if isinstance(value, np.ndarray) else value
            for key, value in state.items()}


def _step(opt, entries, gradients, frozen):
    """One optimiser step on the mean gradient; a row per weight and bias."""
    means = {id(p): np.mean(gradients[id(p)], axis=0).astype(p.data.dtype) for p in opt.params}
    for p in opt.params:
        p.grad = means[id(p)].copy()  # frozen entries are zeroed in the copy only
    keep = [(p, index) for name, p, index in entries if name in frozen or not p.requires_grad]
    for p, index in keep:
        p.grad[index] = 0.0
    before = {id(p): (p.data.copy(), _copy_state(state))
              for p, state in zip(opt.params, opt.state)}
    opt.step()
    for p, index in keep:
        p.data[index] = before[id(p)][0][index]
    states = {id(p): state for p, state in zip(opt.params, opt.state)}
    rows = []
    for name, p, index in entries:
        old, old_state = before[id(p)]
        rows.append({"name": name, "value": float(old[index]),
                     "gradient": float(means[id(p)][index]),
                     "per_example": [float(g[index]) for g in gradients[id(p)]],
                     "new_value": float(p.data[index]),
                     "frozen": name in frozen or not p.requires_grad,
                     "state_before": _state_at(old_state, index),
                     "state_after": _state_at(states[id(p)], index)})
    return rows


def _copy_state(state):
    return {key: value.copy() if isinstance(value, np.ndarray) else value
            for key, value in state.items()}


def _loss_digits(before, after, digits):
    """Enough decimals to see the loss change from ``before`` to ``after``."""
    places = digits
    while places < 12 and written(before, places) == written(after, places) \
            and before != after:
        places += 1
    return places


def _update_caption(optimizer):
    if optimizer["name"] == "sgd" and not optimizer.get("momentum"):
        return Math(Text("Update "), Sym("w"), GETS, Sym("w"), MINUS, Sym("eta"), TIMES,
                    Partial(Sym("E"), Sym("w")))
    return f"Update by {optimizer['name']}"


def trace_report(traces, title="One step of backpropagation", notes=(), digits=4,
                 rounding=None):
    """A ``Report`` of what ``explain`` recorded: the steps written out as the notes derive
    them (each net input, activation, error term, gradient and update), then tables of
    every number.

    Parameters
    ----------
    digits : int
        Decimals shown (trailing zeros dropped).
    rounding : descent.teach.derive.Rounding, optional
        Round as the notes do, each value computed from the rounded ones before it
        (``NOTES_ROUNDING``: z and o to 3 decimals, e and gradients to 4, ...); the
        tables keep the engine's exact numbers.
    """
    if not 2 <= digits <= 15:
        raise DescentValueError(f"digits must be from 2 to 15, got {digits!r}")
    report = Report(title, data={"steps": [t.__dict__ for t in traces]})
    report.add(*notes)
    fmt = f"{{:.{digits}f}}"

    def show(value):
        return "" if value is None else written(value, digits, strip=False) \
            if math.isfinite(value) else fmt.format(value)

    why_not = supported(traces[0])
    if rounding:
        report.add("The derivation rounds as the notes do, each value from the rounded ones "
                   "before it; the step's loss and the tables keep the engine's exact numbers.")
    elif not why_not:
        report.add(f"Numbers are shown to {digits} decimals; each result is worked out from "
                   "the exact values, so a calculator fed the shown numbers can differ in the "
                   "last digit (--round-as-notes rounds as you go, as the notes do).")
    if why_not:
        report.add(f"(No derivation: {why_not}; the tables below hold every number.)")
        blocks = []
    else:
        blocks, values = derivation(traces, rounding, digits)
        report.data["derivation"] = values
    for trace in traces:
        places = _loss_digits(trace.loss_before, trace.loss_after, digits)
        report.add(f"Step {trace.step}: loss E before = "
                   f"{written(trace.loss_before, places, strip=False)}, "
                   f"after = {written(trace.loss_after, places, strip=False)}"
                   + (f" (the mean over {len(trace.examples)} examples)"
                      if len(trace.examples) > 1 else ""))
        count = len(blocks) // len(traces)
        report.add(*blocks[(trace.step - traces[0].step) * count:
                           (trace.step - traces[0].step + 1) * count])
        for number, example in enumerate(trace.examples, start=1):
            caption = "Forward pass and error terms" + (
                f" (example {number})" if len(trace.examples) > 1 else "")
            report.add(Table(["unit", "layer", Math(Sym("z", "j")), Math(Sym("o", "j")),
                              Math(Sym("e", "j"), EQ, Partial(Sym("E"), Sym("z", "j")))],
                             [[u["unit"], u["layer"], show(u["net_input"]),
                               show(u["activation"]), show(u["error"])]
                              for u in example["units"]], caption=caption))
        report.add(Table(["parameter", "value",
                          Math(Partial(Sym("E"), Sym("w"))), "new value"],
                         [[Math(Sym(w["name"][0], w["name"][1:]))
                           if not w["frozen"] else w["name"] + " (frozen)", show(w["value"]),
                           show(w["gradient"]), show(w["new_value"])] for w in trace.weights],
                         caption=_update_caption(trace.optimizer)))
    return report


# ------------------------------------------------------------------------ spec files
# explain writes out every weight and every step: a network for the blackboard
MAX_EXPLAINED_PARAMETERS = 100_000
MAX_EXPLAINED_STEPS = 10_000
MAX_SPEC_BYTES = 16 * 1024 * 1024
SPEC_FIELDS = ("layers", "activations", "weights", "biases", "loss", "learning_rate",
               "input", "target", "frozen", "optimizer")


class Setup(NamedTuple):
    """A network and what to explain on it, as a spec describes them."""

    model: Sequential
    x: np.ndarray
    target: np.ndarray
    loss: str
    lr: float
    frozen: list
    optimizer: tuple = ("sgd", {})

    def trace(self, steps=1):
        """Run ``explain`` on this setup."""
        name, settings = self.optimizer
        return explain(self.model, self.x, self.target, self.loss, self.lr, steps,
                       self.frozen, name, settings)


def _spec_error(field_name, problem):
    return DescentValueError(f"spec field {field_name!r}: {problem}")


def network_from_spec(spec):
    """Build a ``Setup`` (model, x, target, loss, lr, frozen, optimizer) from a spec.

    The format (JSON): ``layers`` — unit counts from inputs to outputs, e.g. [3, 2, 1];
    ``activations`` — one name per non-input layer; ``weights`` — per layer a matrix
    W[i][j] from unit i of the layer below to unit j; ``biases`` — per layer a list;
    ``loss`` (default "sse"); ``learning_rate``; ``input`` — one example, or a list of
    examples for a batch step; ``target`` — one per example (a list of numbers, or a class
    label); ``frozen`` — optional names such as "w24" or "b5"; ``optimizer`` — optional,
    a name or an object such as {"name": "adam", "betas": [0.9, 0.999]}.
    """
    if not isinstance(spec, dict):
        raise DescentValueError("a spec must be a JSON object with the fields "
                                f"{', '.join(SPEC_FIELDS)}")
    unknown = sorted(set(spec) - set(SPEC_FIELDS))
    if unknown:
        raise _spec_error(unknown[0], f"unknown field; the fields are {', '.join(SPEC_FIELDS)}")
    for name in ("layers", "weights", "learning_rate", "input", "target"):
        if name not in spec:
            raise _spec_error(name, "missing")
    sizes = spec["layers"]
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                       for s in sizes)):
        raise _spec_error("layers", "must list at least two positive unit counts, e.g. [3, 2, 1]")
    parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if parameters > MAX_EXPLAINED_PARAMETERS:
        raise _spec_error("layers", f"{sizes} has {parameters:,} weights and biases; explain "
                                    f"writes out every one, and takes at most "
                                    f"{MAX_EXPLAINED_PARAMETERS:,}")
    depth = len(sizes) - 1
    activations = spec.get("activations", ["sigmoid"] * depth)
    if not isinstance(activations, list) or len(activations) != depth:
        raise _spec_error("activations", f"must list {depth} activation names")
    biases = spec.get("biases", [[0.0] * n for n in sizes[1:]])
    for field_name, values in (("weights", spec["weights"]), ("biases", biases)):
        if not isinstance(values, list) or len(values) != depth:
            raise _spec_error(field_name, f"must have one entry per layer ({depth})")
    modules = []
    for k in range(depth):
        layer = Linear(sizes[k], sizes[k + 1], dtype="float64", init="zeros")
        for field_name, values, shape, parameter in (
                ("weights", spec["weights"][k], (sizes[k], sizes[k + 1]), layer.weight),
                ("biases", biases[k], (sizes[k + 1],), layer.bias)):
            try:
                array = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                raise _spec_error(f"{field_name}[{k}]", "must hold numbers") from None
            if array.shape != shape:
                raise _spec_error(f"{field_name}[{k}]",
                                  f"expected shape {shape}, got {array.shape}")
            if not np.all(np.isfinite(array)):
                raise _spec_error(f"{field_name}[{k}]", "must be finite numbers")
            parameter.data[...] = array
        modules.append(layer)
        if activations[k] not in (None, "identity"):
            try:
                modules.append(activation_module(activations[k]))
            except DescentValueError as error:
                raise _spec_error(f"activations[{k}]", str(error)) from None
    lr = spec["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise _spec_error("learning_rate", f"must be a finite number > 0, got {lr!r}")
    loss = spec.get("loss", "sse")
    try:
        label_target = infer_task(losses_module.get_loss(loss)) == "multiclass"
    except DescentValueError as error:
        raise _spec_error("loss", str(error)) from None
    x = _spec_rows(spec, "input", sizes[0])
    target = _spec_targets(spec, sizes[-1], len(x), label_target)
    frozen = spec.get("frozen", [])
    if not isinstance(frozen, list) or not all(isinstance(n, str) for n in frozen):
        raise _spec_error("frozen", "must be a list of names such as \"w24\" or \"b5\"")
    batch = isinstance(spec["input"], list) and any(isinstance(v, list) for v in spec["input"])
    return Setup(Sequential(*modules), x if batch else x[0],
                 target if batch else target[0], loss, float(lr), frozen,
                 _spec_optimizer(spec.get("optimizer", "sgd")))


def _spec_rows(spec, field_name, size):
    """One example (a list of numbers) or a batch (a list of such lists) as rows."""
    values = spec[field_name]
    batch = isinstance(values, list) and any(isinstance(v, list) for v in values)
    if batch:
        lengths = sorted({len(v) if isinstance(v, list) else -1 for v in values})
        if lengths[0] < 0:
            raise _spec_error(field_name, "a batch is a list of examples, each a list of "
                                          "numbers")
        if len(lengths) > 1:
            raise _spec_error(field_name, f"the examples have different numbers of values "
                                          f"({', '.join(map(str, lengths))}); each needs {size}")
    try:
        rows = np.asarray(values if batch else [values], dtype=np.float64)
    except (TypeError, ValueError):
        raise _spec_error(field_name, "must be a list of numbers, or a list of such lists "
                                      "(one per example)") from None
    if rows.ndim != 2 or rows.shape[1] != size:
        got = rows.shape[1] if rows.ndim == 2 else "lists of different lengths"
        raise _spec_error(field_name, f"expected {size} values per example, got {got}")
    if len(rows) > MAX_EXPLAINED_EXAMPLES:
        raise _spec_error(field_name, f"{len(rows):,} examples; explain writes out each one "
                                      f"and takes at most {MAX_EXPLAINED_EXAMPLES}")
    if not np.all(np.isfinite(rows)):
        raise _spec_error(field_name, "must be finite numbers")
    return rows


def _spec_targets(spec, outputs, examples, label_target):
    """A target row, or a class label, per example."""
    values = spec["target"]
    if label_target and outputs > 1:
        flat = np.asarray(values, dtype=object).ravel()
        if flat.size == examples:
            labels = _spec_rows({"target": [[v] for v in flat.tolist()]}, "target", 1)
            for label in labels[:, 0]:
                if not (label == int(label) and 0 <= label < outputs):
                    raise _spec_error("target", f"a class label must be a whole number in "
                                                f"0..{outputs - 1}, got {label:g}")
            return labels
    if examples > 1 and not (isinstance(values, list) and len(values) == examples):
        got = len(values) if isinstance(values, list) else 1
        raise _spec_error("target", f"expected one target per example ({examples}), got {got}")
    rows = _spec_rows(spec, "target", outputs) if examples == 1 else \
        _spec_rows({"target": [v if isinstance(v, list) else [v] for v in values]},
                   "target", outputs)
    return rows


def _spec_optimizer(value):
    """``"adam"`` or ``{"name": "sgd", "momentum": 0.9}`` as (name, settings)."""
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        settings = {k: v for k, v in value.items() if k != "name"}
        if "betas" in settings and isinstance(settings["betas"], list):
            settings["betas"] = tuple(settings["betas"])
        return value["name"], settings
    raise _spec_error("optimizer", "must be a name (\"sgd\", \"adam\", ...) or an object "
                                   "{\"name\": ..., settings}, e.g. {\"name\": \"sgd\", "
                                   "\"momentum\": 0.9}")


def load_spec(path):
    """Read a spec file (JSON); errors name the file and the field."""
    path = Path(path)
    if path.is_dir():
        raise DescentValueError(f"spec file {path} is a folder, not a file")
    if path.exists() and not path.is_file():
        raise DescentValueError(f"spec file {path} is not a regular file")
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise DescentValueError(f"spec file {path} has {size:,} bytes; a spec of a "
                                    f"network small enough to explain has at most "
                                    f"{MAX_SPEC_BYTES:,}")
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise DescentValueError(f"cannot read spec file {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise DescentValueError(f"spec file {path} is not UTF-8 text (byte {error.start} "
                                "cannot be decoded); save it as UTF-8 JSON") from None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise DescentValueError(f"spec file {path} is not valid JSON: {error.msg} at line "
                                f"{error.lineno}, column {error.colno}") from None
    except RecursionError:
        raise DescentValueError(f"spec file {path} nests lists or objects too deeply to be "
                                "a network spec") from None
    except ValueError:  # the one ValueError that is not a JSONDecodeError
        raise DescentValueError(f"spec file {path} holds a number of more than "
                                f"{sys.get_int_max_str_digits():,} digits; no spec needs "
                                "one") from None
    return network_from_spec(spec)


def spec_from_network(model, x, target, loss="sse", lr=0.1, frozen=()):
    """The spec dictionary of a network and example (the inverse of network_from_spec)."""
    layers = network_layers(model)
    return {
        "layers": [len(layers[0].inputs)] + [len(layer.units) for layer in layers],
        "activations": [layer.activation.name if layer.activation is not None else "identity"
                        for layer in layers],
        "weights": [layer.linear.weight.data.tolist() for layer in layers],
        "biases": [(layer.linear.bias.data.tolist() if layer.linear.bias is not None
                    else [0.0] * len(layer.units)) for layer in layers],
        "loss": loss if isinstance(loss, str) else "sse",
        "learning_rate": lr,
        "input": np.asarray(x, dtype=float).tolist(),
        "target": np.asarray(target, dtype=float).tolist(),
        "frozen": list(frozen),
    }
