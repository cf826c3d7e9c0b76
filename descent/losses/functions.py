"""Loss functions: how far the network's outputs are from the targets.

Each takes ``(prediction, target, reduction="mean")``. ``reduction`` is ``"mean"`` (the
average over examples, so that a batch step uses the mean gradient, as the notes
prescribe), ``"sum"``, or ``"none"`` (one value per example, or per element).

The cross-entropies see what the network outputs. Given the output of a softmax (or a
sigmoid) — a network that ends in ``Softmax`` as the notes teach it — they are the
cross-entropy of those probabilities, computed from the logits underneath in one fused,
stable node, so that the error term of an output unit is e_k = p_k − t_k. Given raw
scores, ``cross_entropy`` and ``binary_cross_entropy_with_logits`` apply the softmax or
sigmoid themselves, as in PyTorch. Combinations that cannot be meant (cross-entropy over
classes of sigmoid outputs, binary cross-entropy of a softmax, probabilities outside
[0, 1]) are errors.
"""

import functools

import numpy as np

from descent.autograd import ops
from descent.autograd.backend import xp
from descent.errors import DescentValueError, ShapeError, lookup
from descent.autograd.tensor import Tensor, as_tensor

REDUCTIONS = ("mean", "sum", "none")


def _reduce(values, reduction):
    if reduction == "mean":
        return ops.mean(values)
    if reduction == "sum":
        return ops.sum(values)
    _check_reduction(reduction)
    return values


def _fused(op, prediction, target, reduction, items):
    """Apply a fused loss op: per item for ``"none"``, else one scalar node (a mean
    over ``items`` or a sum)."""
    _check_reduction(reduction)
    if reduction == "none":
        return op(prediction, target)
    return op(prediction, target, 1.0 / max(items, 1) if reduction == "mean" else 1.0)


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise DescentValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _pair(prediction, target):
    """The prediction as a tensor; the target as an array of its dtype, or as a tensor
    when it needs a gradient itself."""
    prediction = as_tensor(prediction)
    if not (isinstance(target, Tensor) and target.requires_grad):
        target = xp.asarray(target.data if isinstance(target, Tensor) else target,
                            dtype=prediction.data.dtype)
    if prediction.shape != target.shape:
        raise ShapeError(
            f"prediction has shape {prediction.shape} but target has shape {target.shape}; "
            "they must match (reshape the target, e.g. y.reshape(-1, 1))"
        )
    return prediction, target


def _needs_grad(target):
    return isinstance(target, Tensor) and target.requires_grad


def _weighted(loss):
    """Give ``loss`` a ``sample_weight=`` keyword: one non-negative weight per example.

    With weights w the ``"mean"`` is Σ_i w_i ℓ_i / Σ_i w_i and the ``"sum"`` Σ_i w_i ℓ_i,
    where ℓ_i is example i's loss (its elements averaged, or summed for ``"sum"``);
    ``"none"`` gives every value times its example's weight. Weights of 1 give the
    unweighted loss; a weight of 2 counts an example twice.
    """
    @functools.wraps(loss)
    def weighted(prediction, target, reduction="mean", sample_weight=None):
        if sample_weight is None:
            return loss(prediction, target, reduction)
        _check_reduction(reduction)
        values = loss(prediction, target, "none")
        w = xp.asarray(sample_weight.data if isinstance(sample_weight, Tensor)
                       else sample_weight, dtype=values.data.dtype)
        if w.shape != values.shape[:1]:
            raise ShapeError(f"sample_weight has shape {w.shape}; it needs one weight per "
                             f"example, shape ({values.shape[0]},)")
        if w.size and not (np.all(np.isfinite(w)) and w.min() >= 0 and w.sum() > 0):
            raise DescentValueError("sample_weight must be finite numbers >= 0, not all 0")
        per_example = values if values.ndim == 1 else (
            ops.mean if reduction == "mean" else ops.sum)(values, axis=tuple(
                range(1, values.ndim)))
        if reduction == "none":
            return values * w.reshape(w.shape + (1,) * (values.ndim - 1))
        total = ops.sum(per_example * w)
        return total * (1.0 / float(w.sum())) if reduction == "mean" else total

    return weighted


