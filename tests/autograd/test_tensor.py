"""Tensor construction, dtypes, gradient accumulation, no_grad, and the backward walk."""

import numpy as np
import pytest

import descent


def test_python_data_becomes_the_default_dtype():
    assert descent.tensor([1, 2, 3]).dtype == np.float32
    assert descent.tensor(1.5).dtype == np.float32
    descent.set_default_dtype("float64")
    assert descent.tensor([1.0]).dtype == np.float64


def test_numpy_float_input_keeps_its_dtype_unless_told():
    assert descent.tensor(np.zeros(2, dtype=np.float64)).dtype == np.float64
    assert descent.tensor(np.zeros(2, dtype=np.float64), dtype="float32").dtype == np.float32


def test_tensor_copies_its_data():
    source = np.zeros(3, dtype=np.float32)
    t = descent.tensor(source)
    source[0] = 5
    assert t.data[0] == 0


@pytest.mark.parametrize("bad", [["a", "b"], np.array([object(), 1.0], dtype=object)])
def test_non_numeric_data_is_a_clear_error(bad):
    with pytest.raises(descent.DescentTypeError, match="cannot make a tensor"):
        descent.tensor(bad)


@pytest.mark.parametrize("dtype", ["int32", "float16", "banana"])
def test_unsupported_dtypes_are_rejected(dtype):
    with pytest.raises(descent.DescentValueError, match="float32"):
        descent.tensor([1.0], dtype=dtype)
    with pytest.raises(descent.DescentValueError, match="float32"):
        descent.set_default_dtype(dtype)


def test_attributes():
    t = descent.tensor([[1.0, 2.0]], requires_grad=True)
    assert t.shape == (1, 2) and t.ndim == 2 and t.size == 2
    assert t.is_leaf and t.grad is None and t.requires_grad
    assert isinstance(t.numpy(), np.ndarray)
    assert descent.tensor([3.5]).item() == 3.5
    with pytest.raises(descent.ShapeError, match="one element"):
        t.item()
    assert "requires_grad=True" in repr(t)
    assert "op=mul" in repr(t * 2)


def test_gradients_accumulate_until_reset():
    x = descent.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * 2 * np.array([1.0, 2.0]))
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_gradient_of_a_tensor_used_twice_adds_both_paths():
    x = descent.tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1 = 7
    y.backward()
    assert x.grad == 7.0


def test_leaf_gradients_never_share_a_buffer():
    a = descent.tensor([1.0, 2.0], requires_grad=True)
    b = descent.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_no_grad_records_nothing_and_restores_the_mode():
    w = descent.tensor([1.0], requires_grad=True)
    with descent.no_grad():
        y = w * 2
        assert not descent.is_grad_enabled()
    assert descent.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf

    @descent.no_grad()
    def evaluate():
        return w * 3

    assert not evaluate().requires_grad


def test_detach_cuts_the_graph():
    x = descent.tensor(2.0, requires_grad=True)
    y = (x * x).detach() * x  # only the last factor carries a gradient: d/dx = x*x = 4
    y.backward()
    assert x.grad == 4.0


def test_retain_grad_keeps_an_intermediate_gradient():
    b = descent.tensor(2.0, requires_grad=True)
    c = descent.tensor(3.0, requires_grad=True)
    d = descent.tensor(4.0, requires_grad=True)
    z = (b + c).retain_grad()
    (d * z).backward()
    assert z.grad == 4.0          # df/dz = d
    assert d.grad == 5.0          # df/dd = z


def test_backward_needs_a_scalar_or_an_explicit_grad():
    x = descent.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(descent.GradientError, match="one-element"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 0.5]))
    np.testing.assert_allclose(x.grad, [2.0, 1.0])
    with pytest.raises(descent.GradientError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_backward_without_requires_grad_is_a_clear_error():
    with pytest.raises(descent.GradientError, match="requires_grad=True"):
        descent.tensor(1.0).backward()


def test_deep_chain_back_propagates_without_recursion():
    x = descent.tensor(1.0, requires_grad=True, dtype="float64")
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 20_000, rel=1e-9)


def test_frozen_tensor_gets_no_gradient():
    w = descent.tensor([1.0, 2.0], requires_grad=True)
    frozen = descent.tensor([3.0, 4.0], requires_grad=True)
    frozen.requires_grad = False
    (w * frozen).sum().backward()
    assert frozen.grad is None
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_float32_gradients_stay_float32():
    w = descent.tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    x = np.ones((4, 3), dtype=np.float32)
    (descent.tensor(x) @ w).sigmoid().sum().backward()
    assert w.grad.dtype == np.float32


def test_comparisons_give_masks():
    t = descent.tensor([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal((t > 0).data, [False, False, True])
    np.testing.assert_array_equal((t <= 0).data, [True, True, False])


def test_seed_reproducibility():
    descent.manual_seed(3)
    first = descent.autograd.backend.default_rng().normal(size=4)
    descent.manual_seed(3)
    np.testing.assert_array_equal(first, descent.autograd.backend.default_rng().normal(size=4))
    with pytest.raises(descent.DescentValueError, match="seed"):
        descent.manual_seed(-1)


def test_ops_accept_lists_and_python_numbers():
    from descent.autograd import functional as F

    assert descent.exp(2.0).item() == pytest.approx(np.exp(2.0), rel=1e-6)
    np.testing.assert_allclose(F.sigmoid([0.0, 1.0]).data, [0.5, 1 / (1 + np.exp(-1))],
                               rtol=1e-6)
    assert descent.losses.mse([1.0, 2.0], [0.0, 4.0]).item() == 2.5
    assert descent.stack([[1.0], [2.0]]).shape == (2, 1)
    np.testing.assert_array_equal(F.relu(np.array([1, -1])).data, [1.0, 0.0])
    with pytest.raises(descent.DescentTypeError, match="ragged"):
        descent.tensor([[1.0], [1.0, 2.0]])


def test_boolean_masks_count_as_zero_and_one_in_arithmetic():
    x = descent.tensor([-1.0, 2.0])
    np.testing.assert_array_equal(((x > 0) * 2.0).data, [0.0, 2.0])
    np.testing.assert_array_equal(((x > 0) + 1).data, [1.0, 2.0])


def test_no_grad_is_per_thread():
    # one thread evaluating under no_grad leaves another thread's graph alone
    import threading

    inside, done = threading.Event(), threading.Event()

    def evaluate():
        with descent.no_grad():
            inside.set()
            done.wait(5)

    worker = threading.Thread(target=evaluate)
    worker.start()
    inside.wait(5)
    w = descent.tensor([1.0, 2.0], requires_grad=True)
    assert descent.is_grad_enabled() and (w * 3).requires_grad
    done.set()
    worker.join()
