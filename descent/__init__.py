"""descent: neural networks trained by gradient descent and backpropagation, explained.

The public face of the package: everything a user needs is re-exported here. The layers
underneath, lowest first (an import only goes down): ``autograd``, ``nn``, ``losses``,
``optim``, ``data``, ``files``, ``training``, ``teach``; the faces (``cli``, ``sklearn``,
``plot``, ``tabular``) sit on top and are imported on their own.
"""

from descent._version import __version__
from descent.errors import (
    DescentError,
    DescentTypeError,
    DescentValueError,
    GradientError,
    ShapeError,
)
from descent import autograd, data, files, losses, nn, optim, teach, training
from descent.autograd import functional
from descent.autograd.backend import get_default_dtype, manual_seed, set_default_dtype
from descent.autograd.gradcheck import GradcheckReport, gradcheck, slope
from descent.autograd.graph import to_dot
from descent.autograd.ops import (
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
from descent.autograd.tensor import Tensor, is_grad_enabled, no_grad, tensor
from descent.data import datasets
from descent.files.model import ModelFileError, load, save
from descent.optim import schedules
from descent.teach.draw import draw
from descent.teach.examples import EXAMPLES, build_example
from descent.teach.exercise import make_exercise
from descent.teach.explain import explain, trace_report
from descent.teach.minimize import minimize
from descent.teach.perceptron import train_perceptron
from descent.training import callbacks, diagnostics, metrics, stopping
from descent.training.checkpoint import CheckpointError
from descent.training.history import History
from descent.training.loop import train
from descent.training.stopping import TrainingDiverged
from descent.training.validation import cross_validate


__all__ = [
    "CheckpointError", "DescentError", "DescentTypeError", "DescentValueError", "EXAMPLES",
    "GradcheckReport", "GradientError", "History", "ModelFileError", "ShapeError", "Tensor",
    "TrainingDiverged", "__version__", "abs", "autograd", "build_example", "callbacks",
    "clip", "concatenate", "cross_validate", "data", "datasets", "diagnostics", "draw", "exp",
    "explain", "files", "functional", "get_default_dtype", "gradcheck", "is_grad_enabled",
    "linear", "load", "log", "losses", "make_exercise", "manual_seed", "matmul", "maximum",
    "mean", "metrics",
    "minimize", "minimum", "nn", "no_grad", "optim", "reshape", "save", "schedules",
    "set_default_dtype", "slope", "sqrt", "stack", "stopping", "sum", "tensor", "teach",
    "to_dot", "trace_report", "train", "train_perceptron", "training", "transpose", "where",
]

# The faces are imported when first used (``descent.distributed.train``), so that
# ``import descent`` needs NumPy alone.
_FACES = ("cli", "distributed", "interop", "playground", "plot", "sklearn", "tabular")


def __getattr__(name):
    if name in _FACES:
        import importlib

        return importlib.import_module(f"descent.{name}")
    raise AttributeError(f"module 'descent' has no attribute {name!r}")
