"""Model files: one file with the architecture, the weights and the metadata, that can be
loaded without running any code.

The file is a safe archive (see ``descent.archive``): ``descent.json`` holds the format
marker, the descent version, the architecture (a list of layer descriptions), the
parameter shapes and the metadata (preprocessing, class names, training summary);
``params/<name>.npy`` holds each parameter as a plain ``.npy`` array. Loading reads JSON
and raw numbers only — never pickle — and checks every declared size and shape before
reading any data. Files are written atomically, so a crash never leaves half a model.
"""

import json

import numpy as np

from descent._version import __version__
from descent.files.archive import ArchiveError, ArchiveReader, write_archive
from descent.errors import DescentTypeError
from descent.nn.activations import ACTIVATION_MODULES, ELU, LeakyReLU, Softmax
from descent.nn.layers import Dropout, Linear, Sequential
from descent.nn.module import Module

FORMAT = "descent-model"
FORMAT_VERSION = 1
_MAX_LAYERS = 10_000
_MAX_PARAMETERS = 1 << 28  # 268 million numbers: 1 GiB in float32


class ModelFileError(ArchiveError):
    """A model file is missing, unreadable, damaged, or not a descent model."""


# ------------------------------------------------------------------ architecture
def _describe(module):
    if isinstance(module, Linear):
        return {"type": "Linear", "in_features": module.in_features,
                "out_features": module.out_features, "bias": module.bias is not None}
    if isinstance(module, Dropout):
        return {"type": "Dropout", "p": module.p}
    if isinstance(module, LeakyReLU):
        return {"type": "LeakyReLU", "negative_slope": module.negative_slope}
    if isinstance(module, ELU):
        return {"type": "ELU", "alpha": module.alpha}
    if isinstance(module, Softmax):
        return {"type": "Softmax", "axis": module.axis}
    if type(module) in ACTIVATION_MODULES.values():
        return {"type": type(module).__name__}
    raise DescentTypeError(
        f"cannot save a {type(module).__name__}: model files hold Sequential networks of "
        "Linear, Dropout and activation layers"
    )


def architecture(model):
    """The layer list that ``save`` writes for ``model`` (a Sequential or one layer)."""
    layers = list(model) if isinstance(model, Sequential) else [model]
    return [_describe(layer) for layer in layers]


_SIMPLE_ACTIVATIONS = {cls.__name__: cls for cls in ACTIVATION_MODULES.values()
                       if cls not in (LeakyReLU, ELU, Softmax)}


def _number(description, key, kind, low=None, high=None):
    value = description.get(key)
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        raise ModelFileError(f"layer description {description!r} has a bad {key!r}")
    return value


def _build_layer(description, dtype):
    if not isinstance(description, dict):
        raise ModelFileError("each layer description must be a JSON object")
    kind = description.get("type")
    if not isinstance(kind, str):
        raise ModelFileError(f"unknown layer type {kind!r} in the model file")
    if kind == "Linear":
        return Linear(_number(description, "in_features", int, 1, _MAX_PARAMETERS),
                      _number(description, "out_features", int, 1, _MAX_PARAMETERS),
                      bias=bool(description.get("bias", True)), dtype=dtype, init="zeros")
    if kind == "Dropout":
        return Dropout(_number(description, "p", (int, float), 0.0, 0.999))
    if kind == "LeakyReLU":
        return LeakyReLU(_number(description, "negative_slope", (int, float), 0.0))
    if kind == "ELU":
        return ELU(_number(description, "alpha", (int, float), 1e-12))
    if kind == "Softmax":
        return Softmax(_number(description, "axis", int, -8, 8))
    if kind in _SIMPLE_ACTIVATIONS:
        return _SIMPLE_ACTIVATIONS[kind]()
    raise ModelFileError(f"unknown layer type {kind!r} in the model file")


def _expected_shapes(layers, sequential, reader):
    """Parameter shapes the architecture implies, checked before anything is built."""
    shapes, total = {}, 0
    for index, description in enumerate(layers):
        if not isinstance(description, dict) or not isinstance(description.get("type"), str):
            raise reader.fail(f"layer {index} is not a layer description")
        if description["type"] != "Linear":
            continue
        sizes = (description.get("in_features"), description.get("out_features"))
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise reader.fail(f"layer {description!r} has bad sizes")
        prefix = f"{index}." if sequential else ""
        shapes[f"{prefix}weight"] = [sizes[0], sizes[1]]
        if description.get("bias", True):
            shapes[f"{prefix}bias"] = [sizes[1]]
        total += sizes[0] * sizes[1] + sizes[1]
    if total > _MAX_PARAMETERS:
        raise reader.fail(f"the architecture declares {total:,} parameters, more than "
                          "descent will load")
    return shapes


