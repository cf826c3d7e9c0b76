"""Weight initialisers, for a weight of shape ``(fan_in, fan_out)``.

Seed 001's "basic model parameter initialization": weights drawn from a Gaussian or a
uniform distribution, biases 0. The scaled variants keep the variance of activations
steady from layer to layer:

- Xavier/Glorot (Glorot & Bengio, 2010), for sigmoid and tanh: Var(w) = 2 / (fan_in + fan_out).
- He/Kaiming (He et al., 2015), for ReLU and its relatives: Var(w) = 2 / fan_in.

Each initialiser is ``fn(shape, rng) -> ndarray`` (float64; layers cast to their dtype).
"""

import math

import numpy as np

from descent.errors import lookup

__all__ = [
    "INITIALISERS", "constant", "get", "he_normal", "he_uniform", "normal", "uniform",
    "xavier_normal", "xavier_uniform", "zeros",
]


def _fans(shape):
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[-1]


def zeros(shape, rng=None):
    """All zeros (the notes' biases; for weights it leaves every unit of a layer the same)."""
    return np.zeros(shape)


def constant(value):
    """An initialiser that fills with ``value``."""
    def fill(shape, rng=None):
        return np.full(shape, float(value))
    return fill


def normal(mean=0.0, std=1.0):
    """An initialiser drawing from N(mean, std²)."""
    def draw(shape, rng):
        return rng.normal(mean, std, size=shape)
    return draw


def uniform(low=-1.0, high=1.0):
    """An initialiser drawing from U(low, high)."""
    def draw(shape, rng):
        return rng.uniform(low, high, size=shape)
    return draw


def xavier_normal(shape, rng):
    """Xavier/Glorot normal: N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def xavier_uniform(shape, rng):
    """Xavier/Glorot uniform: U(−b, b) with b = √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def he_normal(shape, rng):
    """He/Kaiming normal: N(0, 2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def he_uniform(shape, rng):
    """He/Kaiming uniform: U(−b, b) with b = √(6 / fan_in)."""
    fan_in, _ = _fans(shape)
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


INITIALISERS = {
    "zeros": zeros,
    "normal": normal(),
    "uniform": uniform(),
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "kaiming_uniform": he_uniform,
}

# The default weight initialiser for a layer followed by each activation.
DEFAULT_FOR_ACTIVATION = {
    "relu": "he_normal",
    "leaky_relu": "he_normal",
    "elu": "he_normal",
    "sigmoid": "xavier_uniform",
    "tanh": "xavier_uniform",
    "softmax": "xavier_uniform",
    "identity": "xavier_uniform",
    "step": "xavier_uniform",
}


def get(init):
    """An initialiser from a name in ``INITIALISERS`` or a callable ``fn(shape, rng)``."""
    if callable(init):
        return init
    return lookup(INITIALISERS, init, "initialiser", " or pass a function fn(shape, rng)")
