"""Activation modules against PyTorch."""

import numpy as np
import pytest
import torch

import descent
from descent import nn


@pytest.mark.parametrize("module, torch_module", [
    (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Tanh(), torch.nn.Tanh()),
    (nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.ELU(0.7), torch.nn.ELU(0.7)), (nn.Softmax(), torch.nn.Softmax(dim=-1)),
    (nn.Identity(), torch.nn.Identity()),
])
def test_activation_modules_match_torch(module, torch_module):
    x = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_allclose(module(descent.tensor(x)).data,
                               torch_module(torch.tensor(x)).numpy(), rtol=1e-12)


def test_step_module():
    np.testing.assert_array_equal(nn.Step()(np.array([[-1.0, 2.0]])).data, [[0.0, 1.0]])
