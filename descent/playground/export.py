"""What leaves the playground: the model as a ``.descent`` file (and one read back), and
a Python script that rebuilds the network and trains it with descent's API.

The model file is ``descent.save``'s, written to a private temporary folder and handed
to the browser; nothing is written anywhere else. Its metadata say what the model takes
(``descent.playground.features.inputs_for`` computes it):
``metadata["playground"]["features"]``, the feature columns in order, computed from
points standardised by ``input_mean`` and ``input_scale``.
"""

import tempfile
from pathlib import Path

import numpy as np

from descent.errors import DescentValueError
from descent.files.model import load, save
from descent.nn.activations import Activation, ELU, LeakyReLU
from descent.nn.init import DEFAULT_FOR_ACTIVATION
from descent.nn.layers import Dropout, Linear, Sequential
from descent.playground.network import layers_of
from descent.playground.settings import OPTIMIZERS, UPLOAD_BYTES

NOTE = ("The model takes the feature columns listed in 'features', in that order, computed "
        "from points (x1, x2) standardised as (x - input_mean) / input_scale; "
        "descent.playground.features.inputs_for(model, points) computes them.")


def model_bytes(model, metadata):
    """The ``.descent`` file of ``model`` (written by ``descent.save``), as bytes."""
    with tempfile.TemporaryDirectory(prefix="descent-playground-") as folder:
        path = Path(folder) / "model.descent"
        save(model, path, metadata={"playground": {**metadata, "note": NOTE}})
        return path.read_bytes()


def read_model(data):
    """A model from the bytes of a ``.descent`` file (``descent.load``: no code runs)."""
    if len(data) > UPLOAD_BYTES:
        raise DescentValueError(f"the file has {len(data):,} bytes; the playground loads "
                                f"models of at most {UPLOAD_BYTES:,}")
    with tempfile.TemporaryDirectory(prefix="descent-playground-") as folder:
        path = Path(folder) / "uploaded.descent"
        path.write_bytes(data)
        return load(path)


def architecture_of(model):
    """``(hidden sizes, activations, dropout, output activation, outputs, inputs)`` of a
    loaded network, or a ``DescentValueError`` when the page cannot show it: it must be
    dense layers, each followed by at most an activation (with its default setting) and
    a dropout."""
    if not isinstance(model, Sequential):
        raise DescentValueError("the playground shows Sequential networks of dense layers")
    modules = list(model)
    hidden, activations, dropout = [], [], []
    output_activation, index = "identity", 0
    while index < len(modules):
        layer = modules[index]
        if not isinstance(layer, Linear):
            raise DescentValueError(f"layer {index} is a {type(layer).__name__} where the "
                                    "playground expects a dense (Linear) layer")
        index += 1
        activation, rate = "identity", 0.0
        if index < len(modules) and isinstance(modules[index], Activation):
            module = modules[index]
            if isinstance(module, LeakyReLU) and module.negative_slope != 0.01 \
                    or isinstance(module, ELU) and module.alpha != 1.0:
                raise DescentValueError(f"the playground uses {module.name} with its default "
                                        "setting; this model changed it")
            activation = module.name
            index += 1
        if index < len(modules) and isinstance(modules[index], Dropout):
            rate = float(modules[index].p)
            index += 1
        if index == len(modules):
            output_activation = activation
            if rate:
                raise DescentValueError("the model ends in dropout; the playground's output "
                                        "layer has none")
        else:
            hidden.append(layer.out_features)
            activations.append(activation)
            dropout.append(round(rate, 6))
    linears = layers_of(model)
    return (hidden, activations, dropout, output_activation, linears[-1].out_features,
            linears[0].in_features)


def copy_weights(source, target):
    """Copy every dense layer's weights and biases from ``source`` into ``target`` (two
    networks of the same shapes)."""
    for a, b in zip(layers_of(source), layers_of(target)):
        b.weight.data[...] = a.weight.data
        if a.bias is not None and b.bias is not None:
            b.bias.data[...] = a.bias.data


# ------------------------------------------------------------------------ Python script
_FEATURE_CODE = {"x1": "x1", "x2": "x2", "x1^2": "x1 * x1", "x2^2": "x2 * x2",
                 "x1*x2": "x1 * x2", "sin(x1)": "np.sin(x1)", "sin(x2)": "np.sin(x2)"}
_MODULES = {"identity": "nn.Identity()", "step": "nn.Step()", "sigmoid": "nn.Sigmoid()",
            "tanh": "nn.Tanh()", "relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU()",
            "elu": "nn.ELU()", "softmax": "nn.Softmax()"}
