"""Losses: values and gradients against torch.nn.functional, reductions, stability, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import descent
from descent import losses as L
from descent import nn

REDUCTIONS = ["mean", "sum", "none"]
RNG = np.random.default_rng(7)
PRED = RNG.normal(size=(4, 3))
TARGET = RNG.normal(size=(4, 3))
PROBS = RNG.uniform(0.05, 0.95, size=(4, 3))
BINARY = RNG.integers(0, 2, size=(4, 3)).astype(np.float64)
SOFT_BINARY = RNG.uniform(0, 1, size=(4, 3))
LOGITS = RNG.normal(scale=2.0, size=(5, 4))
LABELS = np.array([0, 3, 1, 1, 2])
SOFT_TARGETS = RNG.dirichlet(np.ones(4), size=5)


def _upstream(shape):
    """Non-uniform upstream weights, so that "none" gradients are checked per element."""
    return np.random.default_rng(1).uniform(0.5, 1.5, size=shape)


def _ours(loss, prediction, target, reduction, dtype="float64"):
    x = descent.tensor(prediction, requires_grad=True, dtype=dtype)
    out = loss(x, target, reduction=reduction)
    out.backward(_upstream(out.shape).astype(dtype))
    return out.data, x.grad


def _theirs(loss, prediction, target, reduction):
    x = torch.tensor(np.asarray(prediction, dtype=np.float64), requires_grad=True)
    out = loss(x, target, reduction=reduction)
    out.backward(torch.tensor(_upstream(tuple(out.shape))))
    return out.detach().numpy(), x.grad.numpy()


def _check(ours, theirs, prediction, target, torch_target, reduction, rtol=1e-10):
    value, grad = _ours(ours, prediction, target, reduction)
    t_value, t_grad = _theirs(theirs, prediction, torch_target, reduction)
    assert value.shape == t_value.shape
    np.testing.assert_allclose(value, t_value, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=rtol, atol=1e-12)


# ----------------------------------------------------------------------------- vs torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_torch(reduction):
    _check(L.mse, TF.mse_loss, PRED, TARGET, torch.tensor(TARGET), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mae_matches_torch_l1_loss(reduction):
    _check(L.mae, TF.l1_loss, PRED, TARGET, torch.tensor(TARGET), reduction)


@pytest.mark.parametrize("target", [BINARY, SOFT_BINARY], ids=["hard", "soft"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(reduction, target):
    _check(L.binary_cross_entropy, TF.binary_cross_entropy, PROBS, target,
           torch.tensor(target), reduction)


@pytest.mark.parametrize("target", [BINARY, SOFT_BINARY], ids=["hard", "soft"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_matches_torch(reduction, target):
    _check(L.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
           PRED * 3, target, torch.tensor(target), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_integer_labels_matches_torch(reduction):
    _check(L.cross_entropy, TF.cross_entropy, LOGITS, LABELS, torch.tensor(LABELS),
           reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_probability_targets_matches_torch(reduction):
    _check(L.cross_entropy, TF.cross_entropy, LOGITS, SOFT_TARGETS,
           torch.tensor(SOFT_TARGETS), reduction)


@pytest.mark.parametrize("layout", ["fortran", "3-d", "one example", "uint64 labels"])
def test_cross_entropy_matches_torch_for_any_memory_layout_and_shape(layout):
    """Transposed (Fortran-ordered) logits, a batch of sequences, a single example and
    unsigned labels: values and gradients equal torch's."""
    rng = np.random.default_rng(11)
    if layout == "fortran":
        logits, labels = np.asfortranarray(rng.normal(size=(6, 5))), rng.integers(0, 5, 6)
    elif layout == "3-d":
        logits, labels = rng.normal(size=(2, 3, 4)), rng.integers(0, 4, (2, 3))
    elif layout == "one example":
        logits, labels = rng.normal(size=4), np.array(2)
    else:
        logits, labels = rng.normal(size=(3, 4)), np.array([3, 0, 2], dtype=np.uint64)
    x = descent.tensor(logits, requires_grad=True, dtype="float64")
    if layout == "fortran":
        x.data = np.asfortranarray(x.data)
    out = L.cross_entropy(x, labels, reduction="sum")
    out.backward()
    t = torch.tensor(np.ascontiguousarray(logits), requires_grad=True)
    flat_t = t.reshape(-1, t.shape[-1]) if t.ndim > 1 else t.reshape(1, -1)
    expected = TF.cross_entropy(flat_t, torch.tensor(labels.astype(np.int64)).reshape(-1),
                                reduction="sum")
    expected.backward()
    assert out.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("labels", [[0, 4, 1], [0, -1, 1], [4, 0, 0]])
