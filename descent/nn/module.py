"""``Module`` and ``Parameter``: the containers every layer and network is built from."""

from collections import OrderedDict

import numpy as np

from descent.autograd import backend
from descent.errors import DescentTypeError, ShapeError
from descent.autograd.tensor import Tensor, as_tensor


class Parameter(Tensor):
    """A tensor a module learns: ``requires_grad=True`` unless frozen.

    Setting ``requires_grad = False`` freezes it: it gets no gradient and no optimiser
    changes it.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, name=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self):
        return "Parameter(" + super().__repr__()[len("tensor("):]


class Module:
    """Base class of layers and networks, after ``torch.nn.Module``.

    Parameters and sub-modules assigned as attributes are registered automatically, in
    order; ``parameters()`` finds them all.

    Examples
    --------
    >>> import descent
    >>> net = descent.nn.Sequential(descent.nn.Linear(3, 2), descent.nn.Sigmoid())
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias']
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise DescentTypeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                "assigning attributes"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ forward
    def forward(self, x):
        """The output for the input tensor ``x``; every module defines it
        (``module(x)`` calls it, after turning an array into a tensor)."""
        raise DescentTypeError(f"{type(self).__name__} does not define forward()")

    def __call__(self, x):
        if not isinstance(x, Tensor):
            x = as_tensor(np.asarray(x, dtype=self._input_dtype()))
        return self.forward(x)

    def _input_dtype(self):
        """The dtype of the first parameter (the default dtype when there is none)."""
        module = self
        while True:
            for parameter in module._parameters.values():
                return parameter.dtype
            if not module._modules:
                return backend.get_default_dtype()
            module = next(iter(module._modules.values()))

    # ------------------------------------------------------------------ structure
    def children(self):
        """The direct sub-modules, in the order they were assigned."""
        return iter(self._modules.values())

    def named_modules(self, prefix=""):
        """This module and every module below it, with dotted names."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        """This module and every module below it: ``named_modules()`` without the names."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self):
        """Every parameter, each once, with its dotted name (``"0.weight"``)."""
        seen = set()
        for prefix, module in self.named_modules():
            for name, parameter in module._parameters.items():
                if parameter not in seen:
                    seen.add(parameter)
                    yield (f"{prefix}.{name}" if prefix else name), parameter

    def parameters(self):
        """Every parameter, each once (frozen ones included)."""
        for _, parameter in self.named_parameters():
            yield parameter

    # ------------------------------------------------------------------ modes
    def train(self, mode=True):
        """Training mode (dropout active); returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    def zero_grad(self):
        """Forget every parameter's gradient."""
        for parameter in self.parameters():
            parameter.grad = None

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """Parameter values by dotted name (copies, safe to keep)."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state):
        """Copy values into the parameters; names and shapes must match exactly."""
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ShapeError(
                f"state dict does not fit {type(self).__name__}: missing {missing}, "
                f"unexpected {unexpected}"
            )
        for name, parameter in own.items():
            value = np.asarray(state[name])
            if value.shape != parameter.shape:
                raise ShapeError(
                    f"state dict entry {name!r} has shape {value.shape}, the parameter "
                    f"has shape {parameter.shape}"
                )
        for name, parameter in own.items():
            parameter.data[...] = state[name]

    # ------------------------------------------------------------------ display
    def extra_repr(self):
        """The settings shown between the parentheses of ``repr(module)``."""
        return ""

    def __repr__(self):
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
