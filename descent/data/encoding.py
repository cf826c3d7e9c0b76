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


def check_complete(frame, columns):
    """Raise, naming the column and the data row, if any value is missing or infinite."""
    _require(frame, columns)
    for name in columns:
        _check_finite(_values(frame, name), name, "fill them, or drop those rows (--dropna)")


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
            values = _values(source, name)
            _check_finite(values, name)
            if _column_kind(values, name) == "numeric":
                numbers = _as_numbers(values if source is frame else _values(frame, name),
                                      name)
                _check_finite(numbers, name)
                with np.errstate(over="ignore", invalid="ignore"):
                    mean, std = float(numbers.mean()), float(numbers.std())
                if not (math.isfinite(mean) and math.isfinite(std)):
                    raise DescentValueError(
                        f"column {name!r} holds numbers so large (up to "
                        f"{float(np.max(np.abs(numbers))):.3g}) that their mean or spread "
                        "overflows; rescale the column (e.g. to other units) or drop it")
                fitted.append({"name": name, "kind": "numeric", "mean": mean,
                               "scale": std if std > 0 else 1.0})
            else:
                categories = sorted({str(v) for v in values})
                _check_categories(name, len(categories), len(values), max_categories,
                                  max_category_share)
                fitted.append({"name": name, "kind": "categorical", "categories": categories})
        self.columns = fitted
        return self

    def transform(self, frame):
        """The float matrix of ``frame``: standardised numbers and one-hot categories.

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
            _check_finite(values, column["name"])
            if column["kind"] == "numeric":
                blocks.append(((_as_numbers(values, column["name"]) - column["mean"])
                               / column["scale"])[:, None])
            else:
                blocks.append(self._one_hot(values, column))
        return np.hstack(blocks)

    @staticmethod
    def _one_hot(values, column):
        categories = column["categories"]
        index = {c: i for i, c in enumerate(categories)}
        codes = np.empty(len(values), dtype=np.intp)
        for row, value in enumerate(values):
            code = index.get(str(value))
            if code is None:
                raise DescentValueError(
                    f"column {column['name']!r}, {_row(row)}: the value {_short(str(value))} "
                    f"was not seen in training (known: {categories[:10]})")
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


def _check_categories(name, count, rows, max_categories, max_category_share):
    if count > max_categories:
        limit, keyword = f"more than the limit of {max_categories}", "max_categories"
    elif rows > MIN_ROWS_FOR_SHARE and count > max_category_share * rows:
        limit, keyword = f"more than {max_category_share:.0%} of the rows", "max_category_share"
    else:
        return
    raise DescentValueError(
        f"column {name!r} has {count} distinct values in {rows} rows ({limit}), too many "
        f"categories to one-hot encode: it looks like an identifier, a time stamp or free "
        f"text; drop it (--drop {name}), or raise TableEncoder.fit's {keyword}")


def _column_kind(values, name):
    """``"numeric"`` or ``"categorical"`` from a column's values (none of them missing);
    an error naming the column for values descent cannot encode."""
    if values.dtype.kind in "iuf":
        return "numeric"
    if values.dtype.kind == "b":
        return "categorical"
    if values.dtype.kind not in "OU":
        what, hint = _UNSUPPORTED.get(values.dtype.kind,
                                      (f"values of type {values.dtype}", _CONVERT))
        raise _cannot_encode(name, what, f"its dtype is {values.dtype}", hint)
    kinds = [_value_kind(v) for v in values]
    counts = Counter(kinds)
    for row, kind in enumerate(kinds):
        if kind not in (_NUMBER, _CATEGORY, _DATE_TEXT):
            what, hint = _UNSUPPORTED.get(kind, (f"{kind} values", _CONVERT))
            raise _cannot_encode(name, what, f"{_row(row)} holds {_short(values[row])}", hint)
    if counts[_DATE_TEXT] >= TYPE_SHARE * len(kinds):
        row = kinds.index(_DATE_TEXT)
        raise _cannot_encode(name, "dates and times (as text)",
                             f"{_row(row)} holds {_short(values[row])}", _UNSUPPORTED[_DATES][1])
    if counts[_NUMBER] < TYPE_SHARE * len(kinds):
        return "categorical"
    others = len(kinds) - counts[_NUMBER]
    if others:
        row = next(row for row, kind in enumerate(kinds) if kind != _NUMBER)
        also = f", and {others - 1} other value(s) are not numbers either" if others > 1 else ""
        raise DescentValueError(
            f"column {name!r} is mostly numbers ({counts[_NUMBER]} of {len(kinds)} values) "
            f"but {_row(row)} holds {_short(values[row])}{also}; fix the value(s), or drop "
            f"the column (--drop {name})")
    return "numeric"


def _cannot_encode(name, what, example, hint):
    return DescentValueError(
        f"column {name!r} holds {what}, which descent cannot encode (it takes numbers and "
        f"categories): {example}; {hint}, or drop the column (--drop {name})")


def _as_numbers(values, name):
    """``values`` as float64, NaN where missing; an error naming the first that is not a
    number."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    out = np.empty(len(values))
    for row, value in enumerate(values):
        kind = _value_kind(value)
        if kind not in (_NUMBER, _MISSING):
            raise DescentValueError(
                f"column {name!r} should hold numbers (as in training), but {_row(row)} "
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
    labels = [c for c in frame.columns if str(c) == str(name)]
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


def _check_finite(values, name, remedy="fill them or remove those rows"):
    bad = _missing(values)
    if bad.any():
        raise DescentValueError(
            f"column {name!r} has {int(bad.sum())} missing or infinite value(s), the first "
            f"at {_row(int(np.argmax(bad)))}; {remedy}")
