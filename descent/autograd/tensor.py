"""The ``Tensor``: an array, its gradient, and the edge of the graph that produced it.

A tensor made by an op remembers its parents and a ``backward`` rule that maps the
gradient of its output to the gradients of its parents (the "local derivatives" of the
lecture notes). ``Tensor.backward()`` visits the graph in reverse topological order and
applies the chain rule, one rule per node. The rules themselves live beside their forward
computations in ``descent/autograd/ops.py``, which also binds
``Tensor``'s operators (``+``, ``@``, ``.sum()``, ...) to them.
"""

import threading
from itertools import count
from operator import attrgetter

import numpy as np

from descent.autograd import backend
from descent.autograd.backend import xp
from descent.errors import DescentTypeError, GradientError, ShapeError

class _GradMode(threading.local):
    """Whether ops record the graph: one switch per thread, so that one thread's
    ``no_grad()`` (say, a page evaluating its network) leaves another's training alone."""

    enabled = True


_grad_mode = _GradMode()
# Every tensor gets the next number at creation. A tensor's parents exist before it, so
# descending creation order is a topological order of any graph.
_creation = count()
_CREATION_ORDER = attrgetter("_seq")
_KEPT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class no_grad:
    """Context manager (and decorator) in which ops record no graph.

    Use it for evaluation and for parameter updates, as in PyTorch.

    Examples
    --------
    >>> import descent
    >>> w = descent.tensor([1.0, 2.0], requires_grad=True)
    >>> with descent.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self):
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = False
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous
        return False

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper


def is_grad_enabled():
    """True unless inside ``no_grad()``."""
    return _grad_mode.enabled


def _float_array(data, dtype, copy):
    """Turn user data into a float ndarray, keeping a NumPy float dtype unless told."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = xp.asarray(data)
    except ValueError as error:
        raise DescentTypeError(f"cannot make a tensor from ragged or irregular data: "
                               f"{error}") from None
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise DescentTypeError(
            f"cannot make a tensor from data of dtype {array.dtype} "
            "(strings or mixed objects); pass numbers, e.g. a float ndarray"
        )
    if dtype is not None:
        target = backend.resolve_dtype(dtype)
    elif isinstance(data, (np.ndarray, np.generic)) and array.dtype in (np.float32,
                                                                       np.float64):
        target = array.dtype
    else:
        target = backend.get_default_dtype()
    return xp.array(array, dtype=target) if copy else xp.asarray(array, dtype=target)


