"""The archive layer: atomic writes (links, special files, modes, killed writers), the
output-path check, and reading archives whose ZIP directory lies about its sizes."""

import io
import json
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import descent
from descent.files.archive import (ArchiveError, ArchiveReader, check_output_path, pack,
                                   unpack, write_archive, write_atomically)
from descent.files.model import ModelFileError


def _writer(data=b"new"):
    """A ``write`` callback that records that it ran."""
    calls = []

    def write(handle):
        calls.append(handle)
        handle.write(data)

    write.calls = calls
    return write


def _listing(folder):
    return sorted(os.listdir(folder))


# ------------------------------------------------------------------ modes
@pytest.fixture
def umask():
    """``os.umask``, with the process's mask restored after the test."""
    original = os.umask(0o022)  # reading the mask means setting it
    os.umask(original)
    yield os.umask
    os.umask(original)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, umask, mask, mode):
    umask(mask)
    write_atomically(tmp_path / "new.csv", _writer())
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == mode  # 0o666 & ~mask
    assert (tmp_path / "new.csv").read_bytes() == b"new"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o444])
def test_replacing_a_file_keeps_its_mode(tmp_path, umask, mode):
    umask(0o077)
    path = tmp_path / "model.descent"
    path.write_bytes(b"old")
    path.chmod(mode)
    write_atomically(path, _writer())
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_bytes() == b"new"
    assert _listing(tmp_path) == ["model.descent"]


# ------------------------------------------------------------------ symbolic links
@pytest.fixture
def two_folders(tmp_path):
    links, files = tmp_path / "links", tmp_path / "files"
    links.mkdir()
    files.mkdir()
    return links, files


def _record_renames(monkeypatch):
    renames, replace = [], os.replace

    def recording(source, destination):
        renames.append((Path(source), Path(destination)))
        return replace(source, destination)

    monkeypatch.setattr(os, "replace", recording)
    return renames


def test_writing_through_a_link_replaces_its_target_and_keeps_the_link(
        two_folders, monkeypatch):
    links, files = two_folders
    target = files / "history.csv"
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = links / "history.csv"
    link.symlink_to(target)
    renames = _record_renames(monkeypatch)
    write_atomically(link, _writer())
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new" and link.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    [(temporary, destination)] = renames
    assert temporary.parent == files and destination == target  # made beside the target
    assert _listing(files) == ["history.csv"] and _listing(links) == ["history.csv"]


def test_writing_through_a_chain_of_relative_links(two_folders):
    links, files = two_folders
    (files / "m.descent").write_bytes(b"old")
    (links / "first").symlink_to(Path("..") / "files" / "m.descent")
    (links / "second").symlink_to("first")
    write_atomically(links / "second", _writer())
    assert (files / "m.descent").read_bytes() == b"new"
    assert os.readlink(links / "second") == "first"
    assert os.readlink(links / "first") == str(Path("..") / "files" / "m.descent")
    assert _listing(files) == ["m.descent"] and _listing(links) == ["first", "second"]


def test_writing_through_a_dangling_link_creates_its_target(two_folders):
    links, files = two_folders
    (links / "out.csv").symlink_to(files / "out.csv")
    write_atomically(links / "out.csv", _writer())
    assert (links / "out.csv").is_symlink()
    assert (files / "out.csv").read_bytes() == b"new"


def test_saving_a_model_through_a_link(two_folders):
    links, files = two_folders
    (links / "m.descent").symlink_to(files / "m.descent")
    model = descent.nn.MLP([2, 3, 1], rng=0)
    descent.save(model, links / "m.descent")
    descent.save(model, links / "m.descent")
    assert (links / "m.descent").is_symlink()
    loaded = descent.load(files / "m.descent")
    assert np.array_equal(loaded[0].weight.data, model[0].weight.data)


# ------------------------------------------------------------------ what cannot be written
def _unix_socket(path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))  # the socket file stays after closing


def _link_to(place):
    def make(path):
        if not os.path.exists(place):
            pytest.skip(f"this system has no {place}")
        path.symlink_to(place)
    return make


SPECIAL_FILES = {
    "folder": (Path.mkdir, "a folder"),
    "fifo": (os.mkfifo, "a named pipe"),
    "socket": (_unix_socket, "a socket"),
    "link-to-dev-null": (_link_to("/dev/null"), "a character device"),
    "link-to-dev-zero": (_link_to("/dev/zero"), "a character device"),
    "link-to-a-folder": (lambda path: path.symlink_to(path.parent), "a folder"),
}


def _identity(path):
    """What must not change: the entry itself and what it points to."""
    return os.lstat(path).st_mode, os.lstat(path).st_ino, os.stat(path).st_mode


