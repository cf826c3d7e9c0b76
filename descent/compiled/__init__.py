"""The compiled training path: whole epochs of a dense network in one Numba kernel, with
the graph engine's numbers (``pip install 'descent[fast]'``).

The graph engine (``descent.autograd``) stays the reference: these kernels are its
arithmetic written out element by element, one family per module — ``activations``,
``losses``, ``optimizers``, ``products`` (the matrix products) and ``epoch`` (the batch
loop) — and ``runner`` lays a network out for them. ``supports`` says whether a model,
loss and optimiser can take this path and why not; ``EpochRunner`` trains an epoch at a
time on the row order the training loop draws (``epoch_order``); ``load`` compiles the
kernels, or reads them from Numba's cache on disk, ahead of the first epoch;
``numpy_on_one_thread`` is the context for NumPy's work between epochs (``threads``).
"""

from descent.compiled.jit import AVAILABLE
from descent.compiled.runner import EpochResult, EpochRunner, epoch_order, load, supports
from descent.compiled.threads import numpy_on_one_thread

__all__ = ["AVAILABLE", "EpochResult", "EpochRunner", "epoch_order", "load",
           "numpy_on_one_thread", "supports"]
