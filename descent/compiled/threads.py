"""NumPy's BLAS on one thread while the compiled engine's epochs wait.

The kernels multiply matrices with the BLAS SciPy ships, NumPy with its own; each keeps
a pool of threads, and after a call a pool's threads spin a while before they sleep. A
NumPy product just before an epoch leaves NumPy's threads spinning on the cores the epoch's products
need: on two cores that made an MNIST-sized epoch 30–40 % slower. What the training loop
computes with NumPy before and between the compiled epochs (the untrained network's
loss, the validation metrics, the dead units) runs inside :func:`numpy_on_one_thread`,
which wakes no pool (threadpoolctl, where it is installed; without it, nothing changes).
"""

import contextlib
import functools


@functools.cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # (an optional extra: descent[fast] brings it)
        return None
    return ThreadpoolController()


def numpy_on_one_thread():
    """A context in which every BLAS library runs on one thread (none of its pool's
    threads woken); a context that does nothing without threadpoolctl."""
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")