@pytest.mark.parametrize("name", sorted(SPECIAL_FILES))
def test_writing_refuses_what_is_not_a_regular_file(tmp_path, name):
    make, kind = SPECIAL_FILES[name]
    path = tmp_path / "s"
    make(path)
    before = _identity(path)
    write = _writer()
    with pytest.raises(ArchiveError, match=f"cannot write the file {re.escape(str(path))}"
                                           f".*: it is {kind}, not a regular file"):
        write_atomically(path, write)
    assert write.calls == []
    assert _identity(path) == before
    assert _listing(tmp_path) == ["s"]


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_is_refused_as_an_output_path(device):
    if not os.path.exists(device):
        pytest.skip(f"this system has no {device}")
    with pytest.raises(ArchiveError, match=f"cannot write the model file {device}: it is a "
                                           "character device"):
        check_output_path(device, "model file")


def test_saving_a_model_over_a_fifo_is_a_model_file_error(tmp_path):
    os.mkfifo(tmp_path / "m.descent")
    with pytest.raises(ModelFileError, match="model file .*: it is a named pipe"):
        descent.save(descent.nn.MLP([2, 3, 1], rng=0), tmp_path / "m.descent")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "m.descent").st_mode)


def _check(path):
    return check_output_path(path, "history file")


def _write(path):
    write = _writer()
    try:
        write_atomically(path, write, "history file")
    finally:
        assert write.calls == []


@pytest.fixture
def unwritable(monkeypatch):
    """Make os.access deny writing to the folders added to the returned list (the tests
    run as root too, who may write anywhere)."""
    folders, access = [], os.access

    def deny(path, mode, **kwargs):
        if mode & os.W_OK and Path(os.path.realpath(path)) in folders:
            return False
        return access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", deny)
    return folders


@pytest.mark.parametrize("attempt", [_check, _write], ids=["check", "write"])
def test_bad_output_folders_are_refused_by_the_check_and_the_write(tmp_path, unwritable,
                                                                   attempt):
    tmp_path = Path(os.path.realpath(tmp_path))
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "locked").mkdir()
    unwritable.append(tmp_path / "locked")
    (tmp_path / "locked-link").symlink_to(tmp_path / "locked" / "h.csv")
    missing, file, locked = (tmp_path / "missing", tmp_path / "file.txt",
                             tmp_path / "locked")
    cases = {
        missing / "h.csv": f"{missing / 'h.csv'}: folder {missing} does not exist",
        file / "h.csv": f"{file / 'h.csv'}: {file} is not a folder",
        locked / "h.csv": f"{locked / 'h.csv'}: folder {locked} is not writable",
        tmp_path / "locked-link": (f"{tmp_path / 'locked-link'} (a link to "
                                   f"{locked / 'h.csv'}): folder {locked} is not writable"),
    }
    for path, problem in cases.items():
        with pytest.raises(ArchiveError) as error:
            attempt(path)
        assert str(error.value) == f"cannot write the history file {problem}"
    assert _listing(tmp_path) == ["file.txt", "locked", "locked-link"]
    assert _listing(locked) == []


def test_a_loop_of_links_is_refused(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ArchiveError, match="cannot write the output .*symbolic links"):
        check_output_path(tmp_path / "a")


def test_the_check_accepts_new_and_existing_files_and_writes_nothing(tmp_path):
    (tmp_path / "old.descent").write_bytes(b"old")
    assert check_output_path(str(tmp_path / "new.descent")) == tmp_path / "new.descent"
    assert check_output_path(tmp_path / "old.descent", "model file") == \
        tmp_path / "old.descent"
    assert _listing(tmp_path) == ["old.descent"]
    assert (tmp_path / "old.descent").read_bytes() == b"old"


# ------------------------------------------------------------------ killed writers
_KILLED_WRITER = """
import sys, time
from descent.files.archive import write_atomically

def write(handle):
    handle.write(b"half of the new")
    handle.flush()
    print("writing", flush=True)
    time.sleep(120)

write_atomically(sys.argv[1], write)
"""


def _temporaries(folder):
    return [name for name in _listing(folder) if name.endswith(".descent-tmp")]


