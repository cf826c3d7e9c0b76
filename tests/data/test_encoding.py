"""Table encoding: standardised numbers and one-hot categories, the columns it refuses
(mostly numbers with a stray text, dates, other types, too many categories), the checks
of a stored encoder, and the choice of feature columns.

Rows in messages count the data rows from 0; in a CSV file with a header, data row r is
on line r + 2.
"""

import datetime
import decimal
import io
import json

import numpy as np
import pandas as pd
import pytest

from descent.data.encoding import (
    MAX_CATEGORIES,
    MIN_ROWS_FOR_SHARE,
    TYPE_SHARE,
    TableEncoder,
    check_complete,
    feature_columns,
    missing_rows,
)
from descent.errors import DescentValueError, ShapeError

RNG = np.random.default_rng(7)


def _fit(frame, **limits):
    return TableEncoder().fit(frame, list(frame.columns), **limits)


def _error(call, *args, **kwargs):
    with pytest.raises(DescentValueError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def _prices(stray, row=41, rows=300):
    """A column of prices, as text, with ``stray`` in ``row``."""
    values = [f"{v:.2f}" for v in RNG.uniform(1, 100, rows)]
    values[row] = stray
    return pd.DataFrame({"price": values})


# ------------------------------------------------------------------ what fit learns
def test_numbers_are_standardised_and_text_one_hot_encoded():
    frame = pd.DataFrame({"age": [20, 30, 40, 50], "city": ["Rome", "Oslo", "Rome", "Lima"]})
    encoder = _fit(frame)
    # mean 35, population std sqrt((225 + 25 + 25 + 225) / 4) = sqrt(125)
    assert encoder.columns == [
        {"name": "age", "kind": "numeric", "mean": 35.0, "scale": pytest.approx(125 ** 0.5)},
        {"name": "city", "kind": "categorical", "categories": ["Lima", "Oslo", "Rome"]},
    ]
    expected = np.array([[-15, 0, 0, 1], [-5, 0, 1, 0], [5, 0, 0, 1], [15, 1, 0, 0]],
                        dtype=float)
    expected[:, 0] /= 125 ** 0.5
    np.testing.assert_allclose(encoder.transform(frame), expected, rtol=1e-15)
    assert encoder.width == 4


def test_a_constant_column_keeps_scale_one():
    encoder = _fit(pd.DataFrame({"a": [2.5, 2.5, 2.5]}))
    assert encoder.columns == [{"name": "a", "kind": "numeric", "mean": 2.5, "scale": 1.0}]
    np.testing.assert_array_equal(encoder.transform(pd.DataFrame({"a": [3.5]})), [[1.0]])


def test_numbers_as_text_and_decimals_are_numbers():
    as_text = _fit(pd.DataFrame({"a": ["1", "2.5", " 4 ", "1e1"]}))
    decimals = _fit(pd.DataFrame({"a": [decimal.Decimal(v) for v in ("1", "2.5", "4", "10")]}))
    floats = _fit(pd.DataFrame({"a": [1.0, 2.5, 4.0, 10.0]}))
    assert as_text.columns == decimals.columns == floats.columns
    assert floats.columns[0]["mean"] == 4.375
    np.testing.assert_array_equal(floats.transform(pd.DataFrame({"a": ["2.5"]})),
                                  floats.transform(pd.DataFrame({"a": [2.5]})))


def test_booleans_are_categories():
    encoder = _fit(pd.DataFrame({"member": [True, False, True]}))
    assert encoder.columns == [{"name": "member", "kind": "categorical",
                                "categories": ["False", "True"]}]
    np.testing.assert_array_equal(encoder.transform(pd.DataFrame({"member": [False]})),
                                  [[1.0, 0.0]])


def test_column_labels_that_are_not_text_are_found_again():
    frame = pd.DataFrame({0: [1.0, 3.0], 1: ["x", "y"]})
    encoder = TableEncoder().fit(frame, [0, 1])
    assert [c["name"] for c in encoder.columns] == ["0", "1"]
    np.testing.assert_array_equal(encoder.transform(frame), [[-1, 1, 0], [1, 0, 1]])


def test_kinds_checks_and_categories_come_from_categories_from():
    everything = pd.DataFrame({"a": [1.0, 2.0, 3.0, 100.0], "c": ["x", "x", "y", "z"]})
    encoder = TableEncoder().fit(everything.iloc[:3], ["a", "c"], categories_from=everything)
    assert encoder.columns == [
        {"name": "a", "kind": "numeric", "mean": 2.0, "scale": pytest.approx((2 / 3) ** 0.5)},
        {"name": "c", "kind": "categorical", "categories": ["x", "y", "z"]},
    ]
    # the stray text is in a row that fit's training rows leave out
    stray = pd.DataFrame({"a": [*map(str, range(9)), "x"]})
    assert "data row 9 (counting from 0) holds 'x'" in _error(
        TableEncoder().fit, stray.iloc[:9], ["a"], categories_from=stray)


def test_fit_takes_the_columns_of_a_frame():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    assert [c["name"] for c in TableEncoder().fit(frame, frame.columns).columns] == ["a", "b"]


def test_fit_refuses_no_columns_no_rows_and_repeated_or_absent_columns():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    assert _error(TableEncoder().fit, frame, []) == "there are no feature columns left to train on"
    assert _error(TableEncoder().fit, frame.iloc[:0], ["a"]) == (
        "there are no rows to fit the encoding on")
    assert _error(TableEncoder().fit, frame, ["a", "a"]) == (
        "the feature columns name ['a'] more than once")
    with pytest.raises(ShapeError, match=r"^the data lacks the column\(s\) \['b'\]$"):
        TableEncoder().fit(frame, ["a", "b"])
    twice = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    assert _error(TableEncoder().fit, twice, ["a"]) == (
        "the data has 2 columns named 'a'; rename or drop the copies")


def test_transform_or_to_dict_before_fit_is_an_error():
    assert _error(TableEncoder().transform, pd.DataFrame({"a": [1.0]})) == (
        "this TableEncoder is not fitted yet: call fit first")
    assert _error(TableEncoder().to_dict) == "this TableEncoder is not fitted yet: call fit first"


# ------------------------------------------------------------------ mostly numbers
@pytest.mark.parametrize("stray", ["n/a", "12,5", "?", "-"])
def test_a_stray_text_among_numbers_names_the_column_row_and_value(stray):
    message = _error(_fit, _prices(stray))
    assert message == (
        f"column 'price' is mostly numbers (299 of 300 values) but data row 41 (counting "
        f"from 0) holds {stray!r}; fix the value(s), or drop the column (--drop price)")


def test_the_row_of_a_stray_text_in_a_csv_file_is_its_line_less_two(tmp_path):
    path = tmp_path / "prices.csv"
    frame = _prices("12,5", row=57)
    frame.assign(other=1.0).to_csv(path, index=False)
    read = pd.read_csv(path)
    assert read["price"].dtype != np.float64  # pandas gives text: the case to catch
    message = _error(_fit, read)
    assert "data row 57 (counting from 0) holds '12,5'" in message
    line = path.read_text(encoding="utf-8").splitlines()[57 + 2 - 1]  # line 59, from 1
    assert line.startswith('"12,5"')


def test_several_stray_values_report_the_first_and_count_the_others():
    frame = _prices("n/a", row=10)
    frame.loc[200, "price"] = "unknown"
    frame.loc[250, "price"] = "n/a"
    assert _error(_fit, frame) == (
        "column 'price' is mostly numbers (297 of 300 values) but data row 10 (counting from "
        "0) holds 'n/a', and 2 other value(s) are not numbers either; fix the value(s), or "
        "drop the column (--drop price)")


def test_the_share_of_numbers_decides_between_numbers_and_categories():
    assert TYPE_SHARE == 0.9
    nine_of_ten = pd.DataFrame({"a": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "many"]})
    assert "mostly numbers (9 of 10 values)" in _error(_fit, nine_of_ten)
    eight_of_ten = nine_of_ten.assign(a=[*nine_of_ten["a"][:8], "few", "many"])
    assert _fit(eight_of_ten).columns == [{
        "name": "a", "kind": "categorical",
        "categories": ["1", "2", "3", "4", "5", "6", "7", "8", "few", "many"]}]


