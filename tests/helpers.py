"""Helpers shared by the op tests: run the same function in descent and PyTorch."""

import numpy as np
import torch

import descent


def descent_value_and_grads(fn, arrays, upstream_seed=0):
    """Forward value and input gradients of ``fn`` in descent (float64)."""
    leaves = [descent.tensor(a, requires_grad=True, dtype="float64") for a in arrays]
    out = fn(*leaves)
    weights = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, size=out.shape)
    out.backward(weights)
    return out.data, [leaf.grad for leaf in leaves]


def torch_value_and_grads(fn, arrays, upstream_seed=0):
    """Forward value and input gradients of ``fn`` in PyTorch (float64, CPU)."""
    leaves = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
              for a in arrays]
    out = fn(*leaves)
    weights = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, size=tuple(out.shape))
    out.backward(torch.tensor(weights))
    grads = [np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.numpy()
             for leaf in leaves]
    return out.detach().numpy(), grads


def assert_matches_torch(fn, torch_fn, arrays, rtol=1e-10, atol=1e-12):
    value, grads = descent_value_and_grads(fn, arrays)
    torch_value, torch_grads = torch_value_and_grads(torch_fn, arrays)
    np.testing.assert_allclose(value, torch_value, rtol=rtol, atol=atol)
    for ours, theirs in zip(grads, torch_grads):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
