"""Every primitive in ``descent.autograd.ops.PRIMITIVES``: gradient-checked over random shapes
(with broadcasting) and compared with PyTorch on values and gradients."""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import descent
from descent.autograd import ops
from tests.helpers import assert_matches_torch


@dataclass
class Case:
    fn: Callable
    torch_fn: Callable
    inputs: Callable  # inputs(draw, rng) -> list of float64 arrays


def _away_from_zero(x, margin=0.2):
    return np.where(x >= 0, x + margin, x - margin)


def _positive(x):
    return np.abs(x) + 0.5


def _two_broadcast(draw, rng, transform=lambda x: x, transform_b=None):
    shapes = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=4)).input_shapes
    a = transform(rng.normal(size=shapes[0]))
    b = (transform_b or transform)(rng.normal(size=shapes[1]))
    return [a, b]


def _one(draw, rng, transform=lambda x: x, min_dims=0):
    shape = draw(array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))
    return [transform(rng.normal(size=shape))]


def _distinct(draw, rng):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    values = rng.permutation(int(np.prod(shape))) * 0.1 + rng.uniform(0, 0.01)
    return [values.reshape(shape)]


def _axis(draw, ndim):
    if ndim == 0:
        return None
    return draw(st.sampled_from([None, 0, -1, tuple(range(ndim))]))


def _matmul_inputs(draw, rng):
    n, k, m, batch = (draw(st.integers(1, 4)) for _ in range(4))
    a_shape, b_shape = draw(st.sampled_from([
        ((n, k), (k, m)), ((batch, n, k), (k, m)), ((batch, n, k), (batch, k, m)),
        ((k,), (k, m)), ((n, k), (k,)), ((k,), (k,)), ((1, n, k), (batch, k, m)),
    ]))
    return [rng.normal(size=a_shape), rng.normal(size=b_shape)]


def _linear_inputs(draw, rng):
    k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x_shape = draw(st.sampled_from([(k,), (3, k), (2, 3, k)]))
    return [rng.normal(size=x_shape), rng.normal(size=(k, m)), rng.normal(size=(m,))]


def _clip_inputs(draw, rng):
    x = rng.uniform(-1, 1, size=draw(array_shapes(max_dims=3, max_side=4)))
    # keep clear of the corners at -0.5 and 0.5, where the derivative jumps
    return [np.where(np.abs(np.abs(x) - 0.5) < 0.05, x * 0.5, x)]


def _index_case(draw, rng):
    return [rng.normal(size=(4, 5))]


INDEXES = [
    (1, slice(None)),
    (slice(1, 3), slice(None, None, 2)),
    np.array([0, 2, 2, 3]),
    (np.array([0, 1, 1]), np.array([4, 0, 4])),
    np.array([True, False, True, True]),
    (Ellipsis, 3),
]

