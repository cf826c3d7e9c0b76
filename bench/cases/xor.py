"""Case c: XOR with a 2-4-1 sigmoid network, ½Σ squared error averaged over the four
examples, full-batch gradient descent (lr 2.0), 1,000 steps.

Initial weights: Xavier/Glorot uniform from ``np.random.default_rng(seed + 3)``, biases 0,
the same for every contender. Contenders: descent, PyTorch, micrograd and hand-written
NumPy (:mod:`bench.sigmoid_nets`). The table shows time per step.
"""

import numpy as np

from bench.common import init_weights
from bench.sigmoid_nets import (  # noqa: F401  (memprobe looks here)
    CONTENDERS, REQUIRES, run_section)

ID = "c"


def make_data(quick=False, seed=0):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    T = np.array([[0], [1], [1], [0]], dtype=np.float32)
    weights, biases = init_weights([2, 4, 1], ["sigmoid", "sigmoid"], seed + 3)
    return {"X": X, "T": T, "weights": weights, "biases": biases, "lr": 2.0,
            "steps": 50 if quick else 1_000}


def run(cfg):
    data = make_data(cfg.quick, cfg.seed)
    steps = data["steps"]
    return run_section(
        cfg, ID, "gd", data, steps,
        f"XOR, 2-4-1 sigmoid MLP, ½Σ squared error, full-batch gradient descent "
        f"(lr {data['lr']:g}), {steps:,} steps",
        "final_loss = mean ½Σ(t − o)² over the 4 examples after training")