def test_missing_values_are_not_counted_as_stray_text():
    frame = pd.DataFrame({"a": ["1", None, "3"]})
    assert _error(_fit, frame) == (
        "column 'a' has 1 missing or infinite value(s), the first at data row 1 (counting "
        "from 0); fill them or remove those rows")


def test_a_stray_text_gives_no_huge_one_hot():
    """The reported case: one stray string made a one-hot over all 300 prices."""
    frame = _prices("12.5")
    encoder = _fit(frame)
    assert encoder.columns[0]["kind"] == "numeric"
    assert encoder.transform(frame).shape == (300, 1)


def test_text_that_reads_as_nan_or_infinity_is_text():
    names = pd.DataFrame({"name": ["Ann", "Nan", "Bo", "Nan"]})
    assert not missing_rows(names, ["name"]).any()
    assert _fit(names).columns[0]["categories"] == ["Ann", "Bo", "Nan"]
    assert "data row 7 (counting from 0) holds 'inf'" in _error(_fit, _prices("inf", row=7))


# ------------------------------------------------------------------ too many categories
def test_an_identifier_column_is_refused():
    frame = pd.DataFrame({"user": [f"user_{i:04d}" for i in range(300)]})
    assert _error(_fit, frame) == (
        "column 'user' has 300 distinct values in 300 rows (more than 50% of the rows), too "
        "many categories to one-hot encode: it looks like an identifier, a time stamp or "
        "free text; drop it (--drop user), or raise TableEncoder.fit's max_category_share")


