"""Export the computational graph behind a tensor as Graphviz DOT text.

Values are boxes (name, shape, value, gradient); the ops that made them are ellipses,
with edges in the direction of the forward pass, as the lecture notes draw them. Render
with ``dot -Tpng graph.dot -o graph.png`` (Graphviz) or any DOT viewer.
"""

import numpy as np

from descent.errors import DescentTypeError
from descent.autograd.tensor import Tensor, graph_nodes


def _format(array, max_elements):
    if array.size > max_elements:
        return None
    if array.ndim == 0:
        return f"{array.item():.4g}"
    return np.array2string(array, precision=4, separator=", ", suppress_small=True)


def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def to_dot(root, max_elements=6, title=None):
    """The graph that computed ``root`` as Graphviz DOT text.

    Parameters
    ----------
    root : Tensor
        Usually the loss or the function value.
    max_elements : int
        Show the values (and gradients) of tensors with at most this many elements.
    title : str, optional
        A label for the whole graph.

    Examples
    --------
    >>> import descent
    >>> b = descent.tensor(2.0, requires_grad=True, name="b")
    >>> c = descent.tensor(3.0, requires_grad=True, name="c")
    >>> d = descent.tensor(4.0, requires_grad=True, name="d")
    >>> f = d * (b + c)
    >>> f.backward()
    >>> "grad 4" in descent.to_dot(f)
    True
    """
    if not isinstance(root, Tensor):
        raise DescentTypeError(f"to_dot needs a Tensor, got {type(root).__name__}")
    nodes = graph_nodes(root)
    ids = {node: f"t{i}" for i, node in enumerate(nodes)}
    lines = ["digraph descent {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    if title:
        lines.append(f'  label="{_escape(title)}"; labelloc=t;')
    for node in nodes:
        parts = [node.name or ("tensor" if node.op is None else node.op)]
        parts.append(f"shape {node.shape}" if node.ndim else "scalar")
        value = _format(node.data, max_elements)
        if value is not None:
            parts.append(f"value {value}")
        if node.grad is not None:
            grad = _format(node.grad, max_elements)
            parts.append(f"grad {grad}" if grad is not None else "grad (set)")
        label = _escape(" | ".join(parts))
        lines.append(f'  {ids[node]} [shape=record, label="{{{label}}}"];')
        if node.op is not None:
            lines.append(f'  {ids[node]}_op [shape=ellipse, label="{node.op}"];')
            lines.append(f"  {ids[node]}_op -> {ids[node]};")
            lines.extend(f"  {ids[parent]} -> {ids[node]}_op;" for parent in node.parents)
    lines.append("}")
    return "\n".join(lines) + "\n"