CASES = {
    "add": Case(lambda a, b: a + b, lambda a, b: a + b, _two_broadcast),
    "sub": Case(lambda a, b: a - b, lambda a, b: a - b, _two_broadcast),
    "mul": Case(lambda a, b: a * b, lambda a, b: a * b, _two_broadcast),
    "div": Case(lambda a, b: a / b, lambda a, b: a / b,
                lambda d, r: _two_broadcast(d, r, transform_b=_away_from_zero)),
    "neg": Case(lambda a: -a, lambda a: -a, _one),
    "pow": Case(lambda a, b: a ** b, lambda a, b: a ** b,
                lambda d, r: _two_broadcast(d, r, transform=_positive,
                                            transform_b=lambda x: x)),
    "matmul": Case(lambda a, b: a @ b, lambda a, b: a @ b, _matmul_inputs),
    "linear": Case(lambda x, w, b: ops.linear(x, w, b), lambda x, w, b: x @ w + b,
                   _linear_inputs),
    "dense": Case(lambda x, w, b: ops.dense(x, w, b, "tanh"), lambda x, w, b: torch.tanh(x @ w + b),
                  _linear_inputs),
    "sum": None,  # parameterised over axes below
    "mean": None,
    "max": None,
    "min": None,
    "exp": Case(lambda a: a.exp(), torch.exp, _one),
    "log": Case(lambda a: a.log(), torch.log, lambda d, r: _one(d, r, _positive)),
    "sqrt": Case(lambda a: a.sqrt(), torch.sqrt, lambda d, r: _one(d, r, _positive)),
    "abs": Case(lambda a: abs(a), torch.abs, lambda d, r: _one(d, r, _away_from_zero)),
    "maximum": Case(descent.maximum, torch.maximum, _two_broadcast),
    "minimum": Case(descent.minimum, torch.minimum, _two_broadcast),
    "where": Case(lambda a, b: descent.where(a.data > 0.3, a, b),
                  lambda a, b: torch.where(a > 0.3, a, b), _two_broadcast),
    "clip": Case(lambda a: a.clip(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), _clip_inputs),
    "reshape": Case(lambda a: a.reshape(-1), lambda a: a.reshape(-1), _one),
    "transpose": Case(lambda a: a.transpose(), lambda a: a.permute(tuple(reversed(range(a.ndim)))),
                      _one),
    "getitem": None,
    "concatenate": Case(lambda a, b: descent.concatenate([a, b, a], axis=-1),
                        lambda a, b: torch.cat([a, b, a], dim=-1),
                        lambda d, r: [r.normal(size=(2, 3)), r.normal(size=(2, 1))]),
    "stack": Case(lambda a, b: descent.stack([a, b, a], axis=1),
                  lambda a, b: torch.stack([a, b, a], dim=1),
                  lambda d, r: [r.normal(size=(2, 3)), r.normal(size=(2, 3))]),
    "sigmoid": Case(ops.sigmoid, torch.sigmoid, _one),
    "tanh": Case(ops.tanh, torch.tanh, _one),
    "relu": Case(ops.relu, torch.relu, lambda d, r: _one(d, r, _away_from_zero)),
    "step": Case(ops.step, lambda a: a * 0 + (a > 0).double(),  # torch has no step gradient
                 lambda d, r: _one(d, r, _away_from_zero)),
    "softmax": Case(ops.softmax, lambda a: torch.softmax(a, dim=-1),
                    lambda d, r: _one(d, r, min_dims=1)),
    "log_softmax": Case(ops.log_softmax, lambda a: torch.log_softmax(a, dim=-1),
                        lambda d, r: _one(d, r, min_dims=1)),
    "softmax_cross_entropy": Case(
        lambda z: ops.softmax_cross_entropy(z, np.array([2, 0, 1])),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor([2, 0, 1]),
                                                    reduction="none"),
        lambda d, r: [r.normal(size=(3, 4))]),
    "sigmoid_binary_cross_entropy": Case(
        lambda z: ops.sigmoid_binary_cross_entropy(z, np.array([0.0, 1.0, 0.3])),
        lambda z: torch.nn.functional.binary_cross_entropy_with_logits(
            z, torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64), reduction="none"),
        lambda d, r: [r.normal(size=3) * 3]),
    "sum_of_squares": Case(
        lambda a, b: ops.sum_of_squares([a, b], 0.3),
        lambda a, b: 0.3 * ((a * a).sum() + (b * b).sum()),
        _two_broadcast),
    "squared_error": Case(
        lambda p: ops.squared_error(p, np.array([[0.5, -1.0], [2.0, 0.0]]), 0.25),
        lambda p: 0.25 * ((p - torch.tensor([[0.5, -1.0], [2.0, 0.0]])) ** 2).sum(),
        lambda d, r: [r.normal(size=(2, 2))]),
    "binary_cross_entropy": Case(
        lambda p: ops.binary_cross_entropy(p, np.array([0.0, 1.0, 0.3])),
        lambda p: torch.nn.functional.binary_cross_entropy(
            p, torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64), reduction="none"),
        lambda d, r: [r.uniform(0.05, 0.95, size=3)]),
}

SIMPLE = sorted(name for name, case in CASES.items() if case is not None)


def test_every_primitive_has_a_case():
    assert set(CASES) == set(ops.PRIMITIVES)


@pytest.mark.parametrize("name", SIMPLE)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_primitive_gradcheck(name, data, seed):
    case = CASES[name]
    inputs = case.inputs(data.draw, np.random.default_rng(seed))
    report = descent.gradcheck(case.fn, *inputs)
    assert report.ok, str(report)


