"""PyTorch with ``torch.compile`` (the inductor backend, C++ on the CPU) for every case:
the model compiled (its forward and, through AOTAutograd, its backward), the optimiser
``foreach`` as it comes, the loop the eager contender runs. One compiled model per case
and batch shape is kept across rounds (its weights reset in place before each run), so
that only the warm-up round compiles; the seconds that takes are reported apart
(``compile_s``: the first step of each batch shape, less a later one).

torch.compile needs a C++ compiler on the machine; where it fails the case says so in a
note and goes on without it.
"""

import time

import numpy as np

_MODELS = {}


def available():
    try:
        import torch
        return hasattr(torch, "compile")
    except ImportError:
        return False


def _compiled(key, weights, biases, hidden, output=None):
    """A compiled copy of the case's network (made once per key), with ``weights``."""
    import torch

    from bench.common import torch_mlp

    if key not in _MODELS:
        model = torch_mlp(weights, biases, hidden=hidden, output=output)
        _MODELS[key] = (model, torch.compile(model), {})
    model, compiled, compile_s = _MODELS[key]
    with torch.no_grad():
        layers = [m for m in model if isinstance(m, torch.nn.Linear)]
        for layer, w, b in zip(layers, weights, biases):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            layer.bias.copy_(torch.from_numpy(b))
    return model, compiled, compile_s


def _first_steps(compile_s, shapes, step):
    """Run ``step(shape)`` once per batch shape not seen yet, timing the compile (the
    first call, less a second one)."""
    for shape in shapes:
        if shape in compile_s:
            continue
        start = time.perf_counter()
        step(shape)
        first = time.perf_counter() - start
        start = time.perf_counter()
        step(shape)
        compile_s[shape] = max(first - (time.perf_counter() - start), 0.0)


def classifier_contender(case, optimizer_of):
    """Cases a and d: ReLU MLP, cross-entropy, the case's batch order."""
    def run(data, timer):
        import torch
        import torch.nn.functional as F

        orders = data["orders"] if "orders" in data else [data["order"]]
        batch = data["batch"]
        model, compiled, compile_s = _compiled((case, len(data["weights"])),
                                               data["weights"], data["biases"], "relu")
        X, y = torch.from_numpy(data["X"]), torch.from_numpy(data["y"])
        rows = len(orders[0])
        shapes = sorted({min(batch, rows - start) for start in range(0, rows, batch)})

        def warm(shape):  # a throwaway step on a scratch optimiser (weights reset below)
            scratch = torch.optim.SGD(model.parameters(), lr=0.0)
            scratch.zero_grad()
            F.cross_entropy(compiled(X[:shape]), y[:shape]).backward()

        _first_steps(compile_s, shapes, warm)
        model, compiled, _ = _compiled((case, len(data["weights"])), data["weights"],
                                       data["biases"], "relu")
        optimizer = optimizer_of(torch.optim, model.parameters(), data)
        orders = [torch.from_numpy(np.asarray(o)) for o in orders]
        with timer:
            for order in orders:
                total = 0.0
                for start in range(0, rows, batch):
                    index = order[start:start + batch]
                    optimizer.zero_grad()
                    loss = F.cross_entropy(compiled(X[index]), y[index])
                    loss.backward()
                    optimizer.step()
                    total += loss.item() * len(index)
        result = {"loss": total / rows, "compile_s": sum(compile_s.values())}
        if "X_test" in data:
            with torch.no_grad():
                predicted = model(torch.from_numpy(data["X_test"])).numpy().argmax(axis=1)
            result["accuracy"] = float(np.mean(predicted == data["y_test"]))
        return result

    return run


def sigmoid_contender(data, timer):
    """Cases b and c: sigmoid MLP, ½Σ squared error, SGD, one example or all per step."""
    import torch
    import torch.nn.functional as F

    from bench.sigmoid_nets import final_loss, steps

    key = ("sigmoid", len(data["X"]), "sequence" in data)
    model, compiled, compile_s = _compiled(key, data["weights"], data["biases"], "sigmoid",
                                           output="sigmoid")
    X, T = torch.from_numpy(data["X"]), torch.from_numpy(data["T"])
    work = steps(data, X, T)
    rows = len(work[0][0])

    def sse(o, t):
        return F.mse_loss(o, t, reduction="sum") * (0.5 / len(o))

    def warm(shape):
        scratch = torch.optim.SGD(model.parameters(), lr=0.0)
        scratch.zero_grad()
        sse(compiled(X[:shape]), T[:shape]).backward()

    _first_steps(compile_s, [rows], warm)
    model, compiled, _ = _compiled(key, data["weights"], data["biases"], "sigmoid",
                                   output="sigmoid")
    optimizer = torch.optim.SGD(model.parameters(), lr=data["lr"])
    with timer:
        for x, t in work:
            loss = sse(compiled(x), t)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    return {"final_loss": final_loss([m.weight.detach().numpy().T for m in layers],
                                     [m.bias.detach().numpy() for m in layers],
                                     data["X"], data["T"]),
            "compile_s": sum(compile_s.values())}
