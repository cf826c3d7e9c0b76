"""Flat parameter storage (descent.flat): the optimiser of a small network updates one
array, with exactly the numbers of the per-parameter updates, and never at the expense
of a reference the caller holds."""

import copy

import numpy as np
import pytest

import descent
from descent import optim
from descent.optim.flat import FLAT_MEAN_SIZE, FlatParameters
from descent.losses.functions import cross_entropy

RNG = np.random.default_rng(3)
X = RNG.normal(size=(12, 4)).astype(np.float32)
LABELS = RNG.integers(0, 3, size=12)

UPDATES = [
    (optim.SGD, dict(lr=0.1), optim.sgd_update),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     optim.sgd_update),
    (optim.Adam, dict(lr=0.01), optim.adam_update),
    (optim.RMSProp, dict(lr=0.01, momentum=0.5, centered=True), optim.rmsprop_update),
    (optim.AdaGrad, dict(lr=0.1, lr_decay=0.01), optim.adagrad_update),
]


def _model(seed=0):
    return descent.nn.MLP([4, 6, 3], "relu", rng=seed)


def _gradients(model, rows):
    model.zero_grad()
    cross_entropy(model(X[rows]), LABELS[rows]).backward()


def _by_hand(model, update, hyper, steps):
    """The per-parameter reference: the pure update function on each parameter."""
    params = list(model.parameters())
    states = [{} for _ in params]
    for step in range(steps):
        _gradients(model, slice(step, step + 6))
        for p, state in zip(params, states):
            update(p.data, p.grad, state, **hyper)
    return states


@pytest.mark.parametrize("cls, hyper, update", UPDATES)
def test_flat_updates_equal_the_per_parameter_updates_bit_for_bit(cls, hyper, update):
    ours, reference = _model(), _model()
    opt = cls(ours.parameters(), **hyper)
    for step in range(5):
        _gradients(ours, slice(step, step + 6))
        opt.step()
    states = _by_hand(reference, update, hyper, 5)
    for p, q in zip(ours.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    flat = opt._flat.data
    assert all(p.data.base is flat for p in ours.parameters())  # it did run flat
    for got, want in zip(opt.state_dict()["state"], states):
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def test_state_round_trip_and_fallback_when_a_parameter_has_no_gradient():
    ours, reference = _model(), _model()
    opt = optim.Adam(ours.parameters(), lr=0.01)
    ref_params = list(reference.parameters())
    ref_states = [{} for _ in ref_params]
    for step in range(6):
        for model in (ours, reference):
            _gradients(model, slice(step, step + 6))
        if step == 3:  # one parameter without a gradient: that step is per parameter
            ours[0].bias.grad = None
            reference[0].bias.grad = None
        if step == 4:  # a saved and restored state carries on exactly
            opt.load_state_dict(opt.state_dict())
        opt.step()
        for p, state in zip(ref_params, ref_states):
            if p.grad is not None:
                optim.adam_update(p.data, p.grad, state, lr=0.01)
    for p, q in zip(ours.parameters(), ref_params):
        np.testing.assert_array_equal(p.data, q.data)
    steps = [state["step"] for state in opt.state]
    assert steps == [6, 5, 6, 6]  # the bias that missed a step stays one behind


def test_a_reference_the_caller_holds_keeps_following_the_parameter():
    model = _model()
    held = model[0].weight.data
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = held.copy()
    _gradients(model, slice(0, 6))
    opt.step()
    assert model[0].weight.data is held  # not moved into a flat array
    assert not np.array_equal(held, before)


def test_replacing_a_parameter_array_is_picked_up():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    _gradients(model, slice(0, 6))
    opt.step()
    model[0].weight.data = np.ones((4, 6), dtype=np.float32)
    _gradients(model, slice(0, 6))
    expected = 1 - 0.1 * model[0].weight.grad
    opt.step()
    np.testing.assert_allclose(model[0].weight.data, expected, rtol=1e-6)
    assert model[0].weight.data.base is opt._flat.data


def test_only_small_distinct_parameters_of_one_dtype_are_packed():
    small = [descent.tensor(np.zeros(3), requires_grad=True) for _ in range(2)]
    assert FlatParameters.suits(small)
    assert not FlatParameters.suits(small[:1])
    assert not FlatParameters.suits([small[0], small[0]])
    mixed = [small[0], descent.tensor(np.zeros(3), dtype="float32", requires_grad=True)]
    assert not FlatParameters.suits(mixed)
    large = [descent.tensor(np.zeros(FLAT_MEAN_SIZE + 1), requires_grad=True)
             for _ in range(2)]
    assert not FlatParameters.suits(large)


def test_a_copied_model_and_optimiser_train_their_own_weights():
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    _gradients(model, slice(0, 6))
    opt.step()
    model2, opt2 = copy.deepcopy((model, opt))
    before = [p.data.copy() for p in model2.parameters()]
    for step in range(3):
        _gradients(model2, slice(step, step + 6))
        opt2.step()
    assert all(not np.array_equal(p.data, b) for p, b in zip(model2.parameters(), before))
    assert all(p.data.base is opt2._flat.data for p in model2.parameters())


def test_replacing_one_parameter_leaves_the_others_and_their_dtype_alone():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    _gradients(model, slice(0, 6))
    opt.step()
    held = model[2].weight.data
    model[0].weight.data = np.ones((4, 6), dtype=np.float64)  # another dtype: not packed
    _gradients(model, slice(0, 6))
    opt.step()
    assert model[0].weight.dtype == np.float64
    assert [p.dtype for p in model.parameters()][1:] == [np.float32] * 3
    assert model[2].weight.data is held  # still following the parameter
    model[0].weight.data = np.ones((4, 6), dtype=np.float32)  # fits its slot again
    _gradients(model, slice(0, 6))
    opt.step()
    assert model[0].weight.data.base is opt._flat.data and model[2].weight.data is held


def test_the_state_dicts_stay_live_while_updates_are_flat():
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    _gradients(model, slice(0, 6))
    opt.step()
    held = opt.state[1]["exp_avg"]
    before = held.copy()
    _gradients(model, slice(1, 7))
    opt.step()
    assert opt.state[1]["exp_avg"] is held and not np.array_equal(held, before)
    assert [state["step"] for state in opt.state] == [2, 2, 2, 2]


class _UnitStep(optim.Optimizer):
    """A step of length lr along each parameter's gradient: not elementwise."""

    @staticmethod
    def update(param, grad, state, lr, scratch=None):
        param -= lr * grad / np.linalg.norm(grad)


def test_an_optimiser_that_is_not_elementwise_is_never_flat():
    model = _model()
    before = [p.data.copy() for p in model.parameters()]
    opt = _UnitStep(model.parameters(), lr=0.1)
    _gradients(model, slice(0, 6))
    opt.step()
    assert opt._flat is None
    for p, b in zip(model.parameters(), before):
        assert np.linalg.norm(p.data - b) == pytest.approx(0.1, rel=1e-5)
