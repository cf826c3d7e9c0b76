"""Pictures for the blackboard: ``draw`` a tensor's graph or a network the way the notes do.

``draw(t)`` is the graph behind a tensor (``descent.autograd.draw.draw_graph``).
``draw(model, x, target)`` is the unfused network, as the lecture notes draw it: the input
units, then a circle per hidden and output unit holding its bias b_j, net input z_j,
activation o_j and, given a target, its error term e_j = ∂E/∂z_j; every link an arrow
labelled with its weight w_ij. Units are numbered 1..n as ``descent.explain`` numbers them
(inputs first), and weights and biases carry the notes' names (w14, b4).
"""

import math
from itertools import pairwise

import numpy as np

from descent import losses as losses_module
from descent.autograd.draw import (
    GRADIENT_INK,
    INK,
    Arrow,
    Ellipse,
    Picture,
    Rect,
    Text,
    draw_graph,
    format_number,
    text_width,
)
from descent.autograd.tensor import Tensor, tensor
from descent.errors import DescentTypeError, DescentValueError
from descent.nn.layers import Sequential
from descent.teach.explain import _forward, _weight_name, network_layers
from descent.training.loop import infer_task

# Units and links in all: beyond this a network picture cannot be read.
MAX_DRAWN_LINKS = 2_000
# Links are labelled with their weights when a layer has at most this many inputs;
# with more, the labels would need a very wide gap to stay apart.
MAX_LABELLED_INPUTS = 8
_SIZE = 12
_LINE = 1.3 * _SIZE
_MARGIN = 16
_UNIT_GAP = 30          # between the circles of one column
_PLAIN_GAP = 110        # between the circles of neighbouring columns, unlabelled
_LABEL_START, _LABEL_SPAN = 0.2, 0.6  # where along a link its label may sit
_LABEL_CLEARANCE = 18   # from a label to the circles at the ends of its link


def _unit_lines(layers, values, errors, digits):
    """For every unit number, the lines of text in its circle: (text, colour, bold)."""
    def show(value):
        return format_number(value, digits)

    lines = {unit: [(str(unit), INK, True)] for unit in layers[0].inputs}
    if values:
        for k, unit in enumerate(layers[0].inputs):
            lines[unit].append((f"x{unit} = {show(values[0][k])}", INK, False))
    for depth, layer in enumerate(layers, start=1):
        bias = layer.linear.bias
        for k, unit in enumerate(layer.units):
            lines[unit] = [(str(unit), INK, True)]
            if bias is not None:
                lines[unit].append((f"b{unit} = {show(bias.data[k])}", INK, False))
            if values:
                net, out = values[depth]
                lines[unit].append((f"z{unit} = {show(net[k])}", INK, False))
                lines[unit].append((f"o{unit} = {show(out[k])}", INK, False))
            if errors:
                lines[unit].append((f"e{unit} = {show(errors[depth - 1][k])}",
                                    GRADIENT_INK, False))
    return lines


def _run(model, layers, x, target, loss):
    """The forward pass on one example (z and o per layer) and, given a target, the loss
    and every unit's error term; the model's gradients are left as they were."""
    dtype = layers[0].linear.weight.dtype
    x = np.asarray(x, dtype=dtype).reshape(1, -1)
    if x.shape[1] != len(layers[0].inputs):
        raise DescentValueError(f"the input has {x.shape[1]} values, the network takes "
                                f"{len(layers[0].inputs)} (draw shows one example)")
    # the input needs a gradient, so that error terms reach every unit even when all
    # the weights are frozen
    signals = _forward(layers, tensor(x, requires_grad=target is not None))
    values = [x[0]] + [(net.data[0], out.data[0]) for net, out in signals]
    if target is None:
        return values, None, None
    loss_fn = losses_module.get_loss(loss)
    outputs = len(layers[-1].units)
    target = np.asarray(target, dtype=dtype)
    if infer_task(loss_fn) == "multiclass" and target.size == 1 and outputs > 1:
        target = target.reshape(1).astype(np.intp)  # one class label, not a probability row
    elif target.size != outputs:
        raise DescentValueError(f"the target has {target.size} values, the network has "
                                f"{outputs} output(s)")
    else:
        target = target.reshape(1, outputs)
    saved = [(p, p.grad) for p in model.parameters()]
    try:
        for parameter, _ in saved:
            parameter.grad = None  # backward adds into a gradient in place
        error = loss_fn(signals[-1][1], target)
        error.backward()
        errors = [net.grad[0].copy() for net, _ in signals]
    finally:
        for parameter, grad in saved:
            parameter.grad = grad
    return values, errors, error.item()