@pytest.mark.parametrize("stamp", [
    "2024-03-{day:02d} {hour:02d}:00:00",      # ISO
    "2024-03-{day:02d}T{hour:02d}:00:00Z",
    "{day:02d}/03/2024 {hour:02d}:00",         # day/month/year
    "2024-03-{day:02d}",                       # dates alone, each met many times
])
def test_a_column_of_dates_as_text_is_refused(stamp):
    values = [stamp.format(day=1 + i % 7, hour=i % 24) for i in range(200)]
    message = _error(_fit, pd.DataFrame({"when": values}))
    assert message == (
        "column 'when' holds dates and times (as text), which descent cannot encode (it "
        f"takes numbers and categories): data row 0 (counting from 0) holds {values[0]!r}; "
        f"{DATE_HINT}, or drop the column (--drop when)")


def test_time_stamps_in_other_formats_are_refused_as_too_many_categories():
    values = [f"Mar {1 + i // 24} 2024, {i % 24}h" for i in range(100)]
    assert "has 100 distinct values in 100 rows" in _error(_fit, pd.DataFrame({"t": values}))


def test_the_count_limit_applies_at_any_share():
    assert MAX_CATEGORIES == 300
    allowed = pd.DataFrame({"code": [f"c{i % 300}" for i in range(1000)]})
    assert len(_fit(allowed).columns[0]["categories"]) == 300
    refused = pd.DataFrame({"code": [f"c{i % 301}" for i in range(1000)]})
    assert _error(_fit, refused) == (
        "column 'code' has 301 distinct values in 1000 rows (more than the limit of 300), "
        "too many categories to one-hot encode: it looks like an identifier, a time stamp "
        "or free text; drop it (--drop code), or raise TableEncoder.fit's max_categories")


def test_the_share_limit_starts_above_a_handful_of_rows():
    assert MIN_ROWS_FOR_SHARE == 20
    toy = pd.DataFrame({"name": [f"n{i}" for i in range(20)]})
    assert len(_fit(toy).columns[0]["categories"]) == 20
    # 21 rows: at most 10.5 distinct values
    ten = pd.DataFrame({"name": [f"n{i % 10}" for i in range(21)]})
    assert len(_fit(ten).columns[0]["categories"]) == 10
    eleven = pd.DataFrame({"name": [f"n{i % 11}" for i in range(21)]})
    assert "has 11 distinct values in 21 rows (more than 50% of the rows)" in _error(
        _fit, eleven)


def test_the_limits_can_be_raised():
    ids = pd.DataFrame({"user": [f"user_{i:04d}" for i in range(400)]})
    encoder = _fit(ids, max_categories=400, max_category_share=1)
    assert encoder.columns[0]["categories"][:2] == ["user_0000", "user_0001"]
    assert encoder.transform(ids.iloc[[3]]).argmax() == 3
    assert "more than the limit of 300" in _error(_fit, ids, max_category_share=1)


