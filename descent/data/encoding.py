"""Turning a table of mixed columns into the numbers a network takes, and back.

Numeric columns are standardised (mean 0, standard deviation 1, fitted on the training
data); text, boolean and other categorical columns are one-hot encoded with the
categories seen in training. The fitted state is plain JSON data, so it can live inside
a model file; ``from_dict`` checks every field of it before use. Works on any table with
``columns`` and ``frame[name].to_numpy()`` (pandas).

A column's kind comes from its values, not only from its dtype: a CSV column of numbers
with one stray ``"n/a"`` reaches us as text. Columns that no encoding here would make
useful are refused, each with its fix: mostly numbers with a few values that are not,
dates and times, types that are neither numbers nor text, and categorical columns with so
many distinct values (identifiers, time stamps, free text) that their one-hot encoding
would be huge and say nothing about new rows.

Messages name rows by their position in the table, counting from 0 ("data row 4"); in a
CSV file with a header line, data row r is on line r + 2 of the file.

``ColumnSummary`` holds what the fit learns about one column, a block of values at a time
(``Moments`` keeps the mean and spread of its numbers): ``TableEncoder.fit`` gives it
every value at once, a streaming dataset (``descent.data.streaming``) one block after
another, so both encode a table by the same rules.
"""

import copy
import datetime
import decimal
import math
import re
import sys
from collections import Counter
from numbers import Integral, Real

import numpy as np

from descent.errors import DescentValueError, ShapeError

#: A text column holds numbers when at least this share of its values read as numbers
#: (the others are then slips such as "n/a" or "12,5" to fix, not categories), and
#: dates when at least this share of its values are dates.
TYPE_SHARE = 0.9
#: The most distinct values a categorical column may have: each becomes an input column
#: (300 of them over 100,000 rows already take 240 MB), yet ~250 countries fit.
MAX_CATEGORIES = 300
#: The largest share of the rows that may hold distinct values of a categorical column:
#: beyond half, a category is met in fewer than two rows on average, too few to learn
#: from; identifiers and time stamps are distinct in almost every row.
MAX_CATEGORY_SHARE = 0.5
#: The share rule applies only to tables with more rows than this: in a toy table every
#: value may well be distinct.
MIN_ROWS_FOR_SHARE = 20

# What a single value is: see _value_kind. Other kinds are the names of types that
# descent cannot encode.
_MISSING, _NUMBER, _CATEGORY, _DATE_TEXT = "missing", "number", "category", "date text"
_DATES, _SPANS = "M", "m"  # NumPy's dtype kinds, also used for Python's date and time spans
# year-month-day or day-month-year, with "-", "/" or ".", optionally then a time
_DATE_PATTERN = re.compile(r"\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"
                           r"([ T]\d{1,2}:\d{2}.*)?$")
# (what the values are, how to make them usable) for the kinds descent cannot encode
_UNSUPPORTED = {
    _DATES: ("dates and times", ("turn them into numbers first (e.g. days since a start "
                                 "date, or the day of the week)")),
    _SPANS: ("time spans", "turn them into numbers first (e.g. seconds)"),
    "c": ("complex numbers", "split them into a real and an imaginary column"),
}
_CONVERT = "convert the column to numbers or text"
#: A target of whole numbers with at most this many distinct values holds class labels
#: (task "auto"); more are a number to predict.
CLASSIFICATION_MAX_INTEGER_CLASSES = 20
#: The most classes a target read a block at a time may have (its labels stay in memory).
MAX_CLASSES = 10_000
# A numeric block of a column that may yet turn out categorical (a CSV column whose other
# blocks hold text) gives its values as categories while they are few: its first values
# show quickly when they are not (a float column with a distinct value in every row).
_CATEGORY_PREFIX = 1024


class DataError(DescentValueError):
    """A data file cannot be read or used."""


