"""The lecture notes' worked backpropagation examples, reproduced through the public API
(a Sequential with the notes' weights, the ½Σ squared error, plain SGD) to the digits the
notes print."""

import numpy as np
import pytest

import descent
from descent import nn


def _network(w_hidden, b_hidden, w_out, b_out):
    net = nn.Sequential(nn.Linear(3, 2, dtype="float64"), nn.Sigmoid(),
                        nn.Linear(2, 1, dtype="float64"), nn.Sigmoid())
    net[0].weight.data[...] = w_hidden
    net[0].bias.data[...] = b_hidden
    net[2].weight.data[...] = w_out
    net[2].bias.data[...] = b_out
    return net


def _forward_with_error_terms(net, x):
    """Run layer by layer, keeping ∂E/∂z (the notes' error terms e_j) on each net input."""
    z_hidden = net[0](x).retain_grad()
    o_hidden = net[1](z_hidden)
    z_out = net[2](o_hidden).retain_grad()
    return z_hidden, o_hidden, z_out, net[3](z_out)


def test_student_grade_example_seeds_000_001():
    # Inputs 1, 2, 3; hidden units 4, 5; output unit 6. Row i, column j of W is w_ij.
    net = _network(w_hidden=[[0.2, -0.3], [0.4, 0.1], [-0.5, 0.2]], b_hidden=[-0.4, 0.2],
                   w_out=[[-0.3], [-0.2]], b_out=[0.1])
    x = descent.tensor([[1.0, 0.0, 1.0]], dtype="float64")
    z_hidden, o_hidden, z_out, o6 = _forward_with_error_terms(net, x)
    # i4 = 1·0.2 + 0·0.4 + 1·(−0.5) − 0.4 = −0.7;  i5 = −0.3 + 0.2 + 0.2 = 0.1
    np.testing.assert_allclose(z_hidden.data, [[-0.7, 0.1]])
    # o4 = σ(−0.7) = 0.332, o5 = σ(0.1) = 0.525; i6 = 0.332·(−0.3) + 0.525·(−0.2) + 0.1
    assert np.round(o_hidden.data, 3).tolist() == [[0.332, 0.525]]
    assert round(z_out.item(), 3) == -0.105
    assert round(o6.item(), 3) == 0.474

    loss = descent.losses.sse(o6, [[1.0]])            # E = ½ (t − o6)²
    optimizer = descent.optim.SGD(net.parameters(), lr=0.9)
    optimizer.zero_grad()
    loss.backward()
    # e6 = −(t − o6)(1 − o6)o6 = −0.1311; e5 = e6·w56·(1 − o5)o5 = 0.0065;
    # e4 = e6·w46·(1 − o4)o4 = 0.0087. The notes work from o6 rounded to 0.474, so their
    # last digit can differ by one from the exact value (−0.131169 for e6).
    assert z_out.grad.item() == pytest.approx(-0.1311, abs=1e-4)
    np.testing.assert_allclose(z_hidden.grad, [[0.0087, 0.0065]], atol=1e-4)
    # ∂E/∂w46 = e6·o4 = −0.0435, ∂E/∂w56 = e6·o5 = −0.0688, ∂E/∂b6 = e6
    np.testing.assert_allclose(net[2].weight.grad[:, 0], [-0.0435, -0.0688], atol=1e-4)

    optimizer.step()                                   # w ← w − 0.9 · ∂E/∂w
    assert np.round(net[2].weight.data[:, 0], 3).tolist() == [-0.261, -0.138]  # w46, w56
    assert round(net[2].bias.data[0], 3) == 0.218                              # b6
    assert np.round(net[0].weight.data, 3).tolist() == [[0.192, -0.306],       # w14, w15
                                                        [0.4, 0.1],            # w24, w25
                                                        [-0.508, 0.194]]       # w34, w35
    assert np.round(net[0].bias.data, 3).tolist() == [-0.408, 0.194]          # b4, b5


def test_ecs171_example_seed_004_steps_downhill():
    # Hidden units A, B; output Z; w_0j are the biases.
    net = _network(w_hidden=[[0.6, 0.9], [0.8, 0.8], [0.6, 0.4]], b_hidden=[0.5, 0.7],
                   w_out=[[0.9], [0.9]], b_out=[0.5])
    x = descent.tensor([[0.4, 0.2, 0.7]], dtype="float64")
    z_hidden, o_hidden, z_out, n_z = _forward_with_error_terms(net, x)
    assert np.round(z_hidden.data, 4).tolist() == [[1.32, 1.5]]         # Z_A, Z_B
    assert np.round(o_hidden.data, 4).tolist() == [[0.7892, 0.8176]]    # N_A, N_B
    assert round(z_out.item(), 4) == 1.9461                              # Z_k
    assert round(n_z.item(), 3) == 0.875                                 # N_z
    descent.losses.sse(n_z, [[0.8]]).backward()     # E = ½(ŷ − y)², residual 0.075
    descent.optim.SGD(net.parameters(), lr=0.1).step()
    # ∂E/∂w_AZ = (ŷ − y)·σ'(Z_k)·N_A = 0.07505 · 0.87505 · 0.12495 · 0.78918 = 0.006476.
    # The slides write w_new = w + η·Δw with Δw = ∂E/∂w, which climbs the error surface
    # (0.9 → 0.90067); gradient descent steps against the gradient: 0.9 − 0.1·0.006476.
    assert round(net[2].weight.data[0, 0], 5) == 0.89935                 # w_AZ
    assert round(net[2].weight.data[1, 0], 5) == 0.89933                 # w_BZ (slides: 0.90069)
    assert round(net[2].bias.data[0], 5) == 0.49918                      # w_0Z (slides: 0.5008)


def test_quiz_network_has_529411_parameters():
    # 1024·2 + 1024 + 512·1024 + 512 + 512·3 + 3 = 529,411 (seed 002's quiz)
    model = nn.MLP([2, 1024, 512, 3], activation="sigmoid", output="softmax")
    assert nn.count_parameters(model) == 529_411


@pytest.mark.parametrize("x0, expected", [(2.0, 1.87), (-1.0, -0.89)])
def test_quadratic_gradient_step(x0, expected):
    # f(x) = 2 − 3x + 4x², f'(x) = −3 + 8x: f'(2) = 13, f'(−1) = −11; lr 0.01
    x = descent.tensor(x0, requires_grad=True, dtype="float64")
    (2 - 3 * x + 4 * x ** 2).backward()
    descent.optim.SGD([x], lr=0.01).step()
    assert round(x.item(), 2) == expected
