"""Case a: MNIST-shaped training, one epoch of SGD and one of Adam.

60,000 × 784 float32 inputs drawn from N(0, 1) with learnable labels
``argmax(X @ W_true)`` for a fixed random ``W_true`` (10 classes); MLP 784-256-256-10
ReLU, softmax cross-entropy on the logits, mini-batches of 128 (the last one 96), one
epoch of SGD (lr 0.1) and, separately, one of Adam (lr 0.001, betas 0.9/0.999, eps 1e-8).

Contenders, all from the same float32 initial weights:

- ``descent``: ``descent.train(..., batch_size=128, epochs=1, seed=seed)`` with a
  ``descent.optim.SGD``/``Adam`` instance, ``progress=False``.
- ``pytorch``: an eager ``nn.Sequential`` loop (``zero_grad``, forward,
  ``F.cross_entropy``, ``backward``, ``step``, ``loss.item()``).
- ``sklearn``: ``MLPClassifier`` (float32 input, ``alpha=0``, constant learning rate,
  no momentum, no early stopping); same weights, its own shuffling.
- ``numpy``: a hand-written forward/backward loop with preallocated buffers and in-place
  updates.
- ``floor``: the epoch's matrix products alone (3 forward, 5 backward: dW of 3 layers,
  dX of 2), float32 NumPy into preallocated outputs, no gather, no elementwise work.

descent, PyTorch and NumPy visit the examples in the same order,
``np.random.default_rng(seed).permutation(60000)``: the order ``descent.train`` draws.
Peak memory added by training is measured for each in a fresh process, one after the
other (in ``--quick`` mode for the SGD epoch only, all probes at once: a probe costs an
interpreter start and imports).
"""

import math
import warnings

import numpy as np

from bench import descent_compiled, harness, jax_peers, peers, torch_compiled
from bench.common import (descent_mlp, epoch_orders, init_weights, sklearn_start_from,
                          torch_epoch, torch_mlp)

ID = "a"
SIZES = [784, 256, 256, 10]
DEFAULT_REPEATS = 5
REQUIRES = {"pytorch": ("torch",), "sklearn": ("sklearn.neural_network",),
            "descent-compiled": ("numba", "scipy.linalg.cython_blas")}
TARGETS = [
    harness.Target("floor", 1.25),
    harness.Target("numpy", 1.0),
    harness.Target("pytorch", 0.6, op="<"),
    harness.Target("sklearn", 0.5, op="<"),
    harness.Target("sklearn", 1.0, metric="memory"),
    # the compiled path (issue 20): not slower than JAX's better way, near the floor,
    # no more memory than scikit-learn
    harness.Target(peers.JAX, 1.0, subject=peers.COMPILED),
    harness.Target("floor", 1.15, subject=peers.COMPILED),
    harness.Target("sklearn", 1.0, metric="memory", subject=peers.COMPILED),
]


def make_data(quick=False, seed=0):
    """Inputs, labels, initial weights and batch order (outside every timed region)."""
    n = 2048 if quick else 60_000
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, SIZES[0]), dtype=np.float32)
    w_true = rng.standard_normal((SIZES[0], SIZES[-1]), dtype=np.float32)
    y = np.argmax(X @ w_true, axis=1).astype(np.int64)
    weights, biases = init_weights(SIZES, ["relu", "relu", "identity"], seed + 1)
    return {"X": X, "y": y, "weights": weights, "biases": biases,
            "order": epoch_orders(n, 1, seed)[0], "seed": seed, "batch": 128,
            "lr_sgd": 0.1, "lr_adam": 0.001, "classes": SIZES[-1], "opt": "sgd"}


def _lr(data):
    return data["lr_sgd"] if data["opt"] == "sgd" else data["lr_adam"]


def _optimizer(optim, params, data):
    """``optim.SGD`` or ``optim.Adam`` (descent.optim and torch.optim share the names)."""
    return getattr(optim, "SGD" if data["opt"] == "sgd" else "Adam")(params, lr=_lr(data))


# ----------------------------------------------------------------------------- contenders
def run_descent(data, timer):
    import descent

    model = descent_mlp(data["weights"], data["biases"], hidden="relu")
    optimizer = _optimizer(descent.optim, model.parameters(), data)
    with timer:
        history = descent.train(model, data["X"], data["y"], loss="cross_entropy",
                                optimizer=optimizer, batch_size=data["batch"], epochs=1,
                                shuffle=True, seed=data["seed"], progress=False,
                                classes=np.arange(data["classes"]), engine="graph")
    return {"loss": history.last["loss"]}


