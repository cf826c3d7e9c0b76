"""Optimisers: whole training runs against torch.optim, state round-trips, frozen
parameters, the pure update functions by hand, and the argument checks."""

import numpy as np
import pytest
import torch

import descent
from descent import optim
from descent.losses.functions import mse

SIZES = [3, 5, 2]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 3))
Y = RNG.normal(size=(8, 2))


# ----------------------------------------------------------------------------- helpers
def _networks(seed=0):
    """A descent MLP and the identical torch network (float64, weights copied)."""
    ours = descent.nn.MLP(SIZES, "tanh", dtype="float64", rng=seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out, dtype=torch.float64))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.Tanh())
    theirs = torch.nn.Sequential(*layers)
    bias_rng = np.random.default_rng(100 + seed)  # non-zero biases, also from the seed
    with torch.no_grad():
        for ours_layer, their_layer in zip(ours, theirs):
            if isinstance(their_layer, torch.nn.Linear):
                # descent stores W as (in, out), torch as (out, in)
                their_layer.weight.copy_(torch.tensor(ours_layer.weight.data.T))
                their_layer.bias.copy_(torch.tensor(bias_rng.normal(size=their_layer.bias.shape)))
                ours_layer.bias.data[...] = their_layer.bias.numpy()
    return ours, theirs


def _batch(step):
    """Fixed data: a different 6-row slice each step, like mini-batches."""
    rows = np.arange(6) + step % 3
    return X[rows], Y[rows]


def _train_ours(net, opt, steps, start=0):
    for step in range(start, start + steps):
        x, y = _batch(step)
        opt.zero_grad()
        mse(net(x), y).backward()
        opt.step()


def _train_theirs(net, opt, steps, start=0):
    for step in range(start, start + steps):
        x, y = _batch(step)
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()


def _assert_same_parameters(ours, theirs, rtol=1e-10, atol=1e-12):
    our_params = list(ours.parameters())
    their_params = list(theirs.parameters())
    assert len(our_params) == len(their_params)
    for mine, yours in zip(our_params, their_params):
        expected = yours.detach().numpy()
        if mine.ndim == 2:
            expected = expected.T
        np.testing.assert_allclose(mine.data, expected, rtol=rtol, atol=atol)


CASES = {
    "sgd": (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    "sgd-momentum": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "sgd-nesterov": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True)),
    "sgd-decay-dampening": (optim.SGD, torch.optim.SGD,
                            dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    "adagrad": (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1)),
    "adagrad-decay": (optim.AdaGrad, torch.optim.Adagrad,
                      dict(lr=0.1, lr_decay=0.05, weight_decay=0.02,
                           initial_accumulator_value=0.1)),
    "rmsprop": (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    "rmsprop-momentum": (optim.RMSProp, torch.optim.RMSprop,
                         dict(lr=0.005, alpha=0.9, momentum=0.7)),
    "rmsprop-centered": (optim.RMSProp, torch.optim.RMSprop,
                         dict(lr=0.005, centered=True, momentum=0.5)),
    "rmsprop-centered-plain": (optim.RMSProp, torch.optim.RMSprop,
                               dict(lr=0.005, centered=True)),
    "rmsprop-weight-decay": (optim.RMSProp, torch.optim.RMSprop,
                             dict(lr=0.01, weight_decay=0.1, eps=1e-6)),
    "adam": (optim.Adam, torch.optim.Adam, dict(lr=0.02)),
    "adam-betas": (optim.Adam, torch.optim.Adam, dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6)),
    "adam-weight-decay": (optim.Adam, torch.optim.Adam, dict(lr=0.02, weight_decay=0.1)),
    "adamw": (optim.AdamW, torch.optim.AdamW, dict(lr=0.02, weight_decay=0.1)),
    "adamw-default-decay": (optim.AdamW, torch.optim.AdamW, dict(lr=0.02)),
}


# ----------------------------------------------------------------------------- vs torch
@pytest.mark.parametrize("name", list(CASES))
def test_training_matches_torch_optim(name):
    ours_cls, theirs_cls, settings = CASES[name]
    ours, theirs = _networks()
    _assert_same_parameters(ours, theirs, rtol=0, atol=0)
    initial = [p.data.copy() for p in ours.parameters()]
    our_opt = ours_cls(ours.parameters(), **settings)
    their_opt = theirs_cls(theirs.parameters(), **settings)
    for _ in range(3):  # check along the way, not only at the end
        _train_ours(ours, our_opt, 10)
        _train_theirs(theirs, their_opt, 10)
    _assert_same_parameters(ours, theirs)
    # the run did something: every parameter moved
    for before, p in zip(initial, ours.parameters()):
        assert np.abs(p.data - before).max() > 1e-4


