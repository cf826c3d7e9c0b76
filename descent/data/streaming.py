"""Datasets read a block at a time, so that training needs memory for a block, not for
the data: the notes' promise that mini-batch gradient descent "can train using huge
datasets" because only a batch has to be in memory.

A ``Dataset`` gives ``descent.train`` the rows of one epoch as mini-batches of
``(X, y)`` arrays. Three kinds read files:

- ``ParquetDataset(path, target=...)``: a Parquet file, a folder of them or a glob
  pattern (``"data/*.parquet"``); ``CSVDataset`` the same for CSV and TSV files. Both
  encode the table as ``descent train`` does (numbers standardised, other columns
  one-hot), with the statistics and categories learned in one streaming pass over the
  file: exact means and spreads (``encoding.Moments``), the same rules and limits as
  ``TableEncoder`` (``encoding.ColumnSummary``).
- ``NpyDataset(X, y)``: ``.npy`` files opened as memory maps (or arrays), rows as they
  are.

The memory they use is bounded by ``memory`` (MB), whatever the file's size: a block of
rows is read and encoded at a time, and a shuffle buffer holds as many encoded rows as
the budget allows. An epoch visits the blocks in a random order and shuffles the rows
within the buffer (reading rows at random from a file is several times slower than
reading blocks in order); when every training row fits in the buffer, the blocks are
read once and kept, and every epoch is a full shuffle, as for arrays in memory. The
random order comes from the generator the training loop passes in, so the same seed
gives the same batches.

The validation rows are held out by a hash of each row's position in the table and the
dataset's seed: the same rows in every epoch and every run, never a training row, about
``validation`` of them (not stratified by class).

Row positions in messages count the data rows of the whole table from 0, and name the
file (and the row within it, for a table of several files).

``Dataset`` says what ``descent.train`` relies on, for a dataset of your own.
"""

import contextlib
import copy
import glob
import hashlib
import io
import math
import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import numpy as np

from descent.autograd.backend import as_rng
from descent.data.encoding import (MAX_CATEGORIES, MAX_CATEGORY_SHARE, ColumnSummary,
                                   DataError, Moments, TableEncoder, TargetSummary, _values,
                                   check_complete, feature_columns, missing_rows)
from descent.data.preprocessing import encode_labels
from descent.errors import DescentError, DescentTypeError, DescentValueError, ShapeError

#: The memory budget, in MB, when none is given (``descent train --memory``).
DEFAULT_MEMORY_MB = 1024
#: What reading a table into pandas and encoding it takes, per value (measured: a
#: 200,000 × 21 table of numbers takes 34 bytes a value, Parquet or CSV).
IN_MEMORY_BYTES_PER_VALUE = 40
#: File suffixes and their field separators (None: Parquet).
READERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": ",", ".parquet": None,
           ".pq": None}
_GLOB = set("*?[")
# pyarrow's Parquet reader, with pre_buffer=False and a small read buffer (its defaults
# read whole row groups), holds each column's dictionary page (up to 1 MB by default)
# and its read buffer: measured with malloc, a reader of 21 columns peaks at 1.7 MB
# without dictionaries and 11-23 MB with them, the sum of the dictionary pages (and
# the process keeps as much again, freed, for the next pages).
_PARQUET_READ_BUFFER = 1 << 16
# Bytes a row takes on its way from the file to the buffer, per raw and encoded value:
# the file's values and pandas' copy, then NumPy's float64 columns, the stacked
# matrix and the checks on it.
_RAW_VALUE_BYTES, _ENCODED_VALUE_BYTES = 24, 36
# Of the budget left after the reader: a block being read, the shuffle buffer (and the
# validation rows, when they fit in half of it); the rest is for batches, the model and
# what the allocator keeps of freed blocks (measured: with shares of 0.2 and 0.6, a run
# on 3.2 million rows peaked 6 MB over a budget of 64 MB; with these, 2 MB under it).
_BLOCK_SHARE, _BUFFER_SHARE = 0.15, 0.45
_MIN_BLOCK_ROWS, _MAX_BLOCK_ROWS = 64, 1 << 17
_MIN_USABLE = 256 << 10  # a few blocks of a narrow table
_CSV_GRAIN = 256  # records between the offsets a CSV scan keeps (8 bytes each)
_CSV_SCAN_BYTES = 1 << 20
_SAMPLE_ROWS = 256
_CACHE_SPARE_BYTES = 1 << 30  # what the disk keeps free besides a cache (twice its size)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def held_out(rows, fraction, seed):
    """Whether each row (its position in the table) is a validation row: a hash of the
    row and ``seed`` (SplitMix64) below ``fraction``; the same rows every time.

    Examples
    --------
    >>> held = held_out(np.arange(100_000), 0.2, seed=0)
    >>> round(float(held.mean()), 2), bool((held == held_out(np.arange(100_000), 0.2, 0)).all())
    (0.2, True)
    """
    if not fraction:
        return np.zeros(len(rows), dtype=bool)
    x = np.asarray(rows, dtype=np.uint64) * _GOLDEN + np.uint64(2 * (seed % 2 ** 62) + 1)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)) < np.uint64(int(fraction * 2.0 ** 53))


