"""A loss plus an L2 and/or L1 penalty on chosen parameters: regularisation written into
the loss, as scikit-learn's ``alpha`` and TensorFlow Playground's L1/L2 are.

``Penalized`` is a loss function like the others (``loss(prediction, target,
sample_weight=None)``) that also says what it is made of, so that the compiled engine
(``descent.compiled``) can train it in its kernel instead of leaving it to the graph
engine, as it must leave a function it cannot see into.
"""

import math
import numbers

from descent.autograd import ops
from descent.autograd.tensor import Tensor
from descent.errors import DescentTypeError, DescentValueError
from descent.losses.functions import get_loss


class Penalized:
    """``loss(prediction, target) + l1 · Σ|w| + l2/2 · Σw²`` over ``parameters``.

    Parameters
    ----------
    loss : str or callable
        The data loss, by name or function (``descent.losses.get_loss``).
    parameters : iterable of Tensor
        What is penalised (usually the weights, not the biases).
    l2, l1 : float
        The penalties' rates, ≥ 0. The gradient of the L2 term is ``l2 · w``, of the L1
        term ``l1 · sign(w)``.
    per_example : bool
        Divide the rates by the batch's rows (by the sum of its sample weights when it
        has some), as scikit-learn's MLP divides ``alpha``; False: the rates as given,
        as TensorFlow Playground applies them.

    Examples
    --------
    >>> import descent
    >>> net = descent.nn.MLP([2, 3, 1], rng=0)
    >>> weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    >>> loss = Penalized("mse", weights, l2=0.1)
    >>> X, y = descent.tensor([[1.0, 2.0]]), descent.tensor([[0.5]])
    >>> data = descent.losses.mse(net(X), y).item()
    >>> penalty = 0.05 * sum(float((w.data ** 2).sum()) for w in weights)
    >>> abs(loss(net(X), y).item() - (data + penalty)) < 1e-6
    True
    """

    def __init__(self, loss, parameters, l2=0.0, l1=0.0, per_example=False):
        self.loss = get_loss(loss)
        if isinstance(self.loss, Penalized):
            raise DescentTypeError("the loss is already penalised: give one Penalized both "
                                   "rates (l1= and l2=)")
        self.parameters = list(parameters)
        for index, w in enumerate(self.parameters):
            if not isinstance(w, Tensor):
                raise DescentTypeError(f"parameters[{index}] is a {type(w).__name__}; a "
                                       "penalty is on the model's parameters (tensors such "
                                       "as layer.weight), not on plain arrays")
        for name, rate in (("l2", l2), ("l1", l1)):
            if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or \
                    not math.isfinite(rate) or rate < 0:
                raise DescentValueError(f"{name} must be a finite number >= 0, got {rate!r}")
        self.l2, self.l1, self.per_example = float(l2), float(l1), bool(per_example)
        kinds = [name for name, rate in (("l1", self.l1), ("l2", self.l2)) if rate]
        self.__name__ = "_plus_".join([getattr(self.loss, "__name__", "loss"), *kinds])

    def __repr__(self):
        return (f"Penalized({self.__name__.split('_plus_')[0]!r}, {len(self.parameters)} "
                f"parameters, l2={self.l2:g}, l1={self.l1:g}, "
                f"per_example={self.per_example})")

    def __call__(self, prediction, target, sample_weight=None):
        if sample_weight is None:
            value = self.loss(prediction, target)
        else:
            value = self.loss(prediction, target, sample_weight=sample_weight)
        rows = 1
        if self.per_example:
            rows = len(prediction.data) if sample_weight is None else sample_weight.sum()
        return self.add_to(value, rows)

    def add_to(self, value, rows=1):
        """The data loss ``value`` (a scalar tensor) plus the penalties, their rates
        divided by ``rows``."""
        if self.l1:
            value = value + (self.l1 / rows) * sum(w.abs().sum() for w in self.parameters)
        if self.l2:
            value = ops.sum_of_squares(self.parameters, 0.5 * self.l2 / rows, plus=value)
        return value
