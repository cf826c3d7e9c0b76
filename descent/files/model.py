"""Model files: one file with the architecture, the weights and the metadata, that can be
loaded without running any code.

The file is a safe archive (see ``descent.files.archive``): ``descent.json`` holds the
format marker, the descent version, the architecture (a list of layer descriptions), the
parameter shapes and the metadata (preprocessing, class names, training summary);
``params/<name>.npy`` holds each parameter as a plain ``.npy`` array. Loading reads JSON
and raw numbers only — never pickle — checks every field of the description and every
declared size and shape before reading any data, and reads each weight array straight
into the layer that holds it. Files are written atomically, so a crash never leaves half
a model, and the same model always gives the same bytes.
"""

import json
import math
import reprlib
import sys

import numpy as np

from descent._version import __version__
from descent.files.archive import ArchiveError, ArchiveReader, write_archive
from descent.errors import DescentTypeError, DescentValueError
from descent.nn.activations import ACTIVATION_MODULES, ELU, LeakyReLU, Softmax
from descent.nn.layers import Dropout, Linear, Sequential
from descent.nn.module import Module

FORMAT = "descent-model"
FORMAT_VERSION = 1
_MAX_LAYERS = 10_000
MAX_PARAMETERS = 1 << 28  # 268 million numbers: 1 GiB in float32
_DTYPES = ("float32", "float64")
_HEADER_FIELDS = ("format", "format_version", "descent_version", "architecture",
                  "sequential", "dtype", "parameters", "metadata")
# Values from a file, shortened for messages: a hostile file can hold long ones.
_shown = reprlib.repr


class ModelFileError(ArchiveError):
    """A model file is missing, unreadable, damaged, or not a descent model."""


# ------------------------------------------------------------------ architecture
def _integer(low, high):
    """A setting's rule: an integer from ``low`` to ``high`` (JSON's true is not 1)."""
    return (f"an integer from {low} to {high}",
            lambda value: type(value) is int and low <= value <= high)


def _number(condition, test):
    """A setting's rule: a number a float holds finitely, for which ``test`` holds."""
    # the comparisons fail for NaN, infinities and integers too large for a float
    return (f"a finite number {condition}",
            lambda value: (type(value) in (int, float)
                           and -sys.float_info.max <= value <= sys.float_info.max
                           and test(value)))


# The layers a model file can hold and every setting each one stores, with the values
# descent accepts: load refuses anything else, and save refuses to write what load refuses.
_SETTINGS = {cls: {} for cls in ACTIVATION_MODULES.values()} | {
    Linear: {"in_features": _integer(1, MAX_PARAMETERS),
             "out_features": _integer(1, MAX_PARAMETERS),
             "bias": ("true or false", lambda value: type(value) is bool)},
    Dropout: {"p": _number("in [0, 1)", lambda p: 0 <= p < 1)},
    LeakyReLU: {"negative_slope": _number(">= 0", lambda slope: slope >= 0)},
    ELU: {"alpha": _number("> 0", lambda alpha: alpha > 0)},
    Softmax: {"axis": _integer(-8, 8)},
}
_CLASSES = {cls.__name__: cls for cls in _SETTINGS}


def _describe(module):
    cls = type(module)
    if cls not in _SETTINGS:
        raise DescentTypeError(
            f"cannot save a {cls.__name__}: model files hold Sequential networks of "
            "Linear, Dropout and activation layers"
        )
    settings = {key: getattr(module, key) for key in _SETTINGS[cls]}
    if cls is Linear:
        settings["bias"] = module.bias is not None  # the attribute is the Parameter
    return {"type": cls.__name__,
            **{key: value.item() if isinstance(value, np.generic) else value
               for key, value in settings.items()}}


def architecture(model):
    """The layer list that ``save`` writes for ``model`` (a Sequential or one layer)."""
    layers = list(model) if isinstance(model, Sequential) else [model]
    return [_describe(layer) for layer in layers]


