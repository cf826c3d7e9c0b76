"""Local SGD (``sync_every=H``): shards step on their own, and meet every H batches.

In a round, each shard starts from the client's parameters and optimiser state and takes
H optimiser steps, one per global batch, on the rows of that batch it holds (the mean
gradient over them). The client then sets its model to the shards' parameters averaged
in shard order, each weighted by the rows it used, and its optimiser state to their
states averaged alike (see ``reduce.average_states``). One round costs one exchange
instead of H, which is what makes small batches pay on a cluster; the result is not the
single-process one (each shard's steps see only its rows), and a batch's loss is the
shards' losses at their own, diverging, parameters. Rounds end at epoch ends, so every
epoch's record, stopping check and checkpoint see averaged weights.
"""

from descent.distributed.reduce import add_sums, average_states, weighted_mean


def local_round(pool, first_batch, count, trainable, optimizer):
    """Batches ``first_batch .. first_batch + count - 1`` stepped locally on every shard.

    Returns ``(sums, apply)``: each batch's sums over the shards (a shard stops its round
    at a loss that is not finite, so later batches may count fewer of them), and a
    function that moves the client's model and optimiser to the shards' average — call it
    once the sums showed nothing diverged.
    """
    params = [p.data for p in trainable]
    answers = pool.call("local_round", first_batch, count, params, optimizer.state_dict())
    sums = [add_sums([done[index] for done, *_ in answers if index < len(done)])
            for index in range(count)]
    used = [answer for answer in answers if answer[1]]

    def apply():
        if not used:
            return
        weights = [rows for _, rows, _, _ in used]
        for index, p in enumerate(trainable):
            p.data[...] = weighted_mean([params[index] for _, _, params, _ in used], weights)
        optimizer.load_state_dict({"hyper": dict(optimizer.hyper),
                                   "state": average_states([s for *_, s in used], weights)})

    return sums, apply