_CLASSES = {"sgd": "SGD", "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adam": "Adam",
            "adamw": "AdamW"}


def _array(values, integers=False, points=False):
    """Python source for an array of points or labels (exact: floats as ``repr``)."""
    values = np.asarray(values)
    if not len(values):
        return "np.zeros((0, 2))" if points else \
            f"np.zeros(0{', dtype=int' if integers else ''})"
    if integers:
        return f"np.array({values.astype(int).tolist()!r})"
    return f"np.array({values.astype(np.float64).tolist()!r})"


def python_script(settings, model, output, data, epochs, stop_code):
    """A script that rebuilds the page's network (same layers, same initial weights
    for the same seed) and trains it on the page's points with ``descent.train``.

    ``data`` holds ``X_train, y_train, X_test, y_test`` (points, before the features);
    ``stop_code`` lists the stopping criteria as Python expressions.
    """
    integers = output.task != "regression"
    columns = ", ".join(_FEATURE_CODE[f] for f in settings["features"])
    sizes = [len(settings["features"]), *settings["hidden"], output.units]
    following = [*settings["activations"], output.activation]
    lines = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        init = DEFAULT_FOR_ACTIVATION[following[index]]
        parts = [f"nn.Linear({fan_in}, {fan_out}, dtype=\"float32\", init=\"{init}\", "
                 f"rng={settings['init_seed'] + index})"]
        if following[index] != "identity" or index < len(settings["hidden"]):
            parts.append(_MODULES[following[index]])
        if index < len(settings["hidden"]) and settings["dropout"][index] > 0:
            parts.append(f"nn.Dropout({settings['dropout'][index]!r}, "
                         f"rng={settings['init_seed'] + 1000 + index})")
        lines.append("    " + ", ".join(parts) + ",")
    name, options = OPTIMIZERS[settings["optimizer"]]
    option_text = "".join(f", {key}={value!r}" for key, value in options.items())
    loss = repr(settings["loss"])
    penalty = ""
    if settings["regularization"] != "none" and settings["regularization_rate"] > 0:
        kind = settings["regularization"]
        penalty = (
            f"weights = [m.weight for m in model if isinstance(m, nn.Linear)]\n"
            f"# the data loss plus the {kind.upper()} penalty on the weights\n"
            f"loss = descent.losses.Penalized({settings['loss']!r}, weights, "
            f"{kind}={settings['regularization_rate']!r})\n")
        loss = "loss"
    classes = "" if output.task == "regression" else \
        f", classes={list(range(output.units if output.units > 1 else 2))!r}"
    batch = settings["batch_size"] or None
    validation = "validation=(features(X_test), y_test), " if len(data[2]) else ""
    return f'''"""The network of descent's playground, rebuilt and trained with descent's API.

Data: {settings["dataset"]} ({len(data[0])} training and {len(data[2])} test points, as on
the page). The inputs are the features {", ".join(settings["features"])} of each point.
"""

import numpy as np

import descent
from descent import nn

X_train = {_array(data[0], points=True)}
y_train = {_array(data[1], integers)}
X_test = {_array(data[2], points=True)}
y_test = {_array(data[3], integers)}


def features(points):
    """The columns the network sees."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.column_stack([{columns}]).astype(np.float32)


model = nn.Sequential(
{chr(10).join(lines)}
)
optimizer = descent.optim.{_CLASSES[name]}(
    model.parameters(), lr={settings["learning_rate"]!r}{option_text})
{penalty}history = descent.train(
    model, features(X_train), y_train, loss={loss}, optimizer=optimizer,
    batch_size={batch!r}, epochs={epochs}, seed=0, {validation}task={output.task!r}{classes},
    stop=[{", ".join(stop_code)}], progress=False)
print(history.stop_reason)
print({{key: value for key, value in history.last.items() if not isinstance(value, dict)}})
'''


def stop_code(settings):
    """The stopping criteria of the settings, as Python expressions."""
    code = []
    if settings["plateau_patience"]:
        code.append(f"descent.stopping.LossPlateau(1e-4, {settings['plateau_patience']})")
    if settings["error_threshold"]:
        code.append(f"descent.stopping.ErrorRate({settings['error_threshold']!r})")
    if settings["early_stopping"]:
        code.append(f"descent.stopping.EarlyStopping('val_loss', {settings['early_stopping']})")
    if settings["weight_change"]:
        code.append(f"descent.stopping.WeightChange({settings['weight_change']!r})")
    return code
