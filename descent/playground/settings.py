"""Every setting of the playground, its default and its limits, checked on the server.

The page sends settings as JSON; ``validate`` turns them into a complete, checked
dictionary or raises ``DescentValueError`` naming the first bad field and what it
accepts. Nothing the page sends reaches the engine without passing through here: the
limits hold whatever a hand-written request asks for.
"""

import math

from descent.errors import DescentValueError
from descent.nn.activations import ACTIVATION_MODULES

# The limits: generous next to TensorFlow Playground's (6 layers of 8 units), small
# enough that a frame stays cheap and the network still fits on one screen.
MAX_HIDDEN_LAYERS = 8
MAX_UNITS = 16
MIN_POINTS, MAX_POINTS = 10, 2000
MAX_CLASSES = 8
MAX_BATCH = 1000
MAX_EPOCHS = 1_000_000
MAX_PATIENCE = 10_000
MAX_SEED = 2 ** 31 - 1
UPLOAD_BYTES = 1 << 20  # a CSV or a model file
UPLOAD_ROWS = 5000
UPLOAD_COLUMNS = 64

CLASSIFICATION_DATASETS = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION_DATASETS = ("plane", "multigauss")
# "csv": the uploaded table; "custom": only the points clicked onto the page
DATASETS = CLASSIFICATION_DATASETS + REGRESSION_DATASETS + ("csv", "custom")
FIXED_CLASSES = {"circle": 2, "xor": 2, "moons": 2}
PROBLEMS = ("classification", "regression")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
# Hidden activations: all of descent's but softmax, which belongs to an output layer.
ACTIVATIONS = tuple(name for name in ACTIVATION_MODULES if name != "softmax")
LOSSES = {"classification": ("cross_entropy", "mse", "sse", "binary_cross_entropy"),
          "regression": ("mse", "sse", "mae")}
# The optimiser choices: a descent optimiser and its settings.
OPTIMIZERS = {
    "sgd": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("adagrad", {}),
    "rmsprop": ("rmsprop", {}),
    "adam": ("adam", {}),
    "adamw": ("adamw", {}),
}
REGULARIZATIONS = ("none", "l1", "l2")
SPEEDS = (0, 1, 2, 5, 10, 50)  # epochs per frame; 0: as many as fit in a frame
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)

DEFAULTS = {
    "dataset": "circle", "problem": "classification", "classes": 2, "points": 500,
    "noise": 0, "train_ratio": 50, "data_seed": 1,
    "features": ["x1", "x2"], "hidden": [4, 2], "activations": ["tanh", "tanh"],
    "dropout": [0.0, 0.0], "init_seed": 1,
    "loss": "cross_entropy", "optimizer": "sgd", "learning_rate": 0.03,
    "regularization": "none", "regularization_rate": 0.0, "batch_size": 10,
    "max_epochs": 0, "plateau_patience": 0, "error_threshold": 0.0, "early_stopping": 0,
    "weight_change": 0.0, "speed": 2,
}


def _integer(low, high):
    def check(name, value):
        if type(value) is not int or not low <= value <= high:
            raise DescentValueError(f"{name} must be a whole number from {low} to {high}, "
                                    f"got {_shown(value)}")
        return value
    return check


def _number(low, high):
    def check(name, value):
        if type(value) not in (int, float) or not (math.isfinite(value)
                                                   and low <= value <= high):
            raise DescentValueError(f"{name} must be a number from {low:g} to {high:g}, got "
                                    f"{_shown(value)}")
        return float(value)
    return check


def _choice(options):
    def check(name, value):
        if not isinstance(value, (str, int)) or isinstance(value, bool) \
                or value not in options:
            raise DescentValueError(f"{name} must be one of {', '.join(map(str, options))}; "
                                    f"got {_shown(value)}")
        return value
    return check


def _listed(item_check, low, high):
    def check(name, value):
        if not isinstance(value, list) or not low <= len(value) <= high:
            raise DescentValueError(f"{name} must be a list of {low} to {high} entries, got "
                                    f"{_shown(value)}")
        return [item_check(f"{name}[{index}]", item) for index, item in enumerate(value)]
    return check


def _features(name, value):
    chosen = _listed(_choice(FEATURES), 1, len(FEATURES))(name, value)
    if len(set(chosen)) != len(chosen):
        raise DescentValueError(f"{name} names a feature twice: {chosen}")
    return [feature for feature in FEATURES if feature in chosen]  # in the page's order


