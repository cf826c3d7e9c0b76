"""Case b: the lecture notes' setting — the 3-2-1 sigmoid network, ½Σ squared error,
stochastic gradient descent (one example per step), 10,000 steps.

The network starts from the notes' worked-example weights (w14 … b6, as in docs/networks.md)
and learns the 3-input majority function on all 8 binary patterns (the notes' example
[1, 0, 1] → 1 is one of them) with the notes' learning rate 0.9. The examples are visited
in a shuffled order, one fresh permutation of the 8 per pass, the same sequence for every
contender. Contenders: descent, PyTorch, micrograd and hand-written NumPy
(:mod:`bench.sigmoid_nets`). The table shows time per step.
"""

import itertools

import numpy as np

from bench.common import epoch_orders
from bench.sigmoid_nets import (  # noqa: F401  (memprobe looks here)
    CONTENDERS, REQUIRES, run_section)

ID = "b"


def make_data(quick=False, seed=0):
    steps = 48 if quick else 10_000  # whole epochs of the 8 patterns
    X = np.array(list(itertools.product([0.0, 1.0], repeat=3)), dtype=np.float32)
    T = (X.sum(axis=1, keepdims=True) >= 2).astype(np.float32)
    weights = [np.array([[0.2, -0.3], [0.4, 0.1], [-0.5, 0.2]], np.float32),
               np.array([[-0.3], [-0.2]], np.float32)]
    biases = [np.array([-0.4, 0.2], np.float32), np.array([0.1], np.float32)]
    passes = -(-steps // len(X))
    sequence = np.concatenate(epoch_orders(len(X), passes, seed))[:steps]
    return {"X": X, "T": T, "weights": weights, "biases": biases, "lr": 0.9,
            "sequence": sequence.tolist()}


def run(cfg):
    data = make_data(cfg.quick, cfg.seed)
    steps = len(data["sequence"])
    return run_section(
        cfg, ID, "sgd", data, steps,
        f"the notes' 3-2-1 sigmoid MLP, ½Σ squared error, SGD batch 1 (lr 0.9), {steps:,} steps",
        "final_loss = mean ½Σ(t − o)² over the 8 patterns after training (same start, same "
        "example order: should agree to float precision)")
