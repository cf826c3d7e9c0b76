"""Pictures of training (matplotlib, headless): loss and metric curves, per-layer gradient
norms (from a history, or from ``descent.diagnostics.gradient_flow``), and the decision
regions of a two-feature classifier with the data coloured by its true classes.

Every function returns a matplotlib ``Figure`` when no path is given: a notebook shows it
(IPython draws it through its ``_repr_png_``; pyplot is not needed). Given a path, it
writes the picture there atomically (PNG, or any format matplotlib knows from the suffix)
and returns the path. The figures are plain ``matplotlib.figure.Figure`` objects, not
pyplot's, so no global list of open figures grows.
"""

import functools
import io
from pathlib import Path

import numpy as np

from descent.errors import DescentError, DescentTypeError, DescentValueError, ShapeError
from descent.files.archive import write_atomically
from descent.nn.inspect import class_probabilities
from descent.training.diagnostics import GradientFlow
from descent.training.metrics import accuracy

__all__ = [
    "plot_decision_boundary", "plot_gradient_flow", "plot_gradient_norms", "plot_history",
]

_DPI = 110
# Class colours: matplotlib's tab10 without its red, which marks the misclassified points.
_CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22", "#17becf"]
_MISTAKE_COLOUR = "#d62728"


def require_matplotlib():
    """Raise a clear error now (before any work) when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        raise DescentError("plots need matplotlib: pip install 'descent[plot]'") from None
    return matplotlib


def check_image_path(path):
    """Raise before any work when matplotlib cannot write an image named ``path`` (its
    suffix names no format matplotlib knows)."""
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise DescentValueError(f"cannot write a picture to {path}: "
                                f"{'.' + suffix if suffix else 'no suffix'} is not an image "
                                f"format; use one of .{', .'.join(sorted(formats))}")
    return Path(path)


def _target(path):
    """``path`` checked before any drawing (None: the figure is returned)."""
    if path is None:
        return None
    path = check_image_path(path)
    if not path.parent.is_dir():
        raise DescentValueError(f"cannot write {path}: the folder {path.parent} does not exist")
    return path


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _new_figure(figsize):
    """A Figure outside pyplot that a notebook displays: IPython calls ``_repr_png_``."""
    require_matplotlib()
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    figure._repr_png_ = functools.partial(_png, figure)
    return figure


def _finish(figure, path):
    """The figure itself, or (with a path) the path it was written to."""
    if path is None:
        return figure
    # atomically, as every file descent writes: a failure leaves the old file
    write_atomically(path, lambda handle: figure.savefig(
        handle, format=path.suffix.lower().lstrip("."), dpi=_DPI))
    return path


def _layer_colours(count):
    """One colour per layer along viridis, dark (first layer) to yellow-green (last), so
    the order shows even among a dozen lines."""
    from matplotlib import colormaps

    return colormaps["viridis"](np.linspace(0.0, 0.88, count)) if count > 1 else \
        colormaps["viridis"]([0.0])


def _positive(values):
    """Values for a log axis: None and norms of 0 (no point on a log scale) become NaN."""
    return [np.nan if v is None or not v > 0 else v for v in values]


def plot_history(history, path=None):
    """Training and validation loss per epoch, and accuracy (or R²) when recorded.

    Returns the ``Figure`` without ``path``, else writes it there and returns the path.

    Examples
    --------
    >>> from descent import History
    >>> history = History()
    >>> for epoch, loss in enumerate([0.9, 0.5, 0.3], start=1):
    ...     history.append({"epoch": epoch, "loss": loss})
    >>> type(plot_history(history)).__name__
    'Figure'
    """
    if not len(history):
        raise DescentValueError("the history has no epochs to plot")
    path = _target(path)
    epochs = history["epoch"]
    metric = next((m for m in ("accuracy", "r2") if any(v is not None for v in history[m])),
                  None)
    figure = _new_figure((10, 4) if metric else (6, 4))
    axes = figure.subplots(1, 2 if metric else 1, squeeze=False)[0]
    marker = "o" if len(epochs) <= 30 else None
    panels = [("loss", "Loss")] + ([(metric, metric.capitalize())] if metric else [])
    for axis, (key, title) in zip(axes, panels):
        axis.plot(epochs, history[key], marker=marker, label="training")
        if any(v is not None for v in history[f"val_{key}"]):
            axis.plot(epochs, history[f"val_{key}"], marker=marker, label="validation")
        axis.set(xlabel="epoch", ylabel=key, title=title)
        axis.legend()
    return _finish(figure, path)


def plot_gradient_norms(history, path=None):
    """Each layer's weight-gradient norm per epoch (the mean over the epoch's batches) on
    a log scale: vanishing gradients show as the first layers' lines lying far below the
    last layers'.

    One line per layer, coloured along viridis from the first layer (dark) to the last
    (light) and listed in that order. The layers are the parameters named ``*.weight``
    (one per dense layer); a history without such names shows every parameter. A norm of
    0 has no place on a log scale and is left out.

    Returns the ``Figure`` without ``path``, else writes it there and returns the path.
    """
    names = list(dict.fromkeys(n for r in history.records for n in (r.get("grad_norm") or {})))
    if not names:
        raise DescentValueError("the history records no gradient norms")
    path = _target(path)
    weights = [n for n in names if n == "weight" or n.endswith(".weight")]
    names = weights or names
    figure = _new_figure((8, 4.5))
    axis = figure.subplots()
    marker = "o" if len(history) <= 30 else None
    for number, (name, colour) in enumerate(zip(names, _layer_colours(len(names))), start=1):
        values = [(r.get("grad_norm") or {}).get(name) for r in history.records]
        axis.plot(history["epoch"], _positive(values), color=colour, marker=marker,
                  markersize=3, label=f"{number}: {name}")
    axis.set(xlabel="epoch", ylabel="gradient norm (mean over the epoch's batches)",
             yscale="log", title="Weight-gradient norm per layer" if weights
             else "Gradient norm per parameter")
    axis.legend(title="layer, first to last" if weights else "parameter", fontsize="small",
                loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=2 if len(names) > 16 else 1)
    return _finish(figure, path)


def plot_gradient_flow(flow, path=None):
    """The gradient norm of every layer, first to last, on a log scale: one point per
    layer, from ``descent.diagnostics.gradient_flow``.

    ``flow`` is one ``GradientFlow``, or a dict ``{label: GradientFlow}`` to compare
    networks (say, sigmoid against ReLU) on one axis. Norms of 0 are left out (log scale).
    Returns the ``Figure`` without ``path``, else writes it there and returns the path.

    Examples
    --------
    >>> import numpy as np
    >>> from descent import nn
    >>> from descent.training.diagnostics import gradient_flow
    >>> X, y = np.ones((8, 3)), np.zeros((8, 1))
    >>> flow = gradient_flow(nn.MLP([3, 4, 4, 1], activation="sigmoid", rng=0), X, y)
    >>> figure = plot_gradient_flow(flow)
    >>> [label.get_text() for label in figure.axes[0].get_xticklabels()]
    ['1\\n0.weight', '2\\n2.weight', '3\\n4.weight']
    """
    flows = flow if isinstance(flow, dict) else {None: flow}
    for label, each in flows.items():
        if not isinstance(each, GradientFlow):
            raise DescentTypeError("plot_gradient_flow takes the result of "
                                   "descent.diagnostics.gradient_flow (or a dict of them), "
                                   f"got {type(each).__name__}")
        if not each.norms:
            raise DescentValueError("the gradient flow has no layers to plot"
                                    + (f" ({label!r})" if label is not None else ""))
    path = _target(path)
    widest = max(flows.values(), key=lambda f: len(f.norms))
    figure = _new_figure((max(6.0, 0.55 * len(widest.norms) + 2.5), 4.5))
    axis = figure.subplots()
    for index, (label, each) in enumerate(flows.items()):
        layers = np.arange(1, len(each.norms) + 1)
        axis.plot(layers, _positive(each.norms), marker="os^Dv<>"[index % 7],
                  color=_CLASS_COLOURS[index % len(_CLASS_COLOURS)],
                  label=None if label is None else f"{label} (first / last {each.ratio:.1e})")
    axis.set_xticks(np.arange(1, len(widest.norms) + 1),
                    [f"{n}\n{name}" for n, name in enumerate(widest.layers, start=1)],
                    fontsize="small")
    title = "Gradient norm per layer"
    if len(flows) == 1:
        title += f" (first / last = {next(iter(flows.values())).ratio:.1e})"
    axis.set(xlabel="layer, first (input side) to last (output side)",
             ylabel="weight-gradient norm", yscale="log", title=title)
    if len(flows) > 1 or None not in flows:
        axis.legend()
    return _finish(figure, path)


def _class_codes(y, class_names):
    """True labels as class indices and the names of the classes. With ``class_names``
    a label is looked up among them (as text), or taken as an index; without, integer
    labels are indices (as ``descent.train`` takes them) and other labels are numbered
    in sorted order."""
    y = np.asarray(y).reshape(-1)
    whole = y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0))
    if class_names is not None:
        names = [str(name) for name in class_names]
        lookup = {name: index for index, name in enumerate(names)}
        texts = [str(label) for label in y]
        if all(text in lookup for text in texts):
            return np.array([lookup[t] for t in texts], dtype=np.intp), names
        if whole and (not y.size or (y.min() >= 0 and y.max() < len(names))):
            return y.astype(np.intp), names
        unknown = sorted(set(texts) - set(lookup))[:5]
        raise DescentValueError(f"labels {unknown} are not among the class names {names}")
    if whole:
        codes = y.astype(np.intp)
        if codes.size and codes.min() < 0:
            raise DescentValueError(f"class labels must be >= 0, got {codes.min()}")
        return codes, [str(k) for k in range(codes.max() + 1 if codes.size else 0)]
    if y.dtype.kind == "f":
        raise DescentValueError("a decision boundary needs class labels; y holds numbers "
                                f"with fractions such as {y[np.mod(y, 1) != 0][0]:g}")
    names, codes = np.unique(y.astype(str), return_inverse=True)
    return codes.astype(np.intp), names.tolist()


def plot_decision_boundary(model, X, y, path=None, resolution=200, *, feature_names=None,
                           class_names=None, encode=None):
    """The class a classifier predicts over the plane of two features, with the data
    points coloured by their TRUE classes.

    The background is the model's predicted class and each point's colour its true
    class, so a point on a background of another colour is one the model gets wrong; a
    red ring marks each of those too, and the title gives the accuracy on these points.

    Parameters
    ----------
    model : Module
        A classifier with two inputs (softmax or sigmoid outputs, or scores).
    X : array_like, shape (n, 2)
        The points, in the units the axes should show.
    y : array_like, shape (n,)
        Their true classes: class indices, or labels found in ``class_names``.
    path : path, optional
        Write the picture here; without it the ``Figure`` is returned.
    resolution : int
        Grid points along each axis.
    feature_names : pair of str, optional
        The axis labels (default "feature 1", "feature 2").
    class_names : sequence, optional
        The classes in the order of the model's outputs, for the legend.
    encode : callable, optional
        Turns points in ``X``'s units into the model's inputs (for instance the
        standardisation it was trained with); default: the points as they are.

    Examples
    --------
    >>> import descent
    >>> X, y = descent.datasets.moons(60, seed=0)
    >>> model = descent.nn.MLP([2, 8, 2], activation="tanh", rng=0)
    >>> figure = plot_decision_boundary(model, X, y, resolution=30,
    ...                                 class_names=["lower", "upper"])
    >>> [text.get_text() for text in figure.axes[0].get_legend().get_texts()][:2]
    ['lower', 'upper']
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ShapeError(f"a decision boundary needs exactly two features, got shape {X.shape}")
    codes, names = _class_codes(y, class_names)
    if len(codes) != len(X):
        raise ShapeError(f"X has {len(X)} rows but y has {len(codes)} labels")
    path = _target(path)
    encode = encode or (lambda points: points)
    low, high = X.min(axis=0), X.max(axis=0)
    margin = (high - low) * 0.1 + 1e-9
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    regions = class_probabilities(model, encode(grid)).argmax(axis=1).reshape(grid_x.shape)
    predicted = class_probabilities(model, encode(X)).argmax(axis=1)
    count = max(len(names), int(regions.max()) + 1, int(predicted.max(initial=0)) + 1)
    names = names + [f"class {k}" for k in range(len(names), count)]
    colours = _class_palette(count)

    from matplotlib.colors import ListedColormap

    figure = _new_figure((6.5, 5.5))
    axis = figure.subplots()
    axis.pcolormesh(xs, ys, regions, cmap=ListedColormap(colours), vmin=-0.5,
                    vmax=count - 0.5, alpha=0.25, shading="nearest")
    if count > 1:
        axis.contour(xs, ys, regions, levels=np.arange(count - 1) + 0.5, colors="0.25",
                     linewidths=0.8)
    for code, (name, colour) in enumerate(zip(names, colours)):
        mine = codes == code
        if mine.any():
            axis.scatter(X[mine, 0], X[mine, 1], color=colour, edgecolors="k",
                         linewidths=0.5, s=24, label=name, zorder=3)
    wrong = predicted != codes
    axis.scatter(X[wrong, 0], X[wrong, 1], marker="o", facecolors="none",  # a ring: the
                 edgecolors=_MISTAKE_COLOUR, s=90, linewidths=1.5,  # true colour shows
                 label=f"misclassified ({int(wrong.sum())})", zorder=4)
    labels = list(feature_names) if feature_names is not None else ["feature 1", "feature 2"]
    score = accuracy(codes, predicted)
    axis.set(xlabel=labels[0], ylabel=labels[1],
             title=f"Decision regions: accuracy {score:.1%} "
                   f"({int(wrong.sum())} of {len(codes)} misclassified)\n"
                   "points: true class; background: predicted class")
    axis.legend(title="true class", fontsize="small", loc="upper left",
                bbox_to_anchor=(1.01, 1.0))
    return _finish(figure, path)


def _class_palette(count):
    if count <= len(_CLASS_COLOURS):
        return _CLASS_COLOURS[:count]
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    return [to_hex(c) for c in colormaps["viridis"](np.linspace(0, 1, count))]
