"""The perceptron (seed 002): one step-activation unit, o = step(w·x + b), trained
with the perceptron rule w ← w + η(t − o)x, b ← b + η(t − o).

It learns any linearly separable function (AND, OR, NOT) in finitely many epochs, and
never settles on one that is not (XOR): its decision boundary is a single line. The step
function's gradient is zero, so gradient descent could not train it at all; the
perceptron rule uses the error t − o directly instead.
"""

from dataclasses import dataclass

import numpy as np

from descent.data.preprocessing import as_features
from descent.errors import DescentValueError, ShapeError
from descent.nn.activations import Step
from descent.nn.layers import Linear, Sequential
from descent.autograd.tensor import no_grad


@dataclass
class PerceptronResult:
    model: Sequential
    converged: bool
    epochs: int
    errors: list  # per epoch, the mistakes met (and corrected) during that epoch
    message: str

    @property
    def weights(self):
        return self.model[0].weight.data[:, 0].copy()

    @property
    def bias(self):
        return float(self.model[0].bias.data[0])


def train_perceptron(X, y, lr=1.0, max_epochs=100):
    """Train a perceptron on 0/1 targets, one example at a time, until an epoch makes no
    mistake or ``max_epochs`` pass; the result says whether it converged.

    Examples
    --------
    >>> from descent.data.datasets import truth_table
    >>> train_perceptron(*truth_table("and")).converged
    True
    >>> result = train_perceptron(*truth_table("xor"), max_epochs=50)
    >>> result.converged, result.message.startswith("did not converge")
    (False, True)
    """
    X = as_features(X)
    y = np.asarray(y, dtype=float).reshape(-1)
    if len(y) != len(X):
        raise ShapeError(f"X has {len(X)} rows but y has {len(y)}")
    if not np.all((y == 0) | (y == 1)):
        raise DescentValueError("perceptron targets must be 0 or 1")
    if lr <= 0:
        raise DescentValueError(f"lr must be > 0, got {lr!r}")
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise DescentValueError(f"max_epochs must be a positive integer, got {max_epochs!r}")
    model = Sequential(Linear(X.shape[1], 1, dtype="float64", init="zeros"), Step())
    weight, bias = model[0].weight.data, model[0].bias.data
    errors = []
    with no_grad():
        for epoch in range(1, max_epochs + 1):
            mistakes = 0
            for x, target in zip(X, y):
                error = target - model(x[None, :]).data[0, 0]
                if error:
                    mistakes += 1
                    weight[:, 0] += lr * error * x
                    bias[0] += lr * error
            errors.append(mistakes)
            if mistakes == 0:
                return PerceptronResult(model, True, epoch, errors,
                                        f"converged after {epoch} epochs")
    with no_grad():  # the final weights' mistakes (errors[-1] counts the epoch's updates)
        wrong = int(np.count_nonzero(model(X).data[:, 0] != y))
    return PerceptronResult(
        model, False, max_epochs, errors,
        f"did not converge in {max_epochs} epochs: the final weights misclassify {wrong} of "
        f"{len(X)} examples, and the last epoch still made {errors[-1]} mistakes (each one "
        "an update). A single perceptron draws one straight line; if the classes "
        "are not linearly separable (like XOR), no line works — add a hidden layer.",
    )