def feature_columns(columns, target, features=None, drop=None):
    """The feature columns of a table: ``features`` (default: all but ``target``) less ``drop``.

    Parameters
    ----------
    columns : sequence
        The table's column names (``frame.columns``), compared as text.
    target : str
        The column to predict; it is never a feature.
    features : sequence of str, optional
        The columns to use, in this order. Default: every column but ``target``, in the
        table's order. A single string is one name.
    drop : sequence of str, optional
        Columns to leave out. A single string is one name.

    Returns
    -------
    list of str

    Raises
    ------
    DescentValueError
        For a name that is not a column (the message lists the columns), a feature named
        twice, the target among ``features`` or ``drop``, and no feature left.

    Examples
    --------
    >>> feature_columns(["id", "age", "city", "bought"], "bought", drop=["id"])
    ['age', 'city']
    >>> feature_columns(["id", "age", "city", "bought"], "bought", features=["city", "age"])
    ['city', 'age']
    """
    columns, target = [str(c) for c in columns], str(target)
    if target not in columns:
        raise DescentValueError(f"there is no target column {target!r}; the columns are "
                                f"{columns}")
    chosen = _names(features, "features", columns) if features is not None else [
        c for c in columns if c != target]
    dropped = _names(drop, "columns to drop", columns) if drop is not None else []
    if _repeated(chosen):
        raise DescentValueError(f"the features name {_repeated(chosen)} more than once")
    if target in chosen:
        raise DescentValueError(f"the target column {target!r} cannot also be a feature")
    if target in dropped:
        raise DescentValueError(f"the target column {target!r} cannot be dropped; to predict "
                                "another column, choose another target")
    chosen = [name for name in chosen if name not in dropped]
    if not chosen:
        raise DescentValueError(
            f"there are no feature columns left to train on: the columns are {columns}, "
            f"{target!r} is the target" + (f" and {dropped} are dropped" if dropped else ""))
    return chosen


def _repeated(names):
    """The names that occur more than once in ``names``, sorted."""
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _names(names, what, columns):
    names = [names] if isinstance(names, str) else [str(n) for n in names]
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise DescentValueError(f"unknown column(s) {unknown} in the {what}; the columns are "
                                f"{columns}")
    return names


def missing_rows(frame, columns):
    """Boolean mask of rows with a NaN, infinite or empty value in any of ``columns``."""
    _require(frame, columns)
    mask = np.zeros(len(frame), dtype=bool)
    for name in columns:
        mask |= _missing(_values(frame, name))
    return mask


def check_complete(frame, columns, where=None):
    """Raise, naming the column and the data row, if any value is missing or infinite;
    ``where(row)`` names the rows of a block (see ``TableEncoder.transform``)."""
    _require(frame, columns)
    for name in columns:
        _check_finite(_values(frame, name), name, "fill them, or drop those rows (--dropna)",
                      where)


