"""The kernels one by one, against the graph engine's own functions: the optimiser
kernels are ``descent.optim``'s update functions bit for bit, in float32 and float64;
the sigmoid, the one formula the compiled path writes differently, is within a few
units in the last place of ``ops._sigmoid`` and closer to the exact value."""

import numpy as np
import pytest

import descent
from descent.autograd.ops import _sigmoid
from descent.compiled import optimizers

pytestmark = pytest.mark.skipif(not descent.compiled.AVAILABLE, reason="numba is not installed")

CASES = [
    (optimizers.SGD, descent.optim.sgd_update,
     dict(lr=0.1, momentum=0.9, dampening=0.25, nesterov=False, weight_decay=0.01)),
    (optimizers.SGD, descent.optim.sgd_update,
     dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0)),
    (optimizers.ADAGRAD, descent.optim.adagrad_update,
     dict(lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.1,
          eps=1e-10)),
    (optimizers.RMSPROP, descent.optim.rmsprop_update,
     dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.01, momentum=0.5, centered=True)),
    (optimizers.RMSPROP, descent.optim.rmsprop_update,
     dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False)),
    (optimizers.ADAM, descent.optim.adam_update,
     dict(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, decoupled=False)),
    (optimizers.ADAM, descent.optim.adam_update,
     dict(lr=0.001, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, decoupled=True)),
]
KEYS = {optimizers.SGD: ["momentum_buffer"], optimizers.ADAGRAD: ["sum"],
        optimizers.RMSPROP: ["square_avg", "grad_avg", "momentum_buffer"],
        optimizers.ADAM: ["exp_avg", "exp_avg_sq"]}


def _kernel_step(code, p, g, s, step, fresh, h, h64):
    n = p.size
    if code == optimizers.SGD:
        optimizers.sgd(p, g, s, 0, n, 0, fresh, h, h64)
    elif code == optimizers.ADAGRAD:
        optimizers.adagrad(p, g, s, 0, n, 0, fresh, step, h, h64)
    elif code == optimizers.RMSPROP:
        optimizers.rmsprop(p, g, s, 0, n, 0, n, 2 * n, fresh, fresh, fresh, h, h64)
    else:
        optimizers.adam(p, g, s, 0, n, 0, n, fresh, step, h, h64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("code, update, hyper", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_optimiser_kernels_are_the_update_functions_bit_for_bit(code, update, hyper, dtype):
    rng = np.random.default_rng(0)
    reference = rng.standard_normal(257).astype(dtype)
    compiled = reference.copy()
    state = {}
    slots = np.zeros(3 * reference.size, dtype)
    h64 = np.array(optimizers.settings(code, hyper))
    h = h64.astype(dtype)
    for step in range(1, 6):
        g = rng.standard_normal(reference.size).astype(dtype)
        update(reference, g, state, **hyper)
        _kernel_step(code, compiled, g, slots, step, step == 1, h, h64)
        np.testing.assert_array_equal(compiled, reference)
        for slot, key in enumerate(KEYS[code]):
            if key in state:
                np.testing.assert_array_equal(
                    slots[slot * reference.size:(slot + 1) * reference.size], state[key])


def test_sum_of_squares_is_float64():
    g = np.full(1001, 3e20, np.float32)  # its square overflows float32: float64 then
    assert optimizers.sum_of_squares(g, 1, 1000) == pytest.approx(1000 * 9e40)


@pytest.mark.parametrize("dtype, apart, closer", [(np.float32, 11, 3.5), (np.float64, 32, 2.5)])
def test_the_sigmoid_is_within_a_few_ulps_of_the_graph_engines(dtype, apart, closer):
    from descent.compiled.activations import sigmoid_forward

    z = np.linspace(-90, 90, 200_001).astype(dtype)
    ours = np.empty_like(z)
    sigmoid_forward(z, 0, ours, 0, z.size)
    theirs = _sigmoid(z)
    ints = np.int32 if dtype == np.float32 else np.int64
    assert np.abs(ours.view(ints).astype(np.int64) - theirs.view(ints)).max() <= apart
    exact = 1 / (1 + np.exp(-z.astype(np.longdouble)))
    assert (np.abs(ours - exact) / np.spacing(ours)).max() <= closer
    assert ours[0] >= 0 and ours[-1] == 1
