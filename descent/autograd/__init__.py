"""The engine: the array backend, ``Tensor``, the primitive ops with their backward rules,
functional activations, graph export and gradient checks.

Importing this package binds ``Tensor``'s operators to the ops (``descent.autograd.ops``).
"""

from descent.autograd import backend, functional, ops
from descent.autograd.backend import get_default_dtype, manual_seed, set_default_dtype
from descent.autograd.gradcheck import GradcheckReport, gradcheck, slope
from descent.autograd.graph import to_dot
from descent.autograd.tensor import Tensor, is_grad_enabled, no_grad, tensor

__all__ = [
    "GradcheckReport", "Tensor", "backend", "functional", "get_default_dtype", "gradcheck",
    "is_grad_enabled", "manual_seed", "no_grad", "ops", "set_default_dtype", "slope",
    "tensor", "to_dot",
]