class Dataset:
    """Rows ``(X, y)`` read a block at a time: what ``descent.train`` takes in place of
    ``X, y``.

    What ``descent.train`` uses: ``n_features``, ``len()`` (the training rows),
    ``batches`` (one epoch), ``blocks`` (evaluation), ``sample``,
    ``target_sum_of_squares``, ``fingerprint``, ``validation`` and ``classes``.

    The subclasses here share the reading: each gives ``_chunks(block)``, which yields
    ``(X, y, rows)`` for block ``block`` of ``_block_count`` (every row of it, encoded:
    float64 ``X``, targets ``y``; ``rows`` their positions in the table, from which
    ``held_out`` picks the validation rows), and after its first pass the part sizes
    (``_split``), ``_sample``, ``_target_moments`` and ``_fingerprint``; ``_plan`` and
    ``_finish`` size the blocks and the buffer from the budget.

    Attributes
    ----------
    n_features : int
        The columns of ``X``.
    validation : Dataset or None
        The held-out rows, a dataset of their own (``validation=`` of the constructor).
    classes : numpy.ndarray or None
        The class labels, in the order of the codes ``y`` holds (table datasets).
    """

    classes = None
    validation = None
    _part = "training"
    _seed = 0
    _fraction = 0.0
    _kept = None
    _kept_in_memory = False
    _caches = None

    def __len__(self):
        return self._rows[self._part]

    @property
    def in_memory(self):
        """Whether this part's rows fit in the budget: read once, then kept in memory."""
        return self._kept_in_memory

    def _held(self, rows):
        return held_out(rows, self._fraction, self._seed)

    def _part_chunks(self, block):
        """``(X, y)`` of this part's rows of ``block``: from the cache once it holds the
        block, else read, and written to the caches of the parts still without it."""
        caches = self._caches or {}
        if self._part in caches and caches[self._part].has(block):
            yield from caches[self._part].read(block, self._block_rows)
            return
        filling = [(part, cache) for part, cache in caches.items() if not cache.has(block)]
        for _, cache in filling:
            cache.start(block)
        for X, y, rows in self._chunks(block):
            held = self._held(rows)
            for part, cache in filling:
                cache.write(block, *_select(X, y, held if part == "validation" else ~held))
            selected = _select(X, y, held if self._part == "validation" else ~held)
            if len(selected[0]):
                yield selected
        for _, cache in filling:
            cache.finish(block)

    def blocks(self, dtype=np.float32):
        """``(X, y)`` of this part's rows, a block at a time in the table's order, ``X``
        in ``dtype`` (for evaluation: no shuffling, no buffer)."""
        if self._kept_in_memory:
            yield self._whole(dtype)
            return
        for block in range(self._block_count):
            for X, y in self._part_chunks(block):
                yield X.astype(dtype, copy=False), y

    def batches(self, batch_size, shuffle=True, rng=None, dtype=np.float32):
        """One epoch of mini-batches ``(X, y)`` of this part's rows, ``X`` in ``dtype``.

        The blocks come in a random order (``rng.permutation``) and the buffer's rows are
        shuffled before they are cut into batches; the rows a buffer leaves over (fewer
        than a batch) go on into the next, so only the epoch's last batch is smaller.
        When every row fits in the buffer, the rows are read once, in the table's order,
        and kept; each epoch draws one ``rng.permutation`` of them: the batches
        ``descent.train`` makes of the same rows as arrays. ``batch_size`` None (or as
        many as there are rows) is one batch of every row, in order.
        """
        if batch_size is None or batch_size >= len(self):
            if not self._kept_in_memory:
                raise DescentValueError(
                    f"batch gradient descent needs all {len(self)} training rows in one "
                    f"batch, more than the memory budget holds ({self._buffer_rows} "
                    "rows); use mini-batches (batch_size=32, --batch-size 32) or a larger "
                    "budget (memory=, --memory)")
            yield self._whole(dtype)
            return
        rng = as_rng(rng) if shuffle else None
        if self._kept_in_memory:
            X, y = self._whole(dtype)
            order = rng.permutation(len(X)) if rng is not None else np.arange(len(X))
            for start in range(0, len(X), batch_size):
                index = order[start:start + batch_size]
                yield X.take(index, axis=0), y.take(index, axis=0)
            return
        order = rng.permutation(self._block_count) if rng is not None \
            else range(self._block_count)
        buffer = _Buffer(max(self._buffer_rows, 2 * batch_size), dtype)
        for block in order:
            for X, y in self._part_chunks(block):
                start = 0
                while start < len(X):
                    if buffer.full:
                        yield from buffer.drain(batch_size, rng, last=False)
                    start += buffer.put(X[start:], y[start:])
        yield from buffer.drain(batch_size, rng, last=True)

    def _whole(self, dtype):
        """Every row of this part, in the table's order: read once, then kept."""
        kept = self._kept
        if kept is None or kept[0].dtype != dtype:
            X, y, at = np.empty((len(self), self.n_features), dtype=dtype), None, 0
            for block in range(self._block_count):
                for x, targets in self._part_chunks(block):
                    if y is None:
                        y = np.empty((len(self), *targets.shape[1:]), dtype=targets.dtype)
                    X[at:at + len(x)], y[at:at + len(x)] = x, targets
                    at += len(x)
            kept = self._kept = (X, y)
        return kept

    def sample(self, count=_SAMPLE_ROWS):
        """``(X, y)`` of up to ``count`` training rows spread evenly over the table (at
        the positions ``numpy.linspace`` spreads over all its rows; the training rows
        among them), for the checks the training loop makes on a few rows."""
        X, y = self._sample
        if len(X) > count:
            index = np.linspace(0, len(X) - 1, count).astype(np.intp)
            X, y = X[index], y[index]
        return X, y

    def target_sum_of_squares(self):
        """Σ (y − ȳ)² over the training targets, summed over their columns (for R²)."""
        return float(np.sum(self._target_moments.m2))

    def fingerprint(self):
        """A text that changes when the data or the way it is read changes (a checkpoint
        records it)."""
        return self._fingerprint

    def _view(self, part):
        view = copy.copy(self)
        view._part, view.validation, view._kept = part, None, None
        return view

    def _split(self, rows, held):
        """Set the parts' sizes after the first pass (refusing an empty part)."""
        self._rows = {"training": rows - held, "validation": held}
        if not self._rows["training"]:
            raise DataError("no training rows are left: every row was held out for "
                            "validation; hold out a smaller fraction")
        if self._fraction and not held:
            raise DataError(f"no row was held out for validation (validation="
                            f"{self._fraction:g} of {rows} rows); hold out a larger fraction")

    def _plan(self, fixed, raw_bytes, encoded_width, memory, what):
        """Set ``_block_rows`` and the buffer from the budget of ``memory`` MB: ``fixed``
        bytes for the reader, ``raw_bytes`` a row as read, ``encoded_width`` values a row
        once encoded (a first guess, until the first pass knows)."""
        memory = _check_memory(memory)
        self._usable = memory * 2 ** 20 - fixed
        if self._usable < _MIN_USABLE:
            need = math.ceil((fixed + _MIN_USABLE) / 2 ** 20)
            raise DataError(f"a memory budget of {memory:g} MB is too small to read {what} "
                            f"a block at a time: its reader alone takes about "
                            f"{fixed / 2 ** 20:.0f} MB; give at least {need} MB")
        row = raw_bytes + _ENCODED_VALUE_BYTES * encoded_width
        self._block_rows = int(min(max(self._usable * _BLOCK_SHARE // row, _MIN_BLOCK_ROWS),
                                   _MAX_BLOCK_ROWS))

    def _finish(self, cache=False, block_sizes=None):
        """After the first pass: how many rows the shuffle buffer holds, which parts stay
        in memory (those that fit: read once, never again), the validation part, and,
        with ``cache``, the disk caches of the parts that do not fit (``block_sizes``:
        each part's rows in each block)."""
        row = 4 * self.n_features + 24  # float32 values, a target, the shuffle's index
        room = int(self._usable * _BUFFER_SHARE // row)
        held = self._rows["validation"]
        keep_validation = bool(held) and held <= room / 2
        self._buffer_rows = room - held if keep_validation else room
        self._kept, self._kept_in_memory = None, len(self) <= self._buffer_rows
        streamed = [part for part, kept in (("training", self._kept_in_memory),
                                            ("validation", keep_validation))
                    if self._rows[part] and not kept]
        self._caches = _caches(streamed, block_sizes, self.n_features) if cache else None
        if held:
            self.validation = self._view("validation")
            self.validation._kept_in_memory = keep_validation


def _select(X, y, keep):
    return (X, y) if keep.all() else (X[keep], y[keep])


def _caches(parts, block_sizes, width):
    """A ``_Cache`` for each of ``parts``, in a new temporary folder, if the disk has
    room for them twice over (else none: the blocks are read from the table each time)."""
    if not parts:
        return None
    rows = sum(sum(block_sizes[part]) for part in parts)
    folder = tempfile.gettempdir()
    if shutil.disk_usage(folder).free < 2 * rows * 8 * (width + 1) + _CACHE_SPARE_BYTES:
        return None
    folder = tempfile.mkdtemp(prefix="descent-cache-")
    caches = {part: _Cache(Path(folder) / part, block_sizes[part], width) for part in parts}
    # the caches live and go together (in one dict the dataset's parts share); the
    # folder goes with them, or when Python exits
    weakref.finalize(caches[parts[0]], shutil.rmtree, folder, True)
    return caches


class _Cache:
    """One part's encoded rows, written while the first epoch reads the table and read
    back, a block at a time, by the later epochs: the same rows in the same order, so
    the same batches, without parsing and encoding the file again.

    Plain reads and writes at each block's offset, not a memory map: the pages the
    system keeps of the file are not the process's memory. A block read half (an epoch
    that stopped in the middle) is written again the next time.
    """

    def __init__(self, path, sizes, width):
        self.path, self.width = path, width
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        self.filled = np.zeros(len(sizes), dtype=np.int64)
        self.done = np.zeros(len(sizes), dtype=bool)
        self.y_dtype = self.y_shape = None
        path.with_suffix(".X").touch()
        path.with_suffix(".y").touch()

    def has(self, block):
        return bool(self.done[block])

    def start(self, block):
        self.filled[block] = 0

    def write(self, block, X, y):
        if self.y_dtype is None:
            self.y_dtype, self.y_shape = y.dtype, y.shape[1:]
        at = self.starts[block] + self.filled[block]
        y_row = y.itemsize * int(np.prod(self.y_shape, dtype=np.int64))
        for suffix, values, row in ((".X", np.ascontiguousarray(X, np.float64),
                                     8 * self.width), (".y", np.ascontiguousarray(y), y_row)):
            with open(self.path.with_suffix(suffix), "r+b") as handle:
                handle.seek(int(at) * row)
                values.tofile(handle)
        self.filled[block] += len(X)

    def finish(self, block):
        self.done[block] = self.filled[block] == self.sizes[block]

    def read(self, block, rows):
        """The block's rows, ``rows`` at a time."""
        y_row = np.dtype(self.y_dtype).itemsize * int(np.prod(self.y_shape, dtype=np.int64))
        with open(self.path.with_suffix(".X"), "rb") as X_file, \
                open(self.path.with_suffix(".y"), "rb") as y_file:
            start, end = int(self.starts[block]), int(self.starts[block] + self.sizes[block])
            for at in range(start, end, rows):
                n = min(rows, end - at)
                X_file.seek(at * 8 * self.width)
                y_file.seek(at * y_row)
                X = np.fromfile(X_file, dtype=np.float64, count=n * self.width)
                y = np.fromfile(y_file, dtype=self.y_dtype,
                                count=n * int(np.prod(self.y_shape, dtype=np.int64)))
                yield X.reshape(n, self.width), y.reshape(n, *self.y_shape)


class _Buffer:
    """The rows an epoch shuffles together: filled block by block, drained as batches."""

    def __init__(self, capacity, dtype):
        self.capacity, self.dtype = capacity, dtype
        self.X = self.y = None
        self.count = 0

    @property
    def full(self):
        return self.count == self.capacity

    def put(self, X, y):
        if self.X is None:
            self.X = np.empty((self.capacity, X.shape[1]), dtype=self.dtype)
            self.y = np.empty((self.capacity, *y.shape[1:]), dtype=y.dtype)
        taken = min(len(X), self.capacity - self.count)
        self.X[self.count:self.count + taken] = X[:taken]
        self.y[self.count:self.count + taken] = y[:taken]
        self.count += taken
        return taken

    def drain(self, batch_size, rng, last):
        """Shuffled batches of the rows held; all of them when ``last``, else whole
        batches only, the rows left over moved to the front for the next fill."""
        if not self.count:
            return
        order = rng.permutation(self.count) if rng is not None else np.arange(self.count)
        end = self.count if last else self.count - self.count % batch_size
        for start in range(0, end, batch_size):
            index = order[start:min(start + batch_size, end)]
            yield self.X.take(index, axis=0), self.y.take(index, axis=0)
        rest = order[end:]
        self.X[:len(rest)] = self.X[rest]
        self.y[:len(rest)] = self.y[rest]
        self.count = len(rest)


def _check_memory(memory):
    if isinstance(memory, bool) or not isinstance(memory, (int, float)) \
            or not math.isfinite(memory) or memory <= 0:
        raise DescentValueError(f"memory must be a positive number of MB, got {memory!r}")
    return memory


def _check_fraction(validation):
    if validation is None:
        return 0.0
    if isinstance(validation, bool) or not isinstance(validation, (int, float)) \
            or not 0 <= validation < 1:
        raise DescentValueError(f"validation must be a fraction in [0, 1) of the rows to hold "
                                f"out, got {validation!r}")
    return float(validation)


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DescentValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _sample_positions(rows):
    return np.unique(np.linspace(0, max(rows - 1, 0), min(rows, _SAMPLE_ROWS))
                     .astype(np.int64))


# ------------------------------------------------------------------------ .npy files
class NpyDataset(Dataset):
    """Rows of a feature matrix and its targets in ``.npy`` files, read through memory
    maps a block at a time, as they are (no standardisation).

    Parameters
    ----------
    X, y : path or array_like
        ``.npy`` files (opened with ``numpy.load(..., mmap_mode="r")``) or arrays (a
        ``numpy.memmap`` among them): ``X`` numbers of shape (n, features), ``y``
        numbers (class codes or targets) with n rows.
    validation : float, optional
        The fraction of the rows to hold out (``held_out``); None: none.
    seed : int
        Which rows are held out.
    memory : float
        The budget in MB for the blocks and the shuffle buffer.
    block_rows : int, optional
        Rows per block (default: from the budget).

    The first pass, when the dataset is made, checks every value (a NaN or infinity is
    an error naming the file and row) and fingerprints the contents.

    Examples
    --------
    >>> import descent
    >>> X, y = descent.datasets.moons(200, seed=0)
    >>> data = NpyDataset(X, y, validation=0.25)
    >>> len(data), len(data.validation), data.n_features
    (149, 51, 2)
    """

    def __init__(self, X, y, *, validation=None, seed=0, memory=DEFAULT_MEMORY_MB,
                 block_rows=None):
        self._X, self._x_name = _open_array(X, "X")
        self._y, self._y_name = _open_array(y, "y")
        if self._X.dtype == object or self._X.dtype.kind not in "biuf":
            raise DescentTypeError(f"X ({self._x_name}) must hold numbers, got dtype "
                                   f"{self._X.dtype}")
        if self._X.ndim not in (1, 2):
            raise ShapeError(f"X ({self._x_name}) must be 2-D (n_samples, n_features), got "
                             f"shape {self._X.shape}")
        if self._y.dtype == object or self._y.dtype.kind not in "biuf":
            raise DescentTypeError(f"y ({self._y_name}) must hold numbers (class codes or "
                                   f"targets), got dtype {self._y.dtype}")
        if self._y.ndim == 0 or len(self._y) != len(self._X):
            raise ShapeError(f"X has {len(self._X)} rows but y has "
                             f"{self._y.size if self._y.ndim == 0 else len(self._y)}")
        if not len(self._X):
            raise DescentValueError(f"X ({self._x_name}) is empty: it has no rows")
        self.n_features = 1 if self._X.ndim == 1 else self._X.shape[1]
        self._fraction, self._seed = _check_fraction(validation), _check_seed(seed)
        target_width = int(np.prod(self._y.shape[1:], dtype=np.int64))
        self._plan(0, 8 * (self.n_features + target_width), self.n_features, memory,
                   self._x_name)
        if block_rows is not None:
            self._block_rows = _positive(block_rows, "block_rows")
        self._block_count = -(-len(self._X) // self._block_rows)
        self._first_pass()

    def _chunks(self, block):
        start = block * self._block_rows
        stop = min(start + self._block_rows, len(self._X))
        X = np.asarray(self._X[start:stop], dtype=np.float64)
        return [(X.reshape(len(X), -1), np.asarray(self._y[start:stop]),
                 np.arange(start, stop))]

    def _first_pass(self):
        digest = hashlib.sha256(f"{self._X.shape} {self._y.shape} {self._y.dtype} "
                                f"{self._fraction} {self._seed}".encode())
        moments, held_rows = Moments(), 0
        positions = _sample_positions(len(self._X))
        sample_X, sample_y = [], []
        for block in range(self._block_count):
            for X, y, rows in self._chunks(block):
                for values, what, name in ((X, "X", self._x_name), (y, "y", self._y_name)):
                    if values.dtype.kind == "f" and not np.isfinite(np.sum(values)):
                        bad = ~np.isfinite(values.reshape(len(values), -1))
                        row, column = np.argwhere(bad)[0]
                        raise DescentValueError(
                            f"{what} ({name}) has a NaN or infinite value at row "
                            f"{rows[row]} (counting from 0), column {column}; drop or fill "
                            "it before training")
                digest.update(np.ascontiguousarray(X).view(np.uint8))
                digest.update(np.ascontiguousarray(y).view(np.uint8))
                held = self._held(rows)
                held_rows += int(held.sum())
                moments.add(y[~held].reshape(int((~held).sum()), -1).astype(np.float64))
                wanted = np.isin(rows, positions) & ~held
                sample_X.append(X[wanted])
                sample_y.append(y[wanted])
        self._target_moments = moments
        self._sample = (np.concatenate(sample_X), np.concatenate(sample_y))
        self._fingerprint = digest.hexdigest()
        self._split(len(self._X), held_rows)
        self._finish()


def _open_array(data, what):
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise DataError(f"{what} file {path} does not exist or is not a file")
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False), str(path)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read {path} as a .npy array: {error}") from None
    return np.asarray(data) if not isinstance(data, np.ndarray) else data, "an array"


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DescentValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------ tables
def pandas_module():
    """pandas, or a clear error naming the extra that installs it."""
    try:
        import pandas
    except ImportError:
        raise DescentError("reading data files needs pandas: pip install 'descent[cli]'") \
            from None
    return pandas


def _parquet():
    try:
        import pyarrow.parquet
    except ImportError:
        raise DescentError("reading Parquet files needs pyarrow: pip install "
                           "'descent[cli]'") from None
    return pyarrow.parquet


@contextlib.contextmanager
def _system_allocator():
    """Arrow allocates with the C library's malloc inside the block: its default
    allocator (mimalloc) holds on to about as much memory again as the reader uses
    (measured: a reader's pool peaks at 11 MB with malloc, 22 MB with mimalloc, and the
    process grows by twice that). A reader captures the allocator it is made with; the
    default comes back at once, for any other Arrow work in the process."""
    pyarrow = sys.modules["pyarrow"]
    previous = pyarrow.default_memory_pool()
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    try:
        yield
    finally:
        pyarrow.set_memory_pool(previous)


def _reason(error):
    return str(error).splitlines()[0] if str(error) else type(error).__name__


class _Block:
    """Rows ``rows`` (about, for CSV) of part ``part``: a Parquet row group ``key`` or a
    CSV byte range ``key = (start, end)``."""

    def __init__(self, part, key, rows):
        self.part, self.key, self.rows = part, key, rows


class TableSource:
    """A table in one or more files, read a block of rows at a time.

    ``path`` is a CSV, TSV or Parquet file, a folder (every data file in it and below,
    but hidden ones and those starting with ``_``, such as Spark's ``_SUCCESS``) or a
    glob pattern (``"data/*.parquet"``; ``**`` reaches into folders). Every file must be
    of one format and have the same columns, of the same types in Parquet; a file that
    differs is an error naming it, before anything is read.

    Attributes
    ----------
    parts : list of pathlib.Path
        The files, sorted.
    columns : list of str
        The column names.
    rows : int
        The data rows (for CSV, the records a scan of the file counts).
    """

    def __init__(self, path):
        self.path = str(path)
        self.parts = data_files(path)
        suffixes = {part.suffix.lower() for part in self.parts}
        separators = {READERS[suffix] for suffix in suffixes}
        if len(separators) > 1:
            raise DataError(f"{self.path} mixes files of different formats "
                            f"({', '.join(sorted(suffixes))}); give files of one format")
        self.separator = separators.pop()
        self.parquet = self.separator is None
        if self.parquet:
            self._open_parquet()
        else:
            self._open_csv()

    # -- what it is
    def describe(self):
        files = f", {len(self.parts)} files" if len(self.parts) > 1 else ""
        return f"{self.path} ({self.rows} rows, {len(self.columns)} columns{files})"

    def estimated_memory(self):
        """Bytes that reading the whole table into memory and encoding it would take."""
        return self.rows * len(self.columns) * IN_MEMORY_BYTES_PER_VALUE

    def reader_bytes(self, columns=None):
        """What the reader holds besides the rows it gives: for Parquet, twice each
        column's dictionary page and read buffer, in the largest row group (the
        allocator keeps what the reader frees for its next pages: measured, the process
        grows by twice the reader's own peak); for CSV nothing (a block is read as
        bytes, counted with the rows)."""
        if not self.parquet:
            return 0
        wanted = set(self.columns if columns is None else columns)
        largest = 0
        for metadata in self._metadata:
            for group in range(metadata.num_row_groups):
                row_group, total = metadata.row_group(group), 0
                for index in range(row_group.num_columns):
                    chunk = row_group.column(index)
                    if chunk.path_in_schema not in wanted:
                        continue
                    dictionary = (chunk.data_page_offset - chunk.dictionary_page_offset
                                  if chunk.has_dictionary_page else 0)
                    total += 2 * (dictionary + _PARQUET_READ_BUFFER)
                largest = max(largest, total)
        return largest + _MIN_USABLE

    def where(self, part, local, first):
        """The function that names row ``r`` of a chunk starting at row ``first`` of the
        table and ``local`` of part ``part``."""
        path = self.parts[part]
        if len(self.parts) == 1:
            return lambda r: f"data row {first + r} (counting from 0) of {path}"
        return lambda r: (f"data row {first + r} of the table (counting from 0), row "
                          f"{local + r} of {path}")

    # -- reading
    def read_all(self):
        """The whole table in one pandas DataFrame (the parts one after another)."""
        pandas = pandas_module()
        frames = [self._read_part(part) for part in range(len(self.parts))]
        frame = frames[0] if len(frames) == 1 else pandas.concat(frames, ignore_index=True)
        if frame.shape[0] == 0:
            raise DataError(f"data file {self.path} has no rows or no columns")
        return frame

    def layout(self, block_rows):
        """The blocks of at most about ``block_rows`` rows, in the table's order."""
        blocks = []
        for part in range(len(self.parts)):
            if self.parquet:
                metadata = self._metadata[part]
                for group in range(metadata.num_row_groups):
                    blocks.append(_Block(part, group, metadata.row_group(group).num_rows))
            else:
                offsets, size, _ = self._scans[part]
                step = max(1, block_rows // _CSV_GRAIN)
                starts = offsets[::step]
                for index, start in enumerate(starts):
                    end = starts[index + 1] if index + 1 < len(starts) else size
                    if end > start:
                        blocks.append(_Block(part, (start, end), step * _CSV_GRAIN))
        return blocks

    def read(self, block, columns, block_rows):
        """The rows of ``block`` as DataFrames of at most ``block_rows`` rows (the
        ``columns`` only, for Parquet)."""
        path = self.parts[block.part]
        pandas = pandas_module()
        try:
            if self.parquet:
                parquet = _parquet()
                with _system_allocator():
                    handle = parquet.ParquetFile(path, pre_buffer=False,
                                                 buffer_size=_PARQUET_READ_BUFFER)
                    batches = handle.iter_batches(batch_size=block_rows,
                                                  row_groups=[block.key], columns=columns,
                                                  use_threads=False)
                while True:
                    with _system_allocator():
                        batch = next(batches, None)
                        frame = None if batch is None else batch.to_pandas()
                    if frame is None:
                        return
                    yield frame
            start, end = block.key
            with open(path, "rb") as handle:
                handle.seek(start)
                text = handle.read(end - start)
            if not text.strip():
                return
            yield pandas.read_csv(io.BytesIO(text), sep=self.separator, header=None,
                                  names=self.columns, low_memory=False)
        except (OSError, ValueError, UnicodeDecodeError, pandas.errors.ParserError) as error:
            raise DataError(f"cannot read {path}: {_reason(error)}") from None

    # -- opening
    def _open_parquet(self):
        parquet = _parquet()
        self._metadata, first = [], None
        for path in self.parts:
            try:
                handle = parquet.ParquetFile(path)
            except (OSError, ValueError) as error:
                raise DataError(f"cannot read {path}: {_reason(error)}") from None
            schema = handle.schema_arrow
            names = [str(name) for name in schema.names]
            _check_names(path, names)
            types = {name: str(schema.field(name).type) for name in names}
            if first is None:
                first = (path, names, types)
            else:
                _check_same_columns(first, (path, names, types))
            self._metadata.append(handle.metadata)
        self.columns = first[1]
        self.rows = sum(metadata.num_rows for metadata in self._metadata)
        if not self.rows or not self.columns:
            raise DataError(f"data file {self.path} has no rows or no columns")

    def _open_csv(self):
        pandas = pandas_module()
        self._scans, first = [], None
        for path in self.parts:
            offsets, size, header, records = _scan_csv(path)
            if not header.strip():
                raise DataError(f"data file {path} is empty")
            try:
                names = pandas.read_csv(io.BytesIO(header), sep=self.separator, header=None,
                                        nrows=1, dtype=str, keep_default_na=False
                                        ).iloc[0].tolist()
            except (ValueError, pandas.errors.ParserError) as error:
                raise DataError(f"cannot read {path}: {_reason(error)}") from None
            names = [str(name) for name in names]
            _check_names(path, names)
            if first is None:
                first = (path, names, None)
            else:
                _check_same_columns(first, (path, names, None))
            self._scans.append((offsets, size, records))
        self.columns = first[1]
        self.rows = sum(records for _, _, records in self._scans)
        if not self.rows:
            raise DataError(f"data file {self.path} has no rows or no columns")

    def _read_part(self, part):
        pandas = pandas_module()
        path = self.parts[part]
        try:
            if self.parquet:
                return pandas.read_parquet(path)
            return pandas.read_csv(path, sep=self.separator)
        except pandas.errors.EmptyDataError:
            raise DataError(f"data file {path} is empty") from None
        except (OSError, ValueError, UnicodeDecodeError, pandas.errors.ParserError) as error:
            raise DataError(f"cannot read {path}: {_reason(error)}") from None


def data_files(path):
    """The files ``path`` names, sorted: itself, a folder's data files (hidden ones and
    those starting with ``_`` left out), or a glob pattern's; an error for none, a
    missing file or a format descent cannot read.

    Examples
    --------
    >>> data_files("no-such-file.csv")
    Traceback (most recent call last):
    ...
    descent.data.encoding.DataError: data file no-such-file.csv does not exist
    """
    text = str(path)
    given = Path(path)
    if not given.exists() and _GLOB & set(text):
        parts = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not parts:
            raise DataError(f"no file matches {text}")
    elif given.is_dir():
        parts = sorted(p for p in given.rglob("*") if p.is_file()
                       and p.suffix.lower() in READERS
                       and not any(n.startswith((".", "_")) for n in p.relative_to(given).parts))
        if not parts:
            raise DataError(f"folder {given} has no data files ({', '.join(sorted(READERS))})")
    elif given.exists() and not given.is_file():
        raise DataError(f"data file {given} is not a regular file (a device, pipe or socket)")
    elif not given.is_file():
        raise DataError(f"data file {given} does not exist")
    else:
        parts = [given]
    for part in parts:
        if part.suffix.lower() not in READERS:
            raise DataError(f"cannot read {part}: unsupported format "
                            f"{part.suffix.lower() or '(none)'!r}; use one of "
                            f"{', '.join(sorted(READERS))}")
    return parts


def _check_names(path, names):
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"data file {path} has more than one column named "
                        f"{', '.join(map(repr, repeated))}; give every column its own name")


def _check_same_columns(first, other):
    """Refuse a file whose columns (or, in Parquet, their types) differ from the first's."""
    (path, names, types), (other_path, other_names, other_types) = first, other
    missing = [n for n in names if n not in other_names]
    extra = [n for n in other_names if n not in names]
    if missing or extra:
        problem = "; ".join(filter(None, [f"it lacks {missing}" if missing else "",
                                          f"it has {extra} besides" if extra else ""]))
        raise DataError(f"{other_path} does not have the columns of {path}: {problem}; every "
                        "file of a table needs the same columns")
    if other_names != names:
        raise DataError(f"{other_path} has the columns of {path} in another order "
                        f"({other_names}); every file of a table needs them in one order")
    for name in names if types else ():
        if types[name] != other_types[name]:
            raise DataError(f"column {name!r} is {other_types[name]} in {other_path} but "
                            f"{types[name]} in {path}; every file of a table needs the same "
                            "types (convert the column in one of them)")


def _scan_csv(path):
    """``(offsets, size, header, records)`` of a CSV file: the byte offset of every
    ``_CSV_GRAIN``-th record after the header line, the file's size, the header's bytes
    and the records that are not blank lines. A line break inside a quoted field ends no
    record: an odd number of quotes comes before it (a quote in a field is doubled)."""
    offsets, records, blank, header_end, previous, position, quoted = [], 0, 0, None, 0, 0, 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CSV_SCAN_BYTES)
            if not chunk:
                break
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == 10)
            quotes = data == 34
            if quoted or quotes.any():
                ends = ends[(np.cumsum(quotes)[ends] + quoted) % 2 == 0]
                quoted = (quoted + int(np.count_nonzero(quotes))) % 2
            ends = ends.astype(np.int64) + position + 1
            if header_end is None and len(ends):
                header_end = previous = int(ends[0])
                ends = ends[1:]
            if len(ends):
                starts = np.concatenate(([previous], ends[:-1]))
                number = np.arange(records, records + len(ends))
                offsets.extend(starts[number % _CSV_GRAIN == 0].tolist())
                blank += int(np.count_nonzero(ends - starts == 1))
                records += len(ends)
                previous = int(ends[-1])
            position += len(chunk)
        if header_end is None:
            header_end = previous = position
        if position > previous:  # a last record without a line break
            if records % _CSV_GRAIN == 0:
                offsets.append(previous)
            records += 1
        handle.seek(0)
        header = handle.read(header_end)
    return np.array(offsets, dtype=np.int64), position, header, records - blank


