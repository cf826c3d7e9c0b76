"""Safe files of JSON and arrays: the storage under model files and checkpoints.

An archive is a ZIP file with ``descent.json`` (any JSON) and ``params/<name>.npy`` members
(plain ``.npy``, never pickled objects). ``write_archive`` writes atomically — a
temporary file beside the target, flushed to disk, then renamed over it — so a crash
leaves either the old file or the new one; the same contents always give the same bytes.
``ArchiveReader`` checks every declared size, shape and dtype before reading data, and
decompresses each array straight into its own memory, so a hostile file cannot make it
allocate absurd amounts of memory or run code.

``write_atomically`` and ``check_output_path`` are the rules for every file descent writes
(model files, checkpoints, histories, predictions): a symbolic link is written through to
its target, anything but a regular file is refused, modes follow the umask or the replaced
file, and a write killed half-way leaves a temporary file that the next write removes.

``pack`` and ``unpack`` turn nested Python data holding arrays (optimiser states, RNG
states) into JSON plus named arrays and back.
"""

import io
import json
import math
import os
import re
import reprlib
import secrets
import socket
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from descent.errors import DescentError, DescentTypeError

HEADER = "descent.json"
_ARRAYS = "params/"
_MAX_HEADER_BYTES = 16 * 1024 * 1024
_MAX_NPY_HEADER_BYTES = 4096
# Deflate spends at least 2 bits on a 258-byte match, so no stream expands more than this.
_MAX_DEFLATE_RATIO = 1032
_READ_CHUNK_BYTES = 1 << 20
_ARRAY_DTYPES = ("float32", "float64", "int64", "bool")
_ARRAY_TAG = "__array__"
_FLOAT_TAG = "__float__"
_TEMPORARY_SUFFIX = ".descent-tmp"
# What reading a damaged ZIP member can raise, besides our own checks.
_DAMAGE = (zipfile.BadZipFile, zlib.error, struct.error, OSError, ValueError, EOFError,
           KeyError, NotImplementedError, RuntimeError, OverflowError, UnicodeDecodeError,
           SyntaxError)


class ArchiveError(DescentError):
    """A file is missing, unreadable, damaged, not what descent expected, or cannot be
    written where it was asked to go."""


# ------------------------------------------------------------------ writing
def _kind_of(mode):
    """What a non-regular file is, in words, from its ``st_mode``."""
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"


def _writable_target(path, what):
    """The regular file that writing ``path`` creates or replaces — a symbolic link's
    final target — and the mode that file has now (None when it does not exist yet).

    Raises ``ArchiveError`` when it cannot be written: its folder is missing, not a
    folder or not writable, or the path is a folder, a device, a pipe or a socket.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    shown = f"{path} (a link to {target})" if target != path else str(path)

    def refuse(problem):
        return ArchiveError(f"cannot write the {what} {shown}: {problem}")

    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None  # a new file; whether its folder exists is checked next
    except OSError as error:  # a loop of links, a name too long, ...
        raise refuse(error.strerror) from None
    if mode is not None and not stat.S_ISREG(mode):
        raise refuse(f"it is {_kind_of(mode)}, not a regular file")
    folder = target.parent
    try:
        folder_mode = os.stat(folder).st_mode
    except FileNotFoundError:
        raise refuse(f"folder {folder} does not exist") from None
    except OSError as error:
        raise refuse(f"folder {folder} cannot be reached ({error.strerror})") from None
    if not stat.S_ISDIR(folder_mode):
        raise refuse(f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise refuse(f"folder {folder} is not writable")
    return target, None if mode is None else stat.S_IMODE(mode)


def check_output_path(path, what="output"):
    """Fail now, before any work, when ``path`` cannot be written; write nothing.

    Refuses exactly what ``write_atomically`` would refuse: a folder, a device, a pipe or
    a socket (or a symbolic link to one), and a missing, non-folder or unwritable folder
    (for a link, the folder of its target).

    Parameters
    ----------
    path : str or pathlib.Path
        Where a file will be written.
    what : str
        What the file is, for the message ("model file", "checkpoint", ...).

    Returns
    -------
    pathlib.Path
        ``path``, as given.

    Raises
    ------
    ArchiveError
        Saying what is wrong, e.g. ``cannot write the model file out/m.descent: folder
        out does not exist``.

    Examples
    --------
    >>> import tempfile
    >>> check_output_path(tempfile.mkdtemp(), "model file")
    Traceback (most recent call last):
    ...
    descent.files.archive.ArchiveError: cannot write the model file ...: it is a folder, ...
    """
    _writable_target(path, what)
    return Path(path)


def _process_exists(pid):
    """Whether process ``pid`` of this machine is running."""
    if os.name != "posix":
        return True  # os.kill would terminate it on Windows: treat every writer as alive
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # it exists, run by another user
    return True


def _temporary_path(target):
    """Where to write ``target`` first: hidden beside it, named after it, this machine and
    this process (the random part keeps two threads apart)."""
    return target.with_name(f".{target.name}.{socket.gethostname()}.{os.getpid()}."
                            f"{secrets.token_hex(4)}{_TEMPORARY_SUFFIX}")


def _remove_stale_temporaries(target):
    """Delete the temporary files (named as ``_temporary_path`` names them) that writes to
    ``target`` from this machine left when their process was killed between creating and
    renaming them. Those of other machines sharing the folder are left alone: their
    process ids mean nothing here."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{re.escape(socket.gethostname())}"
                         rf"\.(\d+)\.[0-9a-f]{{8}}{re.escape(_TEMPORARY_SUFFIX)}")
    try:
        entries = os.scandir(target.parent)
    except PermissionError:
        return  # a folder one may write but not list
    with entries:
        for entry in entries:
            found = pattern.fullmatch(entry.name)
            if found and not _process_exists(int(found.group(1))):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass  # removed by another writer first, or not ours to remove


