"""The compiled training path: whole epochs of a dense network in one Numba kernel, with
the graph engine's numbers (``pip install 'descent[fast]'``).

The graph engine (``descent.autograd``) stays the reference: these kernels are its
arithmetic written out element by element, one family per module — ``activations``,
``losses``, ``optimizers``, ``products`` (the matrix products) and ``epoch`` (the batch
loop) — and ``runner`` lays a network out for them. ``supports`` says whether a model,
loss and optimiser can take this path and why not; ``EpochRunner`` trains an epoch at a
time on the row order the training loop draws (``epoch_order``); ``load`` compiles the
kernels, or reads them from Numba's cache on disk, ahead of the first epoch.
"""

from descent.compiled.jit import AVAILABLE
from descent.compiled.runner import EpochResult, EpochRunner, epoch_order, load, supports

__all__ = ["AVAILABLE", "EpochResult", "EpochRunner", "epoch_order", "load", "supports"]