@pytest.mark.parametrize("limits, message", [
    ({"max_categories": 0}, "max_categories must be a positive integer, got 0"),
    ({"max_categories": 2.5}, "max_categories must be a positive integer, got 2.5"),
    ({"max_categories": True}, "max_categories must be a positive integer, got True"),
    ({"max_category_share": 0}, "max_category_share must be in (0, 1], got 0"),
    ({"max_category_share": 1.5}, "max_category_share must be in (0, 1], got 1.5"),
    ({"max_category_share": float("nan")}, "max_category_share must be in (0, 1], got nan"),
    ({"max_category_share": "half"}, "max_category_share must be in (0, 1], got 'half'"),
])
def test_bad_limits_are_refused(limits, message):
    assert _error(_fit, pd.DataFrame({"a": ["x"]}), **limits) == message


# ------------------------------------------------------------------ neither numbers nor text
DATE_HINT = "turn them into numbers first (e.g. days since a start date, or the day of the week)"


@pytest.mark.parametrize("values, what, example, hint", [
    (pd.to_datetime(["2024-01-01", "2024-02-01"]), "dates and times",
     "its dtype is datetime64[us]", DATE_HINT),
    (pd.to_timedelta([1, 2], unit="s"), "time spans", "its dtype is timedelta64[us]",
     "turn them into numbers first (e.g. seconds)"),
    (np.array([1 + 2j, 3j]), "complex numbers", "its dtype is complex128",
     "split them into a real and an imaginary column"),
    ([datetime.date(2024, 1, 1), datetime.date(2024, 1, 2)], "dates and times",
     "data row 0 (counting from 0) holds datetime.date(2024, 1, 1)", DATE_HINT),
    (pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("UTC"), "dates and times",
     "data row 0 (counting from 0) holds Timestamp('2024-01-01 00:00:00+0000', tz='UTC')",
     DATE_HINT),
    (["a", b"raw"], "bytes values", "data row 1 (counting from 0) holds b'raw'",
     "convert the column to numbers or text"),
    (pd.period_range("2024-01", periods=2, freq="M"), "Period values",
     "data row 0 (counting from 0) holds Period('2024-01', 'M')",
     "convert the column to numbers or text"),
], ids=["datetime64", "timedelta64", "complex", "date-objects", "timezone", "bytes",
        "period"])
def test_columns_of_other_types_are_refused_naming_the_type(values, what, example, hint):
    message = _error(_fit, pd.DataFrame({"x": values}))
    assert message == (f"column 'x' holds {what}, which descent cannot encode (it takes "
                       f"numbers and categories): {example}; {hint}, or drop the column "
                       "(--drop x)")


# ------------------------------------------------------------------ transform
@pytest.fixture
def encoder():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]})
    return _fit(frame)


def test_a_text_in_a_numeric_column_names_the_row_and_that_value(encoder):
    frame = pd.DataFrame({"a": ["1.5", "2", "2.5", "five"], "c": ["x"] * 4})
    assert _error(encoder.transform, frame) == (
        "column 'a' should hold numbers (as in training), but data row 3 (counting from 0) "
        "holds 'five'; correct that value")


def test_booleans_in_a_numeric_column_are_not_numbers(encoder):
    frame = pd.DataFrame({"a": [True, False], "c": ["x", "y"]})
    assert "data row 0 (counting from 0) holds True" in _error(encoder.transform, frame)


def test_an_unseen_category_names_the_row(encoder):
    frame = pd.DataFrame({"a": [1.0, 2.0], "c": ["x", "z"]})
    assert _error(encoder.transform, frame) == (
        "column 'c', data row 1 (counting from 0): the value 'z' was not seen in training "
        "(known: ['x', 'y'])")


def test_transform_of_no_rows_has_the_width_of_the_encoding(encoder):
    frame = pd.DataFrame({"a": [1.0], "c": ["x"]})
    assert encoder.transform(frame.iloc[:0]).shape == (0, 3)
    assert encoder.width == 3


def test_missing_values_are_none_nan_infinity_and_pandas_markers():
    frame = pd.DataFrame({"a": ["1", None, "2", np.inf], "b": [1.0, 2.0, 3.0, np.nan],
                          "c": pd.array(["x", "y", pd.NA, "x"], dtype="string"),
                          "d": [pd.Timestamp(0), pd.NaT, pd.NaT, pd.Timestamp(0)]})
    np.testing.assert_array_equal(missing_rows(frame, ["a"]), [False, True, False, True])
    np.testing.assert_array_equal(missing_rows(frame, ["b", "c"]), [False, False, True, True])
    np.testing.assert_array_equal(missing_rows(frame.astype({"d": object}), ["d"]),
                                  [False, True, True, False])
    assert _error(check_complete, frame, ["c"]) == (
        "column 'c' has 1 missing or infinite value(s), the first at data row 2 (counting "
        "from 0); fill them, or drop those rows (--dropna)")


