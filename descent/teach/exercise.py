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
from descent.teach.mathtext import (EQ, GETS, HALF, MINUS, NEG, PLUS, TIMES, Frac, Fn,
                                    Group, Math, Num, Partial, Pow, Sum, Sym, Text)
from descent.teach.report import Derivation, Report, Table, latex_document

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

def _sym(base, sub=""):
    return Sym(base, sub)


_Z, _O = Math(_sym("z")), _sym("o")
_T_K, _O_K = _sym("t", "k"), _sym("o", "k")
_PER_K = Frac(Math(Num("1")), Math(_sym("K")))
# Each activation and loss as the sheet states it.
_FORMULAS = {
    "identity": Math(_O, EQ, _sym("z")),
    "sigmoid": Math(Fn("sigmoid", _Z), EQ, Frac(Math(Num("1")), Math(
        Num("1"), PLUS, Fn("exp", Math(NEG, _sym("z")))))),
    "tanh": Math(Fn("tanh", _Z), EQ, Frac(
        Math(Fn("exp", _Z), MINUS, Fn("exp", Math(NEG, _sym("z")))),
        Math(Fn("exp", _Z), PLUS, Fn("exp", Math(NEG, _sym("z")))))),
    "relu": Math(Fn("relu", _Z), EQ, Fn("max", Math(Num("0"), Text(", "), _sym("z")))),
    "leaky_relu": Math(Fn("leaky_relu", _Z), EQ, _sym("z"), Text(" for z > 0, else "),
                       Num("0.01"), TIMES, _sym("z")),
    "elu": Math(Fn("elu", _Z), EQ, _sym("z"), Text(" for z > 0, else "), Fn("exp", _Z),
                MINUS, Num("1")),
    "softmax": Math(_O_K, EQ, Frac(Math(Fn("exp", Math(_sym("z", "k")))),
                                   Math(Sum("m"), Fn("exp", Math(_sym("z", "m")))))),
}
_SQUARE = Pow(Group(Math(_T_K, MINUS, _O_K)), "2")
_CROSS = Math(_T_K, TIMES, Fn("ln", Math(_O_K)), PLUS, Group(Math(Num("1"), MINUS, _T_K)),
              TIMES, Fn("ln", Math(Num("1"), MINUS, _O_K)))
_S_K = _sym("s", "k")
_LOSS_FORMULAS = {
    "sse": Math(_sym("E"), EQ, HALF, Sum("k"), _SQUARE),
    "mse": Math(_sym("E"), EQ, _PER_K, Sum("k"), _SQUARE, Text(", the mean over the K outputs")),
    "mae": Math(_sym("E"), EQ, _PER_K, Sum("k"), Fn("abs", Math(_T_K, MINUS, _O_K)),
                Text(", the mean over the K outputs")),
    "binary_cross_entropy": Math(_sym("E"), EQ, NEG, _PER_K, Sum("k"), Group(_CROSS)),
    "binary_cross_entropy_with_logits": Math(
        _sym("E"), EQ, NEG, _PER_K, Sum("k"),
        Group(Math(_T_K, TIMES, Fn("ln", Math(_S_K)), PLUS, Group(Math(Num("1"), MINUS, _T_K)),
                   TIMES, Fn("ln", Math(Num("1"), MINUS, _S_K)))),
        Text(" with "), _S_K, EQ, Fn("sigmoid", Math(_O_K)),
        Text(": the outputs are scores (logits), the loss applies the sigmoid")),
    "cross_entropy": Math(_sym("E"), EQ, NEG, Sum("k"), _T_K, TIMES, Fn("ln", Math(_O_K)), EQ,
                          NEG, Fn("ln", Math(_sym("o", "c"))),
                          Text(" for the target class c")),
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
                   "input from the units i of the layer below (w_ij is the weight from unit "
                   "i to unit j, b_j the bias of unit j), then its activation; every layer "
                   "is connected to the next in full:")
        used = dict.fromkeys(a for a in spec["activations"] if a != "identity")
        report.add(Derivation([
            Math(_sym("z", "j"), EQ, Sum("i"), _sym("w", "ij"), TIMES, _sym("o", "i"), PLUS,
                 _sym("b", "j")),
            Math(_sym("o", "j"), EQ, _sym("f"), Group(Math(_sym("z", "j")))),
            *(_FORMULAS[a] for a in used)]))
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
                   + " (the input units' activations are the inputs).")
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
        report.add(f"The loss, and the update of each weight and bias against its gradient "
                   f"with the learning rate η = {_nice(spec['learning_rate'])}:")
        report.add(Derivation([_LOSS_FORMULAS[spec["loss"]],
                               Math(_sym("w"), GETS, _sym("w"), MINUS, Sym("eta"), TIMES,
                                    Partial(_sym("E"), _sym("w")))]))
        computing = [u for units in by_layer[1:] for u in units]
        n_weights = sum(a * b for a, b in zip(spec["layers"], spec["layers"][1:]))
        step = "" if self.steps == 1 else " (step 1)"
        backward = (f"units {computing[-1]} down to {computing[0]}" if len(computing) > 1
                    else f"unit {computing[0]}")
        questions = [
            Math(Text(f"Forward pass{step}: the net input "), _sym("z", "j"),
                 Text(" and the activation "), _sym("o", "j"),
                 Text(f" of {_unit_range(computing)}.")),
            "The error E of the output.",
            Math(Text("Backward pass: the error term "), _sym("e", "j"), EQ,
                 Partial(_sym("E"), _sym("z", "j")), Text(f" of {backward}, from the output "
                                                          "down.")),
            Math(Text("The gradients: "), Partial(_sym("E"), _sym("w", "ij")), EQ,
                 _sym("e", "j"), TIMES, _sym("o", "i"), Text(f" of the {n_weights} weights "
                                                             "and "),
                 Partial(_sym("E"), _sym("b", "j")), EQ, _sym("e", "j"),
                 Text(f" of the {len(computing)} biases.")),
            "The new weights and biases.",
            "Check: the error E with the new weights (it should be smaller).",
        ]
        if self.steps > 1:
            questions.append(f"Repeat 1-6 on the same example for steps 2 to {self.steps}, "
                             "each starting from the weights the step before it left.")
        report.add("Compute:")
        report.add(*(Math(Text(f"{n}. ")) + q if isinstance(q, Math) else f"{n}. {q}"
                     for n, q in enumerate(questions, start=1)))
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

    def render(self, fmt="text", solutions=False, digits=None, standalone=False):
        """The question sheet as ``"text"``, ``"markdown"`` or ``"latex"``, followed by
        the solution (on a page of its own in LaTeX) when ``solutions`` is true;
        ``standalone`` makes the LaTeX a document that compiles on its own."""
        lookup(dict.fromkeys(SHEET_FORMATS), fmt, "format")
        if standalone and fmt != "latex":
            raise DescentValueError(f"standalone is for the LaTeX sheet; {fmt!r} is complete "
                                    "as it is")
        text = self.question_report().render(fmt)
        if solutions:
            text += ("\n\\newpage\n" if fmt == "latex" else "\n") + \
                self.solution_report(digits=digits).render(fmt)
        return latex_document(text) if standalone else text


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