class Tensor:
    """An n-dimensional array that can take part in automatic differentiation.

    Build one with :func:`descent.tensor`. Ops on tensors return tensors; when any
    input has ``requires_grad=True`` (and grad mode is on) the result remembers how it
    was made, so that ``backward()`` can send gradients back to the inputs.

    Attributes
    ----------
    data : ndarray
        The values.
    grad : ndarray or None
        The accumulated gradient of some scalar with respect to this tensor; filled by
        ``backward()`` for leaves with ``requires_grad=True`` (and for non-leaves after
        ``retain_grad()``). Gradients add up across calls until set back to ``None``.
    requires_grad : bool
        Whether gradients flow to this tensor. Setting it to ``False`` on a parameter
        freezes it.
    name : str or None
        An optional label, shown in graph exports and reprs.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_parents", "_backward", "_op",
                 "_pending", "_retains_grad", "_seq")

    # Let NumPy defer to Tensor's reflected operators (ndarray + Tensor -> Tensor).
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _float_array(data, dtype, copy=True)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._parents = ()
        self._backward = None
        self._op = None
        self._pending = None
        self._retains_grad = False
        self._seq = next(_creation)

    # ----------------------------------------------------------------- properties
    @property
    def shape(self):
        """The shape of ``data``."""
        return self.data.shape

    @property
    def dtype(self):
        """The NumPy dtype of ``data`` (float32 unless made otherwise)."""
        return self.data.dtype

    @property
    def ndim(self):
        """The number of dimensions of ``data``."""
        return self.data.ndim

    @property
    def size(self):
        """The number of elements of ``data``."""
        return self.data.size

    @property
    def is_leaf(self):
        """True for tensors the user made (and results of ops that record no graph)."""
        return self._backward is None

    @property
    def op(self):
        """Name of the op that produced this tensor, or None for a leaf."""
        return self._op

    @property
    def parents(self):
        """The tensors this one was computed from (empty for a leaf)."""
        return self._parents

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self._op is not None:
            extra = f", op={self._op}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self.dtype != backend.get_default_dtype():
            extra += f", dtype={self.dtype.name}"
        if self.name:
            extra += f", name={self.name!r}"
        return f"tensor({body}{extra})"

    # ----------------------------------------------------------------- conversion
    def numpy(self):
        """The values as an ndarray (shared, not copied)."""
        return self.data

    def item(self):
        """The single value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ShapeError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __float__(self):
        return float(self.item())

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return _leaf(self.data)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after ``backward()``."""
        if not self.requires_grad:
            raise GradientError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def zero_grad(self):
        """Forget the accumulated gradient (sets ``.grad`` to None)."""
        self.grad = None

    # ----------------------------------------------------------------- backward
    def backward(self, grad=None):
        """Back-propagate: add d(self)/d(leaf) · grad into every leaf's ``.grad``.

        Parameters
        ----------
        grad : array_like, optional
            The gradient of the final objective with respect to this tensor. May be
            left out when this tensor holds a single value (then it is 1).

        Examples
        --------
        >>> import descent
        >>> a = descent.tensor(1.0, requires_grad=True)
        >>> b = descent.tensor(-2.0, requires_grad=True)
        >>> c = descent.tensor(3.0, requires_grad=True)
        >>> f = a + b * c
        >>> f.backward()
        >>> float(a.grad), float(b.grad), float(c.grad)
        (1.0, 3.0, -2.0)
        """
        if not self.requires_grad:
            raise GradientError(
                "backward() on a tensor that does not require grad: make an input with "
                "requires_grad=True, and do not call it inside no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise GradientError(
                    f"backward() without grad needs a one-element tensor, this one has "
                    f"shape {self.shape}; reduce it (e.g. .sum()) or pass grad="
                )
            seed = _one(self.data.dtype) if self.data.ndim == 0 \
                else xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            seed = xp.asarray(grad.data if isinstance(grad, Tensor) else grad,
                              dtype=self.dtype)
            if seed.shape != self.shape:
                raise GradientError(
                    f"grad has shape {seed.shape} but the tensor has shape {self.shape}"
                )
        inner, leaves = _backward_plan(self)
        self._pending = seed
        stored = {id(seed)}  # arrays already held as someone's .grad (or the caller's)
        for node in inner:
            g = node._pending
            if g is None:
                continue
            node._pending = None
            if node._retains_grad:
                _accumulate(node, g, stored)
            for parent, parent_grad in zip(node._parents, node._backward(g)):
                if parent_grad is None or not parent.requires_grad:
                    continue
                pending = parent._pending
                parent._pending = parent_grad if pending is None else pending + parent_grad
        # Leaves last: by now no rule will read a pending array again, so a leaf may
        # keep the one it was handed as its .grad.
        for leaf in leaves:
            g = leaf._pending
            if g is not None:
                leaf._pending = None
                _accumulate(leaf, g, stored)

    # ----------------------------------------------------------------- operators
    # The arithmetic operators and the methods that are ops (``+``, ``@``, ``.sum()``,
    # ``.T``, ...) are bound to this class in ``descent/autograd/ops.py``, beside the ops
    # themselves; here are only those that build no graph.
    def __pos__(self):
        return self

    # Comparisons give boolean masks (no gradient), as in NumPy and PyTorch.
    def __lt__(self, other):
        return _leaf(self.data < _raw(other))

    def __le__(self, other):
        return _leaf(self.data <= _raw(other))

    def __gt__(self, other):
        return _leaf(self.data > _raw(other))

    def __ge__(self, other):
        return _leaf(self.data >= _raw(other))


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _leaf(data, requires_grad=False, parents=(), backward=None, op=None):
    """Wrap an ndarray as a tensor without copying or converting it (a leaf unless given
    the parents and backward rule of the op that made it)."""
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    out.requires_grad = requires_grad
    out.name = None
    out._parents = parents
    out._backward = backward
    out._op = op
    out._pending = None
    out._retains_grad = False
    out._seq = next(_creation)
    return out


def make_node(data, parents, backward, op, remember=False):
    """The result of an op: a graph node when a gradient can flow, a plain leaf otherwise.

    ``backward(g)`` must return one gradient (or None) per parent, each shaped like
    that parent. ``remember=True`` keeps the parents on a leaf too (no backward rule):
    a softmax or sigmoid output remembers its logits even under ``no_grad``, so that a
    loss given those probabilities can work from the logits (see ``descent.losses``).
    """
    if _grad_mode.enabled:
        for parent in parents:
            if parent.requires_grad:
                return _leaf(data, True, parents, backward, op)
    return _leaf(data, parents=parents if remember else (), op=op)


def as_tensor(value, like=None):
    """Return ``value`` if it is a Tensor, else a constant leaf holding it.

    Non-tensor operands take the dtype of ``like`` (when given), so that a float64
    NumPy constant does not silently promote float32 work.
    """
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return _leaf(xp.asarray(value, dtype=like.data.dtype))
    if type(value) is xp.ndarray and value.dtype in _KEPT_DTYPES:
        return _leaf(value)
    return _leaf(_float_array(value, None, copy=False))


def tensor(data, requires_grad=False, dtype=None, name=None):
    """Make a leaf tensor from array-like ``data`` (copied).

    Python numbers, lists and integer arrays become the default dtype (float32 unless
    changed with :func:`descent.set_default_dtype`); a NumPy float array keeps its dtype
    unless ``dtype`` says otherwise.

    Examples
    --------
    >>> import descent
    >>> x = descent.tensor([[1.0, 2.0]], requires_grad=True)
    >>> x.shape, x.dtype.name
    ((1, 2), 'float32')
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def graph_nodes(root):
    """Every tensor ``root`` depends on, parents before children, found without recursion."""
    visited = {root}
    stack = [root]
    while stack:
        for parent in stack.pop()._parents:
            if parent not in visited:
                visited.add(parent)
                stack.append(parent)
    return sorted(visited, key=_CREATION_ORDER)


