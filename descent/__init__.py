"""descent: neural networks trained by gradient descent and backpropagation, explained.

The public face of the package: everything a user needs is re-exported here.
"""

from descent._version import __version__
from descent import (
    callbacks,
    data,
    datasets,
    diagnostics,
    functional,
    losses,
    metrics,
    nn,
    optim,
    schedules,
    stopping,
)
from descent.backend import get_default_dtype, manual_seed, set_default_dtype
from descent.errors import (
    DescentError,
    DescentTypeError,
    DescentValueError,
    GradientError,
    ShapeError,
)
from descent.gradcheck import GradcheckReport, gradcheck, slope
from descent.graph import to_dot
from descent.ops import (
    abs,
    clip,
    concatenate,
    exp,
    linear,
    log,
    matmul,
    maximum,
    mean,
    minimum,
    reshape,
    sqrt,
    stack,
    sum,
    transpose,
    where,
)
from descent.examples import EXAMPLES, build_example
from descent.explain import explain, trace_report
from descent.history import History
from descent.checkpoint import CheckpointError
from descent.io import ModelFileError, load, save
from descent.stopping import TrainingDiverged
from descent.minimize import minimize
from descent.perceptron import train_perceptron
from descent.tensor import Tensor, is_grad_enabled, no_grad, tensor
from descent.train import train
from descent.validation import cross_validate


__all__ = [
    "CheckpointError", "EXAMPLES", "History", "ModelFileError", "TrainingDiverged", "load", "save", "build_example", "explain", "minimize", "trace_report", "callbacks", "cross_validate", "data", "datasets", "diagnostics", "metrics",
    "stopping", "train", "train_perceptron",
    "DescentError", "DescentTypeError", "DescentValueError", "GradcheckReport",
    "GradientError", "ShapeError", "Tensor", "__version__", "abs", "clip", "concatenate",
    "exp", "functional", "losses", "nn", "optim", "schedules", "get_default_dtype", "gradcheck", "is_grad_enabled", "linear",
    "log", "manual_seed", "matmul", "maximum", "mean", "minimum", "no_grad", "reshape",
    "set_default_dtype", "slope", "sqrt", "stack", "sum", "tensor", "to_dot", "transpose",
    "where",
]