def test_training_matches_torch_step_by_step_for_adam():
    ours, theirs = _networks(seed=3)
    our_opt = optim.Adam(ours.parameters(), lr=0.05, weight_decay=0.01)
    their_opt = torch.optim.Adam(theirs.parameters(), lr=0.05, weight_decay=0.01)
    for step in range(30):
        _train_ours(ours, our_opt, 1, start=step)
        _train_theirs(theirs, their_opt, 1, start=step)
        _assert_same_parameters(ours, theirs)


def test_changing_lr_between_steps_matches_torch():
    ours, theirs = _networks()
    our_opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    their_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for step in range(20):
        lr = 0.1 * 0.9 ** step
        our_opt.lr = lr
        their_opt.param_groups[0]["lr"] = lr
        _train_ours(ours, our_opt, 1, start=step)
        _train_theirs(theirs, their_opt, 1, start=step)
    _assert_same_parameters(ours, theirs)


@pytest.mark.parametrize("settings", [
    dict(lr=1.0, max_iter=5, history_size=3),
    dict(lr=0.5, max_iter=20, history_size=100),
    dict(lr=0.8, max_iter=4, history_size=2, max_eval=3),
])
def test_lbfgs_matches_torch(settings):
    ours, theirs = _networks(seed=1)
    our_opt = optim.LBFGS(ours.parameters(), **settings)
    their_opt = torch.optim.LBFGS(theirs.parameters(), line_search_fn=None, **settings)
    x, y = X, Y
    tx, ty = torch.tensor(X), torch.tensor(Y)

    def our_closure():
        our_opt.zero_grad()
        loss = mse(ours(x), y)
        loss.backward()
        return loss

    def their_closure():
        their_opt.zero_grad()
        loss = torch.nn.functional.mse_loss(theirs(tx), ty)
        loss.backward()
        return loss

    losses = []
    for _ in range(4):
        our_loss = our_opt.step(our_closure)
        their_loss = their_opt.step(their_closure)
        assert our_loss.item() == pytest.approx(their_loss.item(), rel=1e-8)
        losses.append(our_loss.item())
        _assert_same_parameters(ours, theirs, rtol=1e-8, atol=1e-10)
    assert losses[-1] < losses[0]
    state = their_opt.state[their_opt._params[0]]
    assert our_opt.memory["n_iter"] == state["n_iter"]
    assert our_opt.memory["func_evals"] == state["func_evals"]


