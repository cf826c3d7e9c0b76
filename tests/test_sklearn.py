"""descent.sklearn: scikit-learn's own estimator checks, pipelines, search, DataFrames,
and the fitted attributes scikit-learn users rely on."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from descent.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor()],
                         ids=["classifier", "regressor"])
def test_scikit_learn_estimator_checks_all_pass(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks themselves warn (skips, convergence)
        results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert len(results) > 40 and failed == []


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_fitted_attributes_follow_scikit_learn():
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(8, 6), max_iter=300, learning_rate_init=0.01,
                        random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 8), (8, 6), (6, 3)]
    assert [b.shape for b in clf.intercepts_] == [(8,), (6,), (3,)]
    assert len(clf.loss_curve_) == clf.n_iter_ <= 300
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_features_in_ == 4
    assert clf.n_layers_ == 4 and clf.out_activation_ == "softmax"
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))
    assert clf.score(X, y) > 0.9


def test_binary_string_labels_use_one_logistic_output():
    X, y = _iris()
    labels = np.where(y == 0, "setosa", "other")
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=300, learning_rate_init=0.01,
                        random_state=0).fit(X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.coefs_[-1].shape == (5, 1)
    assert set(clf.predict(X)) <= {"setosa", "other"} and clf.score(X, labels) > 0.95
    assert clf.predict_proba(X).shape == (150, 2)


def test_same_random_state_same_model():
    X, y = _iris()
    first = MLPClassifier(max_iter=20, random_state=3).fit(X, y)
    second = MLPClassifier(max_iter=20, random_state=3).fit(X, y)
    for a, b in zip(first.coefs_, second.coefs_):
        np.testing.assert_array_equal(a, b)


def test_convergence_warning_when_max_iter_is_reached():
    X, y = _iris()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(max_iter=3, random_state=0).fit(X, y)


def test_early_stopping_records_validation_scores():
    X, y = _iris()
    clf = MLPClassifier(early_stopping=True, n_iter_no_change=5, max_iter=300,
                        learning_rate_init=0.01, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert clf.n_iter_ < 300


def test_partial_fit_and_warm_start_continue_training():
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(10,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(5):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    # as scikit-learn: n_iter_ counts the last call's epochs, loss_curve_ every epoch
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 5
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    warm = MLPClassifier(max_iter=5, warm_start=True, random_state=0)
    warm.fit(X, y)
    first = [c.copy() for c in warm.coefs_]
    warm.fit(X, y)
    assert warm.n_iter_ == 5 and not np.array_equal(first[0], warm.coefs_[0])
    assert len(warm.loss_curve_) == 10
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


@pytest.mark.parametrize("settings", [
    dict(solver="sgd", learning_rate_init=0.1, momentum=0.9, nesterovs_momentum=True),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5),
    dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1),
    dict(solver="lbfgs", max_iter=100),
    dict(optimizer="rmsprop", learning_rate_init=0.01),
    dict(optimizer="adamw", activation="elu", dropout=0.1, learning_rate_init=0.01),
    dict(activation=["tanh", "logistic"], hidden_layer_sizes=(8, 8), alpha=0.01,
         learning_rate_init=0.01),
])
def test_solvers_and_descent_extras_learn_iris(settings):
    X, y = _iris()
    options = {"hidden_layer_sizes": (16,), "max_iter": 200, "random_state": 0, **settings}
    assert MLPClassifier(**options).fit(X, y).score(X, y) > 0.85


def test_invscaling_follows_scikit_learns_formula():
    X, y = _iris()
    clf = MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                        power_t=0.5, batch_size=50, max_iter=2, random_state=0).fit(X, y)
    # 2 epochs of 3 batches of 50 examples: t = 300 examples seen
    assert clf.t_ == 300
    assert clf._optimizer.lr == pytest.approx(0.5 / 301 ** 0.5)


def test_regressor_multi_output_and_r2():
    X, y = make_regression(n_samples=200, n_features=5, n_targets=2, noise=0.1,
                           random_state=0)
    y = y / y.std(axis=0)
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=500, learning_rate_init=0.01,
                       random_state=0).fit(X, y)
    assert reg.predict(X).shape == (200, 2) and reg.score(X, y) > 0.95
    single = MLPRegressor(max_iter=50, random_state=0).fit(X, y[:, 0])
    assert single.predict(X).shape == (200,)


def test_pipeline_grid_search_and_cross_validation():
    X, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(max_iter=200,
                                                             learning_rate_init=0.01,
                                                             random_state=0))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.mean() > 0.85
    search = GridSearchCV(pipeline, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
                                     "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.85
    assert set(search.best_params_) == {"mlpclassifier__hidden_layer_sizes",
                                        "mlpclassifier__alpha"}


def test_pandas_dataframes_and_feature_names():
    data = load_iris(as_frame=True)
    X = data.data
    clf = MLPClassifier(max_iter=20, random_state=0).fit(X, data.target)
    assert list(clf.feature_names_in_) == list(X.columns)
    renamed = X.rename(columns={X.columns[0]: "something else"})
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(renamed)
    assert isinstance(clf.predict(pd.DataFrame(X)), np.ndarray)


@pytest.mark.parametrize("settings, message", [
    (dict(solver="newton"), "solver must be one of 'lbfgs', 'sgd', 'adam'"),
    (dict(activation="softplus"), "activation must be one of"),
    (dict(learning_rate_init=0.0), "learning_rate_init"),
    (dict(momentum=1.5), "momentum"),
    (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
    (dict(batch_size=0), "batch_size"),
    (dict(loss="hinge"), "loss must be one of"),
    (dict(validation_fraction=1.0, early_stopping=True), "validation_fraction"),
])
def test_bad_hyper_parameters_list_the_allowed_values(settings, message):
    X, y = _iris()
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**settings).fit(X, y)


def test_digits_accuracy_is_close_to_scikit_learns():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25,
                                                        random_state=0, stratify=y)
    settings = dict(hidden_layer_sizes=(64,), batch_size=32, max_iter=30, random_state=0)
    ours = MLPClassifier(**settings).fit(X_train, y_train).score(X_test, y_test)
    theirs = SkMLPClassifier(**settings).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= theirs - 0.01


def _assert_fits_equal_from_the_same_weights(ours_class, theirs_class, X, y, epochs,
                                             **settings):
    """Fit one epoch each, give descent's estimator scikit-learn's weights, fit ``epochs``
    more: the loss curves and the weights must then agree to 1e-10. Returns theirs."""
    settings.update(solver="sgd", momentum=0.0, max_iter=1, shuffle=False, random_state=0)
    ours = ours_class(**settings).fit(X, y)
    theirs = theirs_class(**settings).fit(X, y)
    layers = [m for m in ours.model_ if hasattr(m, "weight")]
    for layer, w, b in zip(layers, theirs.coefs_, theirs.intercepts_):
        layer.weight.data[...] = w
        layer.bias.data[...] = b
    ours.set_params(warm_start=True, max_iter=epochs).fit(X, y)
    theirs.set_params(warm_start=True, max_iter=epochs).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-10)
    for mine, reference in zip(ours.coefs_ + ours.intercepts_,
                               theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)
    return theirs


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_l2_penalty_and_sgd_steps_equal_scikit_learn_from_the_same_weights(alpha):
    """Full-batch SGD without momentum from the same float64 weights: scikit-learn's loss
    curve (cross-entropy + α/2·Σ‖W‖²/n) and weights after each epoch, to 1e-10."""
    X, y = _iris()
    theirs = _assert_fits_equal_from_the_same_weights(
        MLPClassifier, SkMLPClassifier, X, y, 3, hidden_layer_sizes=(5,), activation="tanh",
        alpha=alpha, batch_size=len(X), learning_rate_init=0.1)
    penalty = 0.5 * alpha * sum(np.sum(w * w) for w in theirs.coefs_) / len(X)
    assert alpha == 0 or penalty > 1e-4 * theirs.loss_curve_[-1]  # a difference 1e-10 sees


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("outputs", [1, 2])
def test_regressor_steps_and_loss_curve_equal_scikit_learn_from_the_same_weights(outputs,
                                                                                 alpha):
    """scikit-learn's squared error reports ½·mean over all entries but steps along the
    gradient of ½·Σ over the outputs per example: with two outputs both must match."""
    X, y = make_regression(120, 5, n_targets=outputs, noise=1.0, random_state=0)
    _assert_fits_equal_from_the_same_weights(
        MLPRegressor, SkMLPRegressor, X, y / y.std(), 6, hidden_layer_sizes=(7,),
        activation="relu", alpha=alpha, batch_size=50, learning_rate_init=0.01, tol=0.0,
        n_iter_no_change=100)


# --------------------------------------------------------- scikit-learn's own behaviours
# The tests of sklearn/neural_network/tests/test_mlp.py that read private internals
# (tests/peers/sklearn_mlp.py EXCLUDED), shown through public attributes.
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("classes", [2, 3])
def test_the_estimators_training_loss_has_the_gradient_of_finite_differences(activation,
                                                                             classes):
    # (test_gradient: scikit-learn checks _loss_grad_lbfgs against finite differences)

    rng = np.random.RandomState(42)
    X, y = rng.rand(5, 10), 1 + np.mod(np.arange(5) + 1, classes)
    clf = MLPClassifier(activation=activation, hidden_layer_sizes=10, solver="lbfgs",
                        alpha=1e-5, learning_rate_init=0.2, max_iter=1, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    loss = clf._loss_function(clf.model_)
    targets = clf._loss_targets(np.searchsorted(clf.classes_, y))

    def value():
        return loss(clf.model_(X), targets)

    clf.model_.zero_grad()
    value().backward()
    for p in clf.model_.parameters():
        analytic, numeric = p.grad.copy(), np.empty_like(p.data)
        for index in np.ndindex(p.data.shape):
            keep = p.data[index]
            p.data[index] = keep + 1e-6
            above = value().item()
            p.data[index] = keep - 1e-6
            below = value().item()
            p.data[index] = keep
            numeric[index] = (above - below) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-8)


def test_learning_rate_after_warm_start_follows_the_schedule():
    # (test_learning_rate_warmstart, which reads _optimizer.learning_rate)
    X, y = [[3, 2], [1, 6], [5, 6], [-2, -4]], [1, 1, 1, 0]
    for schedule in ("invscaling", "constant"):
        mlp = MLPClassifier(solver="sgd", hidden_layer_sizes=4, learning_rate=schedule,
                            max_iter=1, power_t=0.25, warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X, y)
            before = mlp.learning_rate_
            mlp.fit(X, y)
        if schedule == "constant":
            assert mlp.learning_rate_ == before == mlp.learning_rate_init
        else:  # 2 fits of 1 epoch over 4 examples: t = 8
            assert mlp.learning_rate_ == pytest.approx(mlp.learning_rate_init / 9 ** 0.25)


def test_adaptive_learning_rate_ends_below_one_in_a_million():
    # (test_adaptive_learning_rate, which reads _optimizer.learning_rate)
    clf = MLPClassifier(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive")
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf.n_iter_ < clf.max_iter and clf.learning_rate_ < 1e-6


@pytest.mark.parametrize("patience", [2, 5, 10])
def test_training_stops_after_n_iter_no_change_plus_one_epochs_without_improvement(patience):
    # (test_n_iter_no_change, which reads _no_improvement_count)
    X, y = load_digits(n_class=2, return_X_y=True)
    clf = MLPClassifier(tol=0.01, max_iter=3000, solver="sgd", n_iter_no_change=patience,
                        random_state=0).fit(X[:100] / 16, y[:100])
    curve = clf.loss_curve_
    assert clf.n_iter_ < clf.max_iter
    # each of the last n_iter_no_change + 1 epochs improved on the best before it by
    # less than tol (scikit-learn's no-improvement count reached n_iter_no_change + 1)
    assert all(curve[i] > min(curve[:i]) - clf.tol
               for i in range(len(curve) - patience - 1, len(curve)))


def test_n_iter_no_change_inf_trains_every_epoch():
    # (test_n_iter_no_change_inf, which reads _no_improvement_count)
    X, y = load_digits(n_class=2, return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(tol=1e9, max_iter=300, solver="sgd", n_iter_no_change=np.inf,
                            random_state=0).fit(X[:100] / 16, y[:100])
    assert clf.n_iter_ == 300 and len(clf.loss_curve_) == 300


# ------------------------------------------------------ defaults give scikit-learn's results
def _load(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


@pytest.mark.parametrize("name, folds, params", [
    ("iris", 5, {}), ("wine", 5, {}),
    ("digits", 3, dict(hidden_layer_sizes=(64,), max_iter=30)),
    ("breast_cancer", 5, dict(max_iter=50)),
])
def test_default_accuracy_over_five_seeds_is_scikit_learns(name, folds, params):
    from sklearn.model_selection import StratifiedKFold

    X, y = _load(name)

    def mean_accuracy(estimator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return np.mean([cross_val_score(
                make_pipeline(StandardScaler(), estimator(random_state=seed, **params)), X, y,
                cv=StratifiedKFold(folds, shuffle=True, random_state=seed)).mean()
                for seed in range(5)])

    assert mean_accuracy(MLPClassifier) >= mean_accuracy(SkMLPClassifier) - 0.01


def test_the_default_initialisation_is_scikit_learns_weight_for_weight():
    X, y = _iris()
    for activation in ("relu", "logistic"):
        # a step of 1e-12 leaves the weights where they started: the same numbers
        options = dict(hidden_layer_sizes=(7, 5), activation=activation, solver="sgd",
                       learning_rate_init=1e-12, momentum=0, random_state=3)
        ours, theirs = MLPClassifier(**options), SkMLPClassifier(**options)
        for estimator in (ours, theirs):
            estimator.partial_fit(X[:1], y[:1], classes=[0, 1, 2])
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_under_a_changing_rate_steps_as_scikit_learns(schedule, nesterov):
    """scikit-learn's velocity is the step (v ← μv − ηg); descent's buffer, rescaled when
    the rate changes, gives the same steps."""
    from sklearn.datasets import load_iris
    from sklearn.neural_network import MLPClassifier as Theirs
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    settings = dict(solver="sgd", learning_rate=schedule, hidden_layer_sizes=(10,),
                    max_iter=40, random_state=0, momentum=0.9, nesterovs_momentum=nesterov,
                    learning_rate_init=0.1, alpha=1e-3, batch_size=16, shuffle=False,
                    n_iter_no_change=2, tol=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = MLPClassifier(**settings).fit(X, y), Theirs(**settings).fit(X, y)
    assert len(ours.loss_curve_) == len(theirs.loss_curve_)
    assert ours.learning_rate_ == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    for mine, other in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(mine, other, rtol=1e-9, atol=1e-12)