FIELDS = {
    "dataset": _choice(DATASETS),
    "problem": _choice(PROBLEMS),
    "classes": _integer(2, MAX_CLASSES),
    "points": _integer(MIN_POINTS, MAX_POINTS),
    "noise": _integer(0, 50),
    "train_ratio": _integer(10, 90),
    "data_seed": _integer(0, MAX_SEED),
    "features": _features,
    "hidden": _listed(_integer(1, MAX_UNITS), 0, MAX_HIDDEN_LAYERS),
    "activations": _listed(_choice(ACTIVATIONS), 0, MAX_HIDDEN_LAYERS),
    "dropout": _listed(_number(0.0, 0.9), 0, MAX_HIDDEN_LAYERS),
    "init_seed": _integer(0, MAX_SEED),
    "loss": _choice(sorted({loss for losses in LOSSES.values() for loss in losses})),
    "optimizer": _choice(tuple(OPTIMIZERS)),
    "learning_rate": _number(1e-6, 10.0),
    "regularization": _choice(REGULARIZATIONS),
    "regularization_rate": _number(0.0, 10.0),
    "batch_size": _integer(0, MAX_BATCH),  # 0: batch gradient descent
    "max_epochs": _integer(0, MAX_EPOCHS),  # 0: no limit
    "plateau_patience": _integer(0, MAX_PATIENCE),  # 0: off
    "error_threshold": _number(0.0, 0.5),  # 0: off
    "early_stopping": _integer(0, MAX_PATIENCE),  # 0: off
    "weight_change": _number(0.0, 1.0),  # 0: off
    "speed": _choice(SPEEDS),
}
# What changing a setting does to the run (the rest only restart the training loop).
DATA_FIELDS = ("dataset", "problem", "classes", "points", "noise", "train_ratio",
               "data_seed")
NETWORK_FIELDS = ("features", "hidden", "activations", "dropout", "init_seed", "loss")


def _shown(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def validate(changes, current=None):
    """``current`` (the defaults when None) with ``changes`` applied, every field checked.

    Raises ``DescentValueError`` for an unknown field, a value of the wrong kind or out
    of its limits, or settings that do not fit together (a regression data set with a
    classification loss, per-layer lists of different lengths).

    Examples
    --------
    >>> validate({"hidden": [8, 8], "activations": ["relu", "relu"],
    ...           "dropout": [0, 0.1]})["hidden"]
    [8, 8]
    >>> validate({"hidden": [100]})
    Traceback (most recent call last):
    ...
    descent.errors.DescentValueError: hidden[0] must be a whole number from 1 to 16, got 100
    """
    if not isinstance(changes, dict):
        raise DescentValueError(f"settings must be a JSON object, got {_shown(changes)}")
    unknown = sorted(str(key) for key in changes if key not in FIELDS)
    if unknown:
        raise DescentValueError(f"unknown setting {_shown(unknown[0])}; the settings are "
                                f"{', '.join(FIELDS)}")
    settings = dict(DEFAULTS if current is None else current)
    for name, value in changes.items():
        settings[name] = FIELDS[name](name, value)
    depth = len(settings["hidden"])
    for name in ("activations", "dropout"):
        if len(settings[name]) != depth:
            raise DescentValueError(f"{name} lists {len(settings[name])} entries; the "
                                    f"network has {depth} hidden layers")
    problem, dataset = settings["problem"], settings["dataset"]
    if dataset in CLASSIFICATION_DATASETS and problem != "classification" \
            or dataset in REGRESSION_DATASETS and problem != "regression":
        other = "regression" if problem == "classification" else "classification"
        raise DescentValueError(f"the {dataset} data set is a {other} problem, not {problem}")
    if settings["loss"] not in LOSSES[problem]:
        raise DescentValueError(f"loss {settings['loss']} is not for {problem}; choose one of "
                                f"{', '.join(LOSSES[problem])}")
    if settings["loss"] == "binary_cross_entropy" and dataset != "csv" \
            and classes_of(settings) != 2:
        raise DescentValueError(f"binary_cross_entropy is for two classes; this data set "
                                f"has {classes_of(settings)}: use cross_entropy")
    if problem == "regression" and settings["error_threshold"]:
        raise DescentValueError("error_threshold stops on the share of misclassified "
                                "points, which regression does not have; set it to 0")
    return settings


def choices():
    """What the page offers in its menus, and the limits, from this module alone."""
    return {"datasets": {"classification": list(CLASSIFICATION_DATASETS),
                         "regression": list(REGRESSION_DATASETS)},
            "fixed_classes": FIXED_CLASSES, "features": list(FEATURES),
            "activations": list(ACTIVATIONS), "losses": LOSSES,
            "optimizers": list(OPTIMIZERS), "regularizations": list(REGULARIZATIONS),
            "speeds": list(SPEEDS), "learning_rates": list(LEARNING_RATES),
            "limits": {"hidden_layers": MAX_HIDDEN_LAYERS, "units": MAX_UNITS,
                       "points": [MIN_POINTS, MAX_POINTS], "classes": MAX_CLASSES,
                       "batch": MAX_BATCH, "upload_bytes": UPLOAD_BYTES}}


def classes_of(settings):
    """How many classes the generated data set of ``settings`` has (None: regression)."""
    if settings["problem"] == "regression":
        return None
    return FIXED_CLASSES.get(settings["dataset"], settings["classes"])


def changed(before, after, fields):
    """Whether any of ``fields`` differs between two settings dictionaries."""
    return any(before[name] != after[name] for name in fields)
