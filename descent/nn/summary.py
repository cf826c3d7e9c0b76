"""Counting parameters and printing a layer-by-layer summary of a network."""

from html import escape

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


class Summary(str):
    """The text of ``summary`` (a ``str``), which Jupyter shows as an HTML table.

    ``layers`` holds one ``(layer, output shape, parameters)`` row per layer; ``total``
    and ``trainable`` are the parameter counts of the whole model.
    """

    def __new__(cls, layers, total, trainable):
        rows = [("layer", "output shape", "parameters")]
        rows += [(name, shape, str(count)) for name, shape, count in layers]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                 for row in rows]
        lines.append(f"total parameters: {total} (trainable: {trainable})")
        text = super().__new__(cls, "\n".join(lines))
        text.layers, text.total, text.trainable = list(layers), total, trainable
        return text

    def __getnewargs__(self):  # so that copy and pickle rebuild it from its rows
        return self.layers, self.total, self.trainable

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def _repr_html_(self):
        body = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(shape)}</td>"
            f'<td style="text-align:right">{count:,}</td></tr>'
            for name, shape, count in self.layers)
        return ("<table><thead><tr><th>layer</th><th>output shape</th><th>parameters</th>"
                f"</tr></thead><tbody>{body}</tbody><tfoot><tr><td colspan=\"3\">total "
                f"parameters: {self.total:,} (trainable: {self.trainable:,})</td></tr>"
                "</tfoot></table>")

    def _repr_markdown_(self):
        lines = ["| layer | output shape | parameters |", "|---|---|---:|"]
        lines += [f"| {name} | {shape} | {count:,} |" for name, shape, count in self.layers]
        lines.append(f"\n**total parameters: {self.total:,}** "
                     f"(trainable: {self.trainable:,})")
        return "\n".join(lines)


def summary(model, in_features=None):
    """A table of layers, output shapes and parameter counts, ending with the totals.

    The result is a ``Summary``: a ``str`` to print, shown as a table in Jupyter.

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
    rows = []
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
            rows.append((f"{index}: {name}", shape, count_parameters(layer)))
    model.train(was_training)
    return Summary(rows, count_parameters(model), count_parameters(model, trainable_only=True))