def _gaps(layers, label, weights):
    """Per layer, the clear space between its input column and its units, and whether its
    links carry their weights: room enough for the labels to stand apart."""
    gaps = []
    for layer in layers:
        labelled = weights and len(layer.inputs) <= MAX_LABELLED_INPUTS
        clear = _PLAIN_GAP
        if labelled:
            widest = max(text_width(label(i, j, layer.linear.weight.data[a, b]))
                         for a, i in enumerate(layer.inputs) for b, j in enumerate(layer.units))
            # the nearest labels keep clear of the circles and the arrow heads, and the
            # labels of neighbouring inputs stand a label's width apart
            clear = max(clear, (widest / 2 + _LABEL_CLEARANCE) / _LABEL_START,
                        (len(layer.inputs) - 1) * (widest + 10) / _LABEL_SPAN)
        gaps.append((clear, labelled))
    return gaps


def _link_shapes(layers, centre, radius, gaps, label):
    """An arrow per link, circle to circle, then the weight labels on white."""
    arrows, labels = [], []
    for layer, (gap, labelled) in zip(layers, gaps):
        n = len(layer.inputs)
        for a, i in enumerate(layer.inputs):
            # each input's labels sit at their own distance along its links, so that
            # labels of links from different inputs never share a place
            along = 0.5 if n == 1 else _LABEL_START + _LABEL_SPAN * a / (n - 1)
            for b, j in enumerate(layer.units):
                (x0, y0), (x1, y1) = centre[i], centre[j]
                length = math.hypot(x1 - x0, y1 - y0)
                ux, uy = (x1 - x0) / length, (y1 - y0) / length
                arrows.append(Arrow(((x0 + ux * radius, y0 + uy * radius),
                                     (x1 - ux * radius, y1 - uy * radius)), role="link"))
                if labelled:
                    lx = x0 + radius + along * gap
                    ly = y0 + (y1 - y0) * (lx - x0) / (x1 - x0)
                    text = label(i, j, layer.linear.weight.data[a, b])
                    w = text_width(text) + 4
                    labels.append(Rect(lx - w / 2, ly - _LINE / 2, w, _LINE, fill="white",
                                       stroke="none", stroke_width=0,
                                       role="weight-background"))
                    labels.append(Text(lx, ly, text, role="weight"))
    return arrows + labels


def draw_network(model, x=None, target=None, loss="sse", digits=3, title=None,
                 weights=True):
    """The network as the lecture notes draw it, with one example's numbers.

    Parameters
    ----------
    model : Sequential
        Dense layers, each optionally followed by an activation (e.g. ``descent.nn.MLP``).
    x : sequence of float, optional
        One example: each unit then shows its net input z_j and activation o_j.
    target : sequence of float, optional
        Its target (needs ``x``): each unit then shows its error term e_j = ∂E/∂z_j, and
        the picture the loss E. The model's gradients are left as they were.
    loss : str or callable
        The loss E for the error terms, ``"sse"`` (E = ½Σ(t − o)²) by default.
    digits : int
        Decimals shown (significant digits for numbers below 1).
    title : str, optional
        A line above the picture.
    weights : bool
        Label the links with their weights (in layers of at most ``MAX_LABELLED_INPUTS``
        inputs).

    Returns
    -------
    Picture

    Examples
    --------
    >>> from descent.teach.examples import STUDENT_GRADE
    >>> from descent.teach.explain import network_from_spec
    >>> model, x, target = network_from_spec(STUDENT_GRADE)[:3]
    >>> svg = draw_network(model, x, target).svg
    >>> "z4 = -0.7" in svg and "o4 = 0.332" in svg and "w14 = 0.2" in svg
    True
    """
    layers = network_layers(model)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 12:
        raise DescentValueError(f"digits must be a whole number from 0 to 12, got {digits!r}")
    counts = [len(layers[0].inputs)] + [len(layer.units) for layer in layers]
    drawn = sum(counts) + sum(a * b for a, b in pairwise(counts))
    if drawn > MAX_DRAWN_LINKS:
        raise DescentValueError(
            f"a network of layers {counts} has {drawn:,} units and links; draw shows at most "
            f"{MAX_DRAWN_LINKS:,} (a larger picture cannot be read): draw a smaller network, "
            "or the graph of one example's loss")
    if target is not None and x is None:
        raise DescentValueError("a target needs its example: draw(model, x, target)")
    values, errors, error = (None, None, None) if x is None else _run(model, layers, x,
                                                                       target, loss)
    lines = _unit_lines(layers, values, errors, digits)
    radius = max(math.hypot(max(text_width(t) for t, _, _ in unit) / 2,
                            len(unit) * _LINE / 2) for unit in lines.values()) + 6
    columns = [layers[0].inputs] + [layer.units for layer in layers]

    def label(i, j, w):
        return f"{_weight_name(i, j)} = {format_number(w, digits)}"

    gaps = _gaps(layers, label, weights)
    headings = ["inputs"] + [
        ("output" if depth == len(layers) else
         f"hidden {depth}" if len(layers) > 2 else "hidden")
        + f" ({layer.activation.name if layer.activation is not None else 'identity'})"
        for depth, layer in enumerate(layers, start=1)]
    top = _MARGIN + (_LINE * 1.3 if title else 0) + _LINE + 10
    tallest = max(len(c) for c in columns) * (2 * radius + _UNIT_GAP) - _UNIT_GAP
    centre = {}
    x_position = _MARGIN + max(radius, text_width(headings[0]) / 2)
    xs = []
    for k, units in enumerate(columns):
        if k:
            x_position += 2 * radius + gaps[k - 1][0]
        xs.append(x_position)
        height = len(units) * (2 * radius + _UNIT_GAP) - _UNIT_GAP
        for n, unit in enumerate(units):
            centre[unit] = (x_position, top + (tallest - height) / 2 + radius
                            + n * (2 * radius + _UNIT_GAP))

    shapes = _link_shapes(layers, centre, radius, gaps, label)
    inputs = set(layers[0].inputs)
    for unit, (cx, cy) in centre.items():
        shapes.append(Ellipse(cx, cy, radius, radius,
                              fill="#fdf3e1" if unit in inputs else "#f4f8fc", role="unit"))
        rows = lines[unit]
        for r, (text, color, bold) in enumerate(rows):
            shapes.append(Text(cx, cy + (r - (len(rows) - 1) / 2) * _LINE, text, color=color,
                               bold=bold))
    for heading, x_column in zip(headings, xs):
        shapes.append(Text(x_column, top - _LINE / 2 - 10, heading, bold=True,
                           role="heading"))
    right = max(xs[-1] + radius, xs[-1] + text_width(headings[-1]) / 2)
    if error is not None:
        outputs = layers[-1].units
        shown = np.asarray(target, dtype=float).ravel()
        # a target per output unit, or one class label beside the first
        texts = ([f"t{unit} = {format_number(t, digits)}" for unit, t in zip(outputs, shown)]
                 if shown.size == len(outputs) else [f"t = class {shown[0]:.0f}"])
        for unit, text in zip(outputs, texts):
            cx, cy = centre[unit]
            shapes.append(Text(cx + radius + 10, cy, text, anchor="start", role="target"))
            right = max(right, cx + radius + 10 + text_width(text))
        name = loss if isinstance(loss, str) else getattr(loss, "__name__", "loss")
        summary = f"E = {format_number(error, digits)} ({name})"
        bottom = top + tallest + _LINE
        shapes.append(Text(xs[-1], bottom, summary, color=GRADIENT_INK, role="loss"))
        right = max(right, xs[-1] + text_width(summary) / 2)
        height = bottom + _LINE / 2 + _MARGIN
    else:
        height = top + tallest + _MARGIN
    width = right + _MARGIN
    if title:
        width = max(width, text_width(title, _SIZE + 2) + 2 * _MARGIN)
        shapes.append(Text(width / 2, _MARGIN + _LINE * 0.65, title, _SIZE + 2, bold=True,
                           role="title"))
    return Picture(shapes, width, height)