def _layer_problem(description):
    """What is wrong with one layer description, or None."""
    if not isinstance(description, dict):
        return "is not a JSON object"
    kind = description.get("type")
    if not isinstance(kind, str) or kind not in _CLASSES:
        return f"has unknown layer type {_shown(kind)}"
    rules = _SETTINGS[_CLASSES[kind]]
    found = set(description) - {"type"}
    if found != set(rules):
        return (f"({kind}) has the settings {_shown(sorted(found))}; a {kind} has "
                f"{sorted(rules)}")
    for key, (rule, test) in rules.items():
        if not test(description[key]):
            return f"({kind}) has {key!r} = {_shown(description[key])}; it must be {rule}"
    return None


def _expected_shapes(layers, sequential):
    """The parameter shapes that checked layer descriptions imply, by parameter name."""
    shapes = {}
    for index, description in enumerate(layers):
        if description["type"] == "Linear":
            prefix = f"{index}." if sequential else ""
            shapes[f"{prefix}weight"] = [description["in_features"],
                                         description["out_features"]]
            if description["bias"]:
                shapes[f"{prefix}bias"] = [description["out_features"]]
    return shapes


def _architecture_problem(layers, sequential):
    """What is wrong with a layer list, or None: every layer's settings, the widths from
    one Linear layer to the next, and the number of parameters."""
    if not isinstance(layers, list) or not 0 < len(layers) <= _MAX_LAYERS:
        return f"the architecture must be a list of 1 to {_MAX_LAYERS:,} layers"
    if not sequential and len(layers) != 1:
        return "a single-layer model must have exactly one layer"
    width = None
    for index, description in enumerate(layers):
        problem = _layer_problem(description)
        if problem:
            return f"layer {index} {problem}"
        if description["type"] == "Linear":
            if width is not None and description["in_features"] != width:
                return (f"layer {index} (Linear) takes {description['in_features']} inputs "
                        f"but the Linear layer before it gives {width}: the weight shapes "
                        "do not fit together")
            width = description["out_features"]
    total = sum(math.prod(shape) for shape in _expected_shapes(layers, sequential).values())
    if total > MAX_PARAMETERS:
        return (f"the architecture declares {total:,} parameters, more than descent will "
                "load")
    return None


def _check_header(header, reader):
    """Refuse a header with a missing, unknown or malformed field (the format marker and
    version are checked already)."""
    missing = [field for field in _HEADER_FIELDS if field not in header]
    if missing:
        raise reader.fail(f"the header lacks {', '.join(missing)}")
    unknown = sorted(set(header) - set(_HEADER_FIELDS))
    if unknown:
        raise reader.fail(f"the header has unknown fields {_shown(unknown)}")
    if not isinstance(header["descent_version"], str):
        raise reader.fail(f"bad descent_version {_shown(header['descent_version'])}")
    if header["dtype"] not in _DTYPES:
        raise reader.fail(f"unsupported dtype {_shown(header['dtype'])}")
    if type(header["sequential"]) is not bool:
        raise reader.fail(f"sequential must be true or false, got "
                          f"{_shown(header['sequential'])}")
    if not isinstance(header["metadata"], dict):
        raise reader.fail("the metadata must be a JSON object")
    problem = _architecture_problem(header["architecture"], header["sequential"])
    if problem:
        raise reader.fail(problem)


def _check_declared(declared, expected, reader):
    if not isinstance(declared, dict):
        raise reader.fail("the parameter list must map names to shapes")
    if set(declared) != set(expected):
        raise reader.fail(f"the declared parameters {_shown(sorted(declared))} do not "
                          f"match the architecture's {sorted(expected)}")
    for name, shape in expected.items():
        found = declared[name]
        if not (isinstance(found, list) and all(type(n) is int for n in found)
                and found == shape):
            raise reader.fail(f"parameter {name} is declared with shape {_shown(found)}, "
                              f"the architecture needs {shape}")


