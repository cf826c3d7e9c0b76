"""Modules, layers, initialisers, dropout, counting and summaries."""

import numpy as np
import pytest
import torch

import descent
from descent import nn


def test_linear_matches_torch_linear():
    layer = nn.Linear(4, 3, dtype="float64", rng=0)
    reference = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.data.T))
        reference.bias.copy_(torch.tensor(np.array([0.1, -0.2, 0.3])))
    layer.bias.data[...] = [0.1, -0.2, 0.3]
    x = np.random.default_rng(1).normal(size=(5, 4))
    ours = layer(x)
    theirs = reference(torch.tensor(x))
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=1e-12)


def test_module_accepts_ndarray_and_uses_the_parameters_dtype():
    layer = nn.Linear(2, 1)
    out = layer(np.ones((3, 2)))  # float64 input, float32 layer
    assert out.dtype == np.float32 and out.shape == (3, 1)


def test_parameters_names_and_children():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    assert len(list(net.parameters())) == 3
    assert len(list(net.children())) == 3 and len(net) == 3
    assert isinstance(net[1], nn.ReLU)
    assert "Linear(in_features=4, out_features=2, bias=False)" in repr(net)


def test_shared_parameter_is_listed_once():
    layer = nn.Linear(2, 2)
    net = nn.Sequential(layer, nn.Tanh(), layer)
    assert len(list(net.parameters())) == 2


def test_custom_module_registers_attributes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 3)
            self.scale = nn.Parameter([2.0])

        def forward(self, x):
            return self.hidden(x).tanh() * self.scale

    net = Net()
    assert sorted(n for n, _ in net.named_parameters()) == ["hidden.bias", "hidden.weight",
                                                            "scale"]
    net(np.ones((1, 2))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_module_without_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(descent.DescentTypeError, match="super"):
        Broken()


def test_state_dict_round_trip_and_checks():
    source = nn.MLP([3, 4, 2], rng=1)
    target = nn.MLP([3, 4, 2], rng=2)
    target.load_state_dict(source.state_dict())
    for a, b in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    state = source.state_dict()
    state["0.weight"][...] = 99  # a copy: the model is untouched
    assert not np.any(source[0].weight.data == 99)
    with pytest.raises(descent.ShapeError, match="missing.*0.bias"):
        target.load_state_dict({k: v for k, v in state.items() if k != "0.bias"})
    wrong = dict(state, **{"0.weight": np.zeros((4, 3))})
    with pytest.raises(descent.ShapeError, match="0.weight.*shape"):
        target.load_state_dict(wrong)


def test_frozen_parameter_gets_no_gradient_and_is_never_updated():
    net = nn.MLP([2, 3, 1], activation="tanh", rng=0)
    net[0].weight.requires_grad = False
    before = net[0].weight.data.copy()
    optimizer = descent.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        descent.losses.mse(net(np.ones((4, 2))), np.zeros((4, 1))).backward()
        optimizer.step()
    assert net[0].weight.grad is None
    np.testing.assert_array_equal(net[0].weight.data, before)
    assert nn.count_parameters(net, trainable_only=True) == nn.count_parameters(net) - 6


def test_mlp_builder_layers_and_per_layer_activations():
    net = nn.MLP([4, 8, 6, 3], activation=["relu", "tanh"], output="softmax", dropout=0.2)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Tanh", "Dropout", "Linear",
                     "Softmax"]
    with pytest.raises(descent.DescentValueError, match="2 hidden layers"):
        nn.MLP([4, 8, 6, 3], activation=["relu"])
    with pytest.raises(descent.DescentValueError, match="unknown activation 'sigmod'.*sigmoid"):
        nn.MLP([2, 2, 1], activation="sigmod")
    with pytest.raises(descent.DescentValueError, match="at least"):
        nn.MLP([3])
    with pytest.raises(descent.DescentValueError, match="positive integer"):
        nn.Linear(0, 3)


