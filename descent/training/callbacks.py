"""Callbacks: code that runs at points of the training loop, which knows nothing of
terminals or plots. Subclass ``Callback`` and override what you need."""

import sys

__all__ = ["Callback", "ProgressBar"]


class Callback:
    """Hooks called by ``train``: ``record`` is the epoch's dictionary (see ``History``)."""

    def on_train_begin(self, history):
        """Before the first epoch."""

    def on_epoch_begin(self, epoch):
        """At the start of each epoch (numbered from 1)."""

    def on_batch_end(self, epoch, batch, loss):
        """After each update, with the batch's loss."""

    def on_epoch_end(self, record):
        """After each epoch's record is complete."""

    def on_train_end(self, history):
        """After training stopped (``history.stop_reason`` is set)."""


def in_jupyter_kernel():
    """True inside a Jupyter kernel (notebook, JupyterLab, VS Code), not plain IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return shell is not None and hasattr(shell, "kernel")


def progress_bar_class():
    """tqdm's widget bar in a Jupyter kernel with ipywidgets, its text bar otherwise.

    Not ``tqdm.auto``: in a kernel without ipywidgets it warns ("IProgress not found")
    before falling back to the text bar, which a notebook shows just as well.
    """
    from tqdm.std import tqdm as text_bar

    if not in_jupyter_kernel():
        return text_bar
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return text_bar
    from tqdm.notebook import tqdm as widget_bar

    return widget_bar


class ProgressBar(Callback):
    """A tqdm progress bar over epochs showing the latest losses (needs ``tqdm``); a
    widget in Jupyter when ipywidgets is installed."""

    def __init__(self, total_epochs, file=None):
        self.total_epochs = total_epochs
        self.file = file

    def on_train_begin(self, history):
        self.bar = progress_bar_class()(total=self.total_epochs, unit="epoch",
                                        file=self.file or sys.stderr, dynamic_ncols=True,
                                        leave=True)

    def on_epoch_end(self, record):
        shown = {k: f"{record[k]:.4g}" for k in ("loss", "val_loss", "accuracy",
                                                  "val_accuracy") if record.get(k) is not None}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, history):
        self.bar.close()


def progress_wanted(progress, stream=None):
    """``progress=None`` means: on when the output is a terminal and tqdm is installed."""
    if progress is not None:
        return bool(progress)
    stream = stream or sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True