class TableDataset(Dataset):
    """A table (CSV, TSV or Parquet; a file, a folder or a glob) read a block at a time
    and encoded as ``descent train`` encodes one: numeric columns standardised with the
    training rows' mean and spread, other columns one-hot over the categories of all
    rows, ``y`` the class codes (the index into ``classes``) or the target's numbers.

    The first pass, when the dataset is made, learns the encoding in one streaming pass
    (by ``ColumnSummary`` and ``TargetSummary``, the rules of ``TableEncoder.fit``) and
    checks every value: a missing value, a text among numbers, a category too many, a
    file with other columns, is an error naming the file and the row before any training.

    Parameters
    ----------
    path : str, pathlib.Path or TableSource
        See ``TableSource``.
    target : str
        The column to predict.
    features, drop : sequence of str, optional
        The feature columns (default: all but the target) and columns to leave out.
    task : {"auto", "classification", "regression"}
        As ``descent train --task``.
    validation : float
        The fraction of the rows to hold out (``held_out``); 0 or None: none.
    seed : int
        Which rows are held out.
    dropna : bool
        Leave out rows with a missing value in a column used, instead of refusing them.
    memory : float
        The budget in MB for the reader, the block being read and the shuffle buffer.
    block_rows : int, optional
        Rows per block (default: from the budget).
    standardize_target : bool
        Give a regression target standardised (``(y - target_mean) / target_scale``), as
        ``descent train`` trains on it.
    cache : bool
        Keep the encoded rows of the parts that do not fit in the budget in a temporary
        file (in ``tempfile.gettempdir()``, deleted with the dataset), written while the
        first epoch reads the table: the later epochs and the validation read it back a
        block at a time instead of parsing and encoding the table again, with the same
        batches. It takes 8 bytes a value on disk, and is left out when the disk has
        less than twice that (and 1 GB) free.
    max_categories, max_category_share
        The limits of ``TableEncoder.fit``.

    Attributes
    ----------
    encoder : TableEncoder
        The encoding learned.
    task : str
        ``"classification"`` or ``"regression"``.
    classes : numpy.ndarray or None
        The class labels.
    target_mean, target_scale : float or None
        A regression target's mean and standard deviation (1 if 0) over the training rows.
    rows : int
        The table's rows used (all, or those left by ``dropna``).
    """

    def __init__(self, path, target, *, features=None, drop=None, task="auto",
                 validation=0.2, seed=0, dropna=False, memory=DEFAULT_MEMORY_MB,
                 block_rows=None, standardize_target=False, cache=True,
                 max_categories=MAX_CATEGORIES, max_category_share=MAX_CATEGORY_SHARE):
        self.source = path if isinstance(path, TableSource) else TableSource(path)
        self.features = feature_columns(self.source.columns, target, features, drop)
        self.target = str(target)
        self._columns = [*self.features, self.target]
        self._fraction, self._seed = _check_fraction(validation), _check_seed(seed)
        self._dropna = bool(dropna)
        self._standardize_target = bool(standardize_target)
        self._cache = bool(cache)
        fixed = self.source.reader_bytes(self._columns)
        self._plan(fixed, _RAW_VALUE_BYTES * len(self._columns), len(self._columns), memory,
                   self.source.path)
        if block_rows is not None:
            self._block_rows = _positive(block_rows, "block_rows")
        self._blocks = self.source.layout(self._block_rows)
        self._block_count = len(self._blocks)
        self._first_pass(task, max_categories, max_category_share)

    def _chunks(self, block):
        first, local = self._starts[block]
        for frame, rows, where in self._frames(block, first, local):
            X = self.encoder.check_representable(self.encoder.transform(frame, where),
                                                 np.float32, where)
            yield X, self._target_values(_values(frame, self.target)), rows

    def _frames(self, block, first, local, check=False):
        """``(frame, rows, where)`` of block ``block``'s rows, those with missing values
        left out under ``dropna``, else (``check``: in the first pass) refused."""
        read = 0
        for frame in self.source.read(self._blocks[block], self._columns, self._block_rows):
            rows = np.arange(first + read, first + read + len(frame))
            where = self.source.where(self._blocks[block].part, local + read, first + read)
            read += len(frame)
            if self._dropna:
                kept = np.flatnonzero(~missing_rows(frame, self._columns))
                if len(kept) < len(frame):
                    frame, rows = frame.iloc[kept], rows[kept]
                    where = (lambda named, kept: lambda r: named(int(kept[r])))(where, kept)
            elif check:
                check_complete(frame, self._columns, where)
            yield frame, rows, where
        expected = getattr(self, "_sizes", None)
        if expected is not None and read != expected[block]:
            raise DataError(f"{self.source.parts[self._blocks[block].part]} changed while "
                            f"it was being read ({read} rows where there were "
                            f"{expected[block]}); train on a copy that stays as it is")
        self._last_read = read

    def _target_values(self, values):
        if self.task == "classification":
            return encode_labels(self._target.labels_of(values), self.classes)[0]
        values = values.astype(np.float64)
        if self._standardize_target:
            return (values - self.target_mean) / self.target_scale
        return values

    def _first_pass(self, task, max_categories, max_category_share):
        pandas = pandas_module()
        summaries = [ColumnSummary(name, max_categories, max_category_share,
                                   cap=max_categories + 1) for name in self.features]
        self._target = TargetSummary(self.target)
        positions = _sample_positions(self.source.rows)
        samples, starts, sizes = [], [], []
        parts = {"training": [], "validation": []}  # each part's rows in each block
        first, used, held_rows, local, part = 0, 0, 0, 0, None
        for index, block in enumerate(self._blocks):
            if block.part != part:
                part, local = block.part, 0
            starts.append((first, local))
            parts["training"].append(0)
            parts["validation"].append(0)
            for frame, rows, where in self._frames(index, first, local, check=True):
                held = self._held(rows)
                train = ~held
                parts["training"][-1] += int(train.sum())
                parts["validation"][-1] += int(held.sum())
                for summary in summaries:
                    values = _values(frame, summary.name)
                    summary.count(values, where)
                    if summary.may_be_numeric:
                        summary.measure(values[train])
                values = _values(frame, self.target)
                self._target.count(values, where)
                self._target.measure(values[train])
                wanted = np.flatnonzero(np.isin(rows, positions) & train)
                if len(wanted):
                    samples.append(frame.iloc[wanted])
                used += len(frame)
                held_rows += int(held.sum())
            sizes.append(self._last_read)
            first += self._last_read
            local += self._last_read
        self._starts, self._sizes = starts, sizes
        self.rows = used
        if not used:
            raise DataError(f"no rows are left in {self.source.path} after dropping those "
                            "with missing values")
        self.task = self._target.task(task)
        if self.task == "classification":
            self.classes = self._target.classes()
            self.target_mean = self.target_scale = None
        else:
            self._target.check_numbers()
            moments = self._target.moments
            if not moments.count:
                raise DataError("no training rows are left: every row was held out for "
                                "validation; hold out a smaller fraction")
            self.target_mean = float(moments.mean)
            self.target_scale = float(moments.std) or 1.0
        self.encoder = TableEncoder.from_summaries(summaries)
        self.n_features = self.encoder.width
        self._split(used, held_rows)
        self._target_moments = copy.copy(self._target.moments)
        if self._standardize_target and self.task == "regression":
            self._target_moments.m2 = self._target_moments.m2 / self.target_scale ** 2
        sample = pandas.concat(samples) if samples else None
        if sample is None:
            self._sample = (np.empty((0, self.n_features)), np.empty(0))
        else:
            self._sample = (self.encoder.transform(sample),
                            self._target_values(_values(sample, self.target)))
        self._fingerprint = self._describe_for_checkpoint()
        self._finish(self._cache, parts)

    def _describe_for_checkpoint(self):
        digest = hashlib.sha256()
        for path in self.source.parts:
            stat = path.stat()
            digest.update(f"{path.resolve()} {stat.st_size} {stat.st_mtime_ns}\n".encode())
        digest.update(repr((self.encoder.to_dict(), self.target, self.task,
                            None if self.classes is None else self.classes.tolist(),
                            self.target_mean, self.target_scale, self._fraction, self._seed,
                            self._dropna, self._standardize_target, self._sizes)).encode())
        return digest.hexdigest()


