"""The primitive ops: each forward computation with its backward rule right beside it.

Every function here returns ``make_node(value, parents, backward, name)`` where
``backward(g)`` turns the gradient ``g`` of the op's output into one gradient per
parent (``None`` when that parent needs none). Broadcasting is NumPy's; gradients are
summed back to each operand's shape by ``_unbroadcast``.

``PRIMITIVES`` at the bottom is the complete list of ops that own a backward rule; the
test suite walks it and gradient-checks every entry. Everything else in descent
(``functional``, losses, layers) is built from these.
"""

import builtins

import numpy as np

from descent.autograd.backend import get_default_dtype, xp
from descent.errors import DescentTypeError, DescentValueError, ShapeError
from descent.autograd.tensor import Tensor, as_tensor, make_node

__all__ = [
    "PRIMITIVES", "abs", "add", "binary_cross_entropy", "clip", "concatenate", "dense", "div",
    "exp", "getitem", "linear", "log", "log_softmax", "matmul", "max", "maximum", "mean",
    "min", "minimum", "mul", "neg", "pow", "probability_source", "relu", "reshape",
    "sigmoid", "sigmoid_binary_cross_entropy", "softmax", "softmax_cross_entropy", "sqrt",
    "squared_error", "stack", "step", "sub", "sum", "sum_of_squares", "tanh", "transpose",
    "where",
]


def _numeric(t):
    """A boolean mask (from a comparison) takes part in arithmetic as 0/1 floats."""
    if t.data.dtype.kind == "b":
        return as_tensor(t.data.astype(get_default_dtype()))
    return t


def _pair(a, b):
    """Lift non-tensor operands to constants with the other operand's dtype."""
    if isinstance(a, Tensor):
        a = _numeric(a)
        return a, as_tensor(b, like=a)
    b = _numeric(as_tensor(b))
    return as_tensor(a, like=b), b


_ONES_CACHE = {}
_ONES_CACHE_SIZE = 64        # vectors kept (batch sizes and class counts seen)
_ONES_CACHE_LENGTH = 65_536  # longer ones are made when needed, not kept


def _ones(n, dtype):
    """A read-only vector of ``n`` ones: ``ones @ a`` sums the rows of ``a`` in one BLAS
    call, with less overhead than a NumPy reduction over an axis. Short ones are shared."""
    key = (n, dtype)
    ones = _ONES_CACHE.get(key)
    if ones is None:
        ones = xp.ones(n, dtype=dtype)
        ones.flags.writeable = False
        if n <= _ONES_CACHE_LENGTH:
            if len(_ONES_CACHE) >= _ONES_CACHE_SIZE:
                _ONES_CACHE.clear()
            _ONES_CACHE[key] = ones
    return ones


