"""Learning-rate schedules: change an optimiser's ``lr`` between epochs.

Call ``scheduler.step()`` once per epoch (``ReduceLROnPlateau.step(metric)`` with the
monitored value). Each schedule computes the rate from the initial one in closed form,
so the rate after k steps does not depend on rounding in earlier steps.
"""

import math
from abc import ABC, abstractmethod

from descent.errors import DescentValueError
from descent.optim.optimizers import Optimizer, _check

__all__ = [
    "CosineAnnealingLR", "ExponentialLR", "InverseScalingLR", "LRScheduler",
    "ReduceLROnPlateau", "StepLR",
]


class LRScheduler(ABC):
    """Base class: remembers the optimiser's initial rate and counts epochs."""

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise DescentValueError("a schedule needs a descent optimiser")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    @abstractmethod
    def rate(self, epoch):
        """The learning rate after ``epoch`` epochs."""

    def step(self):
        """Count an epoch and set the optimiser's ``lr`` to ``rate(epoch)``; return it."""
        self.epoch += 1
        self.optimizer.lr = self.rate(self.epoch)
        return self.optimizer.lr


class StepLR(LRScheduler):
    """η·γ^⌊epoch / step_size⌋: multiply by γ every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        self.step_size = int(_check("step_size", step_size, 1))
        self.gamma = _check("gamma", gamma, 0, low_open=True)

    def rate(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """η·γ^epoch."""

    def __init__(self, optimizer, gamma):
        super().__init__(optimizer)
        self.gamma = _check("gamma", gamma, 0, low_open=True)

    def rate(self, epoch):
        return self.base_lr * self.gamma ** epoch


class InverseScalingLR(LRScheduler):
    """η / (epoch + 1)^power_t (scikit-learn's "invscaling")."""

    def __init__(self, optimizer, power_t=0.5):
        super().__init__(optimizer)
        self.power_t = _check("power_t", power_t, 0)

    def rate(self, epoch):
        return self.base_lr / (epoch + 1) ** self.power_t


class CosineAnnealingLR(LRScheduler):
    """η_min + (η − η_min)(1 + cos(π·epoch / T_max)) / 2, then η_min after T_max epochs."""

    def __init__(self, optimizer, T_max, eta_min=0.0):
        super().__init__(optimizer)
        self.T_max = int(_check("T_max", T_max, 1))
        self.eta_min = _check("eta_min", eta_min, 0)

    def rate(self, epoch):
        progress = min(epoch, self.T_max) / self.T_max
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2


class ReduceLROnPlateau:
    """Multiply the rate by ``factor`` when a metric has not improved for ``patience`` epochs.

    Improvement means below ``best · (1 − threshold)`` in ``"min"`` mode (above
    ``best · (1 + threshold)`` in ``"max"`` mode); after a reduction, ``cooldown`` epochs
    pass before counting again; the rate never goes below ``min_lr``, and a reduction
    smaller than ``eps`` is skipped (as in PyTorch).
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if mode not in ("min", "max"):
            raise DescentValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if not isinstance(optimizer, Optimizer):
            raise DescentValueError("a schedule needs a descent optimiser")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = _check("factor", factor, 0, 1, low_open=True)
        self.patience = int(_check("patience", patience, 0))
        self.threshold = _check("threshold", threshold, 0)
        self.cooldown = int(_check("cooldown", cooldown, 0))
        self.min_lr = _check("min_lr", min_lr, 0)
        self.eps = _check("eps", eps, 0)
        self.best = None
        self.bad_epochs = 0
        self.cooldown_left = 0

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best * (1 - self.threshold)
        return value > self.best * (1 + self.threshold)

    def step(self, metric):
        """Record this epoch's ``metric``; lower the optimiser's ``lr`` when it has not
        improved for ``patience`` epochs. Return the rate."""
        metric = float(metric)
        if self._improved(metric):
            self.best = metric
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            reduced = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - reduced > self.eps:
                self.optimizer.lr = reduced
            self.cooldown_left = self.cooldown
            self.bad_epochs = 0
        return self.optimizer.lr