def test_lbfgs_minimises_a_quadratic():
    # f(w) = Σ (w − c)²: L-BFGS with unit steps finds the minimum c
    w = descent.tensor([3.0, -2.0, 0.5], requires_grad=True, dtype="float64")
    c = np.array([1.0, 2.0, -1.0])
    opt = optim.LBFGS([w], lr=1.0, max_iter=50)

    def closure():
        opt.zero_grad()
        loss = ((w - c) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(w.data, c, atol=1e-6)


# ----------------------------------------------------------------------------- state
@pytest.mark.parametrize("name", ["sgd-nesterov", "adagrad-decay", "rmsprop-centered",
                                  "adam-weight-decay", "adamw"])
def test_state_dict_round_trip_continues_training_identically(name):
    cls, _, settings = CASES[name]
    straight, _ = _networks()
    straight_opt = cls(straight.parameters(), **settings)
    _train_ours(straight, straight_opt, 20)

    first, _ = _networks()
    first_opt = cls(first.parameters(), **settings)
    _train_ours(first, first_opt, 10)
    saved_model, saved_opt = first.state_dict(), first_opt.state_dict()
    # the saved state is a copy: training on does not change it
    _train_ours(first, first_opt, 3, start=10)

    second, _ = _networks(seed=5)
    second.load_state_dict(saved_model)
    second_opt = cls(second.parameters(), lr=0.5)  # hyper-parameters come from the state
    second_opt.load_state_dict(saved_opt)
    assert second_opt.hyper == first_opt.hyper
    _train_ours(second, second_opt, 10, start=10)
    for a, b in zip(second.parameters(), straight.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_lbfgs_state_dict_round_trip():
    def run(net, opt, steps):
        def closure():
            opt.zero_grad()
            loss = mse(net(X), Y)
            loss.backward()
            return loss
        for _ in range(steps):
            opt.step(closure)

    straight, _ = _networks()
    straight_opt = optim.LBFGS(straight.parameters(), lr=0.5, max_iter=3, history_size=4)
    run(straight, straight_opt, 6)

    first, _ = _networks()
    first_opt = optim.LBFGS(first.parameters(), lr=0.5, max_iter=3, history_size=4)
    run(first, first_opt, 3)
    second, _ = _networks(seed=9)
    second.load_state_dict(first.state_dict())
    second_opt = optim.LBFGS(second.parameters())
    second_opt.load_state_dict(first_opt.state_dict())
    run(second, second_opt, 3)
    for a, b in zip(second.parameters(), straight.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_checks_the_shapes():
    net, _ = _networks()
    opt = optim.Adam(net.parameters())
    _train_ours(net, opt, 1)
    state = opt.state_dict()
    other = optim.Adam(list(net.parameters())[:2])
    with pytest.raises(descent.ShapeError, match="4 parameters.*2"):
        other.load_state_dict(state)
    swapped = optim.Adam(list(net.parameters())[::-1])
    with pytest.raises(descent.ShapeError, match="exp_avg"):
        swapped.load_state_dict(state)


# ----------------------------------------------------------------------------- frozen
@pytest.mark.parametrize("name", list(CASES))
def test_frozen_parameter_never_changes(name):
    cls, _, settings = CASES[name]
    net, _ = _networks()
    frozen = net[0].weight
    frozen.requires_grad = False
    before = frozen.data.copy()
    others = [p.data.copy() for p in net.parameters() if p is not frozen]
    unused = descent.tensor(np.ones(3), requires_grad=True, dtype="float64")  # no grad
    opt = cls([*net.parameters(), unused], **settings)
    _train_ours(net, opt, 5)
    np.testing.assert_array_equal(frozen.data, before)
    np.testing.assert_array_equal(unused.data, np.ones(3))
    after = [p.data for p in net.parameters() if p is not frozen]
    assert all(np.abs(a - b).max() > 0 for a, b in zip(after, others))


def test_frozen_parameter_training_matches_torch():
    ours, theirs = _networks()
    ours[2].bias.requires_grad = False
    theirs[2].bias.requires_grad_(False)
    our_opt = optim.AdamW(ours.parameters(), lr=0.05, weight_decay=0.1)
    their_opt = torch.optim.AdamW(theirs.parameters(), lr=0.05, weight_decay=0.1)
    _train_ours(ours, our_opt, 15)
    _train_theirs(theirs, their_opt, 15)
    _assert_same_parameters(ours, theirs)


def test_frozen_parameter_never_changes_under_lbfgs():
    net, _ = _networks()
    frozen = net[2].weight
    frozen.requires_grad = False
    before = frozen.data.copy()
    opt = optim.LBFGS(net.parameters(), lr=0.5, max_iter=5)

    def closure():
        opt.zero_grad()
        loss = mse(net(X), Y)
        loss.backward()
        return loss

    opt.step(closure)
    opt.step(closure)
    np.testing.assert_array_equal(frozen.data, before)
    assert np.abs(net[0].weight.data - _networks()[0][0].weight.data).max() > 0


def test_zero_grad_forgets_gradients():
    net, _ = _networks()
    opt = optim.SGD(net.parameters(), lr=0.1)
    mse(net(X), Y).backward()
    assert all(p.grad is not None for p in net.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# ----------------------------------------------------------------------------- by hand
def test_sgd_update_plain_by_hand():
    # w − η g = [1 − 0.1·0.5, −2 − 0.1·1] = [0.95, −2.1]
    w, g, state = np.array([1.0, -2.0]), np.array([0.5, 1.0]), {}
    optim.sgd_update(w, g, state, lr=0.1)
    np.testing.assert_allclose(w, [0.95, -2.1], rtol=1e-15)
    assert state == {}


def test_sgd_update_momentum_by_hand():
    w, g, state = np.array([1.0, -2.0]), np.array([0.5, 1.0]), {}
    # step 1: b = g = [0.5, 1]; w = [1 − 0.05, −2 − 0.1] = [0.95, −2.1]
    optim.sgd_update(w, g, state, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(w, [0.95, -2.1], rtol=1e-15)
    np.testing.assert_allclose(state["momentum_buffer"], [0.5, 1.0])
    # step 2: b = 0.9·[0.5, 1] + [0.5, 1] = [0.95, 1.9]; w = [0.95 − 0.095, −2.1 − 0.19]
    optim.sgd_update(w, g, state, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(state["momentum_buffer"], [0.95, 1.9], rtol=1e-15)
    np.testing.assert_allclose(w, [0.855, -2.29], rtol=1e-14)
    # the buffer is the optimiser's own copy, not the caller's gradient
    np.testing.assert_array_equal(g, [0.5, 1.0])


def test_sgd_update_nesterov_dampening_and_weight_decay_by_hand():
    # Nesterov, step 1: b = g, direction g + μb = 1.9·g = 0.95; w = 1 − 0.1·0.95 = 0.905
    w, state = np.array([1.0]), {}
    optim.sgd_update(w, np.array([0.5]), state, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(w, [0.905], rtol=1e-15)
    # weight decay λ = 0.5 adds λw = 1 to g = 1 → 2; dampening applies from step 2 on:
    # step 1: b = 2, w = 2 − 0.1·2 = 1.8
    # step 2: g' = 1 + 0.5·1.8 = 1.9; b = 0.9·2 + (1 − 0.5)·1.9 = 2.75; w = 1.8 − 0.275
    w, state = np.array([2.0]), {}
    settings = dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.5)
    optim.sgd_update(w, np.array([1.0]), state, **settings)
    np.testing.assert_allclose(w, [1.8], rtol=1e-15)
    optim.sgd_update(w, np.array([1.0]), state, **settings)
    np.testing.assert_allclose(state["momentum_buffer"], [2.75], rtol=1e-15)
    np.testing.assert_allclose(w, [1.525], rtol=1e-14)


def test_adam_first_step_moves_each_weight_by_lr_times_sign_of_gradient():
    # step 1: m = (1 − β₁)g, v = (1 − β₂)g²; m̂ = g, v̂ = g², so the step is
    # η·g / (|g| + ε) ≈ η·sign(g), whatever the size of g
    w = np.array([1.0, -2.0, 3.0, 0.0])
    g = np.array([0.5, -4.0, 1e-3, 2e3])
    state = {}
    optim.adam_update(w, g, state, lr=0.01)
    np.testing.assert_allclose(w, [0.99, -1.99, 2.99, -0.01], rtol=1e-7, atol=1e-9)
    assert state["step"] == 1
    np.testing.assert_allclose(state["exp_avg"], 0.1 * g, rtol=1e-12)
    np.testing.assert_allclose(state["exp_avg_sq"], 0.001 * g * g, rtol=1e-12)


def test_adam_second_step_by_hand():
    # g = 1 then g = 3, β = (0.5, 0.5), ε = 0, η = 1:
    # m = 0.5·0.5 + 0.5·3 = 1.75, v = 0.5·0.5 + 0.5·9 = 4.75,
    # m̂ = 1.75 / 0.75, v̂ = 4.75 / 0.75; step = m̂ / √v̂ = 1.75 / √(4.75·0.75)
    w, state = np.array([0.0]), {}
    optim.adam_update(w, np.array([1.0]), state, lr=1.0, betas=(0.5, 0.5), eps=0.0)
    np.testing.assert_allclose(w, [-1.0], rtol=1e-15)
    optim.adam_update(w, np.array([3.0]), state, lr=1.0, betas=(0.5, 0.5), eps=0.0)
    np.testing.assert_allclose(w, [-1.0 - 1.75 / np.sqrt(4.75 * 0.75)], rtol=1e-14)


def test_adamw_decay_is_decoupled_by_hand():
    # AdamW: w·(1 − ηλ) = 2·(1 − 0.1·0.5) = 1.9, then the first Adam step −η·sign(g) → 1.8
    w = np.array([2.0])
    optim.adam_update(w, np.array([1.0]), {}, lr=0.1, weight_decay=0.5, decoupled=True)
    np.testing.assert_allclose(w, [1.8], rtol=1e-7)
    # Adam: λw = 1 is added to g = 1 → 2, and the first step is still −η·sign(2) → 1.9
    w = np.array([2.0])
    optim.adam_update(w, np.array([1.0]), {}, lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(w, [1.9], rtol=1e-7)


def test_adagrad_update_by_hand():
    # step 1: G = g² = [9, 16]; w −= η·g/√G = η·sign(g) = [0.1, −0.1]
    # step 2: G = 2g², η₂ = η / (1 + 1·0.25) = 0.08; w −= 0.08·g/(√2|g|) = 0.08/√2·sign(g)
    w, g, state = np.array([1.0, 1.0]), np.array([3.0, -4.0]), {}
    optim.adagrad_update(w, g, state, lr=0.1, lr_decay=0.25, eps=0.0)
    np.testing.assert_allclose(w, [0.9, 1.1], rtol=1e-15)
    optim.adagrad_update(w, g, state, lr=0.1, lr_decay=0.25, eps=0.0)
    np.testing.assert_allclose(state["sum"], [18.0, 32.0])
    step = 0.08 / np.sqrt(2)
    np.testing.assert_allclose(w, [0.9 - step, 1.1 + step], rtol=1e-14)
    assert state["step"] == 2


def test_rmsprop_update_by_hand():
    # step 1, α = 0.99: v = 0.01·g², √v = 0.1|g|; w −= η·g/(0.1|g|) = 10η·sign(g)
    w, g, state = np.array([1.0, 1.0]), np.array([2.0, -0.5]), {}
    optim.rmsprop_update(w, g, state, lr=0.01, eps=0.0)
    np.testing.assert_allclose(w, [0.9, 1.1], rtol=1e-14)
    np.testing.assert_allclose(state["square_avg"], 0.01 * g * g, rtol=1e-14)
    # centered, α = 0.5: v = 0.5g², ḡ = 0.5g, v − ḡ² = 0.25g², √ = 0.5|g|; step 2η·sign(g)
    w, state = np.array([1.0]), {}
    optim.rmsprop_update(w, np.array([4.0]), state, lr=0.1, alpha=0.5, eps=0.0,
                         centered=True)
    np.testing.assert_allclose(w, [0.8], rtol=1e-14)
    np.testing.assert_allclose(state["grad_avg"], [2.0])


def test_updates_are_in_place():
    w = np.array([1.0, 2.0])
    alias = w
    optim.adam_update(w, np.array([1.0, 1.0]), {}, lr=0.1)
    assert alias is w and w[0] != 1.0


# ----------------------------------------------------------------------------- errors
def _param():
    return descent.tensor([1.0], requires_grad=True)


@pytest.mark.parametrize("cls", [optim.SGD, optim.AdaGrad, optim.RMSProp, optim.Adam,
                                 optim.AdamW, optim.LBFGS])
@pytest.mark.parametrize("lr, shown", [(0, "0"), (-1, "-1"), (-0.5, "-0.5")])
def test_bad_learning_rate_names_the_value(cls, lr, shown):
    with pytest.raises(descent.DescentValueError, match=rf"lr must be .*got {shown}$"):
        cls([_param()], lr=lr)


def test_a_schedule_may_set_the_learning_rate_to_zero():
    opt = optim.Adam([_param()])
    opt.lr = 0.0  # annealed to nothing; only constructors insist on lr > 0
    assert opt.lr == 0.0


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan")])
def test_setting_a_bad_learning_rate_is_an_error(bad):
    opt = optim.Adam([_param()])
    with pytest.raises(descent.DescentValueError, match="lr must be"):
        opt.lr = bad
    assert opt.lr == 0.001


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=0.1, momentum=1.0), r"momentum must be in \[0, 1\), got 1.0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.1), r"momentum.*got -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, dampening=1.5), r"dampening.*got 1.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1e-3), r"weight_decay.*got -0.001"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), r"nesterov needs momentum > 0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     r"nesterov needs momentum > 0 and dampening = 0"),
    (lambda p: optim.SGD(p, lr="fast"), r"lr must be a number, got 'fast'"),
    (lambda p: optim.SGD(p, lr=True), r"lr must be a number, got True"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), r"beta1 must be in \[0, 1\), got 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.5)), r"beta2.*got 1.5"),
    (lambda p: optim.AdamW(p, betas=(-0.1, 0.9)), r"beta1.*got -0.1"),
    (lambda p: optim.Adam(p, betas=0.9), r"betas must be a pair.*0.9"),
    (lambda p: optim.Adam(p, eps=0), r"eps.*got 0"),
    (lambda p: optim.RMSProp(p, alpha=1.0), r"alpha.*got 1.0"),
    (lambda p: optim.RMSProp(p, momentum=-0.5), r"momentum.*got -0.5"),
    (lambda p: optim.AdaGrad(p, lr_decay=-0.1), r"lr_decay.*got -0.1"),
    (lambda p: optim.AdaGrad(p, initial_accumulator_value=-1),
     r"initial_accumulator_value.*got -1"),
    (lambda p: optim.LBFGS(p, max_iter=0), r"max_iter.*got 0"),
    (lambda p: optim.LBFGS(p, history_size=0), r"history_size.*got 0"),
])
def test_bad_hyper_parameters_raise_naming_the_value(make, match):
    with pytest.raises(descent.DescentValueError, match=match):
        make([_param()])


def test_optimizer_needs_tensor_parameters():
    with pytest.raises(descent.DescentValueError, match="no parameters"):
        optim.SGD([], lr=0.1)
    with pytest.raises(descent.DescentTypeError, match="parameter 1 is a ndarray"):
        optim.SGD([_param(), np.zeros(2)], lr=0.1)


def test_get_optimizer_by_name():
    params = [_param()]
    opt = optim.get_optimizer("Adam", params, lr=0.01)
    assert isinstance(opt, optim.Adam) and opt.lr == 0.01
    assert optim.get_optimizer("sgd", params).lr == 0.01
    assert optim.get_optimizer(opt, params) is opt


@pytest.mark.parametrize("bad", ["nadam", None])
def test_get_optimizer_unknown_name_lists_valid_names(bad):
    with pytest.raises(descent.DescentValueError) as info:
        optim.get_optimizer(bad, [_param()])
    message = str(info.value)
    assert repr(bad) in message
    for name in optim.OPTIMIZERS:
        assert name in message


def test_lbfgs_step_without_closure_is_an_error():
    opt = optim.LBFGS([_param()])
    with pytest.raises(descent.DescentValueError, match="LBFGS.step needs a closure"):
        opt.step()


ALL_CLASSES = [optim.SGD, optim.AdaGrad, optim.RMSProp, optim.Adam, optim.AdamW, optim.LBFGS]


@pytest.mark.parametrize("cls", ALL_CLASSES)
@pytest.mark.parametrize("lr, message", [
    (float("inf"), r"lr must be a finite number, got inf$"),
    (-float("inf"), r"lr must be a finite number, got -inf$"),
    (10 ** 400, r"lr must be a finite number, got 1000"),
    (float("nan"), r"lr must be a number, got nan$"),
    (np.float32("nan"), r"lr must be a number, got .*nan"),
    (False, r"lr must be a number, got False$"),
    ("0.01", r"lr must be a number, got '0.01'$"),
    (None, r"lr must be a number, got None$"),
])
def test_learning_rates_that_cannot_be_meant_are_refused_by_every_optimiser(cls, lr, message):
    with pytest.raises(descent.DescentValueError, match=message):
        cls([_param()], lr=lr)


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
@pytest.mark.parametrize("lr, shown", [(float("inf"), "inf"), (float("nan"), "nan"),
                                       (-5, "-5"), (0, "0"), (True, "True"), ("fast", "'fast'")])
def test_train_refuses_such_a_learning_rate_before_training(name, lr, shown):
    model = descent.nn.Linear(2, 1, rng=0)
    before = model.weight.data.copy()
    X, y = descent.datasets.truth_table("and")
    with pytest.raises(descent.DescentValueError, match=rf"^lr must be .*, got {shown}$"):
        descent.train(model, X, y, optimizer=name, lr=lr, epochs=2)
    np.testing.assert_array_equal(model.weight.data, before)


def test_setting_an_infinite_learning_rate_is_an_error():
    opt = optim.SGD([_param()], lr=0.1)
    with pytest.raises(descent.DescentValueError, match="lr must be a finite number, got inf"):
        opt.lr = float("inf")
    assert opt.lr == 0.1


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=0.1, momentum=float("inf")), r"momentum must be a finite"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=float("nan")), r"momentum must be a number"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=float("inf")),
     r"weight_decay must be a finite number, got inf"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov="yes"),
     r"nesterov must be True or False, got 'yes'"),
    (lambda p: optim.RMSProp(p, centered=1), r"centered must be True or False, got 1"),
    (lambda p: optim.RMSProp(p, eps=float("inf")), r"eps must be a finite number, got inf"),
    (lambda p: optim.AdaGrad(p, lr_decay=float("inf")), r"lr_decay must be a finite"),
    (lambda p: optim.Adam(p, betas=(0.9, float("nan"))), r"beta2 must be a number, got nan"),
    (lambda p: optim.Adam(p, betas=(0.9, 0.999, 0.5)), r"betas must be a pair"),
    (lambda p: optim.AdamW(p, weight_decay=-0.1), r"weight_decay must be in \[0, inf\), got"),
    (lambda p: optim.Adam(p, eps=-1e-8), r"eps must be in \(0, inf\), got -1e-08"),
    (lambda p: optim.LBFGS(p, max_iter=2.5), r"max_iter must be an integer >= 1, got 2.5"),
    (lambda p: optim.LBFGS(p, max_eval=0), r"max_eval must be an integer >= 1, got 0"),
    (lambda p: optim.LBFGS(p, max_eval="many"), r"max_eval must be an integer >= 1, got 'many'"),
    (lambda p: optim.LBFGS(p, history_size=True), r"history_size must be an integer >= 1"),
    (lambda p: optim.LBFGS(p, tolerance_grad=float("inf")), r"tolerance_grad must be a finite"),
])
def test_other_hyper_parameters_that_cannot_be_meant_are_refused(make, match):
    with pytest.raises(descent.DescentValueError, match=match):
        make([_param()])


