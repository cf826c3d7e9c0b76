"""The layers that leave descent: a network as the flat list of layers that ONNX and
PyTorch are given, every one of a kind they can take, checked before any work."""

from descent.errors import DescentTypeError
from descent.nn.activations import ACTIVATION_MODULES
from descent.nn.layers import Dropout, Linear, Sequential
from descent.nn.module import Module

#: The layer types that move out of descent; an exact type, as a subclass may compute
#: something else in its own ``forward``.
SUPPORTED = (Linear, Dropout, *ACTIVATION_MODULES.values())
SUPPORTED_NAMES = ", ".join(cls.__name__ for cls in SUPPORTED)


def flat_layers(model, what):
    """``[(position, layer), ...]`` of ``model``: a ``Sequential`` (nested ones are
    opened, their positions written ``2.0``, ``2.1``, ...) or a single layer. ``what``
    names the conversion in messages ("the ONNX export").

    Raises
    ------
    DescentTypeError
        For a layer that is not one of ``SUPPORTED``, naming it and its position, or a
        ``model`` that is not a descent ``Module``.

    Examples
    --------
    >>> from descent import nn
    >>> [(p, type(m).__name__) for p, m in flat_layers(nn.MLP([2, 3, 1], rng=0), "to_torch")]
    [('0', 'Linear'), ('1', 'ReLU'), ('2', 'Linear')]
    """
    if not isinstance(model, Module):
        raise DescentTypeError(f"expected a descent model (a Module such as nn.Sequential "
                               f"or nn.MLP), got {type(model).__name__}")
    if not isinstance(model, Sequential):
        return [("0", _supported(model, "0", what))]
    layers = _opened(model, what, "")
    if not layers:
        raise DescentTypeError("the model is an empty Sequential: there is nothing to convert")
    return layers


def _opened(sequential, what, prefix):
    layers = []
    for name, module in sequential._modules.items():
        if isinstance(module, Sequential):
            layers += _opened(module, what, f"{prefix}{name}.")
        else:
            layers.append((prefix + name, _supported(module, prefix + name, what)))
    return layers


def _supported(module, position, what):
    if type(module) not in SUPPORTED:
        raise DescentTypeError(
            f"layer {position} is a {type(module).__name__}, which {what} does not take; "
            f"it takes Sequential networks of {SUPPORTED_NAMES}")
    return module