def test_a_write_killed_before_the_rename_leaves_a_temporary_the_next_write_removes(
        tmp_path):
    path = tmp_path / "run.ckpt"
    path.write_bytes(b"old")
    process = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "writing\n"
        [temporary] = _temporaries(tmp_path)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert temporary.startswith(f".run.ckpt.{socket.gethostname()}.{process.pid}.")
    assert (tmp_path / temporary).read_bytes() == b"half of the new"
    assert path.read_bytes() == b"old"  # the kill left the old file whole
    write_atomically(path, _writer())
    assert path.read_bytes() == b"new"
    assert _listing(tmp_path) == ["run.ckpt"]


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_temporaries_of_dead_writers_of_the_same_file_are_removed(tmp_path):
    dead, alive, host = _dead_pid(), os.getppid(), socket.gethostname()
    names = {
        f".m.descent.{host}.{dead}.0123abcd.descent-tmp": False,  # stale: removed
        f".m.descent.{host}.{alive}.0123abcd.descent-tmp": True,  # a writer still running
        f".m.descent.{host}.{os.getpid()}.89abcdef.descent-tmp": True,  # another thread's
        f".m.descent.elsewhere.{dead}.0123abcd.descent-tmp": True,  # another machine's
        f".other.descent.{host}.{dead}.0123abcd.descent-tmp": True,  # another file's
        f".m.descent.{host}.{dead}.0123abcd.tmp": True,  # not descent's
        "m.descent.backup": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    write_atomically(tmp_path / "m.descent", _writer())
    kept = sorted(name for name, keep in names.items() if keep)
    assert _listing(tmp_path) == sorted([*kept, "m.descent"])


def test_a_folder_that_may_be_written_but_not_listed(tmp_path, monkeypatch):
    """In a folder of mode 0o300 (simulated: root may read anything) the stale files cannot
    be looked for nor the folder synced, but the write itself goes ahead."""
    opened = os.open

    def write_only(path, flags, *args):
        if Path(path) == tmp_path:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, flags, *args)

    def unlistable(path="."):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", write_only)
    monkeypatch.setattr(os, "scandir", unlistable)
    write_atomically(tmp_path / "m.descent", _writer())
    monkeypatch.undo()
    assert (tmp_path / "m.descent").read_bytes() == b"new"
    assert _listing(tmp_path) == ["m.descent"]


# ------------------------------------------------------------------ reading arrays
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_arrays_round_trip_through_chunked_reads(tmp_path, dtype):
    rng = np.random.default_rng(0)
    # 419,431 values: 3.2 MiB in float64, several 1 MiB chunks and a partial last one
    values = {"big": (rng.normal(size=(419_431,)) * 100).astype(dtype),
              "small": np.array([[1, 0], [0, 1]], dtype=dtype),
              "empty": np.zeros((0, 3), dtype=dtype)}
    arrays = {}
    header = {"format": "test", "format_version": 1, "values": pack(values, arrays)}
    write_archive(tmp_path / "a.zip", header, arrays)
    with ArchiveReader(tmp_path / "a.zip") as reader:
        restored = unpack(reader.checked_header("test", 1, "test file")["values"], reader)
    for name, array in values.items():
        assert restored[name].dtype == array.dtype and restored[name].shape == array.shape
        np.testing.assert_array_equal(restored[name], array)


# ------------------------------------------------------------------ lying ZIP directories
def _patch_directory(path, member, **sizes):
    """Overwrite ``member``'s ``compress_size`` or ``file_size`` in the ZIP central
    directory (the sizes zipfile trusts) and return ``path``."""
    offsets = {"compress_size": 20, "file_size": 24}
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    offset = struct.unpack_from("<I", data, end + 16)[0]
    while data[offset:offset + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data,
                                                                        offset + 28)
        if data[offset + 46:offset + 46 + name_length] == member.encode():
            for field, value in sizes.items():
                struct.pack_into("<I", data, offset + offsets[field], value)
            path.write_bytes(bytes(data))
            return path
        offset += 46 + name_length + extra_length + comment_length
    raise AssertionError(f"{path} has no member {member}")


def _rewrite(path, members, compression):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy_header(shape, descr="<f8"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


_SHAPE = (5000, 5000)  # 200 MB of float64 that a file of a few hundred bytes declares
_DECLARED = len(_npy_header(_SHAPE)) + 5000 * 5000 * 8


def _bomb(path, compression):
    """A model file declaring a 5000x5000 float64 layer whose weight member holds only
    its .npy header."""
    header = {"format": "descent-model", "format_version": 1, "descent_version": "0.1.0",
              "architecture": [{"type": "Linear", "in_features": 5000,
                                "out_features": 5000, "bias": False}],
              "sequential": True, "dtype": "float64",
              "parameters": {"0.weight": list(_SHAPE)}, "metadata": {}}
    return _rewrite(path, {"descent.json": json.dumps(header).encode(),
                           "params/0.weight.npy": _npy_header(_SHAPE)}, compression)


LIES = {
    "stored-declaring-more-than-it-stores": (zipfile.ZIP_STORED, {"file_size": _DECLARED},
                                  "stored uncompressed in .* bytes but declares"),
    "deflated-beyond-1032-to-1": (zipfile.ZIP_DEFLATED, {"file_size": _DECLARED},
                                  "more than deflate can expand"),
    "compressed-beyond-the-file": (zipfile.ZIP_DEFLATED,
                                   {"file_size": _DECLARED, "compress_size": 10 ** 6},
                                   "compressed bytes, more than the file's"),
}


@pytest.mark.parametrize("name", sorted(LIES))
def test_sizes_the_file_cannot_hold_are_refused_on_opening(tmp_path, name):
    compression, sizes, problem = LIES[name]
    path = _patch_directory(_bomb(tmp_path / "bomb.descent", compression),
                            "params/0.weight.npy", **sizes)
    assert path.stat().st_size < 2000
    with pytest.raises(ArchiveError, match=problem):
        ArchiveReader(path)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=problem):
            descent.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20, f"load allocated {peak / 2 ** 20:.0f} MiB"