# ------------------------------------------------------------------ stored encoders
def test_to_dict_and_from_dict_round_trip_through_json(encoder):
    stored = json.loads(json.dumps(encoder.to_dict()))
    loaded = TableEncoder.from_dict(stored)
    assert loaded.columns == encoder.columns
    frame = pd.DataFrame({"a": [0.0, 4.0], "c": ["y", "x"]})
    np.testing.assert_array_equal(loaded.transform(frame), encoder.transform(frame))


def test_to_dict_is_a_copy(encoder):
    encoder.to_dict()["columns"][1]["categories"].append("z")
    assert encoder.columns[1]["categories"] == ["x", "y"]


def test_from_dict_takes_integers_and_leaves_unknown_fields_out():
    loaded = TableEncoder.from_dict({"columns": [
        {"name": "a", "kind": "numeric", "mean": 2, "scale": 4, "note": "x"}], "extra": 1})
    assert loaded.columns == [{"name": "a", "kind": "numeric", "mean": 2.0, "scale": 4.0}]
    np.testing.assert_array_equal(loaded.transform(pd.DataFrame({"a": [10]})), [[2.0]])


NUMERIC = {"name": "a", "kind": "numeric", "mean": 1.0, "scale": 2.0}
CATEGORICAL = {"name": "c", "kind": "categorical", "categories": ["x", "y"]}


@pytest.mark.parametrize("data, problem", [
    ([NUMERIC], "it must be an object with a 'columns' list, got list"),
    (None, "it must be an object with a 'columns' list, got NoneType"),
    ({}, "'columns' must be a non-empty list, got None"),
    ({"columns": []}, "'columns' must be a non-empty list, got []"),
    ({"columns": {"a": 1}}, "'columns' must be a non-empty list, got {'a': 1}"),
    ({"columns": [NUMERIC, "c"]}, "column 1 must be an object, got str"),
    ({"columns": [{**NUMERIC, "name": 3}]}, "column 0: 'name' must be text, got 3"),
    ({"columns": [{"kind": "numeric", "mean": 1.0, "scale": 2.0}]},
     "column 0: 'name' must be text, got None"),
    ({"columns": [{**NUMERIC, "kind": "ordinal"}]},
     "column 0 ('a'): 'kind' must be 'numeric' or 'categorical', got 'ordinal'"),
    ({"columns": [{k: v for k, v in NUMERIC.items() if k != "mean"}]},
     "column 0 ('a') has no 'mean'"),
    ({"columns": [{k: v for k, v in NUMERIC.items() if k != "scale"}]},
     "column 0 ('a') has no 'scale'"),
    ({"columns": [{**NUMERIC, "mean": "1.0"}]},
     "column 0 ('a'): 'mean' must be a finite number, got '1.0'"),
    ({"columns": [{**NUMERIC, "mean": True}]},
     "column 0 ('a'): 'mean' must be a finite number, got True"),
    ({"columns": [{**NUMERIC, "mean": float("inf")}]},
     "column 0 ('a'): 'mean' must be a finite number, got inf"),
    ({"columns": [{**NUMERIC, "mean": 10 ** 400}]},
     "column 0 ('a'): 'mean' must be a finite number, got 1" + "0" * 56 + "..."),
    ({"columns": [{**NUMERIC, "scale": float("nan")}]},
     "column 0 ('a'): 'scale' must be a finite number, got nan"),
    ({"columns": [{**NUMERIC, "scale": 0}]}, "column 0 ('a'): 'scale' must be > 0, got 0.0"),
    ({"columns": [{**NUMERIC, "scale": -2.0}]},
     "column 0 ('a'): 'scale' must be > 0, got -2.0"),
    ({"columns": [{**CATEGORICAL, "categories": []}]},
     "column 0 ('c'): 'categories' must be a non-empty list of text, got []"),
    ({"columns": [{**CATEGORICAL, "categories": "xy"}]},
     "column 0 ('c'): 'categories' must be a non-empty list of text, got 'xy'"),
    ({"columns": [{**CATEGORICAL, "categories": ["x", 1]}]},
     "column 0 ('c'): 'categories' must be a non-empty list of text, got ['x', 1]"),
    ({"columns": [{"name": "c", "kind": "categorical"}]},
     "column 0 ('c'): 'categories' must be a non-empty list of text, got None"),
    ({"columns": [{**CATEGORICAL, "categories": ["x", "y", "x"]}]},
     "column 0 ('c'): 'categories' lists ['x'] more than once"),
    ({"columns": [NUMERIC, CATEGORICAL, {**CATEGORICAL, "name": "a"}]},
     "column 2 ('a'): 'name' repeats column 0"),
])
def test_from_dict_refuses_malformed_data_naming_the_column_and_field(data, problem):
    assert _error(TableEncoder.from_dict, data) == (
        f"the stored preprocessing is malformed: {problem}")