def test_summary_and_count():
    text = nn.summary(nn.MLP([2, 1024, 512, 3], activation="sigmoid", output="softmax"))
    first_layer = text.splitlines()[1].split()
    assert first_layer == ["0:", "Linear(2", "→", "1024)", "(n,", "1024)", "3072"]
    assert "total parameters: 529411" in text


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


def test_dropout_is_inverted_and_off_in_eval_mode():
    drop = nn.Dropout(0.3, rng=0)
    x = np.ones((200, 500))
    out = drop(x).data
    zero_fraction = np.mean(out == 0)
    assert abs(zero_fraction - 0.3) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / 0.7, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.01  # expectation preserved
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
    assert not net[1].training
    with pytest.raises(descent.DescentValueError, match="p must be in"):
        nn.Dropout(1.0)


def test_dropout_gradient_follows_the_mask():
    x = descent.tensor(np.ones((4, 5)), requires_grad=True)
    out = nn.Dropout(0.5, rng=3)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # 2 where kept, 0 where dropped


@pytest.mark.parametrize("name, mean, std", [
    ("xavier_normal", 0.0, np.sqrt(2 / (300 + 200))),
    ("xavier_uniform", 0.0, np.sqrt(6 / (300 + 200)) / np.sqrt(3)),
    ("he_normal", 0.0, np.sqrt(2 / 300)),
    ("he_uniform", 0.0, np.sqrt(6 / 300) / np.sqrt(3)),
    ("normal", 0.0, 1.0),
    ("uniform", 0.0, 2 / np.sqrt(12)),
])
def test_initialiser_statistics(name, mean, std):
    w = nn.init.get(name)((300, 200), np.random.default_rng(0))
    assert abs(w.mean() - mean) < 0.02 * max(std, 0.1)
    assert w.std() == pytest.approx(std, rel=0.02)


def test_constant_and_zero_initialisers_and_biases_start_at_zero():
    np.testing.assert_array_equal(nn.init.constant(0.5)((2, 2)), np.full((2, 2), 0.5))
    layer = nn.Linear(3, 2, init="zeros")
    assert not layer.weight.data.any() and not layer.bias.data.any()
    with pytest.raises(descent.DescentValueError, match="he_normal"):
        nn.Linear(3, 2, init="hee")


def test_same_seed_same_weights_bit_for_bit():
    descent.manual_seed(42)
    first = nn.MLP([5, 7, 3]).state_dict()
    descent.manual_seed(42)
    second = nn.MLP([5, 7, 3]).state_dict()
    third = nn.MLP([5, 7, 3], rng=np.random.default_rng(42)).state_dict()
    fourth = nn.MLP([5, 7, 3], rng=42).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
        np.testing.assert_array_equal(third[key], fourth[key])


def test_default_init_follows_the_activation():
    relu_net = nn.MLP([400, 300, 1], activation="relu", rng=0)
    tanh_net = nn.MLP([400, 300, 1], activation="tanh", rng=0)
    assert relu_net[0].weight.data.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert tanh_net[0].weight.data.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)


def test_float64_network():
    net = nn.MLP([2, 3, 1], dtype="float64")
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net(np.ones((1, 2))).dtype == np.float64


def test_dropout_with_an_int_seed_draws_fresh_masks_and_repeats_from_the_seed():
    first, second = nn.Dropout(0.5, rng=0), nn.Dropout(0.5, rng=0)
    a, b = first(np.ones(64)).data, first(np.ones(64)).data
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(second(np.ones(64)).data, a)


def test_inspection_does_not_disturb_the_training_run():
    model = nn.MLP([3, 8, 2], dropout=0.5, rng=0)
    state = model[2].rng.bit_generator.state
    descent.diagnostics.dead_units(model, np.ones((4, 3)))
    nn.summary(model)
    assert model[2].rng.bit_generator.state == state and model.training
