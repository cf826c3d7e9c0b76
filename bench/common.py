"""What the cases share: initial weights drawn once with NumPy, and their copies into
descent, PyTorch and scikit-learn; the shuffled batch order; the micrograd sigmoid.

Weights are kept as descent and scikit-learn store them, ``W`` of shape
``(in, out)`` with ``y = x @ W + b``; PyTorch's ``nn.Linear`` stores ``(out, in)``, so it
gets ``W.T``.
"""

import math
import warnings

import numpy as np


def init_weights(sizes, activations, seed, dtype=np.float32):
    """float32 weights and zero biases for the layer ``sizes``.

    Before a ReLU (``activations[i] == "relu"``) He normal, N(0, 2/fan_in); otherwise
    Xavier/Glorot uniform, U(±√(6/(fan_in + fan_out))) — the defaults of ``descent.nn.MLP``.
    """
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for (fan_in, fan_out), activation in zip(zip(sizes[:-1], sizes[1:]), activations):
        if activation == "relu":
            w = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        else:
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        weights.append(np.ascontiguousarray(w, dtype=dtype))
        biases.append(np.zeros(fan_out, dtype=dtype))
    return weights, biases


def epoch_orders(n, epochs, seed):
    """The example order of each epoch, exactly as ``descent.train(..., seed=seed)``
    draws it: one ``default_rng(seed)``, one ``permutation(n)`` per epoch."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


# ----------------------------------------------------------------------------- descent
def descent_mlp(weights, biases, hidden="relu", output=None):
    """``descent.nn.MLP`` with the given weights copied in (public API only)."""
    import descent

    sizes = [weights[0].shape[0]] + [w.shape[1] for w in weights]
    model = descent.nn.MLP(sizes, activation=hidden, output=output, rng=0)
    layers = [m for m in model if isinstance(m, descent.nn.Linear)]
    for layer, w, b in zip(layers, weights, biases):
        layer.weight.data[...] = w
        layer.bias.data[...] = b
    return model


# ----------------------------------------------------------------------------- PyTorch
def torch_mlp(weights, biases, hidden="relu", output=None):
    """The same network in PyTorch (float32, ``weight = W.T``)."""
    import torch

    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}
    layers = []
    for i, (w, b) in enumerate(zip(weights, biases)):
        linear = torch.nn.Linear(w.shape[0], w.shape[1], dtype=torch.float32)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        last = i == len(weights) - 1
        if not last:
            layers.append(act[hidden]())
        elif output is not None:
            layers.append(act[output]())
    return torch.nn.Sequential(*layers)


def torch_epoch(model, optimizer, X, y, order, batch):
    """One epoch of mini-batch training in PyTorch in the given order; the mean loss."""
    import torch.nn.functional as F

    total = 0.0
    for start in range(0, len(X), batch):
        index = order[start:start + batch]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X[index]), y[index])
        loss.backward()
        optimizer.step()
        total += loss.item() * len(index)
    return total / len(X)


# ----------------------------------------------------------------------------- sklearn
def sklearn_start_from(clf, X, y, weights, biases, classes):
    """Make the ``MLPClassifier`` ``clf`` start its next ``fit`` from our weights.

    scikit-learn has no public way to pass initial weights. ``partial_fit`` on a few
    rows sets up every fitted attribute (classes, layer count, output activation); then
    ``coefs_`` and ``intercepts_`` are replaced by copies of our weights and
    ``warm_start`` is turned on, so the next ``fit`` starts from them (with a fresh
    optimiser). Its batch order is its own (``shuffle`` with ``random_state``): it
    cannot be given one.
    """
    clf.set_params(warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, batch size clipped to 32 rows
        clf.partial_fit(X[:32], y[:32], classes=classes)
    clf.set_params(warm_start=True)
    clf.coefs_ = [np.array(w, copy=True) for w in weights]
    clf.intercepts_ = [np.array(b, copy=True) for b in biases]
    return clf


# ----------------------------------------------------------------------------- micrograd
def micrograd_exp(v):
    """eᵛ as a micrograd node, in micrograd's own style (local derivative eᵛ).

    The PyPI release of micrograd (0.1.0) has ``+ * ** relu`` but no ``exp``; this is the
    ``exp`` of the later engine in Karpathy's lecture.
    """
    from micrograd.engine import Value

    out = Value(math.exp(v.data), (v,), "exp")

    def _backward():
        v.grad += out.data * out.grad

    out._backward = _backward
    return out


def micrograd_sigmoid(v):
    """σ(v) = 1 / (1 + e^(−v)) composed from micrograd ops (neg, exp, add, pow −1, mul)."""
    return 1 / (1 + micrograd_exp(-v))


class MicrogradMLP:
    """A sigmoid MLP of micrograd ``Value`` scalars, with ``micrograd.nn.Neuron``'s
    forward (``sum((wi*xi ...), b)``) and our weights."""

    def __init__(self, weights, biases):
        from micrograd.engine import Value

        self.layers = [([[Value(float(w[i, j])) for i in range(w.shape[0])]
                         for j in range(w.shape[1])],
                        [Value(float(bj)) for bj in b])
                       for w, b in zip(weights, biases)]
        self.params = [p for w, b in self.layers for row in w for p in row] + \
                      [p for w, b in self.layers for p in b]

    def __call__(self, x):
        for w, b in self.layers:
            x = [micrograd_sigmoid(sum((wi * xi for wi, xi in zip(wj, x)), bj))
                 for wj, bj in zip(w, b)]
        return x

    def parameters(self):
        return self.params

    def zero_grad(self):
        for p in self.params:
            p.grad = 0

    def weights(self):
        """Back to NumPy ``(in, out)`` arrays, to compare with the other contenders."""
        return [np.array([[p.data for p in row] for row in w]).T for w, _ in self.layers]
