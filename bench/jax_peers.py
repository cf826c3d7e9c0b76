"""JAX contenders for every case, written as a JAX user who knows it well writes them.

Two ways each: ``jit per step`` (forward, gradient and update in one jitted function,
parameters and optimiser state donated so XLA updates them in place, the batch gathered
on the device from the data already there, one dispatch per step) and ``lax.scan`` (the
whole run — an epoch, or every epoch — as one jitted loop: one dispatch in all). Both
call ``block_until_ready()`` before the clock stops. Adam's bias corrections 1 − βᵗ are
``-expm1(t·log β)`` (``1 - β**t`` loses float32 digits as βᵗ nears 1). float32
throughout, the cases' own weights and batch order, data put on the device before the
clock starts. Compiling happens in the warm-up round (the first call of each shape); its
time is reported apart (``compile_s``: tracing, lowering and XLA compiling).

Needs ``pip install jax`` (CPU wheels); every function here imports it lazily.
"""

import time
from functools import partial

import numpy as np


def available():
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- models
def _forward(params, x, hidden):
    import jax
    import jax.numpy as jnp

    act = {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}[hidden]
    for w, b in params[:-1]:
        x = act(jnp.dot(x, w) + b)
    w, b = params[-1]
    return jnp.dot(x, w) + b


def cross_entropy(params, x, y):
    """Mean softmax cross-entropy of a ReLU MLP's logits (cases a and d)."""
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(_forward(params, x, "relu"))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def half_squared_error(params, x, t):
    """Mean over examples of ½Σ(t − σ(z))² for a sigmoid MLP (cases b and c)."""
    import jax
    import jax.numpy as jnp

    out = jax.nn.sigmoid(_forward(params, x, "sigmoid"))
    return 0.5 * jnp.sum((t - out) ** 2) / x.shape[0]


# ----------------------------------------------------------------------------- optimisers
def sgd(lr):
    def init(params):
        return ()

    def update(params, grads, state):
        import jax
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), state

    return init, update


def adam(lr, beta1=0.9, beta2=0.999, eps=1e-8):
    def init(params):
        import jax
        import jax.numpy as jnp
        def zeros():  # (two trees of their own: donated buffers must be distinct)
            return jax.tree_util.tree_map(jnp.zeros_like, params)
        return (jnp.zeros((), jnp.float32), zeros(), zeros())

    def update(params, grads, state):
        import jax
        import jax.numpy as jnp
        step, m, v = state
        step = step + 1
        m = jax.tree_util.tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, v, grads)
        # 1 − βᵗ as −expm1(t·log β): exact where βᵗ is near 1
        c1 = -jnp.expm1(step * jnp.log(jnp.float32(beta1)))
        c2 = -jnp.expm1(step * jnp.log(jnp.float32(beta2)))
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return params, (step, m, v)

    return init, update


# ----------------------------------------------------------------------------- builders
def _step_function(loss, update):
    """One update, jitted, parameters and state donated; the batch ``index`` gathered
    from the device-resident data."""
    import jax

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(params, state, X, Y, index):
        xb, yb = X[index], Y[index]
        value, grads = jax.value_and_grad(loss)(params, xb, yb)
        params, state = update(params, grads, state)
        return params, state, value

    return step


def _scan_function(loss, update, rows, batch):
    """The whole run as one jitted loop over the epochs' orders (epochs × rows): each
    epoch a ``lax.scan`` over its full batches, then its last, smaller batch."""
    import jax
    import jax.numpy as jnp

    full = rows // batch
    rest = rows - full * batch

    def one(carry, index, X, Y):
        params, state, total = carry
        value, grads = jax.value_and_grad(loss)(params, X[index], Y[index])
        params, state = update(params, grads, state)
        return (params, state, total + value * index.shape[0]), None

    @partial(jax.jit, donate_argnums=(0, 1))
    def run(params, state, X, Y, orders):
        def epoch(carry, order):
            params, state, _ = carry
            steps = order[:full * batch].reshape(full, batch)
            carry, _ = jax.lax.scan(lambda c, i: one(c, i, X, Y),
                                    (params, state, jnp.float32(0.0)), steps)
            if rest:
                carry, _ = one(carry, order[full * batch:], X, Y)
            params, state, total = carry
            return (params, state, total / rows), total / rows

        (params, state, _), losses = jax.lax.scan(epoch, (params, state, jnp.float32(0.0)),
                                                  orders)
        return params, state, losses

    return run


def _device(weights, biases):
    """The parameters on the device, as (W, b) pairs (copies: the donated buffers are
    JAX's own)."""
    import jax
    return [(jax.device_put(w.copy()), jax.device_put(b.copy()))
            for w, b in zip(weights, biases)]


_COMPILE_S = {}  # the first compile's seconds, by case and shape


