"""Backpropagation exercises with fresh numbers, to be done by hand.

``make_exercise(seed, ...)`` draws a small network, an example and a learning rate from
``numpy.random.default_rng(seed)``: weights with one decimal in [-1, 1] (never 0), biases
with one decimal in [-0.5, 0.5], inputs 0/1 or with one decimal, targets 0/1 for sigmoid
outputs and a class label for a softmax. The question sheet gives the network, the input,
the target, the loss and the learning rate, and asks for every number of the step; the
solution is what ``descent.teach.explain.explain`` computes on the same network, so
``descent explain --spec`` of the exercise's spec reproduces it exactly.
"""

import json
import numbers
from dataclasses import dataclass

import numpy as np

from descent.autograd.functional import ACTIVATIONS
from descent.errors import DescentValueError, lookup
from descent.losses.functions import LOSSES
from descent.teach.explain import explain, network_from_spec, trace_report
from descent.teach.report import Report, Table

# small enough to do by hand
MAX_LAYERS = 4
MAX_UNITS = 6
MAX_STEPS = 5
LEARNING_RATES = (0.1, 0.2, 0.5, 0.9)
SHEET_FORMATS = ("latex", "markdown", "text")
# an exercise whose step passes a ReLU-like kink, or teaches a layer nothing (every error
# term zero), is drawn again, at most this many times; draws depend only on the seed
_ATTEMPTS = 100
_KINK_MARGIN = 0.05

_KINKED = {"relu", "leaky_relu", "elu"}
_NOT_HIDDEN = {
    "softmax": "softmax is an output activation (one distribution over the classes): for "
               "a softmax output choose the loss cross_entropy, which ends the network in "
               "softmax, and a hidden activation such as sigmoid",
    "step": "step has derivative zero everywhere, so backpropagation has nothing to "
            "compute; use a differentiable activation such as sigmoid",
}
# loss -> the output activation it needs (None: the --activation, as in the notes)
_OUTPUT = {"sse": None, "mse": None, "mae": None, "binary_cross_entropy": "sigmoid",
           "bce": "sigmoid", "binary_cross_entropy_with_logits": "identity",
           "cross_entropy": "softmax", "nll": "softmax"}
_CLASS_LOSSES = {"cross_entropy", "nll"}
ACTIVATION_NAMES = tuple(sorted(set(ACTIVATIONS) - set(_NOT_HIDDEN)))
LOSS_NAMES = tuple(sorted(_OUTPUT))

_FORMULAS = {
    "identity": "identity(z) = z",
    "sigmoid": "sigmoid(z) = 1 / (1 + exp(-z))",
    "tanh": "tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z))",
    "relu": "relu(z) = max(0, z)",
    "leaky_relu": "leaky_relu(z) = max(0.01 z, z)",
    "elu": "elu(z) = z for z above 0, else exp(z) - 1",
    "softmax": "softmax: o_k = exp(z_k) / sum_m exp(z_m) over the output units m",
}
_LOSS_FORMULAS = {
    "sse": "E = 1/2 sum_k (t_k - o_k)^2 over the output units k",
    "mse": "E = 1/K sum_k (t_k - o_k)^2, the mean over the K output units k",
    "mae": "E = 1/K sum_k abs(t_k - o_k), the mean over the K output units k",
    "binary_cross_entropy": "E = -1/K sum_k [t_k ln o_k + (1 - t_k) ln(1 - o_k)], the "
                            "mean over the K output units k",
    "binary_cross_entropy_with_logits": "E = -1/K sum_k [t_k ln s_k + (1 - t_k) "
                                        "ln(1 - s_k)] with s_k = sigmoid(o_k): the outputs "
                                        "are raw scores (logits) and the loss applies the "
                                        "sigmoid",
    "cross_entropy": "E = -sum_k t_k ln o_k = -ln o_c for the target class c",
}
_LOSS_FORMULAS["bce"] = _LOSS_FORMULAS["binary_cross_entropy"]
_LOSS_FORMULAS["nll"] = _LOSS_FORMULAS["cross_entropy"]


