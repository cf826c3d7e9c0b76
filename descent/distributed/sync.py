"""Synchronous data-parallel steps: one optimiser step per global batch, on the client.

Every shard computes, at the client's parameters, the sum of the per-example gradients
over the rows of the batch that it holds; the client adds the sums up in shard order,
divides by the batch's rows — the mean gradient over the batch, as ``descent.train``
takes it — and steps its own optimiser. The update is the one single-process training
makes on the same batch, to floating-point rounding (the rows' contributions are added
in another grouping).
"""

import math

from descent.distributed.reduce import add_gradients, add_sums


def synchronous_step(pool, batch, trainable, optimizer):
    """Batch ``batch`` of the epoch: gradient sums from every shard, one optimiser step;
    returns the batch's sums (loss, rows, metric counts). A loss that is not finite
    takes no step, as in ``descent.train``."""
    params = [p.data for p in trainable]
    answers = pool.call("gradient", batch, params)
    sums = add_sums([answer[0] for answer in answers])
    if not math.isfinite(sums["loss"]) or not sums["count"]:
        return sums
    grads = add_gradients([answer[1] for answer in answers])
    scale = 1.0 / sums["count"]  # the mean over the batch's rows
    optimizer.zero_grad()
    for p, grad in zip(trainable, grads):
        p.grad = None if grad is None else grad * scale
    optimizer.step()
    return sums
