"""Loss functions, with the mean / sum / none reductions of PyTorch, and their names;
``Penalized`` adds an L1/L2 penalty on chosen parameters to one."""

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
from descent.losses.penalty import Penalized

__all__ = [
    "LOSSES", "Penalized", "REDUCTIONS", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "get_loss", "mae", "mse", "nll_loss",
    "poisson_nll", "sse",
]
