"""Case d: scikit-learn's digits (1,797 × 64, real data), MLP 64-64-10 ReLU, softmax
cross-entropy, Adam (lr 0.001), batch 32, 50 epochs: training time and test accuracy.

Inputs are scaled to [0, 1] (pixel / 16) in float32. The split is fixed:
``train_test_split(test_size=0.25, stratify=y, random_state=0)`` (1,347 train, 450 test).
All three contenders start from the same weights (He normal, then Xavier uniform,
biases 0; seed + 4). descent and PyTorch visit the examples in the same order each epoch
(``np.random.default_rng(seed)``, one permutation per epoch, as ``descent.train`` draws
them); scikit-learn shuffles with its own generator (``random_state=seed``). Accuracy is
measured on the test split after training, outside the timed region.
"""

import warnings

import numpy as np

from bench import descent_compiled, harness, jax_peers, peers, torch_compiled
from bench.common import (descent_mlp, epoch_orders, init_weights, sklearn_start_from,
                          torch_epoch, torch_mlp)

ID = "d"
SIZES = [64, 64, 10]
DEFAULT_REPEATS = 5
REQUIRES = {"pytorch": ("torch",), "sklearn": ("sklearn.neural_network",)}
TARGETS = [
    harness.Target("sklearn", 0.5),
    harness.Target("best", 1.0, metric="accuracy"),
    harness.Target(peers.JAX, 1.0, subject=peers.COMPILED),
]


