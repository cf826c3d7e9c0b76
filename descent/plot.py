"""Pictures of training (matplotlib, headless): loss and metric curves, per-layer gradient
norms, and the decision regions of a two-feature classifier. Each function writes a PNG
(or any format matplotlib knows from the file name) and returns the path."""

from pathlib import Path

import numpy as np

from descent.errors import DescentError, DescentValueError, ShapeError
from descent.files.archive import write_atomically
from descent.nn.inspect import predict


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


def _pyplot():
    require_matplotlib().use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path):
    plt = _pyplot()
    path = check_image_path(path)
    if not path.parent.is_dir():
        plt.close(figure)
        raise DescentValueError(f"cannot write {path}: the folder {path.parent} does not exist")
    figure.tight_layout()
    try:  # atomically, as every file descent writes: a failure leaves the old file
        write_atomically(path, lambda handle: figure.savefig(
            handle, format=path.suffix.lower().lstrip("."), dpi=110))
    finally:
        plt.close(figure)
    return path


def plot_history(history, path):
    """Training and validation loss per epoch, and accuracy (or R²) when recorded."""
    plt = _pyplot()
    if not len(history):
        raise DescentValueError("the history has no epochs to plot")
    epochs = history["epoch"]
    metric = next((m for m in ("accuracy", "r2") if any(v is not None for v in history[m])),
                  None)
    figure, axes = plt.subplots(1, 2 if metric else 1, figsize=(10 if metric else 6, 4),
                                squeeze=False)
    loss_axis = axes[0][0]
    loss_axis.plot(epochs, history["loss"], label="training")
    if any(v is not None for v in history["val_loss"]):
        loss_axis.plot(epochs, history["val_loss"], label="validation")
    loss_axis.set(xlabel="epoch", ylabel="loss", title="Loss")
    loss_axis.legend()
    if metric:
        axis = axes[0][1]
        axis.plot(epochs, history[metric], label="training")
        if any(v is not None for v in history[f"val_{metric}"]):
            axis.plot(epochs, history[f"val_{metric}"], label="validation")
        axis.set(xlabel="epoch", ylabel=metric, title=metric.capitalize())
        axis.legend()
    return _save(figure, path)


def plot_gradient_norms(history, path):
    """Each parameter's gradient norm per epoch, on a log scale (vanishing gradients)."""
    plt = _pyplot()
    names = list(dict.fromkeys(n for r in history.records for n in (r.get("grad_norm") or {})))
    if not names:
        raise DescentValueError("the history records no gradient norms")
    figure, axis = plt.subplots(figsize=(7, 4))
    for name in names:
        values = [(r.get("grad_norm") or {}).get(name) for r in history.records]
        axis.plot(history["epoch"], [np.nan if v is None else max(v, 1e-30) for v in values],
                  label=name)
    axis.set(xlabel="epoch", ylabel="gradient norm", yscale="log",
             title="Gradient norm per parameter")
    axis.legend(fontsize="small", ncol=2)
    return _save(figure, path)


def plot_decision_boundary(model, X, y, path, resolution=200):
    """The class the model predicts over the plane of two features, with the data."""
    plt = _pyplot()
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ShapeError(f"a decision boundary needs exactly two features, got shape {X.shape}")
    low, high = X.min(axis=0), X.max(axis=0)
    margin = (high - low) * 0.1 + 1e-9
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    scores = predict(model, np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    regions = (scores.argmax(axis=1) if scores.shape[1] > 1
               else (scores[:, 0] > (0.5 if scores.min() >= 0 else 0.0)).astype(int))
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.contourf(grid_x, grid_y, regions.reshape(grid_x.shape), alpha=0.3, cmap="viridis")
    axis.scatter(X[:, 0], X[:, 1], c=np.asarray(y), cmap="viridis", edgecolors="k", s=18)
    axis.set(xlabel="feature 1", ylabel="feature 2", title="Decision regions")
    return _save(figure, path)
