"""Activation functions, as functions of tensors.

sigmoid, tanh, relu, step, softmax and log_softmax are primitives (see ``descent.autograd.ops``:
fused for stability or speed); leaky_relu and elu are composed from primitives here.

=============  ==========================================  ===============================
name           f(z)                                        f'(z)
=============  ==========================================  ===============================
step           1 if z > 0 else 0                           0 (no gradient: nothing learns)
sigmoid        1 / (1 + e^(−z))                            σ(z)(1 − σ(z)), at most ¼
tanh           (e^z − e^(−z)) / (e^z + e^(−z))             1 − tanh²(z)
relu           max(0, z)                                   1 if z > 0 else 0
leaky_relu     z if z > 0 else αz                          1 if z > 0 else α
elu            z if z > 0 else α(e^z − 1)                  1 if z > 0 else αe^z
softmax        e^(z_k) / Σ_j e^(z_j)                       s_k(δ_kj − s_j)
=============  ==========================================  ===============================
"""

from descent.autograd import ops
from descent.errors import DescentValueError, lookup
from descent.autograd.tensor import as_tensor

__all__ = [
    "elu", "get_activation", "identity", "leaky_relu", "log_softmax", "relu", "sigmoid",
    "softmax", "step", "tanh",
]

sigmoid = ops.sigmoid
tanh = ops.tanh
relu = ops.relu
step = ops.step
softmax = ops.softmax
log_softmax = ops.log_softmax


def identity(z):
    """f(z) = z (a linear output unit)."""
    return as_tensor(z)


def leaky_relu(z, negative_slope=0.01):
    """z where z > 0, else negative_slope · z; keeps a small gradient for negative z.

    Examples
    --------
    >>> import descent
    >>> leaky_relu(descent.tensor([-2.0, 3.0]), 0.1).data
    array([-0.2,  3. ], dtype=float32)
    """
    if negative_slope < 0:
        raise DescentValueError(f"negative_slope must be >= 0, got {negative_slope!r}")
    z = as_tensor(z)
    return ops.where(z.data > 0, z, z * negative_slope)


def elu(z, alpha=1.0):
    """z where z > 0, else α(e^z − 1): smooth, with non-zero gradient for negative z.

    The exponential only sees the non-positive inputs, so large positive ones cannot
    overflow; at z = 0 the gradient is α, as in PyTorch.
    """
    if alpha <= 0:
        raise DescentValueError(f"alpha must be > 0, got {alpha!r}")
    z = as_tensor(z)
    negative_part = (ops.exp(ops.where(z.data > 0, 0.0, z)) - 1.0) * alpha
    return ops.where(z.data > 0, z, negative_part)


ACTIVATIONS = {
    "identity": identity,
    "step": step,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "softmax": softmax,
}


def get_activation(name):
    """Look an activation function up by name; the error lists the valid names."""
    return lookup(ACTIVATIONS, name, "activation")
