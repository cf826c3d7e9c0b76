"""Pictures of the computational graph behind a tensor, with no Graphviz program needed.

``draw_graph(t)`` draws the graph left to right, in the direction of the forward pass, as
the lecture notes draw it: a box per tensor (its name, its value and, after ``backward()``,
its gradient), a small ellipse per op, an arrow per edge. The layout is plain Python, the
layered drawing of Sugiyama, Tagawa and Toda (1981): every node gets the column of its
longest path to the output, an edge that skips columns bends through a point in each
column it crosses, and sweeps that sort each column by the mean position of its neighbours
(the barycentre heuristic) reduce the crossings.

The layout is a list of primitive shapes (``Rect``, ``Ellipse``, ``Arrow``, ``Text``) and a
``Picture`` holds it: it shows itself in a notebook (``_repr_svg_``), has its SVG text
(``svg``, written with the standard library) and saves to ``.svg`` or ``.png`` (through
matplotlib, an optional dependency imported only then). The network picture of
``descent.teach.draw`` is built from the same shapes.
"""

import io
import math
import os
import secrets
import stat
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from descent.autograd.tensor import Tensor, graph_nodes
from descent.errors import DescentError, DescentTypeError, DescentValueError

# A picture of more tensors than this is unreadable, and its layout slow.
MAX_DRAWN_TENSORS = 2_000
# Agg draws at most 2^16 pixels along a side.
_MAX_PNG_PIXELS = 1 << 16
FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
# The advance of a character in DejaVu Sans Mono (1233/2048 em), with a little room.
_CHAR_WIDTH = 0.62
_LINE = 1.3      # line height, in font sizes
_SIZE = 12       # font size of the labels, in pixels
_PAD = 6         # space inside a box around its text
_MARGIN = 16     # space around the picture
_COLUMN_GAP = 40
_ROW_GAP = 18
_BEND_GAP = 8    # beside the bend point of an edge that skips a column
_HEAD = 8        # length of an arrow head
_SWEEPS = 8      # barycentre sweeps (each one left to right, then right to left)
_PLACEMENT_ROUNDS = 4
# Bend points in all: a leaf used all along a deep chain would need one per column per
# use; past this the longest edges are drawn straight.
_MAX_BENDS = 20_000
_OP_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "neg": "-x", "pow": "**",
               "matmul": "@"}
INK = "#333333"
GRADIENT_INK = "#b03a2e"


# ------------------------------------------------------------------------ shapes
@dataclass(frozen=True)
class Rect:
    """A box; ``(x, y)`` is its top left corner."""

    x: float
    y: float
    width: float
    height: float
    fill: str = "white"
    stroke: str = INK
    stroke_width: float = 1.0
    radius: float = 0.0
    role: str = ""


@dataclass(frozen=True)
class Ellipse:
    """An ellipse (a circle when ``rx == ry``) around its centre ``(cx, cy)``."""

    cx: float
    cy: float
    rx: float
    ry: float
    fill: str = "white"
    stroke: str = INK
    stroke_width: float = 1.0
    role: str = ""


@dataclass(frozen=True)
class Arrow:
    """A line through ``points`` with an arrow head at the last one."""

    points: tuple
    color: str = INK
    width: float = 1.0
    role: str = "edge"


@dataclass(frozen=True)
class Text:
    """One line of text whose middle height is ``y``; ``anchor`` is start, middle or end."""

    x: float
    y: float
    text: str
    size: float = _SIZE
    anchor: str = "middle"
    bold: bool = False
    color: str = INK
    role: str = "label"


def text_width(text, size=_SIZE):
    """The width of ``text`` in the pictures' monospaced font, in pixels."""
    return len(text) * _CHAR_WIDTH * size


