"""Model files: one file with the architecture, the weights and the metadata, that can be
loaded without running any code.

The file is a ZIP archive (NumPy's ``.npz`` layout): ``descent.json`` holds the format
marker, the descent version, the architecture (a list of layer descriptions) and the
metadata (preprocessing, class names, training summary); ``params/<name>.npy`` holds each
parameter as a plain ``.npy`` array. Loading reads JSON and raw numbers only — never
pickle — and checks every declared size and shape before reading any data. Files are
written atomically: to a temporary file in the same folder, then renamed over the target,
so a crash never leaves half a model.
"""

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from descent._version import __version__
from descent.errors import DescentError, DescentTypeError
from descent.nn.activations import ELU, ACTIVATION_MODULES, LeakyReLU, Softmax
from descent.nn.layers import Dropout, Linear, Sequential
from descent.nn.module import Module

FORMAT = "descent-model"
FORMAT_VERSION = 1
_HEADER = "descent.json"
_MAX_HEADER_BYTES = 16 * 1024 * 1024
_MAX_LAYERS = 10_000
_MAX_PARAMETER_ELEMENTS = 1 << 31


class ModelFileError(DescentError):
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
    if kind == "Linear":
        return Linear(_number(description, "in_features", int, 1, _MAX_PARAMETER_ELEMENTS),
                      _number(description, "out_features", int, 1, _MAX_PARAMETER_ELEMENTS),
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


# ------------------------------------------------------------------ saving
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
    path = Path(path)
    layers = architecture(model)
    parameters = list(model.named_parameters())
    header = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "descent_version": __version__, "architecture": layers,
              "sequential": isinstance(model, Sequential),
              "dtype": parameters[0][1].dtype.name if parameters else "float32",
              "parameters": {name: list(p.shape) for name, p in parameters},
              "metadata": metadata if metadata is not None else getattr(model, "metadata", {})}
    try:
        header_bytes = json.dumps(header, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise DescentTypeError(f"metadata must be plain JSON data: {error}") from None
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ModelFileError(f"cannot write {path}: the folder {directory} does not exist")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(_HEADER, header_bytes)
                for name, parameter in parameters:
                    buffer = io.BytesIO()
                    np.lib.format.write_array(buffer, np.ascontiguousarray(parameter.data),
                                              allow_pickle=False)
                    archive.writestr(f"params/{name}.npy", buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# ------------------------------------------------------------------ loading
def _read_header(archive, path):
    try:
        info = archive.getinfo(_HEADER)
    except KeyError:
        raise ModelFileError(f"{path} is not a descent model file (no {_HEADER})") from None
    if info.file_size > _MAX_HEADER_BYTES:
        raise ModelFileError(f"{path}: the model description is implausibly large "
                             f"({info.file_size} bytes)")
    try:
        header = json.loads(archive.read(_HEADER).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile, OSError) as error:
        raise ModelFileError(f"{path}: the model description is damaged ({error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a descent model file")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path} has model format version "
                             f"{header.get('format_version')!r}; this descent reads "
                             f"version {FORMAT_VERSION}")
    return header


def _read_parameter(archive, member, expected_shape, dtype, path):
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ModelFileError(f"{path}: parameter file {member} is missing") from None
    expected_bytes = int(np.prod(expected_shape)) * dtype.itemsize
    if info.file_size > expected_bytes + 4096:
        raise ModelFileError(f"{path}: {member} is larger than its declared shape allows")
    try:
        with archive.open(member) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, file_dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran, file_dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            if tuple(shape) != tuple(expected_shape) or file_dtype != dtype or fortran:
                raise ModelFileError(
                    f"{path}: {member} has shape {tuple(shape)} and dtype {file_dtype}, "
                    f"expected {tuple(expected_shape)} and {dtype}")
            data = handle.read(expected_bytes + 1)
    except ModelFileError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ModelFileError(f"{path}: {member} is damaged ({error})") from None
    if len(data) != expected_bytes:
        raise ModelFileError(f"{path}: {member} holds {len(data)} bytes, expected "
                             f"{expected_bytes}")
    array = np.frombuffer(data, dtype=dtype).reshape(expected_shape)
    if not np.all(np.isfinite(array)):
        raise ModelFileError(f"{path}: {member} contains NaN or infinite values")
    return array


def load(path):
    """Read a model written by ``save``; ``model.metadata`` holds its metadata.

    Never runs code from the file. Any problem — missing, truncated, tampered or foreign
    file — raises ``ModelFileError`` with a message saying what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelFileError(f"{path} is not a descent model file ({error})") from None
    with archive:
        header = _read_header(archive, path)
        layers = header.get("architecture")
        if not isinstance(layers, list) or not 0 < len(layers) <= _MAX_LAYERS:
            raise ModelFileError(f"{path}: the architecture must be a non-empty layer list")
        dtype = header.get("dtype")
        if dtype not in ("float32", "float64"):
            raise ModelFileError(f"{path}: unsupported dtype {dtype!r}")
        dtype = np.dtype(dtype)
        _check_sizes(layers, path)
        modules = [_build_layer(description, dtype.name) for description in layers]
        model = Sequential(*modules) if header.get("sequential", True) else modules[0]
        declared = header.get("parameters")
        own = dict(model.named_parameters())
        if not isinstance(declared, dict) or set(declared) != set(own):
            raise ModelFileError(f"{path}: the parameter list does not match the "
                                 "architecture")
        for name, parameter in own.items():
            if list(declared[name]) != list(parameter.shape):
                raise ModelFileError(f"{path}: parameter {name} is declared with shape "
                                     f"{declared[name]}, the architecture needs "
                                     f"{list(parameter.shape)}")
            parameter.data[...] = _read_parameter(archive, f"params/{name}.npy",
                                                  parameter.shape, dtype, path)
    metadata = header.get("metadata", {})
    model.metadata = metadata if isinstance(metadata, dict) else {}
    return model


def _check_sizes(layers, path):
    """Refuse absurd declared sizes before allocating any weights."""
    total = 0
    for description in layers:
        if isinstance(description, dict) and description.get("type") == "Linear":
            sizes = (description.get("in_features"), description.get("out_features"))
            if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                       for s in sizes):
                raise ModelFileError(f"{path}: layer {description!r} has bad sizes")
            total += sizes[0] * sizes[1] + sizes[1]
    if total > _MAX_PARAMETER_ELEMENTS:
        raise ModelFileError(f"{path}: the architecture declares {total:,} parameters, "
                             "more than descent will load")