@pytest.mark.parametrize("text, problem", [
    ('{"columns": [{"name": "a", "kind": "numeric", "mean": NaN, "scale": 1}]}',
     "column 0 ('a'): 'mean' must be a finite number, got nan"),
    ('{"columns": [{"name": "a", "kind": "numeric", "mean": 0, "scale": Infinity}]}',
     "column 0 ('a'): 'scale' must be a finite number, got inf"),
    ('{"columns": [{"name": "a", "kind": "numeric", "mean": 0, "scale": -Infinity}]}',
     "column 0 ('a'): 'scale' must be a finite number, got -inf"),
])
def test_from_dict_refuses_non_finite_numbers_from_json(text, problem):
    """Python's json module reads NaN and Infinity, as a model file may hold them."""
    assert _error(TableEncoder.from_dict, json.load(io.StringIO(text))) == (
        f"the stored preprocessing is malformed: {problem}")


def test_from_dict_cuts_long_hostile_values():
    message = _error(TableEncoder.from_dict, {"columns": [{**NUMERIC, "kind": "k" * 10000}]})
    assert message == ("the stored preprocessing is malformed: column 0 ('a'): 'kind' must "
                       f"be 'numeric' or 'categorical', got '{'k' * 56}...")


# ------------------------------------------------------------------ choosing the features
COLUMNS = ["id", "age", "city", "bought"]


@pytest.mark.parametrize("features, drop, chosen", [
    (None, None, ["id", "age", "city"]),
    (None, ["id"], ["age", "city"]),
    (None, "id", ["age", "city"]),
    (["city", "age"], None, ["city", "age"]),
    (["city", "age", "id"], ["id"], ["city", "age"]),
])
def test_feature_columns(features, drop, chosen):
    assert feature_columns(COLUMNS, "bought", features=features, drop=drop) == chosen


def test_feature_columns_compares_names_as_text():
    assert feature_columns(pd.Index([0, 1, 2]), "2", drop=[0]) == ["1"]


@pytest.mark.parametrize("target, features, drop, message", [
    ("label", None, None, f"there is no target column 'label'; the columns are {COLUMNS}"),
    ("bought", ["age", "colour"], None,
     f"unknown column(s) ['colour'] in the features; the columns are {COLUMNS}"),
    ("bought", None, ["ID", "Age"],
     f"unknown column(s) ['ID', 'Age'] in the columns to drop; the columns are {COLUMNS}"),
    ("bought", ["age", "city", "age"], None, "the features name ['age'] more than once"),
    ("bought", ["age", "bought"], None,
     "the target column 'bought' cannot also be a feature"),
    ("bought", None, ["bought"],
     ("the target column 'bought' cannot be dropped; to predict another column, choose "
      "another target")),
    ("bought", None, ["id", "age", "city"],
     (f"there are no feature columns left to train on: the columns are {COLUMNS}, "
      "'bought' is the target and ['id', 'age', 'city'] are dropped")),
    ("bought", ["age"], ["age"],
     (f"there are no feature columns left to train on: the columns are {COLUMNS}, "
      "'bought' is the target and ['age'] are dropped")),
])
def test_feature_columns_errors(target, features, drop, message):
    assert _error(feature_columns, COLUMNS, target, features=features, drop=drop) == message


def test_feature_columns_of_a_table_with_only_the_target():
    assert _error(feature_columns, ["y"], "y") == (
        "there are no feature columns left to train on: the columns are ['y'], 'y' is the "
        "target")