@_weighted
def mse(prediction, target, reduction="mean"):
    """Mean squared error (1/n) Σ (y − ŷ)², averaged over every element.

    Examples
    --------
    >>> import descent
    >>> mse(descent.tensor([1.0, 2.0]), [0.0, 4.0]).item()
    2.5
    """
    prediction, target = _pair(prediction, target)
    if _needs_grad(target):
        return _reduce((prediction - target) ** 2, reduction)
    return _fused(ops.squared_error, prediction, target, reduction, prediction.size)


@_weighted
def sse(prediction, target, reduction="mean"):
    """The lecture notes' error E = ½ Σ_k (t_k − o_k)²: half the sum of squares over the
    output units of an example.

    The ½ makes the derivative tidy: ∂E/∂o_k = −(t_k − o_k), the factor the notes use
    after "dropping the constant" 2. With ``reduction="mean"`` (the default) the per-example
    E is averaged over the examples (for one example it is exactly E); ``"sum"`` adds them
    up, the ECS171 notes' E(w) = Σ_n E_n; ``"none"`` returns each E_n.

    Examples
    --------
    >>> import descent
    >>> sse(descent.tensor([0.474]), [1.0]).item()   # ½ (1 − 0.474)²
    0.138338...
    """
    prediction, target = _pair(prediction, target)
    if reduction == "none" or _needs_grad(target):
        squared = (target - prediction) ** 2
        per_example = ops.sum(squared, axis=-1) if squared.ndim > 1 else squared
        return _reduce(per_example * 0.5, reduction)
    examples = prediction.size // prediction.shape[-1] if prediction.ndim > 1 \
        else prediction.size
    halved = 0.5 / max(examples, 1) if reduction == "mean" else 0.5
    _check_reduction(reduction)
    return ops.squared_error(prediction, target, halved)


@_weighted
def mae(prediction, target, reduction="mean"):
    """Mean absolute error (1/n) Σ ``|y − ŷ|``."""
    prediction, target = _pair(prediction, target)
    return _reduce(ops.abs(prediction - target), reduction)


def _source(prediction, loss, allowed):
    """The network's output as ``(kind, tensor)``: ``("softmax" | "sigmoid", logits)``
    when it is the output of that activation, else ``(None, prediction)``; a kind the
    loss cannot take is an error that says what to use instead."""
    kind, source = ops.probability_source(as_tensor(prediction))
    if kind is not None and kind not in allowed:
        raise DescentValueError(_MISMATCH[kind].format(loss=loss))
    return kind, source


_MISMATCH = {
    "sigmoid": "{loss} got the outputs of a sigmoid, which are not one probability "
               "distribution over the classes; end the network in softmax (or in no "
               "activation), or use binary_cross_entropy for 0/1 targets",
    "softmax": "{loss} got the outputs of a softmax (one distribution over the "
               "classes); use cross_entropy with class labels or one-hot targets",
}


@_weighted
def binary_cross_entropy(probabilities, target, reduction="mean"):
    """−[t log p + (1 − t) log(1 − p)] for probabilities p (e.g. a sigmoid output).

    On the output of a sigmoid it is computed from the logits z underneath, exactly and
    stably, with gradient ∂E/∂z = p − t. Other probabilities must lie in [0, 1]; each
    logarithm is clamped at −100, as PyTorch does, so p = 0 or 1 gives a large finite
    loss instead of infinity, with a finite gradient.

    Examples
    --------
    >>> import descent
    >>> z = descent.tensor([[0.0], [2.0]])
    >>> p = descent.functional.sigmoid(z)
    >>> round(binary_cross_entropy(p, [[1.0], [0.0]]).item(), 4)   # ½(log 2 + log(1+e²))
    1.41
    """
    kind, source = _source(probabilities, "binary_cross_entropy", ("sigmoid",))
    if kind == "sigmoid":
        return binary_cross_entropy_with_logits(source, target, reduction)
    p, t = _pair(source, target)
    if p.size and not (0 <= xp.min(p.data) and xp.max(p.data) <= 1):
        raise DescentValueError(
            "binary_cross_entropy takes probabilities in [0, 1] (for example a sigmoid "
            f"output); got values from {xp.min(p.data):.4g} to {xp.max(p.data):.4g}. End "
            "the network in sigmoid, or use binary_cross_entropy_with_logits on raw scores")
    return _fused(ops.binary_cross_entropy, p, t.data if _needs_grad(t) else t, reduction,
                  p.size)