def _backward_plan(root):
    """What ``backward()`` from ``root`` visits: the op results (rules to apply) in
    reverse creation order, so every child comes before its parents, and the leaves
    (gradients to store), found without recursion."""
    if root._backward is None:
        return [], [root]
    visited = {root}
    stack = [root]
    inner, leaves = [], []
    while stack:
        node = stack.pop()
        inner.append(node)
        for parent in node._parents:
            if parent.requires_grad and parent not in visited:
                visited.add(parent)
                (leaves if parent._backward is None else stack).append(parent)
    inner.sort(key=_CREATION_ORDER, reverse=True)
    return inner, leaves


_ONES = {}


def _one(dtype):
    """A shared, read-only 1 of ``dtype``: the seed of ``backward()`` on a scalar."""
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = xp.ones((), dtype=dtype)
        one.flags.writeable = False
    return one


def _accumulate(node, g, stored):
    """Add ``g`` into ``node.grad``.

    The first gradient is kept as it is when this backward pass made it and nothing else
    holds it; a view, the caller's array or one already stored elsewhere is copied, so
    that no two ``.grad`` arrays share memory.
    """
    data = node.data
    if node.grad is not None:
        xp.add(node.grad, g, out=node.grad)
        return
    if g.shape != data.shape:
        if g.size != data.size:
            raise GradientError(f"a backward rule produced a gradient of shape {g.shape} "
                                f"for a tensor of shape {data.shape}")
        g = g.reshape(data.shape)
    if (type(g) is not xp.ndarray or g.base is not None or id(g) in stored
            or g.dtype is not data.dtype and g.dtype != data.dtype):
        g = xp.array(g, dtype=data.dtype)
    stored.add(id(g))
    node.grad = g

