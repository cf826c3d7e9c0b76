"""Loss functions, with the mean / sum / none reductions of PyTorch, and their names."""

from descent.losses.functions import (
    LOSSES,
    REDUCTIONS,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    get_loss,
    mae,
    mse,
    nll_loss,
    poisson_nll,
    sse,
)

__all__ = [
    "LOSSES", "REDUCTIONS", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "get_loss", "mae", "mse", "nll_loss", "poisson_nll", "sse",
]