def run_pytorch(data, timer):
    import torch

    model = torch_mlp(data["weights"], data["biases"], hidden="relu")
    optimizer = _optimizer(torch.optim, model.parameters(), data)
    X = torch.from_numpy(data["X"])
    y = torch.from_numpy(data["y"])
    order = torch.from_numpy(data["order"])
    with timer:
        loss = torch_epoch(model, optimizer, X, y, order, data["batch"])
    return {"loss": loss}


def run_sklearn(data, timer):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=tuple(SIZES[1:-1]), activation="relu",
                        solver=data["opt"], alpha=0.0, batch_size=data["batch"],
                        learning_rate="constant", learning_rate_init=_lr(data),
                        momentum=0.0, nesterovs_momentum=False, max_iter=1, shuffle=True,
                        random_state=data["seed"], tol=0.0, n_iter_no_change=2,
                        early_stopping=False, warm_start=True)
    sklearn_start_from(clf, data["X"], data["y"], data["weights"], data["biases"],
                       np.arange(data["classes"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with timer:
            clf.fit(data["X"], data["y"])
    return {"loss": float(clf.loss_)}


def run_numpy(data, timer):
    """The loop a careful engineer writes by hand: float32 throughout, buffers reused,
    in-place updates, the mean gradient of softmax cross-entropy."""
    X, y, order = data["X"], data["y"], data["order"]
    n, batch = len(X), data["batch"]
    params = [w.copy() for w in data["weights"]] + [b.copy() for b in data["biases"]]
    W1, W2, W3, b1, b2, b3 = params
    adam, lr = data["opt"] == "adam", _lr(data)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    f32 = np.float32
    with timer:
        grads = [np.empty_like(p) for p in params]
        gW1, gW2, gW3, gb1, gb2, gb3 = grads
        if adam:
            m = [np.zeros_like(p) for p in params]
            v = [np.zeros_like(p) for p in params]
            scratch = [np.empty_like(p) for p in params]
        H1 = np.empty((batch, W1.shape[1]), f32)
        H2 = np.empty((batch, W2.shape[1]), f32)
        Z3 = np.empty((batch, W3.shape[1]), f32)
        D2 = np.empty_like(H2)
        D1 = np.empty_like(H1)
        all_rows = np.arange(batch)
        total, step = 0.0, 0
        for start in range(0, n, batch):
            index = order[start:start + batch]
            k = len(index)
            rows = all_rows[:k]
            xb, yb = X[index], y[index]
            # forward
            h1 = np.matmul(xb, W1, out=H1[:k])
            h1 += b1
            np.maximum(h1, 0, out=h1)
            h2 = np.matmul(h1, W2, out=H2[:k])
            h2 += b2
            np.maximum(h2, 0, out=h2)
            z = np.matmul(h2, W3, out=Z3[:k])
            z += b3
            # softmax cross-entropy (log-sum-exp), then dL/dz = (softmax − onehot) / k
            z -= z.max(axis=1, keepdims=True)
            picked = z[rows, yb]
            np.exp(z, out=z)
            sums = z.sum(axis=1, keepdims=True)
            total += float(np.sum(np.log(sums[:, 0]) - picked))
            z /= sums
            z[rows, yb] -= 1
            z *= f32(1.0 / k)
            # backward
            np.matmul(h2.T, z, out=gW3)
            z.sum(axis=0, out=gb3)
            d2 = np.matmul(z, W3.T, out=D2[:k])
            d2 *= h2 > 0
            np.matmul(h1.T, d2, out=gW2)
            d2.sum(axis=0, out=gb2)
            d1 = np.matmul(d2, W2.T, out=D1[:k])
            d1 *= h1 > 0
            np.matmul(xb.T, d1, out=gW1)
            d1.sum(axis=0, out=gb1)
            # update
            if not adam:
                for p, g in zip(params, grads):
                    g *= f32(lr)
                    p -= g
                continue
            step += 1
            step_size = f32(lr / (1 - beta1 ** step))
            root_c2 = f32(1.0 / math.sqrt(1 - beta2 ** step))
            for p, g, mp, vp, s in zip(params, grads, m, v, scratch):
                mp *= f32(beta1)
                np.multiply(g, f32(1 - beta1), out=s)
                mp += s
                vp *= f32(beta2)
                np.multiply(g, g, out=s)
                s *= f32(1 - beta2)
                vp += s
                np.sqrt(vp, out=s)
                s *= root_c2
                s += f32(eps)
                np.divide(mp, s, out=s)
                s *= step_size
                p -= s
    return {"loss": total / n}


def run_floor(data, timer):
    """The epoch's 8 matrix products per batch, nothing else: the time to beat."""
    X = data["X"]
    n, batch = len(X), data["batch"]
    W1, W2, W3 = (w.copy() for w in data["weights"])
    f32 = np.float32
    with timer:
        H1 = np.empty((batch, W1.shape[1]), f32)
        H2 = np.empty((batch, W2.shape[1]), f32)
        Z3 = np.empty((batch, W3.shape[1]), f32)
        D2 = np.empty_like(H2)
        D1 = np.empty_like(H1)
        gW1, gW2, gW3 = np.empty_like(W1), np.empty_like(W2), np.empty_like(W3)
        for start in range(0, n, batch):
            xb = X[start:start + batch]
            k = len(xb)
            h1 = np.matmul(xb, W1, out=H1[:k])              # forward
            h2 = np.matmul(h1, W2, out=H2[:k])
            z = np.matmul(h2, W3, out=Z3[:k])
            np.matmul(h2.T, z, out=gW3)                      # backward: dW3
            d2 = np.matmul(z, W3.T, out=D2[:k])              # dX3
            np.matmul(h1.T, d2, out=gW2)                     # dW2
            d1 = np.matmul(d2, W2.T, out=D1[:k])             # dX2
            np.matmul(xb.T, d1, out=gW1)                     # dW1
    return {}


CONTENDERS = {"descent": run_descent, "pytorch": run_pytorch, "sklearn": run_sklearn,
              "numpy": run_numpy, "floor": run_floor}


def _jax_optimizer(data):
    return jax_peers.sgd(_lr(data)) if data["opt"] == "sgd" else jax_peers.adam(_lr(data))


OPTIONAL = {
    "descent-compiled": (descent_compiled.available,
                         descent_compiled.classifier_contender(_optimizer)),
    "jax-step": (jax_peers.available,
                 jax_peers.classifier_contender(ID, _jax_optimizer, scan=False)),
    "jax-scan": (jax_peers.available,
                 jax_peers.classifier_contender(ID, _jax_optimizer, scan=True)),
    "torch-compile": (torch_compiled.available,
                      torch_compiled.classifier_contender(ID, _optimizer)),
}
# measured for memory too: every contender but JAX and torch.compile
MEMORY = list(CONTENDERS) + ["descent-compiled"]


# ----------------------------------------------------------------------------- the case
def run(cfg):
    data = make_data(cfg.quick, cfg.seed)
    n = len(data["X"])
    repeats, warmup = cfg.repeats_for(DEFAULT_REPEATS), cfg.warmup_rounds()
    sections = []
    contenders, skipped = peers.contenders(CONTENDERS, OPTIONAL, cfg)
    measured = [name for name in MEMORY if name in contenders]
    with harness.data_directory({k: v for k, v in data.items() if k != "opt"}) as directory:
        for opt in ("sgd", "adam"):
            data["opt"] = opt
            label = f"SGD (lr {data['lr_sgd']:g})" if opt == "sgd" else \
                f"Adam (lr {data['lr_adam']:g})"
            cfg.say(f"  a/{opt}: {repeats} repeats after {warmup} warm-up, interleaved")
            results = harness.run_interleaved(contenders, data, repeats, warmup, cfg.say)
            if opt == "sgd" or not cfg.quick:
                probes = harness.measure_memory(__name__, measured, directory,
                                                cfg.threads, {"opt": opt},
                                                parallel=cfg.quick)
                for name, probe in probes.items():
                    results[name]["memory_mib"] = probe["memory_mib"]
                    results[name]["memory_method"] = probe["method"]
                    cfg.say(f"    {name:<10} memory    {probe['memory_mib']:9.1f} MiB added")
            section = {
                "case": ID, "id": opt,
                "title": (f"MNIST-shaped {n:,}×784, MLP 784-256-256-10 ReLU, softmax "
                          f"cross-entropy, batch 128: one epoch of {label}"),
                "unit": "s", "per": 1, "per_label": "epoch", "steps": math.ceil(n / 128),
                "show": ["loss"], "contenders": results,
                "notes": [
                    "loss = mean training loss over the epoch (same weights; descent, "
                    "pytorch, numpy same batch order, sklearn its own shuffling)",
                    "added MiB = peak RSS during training minus RSS just before it, "
                    "each contender in a fresh process (VmHWM)",
                    *skipped, *peers.compile_notes(results),
                ],
            }
            harness.evaluate_targets(section, TARGETS)
            sections.append(section)
            if opt == "sgd" and not cfg.quick and "descent-compiled" in contenders:
                cfg.say("  a/compile: two fresh processes, one Numba cache")
                sections.append(peers.compile_section(
                    ID, directory, cfg.threads, results,
                    "what compiling costs: the kernels' loading and the first SGD epoch of "
                    "a fresh process (descent: an empty Numba cache, then the cache the "
                    "first process wrote), against JAX's and torch.compile's compiling"))
    return sections