def format_number(value, digits=3):
    """A number as the notes print it: ``digits`` decimals (significant digits below 1),
    without trailing zeros: 20, -0.7, 0.332, 0.0087."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if 1 <= abs(value) < 1e6:
        text = f"{value:.{digits}f}"
    else:
        text = f"{value:.{digits}g}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text


def arrow_geometry(arrow):
    """The line of ``arrow`` (stopping where its head begins) and the head's three corners."""
    points = [tuple(map(float, p)) for p in arrow.points]
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    head = min(_HEAD, length)
    bx, by = x1 - ux * head, y1 - uy * head
    half = head / 2
    corners = ((x1, y1), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half))
    return points[:-1] + [(bx, by)], corners


# ------------------------------------------------------------------------ writers
def _xml_text(text):
    """``text`` as XML character data: characters XML cannot hold become U+FFFD."""
    cleaned = "".join(c if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"
                      or c >= "\U00010000" else "\ufffd" for c in str(text))
    return escape(cleaned)


def _points(points):
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _role(shape):
    return f" class={quoteattr(shape.role)}" if shape.role else ""


def to_svg(shapes, width, height):
    """SVG text of ``shapes`` on a white ``width`` × ``height`` page."""
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family={quoteattr(FONT)} xml:space="preserve">'),
           '<rect width="100%" height="100%" fill="white"/>']
    for shape in shapes:
        if isinstance(shape, Rect):
            out.append(f'<rect{_role(shape)} x="{shape.x:.1f}" y="{shape.y:.1f}" '
                       f'width="{shape.width:.1f}" height="{shape.height:.1f}" '
                       f'rx="{shape.radius:.1f}" fill="{shape.fill}" stroke="{shape.stroke}" '
                       f'stroke-width="{shape.stroke_width}"/>')
        elif isinstance(shape, Ellipse):
            out.append(f'<ellipse{_role(shape)} cx="{shape.cx:.1f}" cy="{shape.cy:.1f}" '
                       f'rx="{shape.rx:.1f}" ry="{shape.ry:.1f}" fill="{shape.fill}" '
                       f'stroke="{shape.stroke}" stroke-width="{shape.stroke_width}"/>')
        elif isinstance(shape, Arrow):
            line, head = arrow_geometry(shape)
            out.append(f'<polyline{_role(shape)} points="{_points(line)}" fill="none" '
                       f'stroke="{shape.color}" stroke-width="{shape.width}"/>')
            out.append(f'<polygon class="arrowhead" points="{_points(head)}" '
                       f'fill="{shape.color}"/>')
        else:
            weight = ' font-weight="bold"' if shape.bold else ""
            out.append(f'<text{_role(shape)} x="{shape.x:.1f}" '
                       f'y="{shape.y + 0.35 * shape.size:.1f}" font-size="{shape.size}" '
                       f'text-anchor="{shape.anchor}" fill="{shape.color}"{weight}>'
                       f'{_xml_text(shape.text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _matplotlib():
    """matplotlib's Agg canvas and figure, or a clear error when it is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DescentError("saving a picture as PNG needs matplotlib: pip install matplotlib "
                           "(or pip install 'descent[plot]'); .svg needs nothing") from None
    return Figure, FigureCanvasAgg


def to_png(shapes, width, height, scale=2):
    """PNG bytes of ``shapes``, ``scale`` pixels per unit, drawn by matplotlib's Agg."""
    Figure, FigureCanvasAgg = _matplotlib()
    from matplotlib.patches import Ellipse as EllipsePatch
    from matplotlib.patches import FancyBboxPatch, Polygon

    points_per_unit = 72 / 100  # the figure has 100 units per inch, a point is 1/72 inch
    figure = Figure(figsize=(width / 100, height / 100), dpi=100 * scale)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)  # y grows downwards, as in SVG
    axes.set_axis_off()
    # zorder follows the list, as SVG paints in document order
    for order, shape in enumerate(shapes, start=1):
        if isinstance(shape, Rect):
            axes.add_patch(FancyBboxPatch(
                (shape.x, shape.y), shape.width, shape.height,
                boxstyle=f"round,pad=0,rounding_size={shape.radius}", facecolor=shape.fill,
                edgecolor=shape.stroke if shape.stroke != "none" else "none",
                linewidth=shape.stroke_width * points_per_unit, zorder=order))
        elif isinstance(shape, Ellipse):
            axes.add_patch(EllipsePatch(
                (shape.cx, shape.cy), 2 * shape.rx, 2 * shape.ry, facecolor=shape.fill,
                edgecolor=shape.stroke, linewidth=shape.stroke_width * points_per_unit,
                zorder=order))
        elif isinstance(shape, Arrow):
            line, head = arrow_geometry(shape)
            xs, ys = zip(*line)
            axes.plot(xs, ys, color=shape.color, linewidth=shape.width * points_per_unit,
                      solid_capstyle="butt", zorder=order)
            axes.add_patch(Polygon(head, closed=True, facecolor=shape.color,
                                   edgecolor="none", zorder=order))
        else:
            axes.text(shape.x, shape.y + 0.35 * shape.size, shape.text,
                      fontsize=shape.size * points_per_unit, family="monospace",
                      ha={"start": "left", "middle": "center", "end": "right"}[shape.anchor],
                      va="baseline", color=shape.color,
                      fontweight="bold" if shape.bold else "normal", zorder=order)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100 * scale)
    return buffer.getvalue()