class ParquetDataset(TableDataset):
    """A Parquet table (a file, a folder of them or a glob) read a block at a time; see
    ``TableDataset`` for the parameters.

    Examples
    --------
    (needs a data file or a cluster, so shown rather than run)::

        data = ParquetDataset("big.parquet", target="price", memory=256)
        history = descent.train(model, data, loss="mse", batch_size=64)
    """

    def __init__(self, path, target, **options):
        source = path if isinstance(path, TableSource) else TableSource(path)
        if not source.parquet:
            raise DataError(f"{source.path} is not Parquet; use CSVDataset for CSV and TSV")
        super().__init__(source, target, **options)


class CSVDataset(TableDataset):
    """A CSV or TSV table (a file, a folder of them or a glob) read a block at a time;
    see ``TableDataset`` for the parameters.

    Examples
    --------
    (needs a data file or a cluster, so shown rather than run)::

        data = CSVDataset("big.csv", target="species", validation=0.1)
        data.classes, len(data), len(data.validation)
    """

    def __init__(self, path, target, **options):
        source = path if isinstance(path, TableSource) else TableSource(path)
        if source.parquet:
            raise DataError(f"{source.path} is Parquet; use ParquetDataset")
        super().__init__(source, target, **options)


def read_blocks(source, memory=DEFAULT_MEMORY_MB):
    """``(frame, where)`` for each block of ``source`` (a ``TableSource`` or a path), in
    the table's order, every column, within about ``memory`` MB: what ``descent evaluate``
    and ``predict`` read a large table with."""
    source = source if isinstance(source, TableSource) else TableSource(source)
    fixed = source.reader_bytes()
    usable = _check_memory(memory) * 2 ** 20 - fixed
    if usable < _MIN_USABLE:
        raise DataError(f"a memory budget of {memory:g} MB is too small to read "
                        f"{source.path} a block at a time; give at least "
                        f"{math.ceil((fixed + _MIN_USABLE) / 2 ** 20)} MB")
    row = (_RAW_VALUE_BYTES + 2 * _ENCODED_VALUE_BYTES) * len(source.columns)
    # no shuffle buffer here: a block (and its predictions) may take the buffer's share
    block_rows = int(min(max(usable * _BUFFER_SHARE // row, _MIN_BLOCK_ROWS),
                         _MAX_BLOCK_ROWS))
    first, local, part = 0, 0, None
    for block in source.layout(block_rows):
        if block.part != part:
            part, local = block.part, 0
        for frame in source.read(block, None, block_rows):
            yield frame, source.where(block.part, local, first)
            first += len(frame)
            local += len(frame)
