"""The input features the network may see: TensorFlow Playground's seven, computed from
the two coordinates of a point.

A model saved from the playground takes these feature columns, in the order its
metadata lists them (``model.metadata["playground"]["features"]``), computed from the
points as the page holds them: for an uploaded table, its two columns standardised with
the mean and scale stored beside them. ``inputs_for`` does all of that.
"""

import numpy as np

from descent.errors import DescentValueError

FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}
LABELS = {"x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁X₂",
          "sin(x1)": "sin(X₁)", "sin(x2)": "sin(X₂)"}


def feature_matrix(points, names, dtype=np.float32):
    """The columns ``names`` (keys of ``FEATURES``) for ``points`` of shape (n, 2).

    Examples
    --------
    >>> feature_matrix([[2.0, 3.0]], ["x1", "x1^2", "x1*x2"]).tolist()
    [[2.0, 4.0, 6.0]]
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise DescentValueError(f"unknown feature {unknown[0]!r}; the features are "
                                f"{', '.join(FEATURES)}")
    x1, x2 = points[:, 0], points[:, 1]
    return np.column_stack([FEATURES[name](x1, x2) for name in names]).astype(dtype)


def inputs_for(model, points):
    """What a model saved by the playground takes, for ``points`` in the units of the
    data it was trained on (an uploaded table's own two columns, or the coordinates of
    a generated data set): standardised as the page did, then turned into its features.

    Examples
    --------
    >>> import descent
    >>> net = descent.nn.MLP([3, 1])
    >>> net.metadata = {"playground": {"features": ["x1", "x2", "x1^2"],
    ...                                "input_mean": [1.0, 0.0], "input_scale": [2.0, 1.0]}}
    >>> inputs_for(net, [[3.0, 5.0]]).tolist()
    [[1.0, 5.0, 1.0]]
    """
    stored = (getattr(model, "metadata", None) or {}).get("playground")
    if not isinstance(stored, dict) or not isinstance(stored.get("features"), list):
        raise DescentValueError("this model was not saved by the playground: its metadata "
                                "has no 'playground' entry listing its features")
    mean = np.asarray(stored.get("input_mean", [0.0, 0.0]), dtype=np.float64)
    scale = np.asarray(stored.get("input_scale", [1.0, 1.0]), dtype=np.float64)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return feature_matrix((points - mean) / scale, stored["features"])
