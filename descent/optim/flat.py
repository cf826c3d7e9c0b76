"""Parameters stored back to back in one array, for optimisers of small networks.

An optimiser's update is elementwise, so it can run on all parameters at once when they
live in one array: one NumPy call per line of the formula instead of one per line and
parameter. On small networks (the notes' 3-2-1, XOR, digits) NumPy's per-call cost of a
microsecond or two is most of an update, and Adam's dozen calls per parameter become a
dozen in all. On large parameters the calls are long anyway and gathering the gradients
into one array would be an extra pass over memory, so they are left as they are.

``FlatParameters.ready()`` moves every parameter's values into one array and makes each
``p.data`` a view of its slice, so that the model and the optimiser see the same numbers.
It does so only when no one else holds a parameter's array (its reference count says
so): a reference kept by the caller would otherwise stop following the parameter.
"""

import math
from sys import getrefcount

import numpy as np

# Mean elements per parameter up to which the flat update pays: below it the per-call
# overhead dominates; above it copying the gradients together costs more than it saves.
FLAT_MEAN_SIZE = 16_384


def _data_references(p):
    return getrefcount(p.data)


class _Probe:
    __slots__ = ("data",)


def _sole_owner_references():
    """What ``_data_references`` counts for an array that only ``.data`` holds
    (measured, not assumed: interpreters differ in the references they take)."""
    probe = _Probe()
    probe.data = np.empty(1)
    return _data_references(probe)


_SOLE_OWNER = _sole_owner_references()


class FlatParameters:
    """The values (and a gradient buffer) of ``params`` as single flat arrays."""

    def __init__(self, params):
        self.params = params
        self.views = self.shapes = None
        self.data = self.grad = self.work = None

    @staticmethod
    def suits(params):
        """Whether packing ``params`` can pay: two or more distinct float parameters of
        one dtype, small on average."""
        if len(params) < 2 or len({id(p) for p in params}) != len(params):
            return False
        dtype = params[0].data.dtype
        if dtype.kind != "f" or any(p.data.dtype != dtype for p in params):
            return False
        return sum(p.data.size for p in params) <= FLAT_MEAN_SIZE * len(params)

    def ready(self):
        """True when every parameter is trainable, has a gradient, and its ``p.data`` is
        its slice of ``self.data`` (packed first, or a replaced array copied into its
        slot, when that is safe)."""
        if self.views is None:
            return all(p.grad is not None and p.requires_grad for p in self.params) \
                and self._pack()
        flat, views = self.data, self.views
        for index, p in enumerate(self.params):
            if p.grad is None or not p.requires_grad:
                return False
            # (a copied optimiser's views are arrays of their own: their base tells)
            if (p.data is not views[index] or views[index].base is not flat) \
                    and not self._restore(index):
                return False
        return True

    def _sole_owner(self, p):
        """Whether only ``p.data`` refers to ``p``'s array (no caller keeps it)."""
        data = p.data
        owned = type(data) is np.ndarray and data.base is None
        del data
        return owned and _data_references(p) == _SOLE_OWNER

    def _pack(self):
        dtype = self.params[0].data.dtype
        if not all(p.data.dtype == dtype and self._sole_owner(p) for p in self.params):
            return False
        flat = np.concatenate([p.data.reshape(-1) for p in self.params])
        self.data, self.shapes = flat, [p.data.shape for p in self.params]
        self.views = self.views_of(flat)
        for p, view in zip(self.params, self.views):
            p.data = view
        self.grad, self.work = np.empty_like(flat), np.empty_like(flat)
        return True

    def _restore(self, index):
        """Put parameter ``index`` back in its slot after ``p.data`` was replaced (or the
        optimiser copied): its values go into the slot, ``p.data`` becomes the slot.
        Refused when the new array has another shape or dtype, or is held elsewhere."""
        p, slot = self.params[index], self.views_of(self.data)[index]
        self.views[index] = None  # (a copied optimiser's view may be p.data itself)
        if p.data.shape != slot.shape or p.data.dtype != slot.dtype or not self._sole_owner(p):
            self.views[index] = slot
            return False
        slot[...] = p.data
        p.data = self.views[index] = slot
        return True

    def gather_grads(self):
        """Copy every parameter's ``.grad`` into ``self.grad`` (one call)."""
        np.concatenate([p.grad for p in self.params], axis=None, out=self.grad)
        return self.grad

    def views_of(self, array):
        """Per-parameter views of a flat array shaped like ``self.data``."""
        views, start = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            views.append(array[start:start + size].reshape(shape))
            start += size
        return views

    def join(self, arrays):
        """One flat array from per-parameter arrays shaped like the parameters."""
        return np.concatenate([np.asarray(a, dtype=self.data.dtype).reshape(-1)
                               for a in arrays])
