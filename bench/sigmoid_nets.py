"""Contenders for cases b and c: a small sigmoid MLP, ½Σ squared error, plain gradient
descent (w ← w − η·g), float32 (micrograd: Python floats).

``data`` holds ``X`` (n, inputs) and ``T`` (n, outputs) float32, the initial
``weights``/``biases``, ``lr``, and either ``sequence`` (stochastic gradient descent: one
example per step, in that order) or ``steps`` (batch gradient descent on all of ``X``).
Every contender runs the loop its library's users write: forward, loss, zero the
gradients, backward, update. The loss of each step is not read back (no ``.item()``).
Each returns ``final_loss``: the mean ½Σ(t − o)² over all examples with its final
weights, computed afterwards in float64 by the same NumPy code, so the contenders can
be seen to have done the same arithmetic.
"""

import numpy as np

from bench import descent_compiled, harness, jax_peers, peers, torch_compiled
from bench.common import MicrogradMLP, descent_mlp, torch_mlp


# Cases b and c: ≤ 0.15× PyTorch, ≤ 0.5× micrograd, ≤ 1.5× hand-written NumPy.
SMALL_NET_TARGETS = [
    harness.Target("pytorch", 0.15),
    harness.Target("micrograd", 0.5),
    harness.Target("numpy", 1.5),
    harness.Target(peers.JAX, 1.0, subject=peers.COMPILED),
]


def run_section(cfg, case_id, section_id, data, steps, title, note):
    """Run every contender on ``data`` (interleaved, 5 repeats after the warm-up) and
    return the case's one section, per step, with the small-network targets."""
    repeats, warmup = cfg.repeats_for(5), cfg.warmup_rounds()
    cfg.say(f"  {case_id}: {repeats} repeats after {warmup} warm-up, interleaved")
    contenders, skipped = peers.contenders(CONTENDERS, OPTIONAL, cfg)
    results = harness.run_interleaved(contenders, data, repeats, warmup, cfg.say)
    section = {
        "case": case_id, "id": section_id, "title": title,
        "unit": "us", "per": steps, "per_label": "step", "steps": steps,
        "show": ["final_loss"], "contenders": results,
        "notes": [note, *skipped, *peers.compile_notes(results)],
    }
    harness.evaluate_targets(section, SMALL_NET_TARGETS)
    return [section]


def final_loss(weights, biases, X, T):
    out = np.asarray(X, dtype=np.float64)
    for w, b in zip(weights, biases):
        out = 1.0 / (1.0 + np.exp(-(out @ np.asarray(w, np.float64) + b)))
    return float(np.mean(0.5 * np.sum((np.asarray(T, np.float64) - out) ** 2, axis=1)))


def steps(data, X, T):
    """The (inputs, targets) of every step, sliced before the clock starts: one example
    per step when ``data`` has a ``sequence``, else all of them, ``steps`` times."""
    if "sequence" in data:
        return [(X[i:i + 1], T[i:i + 1]) for i in data["sequence"]]
    return [(X, T)] * data["steps"]


def train_steps(model, optimizer, sse, work):
    """The loop both libraries' users write (descent and PyTorch share these names)."""
    for x, t in work:
        loss = sse(model(x), t)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def run_descent(data, timer):
    import descent

    sse = descent.losses.sse
    model = descent_mlp(data["weights"], data["biases"], hidden="sigmoid", output="sigmoid")
    optimizer = descent.optim.SGD(model.parameters(), lr=data["lr"])
    X, T = data["X"], data["T"]
    work = steps(data, X, T)
    with timer:
        train_steps(model, optimizer, sse, work)
    layers = [m for m in model if isinstance(m, descent.nn.Linear)]
    return {"final_loss": final_loss([m.weight.data for m in layers],
                                     [m.bias.data for m in layers], X, T)}


def run_pytorch(data, timer):
    import torch
    import torch.nn.functional as F

    model = torch_mlp(data["weights"], data["biases"], hidden="sigmoid", output="sigmoid")
    optimizer = torch.optim.SGD(model.parameters(), lr=data["lr"])
    X, T = torch.from_numpy(data["X"]), torch.from_numpy(data["T"])
    work = steps(data, X, T)

    def sse(o, t):  # ½ Σ_k (t_k − o_k)², averaged over the examples of the batch
        return F.mse_loss(o, t, reduction="sum") * (0.5 / len(o))

    with timer:
        train_steps(model, optimizer, sse, work)
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    return {"final_loss": final_loss([m.weight.detach().numpy().T for m in layers],
                                     [m.bias.detach().numpy() for m in layers],
                                     data["X"], data["T"])}


def run_micrograd(data, timer):
    net = MicrogradMLP(data["weights"], data["biases"])
    params, lr = net.parameters(), data["lr"]
    xs, ts = data["X"].tolist(), data["T"].tolist()
    with timer:
        if "sequence" in data:
            for i in data["sequence"]:
                out = net(xs[i])
                loss = sum((t - o) ** 2 for t, o in zip(ts[i], out)) * 0.5
                net.zero_grad()
                loss.backward()
                for p in params:
                    p.data -= lr * p.grad
        else:
            scale = 0.5 / len(xs)
            for _ in range(data["steps"]):
                outs = [net(x) for x in xs]
                loss = sum((t - o) ** 2 for ti, oi in zip(ts, outs)
                           for t, o in zip(ti, oi)) * scale
                net.zero_grad()
                loss.backward()
                for p in params:
                    p.data -= lr * p.grad
    biases = [np.array([p.data for p in b]) for _, b in net.layers]
    return {"final_loss": final_loss(net.weights(), biases, data["X"], data["T"])}


def run_numpy(data, timer):
    """Forward and backward by hand on (batch, units) float32 arrays, in-place updates."""
    (W1, W2), (b1, b2) = ([w.copy() for w in data["weights"]],
                          [b.copy() for b in data["biases"]])
    X, T = data["X"], data["T"]
    lr = np.float32(data["lr"])
    one = np.float32(1.0)

    def step(x, t):
        nonlocal W1, W2, b1, b2
        h = x @ W1
        h += b1
        h = one / (one + np.exp(-h))                 # σ
        o = h @ W2
        o += b2
        o = one / (one + np.exp(-o))
        d2 = (o - t) * o * (one - o)                  # ∂E/∂z2 (E = mean of ½Σ(t − o)²)
        d2 *= np.float32(1.0 / len(x))
        d1 = (d2 @ W2.T) * h * (one - h)              # ∂E/∂z1
        W2 -= lr * (h.T @ d2)
        b2 -= lr * d2.sum(axis=0)
        W1 -= lr * (x.T @ d1)
        b1 -= lr * d1.sum(axis=0)

    work = steps(data, X, T)
    with timer:
        for x, t in work:
            step(x, t)
    return {"final_loss": final_loss([W1, W2], [b1, b2], X, T)}


CONTENDERS = {"descent": run_descent, "pytorch": run_pytorch, "micrograd": run_micrograd,
              "numpy": run_numpy}
OPTIONAL = {
    "descent-compiled": (descent_compiled.available, descent_compiled.sigmoid_contender),
    "jax-step": (jax_peers.available, jax_peers.sigmoid_contender(scan=False)),
    "jax-scan": (jax_peers.available, jax_peers.sigmoid_contender(scan=True)),
    "torch-compile": (torch_compiled.available, torch_compiled.sigmoid_contender),
}
REQUIRES = {"pytorch": ("torch",), "micrograd": ("micrograd.engine",)}
