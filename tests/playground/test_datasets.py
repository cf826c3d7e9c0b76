"""The playground's data sets and uploaded tables."""

import numpy as np
import pytest

from descent.errors import DescentValueError
from descent.playground.datasets import (DOMAIN, GENERATORS, domain_of, generate,
                                         guess_columns, read_table, split, table_data)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_generator_fills_the_square_with_its_points(name):
    X, y = generate(name, 200, 20, seed=3, classes=4)
    assert X.shape == (200, 2) and len(y) == 200
    assert np.all(np.abs(X) < DOMAIN[1] + 1.5)
    X_again, y_again = generate(name, 200, 20, seed=3, classes=4)
    assert np.array_equal(X, X_again) and np.array_equal(y, y_again)
    if name in ("plane", "multigauss"):
        assert y.dtype.kind == "f" and -1.5 < y.min() < y.max() < 1.5
    else:
        assert set(y.tolist()) == set(range(4 if name in ("gauss", "spiral") else 2))


def test_the_circle_and_xor_have_the_labels_they_say():
    X, y = generate("circle", 400, 0, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius[y == 1].max() <= 2.5 <= 3.5 <= radius[y == 0].min()
    X, y = generate("xor", 400, 0, seed=0)
    assert np.array_equal(y == 1, X[:, 0] * X[:, 1] > 0)


def test_the_split_keeps_the_ratio_per_class():
    X, y = generate("gauss", 300, 0, seed=0, classes=3)
    train, test = split(X, y, 70, seed=0, classification=True)
    assert len(train) == 210 and len(test) == 90
    assert np.bincount(y[test]).tolist() == [30, 30, 30]
    assert [len(part) for part in split(X[:1], y[:1], 50, 0, True)] == [1, 0]


def test_tables_with_or_without_a_header_and_separators():
    table = read_table(b"a;b;label\n1;2;x\n3;4;y\n")
    assert table.names == ["a", "b", "label"] and table.numeric() == ["a", "b"]
    table = read_table(b"1\t2\t0\n3\t4\t1\n")
    assert table.names == ["column 1", "column 2", "column 3"]
    assert guess_columns(table) == {"x1": "column 1", "x2": "column 2", "label": "column 3"}


def test_table_data_classifies_or_regresses_and_standardises():
    table = read_table(b"u,v,w,t\n" + b"".join(f"{i},{i * i},{i % 3},{i / 4}\n".encode()
                                             for i in range(30)))
    classes = table_data(table, "u", "v", "w")
    assert classes.problem == "classification" and classes.classes == ["0", "1", "2"]
    assert np.allclose(classes.X.mean(axis=0), 0) and np.allclose(classes.X.std(axis=0), 1)
    assert np.allclose(classes.X * classes.scale + classes.mean,
                       np.column_stack([table.numbers[0], table.numbers[1]]))
    numbers = table_data(table, "u", "v", "t", standardise=False)
    assert numbers.problem == "regression" and numbers.X[3].tolist() == [3.0, 9.0]
    with pytest.raises(DescentValueError, match="x1 and x2 must be two different"):
        table_data(table, "u", "u", "t")
    with pytest.raises(DescentValueError, match="the x2 column 'nope' is not in the table"):
        table_data(table, "u", "nope", "t")


def test_a_text_column_cannot_be_an_input_and_a_label_needs_two_to_eight_classes():
    table = read_table(b"a,b,c\n1,x,p\n2,y,p\n")
    with pytest.raises(DescentValueError, match="input column 'b' must hold numbers"):
        table_data(table, "a", "b", "c")
    with pytest.raises(DescentValueError, match="one class only"):
        table_data(read_table(b"a,b,c\n1,2,p\n2,3,p\n"), "a", "b", "c")
    many = b"a,b,c\n" + b"".join(f"{i},{i},k{i}\n".encode() for i in range(9))
    with pytest.raises(DescentValueError, match="9 classes; the playground takes at most 8"):
        table_data(read_table(many), "a", "b", "c")


def test_the_view_of_uploaded_points_surrounds_them():
    x1_from, x1_to, x2_from, x2_to = domain_of(np.array([[0.0, 10.0], [4.0, 20.0]]))
    assert x1_from < 0 < 4 < x1_to and x2_from < 10 < 20 < x2_to
    assert domain_of(np.zeros((0, 2))) == DOMAIN
