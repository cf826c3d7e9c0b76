"""PyTorch both ways: ``to_torch`` gives a ``torch.nn.Sequential`` that computes what the
descent network computes, ``from_torch`` the reverse, and a round trip keeps every
weight bit for bit; layers that do not convert are refused by name and position."""

import pickle
import sys

import numpy as np
import pytest

import descent
from descent import nn
from descent.errors import DescentError, DescentTypeError, DescentValueError
from descent.interop import from_torch, to_torch
from descent.interop.torch_convert import Step
from descent.nn.activations import ACTIVATION_MODULES
from descent.nn.inspect import predict

torch = pytest.importorskip("torch")

ACTIVATIONS = sorted(ACTIVATION_MODULES)
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


def _inputs(dtype, rows=16, features=4, seed=1):
    return np.random.default_rng(seed).normal(0, 2, size=(rows, features)).astype(dtype)


def _torch_outputs(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


def _every_torch_layer(dtype=torch.float32):
    t = torch.nn
    return t.Sequential(
        t.Linear(4, 6), t.ReLU(), t.Linear(6, 6), t.Tanh(), t.Linear(6, 5), t.Sigmoid(),
        t.LeakyReLU(0.2), t.Linear(5, 5, bias=False), t.ELU(0.5), t.Identity(),
        t.Dropout(0.3), t.Linear(5, 3), t.Softmax(dim=-1)).to(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_computes_what_descent_computes(activation, dtype):
    net = nn.MLP([4, 6, 5, 3], activation=activation, output=activation, dropout=0.1,
                 dtype=dtype, rng=0).eval()
    twin = to_torch(net)
    X = _inputs(dtype)
    assert twin[0].weight.dtype == getattr(torch, dtype) and not twin.training
    np.testing.assert_allclose(_torch_outputs(twin, X), predict(net, X),
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def test_to_torch_copies_weights_transposed_with_their_settings():
    net = nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.3), nn.Linear(2, 2, bias=False),
                        nn.ELU(0.7), nn.Dropout(0.25), nn.Softmax(axis=1))
    net[2].weight.requires_grad = False
    twin = to_torch(net)
    assert [type(m).__name__ for m in twin] == ["Linear", "LeakyReLU", "Linear", "ELU",
                                                "Dropout", "Softmax"]
    np.testing.assert_array_equal(twin[0].weight.detach().numpy(), net[0].weight.data.T)
    assert twin[2].bias is None and not twin[2].weight.requires_grad
    assert (twin[1].negative_slope, twin[3].alpha, twin[4].p, twin[5].dim) == (0.3, 0.7,
                                                                               0.25, 1)
    assert twin.training and twin[4].training  # descent's modules start in training mode
    with torch.no_grad():
        twin[0].weight.zero_()
    assert net[0].weight.data.any()  # a copy, not the same memory


def test_gradients_agree_so_training_can_go_on_in_pytorch():
    net = nn.MLP([4, 5, 1], activation="tanh", dtype="float64", rng=0)
    X, y = _inputs("float64"), np.random.default_rng(2).normal(size=(16, 1))
    loss = descent.losses.mse(net(X), y)
    loss.backward()
    twin = to_torch(net)
    theirs = torch.nn.functional.mse_loss(twin(torch.from_numpy(X)), torch.from_numpy(y))
    theirs.backward()
    assert theirs.item() == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(twin[0].weight.grad.numpy().T, net[0].weight.grad, rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_from_torch_computes_what_pytorch_computes(dtype):
    module = _every_torch_layer(getattr(torch, dtype)).eval()
    net = from_torch(module)
    X = _inputs(dtype)
    assert not net.training and net[0].weight.dtype == dtype
    np.testing.assert_allclose(predict(net, X), _torch_outputs(module, X),
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def test_from_torch_keeps_requires_grad_and_training_mode_and_opens_nested_networks():
    t = torch.nn
    module = t.Sequential(t.Linear(2, 3), t.Sequential(t.ReLU(), t.Linear(3, 1)))
    module[0].bias.requires_grad_(False)
    module[1].eval()
    net = from_torch(module)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    assert net[0].weight.requires_grad and not net[0].bias.requires_grad
    assert net.training and net[0].training and not net[2].training


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_round_trip_keeps_every_weight_bit_for_bit(dtype):
    net = nn.MLP([4, 6, 5, 3], activation=ACTIVATIONS[:2], output="softmax", dtype=dtype,
                 rng=0)
    back = from_torch(to_torch(net))
    for (name, ours), (_, theirs) in zip(net.named_parameters(), back.named_parameters()):
        np.testing.assert_array_equal(theirs.data, ours.data, err_msg=name)
        assert theirs.dtype == ours.dtype
    module = _every_torch_layer(getattr(torch, dtype))
    again = to_torch(from_torch(module))
    assert [type(m) for m in again] == [type(m) for m in module]
    for name, value in module.state_dict().items():
        assert torch.equal(again.state_dict()[name], value), name


def test_step_moves_as_a_small_module_that_pickles():
    net = nn.Sequential(nn.Linear(4, 3), nn.Step(), nn.Linear(3, 1))
    twin = to_torch(net)
    assert isinstance(twin[1], Step)
    X = _inputs("float32")
    np.testing.assert_array_equal(_torch_outputs(twin[:2], X), predict(net[0], X) > 0)
    copied = pickle.loads(pickle.dumps(twin))
    np.testing.assert_array_equal(_torch_outputs(copied, X), _torch_outputs(twin, X))
    assert type(from_torch(twin)[1]) is nn.Step


def test_a_network_from_pytorch_saves_as_a_descent_model_file(tmp_path):
    net = from_torch(_every_torch_layer().eval())
    descent.save(net, tmp_path / "net.descent")
    X = _inputs("float32")
    np.testing.assert_array_equal(predict(descent.load(tmp_path / "net.descent"), X),
                                  predict(net, X))


@pytest.mark.parametrize("layer, position", [
    (torch.nn.Conv2d(1, 1, 3), "1"), (torch.nn.BatchNorm1d(3), "1"),
    (torch.nn.GELU(), "1"), (torch.nn.LogSoftmax(dim=1), "1"),
    (torch.nn.Sequential(torch.nn.ReLU(), torch.nn.LayerNorm(3)), "1.1")])
def test_from_torch_refuses_other_layers_naming_them_and_their_position(layer, position):
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), layer)
    name = type(layer[1] if isinstance(layer, torch.nn.Sequential) else layer).__name__
    with pytest.raises(DescentTypeError, match=rf"^layer {position} is a torch\.nn\.{name}, "
                                               "which from_torch does not take; it takes "
                                               r"torch\.nn\.Sequential networks of Linear"):
        from_torch(module)


@pytest.mark.parametrize("module, message", [
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmax()),
     r"layer 1 \(torch\.nn\.Softmax\) has no dim .* torch\.nn\.Softmax\(dim=-1\)"),
    (torch.nn.Sequential(torch.nn.Linear(2, 2).half()), r"layer 0 .* holds float16 weights"),
    (torch.nn.Sequential(torch.nn.LeakyReLU(-0.5)), "negative_slope -0.5"),
    (torch.nn.Sequential(torch.nn.Dropout(1.0)), r"p = 1\.0"),
])
def test_from_torch_refuses_settings_descent_does_not_take(module, message):
    with pytest.raises(DescentValueError, match=message):
        from_torch(module)


def test_what_is_not_a_sequential_or_mixes_float_types_is_refused():
    with pytest.raises(DescentTypeError, match="takes a torch.nn.Sequential, got Linear"):
        from_torch(torch.nn.Linear(2, 2))
    mixed = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2).double())
    with pytest.raises(DescentTypeError, match="mix float32 and float64"):
        from_torch(mixed)
    with pytest.raises(DescentTypeError, match="empty"):
        from_torch(torch.nn.Sequential())


class Square(nn.Module):
    def forward(self, x):
        return x * x


def test_to_torch_refuses_a_layer_it_does_not_take_and_a_missing_pytorch(monkeypatch):
    with pytest.raises(DescentTypeError, match=r"^layer 2 is a Square, which to_torch does "
                                               "not take"):
        to_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), Square()))
    assert [type(m).__name__ for m in to_torch(nn.Linear(2, 2))] == ["Linear"]
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(DescentError, match="needs PyTorch: pip install torch"):
        to_torch(nn.Linear(2, 2))
