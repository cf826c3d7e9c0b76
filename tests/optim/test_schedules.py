"""Learning-rate schedules against torch.optim.lr_scheduler, and their argument checks."""

import math

import numpy as np
import pytest
import torch

import descent
from descent import optim
from descent.optim import schedules


def _descent_optimizer(lr=0.1):
    return optim.SGD([descent.tensor([1.0], requires_grad=True, dtype="float64")], lr=lr)


def _torch_optimizer(lr=0.1):
    return torch.optim.SGD([torch.zeros(1, dtype=torch.float64, requires_grad=True)], lr=lr)


def _torch_rates(make_scheduler, epochs, lr=0.1, metrics=None):
    """torch's learning rate after each of ``epochs`` scheduler steps."""
    opt = _torch_optimizer(lr)
    scheduler = make_scheduler(opt)
    rates = []
    for epoch in range(epochs):
        opt.step()  # before scheduler.step(), or torch warns (and warnings are errors)
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        rates.append(opt.param_groups[0]["lr"])
    return np.array(rates)


def _descent_rates(make_scheduler, epochs, lr=0.1, metrics=None):
    opt = _descent_optimizer(lr)
    scheduler = make_scheduler(opt)
    rates = []
    for epoch in range(epochs):
        returned = scheduler.step() if metrics is None else scheduler.step(metrics[epoch])
        assert returned == opt.lr
        rates.append(opt.lr)
    return np.array(rates)


@pytest.mark.parametrize("step_size, gamma", [(1, 0.5), (3, 0.1), (4, 0.9)])
def test_step_lr_matches_torch(step_size, gamma):
    ours = _descent_rates(lambda o: schedules.StepLR(o, step_size, gamma), 20)
    theirs = _torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), 20)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_step_lr_by_hand():
    # lr 0.1, ×0.1 every 2 epochs: epochs 1..5 → 0.1, 0.01, 0.01, 0.001, 0.001
    ours = _descent_rates(lambda o: schedules.StepLR(o, 2, 0.1), 5)
    np.testing.assert_allclose(ours, [0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-12)


@pytest.mark.parametrize("gamma", [0.5, 0.95, 1.0])
def test_exponential_lr_matches_torch(gamma):
    ours = _descent_rates(lambda o: schedules.ExponentialLR(o, gamma), 25)
    theirs = _torch_rates(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma), 25)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("T_max, eta_min", [(10, 0.0), (7, 0.01), (1, 0.0), (25, 1e-3)])
def test_cosine_annealing_matches_torch_up_to_t_max(T_max, eta_min):
    ours = _descent_rates(lambda o: schedules.CosineAnnealingLR(o, T_max, eta_min), T_max)
    theirs = _torch_rates(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max, eta_min), T_max)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)
    assert ours[-1] == pytest.approx(eta_min, abs=1e-15)


def test_cosine_annealing_by_hand_and_stays_at_eta_min_after_t_max():
    # η_min + (η − η_min)(1 + cos(π e / T)) / 2 with η = 0.1, η_min = 0.02, T = 4
    ours = _descent_rates(lambda o: schedules.CosineAnnealingLR(o, 4, 0.02), 8)
    expected = [0.02 + 0.08 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(1, 5)]
    np.testing.assert_allclose(ours[:4], expected, rtol=1e-12)
    np.testing.assert_allclose(ours[4:], 0.02, rtol=1e-12)
    assert ours[1] == pytest.approx(0.06)  # halfway: the midpoint of η and η_min


@pytest.mark.parametrize("power_t", [0.5, 0.25, 1.0, 0.0])
def test_inverse_scaling_follows_its_formula(power_t):
    ours = _descent_rates(lambda o: schedules.InverseScalingLR(o, power_t), 12, lr=0.3)
    expected = [0.3 / (epoch + 1) ** power_t for epoch in range(1, 13)]
    np.testing.assert_allclose(ours, expected, rtol=1e-14)


def test_inverse_scaling_by_hand():
    # default power_t 0.5: epoch 3 → 0.3 / √4 = 0.15
    ours = _descent_rates(lambda o: schedules.InverseScalingLR(o), 3, lr=0.3)
    assert ours[2] == pytest.approx(0.15, rel=1e-14)


def test_schedules_are_closed_form_in_the_initial_rate():
    opt = _descent_optimizer(0.2)
    scheduler = schedules.ExponentialLR(opt, 0.5)
    for _ in range(3):
        scheduler.step()
    assert scheduler.epoch == 3
    assert opt.lr == scheduler.rate(3) == pytest.approx(0.025)


# ----------------------------------------------------------------------------- plateau
MIN_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.8, 0.85, 0.85, 0.85, 0.85, 0.79999,
               0.85, 0.9, 0.95, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
               0.5, 0.5, 0.5, 0.5]