def _write_atomically(path, data):
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``, so
    that a failure leaves the old file or the new one (``descent.files`` sits above this
    layer; this is its rule for one small file). A link is written through to its target."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        raise DescentValueError(f"cannot save a picture to {path}: it is "
                                f"{'a folder' if target.is_dir() else 'not a regular file'}")
    if not target.parent.is_dir():
        raise DescentValueError(f"cannot save a picture to {path}: the folder "
                                f"{target.parent} does not exist")
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}"
                                 ".descent-tmp")
    try:
        # 0o666 through the umask is the mode any new file gets
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        raise DescentValueError(f"cannot save a picture to {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if mode is not None:
                os.chmod(temporary, mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        if temporary.exists():
            temporary.unlink()
        raise


class Picture:
    """A drawing: its shapes and size, as SVG text, shown in notebooks, saved to a file.

    Attributes
    ----------
    shapes : list
        The ``Rect``, ``Ellipse``, ``Arrow`` and ``Text`` shapes, painted in this order.
    width, height : int
        The size in pixels (SVG units).
    """

    def __init__(self, shapes, width, height):
        self.shapes = list(shapes)
        # whole pixels, so that a PNG at scale 1 has exactly this size
        self.width = math.ceil(width)
        self.height = math.ceil(height)

    @property
    def svg(self):
        """The picture as SVG text."""
        return to_svg(self.shapes, self.width, self.height)

    def _repr_svg_(self):
        return self.svg

    def png(self, scale=2):
        """The picture as PNG bytes, ``scale`` pixels per SVG unit (needs matplotlib)."""
        if not 0 < scale <= 8:
            raise DescentValueError(f"scale must be a number in (0, 8], got {scale!r}")
        pixels = max(self.width, self.height) * scale
        if pixels >= _MAX_PNG_PIXELS:
            raise DescentValueError(
                f"the picture is {self.width:.0f} × {self.height:.0f} units, {pixels:,.0f} "
                f"pixels along a side at scale {scale}; a PNG holds fewer than "
                f"{_MAX_PNG_PIXELS:,}: save it as .svg, or use a smaller scale")
        return to_png(self.shapes, self.width, self.height, scale)

    def save(self, path, scale=2):
        """Write the picture to ``path``, as SVG or PNG by its suffix; return the path.

        The file is written atomically (a temporary file beside it, renamed over it), and
        a wrong suffix, a missing folder or missing matplotlib is refused before anything
        is written.
        """
        suffix = Path(path).suffix.lower()
        if suffix not in (".svg", ".png"):
            shown = f"the suffix {suffix}" if suffix else "no suffix"
            raise DescentValueError(f"cannot save a picture to {path}: it has {shown}; "
                                    "end the name in .svg or .png")
        data = self.svg.encode("utf-8") if suffix == ".svg" else self.png(scale)
        _write_atomically(path, data)
        return Path(path)

    def __repr__(self):
        return f"<Picture {self.width:.0f} × {self.height:.0f}, {len(self.shapes)} shapes>"


# ------------------------------------------------------------------------ layout
def _topological_order(count, children, parents):
    """Kahn's algorithm: nodes ``0..count-1``, every parent before its children."""
    waiting = [len(p) for p in parents]
    ready = [node for node in range(count) if not waiting[node]]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in children[node]:
            waiting[child] -= 1
            if not waiting[child]:
                ready.append(child)
    if len(order) != count:
        raise DescentValueError("a layered layout needs a graph without cycles")
    return order


def _columns(count, edges):
    """Each node's column: sinks last, every node one left of its furthest child (the
    longest path to the output), then sources moved right beside their nearest child."""
    children = [[] for _ in range(count)]
    parents = [[] for _ in range(count)]
    for u, v in edges:
        children[u].append(v)
        parents[v].append(u)
    rank = [0] * count
    for node in reversed(_topological_order(count, children, parents)):
        if children[node]:
            rank[node] = max(rank[c] for c in children[node]) + 1
    last = max(rank, default=0)
    column = [last - r for r in rank]
    for node in range(count):
        if not parents[node] and children[node]:
            column[node] = min(column[c] for c in children[node]) - 1
    return column


def _inversions(sequence):
    """How many pairs of ``sequence`` are out of order (a Fenwick tree, O(n log n))."""
    size = max(sequence, default=0) + 1
    tree = [0] * (size + 1)
    inversions = 0
    for seen, value in enumerate(sequence):
        i, not_above = value + 1, 0
        while i > 0:
            not_above += tree[i]
            i -= i & -i
        inversions += seen - not_above
        i = value + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return inversions


def _crossings(layers, right):
    """Edge crossings between neighbouring columns for this order."""
    total = 0
    for layer, following in pairwise(layers):
        position = {node: i for i, node in enumerate(following)}
        pairs = sorted((i, position[v]) for i, node in enumerate(layer) for v in right[node])
        total += _inversions([p for _, p in pairs])
    return total


def _order(layers, left, right):
    """Barycentre sweeps: sort each column by the mean position of its neighbours in the
    column just done; keep the order with the fewest crossings."""
    best, fewest = [list(layer) for layer in layers], _crossings(layers, right)
    for sweep in range(2 * _SWEEPS):
        forward = sweep % 2 == 0
        neighbours = left if forward else right
        indices = range(1, len(layers)) if forward else range(len(layers) - 2, -1, -1)
        for k in indices:
            done = {node: i for i, node in enumerate(layers[k - 1 if forward else k + 1])}
            keys = {}
            for i, node in enumerate(layers[k]):
                near = [done[n] for n in neighbours[node]]
                keys[node] = sum(near) / len(near) if near else i
            layers[k].sort(key=keys.__getitem__)
        crossings = _crossings(layers, right)
        if crossings < fewest:
            best, fewest = [list(layer) for layer in layers], crossings
    return best


def _pack(desired, heights):
    """Centres as close as possible (least squares) to ``desired`` that keep the order and
    a gap between neighbours (a smaller one beside a bend point): pool-adjacent-violators
    on the centres less their offsets."""
    offsets = [0.0]
    for above, below in pairwise(heights):
        gap = _ROW_GAP if above and below else _BEND_GAP
        offsets.append(offsets[-1] + above / 2 + gap + below / 2)
    blocks = []  # [sum of targets, count]
    for target in (d - o for d, o in zip(desired, offsets)):
        blocks.append([target, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    centres = []
    for total, count in blocks:
        centres += [total / count] * count
    return [c + o for c, o in zip(centres, offsets)]


def layered_layout(sizes, edges):
    """Place nodes of the given ``(width, height)`` in columns, edges left to right.

    Parameters
    ----------
    sizes : list of (float, float)
        The size of each node ``0..n-1``.
    edges : list of (int, int)
        Directed edges ``(u, v)`` of a graph without cycles.

    Returns
    -------
    centres : list of (float, float)
        The centre of each node.
    routes : list of list of (float, float)
        For each edge, the points it bends through between its two ends.
    width, height : float
        The extent of the drawing, margins included.
    """
    count = len(sizes)
    column = _columns(count, edges)
    sizes = list(sizes)
    # An edge that skips columns bends through a point in each: a "dummy" node of no
    # size, so that it takes part in the ordering and goes round the boxes.
    skips = [column[v] - column[u] - 1 for u, v in edges]
    bent, budget = set(), _MAX_BENDS
    for i in sorted(range(len(edges)), key=skips.__getitem__):
        if skips[i] > budget:
            break
        budget -= skips[i]
        bent.add(i)
    segments, chains = [], []
    for i, (u, v) in enumerate(edges):
        chain = [u]
        for k in range(column[u] + 1, column[v]) if i in bent else ():
            sizes.append((0.0, 0.0))
            column.append(k)
            chain.append(len(sizes) - 1)
        chain.append(v)
        chains.append(chain)
        if i in bent:  # a straight long edge takes no part in the ordering
            segments += pairwise(chain)
    left = [[] for _ in sizes]
    right = [[] for _ in sizes]
    for u, v in segments:
        right[u].append(v)
        left[v].append(u)
    first = min(column, default=0)
    layers = [[] for _ in range(max(column, default=0) - first + 1)]
    for node in range(len(sizes)):
        layers[column[node] - first].append(node)
    layers = _order(layers, left, right)

    xs, x = [0.0] * len(sizes), _MARGIN
    for layer in layers:
        widest = max(sizes[n][0] for n in layer)
        for node in layer:
            xs[node] = x + widest / 2
        x += widest + _COLUMN_GAP
    ys = [0.0] * len(sizes)
    for layer in layers:
        for node, y in zip(layer, _pack([0.0] * len(layer), [sizes[n][1] for n in layer])):
            ys[node] = y
    for _ in range(_PLACEMENT_ROUNDS):
        for neighbours, sequence in ((left, layers), (right, layers[::-1])):
            for layer in sequence:
                desired = [sum(ys[n] for n in neighbours[node]) / len(neighbours[node])
                           if neighbours[node] else ys[node] for node in layer]
                placed = _pack(desired, [sizes[n][1] for n in layer])
                for node, y in zip(layer, placed):
                    ys[node] = y
    top = min(ys[n] - sizes[n][1] / 2 for n in range(len(sizes))) if sizes else 0.0
    ys = [y - top + _MARGIN for y in ys]
    height = max((ys[n] + sizes[n][1] / 2 for n in range(len(sizes))), default=0.0) + _MARGIN
    centres = [(xs[n], ys[n]) for n in range(count)]
    routes = [[(xs[n], ys[n]) for n in chain[1:-1]] for chain in chains]
    return centres, routes, x - _COLUMN_GAP + _MARGIN, height


# ------------------------------------------------------------------------ tensor graphs
def _value_lines(array, digits, max_elements):
    """The numbers of ``array``: all of a small one (2-D ones row by row, in aligned
    columns), the first few and the range of a large one."""
    array = np.asarray(array)
    if array.size == 0:
        return ["[]"]
    if array.size > max_elements:
        flat = array.ravel()
        first = ", ".join(format_number(v, digits) for v in flat[:3])
        return [f"[{first}, …]",
                f"min {format_number(flat.min(), digits)}, max {format_number(flat.max(), digits)}"]
    if array.ndim == 0:
        return [format_number(array, digits)]
    if array.ndim != 2:
        return ["[" + ", ".join(format_number(v, digits) for v in array.ravel()) + "]"]
    cells = [[format_number(v, digits) for v in row] for row in array]
    widths = [max(len(row[j]) for row in cells) for j in range(array.shape[1])]
    rows = [", ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return [("[[" if i == 0 else " [") + row + ("]]" if i == len(rows) - 1 else "],")
            for i, row in enumerate(rows)]


def _labelled(prefix, lines):
    """``prefix`` before the first line, the others indented under it."""
    return [prefix + lines[0]] + [" " * len(prefix) + line for line in lines[1:]]


def _symbol(name):
    """A name as it reads in a derivative: df/dw, df/d(0.weight)."""
    return name if name.isidentifier() else f"({name})"


def _name_map(names):
    """``{tensor: name}`` from a module (its ``named_parameters``) or a name → tensor map."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    if not hasattr(names, "items"):
        raise DescentTypeError("names must be a model (its parameters' names are used) or a "
                               f"dict of name -> tensor, got {type(names).__name__}")
    mapping = {}
    for name, value in names.items():
        if not isinstance(value, Tensor):
            raise DescentTypeError(f"names[{name!r}] is a {type(value).__name__}, not a "
                                   "tensor; give a dict of name -> tensor, e.g. "
                                   "dict(model.named_parameters())")
        mapping[value] = str(name)
    return mapping


def _box_lines(t, name, seeded, output, digits, max_elements):
    """The lines of a tensor's box, (text, colour, bold): its name (or its op's), shape,
    value and gradient; ``seeded`` for the output of a backward pass, whose own gradient
    is 1."""
    lines = [(name or t.op or "tensor", INK, True)]
    if t.ndim:
        lines.append((f"shape {t.shape}", INK, False))
    lines += [(line, INK, False) for line in
              _labelled("value = ", _value_lines(t.data, digits, max_elements))]
    if seeded and t.size == 1 and (t.grad is None or np.all(t.grad == 1)):
        lines.append((f"d{output}/d{output} = 1", GRADIENT_INK, False))
    elif t.grad is not None:
        prefix = f"d{output}/d{_symbol(name)} = " if name else "grad = "
        lines += [(line, GRADIENT_INK, False) for line in
                  _labelled(prefix, _value_lines(t.grad, digits, max_elements))]
    return lines


def draw_graph(root, names=None, digits=3, max_elements=6, title=None,
               max_tensors=MAX_DRAWN_TENSORS):
    """A picture of the graph that computed ``root``: values, ops and gradients.

    Tensors are boxes with their name, shape, value and (after ``backward()``) gradient;
    ops are ellipses; arrows follow the forward pass. Once gradients are in the graph, the
    output's box shows its own gradient, ``df/df = 1``.

    Parameters
    ----------
    root : Tensor
        Usually the loss or the function value.
    names : Module or dict, optional
        Names for tensors: a model (``names=model`` labels its parameters ``0.weight``,
        ...) or a dict of name -> tensor. Otherwise a tensor's ``.name`` is used, then
        the name of the op that made it.
    digits : int
        Decimals shown (significant digits for numbers below 1).
    max_elements : int
        Show every number of tensors with at most this many elements; larger ones show
        their first few numbers and their range.
    title : str, optional
        A line above the graph.
    max_tensors : int
        Refuse graphs of more tensors than this.

    Returns
    -------
    Picture

    Examples
    --------
    >>> import descent
    >>> b = descent.tensor(2.0, requires_grad=True, name="b")
    >>> c = descent.tensor(3.0, requires_grad=True, name="c")
    >>> d = descent.tensor(4.0, requires_grad=True, name="d")
    >>> f = d * (b + c)
    >>> f.backward()
    >>> picture = draw_graph(f)
    >>> "df/db = 4" in picture.svg and "df/df = 1" in picture.svg
    True
    """
    if not isinstance(root, Tensor):
        raise DescentTypeError(f"draw_graph needs a Tensor, got {type(root).__name__}")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 12:
        raise DescentValueError(f"digits must be a whole number from 0 to 12, got {digits!r}")
    tensors = graph_nodes(root)
    if len(tensors) > max_tensors:
        raise DescentValueError(
            f"the graph behind this tensor has {len(tensors):,} tensors; draw shows at most "
            f"{max_tensors:,} (a larger picture cannot be read): draw a smaller part, e.g. "
            "the loss of one example through a small network, or raise max_tensors")
    labels = _name_map(names)
    gradients = any(t.grad is not None for t in tensors)
    output = _symbol(labels.get(root) or root.name or "f")

    # the nodes: a box per tensor, then an ellipse per op
    nodes = [(t, _box_lines(t, labels.get(t) or t.name, t is root and gradients, output,
                            digits, max_elements)) for t in tensors]
    nodes += [(None, _OP_SYMBOLS.get(t.op, t.op)) for t in tensors if t.op is not None]
    index = {t: i for i, t in enumerate(tensors)}
    ops = {t: len(tensors) + k for k, t in enumerate(t for t in tensors if t.op is not None)}
    edges = []
    for t in tensors:
        if t.op is not None:
            edges += [(index[parent], ops[t]) for parent in t.parents]
            edges.append((ops[t], index[t]))
    sizes = [(text_width(body) + 2 * _PAD + 8, 24.0) if t is None else
             (max(text_width(text) for text, _, _ in body) + 2 * _PAD,
              len(body) * _LINE * _SIZE + 2 * _PAD) for t, body in nodes]

    centres, routes, width, height = layered_layout(sizes, edges)
    shapes = []
    if title:
        shift = _LINE * (_SIZE + 2)
        width = max(width, text_width(title, _SIZE + 2) + 2 * _MARGIN)
        height += shift
        centres = [(cx, cy + shift) for cx, cy in centres]
        routes = [[(x, y + shift) for x, y in route] for route in routes]
        shapes.append(Text(width / 2, (_MARGIN + shift) / 2, title, _SIZE + 2, bold=True,
                           role="title"))
    for (u, v), route in zip(edges, routes):
        (ux, uy), (vx, vy) = centres[u], centres[v]
        start = (ux + sizes[u][0] / 2, uy)
        before = route[-1] if route else start
        if nodes[v][0] is None:  # into an op: end on the ellipse, pointing at its centre
            rx, ry = sizes[v][0] / 2, sizes[v][1] / 2
            dx, dy = before[0] - vx, before[1] - vy
            reach = 1 / math.hypot(dx / rx, dy / ry) if (dx or dy) else 0.0
            end = (vx + dx * reach, vy + dy * reach)
        else:
            end = (vx - sizes[v][0] / 2, vy)
        shapes.append(Arrow((start, *route, end)))
    for (t, body), (cx, cy), (w, h) in zip(nodes, centres, sizes):
        if t is None:
            shapes.append(Ellipse(cx, cy, w / 2, h / 2, role="op"))
            shapes.append(Text(cx, cy, body, role="op-label"))
            continue
        fill, stroke, stroke_width = (
            ("#e3edf8", "#1f4e79", 2.0) if t is root else
            ("#fdf3e1", INK, 1.0) if t.op is None and t.requires_grad else
            ("#f2f2f2", INK, 1.0) if t.op is None else ("#f4f8fc", INK, 1.0))
        shapes.append(Rect(cx - w / 2, cy - h / 2, w, h, fill, stroke, stroke_width, 4.0,
                           role="tensor"))
        for i, (text, color, bold) in enumerate(body):
            shapes.append(Text(cx - w / 2 + _PAD, cy - h / 2 + _PAD + (i + 0.5) * _LINE * _SIZE,
                               text, anchor="start", bold=bold, color=color))
    return Picture(shapes, width, height)
