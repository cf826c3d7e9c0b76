"""Activation functions as modules, so they can sit in a ``Sequential``."""

from descent.autograd import functional as F
from descent.errors import lookup
from descent.nn.module import Module


class Activation(Module):
    """A module that applies ``function`` (a ``descent.functional`` activation); the
    ones with a setting (slope, alpha, axis) override ``forward``."""

    name = None
    function = None

    def forward(self, x):
        return type(self).function(x)


class Identity(Activation):
    """f(z) = z."""

    name, function = "identity", staticmethod(F.identity)


class Step(Activation):
    """The perceptron's threshold, 1 if z > 0 else 0; its gradient is zero."""

    name, function = "step", staticmethod(F.step)


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^(−z))."""

    name, function = "sigmoid", staticmethod(F.sigmoid)


class Tanh(Activation):
    """tanh(z)."""

    name, function = "tanh", staticmethod(F.tanh)


class ReLU(Activation):
    """max(0, z)."""

    name, function = "relu", staticmethod(F.relu)


class LeakyReLU(Activation):
    """z if z > 0 else negative_slope · z."""

    name = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Activation):
    """z if z > 0 else α(e^z − 1)."""

    name = "elu"

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Softmax(Activation):
    """Turns scores into probabilities along ``axis``."""

    name = "softmax"

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


ACTIVATION_MODULES = {cls.name: cls for cls in
                      (Identity, Step, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softmax)}


def activation_module(name):
    """A fresh activation module from its name; the error lists the valid names."""
    return lookup(ACTIVATION_MODULES, name, "activation")()