def make_data(quick=False, seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    epochs = 3 if quick else 50
    weights, biases = init_weights(SIZES, ["relu", "identity"], seed + 4)
    return {"X": np.ascontiguousarray(X_train), "y": y_train,
            "X_test": np.ascontiguousarray(X_test), "y_test": y_test,
            "weights": weights, "biases": biases, "seed": seed, "epochs": epochs,
            "batch": 32, "lr": 0.001, "classes": SIZES[-1],
            "orders": epoch_orders(len(X_train), epochs, seed)}


def run_descent(data, timer):
    import descent

    model = descent_mlp(data["weights"], data["biases"], hidden="relu")
    optimizer = descent.optim.Adam(model.parameters(), lr=data["lr"])
    with timer:
        history = descent.train(model, data["X"], data["y"], loss="cross_entropy",
                                optimizer=optimizer, batch_size=data["batch"],
                                epochs=data["epochs"], shuffle=True, seed=data["seed"],
                                progress=False, classes=np.arange(data["classes"]),
                                engine="graph")
    with descent.no_grad():
        predicted = model(data["X_test"]).numpy().argmax(axis=1)
    return {"accuracy": float(np.mean(predicted == data["y_test"])),
            "loss": history.last["loss"]}


def run_pytorch(data, timer):
    import torch

    model = torch_mlp(data["weights"], data["biases"], hidden="relu")
    optimizer = torch.optim.Adam(model.parameters(), lr=data["lr"])
    X, y = torch.from_numpy(data["X"]), torch.from_numpy(data["y"])
    orders = [torch.from_numpy(order) for order in data["orders"]]
    with timer:
        for order in orders:
            loss = torch_epoch(model, optimizer, X, y, order, data["batch"])
    with torch.no_grad():
        predicted = model(torch.from_numpy(data["X_test"])).numpy().argmax(axis=1)
    return {"accuracy": float(np.mean(predicted == data["y_test"])), "loss": loss}


def _estimator_settings(data, alpha=0.0):
    """The same scikit-learn hyper-parameters for both estimators (no early stop)."""
    return dict(hidden_layer_sizes=tuple(SIZES[1:-1]), activation="relu", solver="adam",
                alpha=alpha, batch_size=data["batch"], learning_rate_init=data["lr"],
                max_iter=data["epochs"], shuffle=True, random_state=data["seed"], tol=0.0,
                n_iter_no_change=data["epochs"] + 1, early_stopping=False)


def _fit_quietly(clf, data, timer):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with timer:
            clf.fit(data["X"], data["y"])
    return {"accuracy": float(clf.score(data["X_test"], data["y_test"])),
            "loss": float(clf.loss_)}


def run_sklearn(data, timer):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(warm_start=True, **_estimator_settings(data, data.get("alpha", 0.0)))
    sklearn_start_from(clf, data["X"], data["y"], data["weights"], data["biases"],
                       np.arange(data["classes"]))
    return _fit_quietly(clf, data, timer)


def run_descent_estimator(data, timer):
    """descent.sklearn.MLPClassifier with scikit-learn's hyper-parameters (its own
    initial weights, as a user would get them)."""
    from descent.sklearn import MLPClassifier

    settings = _estimator_settings(data, data.get("alpha", 0.0))
    return _fit_quietly(MLPClassifier(**settings), data, timer)


CONTENDERS = {"descent": run_descent, "pytorch": run_pytorch, "sklearn": run_sklearn}


def _adam(optim, params, data):
    return optim.Adam(params, lr=data["lr"])


OPTIONAL = {
    "descent-compiled": (descent_compiled.available,
                         descent_compiled.classifier_contender(_adam)),
    "jax-step": (jax_peers.available, jax_peers.classifier_contender(
        ID, lambda data: jax_peers.adam(data["lr"]), scan=False)),
    "jax-scan": (jax_peers.available, jax_peers.classifier_contender(
        ID, lambda data: jax_peers.adam(data["lr"]), scan=True)),
    "torch-compile": (torch_compiled.available,
                      torch_compiled.classifier_contender(ID, _adam)),
}
# The estimators' own contest (issue 8): descent.sklearn.MLPClassifier against
# scikit-learn's, same hyper-parameters, fit time and test accuracy; without an L2
# penalty (as the train() section above) and with scikit-learn's default alpha.
ESTIMATORS = {"descent": run_descent_estimator, "sklearn": run_sklearn}
SKLEARN_DEFAULT_ALPHA = 1e-4


def run(cfg):
    data = make_data(cfg.quick, cfg.seed)
    repeats, warmup = cfg.repeats_for(DEFAULT_REPEATS), cfg.warmup_rounds()
    cfg.say(f"  d: {repeats} repeats after {warmup} warm-up, interleaved")
    contenders, skipped = peers.contenders(CONTENDERS, OPTIONAL, cfg)
    results = harness.run_interleaved(contenders, data, repeats, warmup, cfg.say)
    section = {
        "case": ID, "id": "adam",
        "title": (f"digits {len(data['X']):,} train / {len(data['X_test'])} test × 64, "
                  f"MLP 64-64-10 ReLU, Adam (lr 0.001), batch 32, {data['epochs']} epochs"),
        "unit": "s", "per": 1, "per_label": "run", "steps": data["epochs"],
        "show": ["accuracy", "loss"], "contenders": results,
        "notes": ["accuracy on the fixed test split; loss = mean training loss of the "
                  "last epoch", *skipped, *peers.compile_notes(results)],
    }
    harness.evaluate_targets(section, TARGETS)
    estimators = [_estimator_section(data, alpha, repeats, warmup, cfg.say)
                  for alpha in (0.0, SKLEARN_DEFAULT_ALPHA)]
    return [section, *estimators]


def _estimator_section(data, alpha, repeats, warmup, say):
    data = {**data, "alpha": alpha}
    penalty = f"alpha {alpha:g} (scikit-learn's default)" if alpha else "alpha 0"
    section = {
        "case": ID, "id": "estimators" if not alpha else "estimators-alpha",
        "title": (f"digits, descent.sklearn.MLPClassifier vs scikit-learn's MLPClassifier, "
                  f"same hyper-parameters (64 hidden, Adam, batch 32, {data['epochs']} "
                  f"epochs, {penalty}): fit time and test accuracy"),
        "unit": "s", "per": 1, "per_label": "fit", "steps": data["epochs"],
        "show": ["accuracy", "loss"],
        "contenders": harness.run_interleaved(ESTIMATORS, data, repeats, warmup, say),
        "notes": ["each estimator starts from its own initial weights, as a user gets them"],
    }
    harness.evaluate_targets(section, [harness.Target("sklearn", 0.5),
                                       harness.Target("sklearn", 1.0, metric="accuracy")])
    return section
