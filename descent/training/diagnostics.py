"""Diagnostics for the notes' two training pathologies.

- Vanishing gradients (seeds 003/004): σ'(z) ≤ ¼, so in a deep sigmoid network the
  gradient reaching the first layers is a product of many small factors.
  ``gradient_flow`` reports each layer's gradient norm.
- Dying ReLUs (seed 001): a ReLU unit whose input is negative for every example outputs
  0 and gets no gradient. ``dead_units`` reports the share of such units per layer.
"""

from dataclasses import dataclass

import numpy as np

from descent import losses as losses_module
from descent.nn.inspect import dead_unit_fractions
from descent.nn.layers import Linear


@dataclass
class GradientFlow:
    """Per-layer weight-gradient norms, first layer first."""

    layers: list
    norms: list

    @property
    def ratio(self):
        """First layer's gradient norm over the last layer's."""
        return self.norms[0] / self.norms[-1] if self.norms[-1] else float("inf")

    def __str__(self):
        lines = ["layer            gradient norm"]
        lines += [f"{name:<16} {norm:.3e}" for name, norm in zip(self.layers, self.norms)]
        lines.append(f"first / last = {self.ratio:.3e}")
        return "\n".join(lines)


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


def dead_units(model, X):
    """``{ReLU layer name: fraction of units inactive for every row of X}``."""
    return dead_unit_fractions(model, X)