def _layer_sizes(layers):
    if isinstance(layers, str):
        parts = [part.strip() for part in layers.split(",")]
        if not all(part.isdigit() for part in parts):
            raise DescentValueError(f"layers must be unit counts separated by commas, from "
                                    f"the inputs to the outputs, like 3,2,1; got {layers!r}")
        layers = [int(part) for part in parts]
    try:
        sizes = tuple(layers)
    except TypeError:
        raise DescentValueError(f"layers must list unit counts, like (3, 2, 1); got "
                                f"{layers!r}") from None
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes):
        raise DescentValueError(f"layers must be whole numbers, like (3, 2, 1); got {sizes}")
    sizes = tuple(int(s) for s in sizes)
    if not 2 <= len(sizes) <= MAX_LAYERS:
        raise DescentValueError(f"an exercise has 2 to {MAX_LAYERS} layers (inputs to "
                                f"outputs, e.g. 3,2,1) to be done by hand; got "
                                f"{len(sizes)}: {','.join(map(str, sizes))}")
    if not all(1 <= s <= MAX_UNITS for s in sizes):
        raise DescentValueError(f"an exercise has 1 to {MAX_UNITS} units per layer to be "
                                f"done by hand; got {','.join(map(str, sizes))}")
    return sizes


def _check_options(seed, layers, activation, loss, steps):
    """The options, validated before anything is drawn; returns the layer sizes."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise DescentValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) \
            or not 1 <= steps <= MAX_STEPS:
        raise DescentValueError(f"steps must be a whole number from 1 to {MAX_STEPS} (each "
                                f"is done by hand), got {steps!r}")
    sizes = _layer_sizes(layers)
    if isinstance(activation, str) and activation in _NOT_HIDDEN:
        raise DescentValueError(_NOT_HIDDEN[activation])
    lookup(dict.fromkeys(ACTIVATION_NAMES), activation, "activation")
    if isinstance(loss, str) and loss in LOSSES and loss not in _OUTPUT:
        raise DescentValueError(f"loss {loss!r} makes no exercise to do by hand; choose one "
                                f"of {', '.join(LOSS_NAMES)}")
    lookup(_OUTPUT, loss, "loss")
    if loss in _CLASS_LOSSES and sizes[-1] < 2:
        raise DescentValueError(f"{loss} needs a softmax over two or more output units "
                                f"(one per class), the layers {','.join(map(str, sizes))} "
                                "end in one: use e.g. 3,2,2, or binary_cross_entropy for "
                                "one 0/1 output")
    return sizes


def _tenths(values):
    return [round(float(v) / 10, 1) for v in np.ravel(values)]


def _draw(rng, sizes, activations, loss):
    """One candidate spec: nice numbers, in a fixed order of draws."""
    lr = float(rng.choice(LEARNING_RATES))
    n_in, n_out = sizes[0], sizes[-1]
    if rng.integers(2):
        x = rng.integers(0, 2, size=n_in)
        x[rng.integers(n_in)] = 1          # an all-zero input teaches the first layer nothing
        inputs = [int(v) for v in x]
    else:
        inputs = _tenths(rng.integers(1, 10, size=n_in))
    weights, biases = [], []
    for a, b in zip(sizes, sizes[1:]):
        magnitude = rng.integers(1, 11, size=(a, b))
        sign = rng.choice([-1, 1], size=(a, b))
        weights.append(np.reshape(_tenths(magnitude * sign), (a, b)).tolist())
        biases.append(_tenths(rng.integers(-5, 6, size=b)))
    output = activations[-1]
    if loss in _CLASS_LOSSES:
        target = [int(rng.integers(n_out))]
    elif output == "sigmoid" or loss == "binary_cross_entropy_with_logits":
        target = [int(v) for v in rng.integers(0, 2, size=n_out)]
    elif output in _KINKED:
        target = _tenths(rng.integers(1, 10, size=n_out))
    else:
        target = _tenths(rng.integers(1, 10, size=n_out) * rng.choice([-1, 1], size=n_out))
    return {"layers": list(sizes), "activations": list(activations), "weights": weights,
            "biases": biases, "loss": loss, "learning_rate": lr, "input": inputs,
            "target": target}


def _run(spec, steps):
    model, x, target, loss, lr, frozen, _ = network_from_spec(spec)
    return explain(model, x, target, loss, lr, steps, frozen)


def _suitable(traces, sizes, activations):
    """Every layer has an error term that is not zero, and (for ReLU-like units) no net
    input sits on the kink, where the derivative is a convention."""
    units = [u for trace in traces for u in trace.units if u["layer"] > 0]
    for depth in range(1, len(sizes)):
        if all(abs(u["error"] or 0.0) < 1e-12 for u in traces[0].units
               if u["layer"] == depth):
            return False
    kinked = {depth + 1 for depth, name in enumerate(activations) if name in _KINKED}
    return all(abs(u["net_input"]) >= _KINK_MARGIN for u in units if u["layer"] in kinked)


def _nice(value):
    return f"{value:g}"


def _unit_range(units):
    if len(units) == 1:
        return f"unit {units[0]}"
    return f"units {units[0]}-{units[-1]}"


@dataclass
class Exercise:
    """A drawn exercise: ``spec`` is an ``explain --spec`` dictionary, ``steps`` how many
    steps to compute. ``question_report()`` is the sheet, ``solution_report()`` its
    solution; ``render(fmt, solutions=...)`` both as text."""

    seed: int
    spec: dict
    steps: int = 1

    def traces(self):
        """What ``explain`` records for the exercise (a list of ``StepTrace``)."""
        return _run(self.spec, self.steps)

    def question_report(self):
        """The question sheet: the network, the example, the loss, what to compute."""
        spec = self.spec
        # unit numbers and weight names come from explain's trace, so the sheet names
        # everything as the solution does; only given values are printed from it
        first = self.traces()[0]
        depth = len(spec["layers"]) - 1
        by_layer = [[u["unit"] for u in first.units if u["layer"] == k]
                    for k in range(depth + 1)]
        how_many = "one step" if self.steps == 1 else f"{self.steps} steps"
        report = Report(f"Exercise {self.seed}: {how_many} of backpropagation by hand",
                        data={"seed": self.seed, "steps": self.steps, "spec": spec})
        parts = [f"input {_unit_range(by_layer[0])}"]
        for k in range(1, depth + 1):
            name = spec["activations"][k - 1]
            where = ("output " if k == depth else
                     "hidden layer " + (f"{k} " if depth > 2 else ""))
            kind = "no activation, o = z" if name == "identity" else name
            parts.append(f"{where}{_unit_range(by_layer[k])} ({kind})")
        report.add(f"A {'-'.join(map(str, spec['layers']))} network, its units numbered as "
                   f"in the lecture notes: {', '.join(parts)}. Each unit j computes its net "
                   "input z_j = sum_i w_ij o_i + b_j over the units i of the layer below "
                   "and its activation o_j = f(z_j); w_ij is the weight from unit i to unit "
                   "j and b_j the bias of unit j. Every layer is connected to the next in "
                   "full.")
        used = dict.fromkeys(a for a in spec["activations"] if a != "identity")
        if used:
            report.add("Activations: " + "; ".join(_FORMULAS[a] for a in used) + ".")
        # the trace lists each layer's weights row by row (from unit i to every unit j),
        # then its biases
        given = iter(f"{w['name']} = {_nice(w['value'])}" for w in first.weights)
        for k in range(1, depth + 1):
            into = by_layer[k]
            rows = [[f"from unit {i}", *(next(given) for _ in into)] for i in by_layer[k - 1]]
            rows.append(["bias", *(next(given) for _ in into)])
            report.add(Table(["", *(f"to unit {j}" for j in into)], rows,
                             caption=f"Weights and biases into {_unit_range(into)}"))
        report.add("Input: " + ", ".join(f"x{u} = {_nice(v)}" for u, v in
                                         zip(by_layer[0], spec["input"]))
                   + " (the input units' activations: o_i = x_i).")
        outputs = by_layer[-1]
        if spec["loss"] in _CLASS_LOSSES:
            label = spec["target"][0]
            ones = [int(k == label) for k in range(len(outputs))]
            report.add(f"Target: class {label} (counting from 0), the output unit "
                       f"{outputs[label]}: " + ", ".join(f"t{u} = {t}" for u, t in
                                                        zip(outputs, ones)) + ".")
        else:
            report.add("Target: " + ", ".join(f"t{u} = {_nice(t)}" for u, t in
                                              zip(outputs, spec["target"])) + ".")
        report.add(f"Loss: {_LOSS_FORMULAS[spec['loss']]}. Learning rate: lr = "
                   f"{_nice(spec['learning_rate'])}. Each weight and bias steps against its "
                   "gradient: new w = w - lr * dE/dw.")
        computing = [u for units in by_layer[1:] for u in units]
        n_weights = sum(a * b for a, b in zip(spec["layers"], spec["layers"][1:]))
        step = "" if self.steps == 1 else " (step 1)"
        backward = (f"units {computing[-1]} down to {computing[0]}" if len(computing) > 1
                    else f"unit {computing[0]}")
        questions = [
            f"Forward pass{step}: the net input z_j and the activation o_j of "
            f"{_unit_range(computing)}.",
            "The error E of the output.",
            f"Backward pass: the error term e_j = dE/dz_j of {backward}, from the output "
            "down.",
            f"The gradients: dE/dw_ij = e_j o_i of the {n_weights} weights and dE/db_j = e_j "
            f"of the {len(computing)} biases.",
            "The new weights and biases.",
            "Check: the error E with the new weights (it should be smaller).",
        ]
        if self.steps > 1:
            questions.append(f"Repeat 1-6 on the same example for steps 2 to {self.steps}, "
                             "each starting from the weights the step before it left.")
        report.add("Compute:")
        report.add(*(f"{n}. {q}" for n, q in enumerate(questions, start=1)))
        return report

    def solution_report(self, digits=None):
        """The worked solution: ``trace_report`` of ``explain`` on the spec (``digits``,
        when given, is passed on)."""
        options = {} if digits is None else {"digits": digits}
        return trace_report(traces=self.traces(), title=f"Solution to exercise {self.seed}",
                            **options)

    def spec_json(self):
        """``spec`` as JSON text, one field a line, for ``descent explain --spec FILE``."""
        fields = (f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in
                  self.spec.items())
        return "{\n" + ",\n".join(fields) + "\n}\n"

    def _repr_markdown_(self):  # a notebook shows the question sheet
        return self.render("markdown")

    def _repr_latex_(self):
        return self.render("latex")

    def render(self, fmt="text", solutions=False, digits=None):
        """The question sheet as ``"text"``, ``"markdown"`` or ``"latex"``, followed by
        the solution when ``solutions`` is true."""
        lookup(dict.fromkeys(SHEET_FORMATS), fmt, "format")
        text = self.question_report().render(fmt)
        if solutions:
            text += "\n" + self.solution_report(digits=digits).render(fmt)
        return text


def make_exercise(seed, layers=(3, 2, 1), activation="sigmoid", loss="sse", steps=1):
    """Draw an exercise: a network, one example and a learning rate, with nice numbers.

    Parameters
    ----------
    seed : int
        Any whole number >= 0; the same seed gives the same exercise on any machine.
    layers : sequence of int or str
        Unit counts from the inputs to the outputs, e.g. ``(3, 2, 1)`` or ``"3,2,1"``:
        2 to ``MAX_LAYERS`` layers of 1 to ``MAX_UNITS`` units.
    activation : str
        The hidden units' activation, and the outputs' for squared or absolute error.
    loss : str
        ``"sse"`` (the notes' E = ½Σ(t − o)²), ``"mse"``, ``"mae"``,
        ``"binary_cross_entropy"`` (sigmoid outputs), ``"binary_cross_entropy_with_logits"``
        (outputs without activation) or ``"cross_entropy"`` (a softmax over two or more
        output units, the target a class label).
    steps : int
        Steps of gradient descent to compute, 1 to ``MAX_STEPS``.

    Returns
    -------
    Exercise

    Notes
    -----
    A draw whose step would pass a ReLU-like unit's kink (a net input within 0.05 of 0)
    or leave a layer with every error term zero is drawn again from the same generator,
    so the exercise still depends on the seed alone.

    Examples
    --------
    >>> exercise = make_exercise(1)
    >>> exercise.spec["layers"], exercise.spec["loss"]
    ([3, 2, 1], 'sse')
    >>> all(10 * w == round(10 * w) != 0 for w in exercise.spec["weights"][1][0])
    True
    >>> "Solution to exercise 1" in exercise.render("markdown", solutions=True)
    True
    """
    sizes = _check_options(seed, layers, activation, loss, steps)
    output = _OUTPUT[loss] or activation
    activations = [activation] * (len(sizes) - 2) + [output]
    rng = np.random.default_rng(seed)
    for _ in range(_ATTEMPTS):
        spec = _draw(rng, sizes, activations, loss)
        if _suitable(_run(spec, steps), sizes, activations):
            break
    return Exercise(int(seed), spec, int(steps))