def _timed_compile(key, function, *args):
    """Seconds to trace, lower and compile ``function`` for ``args`` the first time
    (later calls find it compiled: the figure stays the first one's)."""
    if key not in _COMPILE_S:
        start = time.perf_counter()
        function.lower(*args).compile()
        _COMPILE_S[key] = time.perf_counter() - start
    return _COMPILE_S[key]


# ----------------------------------------------------------------------------- contenders
_CACHE = {}  # jitted functions by case, so that warm-up rounds compile them once


def _cached(key, make):
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def classifier_contender(case, optimizer_of, scan):
    """A contender for cases a and d: ``data`` has X, y, weights, biases, batch and
    either ``order`` (one epoch) or ``orders`` (one per epoch)."""
    def run(data, timer):
        import jax

        init, update = optimizer_of(data)
        orders = np.asarray(data["orders"] if "orders" in data else [data["order"]])
        rows, batch = orders.shape[1], data["batch"]
        X, Y = jax.device_put(data["X"]), jax.device_put(data["y"].astype(np.int32))
        params = _device(data["weights"], data["biases"])
        state = init(params)
        key = (case, scan, data.get("opt"), orders.shape, batch)
        if scan:
            function = _cached(key, lambda: _scan_function(cross_entropy, update, rows, batch))
            device_orders = jax.device_put(orders.astype(np.int32))
            compile_s = _timed_compile(key, function, params, state, X, Y, device_orders)
            with timer:
                params, state, losses = function(params, state, X, Y, device_orders)
                jax.block_until_ready(params)
            return {"loss": float(losses[-1]), "compile_s": compile_s,
                    **_accuracy(data, params)}
        step = _cached(key, lambda: _step_function(cross_entropy, update))
        indices = [jax.device_put(order[start:start + batch].astype(np.int32))
                   for order in orders for start in range(0, rows, batch)]
        compile_s = sum(_timed_compile((key, size), step, params, state, X, Y, index)
                        for size, index in {len(i): i for i in indices}.items())
        last_epoch = len(indices) - len(indices) // len(orders)
        values = []
        with timer:
            for i, index in enumerate(indices):
                params, state, value = step(params, state, X, Y, index)
                if i >= last_epoch:  # (kept on the device, read after the clock stops)
                    values.append(value)
            jax.block_until_ready(params)
        sizes = [len(index) for index in indices[last_epoch:]]
        loss = sum(float(v) * n for v, n in zip(values, sizes)) / rows
        return {"loss": loss, "compile_s": compile_s, **_accuracy(data, params)}

    return run


def _accuracy(data, params):
    if "X_test" not in data:
        return {}
    import jax.numpy as jnp
    predicted = np.asarray(jnp.argmax(_forward(params, data["X_test"], "relu"), axis=1))
    return {"accuracy": float(np.mean(predicted == data["y_test"]))}


def sigmoid_contender(scan):
    """A contender for cases b (``sequence``: one example per step) and c (``steps``
    full-batch steps): SGD on ½Σ squared error of a sigmoid MLP."""
    def run(data, timer):
        import jax

        from bench.sigmoid_nets import final_loss

        init, update = sgd(np.float32(data["lr"]))
        X, T = jax.device_put(data["X"]), jax.device_put(data["T"])
        params = _device(data["weights"], data["biases"])
        state = init(params)
        if "sequence" in data:
            indices = np.asarray(data["sequence"], np.int32).reshape(-1, 1)
        else:
            indices = np.tile(np.arange(len(data["X"]), dtype=np.int32), (data["steps"], 1))
        key = ("sigmoid", scan, indices.shape)
        if scan:
            def make():
                @partial(jax.jit, donate_argnums=(0, 1))
                def run_all(params, state, X, T, indices):
                    def one(carry, index):
                        params, state = carry
                        grads = jax.grad(half_squared_error)(params, X[index], T[index])
                        return update(params, grads, state), None
                    (params, state), _ = jax.lax.scan(one, (params, state), indices)
                    return params, state
                return run_all

            function = _cached(key, make)
            device_indices = jax.device_put(indices)
            compile_s = _timed_compile(key, function, params, state, X, T, device_indices)
            with timer:
                params, state = function(params, state, X, T, device_indices)
                jax.block_until_ready(params)
        else:
            step = _cached(key, lambda: _step_function(half_squared_error, update))
            device_indices = [jax.device_put(i) for i in indices] if "sequence" in data \
                else [jax.device_put(indices[0])] * len(indices)
            compile_s = _timed_compile(key, step, params, state, X, T, device_indices[0])
            with timer:
                for index in device_indices:
                    params, state, _ = step(params, state, X, T, index)
                jax.block_until_ready(params)
        weights = [np.asarray(w) for w, _ in params]
        biases = [np.asarray(b) for _, b in params]
        return {"final_loss": final_loss(weights, biases, data["X"], data["T"]),
                "compile_s": compile_s}

    return run
