"""The supported combinations the compiled path is held to, and how to build each one
for both engines: the same data, the same initial weights, the same optimiser.

A combination is (hidden activation, loss variant, optimiser, batch mode, dtype, dropout).
The full product of the first four is the grid the equivalence tests walk; the dtype and
dropout go round with the index, so that each appears with every activation, loss and
optimiser about equally often (the full dtype × optimiser × batch mode product is a test
of its own).
"""

import copy
import itertools

import numpy as np

import descent
from descent import nn

ACTIVATIONS = ["identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu"]
# (loss name, output activation): the output activations the graph engine fuses with
# the loss (softmax under the cross-entropies, sigmoid under the binary ones) and the
# raw outputs every loss takes.
LOSSES = [
    ("mse", None), ("mse", "softmax"), ("sse", None), ("sse", "sigmoid"), ("mae", None),
    ("poisson", None), ("binary_cross_entropy", "sigmoid"),
    ("binary_cross_entropy_with_logits", None),
    ("binary_cross_entropy_with_logits", "sigmoid"), ("cross_entropy", None),
    ("cross_entropy", "softmax"), ("nll", None), ("nll", "softmax"),
]
OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.01, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("AdaGrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01,
                     initial_accumulator_value=0.1)),
    ("RMSProp", dict(lr=0.01)),
    ("RMSProp", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
]
BATCHES = [None, 1, 3]  # batch, stochastic and mini-batch descent (11 rows: 3, 3, 3, 2)
DTYPES = ["float64", "float32"]
# An odd number of rows: MAE's output gradients are ±1/items, and a batch of as many
# + as − would sum to 0 exactly in one engine and to 1e-17 in the other, a difference
# Adam and RMSProp (which divide by the gradient's size) make as large as a step.
ROWS, FEATURES = 11, 3


def grid():
    """Every (activation, loss, optimiser, batch) with its dtype and dropout."""
    for index, (activation, loss, optimizer, batch) in enumerate(itertools.product(
            ACTIVATIONS, LOSSES, range(len(OPTIMIZERS)), BATCHES)):
        yield activation, loss, optimizer, batch, DTYPES[index % 2], \
            0.3 if index % 5 == 0 else 0.0


def label(case):
    activation, (loss, output), optimizer, batch, dtype, dropout = case
    name, settings = OPTIMIZERS[optimizer]
    extra = "+".join(k for k in settings if k != "lr")
    return (f"{activation}-{loss}{'@' + output if output else ''}-{name}"
            f"{'(' + extra + ')' if extra else ''}-batch{batch}-{dtype}"
            f"{'-dropout' if dropout else ''}")


def data(loss, width, seed=0):
    """Inputs and targets: ``y`` as ``train()`` takes it, ``prepared`` as it hands it on
    (class codes for the cross-entropies, one float column per output otherwise)."""
    rng = np.random.default_rng(seed)
    # (poisson's rate is e^z: smaller inputs keep it from overflowing in two epochs)
    X = rng.standard_normal((ROWS, FEATURES)) * (0.5 if loss == "poisson" else 1.0)
    if loss in ("cross_entropy", "nll"):
        y = rng.integers(0, width, ROWS)
        return X, y, y
    if loss.startswith("binary"):
        y = rng.integers(0, 2, ROWS)
        return X, y, y.reshape(-1, 1).astype(np.float64)
    y = rng.poisson(1.5, (ROWS, width)).astype(np.float64) if loss == "poisson" \
        else rng.standard_normal((ROWS, width))
    return X, y, y


def build(case, seed=0):
    """(model, twin, X, y, prepared y, optimiser factory): two identical models (the twin
    a deep copy, generators and all), the data in the models' dtype."""
    activation, (loss, output), optimizer, batch, dtype, dropout = case
    width = 1 if loss.startswith("binary") else 3
    model = nn.MLP([FEATURES, 5, 4, width], activation=activation, output=output,
                   dropout=dropout, dtype=dtype, rng=seed)
    X, y, prepared = data(loss, width, seed)
    return model, copy.deepcopy(model), X.astype(dtype), y, prepared


def make_optimizer(index, model):
    name, settings = OPTIMIZERS[index]
    return getattr(descent.optim, name)(model.parameters(), **settings)


ADAPTIVE = ("AdaGrad", "RMSProp", "Adam", "AdamW")


def tolerances(dtype, steps, optimizer=0):
    """float64: 1e-12. float32: a few units in the last place (2⁻²³ ≈ 1.2e-7) per update,
    relative to each array's largest value: the kernels' sums and exponentials round
    differently from NumPy's and BLAS's (which fuse multiplies and adds), and the
    difference of one step is carried into the next — 16 ulps per update for SGD. The
    adaptive optimisers divide each gradient by about its own size in their first steps,
    so a small gradient's last digits (a sum that nearly cancels, rounded differently by
    the two engines) pass into its step undamped: 64 ulps per update for them. (Relative
    to each element it can be far more where a running average nears 0.)"""
    if dtype == "float64":
        return dict(rtol=1e-12, atol=1e-12)
    ulps = 64 if OPTIMIZERS[optimizer][0] in ADAPTIVE else 16
    return dict(rtol=ulps * 1.2e-7 * steps, atol=ulps * 1.2e-7 * steps)


def assert_close(actual, desired, rtol, atol, err_msg=""):
    """``assert_allclose`` with ``atol`` taken relative to the largest |desired| (at
    least 1)."""
    desired = np.asarray(desired)
    scale = max(1.0, float(np.max(np.abs(desired)))) if desired.size else 1.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol * scale,
                               err_msg=err_msg)


def steps_of(batch, epochs):
    return epochs * (1 if batch is None else -(-ROWS // batch))


def assert_same_state(graph_optimizer, compiled_optimizer, **tol):
    """The two optimisers' per-parameter state: the same keys, step counts equal, arrays
    close."""
    for ours, theirs in zip(graph_optimizer.state, compiled_optimizer.state):
        assert ours.keys() == theirs.keys()
        for key, value in ours.items():
            if isinstance(value, np.ndarray):
                assert theirs[key].dtype == value.dtype and theirs[key].shape == value.shape
                assert_close(theirs[key], value, err_msg=key, **tol)
            else:
                assert theirs[key] == value, key


def assert_same_parameters(model, twin, **tol):
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        assert q.data.dtype == p.data.dtype
        assert_close(q.data, p.data, err_msg=name, **tol)