def _unread(shape, rng=None):
    """The initial weights of a layer being loaded: a broadcast zero, which takes no
    memory, so that the layer allocates its weight array once and the file is read
    straight into it."""
    return np.broadcast_to(0.0, shape)


def _build_layer(description, dtype):
    """The layer a checked description describes (weights not read yet)."""
    cls = _CLASSES[description["type"]]
    settings = {key: value for key, value in description.items() if key != "type"}
    if cls is Linear:
        return Linear(**settings, dtype=dtype, init=_unread)
    return cls(**settings)


# ------------------------------------------------------------------ saving and loading
def _all_finite(values):
    """Whether ``values`` holds no NaN and no infinity."""
    # min and max propagate NaN and reach the infinities; unlike isfinite they allocate
    # nothing, which matters for a weight matrix of hundreds of megabytes
    return bool(np.isfinite(values.min()) and np.isfinite(values.max()))


def save(model, path, metadata=None):
    """Write ``model`` (and optional JSON-able ``metadata``) to ``path`` atomically.

    Saving the same model with the same metadata twice gives byte-identical files.
    ``save`` refuses (and writes nothing for) any model that ``load`` would refuse.

    Parameters
    ----------
    model : Module
        A ``Sequential`` of ``Linear``, ``Dropout`` and activation layers, or one layer.
    path : str or pathlib.Path
        Where to write; a symbolic link is written through to its target.
    metadata : dict, optional
        Plain JSON data; by default ``model.metadata`` (if any).

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
    sequential = isinstance(model, Sequential)
    problem = _architecture_problem(layers, sequential)
    if problem:
        raise DescentValueError(f"cannot save this model: {problem}")
    parameters = list(model.named_parameters())
    if len({p.dtype for _, p in parameters}) > 1:
        raise DescentTypeError("cannot save a model whose parameters mix float32 and "
                               "float64; convert them to one dtype first")
    for name, parameter in parameters:
        if not _all_finite(parameter.data):
            raise DescentTypeError(f"cannot save: parameter {name} has NaN or infinite "
                                   "values")
    if metadata is None:
        metadata = getattr(model, "metadata", {})
    if not isinstance(metadata, dict):
        raise DescentTypeError(f"metadata must be a dictionary, got "
                               f"{type(metadata).__name__}")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise DescentTypeError(f"metadata must be plain JSON data: {error}") from None
    header = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "descent_version": __version__, "architecture": layers,
              "sequential": sequential,
              "dtype": parameters[0][1].dtype.name if parameters else "float32",
              "parameters": {name: list(p.shape) for name, p in parameters},
              "metadata": metadata}
    try:
        write_archive(path, header, {name: p.data for name, p in parameters}, "model file")
    except ArchiveError as error:
        raise ModelFileError(str(error)) from None


def load(path):
    """Read a model written by ``save``; ``model.metadata`` holds its metadata.

    Never runs code from the file. Any problem — missing, truncated, tampered or foreign
    file, a setting out of range, sizes the file cannot hold — raises ``ModelFileError``
    with a message saying what is wrong, before the weights are allocated where it can.
    Each weight array is decompressed straight into its layer, so loading needs little
    more memory than the model itself.
    """
    with ArchiveReader(path, "descent model file", ModelFileError) as reader:
        header = reader.checked_header(FORMAT, FORMAT_VERSION, "model file")
        _check_header(header, reader)
        layers, dtype, sequential = header["architecture"], header["dtype"], \
            header["sequential"]
        expected = _expected_shapes(layers, sequential)
        _check_declared(header["parameters"], expected, reader)
        for name, shape in expected.items():
            reader.check_size(name, shape, dtype)
        modules = [_build_layer(description, dtype) for description in layers]
        model = Sequential(*modules) if sequential else modules[0]
        for name, parameter in model.named_parameters():
            if not _all_finite(reader.read_into(name, parameter.data)):
                raise reader.fail(f"parameter {name} contains NaN or infinite values")
    model.metadata = header["metadata"]
    return model
