"""Inspection of a model (dead units) without disturbing training."""

import numpy as np

import descent
from descent import nn


def test_inspection_does_not_disturb_the_training_run():
    model = nn.MLP([3, 8, 2], dropout=0.5, rng=0)
    state = model[2].rng.bit_generator.state
    descent.diagnostics.dead_units(model, np.ones((4, 3)))
    nn.summary(model)
    assert model[2].rng.bit_generator.state == state and model.training
