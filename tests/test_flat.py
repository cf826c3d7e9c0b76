"""Flat parameter storage (descent.flat): the optimiser of a small network updates one
array, with exactly the numbers of the per-parameter updates, and never at the expense
of a reference the caller holds."""

import numpy as np
import pytest

import descent
from descent import optim
from descent.flat import FLAT_MEAN_SIZE, FlatParameters
from descent.losses import cross_entropy

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
