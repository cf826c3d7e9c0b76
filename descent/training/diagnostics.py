"""Diagnostics for the notes' two training pathologies.

- Vanishing gradients (seeds 003/004): σ'(z) ≤ ¼, so in a deep sigmoid network the
  gradient reaching the first layers is a product of many small factors.
  ``gradient_flow`` reports each layer's gradient norm.
- Dying ReLUs (seed 001): a ReLU unit whose input is negative for every example outputs
  0 and gets no gradient. ``dead_units`` reports the share of such units per layer.

Both results show themselves in a notebook as a small table (``_repr_html_``,
``_repr_markdown_``) and in a terminal as text.
"""

import html
from dataclasses import dataclass

import numpy as np

from descent import losses as losses_module
from descent.nn.inspect import dead_unit_fractions
from descent.nn.layers import Linear

__all__ = ["DeadUnits", "GradientFlow", "dead_units", "gradient_flow"]


def _html_table(header, rows, footer=None):
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
                   + "</tr>" for row in rows)
    tail = f"<p>{html.escape(footer)}</p>" if footer else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}"


def _markdown_table(header, rows, footer=None):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines + ([f"\n{footer}"] if footer else []))


@dataclass
class GradientFlow:
    """Per-layer weight-gradient norms, first layer first."""

    layers: list
    norms: list

    @property
    def ratio(self):
        """First layer's gradient norm over the last layer's."""
        return self.norms[0] / self.norms[-1] if self.norms[-1] else float("inf")

    def _rows(self):
        return [[str(number), name, f"{norm:.3e}"] for number, (name, norm)
                in enumerate(zip(self.layers, self.norms), start=1)]

    def __str__(self):
        lines = ["layer  parameter        gradient norm"]
        lines += [f"{number:<6} {name:<16} {norm}" for number, name, norm in self._rows()]
        lines.append(f"first / last = {self.ratio:.3e}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):  # IPython's plain text: the table
        printer.text(str(self))

    def _repr_html_(self):
        return _html_table(["layer", "parameter", "gradient norm"], self._rows(),
                           f"first / last = {self.ratio:.3e}")

    def _repr_markdown_(self):
        return _markdown_table(["layer", "parameter", "gradient norm"], self._rows(),
                               f"first / last = {self.ratio:.3e}")


def gradient_flow(model, X, y, loss="mse"):
    """One forward and backward pass on ``(X, y)``; the gradient norm of every dense
    layer's weights. Existing gradients are replaced."""
    loss_fn = losses_module.get_loss(loss)
    model.zero_grad()
    loss_fn(model(X), y).backward()
    layers, norms = [], []
    for name, module in model.named_modules():
        if isinstance(module, Linear) and module.weight.grad is not None:
            layers.append(f"{name}.weight")
            norms.append(float(np.linalg.norm(module.weight.grad)))
    model.zero_grad()
    return GradientFlow(layers, norms)


class DeadUnits(dict):
    """``{hidden layer number: fraction of its ReLU units that are dead}``, a dict that
    shows itself as a table."""

    def _rows(self):
        return [[str(layer), f"{fraction:.1%}"] for layer, fraction in self.items()]

    def __str__(self):
        lines = ["hidden layer  dead ReLU units"]
        lines += [f"{layer:<13} {fraction}" for layer, fraction in self._rows()]
        return "\n".join(lines)

    def _repr_html_(self):
        return _html_table(["hidden layer", "dead ReLU units"], self._rows())

    def _repr_markdown_(self):
        return _markdown_table(["hidden layer", "dead ReLU units"], self._rows())


def dead_units(model, X):
    """The share of each ReLU layer's units that output 0 for every row of ``X`` (dead:
    they get no gradient from these examples).

    Returns a ``DeadUnits`` dict keyed by hidden-layer number: 1 for the first ReLU
    layer of the ``Sequential`` (or ``MLP``), 2 for the second, ...; empty without ReLUs.

    Examples
    --------
    >>> import numpy as np
    >>> from descent import nn
    >>> model = nn.MLP([3, 4, 2], activation="relu", rng=0)
    >>> model[0].bias.data[:] = -100.0  # no unit of hidden layer 1 can fire
    >>> dead_units(model, np.ones((5, 3)))
    {1: 1.0}
    """
    fractions = dead_unit_fractions(model, X)  # in layer order, keyed by module name
    return DeadUnits(enumerate(fractions.values(), start=1))