def _trained_adam():
    net, _ = _networks()
    opt = optim.Adam(net.parameters(), lr=0.01)
    _train_ours(net, opt, 2)
    return net, opt


def _tampered(change):
    """An Adam state after two steps, changed by ``change(state)``."""
    state = _trained_adam()[1].state_dict()
    change(state)
    return state


@pytest.mark.parametrize("change, error, match", [
    (lambda s: s["hyper"].update(lr=-5.0), descent.DescentValueError,
     r"^lr must be in \[0, inf\), got -5.0$"),
    (lambda s: s["hyper"].update(lr=float("inf")), descent.DescentValueError,
     r"^lr must be a finite number, got inf$"),
    (lambda s: s["hyper"].update(betas=[0.9, 1.5]), descent.DescentValueError,
     r"^beta2 must be in \[0, 1\), got 1.5$"),
    (lambda s: s["hyper"].update(decoupled=True), descent.DescentValueError,
     r"^decoupled must be False for Adam, got True$"),
    (lambda s: s["hyper"].update(momentum=0.9), descent.DescentValueError,
     r"^the optimiser settings must be lr, betas, eps, weight_decay, decoupled; got "),
    (lambda s: s["hyper"].pop("eps"), descent.DescentValueError, r"settings must be"),
    (lambda s: s["state"][1].update(step=-1), descent.DescentValueError,
     r"^optimiser state 'step' of parameter 1 must be an integer >= 0, got -1$"),
    (lambda s: s["state"][1].update(step=2.0), descent.DescentValueError,
     r"'step' of parameter 1 must be an integer >= 0, got 2.0$"),
    (lambda s: s["state"][0]["exp_avg"].__setitem__((0, 0), np.nan), descent.DescentValueError,
     r"^optimiser state 'exp_avg' of parameter 0 has NaN or infinite values$"),
    (lambda s: s["state"][2]["exp_avg_sq"].__setitem__(0, -1.0), descent.DescentValueError,
     r"'exp_avg_sq' of parameter 2 has negative values, but it is a sum of squares$"),
    (lambda s: s["state"][3].update(exp_avg=s["state"][3]["exp_avg"].astype(np.float32)),
     descent.DescentValueError, r"'exp_avg' of parameter 3 has dtype float32, expected float64"),
    (lambda s: s["state"][3].update(exp_avg=np.zeros(7)), descent.ShapeError,
     r"'exp_avg' of parameter 3 has shape \(7,\), expected \(2,\)$"),
    (lambda s: s["state"][0].update(momentum_buffer=np.zeros((3, 5))), descent.DescentValueError,
     r"^optimiser state of parameter 0 holds \['step', 'exp_avg', 'exp_avg_sq', "
     r"'momentum_buffer'\]; a Adam keeps \['exp_avg', 'exp_avg_sq', 'step'\]$"),
    (lambda s: s["state"][0].update(exp_avg=[[0.0] * 5] * 3), descent.DescentValueError,
     r"'exp_avg' of parameter 0 must be an array, got list$"),
    (lambda s: s.update(state="nothing"), descent.DescentValueError,
     r"must be a dict with 'hyper' and a 'state' list"),
])
def test_load_state_dict_refuses_a_state_that_cannot_be_meant(change, error, match):
    net, opt = _trained_adam()
    before = opt.state_dict()
    with pytest.raises(error, match=match):
        opt.load_state_dict(_tampered(change))
    assert opt.hyper == before["hyper"]
    for state, saved in zip(opt.state, before["state"]):
        for key, value in saved.items():
            np.testing.assert_array_equal(state[key], value)