def _check_declared(declared, expected, reader):
    if not isinstance(declared, dict):
        raise reader.fail("the parameter list must map names to shapes")
    if set(declared) != set(expected):
        raise reader.fail(f"the declared parameters {sorted(declared)} do not match the "
                          f"architecture's {sorted(expected)}")
    for name, shape in expected.items():
        if declared[name] != shape:
            raise reader.fail(f"parameter {name} is declared with shape {declared[name]!r}, "
                              f"the architecture needs {shape}")


# ------------------------------------------------------------------ saving and loading
def save(model, path, metadata=None):
    """Write ``model`` (and optional JSON-able ``metadata``) to ``path`` atomically.

    Examples
    --------
    >>> import descent, tempfile, os
    >>> net = descent.nn.MLP([2, 3, 1], rng=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.descent")
    >>> descent.save(net, path)
    >>> loaded = descent.load(path)
    >>> bool((loaded[0].weight.data == net[0].weight.data).all())
    True
    """
    if not isinstance(model, Module):
        raise DescentTypeError(f"save needs a descent Module, got {type(model).__name__}")
    layers = architecture(model)
    if not layers:
        raise DescentTypeError("cannot save an empty Sequential")
    parameters = list(model.named_parameters())
    if len({p.dtype for _, p in parameters}) > 1:
        raise DescentTypeError("cannot save a model whose parameters mix float32 and "
                               "float64; convert them to one dtype first")
    for name, parameter in parameters:
        if not np.all(np.isfinite(parameter.data)):
            raise DescentTypeError(f"cannot save: parameter {name} has NaN or infinite "
                                   "values")
    if metadata is None:
        metadata = getattr(model, "metadata", {})
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise DescentTypeError(f"metadata must be plain JSON data: {error}") from None
    header = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "descent_version": __version__, "architecture": layers,
              "sequential": isinstance(model, Sequential),
              "dtype": parameters[0][1].dtype.name if parameters else "float32",
              "parameters": {name: list(p.shape) for name, p in parameters},
              "metadata": metadata}
    try:
        write_archive(path, header, {name: p.data for name, p in parameters})
    except ArchiveError as error:
        raise ModelFileError(str(error)) from None


def load(path):
    """Read a model written by ``save``; ``model.metadata`` holds its metadata.

    Never runs code from the file. Any problem — missing, truncated, tampered or foreign
    file — raises ``ModelFileError`` with a message saying what is wrong.
    """
    with ArchiveReader(path, "descent model file", ModelFileError) as reader:
        header = reader.checked_header(FORMAT, FORMAT_VERSION, "model file")
        layers = header.get("architecture")
        if not isinstance(layers, list) or not 0 < len(layers) <= _MAX_LAYERS:
            raise reader.fail("the architecture must be a non-empty layer list")
        dtype = header.get("dtype")
        if dtype not in ("float32", "float64"):
            raise reader.fail(f"unsupported dtype {dtype!r}")
        sequential = header.get("sequential", True) is not False
        if not sequential and len(layers) != 1:
            raise reader.fail("a single-layer model must have exactly one layer")
        for description in layers:
            if not isinstance(description, dict) or description.get("type") != "Linear":
                _build_layer(description, dtype)  # validates the fields; allocates little
        expected = _expected_shapes(layers, sequential, reader)
        _check_declared(header.get("parameters"), expected, reader)
        for name, shape in expected.items():
            reader.check_size(name, shape, dtype)
        modules = [_build_layer(description, dtype) for description in layers]
        model = Sequential(*modules) if sequential else modules[0]
        for name, parameter in model.named_parameters():
            values = reader.array(name, parameter.shape, dtype)
            if not np.all(np.isfinite(values)):
                raise reader.fail(f"parameter {name} contains NaN or infinite values")
            parameter.data[...] = values
    metadata = header.get("metadata", {})
    model.metadata = metadata if isinstance(metadata, dict) else {}
    return model