@pytest.mark.parametrize("name", SIMPLE)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_primitive_matches_torch(name, data, seed):
    case = CASES[name]
    inputs = case.inputs(data.draw, np.random.default_rng(seed))
    assert_matches_torch(case.fn, case.torch_fn, inputs)


REDUCTIONS = {
    "sum": (lambda a, axis, keep: a.sum(axis=axis, keepdims=keep),
            lambda a, axis, keep: a.sum(dim=axis, keepdim=keep) if axis is not None
            else a.sum()),
    "mean": (lambda a, axis, keep: a.mean(axis=axis, keepdims=keep),
             lambda a, axis, keep: a.mean(dim=axis, keepdim=keep) if axis is not None
             else a.mean()),
    "max": (lambda a, axis, keep: a.max(axis=axis, keepdims=keep),
            lambda a, axis, keep: torch.amax(a, dim=axis if axis is not None
                                             else tuple(range(a.ndim)), keepdim=keep)),
    "min": (lambda a, axis, keep: a.min(axis=axis, keepdims=keep),
            lambda a, axis, keep: torch.amin(a, dim=axis if axis is not None
                                             else tuple(range(a.ndim)), keepdim=keep)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_reductions(name, data, seed):
    ours, theirs = REDUCTIONS[name]
    (a,) = _distinct(data.draw, np.random.default_rng(seed))
    axis = _axis(data.draw, a.ndim)
    keep = data.draw(st.booleans())
    assert descent.gradcheck(lambda t: ours(t, axis, keep), a).ok
    assert_matches_torch(lambda t: ours(t, axis, keep), lambda t: theirs(t, axis, keep), [a])


@pytest.mark.parametrize("name", ["squared_error", "softmax_cross_entropy",
                                  "sigmoid_binary_cross_entropy", "binary_cross_entropy"])
def test_fused_losses_per_item_and_scaled_sum_agree(name):
    op = ops.PRIMITIVES[name]
    z = np.random.default_rng(3).uniform(0.1, 0.9, size=(3, 2))
    target = np.array([1, 0, 1]) if name == "softmax_cross_entropy" else np.full((3, 2), 0.4)
    per_item = descent.tensor(z, requires_grad=True, dtype="float64")
    (op(per_item, target).sum() * 0.5).backward()
    scaled = descent.tensor(z, requires_grad=True, dtype="float64")
    total = op(scaled, target, 0.5)
    total.backward()
    assert total.shape == ()
    assert total.item() == pytest.approx(op(z, target).data.sum() * 0.5, rel=1e-12)
    np.testing.assert_allclose(scaled.grad, per_item.grad, rtol=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_dense_is_bit_identical_to_linear_then_activation(activation):
    rng = np.random.default_rng(4)
    arrays = [rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)]
    results = []
    for fused in (True, False):
        x, w, b = (descent.tensor(a, requires_grad=True) for a in arrays)
        out = (ops.dense(x, w, b, activation) if fused
               else getattr(ops, activation)(ops.linear(x, w, b)))
        (out * np.arange(4.0)).sum().backward()
        results.append([out.data, x.grad, w.grad, b.grad])
    for fused, separate in zip(*results):
        np.testing.assert_array_equal(fused, separate)


def test_softmax_cross_entropy_with_probability_targets():
    target = np.array([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0]])
    assert_matches_torch(
        lambda z: ops.softmax_cross_entropy(z, target),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(target), reduction="none"),
        [np.random.default_rng(2).normal(size=(2, 3))])


def test_max_shares_gradient_between_ties_like_torch_amax():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    assert_matches_torch(lambda t: t.max(axis=1), lambda t: torch.amax(t, dim=1), [a])


@pytest.mark.parametrize("index", INDEXES, ids=[repr(i)[:40] for i in INDEXES])
def test_getitem(index):
    (a,) = _index_case(None, np.random.default_rng(0))
    assert descent.gradcheck(lambda t: t[index], a).ok
    torch_index = tuple(torch.as_tensor(i) if isinstance(i, np.ndarray) else i
                        for i in (index if isinstance(index, tuple) else (index,)))
    assert_matches_torch(lambda t: t[index], lambda t: t[torch_index], [a])


