"""descent's compiled path as a contender in every case (``pip install 'descent[fast]'``).

Cases a and d train as a user would: ``descent.train(..., engine="compiled",
diagnostics=False)`` once the training loop takes ``engine=``, else the loop's own steps
by hand — ``EpochRunner.run_epoch`` on each epoch's order as ``train`` draws it. Cases b
and c are many tiny epochs (the notes' 3-2-1 network sees 8 rows an epoch), which the
graph-engine contenders run as a hand-written step loop: here the whole run is one
``EpochRunner.run_epochs`` call, as JAX's ``lax.scan`` contender is one jitted loop.
The kernels are loaded (compiled, or read from Numba's disk cache) before the clock
starts, as the other compiled contenders compile before theirs; the cost of that is
case a's ``compile`` section.
"""

import inspect

import numpy as np


def available():
    import descent.compiled
    return descent.compiled.AVAILABLE


def via_train():
    """Whether ``descent.train`` takes ``engine=`` (the compiled path wired in)."""
    import descent
    return "engine" in inspect.signature(descent.train).parameters


def classifier_contender(optimizer_of):
    """Cases a and d: the ReLU MLP, cross-entropy, the case's batch order."""
    def run(data, timer):
        import descent
        import descent.compiled
        from bench.common import descent_mlp

        descent.compiled.load(data["X"].dtype)
        model = descent_mlp(data["weights"], data["biases"], hidden="relu")
        optimizer = optimizer_of(descent.optim, model.parameters(), data)
        epochs = len(data["orders"]) if "orders" in data else 1
        if via_train():
            with timer:
                history = descent.train(model, data["X"], data["y"], loss="cross_entropy",
                                        optimizer=optimizer, batch_size=data["batch"],
                                        epochs=epochs, shuffle=True, seed=data["seed"],
                                        progress=False, classes=np.arange(data["classes"]),
                                        engine="compiled", diagnostics=False)
            loss, via = history.last["loss"], "train"
        else:
            with timer:
                runner = descent.compiled.EpochRunner(
                    model, data["X"], data["y"], "cross_entropy", optimizer, data["batch"],
                    diagnostics=False)
                rng = np.random.default_rng(data["seed"])
                for _ in range(epochs):
                    order = descent.compiled.epoch_order(len(data["X"]), data["batch"],
                                                         True, rng)
                    result = runner.run_epoch(order)
            loss, via = result.loss, "EpochRunner"
        out = {"loss": loss, "via": via}
        if "X_test" in data:
            with descent.no_grad():
                predicted = model(data["X_test"]).numpy().argmax(axis=1)
            out["accuracy"] = float(np.mean(predicted == data["y_test"]))
        return out

    return run


def sigmoid_contender(data, timer):
    """Cases b and c: the sigmoid MLP, ½Σ squared error, SGD; every step in one call.

    Case b's steps are one example each, epoch after epoch of the 8 patterns (its
    ``sequence`` is one permutation per epoch, as ``train`` draws them): stochastic
    epochs of batch 1. Case c's are full-batch epochs."""
    import descent
    import descent.compiled
    from bench.common import descent_mlp
    from bench.sigmoid_nets import final_loss

    descent.compiled.load(data["X"].dtype)
    model = descent_mlp(data["weights"], data["biases"], hidden="sigmoid", output="sigmoid")
    optimizer = descent.optim.SGD(model.parameters(), lr=data["lr"])
    X, T = data["X"], data["T"]
    if "sequence" in data:
        batch, orders = 1, np.asarray(data["sequence"]).reshape(-1, len(X))
    else:
        batch, orders = None, np.tile(np.arange(len(X)), (data["steps"], 1))
    runner = descent.compiled.EpochRunner(model, X, T, "sse", optimizer, batch,
                                          diagnostics=False)
    with timer:
        runner.run_epochs(orders)
    layers = [m for m in model if isinstance(m, descent.nn.Linear)]
    return {"final_loss": final_loss([m.weight.data for m in layers],
                                     [m.bias.data for m in layers], X, T)}
