"""Safe files of JSON and arrays: the storage under model files and checkpoints.

An archive is a ZIP file with ``descent.json`` (any JSON) and ``params/<name>.npy`` members
(plain ``.npy``, never pickled objects). ``write_archive`` writes atomically — a
temporary file in the same folder, flushed to disk, then renamed over the target — so a
crash leaves either the old file or the new one. ``ArchiveReader`` checks every declared
size, shape and dtype before reading data, so a hostile file cannot make it allocate
absurd amounts of memory or run code.

``pack`` and ``unpack`` turn nested Python data holding arrays (optimiser states, RNG
states) into JSON plus named arrays and back.
"""

import io
import json
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from descent.errors import DescentError, DescentTypeError

HEADER = "descent.json"
_ARRAYS = "params/"
_MAX_HEADER_BYTES = 16 * 1024 * 1024
_ARRAY_DTYPES = ("float32", "float64", "int64", "bool")
_ARRAY_TAG = "__array__"
_FLOAT_TAG = "__float__"
# What reading a damaged ZIP member can raise, besides our own checks.
_DAMAGE = (zipfile.BadZipFile, zlib.error, struct.error, OSError, ValueError, EOFError,
           KeyError, NotImplementedError, RuntimeError, OverflowError, UnicodeDecodeError,
           SyntaxError)


class ArchiveError(DescentError):
    """A file is missing, unreadable, damaged, or not what descent expected."""


def write_atomically(path, write):
    """Call ``write(binary_file)`` on a temporary file beside ``path``, flush it to disk,
    then rename it over ``path``: a crash leaves the old file or the new one, never half."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ArchiveError(f"cannot write {path}: the folder {folder} does not exist")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_archive(path, header, arrays):
    """Write ``header`` (JSON data) and ``arrays`` ({name: ndarray}) to ``path`` atomically."""
    try:
        header_bytes = json.dumps(header, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise DescentTypeError(f"cannot store this data as plain JSON: {error}") from None

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(HEADER, header_bytes)
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array),
                                          allow_pickle=False)
                archive.writestr(f"{_ARRAYS}{name}.npy", buffer.getvalue())

    write_atomically(path, write)


def json_safe(value):
    """Nested data with NaN and infinities replaced by None (JSON has neither)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class ArchiveReader:
    """Read an archive written by ``write_archive``; use as a context manager."""

    def __init__(self, path, kind="descent file", error=ArchiveError):
        self.path = Path(path)
        self.kind = kind
        self.error = error
        if not self.path.is_file():
            raise error(f"{kind} {self.path} does not exist")
        try:
            self.zip = zipfile.ZipFile(self.path)
        except _DAMAGE as problem:
            raise error(f"{self.path} is not a {kind} ({problem})") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()
        return False

    def fail(self, problem):
        return self.error(f"{self.path}: {problem}")

    def header(self):
        try:
            info = self.zip.getinfo(HEADER)
        except KeyError:
            raise self.error(f"{self.path} is not a {self.kind} (no {HEADER})") from None
        if info.file_size > _MAX_HEADER_BYTES:
            raise self.fail(f"the header is implausibly large ({info.file_size} bytes)")
        try:
            return json.loads(self.zip.read(HEADER).decode("utf-8"))
        except _DAMAGE as error:
            raise self.fail(f"the header is damaged ({error})") from None

    def check_size(self, name, shape, dtype):
        """Refuse a member whose stored size cannot hold ``shape`` (before allocating)."""
        member = f"{_ARRAYS}{name}.npy"
        try:
            size = self.zip.getinfo(member).file_size
        except KeyError:
            raise self.fail(f"{member} is missing") from None
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if size > expected + 4096:
            raise self.fail(f"{member} is larger than its declared shape allows")
        if size < expected:
            raise self.fail(f"{member} holds {size} bytes, too few for an array of shape "
                            f"{tuple(shape)} and dtype {dtype}")

    def checked_header(self, fmt, version, what):
        """The header, which must carry the format marker ``fmt`` and ``version``."""
        header = self.header()
        if not isinstance(header, dict) or header.get("format") != fmt:
            raise self.fail(f"not a descent {what}")
        if header.get("format_version") != version:
            raise self.fail(f"{what} format version {header.get('format_version')!r}; this "
                            f"descent reads version {version}")
        return header

    def array(self, name, shape, dtype):
        """The array ``name``, which must have exactly ``shape`` and ``dtype``."""
        member = f"{_ARRAYS}{name}.npy"
        dtype = np.dtype(dtype)
        try:
            info = self.zip.getinfo(member)
        except KeyError:
            raise self.fail(f"{member} is missing") from None
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if info.file_size > expected + 4096:
            raise self.fail(f"{member} is larger than its declared shape allows")
        try:
            with self.zip.open(member) as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    found_shape, fortran, found = np.lib.format.read_array_header_1_0(handle)
                elif version == (2, 0):
                    found_shape, fortran, found = np.lib.format.read_array_header_2_0(handle)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
                if tuple(found_shape) != tuple(shape) or found != dtype or fortran:
                    raise self.fail(f"{member} has shape {tuple(found_shape)} and dtype "
                                    f"{found}, expected {tuple(shape)} and {dtype}")
                data = handle.read(expected + 1)
        except self.error:
            raise
        except _DAMAGE as error:
            raise self.fail(f"{member} is damaged ({error})") from None
        if len(data) != expected:
            raise self.fail(f"{member} holds {len(data)} bytes, expected {expected}")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def pack(value, arrays, prefix="a"):
    """JSON data for ``value``, with every ndarray moved into ``arrays``."""
    if isinstance(value, np.ndarray):
        name = f"{prefix}{len(arrays)}"
        if value.dtype.name not in _ARRAY_DTYPES:
            raise DescentError(f"cannot store an array of dtype {value.dtype}")
        arrays[name] = value
        return {_ARRAY_TAG: name, "shape": list(value.shape), "dtype": value.dtype.name}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise DescentError("only dictionaries with string keys can be stored")
        return {k: pack(v, arrays, prefix) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [pack(v, arrays, prefix) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return {_FLOAT_TAG: repr(value)}  # JSON has no infinities or NaN
    return value


def unpack(data, reader):
    """The inverse of ``pack``: arrays are read (and checked) from ``reader``."""
    if isinstance(data, dict):
        if _ARRAY_TAG in data:
            shape, dtype = data.get("shape"), data.get("dtype")
            if (not isinstance(shape, list) or dtype not in _ARRAY_DTYPES
                    or not all(isinstance(n, int) and 0 <= n < 2 ** 31 for n in shape)):
                raise reader.fail(f"bad array description {data!r}")
            return reader.array(data[_ARRAY_TAG], tuple(shape), dtype)
        if _FLOAT_TAG in data:
            if data[_FLOAT_TAG] not in ("inf", "-inf", "nan"):
                raise reader.fail(f"bad number {data!r}")
            return float(data[_FLOAT_TAG])
        return {k: unpack(v, reader) for k, v in data.items()}
    if isinstance(data, list):
        return [unpack(v, reader) for v in data]
    return data
