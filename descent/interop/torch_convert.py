"""PyTorch both ways: a descent network as a ``torch.nn.Sequential`` with the same weights,
and a ``torch.nn.Sequential`` of ``Linear`` and activation layers as a descent network.

descent stores a dense layer's weight as (in, out), PyTorch as (out, in): the weight moves
transposed, the bias as it is. The float type, each parameter's ``requires_grad`` and each
layer's training mode (which decides whether dropout drops) move with them. descent's
``Step`` has no PyTorch layer: it becomes ``descent.interop.torch_convert.Step``, a
one-line ``torch.nn.Module`` that ``from_torch`` reads back.
"""

import functools

import numpy as np

from descent.errors import DescentError, DescentTypeError, DescentValueError
from descent.interop.layers import flat_layers
from descent.nn.activations import ELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from descent.nn.activations import Step as _Step  # the name Step is PyTorch's twin here
from descent.nn.layers import Dropout, Linear, Sequential

_DTYPES = ("float32", "float64")
# descent's layers without settings and their PyTorch twins, by PyTorch's name
_PLAIN = {"Identity": Identity, "Sigmoid": Sigmoid, "Tanh": Tanh, "ReLU": ReLU}


def _torch():
    try:
        import torch
    except ImportError:
        raise DescentError("converting to or from PyTorch needs PyTorch: pip install torch") \
            from None
    return torch


@functools.cache
def _step_class():
    torch = _torch()

    class Step(torch.nn.Module):
        """descent's perceptron threshold: 1 where x > 0, else 0 (no gradient passes)."""

        def forward(self, x):
            return (x > 0).to(x.dtype)

    Step.__module__, Step.__qualname__ = __name__, "Step"  # so that pickle finds it
    return Step


def __getattr__(name):
    # ``Step`` exists once PyTorch is imported, and only if it is installed
    if name == "Step":
        return _step_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _one_dtype(dtypes, fix):
    if len(set(dtypes)) > 1:
        mixed = " and ".join(sorted(set(dtypes)))
        raise DescentTypeError(f"the model's parameters mix {mixed}; convert them to one "
                               f"type first ({fix})")
    return dtypes[0] if dtypes else None


# ------------------------------------------------------------------ descent -> PyTorch
def _torch_linear(torch, layer):
    dtype = getattr(torch, layer.weight.dtype.name)
    linear = torch.nn.utils.skip_init(torch.nn.Linear, layer.in_features, layer.out_features,
                                      bias=layer.bias is not None, dtype=dtype)
    pairs = [(linear.weight, layer.weight, True), (linear.bias, layer.bias, False)]
    with torch.no_grad():
        for theirs, ours, transposed in pairs:
            if ours is not None:
                values = ours.data.T if transposed else ours.data
                theirs.copy_(torch.from_numpy(np.ascontiguousarray(values)))
                theirs.requires_grad_(ours.requires_grad)
    return linear


def _torch_layer(torch, layer):
    nn, kind = torch.nn, type(layer)
    if kind is Linear:
        return _torch_linear(torch, layer)
    if kind is LeakyReLU:
        return nn.LeakyReLU(layer.negative_slope)
    if kind is ELU:
        return nn.ELU(layer.alpha)
    if kind is Softmax:
        return nn.Softmax(dim=layer.axis)
    if kind is Dropout:
        return nn.Dropout(layer.p)
    if kind is _Step:
        return _step_class()()
    return getattr(nn, next(name for name, cls in _PLAIN.items() if cls is kind))()


def to_torch(model):
    """The descent network ``model`` as a ``torch.nn.Sequential`` with the same weights.

    ``Linear`` becomes ``torch.nn.Linear`` (its weight transposed to PyTorch's
    (out, in)), each activation and ``Dropout`` its PyTorch namesake, ``Step``
    ``descent.interop.torch_convert.Step``; nested ``Sequential`` networks are flattened.
    The float type, ``requires_grad`` and training modes are kept, and the weights are
    copied: changing one network leaves the other as it was.

    Raises
    ------
    DescentTypeError
        For a layer that is not one of descent's ``Linear``, ``Dropout`` or activations,
        naming it and its position.
    DescentError
        When PyTorch is not installed (``pip install torch``).

    Examples
    --------
    >>> import numpy as np, torch, descent
    >>> from descent.interop import to_torch
    >>> net = descent.nn.MLP([3, 4, 2], activation="tanh", output="softmax", rng=0)
    >>> twin = to_torch(net)
    >>> x = np.ones((2, 3), dtype=np.float32)
    >>> bool(np.allclose(twin(torch.from_numpy(x)).detach().numpy(), net(x).data))
    True
    """
    layers = [layer for _, layer in flat_layers(model, "to_torch")]
    _one_dtype([p.dtype.name for p in model.parameters()], "float32 or float64")
    torch = _torch()
    twin = torch.nn.Sequential(*(_torch_layer(torch, layer) for layer in layers))
    twin.train(model.training)
    for theirs, ours in zip(twin, layers):
        theirs.train(ours.training)
    return twin