def test_a_state_annealed_to_a_learning_rate_of_zero_loads():
    net, opt = _trained_adam()
    schedule = descent.schedules.CosineAnnealingLR(opt, T_max=2)
    schedule.step()
    schedule.step()
    assert opt.lr == 0.0
    other = optim.Adam(_networks()[0].parameters(), lr=0.01)
    other.load_state_dict(opt.state_dict())
    assert other.lr == 0.0 and other.state[0]["step"] == 2


def _lbfgs_state(**changes):
    net, _ = _networks()
    opt = optim.LBFGS(net.parameters(), lr=0.5, max_iter=3, history_size=2)

    def closure():
        opt.zero_grad()
        loss = mse(net(X), Y)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    state = opt.state_dict()
    state["memory"].update(changes)
    return net, state


@pytest.mark.parametrize("changes, match", [
    (dict(n_iter=-2), r"^L-BFGS memory n_iter must be an integer >= 0, got -2$"),
    (dict(d=np.zeros(5)), r"^L-BFGS memory d has shape \(5,\), expected \(32,\)$"),
    (dict(prev_flat_grad=np.full(32, np.inf)), r"memory prev_flat_grad has NaN or infinite"),
    (dict(H_diag=float("nan")), r"^L-BFGS memory H_diag must be a number, got nan$"),
    (dict(ro=[1.0]), r"as many old_dirs as old_steps and ro, at most history_size"),
    (dict(old_dirs=[np.zeros(32)] * 3, old_steps=[np.zeros(32)] * 3, ro=[1.0] * 3),
     r"at most history_size of each"),
    (dict(t="soon"), r"^L-BFGS memory t must be a number, got 'soon'$"),
])
def test_lbfgs_refuses_a_memory_that_cannot_be_meant(changes, match):
    net, state = _lbfgs_state(**changes)
    opt = optim.LBFGS(net.parameters(), lr=0.5, max_iter=3, history_size=2)
    with pytest.raises(descent.DescentValueError, match=match):
        opt.load_state_dict(state)
    assert opt.memory["n_iter"] == 0


def test_the_most_state_bytes_an_optimiser_can_hold():
    # the network 3-5-2 has 3·5 + 5 + 5·2 + 2 = 32 float64 numbers: 256 bytes
    params = list(_networks()[0].parameters())
    assert optim.SGD(params, lr=0.1).max_state_bytes() == 256       # momentum buffer
    assert optim.Adam(params).max_state_bytes() == 2 * 256           # two moments
    assert optim.RMSProp(params).max_state_bytes() == 3 * 256
    # L-BFGS: (2·history_size + 2) vectors of the 32 numbers, in float64
    assert optim.LBFGS(params, history_size=4).max_state_bytes() == 10 * 32 * 8


@pytest.mark.parametrize("flat", [True, False])
def test_parameters_finite_sees_a_nan_in_any_parameter(flat):
    net, _ = _networks()
    opt = optim.Adam(net.parameters())
    if flat:
        _train_ours(net, opt, 1)  # a small network: updated through one flat array
        assert opt._flat_state is not None
    assert opt.parameters_finite()
    net[2].bias.data[1] = np.nan
    assert not opt.parameters_finite()