def _sync_folder(folder):
    """Flush ``folder``'s entries to disk, so that a rename survives a power cut."""
    if os.name != "posix":
        return  # Windows cannot open a folder with os.open
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except PermissionError:
        return  # a folder one may write but not read cannot be synced
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path, write, what="file"):
    """Call ``write(binary_file)`` on a temporary file beside ``path``, flush it to disk,
    then rename it over ``path``: a crash leaves the old file or the new one, never half.

    A symbolic link is written through: its final target is replaced and the link stays.
    A new file gets the mode the umask gives (``0o666 & ~umask``); a replaced file keeps
    its mode. The temporary file is ``.<name>.<host>.<pid>.<random>.descent-tmp`` in the
    target's folder; one left by a process that was killed is removed by the next write
    to the same path from the same machine.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write.
    write : callable
        Called with the temporary file, open for writing bytes.
    what : str
        What the file is, for error messages.

    Raises
    ------
    ArchiveError
        Before anything is written, when ``path`` cannot be written (see
        ``check_output_path``).
    """
    target, mode = _writable_target(path, what)
    _remove_stale_temporaries(target)
    temporary = _temporary_path(target)
    # 0o666 through the umask is what any new file gets; O_BINARY stops Windows
    # translating newlines
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if mode is not None:
                os.chmod(temporary, mode)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    _sync_folder(target.parent)


def _member(name):
    """A ZIP member header with nothing from the clock or the platform in it, so that
    equal contents give byte-identical archives."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whichever system writes it
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def write_archive(path, header, arrays, what="file"):
    """Write ``header`` (JSON data) and ``arrays`` ({name: ndarray}) to ``path`` atomically.

    The members are the header then the arrays, in ``arrays``' order; the same header and
    arrays always give the same bytes. ``what`` names the file in error messages.
    """
    try:
        header_bytes = json.dumps(header, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise DescentTypeError(f"cannot store this data as plain JSON: {error}") from None

    def write(handle):
        with zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(_member(HEADER), header_bytes)
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array),
                                          allow_pickle=False)
                archive.writestr(_member(f"{_ARRAYS}{name}.npy"), buffer.getvalue())

    write_atomically(path, write, what)


def json_safe(value):
    """Nested data with NaN and infinities replaced by None (JSON has neither)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