def _unbroadcast(g, shape):
    """Sum a broadcast gradient back down to ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return xp.asarray(g)


# --------------------------------------------------------------------------- arithmetic
def add(a, b):
    """``a + b`` with NumPy broadcasting; each side gets the gradient, summed over the axes
    it was broadcast along."""
    a, b = _pair(a, b)

    def backward(g):
        return ((_unbroadcast(g, a.shape) if a.requires_grad else None),
                (_unbroadcast(g, b.shape) if b.requires_grad else None))

    return make_node(a.data + b.data, (a, b), backward, "add")


def sub(a, b):
    """``a - b``; the gradient is g for ``a`` and −g for ``b`` (summed over broadcast axes)."""
    a, b = _pair(a, b)

    def backward(g):
        return ((_unbroadcast(g, a.shape) if a.requires_grad else None),
                (_unbroadcast(-g, b.shape) if b.requires_grad else None))

    return make_node(a.data - b.data, (a, b), backward, "sub")


def mul(a, b):
    """``a * b`` elementwise; ∂(ab)/∂a = b and ∂(ab)/∂b = a."""
    a, b = _pair(a, b)

    def backward(g):
        return ((_unbroadcast(g * b.data, a.shape) if a.requires_grad else None),
                (_unbroadcast(g * a.data, b.shape) if b.requires_grad else None))

    return make_node(a.data * b.data, (a, b), backward, "mul")


def div(a, b):
    """``a / b`` elementwise; ∂(a/b)/∂a = 1/b and ∂(a/b)/∂b = −a/b²."""
    a, b = _pair(a, b)
    out = a.data / b.data

    def backward(g):
        return ((_unbroadcast(g / b.data, a.shape) if a.requires_grad else None),
                (_unbroadcast(-g * out / b.data, b.shape) if b.requires_grad else None))

    return make_node(out, (a, b), backward, "div")


def neg(a):
    """``-a``; the gradient is −g."""
    a = as_tensor(a)
    return make_node(-a.data, (a,), lambda g: (-g,), "neg")


def pow(a, b):
    """``a ** b`` for a tensor or number exponent.

    The gradient with respect to the exponent, ``a**b · log a``, is taken as 0 where
    ``a <= 0`` (where the real logarithm does not exist).
    """
    a, b = _pair(a, b)
    out = a.data ** b.data

    def backward(g):
        def grad_exponent():
            positive = a.data > 0
            log_a = xp.log(xp.where(positive, a.data, 1))
            return _unbroadcast(xp.where(positive, g * out * log_a, 0), b.shape)

        grad_a = None
        if a.requires_grad:
            grad_a = _unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape)
        return grad_a, (grad_exponent() if b.requires_grad else None)

    return make_node(out, (a, b), backward, "pow")


def matmul(a, b):
    """Matrix product with NumPy's rules (1-D vectors, 2-D matrices, batched stacks)."""
    a, b = _pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError("matmul needs tensors with at least one dimension; use * for scalars")
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        raise ShapeError(f"matmul shapes {a.shape} and {b.shape} do not fit: "
                         f"{a.shape[-1]} != {inner_b}")

    def backward(g):
        # Work with at-least-2-D views: a vector on the left is a row, on the right a column.
        a2 = a.data[None, :] if a.ndim == 1 else a.data
        b2 = b.data[:, None] if b.ndim == 1 else b.data
        g2 = g
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        grad_a = grad_b = None
        if a.requires_grad:
            grad_a = _unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if b.requires_grad:
            grad_b = _unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return grad_a, grad_b

    try:
        out = a.data @ b.data
    except ValueError:
        raise ShapeError(f"matmul shapes {a.shape} and {b.shape} do not broadcast") from None
    return make_node(out, (a, b), backward, "matmul")