def test_the_cross_entropy_op_itself_refuses_labels_out_of_range(labels):
    """Called directly (not through losses.cross_entropy), the op still checks: a label
    of k or −1 must not read a neighbouring row's score."""
    with pytest.raises(descent.DescentValueError, match=r"0\.\.3 for 4 outputs"):
        descent.autograd.ops.softmax_cross_entropy(descent.tensor(np.zeros((3, 4))), np.array(labels))


def test_cross_entropy_with_one_hot_targets_equals_integer_labels():
    one_hot = np.eye(4)[LABELS]
    for reduction in REDUCTIONS:
        value, grad = _ours(L.cross_entropy, LOGITS, one_hot, reduction)
        label_value, label_grad = _ours(L.cross_entropy, LOGITS, LABELS, reduction)
        np.testing.assert_allclose(value, label_value, rtol=1e-12)
        np.testing.assert_allclose(grad, label_grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_labels_may_be_whole_floats_or_a_tensor():
    expected = _ours(L.cross_entropy, LOGITS, LABELS, "mean")[0]
    as_floats = _ours(L.cross_entropy, LOGITS, LABELS.astype(np.float64), "mean")[0]
    as_tensor = _ours(L.cross_entropy, LOGITS, descent.tensor(LABELS, dtype="float64"),
                      "mean")[0]
    np.testing.assert_allclose(as_floats, expected, rtol=1e-15)
    np.testing.assert_allclose(as_tensor, expected, rtol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction):
    log_probs = torch.log_softmax(torch.tensor(LOGITS), -1).numpy()
    _check(L.nll_loss, TF.nll_loss, log_probs, LABELS, torch.tensor(LABELS), reduction)


def test_nll_loss_with_probability_targets_is_minus_the_weighted_sum():
    log_probs = torch.log_softmax(torch.tensor(LOGITS), -1).numpy()
    value, grad = _ours(L.nll_loss, log_probs, SOFT_TARGETS, "none")
    np.testing.assert_allclose(value, -(SOFT_TARGETS * log_probs).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(grad, -SOFT_TARGETS * _upstream((5,))[:, None], rtol=1e-12)


def test_nll_loss_of_log_softmax_equals_cross_entropy():
    x = descent.tensor(LOGITS, dtype="float64")
    ce = L.cross_entropy(x, LABELS, reduction="none").data
    nll = L.nll_loss(descent.functional.log_softmax(x), LABELS, reduction="none").data
    np.testing.assert_allclose(nll, ce, rtol=1e-12)


# ----------------------------------------------------------------------------- sse
def test_sse_is_half_the_sum_of_squares_per_example():
    # E_n = ½ Σ_k (t_nk − o_nk)²; "mean" averages E_n over the 4 examples, "sum" adds.
    per_example = 0.5 * ((TARGET - PRED) ** 2).sum(axis=1)
    value, grad = _ours(L.sse, PRED, TARGET, "none")
    np.testing.assert_allclose(value, per_example, rtol=1e-12)
    # ∂E_n/∂o_nk = −(t_nk − o_nk), times the upstream weight of example n
    np.testing.assert_allclose(grad, -(TARGET - PRED) * _upstream((4,))[:, None],
                               rtol=1e-12)

    value, grad = _ours(L.sse, PRED, TARGET, "mean")
    np.testing.assert_allclose(value, per_example.mean(), rtol=1e-12)
    np.testing.assert_allclose(grad, -(TARGET - PRED) / 4 * _upstream(()), rtol=1e-12)

    value, grad = _ours(L.sse, PRED, TARGET, "sum")
    np.testing.assert_allclose(value, per_example.sum(), rtol=1e-12)
    np.testing.assert_allclose(grad, -(TARGET - PRED) * _upstream(()), rtol=1e-12)


def test_sse_of_one_example_is_the_notes_error():
    # One output unit: E = ½ (1 − 0.474)² = 0.138338
    assert L.sse(descent.tensor([0.474], dtype="float64"), [1.0]).item() == \
        pytest.approx(0.5 * (1 - 0.474) ** 2, rel=1e-14)
    # One example with two outputs, as a batch of 1: ½((1 − 0.2)² + (0 − 0.6)²) = 0.5
    out = L.sse(descent.tensor([[0.2, 0.6]], dtype="float64"), [[1.0, 0.0]])
    assert out.item() == pytest.approx(0.5, rel=1e-14)


def test_sse_is_half_of_mse_times_outputs():
    sse = L.sse(descent.tensor(PRED, dtype="float64"), TARGET).item()
    mse = L.mse(descent.tensor(PRED, dtype="float64"), TARGET).item()
    assert sse == pytest.approx(mse * PRED.shape[1] / 2, rel=1e-12)


# ----------------------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_of_huge_logits_is_finite_and_matches_torch(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 0.0, 1e4]])
    labels = np.array([1, 1, 0])
    value, grad = _ours(L.cross_entropy, logits, labels, "none", dtype=dtype)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    t_value, t_grad = _theirs(TF.cross_entropy, logits, torch.tensor(labels), "none")
    np.testing.assert_allclose(value, t_value, rtol=1e-6)      # [2e4, 0, 1e4]
    np.testing.assert_allclose(grad, t_grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_of_huge_logits_is_finite_and_matches_torch(dtype):
    logits = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0])
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    value, grad = _ours(L.binary_cross_entropy_with_logits, logits, target, "none",
                        dtype=dtype)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    # −[t log σ(z) + (1 − t) log(1 − σ(z))]: 0, 0, 1000, 1000, log 2; gradient σ(z) − t
    np.testing.assert_allclose(value, [0.0, 0.0, 1000.0, 1000.0, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(grad / _upstream((5,)), [0.0, 0.0, 1.0, -1.0, 0.0],
                               atol=1e-6)
    t_value, t_grad = _theirs(TF.binary_cross_entropy_with_logits, logits,
                              torch.tensor(target), "none")
    np.testing.assert_allclose(value, t_value, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_at_zero_and_one_is_clamped_at_100_like_torch(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    value = L.binary_cross_entropy(descent.tensor(p, dtype=dtype), t, reduction="none").data
    t_value = TF.binary_cross_entropy(torch.tensor(p, dtype=getattr(torch, dtype)),
                                      torch.tensor(t, dtype=getattr(torch, dtype)),
                                      reduction="none").numpy()
    np.testing.assert_array_equal(t_value, [100.0, 100.0, 0.0, 0.0])
    # log 0 is clamped at −100: the loss is exactly 100 where the prediction is wrong
    np.testing.assert_allclose(value, [100.0, 100.0, 0.0, 0.0], rtol=1e-6, atol=0)
    mean = L.binary_cross_entropy(descent.tensor(p, dtype=dtype), t).item()
    assert mean == pytest.approx(50.0, rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_gradient_at_zero_and_one_is_finite(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    value, grad = _ours(L.binary_cross_entropy, p, t, "none", dtype=dtype)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))


def test_binary_cross_entropy_of_tiny_probabilities_is_clamped_in_float64():
    p = np.array([1e-50, 1.0 - 1e-17])    # log p = −115 → clamped to −100; 1 − p == 0
    t = np.array([1.0, 0.0])
    value, grad = _ours(L.binary_cross_entropy, p, t, "none")
    np.testing.assert_allclose(value, [100.0, 100.0], rtol=1e-12)
    assert np.all(np.isfinite(grad))


def test_binary_cross_entropy_gradient_of_tiny_float32_probability_is_finite():
    # 1e-40 is a float32 subnormal; torch's gradient is −1/max(p(1 − p), 1e-12) = −1e12.
    p = np.array([1e-40, 0.5])
    t = np.array([1.0, 1.0])
    value, grad = _ours(L.binary_cross_entropy, p, t, "none", dtype="float32")
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("loss", [L.mse, L.sse, L.mae, L.binary_cross_entropy,
                                  L.binary_cross_entropy_with_logits])
def test_shape_mismatch_is_a_shape_error(loss):
    prediction = descent.tensor(np.full((4, 1), 0.5))
    with pytest.raises(descent.ShapeError, match=r"\(4, 1\).*\(4,\)"):
        loss(prediction, np.full(4, 0.5))


@pytest.mark.parametrize("loss", [L.cross_entropy, L.nll_loss])
def test_class_targets_of_the_wrong_shape_are_a_shape_error(loss):
    logits = descent.tensor(np.zeros((3, 4)))
    with pytest.raises(descent.ShapeError, match="labels have shape"):
        loss(logits, [0, 1])
    with pytest.raises(descent.ShapeError, match="probability targets"):
        loss(logits, np.full((3, 5), 0.2))


@pytest.mark.parametrize("loss", [L.cross_entropy, L.nll_loss])
@pytest.mark.parametrize("labels", [[0, 4, 1], [0, -1, 1]])
def test_labels_out_of_range_name_the_range(loss, labels):
    with pytest.raises(descent.DescentValueError, match=r"0\.\.3 for 4 outputs"):
        loss(descent.tensor(np.zeros((3, 4))), np.array(labels))


@pytest.mark.parametrize("loss", [L.cross_entropy, L.nll_loss])
def test_non_integer_labels_are_an_error(loss):
    logits = descent.tensor(np.zeros((3, 4)))
    with pytest.raises(descent.DescentValueError, match="whole numbers"):
        loss(logits, np.array([0.0, 1.5, 2.0]))
    with pytest.raises(descent.DescentValueError, match="integers"):
        loss(logits, np.array([True, False, True]))


@pytest.mark.parametrize("loss", [L.mse, L.sse, L.mae, L.binary_cross_entropy,
                                  L.binary_cross_entropy_with_logits])
def test_unknown_reduction_is_an_error(loss):
    with pytest.raises(descent.DescentValueError, match="reduction must be one of.*'avg'"):
        loss(descent.tensor([0.5]), [1.0], reduction="avg")


@pytest.mark.parametrize("loss", [L.cross_entropy, L.nll_loss])
def test_unknown_reduction_is_an_error_for_class_losses(loss):
    with pytest.raises(descent.DescentValueError, match="reduction must be one of"):
        loss(descent.tensor(np.zeros((2, 3))), [0, 1], reduction="average")


def test_get_loss_by_name_and_callable():
    assert L.get_loss("mse") is L.mse
    assert L.get_loss("bce") is L.binary_cross_entropy
    assert L.get_loss("nll") is L.nll_loss

    def custom(prediction, target):
        return L.mae(prediction, target)

    assert L.get_loss(custom) is custom


@pytest.mark.parametrize("bad", ["hinge", None, 3])
def test_get_loss_unknown_name_lists_valid_names(bad):
    with pytest.raises(descent.DescentValueError) as info:
        L.get_loss(bad)
    message = str(info.value)
    assert repr(bad) in message
    for name in L.LOSSES:
        assert name in message


# ----------------------------------------------------------------------------- outputs
# A network that ends in softmax (or sigmoid) outputs probabilities; the cross-entropies
# work from the logits underneath, so the loss is the cross-entropy of those
# probabilities and the error term of an output unit is p_k − t_k.
Z = np.array([[0.83342689, 0.37461623], [2.0, -1.0], [-3.0, 4.0]])


@pytest.mark.parametrize("loss", [L.cross_entropy, L.nll_loss])
@pytest.mark.parametrize("grad_mode", [True, False])
def test_class_losses_of_a_softmax_output_are_the_cross_entropy_of_its_probabilities(
        loss, grad_mode):
    z = descent.tensor(Z, requires_grad=True, dtype="float64")
    labels = np.array([1, 0, 1])
    if grad_mode:
        value = loss(descent.functional.softmax(z), labels)
    else:
        with descent.no_grad():
            value = loss(descent.functional.softmax(z), labels)
    expected = torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(labels))
    assert value.item() == pytest.approx(expected.item(), rel=1e-12)
    # row 0 by hand: p = (0.612732, 0.387268), E = −ln 0.387268 = 0.948638
    assert -np.log(np.exp(Z[0, 1]) / np.exp(Z[0]).sum()) == pytest.approx(0.948638, abs=1e-6)
    if grad_mode:
        value.backward()
        p = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(z.grad, (p - np.eye(2)[labels]) / 3, rtol=1e-12)


def test_cross_entropy_of_a_softmax_of_huge_logits_is_finite():
    z = descent.tensor([[1e4, -1e4, 0.0]], requires_grad=True, dtype="float64")
    value = L.cross_entropy(descent.functional.softmax(z), [1])
    value.backward()
    assert value.item() == pytest.approx(2e4)
    np.testing.assert_allclose(z.grad, [[1.0, -1.0, 0.0]])


@pytest.mark.parametrize("loss", [L.binary_cross_entropy, L.binary_cross_entropy_with_logits])
def test_binary_losses_of_a_sigmoid_output_work_from_its_logits(loss):
    logits = np.array([[-200.0], [0.0], [3.0], [200.0]])
    target = np.array([[1.0], [1.0], [0.0], [0.0]])
    z = descent.tensor(logits, requires_grad=True, dtype="float64")
    value = loss(descent.functional.sigmoid(z), target)
    value.backward()
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(logits), torch.tensor(target))
    assert value.item() == pytest.approx(expected.item(), rel=1e-12)   # 200 is not clamped
    p = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(z.grad, (p - target) / 4, rtol=1e-12, atol=1e-300)


def test_a_sigmoid_output_layer_of_a_network_keeps_its_logits_for_the_loss():
    net = nn.MLP([2, 3, 1], activation="tanh", output="sigmoid", rng=0, dtype="float64")
    logits_net = nn.Sequential(*list(net)[:-1])
    x, t = np.array([[40.0, -40.0], [1.0, 2.0]]), np.array([[0.0], [1.0]])
    with_sigmoid = L.binary_cross_entropy(net(x), t)
    from_logits = L.binary_cross_entropy_with_logits(logits_net(x), t)
    assert with_sigmoid.item() == from_logits.item()


def test_a_softmax_over_another_axis_is_taken_as_scores():
    z = descent.tensor(Z)
    scores = descent.functional.softmax(z, axis=0)
    assert L.cross_entropy(scores, [1, 0, 1]).item() == pytest.approx(
        torch.nn.functional.cross_entropy(torch.tensor(scores.data), torch.tensor([1, 0, 1]))
        .item(), rel=1e-6)


@pytest.mark.parametrize("loss, activation, match", [
    (L.cross_entropy, "sigmoid", "cross_entropy got the outputs of a sigmoid"),
    (L.nll_loss, "sigmoid", "nll_loss got the outputs of a sigmoid"),
    (L.binary_cross_entropy, "softmax", "binary_cross_entropy got the outputs of a softmax"),
    (L.binary_cross_entropy_with_logits, "softmax",
     "binary_cross_entropy_with_logits got the outputs of a softmax"),
])
def test_a_loss_on_an_output_it_cannot_mean_is_an_error(loss, activation, match):
    z = descent.tensor([[0.5, -0.5], [1.0, 2.0]])
    output = getattr(descent.functional, activation)(z)
    target = np.array([0, 1]) if loss in (L.cross_entropy, L.nll_loss) else np.eye(2)
    with pytest.raises(descent.DescentValueError, match=match):
        loss(output, target)


@pytest.mark.parametrize("values", [[[1.5], [0.2]], [[-0.1], [0.5]]])
def test_binary_cross_entropy_of_values_outside_0_1_is_an_error(values):
    with pytest.raises(descent.DescentValueError,
                       match=r"probabilities in \[0, 1\].*binary_cross_entropy_with_logits"):
        L.binary_cross_entropy(descent.tensor(values), [[1.0], [0.0]])
