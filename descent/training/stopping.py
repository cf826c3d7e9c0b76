"""Stopping criteria: "repeat until stopping criterion met".

Each criterion looks at the record of the epoch that just ended and returns a reason
(a sentence) to stop, or None. Pass any number to ``train(stop=[...])``: the first that
fires ends training and its reason becomes ``history.stop_reason``. The notes' criteria:
weight changes incredibly small (``WeightChange``), a pre-specified number of epochs
(``MaxEpochs``), the share of misclassified examples below a threshold (``ErrorRate``),
and validation to decide when to stop (``EarlyStopping``). Divergence always stops
training with ``TrainingDiverged``: a loss that becomes NaN or infinite, an epoch's loss
that grows past 10⁴ times the untrained network's (and past 10⁴), or weights that become
NaN or infinite.
"""

import math

from descent.errors import DescentError, DescentValueError

__all__ = [
    "Criterion", "EarlyStopping", "ErrorRate", "LossPlateau", "MaxEpochs", "MaxTime",
    "TrainingDiverged", "WeightChange",
]


class TrainingDiverged(DescentError):
    """Training diverged (see ``descent.training.loop``): the loss became NaN or
    infinite, or grew by orders of magnitude, or the weights overflowed. ``history``
    holds the epochs before it; ``epoch`` and ``batch`` say where it happened."""

    def __init__(self, message, history=None, epoch=None, batch=None):
        super().__init__(message)
        self.history, self.epoch, self.batch = history, epoch, batch


class Criterion:
    """Base class: ``check(record, model)`` returns a reason to stop or None.

    ``state_kinds`` says what ``state_dict()`` holds, so that a checkpoint's copy can be
    checked before it is loaded: for each key, ``"count"`` (an integer >= 0),
    ``"number"`` (not NaN), ``"epoch"`` (an epoch already trained) or ``"weights"`` (the
    model's parameters by name), with ``" or None"`` where the value may be missing. A
    key it does not list must hold a plain value (a number, string, bool or None).
    """

    state_kinds = {}

    def on_train_begin(self, model):
        """Reset any state (a criterion can be reused across runs)."""

    def check(self, record, model):
        """After each epoch: a reason to stop (a sentence, ``history.stop_reason``) or
        None. ``record`` is the epoch's record (see ``History``)."""
        return None

    def on_train_end(self, model):
        """Called once training has stopped, whatever stopped it."""

    def state_dict(self):
        """What the criterion has counted so far (for checkpoints)."""
        return {}

    def load_state_dict(self, state):
        """Restore what ``state_dict()`` returned."""
        for key, value in state.items():
            setattr(self, key, value)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DescentValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _non_negative(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise DescentValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


class MaxEpochs(Criterion):
    """Stop after ``epochs`` epochs."""

    def __init__(self, epochs):
        self.epochs = _positive_int("epochs", epochs)

    def check(self, record, model):
        if record["epoch"] >= self.epochs:
            return f"reached the maximum of {self.epochs} epochs"
        return None


class MaxTime(Criterion):
    """Stop once training has run for ``seconds`` (checked at the end of each epoch)."""

    def __init__(self, seconds):
        self.seconds = _non_negative("seconds", seconds)

    def check(self, record, model):
        if record["time"] >= self.seconds:
            return f"reached the time limit of {self.seconds:g} s"
        return None


class WeightChange(Criterion):
    """Stop when the weights moved less than ``tol`` (Euclidean norm) in an epoch."""

    def __init__(self, tol=1e-6):
        self.tol = _non_negative("tol", tol)

    def check(self, record, model):
        change = record.get("weight_change")
        if change is not None and change < self.tol:
            return f"weight change {change:.3g} fell below {self.tol:g}"
        return None


class LossPlateau(Criterion):
    """Stop when ``monitor`` has not improved by at least ``tol`` for ``patience``
    consecutive epochs (scikit-learn's ``tol`` / ``n_iter_no_change``)."""

    state_kinds = {"best": "number", "stale": "count"}

    def __init__(self, tol=1e-4, patience=10, monitor="loss"):
        self.tol = _non_negative("tol", tol)
        self.patience = _positive_int("patience", patience)
        self.monitor = monitor

    def on_train_begin(self, model):
        self.best, self.stale = math.inf, 0

    def state_dict(self):
        return {"best": self.best, "stale": self.stale}

    def check(self, record, model):
        value = record.get(self.monitor)
        if value is None:
            raise DescentValueError(f"LossPlateau monitors {self.monitor!r}, which is not "
                                    f"recorded; recorded: {sorted(record)}")
        self.stale = self.stale + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        if self.stale >= self.patience:
            return (f"{self.monitor} improved by less than {self.tol:g} for "
                    f"{self.patience} epochs")
        return None


class ErrorRate(Criterion):
    """Stop when the share of misclassified examples is at most ``threshold``."""

    def __init__(self, threshold=0.0, monitor="error_rate"):
        self.threshold = _non_negative("threshold", threshold)
        self.monitor = monitor

    def check(self, record, model):
        value = record.get(self.monitor)
        if value is None:
            raise DescentValueError(
                f"ErrorRate monitors {self.monitor!r}, which is not recorded (it needs a "
                "classification loss such as cross_entropy)"
            )
        if value <= self.threshold:
            return f"{self.monitor} {value:.4g} reached the threshold {self.threshold:g}"
        return None


class EarlyStopping(Criterion):
    """Stop when ``monitor`` (validation loss by default) has not improved for
    ``patience`` epochs; with ``restore_best`` the weights of the best epoch come back.

    ``mode`` is ``"min"`` or ``"max"``; by default ``"max"`` for accuracy and R²,
    ``"min"`` otherwise.
    """

    state_kinds = {"best": "number or None", "best_epoch": "epoch or None",
                   "stale": "count", "best_state": "weights or None"}

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, mode=None,
                 restore_best=True):
        self.monitor = monitor
        self.patience = _positive_int("patience", patience)
        self.min_delta = _non_negative("min_delta", min_delta)
        if mode is None:
            mode = "max" if ("accuracy" in monitor or "r2" in monitor) else "min"
        if mode not in ("min", "max"):
            raise DescentValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.restore_best = restore_best

    def on_train_begin(self, model):
        self.best, self.best_epoch, self.best_state, self.stale = None, None, None, 0

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "stale": self.stale,
                "best_state": None if self.best_state is None else dict(self.best_state)}

    def check(self, record, model):
        value = record.get(self.monitor)
        if value is None:
            raise DescentValueError(
                f"EarlyStopping monitors {self.monitor!r}, which is not recorded; give "
                "train() validation data (validation=0.2 or (X_val, y_val))"
            )
        sign = 1 if self.mode == "min" else -1
        if self.best is None or sign * (self.best - value) > self.min_delta:
            self.best, self.best_epoch, self.stale = value, record["epoch"], 0
            if self.restore_best:
                self.best_state = model.state_dict()
            return None
        self.stale += 1
        if self.stale >= self.patience:
            return (f"{self.monitor} did not improve for {self.patience} epochs "
                    f"(best {self.best:.6g} at epoch {self.best_epoch})")
        return None

    def on_train_end(self, model):
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)