def infer_table_task(values):
    """``"classification"`` for text, booleans or few distinct integers; else regression."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        return ("classification"
                if len(np.unique(values)) <= CLASSIFICATION_MAX_INTEGER_CLASSES
                else "regression")
    return "regression" if values.dtype.kind == "f" else "classification"


def table_labels(values):
    """A target column's values as class labels: integers and booleans as they are, other
    values as text."""
    values = np.asarray(values)
    return values if values.dtype.kind in "iub" else values.astype(str)


class TableEncoder:
    """Fit on training columns; ``transform`` gives a float matrix for the network.

    Attributes
    ----------
    columns : list of dict
        Set by ``fit`` or ``from_dict``: for each feature column in the matrix's order,
        ``{"name", "kind": "numeric", "mean", "scale"}`` or
        ``{"name", "kind": "categorical", "categories"}``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [20, 30, 40], "city": ["Oslo", "Rome", "Oslo"]})
    >>> encoder = TableEncoder().fit(frame, ["age", "city"])
    >>> encoder.transform(frame).round(3)
    array([[-1.225,  1.   ,  0.   ],
           [ 0.   ,  0.   ,  1.   ],
           [ 1.225,  1.   ,  0.   ]])
    """

    def __init__(self):
        self.columns = None

    @property
    def width(self):
        """The number of columns of the encoded matrix: one per numeric column, one per
        category."""
        return sum(1 if column["kind"] == "numeric" else len(column["categories"])
                   for column in self._fitted())

    def fit(self, frame, columns, categories_from=None, *, max_categories=MAX_CATEGORIES,
            max_category_share=MAX_CATEGORY_SHARE):
        """Learn the statistics of ``frame``'s ``columns``.

        Parameters
        ----------
        frame : pandas.DataFrame
            The training rows; the numeric statistics come from them alone.
        columns : sequence of str
            The feature columns, in the order of the encoded matrix.
        categories_from : pandas.DataFrame, optional
            A table with ``frame``'s rows and more (e.g. all rows, so that a category met
            only in the validation rows can still be encoded). Each column's kind, its
            categories and the checks below come from it, and rows in error messages
            count in it. Default: ``frame``.
        max_categories : int, default MAX_CATEGORIES
            The most distinct values a categorical column may have.
        max_category_share : float in (0, 1], default MAX_CATEGORY_SHARE
            The largest share of the rows that may hold distinct values of a categorical
            column, in tables of more than ``MIN_ROWS_FOR_SHARE`` rows; 1 turns it off.

        Returns
        -------
        TableEncoder
            ``self``.

        Raises
        ------
        DescentValueError
            Naming the column, and the row where one is to blame, with the fix: missing or
            infinite values; a column of mostly numbers (``TYPE_SHARE``) with some values
            that are not; dates, times or other values that are neither numbers nor text;
            a categorical column with more distinct values than the limits allow.
        """
        _check_limits(max_categories, max_category_share)
        names = [str(c) for c in columns]
        if not names:
            raise DescentValueError("there are no feature columns left to train on")
        if _repeated(names):
            raise DescentValueError(f"the feature columns name {_repeated(names)} more than "
                                    "once")
        source = frame if categories_from is None else categories_from
        if len(frame) == 0 or len(source) == 0:
            raise DescentValueError("there are no rows to fit the encoding on")
        _require(source, names)
        _require(frame, names)
        fitted = []
        for name in names:
            summary = ColumnSummary(name, max_categories, max_category_share)
            summary.count(_values(source, name))
            if summary.may_be_numeric:
                summary.measure(_values(source, name) if source is frame
                                else _values(frame, name))
            fitted.append(summary.encoding())
        self.columns = fitted
        return self

    @classmethod
    def from_summaries(cls, summaries):
        """The encoder of the columns that ``summaries`` (``ColumnSummary``, in the
        matrix's order) have seen, with the errors ``fit`` raises."""
        if not summaries:
            raise DescentValueError("there are no feature columns left to train on")
        encoder = cls()
        encoder.columns = [summary.encoding() for summary in summaries]
        return encoder

    def transform(self, frame, where=None):
        """The float matrix of ``frame``: standardised numbers and one-hot categories.

        ``where(row)`` names the row at position ``row`` of ``frame`` in messages
        (default ``"data row 4 (counting from 0)"``); a block of a larger table names
        its rows in the whole table and its file.

        Raises
        ------
        ShapeError
            If ``frame`` lacks a column the encoder was fitted on.
        DescentValueError
            Naming the column, the data row and the value, for a missing value, a value
            that is not a number in a numeric column, or a category not seen in training.
        """
        _require(frame, [c["name"] for c in self._fitted()], " that the model was trained on")
        blocks = []
        for column in self.columns:
            values = _values(frame, column["name"])
            _check_finite(values, column["name"], where=where)
            if column["kind"] == "numeric":
                blocks.append(((_as_numbers(values, column["name"], where) - column["mean"])
                               / column["scale"])[:, None])
            else:
                blocks.append(self._one_hot(values, column, where))
        return np.hstack(blocks)

    def check_representable(self, X, dtype, where=None):
        """``X`` (from ``transform``), checked to fit the float type ``dtype`` (a value
        of 1e39 is infinite in float32; one near 1e308 overflows the standardisation
        itself); a ``DataError`` names the column and row of the first that does not."""
        limit = np.finfo(dtype).max
        with np.errstate(over="ignore", invalid="ignore"):
            bad = ~(np.abs(X) <= limit)
        if not bad.any():
            return X
        row, position = np.argwhere(bad)[0]
        ends = np.cumsum([1 if c["kind"] == "numeric" else len(c["categories"])
                          for c in self._fitted()])
        column = self.columns[int(np.searchsorted(ends, position, side="right"))]["name"]
        raise DataError(f"column {column!r}, {(where or _row)(int(row))}: the value is too "
                        f"large for the network's {np.dtype(dtype).name} numbers once "
                        f"standardised (beyond ±{limit:.3g}, or its column's spread "
                        "overflows); rescale the column or drop it")

    @staticmethod
    def _one_hot(values, column, where=None):
        categories = column["categories"]
        index = {c: i for i, c in enumerate(categories)}
        codes = np.empty(len(values), dtype=np.intp)
        for row, value in enumerate(values):
            code = index.get(str(value))
            if code is None:
                raise DescentValueError(
                    f"column {column['name']!r}, {(where or _row)(row)}: the value "
                    f"{_short(str(value))} was not seen in training (known: "
                    f"{categories[:10]})")
            codes[row] = code
        out = np.zeros((len(values), len(categories)))
        out[np.arange(len(values)), codes] = 1.0
        return out

    def to_dict(self):
        """The fitted state as JSON data: ``{"columns": [...]}`` (see ``columns``)."""
        return {"columns": copy.deepcopy(self._fitted())}

    def _fitted(self):
        if self.columns is None:
            raise DescentValueError("this TableEncoder is not fitted yet: call fit first")
        return self.columns

    @classmethod
    def from_dict(cls, data):
        """The encoder that ``to_dict`` gave ``data``, every field checked first.

        ``data`` comes from a model file, which may be damaged or hostile: a field of the
        wrong type, a non-finite mean, a scale that is not positive, an unknown kind,
        categories that are empty, not text or repeated, and columns named twice are
        refused rather than left to crash or predict NaN later. Fields it does not know
        are left out.

        Raises
        ------
        DescentValueError
            ``the stored preprocessing is malformed: ...``, naming the column and field.

        Examples
        --------
        >>> stored = {"columns": [{"name": "age", "kind": "numeric", "mean": 30.0,
        ...                        "scale": 0.0}]}
        >>> TableEncoder.from_dict(stored)
        Traceback (most recent call last):
        ...
        descent.errors.DescentValueError: ...: column 0 ('age'): 'scale' must be > 0, got 0.0
        """
        if not isinstance(data, dict):
            raise _malformed(f"it must be an object with a 'columns' list, got "
                             f"{type(data).__name__}")
        columns = data.get("columns")
        if not isinstance(columns, list) or not columns:
            raise _malformed(f"'columns' must be a non-empty list, got {_short(columns)}")
        encoder = cls()
        encoder.columns = [_stored_column(position, column)
                           for position, column in enumerate(columns)]
        first = {}
        for position, column in enumerate(encoder.columns):
            name = column["name"]
            if name in first:
                raise _malformed(f"column {position} ({_short(name)}): 'name' repeats column "
                                 f"{first[name]}")
            first[name] = position
        return encoder


class Moments:
    """Count, mean and sum of squared deviations (per column) of numbers given a block at
    a time, merged exactly as Chan, Golub and LeVeque (1979) merge two samples' moments:
    the result equals the whole sample's to float rounding, in one pass, whatever the
    blocks. A single block gives NumPy's own ``mean`` and ``std``, bit for bit.

    Examples
    --------
    >>> m = Moments()
    >>> m.add(np.array([1.0, 2.0])); m.add(np.array([3.0, 4.0, 5.0]))
    >>> m.count, float(m.mean), float(m.std)
    (5, 3.0, 1.4142135623730951)
    """

    def __init__(self):
        self.count, self.mean, self.m2, self.largest = 0, 0.0, 0.0, 0.0

    def add(self, values):
        """Take in ``values`` (float64, shape (n,) or (n, k)); overflow gives inf or NaN
        moments, which the caller checks."""
        n = len(values)
        if n == 0:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            mean = values.mean(axis=0)
            deviation = values - mean
            m2 = (deviation * deviation).sum(axis=0)
            largest = np.maximum(np.abs(values.max(axis=0)), np.abs(values.min(axis=0)))
            if self.count == 0:
                self.count, self.mean, self.m2, self.largest = n, mean, m2, largest
                return
            total = self.count + n
            delta = mean - self.mean
            self.mean = self.mean + delta * (n / total)
            self.m2 = self.m2 + m2 + delta * delta * (self.count * (n / total))
            self.largest = np.maximum(self.largest, largest)
            self.count = total

    @property
    def std(self):
        """The population standard deviation (NumPy's ``std`` with ``ddof=0``)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.sqrt(self.m2 / self.count)


class ColumnSummary:
    """What a feature column's values say about its encoding, learned a block at a time.

    ``count`` takes every row's values (a column's kind, its categories and the checks
    come from all rows); ``measure`` the training rows' values, while the column may yet
    be numeric (``may_be_numeric``), for the mean and spread; ``encoding`` then gives the
    fitted column of ``TableEncoder.columns``, or the error ``TableEncoder.fit`` raises
    for the whole column. ``where(row)`` names a block's row in messages; blocks come in
    the table's order, so the first row a message names is the table's first.

    ``cap`` bounds the categories kept (default: all): beyond ``max_categories`` a
    categorical column is refused anyway, so a stream keeps ``max_categories + 1``.

    Examples
    --------
    >>> summary = ColumnSummary("city", cap=MAX_CATEGORIES + 1)
    >>> summary.count(np.array(["Oslo", "Rome"], dtype=object))
    >>> summary.count(np.array(["Oslo", "Lima"], dtype=object))
    >>> summary.encoding()
    {'name': 'city', 'kind': 'categorical', 'categories': ['Lima', 'Oslo', 'Rome']}
    """

    def __init__(self, name, max_categories=MAX_CATEGORIES,
                 max_category_share=MAX_CATEGORY_SHARE, cap=None):
        _check_limits(max_categories, max_category_share)
        self.name = str(name)
        self.max_categories, self.max_category_share = max_categories, max_category_share
        self.cap = cap
        self.rows = 0
        self.kinds = Counter()
        self.first = {}  # value kind -> (where its first value is, the value)
        self.first_other = None  # the first value that is not a number
        self.categories = set()
        self.overflowed = False  # more distinct values than cap
        self.typed_numbers = True  # every block so far of a numeric dtype
        self.moments = Moments()

    @property
    def may_be_numeric(self):
        """Whether every value so far is a number (else the column is categorical or an
        error)."""
        return self.first_other is None

    def count(self, values, where=None):
        """Take in one block of the column, all rows; raise at once for a missing value
        or a value descent cannot encode."""
        _check_finite(values, self.name, where=where)
        where = where or _row
        self.rows += len(values)
        if values.dtype.kind in "iuf":
            self.kinds[_NUMBER] += len(values)
            if self.cap is not None and not self.overflowed and len(values):
                # the column may yet be categorical (in a CSV file read a block at a time)
                self._add_categories(np.unique(values[:_CATEGORY_PREFIX]))
                if not self.overflowed:
                    self._add_categories(np.unique(values))
            return
        self.typed_numbers = False
        if values.dtype.kind == "b":
            kinds = [_CATEGORY] * len(values)
        elif values.dtype.kind in "OU":
            kinds = [_value_kind(v) for v in values]
        else:
            what, hint = _UNSUPPORTED.get(values.dtype.kind,
                                          (f"values of type {values.dtype}", _CONVERT))
            raise _cannot_encode(self.name, what, f"its dtype is {values.dtype}", hint)
        for row, kind in enumerate(kinds):
            if kind not in (_NUMBER, _CATEGORY, _DATE_TEXT):
                what, hint = _UNSUPPORTED.get(kind, (f"{kind} values", _CONVERT))
                raise _cannot_encode(self.name, what,
                                     f"{where(row)} holds {_short(values[row])}", hint)
            if kind not in self.first:
                self.first[kind] = (where(row), values[row])
            if kind != _NUMBER and self.first_other is None:
                self.first_other = (where(row), values[row])
        self.kinds.update(kinds)
        if not self.overflowed:
            self._add_categories(values)

    def _add_categories(self, values):
        self.categories.update(str(v) for v in values)
        if self.cap is not None and len(self.categories) > self.cap:
            self.overflowed = True
            self.categories = set()

    def measure(self, values):
        """Take in the training rows of one block, while ``may_be_numeric``."""
        self.moments.add(_as_numbers(values, self.name))

    def encoding(self):
        """The fitted column: ``{"name", "kind": "numeric", "mean", "scale"}`` or
        ``{"name", "kind": "categorical", "categories"}``; errors as ``TableEncoder.fit``
        raises them."""
        name, rows = self.name, self.rows
        if not self.typed_numbers:
            if self.kinds[_DATE_TEXT] >= TYPE_SHARE * rows:
                where, value = self.first[_DATE_TEXT]
                raise _cannot_encode(name, "dates and times (as text)",
                                     f"{where} holds {_short(value)}", _UNSUPPORTED[_DATES][1])
            if self.kinds[_NUMBER] < TYPE_SHARE * rows:
                count = len(self.categories)
                _check_categories(name, count, rows, self.max_categories,
                                  self.max_category_share, exact=not self.overflowed)
                return {"name": name, "kind": "categorical",
                        "categories": sorted(self.categories)}
            if self.first_other is not None:
                others = rows - self.kinds[_NUMBER]
                where, value = self.first_other
                also = (f", and {others - 1} other value(s) are not numbers either"
                        if others > 1 else "")
                raise DescentValueError(
                    f"column {name!r} is mostly numbers ({self.kinds[_NUMBER]} of {rows} "
                    f"values) but {where} holds {_short(value)}{also}; fix the value(s), or "
                    f"drop the column (--drop {name})")
        mean, std = float(self.moments.mean), float(self.moments.std)
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise DescentValueError(
                f"column {name!r} holds numbers so large (up to "
                f"{float(self.moments.largest):.3g}) that their mean or spread "
                "overflows; rescale the column (e.g. to other units) or drop it")
        return {"name": name, "kind": "numeric", "mean": mean,
                "scale": std if std > 0 else 1.0}


class TargetSummary:
    """What a target column's values say about the task and the classes, learned a block
    at a time: ``count`` takes every row's values, ``measure`` the training rows' (for a
    regression target's mean and spread, in ``moments``). One block of the whole column
    decides as ``infer_table_task`` and ``table_labels`` do; blocks of a CSV file read
    one at a time (each with the types pandas gives it) decide as the whole column would:
    text in any block makes labels, a fraction in any block makes numbers.

    Examples
    --------
    >>> summary = TargetSummary("digit")
    >>> summary.count(np.array([3, 1])); summary.count(np.array([1, 2]))
    >>> summary.task(), summary.classes().tolist()
    ('classification', [1, 2, 3])
    """

    def __init__(self, name, cap=MAX_CLASSES):
        self.name = str(name)
        self.cap = cap
        self.kinds = set()
        self.first = None  # the first value, for messages
        self.fraction = None  # the first number with a fraction
        self.labels = set()
        self.overflowed = False  # more distinct values than cap
        self.moments = Moments()

    def count(self, values, where=None):
        """Take in one block of the column, all rows; a missing value is an error."""
        _check_finite(values, self.name, "fill them, or drop those rows (--dropna)", where)
        if not len(values):
            return
        self.kinds.add(values.dtype.kind)
        if self.first is None:
            self.first = values[0]
        if values.dtype.kind == "f" and self.fraction is None:
            fractional = np.mod(values, 1) != 0
            if fractional.any():
                self.fraction = values[fractional][0].item()
        if self.overflowed:
            return
        if values.dtype.kind not in "biuf":
            self.labels.update(values.tolist())
        elif self.cap is None or len(np.unique(values[:self.cap + 1])) <= self.cap:
            # (the first values show at once when there are many: a regression target)
            self.labels.update(np.unique(values).tolist())
        else:
            self.overflowed = True
        if self.overflowed or (self.cap is not None and len(self.labels) > self.cap):
            self.overflowed, self.labels = True, set()

    def measure(self, values):
        """Take in the training rows of one block (their mean and spread, when numbers)."""
        if values.dtype.kind in "iuf":
            self.moments.add(values.astype(np.float64))

    @property
    def kind(self):
        """The dtype kind of the whole column: ``"i"`` or ``"b"`` when every block has
        it, ``"f"`` for numbers with some floats, else ``"O"`` (text)."""
        if len(self.kinds) == 1:
            return "i" if self.kinds == {"u"} else next(iter(self.kinds))
        if self.kinds <= set("iu"):
            return "i"
        return "f" if self.kinds <= set("iuf") else "O"

    def task(self, task="auto"):
        """``task``, or for ``"auto"`` the task the values imply (see ``infer_table_task``)."""
        if task == "auto":
            kind = self.kind
            if kind == "i":
                few = not self.overflowed and len(self.labels) <= \
                    CLASSIFICATION_MAX_INTEGER_CLASSES
                return "classification" if few else "regression"
            return "regression" if kind == "f" else "classification"
        if task not in ("classification", "regression"):
            raise DataError(f"task must be 'classification', 'regression' or 'auto', got "
                            f"{task!r}")
        return task

    def labels_of(self, values):
        """A block's values as the labels ``classes`` holds (``table_labels`` of the whole
        column)."""
        kind = self.kind
        if kind in "ib":
            return values
        return np.asarray(values, dtype=np.float64).astype(str) if kind == "f" \
            else np.asarray(values).astype(str)

    def classes(self):
        """The sorted class labels, checked: whole numbers, two or more, at most ``cap``."""
        if self.kind == "f" and self.fraction is not None:
            raise DataError(f"classification needs class labels, but the target "
                            f"{self.name!r} holds numbers with fractions (such as "
                            f"{self.fraction:g}); use --task regression to predict a number")
        if self.overflowed:
            raise DataError(f"the target column {self.name!r} has more than {self.cap} "
                            "distinct values, too many classes; use --task regression to "
                            "predict a number")
        classes = np.unique(self.labels_of(np.array(sorted(self.labels, key=str),
                                                    dtype=object
                                                    if self.kind == "O" else None)))
        if len(classes) < 2:
            raise DataError(f"the target column {self.name!r} has a single class "
                            f"({classes[0].item()!r}); classification needs at least two")
        return classes

    def check_numbers(self):
        """Refuse a regression target that holds text."""
        if self.kind not in "iuf":
            raise DataError(f"regression needs numbers in {self.name!r}, found values like "
                            f"{self.first!r}; use --task classification for labels")


def _stored_column(position, column):
    """A clean copy of the ``position``-th stored column, every field checked."""
    where = f"column {position}"
    if not isinstance(column, dict):
        raise _malformed(f"{where} must be an object, got {type(column).__name__}")
    name = column.get("name")
    if not isinstance(name, str):
        raise _malformed(f"{where}: 'name' must be text, got {_short(name)}")
    where += f" ({_short(name)})"
    kind = column.get("kind")
    if kind == "numeric":
        mean, scale = (_stored_number(column, field, where) for field in ("mean", "scale"))
        if scale <= 0:
            raise _malformed(f"{where}: 'scale' must be > 0, got {scale!r}")
        return {"name": name, "kind": kind, "mean": mean, "scale": scale}
    if kind == "categorical":
        categories = column.get("categories")
        if (not isinstance(categories, list) or not categories
                or not all(isinstance(c, str) for c in categories)):
            raise _malformed(f"{where}: 'categories' must be a non-empty list of text, got "
                             f"{_short(categories)}")
        if _repeated(categories):
            raise _malformed(f"{where}: 'categories' lists {_short(_repeated(categories))} "
                             "more than once")
        return {"name": name, "kind": kind, "categories": list(categories)}
    raise _malformed(f"{where}: 'kind' must be 'numeric' or 'categorical', got {_short(kind)}")


def _stored_number(column, field, where):
    if field not in column:
        raise _malformed(f"{where} has no {field!r}")
    value = column[field]
    # JSON gives int or float; text that reads as a number is not one here
    number = _number(value) if isinstance(value, (int, float)) else None
    if number is None or not math.isfinite(number):
        raise _malformed(f"{where}: {field!r} must be a finite number, got {_short(value)}")
    return number


def _malformed(problem):
    return DescentValueError(f"the stored preprocessing is malformed: {problem}")


def _check_limits(max_categories, max_category_share):
    if (isinstance(max_categories, bool) or not isinstance(max_categories, Integral)
            or max_categories < 1):
        raise DescentValueError(f"max_categories must be a positive integer, got "
                                f"{max_categories!r}")
    if (isinstance(max_category_share, bool)
            or not isinstance(max_category_share, Real)
            or not 0 < max_category_share <= 1):
        raise DescentValueError(f"max_category_share must be in (0, 1], got "
                                f"{max_category_share!r}")


def _check_categories(name, count, rows, max_categories, max_category_share, exact=True):
    """Refuse more categories than the limits allow; ``exact`` False: there were more
    than ``count`` (a stream stops counting past the limit)."""
    if not exact or count > max_categories:
        limit, keyword = f"more than the limit of {max_categories}", "max_categories"
    elif rows > MIN_ROWS_FOR_SHARE and count > max_category_share * rows:
        limit, keyword = f"more than {max_category_share:.0%} of the rows", "max_category_share"
    else:
        return
    counted = count if exact else f"more than {max_categories}"
    raise DescentValueError(
        f"column {name!r} has {counted} distinct values in {rows} rows ({limit}), too many "
        f"categories to one-hot encode: it looks like an identifier, a time stamp or free "
        f"text; drop it (--drop {name}), or raise TableEncoder.fit's {keyword}")


def _cannot_encode(name, what, example, hint):
    return DescentValueError(
        f"column {name!r} holds {what}, which descent cannot encode (it takes numbers and "
        f"categories): {example}; {hint}, or drop the column (--drop {name})")


def _as_numbers(values, name, where=None):
    """``values`` as float64, NaN where missing; an error naming the first that is not a
    number."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    out = np.empty(len(values))
    for row, value in enumerate(values):
        kind = _value_kind(value)
        if kind not in (_NUMBER, _MISSING):
            raise DescentValueError(
                f"column {name!r} should hold numbers (as in training), but {(where or _row)(row)} "
                f"holds {_short(value)}; correct that value")
        out[row] = _number(value) if kind == _NUMBER else np.nan
    return out