# ------------------------------------------------------------------ reading
class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs):
    """A JSON object as a dict, refusing a key given twice (json keeps the last one)."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(repr(key))
        result[key] = value
    return result


class ArchiveReader:
    """Read an archive written by ``write_archive``; use as a context manager.

    Opening it checks the ZIP directory before any member is read: no two members share
    a name, every member is stored or deflated, no member declares more bytes than its
    compressed data can hold, the compressed data fits in the file and, with
    ``max_bytes``, the members declare at most that many bytes in all.

    Parameters
    ----------
    path : str or pathlib.Path
        The archive.
    kind : str
        What the file is, for messages ("descent model file", "descent checkpoint").
    error : type
        The ``ArchiveError`` subclass to raise.
    max_bytes : int, optional
        The most bytes the members may declare, uncompressed, all together.
    """

    def __init__(self, path, kind="descent file", error=ArchiveError, max_bytes=None):
        self.path = Path(path)
        self.kind = kind
        self.error = error
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            raise error(f"{kind} {self.path} does not exist") from None
        except OSError as problem:
            raise error(f"cannot read {self.path} ({problem.strerror})") from None
        if not stat.S_ISREG(mode):
            raise error(f"{self.path} is {_kind_of(mode)}, not a {kind}")
        try:
            self.zip = zipfile.ZipFile(self.path)
        except _DAMAGE as problem:
            raise error(f"{self.path} is not a {kind} ({problem})") from None
        try:
            self._check_directory(os.fstat(self.zip.fp.fileno()).st_size, max_bytes)
        except BaseException:
            self.zip.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()
        return False

    def fail(self, problem):
        return self.error(f"{self.path}: {problem}")

    def _check_directory(self, file_size, max_bytes):
        """Refuse members whose declared sizes cannot be true (see the class docstring)."""
        seen = set()
        for info in self.zip.infolist():
            name = info.filename
            if name in seen:
                raise self.fail(f"it holds two members named {name!r}")
            seen.add(name)
            if info.compress_type == zipfile.ZIP_STORED:
                if info.file_size != info.compress_size:
                    raise self.fail(f"{name} is stored uncompressed in {info.compress_size:,} "
                                    f"bytes but declares {info.file_size:,}")
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size:
                    raise self.fail(f"{name} declares {info.file_size:,} bytes from "
                                    f"{info.compress_size:,} compressed, more than deflate "
                                    f"can expand ({_MAX_DEFLATE_RATIO}:1)")
            else:
                raise self.fail(f"{name} uses ZIP compression method {info.compress_type}; "
                                "descent reads stored or deflated members only")
        compressed = sum(info.compress_size for info in self.zip.infolist())
        if compressed > file_size:
            raise self.fail(f"its members declare {compressed:,} compressed bytes, more than "
                            f"the file's {file_size:,}")
        declared = sum(info.file_size for info in self.zip.infolist())
        if max_bytes is not None and declared > max_bytes:
            raise self.fail(f"its members declare {declared:,} bytes, more than the "
                            f"{max_bytes:,} a {self.kind} may hold")

    def header(self):
        try:
            info = self.zip.getinfo(HEADER)
        except KeyError:
            raise self.error(f"{self.path} is not a {self.kind} (no {HEADER})") from None
        if info.file_size > _MAX_HEADER_BYTES:
            raise self.fail(f"the header is implausibly large ({info.file_size} bytes)")
        try:
            return json.loads(self.zip.read(HEADER).decode("utf-8"),
                              object_pairs_hook=_unique_keys)
        except _DuplicateKey as error:
            raise self.fail(f"the header names {error} twice in one object (a reader could "
                            "take either)") from None
        except RecursionError:
            raise self.fail("the header is damaged: it nests objects too deeply") from None
        except _DAMAGE as error:
            raise self.fail(f"the header is damaged ({error})") from None

    def checked_header(self, fmt, version, what):
        """The header, which must carry the format marker ``fmt`` and ``version``."""
        header = self.header()
        if not isinstance(header, dict) or header.get("format") != fmt:
            raise self.fail(f"not a descent {what}")
        found = header.get("format_version")
        if type(found) is not int or found != version:  # JSON true and 1.0 are not 1
            raise self.fail(f"{what} format version {reprlib.repr(found)}; this descent "
                            f"reads version {version}")
        return header

    def _array_info(self, name):
        member = f"{_ARRAYS}{name}.npy"
        try:
            return self.zip.getinfo(member)
        except KeyError:
            raise self.fail(f"{member} is missing") from None

    def check_size(self, name, shape, dtype):
        """Refuse a member whose stored size cannot hold ``shape`` (before allocating)."""
        info = self._array_info(name)
        expected = math.prod(shape) * np.dtype(dtype).itemsize
        if info.file_size > expected + _MAX_NPY_HEADER_BYTES:
            raise self.fail(f"{info.filename} is larger than its declared shape allows")
        if info.file_size < expected:
            raise self.fail(f"{info.filename} holds {info.file_size} bytes, too few for an "
                            f"array of shape {tuple(shape)} and dtype {dtype}")

    def array(self, name, shape, dtype):
        """The array ``name``, which must have exactly ``shape`` and ``dtype``."""
        self.check_size(name, shape, dtype)
        return self.read_into(name, np.empty(shape, dtype))

    def read_into(self, name, out):
        """Decompress the array ``name`` straight into ``out``, a chunk at a time, so that
        reading costs little more memory than ``out`` itself; return ``out``.

        The member must hold exactly ``out``'s shape and dtype (``out`` is C-contiguous).
        When this raises, ``out`` may hold part of the data.
        """
        info = self._array_info(name)
        member = info.filename
        expected = out.nbytes
        view = np.frombuffer(out, np.uint8)  # out's own bytes, not a copy
        filled = 0
        try:
            with self.zip.open(info) as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    found_shape, fortran, found = np.lib.format.read_array_header_1_0(handle)
                elif version == (2, 0):
                    found_shape, fortran, found = np.lib.format.read_array_header_2_0(handle)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
                if tuple(found_shape) != out.shape or found != out.dtype or fortran:
                    raise self.fail(f"{member} has shape {tuple(found_shape)} and dtype "
                                    f"{found}, expected {out.shape} and {out.dtype}")
                declared = info.file_size - handle.tell()
                if declared != expected:
                    raise self.fail(f"{member} holds {declared} bytes, expected {expected}")
                while filled < expected:
                    count = handle.readinto(view[filled:filled + _READ_CHUNK_BYTES])
                    if not count:
                        break
                    filled += count
        except self.error:
            raise
        except _DAMAGE as error:
            raise self.fail(f"{member} is damaged ({error})") from None
        if filled != expected:
            raise self.fail(f"{member} holds {filled} bytes, expected {expected}")
        return out


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