# ------------------------------------------------------------------ PyTorch -> descent
def _torch_layers(module, prefix=""):
    """``[(position, layer), ...]`` of a ``torch.nn.Sequential``, nested ones opened."""
    torch = _torch()
    layers = []
    for name, child in module.named_children():
        if type(child) is torch.nn.Sequential:
            layers += _torch_layers(child, f"{prefix}{name}.")
        else:
            layers.append((f"{prefix}{name}", child))
    return layers


def _refuse(position, layer, why):
    return DescentValueError(f"layer {position} (torch.nn.{type(layer).__name__}) {why}")


def _descent_linear(torch, position, layer):
    dtype = str(layer.weight.dtype).removeprefix("torch.")
    if dtype not in _DTYPES:
        raise _refuse(position, layer, f"holds {dtype} weights; descent computes in float32 "
                      "or float64: convert the module first (module.float())")
    linear = Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                    dtype=dtype, init="zeros")  # zeros: no draw from descent's generator
    for ours, theirs, transposed in ((linear.weight, layer.weight, True),
                                     (linear.bias, layer.bias, False)):
        if theirs is not None:
            values = theirs.detach().cpu().numpy()
            ours.data[...] = values.T if transposed else values
            ours.requires_grad = theirs.requires_grad
    return linear


def _descent_layer(torch, position, layer):
    nn, kind = torch.nn, type(layer)
    if kind is nn.Linear:
        return _descent_linear(torch, position, layer)
    if kind.__name__ in _PLAIN and kind is getattr(nn, kind.__name__):
        return _PLAIN[kind.__name__]()
    if kind is _step_class():
        return _Step()
    if kind is nn.LeakyReLU:
        if not np.isfinite(layer.negative_slope) or layer.negative_slope < 0:
            raise _refuse(position, layer, f"has negative_slope {layer.negative_slope}; "
                          "descent takes a finite slope >= 0")
        return LeakyReLU(layer.negative_slope)
    if kind is nn.ELU:
        if not np.isfinite(layer.alpha) or layer.alpha <= 0:
            raise _refuse(position, layer, f"has alpha {layer.alpha}; descent takes a "
                          "finite alpha > 0")
        return ELU(layer.alpha)
    if kind is nn.Softmax:
        if layer.dim is None:
            raise _refuse(position, layer, "has no dim (PyTorch guesses one from the "
                          "input); give it one, e.g. torch.nn.Softmax(dim=-1)")
        return Softmax(axis=layer.dim)
    if kind is nn.Dropout:
        if not 0 <= layer.p < 1:
            raise _refuse(position, layer, f"has p = {layer.p}; descent takes a dropout "
                          "probability in [0, 1)")
        return Dropout(layer.p)
    raise DescentTypeError(
        f"layer {position} is a torch.nn.{kind.__name__}, which from_torch does not take; "
        "it takes torch.nn.Sequential networks of Linear, Identity, Sigmoid, Tanh, ReLU, "
        "LeakyReLU, ELU, Softmax, Dropout (and descent's Step)")


def from_torch(module):
    """A descent network with the layers and weights of a ``torch.nn.Sequential``.

    ``torch.nn.Linear`` becomes ``descent.nn.Linear`` (its (out, in) weight transposed
    to descent's (in, out)); ``Identity``, ``Sigmoid``, ``Tanh``, ``ReLU``,
    ``LeakyReLU``, ``ELU``, ``Softmax`` and ``Dropout`` their descent namesakes. Nested
    ``Sequential`` networks are flattened. The float type, ``requires_grad`` and training
    mode are kept; the weights are copied.

    Raises
    ------
    DescentTypeError
        For a ``module`` that is not a ``torch.nn.Sequential``, and for any other layer
        (``Conv2d``, ``BatchNorm1d``, ``GELU``, ...), naming it and its position.
    DescentValueError
        For settings descent does not take: a ``Softmax`` without ``dim``, a negative
        slope, weights that are neither float32 nor float64, ...

    Examples
    --------
    >>> import torch
    >>> from descent.interop import from_torch
    >>> net = from_torch(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU()))
    >>> print(type(net[0]).__name__, net[0].weight.shape)
    Linear (3, 4)
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Sequential):
        raise DescentTypeError(f"from_torch takes a torch.nn.Sequential, got "
                               f"{type(module).__name__}; wrap the layers in one")
    layers = _torch_layers(module)
    if not layers:
        raise DescentTypeError("the torch.nn.Sequential is empty: there is nothing to convert")
    converted = [_descent_layer(torch, position, layer) for position, layer in layers]
    _one_dtype([p.dtype.name for layer in converted for p in layer.parameters()],
               "module.float() or module.double()")
    model = Sequential(*converted)
    model.train(module.training)
    for ours, (_, theirs) in zip(converted, layers):
        ours.train(theirs.training)
    return model