def _value_kind(value):
    """``_MISSING``, ``_NUMBER`` (text that reads as a number included), ``_DATE_TEXT``,
    ``_CATEGORY`` (other text, booleans), ``_DATES``, ``_SPANS`` or the type's name."""
    if value is None or _is_pandas_missing(value):
        return _MISSING
    number = _number(value)
    if number is not None:
        return _NUMBER if math.isfinite(number) else _MISSING
    if isinstance(value, str):
        return _DATE_TEXT if _DATE_PATTERN.match(value) else _CATEGORY
    if isinstance(value, (bool, np.bool_)):
        return _CATEGORY
    if isinstance(value, (datetime.date, datetime.time, np.datetime64)):
        return _DATES
    if isinstance(value, (datetime.timedelta, np.timedelta64)):
        return _SPANS
    return type(value).__name__


def _number(value):
    """``value`` as a float if it is a number or text that reads as a finite one, else None.

    Text such as "nan" or "Inf" stays text: it may be a name (Nan), and a CSV reader has
    already turned the missing-value markers it knows into NaN. Booleans are categories
    here, and NumPy's time spans, integers underneath, are not numbers.
    """
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    if (isinstance(value, (bool, np.bool_, np.timedelta64))
            or not isinstance(value, (Real, decimal.Decimal))):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError):  # an integer beyond float range, a signalling NaN
        return math.nan