def test_repeated_integer_index_adds_gradients():
    x = descent.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax_along_any_axis(axis):
    a = np.random.default_rng(1).normal(size=(3, 4))
    assert_matches_torch(lambda t: ops.softmax(t, axis=axis),
                         lambda t: torch.softmax(t, dim=axis), [a])
    assert_matches_torch(lambda t: ops.log_softmax(t, axis=axis),
                         lambda t: torch.log_softmax(t, dim=axis), [a])


def test_scalar_exponent_and_number_operands():
    a = np.array([0.5, 1.5, 2.0])
    assert_matches_torch(lambda t: 3.0 - t ** 2 / 4 + 2 ** t + 1 / t,
                         lambda t: 3.0 - t ** 2 / 4 + 2 ** t + 1 / t, [a])


def test_ndarray_on_the_left_gives_a_tensor():
    x = descent.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x + np.ones(2, dtype=np.float32)
    assert isinstance(y, descent.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_float64_constant_does_not_promote_float32_work():
    x = descent.tensor([1.0, 2.0], requires_grad=True)
    assert (x * np.array([0.5, 0.25])).dtype == np.float32


def test_pow_gradient_for_exponent_at_non_positive_base_is_zero():
    a = descent.tensor([0.0, -2.0, 2.0], requires_grad=True, dtype="float64")
    b = descent.tensor(2.0, requires_grad=True, dtype="float64")
    (a ** b).sum().backward()
    assert b.grad == pytest.approx(4.0 * np.log(2.0))


def test_matmul_of_scalar_is_a_clear_error():
    with pytest.raises(descent.ShapeError, match="at least one dimension"):
        descent.tensor(2.0) @ descent.tensor([1.0])


def test_transpose_with_negative_axes_has_the_right_gradient():
    a = np.arange(6.0).reshape(1, 2, 3)
    weights = np.arange(6.0).reshape(1, 3, 2)
    assert descent.gradcheck(lambda t: t.transpose(0, -1, -2) * weights, a).ok
    assert_matches_torch(lambda t: t.transpose(0, -1, -2) * weights,
                         lambda t: t.permute(0, 2, 1) * torch.tensor(weights), [a])


def test_batched_matmul_mismatch_is_a_shape_error():
    with pytest.raises(descent.ShapeError, match="do not broadcast"):
        descent.tensor(np.ones((2, 3, 4))) @ descent.tensor(np.ones((3, 4, 5)))


def test_sum_of_squares_adds_plus_in_the_same_node():
    rng = np.random.default_rng(8)
    a, b, loss = rng.normal(size=(3, 2)), rng.normal(size=4), rng.normal(size=())
    report = descent.gradcheck(lambda a, b, c: ops.sum_of_squares([a, b], 0.7, plus=c),
                               a, b, loss)
    assert report.ok, str(report)
    tensors = [descent.tensor(v, requires_grad=True, dtype="float64") for v in (a, b, loss)]
    out = ops.sum_of_squares(tensors[:2], 0.7, plus=tensors[2])
    assert out.item() == pytest.approx(loss + 0.7 * (np.sum(a * a) + np.sum(b * b)), rel=1e-12)
    assert out.parents == tuple(tensors[2:] + tensors[:2])
    out.backward()
    np.testing.assert_allclose(tensors[0].grad, 1.4 * a, rtol=1e-12)
    assert tensors[2].grad == 1.0
    with pytest.raises(descent.ShapeError, match="one number"):
        ops.sum_of_squares(tensors[:1], plus=tensors[0])


def test_sum_of_squares_takes_the_widest_dtype():
    small = descent.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    wide = descent.tensor([1e-9], dtype="float64", requires_grad=True)
    assert ops.sum_of_squares([small, wide]).dtype == np.float64
    assert ops.sum_of_squares([small], plus=descent.tensor(1e-9, dtype="float64")).dtype \
        == np.float64
    assert ops.sum_of_squares([small], plus=descent.tensor(1.0, dtype="float32")).dtype \
        == np.float32