def _rows(a):
    """``a`` as a 2-D (rows, features) array (a view)."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


def _linear_grads(g, x, weight, bias):
    """Gradients of ``x @ weight + bias`` for the parents that need one.

    ``dot`` rather than ``@`` on the 2-D views: the same BLAS call, but half the
    per-call overhead on the tiny matrices of the notes' networks.
    """
    # The input of the first layer (the data) needs no gradient: skip that product.
    grad_x = None
    if x.requires_grad:
        grad_x = xp.dot(_rows(g), weight.data.T).reshape(x.data.shape)
    grad_w = grad_b = None
    rows = _rows(g)
    if weight.requires_grad:
        grad_w = xp.dot(_rows(x.data).T, rows)
    if bias is None:
        return grad_x, grad_w
    if bias.requires_grad:
        # one example (stochastic gradient descent): its row is the gradient
        grad_b = rows[0].copy() if len(rows) == 1 else xp.dot(_ones(len(rows), rows.dtype),
                                                               rows)
    return grad_x, grad_w, grad_b


def _affine(x, weight, bias):
    x = as_tensor(x, like=weight)
    data, w = x.data, weight.data
    if data.ndim == 0 or data.shape[-1] != w.shape[0]:
        raise ShapeError(f"the layer takes {w.shape[0]} input features, the input has "
                         f"shape {data.shape}")
    z = xp.dot(data, w) if data.ndim == 2 else (_rows(data) @ w).reshape(*data.shape[:-1], -1)
    if bias is not None:
        z += bias.data
    return x, z, (x, weight) if bias is None else (x, weight, bias)


def linear(x, weight, bias=None):
    """``x @ weight + bias`` in one node.

    Fused because it is the hot path of every dense layer: one node instead of two and
    the bias gradient taken as a column sum rather than through broadcasting.
    """
    x, z, parents = _affine(x, weight, bias)
    return make_node(z, parents, lambda g: _linear_grads(g, x, weight, bias), "linear")


def _sigmoid(z, out=None):
    # σ(z) = exp(−log(1 + e^(−z))) through logaddexp: never overflows (σ(±1000) is
    # exactly 1 and 0) and keeps full relative precision in the tails.
    out = xp.negative(z, out=xp.empty_like(z) if out is None else out)
    xp.logaddexp(0.0, out, out=out)
    xp.negative(out, out=out)
    return xp.exp(out, out=out)


# The smooth activations as (forward(z, out=None), derivative from the output) pairs:
# the single source of their formulas for the activation ops and the fused dense layer.
# ``out=z`` lets the dense layer overwrite its own pre-activation buffer.
ACTIVATION_RULES = {
    "sigmoid": (_sigmoid, lambda out: out * (1 - out)),            # σ' = σ(1 − σ)
    "tanh": (xp.tanh, lambda out: 1 - out * out),                   # 1 − tanh² = 1/cosh²
    "relu": (lambda z, out=None: xp.maximum(z, 0, out=out),         # relu' = 1 where z > 0
             xp.sign),  # out ≥ 0: sign(out) is 1 where out > 0, else 0 (float: no cast)
}


def dense(x, weight, bias, activation):
    """``activation(x @ weight + bias)`` in one node, for sigmoid, tanh or relu.

    Fused for speed (``Sequential`` uses it for a Linear followed by one of these): one
    node per layer instead of two, the same arithmetic as the separate ops, bit for bit.
    """
    forward, derivative = ACTIVATION_RULES[activation]
    x, z, parents = _affine(x, weight, bias)
    out = forward(z, out=z)

    def backward(g):
        return _linear_grads(g * derivative(out), x, weight, bias)

    return make_node(out, parents, backward, "dense_" + activation)


# --------------------------------------------------------------------------- reductions
def _normalise_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(ax % ndim for ax in axes)


def _expand_to(g, shape, axis, keepdims):
    """Broadcast a reduced gradient back over the reduced axes."""
    if axis is None:
        return xp.full(shape, g, dtype=g.dtype)  # fast path for a full reduction
    if not keepdims:
        g = xp.expand_dims(g, _normalise_axis(axis, len(shape)))
    return xp.broadcast_to(g, shape)


def sum(a, axis=None, keepdims=False):
    """The sum over ``axis`` (all elements when None); every element gets the gradient of
    its sum."""
    a = as_tensor(a)
    return make_node(xp.asarray(a.data.sum(axis=axis, keepdims=keepdims)), (a,),
                     lambda g: (_expand_to(g, a.shape, axis, keepdims),), "sum")


def mean(a, axis=None, keepdims=False):
    """The mean over ``axis`` (all elements when None); every element gets the gradient of
    its mean divided by the number of elements averaged."""
    a = as_tensor(a)
    out = xp.asarray(a.data.mean(axis=axis, keepdims=keepdims))
    count = a.data.size // out.size if out.size else 1

    def backward(g):
        return (_expand_to(g / count, a.shape, axis, keepdims),)

    return make_node(out, (a,), backward, "mean")


def _extremum(a, axis, keepdims, reduce, name):
    a = as_tensor(a)
    out = xp.asarray(reduce(a.data, axis=axis, keepdims=keepdims))

    def backward(g):
        # Ties share the gradient equally, as for PyTorch's amax/amin.
        hits = a.data == _expand_to(out, a.shape, axis, keepdims)
        share = hits / hits.sum(axis=axis, keepdims=True)
        return (_expand_to(g, a.shape, axis, keepdims) * share.astype(a.dtype),)

    return make_node(out, (a,), backward, name)


def max(a, axis=None, keepdims=False):
    """The maximum over ``axis`` (all elements when None); the gradient goes to the largest
    elements, shared equally between ties (as PyTorch's ``amax``)."""
    return _extremum(a, axis, keepdims, xp.max, "max")


def min(a, axis=None, keepdims=False):
    """The minimum over ``axis`` (all elements when None); the gradient goes to the smallest
    elements, shared equally between ties (as PyTorch's ``amin``)."""
    return _extremum(a, axis, keepdims, xp.min, "min")


# --------------------------------------------------------------------------- elementwise
def exp(a):
    """e^a elementwise; its derivative is e^a itself."""
    a = as_tensor(a)
    out = xp.exp(a.data)
    return make_node(out, (a,), lambda g: (g * out,), "exp")


def log(a):
    """The natural logarithm ln(a) elementwise; derivative 1/a."""
    a = as_tensor(a)
    return make_node(xp.log(a.data), (a,), lambda g: (g / a.data,), "log")


def sqrt(a):
    """√a elementwise; derivative 1 / (2√a)."""
    a = as_tensor(a)
    out = xp.sqrt(a.data)
    return make_node(out, (a,), lambda g: (g / (2 * out),), "sqrt")


def abs(a):
    """``|a|``; its gradient at 0 is taken as 0 (the sign), as in PyTorch."""
    a = as_tensor(a)
    return make_node(xp.abs(a.data), (a,), lambda g: (g * xp.sign(a.data),), "abs")


def _elementwise_extreme(a, b, pick, wins, name):
    """maximum / minimum: the gradient goes to the operand picked; ties share it equally."""
    a, b = _pair(a, b)

    def backward(g):
        share = (wins(a.data, b.data) + 0.5 * (a.data == b.data)).astype(g.dtype)
        return ((_unbroadcast(g * share, a.shape) if a.requires_grad else None),
                (_unbroadcast(g * (1 - share), b.shape) if b.requires_grad else None))

    return make_node(pick(a.data, b.data), (a, b), backward, name)


def maximum(a, b):
    """Elementwise maximum; where both are equal each gets half the gradient."""
    return _elementwise_extreme(a, b, xp.maximum, xp.greater, "maximum")


def minimum(a, b):
    """Elementwise minimum; where both are equal each gets half the gradient."""
    return _elementwise_extreme(a, b, xp.minimum, xp.less, "minimum")


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b``; the gradient follows the choice."""
    mask = xp.asarray(condition.data if isinstance(condition, Tensor) else condition,
                      dtype=bool)
    a, b = _pair(a, b)

    def backward(g):
        return ((_unbroadcast(xp.where(mask, g, 0), a.shape) if a.requires_grad else None),
                (_unbroadcast(xp.where(mask, 0, g), b.shape) if b.requires_grad else None))

    return make_node(xp.where(mask, a.data, b.data), (a, b), backward, "where")


def clip(a, low=None, high=None):
    """Clamp into ``[low, high]``; the gradient passes where ``low <= a <= high``."""
    a = as_tensor(a)
    inside = xp.ones(a.shape, dtype=bool)
    if low is not None:
        inside &= a.data >= low
    if high is not None:
        inside &= a.data <= high
    return make_node(xp.clip(a.data, low, high), (a,),
                     lambda g: (xp.where(inside, g, 0),), "clip")


# --------------------------------------------------------------------------- shape
def reshape(a, shape):
    """The same elements in a new ``shape``; the gradient is reshaped back."""
    a = as_tensor(a)
    return make_node(a.data.reshape(shape), (a,), lambda g: (g.reshape(a.shape),),
                     "reshape")


def transpose(a, axes=None):
    """Permute axes (reverse them when ``axes`` is None); ``.T`` for a matrix."""
    a = as_tensor(a)
    inverse = None if axes is None else tuple(np.argsort([ax % a.ndim for ax in axes]))
    return make_node(a.data.transpose(axes), (a,), lambda g: (g.transpose(inverse),),
                     "transpose")


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.all(isinstance(p, (int, np.integer, slice)) or p is None
                        or p is Ellipsis for p in parts)


def getitem(a, index):
    """Indexing and slicing with ints, slices, integer arrays and boolean masks.

    Repeated integer indices add their gradients up (``np.add.at``).
    """
    a = as_tensor(a)
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(p.data if isinstance(p, Tensor) else p for p in index)
    basic = _is_basic_index(index)

    def backward(g):
        grad = xp.zeros_like(a.data)
        if basic:
            grad[index] = g
        else:
            xp.add.at(grad, index, g)
        return (grad,)

    return make_node(xp.asarray(a.data[index]), (a,), backward, "getitem")


def concatenate(tensors, axis=0):
    """Join tensors along an existing ``axis``; each gets its slice of the gradient."""
    tensors = tuple(as_tensor(t) for t in tensors)
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return make_node(xp.concatenate([t.data for t in tensors], axis=axis), tensors,
                     lambda g: tuple(xp.split(g, bounds, axis=axis)), "concatenate")


def stack(tensors, axis=0):
    """Join tensors of one shape along a new ``axis``; each gets its slice of the gradient."""
    tensors = tuple(as_tensor(t) for t in tensors)

    def backward(g):
        return tuple(xp.take(g, i, axis=axis) for i in range(len(tensors)))

    return make_node(xp.stack([t.data for t in tensors], axis=axis), tensors, backward,
                     "stack")


# --------------------------------------------------------------------------- activations
def _activation(a, name, remember=False):
    forward, derivative = ACTIVATION_RULES[name]
    a = as_tensor(a)
    out = forward(a.data)
    return make_node(out, (a,), lambda g: (g * derivative(out),), name, remember)


def sigmoid(a):
    """σ(a) = 1 / (1 + e^(−a)), with derivative σ(a)(1 − σ(a)); stable for any a.

    The output remembers ``a`` (even under ``no_grad``): binary cross-entropy on it is
    computed from the logits ``a``, stably
    (see :func:`~descent.autograd.ops.probability_source`).
    """
    return _activation(a, "sigmoid", remember=True)


def tanh(a):
    """tanh(a), with derivative 1 − tanh²(a) (= 1/cosh²(a), the notes' table)."""
    return _activation(a, "tanh")


def relu(a):
    """max(0, a); derivative 1 where a > 0 and 0 elsewhere (0 at a = 0, as the notes' table)."""
    return _activation(a, "relu")


def step(a):
    """The perceptron's threshold: 1 where a > 0, else 0.

    Its derivative is 0 everywhere (undefined at 0), so no gradient passes through it:
    the lecture notes' point that a network of step units cannot learn by gradient
    descent. The backward rule returns zeros so that this is visible in the gradients.
    """
    a = as_tensor(a)
    return make_node((a.data > 0).astype(a.dtype), (a,), lambda g: (xp.zeros_like(g),),
                     "step")


def softmax(a, axis=-1):
    """exp(a) / Σ exp(a) along ``axis``.

    Fused for stability (the maximum is subtracted before exponentiating, so logits
    of ±1e4 are fine) and speed (Jacobian-vector product s·(g − Σ g·s) in one node).
    Over the last axis the output remembers ``a`` (even under ``no_grad``), so that
    cross-entropy on these probabilities is computed from the logits ``a``
    (see :func:`~descent.autograd.ops.probability_source`).
    """
    a = as_tensor(a)
    e = xp.exp(a.data - a.data.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)

    def backward(g):
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

    last = _normalise_axis(axis, a.ndim) == (a.ndim - 1,)
    return make_node(out, (a,), backward, "softmax" if last else f"softmax(axis={axis})",
                     remember=last)


def probability_source(t):
    """How ``t`` was made, for a loss: ``("softmax", logits)`` for a softmax over the last
    axis, ``("sigmoid", logits)`` for a sigmoid, else ``(None, t)``.

    A network that ends in softmax (or sigmoid) outputs probabilities; the losses that
    take probabilities or logits use the logits underneath, so that the loss is the
    cross-entropy of those probabilities, fused and stable (gradient p − t).
    """
    if t.op in ("softmax", "sigmoid") and len(t.parents) == 1:
        return t.op, t.parents[0]
    return None, t


def log_softmax(a, axis=-1):
    """a − log Σ exp(a) along ``axis``, computed stably (log-sum-exp with the max taken out)."""
    a = as_tensor(a)
    shifted = a.data - a.data.max(axis=axis, keepdims=True)
    out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):
        return (g - xp.exp(out) * g.sum(axis=axis, keepdims=True),)

    return make_node(out, (a,), backward, "log_softmax")


# --------------------------------------------------------------------------- fused losses
# Each loss below is one node: per-item values when ``scale`` is None, otherwise the
# single number scale · Σ values (scale = 1/n for a mean). Fused for numerical stability
# and because a loss is computed at every step: one node instead of four or five.
def _loss_node(values, local_grad, parent, scale, name):
    """A fused loss node; ``local_grad()`` gives ∂value/∂input for every input element,
    as a new array (the backward rule scales it in place)."""
    if scale is None:
        def backward(g):
            grad = local_grad()
            return (grad * g.reshape(g.shape + (1,) * (grad.ndim - g.ndim)),)

        return make_node(values, (parent,), backward, name)

    def backward(g):
        grad = local_grad()
        grad *= float(g) * scale
        return (grad,)

    return make_node(xp.asarray(xp.add.reduce(values, axis=None) * scale), (parent,),
                     backward, name)


def sum_of_squares(tensors, scale=1.0, plus=None):
    """scale · Σ Σ t² over the elements of every tensor in ``tensors``, plus ``plus``
    (a scalar, e.g. a loss) when given, as one node.

    The L2 penalty of weight decay (``scale`` = λ/2 gives gradients λ·t), added to the
    loss it regularises: one node and one dot product per tensor, instead of a square,
    a sum and an add each.

    Examples
    --------
    >>> import descent
    >>> w = descent.tensor([[3.0, 4.0]], requires_grad=True)
    >>> sum_of_squares([w], 0.5).item()
    12.5
    >>> sum_of_squares([w], 0.5, plus=descent.tensor(1.0)).item()
    13.5
    """
    tensors = [as_tensor(t) for t in tensors]
    total = 0.0
    for t in tensors:
        total += float(xp.vdot(t.data, t.data))  # (vdot flattens: no reshape)
    total *= scale
    if plus is None:
        parents = tuple(tensors)
    else:
        plus = as_tensor(plus)
        if plus.data.size != 1:
            raise ShapeError(f"plus must hold one number, it has shape {plus.shape}")
        parents = (plus, *tensors)
        total += float(plus.data.reshape(-1)[0])
    dtype = parents[0].data.dtype if parents else get_default_dtype()
    for parent in parents:  # the widest dtype among them (float64 wins)
        if parent.data.dtype != dtype:
            dtype = xp.result_type(dtype, parent.data.dtype)

    def backward(g):
        factor = 2.0 * scale * float(g)
        grads = [t.data * factor for t in tensors]
        return grads if plus is None else [g.reshape(plus.data.shape), *grads]

    return make_node(xp.asarray(total, dtype=dtype), parents, backward, "sum_of_squares")


def _constant(target):
    return target.data if isinstance(target, Tensor) else xp.asarray(target)


def squared_error(prediction, target, scale=None):
    """(p − t)² per element, or scale · Σ (p − t)²; gradient 2(p − t)."""
    prediction = as_tensor(prediction)
    diff = prediction.data - _constant(target)
    return _loss_node(diff * diff, lambda: 2 * diff, prediction, scale, "squared_error")


def class_indices(labels, classes):
    """``labels`` as an intp array of class indices, checked to lie in 0..classes−1
    (integer arrays only)."""
    if labels.dtype.kind not in "iu":
        raise DescentTypeError(f"class labels must be integers, got dtype {labels.dtype}")
    labels = labels if labels.dtype == xp.intp else labels.astype(xp.intp)
    # one pass: as unsigned numbers, negative labels are the largest of all
    if labels.size and xp.maximum.reduce(labels.view(xp.uintp), axis=None) >= classes:
        raise DescentValueError(
            f"class labels must lie in 0..{classes - 1} for {classes} outputs; got labels "
            f"from {labels.min()} to {labels.max()}"
        )
    return labels


def softmax_cross_entropy(logits, target, scale=None):
    """Cross-entropy −Σ_k t_k log softmax(z)_k over the last axis, per sample.

    ``target`` is either class indices (integers in 0..k−1, one fewer dimension than
    ``logits``) or probabilities (same shape as ``logits``); it receives no gradient.
    Stable through log-sum-exp; the gradient is softmax(z)·Σt − t.
    """
    logits, target = as_tensor(logits), _constant(target)
    z = logits.data
    if target.ndim == logits.ndim:
        return _probability_cross_entropy(logits, target, scale)
    classes = z.shape[-1]
    table = z if z.ndim == 2 else z.reshape(-1, classes)  # one row of scores per example
    # Flat positions: offsets[i] is where row i starts; a row's largest score and its
    # label's score are then a take() each (less overhead than 2-D fancy indexing).
    offsets = xp.arange(0, table.size, classes)
    shifted = table - table.take(offsets + table.argmax(axis=1))[:, None]
    exps = xp.exp(shifted)
    totals = xp.dot(exps, _ones(classes, z.dtype))  # row sums, as one BLAS call
    picks = offsets + class_indices(target if target.ndim == 1 else target.reshape(-1),
                                    classes)
    out = xp.log(totals)
    out -= shifted.take(picks)

    def local_grad():
        # the softmax, from the forward pass's exponentials; C order, so that the flat
        # view below is a view (transposed logits give Fortran-ordered exponentials)
        probs = xp.divide(exps, totals[:, None], order="C")
        probs.reshape(-1)[picks] -= 1
        return probs if z.ndim == 2 else probs.reshape(z.shape)

    return _loss_node(out if target.ndim == 1 else out.reshape(target.shape), local_grad,
                      logits, scale, "softmax_cross_entropy")


def _probability_cross_entropy(logits, target, scale):
    z = logits.data
    shifted = z - xp.maximum.reduce(z, axis=-1, keepdims=True)
    exps = xp.exp(shifted)
    totals = xp.add.reduce(exps, axis=-1, keepdims=True)
    out = -(target * (shifted - xp.log(totals))).sum(axis=-1)

    def local_grad():
        return exps / totals * target.sum(axis=-1, keepdims=True) - target

    return _loss_node(out, local_grad, logits, scale, "softmax_cross_entropy")


def sigmoid_binary_cross_entropy(logits, target, scale=None):
    """−[t log σ(z) + (1 − t) log(1 − σ(z))] per element, from the logits z.

    Stable: max(z, 0) − z·t + log(1 + e^(−|z|)) never overflows and never takes the log
    of 0; the gradient is σ(z) − t.
    """
    logits, target = as_tensor(logits), _constant(target)
    z = logits.data
    out = xp.maximum(z, 0) - z * target + xp.log1p(xp.exp(-xp.abs(z)))
    return _loss_node(out, lambda: xp.exp(-xp.logaddexp(0.0, -z)) - target, logits, scale,
                      "sigmoid_binary_cross_entropy")


def binary_cross_entropy(probabilities, target, scale=None):
    """−[t log p + (1 − t) log(1 − p)] per element, for probabilities p.

    Safe at p = 0 or 1 in float32 and float64 alike: each logarithm is clamped at −100
    and the gradient (p − t) / p(1 − p) divides by at least 1e-12, PyTorch's guards.
    """
    probabilities, target = as_tensor(probabilities), _constant(target)
    p = probabilities.data
    with np.errstate(divide="ignore"):
        out = -(target * xp.maximum(xp.log(p), -100)
                + (1 - target) * xp.maximum(xp.log1p(-p), -100))
    return _loss_node(out, lambda: (p - target) / xp.maximum(p * (1 - p), 1e-12),
                      probabilities, scale, "binary_cross_entropy")


PRIMITIVES = {
    fn.__name__: fn
    for fn in (add, sub, mul, div, neg, pow, matmul, linear, dense, sum, mean, max, min, exp, log,
               sqrt, abs, maximum, minimum, where, clip, reshape, transpose, getitem,
               concatenate, stack, sigmoid, tanh, relu, step, softmax, log_softmax,
               sum_of_squares, squared_error, softmax_cross_entropy,
               sigmoid_binary_cross_entropy, binary_cross_entropy)
}


# ----------------------------------------------------------------- Tensor's operators
# ``Tensor`` knows only the graph machinery; its operators and op methods are the ops
# above, bound to it here so that tensor.py never imports this module.
def _reflected(op):
    def method(self, other):
        return op(other, self)
    method.__name__ = method.__qualname__ = f"r{op.__name__}"
    method.__doc__ = f"``other {op.__name__} self``: see :func:`{op.__name__}`."
    return method


def _reshape_method(self, *shape):
    """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``: see :func:`reshape`."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return reshape(self, shape)


def _transpose_method(self, *axes):
    """``t.transpose()``, ``t.transpose(1, 0)`` or ``t.transpose((1, 0))``: see
    :func:`transpose`."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return transpose(self, axes or None)


TENSOR_METHODS = {
    "__add__": add, "__radd__": _reflected(add), "__sub__": sub, "__rsub__": _reflected(sub),
    "__mul__": mul, "__rmul__": _reflected(mul), "__truediv__": div,
    "__rtruediv__": _reflected(div), "__pow__": pow, "__rpow__": _reflected(pow),
    "__matmul__": matmul, "__rmatmul__": _reflected(matmul), "__neg__": neg, "__abs__": abs,
    "__getitem__": getitem, "sum": sum, "mean": mean, "max": max, "min": min, "exp": exp,
    "log": log, "sqrt": sqrt, "abs": abs, "clip": clip, "sigmoid": sigmoid, "tanh": tanh,
    "relu": relu, "reshape": _reshape_method, "transpose": _transpose_method,
    "T": property(transpose, doc="The transpose (all axes reversed)."),
}
for _name, _method in TENSOR_METHODS.items():
    setattr(Tensor, _name, _method)
