"""What the client adds up, and in which order: the shards' answers are combined in shard
order, one after the other, whatever order they arrived in — so the same shards give the
same numbers, bit for bit, run after run.
"""

import numpy as np


def add_sums(answers):
    """The shards' sums (``worker.SUMS`` dicts; a regression's ``columns`` are arrays)
    added up in order."""
    total = {}
    for sums in answers:
        for key, value in sums.items():
            total[key] = value if key not in total else total[key] + value
    return total


def add_gradients(answers):
    """Per parameter, the shards' gradient sums added up in order; None where no shard
    has one (no shard held rows of the batch, or the loss does not reach it)."""
    total = None
    for grads in answers:
        if grads is None:
            continue
        if total is None:
            total = [None if g is None else g.copy() for g in grads]
            continue
        for index, g in enumerate(grads):
            if g is not None:
                if total[index] is None:
                    total[index] = g.copy()
                else:
                    total[index] += g
    return total


def weighted_mean(values, weights):
    """Σ w_k v_k / Σ w_k over arrays ``values``, in order."""
    scale = 1.0 / float(sum(weights))
    total = values[0] * (weights[0] * scale)
    for value, weight in zip(values[1:], weights[1:]):
        total += value * (weight * scale)
    return total


def average_states(states, weights):
    """The optimiser states (``state_dict()``s) of local-SGD shards averaged like their
    parameters: each array (momentum, Adam's moments) by ``weighted_mean``; a step count
    is the largest (a shard that held no rows of a batch skipped its step)."""
    averaged = []
    for per_parameter in zip(*(state["state"] for state in states)):
        merged = {}
        for key in per_parameter[0]:
            values = [entry[key] for entry in per_parameter]
            merged[key] = weighted_mean(values, weights) \
                if isinstance(values[0], np.ndarray) else max(values)
        averaged.append(merged)
    return averaged