def draw(obj, x=None, target=None, *, loss="sse", names=None, digits=3, title=None):
    """A picture of a tensor's graph, or of a network with one example's numbers.

    Parameters
    ----------
    obj : Tensor or Sequential
        A tensor: the graph that computed it (see ``descent.autograd.draw.draw_graph``),
        with values, gradients after ``backward()`` and ``df/df = 1`` at the output. A
        network: its units and links as the notes draw them (see ``draw_network``).
    x, target : sequence of float, optional
        For a network: one example (each unit shows z_j and o_j) and its target (each
        unit shows e_j).
    loss : str or callable
        For a network with a target: the loss E, ``"sse"`` by default.
    names : Module or dict, optional
        For a tensor: names of its leaves, a model (``0.weight``, ...) or a dict of name
        -> tensor.
    digits : int
        Decimals shown (significant digits for numbers below 1).
    title : str, optional
        A line above the picture.

    Returns
    -------
    Picture
        Shown in notebooks; ``.svg`` is its SVG text, ``.save("graph.svg")`` or
        ``.save("graph.png")`` writes it (PNG needs matplotlib).

    Examples
    --------
    >>> import descent
    >>> w = descent.tensor(0.5, requires_grad=True, name="w")
    >>> loss = (w * 3 - 1) ** 2
    >>> loss.backward()
    >>> "df/dw = 3" in draw(loss).svg
    True
    """
    if isinstance(obj, Tensor):
        if x is not None or target is not None:
            raise DescentValueError("x and target are for drawing a network; a tensor's "
                                    "picture shows the graph that computed it")
        return draw_graph(obj, names=names, digits=digits, title=title)
    if isinstance(obj, Sequential):
        if names is not None:
            raise DescentValueError("names label the leaves of a tensor's graph; a network's "
                                    "picture names its weights as the notes do (w14, b4)")
        return draw_network(obj, x, target, loss=loss, digits=digits, title=title)
    raise DescentTypeError(f"draw takes a Tensor (its graph) or a Sequential network, got "
                           f"{type(obj).__name__}; for any model, draw the graph of its "
                           "output: draw(model(x), names=model)")
