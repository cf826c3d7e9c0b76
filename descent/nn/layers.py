"""Layers: ``Linear``, ``Dropout``, ``Sequential`` and the ``MLP`` builder."""

import numpy as np

from descent.autograd import backend, ops
from descent.errors import DescentTypeError, DescentValueError
from descent.nn import init as initialisers
from descent.nn.activations import ReLU, Sigmoid, Tanh, activation_module
from descent.nn.module import Module, Parameter


class Linear(Module):
    """A dense layer: ``y = x @ W + b``.

    ``weight`` has shape ``(in_features, out_features)``: row i, column j is w_ij, the
    weight from unit i to unit j in the lecture notes' numbering. ``bias`` has shape
    ``(out_features,)`` and starts at 0 (seed 001's "set biases to 0").

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Whether the layer has a bias.
    dtype : str, optional
        ``"float32"`` (the default dtype) or ``"float64"``.
    init : str or callable
        The weight initialiser (see ``descent.nn.init``); Xavier/Glorot uniform by default.
    rng : int or numpy.random.Generator, optional
        Where the random weights come from (default: the generator ``manual_seed`` sets).

    Examples
    --------
    >>> import descent
    >>> layer = descent.nn.Linear(3, 2)
    >>> layer.weight.shape, layer.bias.shape
    ((3, 2), (2,))
    >>> layer(descent.tensor([[1.0, 0.0, 1.0]])).shape
    (1, 2)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None,
                 init="xavier_uniform", rng=None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise DescentValueError(f"{name} must be a positive integer, got {value!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = backend.resolve_dtype(dtype)
        weights = initialisers.get(init)((self.in_features, self.out_features),
                                         backend.as_rng(rng))
        self.weight = Parameter(weights, dtype=dtype)
        self.bias = Parameter(np.zeros(self.out_features), dtype=dtype) if bias else None

    def forward(self, x):
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Dropout(Module):
    """Inverted dropout: in training, zero each value with probability ``p`` and scale
    the survivors by 1/(1 − p); in evaluation mode, the identity."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise DescentValueError(f"dropout probability p must be in [0, 1), got {p!r}")
        self.p = p
        # one generator for the layer's life (None: descent's global generator), so
        # that successive calls draw fresh masks even when given an int seed
        self.rng = None if rng is None else backend.as_rng(rng)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = backend.as_rng(self.rng).random(x.shape) >= self.p
        return ops.mul(x, keep.astype(x.dtype) / (1 - self.p))

    def extra_repr(self):
        return f"p={self.p}"


_FUSABLE = (Sigmoid, Tanh, ReLU)


class Sequential(Module):
    """Modules applied one after the other; ``net[i]`` is the i-th."""

    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise DescentTypeError(
                    f"Sequential takes modules; item {index} is a {type(module).__name__}"
                )
            setattr(self, str(index), module)

    def forward(self, x):
        for layer, activation in self._plan():
            if activation is None:
                x = layer(x)
            elif activation == "identity":  # a plain Linear, without the module call
                x = ops.linear(x, layer.weight, layer.bias)
            else:  # Linear + sigmoid/tanh/relu as one node: same numbers, less overhead
                x = ops.dense(x, layer.weight, layer.bias, activation)
        return x

    def _plan(self):
        """The layers as (module, how to run it) pairs: a Linear with the name of the
        sigmoid/tanh/relu it is fused with, or "identity" when it stands alone; None for
        any other module (called as it is). Worked out once, and again whenever a layer
        is replaced."""
        plan = self.__dict__.get("_fused_plan")
        if plan is None:
            layers, plan, i = list(self._modules.values()), [], 0
            while i < len(layers):
                following = layers[i + 1] if i + 1 < len(layers) else None
                # a sigmoid output stays its own node: its logits are what binary
                # cross-entropy works from (the fused node overwrites them)
                output_sigmoid = type(following) is Sigmoid and i + 2 == len(layers)
                if (type(layers[i]) is Linear and type(following) in _FUSABLE
                        and not output_sigmoid):
                    plan.append((layers[i], following.name))
                    i += 2
                elif type(layers[i]) is Linear:
                    plan.append((layers[i], "identity"))
                    i += 1
                else:
                    plan.append((layers[i], None))
                    i += 1
            object.__setattr__(self, "_fused_plan", plan)
        return plan

    def __setattr__(self, name, value):
        self.__dict__.pop("_fused_plan", None)
        super().__setattr__(name, value)

    def __getitem__(self, index):
        return list(self._modules.values())[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


def _per_layer(value, count, what):
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise DescentValueError(
                f"{what} lists {len(value)} entries but the network has {count} hidden layers"
            )
        return list(value)
    return [value] * count


class MLP(Sequential):
    """A multilayer perceptron from its layer sizes.

    ``MLP([3, 2, 1], activation="sigmoid", output="sigmoid")`` is the lecture's
    3-2-1 network: ``Linear(3, 2), Sigmoid(), Linear(2, 1), Sigmoid()``.

    Parameters
    ----------
    sizes : sequence of int
        Input features, the hidden layer sizes, then the outputs.
    activation : str or list of str
        Hidden activation(s): one name for all hidden layers, or one per hidden layer.
    output : str, optional
        Activation after the last layer (None for raw scores, e.g. before a
        cross-entropy loss that takes logits).
    init : str or callable, optional
        Weight initialiser; by default He normal before ReLU-like activations and
        Xavier uniform before sigmoid, tanh and the rest.
    dropout : float
        Dropout probability after each hidden activation (0 for none).

    Examples
    --------
    >>> import descent
    >>> descent.nn.count_parameters(descent.nn.MLP([2, 1024, 512, 3], "sigmoid", "softmax"))
    529411
    """

    def __init__(self, sizes, activation="relu", output=None, init=None, dropout=0.0,
                 dtype=None, rng=None):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise DescentValueError(
                f"sizes needs at least the input and output sizes, got {sizes!r}"
            )
        hidden = len(sizes) - 2
        if isinstance(activation, str):
            activation_module(activation)  # a misspelt name fails even without hidden layers
        activations = _per_layer(activation, hidden, "activation")
        for name in [*activations, output]:
            if name is not None:
                activation_module(name)  # raises early, listing the valid names
        rng = backend.as_rng(rng)
        following = [*activations, output or "identity"]
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer_init = init or initialisers.DEFAULT_FOR_ACTIVATION[following[i]]
            layers.append(Linear(fan_in, fan_out, dtype=dtype, init=layer_init, rng=rng))
            if i < hidden:
                layers.append(activation_module(activations[i]))
                if dropout:
                    layers.append(Dropout(dropout, rng=rng))
        if output is not None:
            layers.append(activation_module(output))
        super().__init__(*layers)
        self.sizes = sizes
