"""Numerical robustness: every primitive, pushed with extreme values (±1e30, denormals,
zeros), gives no NaN where the mathematics is finite — forward or backward."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descent
from descent.autograd import ops

EXTREMES = [0.0, -0.0, 5e-324, -5e-324, 1e-310, 1e-30, -1e-30, 1e-8, 1.0, -1.0, 3.5, -3.5,
            1e8, -1e8, 1e30, -1e30]

extreme = st.sampled_from(EXTREMES)
positive = st.sampled_from([v for v in EXTREMES if v > 0])
nonzero = st.sampled_from([v for v in EXTREMES if abs(v) >= 1e-30])
probability = st.sampled_from([0.0, 5e-324, 1e-30, 1e-8, 0.3, 0.5, 1 - 1e-8, 1.0])
label = st.sampled_from([0.0, 1.0, 0.25])


def vectors(elements, size=4):
    return st.lists(elements, min_size=size, max_size=size).map(np.array)


# name -> (strategy for the inputs, function of tensors); domains keep the maths finite
CASES = {
    "add": (st.tuples(vectors(extreme), vectors(extreme)), lambda a, b: a + b),
    "sub": (st.tuples(vectors(extreme), vectors(extreme)), lambda a, b: a - b),
    "mul": (st.tuples(vectors(extreme), vectors(extreme)), lambda a, b: a * b),
    "div": (st.tuples(vectors(extreme), vectors(nonzero)), lambda a, b: a / b),
    "neg": (st.tuples(vectors(extreme)), lambda a: -a),
    "pow": (st.tuples(vectors(positive), vectors(st.sampled_from([0.5, 1.0, 2.0, -1.0]))),
            lambda a, b: a ** b),
    "matmul": (st.tuples(vectors(extreme), vectors(extreme)), lambda a, b: a @ b),
    "linear": (st.tuples(vectors(extreme), vectors(extreme)),
               lambda x, w: ops.linear(x.reshape(1, 4), w.reshape(4, 1))),
    "dense": (st.tuples(vectors(extreme), vectors(extreme)),
              lambda x, w: ops.dense(x.reshape(2, 2), w.reshape(2, 2), None, "sigmoid")),
    "sum": (st.tuples(vectors(extreme)), lambda a: a.sum()),
    "mean": (st.tuples(vectors(extreme)), lambda a: a.mean()),
    "max": (st.tuples(vectors(extreme)), lambda a: a.max()),
    "min": (st.tuples(vectors(extreme)), lambda a: a.min()),
    "exp": (st.tuples(vectors(st.sampled_from([v for v in EXTREMES if v < 700]))),
            lambda a: a.exp()),
    "log": (st.tuples(vectors(positive)), lambda a: a.log()),
    "sqrt": (st.tuples(vectors(positive)), lambda a: a.sqrt()),
    "abs": (st.tuples(vectors(extreme)), lambda a: abs(a)),
    "maximum": (st.tuples(vectors(extreme), vectors(extreme)), descent.maximum),
    "minimum": (st.tuples(vectors(extreme), vectors(extreme)), descent.minimum),
    "where": (st.tuples(vectors(extreme), vectors(extreme)),
              lambda a, b: descent.where(a.data > 0, a, b)),
    "clip": (st.tuples(vectors(extreme)), lambda a: a.clip(-1.0, 1.0)),
    "reshape": (st.tuples(vectors(extreme)), lambda a: a.reshape(2, 2)),
    "transpose": (st.tuples(vectors(extreme)), lambda a: a.reshape(2, 2).T),
    "getitem": (st.tuples(vectors(extreme)), lambda a: a[np.array([0, 0, 3])]),
    "concatenate": (st.tuples(vectors(extreme), vectors(extreme)),
                    lambda a, b: descent.concatenate([a, b])),
    "stack": (st.tuples(vectors(extreme), vectors(extreme)),
              lambda a, b: descent.stack([a, b])),
    "sigmoid": (st.tuples(vectors(extreme)), ops.sigmoid),
    "tanh": (st.tuples(vectors(extreme)), ops.tanh),
    "relu": (st.tuples(vectors(extreme)), ops.relu),
    "step": (st.tuples(vectors(extreme)), ops.step),
    "softmax": (st.tuples(vectors(extreme)), ops.softmax),
    "log_softmax": (st.tuples(vectors(extreme)), ops.log_softmax),
    "sum_of_squares": (st.tuples(vectors(extreme), vectors(extreme)),
                       lambda a, b: ops.sum_of_squares([a, b], 0.25)),
    "squared_error": (st.tuples(vectors(extreme)),
                      lambda p: ops.squared_error(p, np.ones(4), 0.25)),
    "softmax_cross_entropy": (st.tuples(vectors(extreme)),
                              lambda z: ops.softmax_cross_entropy(z.reshape(2, 2),
                                                                  np.array([0, 1]), 0.5)),
    "sigmoid_binary_cross_entropy": (st.tuples(vectors(extreme), vectors(label)),
                                     lambda z, t: ops.sigmoid_binary_cross_entropy(z, t.data,
                                                                                   0.25)),
    "binary_cross_entropy": (st.tuples(vectors(probability), vectors(label)),
                             lambda p, t: ops.binary_cross_entropy(p, t.data, 0.25)),
}


def test_every_primitive_is_covered():
    assert set(CASES) == set(ops.PRIMITIVES)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@settings(max_examples=60)
@given(data=st.data())
def test_no_nan_from_extreme_inputs(name, dtype, data):
    strategy, fn = CASES[name]
    arrays = data.draw(strategy)
    if dtype == "float32":
        # float32 tops out at 3.4e38: keep products and sums of four terms in range
        arrays = tuple(np.clip(a, -1e18, 1e18) for a in arrays)
    with np.errstate(all="ignore"):  # overflow to ±inf is allowed; NaN is not
        inputs = [descent.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = fn(*inputs)
        out.backward(np.ones(out.shape))
    assert not np.isnan(out.data).any(), f"{name} forward gave NaN for {arrays}"
    for tensor in inputs:
        if tensor.grad is not None:
            assert not np.isnan(tensor.grad).any(), f"{name} backward gave NaN for {arrays}"