@_weighted
def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Binary cross-entropy of σ(z) computed stably from the logits z (on a sigmoid's
    output, from the logits underneath it)."""
    _, source = _source(logits, "binary_cross_entropy_with_logits", ("sigmoid",))
    logits, target = _pair(source, target)
    return _fused(ops.sigmoid_binary_cross_entropy, logits,
                  target.data if _needs_grad(target) else target, reduction, logits.size)


def _class_target(logits, target):
    """Validate integer labels (or probability targets) for ``logits``; whole-number
    float labels become integers."""
    raw = target.data if isinstance(target, Tensor) else xp.asarray(target)
    shape = logits.data.shape
    if raw.ndim == len(shape):
        if raw.shape != shape:
            raise ShapeError(f"probability targets have shape {raw.shape}, logits {shape}")
        return raw.astype(logits.data.dtype, copy=False)
    if raw.shape != shape[:-1]:
        raise ShapeError(
            f"labels have shape {raw.shape} but logits have shape {shape}; pass one "
            "integer label per example, or probabilities shaped like the logits"
        )
    kind = raw.dtype.kind
    if kind == "f":
        if not np.all(np.equal(np.mod(raw, 1), 0)):
            raise DescentValueError("class labels must be whole numbers")
        raw = raw.astype(np.intp)
    elif kind not in "iu":
        raise DescentValueError(f"class labels must be integers, got dtype {raw.dtype}")
    return raw


@_weighted
def cross_entropy(logits, target, reduction="mean"):
    """Multi-class cross-entropy E = −Σ_k t_k log p_k with p = softmax(z).

    ``logits`` is either raw scores z or the output of a softmax (a network that ends in
    ``Softmax``): either way E is the cross-entropy of the probabilities p, fused with
    the softmax and computed stably from z, with error terms ∂E/∂z_k = p_k − t_k.
    ``target`` holds integer class labels (one per example) or class probabilities
    (e.g. one-hot rows) shaped like ``logits``.

    Examples
    --------
    >>> import descent
    >>> z = descent.tensor([[2.0, 0.0, 0.0]])
    >>> round(cross_entropy(z, [0]).item(), 4)
    0.2395
    >>> round(cross_entropy(descent.functional.softmax(z), [0]).item(), 4)
    0.2395
    """
    _, logits = _source(logits, "cross_entropy", ("softmax",))
    labels = _class_target(logits, target)
    return _fused(ops.softmax_cross_entropy, logits, labels, reduction,
                  logits.size // logits.shape[-1])


@_weighted
def nll_loss(log_probabilities, target, reduction="mean"):
    """Negative log-likelihood −log p_y from log-probabilities (e.g. ``log_softmax``).

    On the output of a softmax (probabilities, not their logarithms) it is the negative
    log-likelihood of those probabilities: the same as ``cross_entropy``.
    """
    kind, log_probabilities = _source(log_probabilities, "nll_loss", ("softmax",))
    if kind == "softmax":
        return cross_entropy(log_probabilities, target, reduction)
    labels = _class_target(log_probabilities, target)
    if labels.ndim < log_probabilities.ndim:
        labels = ops.class_indices(labels, log_probabilities.shape[-1])
    if labels.ndim == log_probabilities.ndim:
        return _reduce(-ops.sum(log_probabilities * labels, axis=-1), reduction)
    picked = ops.getitem(log_probabilities, (*np.indices(labels.shape), labels))
    return _reduce(-picked, reduction)


@_weighted
def poisson_nll(log_rate, target, reduction="mean"):
    """Poisson negative log-likelihood e^z − t·z from log-rates z (the constant log t! is
    left out), as PyTorch's ``poisson_nll_loss(log_input=True)``; the rate is e^z and the
    gradient e^z − t. Targets are counts (or rates): numbers >= 0.
    """
    log_rate, target = _pair(log_rate, target)
    t = target.data if isinstance(target, Tensor) else target
    if t.size and xp.min(t) < 0:
        raise DescentValueError(f"poisson_nll needs targets >= 0 (counts or rates); got "
                                f"{xp.min(t):.4g}")
    return _reduce(ops.exp(log_rate) - log_rate * target, reduction)


LOSSES = {
    "mse": mse,
    "sse": sse,
    "mae": mae,
    "binary_cross_entropy": binary_cross_entropy,
    "bce": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "nll": nll_loss,
    "poisson": poisson_nll,
}


def get_loss(loss):
    """A loss from its name in ``LOSSES`` or any callable ``loss(prediction, target)``."""
    if callable(loss):
        return loss
    return lookup(LOSSES, loss, "loss", " or pass a function loss(prediction, target)")