def _is_pandas_missing(value):
    # pandas' markers of missing values can only exist once pandas has been imported
    pandas = sys.modules.get("pandas")
    return pandas is not None and (value is pandas.NA or value is pandas.NaT)


def _missing(values):
    if values.dtype.kind == "f":
        return ~np.isfinite(values)
    if values.dtype.kind in "OU":
        return np.array([_value_kind(v) == _MISSING for v in values], dtype=bool)
    return np.zeros(len(values), dtype=bool)


def _require(frame, names, context=""):
    present = {str(c) for c in frame.columns}
    absent = [name for name in names if str(name) not in present]
    if absent:
        raise ShapeError(f"the data lacks the column(s) {absent}{context}")


def _values(frame, name):
    """The values of ``frame``'s column called ``name`` (compared as text), as a 1-D array."""
    columns = frame.columns
    if getattr(columns, "inferred_type", None) == "string" and columns.is_unique \
            and str(name) in columns:  # (both cached by pandas: no look at every label)
        return np.asarray(frame[str(name)].to_numpy())
    labels = [c for c in columns if str(c) == str(name)]
    if len(labels) != 1:
        raise DescentValueError(f"the data has {len(labels)} columns named {name!r}; rename "
                                "or drop the copies")
    return np.asarray(frame[labels[0]].to_numpy())


def _row(row):
    return f"data row {row} (counting from 0)"


def _short(value, limit=60):
    """``repr(value)``, cut to ``limit`` characters: values come from data and files."""
    if isinstance(value, np.generic):  # NumPy 2 writes np.str_('x') and np.float64(1.5)
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_finite(values, name, remedy="fill them or remove those rows", where=None):
    """Raise, naming the column, the count and the first row, if any value is missing or
    infinite; ``where`` names a block's rows (then the count is the block's)."""
    bad = _missing(values)
    if bad.any():
        count = f"{int(bad.sum())}" if where is None else f"{int(bad.sum())} (in this block)"
        raise DescentValueError(
            f"column {name!r} has {count} missing or infinite value(s), the first "
            f"at {(where or _row)(int(np.argmax(bad)))}; {remedy}")