def test_an_honest_bomb_the_file_can_hold_costs_only_its_arrays(tmp_path):
    """40 KB of deflated zeros that really hold 8 MB (200:1): it loads, without copies."""
    model = descent.nn.Sequential(descent.nn.Linear(1000, 2000, bias=False,
                                                    dtype="float32", init="zeros"))
    descent.save(model, tmp_path / "zeros.descent")
    assert (tmp_path / "zeros.descent").stat().st_size < 40_000
    tracemalloc.start()
    try:
        loaded = descent.load(tmp_path / "zeros.descent")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not loaded[0].weight.data.any()
    assert peak < 1.3 * 8_000_000, f"load allocated {peak / 2 ** 20:.1f} MiB"


def test_other_compression_methods_are_refused(tmp_path):
    """bzip2 and LZMA expand far beyond deflate's 1032:1, so their sizes bound nothing."""
    members = {"descent.json": b"{}", "params/a.npy": _npy_header((2,)) + bytes(16)}
    for method, number in ((zipfile.ZIP_BZIP2, 12), (zipfile.ZIP_LZMA, 14)):
        path = _rewrite(tmp_path / "other.zip", members, method)
        with pytest.raises(ArchiveError, match=f"compression method {number}; descent reads "
                                               "stored or deflated members only"):
            ArchiveReader(path)


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


@pytest.mark.parametrize("member", ["descent.json", "params/0.weight.npy"])
def test_two_members_with_one_name_are_refused(tmp_path, member):
    """zipfile reads the last of two members with one name, unzip extracts the first: a
    file that shows different models to different tools is refused."""
    descent.save(descent.nn.MLP([3, 2], rng=0), tmp_path / "one.descent",
                 metadata={"model": "one"})
    descent.save(descent.nn.MLP([3, 2], rng=1), tmp_path / "two.descent",
                 metadata={"model": "two"})
    path = tmp_path / "twice.descent"
    with zipfile.ZipFile(path, "w") as archive, \
            pytest.warns(UserWarning, match="Duplicate name"):
        for name, data in _members(tmp_path / "one.descent"):
            archive.writestr(name, data)
        archive.writestr(member, dict(_members(tmp_path / "two.descent"))[member])
    with pytest.raises(ModelFileError, match=f"it holds two members named '{member}'"):
        descent.load(path)


def test_the_total_size_cap(tmp_path):
    arrays = {"a": np.arange(1000.0), "b": np.ones((10, 10))}
    write_archive(tmp_path / "c.zip", {"format": "test", "format_version": 1}, arrays)
    with zipfile.ZipFile(tmp_path / "c.zip") as archive:
        total = sum(info.file_size for info in archive.infolist())
    with ArchiveReader(tmp_path / "c.zip", max_bytes=total) as reader:
        np.testing.assert_array_equal(reader.array("a", (1000,), "float64"), arrays["a"])
    with pytest.raises(ArchiveError, match=f"its members declare {total:,} bytes, more than "
                                           f"the {total - 1:,} a test file may hold"):
        ArchiveReader(tmp_path / "c.zip", "test file", max_bytes=total - 1)


@pytest.mark.parametrize("make, kind", [(Path.mkdir, "a folder"), (os.mkfifo, "a named pipe"),
                                        (_link_to("/dev/zero"), "a character device")],
                         ids=["folder", "fifo", "dev-zero"])
def test_reading_something_that_is_not_a_file(tmp_path, make, kind):
    make(tmp_path / "m.descent")
    with pytest.raises(ModelFileError, match=f"is {kind}, not a descent model file"):
        descent.load(tmp_path / "m.descent")


def test_a_header_that_names_a_key_twice_is_refused(tmp_path):
    import zipfile

    import pytest

    import descent

    path = tmp_path / "m.descent"
    descent.save(descent.nn.Linear(2, 1), path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = members["descent.json"].decode()
    members["descent.json"] = (header[:-1] + ', "metadata": {}}').encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(descent.ModelFileError, match="names 'metadata' twice in one object"):
        descent.load(path)