@pytest.mark.parametrize("mode, metrics", [
    ("min", MIN_METRICS),
    ("max", [-m for m in MIN_METRICS]),
    ("max", [2.0 - m for m in MIN_METRICS]),
    ("min", [m + 5 for m in MIN_METRICS]),
])
@pytest.mark.parametrize("settings", [
    dict(),
    dict(factor=0.5, patience=2),
    dict(factor=0.5, patience=1, cooldown=2),
    dict(factor=0.3, patience=0, cooldown=1, min_lr=0.004),
    dict(factor=0.5, patience=1, threshold=0.1, min_lr=0.02),
    dict(factor=0.2, patience=0, cooldown=0, min_lr=1e-6),
])
def test_reduce_on_plateau_matches_torch(mode, metrics, settings):
    ours = _descent_rates(lambda o: schedules.ReduceLROnPlateau(o, mode=mode, **settings),
                          len(metrics), metrics=metrics)
    theirs = _torch_rates(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode=mode, **settings),
        len(metrics), metrics=metrics)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_reduce_on_plateau_ignores_reductions_smaller_than_torchs_eps():
    # torch skips a reduction when old_lr − new_lr <= eps (1e-8 by default), so with
    # min_lr = 0 the rate stops at 0.1·0.2^10 = 1.024e-8 (the next cut, to 2.048e-9, would
    # change it by only 8.2e-9) instead of shrinking towards 0, where descent's lr setter
    # would eventually reject the underflowed lr = 0.
    metrics = [1.0] * 30
    settings = dict(factor=0.2, patience=0, min_lr=0.0)
    ours = _descent_rates(lambda o: schedules.ReduceLROnPlateau(o, **settings), 30,
                          metrics=metrics)
    theirs = _torch_rates(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **settings),
                          30, metrics=metrics)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_reduce_on_plateau_by_hand_with_cooldown_and_min_lr():
    opt = _descent_optimizer(0.1)
    scheduler = schedules.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1,
                                            min_lr=0.03)
    rates = [scheduler.step(m) for m in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
    # epoch 1: best 1.0; 2: bad 1; 3: bad 2 > 1 → 0.05, cooldown 1; 4: cooldown (count
    # reset); 5: bad 1; 6: bad 2 → 0.025 floored at min_lr 0.03; 7: cooldown; 8: bad 1
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03])


def test_reduce_on_plateau_accepts_tensors_and_numpy_scalars():
    opt = _descent_optimizer(0.1)
    scheduler = schedules.ReduceLROnPlateau(opt, patience=0)
    scheduler.step(descent.tensor(1.0))
    scheduler.step(np.float64(2.0))
    assert opt.lr == pytest.approx(0.01)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, match", [
    (lambda o: schedules.StepLR(o, 0), r"step_size.*got 0"),
    (lambda o: schedules.StepLR(o, 2, gamma=0), r"gamma.*got 0"),
    (lambda o: schedules.StepLR(o, 2, gamma=-0.5), r"gamma.*got -0.5"),
    (lambda o: schedules.ExponentialLR(o, 0.0), r"gamma.*got 0.0"),
    (lambda o: schedules.ExponentialLR(o, float("nan")), r"gamma must be a number"),
    (lambda o: schedules.InverseScalingLR(o, -1), r"power_t.*got -1"),
    (lambda o: schedules.CosineAnnealingLR(o, 0), r"T_max.*got 0"),
    (lambda o: schedules.CosineAnnealingLR(o, 10, eta_min=-0.1), r"eta_min.*got -0.1"),
    (lambda o: schedules.ReduceLROnPlateau(o, mode="best"), r"mode.*'best'"),
    (lambda o: schedules.ReduceLROnPlateau(o, factor=1.0), r"factor.*got 1.0"),
    (lambda o: schedules.ReduceLROnPlateau(o, factor=0), r"factor.*got 0"),
    (lambda o: schedules.ReduceLROnPlateau(o, patience=-1), r"patience.*got -1"),
    (lambda o: schedules.ReduceLROnPlateau(o, threshold=-1e-3), r"threshold.*got -0.001"),
    (lambda o: schedules.ReduceLROnPlateau(o, cooldown=-2), r"cooldown.*got -2"),
    (lambda o: schedules.ReduceLROnPlateau(o, min_lr=-1.0), r"min_lr.*got -1.0"),
])
def test_bad_arguments_raise_descent_value_error_naming_the_value(make, match):
    with pytest.raises(descent.DescentValueError, match=match):
        make(_descent_optimizer())


@pytest.mark.parametrize("make", [
    lambda o: schedules.StepLR(o, 2), lambda o: schedules.ExponentialLR(o, 0.5),
    lambda o: schedules.InverseScalingLR(o), lambda o: schedules.CosineAnnealingLR(o, 5),
])
def test_a_schedule_needs_a_descent_optimizer(make):
    with pytest.raises(descent.DescentValueError, match="descent optimiser"):
        make(_torch_optimizer())
